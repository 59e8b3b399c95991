// CPU backend: the local-window CRF (Potts) loss (core/backend.hpp crf_loss), loss and gradient
// from one window pass. Planes are laid out (C, rows, columns) so every inner loop runs over
// contiguous cells of a row and vectorizes:
//   1. softmax per pixel, and the cell means P_i of the probabilities and of the colours;
//   2. per cell, its own window's K_i = sum_j k_ij and Q_i = sum_j k_ij P_j, in a fixed offset
//      order (no two threads write one cell, and the sums do not depend on the thread count):
//      the loss term is K_i - P_i . Q_i and, k being symmetric, dL/dP_i = -2 weight/cells Q_i;
//   3. the gradient through the cell mean and the softmax, dz_k = p_k (g_k - p . g).
// Work items are (image, row); the loss is summed per row in double, then in row order. Scratch
// is allocated per call (a few planes; small beside the window pass). Shared formulas:
// core/kernels/crf.hpp; the plain loop this is tested against: host/reference/crf_loss.cpp.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/kernels/crf.hpp"
#include "core/op_checks.hpp"
#include "host/cpu/cpu_backend.hpp"
#include "host/cpu/fast_exp.hpp"

namespace pfce {
namespace {

// Row buffers of the given lengths, one set per thread (see for_each_image_row).
auto row_buffers(auto... lengths) {
    return [=] { return std::array{std::vector<float>(static_cast<std::size_t>(lengths))...}; };
}

// body(img, row, buffers) for each row of n images of `rows` rows: the (image, row) items split
// statically over the threads, each thread with its own buffers = make(), reused across its items.
template <typename Make, typename Body>
void for_each_image_row(std::int64_t n, int rows, Make make, Body body) {
#pragma omp parallel
    {
        auto buffers = make();
#pragma omp for schedule(static)
        for (std::int64_t item = 0; item < n * rows; ++item)
            body(item / rows, static_cast<int>(item % rows), buffers);
    }
}

}  // namespace

void CpuBackend::crf_loss(const Tensor& logits, const Tensor& rgb, const CrfLossParams& p,
                          Tensor& loss, Tensor& dlogits) {
    check_crf_loss_args(logits, rgb, p, loss, dlogits, DeviceKind::cpu);
    const std::int64_t n = logits.dim(0);
    const int c = static_cast<int>(logits.dim(1)), h = static_cast<int>(logits.dim(2)),
              w = static_cast<int>(logits.dim(3));
    const int d = p.downsample, r = p.radius;
    const int hd = kernels::crf_cells(h, d), wd = kernels::crf_cells(w, d);
    const std::int64_t hw = std::int64_t{h} * w, cells = std::int64_t{hd} * wd;
    const double total_cells = kernels::crf_cell_count(n, h, w, d);
    if (n * hw == 0) {  // no pixel: loss 0 (dlogits has no elements)
        loss.data<float>()[0] = 0.0f;
        return;
    }
    const float* z_all = logits.data<float>();               // (N,C,H,W)
    const std::uint8_t* rgb_all = rgb.data<std::uint8_t>();  // (N,3,H,W)
    float* dz_all = dlogits.empty() ? nullptr : dlogits.data<float>();

    std::vector<float> prob(static_cast<std::size_t>(n * c * hw));         // (N,C,H,W) softmax
    std::vector<float> cell_p(static_cast<std::size_t>(n * c * cells));    // (N,C,Hd,Wd) P_i
    std::vector<float> cell_rgb(static_cast<std::size_t>(n * 3 * cells));  // (N,3,Hd,Wd)
    std::vector<float> grad(dz_all ? static_cast<std::size_t>(n * c * cells) : 0);  // dL/dp
    std::vector<double> partial(static_cast<std::size_t>(n * hd), 0.0);

    // Spatial exponents of the window's offsets (dy, dx), row-major.
    const int side = 2 * r + 1;
    const float inv_xy = kernels::crf_inv_two_sigma_sq(p.sigma_xy);
    const float inv_rgb = kernels::crf_inv_two_sigma_sq(p.sigma_rgb);
    std::vector<float> spatial(static_cast<std::size_t>(side * side));
    for (int dy = -r; dy <= r; ++dy)
        for (int dx = -r; dx <= r; ++dx)
            spatial[static_cast<std::size_t>((dy + r) * side + dx + r)] =
                kernels::crf_spatial_exponent(dy, dx, d, inv_xy);

    // ---- 1. softmax per pixel; cell means of probabilities and colours, one cell row per
    // item.
    for_each_image_row(n, hd, row_buffers(w, w), [&](std::int64_t img, int a, auto& buf) {
        auto& [m, s] = buf;
        float* P = cell_p.data() + img * c * cells + std::int64_t{a} * wd;  // k at k*cells
        float* RGB = cell_rgb.data() + img * 3 * cells + std::int64_t{a} * wd;
        for (int k = 0; k < c; ++k) std::fill(P + k * cells, P + k * cells + wd, 0.0f);
        for (int ch = 0; ch < 3; ++ch) std::fill(RGB + ch * cells, RGB + ch * cells + wd, 0.0f);
        const int y_end = std::min(h, (a + 1) * d);
        for (int y = a * d; y < y_end; ++y) {
            const float* z = z_all + img * c * hw + std::int64_t{y} * w;  // k at z[k*hw + x]
            const std::uint8_t* col = rgb_all + img * 3 * hw + std::int64_t{y} * w;
            float* pr = prob.data() + img * c * hw + std::int64_t{y} * w;
            for (int x = 0; x < w; ++x) m[x] = z[x];
            for (int k = 1; k < c; ++k) {
                const float* zk = z + k * hw;
#pragma omp simd
                for (int x = 0; x < w; ++x) m[x] = zk[x] > m[x] ? zk[x] : m[x];
            }
            // 0, or NaN when a logit of the pixel is not finite (the clamp below would hide
            // it): added to the denominator so a diverged network shows a NaN loss.
            for (int x = 0; x < w; ++x) s[x] = 0.0f;
            for (int k = 0; k < c; ++k) {
                const float* zk = z + k * hw;
#pragma omp simd
                for (int x = 0; x < w; ++x) s[x] += zk[x] * 0.0f;
            }
            for (int k = 0; k < c; ++k) {
                const float* zk = z + k * hw;
                float* pk = pr + k * hw;
#pragma omp simd
                for (int x = 0; x < w; ++x) {
                    const float v = zk[x] - m[x];
                    pk[x] = v > -87.0f ? v : -87.0f;
                }
#pragma omp simd
                for (int x = 0; x < w; ++x) {
                    pk[x] = cpu::exp_clamped(pk[x]);
                    s[x] += pk[x];
                }
            }
            for (int k = 0; k < c; ++k) {
                float* pk = pr + k * hw;
#pragma omp simd
                for (int x = 0; x < w; ++x) pk[x] /= s[x];
            }
            if (d == 1) {
                for (int k = 0; k < c; ++k)
                    for (int x = 0; x < w; ++x) P[k * cells + x] += pr[k * hw + x];
                for (int ch = 0; ch < 3; ++ch)
                    for (int x = 0; x < w; ++x)
                        RGB[ch * cells + x] += static_cast<float>(col[ch * hw + x]);
            } else {
                for (int k = 0; k < c; ++k)
                    for (int x = 0; x < w; ++x) P[k * cells + x / d] += pr[k * hw + x];
                for (int ch = 0; ch < 3; ++ch)
                    for (int x = 0; x < w; ++x)
                        RGB[ch * cells + x / d] += static_cast<float>(col[ch * hw + x]);
            }
        }
        if (d > 1) {
            const int ey = kernels::crf_cell_extent(a, d, h);
            for (int b = 0; b < wd; ++b) {
                const float count = static_cast<float>(ey * kernels::crf_cell_extent(b, d, w));
                for (int k = 0; k < c; ++k) P[k * cells + b] /= count;
                for (int ch = 0; ch < 3; ++ch) RGB[ch * cells + b] /= count;
            }
        }
    });

    // ---- 2. per cell: K and Q over its window; the loss term and dL/dp of its pixels.
    for_each_image_row(n, hd, row_buffers(c * wd, wd, wd), [&](std::int64_t img, int a, auto& buf) {
        auto& [q, ksum, kern] = buf;
        const float* P = cell_p.data() + img * c * cells;  // (C,Hd,Wd) of this image
        const float* RGB = cell_rgb.data() + img * 3 * cells;
        std::fill(q.begin(), q.end(), 0.0f);
        std::fill(ksum.begin(), ksum.end(), 0.0f);
        for (int dy = -r; dy <= r; ++dy) {
            const int a2 = a + dy;
            if (a2 < 0 || a2 >= hd) continue;
            for (int dx = -r; dx <= r; ++dx) {
                if (dy == 0 && dx == 0) continue;
                const int b0 = std::max(0, -dx), b1 = std::min(wd, wd - dx);
                if (b0 >= b1) continue;
                const float es = spatial[static_cast<std::size_t>((dy + r) * side + dx + r)];
                const float* R0 = RGB + std::int64_t{a} * wd;   // channel ch at ch*cells
                const float* R1 = RGB + std::int64_t{a2} * wd;  // the neighbour at b + dx
                // The clamped exponent first, then exp: a select and exp_clamped in one loop
                // keep it from vectorizing.
#pragma omp simd
                for (int b = b0; b < b1; ++b) {
                    const float e = es + kernels::crf_colour_exponent(
                                             R0[b] - R1[b + dx], R0[cells + b] - R1[cells + b + dx],
                                             R0[2 * cells + b] - R1[2 * cells + b + dx], inv_rgb);
                    kern[b] = e < kernels::kCrfMaxExponent ? -e : -kernels::kCrfMaxExponent;
                }
#pragma omp simd
                for (int b = b0; b < b1; ++b) {
                    kern[b] = cpu::exp_clamped(kern[b]);
                    ksum[b] += kern[b];
                }
                for (int k = 0; k < c; ++k) {
                    const float* Pk = P + k * cells + std::int64_t{a2} * wd;
                    float* qk = q.data() + k * wd;
#pragma omp simd
                    for (int b = b0; b < b1; ++b) qk[b] += kern[b] * Pk[b + dx];
                }
            }
        }
        double sum = 0.0;
        const float* Pa = P + std::int64_t{a} * wd;
        for (int b = 0; b < wd; ++b) {
            float dot = 0.0f;
            for (int k = 0; k < c; ++k) dot += Pa[k * cells + b] * q[k * wd + b];
            sum += static_cast<double>(ksum[b] - dot);
        }
        partial[static_cast<std::size_t>(img * hd + a)] = sum;
        if (dz_all) {
            float* G = grad.data() + img * c * cells + std::int64_t{a} * wd;
            const int ey = kernels::crf_cell_extent(a, d, h);
            for (int b = 0; b < wd; ++b) {
                const float f = kernels::crf_grad_factor(p.weight, total_cells,
                                                         ey * kernels::crf_cell_extent(b, d, w));
                for (int k = 0; k < c; ++k) G[k * cells + b] = f * q[k * wd + b];
            }
        }
    });

    // ---- 3. dL/dz through the softmax: dz_k = p_k (g_k - p . g), g the pixel's cell's dL/dp.
    if (dz_all) {
        for_each_image_row(n, h, row_buffers(w, w), [&](std::int64_t img, int y, auto& buf) {
            auto& [pg, g] = buf;
            const float* G = grad.data() + img * c * cells + std::int64_t{y / d} * wd;
            const float* pr = prob.data() + img * c * hw + std::int64_t{y} * w;
            float* dz = dz_all + img * c * hw + std::int64_t{y} * w;
            // g <- class k's dL/dp of this row's pixels (each its cell's).
            const auto cell_grad_row = [&](int k) {
                const float* Gk = G + k * cells;
                if (d == 1)
                    for (int x = 0; x < w; ++x) g[x] = Gk[x];
                else
                    for (int x = 0; x < w; ++x) g[x] = Gk[x / d];
            };
            for (int x = 0; x < w; ++x) pg[x] = 0.0f;
            for (int k = 0; k < c; ++k) {
                cell_grad_row(k);
#pragma omp simd
                for (int x = 0; x < w; ++x) pg[x] += pr[k * hw + x] * g[x];
            }
            for (int k = 0; k < c; ++k) {
                cell_grad_row(k);
#pragma omp simd
                for (int x = 0; x < w; ++x) dz[k * hw + x] = pr[k * hw + x] * (g[x] - pg[x]);
            }
        });
    }

    double total = 0.0;
    for (double v : partial) total += v;  // fixed order: independent of the thread count
    loss.data<float>()[0] =
        static_cast<float>(total * kernels::crf_loss_scale(p.weight, total_cells));
}

}  // namespace pfce
