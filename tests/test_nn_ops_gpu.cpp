// GPU against CPU for the neural-net ops (conv, upconv, batch norm, ReLU, max-pool, concat, reflect
// pad, crop, argmax): random inputs, odd shapes, forward and backward. Routing ops must match the
// CPU reference bit for bit; the convolutions within a proven TF32 error bound; batch norm within
// float rounding. A warmed-up training sequence must be capturable into a CUDA graph, which proves
// it neither allocates nor synchronizes. Every test skips without a CUDA device.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "core/kernels/precision.hpp"
#include "core/rng.hpp"
#include "tests/test_util.hpp"

#ifdef PFCE_HAVE_CUDA
#include "cuda/cuda_backend.hpp"
#include "cuda/cuda_context.hpp"
#include "cuda/cudnn_util.hpp"
#endif

using namespace pfce;
using pfce::test::all_close;
using pfce::test::all_equal_u8;
using pfce::test::random_f32;
using pfce::test::to_backend;
using pfce::test::to_host;
using pfce::test::to_host_nchw;

namespace {

// The activation layouts the ops that take them (batch norm, ReLU, max-pool, concat) are tested in:
// the same values in the other order.
constexpr Layout kLayouts[] = {Layout::nchw, Layout::nhwc};

// Values the GPU overwrites: an op that forgets an element leaves this behind and fails.
constexpr float kGarbage = 1234.5f;

Tensor f32_zeros(Backend& b, Shape s) {
    return b.zeros(s, DType::f32);
}

// A device output pre-filled with garbage (a 4-D one in `layout`).
Tensor gpu_out(Backend& gpu, Shape s, Layout layout = Layout::nchw) {
    Tensor t = gpu.zeros(s, DType::f32);
    if (layout != Layout::nchw) t.set_layout(layout);
    gpu.fill(t, kGarbage);
    return t;
}

Tensor abs_of(const Tensor& h) {
    Tensor a = Tensor::host(h.shape(), DType::f32);
    for (std::int64_t i = 0; i < h.numel(); ++i) a.data<float>()[i] = std::fabs(h.data<float>()[i]);
    return a;
}

// Random values on a coarse grid {lo, lo+step, ...}: many exact ties and exact zeros, for the tie
// rules of max-pool and argmax and the boundary of ReLU.
Tensor coarse_f32(Shape s, std::uint64_t seed, int levels, float lo, float step) {
    Tensor t = Tensor::host(s, DType::f32);
    CounterRng rng(seed, 0xc0a25e);
    for (std::int64_t i = 0; i < t.numel(); ++i)
        t.data<float>()[i] =
            lo + step * static_cast<float>(rng.below(static_cast<std::uint32_t>(levels)));
    return t;
}

// |cpu - gpu| <= atol + rel * mag elementwise, where mag bounds the sum of absolute terms that
// produced each element: rounding errors scale with it, not with the (possibly cancelled) result.
::testing::AssertionResult within_bound(const Tensor& ref, const Tensor& got, const Tensor& mag,
                                        double atol, double rel) {
    if (ref.shape() != got.shape() || ref.shape() != mag.shape())
        return ::testing::AssertionFailure()
               << "shape " << ref.shape().str() << " vs " << got.shape().str() << " (bound "
               << mag.shape().str() << ")";
    std::int64_t bad = 0;
    double worst = 0.0;
    std::ostringstream first;
    for (std::int64_t i = 0; i < ref.numel(); ++i) {
        const double r = ref.data<float>()[i], g = got.data<float>()[i];
        const double err = std::fabs(r - g);
        const double tol = atol + rel * mag.data<float>()[i];
        if (!(err <= tol)) {  // also catches NaN
            if (bad < 5) first << "\n  [" << i << "] cpu " << r << " gpu " << g << " bound " << tol;
            ++bad;
        }
        if (!(err <= worst)) worst = err;
    }
    if (bad == 0) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << bad << " of " << ref.numel() << " elements outside the bound; worst |err| " << worst
           << first.str();
}

// TF32 bound. cuDNN with tensor-op math rounds (at worst truncates) both factors of every product
// to TF32, 10 explicit mantissa bits, so each product is off by at most (2*2^-10 + 2^-20) of
// |x||w|; the sum is then off by at most ~1.96e-3 * sum|x||w| plus fp32 accumulation error
// (n * 2^-24 * sum|x||w| for n terms, below 4e-5 for the n <= 600 used here), and the CPU
// reference carries only the latter. `mag` is sum|x||w| for every output element: the same CPU op
// applied to |x| and |w|. So |gpu - cpu| <= 1e-5 + 4e-3 * mag holds with margin for any correct
// algorithm cuDNN may pick, while a wrong index, flip or transposition errs by O(mag): caught.
// (A plain atol+rtol on the result would not do: outputs near 0 can have a large sum|x||w|.)
::testing::AssertionResult within_tf32(const Tensor& ref, const Tensor& got, const Tensor& mag) {
    return within_bound(ref, got, mag, 1e-5, 4e-3);
}

// Batch norm runs in f32 with double sums on both sides (no TF32); its results may differ by float
// rounding of terms as large as `mag` (e.g. y = x*scale + shift cancels when the variance is 0 and
// scale is 1/sqrt(eps)), and by the CPU's float partial sums. 1e-4 relative to the magnitude is
// hundreds of ulps, yet any wrong formula errs by O(mag).
constexpr double kBnAtol = 1e-6, kBnRel = 1e-4;

std::int64_t channel_of(const Tensor& x, std::int64_t i) {
    return (i / (x.dim(2) * x.dim(3))) % x.dim(1);
}

// Magnitude of y = (x - mean) * invstd * gamma + beta: (|x| + |mean|) * |gamma| * invstd + |beta|.
Tensor bn_forward_magnitude(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                            const Tensor& mean, const Tensor& invstd) {
    Tensor mag = Tensor::host(x.shape(), DType::f32);
    for (std::int64_t i = 0; i < x.numel(); ++i) {
        const std::int64_t c = channel_of(x, i);
        mag.data<float>()[i] = (std::fabs(x.data<float>()[i]) + std::fabs(mean.data<float>()[c])) *
                                   std::fabs(gamma.data<float>()[c]) * invstd.data<float>()[c] +
                               std::fabs(beta.data<float>()[c]);
    }
    return mag;
}

// Magnitudes of the batch-norm gradients, from S1 = sum|dy| and S2 = sum|dy||x-mean| per channel:
// dbeta ~ S1, dgamma ~ S2*invstd, dx ~ |gamma| invstd (|dy| + S1/m + |x-mean| S2 invstd^2 / m).
struct BnGradMagnitude {
    Tensor dx, dgamma, dbeta;
};
BnGradMagnitude bn_backward_magnitude(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                                      const Tensor& mean, const Tensor& invstd) {
    const std::int64_t c_count = x.dim(1);
    const double m = static_cast<double>(x.numel() / c_count);
    std::vector<double> s1(static_cast<std::size_t>(c_count)), s2(s1.size());
    for (std::int64_t i = 0; i < x.numel(); ++i) {
        const auto c = static_cast<std::size_t>(channel_of(x, i));
        const double d = std::fabs(dy.data<float>()[i]);
        s1[c] += d;
        s2[c] += d * std::fabs(x.data<float>()[i] - mean.data<float>()[c]);
    }
    BnGradMagnitude g{Tensor::host(x.shape(), DType::f32), Tensor::host({c_count}, DType::f32),
                      Tensor::host({c_count}, DType::f32)};
    for (std::int64_t c = 0; c < c_count; ++c) {
        const double is = invstd.data<float>()[c];
        g.dgamma.data<float>()[c] = static_cast<float>(s2[c] * is);
        g.dbeta.data<float>()[c] = static_cast<float>(s1[c]);
    }
    for (std::int64_t i = 0; i < x.numel(); ++i) {
        const std::int64_t c = channel_of(x, i);
        const auto cu = static_cast<std::size_t>(c);
        const double is = invstd.data<float>()[c];
        const double xm = std::fabs(x.data<float>()[i] - mean.data<float>()[c]);
        g.dx.data<float>()[i] = static_cast<float>(
            std::fabs(gamma.data<float>()[c]) * is *
            (std::fabs(dy.data<float>()[i]) + s1[cu] / m + xm * s2[cu] * is * is / m));
    }
    return g;
}

// ---- layers with weights: convolution and transposed convolution ---------------------------

// The three passes of a layer with weights (conv2d or upconv2x2) on any backend.
struct WeightedOp {
    const char* name;
    std::function<void(Backend&, const Tensor& x, const Tensor& w, const Tensor& b, Tensor& y)>
        forward;
    std::function<void(Backend&, const Tensor& dy, const Tensor& w, Tensor& dx)> backward_data;
    std::function<void(Backend&, const Tensor& x, const Tensor& dy, Tensor& dw, Tensor& db)>
        backward_filter;
};

WeightedOp conv2d_op(Conv2dParams p) {
    return {"conv2d",
            [p](Backend& be, const Tensor& x, const Tensor& w, const Tensor& b, Tensor& y) {
                be.conv2d_forward(x, w, b, y, p);
            },
            [p](Backend& be, const Tensor& dy, const Tensor& w, Tensor& dx) {
                be.conv2d_backward_data(dy, w, dx, p);
            },
            [p](Backend& be, const Tensor& x, const Tensor& dy, Tensor& dw, Tensor& db) {
                be.conv2d_backward_filter(x, dy, dw, db, p);
            }};
}

WeightedOp upconv2x2_op() {
    return {"upconv2x2",
            [](Backend& be, const Tensor& x, const Tensor& w, const Tensor& b, Tensor& y) {
                be.upconv2x2_forward(x, w, b, y);
            },
            [](Backend& be, const Tensor& dy, const Tensor& w, Tensor& dx) {
                be.upconv2x2_backward_data(dy, w, dx);
            },
            [](Backend& be, const Tensor& x, const Tensor& dy, Tensor& dw, Tensor& db) {
                be.upconv2x2_backward_filter(x, dy, dw, db);
            }};
}

// How GPU results of a weighted layer are bounded: the CPU op applied to magnitude(x), magnitude(w)
// (and magnitude(dy), magnitude(b)) gives the per-element bound that `check` applies.
struct Tf32Bound {
    Tensor (*magnitude)(const Tensor&);
    ::testing::AssertionResult (*check)(const Tensor& ref, const Tensor& got, const Tensor& mag);
};

// The memory layouts of a weighted layer's activations on the GPU: x and dx, y and dy.
struct ActivationLayouts {
    Layout x = Layout::nchw, y = Layout::nchw;
};

// Forward, backward data and backward filter (+ bias when `bias`) of `op` on random inputs of the
// given shapes (seeds ++seed for x, w, dy, then b): the GPU (its activations in `layouts`) against
// the CPU (nchw) within `bound`.
void check_weighted_op(Backend& cpu, Backend& gpu, const WeightedOp& op, const Shape& xs,
                       const Shape& ws, const Shape& ys, bool bias, std::uint64_t& seed,
                       const Tf32Bound& bound, ActivationLayouts layouts = {}) {
    const std::string name = op.name;
    const Shape bs{ys[1]};
    Tensor x = random_f32(xs, ++seed), w = random_f32(ws, ++seed), dy = random_f32(ys, ++seed);
    Tensor b = bias ? random_f32(bs, ++seed) : Tensor();
    Tensor mx = bound.magnitude(x), mw = bound.magnitude(w), mdy = bound.magnitude(dy);
    Tensor mb = bias ? bound.magnitude(b) : Tensor();
    Tensor gx = to_backend(gpu, x, layouts.x), gw = to_backend(gpu, w);
    Tensor gdy = to_backend(gpu, dy, layouts.y);
    Tensor gb = bias ? to_backend(gpu, b) : Tensor();

    Tensor y = f32_zeros(cpu, ys), mag_y = f32_zeros(cpu, ys), gy = gpu_out(gpu, ys, layouts.y);
    op.forward(cpu, x, w, b, y);
    op.forward(cpu, mx, mw, mb, mag_y);
    op.forward(gpu, gx, gw, gb, gy);
    EXPECT_TRUE(bound.check(y, to_host_nchw(gpu, gy), mag_y)) << name << "_forward";

    Tensor dx = f32_zeros(cpu, xs), mag_dx = f32_zeros(cpu, xs);
    Tensor gdx = gpu_out(gpu, xs, layouts.x);
    op.backward_data(cpu, dy, w, dx);
    op.backward_data(cpu, mdy, mw, mag_dx);
    op.backward_data(gpu, gdy, gw, gdx);
    EXPECT_TRUE(bound.check(dx, to_host_nchw(gpu, gdx), mag_dx)) << name << "_backward_data";

    Tensor dw = f32_zeros(cpu, ws), mag_dw = f32_zeros(cpu, ws), gdw = gpu_out(gpu, ws);
    Tensor db = bias ? f32_zeros(cpu, bs) : Tensor();
    Tensor mag_db = bias ? f32_zeros(cpu, bs) : Tensor();
    Tensor gdb = bias ? gpu_out(gpu, bs) : Tensor();
    op.backward_filter(cpu, x, dy, dw, db);
    op.backward_filter(cpu, mx, mdy, mag_dw, mag_db);
    op.backward_filter(gpu, gx, gdy, gdw, gdb);
    EXPECT_TRUE(bound.check(dw, to_host(gpu, gdw), mag_dw)) << name << "_backward_filter dw";
    if (bias) {
        EXPECT_TRUE(bound.check(db, to_host(gpu, gdb), mag_db)) << name << "_backward_filter db";
    }
}

const Tf32Bound kTf32Bound{abs_of, within_tf32};

// ---- convolution ------------------------------------------------------------------------------

struct ConvCase {
    int n, ci, co, h, w, k, pad;
    bool bias;
};

std::string describe(const ConvCase& c) {
    std::ostringstream os;
    os << "N" << c.n << " Ci" << c.ci << " Co" << c.co << " " << c.h << "x" << c.w << " k" << c.k
       << " pad" << c.pad << (c.bias ? " bias" : " no-bias");
    return os.str();
}

// Every case of `cases`, seeds counting up from `seed`: the GPU conv2d against the CPU one.
void check_conv_cases(Backend& cpu, Backend& gpu, const std::vector<ConvCase>& cases,
                      std::uint64_t seed, const Tf32Bound& bound, ActivationLayouts layouts = {}) {
    for (const ConvCase& c : cases) {
        SCOPED_TRACE(describe(c));
        const int ho = c.h + 2 * c.pad - c.k + 1, wo = c.w + 2 * c.pad - c.k + 1;
        check_weighted_op(cpu, gpu, conv2d_op(Conv2dParams{c.pad}), {c.n, c.ci, c.h, c.w},
                          {c.co, c.ci, c.k, c.k}, {c.n, c.co, ho, wo}, c.bias, seed, bound,
                          layouts);
    }
}

const std::vector<ConvCase> kConvCases = {
    {1, 1, 1, 1, 1, 1, 0, true},     // 1x1 everything
    {1, 2, 3, 1, 1, 3, 1, true},     // 1x1 image under a 3x3 kernel: only the centre tap lands
    {1, 3, 8, 7, 9, 3, 1, true},     // odd sides
    {2, 33, 17, 6, 5, 3, 1, false},  // odd channel counts, no bias
    {3, 5, 33, 8, 8, 1, 0, true},    // 1x1 conv (the logits layer)
    {2, 4, 6, 5, 7, 3, 0, true},     // no padding: output smaller than input
    {2, 16, 16, 12, 10, 3, 1, true},
};

TEST(NnOpsGpu, Conv2dForwardBackwardMatchCpu) {
    auto cpu = pfce::test::cpu_backend();
    PFCE_REQUIRE_GPU(gpu);
    check_conv_cases(*cpu, *gpu, kConvCases, 100, kTf32Bound);
}

// The second call of a shape reuses the cached plan; results must not change with it.
TEST(NnOpsGpu, Conv2dRepeatedCallsAgree) {
    PFCE_REQUIRE_GPU(gpu);
    const Shape xs{2, 7, 9, 11}, ws{5, 7, 3, 3}, ys{2, 5, 9, 11};
    Tensor gx = to_backend(*gpu, random_f32(xs, 1)), gw = to_backend(*gpu, random_f32(ws, 2));
    Tensor gb = to_backend(*gpu, random_f32({5}, 3));
    Tensor y1 = gpu_out(*gpu, ys), y2 = gpu_out(*gpu, ys);
    gpu->conv2d_forward(gx, gw, gb, y1, Conv2dParams{1});
    gpu->conv2d_forward(gx, gw, gb, y2, Conv2dParams{1});
    EXPECT_TRUE(all_close(to_host(*gpu, y1), to_host(*gpu, y2), 0.0, 0.0));
}

// ---- transposed convolution -------------------------------------------------------------------

struct UpCase {
    int n, ci, co, h, w;
    bool bias;
};

// Every case of `cases`, seeds counting up from `seed`: the GPU upconv2x2 against the CPU one.
void check_upconv_cases(Backend& cpu, Backend& gpu, const std::vector<UpCase>& cases,
                        std::uint64_t seed, const Tf32Bound& bound,
                        ActivationLayouts layouts = {}) {
    for (const UpCase& c : cases) {
        SCOPED_TRACE(testing::Message() << "N" << c.n << " Ci" << c.ci << " Co" << c.co << " "
                                        << c.h << "x" << c.w << (c.bias ? " bias" : " no-bias"));
        check_weighted_op(cpu, gpu, upconv2x2_op(), {c.n, c.ci, c.h, c.w}, {c.ci, c.co, 2, 2},
                          {c.n, c.co, 2 * c.h, 2 * c.w}, c.bias, seed, bound, layouts);
    }
}

TEST(NnOpsGpu, Upconv2x2ForwardBackwardMatchCpu) {
    auto cpu = pfce::test::cpu_backend();
    PFCE_REQUIRE_GPU(gpu);
    const std::vector<UpCase> cases = {
        {1, 1, 1, 1, 1, true},   {1, 3, 2, 5, 7, true},   {2, 33, 16, 4, 3, true},
        {3, 8, 33, 6, 6, false}, {2, 64, 32, 9, 8, true},
    };
    check_upconv_cases(*cpu, *gpu, cases, 500, kTf32Bound);
}

#ifdef PFCE_HAVE_CUDA
// The staged copies of the convolutions (cuda/conv_staging.cu) on shapes that are not multiples of
// the 32 x 32 tile, in both directions (an NCHW tensor staged NHWC for "channels_last", an NHWC
// activation staged NCHW for "nchw"): the staged copy is each image's transpose, f32 exactly and
// bf16 with the CPU twin's rounding, and unstaging gives the values back (bf16: the rounded ones).
TEST(NnOpsGpu, ConvolutionStagingTransposesExactly) {
    PFCE_REQUIRE_GPU(gpu);
    auto& ctx = dynamic_cast<CudaBackend&>(*gpu).context();
    for (const cudnn::StagedLayout l0 :
         {cudnn::StagedLayout{3, 37, 45}, cudnn::StagedLayout{1, 1, 1},
          cudnn::StagedLayout{2, 64, 33}, cudnn::StagedLayout{5, 3, 1000},
          // more 32-pixel tiles (65625) than a grid's y dimension holds: the blocks stride
          cudnn::StagedLayout{1, 3, 2100000}}) {
        for (const bool from_nhwc : {false, true})
            for (const bool bf16 : {false, true}) {
                cudnn::StagedLayout l = l0;
                l.tensor_nhwc = from_nhwc;
                l.staged_nhwc = !from_nhwc;
                l.bf16 = bf16;
                SCOPED_TRACE(testing::Message()
                             << l.planes << " planes " << l.channels << " x " << l.hw
                             << (bf16 ? " bf16" : " f32") << (from_nhwc ? " from NHWC" : ""));
                // Offset of (image n, channel c, pixel p) in NCHW or NHWC.
                auto at = [&](bool nhwc, long long n, long long c, long long p) {
                    return nhwc ? (n * l.hw + p) * l.channels + c : (n * l.channels + c) * l.hw + p;
                };
                const Shape shape{l.planes, l.channels, l.hw};
                const Tensor host = random_f32(shape, 40);  // in the tensor's layout
                Tensor src = to_backend(*gpu, host);
                Tensor staged =
                    gpu->zeros({l.planes * l.channels * l.hw * (bf16 ? 2 : 4)}, DType::u8);
                cudnn::stage_copy(src.data<float>(), staged.raw(), l, ctx.stream);
                const Tensor got = to_host(*gpu, staged);
                const float* in = host.data<float>();
                for (long long n = 0; n < l.planes; ++n)
                    for (long long c = 0; c < l.channels; ++c)
                        for (long long p = 0; p < l.hw; ++p) {
                            const float v = in[at(from_nhwc, n, c, p)];
                            const long long to = at(!from_nhwc, n, c, p);
                            if (bf16) {
                                std::uint16_t b;
                                std::memcpy(&b, got.data<std::uint8_t>() + 2 * to, 2);
                                ASSERT_EQ(b, kernels::bf16_bits(v)) << n << "," << c << "," << p;
                            } else {
                                float f;
                                std::memcpy(&f, got.data<std::uint8_t>() + 4 * to, 4);
                                ASSERT_EQ(f, v) << n << "," << c << "," << p;
                            }
                        }
                Tensor back = gpu_out(*gpu, shape);
                cudnn::unstage_copy(staged.raw(), back.data<float>(), l, ctx.stream);
                const Tensor round_trip = to_host(*gpu, back);
                for (long long i = 0; i < host.numel(); ++i) {
                    const float want =
                        bf16 ? kernels::bf16_to_float(kernels::bf16_bits(in[i])) : in[i];
                    ASSERT_EQ(round_trip.data<float>()[i], want) << i;
                }
            }
    }
}

// The convolutions and transposed convolutions run in NHWC ("channels_last") within the same
// bounds against the CPU as in NCHW.
TEST(NnOpsGpu, ConvolutionsChannelsLastMatchCpu) {
    auto cpu = pfce::test::cpu_backend();
    PFCE_REQUIRE_GPU(gpu);
    ASSERT_EQ(gpu->op_variants("convolution"), (std::vector<std::string>{"nchw", "channels_last"}));
    gpu->select_op_variant("convolution", "channels_last");
    check_conv_cases(*cpu, *gpu, kConvCases, 150, kTf32Bound);
    const std::vector<UpCase> up_cases = {
        {1, 3, 2, 5, 7, true}, {2, 33, 16, 4, 3, true}, {3, 8, 33, 6, 6, false}};
    check_upconv_cases(*cpu, *gpu, up_cases, 550, kTf32Bound);
    gpu->select_op_variant("convolution", "nchw");
}

// The convolutions and transposed convolutions on nhwc activations (the "activations" variant
// nhwc): all nhwc (the network's inner layers), nchw in and nhwc out (its first layer), nhwc in
// and nchw out (its logits layer), with cuDNN convolving in either layout (in place where the
// layouts agree, through a transposing stage where they do not), biases included.
TEST(NnOpsGpu, ConvolutionsOnNhwcActivationsMatchCpu) {
    auto cpu = pfce::test::cpu_backend();
    PFCE_REQUIRE_GPU(gpu);
    const std::vector<UpCase> up_cases = {
        {1, 3, 2, 5, 7, true}, {2, 33, 16, 4, 3, true}, {3, 8, 33, 6, 6, false}};
    constexpr Layout kNchw = Layout::nchw, kNhwc = Layout::nhwc;
    for (const std::string& conv_layout : gpu->op_variants("convolution")) {
        gpu->select_op_variant("convolution", conv_layout);
        for (const ActivationLayouts l :
             {ActivationLayouts{kNhwc, kNhwc}, ActivationLayouts{kNchw, kNhwc},
              ActivationLayouts{kNhwc, kNchw}}) {
            SCOPED_TRACE(testing::Message() << "cuDNN in " << conv_layout << ", x "
                                            << layout_name(l.x) << ", y " << layout_name(l.y));
            check_conv_cases(*cpu, *gpu, kConvCases, 170, kTf32Bound, l);
            check_upconv_cases(*cpu, *gpu, up_cases, 570, kTf32Bound, l);
        }
    }
    gpu->select_op_variant("convolution", "nchw");
}
#endif

// ---- batch norm -------------------------------------------------------------------------------

struct BnCase {
    int n, c, h, w;
};

// Training forward, backward (each side from its own saved statistics) and inference from the
// updated running statistics of one shape, GPU (activations in `layout`) against CPU (nchw).
void check_batchnorm(Backend& cpu, Backend& gpu, const BnCase& c, std::uint64_t seed,
                     Layout layout) {
    SCOPED_TRACE(testing::Message() << "N" << c.n << " C" << c.c << " " << c.h << "x" << c.w << " "
                                    << layout_name(layout));
    const Shape xs{c.n, c.c, c.h, c.w}, cs{c.c};
    const BatchNormParams p{0.1f, 1e-5f};
    // A non-zero mean (x in [-1, 3]) exercises the variance computation.
    Tensor x = random_f32(xs, ++seed, -1.0f, 3.0f), dy = random_f32(xs, ++seed);
    Tensor gamma = random_f32(cs, ++seed, 0.5f, 1.5f), beta = random_f32(cs, ++seed);
    Tensor rm = random_f32(cs, ++seed), rv = random_f32(cs, ++seed, 0.5f, 2.0f);
    Tensor gx = to_backend(gpu, x, layout), gdy = to_backend(gpu, dy, layout);
    Tensor ggamma = to_backend(gpu, gamma), gbeta = to_backend(gpu, beta);
    Tensor grm = to_backend(gpu, rm), grv = to_backend(gpu, rv);

    // training forward
    Tensor y = f32_zeros(cpu, xs), sm = f32_zeros(cpu, cs), si = f32_zeros(cpu, cs);
    cpu.batchnorm_forward_train(x, gamma, beta, rm, rv, y, sm, si, p);
    Tensor gy = gpu_out(gpu, xs, layout), gsm = gpu_out(gpu, cs), gsi = gpu_out(gpu, cs);
    gpu.batchnorm_forward_train(gx, ggamma, gbeta, grm, grv, gy, gsm, gsi, p);
    EXPECT_TRUE(within_bound(y, to_host_nchw(gpu, gy), bn_forward_magnitude(x, gamma, beta, sm, si),
                             kBnAtol, kBnRel))
        << "y";
    EXPECT_TRUE(all_close(sm, to_host(gpu, gsm), 1e-5, 1e-5)) << "save_mean";
    EXPECT_TRUE(all_close(si, to_host(gpu, gsi), 1e-5, 1e-5)) << "save_invstd";
    EXPECT_TRUE(all_close(rm, to_host(gpu, grm), 1e-5, 1e-5)) << "running_mean";
    EXPECT_TRUE(all_close(rv, to_host(gpu, grv), 1e-5, 1e-5)) << "running_var";

    // backward, each side from its own saved statistics
    Tensor dx = f32_zeros(cpu, xs), dg = f32_zeros(cpu, cs), dbt = f32_zeros(cpu, cs);
    cpu.batchnorm_backward(x, nullptr, dy, gamma, sm, si, dx, dg, dbt);
    Tensor gdx = gpu_out(gpu, xs, layout), gdg = gpu_out(gpu, cs), gdbt = gpu_out(gpu, cs);
    gpu.batchnorm_backward(gx, nullptr, gdy, ggamma, gsm, gsi, gdx, gdg, gdbt);
    const BnGradMagnitude mag = bn_backward_magnitude(x, dy, gamma, sm, si);
    EXPECT_TRUE(within_bound(dx, to_host_nchw(gpu, gdx), mag.dx, kBnAtol, kBnRel)) << "dx";
    EXPECT_TRUE(within_bound(dg, to_host(gpu, gdg), mag.dgamma, kBnAtol, kBnRel)) << "dgamma";
    EXPECT_TRUE(within_bound(dbt, to_host(gpu, gdbt), mag.dbeta, kBnAtol, kBnRel)) << "dbeta";

    // inference from the (updated) running statistics
    Tensor yi = f32_zeros(cpu, xs);
    cpu.batchnorm_forward_infer(x, gamma, beta, rm, rv, yi, p);
    Tensor gyi = gpu_out(gpu, xs, layout);
    gpu.batchnorm_forward_infer(gx, ggamma, gbeta, grm, grv, gyi, p);
    Tensor inv_rs = Tensor::host(cs, DType::f32);  // 1/sqrt(running_var + eps)
    for (std::int64_t k = 0; k < c.c; ++k)
        inv_rs.data<float>()[k] = 1.0f / std::sqrt(rv.data<float>()[k] + p.eps);
    EXPECT_TRUE(within_bound(yi, to_host_nchw(gpu, gyi),
                             bn_forward_magnitude(x, gamma, beta, rm, inv_rs), kBnAtol, kBnRel))
        << "inference y";
}

// The batchnorm_nhwc variants that apply in `layout`: each on nhwc, the reference on nchw.
std::vector<std::string> bn_variants(Backend& gpu, Layout layout) {
    const std::vector<std::string> all = gpu.op_variants("batchnorm_nhwc");
    return layout == Layout::nhwc ? all : std::vector<std::string>{all.front()};
}

// check_batchnorm of every case in each layout, on nhwc under each batchnorm_nhwc variant (the
// reference left selected), the seeds from `seed` on in each.
void check_batchnorm_everywhere(Backend& cpu, Backend& gpu, const std::vector<BnCase>& cases,
                                std::uint64_t seed) {
    for (const Layout layout : kLayouts)
        for (const std::string& bn : bn_variants(gpu, layout)) {
            SCOPED_TRACE("batchnorm_nhwc=" + bn);
            gpu.select_op_variant("batchnorm_nhwc", bn);
            std::uint64_t s = seed;
            for (const BnCase& c : cases) check_batchnorm(cpu, gpu, c, s += 10, layout);
        }
    gpu.select_op_variant("batchnorm_nhwc", bn_variants(gpu, Layout::nchw).front());
}

TEST(NnOpsGpu, BatchNormTrainInferBackwardMatchCpu) {
    auto cpu = pfce::test::cpu_backend();
    PFCE_REQUIRE_GPU(gpu);
    const std::vector<BnCase> cases = {
        {1, 1, 1, 1},      // one value per channel: variance 0, unbiased falls back to biased
        {2, 3, 5, 7},      // odd sides
        {3, 33, 4, 1},     // odd channels, one column
        {2, 5, 33, 35},    // more pixels than one block: several slices per channel
        {3, 22000, 1, 1},  // more (n,c) planes than one grid dimension holds
        {2, 70, 40, 37},   // nhwc: channel tiles with a partial last one, several slices
    };
    check_batchnorm_everywhere(*cpu, *gpu, cases, 900);
}

// The by-channel variant of the nhwc elementwise passes against the per-value kernels it may
// replace, fused ReLU included: the same arithmetic per value, so the same bits, at 4 channels a
// thread (C % 4 == 0) and 1 (odd C), with more groups of values than the grid has threads (it fills
// the SMs, no more: each thread walks several).
TEST(NnOpsGpu, BatchNormByChannelIsBitIdenticalToPerValue) {
    PFCE_REQUIRE_GPU(gpu);
    const std::vector<BnCase> cases = {{2, 32, 9, 11}, {3, 33, 5, 7}, {2, 4, 600, 700}};
    std::uint64_t seed = 7700;
    for (const BnCase& c : cases) {
        SCOPED_TRACE(testing::Message() << "N" << c.n << " C" << c.c << " " << c.h << "x" << c.w);
        const Shape xs{c.n, c.c, c.h, c.w}, cs{c.c};
        const Tensor x = random_f32(xs, ++seed, -1.0f, 3.0f), dy = random_f32(xs, ++seed);
        const Tensor gamma = random_f32(cs, ++seed, 0.5f, 1.5f), beta = random_f32(cs, ++seed);
        std::vector<Tensor> outs[2];
        const char* variants[] = {"per_value", "by_channel"};
        for (int v = 0; v < 2; ++v) {
            gpu->select_op_variant("batchnorm_nhwc", variants[v]);
            for (const bool relu : {false, true}) {
                Tensor gx = to_backend(*gpu, x, Layout::nhwc),
                       gdy = to_backend(*gpu, dy, Layout::nhwc);
                Tensor g = to_backend(*gpu, gamma), b = to_backend(*gpu, beta);
                Tensor rm = gpu_out(*gpu, cs), rv = gpu_out(*gpu, cs);
                gpu->fill(rm, 0.0f);
                gpu->fill(rv, 1.0f);
                Tensor y = gpu_out(*gpu, xs, Layout::nhwc), sm = gpu_out(*gpu, cs),
                       si = gpu_out(*gpu, cs);
                gpu->batchnorm_forward_train(gx, g, b, rm, rv, y, sm, si, {.relu = relu});
                Tensor dx = gpu_out(*gpu, xs, Layout::nhwc), dg = gpu_out(*gpu, cs),
                       db = gpu_out(*gpu, cs);
                gpu->batchnorm_backward(gx, relu ? &y : nullptr, gdy, g, sm, si, dx, dg, db);
                Tensor yi = gpu_out(*gpu, xs, Layout::nhwc);
                gpu->batchnorm_forward_infer(gx, g, b, rm, rv, yi, {.relu = relu});
                for (const Tensor* t : {&y, &dx, &dg, &db, &yi})
                    outs[v].push_back(to_host_nchw(*gpu, *t));
            }
        }
        const char* names[] = {"y", "dx", "dgamma", "dbeta", "inference y"};
        for (std::size_t i = 0; i < outs[0].size(); ++i)
            EXPECT_TRUE(all_close(outs[0][i], outs[1][i], 0.0, 0.0))
                << names[i % 5] << (i >= 5 ? " (relu)" : "");
    }
    gpu->select_op_variant("batchnorm_nhwc", "per_value");
}

// Statistics of values far from zero (mean 1e5, std 0.6): sums of x and x^2 would cancel to a
// variance off by ~1e-3 relative; both backends sum x - (the channel's first value) instead and
// must land on the double-precision oracle, in each layout (the CPU checked first, also here).
TEST(NnOpsGpu, BatchNormStatisticsHoldFarFromZero) {
    auto cpu = pfce::test::cpu_backend();
    const Shape xs{4, 3, 64, 64}, cs{3};
    const Tensor x = random_f32(xs, 4242, 1e5f - 1.0f, 1e5f + 1.0f);
    const Tensor gamma = random_f32(cs, 4243, 0.5f, 1.5f), beta = random_f32(cs, 4244);
    const std::int64_t hw = 64 * 64, m = 4 * hw;
    std::vector<double> oracle_invstd(3);
    for (std::int64_t c = 0; c < 3; ++c) {
        double mean = 0.0, sq = 0.0;
        for (std::int64_t i = 0; i < 4; ++i)
            for (std::int64_t k = 0; k < hw; ++k) mean += x.data<float>()[(i * 3 + c) * hw + k];
        mean /= static_cast<double>(m);
        for (std::int64_t i = 0; i < 4; ++i)
            for (std::int64_t k = 0; k < hw; ++k) {
                const double d = x.data<float>()[(i * 3 + c) * hw + k] - mean;
                sq += d * d;
            }
        oracle_invstd[static_cast<std::size_t>(c)] = 1.0 / std::sqrt(sq / m + 1e-5);
    }
    const auto expect_oracle = [&](const Tensor& si, const char* who) {
        for (std::int64_t c = 0; c < 3; ++c)
            EXPECT_NEAR(si.data<float>()[c], oracle_invstd[static_cast<std::size_t>(c)],
                        1e-5 * oracle_invstd[static_cast<std::size_t>(c)])
                << who << " channel " << c;
    };
    {
        Tensor rm = f32_zeros(*cpu, cs), rv = f32_zeros(*cpu, cs), y = f32_zeros(*cpu, xs),
               sm = f32_zeros(*cpu, cs), si = f32_zeros(*cpu, cs);
        cpu->batchnorm_forward_train(x, gamma, beta, rm, rv, y, sm, si, BatchNormParams{});
        expect_oracle(si, "cpu");
    }
    PFCE_REQUIRE_GPU(gpu);
    for (const Layout layout : kLayouts) {
        Tensor gx = to_backend(*gpu, x, layout), g = to_backend(*gpu, gamma),
               b = to_backend(*gpu, beta);
        Tensor rm = gpu_out(*gpu, cs), rv = gpu_out(*gpu, cs);
        gpu->fill(rm, 0.0f);
        gpu->fill(rv, 1.0f);
        Tensor y = gpu_out(*gpu, xs, layout), sm = gpu_out(*gpu, cs), si = gpu_out(*gpu, cs);
        gpu->batchnorm_forward_train(gx, g, b, rm, rv, y, sm, si, BatchNormParams{});
        expect_oracle(to_host(*gpu, si), layout_name(layout));
    }
}

// ---- routing ops: bit-exact ---------------------------------------------------------------------

// Host copies of the outputs of a routing op run on both backends.
struct RoutedOutputs {
    std::vector<Tensor> cpu, gpu;
};

using TensorRefs = std::vector<std::reference_wrapper<const Tensor>>;
using RoutingOp = std::function<void(Backend&, const TensorRefs& in, std::vector<Tensor>& out)>;

// Runs `op` on the CPU with the host `inputs` and on the GPU with device copies of them (4-D ones
// in `layout`); the outputs have `out_shapes` (zeros on the CPU, garbage in `layout` on the GPU).
// Expects output i of the GPU to equal that of the CPU bit for bit (a failure names it names[i])
// and returns both sets (nchw).
RoutedOutputs expect_routed_exactly(Backend& cpu, Backend& gpu, const TensorRefs& inputs,
                                    const std::vector<Shape>& out_shapes,
                                    const std::vector<std::string>& names, const RoutingOp& op,
                                    Layout layout = Layout::nchw) {
    std::vector<Tensor> gin, cpu_outs, gpu_outs;
    for (const Tensor& t : inputs) gin.push_back(to_backend(gpu, t, layout));
    for (const Shape& s : out_shapes) {
        cpu_outs.push_back(f32_zeros(cpu, s));
        gpu_outs.push_back(gpu_out(gpu, s, s.rank == 4 ? layout : Layout::nchw));
    }
    op(cpu, inputs, cpu_outs);
    op(gpu, TensorRefs(gin.begin(), gin.end()), gpu_outs);
    RoutedOutputs r;
    for (std::size_t i = 0; i < gpu_outs.size(); ++i) {
        r.gpu.push_back(to_host_nchw(gpu, gpu_outs[i]));
        EXPECT_TRUE(all_close(cpu_outs[i], r.gpu[i], 0.0, 0.0)) << names[i];
    }
    r.cpu = std::move(cpu_outs);
    return r;
}

TEST(NnOpsGpu, ReluMatchesCpuExactly) {
    auto cpu = pfce::test::cpu_backend();
    PFCE_REQUIRE_GPU(gpu);
    for (const Layout layout : kLayouts)
        for (const Shape& s : {Shape{1, 1, 1, 1}, Shape{2, 3, 5, 7}, Shape{3, 33, 17, 9}}) {
            SCOPED_TRACE(s.str() + " " + layout_name(layout));
            Tensor x = coarse_f32(s, 1, 9, -2.0f, 0.5f);  // exact zeros included
            Tensor dy = random_f32(s, 2);
            const RoutedOutputs r = expect_routed_exactly(
                *cpu, *gpu, {x, dy}, {s, s}, {"relu_forward", "relu_backward"},
                [](Backend& be, const TensorRefs& in, std::vector<Tensor>& out) {
                    be.relu_forward(in[0], out[0]);
                    be.relu_backward(out[0], in[1], out[1]);
                },
                layout);

            Tensor gx = to_backend(*gpu, x, layout);
            gpu->relu_forward(gx, gx);  // in place
            EXPECT_TRUE(all_close(r.cpu[0], to_host_nchw(*gpu, gx), 0.0, 0.0))
                << "relu_forward in place";
        }
}

TEST(NnOpsGpu, MaxPoolMatchesCpuExactlyWithTies) {
    auto cpu = pfce::test::cpu_backend();
    PFCE_REQUIRE_GPU(gpu);
    // Odd sides leave a row/column out of every window; 2x3x3 planes by the tens of thousands
    // exceed one grid dimension.
    for (const Layout layout : kLayouts)
        for (const Shape& s : {Shape{1, 1, 2, 2}, Shape{1, 1, 1, 5}, Shape{2, 3, 7, 9},
                               Shape{3, 33, 8, 6}, Shape{2, 35000, 3, 3}}) {
            SCOPED_TRACE(s.str() + " " + layout_name(layout));
            const Shape ys{s[0], s[1], s[2] / 2, s[3] / 2};
            Tensor x = coarse_f32(s, 3, 3, -1.0f, 1.0f);  // three levels: ties in most windows
            Tensor dy = random_f32(ys, 4);
            expect_routed_exactly(
                *cpu, *gpu, {x, dy}, {ys, s}, {"maxpool2x2_forward", "maxpool2x2_backward"},
                [](Backend& be, const TensorRefs& in, std::vector<Tensor>& out) {
                    be.maxpool2x2_forward(in[0], out[0]);
                    be.maxpool2x2_backward(in[0], out[0], in[1], out[1]);
                },
                layout);
        }
}

TEST(NnOpsGpu, ConcatMatchesCpuExactly) {
    auto cpu = pfce::test::cpu_backend();
    PFCE_REQUIRE_GPU(gpu);
    struct Case {
        int n, ca, cb, h, w;
    };
    for (const Layout layout : kLayouts)
        for (const Case& c : {Case{1, 1, 1, 1, 1}, Case{2, 3, 5, 7, 9}, Case{3, 33, 1, 4, 5},
                              Case{2, 16, 32, 6, 6}}) {
            SCOPED_TRACE(testing::Message() << "N" << c.n << " Ca" << c.ca << " Cb" << c.cb << " "
                                            << c.h << "x" << c.w << " " << layout_name(layout));
            const Shape as{c.n, c.ca, c.h, c.w}, bs{c.n, c.cb, c.h, c.w},
                ys{c.n, c.ca + c.cb, c.h, c.w};
            Tensor a = random_f32(as, 5), b = random_f32(bs, 6), dy = random_f32(ys, 7);
            expect_routed_exactly(
                *cpu, *gpu, {a, b, dy}, {ys, as, bs},
                {"concat_channels", "concat_channels_backward da", "concat_channels_backward db"},
                [](Backend& be, const TensorRefs& in, std::vector<Tensor>& out) {
                    be.concat_channels(in[0], in[1], out[0]);
                    be.concat_channels_backward(in[2], out[1], out[2]);
                },
                layout);
        }
}

TEST(NnOpsGpu, ReflectPadCropMatchCpuExactly) {
    auto cpu = pfce::test::cpu_backend();
    PFCE_REQUIRE_GPU(gpu);
    struct Case {
        int n, c, h, w, h2, w2, top, left;
    };
    // (300 -> 304 like the Kaggle patches, scaled down), asymmetric pads, the largest pads a side
    // allows (size-1), no pad at all, and more planes than one grid dimension holds.
    for (const Case& c : {Case{1, 1, 1, 1, 1, 1, 0, 0}, Case{2, 3, 7, 5, 8, 8, 0, 1},
                          Case{1, 2, 4, 4, 10, 10, 3, 3}, Case{3, 5, 9, 11, 16, 16, 3, 2},
                          Case{2, 33, 6, 7, 6, 7, 0, 0}, Case{2, 35000, 3, 2, 5, 3, 1, 1}}) {
        SCOPED_TRACE(testing::Message()
                     << "N" << c.n << " C" << c.c << " " << c.h << "x" << c.w << " -> " << c.h2
                     << "x" << c.w2 << " at (" << c.top << "," << c.left << ")");
        const Shape xs{c.n, c.c, c.h, c.w}, ys{c.n, c.c, c.h2, c.w2};
        Tensor x = random_f32(xs, 8), dy = random_f32(xs, 9);
        // pad; crop the padded tensor back, and route a gradient of the crop into the padded shape
        const RoutedOutputs r = expect_routed_exactly(
            *cpu, *gpu, {x, dy}, {ys, xs, ys}, {"reflect_pad", "crop", "crop_backward"},
            [&c](Backend& be, const TensorRefs& in, std::vector<Tensor>& out) {
                be.reflect_pad(in[0], out[0], c.top, c.left);
                be.crop(out[0], out[1], c.top, c.left);
                be.crop_backward(in[1], out[2], c.top, c.left);
            });
        EXPECT_TRUE(all_close(x, r.gpu[1], 0.0, 0.0)) << "crop of the pad is x";
    }
}

TEST(NnOpsGpu, ArgmaxMatchesCpuExactlyWithTies) {
    auto cpu = pfce::test::cpu_backend();
    PFCE_REQUIRE_GPU(gpu);
    for (const Shape& s :
         {Shape{1, 1, 1, 1}, Shape{2, 6, 7, 9}, Shape{3, 33, 5, 4}, Shape{1, 255, 3, 3}}) {
        SCOPED_TRACE(s.str());
        const Shape ps{s[0], s[2], s[3]};
        for (const bool ties : {false, true}) {
            Tensor logits =
                ties ? coarse_f32(s, 10, 3, -1.0f, 1.0f) : random_f32(s, 11, -5.0f, 5.0f);
            Tensor pred = Tensor::host(ps, DType::u8);
            cpu->argmax_channels(logits, pred);
            Tensor gl = to_backend(*gpu, logits);
            Tensor gp = gpu->zeros(ps, DType::u8);
            gpu->fill(gp, 200.0f);
            gpu->argmax_channels(gl, gp);
            EXPECT_TRUE(all_equal_u8(pred, to_host(*gpu, gp))) << (ties ? "with ties" : "random");
        }
    }
}

// ---- real U-Net shapes
// --------------------------------------------------------------------------- cuDNN picks its
// algorithms by shape: the small cases above never reach the ones a real batch (depth 4, width 32,
// 304x304 tiles) runs. Over reductions of up to a million terms the worst-case bound sum|x||w|
// grows like n while rounding errors and a wrong result alike grow like sqrt(sum (xw)^2): the bound
// here is relative to that root of the sum of squared terms (the CPU op applied to x^2 and w^2).
// TF32 rounds each factor to 11 significant bits, so the rounding errors of the products add up to
// a few 1e-4 of it (random signs); 1e-2 leaves a wide margin, and an algorithm that computed
// something else errs by the order of the root itself. The 2^-10 |ref| term covers a one-sided
// (truncating) rounding.

Tensor squares_of(const Tensor& h) {
    Tensor a = Tensor::host(h.shape(), DType::f32);
    for (std::int64_t i = 0; i < h.numel(); ++i) {
        const float v = h.data<float>()[i];
        a.data<float>()[i] = v * v;
    }
    return a;
}

// |cpu - gpu| <= 1e-5 + 1e-2 sqrt(sum_sq) + 2^-10 |cpu|, elementwise.
::testing::AssertionResult within_tf32_l2(const Tensor& ref, const Tensor& got,
                                          const Tensor& sum_sq) {
    Tensor bound = Tensor::host(ref.shape(), DType::f32);
    for (std::int64_t i = 0; i < ref.numel(); ++i)
        bound.data<float>()[i] =
            1e-2f * std::sqrt(sum_sq.data<float>()[i]) + 9.8e-4f * std::fabs(ref.data<float>()[i]);
    return within_bound(ref, got, bound, 1e-5, 1.0);
}

const Tf32Bound kTf32L2Bound{squares_of, within_tf32_l2};

const std::vector<ConvCase> kUNetConvCases = {
    {4, 3, 32, 304, 304, 3, 1, false},   // the first convolution
    {4, 32, 32, 304, 304, 3, 1, false},  // level 0
    {4, 64, 32, 304, 304, 3, 1, false},  // level 0 of the decoder, after the skip concat
    {8, 64, 64, 152, 152, 3, 1, false},  // level 1
    {8, 256, 512, 19, 19, 3, 1, false},  // into the bottom level
    {8, 512, 512, 19, 19, 3, 1, false},  // the bottom level
    {4, 32, 6, 304, 304, 1, 0, true},    // the 1x1 logits layer
};

TEST(NnOpsGpuLarge, Conv2dAtUNetShapesMatchesCpu) {
    auto cpu = pfce::test::cpu_backend();
    PFCE_REQUIRE_GPU(gpu);
    check_conv_cases(*cpu, *gpu, kUNetConvCases, 3000, kTf32L2Bound);
}

TEST(NnOpsGpuLarge, Upconv2x2AtUNetShapesMatchesCpu) {
    auto cpu = pfce::test::cpu_backend();
    PFCE_REQUIRE_GPU(gpu);
    const std::vector<UpCase> cases = {{8, 512, 256, 19, 19, true}, {4, 64, 32, 152, 152, true}};
    check_upconv_cases(*cpu, *gpu, cases, 3500, kTf32L2Bound);
}

// Batch norm over the activations of a real batch: per-channel reductions over 370k-740k values,
// many slices per channel.
TEST(NnOpsGpuLarge, BatchNormAtUNetShapesMatchesCpu) {
    auto cpu = pfce::test::cpu_backend();
    PFCE_REQUIRE_GPU(gpu);
    const std::vector<BnCase> cases = {{8, 32, 304, 304}, {8, 64, 152, 152}, {8, 512, 19, 19}};
    check_batchnorm_everywhere(*cpu, *gpu, cases, 4000);
}

// ---- a warmed-up step neither allocates nor synchronizes ---------------------------------------

#ifdef PFCE_HAVE_CUDA
// One U-Net-like level forward and backward: conv, BN, ReLU, pool, upconv, concat, pad, crop.
struct MiniStep {
    Backend& b;
    Tensor x, w, bias, gamma, beta, rm, rv, y, ybn, sm, si, pooled, up, wu, bu, cat, padded,
        cropped;
    Tensor dcat, dup, dpooled, dybn, dy, dx, dw, dbias, dgamma, dbeta, dwu, dbu, pred;

