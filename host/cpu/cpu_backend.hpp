// The CPU backend: the reference implementation of every op in core/backend.hpp. Plain loops with
// shape comments, BLAS for the GEMM inside convolution, OpenMP across images/channels. Each op
// family lives in its own file here (focal_loss.cpp, conv.cpp, ...), mirrored by cuda/.
#pragma once

#include <vector>

#include "core/backend.hpp"

namespace pfce {

class CpuBackend final : public Backend {
  public:
    CpuBackend();
    DeviceKind device() const override;
    std::string name() const override;
    Tensor zeros(Shape shape, DType dtype) override;
    Tensor host_staging(Shape shape, DType dtype) override;
    void copy(Tensor& dst, const Tensor& src) override;
    void fill(Tensor& t, float value) override;
    void synchronize() override;
    void add_inplace(Tensor& y, const Tensor& x) override;
    void scale_inplace(Tensor& y, float s) override;
    void focal_loss(const Tensor& logits, const Tensor& labels, const FocalLossParams& p,
                    Tensor& loss, Tensor& dlogits) override;
    void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y,
                        const Conv2dParams& p) override;
    void conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx,
                              const Conv2dParams& p) override;
    void conv2d_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw, Tensor& dbias,
                                const Conv2dParams& p) override;
    void upconv2x2_forward(const Tensor& x, const Tensor& w, const Tensor& bias,
                           Tensor& y) override;
    void upconv2x2_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx) override;
    void upconv2x2_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw,
                                   Tensor& dbias) override;
    void batchnorm_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                 Tensor& running_mean, Tensor& running_var, Tensor& y,
                                 Tensor& save_mean, Tensor& save_invstd,
                                 const BatchNormParams& p) override;
    void batchnorm_forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                 const Tensor& running_mean, const Tensor& running_var, Tensor& y,
                                 const BatchNormParams& p) override;
    void batchnorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                            const Tensor& save_mean, const Tensor& save_invstd, Tensor& dx,
                            Tensor& dgamma, Tensor& dbeta) override;
    void relu_forward(const Tensor& x, Tensor& y) override;
    void relu_backward(const Tensor& y, const Tensor& dy, Tensor& dx) override;
    void maxpool2x2_forward(const Tensor& x, Tensor& y) override;
    void maxpool2x2_backward(const Tensor& x, const Tensor& y, const Tensor& dy,
                             Tensor& dx) override;
    void concat_channels(const Tensor& a, const Tensor& b, Tensor& y) override;
    void concat_channels_backward(const Tensor& dy, Tensor& da, Tensor& db) override;
    void reflect_pad(const Tensor& x, Tensor& y, int top, int left) override;
    void crop(const Tensor& x, Tensor& y, int top, int left) override;
    void crop_backward(const Tensor& dy, Tensor& dx, int top, int left) override;
    void argmax_channels(const Tensor& logits, Tensor& pred) override;
    void global_grad_norm(std::span<const Tensor* const> grads, Tensor& norm) override;
    void clip_scale(const Tensor& norm, float max_norm, Tensor& grad_scale) override;
    void sgd_step(Tensor& param, const Tensor& grad, Tensor& momentum_buf, const Tensor& grad_scale,
                  const SgdParams& p) override;
    void adam_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v,
                   const Tensor& grad_scale, const AdamParams& p) override;
    void confusion_accumulate(const Tensor& pred, const Tensor& truth, Tensor& confusion) override;
    LinkStats link(const Tensor& sparse, const Tensor& rgb, const LinkParams& p,
                   Tensor& linked) override;

    // Scratch for conv.cpp / upconv.cpp (im2col columns, per-thread partial sums): slot `slot`
    // grown to at least `floats` and kept, so a warmed-up training step allocates nothing.
    float* scratch(std::size_t slot, std::size_t floats);

  private:
    std::vector<std::vector<float>> scratch_;
};

}  // namespace pfce
