// The CPU twin of CUDA's bf16 activation storage (Backend::activation_dtype, the CUDA
// "activation_storage" variant bf16 at precision bf16): Base (a host backend) with its models'
// activations and their gradients held as DType::bf16. Every op that takes activations reads
// bf16 ones as f32 (exact), runs Base's f32 op, and rounds each bf16 output with the store of
// core/kernels/precision.hpp -- what a CUDA kernel on bf16 tensors does: load, compute in f32,
// round once at the store. f32 tensors (the input image, logits, weights) pass through as they
// are, so a convolution may mix them as CUDA's does. The twin rounds nothing else: run it at
// precision bf16, as CUDA stores bf16 only then.
#pragma once

#include <string>
#include <utility>

#include "core/kernels/precision.hpp"
#include "core/tensor.hpp"

namespace pfce::test {

template <class Base>
class Bf16StorageTwin : public Base {
  public:
    template <class... Args>
    explicit Bf16StorageTwin(Args&&... args) : Base(std::forward<Args>(args)...) {}
    std::string name() const override { return Base::name() + ", bf16 activations (twin)"; }
    DType activation_dtype() const override { return DType::bf16; }

    void add_inplace(Tensor& y, const Tensor& x) override {
        Tensor yf = in(y);
        Base::add_inplace(yf, in(x));
        out(y, yf);
    }
    void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y,
                        const Conv2dParams& p) override {
        Tensor yf = for_out(y);
        Base::conv2d_forward(in(x), w, bias, yf, p);
        out(y, yf);
    }
    void conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx,
                              const Conv2dParams& p) override {
        Tensor dxf = for_out(dx);
        Base::conv2d_backward_data(in(dy), w, dxf, p);
        out(dx, dxf);
    }
    void conv2d_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw, Tensor& dbias,
                                const Conv2dParams& p) override {
        Base::conv2d_backward_filter(in(x), in(dy), dw, dbias, p);
    }
    void upconv2x2_forward(const Tensor& x, const Tensor& w, const Tensor& bias,
                           Tensor& y) override {
        Tensor yf = for_out(y);
        Base::upconv2x2_forward(in(x), w, bias, yf);
        out(y, yf);
    }
    void upconv2x2_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx) override {
        Tensor dxf = for_out(dx);
        Base::upconv2x2_backward_data(in(dy), w, dxf);
        out(dx, dxf);
    }
    void upconv2x2_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw,
                                   Tensor& dbias) override {
        Base::upconv2x2_backward_filter(in(x), in(dy), dw, dbias);
    }
    void batchnorm_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                 Tensor& running_mean, Tensor& running_var, Tensor& y,
                                 Tensor& save_mean, Tensor& save_invstd,
                                 const BatchNormParams& p) override {
        Tensor yf = for_out(y);
        Base::batchnorm_forward_train(in(x), gamma, beta, running_mean, running_var, yf, save_mean,
                                      save_invstd, p);
        out(y, yf);
    }
    void batchnorm_forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                 const Tensor& running_mean, const Tensor& running_var, Tensor& y,
                                 const BatchNormParams& p) override {
        Tensor yf = for_out(y);
        Base::batchnorm_forward_infer(in(x), gamma, beta, running_mean, running_var, yf, p);
        out(y, yf);
    }
    void batchnorm_backward(const Tensor& x, const Tensor* relu_y, const Tensor& dy,
                            const Tensor& gamma, const Tensor& save_mean, const Tensor& save_invstd,
                            Tensor& dx, Tensor& dgamma, Tensor& dbeta) override {
        Tensor dxf = for_out(dx);
        const Tensor yf = relu_y ? in(*relu_y) : Tensor();
        Base::batchnorm_backward(in(x), relu_y ? &yf : nullptr, in(dy), gamma, save_mean,
                                 save_invstd, dxf, dgamma, dbeta);
        out(dx, dxf);
    }
    void relu_forward(const Tensor& x, Tensor& y) override {
        Tensor yf = for_out(y);
        Base::relu_forward(in(x), yf);
        out(y, yf);
    }
    void relu_backward(const Tensor& y, const Tensor& dy, Tensor& dx) override {
        Tensor dxf = for_out(dx);
        Base::relu_backward(in(y), in(dy), dxf);
        out(dx, dxf);
    }
    void maxpool2x2_forward(const Tensor& x, Tensor& y) override {
        Tensor yf = for_out(y);
        Base::maxpool2x2_forward(in(x), yf);
        out(y, yf);
    }
    void maxpool2x2_backward(const Tensor& x, const Tensor& y, const Tensor& dy,
                             Tensor& dx) override {
        Tensor dxf = for_out(dx);
        Base::maxpool2x2_backward(in(x), in(y), in(dy), dxf);
        out(dx, dxf);
    }
    void concat_channels(const Tensor& a, const Tensor& b, Tensor& y) override {
        Tensor yf = for_out(y);
        Base::concat_channels(in(a), in(b), yf);
        out(y, yf);
    }
    void concat_channels_backward(const Tensor& dy, Tensor& da, Tensor& db) override {
        Tensor daf = for_out(da), dbf = for_out(db);
        Base::concat_channels_backward(in(dy), daf, dbf);
        out(da, daf);
        out(db, dbf);
    }

  private:
    // An op's input as f32: a bf16 one converted (exactly) into a new tensor, an f32 one viewed.
    static Tensor in(const Tensor& t) {
        if (t.empty() || t.dtype() != DType::bf16)
            return t.empty() ? Tensor()
                             : Tensor::borrow(const_cast<Tensor&>(t), t.shape(), t.layout());
        Tensor f = Tensor::host(t.shape(), DType::f32);
        f.set_layout(t.layout());
        const Bf16* src = t.data<Bf16>();
        float* dst = f.data<float>();
        for (std::int64_t i = 0; i < t.numel(); ++i) dst[i] = kernels::load_value(src + i);
        return f;
    }
    // Where Base writes an op's output: a new f32 tensor for a bf16 one (its current values too,
    // as an op may read what it overwrites in place), the tensor itself (a view) for an f32 one.
    static Tensor for_out(Tensor& t) { return in(t); }
    // The output t <- Base's f32 result, rounded where t is bf16 (nothing to do for a view).
    static void out(Tensor& t, const Tensor& f) {
        if (t.empty() || t.dtype() != DType::bf16) return;
        const float* src = f.data<float>();
        Bf16* dst = t.data<Bf16>();
        for (std::int64_t i = 0; i < t.numel(); ++i) kernels::store_value(dst + i, src[i]);
    }
};

}  // namespace pfce::test
