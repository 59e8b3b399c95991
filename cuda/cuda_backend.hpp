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
    std::vector<std::string> op_variants(const std::string& op) const override;
    void select_op_variant(const std::string& op, const std::string& variant) override;

  private:
    enum class FocalKernel { three_launch, single_launch };
    std::unique_ptr<CudaContext> ctx_;
    FocalKernel focal_kernel_ = FocalKernel::three_launch;
};

}  // namespace pfce
