// The U-Net's layers: thin wrappers that own buffers and call the Backend ops in order.
#include "models/layers.hpp"

#include "models/init.hpp"

namespace pfce {

void ensure_shape(Backend& b, Tensor& t, const Shape& shape, Layout layout, DType dtype) {
    ensure_tensor(b, t, shape, dtype, layout);
}

namespace {

Parameter make_param(Backend& b, const std::string& name, Shape shape, bool decay) {
    Parameter p;
    p.name = name;
    p.value = b.zeros(shape, DType::f32);
    p.grad = b.zeros(shape, DType::f32);
    p.decay = decay;
    return p;
}

Buffer make_buffer(Backend& b, const std::string& name, Shape shape) {
    Buffer buf;
    buf.name = name;
    buf.value = b.zeros(shape, DType::f32);
    return buf;
}

}  // namespace

// ---- Conv2d ------------------------------------------------------------------------------------

Conv2d::Conv2d(Backend& b, BufferPool& pool, const std::string& name, int in_ch, int out_ch, int k,
               bool with_bias, bool logits)
    : weight(make_param(b, name + ".weight", {out_ch, in_ch, k, k}, true)),
      b_(b),
      pool_(pool),
      out_layout_(logits ? Layout::nchw : b.activation_layout()),
      out_dtype_(logits ? DType::f32 : b.activation_dtype()) {
    PFCE_CHECK_SHAPE(k % 2 == 1, "odd kernel expected for a same-size convolution, got ", k);
    p_.pad = (k - 1) / 2;
    if (with_bias) bias = make_param(b, name + ".bias", {out_ch}, false);
}

const Tensor& Conv2d::forward(const Tensor& x) {
    x_ = &x;
    ensure_shape(b_, y_, out_shape(x), out_layout_, out_dtype_);
    b_.conv2d_forward(x, weight.value, bias.value, y_, p_);
    return y_;
}

Lease Conv2d::infer(const Tensor& x) {
    Lease y = pool_.acquire(out_shape(x), out_layout_, out_dtype_);
    b_.conv2d_forward(x, weight.value, bias.value, *y, p_);
    return y;
}

Lease Conv2d::backward(const Tensor& dy, bool need_dx) {
    b_.conv2d_backward_filter(*x_, dy, weight.grad, bias.grad, p_);
    if (!need_dx) return {};
    Lease dx = pool_.acquire(x_->shape(), x_->layout(), x_->dtype());
    b_.conv2d_backward_data(dy, weight.value, *dx, p_);
    return dx;
}

void Conv2d::collect(std::vector<Parameter*>& out) {
    out.push_back(&weight);
    if (!bias.value.empty()) out.push_back(&bias);
}

void Conv2d::init(std::uint64_t seed, std::uint32_t& stream) {
    const Shape& s = weight.value.shape();
    he_normal_init(b_, weight.value, s[1] * s[2] * s[3], seed, stream++);
    if (!bias.value.empty()) b_.fill(bias.value, 0.0f);
}

// ---- BatchNorm2d -------------------------------------------------------------------------------

BatchNorm2d::BatchNorm2d(Backend& b, BufferPool& pool, const std::string& name, int ch, bool relu)
    : weight(make_param(b, name + ".weight", {ch}, false)),
      bias(make_param(b, name + ".bias", {ch}, false)),
      running_mean(make_buffer(b, name + ".running_mean", {ch})),
      running_var(make_buffer(b, name + ".running_var", {ch})),
      b_(b),
      pool_(pool),
      p_{.relu = relu},
      save_mean_(b.zeros({ch}, DType::f32)),
      save_invstd_(b.zeros({ch}, DType::f32)) {
    init();
}

void BatchNorm2d::init() {
    b_.fill(weight.value, 1.0f);
    b_.fill(bias.value, 0.0f);
    b_.fill(running_mean.value, 0.0f);
    b_.fill(running_var.value, 1.0f);
}

Tensor& BatchNorm2d::forward(const Tensor& x, bool training) {
    x_ = &x;
    ensure_shape(b_, y_, x.shape(), x.layout(), x.dtype());
    if (training)
        b_.batchnorm_forward_train(x, weight.value, bias.value, running_mean.value,
                                   running_var.value, y_, save_mean_, save_invstd_, p_);
    else
        b_.batchnorm_forward_infer(x, weight.value, bias.value, running_mean.value,
                                   running_var.value, y_, p_);
    return y_;
}

Lease BatchNorm2d::infer(const Tensor& x) {
    Lease y = pool_.acquire(x.shape(), x.layout(), x.dtype());
    b_.batchnorm_forward_infer(x, weight.value, bias.value, running_mean.value, running_var.value,
                               *y, p_);
    return y;
}

Lease BatchNorm2d::backward(const Tensor& dy) {
    Lease dx = pool_.acquire(x_->shape(), x_->layout(), x_->dtype());
    b_.batchnorm_backward(*x_, p_.relu ? &y_ : nullptr, dy, weight.value, save_mean_, save_invstd_,
                          *dx, weight.grad, bias.grad);
    return dx;
}

void BatchNorm2d::collect(std::vector<Parameter*>& out) {
    out.push_back(&weight);
    out.push_back(&bias);
}

void BatchNorm2d::collect(std::vector<Buffer*>& out) {
    out.push_back(&running_mean);
    out.push_back(&running_var);
}

// ---- Relu, MaxPool2x2, Concat
// --------------------------------------------------------------------

const Tensor& Relu::forward(Tensor& x) {
    b_.relu_forward(x, x);  // in place (the Backend contract allows y == x)
    y_ = &x;
    return x;
}

Lease Relu::backward(const Tensor& dy) {
    Lease dx = pool_.acquire(y_->shape(), y_->layout(), y_->dtype());
    b_.relu_backward(*y_, dy, *dx);
    return dx;
}

const Tensor& MaxPool2x2::forward(const Tensor& x) {
    x_ = &x;
    ensure_shape(b_, y_, {x.dim(0), x.dim(1), x.dim(2) / 2, x.dim(3) / 2}, x.layout(), x.dtype());
    b_.maxpool2x2_forward(x, y_);
    return y_;
}

Lease MaxPool2x2::infer(const Tensor& x) {
    Lease y =
        pool_.acquire({x.dim(0), x.dim(1), x.dim(2) / 2, x.dim(3) / 2}, x.layout(), x.dtype());
    b_.maxpool2x2_forward(x, *y);
    return y;
}

Lease MaxPool2x2::backward(const Tensor& dy) {
    Lease dx = pool_.acquire(x_->shape(), x_->layout(), x_->dtype());
    b_.maxpool2x2_backward(*x_, y_, dy, *dx);
    return dx;
}

const Tensor& Concat::forward(const Tensor& a, const Tensor& b) {
    ensure_shape(b_, y_, {a.dim(0), a.dim(1) + b.dim(1), a.dim(2), a.dim(3)}, a.layout(),
                 a.dtype());
    a_shape_ = a.shape();
    b_shape_ = b.shape();
    layout_ = a.layout();
    dtype_ = a.dtype();
    b_.concat_channels(a, b, y_);
    return y_;
}

Lease Concat::infer(const Tensor& a, const Tensor& b) {
    Lease y =
        pool_.acquire({a.dim(0), a.dim(1) + b.dim(1), a.dim(2), a.dim(3)}, a.layout(), a.dtype());
    b_.concat_channels(a, b, *y);
    return y;
}

Concat::Grads Concat::backward(const Tensor& dy) {
    Grads g{pool_.acquire(a_shape_, layout_, dtype_), pool_.acquire(b_shape_, layout_, dtype_)};
    b_.concat_channels_backward(dy, *g.da, *g.db);
    return g;
}

// ---- UpConv2x2
// -----------------------------------------------------------------------------------

UpConv2x2::UpConv2x2(Backend& b, BufferPool& pool, const std::string& name, int in_ch, int out_ch)
    : weight(make_param(b, name + ".weight", {in_ch, out_ch, 2, 2}, true)),
      bias(make_param(b, name + ".bias", {out_ch}, false)),
      b_(b),
      pool_(pool) {}

Lease UpConv2x2::forward(const Tensor& x) {
    x_ = &x;
    Lease y = pool_.acquire({x.dim(0), weight.value.dim(1), 2 * x.dim(2), 2 * x.dim(3)}, x.layout(),
                            x.dtype());
    b_.upconv2x2_forward(x, weight.value, bias.value, *y);
    return y;
}

Lease UpConv2x2::backward(const Tensor& dy) {
    b_.upconv2x2_backward_filter(*x_, dy, weight.grad, bias.grad);
    Lease dx = pool_.acquire(x_->shape(), x_->layout(), x_->dtype());
    b_.upconv2x2_backward_data(dy, weight.value, *dx);
    return dx;
}

void UpConv2x2::collect(std::vector<Parameter*>& out) {
    out.push_back(&weight);
    out.push_back(&bias);
}

void UpConv2x2::init(std::uint64_t seed, std::uint32_t& stream) {
    he_normal_init(b_, weight.value, weight.value.dim(0), seed, stream++);
    b_.fill(bias.value, 0.0f);
}

// ---- DoubleConv
// ----------------------------------------------------------------------------------

DoubleConv::DoubleConv(Backend& b, BufferPool& pool, const std::string& name, int in_ch, int out_ch)
    : conv1_(b, pool, name + ".conv1", in_ch, out_ch, 3, false),
      bn1_(b, pool, name + ".bn1", out_ch, true),
      conv2_(b, pool, name + ".conv2", out_ch, out_ch, 3, false),
      bn2_(b, pool, name + ".bn2", out_ch, true) {}

const Tensor& DoubleConv::forward(const Tensor& x, bool training) {
    const Tensor& a = bn1_.forward(conv1_.forward(x), training);
    return bn2_.forward(conv2_.forward(a), training);
}

Lease DoubleConv::infer(const Tensor& x) {
    Lease a = conv1_.infer(x);
    Lease b = bn1_.infer(*a);
    a.reset();  // before the next is taken, so that it can take this block
    Lease c = conv2_.infer(*b);
    b.reset();
    return bn2_.infer(*c);
}

// Each gradient goes back to the pool as soon as the layer before has read it.
Lease DoubleConv::backward(Lease dy, bool need_dx) {
    Lease d = bn2_.backward(*dy);
    dy.reset();
    d = conv2_.backward(*d);
    d = bn1_.backward(*d);
    return conv1_.backward(*d, need_dx);
}

void DoubleConv::collect(std::vector<Parameter*>& out) {
    conv1_.collect(out);
    bn1_.collect(out);
    conv2_.collect(out);
    bn2_.collect(out);
}

void DoubleConv::collect(std::vector<Buffer*>& out) {
    bn1_.collect(out);
    bn2_.collect(out);
}

void DoubleConv::init(std::uint64_t seed, std::uint32_t& stream) {
    conv1_.init(seed, stream);
    bn1_.init();
    conv2_.init(seed, stream);
    bn2_.init();
}

}  // namespace pfce
