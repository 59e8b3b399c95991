// The partial focal loss (DESIGN §2) as plain loops, templated on the arithmetic type so tests can
// run it in double against finite differences. The CPU backend (focal_loss.cpp) and the CUDA kernel
// (cuda/focal_loss.cu) compute each pixel with the same formulas (focal_pixel_terms) and are tested
// against this function.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/op_params.hpp"

namespace pfce {

// For one labelled pixel with true-class probability q = p_y, u = 1 - q (computed without
// cancellation as the sum of the other classes' probabilities), logq = log q and class weight a:
//   loss = -a u^g log q
//   coef = dl/dq * q = a [ g u^(g-1) q log q - u^g ] = a u^g (g q (log q / u) - 1),
// so that dl/dz_k = coef * (delta_ky - p_k). Writing u^(g-1) as u^g / u keeps 0 < g < 1 finite
// as q -> 1, where log q / u -> -1.
template <typename T>
struct FocalPixel {
    T loss;
    T coef;
};

template <typename T>
inline FocalPixel<T> focal_pixel_terms(T u, T q, T logq, T gamma, T a) {
    const T pw = gamma == T(0) ? T(1) : std::pow(u, gamma);
    const T r = u > T(0) ? logq / u : T(-1);
    return {-a * pw * logq, a * pw * (gamma * q * r - T(1))};
}

// log q from the shifted logit zy_m = z_y - max_k z_k, the softmax denominator s (sum over k of
// exp(z_k - max)) and u = 1 - q: log1p(-u) is exact when q is near 1 (where log s rounds to 0),
// the log-softmax form when q is small (where u carries no information).
template <typename T>
inline T focal_log_q(T zy_m, T s, T u) {
    return u < T(0.5) ? std::log1p(-u) : zy_m - std::log(s);
}

// Reference: logits (N,C,H,W) as T, labels (N,H,W) u8 (any value >= C, 255 included, is
// unlabelled), alpha size C or empty (= 1). Returns the loss; writes dL/dlogits (N,C,H,W) when
// dlogits is not null.
template <typename T>
T focal_loss_reference(const T* logits, const std::uint8_t* labels, std::int64_t n, int c,
                       std::int64_t hw, const FocalLossParams& p, T* dlogits) {
    auto alpha_of = [&](int k) {
        return p.alpha.empty() ? T(1) : T(p.alpha[static_cast<std::size_t>(k)]);
    };
    // Normalizer: number of labelled pixels, or the sum of their class weights.
    T norm = 0;
    for (std::int64_t i = 0; i < n * hw; ++i)
        if (labels[i] < c) norm += p.normalize == LossNormalize::alpha ? alpha_of(labels[i]) : T(1);
    const T inv_norm = norm > T(0) ? T(1) / norm : T(0);

    T total = 0;
    std::vector<T> e(static_cast<std::size_t>(c));
    for (std::int64_t img = 0; img < n; ++img) {
        const T* z = logits + img * c * hw;  // (C,H,W)
        T* dz = dlogits ? dlogits + img * c * hw : nullptr;
        for (std::int64_t j = 0; j < hw; ++j) {
            const int y = labels[img * hw + j];
            if (y >= c) {  // unlabelled: no loss, gradient exactly 0
                if (dz)
                    for (int k = 0; k < c; ++k) dz[k * hw + j] = T(0);
                continue;
            }
            T m = z[j];
            for (int k = 1; k < c; ++k) m = std::max(m, z[k * hw + j]);
            T s_other = 0;
            for (int k = 0; k < c; ++k) {
                e[static_cast<std::size_t>(k)] = std::exp(z[k * hw + j] - m);
                if (k != y) s_other += e[static_cast<std::size_t>(k)];
            }
            const T ey = e[static_cast<std::size_t>(y)];
            const T s = ey + s_other;
            const T u = s_other / s, q = ey / s;
            const T logq = focal_log_q(z[y * hw + j] - m, s, u);
            const FocalPixel<T> t = focal_pixel_terms(u, q, logq, T(p.gamma), alpha_of(y));
            total += t.loss;
            if (dz)
                for (int k = 0; k < c; ++k)
                    dz[k * hw + j] =
                        k == y ? t.coef * u * inv_norm
                               : -t.coef * (e[static_cast<std::size_t>(k)] / s) * inv_norm;
        }
    }
    return total * inv_norm;
}

}  // namespace pfce
