// Entry checks of the Backend ops (shapes, dtypes, device, parameter ranges), shared by the CPU and
// CUDA backends so both reject the same inputs with the same ShapeError/InputError. Each op entry
// calls its check first, then the implementation (STYLE.md); dev is the backend's DeviceKind.
// Backend-specific limits (e.g. CUDA grid sizes) stay in the backend.
// Activations: every 4-D tensor must be nchw f32, except where a backend passes ActivationForms
// for an op it also runs on other forms. nhwc (the CPU backend's activations, CUDA's with its
// "activations" variant): convolutions then take any mix of layouts (they reorder), the other ops
// one layout for all their 4-D tensors. bf16 (CUDA's activation storage at precision bf16,
// Backend::activation_dtype): a convolution's x and y are each f32 or bf16 (the network's input
// and logits stay f32), every other op's activations share one dtype; weights, biases and
// statistics stay f32.
#pragma once

#include <span>

#include "core/op_params.hpp"
#include "core/tensor.hpp"

namespace pfce {

// What an op of a backend accepts beyond nchw f32 activations (see above). From a bool: nhwc.
struct ActivationForms {
    bool nhwc = false;
    bool bf16 = false;
    ActivationForms(bool nhwc_ok = false, bool bf16_ok = false)  // NOLINT: implicit from bool
        : nhwc(nhwc_ok), bf16(bf16_ok) {}
};

// ---- focal loss ------------------------------------------------------------------------------
void check_focal_loss_args(const Tensor& logits, const Tensor& labels, const FocalLossParams& p,
                           const Tensor& loss, const Tensor& dlogits, DeviceKind dev);

// ---- CRF loss --------------------------------------------------------------------------------
// logits (N,C,H,W) f32 with 1 <= C <= kMaxClasses, rgb (N,3,H,W) u8, loss (1) f32, dlogits empty
// or like logits, all on dev (ShapeError); parameter ranges of core/backend.hpp (InputError).
void check_crf_loss_args(const Tensor& logits, const Tensor& rgb, const CrfLossParams& p,
                         const Tensor& loss, const Tensor& dlogits, DeviceKind dev);

// ---- optimizer ops ---------------------------------------------------------------------------
void check_grad_norm_args(std::span<const Tensor* const> grads, const Tensor& norm, DeviceKind dev);
void check_clip_scale_args(const Tensor& norm, const Tensor& grad_scale, DeviceKind dev);
// The steps also check step_scalars: (kOptimScalarCount) f32 on dev (core/op_params.hpp).
void check_sgd_step_args(const Tensor& param, const Tensor& grad, const Tensor& momentum_buf,
                         const Tensor& grad_scale, const Tensor& step_scalars, const SgdParams& p,
                         DeviceKind dev);
void check_adam_step_args(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v,
                          const Tensor& grad_scale, const Tensor& step_scalars, DeviceKind dev);

// ---- batch norm ------------------------------------------------------------------------------
void check_batchnorm_forward_train_args(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                        const Tensor& running_mean, const Tensor& running_var,
                                        const Tensor& y, const Tensor& save_mean,
                                        const Tensor& save_invstd, DeviceKind dev,
                                        ActivationForms ok = {});
void check_batchnorm_forward_infer_args(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                        const Tensor& running_mean, const Tensor& running_var,
                                        const Tensor& y, DeviceKind dev, ActivationForms ok = {});
// relu_y (may be null): the ReLU forward's output, checked like x.
void check_batchnorm_backward_args(const Tensor& x, const Tensor* relu_y, const Tensor& dy,
                                   const Tensor& gamma, const Tensor& save_mean,
                                   const Tensor& save_invstd, const Tensor& dx,
                                   const Tensor& dgamma, const Tensor& dbeta, DeviceKind dev,
                                   ActivationForms ok = {});

// ---- convolution -----------------------------------------------------------------------------
// x (N,Ci,H,W), w (Co,Ci,k,k), y (N,Co,Ho,Wo) with Ho = H + 2 pad - k + 1 >= 1 (likewise Wo), bias
// empty or (Co), all on dev and f32 (x and y may be bf16 where ok.bf16). The backward ops pass
// their tensors in these forward roles (backward_data: dx as x, dy as y; backward_filter: dw as w,
// dy as y, dbias as bias).
void check_conv2d_args(const Tensor& x, const Tensor& w, const Tensor& y, const Tensor& bias,
                       const Conv2dParams& p, DeviceKind dev, ActivationForms ok = {});

// ---- 2x2 stride-2 transposed convolution ---------------------------------------------------
// small (N,Ci,H,W), w (Ci,Co,2,2), big (N,Co,2H,2W), bias empty or (Co), all on dev and f32 (small
// and big may be bf16 where ok.bf16). Forward: x as small, y as big; backward_data:
// dx, dy; backward_filter: x, dw as w, dy, dbias as bias.
void check_upconv2x2_args(const Tensor& small, const Tensor& w, const Tensor& big,
                          const Tensor& bias, DeviceKind dev, ActivationForms ok = {});

// ---- layers ----------------------------------------------------------------------------------
// Shapes as in core/backend.hpp; all float tensors f32 on dev (ReLU, max-pool and concat: or all
// bf16 where ok.bf16), argmax's pred u8 on dev.
void check_relu_forward_args(const Tensor& x, const Tensor& y, DeviceKind dev,
                             ActivationForms ok = {});
void check_relu_backward_args(const Tensor& y, const Tensor& dy, const Tensor& dx, DeviceKind dev,
                              ActivationForms ok = {});
void check_maxpool2x2_forward_args(const Tensor& x, const Tensor& y, DeviceKind dev,
                                   ActivationForms ok = {});
void check_maxpool2x2_backward_args(const Tensor& x, const Tensor& y, const Tensor& dy,
                                    const Tensor& dx, DeviceKind dev, ActivationForms ok = {});
void check_concat_channels_args(const Tensor& a, const Tensor& b, const Tensor& y, DeviceKind dev,
                                ActivationForms ok = {});
void check_concat_channels_backward_args(const Tensor& dy, const Tensor& da, const Tensor& db,
                                         DeviceKind dev, ActivationForms ok = {});
void check_reflect_pad_args(const Tensor& x, const Tensor& y, int top, int left, DeviceKind dev);
void check_crop_args(const Tensor& x, const Tensor& y, int top, int left, DeviceKind dev);
void check_crop_backward_args(const Tensor& dy, const Tensor& dx, int top, int left,
                              DeviceKind dev);
void check_argmax_channels_args(const Tensor& logits, const Tensor& pred, DeviceKind dev);

// ---- metrics ---------------------------------------------------------------------------------
// pred and truth alike u8, confusion (C,C) i32 with C <= kMaxClasses, all on dev. (Label values
// are checked by the op itself: the CPU throws on one, the CUDA kernel skips it.)
void check_confusion_accumulate_args(const Tensor& pred, const Tensor& truth,
                                     const Tensor& confusion, DeviceKind dev);

// ---- link ------------------------------------------------------------------------------------
// sparse (N,H,W) u8, linked like sparse, radius >= 0 (InputError); edge-aware linking
// (max_color_step >= 0) also needs rgb (N,3,H,W) u8; all on dev.
void check_link_args(const Tensor& sparse, const Tensor& rgb, const LinkParams& p,
                     const Tensor& linked, DeviceKind dev);

}  // namespace pfce
