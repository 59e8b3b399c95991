// Entry checks of the Backend ops, shared by both backends (see op_checks.hpp).
#include "core/op_checks.hpp"

#include <cmath>
#include <cstdint>
#include <initializer_list>

#include "core/error.hpp"

namespace pfce {

namespace {

// The layout rule of op_checks.hpp for an op's 4-D tensors (null entries skipped): all nchw, or
// with nhwc_ok any layouts when `mixed`, else one layout for all.
void check_layouts(std::initializer_list<const Tensor*> ts, bool nhwc_ok, bool mixed,
                   const char* op) {
    const Tensor* first = nullptr;
    for (const Tensor* t : ts) {
        if (!t || t->empty()) continue;
        PFCE_CHECK_SHAPE(nhwc_ok || t->layout() == Layout::nchw, op, ": ", t->describe(),
                         " must be nchw on this backend");
        if (!first) first = t;
        PFCE_CHECK_SHAPE(mixed || t->layout() == first->layout(), op, ": ", t->describe(), " and ",
                         first->describe(), " must share one layout");
    }
}

// An op's activation `t` on dev: f32, or bf16 where ok.bf16. "<op>: <what> <t> must be f32 on the
// host/GPU" (or "f32 or bf16") otherwise.
void check_activation(const Tensor& t, const char* op, const char* what, DeviceKind dev,
                      const ActivationForms& ok) {
    PFCE_CHECK_SHAPE(
        (t.dtype() == DType::f32 || (ok.bf16 && t.dtype() == DType::bf16)) && t.device() == dev, op,
        ": ", what, what[0] ? " " : "", t.describe(), " must be ", ok.bf16 ? "f32 or bf16" : "f32",
        " on the ", dev == DeviceKind::cpu ? "host" : "GPU");
}

// An op's activations (null or empty entries skipped) share one dtype.
void check_same_dtype(std::initializer_list<const Tensor*> ts, const char* op) {
    const Tensor* first = nullptr;
    for (const Tensor* t : ts) {
        if (!t || t->empty()) continue;
        if (!first) first = t;
        PFCE_CHECK_SHAPE(t->dtype() == first->dtype(), op, ": ", t->describe(), " and ",
                         first->describe(), " must share one dtype");
    }
}

// What the focal and the CRF loss ask of their logits: (N,C,H,W) f32 with 1 <= C <= kMaxClasses.
// Returns C.
std::int64_t check_loss_logits(const Tensor& logits) {
    PFCE_CHECK_SHAPE(logits.dtype() == DType::f32 && logits.shape().rank == 4,
                     "logits (N,C,H,W) f32, got ", logits.describe());
    const std::int64_t c = logits.dim(1);
    PFCE_CHECK_SHAPE(c >= 1 && c <= kMaxClasses, "1 <= C <= ", kMaxClasses, ", got ",
                     logits.describe());
    return c;
}

// ... and of their outputs: the loss (1) f32, and dlogits empty or like the logits on `dev`.
void check_loss_outputs(const Tensor& logits, const Tensor& loss, const Tensor& dlogits,
                        DeviceKind dev) {
    PFCE_CHECK_SHAPE(loss.dtype() == DType::f32 && loss.numel() == 1 && !loss.empty(),
                     "loss (1) f32, got ", loss.describe());
    PFCE_CHECK_SHAPE(
        dlogits.empty() || (dlogits.dtype() == DType::f32 && dlogits.shape() == logits.shape() &&
                            dlogits.device() == dev),
        "dlogits empty or like ", logits.describe(), ", got ", dlogits.describe());
}

}  // namespace

// ---- focal loss ------------------------------------------------------------------------------

void check_focal_loss_args(const Tensor& logits, const Tensor& labels, const FocalLossParams& p,
                           const Tensor& loss, const Tensor& dlogits, DeviceKind dev) {
    check_layouts({&logits, &dlogits}, false, false, "focal_loss");
    PFCE_CHECK_SHAPE(logits.device() == dev && labels.device() == dev && loss.device() == dev,
                     "focal_loss tensors on the backend's device: ", logits.describe(), " ",
                     labels.describe(), " ", loss.describe());
    const std::int64_t c = check_loss_logits(logits);
    PFCE_CHECK_SHAPE(labels.dtype() == DType::u8 &&
                         labels.shape() == Shape({logits.dim(0), logits.dim(2), logits.dim(3)}),
                     "labels (N,H,W) u8 matching ", logits.describe(), ", got ", labels.describe());
    check_loss_outputs(logits, loss, dlogits, dev);
    PFCE_CHECK_SHAPE(p.alpha.empty() || static_cast<std::int64_t>(p.alpha.size()) == c,
                     "alpha has ", p.alpha.size(), " entries for C = ", c);
    if (!(std::isfinite(p.gamma) && p.gamma >= 0.0f))
        PFCE_THROW(InputError, "focal loss gamma must be finite and >= 0, got ", p.gamma);
    for (float a : p.alpha)
        if (!(std::isfinite(a) && a >= 0.0f))
            PFCE_THROW(InputError, "focal loss alpha must be finite and >= 0, got ", a);
}

// ---- CRF loss --------------------------------------------------------------------------------

void check_crf_loss_args(const Tensor& logits, const Tensor& rgb, const CrfLossParams& p,
                         const Tensor& loss, const Tensor& dlogits, DeviceKind dev) {
    PFCE_CHECK_SHAPE(logits.device() == dev && rgb.device() == dev && loss.device() == dev,
                     "crf_loss tensors on the backend's device: ", logits.describe(), " ",
                     rgb.describe(), " ", loss.describe());
    check_loss_logits(logits);
    PFCE_CHECK_SHAPE(rgb.dtype() == DType::u8 &&
                         rgb.shape() == Shape({logits.dim(0), 3, logits.dim(2), logits.dim(3)}),
                     "rgb (N,3,H,W) u8 matching ", logits.describe(), ", got ", rgb.describe());
    check_loss_outputs(logits, loss, dlogits, dev);
    if (!(std::isfinite(p.weight) && p.weight >= 0.0f))
        PFCE_THROW(InputError, "CRF loss weight must be finite and >= 0, got ", p.weight);
    if (!(std::isfinite(p.sigma_xy) && p.sigma_xy > 0.0f))
        PFCE_THROW(InputError, "CRF loss sigma_xy must be finite and > 0, got ", p.sigma_xy);
    if (!(std::isfinite(p.sigma_rgb) && p.sigma_rgb > 0.0f))
        PFCE_THROW(InputError, "CRF loss sigma_rgb must be finite and > 0, got ", p.sigma_rgb);
    if (p.radius < 0 || p.radius > kMaxCrfRadius)
        PFCE_THROW(InputError, "CRF loss radius must be 0..", kMaxCrfRadius, ", got ", p.radius);
    if (p.downsample < 1 || p.downsample > kMaxCrfDownsample)
        PFCE_THROW(InputError, "CRF loss downsample must be 1..", kMaxCrfDownsample, ", got ",
                   p.downsample);
}

// ---- optimizer ops ---------------------------------------------------------------------------

namespace {

// "host" / "device", as the optimizer and link messages have always said.
const char* where(DeviceKind dev) {
    return dev == DeviceKind::cpu ? "host" : "device";
}

void check_scalar(const Tensor& t, const char* what, DeviceKind dev) {
    PFCE_CHECK_SHAPE(t.dtype() == DType::f32 && t.numel() == 1 && t.device() == dev, what,
                     " must be a ", where(dev), " f32 tensor of one element, got ", t.describe());
}

// A step's learning rate and bias corrections (core/op_params.hpp OptimScalar).
void check_step_scalars(const Tensor& s, DeviceKind dev) {
    PFCE_CHECK_SHAPE(
        s.dtype() == DType::f32 && s.shape() == Shape{kOptimScalarCount} && s.device() == dev,
        "step_scalars must be a ", where(dev), " f32 tensor of ", kOptimScalarCount,
        " elements (core/op_params.hpp OptimScalar), got ", s.describe());
}

void check_same(const Tensor& a, const Tensor& b, const char* what, DeviceKind dev) {
    PFCE_CHECK_SHAPE(a.shape() == b.shape() && a.dtype() == DType::f32 && b.dtype() == DType::f32 &&
                         a.device() == dev && b.device() == dev,
                     what, ": ", a.describe(), " vs ", b.describe());
}

}  // namespace

void check_grad_norm_args(std::span<const Tensor* const> grads, const Tensor& norm,
                          DeviceKind dev) {
    check_scalar(norm, "norm", dev);
    for (const Tensor* g : grads)
        PFCE_CHECK_SHAPE(g && g->dtype() == DType::f32 && g->device() == dev, "gradient must be a ",
                         where(dev), " f32 tensor, got ", g ? g->describe() : "null");
}

void check_clip_scale_args(const Tensor& norm, const Tensor& grad_scale, DeviceKind dev) {
    check_scalar(norm, "norm", dev);
    check_scalar(grad_scale, "grad_scale", dev);
}

void check_sgd_step_args(const Tensor& param, const Tensor& grad, const Tensor& momentum_buf,
                         const Tensor& grad_scale, const Tensor& step_scalars, const SgdParams& p,
                         DeviceKind dev) {
    check_same(param, grad, "sgd_step param/grad", dev);
    check_scalar(grad_scale, "grad_scale", dev);
    check_step_scalars(step_scalars, dev);
    // The momentum buffer is only touched (and so only checked) when momentum is on.
    if (p.momentum != 0.0f) check_same(param, momentum_buf, "sgd_step param/momentum", dev);
}

void check_adam_step_args(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v,
                          const Tensor& grad_scale, const Tensor& step_scalars, DeviceKind dev) {
    check_same(param, grad, "adam_step param/grad", dev);
    check_same(param, m, "adam_step param/m", dev);
    check_same(param, v, "adam_step param/v", dev);
    check_scalar(grad_scale, "grad_scale", dev);
    check_step_scalars(step_scalars, dev);
}

// ---- batch norm ------------------------------------------------------------------------------

namespace {

void check_f32_on(const Tensor& t, const char* what, DeviceKind dev) {
    PFCE_CHECK_SHAPE(t.dtype() == DType::f32 && t.device() == dev, what, " ", t.describe(),
                     " must be f32 on the ", dev == DeviceKind::cpu ? "host" : "GPU");
}

// x (N,C,H,W), y like x (activations: f32, or both bf16 where ok.bf16), gamma and beta (C) f32,
// all on dev; returns C.
std::int64_t check_bn_geometry(const Tensor& x, const Tensor& y, const Tensor& gamma,
                               const Tensor& beta, const char* y_name, DeviceKind dev,
                               const ActivationForms& ok) {
    PFCE_CHECK_SHAPE(x.shape().rank == 4, "x ", x.describe());
    PFCE_CHECK_SHAPE(y.shape() == x.shape(), y_name, " ", y.describe(), " x ", x.describe());
    const Shape cs{x.dim(1)};
    PFCE_CHECK_SHAPE(gamma.shape() == cs && beta.shape() == cs, "gamma ", gamma.describe(),
                     " beta ", beta.describe(), " for x ", x.describe());
    check_activation(x, "batch norm", "x", dev, ok);
    check_activation(y, "batch norm", y_name, dev, ok);
    check_same_dtype({&x, &y}, "batch norm");
    check_f32_on(gamma, "gamma", dev);
    check_f32_on(beta, "beta", dev);
    return x.dim(1);
}

}  // namespace

void check_batchnorm_forward_train_args(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                        const Tensor& running_mean, const Tensor& running_var,
                                        const Tensor& y, const Tensor& save_mean,
                                        const Tensor& save_invstd, DeviceKind dev,
                                        ActivationForms ok) {
    check_layouts({&x, &y}, ok.nhwc, false, "batchnorm_forward_train");
    const std::int64_t c = check_bn_geometry(x, y, gamma, beta, "y", dev, ok);
    const Shape cs{c};
    PFCE_CHECK_SHAPE(running_mean.shape() == cs && running_var.shape() == cs &&
                         save_mean.shape() == cs && save_invstd.shape() == cs,
                     "running/saved statistics must be (", c, ")");
    check_f32_on(running_mean, "running_mean", dev);
    check_f32_on(running_var, "running_var", dev);
    check_f32_on(save_mean, "save_mean", dev);
    check_f32_on(save_invstd, "save_invstd", dev);
    PFCE_CHECK_SHAPE(x.dim(0) * x.dim(2) * x.dim(3) > 0, "empty batch ", x.describe());
}

void check_batchnorm_forward_infer_args(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                        const Tensor& running_mean, const Tensor& running_var,
                                        const Tensor& y, DeviceKind dev, ActivationForms ok) {
    check_layouts({&x, &y}, ok.nhwc, false, "batchnorm_forward_infer");
    const std::int64_t c = check_bn_geometry(x, y, gamma, beta, "y", dev, ok);
    const Shape cs{c};
    PFCE_CHECK_SHAPE(running_mean.shape() == cs && running_var.shape() == cs,
                     "running statistics must be (", c, ")");
    check_f32_on(running_mean, "running_mean", dev);
    check_f32_on(running_var, "running_var", dev);
}

void check_batchnorm_backward_args(const Tensor& x, const Tensor* relu_y, const Tensor& dy,
                                   const Tensor& gamma, const Tensor& save_mean,
                                   const Tensor& save_invstd, const Tensor& dx,
                                   const Tensor& dgamma, const Tensor& dbeta, DeviceKind dev,
                                   ActivationForms ok) {
    check_layouts({&x, &dy, &dx}, ok.nhwc, false, "batchnorm_backward");
    PFCE_CHECK_SHAPE(dy.shape() == x.shape(), "dy ", dy.describe(), " x ", x.describe());
    check_activation(dy, "batch norm", "dy", dev, ok);
    check_same_dtype({&x, &dy}, "batch norm");
    const std::int64_t c = check_bn_geometry(x, dx, gamma, gamma, "dx", dev, ok);
    const Shape cs{c};
    PFCE_CHECK_SHAPE(save_mean.shape() == cs && save_invstd.shape() == cs && dgamma.shape() == cs &&
                         dbeta.shape() == cs,
                     "saved statistics and dgamma/dbeta must be (", c, ")");
    check_f32_on(save_mean, "save_mean", dev);
    check_f32_on(save_invstd, "save_invstd", dev);
    check_f32_on(dgamma, "dgamma", dev);
    check_f32_on(dbeta, "dbeta", dev);
    if (relu_y) {
        PFCE_CHECK_SHAPE(relu_y->shape() == x.shape(), "relu_y ", relu_y->describe(), " x ",
                         x.describe());
        check_activation(*relu_y, "batch norm", "relu_y", dev, ok);
        check_same_dtype({&x, relu_y}, "batch norm");
        check_layouts({&x, relu_y}, ok.nhwc, false, "batchnorm_backward");
    }
}

// ---- convolution -----------------------------------------------------------------------------

void check_conv2d_args(const Tensor& x, const Tensor& w, const Tensor& y, const Tensor& bias,
                       const Conv2dParams& p, DeviceKind dev, ActivationForms ok) {
    check_layouts({&x, &y}, ok.nhwc, true, "conv2d");
    PFCE_CHECK_SHAPE(x.shape().rank == 4 && w.shape().rank == 4 && y.shape().rank == 4,
                     "conv2d wants 4-D x, w, y: ", x.describe(), ", ", w.describe(), ", ",
                     y.describe());
    PFCE_CHECK_SHAPE(w.dtype() == DType::f32, "conv2d wants f32 weights: ", w.describe());
    PFCE_CHECK_SHAPE(x.device() == dev && w.device() == dev && y.device() == dev,
                     "conv2d wants tensors on the backend's device: ", x.describe(), ", ",
                     w.describe(), ", ", y.describe());
    check_activation(x, "conv2d", "x", dev, ok);
    check_activation(y, "conv2d", "y", dev, ok);
    const std::int64_t k = w.dim(2);
    PFCE_CHECK_SHAPE(w.dim(3) == k && k >= 1 && w.dim(1) == x.dim(1), "w ", w.describe(), " for x ",
                     x.describe());
    PFCE_CHECK_SHAPE(p.pad >= 0 && p.pad < k, "pad ", p.pad, " for a ", k, "x", k,
                     " kernel (need 0 <= pad < k)");
    const std::int64_t ho = x.dim(2) + 2 * p.pad - k + 1;
    const std::int64_t wo = x.dim(3) + 2 * p.pad - k + 1;
    PFCE_CHECK_SHAPE(ho >= 1 && wo >= 1, "input ", x.describe(), " too small for ", w.describe());
    PFCE_CHECK_SHAPE(y.shape() == Shape({x.dim(0), w.dim(0), ho, wo}), "y ", y.describe(),
                     " for x ", x.describe(), ", w ", w.describe(), ", pad ", p.pad);
    if (bias.empty()) return;
    PFCE_CHECK_SHAPE(
        bias.shape() == Shape({w.dim(0)}) && bias.dtype() == DType::f32 && bias.device() == dev,
        "bias ", bias.describe(), " for w ", w.describe());
}

// ---- 2x2 stride-2 transposed convolution
// ---------------------------------------------------------

void check_upconv2x2_args(const Tensor& small, const Tensor& w, const Tensor& big,
                          const Tensor& bias, DeviceKind dev, ActivationForms ok) {
    check_layouts({&small, &big}, ok.nhwc, true, "upconv2x2");
    PFCE_CHECK_SHAPE(small.shape().rank == 4 && w.shape().rank == 4 && big.shape().rank == 4,
                     "upconv2x2 wants 4-D tensors: ", small.describe(), ", ", w.describe(), ", ",
                     big.describe());
    PFCE_CHECK_SHAPE(w.dtype() == DType::f32, "upconv2x2 wants f32 weights: ", w.describe());
    PFCE_CHECK_SHAPE(small.device() == dev && w.device() == dev && big.device() == dev,
                     "upconv2x2 wants tensors on the backend's device: ", small.describe(), ", ",
                     w.describe(), ", ", big.describe());
    check_activation(small, "upconv2x2", "x", dev, ok);
    check_activation(big, "upconv2x2", "y", dev, ok);
    PFCE_CHECK_SHAPE(w.dim(0) == small.dim(1) && w.dim(2) == 2 && w.dim(3) == 2, "w ", w.describe(),
                     " for x ", small.describe(), " (want (Ci,Co,2,2))");
    PFCE_CHECK_SHAPE(
        big.shape() == Shape({small.dim(0), w.dim(1), 2 * small.dim(2), 2 * small.dim(3)}), "y ",
        big.describe(), " for x ", small.describe(), ", w ", w.describe());
    if (bias.empty()) return;
    PFCE_CHECK_SHAPE(
        bias.shape() == Shape({w.dim(1)}) && bias.dtype() == DType::f32 && bias.device() == dev,
        "bias ", bias.describe(), " for w ", w.describe());
}

// ---- layers ----------------------------------------------------------------------------------

namespace {

// A layer's activation (check_activation in the layers' wording: "<op>: <tensor> must be ...").
void check_layer_value(const Tensor& t, const char* op, DeviceKind dev,
                       const ActivationForms& ok = {}) {
    check_activation(t, op, "", dev, ok);
}

// a and b alike: shape and dtype.
void check_alike(const Tensor& a, const Tensor& b, const char* op, DeviceKind dev,
                 const ActivationForms& ok) {
    PFCE_CHECK_SHAPE(a.shape() == b.shape(), op, ": ", a.describe(), " vs ", b.describe());
    check_layer_value(a, op, dev, ok);
    check_layer_value(b, op, dev, ok);
    check_same_dtype({&a, &b}, op);
}

void check_pooled(const Tensor& x, const Tensor& y) {
    PFCE_CHECK_SHAPE(
        x.shape().rank == 4 && y.shape() == Shape({x.dim(0), x.dim(1), x.dim(2) / 2, x.dim(3) / 2}),
        "x ", x.describe(), " y ", y.describe());
}

}  // namespace

void check_relu_forward_args(const Tensor& x, const Tensor& y, DeviceKind dev, ActivationForms ok) {
    check_layouts({&x, &y}, ok.nhwc, false, "relu_forward");
    check_alike(x, y, "relu_forward", dev, ok);
}

void check_relu_backward_args(const Tensor& y, const Tensor& dy, const Tensor& dx, DeviceKind dev,
                              ActivationForms ok) {
    check_layouts({&y, &dy, &dx}, ok.nhwc, false, "relu_backward");
    check_alike(y, dy, "relu_backward", dev, ok);
    check_alike(y, dx, "relu_backward", dev, ok);
}

void check_maxpool2x2_forward_args(const Tensor& x, const Tensor& y, DeviceKind dev,
                                   ActivationForms ok) {
    check_layouts({&x, &y}, ok.nhwc, false, "maxpool2x2_forward");
    check_pooled(x, y);
    check_layer_value(x, "maxpool2x2_forward", dev, ok);
    check_layer_value(y, "maxpool2x2_forward", dev, ok);
    check_same_dtype({&x, &y}, "maxpool2x2_forward");
}

void check_maxpool2x2_backward_args(const Tensor& x, const Tensor& y, const Tensor& dy,
                                    const Tensor& dx, DeviceKind dev, ActivationForms ok) {
    check_layouts({&x, &y, &dy, &dx}, ok.nhwc, false, "maxpool2x2_backward");
    check_alike(x, dx, "maxpool2x2_backward", dev, ok);
    check_alike(y, dy, "maxpool2x2_backward", dev, ok);
    check_same_dtype({&x, &y}, "maxpool2x2_backward");
    check_pooled(x, y);
}

void check_concat_channels_args(const Tensor& a, const Tensor& b, const Tensor& y, DeviceKind dev,
                                ActivationForms ok) {
    check_layouts({&a, &b, &y}, ok.nhwc, false, "concat_channels");
    PFCE_CHECK_SHAPE(a.shape().rank == 4 && b.shape().rank == 4 && a.dim(0) == b.dim(0) &&
                         a.dim(2) == b.dim(2) && a.dim(3) == b.dim(3) &&
                         y.shape() == Shape({a.dim(0), a.dim(1) + b.dim(1), a.dim(2), a.dim(3)}),
                     "a ", a.describe(), " b ", b.describe(), " y ", y.describe());
    check_layer_value(a, "concat_channels", dev, ok);
    check_layer_value(b, "concat_channels", dev, ok);
    check_layer_value(y, "concat_channels", dev, ok);
    check_same_dtype({&a, &b, &y}, "concat_channels");
}

void check_concat_channels_backward_args(const Tensor& dy, const Tensor& da, const Tensor& db,
                                         DeviceKind dev, ActivationForms ok) {
    check_layouts({&dy, &da, &db}, ok.nhwc, false, "concat_channels_backward");
    PFCE_CHECK_SHAPE(
        dy.shape().rank == 4 && da.shape().rank == 4 && db.shape().rank == 4 &&
            dy.shape() == Shape({da.dim(0), da.dim(1) + db.dim(1), da.dim(2), da.dim(3)}) &&
            db.dim(0) == da.dim(0) && db.dim(2) == da.dim(2) && db.dim(3) == da.dim(3),
        "dy ", dy.describe(), " da ", da.describe(), " db ", db.describe());
    check_layer_value(dy, "concat_channels_backward", dev, ok);
    check_layer_value(da, "concat_channels_backward", dev, ok);
    check_layer_value(db, "concat_channels_backward", dev, ok);
    check_same_dtype({&dy, &da, &db}, "concat_channels_backward");
}

void check_reflect_pad_args(const Tensor& x, const Tensor& y, int top, int left, DeviceKind dev) {
    check_layouts({&x, &y}, false, false, "reflect_pad");
    PFCE_CHECK_SHAPE(
        x.shape().rank == 4 && y.shape().rank == 4 && x.dim(0) == y.dim(0) && x.dim(1) == y.dim(1),
        "x ", x.describe(), " y ", y.describe());
    const std::int64_t h = x.dim(2), w = x.dim(3), h2 = y.dim(2), w2 = y.dim(3);
    // One reflection per side (numpy 'reflect' for pads smaller than the size).
    PFCE_CHECK_SHAPE(top >= 0 && left >= 0 && top < h && left < w && h2 >= h + top &&
                         w2 >= w + left && h2 - h - top < h && w2 - w - left < w,
                     "reflect pad of ", x.describe(), " into ", y.describe(), " at (", top, ",",
                     left, "): every pad must be smaller than the side it mirrors");
    check_layer_value(x, "reflect_pad", dev);
    check_layer_value(y, "reflect_pad", dev);
}

void check_crop_args(const Tensor& x, const Tensor& y, int top, int left, DeviceKind dev) {
    check_layouts({&x, &y}, false, false, "crop");
    PFCE_CHECK_SHAPE(x.shape().rank == 4 && y.shape().rank == 4 && x.dim(0) == y.dim(0) &&
                         x.dim(1) == y.dim(1) && top >= 0 && left >= 0 &&
                         top + y.dim(2) <= x.dim(2) && left + y.dim(3) <= x.dim(3),
                     "crop ", x.describe(), " to ", y.describe(), " at (", top, ",", left, ")");
    check_layer_value(x, "crop", dev);
    check_layer_value(y, "crop", dev);
}

void check_crop_backward_args(const Tensor& dy, const Tensor& dx, int top, int left,
                              DeviceKind dev) {
    check_layouts({&dy, &dx}, false, false, "crop_backward");
    PFCE_CHECK_SHAPE(dx.shape().rank == 4 && dy.shape().rank == 4 && dx.dim(0) == dy.dim(0) &&
                         dx.dim(1) == dy.dim(1) && top >= 0 && left >= 0 &&
                         top + dy.dim(2) <= dx.dim(2) && left + dy.dim(3) <= dx.dim(3),
                     "crop_backward ", dy.describe(), " into ", dx.describe(), " at (", top, ",",
                     left, ")");
    check_layer_value(dy, "crop_backward", dev);
    check_layer_value(dx, "crop_backward", dev);
}

void check_argmax_channels_args(const Tensor& logits, const Tensor& pred, DeviceKind dev) {
    check_layouts({&logits}, false, false, "argmax_channels");
    PFCE_CHECK_SHAPE(logits.shape().rank == 4 && pred.dtype() == DType::u8 &&
                         pred.shape() == Shape({logits.dim(0), logits.dim(2), logits.dim(3)}) &&
                         logits.dim(1) <= 256,
                     "logits ", logits.describe(), " pred ", pred.describe());
    check_layer_value(logits, "argmax_channels", dev);
    PFCE_CHECK_SHAPE(pred.device() == dev, "pred ", pred.describe(), " must be on the ",
                     dev == DeviceKind::cpu ? "host" : "GPU");
    PFCE_CHECK_SHAPE(logits.dim(1) >= 1 || pred.numel() == 0, "logits ", logits.describe(),
                     " has no channels");
}

// ---- metrics ---------------------------------------------------------------------------------

void check_confusion_accumulate_args(const Tensor& pred, const Tensor& truth,
                                     const Tensor& confusion, DeviceKind dev) {
    PFCE_CHECK_SHAPE(pred.shape() == truth.shape() && pred.dtype() == DType::u8 &&
                         truth.dtype() == DType::u8 && pred.device() == dev &&
                         truth.device() == dev,
                     "pred ", pred.describe(), " vs truth ", truth.describe());
    PFCE_CHECK_SHAPE(confusion.dtype() == DType::i32 && confusion.shape().rank == 2 &&
                         confusion.dim(0) == confusion.dim(1) && confusion.dim(0) <= kMaxClasses &&
                         confusion.device() == dev,
                     "confusion must be (C,C) i32 on the backend's device with C <= ", kMaxClasses,
                     ", got ", confusion.describe());
}

// ---- link ------------------------------------------------------------------------------------

void check_link_args(const Tensor& sparse, const Tensor& rgb, const LinkParams& p,
                     const Tensor& linked, DeviceKind dev) {
    check_layouts({&rgb}, false, false, "link");
    PFCE_CHECK_SHAPE(
        sparse.device() == dev && sparse.dtype() == DType::u8 && sparse.shape().rank == 3,
        "link: sparse must be ", where(dev), " u8 (N,H,W), got ", sparse.describe());
    PFCE_CHECK_SHAPE(
        linked.device() == dev && linked.dtype() == DType::u8 && linked.shape() == sparse.shape(),
        "link: linked must be ", where(dev), " u8 ", sparse.shape().str(), ", got ",
        linked.describe());
    if (p.radius < 0 || p.radius > kMaxLinkRadius)
        PFCE_THROW(InputError, "link: radius ", p.radius, " is out of range; expected 0..",
                   kMaxLinkRadius,
                   " pixels (the linking driver clamps larger radii to the image "
                   "diagonal, which links the same pairs)");
    const std::int64_t n_img = sparse.dim(0);
    const int h = static_cast<int>(sparse.dim(1)), w = static_cast<int>(sparse.dim(2));
    if (p.max_color_step >= 0.0f)  // edge-aware
        PFCE_CHECK_SHAPE(!rgb.empty() && rgb.device() == dev && rgb.dtype() == DType::u8 &&
                             rgb.shape() == Shape({n_img, 3, h, w}),
                         "link: edge-aware linking needs ", where(dev), " u8 rgb (N,3,H,W) = (",
                         n_img, ",3,", h, ",", w, "), got ", rgb.describe());
}

}  // namespace pfce
