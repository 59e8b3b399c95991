// The focal-loss variant "single_launch" (select_op_variant("focal_loss", "single_launch")): the
// same semantics and per-pixel formulas as cuda/focal_loss.cu in one cooperative launch instead of
// three, kept beside the default until a GPU benchmark (bench_loss times every variant) picks:
//   1. each block counts its share of the labels per class into its own row (no atomics between
//      blocks, nothing to zero beforehand); grid sync;
//   2. every block sums the rows (integers: exact in any order) and forms 1 / normalizer;
//   3. the fused pass: 4 consecutive pixels a thread with 16-byte loads and stores where the
//      image size and pointers allow (C <= 8), else one; image and pixel from a FastDivmod
//      instead of a 64-bit division; the next group's labels loaded ahead; one reciprocal of the
//      softmax sum; gamma 0 and 2 compiled without pow; grid sync;
//   4. block 0 sums the per-block partials in block order and divides by the normalizer.
// The grid is as many blocks as fit on the device at once (a cooperative launch needs them all
// resident), so the loss's summation order is fixed for a given GPU model, as the three-launch
// kernels' is for any model once the input fills their capped grid.
#include <cooperative_groups.h>

#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>

#include "core/kernels/focal.hpp"
#include "cuda/common.cuh"
#include "cuda/cuda_context.hpp"
#include "cuda/focal_loss.cuh"

namespace pfce::focal_detail {

namespace {

namespace cg = cooperative_groups;

constexpr unsigned kMaxBlocks = 4096;  // workspace bound; the resident grid is far smaller

template <int CMAX>
__device__ void count_block_labels(const FocalArgs& a) {
    __shared__ unsigned int counts[CMAX];
    count_labels_in_block<CMAX>(a.labels, a.npix, a.c, counts);
    for (int k = threadIdx.x; k < a.c; k += blockDim.x)
        a.block_counts[k * gridDim.x + blockIdx.x] = counts[k];  // class-major: sum_block_counts
}

// One pixel a thread (any size, any C).
template <int CMAX, int G>
__device__ double fused_pass_scalar(const FocalArgs& a, float inv_norm) {
    double sum = 0.0;
    const long long hw = a.hw;
    for (long long i = blockIdx.x * 1LL * blockDim.x + threadIdx.x; i < a.npix;
         i += 1LL * gridDim.x * blockDim.x) {
        std::uint32_t img, j;
        a.hw_div.divmod(static_cast<std::uint32_t>(i), img, j);
        const long long base = static_cast<long long>(img) * a.c * hw + j;
        const int y = a.labels[i];
        float z[CMAX];
#pragma unroll
        for (int k = 0; k < CMAX; ++k) z[k] = k < a.c && y < a.c ? a.logits[base + k * hw] : 0.0f;
        focal_pixel<CMAX, G>(z, y, a.c, a, inv_norm, sum);
        if (a.dlogits) {
#pragma unroll
            for (int k = 0; k < CMAX; ++k)
                if (k < a.c) a.dlogits[base + k * hw] = z[k];
        }
    }
    return sum;
}

// Four consecutive pixels of one image a thread (focal_group4).
template <int CMAX, int G>
__device__ double fused_pass_vec4(const FocalArgs& a, float inv_norm) {
    double sum = 0.0;
    const long long hw = a.hw, groups = a.npix / 4, stride = 1LL * gridDim.x * blockDim.x;
    const uchar4* labels4 = reinterpret_cast<const uchar4*>(a.labels);
    const uchar4 none = make_uchar4(255, 255, 255, 255);
    long long g = blockIdx.x * 1LL * blockDim.x + threadIdx.x;
    // The resident grid gives each thread many groups: the next one's labels are loaded before
    // this one's logits are used, so a thread waits for one round trip a group, not two.
    uchar4 next = g < groups ? labels4[g] : none;
    for (; g < groups; g += stride) {
        const uchar4 y4 = next;
        next = g + stride < groups ? labels4[g + stride] : none;
        std::uint32_t img, j4;
        a.hw4_div.divmod(static_cast<std::uint32_t>(g), img, j4);
        const long long base = static_cast<long long>(img) * a.c * hw + 4LL * j4;
        focal_group4<CMAX, G>(a.logits + base, a.dlogits ? a.dlogits + base : nullptr, hw, y4, a.c,
                              a, inv_norm, sum);
    }
    return sum;
}

// 4 pixels a thread: registers bounded as vec4's (kMinBlocksPerSm), for the resident grid is all
// the parallelism this launch has (unbounded, the 4-pixel kernel took 86 registers: 2 blocks an
// SM, and ran at 0.38 of copy on the first H200 run).
template <int CMAX, int G, int VEC>
__global__ void __launch_bounds__(kThreads, VEC == 4 ? kMinBlocksPerSm<CMAX> : 1)
    focal_single_kernel(const __grid_constant__ FocalArgs a) {
    cg::grid_group grid = cg::this_grid();
    count_block_labels<CMAX>(a);
    grid.sync();

    __shared__ unsigned long long totals[CMAX];
    __shared__ float inv_norm_shared;
    __shared__ double norm_shared;
    sum_block_counts<CMAX>(a, gridDim.x, totals);
    if (threadIdx.x == 0) {
        norm_shared = kernels::focal_normalizer(totals, a.alpha, a.c, a.normalize_alpha != 0);
        inv_norm_shared = kernels::focal_inv_norm(norm_shared);
    }
    __syncthreads();

    const double sum = VEC == 4 ? fused_pass_vec4<CMAX, G>(a, inv_norm_shared)
                                : fused_pass_scalar<CMAX, G>(a, inv_norm_shared);
    const double block_total = block_sum_warps(sum);
    if (threadIdx.x == 0) a.partials[blockIdx.x] = block_total;
    grid.sync();

    if (blockIdx.x == 0) {
        double v = 0.0;
        for (unsigned b = threadIdx.x; b < gridDim.x; b += blockDim.x) v += a.partials[b];
        const double total = block_sum_warps(v);
        if (threadIdx.x == 0) a.loss[0] = kernels::focal_mean(total, norm_shared);
    }
}

// Blocks of `kernel` resident on the device at once (the most a cooperative launch may use);
// `cache` (one per kernel instantiation) remembers the answer per device.
int resident_blocks(const void* kernel, const CudaContext& ctx,
                    std::array<std::atomic<int>, 64>& cache) {
    std::atomic<int>* slot = ctx.device >= 0 && ctx.device < 64 ? &cache[ctx.device] : nullptr;
    if (slot && slot->load() > 0) return slot->load();
    int per_sm = 0;
    PFCE_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kThreads, 0));
    const int blocks = per_sm * ctx.props.multiProcessorCount;
    if (slot) slot->store(blocks);
    return blocks;
}

