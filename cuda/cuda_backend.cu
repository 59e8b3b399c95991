// CUDA backend: device set-up, memory, copies and the elementwise helpers. Op families are in
// their own .cu files, mirroring host/cpu/.
#include "core/kernels/precision.hpp"
#include "core/op_variants.hpp"
#include "core/text.hpp"
#include "cuda/common.cuh"
#include "cuda/cuda_backend.hpp"
#include "cuda/cuda_context.hpp"
#include "cuda/device_info.hpp"
#include "cuda/pinned_blocks.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>
#include <type_traits>

namespace pfce {

namespace {
// Every cudaFree of device memory in the process (tensors' deleter, CudaContext::grow): with the
// allocations, what Backend::device_memory_moves counts. Process-wide because a tensor's deleter
// is a plain function; another backend's frees then also count, which only drops a graph early.
std::atomic<std::uint64_t> device_frees{0};
}  // namespace

// ---- context -------------------------------------------------------------------------------

CudaContext::CudaContext(int device_ordinal) : device(device_ordinal) {
    PFCE_CUDA_CHECK(cudaSetDevice(device));
    PFCE_CUDA_CHECK(cudaGetDeviceProperties(&props, device));
    // Refuse a device without code for it now, with the reason, not at the first kernel.
    require_compiled_for_device(device, props);
    PFCE_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    PFCE_CUDNN_CHECK(cudnnCreate(&cudnn));
    PFCE_CUDNN_CHECK(cudnnSetStream(cudnn, stream));
    PFCE_CUDA_CHECK(cudaStreamCreateWithFlags(&upload_stream, cudaStreamNonBlocking));
    PFCE_CUDA_CHECK(cudaEventCreateWithFlags(&compute_mark, cudaEventDisableTiming));
    PFCE_CUDA_CHECK(cudaEventCreateWithFlags(&bulk_copied, cudaEventDisableTiming));
    for (UploadSlot& slot : upload_slots)
        PFCE_CUDA_CHECK(cudaEventCreateWithFlags(&slot.copied, cudaEventDisableTiming));
    tickets = static_cast<unsigned int*>(alloc_device(kTicketSlots * sizeof(unsigned int)));
    PFCE_CUDA_CHECK(cudaMemsetAsync(tickets, 0, kTicketSlots * sizeof(unsigned int), stream));
}

CudaContext::~CudaContext() {
    if (upload_stream) PFCE_CUDA_CHECK_LOG(cudaStreamSynchronize(upload_stream));
    for (UploadSlot& slot : upload_slots) {
        if (slot.host) PFCE_CUDA_CHECK_LOG(cudaFreeHost(slot.host));
        if (slot.copied) PFCE_CUDA_CHECK_LOG(cudaEventDestroy(slot.copied));
    }
    for (auto& [address, l] : landings) {
        if (l.uploaded) PFCE_CUDA_CHECK_LOG(cudaEventDestroy(l.uploaded));
        if (l.taken) PFCE_CUDA_CHECK_LOG(cudaEventDestroy(l.taken));
    }
    if (bulk_copied) PFCE_CUDA_CHECK_LOG(cudaEventDestroy(bulk_copied));
    if (compute_mark) PFCE_CUDA_CHECK_LOG(cudaEventDestroy(compute_mark));
    if (upload_stream) PFCE_CUDA_CHECK_LOG(cudaStreamDestroy(upload_stream));
    if (tickets) PFCE_CUDA_CHECK_LOG(cudaFree(tickets));
    if (workspace_) PFCE_CUDA_CHECK_LOG(cudaFree(workspace_));
    if (precision_scratch_) PFCE_CUDA_CHECK_LOG(cudaFree(precision_scratch_));
    if (cudnn) cudnnDestroy(cudnn);
    if (stream) PFCE_CUDA_CHECK_LOG(cudaStreamDestroy(stream));
}

void* CudaContext::grow(void*& block, std::size_t& size, std::size_t bytes) {
    if (bytes <= size) return block;
    // Before the synchronize below, which would break a capture without being counted as the
    // allocation it is (capture_graph then gives graphs up instead of warming up again).
    refuse_while_recording(bytes, "device");
    if (block) {
        PFCE_CUDA_CHECK(cudaStreamSynchronize(stream));  // earlier ops may still use it
        ++device_frees;
        PFCE_CUDA_CHECK(cudaFree(block));
        block = nullptr;
        size = 0;
    }
    block = alloc_device(bytes);
    size = bytes;
    return block;
}

void* CudaContext::workspace(std::size_t bytes) {
    return grow(workspace_, workspace_size_, bytes);
}

void* CudaContext::precision_scratch(std::size_t bytes) {
    return grow(precision_scratch_, precision_scratch_size_, bytes);
}

void CudaContext::refuse_while_recording(std::size_t bytes, const char* memory) {
    if (!cuda_detail::recording_graph) return;
    ++refused_;  // counted, so capture_graph reports the failure as an allocation
    PFCE_THROW(SystemError, "cannot allocate ", bytes, " bytes of ", memory,
               " memory while recording a graph");
}

void* CudaContext::alloc_device(std::size_t bytes) {
    refuse_while_recording(bytes, "device");
    void* p = nullptr;
    const cudaError_t err = cudaMalloc(&p, bytes ? bytes : 64);
    if (err == cudaErrorMemoryAllocation) {
        // Not sticky: cleared, the backend goes on (a caller may catch this and try smaller). The
        // memory check before training judges host memory only, so this is where a batch, an
        // image or a model too large for the GPU is said: with what to lower.
        (void)cudaGetLastError();
        std::size_t free_bytes = 0, total_bytes = 0;
        const std::string held =
            cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess
                ? detail::concat(" (", format_bytes(static_cast<double>(free_bytes)), " free of ",
                                 format_bytes(static_cast<double>(total_bytes)), ")")
                : std::string();
        PFCE_THROW(SystemError, "out of GPU memory: ", format_bytes(static_cast<double>(bytes)),
                   " more could not be allocated on cuda:", device, " ", props.name, held,
                   "; a batch, an image or the model needs more than this GPU holds: lower the "
                   "batch size, the crop or image size, or model.width or model.depth; training "
                   "at --precision bf16 stores activations in half the memory");
    }
    PFCE_CUDA_CHECK(err);
    ++allocations_;
    ++device_blocks_;
    return p;
}

void* CudaContext::alloc_pinned(std::size_t bytes) {
    refuse_while_recording(bytes, "pinned");
    void* p = nullptr;
    PFCE_CUDA_CHECK(cudaMallocHost(&p, bytes ? bytes : 64));
    ++allocations_;
    return p;
}

CudaContext::Landing& CudaContext::landing(const void* device_address) {
    Landing& l = landings[device_address];
    if (!l.uploaded) PFCE_CUDA_CHECK(cudaEventCreateWithFlags(&l.uploaded, cudaEventDisableTiming));
    if (!l.taken) PFCE_CUDA_CHECK(cudaEventCreateWithFlags(&l.taken, cudaEventDisableTiming));
    return l;
}

// ---- kernel variants (Backend::op_variants) ---------------------------------------------------

std::vector<std::string> CudaBackend::op_variants(const std::string& op) const {
    // The catalogue (core/op_variants.hpp): focal_loss{,_single,_vec4}.cu; optim.cu and
    // optim_multi.cu; every convolution and transposed convolution, all directions
    // (cudnn_util.hpp); and the layout of a network's inner activations (activation_layout) and
    // their element type at precision bf16 (activation_dtype), which the convolutions, batch norm,
    // ReLU, max-pool, concat and add_inplace all run on; batch norm's nhwc passes (batchnorm.cu).
    const OpVariantFamily* f = find_cuda_op_variant_family(op);
    return f ? f->variants : std::vector<std::string>{};
}

void CudaBackend::select_op_variant(const std::string& op, const std::string& variant) {
    const std::vector<std::string> names = op_variants(op);
    const auto it = std::find(names.begin(), names.end(), variant);
    if (it == names.end()) Backend::select_op_variant(op, variant);  // throws, naming the choices
    const bool second = it != names.begin();
    if (op == "focal_loss")  // in the catalogue's order
        focal_kernel_ = static_cast<FocalKernel>(it - names.begin());
    else if (op == "global_grad_norm")
        multi_tensor_norm_ = second;
    else if (op == "convolution")
        ctx_->conv_channels_last = second;
    else if (op == "activations")
        activations_ = second ? Layout::nhwc : Layout::nchw;
    else if (op == "activation_storage")
        bf16_storage_ = second;
    else if (op == "sgd_steps")
        multi_tensor_sgd_ = second;
    else if (op == "batchnorm_nhwc")
        ctx_->bn_by_channel = second;
    else
        multi_tensor_adam_ = second;
}

DType CudaBackend::activation_dtype() const {
    return bf16_storage_ && ctx_->precision == Precision::bf16 ? DType::bf16 : DType::f32;
}

int cuda_device_count() noexcept {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();  // clear the sticky error so later queries are not confused
        return 0;
    }
    return n;
}

