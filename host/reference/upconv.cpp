// Reference 2x2 stride-2 transposed convolution (PyTorch ConvTranspose2d, w (Ci,Co,2,2)): every
// input pixel (i, j) spreads to its own 2x2 output block, y[n,co,2i+a,2j+b] = bias[co] + sum_ci
// x[n,ci,i,j] w[ci,co,a,b]. The adjoints are the same loops read the other way. Sums in double.
#include <vector>

#include "core/op_checks.hpp"
#include "host/reference/doubles.hpp"
#include "host/reference/reference_backend.hpp"
#include "host/reference/reference_ops.hpp"

namespace pfce {

using reference::Doubles;
namespace reference {

template <typename T>
void upconv2x2_forward(const T* x, const T* w, const T* bias, T* y, const UpconvShape& s) {
    const std::int64_t h2 = 2 * s.h, w2 = 2 * s.w;
    for (std::int64_t n = 0; n < s.n; ++n)
        for (std::int64_t co = 0; co < s.co; ++co)
            for (std::int64_t oy = 0; oy < h2; ++oy)
                for (std::int64_t ox = 0; ox < w2; ++ox) {
                    const std::int64_t i = oy / 2, j = ox / 2, a = oy % 2, b = ox % 2;
                    double sum = bias ? static_cast<double>(bias[co]) : 0.0;
                    for (std::int64_t ci = 0; ci < s.ci; ++ci)
                        sum += static_cast<double>(x[((n * s.ci + ci) * s.h + i) * s.w + j]) *
                               static_cast<double>(w[((ci * s.co + co) * 2 + a) * 2 + b]);
                    y[((n * s.co + co) * h2 + oy) * w2 + ox] = static_cast<T>(sum);
                }
}

// dx[n,ci,i,j] = sum_{co,a,b} dy[n,co,2i+a,2j+b] w[ci,co,a,b]
template <typename T>
void upconv2x2_backward_data(const T* dy, const T* w, T* dx, const UpconvShape& s) {
    const std::int64_t h2 = 2 * s.h, w2 = 2 * s.w;
    for (std::int64_t n = 0; n < s.n; ++n)
        for (std::int64_t ci = 0; ci < s.ci; ++ci)
            for (std::int64_t i = 0; i < s.h; ++i)
                for (std::int64_t j = 0; j < s.w; ++j) {
                    double sum = 0.0;
                    for (std::int64_t co = 0; co < s.co; ++co)
                        for (std::int64_t a = 0; a < 2; ++a)
                            for (std::int64_t b = 0; b < 2; ++b)
                                sum +=
                                    static_cast<double>(
                                        dy[((n * s.co + co) * h2 + 2 * i + a) * w2 + 2 * j + b]) *
                                    static_cast<double>(w[((ci * s.co + co) * 2 + a) * 2 + b]);
                    dx[((n * s.ci + ci) * s.h + i) * s.w + j] = static_cast<T>(sum);
                }
}

// dw[ci,co,a,b] = sum_{n,i,j} x[n,ci,i,j] dy[n,co,2i+a,2j+b]; dbias[co] = sum of dy[:,co].
template <typename T>
void upconv2x2_backward_filter(const T* x, const T* dy, T* dw, T* dbias, const UpconvShape& s) {
    const std::int64_t h2 = 2 * s.h, w2 = 2 * s.w;
    for (std::int64_t ci = 0; ci < s.ci; ++ci)
        for (std::int64_t co = 0; co < s.co; ++co)
            for (std::int64_t a = 0; a < 2; ++a)
                for (std::int64_t b = 0; b < 2; ++b) {
                    double sum = 0.0;
                    for (std::int64_t n = 0; n < s.n; ++n)
                        for (std::int64_t i = 0; i < s.h; ++i)
                            for (std::int64_t j = 0; j < s.w; ++j)
                                sum +=
                                    static_cast<double>(x[((n * s.ci + ci) * s.h + i) * s.w + j]) *
                                    static_cast<double>(
                                        dy[((n * s.co + co) * h2 + 2 * i + a) * w2 + 2 * j + b]);
                    dw[((ci * s.co + co) * 2 + a) * 2 + b] = static_cast<T>(sum);
                }
    if (dbias) bias_backward(dy, s.n, s.co, h2 * w2, dbias);
}

template void upconv2x2_forward<float>(const float*, const float*, const float*, float*,
                                       const UpconvShape&);
template void upconv2x2_forward<double>(const double*, const double*, const double*, double*,
                                        const UpconvShape&);
template void upconv2x2_backward_data<float>(const float*, const float*, float*,
                                             const UpconvShape&);
template void upconv2x2_backward_data<double>(const double*, const double*, double*,
                                              const UpconvShape&);
template void upconv2x2_backward_filter<float>(const float*, const float*, float*, float*,
                                               const UpconvShape&);
template void upconv2x2_backward_filter<double>(const double*, const double*, double*, double*,
                                                const UpconvShape&);

}  // namespace reference

namespace {

// small x (N,Ci,H,W), w (Ci,Co,2,2).
reference::UpconvShape upconv_shape(const Tensor& small, const Tensor& w) {
    return {small.dim(0), small.dim(1), small.dim(2), small.dim(3), w.dim(1)};
}

}  // namespace

void ReferenceBackend::upconv2x2_forward(const Tensor& x, const Tensor& w, const Tensor& bias,
                                         Tensor& y) {
    check_upconv2x2_args(x, w, y, bias, DeviceKind::cpu);
    Doubles out(y);
    reference::upconv2x2_forward(Doubles(conv_operand(0, x)).data(),
                                 Doubles(conv_operand(1, w)).data(),
                                 Doubles(fused_bias(bias)).data(), out.data(), upconv_shape(x, w));
    out.store(y);
    finish_output(y, bias);
}

void ReferenceBackend::upconv2x2_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx) {
    check_upconv2x2_args(dx, w, dy, Tensor(), DeviceKind::cpu);
    Doubles out(dx);
    reference::upconv2x2_backward_data(Doubles(conv_operand(0, dy)).data(),
                                       Doubles(conv_operand(1, w)).data(), out.data(),
                                       upconv_shape(dx, w));
    out.store(dx);
    finish_output(dx, Tensor());
}

void ReferenceBackend::upconv2x2_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw,
                                                 Tensor& dbias) {
    check_upconv2x2_args(x, dw, dy, dbias, DeviceKind::cpu);
    Doubles out_w(dw), out_b(fused_bias(dbias));
    reference::upconv2x2_backward_filter(Doubles(conv_operand(0, x)).data(),
                                         Doubles(conv_operand(1, dy)).data(), out_w.data(),
                                         out_b.data(), upconv_shape(x, dw));
    out_w.store(dw);
    out_b.store(fused_bias(dbias));
    finish_filter_gradient(dw, dy, dbias);
}

}  // namespace pfce
