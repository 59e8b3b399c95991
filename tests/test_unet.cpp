// The U-Net as a whole: shapes and centred reflect padding for 300x300 inputs, the parameter count
// against a hand formula, deterministic He initialization, a finite-difference gradient check of a
// tiny network through the partial focal loss, and GPU against CPU (skips without a device); and
// the BufferPool its layers borrow gradients from.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "core/op_variants.hpp"
#include "core/rng.hpp"
#include "host/cpu/cpu_backend.hpp"
#include "host/train/memory_estimate.hpp"
#include "models/buffer_pool.hpp"
#include "models/unet.hpp"
#include "tests/test_util.hpp"

using namespace pfce;
using pfce::test::all_close;
using pfce::test::random_f32;
using pfce::test::to_backend;
using pfce::test::to_host;

namespace {

// Conv weights 9*in*out (no bias: BN follows), BN gamma+beta, up-conv 4*in*out + bias, head 1x1.
Tensor random_labels(Shape s, int classes, std::uint64_t seed) {
    Tensor t = Tensor::host(s, DType::u8);
    CounterRng rng(seed, 1);
    for (std::int64_t i = 0; i < t.numel(); ++i) {
        const std::uint32_t v = rng.below(static_cast<std::uint32_t>(classes + 1));
        t.data<std::uint8_t>()[i] =
            v == static_cast<std::uint32_t>(classes) ? kUnlabelled : static_cast<std::uint8_t>(v);
    }
    return t;
}

Parameter* find_param(UNet& net, const std::string& name) {
    for (Parameter* p : net.parameters())
        if (p->name == name) return p;
    ADD_FAILURE() << "no parameter " << name;
    return nullptr;
}

}  // namespace

TEST(BufferPool, LendsFreedBlocksBestFitAndGrowsTheLargestFreeOne) {
    auto be = pfce::test::cpu_backend();
    BufferPool pool(*be);
    {
        Lease a = pool.acquire({2, 8, 4, 4}, Layout::nhwc);  // 256 floats
        Lease b = pool.acquire({100});
        EXPECT_EQ(a->layout(), Layout::nhwc);
        EXPECT_EQ(a->numel(), 256);
        EXPECT_NE(a->raw(), b->raw());
    }
    EXPECT_EQ(pool.blocks(), 2u);
    const void* small_block = nullptr;
    {
        Lease c = pool.acquire({90});  // the smallest free block that holds it: b's
        Lease d = pool.acquire({200});
        small_block = c->raw();
        EXPECT_EQ(c->numel(), 90);
        EXPECT_EQ(pool.blocks(), 2u);
        EXPECT_NE(c->raw(), d->raw());
    }
    {
        Lease big = pool.acquire({1000});  // nothing holds it: the largest free block grows
        EXPECT_EQ(pool.blocks(), 2u);
        Lease c = pool.acquire({90});
        EXPECT_EQ(c->raw(), small_block);
    }
    EXPECT_EQ(pool.bytes(), (1000u + 100u) * sizeof(float));
    EXPECT_THROW((void)Tensor::borrow(*pool.acquire({4}), {5}), ShapeError);
}

TEST(UNet, ParameterCountMatchesFormula) {
    auto be = pfce::test::cpu_backend();
    UNetConfig def;  // 3 in, 6 classes, depth 4, width 32
    UNet net(*be, def, 1);
    EXPECT_EQ(net.parameter_count(), unet_parameter_count(def));
    EXPECT_EQ(net.parameter_count(), 7763206);
    for (const UNetConfig& c :
         {UNetConfig{3, 5, 2, 4}, UNetConfig{4, 12, 1, 3}, UNetConfig{1, 2, 6, 2}}) {
        UNet small(*be, c, 1);
        EXPECT_EQ(small.parameter_count(), unet_parameter_count(c))
            << c.in_channels << " " << c.num_classes << " " << c.depth << " " << c.base_width;
    }
}