// ---- kernels ----------------------------------------------------------------------------------

namespace {

template <typename T>  // float, or Bf16 (v rounded as every bf16 store)
__global__ void fill_value_kernel(T* p, long long n, float v) {
    for (long long i = blockIdx.x * 1LL * blockDim.x + threadIdx.x; i < n;
         i += 1LL * gridDim.x * blockDim.x)
        kernels::store_value(p + i, v);
}
__global__ void fill_i32_kernel(int* p, long long n, int v) {
    for (long long i = blockIdx.x * 1LL * blockDim.x + threadIdx.x; i < n;
         i += 1LL * gridDim.x * blockDim.x)
        p[i] = v;
}
// y += x in f32, stored as T (bf16: rounded once, as the CPU twin's f32 add then rounding).
template <typename T>
__global__ void add_inplace_kernel(T* y, const T* x, long long n) {
    for (long long i = blockIdx.x * 1LL * blockDim.x + threadIdx.x; i < n;
         i += 1LL * gridDim.x * blockDim.x)
        kernels::store_value(y + i, kernels::load_value(y + i) + kernels::load_value(x + i));
}
__global__ void scale_inplace_kernel(float* y, float s, long long n) {
    for (long long i = blockIdx.x * 1LL * blockDim.x + threadIdx.x; i < n;
         i += 1LL * gridDim.x * blockDim.x)
        y[i] *= s;
}

void free_device(void* p) {
    ++device_frees;
    if (cuda_detail::recording_graph) {  // freed when the recording ends (cuda/graph.cu)
        cuda_detail::frees_while_recording.push_back(p);
        return;
    }
    PFCE_CUDA_CHECK_LOG(cudaFree(p));
}

// The runtime's current device is per thread and defaults to 0. Calls that may come from threads
// other than the one that made the backend (the batch loader's workers allocate staging memory)
// select the backend's device first, or cuda:1 would also open a context on GPU 0.
void use_device(int device) {
    PFCE_CUDA_CHECK(cudaSetDevice(device));
}

// Enqueues dst <- src (host memory, src.bytes() of it) on c's upload stream, after what the caller
// has made that stream wait for, and returns the event recorded after it: the compute stream's
// cue. The caller holds c.upload_mutex.
cudaEvent_t enqueue_upload(CudaContext& c, void* dst, const Tensor& src) {
    const std::size_t n = src.bytes();
    // A pinned block of host_staging's: read where it is; its event tells its owner when.
    if (pinned::holds(src.raw(), n, c.device)) {
        PFCE_CUDA_CHECK(
            cudaMemcpyAsync(dst, src.raw(), n, cudaMemcpyHostToDevice, c.upload_stream));
        if (const cudaEvent_t read = pinned::record_read(src.raw(), n, c.device, c.upload_stream))
            return read;
        // Not while src holds the block; were it released meanwhile, the copy ends before return.
        PFCE_CUDA_CHECK(cudaEventRecord(c.bulk_copied, c.upload_stream));
        PFCE_CUDA_CHECK(cudaEventSynchronize(c.bulk_copied));
        return c.bulk_copied;
    }
    if (n > CudaContext::kUploadRingMaxBytes) {
        // A one-off bulk upload (bench_link's 2400 masks): straight from src, then wait, rather
        // than an extra host copy and three slots of its size pinned for the rest of the run.
        PFCE_CUDA_CHECK(
            cudaMemcpyAsync(dst, src.raw(), n, cudaMemcpyHostToDevice, c.upload_stream));
        PFCE_CUDA_CHECK(cudaEventRecord(c.bulk_copied, c.upload_stream));
        PFCE_CUDA_CHECK(cudaEventSynchronize(c.bulk_copied));
        return c.bulk_copied;
    }
    if (n > c.upload_slot_bytes) {  // a new largest upload: every slot grows to it (warm-up only)
        for (CudaContext::UploadSlot& slot : c.upload_slots) {
            if (slot.used) PFCE_CUDA_CHECK(cudaEventSynchronize(slot.copied));
            if (slot.host) PFCE_CUDA_CHECK(cudaFreeHost(slot.host));
            slot.host = nullptr;  // stays so should the allocation below throw
            slot.used = false;
        }
        c.upload_slot_bytes = 0;
        for (CudaContext::UploadSlot& slot : c.upload_slots) slot.host = c.alloc_pinned(n);
        c.upload_slot_bytes = n;
    }
    CudaContext::UploadSlot& slot = c.upload_slots[c.next_upload_slot];
    c.next_upload_slot = (c.next_upload_slot + 1) % CudaContext::kUploadSlots;
    // The slot's previous copy, kUploadSlots uploads ago, must have read it before it is refilled:
    // the one host wait.
    if (slot.used) PFCE_CUDA_CHECK(cudaEventSynchronize(slot.copied));
    std::memcpy(slot.host, src.raw(), n);  // src is the caller's again from here
    PFCE_CUDA_CHECK(cudaMemcpyAsync(dst, slot.host, n, cudaMemcpyHostToDevice, c.upload_stream));
    PFCE_CUDA_CHECK(cudaEventRecord(slot.copied, c.upload_stream));
    slot.used = true;
    return slot.copied;
}

// Transfers between the host and the device and the upload stream's hand-overs cannot be part of a
// recorded graph: a replay would copy whatever the host buffer holds then, and an event recorded
// outside the capture cannot be waited on inside it. Refused by name instead of breaking the
// capture (or, worse, recording a stale copy).
void refuse_transfer_while_recording(const char* op) {
    if (cuda_detail::recording_graph)
        PFCE_THROW(SystemError, op,
                   " cannot be recorded in a graph (a host transfer or the upload stream's "
                   "hand-over): do it before the recorded step");
}

// dst <- src by `op`: dst on dst_device, src on src_device, the same shape, dtype and layout.
void check_transfer(const char* op, const Tensor& dst, DeviceKind dst_device, const Tensor& src,
                    DeviceKind src_device) {
    PFCE_CHECK_SHAPE(dst.device() == dst_device && src.device() == src_device &&
                         dst.shape() == src.shape() && dst.dtype() == src.dtype() &&
                         dst.layout() == src.layout(),
                     op, ": ", dst.describe(), " <- ", src.describe());
}

}  // namespace

