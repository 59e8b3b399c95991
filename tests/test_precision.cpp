// The convolution precisions (core/op_params.hpp Precision, run.precision): the bf16 and TF32
// roundings of core/kernels/precision.hpp against an independent formula and at their edges; the
// CPU twin (CpuBackend, on nchw and nhwc, against ReferenceBackend) at every rounding point, with
// directed cases whose exact results change if any rounding is skipped; the config key; and on a
// GPU (PrecisionGpu.*, skipped without one) the CUDA paths against that twin and a bf16 training
// run whose loss falls.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/kernels/precision.hpp"
#include "core/rng.hpp"
#include "host/backend/backend_factory.hpp"
#include "host/train/evaluate.hpp"
#include "host/train/trained_model.hpp"
#include "tests/test_util.hpp"
#include "tests/trainer_fixtures.hpp"

using namespace pfce;
using namespace pfce::kernels;
using namespace pfce::test;

namespace {

float from_bits(std::uint32_t u) {
    return std::bit_cast<float>(u);
}
std::uint32_t bits_of(float f) {
    return std::bit_cast<std::uint32_t>(f);
}

// ---- the roundings -----------------------------------------------------------------------------

// Round to nearest even with `sig` significant bits and the f32 exponent range, from the
// definition, in double: the spacing of representable values around x is 2^(e - sig) for x in
// [2^(e-1), 2^e), but never below that of the subnormals, 2^(-126 - (sig - 1)); std::nearbyint
// rounds ties to even in the default rounding mode; beyond the largest finite value (spacing
// 2^(128 - sig) below 2^128) a value whose rounding reaches 2^128 is an infinity.
float round_by_definition(float f, int sig) {
    if (std::isnan(f) || std::isinf(f) || f == 0.0f) return f;
    int e = 0;
    std::frexp(static_cast<double>(f), &e);  // |f| in [2^(e-1), 2^e)
    const double spacing = std::ldexp(1.0, std::max(e - sig, -126 - (sig - 1)));
    const double r = std::nearbyint(static_cast<double>(f) / spacing) * spacing;
    if (std::fabs(r) >= std::ldexp(1.0, 128)) return std::copysign(INFINITY, f);
    return static_cast<float>(r);
}

TEST(Precision, RoundingsMatchTheirDefinitionOnRandomBitPatterns) {
    CounterRng rng(7, 0x5eed);
    for (int i = 0; i < 400000; ++i) {
        // Every exponent equally often, so subnormals and the overflow edge are well covered.
        const float f = from_bits(rng.next_u32());
        if (std::isnan(f)) continue;
        ASSERT_EQ(bits_of(round_bf16(f)), bits_of(round_by_definition(f, 8))) << f;
        ASSERT_EQ(bits_of(round_tf32(f)), bits_of(round_by_definition(f, 11))) << f;
    }
}

TEST(Precision, Bf16RoundsTiesToEven) {
    // bf16 spacing at 1 is 2^-7: 1 + 2^-8 is the tie between 1 (even) and 1 + 2^-7 (odd).
    EXPECT_EQ(round_bf16(1.0f + 0x1p-8f), 1.0f);
    EXPECT_EQ(round_bf16(1.0f + 0x1p-8f + 0x1p-20f), 1.0f + 0x1p-7f);  // just above the tie
    // 1 + 3 * 2^-8 is the tie between 1 + 2^-7 (odd) and 1 + 2^-6 (even).
    EXPECT_EQ(round_bf16(1.0f + 3 * 0x1p-8f), 1.0f + 0x1p-6f);
    EXPECT_EQ(round_bf16(-(1.0f + 3 * 0x1p-8f)), -(1.0f + 0x1p-6f));
    EXPECT_EQ(round_bf16(1.5f), 1.5f);  // representable values stay
    EXPECT_EQ(bits_of(round_bf16(-0.0f)), bits_of(-0.0f));
    // TF32: spacing 2^-10 at 1.
    EXPECT_EQ(round_tf32(1.0f + 0x1p-11f), 1.0f);
    EXPECT_EQ(round_tf32(1.0f + 3 * 0x1p-11f), 1.0f + 0x1p-9f);
    EXPECT_EQ(round_tf32(1.0f + 0x1p-11f + 0x1p-20f), 1.0f + 0x1p-10f);
}

TEST(Precision, NanStaysNanAndInfinitiesStay) {
    // A NaN whose payload lies only in the dropped bits would truncate to an infinity.
    for (const std::uint32_t nan : {0x7f800001u, 0xff800001u, 0x7fc00000u, 0x7fffffffu}) {
        EXPECT_TRUE(std::isnan(round_bf16(from_bits(nan)))) << std::hex << nan;
        EXPECT_TRUE(std::isnan(round_tf32(from_bits(nan)))) << std::hex << nan;
        EXPECT_TRUE(std::isnan(bf16_to_float(bf16_bits(from_bits(nan))))) << std::hex << nan;
        EXPECT_EQ(std::signbit(round_bf16(from_bits(nan))), (nan >> 31) != 0);
    }
    EXPECT_EQ(round_bf16(INFINITY), INFINITY);
    EXPECT_EQ(round_bf16(-INFINITY), -INFINITY);
    EXPECT_EQ(round_tf32(-INFINITY), -INFINITY);
}

TEST(Precision, OverflowOnRoundingGivesInfinityAndMaxFiniteStays) {
    const float max_f32 = std::numeric_limits<float>::max();
    EXPECT_EQ(round_bf16(max_f32), INFINITY);  // above the midpoint to 2^128
    EXPECT_EQ(round_bf16(-max_f32), -INFINITY);
    EXPECT_EQ(round_tf32(max_f32), INFINITY);
    const float max_bf16 = from_bits(0x7f7f0000u);
    EXPECT_EQ(round_bf16(max_bf16), max_bf16);
    EXPECT_EQ(round_bf16(from_bits(0x7f7f7fffu)), max_bf16);  // just below the midpoint
    EXPECT_EQ(round_bf16(from_bits(0x7f7f8000u)), INFINITY);  // the midpoint: to even = 2^128
    const float max_tf32 = from_bits(0x7f7fe000u);
    EXPECT_EQ(round_tf32(max_tf32), max_tf32);
    EXPECT_EQ(round_tf32(from_bits(0x7f7fefffu)), max_tf32);
}

TEST(Precision, SubnormalsRoundOnTheirOwnSpacing) {
    EXPECT_EQ(bits_of(round_bf16(from_bits(0x00000001u))), 0u);           // to +0
    EXPECT_EQ(bits_of(round_bf16(from_bits(0x80000001u))), 0x80000000u);  // to -0
    EXPECT_EQ(bits_of(round_bf16(from_bits(0x00008000u))), 0u);           // tie, to even 0
    EXPECT_EQ(bits_of(round_bf16(from_bits(0x00018000u))), 0x00020000u);  // tie, to even 2
    EXPECT_EQ(bits_of(round_bf16(from_bits(0x00008001u))), 0x00010000u);
    // The largest subnormal rounds up to the smallest normal.
    EXPECT_EQ(bits_of(round_bf16(from_bits(0x007fffffu))), 0x00800000u);
    EXPECT_EQ(bits_of(round_tf32(from_bits(0x00001000u))), 0u);           // tie, to even 0
    EXPECT_EQ(bits_of(round_tf32(from_bits(0x00003000u))), 0x00004000u);  // tie, to even 2
}

TEST(Precision, Bf16BitsRoundTripEveryValue) {
    for (std::uint32_t b = 0; b < 0x10000u; ++b) {
        const float f = bf16_to_float(static_cast<std::uint16_t>(b));
        if (std::isnan(f)) continue;
        ASSERT_EQ(bf16_bits(f), b);
        ASSERT_EQ(bits_of(round_bf16(f)), bits_of(f));
    }
}

// ---- the config key ----------------------------------------------------------------------------

TEST(Precision, ConfigKeyAcceptsAutoAndTheThreeAndNamesTheAllowedSet) {
    const ConfigKey* k = find_config_key("run.precision");
    ASSERT_NE(k, nullptr);
    EXPECT_EQ(k->flag, "--precision");
    EXPECT_TRUE(k->affects_result);
    Config c;
    EXPECT_EQ(c.run.precision, "auto");
    for (const char* name : {"fp32", "tf32", "bf16", "auto"}) {
        apply_flag_text(c, *k, name);
        EXPECT_EQ(c.run.precision, name);
    }
    const std::string msg = test::input_error_message([&] { apply_flag_text(c, *k, "fp16"); });
    for (const char* part : {"fp16", "auto", "fp32", "tf32", "bf16"})
        EXPECT_NE(msg.find(part), std::string::npos) << msg;
    // auto is each device's fast f32 path: what the backends did before there was a setting.
    EXPECT_EQ(parse_precision("auto", true), Precision::tf32);
    EXPECT_EQ(parse_precision("auto", false), Precision::fp32);
    EXPECT_EQ(parse_precision("bf16", false), Precision::bf16);
    const std::string bad = test::input_error_message([] { parse_precision("half", true); });
    EXPECT_NE(bad.find("\"half\""), std::string::npos) << bad;
    EXPECT_NE(bad.find("auto, fp32, tf32, bf16"), std::string::npos) << bad;
}

// ---- convolutions: directed cases --------------------------------------------------------------
// One-pixel convolutions whose exact result says which roundings ran. With e just under half the
// precision's spacing at 1 (bf16: 2^-8 - 2^-12; TF32: 2^-11 - 2^-15), a factor 1 + e rounds to 1
// and the other factor is 1.5 (exact): a product that rounded its factors is exactly 1.5 per
// term, one that did not is 1.5 + 1.5e, which the bf16 output rounding moves up to the next bf16
// value (1.5e is over half a spacing), and which TF32 (unrounded output) keeps. Each direction is
// run with the 1 + e on either side, so skipping the rounding of either factor changes the result.

float half_spacing_less(Precision p) {
    return p == Precision::bf16 ? 0x1p-8f - 0x1p-12f : 0x1p-11f - 0x1p-15f;
}

// A weighted layer's three passes on any backend: forward (a = x, b = w), backward data (a = dy,
// b = w), backward filter (a = x, b = dy); `out` is the pass's output, `bias` its bias (forward)
// or bias gradient (backward filter), or empty.
struct Layer {
    const char* name;
    Shape x, w, y;   // the shapes of a one-pixel input
    int terms_data;  // products summed into each element of the backward-data output
    std::function<void(Backend&, int pass, const Tensor& a, const Tensor& b, Tensor& out,
                       Tensor& bias)>
        run;
};

std::vector<Layer> layers() {
    return {
        {"conv2d 1x1",
         {1, 1, 1, 1},
         {1, 1, 1, 1},
         {1, 1, 1, 1},
         1,
         [](Backend& be, int pass, const Tensor& a, const Tensor& b, Tensor& out, Tensor& bias) {
             const Conv2dParams p{0};
             if (pass == 0) be.conv2d_forward(a, b, bias, out, p);
             if (pass == 1) be.conv2d_backward_data(a, b, out, p);
             if (pass == 2) be.conv2d_backward_filter(a, b, out, bias, p);
         }},
        {"upconv2x2",
         {1, 1, 1, 1},
         {1, 1, 2, 2},
         {1, 1, 2, 2},
         4,
         [](Backend& be, int pass, const Tensor& a, const Tensor& b, Tensor& out, Tensor& bias) {
             if (pass == 0) be.upconv2x2_forward(a, b, bias, out);
             if (pass == 1) be.upconv2x2_backward_data(a, b, out);
             if (pass == 2) be.upconv2x2_backward_filter(a, b, out, bias);
         }}};
}

Tensor filled(Shape s, float v) {
    Tensor t = Tensor::host(s, DType::f32);
    for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = v;
    return t;
}

// The passes' operand shapes (a, b) and output shape.
struct PassShapes {
    Shape a, b, out;
};
PassShapes pass_shapes(const Layer& l, int pass) {
    if (pass == 0) return {l.x, l.w, l.y};
    if (pass == 1) return {l.y, l.w, l.x};
    return {l.x, l.y, l.w};
}

// Pass `pass` of `l` on `be` with every element of a and b set to va, vb (host in, host out), the
// bias (forward: every element `bias_value`; backward filter: the gradient) in *bias_out.
Tensor run_pass(Backend& be, const Layer& l, int pass, float va, float vb, float bias_value = 0,
                Tensor* bias_out = nullptr) {
    const PassShapes s = pass_shapes(l, pass);
    const Tensor a = to_backend(be, filled(s.a, va)), b = to_backend(be, filled(s.b, vb));
    Tensor out = be.zeros(s.out, DType::f32);
    const Shape bs{l.y[1]};  // the output channels, the bias's size
    Tensor bias;
    if (pass == 0) bias = to_backend(be, filled(bs, bias_value));
    if (pass == 2 && bias_out) bias = be.zeros(bs, DType::f32);
    l.run(be, pass, a, b, out, bias);
    if (bias_out && !bias.empty()) *bias_out = to_host(be, bias);
    return to_host(be, out);
}

const char* const kPass[] = {"forward", "backward_data", "backward_filter"};

// Every element of `got` equals one of `allowed`.
::testing::AssertionResult every_element_in(const Tensor& got, std::vector<float> allowed) {
    for (std::int64_t i = 0; i < got.numel(); ++i) {
        const float g = got.data<float>()[i];
        bool ok = false;
        for (float a : allowed) ok = ok || g == a;
        if (!ok) {
            auto f = ::testing::AssertionFailure() << "element " << i << " = " << g << ", want";
            for (float a : allowed) f << " " << a;
            return f;
        }
    }
    return ::testing::AssertionSuccess();
}

// The directed cases on `be` at precision p. `rounded` says whether the backend must round as the
// twin does (CPU; CUDA at bf16); otherwise (CUDA at tf32, where cuDNN picks whether a kernel uses
// TF32, and may truncate) either the rounded or the unrounded result is accepted, and at fp32
// only the unrounded one.
void check_directed(Backend& be, Precision p, bool rounded) {
    be.set_precision(p);
    const float e = half_spacing_less(p);
    for (const Layer& l : layers()) {
        for (int pass = 0; pass < 3; ++pass) {
            SCOPED_TRACE(std::string(l.name) + " " + kPass[pass] + " at " + kPrecisions.name(p));
            const float terms = pass == 1 ? static_cast<float>(l.terms_data) : 1.0f;
            const float twin = 1.5f * terms;                // the factors rounded
            const float exact = (1.5f + 1.5f * e) * terms;  // exact in f32 for these e
            const float result = p == Precision::bf16 ? round_bf16(exact) : exact;
            ASSERT_NE(twin, result) << "the case must tell the two apart";
            std::vector<float> want{twin};
            if (!rounded)
                want = p == Precision::fp32 ? std::vector<float>{exact}
                                            : std::vector<float>{twin, exact};
            EXPECT_TRUE(every_element_in(run_pass(be, l, pass, 1.0f + e, 1.5f), want))
                << "1 + e in the first factor";
            EXPECT_TRUE(every_element_in(run_pass(be, l, pass, 1.5f, 1.0f + e), want))
                << "1 + e in the second factor";
        }
        // bf16 rounds the result: (1 + 2^-7)^2 = 1 + 2^-6 + 2^-14 (exact factors) is stored as
        // 1 + 2^-6; TF32 and fp32 keep it. The bias (2^-12) is added after, in f32.
        const float f = 1.0f + 0x1p-7f, sq = 1.0f + 0x1p-6f + 0x1p-14f;
        const float want_y = p == Precision::bf16 ? 1.0f + 0x1p-6f : sq;
        EXPECT_TRUE(every_element_in(run_pass(be, l, 0, f, f), {want_y})) << l.name;
        EXPECT_TRUE(every_element_in(run_pass(be, l, 0, f, f, 0x1p-12f), {want_y + 0x1p-12f}))
            << l.name << ": the bias is added in f32 after the rounding";
        // The bias gradient sums the f32 dy, unrounded: one 1 + e per output element.
        Tensor db;
        run_pass(be, l, 2, 1.5f, 1.0f + e, 0, &db);
        const float per_channel = (1.0f + e) * static_cast<float>(pass_shapes(l, 0).out.numel());
        EXPECT_TRUE(every_element_in(db, {per_channel})) << l.name << " bias gradient";
    }
}

TEST(Precision, DirectedCasesShowEveryRoundingOnCpuAndReference) {
    auto cpu = test::cpu_backend();
    auto ref = test::reference_backend();
    for (Precision p : {Precision::bf16, Precision::tf32}) {
        check_directed(*cpu, p, true);
        check_directed(*ref, p, true);
    }
    check_directed(*cpu, Precision::fp32, false);
    check_directed(*ref, Precision::fp32, false);
}

// ---- convolutions: random cases, CPU against the reference -------------------------------------

struct RandomCase {
    const char* name;
    bool upconv;
    int n, ci, co, h, w, k, pad;
    bool bias;
};
const std::vector<RandomCase> kRandomCases = {
    {"conv 3x3", false, 2, 8, 6, 7, 9, 3, 1, true},
    {"conv 3x3 no bias", false, 1, 16, 5, 6, 5, 3, 1, false},
    {"conv 1x1", false, 2, 12, 3, 5, 4, 1, 0, true},
    {"upconv", true, 2, 10, 6, 4, 5, 2, 0, true},
};

// The tensors of one case: inputs and the outputs of the three passes.
struct Shapes {
    Shape x, w, y;
};
Shapes shapes_of(const RandomCase& c) {
    if (c.upconv) return {{c.n, c.ci, c.h, c.w}, {c.ci, c.co, 2, 2}, {c.n, c.co, 2 * c.h, 2 * c.w}};
    const int ho = c.h + 2 * c.pad - c.k + 1, wo = c.w + 2 * c.pad - c.k + 1;
    return {{c.n, c.ci, c.h, c.w}, {c.co, c.ci, c.k, c.k}, {c.n, c.co, ho, wo}};
}

// The outputs of the three passes (host, nchw): y, dx, dw, db.
struct Outputs {
    Tensor y, dx, dw, db;
};
struct Inputs {
    Tensor x, w, b, dy;
};
Inputs inputs_of(const RandomCase& c, std::uint64_t seed, bool magnitudes = false) {
    const Shapes s = shapes_of(c);
    Inputs in{random_f32(s.x, seed), random_f32(s.w, seed + 1),
              c.bias ? random_f32({c.co}, seed + 2) : Tensor(), random_f32(s.y, seed + 3)};
    if (magnitudes)
        for (Tensor* t : {&in.x, &in.w, &in.b, &in.dy})
            for (std::int64_t i = 0; !t->empty() && i < t->numel(); ++i)
                t->data<float>()[i] = std::fabs(t->data<float>()[i]);
    return in;
}

// Runs the three passes of `c` on `be` (activations in `layout`) at precision p.
Outputs run_case(Backend& be, const RandomCase& c, const Inputs& in, Precision p,
                 Layout layout = Layout::nchw) {
    be.set_precision(p);
    const Shapes s = shapes_of(c);
    auto up = [&](const Tensor& h) { return to_backend(be, h, layout); };
    auto down = [&](const Tensor& t) { return test::to_host_nchw(be, t); };
    const Tensor x = up(in.x), dy = up(in.dy), w = to_backend(be, in.w);
    const Tensor b = c.bias ? to_backend(be, in.b) : Tensor();
    Tensor y = up(Tensor::host(s.y, DType::f32)), dx = up(Tensor::host(s.x, DType::f32));
    Tensor dw = be.zeros(s.w, DType::f32), db = c.bias ? be.zeros({c.co}, DType::f32) : Tensor();
    if (c.upconv) {
        be.upconv2x2_forward(x, w, b, y);
        be.upconv2x2_backward_data(dy, w, dx);
        be.upconv2x2_backward_filter(x, dy, dw, db);
    } else {
        const Conv2dParams cp{c.pad};
        be.conv2d_forward(x, w, b, y, cp);
        be.conv2d_backward_data(dy, w, dx, cp);
        be.conv2d_backward_filter(x, dy, dw, db, cp);
    }
    return {down(y), down(dx), to_host(be, dw), c.bias ? to_host(be, db) : Tensor()};
}

// How two results of the same precision compare, element by element, against a magnitude `mag`
// (the same pass on |inputs| at fp32: sum |a||b| per element).
struct Comparison {
    double worst_share = 0;  // largest |got - ref| / allowed
    double equal = 0;        // fraction of bit-equal elements
    double rel_to_max = 0;   // max |got - ref| / max |ref|
};
Comparison compare(const Tensor& ref, const Tensor& got, const Tensor& mag, double rel_value,
                   double rel_mag, double atol) {
    Comparison c;
    double max_ref = 0, max_err = 0;
    std::int64_t equal = 0;
    for (std::int64_t i = 0; i < ref.numel(); ++i) {
        const double r = ref.data<float>()[i], g = got.data<float>()[i];
        const double err = std::fabs(g - r);
        const double allowed = atol + rel_value * std::fabs(r) + rel_mag * mag.data<float>()[i];
        c.worst_share = std::max(c.worst_share, err / allowed);
        equal += r == g;
        max_ref = std::max(max_ref, std::fabs(r));
        max_err = std::max(max_err, err);
    }
    c.equal =
        static_cast<double>(equal) / static_cast<double>(std::max<std::int64_t>(1, ref.numel()));
    c.rel_to_max = max_ref > 0 ? max_err / max_ref : max_err;
    return c;
}

bool all_bf16(const Tensor& t) {
    for (std::int64_t i = 0; i < t.numel(); ++i)
        if (round_bf16(t.data<float>()[i]) != t.data<float>()[i]) return false;
    return true;
}

// Each output of `got` against `ref` (the same precision elsewhere): within atol + rel_mag * mag
// of ref (mag: the pass on |inputs| at fp32, sum |a||b| per element), at least min_equal of the
// elements of y, dx, dw bit-equal, and off `fp32` (the reference at fp32) by a share of its
// largest value in [lo, hi] -- so a path that skipped the rounding fails the lower bound. The bias
// gradient is an f32 sum of f32 dy at every precision: within 1e-6 mag. At bf16, dx and dw (and y
// without a bias) must hold bf16 values.
struct Bounds {
    double rel_mag, atol, min_equal, lo, hi;
};
void check_outputs(const Outputs& ref, const Outputs& got, const Outputs& fp32, const Outputs& mag,
                   const Bounds& bd, Precision p, bool bias) {
    const std::pair<const char*, Tensor Outputs::*> outs[] = {
        {"y", &Outputs::y}, {"dx", &Outputs::dx}, {"dw", &Outputs::dw}, {"db", &Outputs::db}};
    for (const auto& [name, m] : outs) {
        if ((ref.*m).empty()) continue;
        SCOPED_TRACE(name);
        const std::string n = name;
        if (n == "db") {
            EXPECT_LE(compare(ref.*m, got.*m, mag.*m, 0, 1e-6, 1e-7).worst_share, 1.0);
            continue;
        }
        const Comparison c = compare(ref.*m, got.*m, mag.*m, 0, bd.rel_mag, bd.atol);
        EXPECT_LE(c.worst_share, 1.0);
        EXPECT_GE(c.equal, bd.min_equal);
        const Comparison off = compare(fp32.*m, got.*m, mag.*m, 1, 1, 1);
        EXPECT_GE(off.rel_to_max, bd.lo) << "no sign of the rounding";
        EXPECT_LE(off.rel_to_max, bd.hi);
        if (p == Precision::bf16 && !(n == "y" && bias)) {
            EXPECT_TRUE(all_bf16(got.*m));
        }
    }
}

// The bounds of a CPU result against the reference at precision p. bf16: both round the same
// bf16 factors, and their sums (f32 in oneDNN, double in the reference) differ by accumulation
// order only, <= K 2^-24 mag for K <= 150 terms, so the bf16 results are equal unless a sum lies
// that close to a rounding boundary (a fraction of about K 2^-16 < 1%: at least 90% equal), and
// then differ by one bf16 spacing, <= 2^-7 of the value <= 2^-7 mag. Against fp32 the factor
// roundings (2^-9 each) and the result's move a result by 1e-4 to 1e-2 of the largest. tf32: no
// result rounding, so only the accumulation differs (2e-5 mag); the TF32 factors move results by
// 1e-5 to 4e-3 of the largest.
Bounds cpu_bounds(Precision p) {
    if (p == Precision::bf16) return {0x1p-7 + 1e-5, 1e-7, 0.9, 1e-4, 3e-2};
    return {2e-5, 1e-7, 0.0, 1e-5, 4e-3};
}

TEST(Precision, CpuMatchesReferenceAtBf16AndTf32OnBothLayouts) {
    auto cpu = test::cpu_backend();
    auto ref = test::reference_backend();
    std::uint64_t seed = 300;
    for (const RandomCase& c : kRandomCases) {
        SCOPED_TRACE(c.name);
        const Inputs in = inputs_of(c, seed += 10), abs_in = inputs_of(c, seed, true);
        const Outputs mag = run_case(*ref, c, abs_in, Precision::fp32);
        const Outputs fp32 = run_case(*ref, c, in, Precision::fp32);
        for (Precision p : {Precision::bf16, Precision::tf32}) {
            SCOPED_TRACE(kPrecisions.name(p));
            const Outputs want = run_case(*ref, c, in, p);
            for (Layout layout : {Layout::nchw, Layout::nhwc}) {
                SCOPED_TRACE(layout_name(layout));
                check_outputs(want, run_case(*cpu, c, in, p, layout), fp32, mag, cpu_bounds(p), p,
                              c.bias);
            }
            // The reference itself: against its fp32 result by the same shares.
            check_outputs(want, want, fp32, mag, cpu_bounds(p), p, c.bias);
        }
        // fp32 is the op as it was: the CPU within float accumulation of the reference.
        check_outputs(fp32, run_case(*cpu, c, in, Precision::fp32), fp32, mag,
                      {2e-5, 1e-7, 0.0, 0.0, 1e-5}, Precision::fp32, c.bias);
    }
}

// A short bf16 training run on `be`: the training loss falls as at fp32 (the sparse-label test of
// test_trainer.cpp, 6 epochs of 4 images of 32x32).
void check_bf16_training(Backend& be, const std::string& device) {
    const TrainInputs in = test::synthetic_inputs(4, 32, true);
    Config c = test::small_config(test::temp_dir("precision_train_" + device) + "/run");
    c.run.device = device;
    c.run.epochs = 6;
    c.run.precision = "bf16";
    c.data.augment = false;
    c.schedule.name = "cosine";
    c.schedule.warmup_epochs = 1;
    const TrainResult r = train_unet(be, c, in, test::quiet_options());
    const auto lines = test::read_metrics(r.metrics_path);
    ASSERT_EQ(lines.size(), 6u);
    const double first = lines.front()["train_loss"], last = lines.back()["train_loss"];
    EXPECT_TRUE(std::isfinite(last));
    EXPECT_LT(last, 0.7 * first) << "first " << first << " last " << last;

    // The checkpoint reloads at its training precision: evaluating it again on a fresh backend
    // gives the validation loss the run recorded, and at fp32 it would not.
    const double recorded = lines.back()["val_loss"];
    auto eval_loss = [&](bool force_fp32) {
        std::unique_ptr<Backend> fresh = make_backend(device);
        TrainedModel m = load_trained_model(*fresh, r.last_checkpoint);
        if (force_fp32) fresh->set_precision(Precision::fp32);
        return evaluate(*fresh, *m.net, in.val, m.stats, focal_params(m.config), m.clutter_class,
                        eval_options(m.config))
            .loss;
    };
    EXPECT_NEAR(eval_loss(false), recorded, 1e-6 * std::abs(recorded));
    EXPECT_GT(std::abs(eval_loss(true) - recorded), 1e-5 * std::abs(recorded))
        << "bf16 and fp32 evaluation agree: the check above could not fail";
}

TEST(Precision, Bf16TrainingLossFallsOnCpu) {
    auto cpu = test::cpu_backend();
    check_bf16_training(*cpu, "cpu");
}

// ---- on a GPU -----------------------------------------------------------------------------------

// CUDA at bf16 rounds as the twin: the directed results exactly. At tf32 cuDNN picks per
// algorithm whether TF32 tensor cores run (and they may truncate), so either result; at fp32
// (CUDNN_FMA_MATH) only the unrounded one: a TF32 kernel would give the rounded one.
TEST(PrecisionGpu, DirectedCasesRoundAsTheCpuTwin) {
    PFCE_REQUIRE_GPU(gpu);
    check_directed(*gpu, Precision::bf16, true);
    check_directed(*gpu, Precision::tf32, false);
    check_directed(*gpu, Precision::fp32, false);
}

// Larger cases than the CPU test's, with the shapes of the U-Net's layers at small size.
const std::vector<RandomCase> kGpuCases = {
    {"conv 3x3", false, 2, 8, 6, 7, 9, 3, 1, true},
    {"conv 3x3 no bias", false, 2, 32, 16, 12, 10, 3, 1, false},
    {"conv 3x3 wide", false, 2, 64, 64, 16, 16, 3, 1, false},
    {"conv 1x1", false, 3, 16, 6, 9, 8, 1, 0, true},
    {"upconv", true, 2, 10, 6, 4, 5, 2, 0, true},
    {"upconv wide", true, 2, 64, 32, 8, 8, 2, 0, true},
};

// CUDA against the CPU twin at each precision. bf16: the same bf16 factors, f32 sums in another
// order (K <= 600 terms: <= K 2^-24 mag apart), so results are bit-equal except where a sum lies
// that close to a bf16 rounding boundary (about K 2^-16 < 1% of them: at least 90% equal), where
// they differ by one bf16 spacing (<= 2^-7 mag); 1e-4 mag more for any accumulation scheme cuDNN
// may use. tf32: both within the TF32 bound of test_nn_ops_gpu.cpp (1.96e-3 mag each side of the
// exact result, so 4e-3 mag apart), whether or not cuDNN ran TF32. fp32: float accumulation only,
// <= K 2^-24 mag < 4e-5 mag, and within 1e-4 of the largest value of the fp32 result (TF32 would
// move it by about 1e-3).
TEST(PrecisionGpu, ConvolutionsMatchTheCpuTwinAtEveryPrecision) {
    auto cpu = test::cpu_backend();
    PFCE_REQUIRE_GPU(gpu);
    std::uint64_t seed = 900;
    const std::pair<Precision, Bounds> runs[] = {
        {Precision::bf16, {0x1p-7 + 1e-4, 1e-6, 0.9, 1e-4, 3e-2}},
        {Precision::tf32, {4e-3, 1e-5, 0.0, 0.0, 4e-3}},
        {Precision::fp32, {4e-5, 1e-6, 0.0, 0.0, 1e-4}},
    };
    // In each memory layout cuDNN may convolve in (the "convolution" variants: NCHW, NHWC), on
    // nchw and nhwc activations (the "activations" variants: staged when the layouts differ,
    // convolved in place at fp32 and tf32 when they agree).
    for (const std::string& layout : gpu->op_variants("convolution"))
        for (const Layout activations : {Layout::nchw, Layout::nhwc}) {
            SCOPED_TRACE(layout + ", " + layout_name(activations) + " activations");
            gpu->select_op_variant("convolution", layout);
            for (const RandomCase& c : kGpuCases) {
                SCOPED_TRACE(c.name);
                const Inputs in = inputs_of(c, seed += 10), abs_in = inputs_of(c, seed, true);
                const Outputs mag = run_case(*cpu, c, abs_in, Precision::fp32);
                const Outputs fp32 = run_case(*cpu, c, in, Precision::fp32);
                for (const auto& [p, bounds] : runs) {
                    SCOPED_TRACE(kPrecisions.name(p));
                    check_outputs(run_case(*cpu, c, in, p), run_case(*gpu, c, in, p, activations),
                                  fp32, mag, bounds, p, c.bias);
                }
            }
        }
}

TEST(PrecisionGpu, Bf16TrainingLossFalls) {
    PFCE_REQUIRE_GPU(gpu);
    check_bf16_training(*gpu, "cuda");
}

}  // namespace
