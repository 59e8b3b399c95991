// Reference local-window CRF (Potts) loss (core/backend.hpp crf_loss): the definition as written,
// in T (double in the backend, so the tests can take finite differences of it): softmax per pixel,
// cell means of probabilities and colours, every ordered pair of the window with its kernel, and
// the derivative of each pair's term added to both of its cells, then back through the cell mean
// and the softmax. No symmetry shortcut, so the backends' K - P.Q form is checked against this.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/kernels/crf.hpp"
#include "core/op_checks.hpp"
#include "host/reference/doubles.hpp"
#include "host/reference/reference_backend.hpp"
#include "host/reference/reference_ops.hpp"

namespace pfce {

using reference::Doubles;
namespace reference {

template <typename T>
T crf_loss(const T* logits, const std::uint8_t* rgb, std::int64_t n, int c, int h, int w,
           const CrfLossParams& p, T* dlogits) {
    const int d = p.downsample, r = p.radius;
    const int hd = kernels::crf_cells(h, d), wd = kernels::crf_cells(w, d);
    const std::int64_t hw = static_cast<std::int64_t>(h) * w, cells = std::int64_t{hd} * wd;
    const T inv_xy = kernels::crf_inv_two_sigma_sq(T(p.sigma_xy));
    const T inv_rgb = kernels::crf_inv_two_sigma_sq(T(p.sigma_rgb));
    const T scale = T(p.weight) / T(static_cast<double>(n * cells));  // weight / pixels of the grid
    auto at = [&](int a, int b) { return static_cast<std::size_t>(a) * wd + b; };

    T total = 0;
    std::vector<T> prob(static_cast<std::size_t>(c * hw));       // (C,H,W) softmax of one image
    std::vector<T> cell_p(static_cast<std::size_t>(c * cells));  // (C,Hd,Wd) P_i
    std::vector<T> cell_rgb(static_cast<std::size_t>(3 * cells));
    std::vector<T> d_cell(static_cast<std::size_t>(c * cells));  // dL/dP_i
    std::vector<int> count(static_cast<std::size_t>(cells));
    for (std::int64_t img = 0; img < n; ++img) {
        const T* z = logits + img * c * hw;
        const std::uint8_t* colour = rgb + img * 3 * hw;
        // Softmax per pixel; cell sums of probabilities and colours.
        std::fill(cell_p.begin(), cell_p.end(), T(0));
        std::fill(cell_rgb.begin(), cell_rgb.end(), T(0));
        std::fill(count.begin(), count.end(), 0);
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                const std::int64_t j = static_cast<std::int64_t>(y) * w + x;
                T m = z[j];
                for (int k = 1; k < c; ++k) m = std::max(m, z[k * hw + j]);
                T s = 0;
                for (int k = 0; k < c; ++k) s += std::exp(z[k * hw + j] - m);
                const std::size_t cell = at(y / d, x / d);
                for (int k = 0; k < c; ++k) {
                    prob[static_cast<std::size_t>(k * hw + j)] = std::exp(z[k * hw + j] - m) / s;
                    cell_p[k * cells + cell] += prob[static_cast<std::size_t>(k * hw + j)];
                }
                for (int ch = 0; ch < 3; ++ch) cell_rgb[ch * cells + cell] += colour[ch * hw + j];
                ++count[cell];
            }
        for (std::int64_t i = 0; i < cells; ++i) {
            for (int k = 0; k < c; ++k) cell_p[k * cells + i] /= count[i];
            for (int ch = 0; ch < 3; ++ch) cell_rgb[ch * cells + i] /= count[i];
        }
        // Every ordered pair (i, j), j in the window of i, j != i.
        std::fill(d_cell.begin(), d_cell.end(), T(0));
        for (int a = 0; a < hd; ++a)
            for (int b = 0; b < wd; ++b)
                for (int dy = -r; dy <= r; ++dy)
                    for (int dx = -r; dx <= r; ++dx) {
                        const int a2 = a + dy, b2 = b + dx;
                        if ((dy == 0 && dx == 0) || a2 < 0 || a2 >= hd || b2 < 0 || b2 >= wd)
                            continue;
                        const std::size_t i = at(a, b), j = at(a2, b2);
                        const T e = kernels::crf_spatial_exponent(dy, dx, d, inv_xy) +
                                    kernels::crf_colour_exponent(
                                        cell_rgb[i] - cell_rgb[j],
                                        cell_rgb[cells + i] - cell_rgb[cells + j],
                                        cell_rgb[2 * cells + i] - cell_rgb[2 * cells + j], inv_rgb);
                        const T kij = std::exp(-e);
                        T dot = 0;
                        for (int k = 0; k < c; ++k)
                            dot += cell_p[k * cells + i] * cell_p[k * cells + j];
                        total += scale * kij * (T(1) - dot);
                        for (int k = 0; k < c; ++k) {  // d/dP of -scale k P_i . P_j
                            d_cell[k * cells + i] -= scale * kij * cell_p[k * cells + j];
                            d_cell[k * cells + j] -= scale * kij * cell_p[k * cells + i];
                        }
                    }
        if (!dlogits) continue;
        // dL/dp_u = dL/dP_cell / pixels of the cell; then the softmax: dz_k = p_k (g_k - p . g).
        T* dz = dlogits + img * c * hw;
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                const std::int64_t j = static_cast<std::int64_t>(y) * w + x;
                const std::size_t cell = at(y / d, x / d);
                T pg = 0;
                for (int k = 0; k < c; ++k)
                    pg += prob[static_cast<std::size_t>(k * hw + j)] * d_cell[k * cells + cell] /
                          count[cell];
                for (int k = 0; k < c; ++k)
                    dz[k * hw + j] = prob[static_cast<std::size_t>(k * hw + j)] *
                                     (d_cell[k * cells + cell] / count[cell] - pg);
            }
    }
    return total;
}

template float crf_loss<float>(const float*, const std::uint8_t*, std::int64_t, int, int, int,
                               const CrfLossParams&, float*);
template double crf_loss<double>(const double*, const std::uint8_t*, std::int64_t, int, int, int,
                                 const CrfLossParams&, double*);

}  // namespace reference

void ReferenceBackend::crf_loss(const Tensor& logits, const Tensor& rgb, const CrfLossParams& p,
                                Tensor& loss, Tensor& dlogits) {
    check_crf_loss_args(logits, rgb, p, loss, dlogits, DeviceKind::cpu);
    Doubles dz(dlogits);  // none when dlogits is empty: no gradient
    loss.data<float>()[0] = static_cast<float>(reference::crf_loss<double>(
        Doubles(logits).data(), rgb.data<std::uint8_t>(), logits.dim(0),
        static_cast<int>(logits.dim(1)), static_cast<int>(logits.dim(2)),
        static_cast<int>(logits.dim(3)), p, dz.data()));
    dz.store(dlogits);
}

}  // namespace pfce
