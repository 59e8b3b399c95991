// Reference backend: identity, memory and the elementwise helpers. Op families are in their own
// files.
#include "host/reference/reference_backend.hpp"

#include <cstring>

namespace pfce {

DeviceKind ReferenceBackend::device() const {
    return DeviceKind::cpu;
}

std::string ReferenceBackend::name() const {
    return "reference (plain loops in double, one thread)";
}

Tensor ReferenceBackend::zeros(Shape shape, DType dtype) {
    return Tensor::host(shape, dtype);
}

Tensor ReferenceBackend::host_staging(Shape shape, DType dtype) {
    return Tensor::host(shape, dtype);
}

void ReferenceBackend::copy(Tensor& dst, const Tensor& src) {
    PFCE_CHECK_SHAPE(dst.device() == DeviceKind::cpu && src.device() == DeviceKind::cpu,
                     "the reference backend copies host tensors only: ", dst.describe(), " <- ",
                     src.describe());
    PFCE_CHECK_SHAPE(dst.shape() == src.shape() && dst.dtype() == src.dtype(), dst.describe(),
                     " <- ", src.describe());
    if (src.bytes() > 0) std::memmove(dst.raw(), src.raw(), src.bytes());
}

void ReferenceBackend::fill(Tensor& t, float value) {
    PFCE_CHECK_SHAPE(t.device() == DeviceKind::cpu, t.describe());
    for (std::int64_t i = 0; i < t.numel(); ++i) {
        switch (t.dtype()) {
            case DType::f32:
                t.data<float>()[i] = value;
                break;
            case DType::u8:
                t.data<std::uint8_t>()[i] = static_cast<std::uint8_t>(value);
                break;
            case DType::i32:
                t.data<std::int32_t>()[i] = static_cast<std::int32_t>(value);
                break;
        }
    }
}

void ReferenceBackend::synchronize() {}

void ReferenceBackend::add_inplace(Tensor& y, const Tensor& x) {
    PFCE_CHECK_SHAPE(y.shape() == x.shape(), y.describe(), " += ", x.describe());
    for (std::int64_t i = 0; i < y.numel(); ++i) y.data<float>()[i] += x.data<float>()[i];
}

void ReferenceBackend::scale_inplace(Tensor& y, float s) {
    for (std::int64_t i = 0; i < y.numel(); ++i) y.data<float>()[i] *= s;
}

}  // namespace pfce
