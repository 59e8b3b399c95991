// CPU backend: 2-D batch norm with PyTorch semantics (statistics per channel over (N,H,W), the
// biased variance normalizes, the UNBIASED one enters running_var, running = (1-m)*running +
// m*batch), alone or fused with the ReLU after it, on nchw or nhwc tensors. Statistics come from
// one pass of shifted sums (x - x_first, so no cancellation) in float SIMD lanes over fixed blocks,
// added in double in block order: the same bits for any thread count. Our own loops rather than
// oneDNN's batch normalization: these are memory-bound passes either way, and oneDNN's sums
// depend on the thread count and its backward wants the variance, not the saved 1/std.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/kernels/batchnorm.hpp"
#include "core/op_checks.hpp"
#include "host/cpu/cpu_backend.hpp"
#include "host/cpu/scratch_slots.hpp"

namespace pfce {

namespace {

// Values per block of a per-channel reduction (nchw: along one plane; nhwc: pixels of C values).
constexpr std::int64_t kBlock = 1024;
constexpr std::int64_t kPixelBlock = 256;

struct BnGeom {
    std::int64_t n, c, hw;
    bool nhwc;
    std::int64_t pixels() const { return n * hw; }
};

BnGeom bn_geom(const Tensor& x) {
    return {x.dim(0), x.dim(1), x.dim(2) * x.dim(3), x.layout() == Layout::nhwc};
}

// Per channel c: s1 = sum a and s2 = sum a * (x - shift[c]) over the channel's values, where
// a(i, c) gives the value for element i (of channel c) of the tensor. Float sums over blocks
// whose bounds do not depend on the thread count, widened and added in block order. nchw: one
// channel per task; nhwc: per-channel vectors over blocks of pixels.
template <typename A>
void channel_sums(const BnGeom& g, const float* x, const float* shift, A a, std::vector<double>& s1,
                  std::vector<double>& s2, CpuBackend& be) {
    s1.assign(static_cast<std::size_t>(g.c), 0.0);
    s2.assign(static_cast<std::size_t>(g.c), 0.0);
    if (!g.nhwc) {
#pragma omp parallel for schedule(static)
        for (std::int64_t c = 0; c < g.c; ++c) {
            double t1 = 0.0, t2 = 0.0;
            const float sh = shift[c];
            for (std::int64_t i = 0; i < g.n; ++i) {
                const std::int64_t base = (i * g.c + c) * g.hw;  // (H*W) of image i, channel c
                for (std::int64_t b = 0; b < g.hw; b += kBlock) {
                    const std::int64_t e = std::min(g.hw, b + kBlock);
                    float u1 = 0.0f, u2 = 0.0f;
#pragma omp simd reduction(+ : u1, u2)
                    for (std::int64_t k = base + b; k < base + e; ++k) {
                        const float v = a(k, c);
                        u1 += v;
                        u2 += v * (x[k] - sh);
                    }
                    t1 += u1;
                    t2 += u2;
                }
            }
            s1[static_cast<std::size_t>(c)] = t1;
            s2[static_cast<std::size_t>(c)] = t2;
        }
        return;
    }
    // nhwc: x is (P, C). Block sums (blocks, 2, C) in scratch.
    const std::int64_t p = g.pixels(), c = g.c;
    const std::int64_t blocks = (p + kPixelBlock - 1) / kPixelBlock;
    float* part = be.scratch(cpu::kReduceSlot, static_cast<std::size_t>(blocks * 2 * c));
#pragma omp parallel for schedule(static)
    for (std::int64_t b = 0; b < blocks; ++b) {
        float* u1 = part + b * 2 * c;
        float* u2 = u1 + c;
        std::fill_n(u1, 2 * c, 0.0f);
        const std::int64_t e = std::min(p, (b + 1) * kPixelBlock);
        for (std::int64_t q = b * kPixelBlock; q < e; ++q) {
            const float* xq = x + q * c;
#pragma omp simd
            for (std::int64_t k = 0; k < c; ++k) {
                const float v = a(q * c + k, k);
                u1[k] += v;
                u2[k] += v * (xq[k] - shift[k]);
            }
        }
    }
    for (std::int64_t b = 0; b < blocks; ++b)
        for (std::int64_t k = 0; k < c; ++k) {
            s1[static_cast<std::size_t>(k)] += part[b * 2 * c + k];
            s2[static_cast<std::size_t>(k)] += part[b * 2 * c + c + k];
        }
}

// y = x * scale[c] + shift[c], then the ReLU (v > 0 ? v : 0, as relu_forward: NaN gives 0) when
// Relu, on either layout.
template <bool Relu>
void apply_affine(const BnGeom& g, const float* x, const float* scale, const float* shift,
                  float* y) {
    auto f = [](float v, float a, float b) {
        const float t = v * a + b;
        if constexpr (Relu) return t > 0.0f ? t : 0.0f;
        return t;
    };
    if (!g.nhwc) {
#pragma omp parallel for collapse(2) schedule(static)
        for (std::int64_t i = 0; i < g.n; ++i)
            for (std::int64_t c = 0; c < g.c; ++c) {
                const float a = scale[c], b = shift[c];
                const float* xc = x + (i * g.c + c) * g.hw;
                float* yc = y + (i * g.c + c) * g.hw;
#pragma omp simd
                for (std::int64_t k = 0; k < g.hw; ++k) yc[k] = f(xc[k], a, b);
            }
        return;
    }
    const std::int64_t p = g.pixels(), c = g.c;
#pragma omp parallel for schedule(static)
    for (std::int64_t q = 0; q < p; ++q) {
        const float* xq = x + q * c;
        float* yq = y + q * c;
#pragma omp simd
        for (std::int64_t k = 0; k < c; ++k) yq[k] = f(xq[k], scale[k], shift[k]);
    }
}

void apply_affine(const BnGeom& g, const float* x, const float* scale, const float* shift,
                  bool relu, float* y) {
    if (relu)
        apply_affine<true>(g, x, scale, shift, y);
    else
        apply_affine<false>(g, x, scale, shift, y);
}

void forward_train(CpuBackend& be, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                   Tensor& running_mean, Tensor& running_var, Tensor& y, Tensor& save_mean,
                   Tensor& save_invstd, const BatchNormParams& p, bool relu) {
    const BnGeom g = bn_geom(x);
    const std::int64_t m = g.pixels();  // values per channel
    const float* px = x.data<float>();
    // Shift each channel by its first value: sums of x - shift do not cancel.
    std::vector<float> shift(static_cast<std::size_t>(g.c));
    for (std::int64_t c = 0; c < g.c; ++c)
        shift[static_cast<std::size_t>(c)] = px[g.nhwc ? c : c * g.hw];
    std::vector<double> s1, s2;
    const float* sh = shift.data();
    channel_sums(
        g, px, sh, [&](std::int64_t i, std::int64_t c) { return px[i] - sh[c]; }, s1, s2, be);
    std::vector<float> scale(static_cast<std::size_t>(g.c)), offset(scale.size());
    const float* pg = gamma.data<float>();
    const float* pb = beta.data<float>();
    float* rm = running_mean.data<float>();
    float* rv = running_var.data<float>();
    float* sm = save_mean.data<float>();
    float* si = save_invstd.data<float>();
    for (std::int64_t c = 0; c < g.c; ++c) {
        const auto k = static_cast<std::size_t>(c);
        const double md = static_cast<double>(m);
        const double d_mean = s1[k] / md;                         // mean of x - shift
        const double sq = std::max(0.0, s2[k] - s1[k] * d_mean);  // sum of squared deviations
        const double mean = shift[k] + d_mean;
        const double var = sq / md;
        const double unbiased = m > 1 ? sq / static_cast<double>(m - 1) : var;
        const double invstd = kernels::bn_invstd(var, p.eps);
        const kernels::BnAffine a = kernels::bn_affine(pg[c], pb[c], mean, invstd);
        scale[k] = a.scale;
        offset[k] = a.shift;
        sm[c] = static_cast<float>(mean);
        si[c] = static_cast<float>(invstd);
        rm[c] = kernels::bn_running_update(rm[c], mean, p.momentum);
        rv[c] = kernels::bn_running_update(rv[c], unbiased, p.momentum);
    }
    apply_affine(g, px, scale.data(), offset.data(), relu, y.data<float>());
}

void forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                   const Tensor& running_mean, const Tensor& running_var, Tensor& y,
                   const BatchNormParams& p, bool relu) {
    const BnGeom g = bn_geom(x);
    std::vector<float> scale(static_cast<std::size_t>(g.c)), offset(scale.size());
    for (std::int64_t c = 0; c < g.c; ++c) {
        const kernels::BnAffine a = kernels::bn_affine(
            gamma.data<float>()[c], beta.data<float>()[c], running_mean.data<float>()[c],
            kernels::bn_invstd(static_cast<double>(running_var.data<float>()[c]), p.eps));
        scale[static_cast<std::size_t>(c)] = a.scale;
        offset[static_cast<std::size_t>(c)] = a.shift;
    }
    apply_affine(g, x.data<float>(), scale.data(), offset.data(), relu, y.data<float>());
}

// Backward through BN (and the ReLU when y is given: its gradient is dy where y > 0, else 0).
// xhat = (x - mean) * invstd; dbeta = sum g; dgamma = sum g * xhat;
// dx = gamma * invstd * (g - dbeta/m - xhat * dgamma/m).
void backward(CpuBackend& be, const Tensor& x, const float* y, const Tensor& dy,
              const Tensor& gamma, const Tensor& save_mean, const Tensor& save_invstd, Tensor& dx,
              Tensor& dgamma, Tensor& dbeta) {
    const BnGeom g = bn_geom(x);
    const std::int64_t m = g.pixels();
    const float* px = x.data<float>();
    const float* pdy = dy.data<float>();
    const float* sm = save_mean.data<float>();
    const float* si = save_invstd.data<float>();
    std::vector<double> s1, s2;
    if (y)
        channel_sums(
            g, px, sm, [&](std::int64_t i, std::int64_t) { return y[i] > 0.0f ? pdy[i] : 0.0f; },
            s1, s2, be);
    else
        channel_sums(
            g, px, sm, [&](std::int64_t i, std::int64_t) { return pdy[i]; }, s1, s2, be);
    std::vector<float> a(static_cast<std::size_t>(g.c)), mean_g(a.size()), k_xhat(a.size());
    for (std::int64_t c = 0; c < g.c; ++c) {
        const auto k = static_cast<std::size_t>(c);
        const double invstd = si[c], md = static_cast<double>(m);
        const double sum_g = s1[k], sum_g_xhat = s2[k] * invstd;
        dbeta.data<float>()[c] = static_cast<float>(sum_g);
        dgamma.data<float>()[c] = static_cast<float>(sum_g_xhat);
        a[k] = static_cast<float>(gamma.data<float>()[c] * invstd);
        mean_g[k] = static_cast<float>(sum_g / md);
        k_xhat[k] = static_cast<float>(sum_g_xhat / md * invstd);  // times (x - mean)
    }
    float* pdx = dx.data<float>();
    const float* pa = a.data();
    const float* pm = mean_g.data();
    const float* pk = k_xhat.data();
    auto grad = [&](std::int64_t i, std::int64_t c) {
        const float gi = (!y || y[i] > 0.0f) ? pdy[i] : 0.0f;
        return pa[c] * (gi - pm[c] - (px[i] - sm[c]) * pk[c]);
    };
    if (!g.nhwc) {
#pragma omp parallel for collapse(2) schedule(static)
        for (std::int64_t i = 0; i < g.n; ++i)
            for (std::int64_t c = 0; c < g.c; ++c) {
                const std::int64_t base = (i * g.c + c) * g.hw;
#pragma omp simd
                for (std::int64_t k = base; k < base + g.hw; ++k) pdx[k] = grad(k, c);
            }
        return;
    }
    const std::int64_t p = g.pixels(), c = g.c;
#pragma omp parallel for schedule(static)
    for (std::int64_t q = 0; q < p; ++q)
#pragma omp simd
        for (std::int64_t k = 0; k < c; ++k) pdx[q * c + k] = grad(q * c + k, k);
}

}  // namespace

