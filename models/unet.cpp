// The U-Net of DESIGN §4 from the layers in models/layers.hpp. Inputs whose sides are not multiples
// of 2^depth are reflect-padded, centred (an odd surplus row/column goes to the bottom/right), and
// the logits are cropped back; the skip activation's gradient is the sum of what the pool and the
// concat send back.
#include "models/unet.hpp"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/layers.hpp"

namespace pfce {

struct UNet::Impl {
    Impl(Backend& b, const UNetConfig& c)
        : be(b),
          buffers(b),
          head(b, buffers, "head", c.base_width, c.num_classes, 1, true, /*logits=*/true) {
        int in = c.in_channels;
        for (int l = 0; l < c.depth; ++l) {
            const int w = c.base_width << l;
            down.push_back(
                std::make_unique<DoubleConv>(b, buffers, "down" + std::to_string(l), in, w));
            pool.push_back(std::make_unique<MaxPool2x2>(b, buffers));
            in = w;
        }
        bottom = std::make_unique<DoubleConv>(b, buffers, "bottom", in, c.base_width << c.depth);
        for (int l = 0; l < c.depth; ++l) {
            const int w = c.base_width << l;
            const std::string n = "up" + std::to_string(l);
            up.push_back(std::make_unique<UpConv2x2>(b, buffers, n + ".upconv", 2 * w, w));
            cat.push_back(std::make_unique<Concat>(b, buffers));
            dec.push_back(std::make_unique<DoubleConv>(b, buffers, n, 2 * w, w));
        }
    }

    Backend& be;
    BufferPool buffers;  // gradients and upconv outputs, lent to the layers (declared first)
    std::vector<std::unique_ptr<DoubleConv>> down, dec;
    std::vector<std::unique_ptr<MaxPool2x2>> pool;
    std::vector<std::unique_ptr<UpConv2x2>> up;
    std::vector<std::unique_ptr<Concat>> cat;
    std::unique_ptr<DoubleConv> bottom;
    Conv2d head;

