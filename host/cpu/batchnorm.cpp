// CPU backend: 2-D batch norm with PyTorch semantics (statistics per channel over (N,H,W), the
// biased variance normalizes, the UNBIASED one enters running_var, running = (1-m)*running +
// m*batch), alone or fused with the ReLU after it, on nchw or nhwc tensors. Statistics come from
// one pass of shifted sums (x - x_first, so no cancellation) in float SIMD lanes over fixed blocks,
// added in double in block order: the same bits for any thread count. Our own loops rather than
// oneDNN's batch normalization: these are memory-bound passes either way, and oneDNN's sums
// depend on the thread count and its backward wants the variance, not the saved 1/std. Each pass
// is a plain loop over restrict pointers (no closures) so it vectorizes: forward reads x twice
// and writes y; backward reads x, dy (and y for the ReLU mask) twice and writes dx.
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

// What a reduction sums, per element i of channel c: s1 += v, s2 += v * (x[i] - shift[c]) with
// v = x[i] - shift[c] (forward statistics), dy[i] (backward), or dy[i] where y[i] > 0 and 0
// elsewhere (backward through the fused ReLU).
enum class Sum { stats, grad, grad_relu };

struct SumInputs {
    const float* x;
    const float* y;   // grad_relu only
    const float* dy;  // grad, grad_relu
    const float* shift;
};

template <Sum S>
inline float summand(const float* __restrict x, const float* __restrict y,
                     const float* __restrict dy, float shift, std::int64_t i) {
    if constexpr (S == Sum::stats) return x[i] - shift;
    if constexpr (S == Sum::grad) return dy[i];
    const float g = dy[i];  // both loads unconditional: a select, no branch
    return y[i] > 0.0f ? g : 0.0f;
}

// Sums of one nchw plane piece [b, e) of channel value shift sh, in float lanes.
template <Sum S>
void plane_block_sums(const SumInputs& in, float sh, std::int64_t b, std::int64_t e, float& o1,
                      float& o2) {
    const float* __restrict x = in.x;
    const float* __restrict y = in.y;
    const float* __restrict dy = in.dy;
    float u1 = 0.0f, u2 = 0.0f;
#pragma omp simd reduction(+ : u1, u2)
    for (std::int64_t k = b; k < e; ++k) {
        const float v = summand<S>(x, y, dy, sh, k);
        u1 += v;
        u2 += v * (x[k] - sh);
    }
    o1 = u1;
    o2 = u2;
}

// Sums of nhwc pixels [q0, q1) (C values each) into u1[C], u2[C], channels in SIMD lanes.
template <Sum S>
void pixel_block_sums(const SumInputs& in, std::int64_t c, std::int64_t q0, std::int64_t q1,
                      float* __restrict u1, float* __restrict u2) {
    const float* __restrict x = in.x;
    const float* __restrict y = in.y;
    const float* __restrict dy = in.dy;
    const float* __restrict sh = in.shift;
    std::fill_n(u1, c, 0.0f);
    std::fill_n(u2, c, 0.0f);
    for (std::int64_t q = q0; q < q1; ++q) {
        const std::int64_t o = q * c;
#pragma omp simd
        for (std::int64_t k = 0; k < c; ++k) {
            const float v = summand<S>(x, y, dy, sh[k], o + k);
            u1[k] += v;
            u2[k] += v * (x[o + k] - sh[k]);
        }
    }
}