TEST(UNet, NamesDecayFlagsAndBuffers) {
    auto be = pfce::test::cpu_backend();
    UNet net(*be, UNetConfig{3, 6, 2, 4}, 1);
    std::map<std::string, const Parameter*> by_name;
    for (Parameter* p : net.parameters()) {
        EXPECT_TRUE(by_name.emplace(p->name, p).second) << "duplicate " << p->name;
        EXPECT_EQ(p->grad.shape(), p->value.shape()) << p->name;
    }
    ASSERT_TRUE(by_name.count("down0.conv1.weight"));
    EXPECT_EQ(by_name["down0.conv1.weight"]->value.shape(), Shape({4, 3, 3, 3}));
    EXPECT_TRUE(by_name["down0.conv1.weight"]->decay);
    EXPECT_FALSE(by_name["down0.bn1.weight"]->decay);
    EXPECT_FALSE(by_name["down0.bn1.bias"]->decay);
    EXPECT_EQ(by_name["bottom.conv2.weight"]->value.shape(), Shape({16, 16, 3, 3}));
    EXPECT_EQ(by_name["up1.upconv.weight"]->value.shape(), Shape({16, 8, 2, 2}));
    EXPECT_TRUE(by_name["up1.upconv.weight"]->decay);
    EXPECT_FALSE(by_name["up1.upconv.bias"]->decay);
    EXPECT_EQ(by_name["up0.conv1.weight"]->value.shape(), Shape({4, 8, 3, 3}));
    EXPECT_EQ(by_name["head.weight"]->value.shape(), Shape({6, 4, 1, 1}));
    EXPECT_FALSE(by_name["head.bias"]->decay);
    EXPECT_FALSE(by_name.count("down0.conv1.bias"));  // BN follows: no conv bias
    // 2 BN per level: depth 2 -> 2 down + bottom + 2 up = 5 double convs = 10 BN = 20 buffers.
    const auto bufs = net.buffers();
    EXPECT_EQ(bufs.size(), 20u);
    EXPECT_EQ(bufs[0]->name, "down0.bn1.running_mean");
    EXPECT_EQ(bufs[1]->name, "down0.bn1.running_var");
    EXPECT_EQ(bufs[1]->value.data<float>()[0], 1.0f);  // running var starts at 1
}

TEST(UNet, HeInitIsDeterministicFromSeed) {
    auto be = pfce::test::cpu_backend();
    const UNetConfig cfg{3, 6, 3, 16};
    UNet a(*be, cfg, 7), b(*be, cfg, 7), c(*be, cfg, 8);
    auto pa = a.parameters(), pb = b.parameters(), pc = c.parameters();
    ASSERT_EQ(pa.size(), pb.size());
    bool any_differs = false;
    for (std::size_t i = 0; i < pa.size(); ++i) {
        EXPECT_TRUE(all_close(pa[i]->value, pb[i]->value, 0, 0)) << pa[i]->name;
        if (!all_close(pa[i]->value, pc[i]->value, 0, 0)) any_differs = true;
    }
    EXPECT_TRUE(any_differs);
    // Kaiming normal, fan_in: std sqrt(2 / (Ci*9)) for bottom.conv2 (128*128*9 values).
    Parameter* w = find_param(a, "bottom.conv2.weight");
    ASSERT_NE(w, nullptr);
    double s = 0, sq = 0;
    const float* p = w->value.data<float>();
    for (std::int64_t i = 0; i < w->value.numel(); ++i) {
        s += p[i];
        sq += double(p[i]) * p[i];
    }
    const double n = static_cast<double>(w->value.numel()), want = std::sqrt(2.0 / (128 * 9));
    EXPECT_NEAR(s / n, 0.0, 0.02 * want);
    EXPECT_NEAR(std::sqrt(sq / n), want, 0.01 * want);
}

