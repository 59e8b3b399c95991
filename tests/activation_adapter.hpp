// A backend that runs Base's ops on a network's activations through converted copies: each op
// that takes activations (core/backend.hpp: convolutions, batch norm, ReLU, max-pool, concat,
// add_inplace) gets every activation argument as in(t), writes each output into for_out(t) and
// has it brought back by out(t, v); weights, biases and statistics pass as they are. The tests'
// twins are such adapters: NhwcBackend (test_backend_ops.cpp: nhwc copies, so the op table checks
// the nhwc paths) and Bf16StorageTwin (bf16_storage_twin.hpp: bf16 tensors run as f32).
#pragma once

#include <utility>

#include "core/backend.hpp"

namespace pfce::test {

template <class Base>
class ActivationAdapter : public Base {
  public:
    template <class... Args>
    explicit ActivationAdapter(Args&&... args) : Base(std::forward<Args>(args)...) {}

    void add_inplace(Tensor& y, const Tensor& x) override {
        Tensor yc = for_out(y);
        Base::add_inplace(yc, in(x));
        out(y, yc);
    }
    void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y,
                        const Conv2dParams& p) override {
        Tensor yc = for_out(y);
        Base::conv2d_forward(in(x), w, bias, yc, p);
        out(y, yc);
    }
    void conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx,
                              const Conv2dParams& p) override {
        Tensor dxc = for_out(dx);
        Base::conv2d_backward_data(in(dy), w, dxc, p);
        out(dx, dxc);
    }
    void conv2d_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw, Tensor& dbias,
                                const Conv2dParams& p) override {
        Base::conv2d_backward_filter(in(x), in(dy), dw, dbias, p);
    }
    void upconv2x2_forward(const Tensor& x, const Tensor& w, const Tensor& bias,
                           Tensor& y) override {
        Tensor yc = for_out(y);
        Base::upconv2x2_forward(in(x), w, bias, yc);
        out(y, yc);
    }
    void upconv2x2_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx) override {
        Tensor dxc = for_out(dx);
        Base::upconv2x2_backward_data(in(dy), w, dxc);
        out(dx, dxc);
    }
    void upconv2x2_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw,
                                   Tensor& dbias) override {
        Base::upconv2x2_backward_filter(in(x), in(dy), dw, dbias);
    }
    void batchnorm_forward_train(const Tensor& x, const Tensor& g, const Tensor& b, Tensor& rm,
                                 Tensor& rv, Tensor& y, Tensor& sm, Tensor& si,
                                 const BatchNormParams& p) override {
        Tensor yc = for_out(y);
        Base::batchnorm_forward_train(in(x), g, b, rm, rv, yc, sm, si, p);
        out(y, yc);
    }
    void batchnorm_forward_infer(const Tensor& x, const Tensor& g, const Tensor& b,
                                 const Tensor& rm, const Tensor& rv, Tensor& y,
                                 const BatchNormParams& p) override {
        Tensor yc = for_out(y);
        Base::batchnorm_forward_infer(in(x), g, b, rm, rv, yc, p);
        out(y, yc);
    }
    void batchnorm_backward(const Tensor& x, const Tensor* relu_y, const Tensor& dy,
                            const Tensor& g, const Tensor& sm, const Tensor& si, Tensor& dx,
                            Tensor& dg, Tensor& db) override {
        Tensor dxc = for_out(dx);
        const Tensor yc = relu_y ? in(*relu_y) : Tensor();
        Base::batchnorm_backward(in(x), relu_y ? &yc : nullptr, in(dy), g, sm, si, dxc, dg, db);
        out(dx, dxc);
    }
    void relu_forward(const Tensor& x, Tensor& y) override {
        Tensor yc = for_out(y);
        if (&x == &y)
            Base::relu_forward(yc, yc);  // in place stays in place
        else
            Base::relu_forward(in(x), yc);
        out(y, yc);
    }
    void relu_backward(const Tensor& y, const Tensor& dy, Tensor& dx) override {
        Tensor dxc = for_out(dx);
        Base::relu_backward(in(y), in(dy), dxc);
        out(dx, dxc);
    }
    void maxpool2x2_forward(const Tensor& x, Tensor& y) override {
        Tensor yc = for_out(y);
        Base::maxpool2x2_forward(in(x), yc);
        out(y, yc);
    }
    void maxpool2x2_backward(const Tensor& x, const Tensor& y, const Tensor& dy,
                             Tensor& dx) override {
        Tensor dxc = for_out(dx);
        Base::maxpool2x2_backward(in(x), in(y), in(dy), dxc);
        out(dx, dxc);
    }
    void concat_channels(const Tensor& a, const Tensor& b, Tensor& y) override {
        Tensor yc = for_out(y);
        Base::concat_channels(in(a), in(b), yc);
        out(y, yc);
    }
    void concat_channels_backward(const Tensor& dy, Tensor& da, Tensor& db) override {
        Tensor dac = for_out(da), dbc = for_out(db);
        Base::concat_channels_backward(in(dy), dac, dbc);
        out(da, dac);
        out(db, dbc);
    }

  protected:
    // An activation argument in the form Base runs on (an empty tensor stays empty).
    virtual Tensor in(const Tensor& t) = 0;
    // Where Base writes output t: a converted copy holding t's values (an op may read what it
    // overwrites), or a view of t itself when no conversion is needed.
    virtual Tensor for_out(Tensor& t) = 0;
    // t <- Base's output v, converted back (nothing when v is a view of t).
    virtual void out(Tensor& t, const Tensor& v) = 0;
};

}  // namespace pfce::test
