// CPU reference of the 2x2 stride-2 transposed convolution (PyTorch ConvTranspose2d, w
// (Ci,Co,2,2)). With stride equal to the kernel, output pixels never overlap: each input pixel maps
// to its own 2x2 block, so every pass is one GEMM per (image, tile of rows) plus a scatter or
// gather.
#include <cblas.h>

#include <algorithm>
#include <vector>

#include "core/op_checks.hpp"
#include "host/cpu/channel_sum.hpp"
#include "host/cpu/cpu_backend.hpp"
#include "host/cpu/gemm_jobs.hpp"

namespace pfce {

namespace {

struct UpGeom {
    std::int64_t n, ci, h, w, co;                 // x (N,Ci,H,W), w (Ci,Co,2,2), y (N,Co,2H,2W)
    std::int64_t rows, tiles;                     // input rows per job, tiles per image
    std::int64_t cols() const { return co * 4; }  // (co,a,b) flattened: the GEMM's weight columns
};

// Checks small x, w, big y and bias (core/op_checks.hpp), then returns the geometry.
UpGeom up_geom(const Tensor& x, const Tensor& w, const Tensor& y, const Tensor& bias) {
    check_upconv2x2_args(x, w, y, bias, DeviceKind::cpu);
    UpGeom g{x.dim(0), x.dim(1), x.dim(2), x.dim(3), w.dim(1), 0, 0};
    g.rows = cpu::tile_rows(g.cols(), g.h, g.w);
    g.tiles = (g.h + g.rows - 1) / g.rows;
    return g;
}

// z (Co*4, (r1-r0)*W) <-> y (Co,2H,2W): z[(co,a,b), i*W+j] is y[co, 2(r0+i)+a, 2j+b].
void scatter_blocks(const float* z, const float* bias, float* yn, const UpGeom& g, std::int64_t r0,
                    std::int64_t r1) {
    const std::int64_t t = (r1 - r0) * g.w, w2 = 2 * g.w;
    for (std::int64_t o = 0; o < g.co; ++o) {
        const float b = bias ? bias[o] : 0.0f;
        for (std::int64_t a = 0; a < 2; ++a)
            for (std::int64_t bx = 0; bx < 2; ++bx) {
                const float* zr = z + ((o * 2 + a) * 2 + bx) * t;
                for (std::int64_t i = r0; i < r1; ++i) {
                    float* yr = yn + (o * 2 * g.h + 2 * i + a) * w2 + bx;
                    const float* zi = zr + (i - r0) * g.w;
                    for (std::int64_t j = 0; j < g.w; ++j) yr[2 * j] = zi[j] + b;
                }
            }
    }
}

void gather_blocks(const float* dyn, float* z, const UpGeom& g, std::int64_t r0, std::int64_t r1) {
    const std::int64_t t = (r1 - r0) * g.w, w2 = 2 * g.w;
    for (std::int64_t o = 0; o < g.co; ++o)
        for (std::int64_t a = 0; a < 2; ++a)
            for (std::int64_t bx = 0; bx < 2; ++bx) {
                float* zr = z + ((o * 2 + a) * 2 + bx) * t;
                for (std::int64_t i = r0; i < r1; ++i) {
                    const float* dr = dyn + (o * 2 * g.h + 2 * i + a) * w2 + bx;
                    float* zi = zr + (i - r0) * g.w;
                    for (std::int64_t j = 0; j < g.w; ++j) zi[j] = dr[2 * j];
                }
            }
}

std::vector<float*> block_scratch(CpuBackend& be, const UpGeom& g, int used) {
    std::vector<float*> z(static_cast<std::size_t>(used));
    for (int t = 0; t < used; ++t)
        z[static_cast<std::size_t>(t)] =
            be.scratch(cpu::col_slot(t), static_cast<std::size_t>(g.cols() * g.rows * g.w));
    return z;
}

}  // namespace

void CpuBackend::upconv2x2_forward(const Tensor& x, const Tensor& w, const Tensor& bias,
                                   Tensor& y) {
    const UpGeom g = up_geom(x, w, y, bias);
    const int threads = cpu::job_threads();
    const std::int64_t njobs = g.n * g.tiles;
    std::vector<float*> z = block_scratch(*this, g, cpu::used_threads(njobs, threads));
    const float* px = x.data<float>();
    const float* pw = w.data<float>();
    const float* pb = bias.empty() ? nullptr : bias.data<float>();
    float* py = y.data<float>();
    const std::int64_t hw = g.h * g.w;
    cpu::run_jobs(njobs, threads, [&](std::int64_t j, int thread) {
        const std::int64_t img = j / g.tiles, r0 = (j % g.tiles) * g.rows;
        const std::int64_t r1 = std::min(g.h, r0 + g.rows), t = (r1 - r0) * g.w;
        float* zt = z[static_cast<std::size_t>(thread)];
        // z (Co*4, t) = w^T (Co*4, Ci) * x_tile (Ci, t), x_tile inside x (Ci, H*W)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<int>(g.cols()),
                    static_cast<int>(t), static_cast<int>(g.ci), 1.0f, pw,
                    static_cast<int>(g.cols()), px + img * g.ci * hw + r0 * g.w,
                    static_cast<int>(hw), 0.0f, zt, static_cast<int>(t));
        scatter_blocks(zt, pb, py + img * g.co * 4 * hw, g, r0, r1);
    });
}