TEST(UNet, PadsTo304CentredAndCropsBack) {
    auto be = pfce::test::cpu_backend();
    const UNetConfig cfg{3, 6, 4, 2};  // narrow: this test is about shapes, not capacity
    UNet a(*be, cfg, 3), b(*be, cfg, 3);
    Tensor x = random_f32({1, 3, 300, 300}, 1);
    const Tensor& la = a.forward(x, true);
    EXPECT_EQ(la.shape(), Shape({1, 6, 300, 300}));
    // The same network fed the reflect-padded 304x304 image gives the same logits at (2,2).
    Tensor xp = Tensor::host({1, 3, 304, 304}, DType::f32);
    be->reflect_pad(x, xp, 2, 2);
    const Tensor& lb = b.forward(xp, true);
    EXPECT_EQ(lb.shape(), Shape({1, 6, 304, 304}));
    Tensor cropped = Tensor::host({1, 6, 300, 300}, DType::f32);
    be->crop(lb, cropped, 2, 2);
    EXPECT_TRUE(all_close(cropped, la, 0, 0));

    // Backward accepts logits-shaped gradients; a second step reuses every buffer.
    Tensor dl = random_f32({1, 6, 300, 300}, 2);
    a.backward(dl);
    const void* logits_mem = la.raw();
    const void* grad_mem = a.parameters()[0]->grad.raw();
    const Tensor& la2 = a.forward(x, true);
    a.backward(dl);
    EXPECT_EQ(la2.raw(), logits_mem);
    EXPECT_EQ(a.parameters()[0]->grad.raw(), grad_mem);
}

TEST(UNet, RejectsBadInputAndBackwardWithoutTraining) {
    auto be = pfce::test::cpu_backend();
    UNet net(*be, UNetConfig{3, 6, 4, 4}, 1);
    Tensor wrong_channels = Tensor::host({1, 4, 16, 16}, DType::f32);
    EXPECT_THROW(net.forward(wrong_channels, true), ShapeError);
    Tensor tiny = Tensor::host({1, 3, 5, 5}, DType::f32);  // needs 16x16: pad 11 > 5
    EXPECT_THROW(net.forward(tiny, true), InputError);
    Tensor x = random_f32({1, 3, 16, 16}, 2);
    const Tensor& l = net.forward(x, false);
    Tensor dl = Tensor::host(l.shape(), DType::f32);
    EXPECT_THROW(net.backward(dl), Error);
    // A training forward refused for its input leaves backward refused (inference's pooled
    // activations, gone, are nothing to differentiate).
    EXPECT_THROW(net.forward(tiny, true), InputError);
    EXPECT_THROW(net.backward(dl), Error);
    EXPECT_THROW(UNet(*be, UNetConfig{3, 0, 4, 4}, 1), InputError);
}

TEST(UNet, TrainingUpdatesRunningStatsInferenceDoesNot) {
    auto be = pfce::test::cpu_backend();
    UNet net(*be, UNetConfig{3, 6, 2, 4}, 1);
    Tensor x = random_f32({2, 3, 8, 8}, 2, 0.0f, 2.0f);
    net.forward(x, false);
    EXPECT_EQ(net.buffers()[0]->value.data<float>()[0], 0.0f);
    net.forward(x, true);
    EXPECT_NE(net.buffers()[0]->value.data<float>()[0], 0.0f);
}