    explicit MiniStep(Backend& be) : b(be) {
        auto rnd = [&](Shape s, std::uint64_t seed) { return to_backend(b, random_f32(s, seed)); };
        x = rnd({2, 3, 10, 10}, 1);
        w = rnd({4, 3, 3, 3}, 2);
        bias = rnd({4}, 3);
        gamma = rnd({4}, 4);
        beta = rnd({4}, 5);
        rm = rnd({4}, 6);
        rv = to_backend(b, random_f32({4}, 7, 0.5f, 1.5f));
        wu = rnd({4, 4, 2, 2}, 8);
        bu = rnd({4}, 9);
        for (Tensor* t : {&y, &ybn, &dybn, &dy}) *t = b.zeros({2, 4, 10, 10}, DType::f32);
        for (Tensor* t : {&sm, &si, &dbias, &dgamma, &dbeta, &dbu}) *t = b.zeros({4}, DType::f32);
        pooled = b.zeros({2, 4, 5, 5}, DType::f32);
        dpooled = b.zeros({2, 4, 5, 5}, DType::f32);
        up = b.zeros({2, 4, 10, 10}, DType::f32);
        dup = b.zeros({2, 4, 10, 10}, DType::f32);
        cat = b.zeros({2, 8, 10, 10}, DType::f32);
        dcat = b.zeros({2, 8, 10, 10}, DType::f32);
        padded = b.zeros({2, 8, 13, 12}, DType::f32);
        cropped = b.zeros({2, 8, 10, 10}, DType::f32);
        dx = b.zeros({2, 3, 10, 10}, DType::f32);
        dw = b.zeros({4, 3, 3, 3}, DType::f32);
        dwu = b.zeros({4, 4, 2, 2}, DType::f32);
        pred = b.zeros({2, 10, 10}, DType::u8);
    }