    // Padding of the last forward: padded input, where the original sits, cropped logits.
    bool padded = false;
    int top = 0, left = 0;
    Tensor x_pad, logits;
    bool last_training = false;
    // A forward(training=true) has run: every layer keeps its output for backward anyway, so
    // inference writes there too rather than into the buffer pool (where it would take and resize
    // the gradients' blocks, and the next step would allocate again: CUDA graphs recaptured).
    bool kept_for_backward = false;
    std::int64_t count = 0;  // parameter elements
};

bool unet_side_fits(std::int64_t side, int depth) {
    const std::int64_t unit = std::int64_t{1} << depth;
    const std::int64_t pad = (side + unit - 1) / unit * unit - side;
    return side > 0 && pad - pad / 2 < side;  // the larger pad is the bottom/right one
}

std::int64_t unet_parameter_count(const UNetConfig& c) {
    // DoubleConv: two bias-free 3x3 convolutions, each followed by a batch norm (weight, bias);
    // UpConv2x2: a 2x2 filter and a bias; the head: a 1x1 convolution with a bias.
    auto double_conv = [](std::int64_t in, std::int64_t out) {
        return 9 * in * out + 2 * out + 9 * out * out + 2 * out;
    };
    std::int64_t n = 0, in = c.in_channels;
    for (int l = 0; l < c.depth; ++l) {
        const std::int64_t w = std::int64_t{c.base_width} << l;
        n += double_conv(in, w) + double_conv(2 * w, w)  // down, and the decoder of its level
             + 4 * (2 * w) * w + w;                      // the upconv into that level
        in = w;
    }
    n += double_conv(in, std::int64_t{c.base_width} << c.depth);
    return n + std::int64_t{c.base_width} * c.num_classes + c.num_classes;
}

int smallest_unet_side(int depth) {
    int side = 1;
    while (!unet_side_fits(side, depth)) ++side;
    return side;
}

int deepest_unet_for_side(std::int64_t side) {
    for (int depth = 8; depth >= 1; --depth)
        if (unet_side_fits(side, depth)) return depth;
    return 0;
}

UNet::UNet(Backend& backend, const UNetConfig& cfg, std::uint64_t seed)
    : backend_(backend), cfg_(cfg) {
    if (cfg.depth < 1 || cfg.depth > 8 || cfg.base_width < 1 || cfg.in_channels < 1 ||
        cfg.num_classes < 1 || cfg.num_classes > kMaxClasses ||
        (static_cast<std::int64_t>(cfg.base_width) << cfg.depth) > kMaxUNetChannels)
        PFCE_THROW(
            InputError, "U-Net config: depth ", cfg.depth, " (1..8), base width ", cfg.base_width,
            ", in channels ", cfg.in_channels, ", classes ", cfg.num_classes, " (1..", kMaxClasses,
            ") is not a valid network (expected base width x 2^depth <= ", kMaxUNetChannels, ")");
    impl_ = std::make_unique<Impl>(backend, cfg);
    // One RNG stream per weight tensor, numbered in parameter order: the weights depend on the seed
    // and the architecture only.
    std::uint32_t stream = 0;
    for (auto& d : impl_->down) d->init(seed, stream);
    impl_->bottom->init(seed, stream);
    for (int l = 0; l < cfg.depth; ++l) {
        impl_->up[static_cast<std::size_t>(l)]->init(seed, stream);
        impl_->dec[static_cast<std::size_t>(l)]->init(seed, stream);
    }
    impl_->head.init(seed, stream);
    for (Parameter* p : parameters()) impl_->count += p->value.numel();
}

UNet::~UNet() = default;

const Tensor& UNet::forward(const Tensor& x, bool training) {
    Impl& m = *impl_;
    PFCE_CHECK_SHAPE(
        x.shape().rank == 4 && x.dim(1) == cfg_.in_channels && x.dim(2) > 0 && x.dim(3) > 0,
        "U-Net input ", x.describe(), ", expected (N,", cfg_.in_channels, ",H,W)");
    const std::int64_t unit = std::int64_t{1} << cfg_.depth;
    const std::int64_t h = x.dim(2), w = x.dim(3);
    const std::int64_t h2 = (h + unit - 1) / unit * unit, w2 = (w + unit - 1) / unit * unit;
    m.padded = h2 != h || w2 != w;
    const Tensor* in = &x;
    if (m.padded) {
        m.top = static_cast<int>((h2 - h) / 2);
        m.left = static_cast<int>((w2 - w) / 2);
        if (!unet_side_fits(h, cfg_.depth) || !unet_side_fits(w, cfg_.depth))
            PFCE_THROW(InputError, "image ", w, "x", h, " is too small for a depth-", cfg_.depth,
                       " U-Net: reflect padding to ", w2, "x", h2,
                       " needs each pad smaller than the side it mirrors (each side at least ",
                       smallest_unet_side(cfg_.depth), " pixels)");
        ensure_shape(backend_, m.x_pad, {x.dim(0), x.dim(1), h2, w2});
        backend_.reflect_pad(x, m.x_pad, m.top, m.left);
        in = &m.x_pad;
    }
    // Only once the input is accepted: a refused one leaves backward refused as it was.
    m.last_training = training;
    m.kept_for_backward = m.kept_for_backward || training;

    if (!m.kept_for_backward) return infer(*in, x);
    // Encoder: level l keeps its output as the skip, then pools.
    for (int l = 0; l < cfg_.depth; ++l) {
        const Tensor& skip = m.down[static_cast<std::size_t>(l)]->forward(*in, training);
        in = &m.pool[static_cast<std::size_t>(l)]->forward(skip);
    }
    in = &m.bottom->forward(*in, training);
    // Decoder: up from level l+1, concat [skip, up], two convolutions.
    for (int l = cfg_.depth - 1; l >= 0; --l) {
        const auto i = static_cast<std::size_t>(l);
        const Tensor& c = m.cat[i]->forward(m.down[i]->output(), *m.up[i]->forward(*in));
        in = &m.dec[i]->forward(c, training);
    }
    return cropped(m.head.forward(*in), x);
}

// Inference of a network that has not trained in this process (predict, eval): the layers of
// forward, in the same order on the same inputs (the same logits, bit for bit), each output in a
// block of the pool handed back once the next layer has read it. What is alive at once is the
// skips waiting for the decoder and a layer's input and output, not every layer's output: predict
// of 4 windows of 512x512 at width 16 held 1.5 GB, now 0.6 GB.
const Tensor& UNet::infer(const Tensor& in, const Tensor& x) {
    Impl& m = *impl_;
    const auto depth = static_cast<std::size_t>(cfg_.depth);
    std::vector<Lease> skips(depth);
    Lease cur;
    const Tensor* level = &in;
    for (std::size_t l = 0; l < depth; ++l) {
        skips[l] = m.down[l]->infer(*level);
        cur = m.pool[l]->infer(*skips[l]);  // the level above's pooled input goes back
        level = &*cur;
    }
    cur = m.bottom->infer(*cur);
    for (std::size_t l = depth; l-- > 0;) {
        Lease up = m.up[l]->forward(*cur);
        cur.reset();
        Lease joined = m.cat[l]->infer(*skips[l], *up);
        up.reset();
        skips[l].reset();
        cur = m.dec[l]->infer(*joined);
    }
    return cropped(m.head.forward(*cur), x);
}

// The head's logits of a padded input cropped back to x's size (forward and infer alike).
const Tensor& UNet::cropped(const Tensor& full, const Tensor& x) {
    Impl& m = *impl_;
    if (!m.padded) return full;
    ensure_shape(backend_, m.logits, {x.dim(0), cfg_.num_classes, x.dim(2), x.dim(3)});
    backend_.crop(full, m.logits, m.top, m.left);
    return m.logits;
}

void UNet::backward(const Tensor& dlogits) {
    Impl& m = *impl_;
    if (!m.last_training)
        PFCE_THROW(Error, "UNet::backward needs a forward(training=true) before it");
    // Every gradient is a Lease from m.buffers, handed back once the layer before has read it;
    // only the skips' gradients from the concats wait for the encoder.
    Lease d;
    if (m.padded) {
        PFCE_CHECK_SHAPE(dlogits.shape() == m.logits.shape(), "dlogits ", dlogits.describe(),
                         " for logits ", m.logits.describe());
        Lease pad = m.buffers.acquire(m.head.output().shape());
        backend_.crop_backward(dlogits, *pad, m.top, m.left);
        d = m.head.backward(*pad);
    } else {
        d = m.head.backward(dlogits);
    }
    std::vector<Lease> dskip_cat(static_cast<std::size_t>(cfg_.depth));
    for (int l = 0; l < cfg_.depth; ++l) {
        const auto i = static_cast<std::size_t>(l);
        Concat::Grads g = m.cat[i]->backward(*m.dec[i]->backward(std::move(d)));
        dskip_cat[i] = std::move(g.da);
        d = m.up[i]->backward(*g.db);
    }
    d = m.bottom->backward(std::move(d));
    for (int l = cfg_.depth - 1; l >= 0; --l) {
        const auto i = static_cast<std::size_t>(l);
        // The skip fed both the pool and the concat: its gradient is the sum of both.
        Lease dskip = m.pool[i]->backward(*d);
        d.reset();
        backend_.add_inplace(*dskip, *dskip_cat[i]);
        dskip_cat[i].reset();
        d = m.down[i]->backward(std::move(dskip), /*need_dx=*/l > 0);
    }
}

std::vector<Parameter*> UNet::parameters() {
    std::vector<Parameter*> out;
    for (auto& d : impl_->down) d->collect(out);
    impl_->bottom->collect(out);
    for (int l = 0; l < cfg_.depth; ++l) {
        impl_->up[static_cast<std::size_t>(l)]->collect(out);
        impl_->dec[static_cast<std::size_t>(l)]->collect(out);
    }
    impl_->head.collect(out);
    return out;
}

std::vector<Buffer*> UNet::buffers() {
    std::vector<Buffer*> out;
    for (auto& d : impl_->down) d->collect(out);
    impl_->bottom->collect(out);
    for (auto& d : impl_->dec) d->collect(out);
    return out;
}

void UNet::will_train() {
    impl_->kept_for_backward = true;
}

std::size_t UNet::buffer_pool_bytes() const {
    return impl_->buffers.bytes();
}

std::int64_t UNet::parameter_count() const {
    return impl_->count;
}

}  // namespace pfce
