// CUDA backend: the fused partial focal loss (DESIGN §2). The reference kernel: three launches, no
// host sync (the variant "single_launch", cuda/focal_loss_single.cu, does it in one; the variant
// "vec4", cuda/focal_loss_vec4.cu, the run default, replaces step 2 with a pass of 4 pixels a
// thread; the variant "two_launch" also counts 16 labels a load in step 1 and lets the last block
// of vec4's pass do step 3):
//   1. count labelled pixels per class from the u8 labels (integer counts: exact, deterministic);
//   2. one fused pass, a thread per pixel over NCHW (consecutive threads = consecutive pixels, so
//      every channel plane is read coalesced), that reads each logit once, keeps the pixel's C
//      logits in registers, writes dlogits and a per-block loss partial (fixed grid, fixed order);
//   3. one block sums the partials in a fixed order and divides by the normalizer.
// Per-pixel formulas: core/kernels/focal.hpp, shared with host/cpu/focal_loss.cpp.
#include <cmath>

#include "core/kernels/byte_count.hpp"
#include "core/kernels/focal.hpp"
#include "core/op_checks.hpp"
#include "cuda/common.cuh"
#include "cuda/cuda_backend.hpp"
#include "cuda/cuda_context.hpp"
#include "cuda/focal_loss.cuh"

