// CPU backend: identity, scratch, oneDNN runs and the elementwise helpers (host memory itself is
// HostBackend's, core/host_backend.hpp). Op families are in their own files.
#include "host/cpu/cpu_backend.hpp"

#include <algorithm>
#include <string>

#include "host/cpu/dnnl_plan.hpp"
#include "host/cpu/scratch_slots.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace pfce {

CpuBackend::CpuBackend(Layout activations)
    : activations_(activations), dnnl_(std::make_unique<cpu::DnnlState>()) {}

CpuBackend::~CpuBackend() = default;

float* CpuBackend::scratch(std::size_t slot, std::size_t floats) {
    if (scratch_.size() <= slot) scratch_.resize(slot + 1);
    Tensor& t = scratch_[slot];
    if (t.empty() || static_cast<std::size_t>(t.numel()) < floats)
        t = Tensor::host({static_cast<std::int64_t>(std::max<std::size_t>(floats, 1))}, DType::f32);
    return t.data<float>();
}

void CpuBackend::run_dnnl(cpu::Plan& plan, const void* a, const void* b, void* out, void* bias) {
    cpu::run_plan(dnnl_->ctx, plan, a, b, out, bias,
                  scratch(cpu::kDnnlSlot, plan.scratch_bytes / sizeof(float) + 1));
}

void CpuBackend::run_filter_tiles(cpu::FilterTiles& tiles, const void* x, const void* dy, void* dw,
                                  void* bias) {
    cpu::run_filter_tiles(dnnl_->ctx, tiles, x, dy, dw, bias,
                          scratch(cpu::kDnnlSlot, tiles.scratch_bytes / sizeof(float) + 1));
}

std::string CpuBackend::name() const {
#ifdef _OPENMP
    return "cpu (" + std::to_string(omp_get_max_threads()) + " OpenMP threads)";
#else
    return "cpu (1 thread, no OpenMP)";
#endif
}

void CpuBackend::add_inplace(Tensor& y, const Tensor& x) {
    PFCE_CHECK_SHAPE(y.shape() == x.shape() && y.layout() == x.layout(), y.describe(),
                     " += ", x.describe());
    float* py = y.data<float>();
    const float* px = x.data<float>();
    const std::int64_t n = y.numel();
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) py[i] += px[i];
}

void CpuBackend::scale_inplace(Tensor& y, float s) {
    float* py = y.data<float>();
    const std::int64_t n = y.numel();
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) py[i] *= s;
}

}  // namespace pfce
