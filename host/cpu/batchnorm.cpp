// CPU backend: 2-D batch norm with PyTorch semantics: statistics per channel over (N,H,W), the
// biased variance normalizes, the UNBIASED variance enters running_var, running = (1-m)*running +
// m*batch. One channel per OpenMP iteration; sums run in float SIMD lanes over blocks of 1024
// values and in double across blocks (fast, accurate, and the same order on every run).
#include <algorithm>
#include <cmath>

#include "core/kernels/batchnorm.hpp"
#include "core/op_checks.hpp"
#include "host/cpu/cpu_backend.hpp"

namespace pfce {

namespace {

constexpr std::int64_t kBlock = 1024;

// sum_k a[k]
double block_sum(const float* a, std::int64_t n) {
    double total = 0.0;
    for (std::int64_t b = 0; b < n; b += kBlock) {
        const std::int64_t e = std::min(n, b + kBlock);
        float s = 0.0f;
#pragma omp simd reduction(+ : s)
        for (std::int64_t k = b; k < e; ++k) s += a[k];
        total += s;
    }
    return total;
}

// sum_k (a[k] - mean)^2
double block_sq_dev(const float* a, std::int64_t n, float mean) {
    double total = 0.0;
    for (std::int64_t b = 0; b < n; b += kBlock) {
        const std::int64_t e = std::min(n, b + kBlock);
        float s = 0.0f;
#pragma omp simd reduction(+ : s)
        for (std::int64_t k = b; k < e; ++k) s += (a[k] - mean) * (a[k] - mean);
        total += s;
    }
    return total;
}

// sum_k d[k] and sum_k d[k] * (a[k] - mean)
void block_dot_dev(const float* d, const float* a, std::int64_t n, float mean, double& sd,
                   double& sda) {
    for (std::int64_t b = 0; b < n; b += kBlock) {
        const std::int64_t e = std::min(n, b + kBlock);
        float s1 = 0.0f, s2 = 0.0f;
#pragma omp simd reduction(+ : s1, s2)
        for (std::int64_t k = b; k < e; ++k) {
            s1 += d[k];
            s2 += d[k] * (a[k] - mean);
        }
        sd += s1;
        sda += s2;
    }
}

struct BnGeom {
    std::int64_t n, c, hw;
};

// Dimensions of an x that the entry checks (core/op_checks.hpp) have accepted as (N,C,H,W).
BnGeom bn_geom(const Tensor& x) {
    return {x.dim(0), x.dim(1), x.dim(2) * x.dim(3)};
}

}  // namespace

void CpuBackend::batchnorm_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                         Tensor& running_mean, Tensor& running_var, Tensor& y,
                                         Tensor& save_mean, Tensor& save_invstd,
                                         const BatchNormParams& p) {
    check_batchnorm_forward_train_args(x, gamma, beta, running_mean, running_var, y, save_mean,
                                       save_invstd, DeviceKind::cpu);
    const BnGeom g = bn_geom(x);
    const std::int64_t m = g.n * g.hw;  // values per channel
    const float* px = x.data<float>();
    const float* pg = gamma.data<float>();
    const float* pb = beta.data<float>();
    float* py = y.data<float>();
    float* rm = running_mean.data<float>();
    float* rv = running_var.data<float>();
    float* sm = save_mean.data<float>();
    float* si = save_invstd.data<float>();
#pragma omp parallel for schedule(static)
    for (std::int64_t c = 0; c < g.c; ++c) {
        // Two passes (mean, then squared deviations) keep the variance accurate.
        double sum = 0.0;
        for (std::int64_t i = 0; i < g.n; ++i)
            sum += block_sum(px + (i * g.c + c) * g.hw, g.hw);  // (H*W) of image i, channel c
        const double mean = sum / static_cast<double>(m);
        double sq = 0.0;
        for (std::int64_t i = 0; i < g.n; ++i)
            sq += block_sq_dev(px + (i * g.c + c) * g.hw, g.hw, static_cast<float>(mean));
        const double var = sq / static_cast<double>(m);
        const double unbiased = m > 1 ? sq / static_cast<double>(m - 1) : var;
        const double invstd = kernels::bn_invstd(var, p.eps);
        const kernels::BnAffine a = kernels::bn_affine(pg[c], pb[c], mean, invstd);
        for (std::int64_t i = 0; i < g.n; ++i) {
            const float* xc = px + (i * g.c + c) * g.hw;
            float* yc = py + (i * g.c + c) * g.hw;
            for (std::int64_t k = 0; k < g.hw; ++k) yc[k] = xc[k] * a.scale + a.shift;
        }
        sm[c] = static_cast<float>(mean);
        si[c] = static_cast<float>(invstd);
        rm[c] = kernels::bn_running_update(rm[c], mean, p.momentum);
        rv[c] = kernels::bn_running_update(rv[c], unbiased, p.momentum);
    }
}

