// The focal-loss variant "vec4" (select_op_variant("focal_loss", "vec4")): the three launches of
// cuda/focal_loss.cu with another fused pass, kept beside it until a GPU benchmark (bench_loss
// times every variant) picks. What the first H200 run suggested the default's pass lacks (0.44 of
// copy bandwidth): it divides a 64-bit pixel index per pixel, waits for each pixel's label before
// loading its logits, and moves 4 bytes per load. The single-launch variant has 16-byte accesses
// but ran slower still: its 4-pixel kernel needs 86 registers (2 blocks an SM) and its cooperative
// grid is only what is resident. This pass:
//   - a 2-D grid, one row of blocks per image (blockIdx.y): no division at all;
//   - 4 consecutive pixels a thread, one float4 per channel, one uchar4 of labels (focal_group4);
//   - where a thread has several groups (a batch of more than 4096 x 256 groups), the next labels
//     loaded before this group's logits are used, so it waits for one round trip per group, not
//     two;
//   - registers bounded so that 3 or 4 blocks of 256 stay resident on an SM (kMinBlocksPerSm),
//     and a grid fixed by the shape alone (at most max_blocks, as the default's), so the loss's
//     summation order does not depend on the GPU.
// On the H100 (bench/results/2026-12-06-h100-d23e679) this pass ran at 0.87 of copy bandwidth,
// the three launches around it at 0.65: the count and finish kernels took a quarter of the time.
// The variant two_launch therefore counts 16 labels a load (cuda/focal_loss.cu), whose last block
// leaves 1 / normalizer and whether most pixels are labelled, and runs this pass with kFinish: no
// per-block normalizer and barrier before the first load, the logits of a mostly labelled batch
// loaded beside their labels, and the last block to finish sums the partials, in the finish
// kernel's order (so two_launch's bits are vec4's). two_launch's pass is also compiled for the
// class count itself (one kernel per count, 1-8), not for a bound with the count read at
// run time: the H100 profile had vec4's pass issuing an instruction on 61% of cycles, and its PTX
// tests `k < c` and branches for each class of each pixel; with c known they fold away, and the
// same operations in the same order leave the bits as they were.
#include <cstdint>

#include "cuda/common.cuh"
#include "cuda/focal_loss.cuh"

