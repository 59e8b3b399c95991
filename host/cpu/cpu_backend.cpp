// CPU backend: identity, memory and the elementwise helpers. Op families are in their own files.
#include "host/cpu/cpu_backend.hpp"

#include <cstring>
#include <string>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace pfce {

CpuBackend::CpuBackend() = default;

DeviceKind CpuBackend::device() const {
    return DeviceKind::cpu;
}

std::string CpuBackend::name() const {
#ifdef _OPENMP
    return "cpu (" + std::to_string(omp_get_max_threads()) + " OpenMP threads)";
#else
    return "cpu (1 thread, no OpenMP)";
#endif
}

Tensor CpuBackend::zeros(Shape shape, DType dtype) {
    return Tensor::host(shape, dtype);
}

Tensor CpuBackend::host_staging(Shape shape, DType dtype) {
    return Tensor::host(shape, dtype);
}

void CpuBackend::copy(Tensor& dst, const Tensor& src) {
    PFCE_CHECK_SHAPE(dst.device() == DeviceKind::cpu && src.device() == DeviceKind::cpu,
                     "cpu backend copies host tensors only: ", dst.describe(), " <- ",
                     src.describe());
    PFCE_CHECK_SHAPE(dst.shape() == src.shape() && dst.dtype() == src.dtype(), dst.describe(),
                     " <- ", src.describe());
    if (dst.raw() != src.raw() && src.bytes() > 0) std::memcpy(dst.raw(), src.raw(), src.bytes());
}

void CpuBackend::fill(Tensor& t, float value) {
    PFCE_CHECK_SHAPE(t.device() == DeviceKind::cpu, t.describe());
    const std::int64_t n = t.numel();
    switch (t.dtype()) {
        case DType::f32: {
            float* p = t.data<float>();
            for (std::int64_t i = 0; i < n; ++i) p[i] = value;
            break;
        }
        case DType::u8:
            std::memset(t.raw(), static_cast<std::uint8_t>(value), static_cast<std::size_t>(n));
            break;
        case DType::i32: {
            std::int32_t* p = t.data<std::int32_t>();
            for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<std::int32_t>(value);
            break;
        }
    }
}

void CpuBackend::synchronize() {}

void CpuBackend::add_inplace(Tensor& y, const Tensor& x) {
    PFCE_CHECK_SHAPE(y.shape() == x.shape(), y.describe(), " += ", x.describe());
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
