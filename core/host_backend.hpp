// What the backends whose tensors live in host memory (CpuBackend, ReferenceBackend) share: the
// device, allocation, copies and fills of host tensors; and nothing to wait for.
#pragma once

#include "core/backend.hpp"

namespace pfce {

class HostBackend : public Backend {
  public:
    DeviceKind device() const override;
    Tensor zeros(Shape shape, DType dtype) override;
    Tensor host_staging(Shape shape, DType dtype) override;
    void copy(Tensor& dst, const Tensor& src) override;
    void fill(Tensor& t, float value) override;
    void synchronize() override;
};

}  // namespace pfce
