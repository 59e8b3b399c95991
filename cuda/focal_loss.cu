// CUDA backend: the fused partial focal loss (DESIGN §2). The reference kernel: three launches, no
// host sync (the variant "single_launch", cuda/focal_loss_single.cu, does it in one; the variant
// "vec4", cuda/focal_loss_vec4.cu, the run default, replaces step 2 with a pass of 4 pixels a
// thread; the variant "two_launch" counts 16 labels a load in step 1, whose last block also
// computes the normalizer, and lets the last block of vec4's pass do step 3: two launches, no
// memset):
//   1. count labelled pixels per class from the u8 labels (integer counts: exact, deterministic);
//   2. one fused pass, a thread per pixel over NCHW (consecutive threads = consecutive pixels, so
//      every channel plane is read coalesced), that reads each logit once, keeps the pixel's C
//      logits in registers, writes dlogits and a per-block loss partial (fixed grid, fixed order);
//   3. one block sums the partials in a fixed order and divides by the normalizer.
// Per-pixel formulas: core/kernels/focal.hpp, shared with host/cpu/focal_loss.cpp.
#include <cmath>
#include <cstdint>

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

// What two_launch's count leaves for the pass (its last block writes them all, so nothing is
// zeroed before it): the counts the finish reads, and what the pass reads at its start.
struct FocalCountOut {
    unsigned long long* counts;  // (c)
    float* inv_norm;             // 1 / normalizer (focal_inv_norm)
    unsigned int* dense;         // whether at least half the pixels are labelled
    unsigned int* ticket;        // CudaContext::tickets slot: 0 at launch, 0 again after it
};

