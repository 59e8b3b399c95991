// Batch-norm per-channel arithmetic shared by both backends: 1/std, the affine map y = x*scale +
// shift, the running-statistics update (PyTorch convention) and the backward's coefficients, each
// in the same double expression so both sides round to the same floats.
#pragma once

#include <cmath>

#include "core/kernels/hd.hpp"

namespace pfce::kernels {

PFCE_HD inline double bn_invstd(double var, float eps) {
    return 1.0 / std::sqrt(var + static_cast<double>(eps));
}

struct BnAffine {
    float scale, shift;
};
// scale = gamma/std, shift = beta - mean*gamma/std. Mean is double for batch statistics and float
// for running ones (the product mean*gamma is then a float product, as both backends have it).
template <typename Mean>
PFCE_HD inline BnAffine bn_affine(float gamma, float beta, Mean mean, double invstd) {
    return {static_cast<float>(gamma * invstd), static_cast<float>(beta - mean * gamma * invstd)};
}

// running = (1 - momentum) * running + momentum * batch.
PFCE_HD inline float bn_running_update(float running, double batch, float momentum) {
    return static_cast<float>((1.0 - momentum) * running + momentum * batch);
}

// Backward, per channel, from sum_g = sum g and sum_gx = sum g * (x - mean) over the channel's m
// values (g the gradient at the batch norm's output): dbeta = sum_g, dgamma = sum g * xhat, and
// the coefficients of dx = a * (g - mean_g - (x - mean) * k).
struct BnGradCoeffs {
    float dgamma, dbeta, a, mean_g, k;
};
PFCE_HD inline BnGradCoeffs bn_grad_coeffs(double sum_g, double sum_gx, float gamma, double invstd,
                                           double m) {
    return {static_cast<float>(sum_gx * invstd), static_cast<float>(sum_g),
            static_cast<float>(gamma * invstd), static_cast<float>(sum_g / m),
            static_cast<float>(sum_gx * invstd * invstd / m)};
}

}  // namespace pfce::kernels