namespace pfce::focal_detail {

namespace {

template <int CMAX, int G, bool kFinish>
__global__ void __launch_bounds__(kThreads, kMinBlocksPerSm<CMAX>)
    focal_vec4_kernel(const __grid_constant__ FocalArgs a) {
    const int c = kFinish ? CMAX : a.c;  // two_launch's pass is compiled for its class count
    // two_launch's count left 1 / normalizer and the dense flag: read without a barrier, their
    // round trip overlaps the labels'. vec4 computes it per block first, before any load.
    float inv_norm;
    bool dense = false;
    if constexpr (kFinish) {
        inv_norm = *a.inv_norm;
        dense = *a.dense != 0;
    } else {
        __shared__ float inv_norm_shared;
        if (threadIdx.x == 0)
            inv_norm_shared = kernels::focal_inv_norm(
                kernels::focal_normalizer(a.counts, a.alpha, a.c, a.normalize_alpha != 0));
        __syncthreads();
        inv_norm = inv_norm_shared;
    }
    const long long hw = a.hw, groups = hw / 4;
    const long long plane0 = static_cast<long long>(blockIdx.y) * c * hw;  // this image
    const uchar4* labels4 = reinterpret_cast<const uchar4*>(a.labels + blockIdx.y * hw);
    const long long stride = 1LL * gridDim.x * blockDim.x;
    long long g = blockIdx.x * 1LL * blockDim.x + threadIdx.x;
    const uchar4 none = make_uchar4(255, 255, 255, 255);
    uchar4 next = g < groups ? labels4[g] : none;
    double sum = 0.0;
    for (; g < groups; g += stride) {
        const uchar4 y4 = next;
        next = g + stride < groups ? labels4[g + stride] : none;
        const long long base = plane0 + 4 * g;
        float* const dlogits = a.dlogits ? a.dlogits + base : nullptr;
        // Mostly labelled (the flag): the logits are loaded beside the labels, not after them.
        // The choice in the loop, not of two loops: ptxas (nvcc 13, sm_90) spills 4 bytes at 8
        // classes so against 28 with a loop for each (none at 6 either way), and vec4's loop,
        // where `dense` is false at compile time, stays the one the H100 measured.
        if (dense)
            focal_group4<CMAX, G, true>(a.logits + base, dlogits, hw, y4, c, a, inv_norm, sum);
        else
            focal_group4<CMAX, G>(a.logits + base, dlogits, hw, y4, c, a, inv_norm, sum);
    }
    const double block_total = block_sum_warps(sum);
    const unsigned nparts = gridDim.x * gridDim.y;
    if (threadIdx.x == 0) a.partials[blockIdx.y * gridDim.x + blockIdx.x] = block_total;
    if constexpr (kFinish) {
        // The last block to take a ticket sees every partial: each block's thread 0 makes its
        // partial visible device-wide (the fence) before it takes its ticket.
        __shared__ bool last;
        if (threadIdx.x == 0) {
            __threadfence();
            last = atomicInc(a.pass_done, nparts - 1) == nparts - 1;  // wraps back to 0
        }
        __syncthreads();
        if (last) {
            __threadfence();
            focal_finish_block(a, static_cast<int>(nparts));
        }
    }
}

// vec4: a.c classes, at most CMAX. two_launch (kFinish): CMAX classes exactly.
template <int CMAX, bool kFinish>
void launch_for_gamma(const FocalArgs& a, dim3 grid, cudaStream_t stream) {
    if (a.gamma == 0.0f)
        launch("focal_vec4_kernel", focal_vec4_kernel<CMAX, 0, kFinish>, grid, kThreads, stream, a);
    else if (a.gamma == 2.0f)
        launch("focal_vec4_kernel", focal_vec4_kernel<CMAX, 2, kFinish>, grid, kThreads, stream, a);
    else
        launch("focal_vec4_kernel", focal_vec4_kernel<CMAX, kernels::kAnyGamma, kFinish>, grid,
               kThreads, stream, a);
}

}  // namespace

unsigned launch_focal_vec4(const FocalArgs& a, unsigned max_blocks, bool finish,
                           cudaStream_t stream) {
    const long long n = a.npix / a.hw;
    const bool fits = a.c <= 8 && a.hw % 4 == 0 && n <= max_blocks && aligned16(a.logits) &&
                      (a.dlogits == nullptr || aligned16(a.dlogits)) &&
                      reinterpret_cast<std::uintptr_t>(a.labels) % 4 == 0;
    if (!fits) return 0;
    // Blocks per image: enough for one group a thread, at most an equal share of max_blocks.
    const long long wanted = (a.hw / 4 + kThreads - 1) / kThreads;
    const long long share = max_blocks / n;
    const dim3 grid(static_cast<unsigned>(wanted < share ? wanted : share),
                    static_cast<unsigned>(n));
    if (finish) {
        switch (a.c) {
            case 1:
                launch_for_gamma<1, true>(a, grid, stream);
                break;
            case 2:
                launch_for_gamma<2, true>(a, grid, stream);
                break;
            case 3:
                launch_for_gamma<3, true>(a, grid, stream);
                break;
            case 4:
                launch_for_gamma<4, true>(a, grid, stream);
                break;
            case 5:
                launch_for_gamma<5, true>(a, grid, stream);
                break;
            case 6:
                launch_for_gamma<6, true>(a, grid, stream);
                break;
            case 7:
                launch_for_gamma<7, true>(a, grid, stream);
                break;
            default:
                launch_for_gamma<8, true>(a, grid, stream);
                break;
        }
        return grid.x * grid.y;
    }
    // Registers hold 4 pixels' C logits: 6 (ISPRS Potsdam and Vaihingen) gets its own bound.
    if (a.c <= 2)
        launch_for_gamma<2, false>(a, grid, stream);
    else if (a.c <= 4)
        launch_for_gamma<4, false>(a, grid, stream);
    else if (a.c <= 6)
        launch_for_gamma<6, false>(a, grid, stream);
    else
        launch_for_gamma<8, false>(a, grid, stream);
    return grid.x * grid.y;
}

}  // namespace pfce::focal_detail
