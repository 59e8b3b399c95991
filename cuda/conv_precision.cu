// The bf16 copies of the bf16 convolution path (cuda/cudnn_util.hpp): f32 -> bf16 with the
// rounding the CPU twin uses (core/kernels/precision.hpp, round to nearest even, NaN kept), and
// bf16 -> f32 (exact).
#include <cstdint>

#include "core/kernels/precision.hpp"
#include "cuda/common.cuh"
#include "cuda/cuda_context.hpp"
#include "cuda/cudnn_util.hpp"

namespace pfce::cudnn {

namespace {

__global__ void to_bf16_kernel(const float* __restrict__ src, std::uint16_t* __restrict__ dst,
                               long long n) {
    for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<long long>(gridDim.x) * blockDim.x)
        dst[i] = kernels::bf16_bits(src[i]);
}

__global__ void from_bf16_kernel(const std::uint16_t* __restrict__ src, float* __restrict__ dst,
                                 long long n) {
    for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<long long>(gridDim.x) * blockDim.x)
        dst[i] = kernels::bf16_to_float(src[i]);
}

}  // namespace

void to_bf16(const float* src, std::uint16_t* dst, long long n, cudaStream_t stream) {
    if (n > 0) launch("to_bf16", to_bf16_kernel, grid_for(n), 256, stream, src, dst, n);
}

void from_bf16(const std::uint16_t* src, float* dst, long long n, cudaStream_t stream) {
    if (n > 0) launch("from_bf16", from_bf16_kernel, grid_for(n), 256, stream, src, dst, n);
}

}  // namespace pfce::cudnn