void CpuBackend::batchnorm_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                         Tensor& running_mean, Tensor& running_var, Tensor& y,
                                         Tensor& save_mean, Tensor& save_invstd,
                                         const BatchNormParams& p) {
    check_batchnorm_forward_train_args(x, gamma, beta, running_mean, running_var, y, save_mean,
                                       save_invstd, DeviceKind::cpu, true);
    forward_train(*this, x, gamma, beta, running_mean, running_var, y, save_mean, save_invstd, p,
                  false);
}

void CpuBackend::batchnorm_relu_forward_train(const Tensor& x, const Tensor& gamma,
                                              const Tensor& beta, Tensor& running_mean,
                                              Tensor& running_var, Tensor& y, Tensor& save_mean,
                                              Tensor& save_invstd, const BatchNormParams& p) {
    check_batchnorm_forward_train_args(x, gamma, beta, running_mean, running_var, y, save_mean,
                                       save_invstd, DeviceKind::cpu, true);
    forward_train(*this, x, gamma, beta, running_mean, running_var, y, save_mean, save_invstd, p,
                  true);
}

void CpuBackend::batchnorm_forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                         const Tensor& running_mean, const Tensor& running_var,
                                         Tensor& y, const BatchNormParams& p) {
    check_batchnorm_forward_infer_args(x, gamma, beta, running_mean, running_var, y,
                                       DeviceKind::cpu, true);
    forward_infer(x, gamma, beta, running_mean, running_var, y, p, false);
}