// focal_count_kernel's counts, 16 labels a load (two_launch), finished by its last block: a thread
// counts class k in its uint4 four bytes at a time (kernels::count_bytes_equal), its warp sums by
// shuffles, one lane a warp adds to the block's counts, and the block stores them (class-major,
// a.block_counts). The last block to take a ticket adds those up and writes the counts, the
// normalizer's inverse and the dense flag, so the pass needs neither a memset before the count
// (atomic adds into zeroed counts did) nor a per-block normalizer. The labels before the first
// 16-byte boundary and past the last whole load (split) are block 0's. On the H100 the
// byte-a-thread kernel, a ballot per class and byte, read the 4 MB of a (16,512,512) batch in
// 17 us, at 7% of DRAM bandwidth.
template <int CMAX>
__global__ void __launch_bounds__(kThreads)
    focal_count16_kernel(const __grid_constant__ FocalArgs a, kernels::Aligned16Split split,
                         FocalCountOut out) {
    __shared__ unsigned int block_counts[CMAX];
    for (int k = threadIdx.x; k < CMAX; k += blockDim.x) block_counts[k] = 0;
    __syncthreads();
    const int c = a.c;
    unsigned int mine[CMAX];
#pragma unroll
    for (int k = 0; k < CMAX; ++k) mine[k] = 0;
    const uint4* labels16 = reinterpret_cast<const uint4*>(a.labels + split.head);
    for (long long i = blockIdx.x * 1LL * blockDim.x + threadIdx.x; i < split.n16;
         i += 1LL * gridDim.x * blockDim.x) {
        const uint4 v = labels16[i];
#pragma unroll
        for (int k = 0; k < CMAX; ++k)
            if (k < c)
                mine[k] += kernels::count_bytes_equal(v.x, k) + kernels::count_bytes_equal(v.y, k) +
                           kernels::count_bytes_equal(v.z, k) + kernels::count_bytes_equal(v.w, k);
    }
    if (blockIdx.x == 0) {  // threads 0-15 the head's bytes, 16-31 the tail's
        const int t = static_cast<int>(threadIdx.x);
        const long long at = t < split.head                   ? t
                             : t >= 16 && t - 16 < split.tail ? split.head + 16 * split.n16 + t - 16
                                                              : -1;
        if (at >= 0) {
            const int y = a.labels[at];
#pragma unroll
            for (int k = 0; k < CMAX; ++k) mine[k] += k == y;  // a constant index: no local memory
        }
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
    for (int k = threadIdx.x; k < c; k += blockDim.x) {
        a.block_counts[k * gridDim.x + blockIdx.x] = block_counts[k];
        __threadfence();  // visible device-wide before this block takes its ticket
    }
    __shared__ bool last;
    __syncthreads();
    if (threadIdx.x == 0) last = atomicInc(out.ticket, gridDim.x - 1) == gridDim.x - 1;
    __syncthreads();
    if (!last) return;
    __threadfence();
    __shared__ unsigned long long totals[CMAX];
    focal_detail::sum_block_counts<CMAX>(a, gridDim.x, totals);
    if (threadIdx.x == 0) {
        unsigned long long labelled = 0;
        for (int k = 0; k < c; ++k) {
            out.counts[k] = totals[k];
            labelled += totals[k];
        }
        *out.inv_norm = kernels::focal_inv_norm(
            kernels::focal_normalizer(totals, a.alpha, c, a.normalize_alpha != 0));
        *out.dense = 2 * labelled >= static_cast<unsigned long long>(a.npix) ? 1u : 0u;
    }
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
    bool two_launch;  // step 1 16 labels a load, finished by its last block (nothing to zero);
                      // step 3 by the last block of vec4's pass where it runs
};

template <int CMAX>
void launch_focal(FocalArgs& a, FocalPlan plan, unsigned long long* counts, FocalCountOut out,
                  cudaStream_t stream) {
    if (plan.two_launch) {
        const kernels::Aligned16Split split =
            kernels::split_for_16_byte_loads(reinterpret_cast<std::uintptr_t>(a.labels), a.npix);
        launch("focal_count16_kernel", focal_count16_kernel<CMAX>,
               grid_for(split.n16, kThreads, kMaxCountBlocks), kThreads, stream, a, split, out);
    } else {
        PFCE_CUDA_CHECK(cudaMemsetAsync(counts, 0, kMaxClasses * sizeof(*counts), stream));
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

    // Scratch, 8-byte aligned parts: the per-class counts (zeroed before the count kernels that
    // add into them; two_launch's writes them), two_launch's 1 / normalizer and dense flag, the
    // per-block loss partials, two_launch's per-block class counts.
    const std::size_t count_bytes = kMaxClasses * sizeof(unsigned long long);
    const std::size_t flag_bytes = sizeof(float) + sizeof(unsigned int);
    const std::size_t partial_bytes = kMaxLossBlocks * sizeof(double);
    const std::size_t bytes = count_bytes + flag_bytes + partial_bytes +
                              std::size_t{kMaxCountBlocks} * kMaxClasses * sizeof(unsigned int);
    char* ws = static_cast<char*>(ctx_->workspace(bytes));
    auto* counts = reinterpret_cast<unsigned long long*>(ws);
    auto* inv_norm = reinterpret_cast<float*>(ws + count_bytes);
    auto* dense = reinterpret_cast<unsigned int*>(ws + count_bytes + sizeof(float));
    a.counts = counts;
    a.inv_norm = inv_norm;
    a.dense = dense;
    a.partials = reinterpret_cast<double*>(ws + count_bytes + flag_bytes);
    a.block_counts = reinterpret_cast<unsigned int*>(ws + count_bytes + flag_bytes + partial_bytes);
    a.pass_done = ctx_->tickets + CudaContext::kFocalPassTicket;
    const FocalCountOut out{counts, inv_norm, dense,
                            ctx_->tickets + CudaContext::kFocalCountTicket};

    // Registers hold the pixel's C logits: instantiate for a few class-count bounds.
    const bool two = focal_kernel_ == FocalKernel::two_launch;
    const FocalPlan plan{focal_kernel_ == FocalKernel::vec4 || two, two};
    if (a.c <= 2)
        launch_focal<2>(a, plan, counts, out, stream);
    else if (a.c <= 4)
        launch_focal<4>(a, plan, counts, out, stream);
    else if (a.c <= 8)
        launch_focal<8>(a, plan, counts, out, stream);
    else if (a.c <= 16)
        launch_focal<16>(a, plan, counts, out, stream);
    else
        launch_focal<32>(a, plan, counts, out, stream);
}

}  // namespace pfce
