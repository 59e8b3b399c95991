// What the focal-loss kernels share: cuda/focal_loss.cu (three launches, the reference kernel),
// cuda/focal_loss_vec4.cu (the same launches with a 4-pixels-a-thread pass, the run default, and
// with a pass whose last block finishes, variant two_launch) and cuda/focal_loss_single.cu (one
// cooperative launch, a variant): their argument block, the block size, the per-block label
// count, the final sum, the softmax terms of a pixel and the 1- and 4-pixel bodies of the
// variants. Their per-pixel formulas are core/kernels/focal.hpp, shared with the CPU.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/kernels/fast_divmod.hpp"
#include "core/kernels/focal.hpp"
#include "core/op_params.hpp"
#include "cuda/common.cuh"

namespace pfce {

struct CudaContext;

namespace focal_detail {

constexpr int kThreads = 256;  // per block, a multiple of the warp size

struct FocalArgs {
    const float* logits;               // (N,C,H,W)
    const unsigned char* labels;       // (N,H,W)
    float* dlogits;                    // (N,C,H,W) or null
    const unsigned long long* counts;  // three launches: (C) labelled pixels per class
    unsigned int* block_counts;        // single launch, two_launch: (CMAX, grid) per-block counts
    double* partials;                  // (gridDim.x) per-block loss sums
    // two_launch: 1 / normalizer and whether at least half the pixels are labelled, from the
    // count's last block; the pass's ticket counter (CudaContext::tickets).
    const float* inv_norm;
    const unsigned int* dense;
    unsigned int* pass_done;
    float* loss;  // (1)
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

// Blocks an SM must hold in the 4-pixel kernels (so registers a thread may use: 64 at 4, 80 at
// 3). ptxas -v (nvcc 13, sm_90): 4 pixels of up to 4 classes fit in 64 without spilling; of 6
// they spill 28 bytes at 64 and none at 80; of 8, 20-28 bytes at 80. Of exactly 5 (two_launch's
// pass, compiled for its class count; the others bound C by 2, 4, 6 or 8) none at 64, of exactly
// 6 4-12 bytes at 64 (and none at 80), by how the rest of the kernel is written.
template <int CMAX>
constexpr int kMinBlocksPerSm = CMAX <= 5 ? 4 : 3;

// Whether p may be read as float4 / written as float4 (the 4-pixel paths of both variants).
inline bool aligned16(const void* p) {
    return reinterpret_cast<std::uintptr_t>(p) % 16 == 0;
}

// The variant "vec4"'s fused pass (cuda/focal_loss_vec4.cu), run between the three-launch count
// and finish kernels: launches it on a grid of at most max_blocks blocks and returns that number
// (of loss partials), or returns 0 (nothing launched) where it cannot run: more than 8 classes,
// an image size not a multiple of 4, unaligned tensors, or more images than max_blocks. With
// `finish` (two_launch), the last block to finish also sums the partials into the loss (counting
// the finished blocks with a.pass_done, a ticket counter: 0 at launch, wrapped back to 0 by the
// last block), so no finish kernel follows.
unsigned launch_focal_vec4(const FocalArgs& a, unsigned max_blocks, bool finish,
                           cudaStream_t stream);

// loss[0] <- the nparts loss partials summed in a fixed order (a whole block of kThreads threads
// calls it) over the normalizer: the three-launch finish kernel, and the last block of
// two_launch's pass, which reads partials other blocks wrote during the same launch, hence
// through L2 (__ldcg), never from a line its SM's L1 may hold. The same order in both, so
// two_launch's loss has vec4's bits.
__device__ __forceinline__ void focal_finish_block(const FocalArgs& a, int nparts) {
    double v = 0.0;
    for (int b = threadIdx.x; b < nparts; b += blockDim.x) v += __ldcg(a.partials + b);
    const double total = block_sum_warps(v);
    if (threadIdx.x == 0)
        a.loss[0] = kernels::focal_mean(
            total, kernels::focal_normalizer(a.counts, a.alpha, a.c, a.normalize_alpha != 0));
}

// Labelled pixels per class over the grid, into totals (shared, CMAX entries), from each block's
// counts in a.block_counts (class-major, nblocks a class: coalesced reads where every block's
// counts are summed, storing them block-major made each lane read a sector of its own). Through L2
// (__ldcg): two_launch's last block reads counts other blocks wrote in the same launch. Integer
// sums: any order gives one result. Every thread of the block must call it.
template <int CMAX>
__device__ void sum_block_counts(const FocalArgs& a, unsigned nblocks, unsigned long long* totals) {
    for (int k = 0; k < a.c; ++k) {
        unsigned long long v = 0;
        for (unsigned b = threadIdx.x; b < nblocks; b += blockDim.x)
            v += __ldcg(a.block_counts + k * nblocks + b);
        v = block_sum_warps(v);
        if (threadIdx.x == 0) totals[k] = v;
    }
    __syncthreads();
}

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

// One labelled-or-not pixel of c classes (a.c, or CMAX itself where the kernel is compiled for
// the class count: then every `k < c` test folds away): z holds its c logits on entry and its
// gradient on return (all 0 for an unlabelled pixel, whose logits are never used). Adds its loss
// to sum.
template <int CMAX, int G>
__device__ __forceinline__ void focal_pixel(float (&z)[CMAX], int y, int c, const FocalArgs& a,
                                            float inv_norm, double& sum) {
    if (y >= c) {
#pragma unroll
        for (int k = 0; k < CMAX; ++k) z[k] = 0.0f;
        return;
    }
    float m = -INFINITY;
#pragma unroll
    for (int k = 0; k < CMAX; ++k)
        if (k < c) m = fmaxf(m, z[k]);
    const FocalExp x = focal_exp(z, c, y, m);
    const float s = x.ey + x.s_other;
    const float inv_s = 1.0f / s;
    const float u = x.s_other * inv_s, q = x.ey * inv_s;
    const float logq = kernels::focal_log_q(x.zy_m, s, u);
    const float pw = kernels::focal_pow_gamma<G>(u, a.gamma);
    const kernels::FocalPixel<float> t =
        kernels::focal_pixel_terms_pw(u, q, logq, a.gamma, a.alpha[y], pw);
    sum += static_cast<double>(t.loss + x.poison);
    // dl/dz_k = coef (delta_ky - p_k), divided by the normalizer
    const float dz_y = t.coef * u * inv_norm, w = t.coef * inv_norm * inv_s;
#pragma unroll
    for (int k = 0; k < CMAX; ++k)
        if (k < c) z[k] = k == y ? dz_y : 0.0f - w * z[k];
}

// Four consecutive pixels of one image, of c classes (as focal_pixel's): their labels y4, channel
// k's four logits at logits[k * hw] (16-byte aligned: hw % 4 == 0 and aligned planes), so each
// channel is one float4 load and, into dlogits (or nowhere when null), one float4 store. A group
// with no labelled pixel reads no logits, but then its logit loads wait for its labels' round
// trip; kLoadAll loads them without looking at the labels (where most pixels are labelled), with
// the same results.
template <int CMAX, int G, bool kLoadAll = false>
__device__ __forceinline__ void focal_group4(const float* logits, float* dlogits, long long hw,
                                             uchar4 y4, int c, const FocalArgs& a, float inv_norm,
                                             double& sum) {
    const int y[4] = {y4.x, y4.y, y4.z, y4.w};
    const bool any = kLoadAll || y[0] < c || y[1] < c || y[2] < c || y[3] < c;
    float z[4][CMAX];
#pragma unroll
    for (int k = 0; k < CMAX; ++k) {
        float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (k < c && any) v = *reinterpret_cast<const float4*>(logits + k * hw);
        z[0][k] = v.x;
        z[1][k] = v.y;
        z[2][k] = v.z;
        z[3][k] = v.w;
    }
#pragma unroll
    for (int p = 0; p < 4; ++p) focal_pixel<CMAX, G>(z[p], y[p], c, a, inv_norm, sum);
    if (dlogits) {
#pragma unroll
        for (int k = 0; k < CMAX; ++k)
            if (k < c)
                *reinterpret_cast<float4*>(dlogits + k * hw) =
                    make_float4(z[0][k], z[1][k], z[2][k], z[3][k]);
    }
}

}  // namespace focal_detail
}  // namespace pfce
