// Per-pixel arithmetic of the partial focal loss (DESIGN §2) that host/cpu/focal_loss.cpp,
// cuda/focal_loss.cu and the reference share, so the backends evaluate the same float expressions
// (and the reference the same formulas in double).
#pragma once

#include <cmath>

#include "core/kernels/hd.hpp"

namespace pfce::kernels {

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

// The same terms with pw = u^gamma already computed (kernels specialised for a gamma pass it).
template <typename T>
PFCE_HD inline FocalPixel<T> focal_pixel_terms_pw(T u, T q, T logq, T gamma, T a, T pw) {
    const T ratio = logq / u;  // computed unconditionally, so a CPU loop can select, not branch
    const T r = u > T(0) ? ratio : T(-1);
    return {-a * pw * logq, a * pw * (gamma * q * r - T(1))};
}

template <typename T>
PFCE_HD inline FocalPixel<T> focal_pixel_terms(T u, T q, T logq, T gamma, T a) {
    // 0 and 2 (cross-entropy, the focal default) as the kernels compiled for them compute it.
    const T pw = gamma == T(0) ? T(1) : gamma == T(2) ? u * u : std::pow(u, gamma);
    return focal_pixel_terms_pw(u, q, logq, gamma, a, pw);
}

// u^gamma for a gamma known when the kernel is compiled: kAnyGamma calls pow, 0 and 2 (the
// defaults of cross-entropy and focal loss) need none.
constexpr int kAnyGamma = -1;
template <int G>
PFCE_HD inline float focal_pow_gamma(float u, float gamma) {
    if constexpr (G == 0)
        return 1.0f;
    else if constexpr (G == 2)
        return u * u;
    else
        return gamma == 0.0f ? 1.0f : gamma == 2.0f ? u * u : std::pow(u, gamma);
}

// log q from the shifted logit zy_m = z_y - max_k z_k, the softmax denominator s (sum over k of
// exp(z_k - max)) and u = 1 - q: log1p(-u) is exact when q is near 1 (where log s rounds to 0),
// the log-softmax form when q is small (where u carries no information).
template <typename T>
PFCE_HD inline T focal_log_q(T zy_m, T s, T u) {
    return u < T(0.5) ? std::log1p(-u) : zy_m - std::log(s);
}

// The loss normalizer from per-class labelled-pixel counts, summed in class order in double:
// the count of labelled pixels, or (by_alpha) the sum of their class weights.
template <typename Count>
PFCE_HD inline double focal_normalizer(const Count* counts, const float* alpha, int c,
                                       bool by_alpha) {
    double norm = 0.0;
    for (int k = 0; k < c; ++k)
        norm += static_cast<double>(counts[k]) * (by_alpha ? static_cast<double>(alpha[k]) : 1.0);
    return norm;
}

// The loss: the double sum of the pixel losses over the normalizer, 0 when nothing is labelled.
PFCE_HD inline float focal_mean(double total, double norm) {
    return static_cast<float>(total * (norm > 0.0 ? 1.0 / norm : 0.0));
}

// 1 / normalizer as the float the per-pixel gradient is scaled by; 0 when nothing is labelled.
PFCE_HD inline float focal_inv_norm(double norm) {
    return norm > 0.0 ? static_cast<float>(1.0 / norm) : 0.0f;
}

// Gradient of one labelled pixel with softmax denominator s: dl/dz_y = dz_y and, for k != y,
// dl/dz_k = -w * exp(z_k - max), each already divided by the normalizer.
struct FocalGrad {
    float dz_y;
    float w;
};
PFCE_HD inline FocalGrad focal_grad_factors(float coef, float u, float s, float inv_norm) {
    return {coef * u * inv_norm, coef * inv_norm / s};
}

}  // namespace pfce::kernels
