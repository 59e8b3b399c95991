// The staged copies cuDNN convolves when they are not the tensors themselves (cuda/cudnn_util.hpp):
// in the element type the precision convolves in, converted with the rounding the CPU twin uses
// (core/kernels/precision.hpp, round to nearest even, NaN kept), and/or in the other layout (NCHW
// <-> NHWC). Back to the tensor is exact, or rounds the same way into a bf16 tensor. A layout
// change is a transpose of each image's (channels x hw) or (hw x channels) matrix, through a
// shared-memory tile so that both the reads and the writes are coalesced; the conversion rides
// along for free.
#include <algorithm>
#include <cstdint>

#include "core/kernels/precision.hpp"
#include "cuda/common.cuh"
#include "cuda/cuda_context.hpp"
#include "cuda/cudnn_util.hpp"

namespace pfce::cudnn {

namespace {

using kernels::load_value;
using kernels::store_value;

template <typename In, typename Out>
__global__ void convert_kernel(const In* __restrict__ src, Out* __restrict__ dst, long long n) {
    for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<long long>(gridDim.x) * blockDim.x)
        store_value(dst + i, load_value(src + i));
}

constexpr int kTile = 32, kTileRows = 8;  // blocks of 32 x 8 threads move 32 x 32 tiles

// Plane blockIdx.z of src, a (rows x cols) matrix, into dst as its transpose (cols x rows), 32 x 32
// tiles: reads run along cols, writes along rows, both coalesced. The blocks stride over the tiles
// (the same count for every thread of a block, so __syncthreads is reached by all), so a grid
// capped at the launch limits covers any size. NCHW -> NHWC is the transpose of each image's
// (C x HW); NHWC -> NCHW of its (HW x C).
template <typename In, typename Out>
__global__ void transpose_kernel(const In* __restrict__ src, Out* __restrict__ dst, long long rows,
                                 long long cols) {
    __shared__ float tile[kTile][kTile + 1];  // +1: no bank conflicts on the transposed read
    const long long plane = static_cast<long long>(blockIdx.z) * rows * cols;
    for (long long r0 = static_cast<long long>(blockIdx.y) * kTile; r0 < rows;
         r0 += static_cast<long long>(gridDim.y) * kTile)
        for (long long c0 = static_cast<long long>(blockIdx.x) * kTile; c0 < cols;
             c0 += static_cast<long long>(gridDim.x) * kTile) {
            for (int j = threadIdx.y; j < kTile; j += kTileRows) {
                const long long r = r0 + j, c = c0 + threadIdx.x;
                if (r < rows && c < cols)
                    tile[j][threadIdx.x] = load_value(src + plane + r * cols + c);
            }
            __syncthreads();
            for (int j = threadIdx.y; j < kTile; j += kTileRows) {
                const long long c = c0 + j, r = r0 + threadIdx.x;
                if (r < rows && c < cols)
                    store_value(dst + plane + c * rows + r, tile[threadIdx.x][j]);
            }
            __syncthreads();  // the tile is refilled by the next iteration
        }
}

// One copy from layout src_nhwc to dst_nhwc: a plain conversion when they agree, else the
// per-image transpose.
template <typename In, typename Out>
void convert(const In* src, Out* dst, const StagedLayout& l, bool src_nhwc, bool dst_nhwc,
             cudaStream_t stream) {
    if (src_nhwc == dst_nhwc) {
        const long long n = l.planes * l.channels * l.hw;
        launch("stage_convert", convert_kernel<In, Out>, grid_for(n), 256, stream, src, dst, n);
        return;
    }
    const long long rows = src_nhwc ? l.hw : l.channels, cols = src_nhwc ? l.channels : l.hw;
    const long long gx = std::min((cols + kTile - 1) / kTile, 0x7fffffffLL);
    const long long gy = std::min((rows + kTile - 1) / kTile, 65535LL);
    PFCE_CHECK_SHAPE(l.planes <= 65535, "staging of ", l.planes, " planes of ", l.channels, " x ",
                     l.hw, " exceeds the grid");
    launch(
        "stage_transpose", transpose_kernel<In, Out>,
        dim3(static_cast<unsigned>(gx), static_cast<unsigned>(gy), static_cast<unsigned>(l.planes)),
        dim3(kTile, kTileRows), stream, src, dst, rows, cols);
}

}  // namespace

namespace {

// convert() with the element types a StagedLayout names: the tensor's (f32 or bf16) and the staged
// copy's (the precision's), in the direction `to_staged` says.
void convert_staged(const void* src, void* dst, const StagedLayout& l, bool to_staged,
                    cudaStream_t stream) {
    if (l.planes * l.channels * l.hw == 0) return;
    const bool src_bf16 = to_staged ? l.tensor_bf16 : l.bf16;
    const bool dst_bf16 = to_staged ? l.bf16 : l.tensor_bf16;
    const bool src_nhwc = to_staged ? l.tensor_nhwc : l.staged_nhwc;
    const bool dst_nhwc = to_staged ? l.staged_nhwc : l.tensor_nhwc;
    auto with_dst = [&](const auto* in) {
        if (dst_bf16)
            convert(in, static_cast<Bf16*>(dst), l, src_nhwc, dst_nhwc, stream);
        else
            convert(in, static_cast<float*>(dst), l, src_nhwc, dst_nhwc, stream);
    };
    if (src_bf16)
        with_dst(static_cast<const Bf16*>(src));
    else
        with_dst(static_cast<const float*>(src));
}

}  // namespace

void stage_copy(const void* src, void* dst, const StagedLayout& l, cudaStream_t stream) {
    convert_staged(src, dst, l, true, stream);
}

void unstage_copy(const void* src, void* dst, const StagedLayout& l, cudaStream_t stream) {
    convert_staged(src, dst, l, false, stream);
}

}  // namespace pfce::cudnn