template <int CMAX, int G, int VEC>
void launch_single(FocalArgs& a, CudaContext& ctx) {
    const void* kernel = reinterpret_cast<const void*>(&focal_single_kernel<CMAX, G, VEC>);
    static_assert(VEC == 1 || CMAX <= 8, "4 pixels a thread keep 4*CMAX logits in registers");
    const long long work = VEC == 4 ? a.npix / 4 : a.npix;
    const long long wanted = (work + kThreads - 1) / kThreads;
    static std::array<std::atomic<int>, 64> cache{};
    long long blocks = resident_blocks(kernel, ctx, cache);
    if (blocks > wanted) blocks = wanted;
    if (blocks > kMaxBlocks) blocks = kMaxBlocks;
    if (blocks < 1) blocks = 1;
    // Scratch: the per-block partials (8-byte aligned), then the per-block class counts.
    const std::size_t partial_bytes = kMaxBlocks * sizeof(double);
    char* ws = static_cast<char*>(
        ctx.workspace(partial_bytes + kMaxBlocks * static_cast<std::size_t>(CMAX) * 4));
    a.partials = reinterpret_cast<double*>(ws);
    a.block_counts = reinterpret_cast<unsigned int*>(ws + partial_bytes);
    void* args[] = {&a};
    PFCE_CUDA_CHECK(cudaLaunchCooperativeKernel(kernel, dim3(static_cast<unsigned>(blocks)),
                                                dim3(kThreads), args, 0, ctx.stream));
    PFCE_CUDA_CHECK_LAUNCH("focal_single_kernel");
}

template <int CMAX, int VEC>
void launch_for_gamma(FocalArgs& a, CudaContext& ctx) {
    if (a.gamma == 0.0f)
        launch_single<CMAX, 0, VEC>(a, ctx);
    else if (a.gamma == 2.0f)
        launch_single<CMAX, 2, VEC>(a, ctx);
    else
        launch_single<CMAX, kernels::kAnyGamma, VEC>(a, ctx);
}

}  // namespace

bool launch_focal_single(FocalArgs& a, CudaContext& ctx) {
    if (!ctx.props.cooperativeLaunch || a.npix >= (1LL << 32) || a.npix == 0) return false;
    a.hw_div = kernels::FastDivmod(static_cast<std::uint32_t>(a.hw));
    const bool vec4 = a.c <= 8 && a.hw % 4 == 0 && aligned16(a.logits) &&
                      (a.dlogits == nullptr || aligned16(a.dlogits)) &&
                      reinterpret_cast<std::uintptr_t>(a.labels) % 4 == 0;
    if (vec4) {
        a.hw4_div = kernels::FastDivmod(static_cast<std::uint32_t>(a.hw / 4));
        if (a.c <= 2)
            launch_for_gamma<2, 4>(a, ctx);
        else if (a.c <= 4)
            launch_for_gamma<4, 4>(a, ctx);
        else if (a.c <= 6)  // ISPRS Potsdam and Vaihingen: 80 registers without spilling
            launch_for_gamma<6, 4>(a, ctx);
        else
            launch_for_gamma<8, 4>(a, ctx);
    } else if (a.c <= 2) {
        launch_for_gamma<2, 1>(a, ctx);
    } else if (a.c <= 4) {
        launch_for_gamma<4, 1>(a, ctx);
    } else if (a.c <= 8) {
        launch_for_gamma<8, 1>(a, ctx);
    } else if (a.c <= 16) {
        launch_for_gamma<16, 1>(a, ctx);
    } else {
        launch_for_gamma<32, 1>(a, ctx);
    }
    return true;
}

}  // namespace pfce::focal_detail
