// Arithmetic of the local-window CRF (Potts) loss (core/backend.hpp crf_loss) that
// host/cpu/crf_loss.cpp, cuda/crf_loss.cu and the reference share: the cell grid, the two kernel
// exponents and the scales, so every implementation evaluates the same expressions (the reference
// in double, the backends in float).
#pragma once

#include "core/kernels/hd.hpp"

namespace pfce::kernels {

// Cells along a side of `side` pixels with cells of d pixels: the last one may be partial.
PFCE_HD inline int crf_cells(int side, int d) {
    return (side + d - 1) / d;
}

// Pixels of cell `index` along a side: d, or what is left at the far edge.
PFCE_HD inline int crf_cell_extent(int index, int d, int side) {
    const int end = (index + 1) * d < side ? (index + 1) * d : side;
    return end - index * d;
}

// 1 / (2 sigma^2): the factor both exponents are multiplied by.
template <typename T>
PFCE_HD inline T crf_inv_two_sigma_sq(T sigma) {
    return T(0.5) / (sigma * sigma);
}

// Spatial exponent of cells dy, dx cells apart, in full-resolution pixels (cells d pixels apart):
// d^2 (dy^2 + dx^2) / 2 sigma_xy^2. The integer product is exact (|dy|, |dx| <= 16, d <= 16).
template <typename T>
PFCE_HD inline T crf_spatial_exponent(int dy, int dx, int d, T inv_two_sigma_xy_sq) {
    return static_cast<T>(d * d * (dy * dy + dx * dx)) * inv_two_sigma_xy_sq;
}

// Colour exponent from the colour differences of two cells: |drgb|^2 / 2 sigma_rgb^2.
template <typename T>
PFCE_HD inline T crf_colour_exponent(T dr, T dg, T db, T inv_two_sigma_rgb_sq) {
    return (dr * dr + dg * dg + db * db) * inv_two_sigma_rgb_sq;
}

// Exponents above this give a kernel value below exp(-87) ~ 1.6e-38, counted as 0 by the float
// backends (the CPU's vectorized exp is exact to 0 there; a float cannot hold much less anyway).
constexpr float kCrfMaxExponent = 87.0f;

// Cells of the whole batch, the normalizer: N * cells per image.
PFCE_HD inline double crf_cell_count(long long n, int height, int width, int d) {
    return static_cast<double>(n) * crf_cells(height, d) * crf_cells(width, d);
}

// loss = loss_scale * sum over cells of (K_i - P_i . Q_i), where K_i = sum_j k_ij and
// Q_i = sum_j k_ij P_j over the window; 0 for an empty batch.
PFCE_HD inline double crf_loss_scale(float weight, double cells) {
    return cells > 0.0 ? static_cast<double>(weight) / cells : 0.0;
}

// dL/dP_i = -2 weight / cells * Q_i (k is symmetric, so pair (i,j) and pair (j,i) each add
// k_ij P_j), and a pixel's dL/dp is its cell's dL/dP divided by the cell's pixel count. This is
// that factor for a cell of `pixels` pixels: dL/dp_uc = factor * Q_ic.
PFCE_HD inline float crf_grad_factor(float weight, double cells, int pixels) {
    return cells > 0.0 ? static_cast<float>(-2.0 * static_cast<double>(weight) / cells / pixels)
                       : 0.0f;
}

}  // namespace pfce::kernels
