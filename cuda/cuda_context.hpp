// Per-backend CUDA state: the stream every op is enqueued on, the cuDNN and cuBLAS handles bound
// to it, and a grow-only workspace shared by ops (ops run one at a time on the stream, so one
// workspace suffices). Op families may keep their own caches (e.g. cuDNN algorithms by shape) in
// their .cu files keyed by this context.
#pragma once

#include <cstddef>

#include "core/op_params.hpp"
#include "cuda/cuda_check.hpp"

namespace pfce {

struct CudaContext {
    int device = 0;
    cudaStream_t stream = nullptr;
    cudnnHandle_t cudnn = nullptr;
    cublasHandle_t cublas = nullptr;
    cudaDeviceProp props{};
    // Only cuDNN algorithms flagged CUDNN_DETERMINISTIC (run.deterministic); part of the plan key.
    bool deterministic = false;
    // The convolutions' arithmetic (Backend::set_precision); part of the plan key.
    Precision precision = Precision::tf32;

    // Returns at least `bytes` of device scratch, reused across calls; grows (and frees the old
    // block after the stream drains) only when a larger request arrives.
    void* workspace(std::size_t bytes);
    std::size_t workspace_bytes() const { return workspace_size_; }
    // The same for the bf16 copies of a convolution's tensors (cudnn_util.hpp), a buffer of its
    // own: a plan search may grow the workspace while the copies are in use.
    void* precision_scratch(std::size_t bytes);

    explicit CudaContext(int device_ordinal);
    ~CudaContext();
    CudaContext(const CudaContext&) = delete;
    CudaContext& operator=(const CudaContext&) = delete;

  private:
    void* grow(void*& block, std::size_t& size, std::size_t bytes);
    void* workspace_ = nullptr;
    std::size_t workspace_size_ = 0;
    void* precision_scratch_ = nullptr;
    std::size_t precision_scratch_size_ = 0;
};

// Number of usable CUDA devices; any runtime error (no driver, no device) counts as 0.
int cuda_device_count() noexcept;  // also declared in device_info.hpp

// Blocks of `threads` covering n elements, capped so grid-stride loops do the rest.
inline unsigned grid_for(long long n, int threads = 256, long long cap = 65535LL * 8) {
    long long b = (n + threads - 1) / threads;
    if (b < 1) b = 1;
    if (b > cap) b = cap;
    return static_cast<unsigned>(b);
}

}  // namespace pfce
