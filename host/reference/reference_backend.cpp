// Reference backend: identity, memory and the elementwise helpers. Op families are in their own
// files.
#include "host/reference/reference_backend.hpp"

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
    copy_host(dst, src);
}

void ReferenceBackend::fill(Tensor& t, float value) {
    fill_host(t, value);
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