// ---- backend ----------------------------------------------------------------------------------

CudaBackend::CudaBackend(int device_ordinal)
    : ctx_(std::make_unique<CudaContext>(device_ordinal)) {}
CudaBackend::~CudaBackend() = default;

DeviceKind CudaBackend::device() const {
    return DeviceKind::cuda;
}

std::string CudaBackend::name() const {
    return "cuda:" + std::to_string(ctx_->device) + " " + ctx_->props.name + " (sm_" +
           std::to_string(ctx_->props.major) + std::to_string(ctx_->props.minor) + ")";
}

Tensor CudaBackend::zeros(Shape shape, DType dtype) {
    use_device(ctx_->device);
    std::size_t bytes = static_cast<std::size_t>(shape.numel()) * dtype_size(dtype);
    void* p = ctx_->alloc_device(bytes);
    {
        // A new tensor: should a landing tensor have lived at this address, its state is stale.
        std::lock_guard<std::mutex> lock(ctx_->upload_mutex);
        const auto it = ctx_->landings.find(p);
        if (it != ctx_->landings.end()) {
            CudaContext::Landing& l = it->second;
            l.fresh = true;
            l.has_upload = l.has_take = false;
        }
    }
    PFCE_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, ctx_->stream));
    return Tensor(shape, dtype, DeviceKind::cuda, p, &free_device);
}

