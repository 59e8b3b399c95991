// The CPU twin of CUDA's bf16 activation storage (Backend::activation_dtype, the CUDA
// "activation_storage" variant bf16 at precision bf16): Base (a host backend) with its models'
// activations and their gradients held as DType::bf16. Every op that takes activations
// (ActivationAdapter) reads bf16 ones as f32 (exact), runs Base's f32 op, and rounds each bf16
// output with the store of core/kernels/precision.hpp -- what a CUDA kernel on bf16 tensors does:
// load, compute in f32, round once at the store. f32 tensors (the input image, logits, weights)
// pass through as they are, so a convolution may mix them as CUDA's does. The twin rounds nothing
// else: run it at precision bf16, as CUDA stores bf16 only then.
#pragma once

#include <string>
#include <utility>

#include "core/kernels/precision.hpp"
#include "core/tensor.hpp"
#include "tests/activation_adapter.hpp"

namespace pfce::test {

template <class Base>
class Bf16StorageTwin : public ActivationAdapter<Base> {
  public:
    template <class... Args>
    explicit Bf16StorageTwin(Args&&... args)
        : ActivationAdapter<Base>(std::forward<Args>(args)...) {}
    std::string name() const override { return Base::name() + ", bf16 activations (twin)"; }
    DType activation_dtype() const override { return DType::bf16; }

  protected:
    // A bf16 tensor converted (exactly) into a new f32 one; an f32 one viewed.
    Tensor in(const Tensor& t) override {
        if (t.empty()) return Tensor();
        if (t.dtype() != DType::bf16)
            return Tensor::borrow(const_cast<Tensor&>(t), t.shape(), t.layout());
        Tensor f = Tensor::host(t.shape(), DType::f32);
        f.set_layout(t.layout());
        const Bf16* src = t.data<Bf16>();
        float* dst = f.data<float>();
        for (std::int64_t i = 0; i < t.numel(); ++i) dst[i] = kernels::load_value(src + i);
        return f;
    }
    Tensor for_out(Tensor& t) override { return in(t); }
    // Base's f32 result rounded into a bf16 output, once (an f32 output was written in place).
    void out(Tensor& t, const Tensor& f) override {
        if (t.empty() || t.dtype() != DType::bf16) return;
        const float* src = f.data<float>();
        Bf16* dst = t.data<Bf16>();
        for (std::int64_t i = 0; i < t.numel(); ++i) kernels::store_value(dst + i, src[i]);
    }
};

}  // namespace pfce::test
