// Reference 2-D batch norm with PyTorch semantics: per channel over (N,H,W), the mean, then the
// biased variance from the squared deviations (two passes), y = gamma (x - mean) / sqrt(var +
// eps) + beta; the unbiased variance enters running_var. Everything in double. The fused
// batch norm + ReLU ops are the two reference steps one after the other.
#include <cmath>
#include <vector>

#include "core/op_checks.hpp"
#include "host/reference/doubles.hpp"
#include "host/reference/reference_backend.hpp"
#include "host/reference/reference_ops.hpp"

namespace pfce {

using reference::Doubles;
namespace reference {

namespace {

// Index of element k of channel c of image i in an (N,C,HW) tensor.
std::int64_t at(const BnShape& s, std::int64_t i, std::int64_t c, std::int64_t k) {
    return (i * s.c + c) * s.hw + k;
}

}  // namespace

template <typename T>
void batchnorm_forward_train(const T* x, const T* gamma, const T* beta, T* running_mean,
                             T* running_var, T* y, T* save_mean, T* save_invstd, const BnShape& s,
                             double momentum, double eps) {
    const double m = static_cast<double>(s.n * s.hw);  // values per channel
    for (std::int64_t c = 0; c < s.c; ++c) {
        double sum = 0.0;
        for (std::int64_t i = 0; i < s.n; ++i)
            for (std::int64_t k = 0; k < s.hw; ++k) sum += static_cast<double>(x[at(s, i, c, k)]);
        const double mean = sum / m;
        double sq = 0.0;
        for (std::int64_t i = 0; i < s.n; ++i)
            for (std::int64_t k = 0; k < s.hw; ++k) {
                const double d = static_cast<double>(x[at(s, i, c, k)]) - mean;
                sq += d * d;
            }
        const double var = sq / m;
        const double unbiased = m > 1 ? sq / (m - 1) : var;
        const double invstd = 1.0 / std::sqrt(var + eps);
        for (std::int64_t i = 0; i < s.n; ++i)
            for (std::int64_t k = 0; k < s.hw; ++k)
                y[at(s, i, c, k)] =
                    static_cast<T>(static_cast<double>(gamma[c]) *
                                       (static_cast<double>(x[at(s, i, c, k)]) - mean) * invstd +
                                   static_cast<double>(beta[c]));
        save_mean[c] = static_cast<T>(mean);
        save_invstd[c] = static_cast<T>(invstd);
        running_mean[c] = static_cast<T>((1.0 - momentum) * static_cast<double>(running_mean[c]) +
                                         momentum * mean);
        running_var[c] = static_cast<T>((1.0 - momentum) * static_cast<double>(running_var[c]) +
                                        momentum * unbiased);
    }
}

template <typename T>
void batchnorm_forward_infer(const T* x, const T* gamma, const T* beta, const T* running_mean,
                             const T* running_var, T* y, const BnShape& s, double eps) {
    for (std::int64_t c = 0; c < s.c; ++c) {
        const double invstd = 1.0 / std::sqrt(static_cast<double>(running_var[c]) + eps);
        for (std::int64_t i = 0; i < s.n; ++i)
            for (std::int64_t k = 0; k < s.hw; ++k)
                y[at(s, i, c, k)] = static_cast<T>(static_cast<double>(gamma[c]) *
                                                       (static_cast<double>(x[at(s, i, c, k)]) -
                                                        static_cast<double>(running_mean[c])) *
                                                       invstd +
                                                   static_cast<double>(beta[c]));
    }
}

// With xhat = (x - mean) * invstd: dbeta = sum dy, dgamma = sum dy xhat,
// dx = gamma invstd (dy - dbeta/m - xhat dgamma/m)  (the batch statistics depend on x too).
template <typename T>
void batchnorm_backward(const T* x, const T* dy, const T* gamma, const T* save_mean,
                        const T* save_invstd, T* dx, T* dgamma, T* dbeta, const BnShape& s) {
    const double m = static_cast<double>(s.n * s.hw);
    for (std::int64_t c = 0; c < s.c; ++c) {
        const double mean = save_mean[c], invstd = save_invstd[c];
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (std::int64_t i = 0; i < s.n; ++i)
            for (std::int64_t k = 0; k < s.hw; ++k) {
                const double g = dy[at(s, i, c, k)];
                sum_dy += g;
                sum_dy_xhat += g * (static_cast<double>(x[at(s, i, c, k)]) - mean) * invstd;
            }
        dbeta[c] = static_cast<T>(sum_dy);
        dgamma[c] = static_cast<T>(sum_dy_xhat);
        for (std::int64_t i = 0; i < s.n; ++i)
            for (std::int64_t k = 0; k < s.hw; ++k) {
                const double xhat = (static_cast<double>(x[at(s, i, c, k)]) - mean) * invstd;
                dx[at(s, i, c, k)] = static_cast<T>(static_cast<double>(gamma[c]) * invstd *
                                                    (static_cast<double>(dy[at(s, i, c, k)]) -
                                                     sum_dy / m - xhat * sum_dy_xhat / m));
            }
    }
}

template void batchnorm_forward_train<float>(const float*, const float*, const float*, float*,
                                             float*, float*, float*, float*, const BnShape&, double,
                                             double);
template void batchnorm_forward_train<double>(const double*, const double*, const double*, double*,
                                              double*, double*, double*, double*, const BnShape&,
                                              double, double);
template void batchnorm_forward_infer<float>(const float*, const float*, const float*, const float*,
                                             const float*, float*, const BnShape&, double);
template void batchnorm_forward_infer<double>(const double*, const double*, const double*,
                                              const double*, const double*, double*, const BnShape&,
                                              double);
template void batchnorm_backward<float>(const float*, const float*, const float*, const float*,
                                        const float*, float*, float*, float*, const BnShape&);
template void batchnorm_backward<double>(const double*, const double*, const double*, const double*,
                                         const double*, double*, double*, double*, const BnShape&);

}  // namespace reference

namespace {

reference::BnShape bn_shape(const Tensor& x) {
    return {x.dim(0), x.dim(1), x.dim(2) * x.dim(3)};
}

// v <- max(0, v) for every value.
void relu_inplace(Doubles& v, std::int64_t n) {
    double* p = v.data();
    for (std::int64_t i = 0; i < n; ++i) p[i] = p[i] > 0.0 ? p[i] : 0.0;
}

}  // namespace

// Batch norm in double, then the ReLU when p.relu.
void ReferenceBackend::batchnorm_forward_train(const Tensor& x, const Tensor& gamma,
                                               const Tensor& beta, Tensor& running_mean,
                                               Tensor& running_var, Tensor& y, Tensor& save_mean,
                                               Tensor& save_invstd, const BatchNormParams& p) {
    check_batchnorm_forward_train_args(x, gamma, beta, running_mean, running_var, y, save_mean,
                                       save_invstd, DeviceKind::cpu);
    Doubles rm(running_mean), rv(running_var), out(y), sm(save_mean), si(save_invstd);
    reference::batchnorm_forward_train(Doubles(x).data(), Doubles(gamma).data(),
                                       Doubles(beta).data(), rm.data(), rv.data(), out.data(),
                                       sm.data(), si.data(), bn_shape(x), p.momentum, p.eps);
    if (p.relu) relu_inplace(out, y.numel());
    out.store(y);
    sm.store(save_mean);
    si.store(save_invstd);
    rm.store(running_mean);
    rv.store(running_var);
}

void ReferenceBackend::batchnorm_forward_infer(const Tensor& x, const Tensor& gamma,
                                               const Tensor& beta, const Tensor& running_mean,
                                               const Tensor& running_var, Tensor& y,
                                               const BatchNormParams& p) {
    check_batchnorm_forward_infer_args(x, gamma, beta, running_mean, running_var, y,
                                       DeviceKind::cpu);
    Doubles out(y);
    reference::batchnorm_forward_infer(Doubles(x).data(), Doubles(gamma).data(),
                                       Doubles(beta).data(), Doubles(running_mean).data(),
                                       Doubles(running_var).data(), out.data(), bn_shape(x), p.eps);
    if (p.relu) relu_inplace(out, y.numel());
    out.store(y);
}

void ReferenceBackend::batchnorm_backward(const Tensor& x, const Tensor* relu_y, const Tensor& dy,
                                          const Tensor& gamma, const Tensor& save_mean,
                                          const Tensor& save_invstd, Tensor& dx, Tensor& dgamma,
                                          Tensor& dbeta) {
    check_batchnorm_backward_args(x, relu_y, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta,
                                  DeviceKind::cpu);
    // The ReLU's gradient first: dy where the output is positive, 0 elsewhere.
    Doubles g(dy);
    if (relu_y)
        for (std::int64_t i = 0; i < dy.numel(); ++i)
            if (!(relu_y->data<float>()[i] > 0.0f)) g.data()[i] = 0.0;
    Doubles out_x(dx), out_g(dgamma), out_b(dbeta);
    reference::batchnorm_backward(Doubles(x).data(), g.data(), Doubles(gamma).data(),
                                  Doubles(save_mean).data(), Doubles(save_invstd).data(),
                                  out_x.data(), out_g.data(), out_b.data(), bn_shape(x));
    out_x.store(dx);
    out_g.store(dgamma);
    out_b.store(dbeta);
}

}  // namespace pfce
