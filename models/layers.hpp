// The U-Net's layers, written once against the Backend interface. Each layer owns its parameters,
// its output and its input-gradient buffers (allocated on the first call for a shape and reused),
// and remembers its input for backward, which must follow forward with the input still alive.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/backend.hpp"
#include "models/parameter.hpp"

namespace pfce {

// t <- zeros(shape) in `layout` on the backend unless it already has that shape and layout (so
// steady-state calls allocate nothing).
void ensure_shape(Backend& b, Tensor& t, const Shape& shape, Layout layout = Layout::nchw);

// Square k x k convolution, stride 1, zero padding (k-1)/2 ("same" size), optional bias. Its
// output is in the backend's activation layout, or nchw when `logits` (the network's last layer);
// the input may be in either.
class Conv2d {
  public:
    Conv2d(Backend& b, const std::string& name, int in_ch, int out_ch, int k, bool bias,
           bool logits = false);
    const Tensor& forward(const Tensor& x);
    // Writes weight.grad (and bias.grad); returns dL/dx, or an empty tensor when !need_dx (the
    // network's first layer, whose input is the image).
    Tensor& backward(const Tensor& dy, bool need_dx = true);
    const Tensor& output() const { return y_; }
    void collect(std::vector<Parameter*>& out);
    // He normal weight (fan_in = Ci*k*k), zero bias; `stream` numbers the RNG streams.
    void init(std::uint64_t seed, std::uint32_t& stream);

    Parameter weight, bias;  // bias.value empty without bias

  private:
    Backend& b_;
    Conv2dParams p_;
    Layout out_layout_;
    const Tensor* x_ = nullptr;
    Tensor y_, dx_, none_;
};

// Batch norm over (N,H,W) per channel; weight = gamma, bias = beta (PyTorch names). With relu, the
// ReLU after it runs in the same pass (the fused backend ops), and backward takes the gradient of
// the ReLU's output.
class BatchNorm2d {
  public:
    BatchNorm2d(Backend& b, const std::string& name, int ch, bool relu = false);
    // Without relu the returned output may be modified in place by the next layer (a ReLU):
    // backward then reads only the input and the saved statistics.
    Tensor& forward(const Tensor& x, bool training);
    const Tensor& output() const { return y_; }
    Tensor& backward(const Tensor& dy);
    void collect(std::vector<Parameter*>& out);
    void collect(std::vector<Buffer*>& out);
    void init();  // gamma 1, beta 0, running mean 0, running var 1 (PyTorch defaults)

    Parameter weight, bias;
    Buffer running_mean, running_var;

  private:
    Backend& b_;
    BatchNormParams p_;
    bool relu_;
    const Tensor* x_ = nullptr;
    Tensor y_, dx_, save_mean_, save_invstd_;
};

// ReLU applied in place to the tensor it is given (a batch norm's output, which the batch norm's
// backward does not read), so it costs no activation memory; backward has its own dx buffer.
class Relu {
  public:
    explicit Relu(Backend& b) : b_(b) {}
    const Tensor& forward(Tensor& x);
    Tensor& backward(const Tensor& dy);
    const Tensor& output() const { return *y_; }

  private:
    Backend& b_;
    const Tensor* y_ = nullptr;
    Tensor dx_;
};

class MaxPool2x2 {
  public:
    explicit MaxPool2x2(Backend& b) : b_(b) {}
    const Tensor& forward(const Tensor& x);
    Tensor& backward(const Tensor& dy);

  private:
    Backend& b_;
    const Tensor* x_ = nullptr;
    Tensor y_, dx_;
};

// 2x2 stride-2 transposed convolution with bias, w (Ci,Co,2,2).
class UpConv2x2 {
  public:
    UpConv2x2(Backend& b, const std::string& name, int in_ch, int out_ch);
    const Tensor& forward(const Tensor& x);
    Tensor& backward(const Tensor& dy);
    void collect(std::vector<Parameter*>& out);
    // He normal weight with fan_in = Ci (each output pixel sums one tap per input channel), zero
    // bias.
    void init(std::uint64_t seed, std::uint32_t& stream);

    Parameter weight, bias;

  private:
    Backend& b_;
    const Tensor* x_ = nullptr;
    Tensor y_, dx_;
};

// y = [a, b] along channels; backward splits dy into da and db.
class Concat {
  public:
    explicit Concat(Backend& b) : b_(b) {}
    const Tensor& forward(const Tensor& a, const Tensor& b);
    void backward(const Tensor& dy);
    Tensor& da() { return da_; }
    Tensor& db() { return db_; }

  private:
    Backend& b_;
    Tensor y_, da_, db_;
};

// [3x3 conv (no bias) -> BN -> ReLU] x 2: one U-Net level, each BN -> ReLU one fused op.
// Parameters "<name>.conv1.weight", "<name>.bn1.weight", ...
class DoubleConv {
  public:
    DoubleConv(Backend& b, const std::string& name, int in_ch, int out_ch);
    const Tensor& forward(const Tensor& x, bool training);
    Tensor& backward(const Tensor& dy, bool need_dx = true);
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