namespace {

// The U-Net at inference from the backend's ops and the network's named weights, each output a
// tensor of its own: the graph of DESIGN §4 written out again, the oracle of the network's
// inference (which keeps only the activations a later layer reads, in its buffer pool).
Tensor inference_oracle(Backend& b, UNet& net, const Tensor& x) {
    std::map<std::string, const Tensor*> w;
    for (Parameter* p : net.parameters()) w[p->name] = &p->value;
    for (Buffer* u : net.buffers()) w[u->name] = &u->value;
    const UNetConfig& c = net.config();
    const Layout layout = b.activation_layout();
    const DType dtype = b.activation_dtype();
    auto make = [&](const Shape& s, Layout l = Layout::nchw, DType d = DType::f32) {
        Tensor t;
        ensure_tensor(b, t, s, d, l);
        return t;
    };
    auto conv = [&](const Tensor& in, const std::string& name, int pad, bool logits) {
        const Tensor& k = *w.at(name + ".weight");
        Tensor y = logits ? make({in.dim(0), k.dim(0), in.dim(2), in.dim(3)})
                          : make({in.dim(0), k.dim(0), in.dim(2), in.dim(3)}, layout, dtype);
        const Tensor none;
        b.conv2d_forward(in, k, w.count(name + ".bias") ? *w.at(name + ".bias") : none, y,
                         Conv2dParams{pad});
        return y;
    };
    auto bn = [&](const Tensor& in, const std::string& name) {
        Tensor y = make(in.shape(), in.layout(), in.dtype());
        BatchNormParams p;
        p.relu = true;
        b.batchnorm_forward_infer(in, *w.at(name + ".weight"), *w.at(name + ".bias"),
                                  *w.at(name + ".running_mean"), *w.at(name + ".running_var"), y,
                                  p);
        return y;
    };
    auto double_conv = [&](const Tensor& in, const std::string& name) {
        return bn(
            conv(bn(conv(in, name + ".conv1", 1, false), name + ".bn1"), name + ".conv2", 1, false),
            name + ".bn2");
    };
    const std::int64_t unit = std::int64_t{1} << c.depth;
    const std::int64_t h = x.dim(2), wd = x.dim(3);
    const std::int64_t h2 = (h + unit - 1) / unit * unit, w2 = (wd + unit - 1) / unit * unit;
    const int top = static_cast<int>((h2 - h) / 2), left = static_cast<int>((w2 - wd) / 2);
    Tensor in = make({x.dim(0), x.dim(1), h2, w2});
    b.reflect_pad(x, in, top, left);
    std::vector<Tensor> skips;
    for (int l = 0; l < c.depth; ++l) {
        skips.push_back(double_conv(in, "down" + std::to_string(l)));
        const Tensor& s = skips.back();
        in = make({s.dim(0), s.dim(1), s.dim(2) / 2, s.dim(3) / 2}, layout, dtype);
        b.maxpool2x2_forward(s, in);
    }
    in = double_conv(in, "bottom");
    for (int l = c.depth - 1; l >= 0; --l) {
        const std::string n = "up" + std::to_string(l);
        const Tensor& k = *w.at(n + ".upconv.weight");
        Tensor up = make({in.dim(0), k.dim(1), 2 * in.dim(2), 2 * in.dim(3)}, layout, dtype);
        b.upconv2x2_forward(in, k, *w.at(n + ".upconv.bias"), up);
        const Tensor& s = skips[static_cast<std::size_t>(l)];
        Tensor joined = make({s.dim(0), s.dim(1) + up.dim(1), s.dim(2), s.dim(3)}, layout, dtype);
        b.concat_channels(s, up, joined);
        in = double_conv(joined, n);
    }
    const Tensor full = conv(in, "head", 0, true);
    Tensor logits = make({x.dim(0), c.num_classes, h, wd});
    b.crop(full, logits, top, left);
    return logits;
}

}  // namespace

