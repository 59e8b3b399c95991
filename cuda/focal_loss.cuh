// What the focal-loss kernels of cuda/focal_loss.cu (three launches, the default) and
// cuda/focal_loss_single.cu (one cooperative launch, a variant) share: their argument block, the
// block size, the per-block label count and the softmax terms of a pixel. Their per-pixel
// formulas are core/kernels/focal.hpp, shared with the CPU.
#pragma once

#include <cuda_runtime.h>

#include "core/kernels/fast_divmod.hpp"
#include "core/op_params.hpp"

namespace pfce {

struct CudaContext;

namespace focal_detail {

constexpr int kThreads = 256;  // per block, a multiple of the warp size

struct FocalArgs {
    const float* logits;               // (N,C,H,W)
    const unsigned char* labels;       // (N,H,W)
    float* dlogits;                    // (N,C,H,W) or null
    const unsigned long long* counts;  // three launches: (C) labelled pixels per class
    unsigned int* block_counts;        // single launch: (CMAX, grid) per-block class counts
    double* partials;                  // (gridDim.x) per-block loss sums
    float* loss;                       // (1)
    long long hw, npix;
    kernels::FastDivmod hw_div;   // single launch: pixel index -> (image, pixel in image)
    kernels::FastDivmod hw4_div;  // single launch, 4 pixels a thread: group -> (image, group)
    int c;
    int normalize_alpha;
    float gamma;
    float alpha[kMaxClasses];
};

// The single-launch variant: count, normalize, fused pass and final sum in one cooperative
// launch. Returns false (nothing launched) where it cannot run: no cooperative launch on this
// device, or 2^32 pixels or more; the caller then runs the three-launch kernels.
bool launch_focal_single(FocalArgs& a, CudaContext& ctx);

// block_counts[k] (shared, CMAX entries) <- the labels == k (k < c) in this block's share of a
// grid-stride loop over npix labels; every thread of the block must call it. Each warp counts 32
// labels per step with one ballot per class (warp-uniform results, so every lane holds the same
// counts), then lane 0 adds them to the block's counts.
template <int CMAX>
__device__ __forceinline__ void count_labels_in_block(const unsigned char* labels, long long npix,
                                                      int c, unsigned int* block_counts) {
    for (int k = threadIdx.x; k < CMAX; k += blockDim.x) block_counts[k] = 0;
    __syncthreads();
    const int lane = threadIdx.x & 31;
    unsigned int mine[CMAX];
#pragma unroll
    for (int k = 0; k < CMAX; ++k) mine[k] = 0;
    const long long stride = 1LL * gridDim.x * blockDim.x;
    // The loop bound is tested on the warp's first index, so whole warps iterate together.
    for (long long i0 = blockIdx.x * 1LL * blockDim.x + (threadIdx.x & ~31); i0 < npix;
         i0 += stride) {
        const long long i = i0 + lane;
        const int y = i < npix ? labels[i] : 255;
#pragma unroll
        for (int k = 0; k < CMAX; ++k)
            if (k < c) mine[k] += __popc(__ballot_sync(0xffffffffu, y == k));
    }
    if (lane == 0) {
#pragma unroll
        for (int k = 0; k < CMAX; ++k)
            if (k < c && mine[k]) atomicAdd(&block_counts[k], mine[k]);
    }
    __syncthreads();
}

// The softmax terms of a labelled pixel of class y: e[k] <- exp(e[k] - m) for its C logits e and
// their max m; ey = e[y], s_other the sum of the other e[k] (so u = s_other / s needs no
// cancellation) and zy_m = z_y - m (for log q). As on the CPU (host/cpu/focal_loss.cpp), an
// exponent at or below -87 counts as 0, and `poison` (0, or NaN when a logit is not finite) is
// added to the pixel's loss: a diverged model's loss is NaN on both backends, even where an
// infinite logit would give exp 0 and a finite loss.
struct FocalExp {
    float ey, s_other, zy_m, poison;
};
template <int CMAX>
__device__ __forceinline__ FocalExp focal_exp(float (&e)[CMAX], int c, int y, float m) {
    FocalExp r{0.0f, 0.0f, 0.0f, 0.0f};
#pragma unroll
    for (int k = 0; k < CMAX; ++k)
        if (k < c) {
            r.poison += e[k] * 0.0f;
            const float zk_m = e[k] - m;
            e[k] = zk_m > -87.0f ? expf(zk_m) : 0.0f;
            if (k == y) {
                r.ey = e[k];
                r.zy_m = zk_m;
            } else {
                r.s_other += e[k];
            }
        }
    return r;
}

}  // namespace focal_detail
}  // namespace pfce