Tensor CudaBackend::host_staging(Shape shape, DType dtype) {
    use_device(ctx_->device);
    std::size_t bytes = static_cast<std::size_t>(shape.numel()) * dtype_size(dtype);
    void* p = ctx_->alloc_pinned(bytes);
    std::memset(p, 0, bytes);
    try {
        pinned::add(p, bytes, ctx_->device);  // so that copies read it directly (upload())
    } catch (...) {
        PFCE_CUDA_CHECK_LOG(cudaFreeHost(p));
        throw;
    }
    return Tensor(shape, dtype, DeviceKind::cpu, p, &pinned::release);
}

void CudaBackend::copy(Tensor& dst, const Tensor& src) {
    PFCE_CHECK_SHAPE(
        dst.shape() == src.shape() && dst.dtype() == src.dtype() && dst.layout() == src.layout(),
        dst.describe(), " <- ", src.describe());
    if (src.bytes() == 0) return;
    if (src.device() == DeviceKind::cpu || dst.device() == DeviceKind::cpu)
        refuse_transfer_while_recording("a copy between host and device");
    use_device(ctx_->device);
    if (src.device() == DeviceKind::cpu && dst.device() == DeviceKind::cuda) {
        upload(dst, src);
        return;
    }
    PFCE_CUDA_CHECK(
        cudaMemcpyAsync(dst.raw(), src.raw(), src.bytes(), cudaMemcpyDefault, ctx_->stream));
    if (dst.device() == DeviceKind::cpu) PFCE_CUDA_CHECK(cudaStreamSynchronize(ctx_->stream));
}

