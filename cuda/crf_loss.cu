// CUDA backend: the local-window CRF (Potts) loss (core/backend.hpp crf_loss). Four launches, no
// host sync, the same three stages as host/cpu/crf_loss.cpp:
//   1. a thread per cell: softmax of its pixels, cell means of probabilities and colours;
//   2. a block per tile of T x T cells of one image: the tile and its r-cell halo of P and colours
//      are loaded into shared memory once, then each thread sums its cell's window from there,
//      K_i = sum_j k_ij and Q_i = sum_j k_ij P_j, writes dL/dp of its pixels (a factor times Q_i)
//      and adds K_i - P_i . Q_i to the block's loss partial (one partial per block, fixed order);
//   3. a thread per pixel: the gradient through the softmax, dz_k = p_k (g_k - p . g);
//   4. one block sums the partials in a fixed order and scales them.
// Per-cell formulas: core/kernels/crf.hpp, shared with the CPU backend and the reference.
#include <cmath>
#include <type_traits>

#include "core/error.hpp"
#include "core/kernels/crf.hpp"
#include "core/op_checks.hpp"
#include "cuda/common.cuh"
#include "cuda/cuda_backend.hpp"
#include "cuda/cuda_context.hpp"

namespace pfce {

namespace {

constexpr int kThreads = 256;  // stages 1, 3 and 4, a multiple of the warp size
constexpr unsigned kMaxBlocks = 4096;

struct CrfArgs {
    const float* logits;       // (N,C,H,W)
    const unsigned char* rgb;  // (N,3,H,W)
    float* dlogits;            // (N,C,H,W) or null
    float* cell_p;             // (N,C,Hd,Wd) P_i
    float* cell_rgb;           // (N,3,Hd,Wd) cell mean colours
    float* grad;               // (N,C,Hd,Wd) dL/dp of the cell's pixels
    double* partials;          // one loss partial per window block
    float* loss;               // (1)
    long long n, hw, cells;    // images, pixels and cells per image
    int c, h, w, hd, wd, d, r;
    int t;  // stage 2: tiles of t x t cells, a block of t*t threads
    float weight, inv_xy, inv_rgb;
    double total_cells;
};

// ---- kernels ----------------------------------------------------------------------------------

// The unnormalized softmax of one pixel whose C logits stand at z[k * hw]: e[k] <- exp(z_k - max);
// returns their sum. As on the CPU (host/cpu/crf_loss.cpp): an exponent at or below -87 counts as
// 0, and the sum is NaN when a logit is not finite, so a diverged network shows a NaN loss.
template <int CMAX>
__device__ __forceinline__ float softmax_exp(const float* z, long long hw, int c,
                                             float (&e)[CMAX]) {
    const float m = load_pixel_logits(z, hw, c, e);
    float s = 0.0f;
#pragma unroll
    for (int k = 0; k < CMAX; ++k)
        if (k < c) s += e[k] * 0.0f;
#pragma unroll
    for (int k = 0; k < CMAX; ++k)
        if (k < c) {
            const float v = e[k] - m;
            e[k] = v > -87.0f ? expf(v) : 0.0f;
            s += e[k];
        }
    return s;
}

// Stage 1: one thread per cell (consecutive threads, consecutive cells of a row).
template <int CMAX>
__global__ void __launch_bounds__(kThreads) crf_cells_kernel(const __grid_constant__ CrfArgs a) {
    for (long long i = blockIdx.x * 1LL * blockDim.x + threadIdx.x; i < a.n * a.cells;
         i += 1LL * gridDim.x * blockDim.x) {
        const long long img = i / a.cells, cell = i - img * a.cells;
        const int ca = static_cast<int>(cell / a.wd), cb = static_cast<int>(cell % a.wd);
        float sum_p[CMAX];
#pragma unroll
        for (int k = 0; k < CMAX; ++k) sum_p[k] = 0.0f;
        float sum_rgb[3] = {0.0f, 0.0f, 0.0f};
        const int y_end = min(a.h, (ca + 1) * a.d), x_end = min(a.w, (cb + 1) * a.d);
        for (int y = ca * a.d; y < y_end; ++y)
            for (int x = cb * a.d; x < x_end; ++x) {
                const long long j = 1LL * y * a.w + x;
                const float* z = a.logits + img * a.c * a.hw + j;  // channel k at z[k*hw]
                float e[CMAX];
                const float s = softmax_exp(z, a.hw, a.c, e);
#pragma unroll
                for (int k = 0; k < CMAX; ++k)
                    if (k < a.c) sum_p[k] += e[k] / s;
                const unsigned char* col = a.rgb + img * 3 * a.hw + j;
                for (int ch = 0; ch < 3; ++ch) sum_rgb[ch] += static_cast<float>(col[ch * a.hw]);
            }
        const float count = static_cast<float>((y_end - ca * a.d) * (x_end - cb * a.d));
#pragma unroll
        for (int k = 0; k < CMAX; ++k)
            if (k < a.c) a.cell_p[(img * a.c + k) * a.cells + cell] = sum_p[k] / count;
        for (int ch = 0; ch < 3; ++ch)
            a.cell_rgb[(img * 3 + ch) * a.cells + cell] = sum_rgb[ch] / count;
    }
}

// Stage 2: a block of t*t threads (one dimension, as block_sum_warps needs) = a tile of t x t
// cells of image blockIdx.z. Shared memory holds the tile with its halo of r cells on every side,
// side s = t + 2r: C planes of P, then 3 planes of colours.
template <int CMAX>
__global__ void crf_window_kernel(const __grid_constant__ CrfArgs a) {
    extern __shared__ float tile[];
    const int t = a.t, s = t + 2 * a.r, area = s * s;
    const long long img = blockIdx.z;
    const int a0 = blockIdx.y * t - a.r, b0 = blockIdx.x * t - a.r;  // grid cell of tile (0, 0)
    const int tid = threadIdx.x, ty = tid / t, tx = tid - ty * t;
    const float* P = a.cell_p + img * a.c * a.cells;
    const float* RGB = a.cell_rgb + img * 3 * a.cells;
    for (int e = tid; e < area; e += t * t) {
        const int ta = e / s, tb = e - ta * s, ga = a0 + ta, gb = b0 + tb;
        const bool inside = ga >= 0 && ga < a.hd && gb >= 0 && gb < a.wd;
        const long long cell = 1LL * ga * a.wd + gb;
        for (int k = 0; k < a.c; ++k) tile[k * area + e] = inside ? P[k * a.cells + cell] : 0.0f;
        for (int ch = 0; ch < 3; ++ch)
            tile[(a.c + ch) * area + e] = inside ? RGB[ch * a.cells + cell] : 0.0f;
    }
    __syncthreads();

    const int ta = ty + a.r, tb = tx + a.r;  // this cell in the tile
    const int ga = a0 + ta, gb = b0 + tb;
    double part = 0.0;
    if (ga < a.hd && gb < a.wd) {
        const float* tr = tile + a.c * area;  // colour planes
        const int me = ta * s + tb;
        float q[CMAX];
#pragma unroll
        for (int k = 0; k < CMAX; ++k) q[k] = 0.0f;
        float ksum = 0.0f;
        for (int dy = -a.r; dy <= a.r; ++dy) {
            if (ga + dy < 0 || ga + dy >= a.hd) continue;
            for (int dx = -a.r; dx <= a.r; ++dx) {
                if ((dy == 0 && dx == 0) || gb + dx < 0 || gb + dx >= a.wd) continue;
                const int other = me + dy * s + dx;
                const float e = kernels::crf_spatial_exponent(dy, dx, a.d, a.inv_xy) +
                                kernels::crf_colour_exponent(
                                    tr[me] - tr[other], tr[area + me] - tr[area + other],
                                    tr[2 * area + me] - tr[2 * area + other], a.inv_rgb);
                // 0 at or past the bound (and for a NaN exponent), as the CPU's exp gives.
                const float kv = e < kernels::kCrfMaxExponent ? expf(-e) : 0.0f;
                ksum += kv;
#pragma unroll
                for (int k = 0; k < CMAX; ++k)
                    if (k < a.c) q[k] += kv * tile[k * area + other];
            }
        }
        float dot = 0.0f;
#pragma unroll
        for (int k = 0; k < CMAX; ++k)
            if (k < a.c) dot += tile[k * area + me] * q[k];
        part = static_cast<double>(ksum - dot);
        if (a.grad) {
            const float f = kernels::crf_grad_factor(
                a.weight, a.total_cells,
                kernels::crf_cell_extent(ga, a.d, a.h) * kernels::crf_cell_extent(gb, a.d, a.w));
            const long long cell = 1LL * ga * a.wd + gb;
#pragma unroll
            for (int k = 0; k < CMAX; ++k)
                if (k < a.c) a.grad[(img * a.c + k) * a.cells + cell] = f * q[k];
        }
    }
    const double block_total = block_sum_warps(part);
    if (tid == 0) a.partials[(img * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x] = block_total;
}

// Stage 3: one thread per pixel.
template <int CMAX>
__global__ void __launch_bounds__(kThreads) crf_grad_kernel(const __grid_constant__ CrfArgs a) {
    for (long long i = blockIdx.x * 1LL * blockDim.x + threadIdx.x; i < a.n * a.hw;
         i += 1LL * gridDim.x * blockDim.x) {
        const long long img = i / a.hw, j = i - img * a.hw;
        const int y = static_cast<int>(j / a.w), x = static_cast<int>(j % a.w);
        const long long base = img * a.c * a.hw + j;  // channel k at base + k*hw
        const float* g = a.grad + img * a.c * a.cells + 1LL * (y / a.d) * a.wd + x / a.d;
        float e[CMAX];
        const float s = softmax_exp(a.logits + base, a.hw, a.c, e);
        float pg = 0.0f;
#pragma unroll
        for (int k = 0; k < CMAX; ++k)
            if (k < a.c) {
                e[k] /= s;  // p_k
                pg += e[k] * g[k * a.cells];
            }
#pragma unroll
        for (int k = 0; k < CMAX; ++k)
            if (k < a.c) a.dlogits[base + k * a.hw] = e[k] * (g[k * a.cells] - pg);
    }
}

// Stage 4: one block: loss = (sum of the partials in a fixed order) * weight / cells.
__global__ void __launch_bounds__(kThreads)
    crf_finish_kernel(const __grid_constant__ CrfArgs a, long long nparts) {
    double v = 0.0;
    for (long long b = threadIdx.x; b < nparts; b += blockDim.x) v += a.partials[b];
    const double total = block_sum_warps(v);
    if (threadIdx.x == 0)
        a.loss[0] = static_cast<float>(total * kernels::crf_loss_scale(a.weight, a.total_cells));
}

// Shared-memory bytes of a window block of side t.
std::size_t tile_bytes(int t, int r, int c) {
    const std::size_t s = static_cast<std::size_t>(t + 2 * r);
    return s * s * static_cast<std::size_t>(c + 3) * sizeof(float);
}

template <int CMAX>
void launch_crf(CrfArgs& a, std::size_t smem, cudaStream_t stream) {
    const int t = a.t;
    launch("crf_cells_kernel", crf_cells_kernel<CMAX>,
           grid_for(a.n * a.cells, kThreads, kMaxBlocks), kThreads, stream, a);
    const dim3 blocks((a.wd + t - 1) / t, (a.hd + t - 1) / t, static_cast<unsigned>(a.n));
    // Above 48 KiB a kernel must opt in to its dynamic shared memory.
    PFCE_CUDA_CHECK(cudaFuncSetAttribute(crf_window_kernel<CMAX>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         static_cast<int>(smem)));
    crf_window_kernel<CMAX><<<blocks, t * t, smem, stream>>>(a);
    PFCE_CUDA_CHECK_LAUNCH("crf_window_kernel");
    if (a.dlogits)
        launch("crf_grad_kernel", crf_grad_kernel<CMAX>, grid_for(a.n * a.hw, kThreads, kMaxBlocks),
               kThreads, stream, a);
    launch("crf_finish_kernel", crf_finish_kernel, 1, kThreads, stream, a,
           1LL * blocks.x * blocks.y * blocks.z);
}

// f(std::integral_constant<int, CMAX>) for the smallest instantiated CMAX >= c.
template <class F>
void dispatch_cmax(int c, F&& f) {
    if (c <= 2)
        f(std::integral_constant<int, 2>{});
    else if (c <= 4)
        f(std::integral_constant<int, 4>{});
    else if (c <= 8)
        f(std::integral_constant<int, 8>{});
    else if (c <= 16)
        f(std::integral_constant<int, 16>{});
    else
        f(std::integral_constant<int, 32>{});
}

}  // namespace

// ---- launcher ---------------------------------------------------------------------------------

void CudaBackend::crf_loss(const Tensor& logits, const Tensor& rgb, const CrfLossParams& p,
                           Tensor& loss, Tensor& dlogits) {
    check_crf_loss_args(logits, rgb, p, loss, dlogits, DeviceKind::cuda);
    cudaStream_t stream = ctx_->stream;
    CrfArgs a{};
    a.logits = logits.data<float>();
    a.rgb = rgb.data<std::uint8_t>();
    a.dlogits = dlogits.empty() ? nullptr : dlogits.data<float>();
    a.loss = loss.data<float>();
    a.n = logits.dim(0);
    a.c = static_cast<int>(logits.dim(1));
    a.h = static_cast<int>(logits.dim(2));
    a.w = static_cast<int>(logits.dim(3));
    a.d = p.downsample;
    a.r = p.radius;
    a.hd = kernels::crf_cells(a.h, a.d);
    a.wd = kernels::crf_cells(a.w, a.d);
    a.hw = 1LL * a.h * a.w;
    a.cells = 1LL * a.hd * a.wd;
    a.weight = p.weight;
    a.inv_xy = kernels::crf_inv_two_sigma_sq(p.sigma_xy);
    a.inv_rgb = kernels::crf_inv_two_sigma_sq(p.sigma_rgb);
    a.total_cells = kernels::crf_cell_count(a.n, a.h, a.w, a.d);
    if (a.n * a.hw == 0) {  // no pixel: loss 0 (dlogits has no elements)
        PFCE_CUDA_CHECK(cudaMemsetAsync(a.loss, 0, sizeof(float), stream));
        return;
    }
    if (a.n > 65535)
        PFCE_THROW(InputError, "crf_loss: at most 65535 images per call on CUDA, got ", a.n);

    // Registers hold a cell's C sums: instantiated for a few class-count bounds.
    dispatch_cmax(a.c, [&](auto cmax) {
        constexpr int CMAX = decltype(cmax)::value;
        // Tiles of 16 x 16 cells (256 threads) when the tile and its halo fit in shared memory,
        // else 8 x 8 (64 threads). The opt-in limit covers the kernel's static shared memory (its
        // block reduction's) too: only the rest is there for the tile.
        // Asked once per instantiation, not on every launch: it is fixed when the kernel is built.
        static const std::size_t static_bytes = [] {
            cudaFuncAttributes fa{};
            PFCE_CUDA_CHECK(cudaFuncGetAttributes(&fa, crf_window_kernel<CMAX>));
            return fa.sharedSizeBytes;
        }();
        const std::size_t optin = ctx_->props.sharedMemPerBlockOptin;
        const std::size_t limit = optin > static_bytes ? optin - static_bytes : 0;
        int t = 16;
        if (tile_bytes(t, a.r, a.c) > limit) t = 8;
        a.t = t;
        const std::size_t smem = tile_bytes(t, a.r, a.c);
        if (smem > limit)
            PFCE_THROW(InputError, "crf_loss: radius ", a.r, " with ", a.c, " classes needs ", smem,
                       " bytes of shared memory per block; this GPU allows ", limit);
        // A grid's y extent is at most 65535 blocks: one per row of tiles.
        if ((a.hd + t - 1) / t > 65535)
            PFCE_THROW(InputError, "crf_loss: images of ", a.hd, " cells in height (", a.h,
                       " pixels) take more than 65535 rows of ", t,
                       "-cell tiles, the most one CUDA launch has; crop them");

        // Scratch: P, colours and dL/dp planes, then the per-block partials (8-byte aligned).
        const std::size_t plane = static_cast<std::size_t>(a.n * a.cells) * sizeof(float);
        const std::size_t cells_bytes = plane * static_cast<std::size_t>(2 * a.c + 3);
        const std::size_t parts = static_cast<std::size_t>((a.wd + t - 1) / t) *
                                  static_cast<std::size_t>((a.hd + t - 1) / t) *
                                  static_cast<std::size_t>(a.n);
        const std::size_t offset = (cells_bytes + 7) / 8 * 8;
        char* ws = static_cast<char*>(ctx_->workspace(offset + parts * sizeof(double)));
        a.cell_p = reinterpret_cast<float*>(ws);
        a.cell_rgb = a.cell_p + a.n * a.c * a.cells;
        a.grad = a.dlogits ? a.cell_rgb + a.n * 3 * a.cells : nullptr;
        a.partials = reinterpret_cast<double*>(ws + offset);
        launch_crf<CMAX>(a, smem, stream);
    });
}

}  // namespace pfce
