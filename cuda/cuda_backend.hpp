// The CUDA backend: the ops of core/backend.hpp as kernels plus cuDNN/cuBLAS/CUB, all enqueued on
// one stream. Tested against host/reference/ and the CPU backend. Each op family lives in
// cuda/X.cu, mirroring host/cpu/X.cpp. Only compiled when PFCE_CUDA is on.
#pragma once

#include <memory>

#include "core/backend.hpp"

namespace pfce {

struct CudaContext;  // stream, cuDNN/cuBLAS handles, plan and workspace caches (cuda_context.hpp)

class CudaBackend final : public Backend {
  public:
    explicit CudaBackend(int device_ordinal = 0);
    ~CudaBackend() override;
    CudaContext& context() { return *ctx_; }
#include "core/backend_overrides.inc"

  private:
    std::unique_ptr<CudaContext> ctx_;
};

}  // namespace pfce
