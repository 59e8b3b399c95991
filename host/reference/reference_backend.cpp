// Reference backend: identity and the elementwise helpers (its memory methods are HostBackend's,
// core/host_backend.hpp). Op families are in their own files.
#include "host/reference/reference_backend.hpp"

namespace pfce {

std::string ReferenceBackend::name() const {
    return "reference (plain loops in double, one thread)";
}

void ReferenceBackend::add_inplace(Tensor& y, const Tensor& x) {
    PFCE_CHECK_SHAPE(y.shape() == x.shape(), y.describe(), " += ", x.describe());
    for (std::int64_t i = 0; i < y.numel(); ++i) y.data<float>()[i] += x.data<float>()[i];
}

void ReferenceBackend::scale_inplace(Tensor& y, float s) {
    for (std::int64_t i = 0; i < y.numel(); ++i) y.data<float>()[i] *= s;
}

}  // namespace pfce