void CudaBackend::upload(Tensor& dst, const Tensor& src) {
    CudaContext& c = *ctx_;
    std::lock_guard<std::mutex> lock(c.upload_mutex);
    // Ops enqueued before may still read or write dst: the copy waits for them.
    PFCE_CUDA_CHECK(cudaEventRecord(c.compute_mark, c.stream));
    PFCE_CUDA_CHECK(cudaStreamWaitEvent(c.upload_stream, c.compute_mark, 0));
    const cudaEvent_t copied = enqueue_upload(c, dst.raw(), src);
    // Ops enqueued from now on (and copies back to the host, on the same stream) see dst's bytes.
    PFCE_CUDA_CHECK(cudaStreamWaitEvent(c.stream, copied, 0));
}

void CudaBackend::upload_ahead(Tensor& landing, const Tensor& host) {
    check_transfer("upload_ahead", landing, DeviceKind::cuda, host, DeviceKind::cpu);
    if (host.bytes() == 0) return;
    refuse_transfer_while_recording("upload_ahead");
    use_device(ctx_->device);
    CudaContext& c = *ctx_;
    std::lock_guard<std::mutex> lock(c.upload_mutex);
    CudaContext::Landing& l = c.landing(landing.raw());
    if (l.fresh || l.shape != landing.shape() || l.dtype != landing.dtype() ||
        l.layout != landing.layout()) {
        // Its zero fill (zeros, ensure_tensor) is on the compute stream, and so is whatever used
        // it before: wait for all of that, once.
        PFCE_CUDA_CHECK(cudaEventRecord(c.compute_mark, c.stream));
        PFCE_CUDA_CHECK(cudaStreamWaitEvent(c.upload_stream, c.compute_mark, 0));
        l.fresh = false;
        l.shape = landing.shape();
        l.dtype = landing.dtype();
        l.layout = landing.layout();
    } else if (l.has_take) {
        // Only the previous batch's copy out of it: the compute enqueued since runs on meanwhile.
        PFCE_CUDA_CHECK(cudaStreamWaitEvent(c.upload_stream, l.taken, 0));
    }
    enqueue_upload(c, landing.raw(), host);
    PFCE_CUDA_CHECK(cudaEventRecord(l.uploaded, c.upload_stream));
    l.has_upload = true;
}

