// CPU reference of 2-D convolution (square kernel, stride 1, zero padding): im2col + OpenBLAS sgemm
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

// y (N,Co,Ho,Wo) = conv(x, w) + bias; bias may be null. Shared by forward and backward-data.
void conv_forward_impl(CpuBackend& be, const float* x, const float* w, const float* bias, float* y,
                       const ConvGeom& g) {
    const std::int64_t kr = g.krows(), hw_out = g.ho * g.wo;
    const std::int64_t rows = g.plain_gemm() ? g.ho : cpu::tile_rows(kr, g.ho, g.wo);
    const std::int64_t tiles = (g.ho + rows - 1) / rows, njobs = g.n * tiles;
    const int threads = cpu::job_threads();
    const int used = cpu::used_threads(njobs, threads);
    std::vector<float*> cols(static_cast<std::size_t>(used), nullptr);
    if (!g.plain_gemm())
        for (int t = 0; t < used; ++t)
            cols[static_cast<std::size_t>(t)] =
                be.scratch(cpu::col_slot(t), static_cast<std::size_t>(kr * rows * g.wo));

    cpu::run_jobs(njobs, threads, [&](std::int64_t j, int thread) {
        const std::int64_t img = j / tiles, r0 = (j % tiles) * rows;
        const std::int64_t r1 = std::min(g.ho, r0 + rows), cols_n = (r1 - r0) * g.wo;
        const float* xn = x + img * g.ci * g.h * g.w;
        float* yt = y + img * g.co * hw_out + r0 * g.wo;  // (Co, cols_n), leading dim Ho*Wo
        const float* b;
        std::int64_t ldb;
        if (g.plain_gemm()) {
            b = xn + r0 * g.w;  // (Ci, cols_n) inside x (Ci, H*W)
            ldb = g.h * g.w;
        } else {
            float* col = cols[static_cast<std::size_t>(thread)];
            im2col_rows(xn, g, r0, r1, col);
            b = col;
            ldb = cols_n;
        }
        float beta = 0.0f;
        if (bias) {
            for (std::int64_t o = 0; o < g.co; ++o) std::fill_n(yt + o * hw_out, cols_n, bias[o]);
            beta = 1.0f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(g.co),
                    static_cast<int>(cols_n), static_cast<int>(kr), 1.0f, w, static_cast<int>(kr),
                    b, static_cast<int>(ldb), beta, yt, static_cast<int>(hw_out));
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
    const std::int64_t rows = g.plain_gemm() ? g.ho : cpu::tile_rows(kr, g.ho, g.wo);
    const std::int64_t tiles = (g.ho + rows - 1) / rows, njobs = g.n * tiles;
    const int threads = cpu::job_threads();
    const int used = cpu::used_threads(njobs, threads);
    const float* px = x.data<float>();
    const float* pdy = dy.data<float>();
    float* pdw = dw.data<float>();

    // Each thread sums its jobs into its own partial dw (Co, Ci*k*k); partials are added in thread
    // order afterwards, so the result is the same on every run with the same thread count.
    std::vector<float*> cols(static_cast<std::size_t>(used), nullptr);
    std::vector<float*> partial(static_cast<std::size_t>(used), nullptr);
    for (int t = 0; t < used; ++t) {
        const auto ts = static_cast<std::size_t>(t);
        if (!g.plain_gemm())
            cols[ts] = scratch(cpu::col_slot(t), static_cast<std::size_t>(kr * rows * g.wo));
        partial[ts] =
            used == 1 ? pdw : scratch(cpu::partial_slot(t), static_cast<std::size_t>(wsize));
        std::fill_n(partial[ts], wsize, 0.0f);
    }
    cpu::run_jobs(njobs, threads, [&](std::int64_t j, int thread) {
        const std::int64_t img = j / tiles, r0 = (j % tiles) * rows;
        const std::int64_t r1 = std::min(g.ho, r0 + rows), cols_n = (r1 - r0) * g.wo;
        const float* xn = px + img * g.ci * g.h * g.w;
        const float* dyt = pdy + img * g.co * hw_out + r0 * g.wo;  // (Co, cols_n), ld Ho*Wo
        const float* b;
        std::int64_t ldb;
        if (g.plain_gemm()) {
            b = xn + r0 * g.w;
            ldb = g.h * g.w;
        } else {
            float* col = cols[static_cast<std::size_t>(thread)];
            im2col_rows(xn, g, r0, r1, col);
            b = col;
            ldb = cols_n;
        }
        // partial (Co, K) += dyt (Co, cols_n) * b^T (cols_n, K)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(g.co),
                    static_cast<int>(kr), static_cast<int>(cols_n), 1.0f, dyt,
                    static_cast<int>(hw_out), b, static_cast<int>(ldb), 1.0f,
                    partial[static_cast<std::size_t>(thread)], static_cast<int>(kr));
    });
    if (used > 1) {
#pragma omp parallel for schedule(static)
        for (std::int64_t i = 0; i < wsize; ++i) {
            float s = 0.0f;
            for (int t = 0; t < used; ++t) s += partial[static_cast<std::size_t>(t)][i];
            pdw[i] = s;
        }
    }

    if (!dbias.empty()) channel_sum_nchw(pdy, g.n, g.co, hw_out, dbias.data<float>());
}

}  // namespace pfce
