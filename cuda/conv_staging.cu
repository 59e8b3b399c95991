// The staged copies cuDNN convolves when they are not the f32 NCHW tensors themselves
// (cuda/cudnn_util.hpp): bf16 with the rounding the CPU twin uses (core/kernels/precision.hpp,
// round to nearest even, NaN kept) and/or channels-last. Back to f32 NCHW is exact. A layout
// change is a transpose of each plane's (channels x hw) matrix, through a shared-memory tile so
// that both the reads and the writes are coalesced; the conversion rides along for free.
#include <cstdint>

#include "core/kernels/precision.hpp"
#include "cuda/common.cuh"
#include "cuda/cuda_context.hpp"
#include "cuda/cudnn_util.hpp"

namespace pfce::cudnn {

namespace {

__device__ inline void store(float* p, float v) {
    *p = v;
}
__device__ inline void store(std::uint16_t* p, float v) {
    *p = kernels::bf16_bits(v);
}
__device__ inline float load(const float* p) {
    return *p;
}
__device__ inline float load(const std::uint16_t* p) {
    return kernels::bf16_to_float(*p);
}

template <typename Out>
__global__ void convert_kernel(const float* __restrict__ src, Out* __restrict__ dst, long long n) {
    for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<long long>(gridDim.x) * blockDim.x)
        store(dst + i, src[i]);
}

template <typename In>
__global__ void convert_back_kernel(const In* __restrict__ src, float* __restrict__ dst,
                                    long long n) {
    for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<long long>(gridDim.x) * blockDim.x)
        dst[i] = load(src + i);
}

constexpr int kTile = 32, kTileRows = 8;  // blocks of 32 x 8 threads move 32 x 32 tiles

// Plane blockIdx.z of src (channels x hw, NCHW) -> dst (hw x channels, NHWC), tile (blockIdx.y,
// blockIdx.x) of (channels, hw). Reads run along hw, writes along channels.
template <typename Out>
__global__ void to_channels_last_kernel(const float* __restrict__ src, Out* __restrict__ dst,
                                        long long channels, long long hw) {
    __shared__ float tile[kTile][kTile + 1];  // +1: no bank conflicts on the transposed read
    const long long plane = static_cast<long long>(blockIdx.z) * channels * hw;
    const long long c0 = static_cast<long long>(blockIdx.y) * kTile;
    const long long p0 = static_cast<long long>(blockIdx.x) * kTile;
    for (int j = threadIdx.y; j < kTile; j += kTileRows) {
        const long long c = c0 + j, p = p0 + threadIdx.x;
        if (c < channels && p < hw) tile[j][threadIdx.x] = src[plane + c * hw + p];
    }
    __syncthreads();
    for (int j = threadIdx.y; j < kTile; j += kTileRows) {
        const long long p = p0 + j, c = c0 + threadIdx.x;
        if (c < channels && p < hw) store(dst + plane + p * channels + c, tile[threadIdx.x][j]);
    }
}

// The inverse: plane blockIdx.z of src (hw x channels) -> dst (channels x hw), f32.
template <typename In>
__global__ void from_channels_last_kernel(const In* __restrict__ src, float* __restrict__ dst,
                                          long long channels, long long hw) {
    __shared__ float tile[kTile][kTile + 1];
    const long long plane = static_cast<long long>(blockIdx.z) * channels * hw;
    const long long c0 = static_cast<long long>(blockIdx.y) * kTile;
    const long long p0 = static_cast<long long>(blockIdx.x) * kTile;
    for (int j = threadIdx.y; j < kTile; j += kTileRows) {
        const long long p = p0 + j, c = c0 + threadIdx.x;
        if (c < channels && p < hw) tile[j][threadIdx.x] = load(src + plane + p * channels + c);
    }
    __syncthreads();
    for (int j = threadIdx.y; j < kTile; j += kTileRows) {
        const long long c = c0 + j, p = p0 + threadIdx.x;
        if (c < channels && p < hw) dst[plane + c * hw + p] = tile[threadIdx.x][j];
    }
}

dim3 transpose_grid(const StagedLayout& l) {
    const long long gx = (l.hw + kTile - 1) / kTile, gy = (l.channels + kTile - 1) / kTile;
    PFCE_CHECK_SHAPE(gx <= 0x7fffffffLL && gy <= 65535 && l.planes <= 65535,
                     "channels-last staging of ", l.planes, " planes of ", l.channels, " x ", l.hw,
                     " exceeds the grid");
    return dim3(static_cast<unsigned>(gx), static_cast<unsigned>(gy),
                static_cast<unsigned>(l.planes));
}

template <typename T>
void stage_as(const float* src, T* dst, const StagedLayout& l, cudaStream_t stream) {
    if (!l.nhwc) {
        const long long n = l.planes * l.channels * l.hw;
        launch("stage_convert", convert_kernel<T>, grid_for(n), 256, stream, src, dst, n);
    } else {
        launch("stage_to_channels_last", to_channels_last_kernel<T>, transpose_grid(l),
               dim3(kTile, kTileRows), stream, src, dst, l.channels, l.hw);
    }
}

template <typename T>
void unstage_as(const T* src, float* dst, const StagedLayout& l, cudaStream_t stream) {
    if (!l.nhwc) {
        const long long n = l.planes * l.channels * l.hw;
        launch("unstage_convert", convert_back_kernel<T>, grid_for(n), 256, stream, src, dst, n);
    } else {
        launch("unstage_from_channels_last", from_channels_last_kernel<T>, transpose_grid(l),
               dim3(kTile, kTileRows), stream, src, dst, l.channels, l.hw);
    }
}

}  // namespace

void stage_copy(const float* src, void* dst, const StagedLayout& l, cudaStream_t stream) {
    if (l.planes * l.channels * l.hw == 0) return;
    if (l.bf16)
        stage_as(src, static_cast<std::uint16_t*>(dst), l, stream);
    else
        stage_as(src, static_cast<float*>(dst), l, stream);
}

void unstage_copy(const void* src, float* dst, const StagedLayout& l, cudaStream_t stream) {
    if (l.planes * l.channels * l.hw == 0) return;
    if (l.bf16)
        unstage_as(static_cast<const std::uint16_t*>(src), dst, l, stream);
    else
        unstage_as(static_cast<const float*>(src), dst, l, stream);
}

}  // namespace pfce::cudnn
