// CPU backend: 2-D convolution (square kernel, stride 1, zero padding): im2col + OpenBLAS sgemm
// per (image, tile of output rows); a 1x1 convolution without padding is a plain GEMM.
// Backward-data is the forward convolution of dy with the flipped, transposed filter, so tiles
// never overlap.
#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/op_checks.hpp"
#include "host/cpu/channel_sum.hpp"
#include "host/cpu/cpu_backend.hpp"
#include "host/cpu/gemm_jobs.hpp"

namespace pfce {

float* CpuBackend::scratch(std::size_t slot, std::size_t floats) {
    if (scratch_.size() <= slot) scratch_.resize(slot + 1);
    if (scratch_[slot].size() < floats) scratch_[slot].resize(floats);
    return scratch_[slot].data();
}

namespace {

struct ConvGeom {
    std::int64_t n, ci, h, w;  // input (N,Ci,H,W)
    std::int64_t co, k, pad;   // filter (Co,Ci,k,k)
    std::int64_t ho, wo;       // output (N,Co,Ho,Wo)
    std::int64_t krows() const { return ci * k * k; }
    bool plain_gemm() const { return k == 1 && pad == 0; }
};

// Geometry of x (N,Ci,H,W) * w (Co,Ci,k,k) once check_conv2d_args (core/op_checks.hpp) has
// accepted them.
ConvGeom conv_geom(const Tensor& x, const Tensor& w, int pad) {
    ConvGeom g{x.dim(0), x.dim(1), x.dim(2), x.dim(3), w.dim(0), w.dim(2), pad, 0, 0};
    g.ho = g.h + 2 * g.pad - g.k + 1;
    g.wo = g.w + 2 * g.pad - g.k + 1;
    return g;
}

// col (Ci*k*k, (r1-r0)*Wo) for output rows [r0,r1) of one image x (Ci,H,W); row (ci,ky,kx) holds
// x[ci, oy-pad+ky, ox-pad+kx] (0 outside the image).
void im2col_rows(const float* x, const ConvGeom& g, std::int64_t r0, std::int64_t r1, float* col) {
    const std::int64_t t = (r1 - r0) * g.wo;
    for (std::int64_t c = 0; c < g.ci; ++c)
        for (std::int64_t ky = 0; ky < g.k; ++ky)
            for (std::int64_t kx = 0; kx < g.k; ++kx) {
                float* dst = col + ((c * g.k + ky) * g.k + kx) * t;
                // Columns whose input x index ox-pad+kx lies inside [0,W).
                const std::int64_t lo = std::clamp<std::int64_t>(g.pad - kx, 0, g.wo);
                const std::int64_t hi = std::clamp<std::int64_t>(g.w + g.pad - kx, lo, g.wo);
                for (std::int64_t oy = r0; oy < r1; ++oy) {
                    float* d = dst + (oy - r0) * g.wo;
                    const std::int64_t iy = oy - g.pad + ky;
                    if (iy < 0 || iy >= g.h) {
                        std::memset(d, 0, sizeof(float) * static_cast<std::size_t>(g.wo));
                        continue;
                    }
                    // Plain loops: rows are short, so library calls per row would dominate.
                    const float* s =
                        x + (c * g.h + iy) * g.w - g.pad + kx;  // s[ox] = x[.., ox-pad+kx]
                    for (std::int64_t ox = 0; ox < lo; ++ox) d[ox] = 0.0f;
                    for (std::int64_t ox = lo; ox < hi; ++ox) d[ox] = s[ox];
                    for (std::int64_t ox = hi; ox < g.wo; ++ox) d[ox] = 0.0f;
                }
            }
}

// How a pass splits into jobs of (image, tile of output rows), run on `threads` threads of which
// `used` take jobs, and each used thread's im2col buffer (none for a plain GEMM).
struct ConvJobs {
    std::int64_t rows, tiles, njobs;
    int threads, used;
    std::vector<float*> cols;
};

ConvJobs conv_jobs(CpuBackend& be, const ConvGeom& g) {
    ConvJobs jobs;
    jobs.rows = g.plain_gemm() ? g.ho : cpu::tile_rows(g.krows(), g.ho, g.wo);
    jobs.tiles = (g.ho + jobs.rows - 1) / jobs.rows;
    jobs.njobs = g.n * jobs.tiles;
    jobs.threads = cpu::job_threads();
    jobs.used = cpu::used_threads(jobs.njobs, jobs.threads);
    jobs.cols.assign(static_cast<std::size_t>(jobs.used), nullptr);
    if (!g.plain_gemm())
        for (int t = 0; t < jobs.used; ++t)
            jobs.cols[static_cast<std::size_t>(t)] = be.scratch(
                cpu::col_slot(t), static_cast<std::size_t>(g.krows() * jobs.rows * g.wo));
    return jobs;
}

// Job j: output rows [r0, r1) of image img, cols_n = (r1 - r0) * Wo output pixels, and the GEMM
// operand that holds the input under them: b (Ci*k*k, cols_n) with leading dimension ldb, which
// is x itself for a plain GEMM, else the im2col columns written into the thread's buffer.
struct ConvTile {
    std::int64_t img, r0, r1, cols_n;
    const float* b;
    std::int64_t ldb;
};

ConvTile conv_tile(const ConvJobs& jobs, const ConvGeom& g, const float* x, std::int64_t j,
                   int thread) {
    ConvTile t;
    t.img = j / jobs.tiles;
    t.r0 = (j % jobs.tiles) * jobs.rows;
    t.r1 = std::min(g.ho, t.r0 + jobs.rows);
    t.cols_n = (t.r1 - t.r0) * g.wo;
    const float* xn = x + t.img * g.ci * g.h * g.w;
    if (g.plain_gemm()) {
        t.b = xn + t.r0 * g.w;  // (Ci, cols_n) inside x (Ci, H*W)
        t.ldb = g.h * g.w;
    } else {
        float* col = jobs.cols[static_cast<std::size_t>(thread)];
        im2col_rows(xn, g, t.r0, t.r1, col);
        t.b = col;
        t.ldb = t.cols_n;
    }
    return t;
}

// y (N,Co,Ho,Wo) = conv(x, w) + bias; bias may be null. Shared by forward and backward-data.
void conv_forward_impl(CpuBackend& be, const float* x, const float* w, const float* bias, float* y,
                       const ConvGeom& g) {
    const std::int64_t kr = g.krows(), hw_out = g.ho * g.wo;
    const ConvJobs jobs = conv_jobs(be, g);
    cpu::run_jobs(jobs.njobs, jobs.threads, [&](std::int64_t j, int thread) {
        const ConvTile t = conv_tile(jobs, g, x, j, thread);
        float* yt = y + t.img * g.co * hw_out + t.r0 * g.wo;  // (Co, cols_n), leading dim Ho*Wo
        float beta = 0.0f;
        if (bias) {
            for (std::int64_t o = 0; o < g.co; ++o) std::fill_n(yt + o * hw_out, t.cols_n, bias[o]);
            beta = 1.0f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(g.co),
                    static_cast<int>(t.cols_n), static_cast<int>(kr), 1.0f, w, static_cast<int>(kr),
                    t.b, static_cast<int>(t.ldb), beta, yt, static_cast<int>(hw_out));
    });
}

}  // namespace

void CpuBackend::conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y,
                                const Conv2dParams& p) {
    check_conv2d_args(x, w, y, bias, p, DeviceKind::cpu);
    const ConvGeom g = conv_geom(x, w, p.pad);
    conv_forward_impl(*this, x.data<float>(), w.data<float>(),
                      bias.empty() ? nullptr : bias.data<float>(), y.data<float>(), g);
}

