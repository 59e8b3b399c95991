// bf16 storage of a network's activations (DType::bf16, Backend::activation_dtype; CUDA's
// "activation_storage" variant at precision bf16). Here: bf16 host tensors, views and the layers'
// buffer pool, which lends bf16 by bytes; the entry checks, which take bf16 only where a backend
// says so; the CPU twin (tests/bf16_storage_twin.hpp), which rounds every activation output once;
// a U-Net on the twin, whose activations are then bf16 and take about half the memory, and which
// trains; and on a GPU (Bf16StorageGpu.*, skipped without one) every CUDA op on bf16 activations
// against that twin.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "core/kernels/precision.hpp"
#include "core/op_checks.hpp"
#include "host/cpu/cpu_backend.hpp"
#include "models/buffer_pool.hpp"
#include "models/unet.hpp"
#include "tests/bf16_storage_twin.hpp"
#include "tests/trainer_fixtures.hpp"

namespace pfce {
namespace {

using kernels::round_bf16;
using test::random_f32;
using test::to_layout;

// ---- host tensors, views, the pool ----------------------------------------------------------

TEST(Bf16Storage, HostTensorsAreTwoBytesAndFillRounds) {
    Tensor t = Tensor::host({3}, DType::bf16);
    EXPECT_EQ(t.bytes(), 6u);
    EXPECT_EQ(t.describe(), "bf16(3)@cpu");
    // 1 + 2^-8 is a tie between 1 and 1 + 2^-7: to even, 1. 1 + 3 * 2^-8 is a tie between
    // 1 + 2^-7 and 1 + 2^-6: to even, 1 + 2^-6.
    for (const auto& [value, want] :
         {std::pair{1.0f + 0x1p-8f, 1.0f}, std::pair{1.0f + 3 * 0x1p-8f, 1.0f + 0x1p-6f},
          std::pair{-2.5f, -2.5f}}) {
        fill_host(t, value);
        for (int i = 0; i < 3; ++i) EXPECT_EQ(kernels::load_value(t.data<Bf16>() + i), want);
    }
    EXPECT_THROW((void)t.data<float>(), ShapeError);
}

TEST(Bf16Storage, ViewsAndThePoolCountBytes) {
    Tensor owner = Tensor::host({4}, DType::f32);  // 16 bytes
    EXPECT_EQ(Tensor::borrow(owner, {8}, Layout::nchw, DType::bf16).bytes(), 16u);
    EXPECT_THROW(Tensor::borrow(owner, {9}, Layout::nchw, DType::bf16), ShapeError);

    auto cpu = test::cpu_backend();
    BufferPool pool(*cpu);
    {
        Lease a = pool.acquire({2, 5}, Layout::nchw, DType::bf16);  // 10 bf16 = 20 bytes
        EXPECT_EQ(a->dtype(), DType::bf16);
        EXPECT_EQ(pool.bytes(), 20u);
    }
    {
        Lease b = pool.acquire({10}, Layout::nchw, DType::f32);  // twice the bytes: regrown
        EXPECT_EQ(pool.bytes(), 40u);
    }
    Lease c = pool.acquire({1, 2, 2, 5}, Layout::nhwc, DType::bf16);  // 20 bf16 fit in 40 bytes
    EXPECT_EQ(pool.blocks(), 1u);
    EXPECT_EQ(pool.bytes(), 40u);
    EXPECT_EQ(c->layout(), Layout::nhwc);
}

// ---- entry checks -------------------------------------------------------------------------------

template <typename Fn>
std::string shape_error(Fn&& fn) {
    return test::error_message<ShapeError>(std::forward<Fn>(fn));
}

TEST(Bf16Storage, OpsTakeBf16ActivationsOnlyWhereTheBackendSaysSo) {
    const Tensor x = Tensor::host({1, 2, 4, 4}, DType::bf16),
                 w = Tensor::host({3, 2, 3, 3}, DType::f32);
    Tensor y = Tensor::host({1, 3, 4, 4}, DType::f32);
    // The CPU backend computes in f32 only (the twin converts for it).
    auto cpu = test::cpu_backend();
    EXPECT_MESSAGE_HAS(shape_error([&] { cpu->conv2d_forward(x, w, Tensor(), y, {1}); }),
                       "must be f32 on the host");
    // Where bf16 is allowed, a convolution's x and y may differ (the image in, logits out) ...
    const ActivationForms bf16_ok(true, true);
    EXPECT_NO_THROW(check_conv2d_args(x, w, y, Tensor(), {1}, DeviceKind::cpu, bf16_ok));
    // ... but its weights stay f32,
    const Tensor w16 = Tensor::host({3, 2, 3, 3}, DType::bf16);
    EXPECT_MESSAGE_HAS(
        shape_error([&] { check_conv2d_args(x, w16, y, Tensor(), {1}, DeviceKind::cpu, bf16_ok); }),
        "f32 weights");
    // and any other op's activations share one dtype.
    const Tensor c2 = Tensor::host({2}, DType::f32);
    Tensor stats = Tensor::host({2}, DType::f32), s2 = Tensor::host({2}, DType::f32),
           s3 = Tensor::host({2}, DType::f32), s4 = Tensor::host({2}, DType::f32);
    Tensor y32 = Tensor::host({1, 2, 4, 4}, DType::f32);
    EXPECT_MESSAGE_HAS(shape_error([&] {
                           check_batchnorm_forward_train_args(x, c2, c2, stats, s2, y32, s3, s4,
                                                              DeviceKind::cpu, bf16_ok);
                       }),
                       "share one dtype");
    Tensor cat = Tensor::host({1, 4, 4, 4}, DType::bf16);
    EXPECT_MESSAGE_HAS(
        shape_error([&] { check_concat_channels_args(x, y32, cat, DeviceKind::cpu, bf16_ok); }),
        "share one dtype");
}

TEST(Bf16Storage, ConfigRefusesBf16StorageAtAnotherPrecision) {
    Config c = test::small_config(test::temp_dir("bf16_storage_config") + "/run");
    c.run.kernels = "activation_storage=bf16";
    c.run.precision = "tf32";
    const std::string msg = test::input_error_message([&] { validate(c, "cfg.toml"); });
    EXPECT_MESSAGE_HAS(msg, "run.precision");
    EXPECT_MESSAGE_HAS(msg, "tf32");
    c.run.precision = "bf16";
    EXPECT_NO_THROW(validate(c, "cfg.toml"));
}

// ---- the twin -----------------------------------------------------------------------------------

using Twin = test::Bf16StorageTwin<CpuBackend>;

// A host tensor of `dtype` in `layout` with the (N,C,H,W) values of nchw f32 `values`, rounded to
// bf16 for bf16; and back as nchw f32.
Tensor as_stored(const Tensor& values, Layout layout, DType dtype) {
    Tensor f = to_layout(values, layout);
    if (dtype == DType::f32) return f;
    Tensor t = Tensor::host(f.shape(), DType::bf16);
    if (f.shape().rank == 4) t.set_layout(layout);
    for (std::int64_t i = 0; i < f.numel(); ++i)
        kernels::store_value(t.data<Bf16>() + i, f.data<float>()[i]);
    return t;
}
Tensor as_values(const Tensor& stored) {
    Tensor f = Tensor::host(stored.shape(), DType::f32);
    if (stored.shape().rank == 4) f.set_layout(stored.layout());
    for (std::int64_t i = 0; i < stored.numel(); ++i)
        f.data<float>()[i] = stored.dtype() == DType::bf16
                                 ? kernels::load_value(stored.data<Bf16>() + i)
                                 : stored.data<float>()[i];
    return to_layout(f, Layout::nchw);
}
// `values` (host nchw f32) rounded to bf16.
Tensor rounded(const Tensor& values) {
    return as_values(as_stored(values, Layout::nchw, DType::bf16));
}

void expect_bit_equal(const Tensor& want, const Tensor& got) {
    ASSERT_EQ(want.shape(), got.shape());
    std::int64_t bad = 0, first = -1;
    for (std::int64_t i = 0; i < want.numel(); ++i)
        if (kernels::float_bits(want.data<float>()[i]) != kernels::float_bits(got.data<float>()[i]))
            if (bad++ == 0) first = i;
    EXPECT_EQ(bad, 0) << "first at " << first << ": want " << want.data<float>()[first] << " got "
                      << got.data<float>()[first];
}

// The twin's outputs are the CPU backend's f32 outputs on the same (bf16) values, rounded once:
// in place (ReLU), into two outputs (concat backward), mixing an f32 input with a bf16 output
// (the first convolution) and the reverse (the logits).
TEST(Bf16Storage, TwinRoundsEachActivationOutputOfTheF32Op) {
    for (const Layout layout : {Layout::nchw, Layout::nhwc}) {
        SCOPED_TRACE(layout_name(layout));
        CpuBackend cpu(layout);
        Twin twin(layout);
        cpu.set_precision(Precision::bf16);
        twin.set_precision(Precision::bf16);
        const Tensor xv = rounded(random_f32({2, 4, 5, 6}, 1)), gv = random_f32({4}, 2),
                     bv = random_f32({4}, 3), dyv = rounded(random_f32({2, 4, 5, 6}, 4));
        const Tensor w = random_f32({3, 4, 3, 3}, 5), wb = random_f32({3}, 6);
        auto f32 = [&](const Tensor& v) { return as_stored(v, layout, DType::f32); };
        auto b16 = [&](const Tensor& v) { return as_stored(v, layout, DType::bf16); };

        // Batch norm + ReLU, forward and backward.
        Tensor rm = Tensor::host({4}, DType::f32), rv = Tensor::host({4}, DType::f32);
        Tensor sm = Tensor::host({4}, DType::f32), si = Tensor::host({4}, DType::f32);
        Tensor y = f32(Tensor::host({2, 4, 5, 6}, DType::f32));
        cpu.batchnorm_forward_train(f32(xv), gv, bv, rm, rv, y, sm, si, {.relu = true});
        Tensor y16 = b16(Tensor::host({2, 4, 5, 6}, DType::f32));
        Tensor rm2 = Tensor::host({4}, DType::f32), rv2 = Tensor::host({4}, DType::f32);
        Tensor sm2 = Tensor::host({4}, DType::f32), si2 = Tensor::host({4}, DType::f32);
        twin.batchnorm_forward_train(b16(xv), gv, bv, rm2, rv2, y16, sm2, si2, {.relu = true});
        expect_bit_equal(rounded(as_values(y)), as_values(y16));
        expect_bit_equal(sm, sm2);

        // ReLU in place on bf16.
        Tensor r16 = b16(dyv);
        twin.relu_forward(r16, r16);
        Tensor r = f32(dyv);
        cpu.relu_forward(r, r);
        expect_bit_equal(as_values(r), as_values(r16));

        // Concat backward into two bf16 gradients.
        const Tensor dcat = rounded(random_f32({2, 7, 5, 6}, 7));
        Tensor da = b16(Tensor::host({2, 4, 5, 6}, DType::f32)),
               db = b16(Tensor::host({2, 3, 5, 6}, DType::f32));
        twin.concat_channels_backward(b16(dcat), da, db);
        Tensor da32 = f32(Tensor::host({2, 4, 5, 6}, DType::f32)),
               db32 = f32(Tensor::host({2, 3, 5, 6}, DType::f32));
        cpu.concat_channels_backward(f32(dcat), da32, db32);
        expect_bit_equal(as_values(da32), as_values(da));
        expect_bit_equal(as_values(db32), as_values(db));

        // A convolution from an f32 input into bf16, and from bf16 into f32.
        Tensor c32 = f32(Tensor::host({2, 3, 5, 6}, DType::f32));
        cpu.conv2d_forward(f32(xv), w, wb, c32, {1});
        Tensor c16 = b16(Tensor::host({2, 3, 5, 6}, DType::f32));
        twin.conv2d_forward(f32(xv), w, wb, c16, {1});
        expect_bit_equal(rounded(as_values(c32)), as_values(c16));
        Tensor l32 = Tensor::host({2, 3, 5, 6}, DType::f32);
        twin.conv2d_forward(b16(xv), w, wb, l32, {1});
        Tensor l_cpu = Tensor::host({2, 3, 5, 6}, DType::f32);
        cpu.conv2d_forward(f32(xv), w, wb, l_cpu, {1});
        expect_bit_equal(as_values(l_cpu), as_values(l32));

        // A sum of two bf16 gradients, rounded once.
        Tensor s16 = b16(xv);
        twin.add_inplace(s16, b16(dyv));
        Tensor s32 = f32(xv);
        cpu.add_inplace(s32, f32(dyv));
        expect_bit_equal(rounded(as_values(s32)), as_values(s16));
    }
}

// A backend that counts the bytes of the tensors it allocates, by dtype.
template <class Base>
class CountingBytes final : public Base {
  public:
    using Base::Base;
    Tensor zeros(Shape shape, DType dtype) override {
        bytes[dtype] += static_cast<std::size_t>(shape.numel()) * dtype_size(dtype);
        return Base::zeros(shape, dtype);
    }
    std::map<DType, std::size_t> bytes;
};

// The U-Net's own code on the twin: its activations and their gradients are bf16, which halves
// what a training step allocates beyond the weights; the logits stay f32; one step's loss and
// gradients are those of bf16 convolutions with f32 storage within bf16 rounding.
TEST(Bf16Storage, UNetOnTheTwinHoldsBf16ActivationsInHalfTheMemory) {
    const UNetConfig uc{3, 6, 2, 8};
    const Tensor x = random_f32({2, 3, 32, 32}, 11);
    const Tensor labels = test::random_labels({2, 32, 32}, 6, 0.5, 12);
    struct Step {
        std::map<DType, std::size_t> bytes;
        float loss;
        std::vector<Tensor> grads;
        DType logits;
    };
    auto step = [&](auto& be) {
        be.set_precision(Precision::bf16);
        UNet net(be, uc, 5);
        const std::size_t weights = be.bytes[DType::f32];
        const Tensor& logits = net.forward(x, true);
        Tensor loss = be.zeros({1}, DType::f32), dl = be.zeros(logits.shape(), DType::f32);
        be.focal_loss(logits, labels, {}, loss, dl);
        net.backward(dl);
        Step s{be.bytes, loss.data<float>()[0], {}, logits.dtype()};
        s.bytes[DType::f32] -= weights;
        for (Parameter* p : net.parameters()) s.grads.push_back(to_layout(p->grad, Layout::nchw));
        return s;
    };
    CountingBytes<CpuBackend> plain;
    CountingBytes<Twin> twin;
    const Step a = step(plain), b = step(twin);
    EXPECT_EQ(a.bytes.count(DType::bf16), 0u);
    EXPECT_EQ(b.logits, DType::f32);
    const double plain_bytes = static_cast<double>(a.bytes.at(DType::f32));
    const double twin_bytes = static_cast<double>(b.bytes.at(DType::f32) + b.bytes.at(DType::bf16));
    EXPECT_GT(b.bytes.at(DType::bf16), b.bytes.at(DType::f32)) << "most activations are bf16";
    EXPECT_LT(twin_bytes, 0.6 * plain_bytes) << plain_bytes << " vs " << twin_bytes;
    EXPECT_NEAR(b.loss, a.loss, 1e-2 * std::fabs(a.loss));
    ASSERT_EQ(a.grads.size(), b.grads.size());
    for (std::size_t i = 0; i < a.grads.size(); ++i) {
        double diff = 0, norm = 0;
        for (std::int64_t k = 0; k < a.grads[i].numel(); ++k) {
            const double d = b.grads[i].data<float>()[k] - a.grads[i].data<float>()[k];
            diff += d * d;
            norm += a.grads[i].data<float>()[k] * a.grads[i].data<float>()[k];
        }
        EXPECT_LE(std::sqrt(diff), 0.1 * std::sqrt(norm) + 1e-6) << "parameter " << i;
    }
}

// The trainer on the twin: a bf16-storage run trains (its loss falls as at f32 storage).
TEST(Bf16Storage, TrainingOnTheTwinLowersTheLoss) {
    const TrainInputs in = test::synthetic_inputs(4, 32, true);
    Config c = test::small_config(test::temp_dir("bf16_storage_train") + "/run");
    c.run.epochs = 6;
    c.run.precision = "bf16";
    c.data.augment = false;
    c.schedule.name = "cosine";
    c.schedule.warmup_epochs = 1;
    Twin twin;
    const TrainResult r = train_unet(twin, c, in, test::quiet_options());
    const auto lines = test::read_metrics(r.metrics_path);
    ASSERT_EQ(lines.size(), 6u);
    const double first = lines.front()["train_loss"], last = lines.back()["train_loss"];
    EXPECT_TRUE(std::isfinite(last));
    EXPECT_LT(last, 0.7 * first) << "first " << first << " last " << last;
}

// ---- on a GPU -----------------------------------------------------------------------------------

// The CUDA backend storing bf16 activations (precision bf16, "activation_storage" bf16), in
// `layout`, or null without a device.
std::unique_ptr<Backend> bf16_gpu(Layout layout) {
    auto gpu = test::cuda_backend_or_null();
    if (!gpu) return nullptr;
    gpu->set_precision(Precision::bf16);
    gpu->select_op_variant("activation_storage", "bf16");
    gpu->select_op_variant("activations", layout == Layout::nhwc ? "nhwc" : "nchw");
    return gpu;
}

// A stored tensor (as_stored) on `be`, and back as host nchw f32 values.
Tensor put(Backend& be, const Tensor& values, Layout layout, DType dtype) {
    const Tensor h = as_stored(values, layout, dtype);
    Tensor d = be.zeros(h.shape(), dtype);
    if (h.shape().rank == 4) d.set_layout(layout);
    be.copy(d, h);
    return d;
}
Tensor get(Backend& be, const Tensor& t) {
    Tensor h = Tensor::host(t.shape(), t.dtype());
    if (t.shape().rank == 4) h.set_layout(t.layout());
    be.copy(h, t);
    return as_values(h);
}

// got within one bf16 spacing of want (plus `atol`) everywhere, and bit-equal in at least
// `min_equal` of the elements: two f32 computations in different orders round to the same bf16
// value except where they straddle a rounding boundary.
void expect_within_a_spacing(const Tensor& want, const Tensor& got, double min_equal,
                             double atol = 0) {
    ASSERT_EQ(want.shape(), got.shape());
    std::int64_t equal = 0, bad = 0, first = -1;
    for (std::int64_t i = 0; i < want.numel(); ++i) {
        const double w = want.data<float>()[i], g = got.data<float>()[i];
        equal += w == g;
        if (!(std::fabs(w - g) <= 0x1p-7 * std::fabs(w) + atol) && bad++ == 0) first = i;
    }
    EXPECT_EQ(bad, 0) << "first at " << first << ": want " << want.data<float>()[first] << " got "
                      << got.data<float>()[first];
    EXPECT_GE(static_cast<double>(equal), min_equal * static_cast<double>(want.numel()));
}

// Every activation op of the U-Net on bf16 tensors against the twin, in both layouts: the
// comparisons and copies (ReLU, max-pool, concat) bit for bit, the f32 arithmetic rounded once
// (batch norm, the sum of two gradients) within a bf16 spacing where the two sums straddle a
// boundary; the f32 statistics and parameter gradients as the f32 ops'.
TEST(Bf16StorageGpu, ActivationOpsMatchTheTwin) {
    if (!test::cuda_backend_or_null()) PFCE_NO_GPU_SKIP_OR_FAIL();
    // nhwc also with batch norm's by-channel variant (16 channels: 4 values a thread).
    const std::pair<Layout, const char*> configs[] = {
        {Layout::nchw, "per_value"}, {Layout::nhwc, "per_value"}, {Layout::nhwc, "by_channel"}};
    for (const auto& [layout, bn] : configs) {
        SCOPED_TRACE(testing::Message() << layout_name(layout) << ", batchnorm_nhwc=" << bn);
        auto gpu = bf16_gpu(layout);
        if (!gpu) PFCE_NO_GPU_SKIP_OR_FAIL();
        gpu->select_op_variant("batchnorm_nhwc", bn);
        Twin twin(layout);
        twin.set_precision(Precision::bf16);
        const Shape s{2, 16, 9, 11}, pooled{2, 16, 4, 5};
        const Tensor xv = random_f32(s, 21, -2, 3), dyv = random_f32(s, 22),
                     gv = random_f32({16}, 23), bv = random_f32({16}, 24),
                     dpv = random_f32(pooled, 25);
        const Tensor zero = Tensor::host(s, DType::f32);
        struct Out {
            Tensor y, mean, invstd, rmean, rvar, dx, dgamma, dbeta, infer, relu, drelu, pool, dpool,
                cat, da, db, sum;
        };
        auto run = [&](Backend& be) {
            auto up = [&](const Tensor& v) { return put(be, v, layout, DType::bf16); };
            auto up32 = [&](const Tensor& v) { return test::to_backend(be, v); };
            Out o;
            Tensor x = up(xv), dy = up(dyv), y = up(zero), dx = up(zero);
            Tensor g = up32(gv), b = up32(bv), rm = be.zeros({16}, DType::f32),
                   rv = be.zeros({16}, DType::f32), sm = be.zeros({16}, DType::f32),
                   si = be.zeros({16}, DType::f32), dg = be.zeros({16}, DType::f32),
                   dbt = be.zeros({16}, DType::f32);
            be.fill(rv, 1.0f);
            be.batchnorm_forward_train(x, g, b, rm, rv, y, sm, si, {.relu = true});
            be.batchnorm_backward(x, &y, dy, g, sm, si, dx, dg, dbt);
            Tensor inf = up(zero);
            be.batchnorm_forward_infer(x, g, b, rm, rv, inf, {});
            Tensor r = up(xv), dr = up(zero);
            be.relu_forward(r, r);
            be.relu_backward(r, dy, dr);
            Tensor p = up(Tensor::host(pooled, DType::f32)), dp = up(zero);
            be.maxpool2x2_forward(x, p);
            be.maxpool2x2_backward(x, p, up(dpv), dp);
            Tensor cat = up(Tensor::host({2, 32, 9, 11}, DType::f32));
            be.concat_channels(x, dy, cat);
            Tensor da = up(zero), db = up(zero);
            be.concat_channels_backward(cat, da, db);
            Tensor sum = up(xv);
            be.add_inplace(sum, dy);
            o.y = get(be, y), o.mean = get(be, sm), o.invstd = get(be, si), o.rmean = get(be, rm);
            o.rvar = get(be, rv), o.dx = get(be, dx), o.dgamma = get(be, dg),
            o.dbeta = get(be, dbt);
            o.infer = get(be, inf), o.relu = get(be, r), o.drelu = get(be, dr), o.pool = get(be, p);
            o.dpool = get(be, dp), o.cat = get(be, cat), o.da = get(be, da), o.db = get(be, db);
            o.sum = get(be, sum);
            return o;
        };
        const Out want = run(twin), got = run(*gpu);
        using Field = std::pair<const char*, Tensor Out::*>;
        const Field exact[] = {{"relu", &Out::relu},   {"drelu", &Out::drelu}, {"pool", &Out::pool},
                               {"dpool", &Out::dpool}, {"cat", &Out::cat},     {"da", &Out::da},
                               {"db", &Out::db},       {"sum", &Out::sum}};
        const Field rounded_once[] = {{"y", &Out::y}, {"infer", &Out::infer}, {"dx", &Out::dx}};
        const Field f32_results[] = {{"mean", &Out::mean},     {"invstd", &Out::invstd},
                                     {"rmean", &Out::rmean},   {"rvar", &Out::rvar},
                                     {"dgamma", &Out::dgamma}, {"dbeta", &Out::dbeta}};
        for (const auto& [name, m] : exact) {
            SCOPED_TRACE(name);
            expect_bit_equal(want.*m, got.*m);
        }
        for (const auto& [name, m] : rounded_once) {
            SCOPED_TRACE(name);
            expect_within_a_spacing(want.*m, got.*m, 0.95, 1e-6);
        }
        for (const auto& [name, m] : f32_results) {
            SCOPED_TRACE(name);
            EXPECT_TRUE(test::all_close(want.*m, got.*m, 1e-5, 1e-4));
        }
    }
}

struct ConvCase {
    const char* name;
    bool upconv;
    int n, ci, co, h, w, k;
    DType x, y;  // the activations' dtypes (the small and big tensor of an upconv)
};

// A convolution's three passes with bf16 activations, f32 ones where the U-Net has them (its input
// into the first convolution, the logits out of the last), against the twin: in each layout cuDNN
// may convolve in, on nchw and nhwc activations. Both round the same bf16 factors and sum in f32
// in their own orders, so results agree but where a sum straddles a bf16 rounding boundary (one
// spacing, more than 85% bit-equal); the bias is added in f32 and rounded once more on bf16.
TEST(Bf16StorageGpu, ConvolutionsOnBf16TensorsMatchTheTwin) {
    if (!test::cuda_backend_or_null()) PFCE_NO_GPU_SKIP_OR_FAIL();
    const ConvCase cases[] = {
        {"conv 3x3 bf16 -> bf16", false, 2, 16, 24, 12, 10, 3, DType::bf16, DType::bf16},
        {"conv 3x3 f32 image -> bf16", false, 2, 3, 16, 12, 10, 3, DType::f32, DType::bf16},
        {"conv 1x1 bf16 -> f32 logits", false, 2, 16, 6, 9, 8, 1, DType::bf16, DType::f32},
        {"upconv bf16 -> bf16", true, 2, 32, 16, 6, 5, 2, DType::bf16, DType::bf16},
    };
    std::uint64_t seed = 700;
    for (const std::string conv_layout : {"nchw", "channels_last"})
        for (const Layout layout : {Layout::nchw, Layout::nhwc})
            for (const ConvCase& c : cases) {
                SCOPED_TRACE(std::string(c.name) + ", cuDNN " + conv_layout + ", " +
                             layout_name(layout) + " activations");
                auto gpu = bf16_gpu(layout);
                if (!gpu) PFCE_NO_GPU_SKIP_OR_FAIL();
                gpu->select_op_variant("convolution", conv_layout);
                Twin twin(layout);
                twin.set_precision(Precision::bf16);
                const Shape xs{c.n, c.ci, c.h, c.w};
                const Shape ys =
                    c.upconv ? Shape{c.n, c.co, 2 * c.h, 2 * c.w} : Shape{c.n, c.co, c.h, c.w};
                const Shape ws = c.upconv ? Shape{c.ci, c.co, 2, 2} : Shape{c.co, c.ci, c.k, c.k};
                const Tensor xv = random_f32(xs, seed += 10), dyv = random_f32(ys, seed + 1),
                             wv = random_f32(ws, seed + 2), bv = random_f32({c.co}, seed + 3);
                struct Out {
                    Tensor y, dx, dw, db;
                };
                auto run = [&](Backend& be) {
                    Tensor x = put(be, xv, layout, c.x), dy = put(be, dyv, layout, c.y);
                    Tensor y = put(be, Tensor::host(ys, DType::f32), layout, c.y);
                    Tensor dx = put(be, Tensor::host(xs, DType::f32), layout, c.x);
                    const Tensor w = test::to_backend(be, wv), b = test::to_backend(be, bv);
                    Tensor dw = be.zeros(ws, DType::f32), db = be.zeros({c.co}, DType::f32);
                    if (c.upconv) {
                        be.upconv2x2_forward(x, w, b, y);
                        be.upconv2x2_backward_data(dy, w, dx);
                        be.upconv2x2_backward_filter(x, dy, dw, db);
                    } else {
                        const Conv2dParams p{(c.k - 1) / 2};
                        be.conv2d_forward(x, w, b, y, p);
                        be.conv2d_backward_data(dy, w, dx, p);
                        be.conv2d_backward_filter(x, dy, dw, db, p);
                    }
                    return Out{get(be, y), get(be, dx), get(be, dw), get(be, db)};
                };
                const Out want = run(twin), got = run(*gpu);
                // Relative to the largest value: sums that cancel may move by a spacing of
                // their terms.
                auto largest = [](const Tensor& t) {
                    double m = 0;
                    for (std::int64_t i = 0; i < t.numel(); ++i)
                        m = std::max(m, static_cast<double>(std::fabs(t.data<float>()[i])));
                    return m;
                };
                {
                    SCOPED_TRACE("y");
                    expect_within_a_spacing(want.y, got.y, 0.85, 2e-3 * largest(want.y));
                }
                {
                    SCOPED_TRACE("dx");
                    expect_within_a_spacing(want.dx, got.dx, 0.85, 2e-3 * largest(want.dx));
                }
                {
                    SCOPED_TRACE("dw");
                    expect_within_a_spacing(want.dw, got.dw, 0.85, 2e-3 * largest(want.dw));
                }
                EXPECT_TRUE(test::all_close(want.db, got.db, 1e-4 * largest(want.db), 1e-5));
            }
}

}  // namespace
}  // namespace pfce
