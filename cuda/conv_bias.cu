// The bias passes of a convolution or transposed convolution (cuda/cudnn_util.hpp add_bias,
// bias_gradient). On a bf16 activation both are here: cuDNN's cudnnAddTensor wants the bias in
// the tensor's own type, and here the bias stays f32, the add is f32 and a bf16 element is read and
// written through core/kernels/precision.hpp, as the CPU twin rounds. The bias gradient is here
// for f32 too: summed in double in a fixed order (deterministic, as the CPU twin's double sums),
// for either layout, instead of cuDNN's cudnnConvolutionBackwardBias, which is deprecated in
// cuDNN 9 and documents no channels-last dy.
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

// The bias gradient is a per-channel sum over every image and pixel, split over (slice, channel)
// blocks so that a few wide channels still fill the GPU (as batch norm's sums, cuda/batchnorm.cu),
// then finished per channel; each partial and the finish add in one fixed order, so the result
// does not depend on timing. partial[c * S + s]: slice s of channel c.

// nchw: block (s, c) sums pixels s*T + t, step S*T, of channel c's plane in every image.
template <class T>
__global__ void bias_partial_nchw_kernel(const T* __restrict__ dy, long long n, long long c,
                                         long long hw, double* __restrict__ partial) {
    __shared__ double sh[kThreads];
    const long long ch = blockIdx.y;
    const long long step = 1LL * gridDim.x * kThreads;
    double sum = 0.0;
    for (long long i = 0; i < n; ++i) {
        const T* plane = dy + (i * c + ch) * hw;
        for (long long k = 1LL * blockIdx.x * kThreads + threadIdx.x; k < hw; k += step)
            sum += kernels::load_value(plane + k);
    }
    sum = block_sum_tree<kThreads>(sum, sh);
    if (threadIdx.x == 0) partial[ch * gridDim.x + blockIdx.x] = sum;
}

// nhwc: block (s, t) covers channels t*kColTile + tx (consecutive threads read consecutive
// channels) and pixels s*kRowLanes + ty, step S*kRowLanes; the kRowLanes lanes of a channel are
// then added in lane order.
constexpr int kColTile = 32, kRowLanes = kThreads / kColTile;
template <class T>
__global__ void bias_partial_nhwc_kernel(const T* __restrict__ dy, long long pixels, long long c,
                                         double* __restrict__ partial) {
    __shared__ double sh[kRowLanes][kColTile];
    const int tx = threadIdx.x % kColTile, ty = threadIdx.x / kColTile;
    const long long ch = 1LL * blockIdx.y * kColTile + tx;
    double sum = 0.0;
    if (ch < c)
        for (long long q = 1LL * blockIdx.x * kRowLanes + ty; q < pixels;
             q += 1LL * gridDim.x * kRowLanes)
            sum += kernels::load_value(dy + q * c + ch);
    sh[ty][tx] = sum;
    __syncthreads();
    if (ty == 0 && ch < c) {
        double total = 0.0;
        for (int l = 0; l < kRowLanes; ++l) total += sh[l][tx];
        partial[ch * gridDim.x + blockIdx.x] = total;
    }
}

// One thread per channel: dbias[c] = its slices' partials, added in slice order.
__global__ void bias_finish_kernel(const double* __restrict__ partial, int slices, long long c,
                                   float* __restrict__ dbias) {
    for (long long ch = 1LL * blockIdx.x * blockDim.x + threadIdx.x; ch < c;
         ch += 1LL * gridDim.x * blockDim.x) {
        double sum = 0.0;
        for (int s = 0; s < slices; ++s) sum += partial[ch * slices + s];
        dbias[ch] = static_cast<float>(sum);
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

namespace {

template <class T>
void bias_gradient_sums(CudaContext& ctx, const T* dy, float* dbias, long long n, long long c,
                        long long hw, bool nhwc) {
    if (c == 0) return;
    PFCE_CHECK_SHAPE(c <= 65535LL * (nhwc ? kColTile : 1), "bias gradient of ", c,
                     " channels exceeds the grid");
    // Slices per channel: enough blocks to fill every SM a few times over, none narrower than a
    // block's worth of values, at most 1024.
    const long long channel_blocks = nhwc ? (c + kColTile - 1) / kColTile : c;
    const long long per_slice = nhwc ? 8LL * kRowLanes : kThreads;
    const long long extent = nhwc ? n * hw : hw;
    const long long want =
        (4LL * ctx.props.multiProcessorCount + channel_blocks - 1) / channel_blocks;
    const int slices = static_cast<int>(
        std::max(1LL, std::min({want, (extent + per_slice - 1) / per_slice, 1024LL})));
    auto* partial = static_cast<double*>(ctx.workspace(sizeof(double) * slices * c));
    const dim3 grid(static_cast<unsigned>(slices), static_cast<unsigned>(channel_blocks));
    if (nhwc)
        launch("bias_partial_nhwc_kernel", bias_partial_nhwc_kernel<T>, grid, kThreads, ctx.stream,
               dy, n * hw, c, partial);
    else
        launch("bias_partial_nchw_kernel", bias_partial_nchw_kernel<T>, grid, kThreads, ctx.stream,
               dy, n, c, hw, partial);
    launch("bias_finish_kernel", bias_finish_kernel, grid_for(c), 256, ctx.stream, partial, slices,
           c, dbias);
}

}  // namespace

void bias_gradient(CudaContext& ctx, const Bf16* dy, float* dbias, long long n, long long c,
                   long long hw, bool nhwc) {
    bias_gradient_sums(ctx, dy, dbias, n, c, hw, nhwc);
}

void bias_gradient(CudaContext& ctx, const float* dy, float* dbias, long long n, long long c,
                   long long hw, bool nhwc) {
    bias_gradient_sums(ctx, dy, dbias, n, c, hw, nhwc);
}

}  // namespace pfce::cudnn
