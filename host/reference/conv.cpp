// Reference 2-D convolution (square kernel, stride 1, zero padding): the definition as seven
// nested loops, and its two adjoints as the same loops with the roles swapped. Sums in double.
#include <vector>

#include "core/op_checks.hpp"
#include "host/reference/doubles.hpp"
#include "host/reference/reference_backend.hpp"
#include "host/reference/reference_ops.hpp"

namespace pfce {

using reference::Doubles;
namespace reference {

namespace {

// Input pixel (iy, ix) under output pixel (oy, ox) and filter tap (ky, kx); false in the padding.
bool tap(const ConvShape& s, std::int64_t oy, std::int64_t ox, std::int64_t ky, std::int64_t kx,
         std::int64_t& iy, std::int64_t& ix) {
    iy = oy - s.pad + ky;
    ix = ox - s.pad + kx;
    return iy >= 0 && iy < s.h && ix >= 0 && ix < s.w;
}

}  // namespace

// y[n,co,oy,ox] = bias[co] + sum_{ci,ky,kx} x[n,ci,oy-pad+ky,ox-pad+kx] w[co,ci,ky,kx]
template <typename T>
void conv2d_forward(const T* x, const T* w, const T* bias, T* y, const ConvShape& s) {
    const std::int64_t ho = s.ho(), wo = s.wo();
    for (std::int64_t n = 0; n < s.n; ++n)
        for (std::int64_t co = 0; co < s.co; ++co)
            for (std::int64_t oy = 0; oy < ho; ++oy)
                for (std::int64_t ox = 0; ox < wo; ++ox) {
                    double sum = bias ? static_cast<double>(bias[co]) : 0.0;
                    for (std::int64_t ci = 0; ci < s.ci; ++ci)
                        for (std::int64_t ky = 0; ky < s.k; ++ky)
                            for (std::int64_t kx = 0; kx < s.k; ++kx) {
                                std::int64_t iy, ix;
                                if (!tap(s, oy, ox, ky, kx, iy, ix)) continue;
                                sum += static_cast<double>(
                                           x[((n * s.ci + ci) * s.h + iy) * s.w + ix]) *
                                       static_cast<double>(
                                           w[((co * s.ci + ci) * s.k + ky) * s.k + kx]);
                            }
                    y[((n * s.co + co) * ho + oy) * wo + ox] = static_cast<T>(sum);
                }
}

// dx[n,ci,iy,ix] = sum over the (co, oy, ox, ky, kx) whose tap is (iy, ix) of dy[n,co,oy,ox]
// w[co,ci,ky,kx]: the loops of the forward pass, accumulating into dx.
template <typename T>
void conv2d_backward_data(const T* dy, const T* w, T* dx, const ConvShape& s) {
    const std::int64_t ho = s.ho(), wo = s.wo();
    std::vector<double> acc(static_cast<std::size_t>(s.n * s.ci * s.h * s.w), 0.0);
    for (std::int64_t n = 0; n < s.n; ++n)
        for (std::int64_t co = 0; co < s.co; ++co)
            for (std::int64_t oy = 0; oy < ho; ++oy)
                for (std::int64_t ox = 0; ox < wo; ++ox) {
                    const double g = dy[((n * s.co + co) * ho + oy) * wo + ox];
                    for (std::int64_t ci = 0; ci < s.ci; ++ci)
                        for (std::int64_t ky = 0; ky < s.k; ++ky)
                            for (std::int64_t kx = 0; kx < s.k; ++kx) {
                                std::int64_t iy, ix;
                                if (!tap(s, oy, ox, ky, kx, iy, ix)) continue;
                                acc[static_cast<std::size_t>(((n * s.ci + ci) * s.h + iy) * s.w +
                                                             ix)] +=
                                    g * static_cast<double>(
                                            w[((co * s.ci + ci) * s.k + ky) * s.k + kx]);
                            }
                }
    for (std::size_t i = 0; i < acc.size(); ++i) dx[i] = static_cast<T>(acc[i]);
}

// dw[co,ci,ky,kx] = sum_{n,oy,ox} dy[n,co,oy,ox] x[n,ci,oy-pad+ky,ox-pad+kx]; dbias[co] = sum dy.
template <typename T>
void conv2d_backward_filter(const T* x, const T* dy, T* dw, T* dbias, const ConvShape& s) {
    const std::int64_t ho = s.ho(), wo = s.wo();
    for (std::int64_t co = 0; co < s.co; ++co)
        for (std::int64_t ci = 0; ci < s.ci; ++ci)
            for (std::int64_t ky = 0; ky < s.k; ++ky)
                for (std::int64_t kx = 0; kx < s.k; ++kx) {
                    double sum = 0.0;
                    for (std::int64_t n = 0; n < s.n; ++n)
                        for (std::int64_t oy = 0; oy < ho; ++oy)
                            for (std::int64_t ox = 0; ox < wo; ++ox) {
                                std::int64_t iy, ix;
                                if (!tap(s, oy, ox, ky, kx, iy, ix)) continue;
                                sum +=
                                    static_cast<double>(dy[((n * s.co + co) * ho + oy) * wo + ox]) *
                                    static_cast<double>(x[((n * s.ci + ci) * s.h + iy) * s.w + ix]);
                            }
                    dw[((co * s.ci + ci) * s.k + ky) * s.k + kx] = static_cast<T>(sum);
                }
    if (dbias) bias_backward(dy, s.n, s.co, ho * wo, dbias);
}

template void conv2d_forward<float>(const float*, const float*, const float*, float*,
                                    const ConvShape&);
template void conv2d_forward<double>(const double*, const double*, const double*, double*,
                                     const ConvShape&);
template void conv2d_backward_data<float>(const float*, const float*, float*, const ConvShape&);
template void conv2d_backward_data<double>(const double*, const double*, double*, const ConvShape&);
template void conv2d_backward_filter<float>(const float*, const float*, float*, float*,
                                            const ConvShape&);
template void conv2d_backward_filter<double>(const double*, const double*, double*, double*,
                                             const ConvShape&);

}  // namespace reference

namespace {

reference::ConvShape conv_shape(const Tensor& x, const Tensor& w, const Conv2dParams& p) {
    return {x.dim(0), x.dim(1), x.dim(2), x.dim(3), w.dim(0), w.dim(2), p.pad};
}

}  // namespace

void ReferenceBackend::conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias,
                                      Tensor& y, const Conv2dParams& p) {
    check_conv2d_args(x, w, y, bias, p, DeviceKind::cpu);
    Doubles out(y);
    reference::conv2d_forward(Doubles(conv_operand(0, x)).data(),
                              Doubles(conv_operand(1, w)).data(), Doubles(fused_bias(bias)).data(),
                              out.data(), conv_shape(x, w, p));
    out.store(y);
    finish_output(y, bias);
}

void ReferenceBackend::conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx,
                                            const Conv2dParams& p) {
    check_conv2d_args(dx, w, dy, Tensor(), p, DeviceKind::cpu);
    Doubles out(dx);
    reference::conv2d_backward_data(Doubles(conv_operand(0, dy)).data(),
                                    Doubles(conv_operand(1, w)).data(), out.data(),
                                    conv_shape(dx, w, p));
    out.store(dx);
    finish_output(dx, Tensor());
}

void ReferenceBackend::conv2d_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw,
                                              Tensor& dbias, const Conv2dParams& p) {
    check_conv2d_args(x, dw, dy, dbias, p, DeviceKind::cpu);
    Doubles out_w(dw), out_b(fused_bias(dbias));
    reference::conv2d_backward_filter(Doubles(conv_operand(0, x)).data(),
                                      Doubles(conv_operand(1, dy)).data(), out_w.data(),
                                      out_b.data(), conv_shape(x, dw, p));
    out_w.store(dw);
    out_b.store(fused_bias(dbias));
    finish_filter_gradient(dw, dy, dbias);
}

}  // namespace pfce
