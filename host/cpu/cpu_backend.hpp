// The CPU backend: every op of core/backend.hpp, made fast on the CPU (oneDNN primitives for the
// convolutions, OpenMP and vectorized loops for the rest). Tested against the plain loops of
// host/reference/. Each op family lives in its own file here (focal_loss.cpp, conv.cpp, ...),
// mirrored by cuda/.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "core/host_backend.hpp"

namespace pfce {

namespace cpu {
struct DnnlState;  // host/cpu/dnnl_plan.hpp
struct Plan;
struct FilterTiles;
}  // namespace cpu

class CpuBackend : public HostBackend {
  public:
    // `activations`: the layout models should use for their activations (nhwc by default: the
    // convolutions then run without reorders; nchw is kept so the tests check both paths).
    explicit CpuBackend(Layout activations = Layout::nhwc);
    ~CpuBackend() override;
    std::string name() const override;
#include "core/backend_op_overrides.inc"
    Layout activation_layout() const override {
        return activations_;
    }

    // Scratch for the op files (reorder buffers, per-thread partial sums): slot `slot` grown to at
    // least `floats` (64-byte aligned) and kept, so a warmed-up training step allocates nothing.
    float* scratch(std::size_t slot, std::size_t floats);
    // oneDNN's engine, stream and the primitive plans built so far.
    cpu::DnnlState& dnnl() {
        return *dnnl_;
    }
    // Runs a oneDNN plan (out <- op(a, b), the bias read or written when non-null) with its
    // scratch in this backend's oneDNN slot, and waits.
    void run_dnnl(cpu::Plan& plan, const void* a, const void* b, void* out, void* bias);
    // The same for the backward-filter tiles (x, dy -> dw and the bias gradient when non-null).
    void run_filter_tiles(cpu::FilterTiles& tiles, const void* x, const void* dy, void* dw,
                          void* bias);

  protected:
    // The precision roundings on every thread, vectorized (host/cpu/precision.cpp).
    void round_values(const float* src, float* dst, std::int64_t n, bool result) const override;

  private:
    Layout activations_;
    std::vector<Tensor> scratch_;
    std::unique_ptr<cpu::DnnlState> dnnl_;
};

}  // namespace pfce