// Inference in a network that has not trained keeps only the activations a later layer reads (the
// skips and a layer's input and output, in the network's buffer pool), not every layer's output:
// the same logits, bit for bit, as the network written out op by op with a tensor per output, on
// the CPU's layouts and at bf16, padded or not, for batches of one size after another; and the
// pool holds far less than the layers' outputs together. Once it has trained (validation), its
// layers keep their outputs for backward and inference writes there: the same logits again.
TEST(UNet, InferenceHoldsOnlyLiveActivationsAndGivesTheSameLogits) {
    struct Case {
        Layout layout;
        Precision precision;
    };
    for (const Case k : {Case{Layout::nchw, Precision::fp32}, Case{Layout::nhwc, Precision::fp32},
                         Case{Layout::nhwc, Precision::bf16}}) {
        CpuBackend b(k.layout);
        b.set_precision(k.precision);
        UNet net(b, UNetConfig{3, 5, 3, 4}, 7);
        // Running statistics of their own (not 0 and 1), as a checkpoint brings them.
        std::uint32_t stream = 40;
        for (Buffer* u : net.buffers()) {
            const Tensor r = random_f32(u->value.shape(), stream++, 0.2f, 1.5f);
            std::memcpy(u->value.raw(), r.raw(), r.bytes());
        }
        for (const bool trained : {false, true}) {
            // Trained: a step in this process (its statistics moved on, the oracle reads them).
            if (trained) net.forward(random_f32({2, 3, 32, 32}, 10, -1, 2), true);
            for (const Shape& shape :
                 {Shape{2, 3, 40, 48}, Shape{3, 3, 37, 29}, Shape{1, 3, 40, 48}}) {
                const Tensor x = random_f32(shape, 3, -2, 2);
                const Tensor want = inference_oracle(b, net, x);
                const Tensor& got = net.forward(x, false);
                ASSERT_EQ(got.shape(), want.shape());
                ASSERT_EQ(std::memcmp(got.raw(), want.raw(), got.bytes()), 0)
                    << "layout " << static_cast<int>(k.layout) << ", precision "
                    << static_cast<int>(k.precision) << ", input " << shape[2] << "x" << shape[3]
                    << (trained ? ", trained" : "");
            }
        }
    }
    // Memory: one batch of 4 at 128x128 through a fresh network, inference only.
    CpuBackend b(Layout::nchw);
    UNet net(b, UNetConfig{3, 6, 3, 8}, 1);
    const Tensor x = random_f32({4, 3, 128, 128}, 5);
    net.forward(x, false);
    // What the layers kept before, in floats per input pixel: at level l (a 4^l-th of the
    // pixels, width w 2^l) the encoder's two convolutions and batch norms and its pooled output,
    // the concat and the decoder's four; the bottom's four; the head's logits.
    const UNetConfig& c = net.config();
    double kept = 4.0 * (c.base_width << c.depth) / (1 << (2 * c.depth)) + c.num_classes;
    for (int l = 0; l < c.depth; ++l) {
        const double px = 1.0 / (1 << (2 * l)), wl = c.base_width << l;
        kept += px * (4 * wl + 2 * wl + 4 * wl) + px / 4 * wl;
    }
    const double pixels = 4.0 * 128 * 128;
    EXPECT_LT(static_cast<double>(net.buffer_pool_bytes()), 0.4 * 4 * kept * pixels)
        << net.buffer_pool_bytes() << " bytes in the pool";
    EXPECT_LT(static_cast<double>(net.buffer_pool_bytes()),
              inference_bytes(128 * 128, 4, c.base_width));
    // A network that will train (a trainer's, validating before its first step on a resume)
    // writes into its layers' outputs from the first call: the pool lends only the transposed
    // convolutions' outputs, as in training.
    UNet trainee(b, UNetConfig{3, 6, 3, 8}, 1);
    trainee.will_train();
    trainee.forward(x, false);
    EXPECT_LT(trainee.buffer_pool_bytes(), net.buffer_pool_bytes() / 3);
}

// The same on the GPU: inference against the network written out op by op on the same backend,
// under the kernels predict and eval take from a checkpoint (nchw; the run defaults: nhwc
// activations, channels_last convolutions, batch norm by channel, and bf16 storage at bf16).
// Each network first infers a batch of NaN (a kernel that scales what its output held by a beta of
// 0 keeps NaN), then another of other values: an element a later op leaves unwritten holds
// another input's value. cuDNN may pick another algorithm from one
// call to the next, so the logits are held to 1e-5 of their largest (2e-2 at bf16, whose inner
// activations are rounded to 8 bits of mantissa) rather than bit for bit.
TEST(UNetGpu, InferenceGivesTheLogitsOfTheOpByOpNetwork) {
    struct Case {
        const char* kernels;
        Precision precision;
        float tolerance;
    };
    for (const Case k : {Case{"activations=nchw", Precision::tf32, 1e-5f},
                         Case{"", Precision::tf32, 1e-5f}, Case{"", Precision::bf16, 2e-2f}}) {
        PFCE_REQUIRE_GPU(gpu);
        select_kernels(*gpu, k.kernels, false);
        gpu->set_precision(k.precision);
        const std::string what = std::string("kernels \"") + k.kernels +
                                 "\" (run defaults after), " +
                                 (k.precision == Precision::bf16 ? "bf16" : "tf32");
        UNet net(*gpu, UNetConfig{3, 5, 3, 4}, 7);
        std::uint32_t stream = 40;
        for (Buffer* u : net.buffers())
            gpu->copy(u->value, random_f32(u->value.shape(), stream++, 0.2f, 1.5f));
        Tensor nan = Tensor::host({3, 3, 40, 48}, DType::f32);
        std::fill_n(nan.data<float>(), nan.numel(), std::numeric_limits<float>::quiet_NaN());
        net.forward(test::to_backend(*gpu, nan), false);
        net.forward(test::to_backend(*gpu, random_f32({3, 3, 40, 48}, 99, -5, 5)), false);
        for (const Shape& shape : {Shape{2, 3, 40, 48}, Shape{3, 3, 37, 29}, Shape{1, 3, 40, 48}}) {
            const Tensor x = test::to_backend(*gpu, random_f32(shape, 3, -2, 2));
            const Tensor want = test::to_host(*gpu, inference_oracle(*gpu, net, x));
            const Tensor got = test::to_host(*gpu, net.forward(x, false));
            ASSERT_EQ(got.shape(), want.shape()) << what;
            float largest = 0, worst = 0;
            std::int64_t not_finite = 0;
            for (std::int64_t i = 0; i < want.numel(); ++i) {
                const float g = got.data<float>()[i], w = want.data<float>()[i];
                not_finite += !std::isfinite(g) || !std::isfinite(w);
                largest = std::max(largest, std::fabs(w));
                worst = std::max(worst, std::fabs(g - w));
            }
            EXPECT_EQ(not_finite, 0) << what << ", input " << shape[2] << "x" << shape[3];
            EXPECT_LE(worst, k.tolerance * largest)
                << what << ", input " << shape[2] << "x" << shape[3];
        }
    }
}