    void run() {
        const Conv2dParams p{1};
        b.conv2d_forward(x, w, bias, y, p);
        b.batchnorm_forward_train(y, gamma, beta, rm, rv, ybn, sm, si, BatchNormParams{});
        b.relu_forward(ybn, ybn);
        b.maxpool2x2_forward(ybn, pooled);
        b.upconv2x2_forward(pooled, wu, bu, up);
        b.concat_channels(ybn, up, cat);
        b.reflect_pad(cat, padded, 2, 1);
        b.crop(padded, cropped, 2, 1);
        b.argmax_channels(cropped, pred);
        // backward, with the cropped tensor standing in for the loss gradient
        b.crop_backward(cropped, padded, 2, 1);
        b.crop(padded, dcat, 2, 1);
        b.concat_channels_backward(dcat, dybn, dup);
        b.upconv2x2_backward_filter(pooled, dup, dwu, dbu);
        b.upconv2x2_backward_data(dup, wu, dpooled);
        b.maxpool2x2_backward(ybn, pooled, dpooled, dy);  // dy <- gradient through the pool
        b.add_inplace(dybn, dy);                          // dybn <- skip + pool gradients
        b.relu_backward(ybn, dybn, dy);                   // dy <- gradient at the BN output
        b.batchnorm_backward(y, nullptr, dy, gamma, sm, si, dybn, dgamma,
                             dbeta);  // dybn <- at conv output
        b.conv2d_backward_filter(x, dybn, dw, dbias, p);
        b.conv2d_backward_data(dybn, w, dx, p);
    }
};

// Stream capture forbids synchronizing calls and device allocation, and cuDNN's algorithm search
// (which times kernels) cannot be captured either: capturing the second step proves that plans,
// descriptors and workspace were all cached by the first.
TEST(NnOpsGpu, WarmStepIsCapturableIntoAGraph) {
    PFCE_REQUIRE_GPU(gpu);
    // Both modes wait after every launch, which capture forbids: the test means nothing there.
    for (const char* mode : {"PFCE_CUDA_SYNC_CHECK", "CUDA_LAUNCH_BLOCKING"}) {
        const char* v = std::getenv(mode);
        if (v != nullptr && std::string(v) == "1")
            GTEST_SKIP() << mode << "=1 synchronizes every launch; stream capture cannot run";
    }
    auto* cuda = dynamic_cast<CudaBackend*>(gpu.get());
    ASSERT_NE(cuda, nullptr);
    MiniStep step(*gpu);
    step.run();  // warm-up: plan searches, workspace growth
    gpu->synchronize();
    const std::size_t ws_bytes = cuda->context().workspace_bytes();

    cudaStream_t stream = cuda->context().stream;
    ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal), cudaSuccess);
    std::string failure;
    try {
        step.run();
    } catch (const std::exception& e) {
        failure = e.what();
    }
    cudaGraph_t graph = nullptr;
    const cudaError_t end = cudaStreamEndCapture(stream, &graph);
    cudaGetLastError();  // clear a capture error so the following tests start clean
    EXPECT_EQ(failure, "") << "an op synchronized or allocated during capture";
    EXPECT_EQ(end, cudaSuccess) << cudaGetErrorString(end);
    EXPECT_EQ(cuda->context().workspace_bytes(), ws_bytes) << "the workspace grew after warm-up";
    if (graph) {
        cudaGraphExec_t exec = nullptr;
        EXPECT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
        if (exec) {
            EXPECT_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);
            EXPECT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
            cudaGraphExecDestroy(exec);
        }
        cudaGraphDestroy(graph);
    }
}
#endif

}  // namespace