void CpuBackend::conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx,
                                      const Conv2dParams& p) {
    // dx[ci,y,x] = sum_{co,ky,kx} dy[co, y+pad-ky, x+pad-kx] w[co,ci,ky,kx]: the convolution of dy
    // with wf[ci,co,ky,kx] = w[co,ci,k-1-ky,k-1-kx] and padding k-1-pad.
    check_conv2d_args(dx, w, dy, Tensor(), p, DeviceKind::cpu);
    const ConvGeom fwd = conv_geom(dx, w, p.pad);
    const std::int64_t k = fwd.k, ci = fwd.ci, co = fwd.co;
    float* wf = scratch(cpu::kWeightSlot, static_cast<std::size_t>(w.numel()));
    const float* pw = w.data<float>();
    for (std::int64_t o = 0; o < co; ++o)
        for (std::int64_t i = 0; i < ci; ++i)
            for (std::int64_t ky = 0; ky < k; ++ky)
                for (std::int64_t kx = 0; kx < k; ++kx)
                    wf[((i * co + o) * k + (k - 1 - ky)) * k + (k - 1 - kx)] =
                        pw[((o * ci + i) * k + ky) * k + kx];
    ConvGeom g{fwd.n, co, fwd.ho, fwd.wo, ci, k, k - 1 - fwd.pad, fwd.h, fwd.w};
    conv_forward_impl(*this, dy.data<float>(), wf, nullptr, dx.data<float>(), g);
}

void CpuBackend::conv2d_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw,
                                        Tensor& dbias, const Conv2dParams& p) {
    check_conv2d_args(x, dw, dy, dbias, p, DeviceKind::cpu);
    const ConvGeom g = conv_geom(x, dw, p.pad);
    const std::int64_t kr = g.krows(), hw_out = g.ho * g.wo, wsize = g.co * kr;
    const float* pdy = dy.data<float>();
    float* pdw = dw.data<float>();
    const ConvJobs jobs = conv_jobs(*this, g);
    // Each thread sums its jobs into its own partial dw (Co, Ci*k*k).
    const std::vector<float*> partial = cpu::zeroed_partials(*this, jobs.used, pdw, wsize);
    cpu::run_jobs(jobs.njobs, jobs.threads, [&](std::int64_t j, int thread) {
        const ConvTile t = conv_tile(jobs, g, x.data<float>(), j, thread);
        const float* dyt = pdy + t.img * g.co * hw_out + t.r0 * g.wo;  // (Co, cols_n), ld Ho*Wo
        // partial (Co, K) += dyt (Co, cols_n) * b^T (cols_n, K)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(g.co),
                    static_cast<int>(kr), static_cast<int>(t.cols_n), 1.0f, dyt,
                    static_cast<int>(hw_out), t.b, static_cast<int>(t.ldb), 1.0f,
                    partial[static_cast<std::size_t>(thread)], static_cast<int>(kr));
    });
    cpu::add_partials(partial, pdw, wsize);
    if (!dbias.empty()) channel_sum_nchw(pdy, g.n, g.co, hw_out, dbias.data<float>());
}

}  // namespace pfce
