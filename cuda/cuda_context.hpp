// Per-backend CUDA state: the stream every op is enqueued on, the cuDNN and cuBLAS handles bound
// to it, a grow-only workspace shared by ops (ops run one at a time on the stream, so one
// workspace suffices), the staging ring host->device copies go through, and the count of every
// allocation. Op families may keep their own caches (e.g. cuDNN algorithms by shape) in their .cu
// files keyed by this context.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>

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
    // The "channels_last" variant of the convolutions: cuDNN runs on NHWC copies (cudnn_util.hpp);
    // part of the plan key.
    bool conv_channels_last = false;

    // Returns at least `bytes` of device scratch, reused across calls; grows (and frees the old
    // block after the stream drains) only when a larger request arrives.
    void* workspace(std::size_t bytes);
    std::size_t workspace_bytes() const { return workspace_size_; }
    // The same for the bf16 copies of a convolution's tensors (cudnn_util.hpp), a buffer of its
    // own: a plan search may grow the workspace while the copies are in use.
    void* precision_scratch(std::size_t bytes);

    // Every block of device (cudaMalloc) and pinned host (cudaMallocHost) memory the backend takes
    // comes from these two, which count them (Backend::device_allocations: a warmed-up training
    // step must take none). Callable from any thread (the batch loader's threads make staging
    // buffers).
    void* alloc_device(std::size_t bytes);
    void* alloc_pinned(std::size_t bytes);
    std::uint64_t allocations() const { return allocations_.load(); }

    // Host->device copies (CudaBackend::copy) go through a ring of pinned staging buffers on a
    // stream of their own: the host copies src into the next slot, the upload stream (after the
    // compute stream's pending work, which may still read dst) copies the slot to dst and records
    // the slot's event, and the compute stream waits on that event. The only host wait is before a
    // slot is refilled, on its previous copy, kUploadSlots uploads ago. Slots grow only when an
    // upload is larger than any before (so one pinned pool serves a run).
    struct UploadSlot {
        void* host = nullptr;
        cudaEvent_t copied = nullptr;
        bool used = false;  // `copied` has been recorded
    };
    static constexpr int kUploadSlots = 3;
    // Larger uploads bypass the ring (copied directly, with a wait): training batches fit.
    static constexpr std::size_t kUploadRingMaxBytes = std::size_t{128} << 20;
    // Bytes of every slot: the largest upload so far. A larger one grows them all at once, so
    // no slot grows later for a size the run has already uploaded.
    std::size_t upload_slot_bytes = 0;
    cudaStream_t upload_stream = nullptr;
    cudaEvent_t compute_mark = nullptr;  // recorded on `stream` before each upload
    UploadSlot upload_slots[kUploadSlots];
    int next_upload_slot = 0;
    std::mutex upload_mutex;

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
    std::atomic<std::uint64_t> allocations_{0};
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