void CudaBackend::take_upload(Tensor& dst, const Tensor& landing) {
    check_transfer("take_upload", dst, DeviceKind::cuda, landing, DeviceKind::cuda);
    if (landing.bytes() == 0) return;
    refuse_transfer_while_recording("take_upload");
    use_device(ctx_->device);
    CudaContext& c = *ctx_;
    std::lock_guard<std::mutex> lock(c.upload_mutex);
    const auto it = c.landings.find(landing.raw());
    if (it == c.landings.end() || !it->second.has_upload)
        PFCE_THROW(ShapeError, "take_upload from ", landing.describe(),
                   ", which no upload_ahead has filled");
    CudaContext::Landing& l = it->second;
    PFCE_CUDA_CHECK(cudaStreamWaitEvent(c.stream, l.uploaded, 0));
    PFCE_CUDA_CHECK(cudaMemcpyAsync(dst.raw(), landing.raw(), landing.bytes(),
                                    cudaMemcpyDeviceToDevice, c.stream));
    PFCE_CUDA_CHECK(cudaEventRecord(l.taken, c.stream));
    l.has_take = true;
}

void CudaBackend::wait_until_read(const Tensor& host_staging) {
    if (host_staging.device() != DeviceKind::cpu || host_staging.bytes() == 0) return;
    const cudaEvent_t read = pinned::last_read(host_staging.raw(), host_staging.bytes());
    if (!read) return;  // not a pinned block of ours, or never copied from: nothing in flight
    refuse_transfer_while_recording("wait_until_read");
    use_device(ctx_->device);  // a loader thread: no context on GPU 0 for cuda:1
    PFCE_CUDA_CHECK(cudaEventSynchronize(read));
}

std::uint64_t CudaBackend::device_allocations() const {
    return ctx_->allocations();
}

std::uint64_t CudaBackend::device_memory_moves() const {
    return ctx_->device_blocks() + device_frees.load();
}

void CudaBackend::fill(Tensor& t, float value) {
    PFCE_CHECK_SHAPE(t.device() == DeviceKind::cuda, t.describe());
    const long long n = t.numel();
    if (n == 0) return;
    switch (t.dtype()) {
        case DType::f32:
            launch("fill_value_kernel", fill_value_kernel<float>, grid_for(n), 256, ctx_->stream,
                   t.data<float>(), n, value);
            break;
        case DType::bf16:
            launch("fill_value_kernel", fill_value_kernel<Bf16>, grid_for(n), 256, ctx_->stream,
                   t.data<Bf16>(), n, value);
            break;
        case DType::i32:
            launch("fill_i32_kernel", fill_i32_kernel, grid_for(n), 256, ctx_->stream,
                   t.data<int>(), n, static_cast<int>(value));
            break;
        case DType::u8:
            PFCE_CUDA_CHECK(cudaMemsetAsync(t.raw(), static_cast<unsigned char>(value), t.bytes(),
                                            ctx_->stream));
            break;
    }
}

void CudaBackend::synchronize() {
    PFCE_CUDA_CHECK(cudaStreamSynchronize(ctx_->stream));
}

void CudaBackend::add_inplace(Tensor& y, const Tensor& x) {
    // Elementwise, so any layout, but one for both (as the CPU backend); f32, or bf16 activation
    // gradients (activation_dtype), one dtype for both.
    PFCE_CHECK_SHAPE(y.shape() == x.shape() && y.layout() == x.layout() && y.dtype() == x.dtype() &&
                         y.device() == DeviceKind::cuda && x.device() == DeviceKind::cuda,
                     y.describe(), " += ", x.describe());
    const long long n = y.numel();
    if (n == 0) return;
    with_activation_type(y.dtype(), [&](auto* type) {
        using T = std::remove_pointer_t<decltype(type)>;
        launch("add_inplace_kernel", add_inplace_kernel<T>, grid_for(n), 256, ctx_->stream,
               y.data<T>(), x.data<T>(), n);
    });
}

void CudaBackend::scale_inplace(Tensor& y, float s) {
    const long long n = y.numel();
    if (n == 0) return;
    launch("scale_inplace_kernel", scale_inplace_kernel, grid_for(n), 256, ctx_->stream,
           y.data<float>(), s, n);
}

}  // namespace pfce
