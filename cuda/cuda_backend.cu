// CUDA backend: device set-up, memory, copies and the elementwise helpers. Op families are in
// their own .cu files, mirroring host/cpu/.
#include "cuda/common.cuh"
#include "cuda/cuda_backend.hpp"
#include "cuda/cuda_context.hpp"
#include "cuda/device_info.hpp"

#include <algorithm>
#include <cstring>
#include <string>

namespace pfce {

// ---- context -------------------------------------------------------------------------------

CudaContext::CudaContext(int device_ordinal) : device(device_ordinal) {
    PFCE_CUDA_CHECK(cudaSetDevice(device));
    PFCE_CUDA_CHECK(cudaGetDeviceProperties(&props, device));
    // Refuse a device without code for it now, with the reason, not at the first kernel.
    require_compiled_for_device(device, props);
    PFCE_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    PFCE_CUDNN_CHECK(cudnnCreate(&cudnn));
    PFCE_CUDNN_CHECK(cudnnSetStream(cudnn, stream));
    PFCE_CUBLAS_CHECK(cublasCreate(&cublas));
    PFCE_CUBLAS_CHECK(cublasSetStream(cublas, stream));
    // TF32 tensor cores for GEMMs, as PyTorch's default for convolutions.
    PFCE_CUBLAS_CHECK(cublasSetMathMode(cublas, CUBLAS_TF32_TENSOR_OP_MATH));
    PFCE_CUDA_CHECK(cudaStreamCreateWithFlags(&upload_stream, cudaStreamNonBlocking));
    PFCE_CUDA_CHECK(cudaEventCreateWithFlags(&compute_mark, cudaEventDisableTiming));
    for (UploadSlot& slot : upload_slots)
        PFCE_CUDA_CHECK(cudaEventCreateWithFlags(&slot.copied, cudaEventDisableTiming));
}

CudaContext::~CudaContext() {
    if (upload_stream) PFCE_CUDA_CHECK_LOG(cudaStreamSynchronize(upload_stream));
    for (UploadSlot& slot : upload_slots) {
        if (slot.host) PFCE_CUDA_CHECK_LOG(cudaFreeHost(slot.host));
        if (slot.copied) PFCE_CUDA_CHECK_LOG(cudaEventDestroy(slot.copied));
    }
    if (compute_mark) PFCE_CUDA_CHECK_LOG(cudaEventDestroy(compute_mark));
    if (upload_stream) PFCE_CUDA_CHECK_LOG(cudaStreamDestroy(upload_stream));
    if (workspace_) PFCE_CUDA_CHECK_LOG(cudaFree(workspace_));
    if (precision_scratch_) PFCE_CUDA_CHECK_LOG(cudaFree(precision_scratch_));
    if (cublas) cublasDestroy(cublas);
    if (cudnn) cudnnDestroy(cudnn);
    if (stream) PFCE_CUDA_CHECK_LOG(cudaStreamDestroy(stream));
}

void* CudaContext::grow(void*& block, std::size_t& size, std::size_t bytes) {
    if (bytes <= size) return block;
    if (block) {
        PFCE_CUDA_CHECK(cudaStreamSynchronize(stream));  // earlier ops may still use it
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

void* CudaContext::alloc_device(std::size_t bytes) {
    void* p = nullptr;
    PFCE_CUDA_CHECK(cudaMalloc(&p, bytes ? bytes : 64));
    ++allocations_;
    return p;
}

void* CudaContext::alloc_pinned(std::size_t bytes) {
    void* p = nullptr;
    PFCE_CUDA_CHECK(cudaMallocHost(&p, bytes ? bytes : 64));
    ++allocations_;
    return p;
}

// ---- kernel variants (Backend::op_variants) ---------------------------------------------------

std::vector<std::string> CudaBackend::op_variants(const std::string& op) const {
    if (op == "focal_loss") return {"three_launch", "single_launch"};  // focal_loss{,_single}.cu
    if (op == "global_grad_norm" || op == "sgd_steps" || op == "adam_steps")
        return {"per_tensor", "multi_tensor"};  // optim.cu, optim_multi.cu
    // Every convolution and transposed convolution, all directions (cudnn_util.hpp).
    if (op == "convolution") return {"nchw", "channels_last"};
    return {};
}

void CudaBackend::select_op_variant(const std::string& op, const std::string& variant) {
    const std::vector<std::string> names = op_variants(op);
    const auto it = std::find(names.begin(), names.end(), variant);
    if (it == names.end()) Backend::select_op_variant(op, variant);  // throws, naming the choices
    const bool second = it != names.begin();
    if (op == "focal_loss")
        focal_kernel_ = second ? FocalKernel::single_launch : FocalKernel::three_launch;
    else if (op == "global_grad_norm")
        multi_tensor_norm_ = second;
    else if (op == "convolution")
        ctx_->conv_channels_last = second;
    else if (op == "sgd_steps")
        multi_tensor_sgd_ = second;
    else
        multi_tensor_adam_ = second;
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

__global__ void fill_f32_kernel(float* p, long long n, float v) {
    for (long long i = blockIdx.x * 1LL * blockDim.x + threadIdx.x; i < n;
         i += 1LL * gridDim.x * blockDim.x)
        p[i] = v;
}
__global__ void fill_i32_kernel(int* p, long long n, int v) {
    for (long long i = blockIdx.x * 1LL * blockDim.x + threadIdx.x; i < n;
         i += 1LL * gridDim.x * blockDim.x)
        p[i] = v;
}
__global__ void add_inplace_kernel(float* y, const float* x, long long n) {
    for (long long i = blockIdx.x * 1LL * blockDim.x + threadIdx.x; i < n;
         i += 1LL * gridDim.x * blockDim.x)
        y[i] += x[i];
}
__global__ void scale_inplace_kernel(float* y, float s, long long n) {
    for (long long i = blockIdx.x * 1LL * blockDim.x + threadIdx.x; i < n;
         i += 1LL * gridDim.x * blockDim.x)
        y[i] *= s;
}

void free_device(void* p) {
    PFCE_CUDA_CHECK_LOG(cudaFree(p));
}
void free_pinned(void* p) {
    PFCE_CUDA_CHECK_LOG(cudaFreeHost(p));
}

// The runtime's current device is per thread and defaults to 0. Calls that may come from threads
// other than the one that made the backend (the batch loader's workers allocate staging memory)
// select the backend's device first, or cuda:1 would also open a context on GPU 0.
void use_device(int device) {
    PFCE_CUDA_CHECK(cudaSetDevice(device));
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
    PFCE_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, ctx_->stream));
    return Tensor(shape, dtype, DeviceKind::cuda, p, &free_device);
}

Tensor CudaBackend::host_staging(Shape shape, DType dtype) {
    use_device(ctx_->device);
    std::size_t bytes = static_cast<std::size_t>(shape.numel()) * dtype_size(dtype);
    void* p = ctx_->alloc_pinned(bytes);
    std::memset(p, 0, bytes);
    return Tensor(shape, dtype, DeviceKind::cpu, p, &free_pinned);
}

void CudaBackend::copy(Tensor& dst, const Tensor& src) {
    PFCE_CHECK_SHAPE(
        dst.shape() == src.shape() && dst.dtype() == src.dtype() && dst.layout() == src.layout(),
        dst.describe(), " <- ", src.describe());
    if (src.bytes() == 0) return;
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
    const std::size_t n = src.bytes();
    if (n > CudaContext::kUploadRingMaxBytes) {
        // A one-off bulk upload (bench_link's 2400 masks): straight from src, then wait, rather
        // than an extra host copy and three slots of its size pinned for the rest of the run.
        PFCE_CUDA_CHECK(cudaMemcpyAsync(dst.raw(), src.raw(), n, cudaMemcpyHostToDevice, c.stream));
        PFCE_CUDA_CHECK(cudaStreamSynchronize(c.stream));
        return;
    }
    std::lock_guard<std::mutex> lock(c.upload_mutex);
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
    // Ops enqueued before may still read or write dst: the copy waits for them.
    PFCE_CUDA_CHECK(cudaEventRecord(c.compute_mark, c.stream));
    PFCE_CUDA_CHECK(cudaStreamWaitEvent(c.upload_stream, c.compute_mark, 0));
    PFCE_CUDA_CHECK(
        cudaMemcpyAsync(dst.raw(), slot.host, n, cudaMemcpyHostToDevice, c.upload_stream));
    PFCE_CUDA_CHECK(cudaEventRecord(slot.copied, c.upload_stream));
    slot.used = true;
    // Ops enqueued from now on (and copies back to the host, on the same stream) see dst's bytes.
    PFCE_CUDA_CHECK(cudaStreamWaitEvent(c.stream, slot.copied, 0));
}

std::uint64_t CudaBackend::device_allocations() const {
    return ctx_->allocations();
}

void CudaBackend::fill(Tensor& t, float value) {
    PFCE_CHECK_SHAPE(t.device() == DeviceKind::cuda, t.describe());
    const long long n = t.numel();
    if (n == 0) return;
    switch (t.dtype()) {
        case DType::f32:
            launch("fill_f32_kernel", fill_f32_kernel, grid_for(n), 256, ctx_->stream,
                   t.data<float>(), n, value);
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
    PFCE_CHECK_SHAPE(y.shape() == x.shape(), y.describe(), " += ", x.describe());
    const long long n = y.numel();
    if (n == 0) return;
    launch("add_inplace_kernel", add_inplace_kernel, grid_for(n), 256, ctx_->stream,
           y.data<float>(), x.data<float>(), n);
}

void CudaBackend::scale_inplace(Tensor& y, float s) {
    const long long n = y.numel();
    if (n == 0) return;
    launch("scale_inplace_kernel", scale_inplace_kernel, grid_for(n), 256, ctx_->stream,
           y.data<float>(), s, n);
}

}  // namespace pfce