// Per channel c: s1 = sum v and s2 = sum v * (x - shift[c]) over the channel's values (v as
// Sum S says). Float sums over blocks whose bounds do not depend on the thread count, widened and
// added in block order. nchw: one channel per task; nhwc: per-channel vectors over blocks of
// pixels.
template <Sum S>
void channel_sums(const BnGeom& g, const SumInputs& in, std::vector<double>& s1,
                  std::vector<double>& s2, CpuBackend& be) {
    s1.assign(static_cast<std::size_t>(g.c), 0.0);
    s2.assign(static_cast<std::size_t>(g.c), 0.0);
    if (!g.nhwc) {
#pragma omp parallel for schedule(static)
        for (std::int64_t c = 0; c < g.c; ++c) {
            double t1 = 0.0, t2 = 0.0;
            for (std::int64_t i = 0; i < g.n; ++i) {
                const std::int64_t base = (i * g.c + c) * g.hw;  // (H*W) of image i, channel c
                for (std::int64_t b = 0; b < g.hw; b += kBlock) {
                    float u1, u2;
                    plane_block_sums<S>(in, in.shift[c], base + b,
                                        base + std::min(g.hw, b + kBlock), u1, u2);
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
    for (std::int64_t b = 0; b < blocks; ++b)
        pixel_block_sums<S>(in, c, b * kPixelBlock, std::min(p, (b + 1) * kPixelBlock),
                            part + b * 2 * c, part + b * 2 * c + c);
    for (std::int64_t b = 0; b < blocks; ++b)
        for (std::int64_t k = 0; k < c; ++k) {
            s1[static_cast<std::size_t>(k)] += part[b * 2 * c + k];
            s2[static_cast<std::size_t>(k)] += part[b * 2 * c + c + k];
        }
}

// y = x * scale[c] + shift[c], then the ReLU (v > 0 ? v : 0, as relu_forward: NaN gives 0) when
// Relu, on either layout.
template <bool Relu>
inline float affine(float v, float a, float b) {
    const float t = v * a + b;
    if constexpr (Relu) return t > 0.0f ? t : 0.0f;
    return t;
}

// out[i] = f(i, c) for every value i (of channel c) on either layout: per (image, channel) plane
// (nchw) or per pixel with the channels in SIMD lanes (nhwc).
template <typename F>
void for_each_value(const BnGeom& g, float* __restrict out, F f) {
    if (!g.nhwc) {
#pragma omp parallel for collapse(2) schedule(static)
        for (std::int64_t i = 0; i < g.n; ++i)
            for (std::int64_t c = 0; c < g.c; ++c) {
                const std::int64_t base = (i * g.c + c) * g.hw;
#pragma omp simd
                for (std::int64_t k = base; k < base + g.hw; ++k) out[k] = f(k, c);
            }
        return;
    }
    const std::int64_t p = g.pixels(), c = g.c;
#pragma omp parallel for schedule(static)
    for (std::int64_t q = 0; q < p; ++q) {
        const std::int64_t o = q * c;
#pragma omp simd
        for (std::int64_t k = 0; k < c; ++k) out[o + k] = f(o + k, k);
    }
}

template <bool Relu>
void apply_affine(const BnGeom& g, const float* __restrict x, const float* __restrict scale,
                  const float* __restrict shift, float* __restrict y) {
    for_each_value(g, y, [=](std::int64_t i, std::int64_t c) {
        return affine<Relu>(x[i], scale[c], shift[c]);
    });
}

void apply_affine(const BnGeom& g, const float* x, const float* scale, const float* shift,
                  bool relu, float* y) {
    if (relu)
        apply_affine<true>(g, x, scale, shift, y);
    else
        apply_affine<false>(g, x, scale, shift, y);
}

// dx = a[c] * (g - mean_g[c] - (x - mean[c]) * k[c]) with g the gradient at the batch norm's
// output (dy, masked by y > 0 when Relu).
template <bool Relu>
void apply_grad(const BnGeom& g, const float* __restrict x, const float* __restrict y,
                const float* __restrict dy, const float* __restrict mean, const float* __restrict a,
                const float* __restrict mean_g, const float* __restrict k_xhat,
                float* __restrict dx) {
    for_each_value(g, dx, [=](std::int64_t i, std::int64_t c) {
        const float gi = Relu ? summand<Sum::grad_relu>(x, y, dy, 0.0f, i) : dy[i];
        return a[c] * (gi - mean_g[c] - (x[i] - mean[c]) * k_xhat[c]);
    });
}

}  // namespace

void CpuBackend::batchnorm_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                         Tensor& running_mean, Tensor& running_var, Tensor& y,
                                         Tensor& save_mean, Tensor& save_invstd,
                                         const BatchNormParams& p) {
    check_batchnorm_forward_train_args(x, gamma, beta, running_mean, running_var, y, save_mean,
                                       save_invstd, DeviceKind::cpu, true);
    const BnGeom g = bn_geom(x);
    const std::int64_t m = g.pixels();  // values per channel
    const float* px = x.data<float>();
    // Shift each channel by its first value: sums of x - shift do not cancel.
    std::vector<float> shift(static_cast<std::size_t>(g.c));
    for (std::int64_t c = 0; c < g.c; ++c)
        shift[static_cast<std::size_t>(c)] = px[g.nhwc ? c : c * g.hw];
    std::vector<double> s1, s2;
    channel_sums<Sum::stats>(g, {px, nullptr, nullptr, shift.data()}, s1, s2, *this);
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
    apply_affine(g, px, scale.data(), offset.data(), p.relu, y.data<float>());
}

void CpuBackend::batchnorm_forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                         const Tensor& running_mean, const Tensor& running_var,
                                         Tensor& y, const BatchNormParams& p) {
    check_batchnorm_forward_infer_args(x, gamma, beta, running_mean, running_var, y,
                                       DeviceKind::cpu, true);
    const BnGeom g = bn_geom(x);
    std::vector<float> scale(static_cast<std::size_t>(g.c)), offset(scale.size());
    for (std::int64_t c = 0; c < g.c; ++c) {
        const kernels::BnAffine a = kernels::bn_affine(
            gamma.data<float>()[c], beta.data<float>()[c], running_mean.data<float>()[c],
            kernels::bn_invstd(static_cast<double>(running_var.data<float>()[c]), p.eps));
        scale[static_cast<std::size_t>(c)] = a.scale;
        offset[static_cast<std::size_t>(c)] = a.shift;
    }
    apply_affine(g, x.data<float>(), scale.data(), offset.data(), p.relu, y.data<float>());
}

// Backward through BN (and the ReLU when relu_y is given: its gradient is dy where y > 0, else 0).
// xhat = (x - mean) * invstd; dbeta = sum g; dgamma = sum g * xhat;
// dx = gamma * invstd * (g - dbeta/m - xhat * dgamma/m).
void CpuBackend::batchnorm_backward(const Tensor& x, const Tensor* relu_y, const Tensor& dy,
                                    const Tensor& gamma, const Tensor& save_mean,
                                    const Tensor& save_invstd, Tensor& dx, Tensor& dgamma,
                                    Tensor& dbeta) {
    check_batchnorm_backward_args(x, relu_y, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta,
                                  DeviceKind::cpu, true);
    const float* y = relu_y ? relu_y->data<float>() : nullptr;
    const BnGeom g = bn_geom(x);
    const std::int64_t m = g.pixels();
    const float* sm = save_mean.data<float>();
    const float* si = save_invstd.data<float>();
    const SumInputs in{x.data<float>(), y, dy.data<float>(), sm};
    std::vector<double> s1, s2;
    if (y)
        channel_sums<Sum::grad_relu>(g, in, s1, s2, *this);
    else
        channel_sums<Sum::grad>(g, in, s1, s2, *this);
    std::vector<float> a(static_cast<std::size_t>(g.c)), mean_g(a.size()), k_xhat(a.size());
    for (std::int64_t c = 0; c < g.c; ++c) {
        const auto k = static_cast<std::size_t>(c);
        const kernels::BnGradCoeffs co = kernels::bn_grad_coeffs(
            s1[k], s2[k], gamma.data<float>()[c], si[c], static_cast<double>(m));
        dbeta.data<float>()[c] = co.dbeta;
        dgamma.data<float>()[c] = co.dgamma;
        a[k] = co.a;
        mean_g[k] = co.mean_g;
        k_xhat[k] = co.k;  // times (x - mean)
    }
    if (y)
        apply_grad<true>(g, in.x, y, in.dy, sm, a.data(), mean_g.data(), k_xhat.data(),
                         dx.data<float>());
    else
        apply_grad<false>(g, in.x, y, in.dy, sm, a.data(), mean_g.data(), k_xhat.data(),
                          dx.data<float>());
}

}  // namespace pfce
