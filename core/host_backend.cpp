// Host-memory backends: the memory methods they share (see host_backend.hpp).
#include "core/host_backend.hpp"

namespace pfce {

DeviceKind HostBackend::device() const {
    return DeviceKind::cpu;
}

Tensor HostBackend::zeros(Shape shape, DType dtype) {
    return Tensor::host(shape, dtype);
}

Tensor HostBackend::host_staging(Shape shape, DType dtype) {
    return Tensor::host(shape, dtype);
}

void HostBackend::copy(Tensor& dst, const Tensor& src) {
    copy_host(dst, src);
}

void HostBackend::fill(Tensor& t, float value) {
    fill_host(t, value);
}

void HostBackend::synchronize() {}

}  // namespace pfce