void CpuBackend::batchnorm_relu_forward_infer(const Tensor& x, const Tensor& gamma,
                                              const Tensor& beta, const Tensor& running_mean,
                                              const Tensor& running_var, Tensor& y,
                                              const BatchNormParams& p) {
    check_batchnorm_forward_infer_args(x, gamma, beta, running_mean, running_var, y,
                                       DeviceKind::cpu, true);
    forward_infer(x, gamma, beta, running_mean, running_var, y, p, true);
}

void CpuBackend::batchnorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                                    const Tensor& save_mean, const Tensor& save_invstd, Tensor& dx,
                                    Tensor& dgamma, Tensor& dbeta) {
    check_batchnorm_backward_args(x, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta,
                                  DeviceKind::cpu, true);
    backward(*this, x, nullptr, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta);
}

void CpuBackend::batchnorm_relu_backward(const Tensor& x, const Tensor& y, const Tensor& dy,
                                         const Tensor& gamma, const Tensor& save_mean,
                                         const Tensor& save_invstd, Tensor& dx, Tensor& dgamma,
                                         Tensor& dbeta) {
    check_batchnorm_relu_backward_args(x, y, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta,
                                       DeviceKind::cpu, true);
    backward(*this, x, y.data<float>(), dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta);
}

}  // namespace pfce