namespace pfce {

namespace {

using focal_detail::aligned16;
using focal_detail::count_labels_in_block;
using focal_detail::focal_exp;
using focal_detail::FocalArgs;
using focal_detail::FocalExp;
using focal_detail::kThreads;

// Fixed grid caps: the number of loss partials (and so the summation order) does not depend on
// the GPU model.
constexpr unsigned kMaxLossBlocks = 4096;
constexpr unsigned kMaxCountBlocks = 1024;

// ---- kernels ----------------------------------------------------------------------------------

// counts[k] += number of labels == k: the block's counts (count_labels_in_block), then the block's
// to the global ones: integer sums, any order gives one result.
template <int CMAX>
__global__ void focal_count_kernel(const unsigned char* labels, long long npix, int c,
                                   unsigned long long* counts) {
    __shared__ unsigned int block_counts[CMAX];
    count_labels_in_block<CMAX>(labels, npix, c, block_counts);
    for (int k = threadIdx.x; k < c; k += blockDim.x)
        if (block_counts[k])
            atomicAdd(&counts[k], static_cast<unsigned long long>(block_counts[k]));
}

// focal_count_kernel's counts, 16 labels a load (two_launch): a thread counts class k in its uint4
// four bytes at a time (kernels::count_bytes_equal), its warp sums by shuffles, one lane a warp
// adds to the block's counts and the block to the global ones. The npix % 16 labels past the last
// whole load are the first block's. On the H100 the byte-a-thread kernel, a ballot per class and
// byte, read the 4 MB of a (16,512,512) batch in 17 us, at 7% of DRAM bandwidth.
template <int CMAX>
__global__ void __launch_bounds__(kThreads)
    focal_count16_kernel(const uint4* labels16, long long n16, const unsigned char* tail, int ntail,
                         int c, unsigned long long* counts) {
    __shared__ unsigned int block_counts[CMAX];
    for (int k = threadIdx.x; k < CMAX; k += blockDim.x) block_counts[k] = 0;
    __syncthreads();
    unsigned int mine[CMAX];
#pragma unroll
    for (int k = 0; k < CMAX; ++k) mine[k] = 0;
    for (long long i = blockIdx.x * 1LL * blockDim.x + threadIdx.x; i < n16;
         i += 1LL * gridDim.x * blockDim.x) {
        const uint4 v = labels16[i];
#pragma unroll
        for (int k = 0; k < CMAX; ++k)
            if (k < c)
                mine[k] += kernels::count_bytes_equal(v.x, k) + kernels::count_bytes_equal(v.y, k) +
                           kernels::count_bytes_equal(v.z, k) + kernels::count_bytes_equal(v.w, k);
    }
    if (blockIdx.x == 0 && static_cast<int>(threadIdx.x) < ntail) {
        const int y = tail[threadIdx.x];
#pragma unroll
        for (int k = 0; k < CMAX; ++k) mine[k] += k == y;  // a constant index: no local memory
    }
    const int lane = threadIdx.x & 31;
#pragma unroll
    for (int k = 0; k < CMAX; ++k)
        if (k < c) {  // c is the same in every lane: whole warps shuffle
            unsigned int v = mine[k];
            for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
            if (lane == 0 && v) atomicAdd(&block_counts[k], v);
        }
    __syncthreads();
    for (int k = threadIdx.x; k < c; k += blockDim.x)
        if (block_counts[k])
            atomicAdd(&counts[k], static_cast<unsigned long long>(block_counts[k]));
}

// Normalizer: labelled count or sum of alpha over labelled pixels, in class order.
__device__ double focal_normalizer(const FocalArgs& a) {
    return kernels::focal_normalizer(a.counts, a.alpha, a.c, a.normalize_alpha != 0);
}

template <int CMAX>
__global__ void __launch_bounds__(kThreads)
    focal_fused_kernel(const __grid_constant__ FocalArgs a) {
    __shared__ float inv_norm_shared;
    if (threadIdx.x == 0) inv_norm_shared = kernels::focal_inv_norm(focal_normalizer(a));
    __syncthreads();
    const float inv_norm = inv_norm_shared;
    const int c = a.c;
    double sum = 0.0;
    for (long long i = blockIdx.x * 1LL * blockDim.x + threadIdx.x; i < a.npix;
         i += 1LL * gridDim.x * blockDim.x) {
        const long long img = i / a.hw, j = i - img * a.hw;
        const long long base = img * c * a.hw + j;  // channel k at base + k*hw
        const int y = a.labels[i];
        if (y >= c) {  // unlabelled: the logits are not even read, the gradient is exactly 0
            if (a.dlogits) {
#pragma unroll
                for (int k = 0; k < CMAX; ++k)
                    if (k < c) a.dlogits[base + k * a.hw] = 0.0f;
            }
            continue;
        }
        float e[CMAX];
        const float m = load_pixel_logits(a.logits + base, a.hw, c, e);
        const FocalExp x = focal_exp(e, c, y, m);
        const float s = x.ey + x.s_other;
        const float u = x.s_other / s, q = x.ey / s;
        const float logq = kernels::focal_log_q(x.zy_m, s, u);
        const kernels::FocalPixel<float> t =
            kernels::focal_pixel_terms(u, q, logq, a.gamma, a.alpha[y]);
        sum += static_cast<double>(t.loss + x.poison);
        if (a.dlogits) {
            // dl/dz_k = coef (delta_ky - p_k)
            const kernels::FocalGrad g = kernels::focal_grad_factors(t.coef, u, s, inv_norm);
#pragma unroll
            for (int k = 0; k < CMAX; ++k)
                if (k < c) a.dlogits[base + k * a.hw] = k == y ? g.dz_y : 0.0f - g.w * e[k];
        }
    }
    const double block_total = block_sum_warps(sum);
    if (threadIdx.x == 0) a.partials[blockIdx.x] = block_total;
}

// One block: loss = (sum of partials in a fixed order) / normalizer, 0 when nothing is labelled.
__global__ void __launch_bounds__(kThreads)
    focal_finish_kernel(const __grid_constant__ FocalArgs a, int nparts) {
    focal_detail::focal_finish_block(a, nparts);
}

// Which kernels run steps 1-3 (the variants but single_launch, which runs its own).
struct FocalPlan {
    bool vec4_pass;   // step 2: vec4's 4-pixel pass where it can run (it says), else this file's
    bool two_launch;  // step 1 16 labels a load where they are 16-byte aligned; step 3 by the
                      // last block of vec4's pass where it runs
};

template <int CMAX>
void launch_focal(FocalArgs& a, unsigned long long* counts, FocalPlan plan, cudaStream_t stream) {
    if (plan.two_launch && aligned16(a.labels)) {
        const long long n16 = a.npix / 16;
        launch("focal_count16_kernel", focal_count16_kernel<CMAX>,
               grid_for(n16, kThreads, kMaxCountBlocks), kThreads, stream,
               reinterpret_cast<const uint4*>(a.labels), n16, a.labels + 16 * n16,
               static_cast<int>(a.npix % 16), a.c, counts);
    } else {
        launch("focal_count_kernel", focal_count_kernel<CMAX>,
               grid_for(a.npix, kThreads, kMaxCountBlocks), kThreads, stream, a.labels, a.npix, a.c,
               counts);
    }
    unsigned loss_blocks =
        plan.vec4_pass ? focal_detail::launch_focal_vec4(a, kMaxLossBlocks, plan.two_launch, stream)
                       : 0;
    if (loss_blocks != 0 && plan.two_launch) return;  // its last block summed the partials
    if (loss_blocks == 0) {
        loss_blocks = grid_for(a.npix, kThreads, kMaxLossBlocks);
        launch("focal_fused_kernel", focal_fused_kernel<CMAX>, loss_blocks, kThreads, stream, a);
    }
    launch("focal_finish_kernel", focal_finish_kernel, 1, kThreads, stream, a,
           static_cast<int>(loss_blocks));
}

}  // namespace

// ---- launcher ---------------------------------------------------------------------------------

void CudaBackend::focal_loss(const Tensor& logits, const Tensor& labels, const FocalLossParams& p,
                             Tensor& loss, Tensor& dlogits) {
    check_focal_loss_args(logits, labels, p, loss, dlogits, DeviceKind::cuda);
    cudaStream_t stream = ctx_->stream;
    FocalArgs a{};
    a.logits = logits.data<float>();
    a.labels = labels.data<std::uint8_t>();
    a.dlogits = dlogits.empty() ? nullptr : dlogits.data<float>();
    a.loss = loss.data<float>();
    a.hw = logits.dim(2) * logits.dim(3);
    a.npix = logits.dim(0) * a.hw;
    a.c = static_cast<int>(logits.dim(1));
    a.normalize_alpha = p.normalize == LossNormalize::alpha ? 1 : 0;
    a.gamma = p.gamma;
    for (int k = 0; k < a.c; ++k)
        a.alpha[k] = p.alpha.empty() ? 1.0f : p.alpha[static_cast<std::size_t>(k)];
    if (a.npix == 0) {  // nothing labelled: loss 0 (dlogits has no elements)
        PFCE_CUDA_CHECK(cudaMemsetAsync(a.loss, 0, sizeof(float), stream));
        return;
    }

    if (focal_kernel_ == FocalKernel::single_launch && focal_detail::launch_focal_single(a, *ctx_))
        return;

    // Scratch: per-class counts and two_launch's finished-block count (zeroed together), then the
    // per-block partials (8-byte aligned).
    const std::size_t count_bytes = (kMaxClasses + 1) * sizeof(unsigned long long);
    const std::size_t bytes = count_bytes + kMaxLossBlocks * sizeof(double);
    char* ws = static_cast<char*>(ctx_->workspace(bytes));
    auto* counts = reinterpret_cast<unsigned long long*>(ws);
    a.counts = counts;
    a.pass_done = reinterpret_cast<unsigned int*>(counts + kMaxClasses);
    a.partials = reinterpret_cast<double*>(ws + count_bytes);
    PFCE_CUDA_CHECK(cudaMemsetAsync(counts, 0, count_bytes, stream));

    // Registers hold the pixel's C logits: instantiate for a few class-count bounds.
    const bool two = focal_kernel_ == FocalKernel::two_launch;
    const FocalPlan plan{focal_kernel_ == FocalKernel::vec4 || two, two};
    if (a.c <= 2)
        launch_focal<2>(a, counts, plan, stream);
    else if (a.c <= 4)
        launch_focal<4>(a, counts, plan, stream);
    else if (a.c <= 8)
        launch_focal<8>(a, counts, plan, stream);
    else if (a.c <= 16)
        launch_focal<16>(a, counts, plan, stream);
    else
        launch_focal<32>(a, counts, plan, stream);
}

}  // namespace pfce