// A whole tiny U-Net (depth 2, width 4, padded 10x11 -> 12x12) through the partial focal loss:
// analytic gradients of selected weights against central finite differences.
TEST(UNet, GradientMatchesFiniteDifferencesThroughFocalLoss) {
    auto be = pfce::test::cpu_backend();
    const UNetConfig cfg{3, 4, 2, 4};
    UNet net(*be, cfg, 11);
    Tensor x = random_f32({2, 3, 10, 11}, 3);
    Tensor labels = random_labels({2, 10, 11}, 4, 4);
    FocalLossParams fp;  // gamma 2
    Tensor loss = Tensor::host({1}, DType::f32), dlogits = Tensor::host({2, 4, 10, 11}, DType::f32),
           none;
    auto loss_at = [&]() {
        const Tensor& l = net.forward(x, true);
        be->focal_loss(l, labels, fp, loss, none);
        return static_cast<double>(loss.data<float>()[0]);
    };
    const Tensor& logits = net.forward(x, true);
    be->focal_loss(logits, labels, fp, loss, dlogits);
    net.backward(dlogits);

    const char* names[] = {"down0.conv1.weight",  "down0.bn2.weight", "down1.conv2.weight",
                           "bottom.conv1.weight", "bottom.bn2.bias",  "up1.upconv.weight",
                           "up0.upconv.bias",     "up0.conv1.weight", "up0.bn2.weight",
                           "head.weight",         "head.bias"};
    int checked = 0, bad = 0;
    for (const char* name : names) {
        Parameter* p = find_param(net, name);
        ASSERT_NE(p, nullptr);
        float* v = p->value.data<float>();
        const float* g = p->grad.data<float>();
        for (std::int64_t i : {std::int64_t{0}, p->value.numel() / 2, p->value.numel() - 1}) {
            const float keep = v[i];
            const double eps = 1e-3;  // larger steps cross ReLU/max-pool kinks in this tiny net
            v[i] = keep + static_cast<float>(eps);
            const double fp_ = loss_at();
            v[i] = keep - static_cast<float>(eps);
            const double fm = loss_at();
            v[i] = keep;
            const double fd = (fp_ - fm) / (2 * eps);
            ++checked;
            if (std::fabs(fd - g[i]) > 2e-3 + 5e-2 * std::fabs(fd)) {
                ++bad;
                ADD_FAILURE() << name << "[" << i << "]: analytic " << g[i] << " finite difference "
                              << fd;
            }
        }
    }
    EXPECT_EQ(bad, 0) << "of " << checked;
}

