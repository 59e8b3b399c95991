// The reference backend: the plain, obviously correct loop of every op of core/backend.hpp, in
// double where there is arithmetic, with no tricks and no BLAS. Slow on purpose; tests (the op
// harness in tests/test_backend_ops.cpp) check the CPU and CUDA backends against it. Host tensors
// only; each op family lives in its own file here, named as in host/cpu/ and cuda/.
#pragma once

#include "core/host_backend.hpp"

namespace pfce {

class ReferenceBackend final : public HostBackend {
  public:
    std::string name() const override;
#include "core/backend_op_overrides.inc"
};

}  // namespace pfce