void CpuBackend::batchnorm_forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                         const Tensor& running_mean, const Tensor& running_var,
                                         Tensor& y, const BatchNormParams& p) {
    check_batchnorm_forward_infer_args(x, gamma, beta, running_mean, running_var, y,
                                       DeviceKind::cpu);
    const BnGeom g = bn_geom(x);
    const float* px = x.data<float>();
    const float* pg = gamma.data<float>();
    const float* pb = beta.data<float>();
    const float* rm = running_mean.data<float>();
    const float* rv = running_var.data<float>();
    float* py = y.data<float>();
#pragma omp parallel for collapse(2) schedule(static)
    for (std::int64_t i = 0; i < g.n; ++i)
        for (std::int64_t c = 0; c < g.c; ++c) {
            const kernels::BnAffine a = kernels::bn_affine(
                pg[c], pb[c], rm[c], kernels::bn_invstd(static_cast<double>(rv[c]), p.eps));
            const float* xc = px + (i * g.c + c) * g.hw;
            float* yc = py + (i * g.c + c) * g.hw;
            for (std::int64_t k = 0; k < g.hw; ++k) yc[k] = xc[k] * a.scale + a.shift;
        }
}

void CpuBackend::batchnorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                                    const Tensor& save_mean, const Tensor& save_invstd, Tensor& dx,
                                    Tensor& dgamma, Tensor& dbeta) {
    check_batchnorm_backward_args(x, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta,
                                  DeviceKind::cpu);
    const BnGeom g = bn_geom(x);
    const std::int64_t m = g.n * g.hw;
    const float* px = x.data<float>();
    const float* pdy = dy.data<float>();
    const float* pg = gamma.data<float>();
    const float* sm = save_mean.data<float>();
    const float* si = save_invstd.data<float>();
    float* pdx = dx.data<float>();
    float* pdg = dgamma.data<float>();
    float* pdb = dbeta.data<float>();
#pragma omp parallel for schedule(static)
    for (std::int64_t c = 0; c < g.c; ++c) {
        // xhat = (x - mean) * invstd; dbeta = sum dy; dgamma = sum dy * xhat;
        // dx = gamma * invstd * (dy - dbeta/m - xhat * dgamma/m).
        const double mean = sm[c], invstd = si[c];
        double sdy = 0.0, sdyx = 0.0;
        for (std::int64_t i = 0; i < g.n; ++i)
            block_dot_dev(pdy + (i * g.c + c) * g.hw, px + (i * g.c + c) * g.hw, g.hw,
                          static_cast<float>(mean), sdy, sdyx);
        const double sum_dy = sdy, sum_dy_xhat = sdyx * invstd;
        pdb[c] = static_cast<float>(sum_dy);
        pdg[c] = static_cast<float>(sum_dy_xhat);
        const double md = static_cast<double>(m);
        const float a = static_cast<float>(pg[c] * invstd);
        const float mean_dy = static_cast<float>(sum_dy / md);
        const float k_xhat = static_cast<float>(sum_dy_xhat / md * invstd);  // times (x - mean)
        const float fmean = static_cast<float>(mean);
        for (std::int64_t i = 0; i < g.n; ++i) {
            const float* xc = px + (i * g.c + c) * g.hw;
            const float* dc = pdy + (i * g.c + c) * g.hw;
            float* dxc = pdx + (i * g.c + c) * g.hw;
            for (std::int64_t k = 0; k < g.hw; ++k)
                dxc[k] = a * (dc[k] - mean_dy - (xc[k] - fmean) * k_xhat);
        }
    }
}

}  // namespace pfce
