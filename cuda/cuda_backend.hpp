// The CUDA backend: the ops of core/backend.hpp as kernels plus cuDNN/CUB, all enqueued on
// one stream. Tested against host/reference/ and the CPU backend. Each op family lives in
// cuda/X.cu, mirroring host/cpu/X.cpp. Only compiled when PFCE_CUDA is on.
#pragma once

#include <memory>
#include <vector>

#include "core/backend.hpp"
#include "core/kernels/multi_tensor.hpp"

namespace pfce {

// A tensor-list op's multi-tensor plan, rebuilt only when the list's sizes change (a model's never
// do), so a warm step plans and allocates nothing on the host for it (cuda/optim_multi.cu).
struct MultiTensorPlanCache {
    std::vector<long long> sizes;
    std::vector<kernels::MultiTensorLaunch> launches;
};

struct CudaContext;  // stream, cuDNN handle, plan and workspace caches (cuda_context.hpp)

class CudaBackend : public Backend {
  public:
    explicit CudaBackend(int device_ordinal = 0);
    ~CudaBackend() override;
    CudaContext& context() { return *ctx_; }
    // nchw, or nhwc once the "activations" variant nhwc is selected (for models built after).
    Layout activation_layout() const override { return activations_; }
    // bf16 at precision bf16 once the "activation_storage" variant bf16 is selected, else f32.
    DType activation_dtype() const override;
#include "core/backend_overrides.inc"
    // Whole-model steps with a "multi_tensor" variant (cuda/optim_multi.cu).
    void sgd_steps(std::span<const SgdSlot> slots, const Tensor& grad_scale,
                   const Tensor& step_scalars, const SgdParams& p) override;
    void adam_steps(std::span<const AdamSlot> slots, const Tensor& grad_scale,
                    const Tensor& step_scalars, const AdamParams& p) override;
    // Uploads on their own stream (CudaContext): pinned staging read directly, landing tensors.
    void wait_until_read(const Tensor& host_staging) override;
    void upload_ahead(Tensor& landing, const Tensor& host) override;
    void take_upload(Tensor& dst, const Tensor& landing) override;
    // Every cudaMalloc and cudaMallocHost so far (CudaContext::alloc_device, alloc_pinned).
    std::uint64_t device_allocations() const override;
    // ... and every cudaFree of device memory in the process.
    std::uint64_t device_memory_moves() const override;
    // Stream capture into a CUDA graph (cuda/graph.cu).
    GraphCapture capture_graph(const std::function<void()>& body) override;
    void set_deterministic(bool on) override;
    void set_precision(Precision p) override;
    std::vector<std::string> kernel_choices() const override;
    std::vector<std::string> op_variants(const std::string& op) const override;
    void select_op_variant(const std::string& op, const std::string& variant) override;

  private:
    void upload(Tensor& dst, const Tensor& src);  // copy() from host memory: see CudaContext
    void global_grad_norm_multi(std::span<const Tensor* const> grads, Tensor& norm);

    // In the order of the catalogue's focal_loss variants (core/op_variants.cpp).
    enum class FocalKernel { three_launch, single_launch, vec4, two_launch };
    std::unique_ptr<CudaContext> ctx_;
    // Kernel variants (op_variants): the defaults are the kernels that were there first, until a
    // GPU run of bench_loss / bench_train picks.
    FocalKernel focal_kernel_ = FocalKernel::three_launch;
    Layout activations_ = Layout::nchw;
    bool bf16_storage_ = false;  // "activation_storage" = bf16 (effective at precision bf16)
    bool multi_tensor_norm_ = false, multi_tensor_sgd_ = false, multi_tensor_adam_ = false;
    MultiTensorPlanCache norm_plan_, sgd_plan_, adam_plan_;
};

}  // namespace pfce
