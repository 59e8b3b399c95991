// CUDA metrics family, mirroring host/cpu/metrics.cpp: the confusion matrix accumulated with
// shared-memory atomics per block (C*C <= 1024 counters), then one global atomic per counter.
#include "core/op_checks.hpp"
#include "cuda/common.cuh"
#include "cuda/cuda_backend.hpp"
#include "cuda/cuda_context.hpp"

namespace pfce {

namespace {

constexpr int kConfusionThreads = 256;

// ---- kernels --------------------------------------------------------------------------------

// Pixels with truth 255 are skipped; so are out-of-range classes (the CPU backend throws for
// those; a kernel cannot, and counting them elsewhere would corrupt the matrix).
__global__ void confusion_kernel(const unsigned char* __restrict__ pred,
                                 const unsigned char* __restrict__ truth, long long n, int C,
                                 int* __restrict__ confusion) {
    __shared__ int local[kMaxClasses * kMaxClasses];
    const int cells = C * C;
    for (int k = threadIdx.x; k < cells; k += blockDim.x) local[k] = 0;
    __syncthreads();
    for (long long i = blockIdx.x * 1LL * blockDim.x + threadIdx.x; i < n;
         i += 1LL * gridDim.x * blockDim.x) {
        const int t = truth[i];
        const int p = pred[i];
        if (t < C && p < C) atomicAdd(&local[t * C + p], 1);
    }
    __syncthreads();
    for (int k = threadIdx.x; k < cells; k += blockDim.x)
        if (local[k] != 0) atomicAdd(&confusion[k], local[k]);
}

}  // namespace

// ---- launcher -------------------------------------------------------------------------------

void CudaBackend::confusion_accumulate(const Tensor& pred, const Tensor& truth, Tensor& confusion) {
    check_confusion_accumulate_args(pred, truth, confusion, DeviceKind::cuda);
    const long long n = pred.numel();
    if (n == 0) return;
    // Fewer blocks than pixels/256: each block's shared counters absorb many pixels before the
    // global atomics, which then stay few.
    launch("confusion_kernel", confusion_kernel, grid_for(n, kConfusionThreads, 1024),
           kConfusionThreads, ctx_->stream, pred.data<std::uint8_t>(), truth.data<std::uint8_t>(),
           n, static_cast<int>(confusion.dim(0)), confusion.data<std::int32_t>());
}

}  // namespace pfce
