// The U-Net's layers, written once against the Backend interface. Each layer owns its parameters
// and the outputs that backward reads again (allocated on the first call for a shape and reused),
// and remembers its input for backward, which must follow forward with the input still alive.
// Gradients of activations are Leases from the network's BufferPool: backward returns dL/dx as
// one, and the caller hands it back (drops it) once the layer before has consumed it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/backend.hpp"
#include "models/buffer_pool.hpp"
#include "models/parameter.hpp"

namespace pfce {

// t <- zeros(shape) of `dtype` in `layout` on the backend unless it already is so; grow-only
// (ensure_tensor, core/backend.hpp), so steady-state calls allocate nothing, a smaller batch
// included.
void ensure_shape(Backend& b, Tensor& t, const Shape& shape, Layout layout = Layout::nchw,
                  DType dtype = DType::f32);

// Square k x k convolution, stride 1, zero padding (k-1)/2 ("same" size), optional bias. Its
// output is in the backend's activation layout and dtype, or nchw f32 when `logits` (the network's
// last layer); the input may be in either (the first layer's is the f32 image). Every other layer
// keeps its input's layout and dtype.
class Conv2d {
  public:
    Conv2d(Backend& b, BufferPool& pool, const std::string& name, int in_ch, int out_ch, int k,
           bool bias, bool logits = false);
    const Tensor& forward(const Tensor& x);
    // Inference: forward into a block of the pool, handed back by the caller once read; nothing
    // is kept for backward (so a U-Net's inference holds the activations alive at once, not every
    // layer's).
    Lease infer(const Tensor& x);
    // Writes weight.grad (and bias.grad); returns dL/dx, or an empty Lease when !need_dx (the
    // network's first layer, whose input is the image).
    Lease backward(const Tensor& dy, bool need_dx = true);
    const Tensor& output() const { return y_; }
    void collect(std::vector<Parameter*>& out);
    // He normal weight (fan_in = Ci*k*k), zero bias; `stream` numbers the RNG streams.
    void init(std::uint64_t seed, std::uint32_t& stream);

    Parameter weight, bias;  // bias.value empty without bias

  private:
    Shape out_shape(const Tensor& x) const {
        return {x.dim(0), weight.value.dim(0), x.dim(2), x.dim(3)};
    }
    Backend& b_;
    BufferPool& pool_;
    Conv2dParams p_;
    Layout out_layout_;
    DType out_dtype_;
    const Tensor* x_ = nullptr;
    Tensor y_;
};

// Batch norm over (N,H,W) per channel; weight = gamma, bias = beta (PyTorch names). With relu, the
// ReLU after it runs in the same pass (the fused backend ops), and backward takes the gradient of
// the ReLU's output.
class BatchNorm2d {
  public:
    BatchNorm2d(Backend& b, BufferPool& pool, const std::string& name, int ch, bool relu = false);
    // Without relu the returned output may be modified in place by the next layer (a ReLU):
    // backward then reads only the input and the saved statistics.
    Tensor& forward(const Tensor& x, bool training);
    // Inference (running statistics) into a block of the pool, as Conv2d::infer.
    Lease infer(const Tensor& x);
    const Tensor& output() const { return y_; }
    Lease backward(const Tensor& dy);
    void collect(std::vector<Parameter*>& out);
    void collect(std::vector<Buffer*>& out);
    void init();  // gamma 1, beta 0, running mean 0, running var 1 (PyTorch defaults)

    Parameter weight, bias;
    Buffer running_mean, running_var;

  private:
    Backend& b_;
    BufferPool& pool_;
    BatchNormParams p_;  // p_.relu: the ReLU fused into the batch norm
    const Tensor* x_ = nullptr;
    Tensor y_, save_mean_, save_invstd_;
};

// ReLU applied in place to the tensor it is given (a batch norm's output, which the batch norm's
// backward does not read), so it costs no activation memory.
class Relu {
  public:
    Relu(Backend& b, BufferPool& pool) : b_(b), pool_(pool) {}
    const Tensor& forward(Tensor& x);
    Lease backward(const Tensor& dy);
    const Tensor& output() const { return *y_; }

  private:
    Backend& b_;
    BufferPool& pool_;
    const Tensor* y_ = nullptr;
};

class MaxPool2x2 {
  public:
    MaxPool2x2(Backend& b, BufferPool& pool) : b_(b), pool_(pool) {}
    const Tensor& forward(const Tensor& x);
    Lease infer(const Tensor& x);  // into a block of the pool, as Conv2d::infer
    Lease backward(const Tensor& dy);

  private:
    Backend& b_;
    BufferPool& pool_;
    const Tensor* x_ = nullptr;
    Tensor y_;
};

// 2x2 stride-2 transposed convolution with bias, w (Ci,Co,2,2). Its output is only read by the
// concat after it, so forward returns it as a Lease.
class UpConv2x2 {
  public:
    UpConv2x2(Backend& b, BufferPool& pool, const std::string& name, int in_ch, int out_ch);
    Lease forward(const Tensor& x);
    Lease backward(const Tensor& dy);
    void collect(std::vector<Parameter*>& out);
    // He normal weight with fan_in = Ci (each output pixel sums one tap per input channel), zero
    // bias.
    void init(std::uint64_t seed, std::uint32_t& stream);

    Parameter weight, bias;

  private:
    Backend& b_;
    BufferPool& pool_;
    const Tensor* x_ = nullptr;
};

// y = [a, b] along channels; backward splits dy into da and db.
class Concat {
  public:
    Concat(Backend& b, BufferPool& pool) : b_(b), pool_(pool) {}
    const Tensor& forward(const Tensor& a, const Tensor& b);
    Lease infer(const Tensor& a, const Tensor& b);  // into a block of the pool, as Conv2d::infer
    struct Grads {
        Lease da, db;
    };
    Grads backward(const Tensor& dy);

  private:
    Backend& b_;
    BufferPool& pool_;
    Shape a_shape_, b_shape_;
    Layout layout_ = Layout::nchw;
    DType dtype_ = DType::f32;
    Tensor y_;
};

// [3x3 conv (no bias) -> BN -> ReLU] x 2: one U-Net level, each BN -> ReLU one fused op.
// Parameters "<name>.conv1.weight", "<name>.bn1.weight", ...
class DoubleConv {
  public:
    DoubleConv(Backend& b, BufferPool& pool, const std::string& name, int in_ch, int out_ch);
    const Tensor& forward(const Tensor& x, bool training);
    // Inference into a block of the pool: each intermediate activation handed back once the next
    // layer has read it.
    Lease infer(const Tensor& x);
    // dy is handed back to the pool as soon as it has been read.
    Lease backward(Lease dy, bool need_dx = true);
    const Tensor& output() const { return bn2_.output(); }
    void collect(std::vector<Parameter*>& out);
    void collect(std::vector<Buffer*>& out);
    void init(std::uint64_t seed, std::uint32_t& stream);

  private:
    Conv2d conv1_;
    BatchNorm2d bn1_;
    Conv2d conv2_;
    BatchNorm2d bn2_;
};

}  // namespace pfce
