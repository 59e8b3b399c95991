// What the focal-loss kernels of cuda/focal_loss.cu (three launches, the default) and
// cuda/focal_loss_single.cu (one cooperative launch, a variant) share: their argument block and
// the block size. Their per-pixel formulas are core/kernels/focal.hpp, shared with the CPU.
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
    unsigned int* block_counts;        // single launch: (grid, CMAX) per-block class counts
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

}  // namespace focal_detail
}  // namespace pfce