namespace {

// |got - ref| / |ref| over all elements of two host f32 tensors (|got - ref| when ref is 0).
double relative_l2(const Tensor& ref, const Tensor& got) {
    double diff = 0, norm = 0;
    for (std::int64_t i = 0; i < ref.numel(); ++i) {
        const double r = ref.data<float>()[i], g = got.data<float>()[i];
        diff += (g - r) * (g - r);
        norm += r * r;
    }
    return norm > 0 ? std::sqrt(diff / norm) : std::sqrt(diff);
}

}  // namespace

// GPU against CPU: the same weights, input and loss gradient; logits, every parameter gradient and
// the running statistics agree. This checks how the network is put together on the GPU (layouts,
// buffers, which gradient goes where); the ops' numerics, TF32 included, are checked op by op in
// test_nn_ops_gpu.cpp and test_precision.cpp. Both sides run at fp32: at the GPU's default tf32 a
// correct GPU cannot pass (CPU stand-ins, the twin at tf32 rounding or truncating the factors:
// gradients 26x over an elementwise bound of 1e-2 of the largest + 2e-2, 60-80% apart in L2 at
// worst over 100 seeds; truncation also drifts the running statistics to 1.2x their bound).
// The forward is continuous in the convolutions' rounding, so logits and running statistics are
// held elementwise. The gradients are not: a difference of a few ulp in the forward flips a ReLU or
// max-pool decision somewhere (pre-activations near 0 and near-ties are common), and the rerouted
// element moves whole tensors through the batch-norm backward of the 8x6 bottom level. Measured on
// the CPU over 100 seeds: its nchw and nhwc runs at fp32 broke that elementwise bound in 10; with a
// random error of up to 4e-6 sum|x||w| added to every convolution (a simulated fp32 Winograd
// F(6x6,3x3) errs up to 3.7e-6, 4e-7 rms) all 100 did, yet no gradient was more than 0.15 from the
// CPU's in L2 (0.05 without the added error). So each gradient must be within 0.25 in L2: one left
// out, doubled, sent to the wrong tensor or in the wrong layout is off by 1 or more.
TEST(UNetGpu, ForwardBackwardMatchesCpu) {
    PFCE_REQUIRE_GPU(gpu);
    auto cpu = pfce::test::cpu_backend();
    cpu->set_precision(Precision::fp32);
    gpu->set_precision(Precision::fp32);
    const UNetConfig cfg{3, 6, 3, 8};
    UNet nc(*cpu, cfg, 5), ng(*gpu, cfg, 6);
    auto pc = nc.parameters(), pg = ng.parameters();
    ASSERT_EQ(pc.size(), pg.size());
    for (std::size_t i = 0; i < pc.size(); ++i) gpu->copy(pg[i]->value, pc[i]->value);
    Tensor x = random_f32({2, 3, 60, 44}, 7);
    Tensor xg = to_backend(*gpu, x);
    const Tensor& lc = nc.forward(x, true);
    Tensor lg = to_host(*gpu, ng.forward(xg, true));
    auto tol_of = [](const Tensor& ref) {
        double m = 0;
        for (std::int64_t i = 0; i < ref.numel(); ++i)
            m = std::max(m, double(std::fabs(ref.data<float>()[i])));
        return 1e-2 * m + 1e-5;
    };
    EXPECT_TRUE(all_close(lc, lg, tol_of(lc), 1e-2));
    Tensor dl = random_f32(lc.shape(), 8);
    Tensor dlg = to_backend(*gpu, dl);
    nc.backward(dl);
    ng.backward(dlg);
    for (std::size_t i = 0; i < pc.size(); ++i) {
        Tensor g = to_host(*gpu, pg[i]->grad);
        EXPECT_LE(relative_l2(pc[i]->grad, g), 0.25) << pc[i]->name;
    }
    auto bc = nc.buffers(), bg = ng.buffers();
    for (std::size_t i = 0; i < bc.size(); ++i) {
        Tensor b = to_host(*gpu, bg[i]->value);
        EXPECT_TRUE(all_close(bc[i]->value, b, 1e-4, 1e-3)) << bc[i]->name;
    }
}
