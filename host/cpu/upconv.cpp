// CPU backend: the 2x2 stride-2 transposed convolution (PyTorch ConvTranspose2d, w
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

// z (Co*4, (r1-r0)*W) <-> y (Co,2H,2W): z[(co,a,b), i*W+j] is y[co, 2(r0+i)+a, 2j+b]. Calls
// f(co, zr, yr) for each row of W values of z: zr is its offset in z, yr the offset in y of its
// first value (the others follow every second column).
template <typename F>
void for_each_block_row(const UpGeom& g, std::int64_t r0, std::int64_t r1, F f) {
    const std::int64_t t = (r1 - r0) * g.w, w2 = 2 * g.w;
    for (std::int64_t o = 0; o < g.co; ++o)
        for (std::int64_t a = 0; a < 2; ++a)
            for (std::int64_t bx = 0; bx < 2; ++bx)
                for (std::int64_t i = r0; i < r1; ++i)
                    f(o, ((o * 2 + a) * 2 + bx) * t + (i - r0) * g.w,
                      (o * 2 * g.h + 2 * i + a) * w2 + bx);
}

// yn (one image's y) <- z + bias (bias may be null).
void scatter_blocks(const float* z, const float* bias, float* yn, const UpGeom& g, std::int64_t r0,
                    std::int64_t r1) {
    for_each_block_row(g, r0, r1, [&](std::int64_t o, std::int64_t zr, std::int64_t yr) {
        const float b = bias ? bias[o] : 0.0f;
        for (std::int64_t j = 0; j < g.w; ++j) yn[yr + 2 * j] = z[zr + j] + b;
    });
}

// z <- dyn (one image's dy).
void gather_blocks(const float* dyn, float* z, const UpGeom& g, std::int64_t r0, std::int64_t r1) {
    for_each_block_row(g, r0, r1, [&](std::int64_t, std::int64_t zr, std::int64_t yr) {
        for (std::int64_t j = 0; j < g.w; ++j) z[zr + j] = dyn[yr + 2 * j];
    });
}

// How a pass splits into jobs of (image, tile of input rows), run on `threads` threads of which
// `used` take jobs, and each used thread's block buffer z (Co*4 rows of up to rows*W values).
struct UpJobs {
    std::int64_t njobs;
    int threads, used;
    std::vector<float*> z;
};

UpJobs up_jobs(CpuBackend& be, const UpGeom& g) {
    UpJobs jobs;
    jobs.njobs = g.n * g.tiles;
    jobs.threads = cpu::job_threads();
    jobs.used = cpu::used_threads(jobs.njobs, jobs.threads);
    for (int t = 0; t < jobs.used; ++t)
        jobs.z.push_back(
            be.scratch(cpu::col_slot(t), static_cast<std::size_t>(g.cols() * g.rows * g.w)));
    return jobs;
}

// Job j: input rows [r0, r1) of image img, t = (r1 - r0) * W input pixels, the thread's buffer.
struct UpTile {
    std::int64_t img, r0, r1, t;
    float* z;
};

UpTile up_tile(const UpJobs& jobs, const UpGeom& g, std::int64_t j, int thread) {
    UpTile tile;
    tile.img = j / g.tiles;
    tile.r0 = (j % g.tiles) * g.rows;
    tile.r1 = std::min(g.h, tile.r0 + g.rows);
    tile.t = (tile.r1 - tile.r0) * g.w;
    tile.z = jobs.z[static_cast<std::size_t>(thread)];
    return tile;
}

}  // namespace

void CpuBackend::upconv2x2_forward(const Tensor& x, const Tensor& w, const Tensor& bias,
                                   Tensor& y) {
    const UpGeom g = up_geom(x, w, y, bias);
    const UpJobs jobs = up_jobs(*this, g);
    const float* px = x.data<float>();
    const float* pw = w.data<float>();
    const float* pb = bias.empty() ? nullptr : bias.data<float>();
    float* py = y.data<float>();
    const std::int64_t hw = g.h * g.w;
    cpu::run_jobs(jobs.njobs, jobs.threads, [&](std::int64_t j, int thread) {
        const UpTile t = up_tile(jobs, g, j, thread);
        // z (Co*4, t) = w^T (Co*4, Ci) * x_tile (Ci, t), x_tile inside x (Ci, H*W)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<int>(g.cols()),
                    static_cast<int>(t.t), static_cast<int>(g.ci), 1.0f, pw,
                    static_cast<int>(g.cols()), px + t.img * g.ci * hw + t.r0 * g.w,
                    static_cast<int>(hw), 0.0f, t.z, static_cast<int>(t.t));
        scatter_blocks(t.z, pb, py + t.img * g.co * 4 * hw, g, t.r0, t.r1);
    });
}

void CpuBackend::upconv2x2_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx) {
    const UpGeom g = up_geom(dx, w, dy, Tensor());
    const UpJobs jobs = up_jobs(*this, g);
    const float* pdy = dy.data<float>();
    const float* pw = w.data<float>();
    float* pdx = dx.data<float>();
    const std::int64_t hw = g.h * g.w;
    cpu::run_jobs(jobs.njobs, jobs.threads, [&](std::int64_t j, int thread) {
        const UpTile t = up_tile(jobs, g, j, thread);
        gather_blocks(pdy + t.img * g.co * 4 * hw, t.z, g, t.r0, t.r1);
        // dx_tile (Ci, t) = w (Ci, Co*4) * z (Co*4, t)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(g.ci),
                    static_cast<int>(t.t), static_cast<int>(g.cols()), 1.0f, pw,
                    static_cast<int>(g.cols()), t.z, static_cast<int>(t.t), 0.0f,
                    pdx + t.img * g.ci * hw + t.r0 * g.w, static_cast<int>(hw));
    });
}

void CpuBackend::upconv2x2_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw,
                                           Tensor& dbias) {
    const UpGeom g = up_geom(x, dw, dy, dbias);
    const UpJobs jobs = up_jobs(*this, g);
    const std::int64_t wsize = g.ci * g.cols(), hw = g.h * g.w;
    const float* px = x.data<float>();
    const float* pdy = dy.data<float>();
    float* pdw = dw.data<float>();
    // Each thread sums its jobs into its own partial dw (Ci, Co*4).
    const std::vector<float*> partial = cpu::zeroed_partials(*this, jobs.used, pdw, wsize);
    cpu::run_jobs(jobs.njobs, jobs.threads, [&](std::int64_t j, int thread) {
        const UpTile t = up_tile(jobs, g, j, thread);
        gather_blocks(pdy + t.img * g.co * 4 * hw, t.z, g, t.r0, t.r1);
        // partial (Ci, Co*4) += x_tile (Ci, t) * z^T (t, Co*4)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(g.ci),
                    static_cast<int>(g.cols()), static_cast<int>(t.t), 1.0f,
                    px + t.img * g.ci * hw + t.r0 * g.w, static_cast<int>(hw), t.z,
                    static_cast<int>(t.t), 1.0f, partial[static_cast<std::size_t>(thread)],
                    static_cast<int>(g.cols()));
    });
    cpu::add_partials(partial, pdw, wsize);
    if (!dbias.empty()) channel_sum_nchw(pdy, g.n, g.co, 4 * hw, dbias.data<float>());
}

}  // namespace pfce
