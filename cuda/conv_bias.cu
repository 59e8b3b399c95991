// The bias passes of a convolution or transposed convolution whose output (forward) or output
// gradient (backward) is a bf16 activation (cuda/cudnn_util.hpp add_bias, bias_gradient): cuDNN's
// cudnnAddTensor and cudnnConvolutionBackwardBias do them on f32 tensors, but want the bias in
// the tensor's own type. Here the bias and its gradient stay f32, the arithmetic is f32 (the add)
// and double (the sums), and a bf16 element is read and written through core/kernels/precision.hpp,
// as the CPU twin rounds.
#include <algorithm>

#include "core/kernels/precision.hpp"
#include "cuda/common.cuh"
#include "cuda/cuda_context.hpp"
#include "cuda/cudnn_util.hpp"

namespace pfce::cudnn {

namespace {

constexpr int kThreads = 256;  // a power of two: block_sum_tree halves it

// t[i] = round_bf16(t[i] + bias[channel of i]), one thread per element (grid-stride).
__global__ void add_bias_bf16_kernel(Bf16* t, const float* __restrict__ bias, long long c,
                                     long long hw, bool nhwc, long long total) {
    for (long long i = 1LL * blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += 1LL * gridDim.x * blockDim.x) {
        const long long ch = nhwc ? i % c : (i / hw) % c;
        kernels::store_value(t + i, kernels::load_value(t + i) + bias[ch]);
    }
}

// Block ch sums channel ch of dy over every image and pixel (blockIdx.x strides over channels, so
// any C fits the grid), one fixed order: each thread its strided share, then the block's tree.
__global__ void bias_gradient_bf16_kernel(const Bf16* __restrict__ dy, float* __restrict__ dbias,
                                          long long n, long long c, long long hw, bool nhwc) {
    __shared__ double sh[kThreads];
    for (long long ch = blockIdx.x; ch < c; ch += gridDim.x) {
        double sum = 0.0;
        if (nhwc) {  // (pixels, C): channel ch every C elements
            for (long long q = threadIdx.x; q < n * hw; q += kThreads)
                sum += kernels::load_value(dy + q * c + ch);
        } else {  // (N, C, HW): image i's plane of channel ch is contiguous
            for (long long i = 0; i < n; ++i) {
                const Bf16* plane = dy + (i * c + ch) * hw;
                for (long long k = threadIdx.x; k < hw; k += kThreads)
                    sum += kernels::load_value(plane + k);
            }
        }
        sum = block_sum_tree<kThreads>(sum, sh);
        if (threadIdx.x == 0) dbias[ch] = static_cast<float>(sum);
        __syncthreads();  // sh is reused by the next channel
    }
}

}  // namespace

void add_bias_bf16(Bf16* t, const float* bias, long long n, long long c, long long hw, bool nhwc,
                   cudaStream_t stream) {
    const long long total = n * c * hw;
    if (total == 0) return;
    launch("add_bias_bf16_kernel", add_bias_bf16_kernel, grid_for(total), kThreads, stream, t, bias,
           c, hw, nhwc, total);
}

void bias_gradient_bf16(const Bf16* dy, float* dbias, long long n, long long c, long long hw,
                        bool nhwc, cudaStream_t stream) {
    if (c == 0) return;
    const unsigned grid = static_cast<unsigned>(std::min(c, 65535LL));
    launch("bias_gradient_bf16_kernel", bias_gradient_bf16_kernel, dim3(grid), kThreads, stream, dy,
           dbias, n, c, hw, nhwc);
}

}  // namespace pfce::cudnn
