// Per-backend CUDA state: the stream every op is enqueued on, the cuDNN handle bound
// to it, a grow-only workspace shared by ops (ops run one at a time on the stream, so one
// workspace suffices), the upload stream with its staging ring and landing tensors' events, and
// the count of every allocation. Op families may keep their own caches (e.g. cuDNN algorithms by
// shape) in their .cu files keyed by this context.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "core/op_params.hpp"
#include "core/tensor.hpp"
#include "cuda/cuda_check.hpp"

namespace pfce {

struct CudaContext {
    int device = 0;
    cudaStream_t stream = nullptr;
    cudnnHandle_t cudnn = nullptr;
    cudaDeviceProp props{};
    // Only cuDNN algorithms flagged CUDNN_DETERMINISTIC (run.deterministic); part of the plan key.
    bool deterministic = false;
    // The convolutions' arithmetic (Backend::set_precision); part of the plan key.
    Precision precision = Precision::tf32;
    // The "channels_last" variant of the convolutions: cuDNN runs on NHWC copies (cudnn_util.hpp);
    // part of the plan key.
    bool conv_channels_last = false;
    // The "batchnorm_nhwc" variant by_channel (cuda/batchnorm.cu): nhwc elementwise passes with
    // each thread's channels fixed, 4 at a time where the channels and pointers allow.
    bool bn_by_channel = false;

    // Counters by which the last block of a kernel to finish knows it is the last: each block
    // takes a ticket with atomicInc(counter, blocks - 1), which returns blocks - 1 to the last
    // and wraps the counter back to 0, so it is 0 at every launch without a memset (nor a graph
    // node for one). Made and zeroed with the context; one slot per kernel that uses one.
    enum TicketSlot { kFocalCountTicket, kFocalPassTicket, kTicketSlots };
    unsigned int* tickets = nullptr;

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
    // Of those, the device blocks (pinned host memory never moves a buffer a graph reads), and the
    // allocations refused while recording (not taken, so not in allocations()).
    std::uint64_t device_blocks() const { return device_blocks_.load(); }
    std::uint64_t refused_while_recording() const { return refused_.load(); }

    // Host->device copies (CudaBackend::copy, upload_ahead) run on a stream of their own and hand
    // over to the compute stream through events. Where the DMA reads from:
    //  - a pinned block that host_staging handed out (cuda/pinned_blocks.hpp): the block itself,
    //    no host copy; the block's event marks the read, and its owner waits on that event
    //    (Backend::wait_until_read) before refilling it (the batch loader's workers do);
    //  - other host memory: the next slot of a ring of pinned buffers, which the host fills from
    //    src first, so src is the caller's again on return. The only host wait is before a slot
    //    is refilled, on its previous copy, kUploadSlots uploads ago. Slots grow only when an
    //    upload is larger than any before (so one pinned pool serves a run);
    //  - other host memory over kUploadRingMaxBytes: src itself, waited for.
    // What the upload waits for first: copy() for all compute enqueued so far (compute_mark: ops
    // may still read or write dst); upload_ahead only for the last take_upload from its landing
    // tensor (Landing), so it overlaps the compute enqueued before it. The compute stream waits for
    // copy()'s upload at once, for upload_ahead's at the take_upload.
    struct UploadSlot {
        void* host = nullptr;
        cudaEvent_t copied = nullptr;
        bool used = false;  // `copied` has been recorded
    };
    static constexpr int kUploadSlots = 3;
    // Larger uploads of unpinned memory bypass the ring (copied directly, with a wait): training
    // batches fit.
    static constexpr std::size_t kUploadRingMaxBytes = std::size_t{128} << 20;
    // Bytes of every slot: the largest upload so far. A larger one grows them all at once, so
    // no slot grows later for a size the run has already uploaded.
    std::size_t upload_slot_bytes = 0;
    cudaStream_t upload_stream = nullptr;
    cudaEvent_t compute_mark = nullptr;  // recorded on `stream` before an upload that waits for it
    cudaEvent_t bulk_copied = nullptr;   // an upload over kUploadRingMaxBytes (waited for)
    UploadSlot upload_slots[kUploadSlots];
    int next_upload_slot = 0;

    // A landing tensor of upload_ahead / take_upload, keyed by its device address. `uploaded` marks
    // its last upload (take_upload's copy out of it waits on it); `taken` the compute stream's last
    // copy out of it (the next upload into it waits on that). A fresh one (zeros() has just made a
    // tensor at that address) or one relabelled to another shape, dtype or layout (ensure_tensor
    // zero-fills it on the compute stream) waits for all compute instead, its zero fill included.
    struct Landing {
        cudaEvent_t uploaded = nullptr, taken = nullptr;  // made once, at the first upload
        bool fresh = true, has_upload = false, has_take = false;
        Shape shape;
        DType dtype = DType::f32;
        Layout layout = Layout::nchw;
    };
    std::unordered_map<const void*, Landing> landings;
    // The state of the landing tensor at `device_address`, its events made at first use.
    Landing& landing(const void* device_address);
    std::mutex upload_mutex;  // the ring, the landings and compute_mark

    explicit CudaContext(int device_ordinal);
    ~CudaContext();
    CudaContext(const CudaContext&) = delete;
    CudaContext& operator=(const CudaContext&) = delete;

  private:
    void* grow(void*& block, std::size_t& size, std::size_t bytes);
    // Throws (counting the refusal) while this thread records a graph: an allocation there would
    // be memory the graph keeps using after its owner frees it.
    void refuse_while_recording(std::size_t bytes, const char* memory);
    void* workspace_ = nullptr;
    std::size_t workspace_size_ = 0;
    void* precision_scratch_ = nullptr;
    std::size_t precision_scratch_size_ = 0;
    std::atomic<std::uint64_t> allocations_{0};
    std::atomic<std::uint64_t> device_blocks_{0};
    std::atomic<std::uint64_t> refused_{0};
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