void CpuBackend::upconv2x2_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx) {
    const UpGeom g = up_geom(dx, w, dy, Tensor());
    const int threads = cpu::job_threads();
    const std::int64_t njobs = g.n * g.tiles;
    std::vector<float*> z = block_scratch(*this, g, cpu::used_threads(njobs, threads));
    const float* pdy = dy.data<float>();
    const float* pw = w.data<float>();
    float* pdx = dx.data<float>();
    const std::int64_t hw = g.h * g.w;
    cpu::run_jobs(njobs, threads, [&](std::int64_t j, int thread) {
        const std::int64_t img = j / g.tiles, r0 = (j % g.tiles) * g.rows;
        const std::int64_t r1 = std::min(g.h, r0 + g.rows), t = (r1 - r0) * g.w;
        float* zt = z[static_cast<std::size_t>(thread)];
        gather_blocks(pdy + img * g.co * 4 * hw, zt, g, r0, r1);
        // dx_tile (Ci, t) = w (Ci, Co*4) * z (Co*4, t)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(g.ci),
                    static_cast<int>(t), static_cast<int>(g.cols()), 1.0f, pw,
                    static_cast<int>(g.cols()), zt, static_cast<int>(t), 0.0f,
                    pdx + img * g.ci * hw + r0 * g.w, static_cast<int>(hw));
    });
}

void CpuBackend::upconv2x2_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw,
                                           Tensor& dbias) {
    const UpGeom g = up_geom(x, dw, dy, dbias);
    const int threads = cpu::job_threads();
    const std::int64_t njobs = g.n * g.tiles, wsize = g.ci * g.cols(), hw = g.h * g.w;
    const int used = cpu::used_threads(njobs, threads);
    std::vector<float*> z = block_scratch(*this, g, used);
    const float* px = x.data<float>();
    const float* pdy = dy.data<float>();
    float* pdw = dw.data<float>();
    // Per-thread partial dw, added in thread order afterwards (deterministic for a thread count).
    std::vector<float*> partial(static_cast<std::size_t>(used));
    for (int t = 0; t < used; ++t) {
        const auto ts = static_cast<std::size_t>(t);
        partial[ts] =
            used == 1 ? pdw : scratch(cpu::partial_slot(t), static_cast<std::size_t>(wsize));
        std::fill_n(partial[ts], wsize, 0.0f);
    }
    cpu::run_jobs(njobs, threads, [&](std::int64_t j, int thread) {
        const std::int64_t img = j / g.tiles, r0 = (j % g.tiles) * g.rows;
        const std::int64_t r1 = std::min(g.h, r0 + g.rows), t = (r1 - r0) * g.w;
        float* zt = z[static_cast<std::size_t>(thread)];
        gather_blocks(pdy + img * g.co * 4 * hw, zt, g, r0, r1);
        // partial (Ci, Co*4) += x_tile (Ci, t) * z^T (t, Co*4)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(g.ci),
                    static_cast<int>(g.cols()), static_cast<int>(t), 1.0f,
                    px + img * g.ci * hw + r0 * g.w, static_cast<int>(hw), zt, static_cast<int>(t),
                    1.0f, partial[static_cast<std::size_t>(thread)], static_cast<int>(g.cols()));
    });
    if (used > 1) {
#pragma omp parallel for schedule(static)
        for (std::int64_t i = 0; i < wsize; ++i) {
            float s = 0.0f;
            for (int t = 0; t < used; ++t) s += partial[static_cast<std::size_t>(t)][i];
            pdw[i] = s;
        }
    }
    if (!dbias.empty()) channel_sum_nchw(pdy, g.n, g.co, 4 * hw, dbias.data<float>());
}

}  // namespace pfce
