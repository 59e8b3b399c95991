// Partial focal loss in three layers: the double-precision reference against central finite
// differences, the CPU backend against cross-entropy written out independently for gamma = 0 and
// the reference on extreme logits (the op harness, test_backend_ops.cpp, compares it with the
// reference on many shapes), the mask rules (unlabelled -> exactly 0), and GPU against CPU.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/kernels/byte_count.hpp"
#include "core/rng.hpp"
#include "host/reference/reference_ops.hpp"
#include "tests/test_util.hpp"

using namespace pfce;

namespace {

// Labels (N,H,W): a class in [0,C) or, with probability `unlabelled`, 255 (or C, which the loss
// must also treat as unlabelled, when C < 255).
Tensor random_labels(Shape s, int c, double unlabelled, std::uint64_t seed) {
    Tensor t = Tensor::host(s, DType::u8);
    CounterRng rng(seed, 0x1abe1);
    std::uint8_t* p = t.data<std::uint8_t>();
    for (std::int64_t i = 0; i < t.numel(); ++i) {
        if (rng.uniform() < unlabelled)
            p[i] = (rng.below(4) == 0 && c < 255) ? static_cast<std::uint8_t>(c) : kUnlabelled;
        else
            p[i] = static_cast<std::uint8_t>(rng.below(static_cast<std::uint32_t>(c)));
    }
    return t;
}

std::vector<float> ramp_alpha(int c) {
    std::vector<float> a(static_cast<std::size_t>(c));
    for (int k = 0; k < c; ++k)
        a[static_cast<std::size_t>(k)] = 0.25f + 0.5f * static_cast<float>(k);
    return a;
}

using test::LossResult;
using test::to_double;

LossResult run_loss(Backend& b, const Tensor& logits_host, const Tensor& labels_host,
                    const FocalLossParams& p, bool grad = true) {
    Tensor logits = test::to_backend(b, logits_host);
    Tensor labels = test::to_backend(b, labels_host);
    Tensor loss = b.zeros({1}, DType::f32);
    Tensor dlogits = grad ? b.zeros(logits_host.shape(), DType::f32) : Tensor();
    if (grad)
        b.fill(dlogits, std::numeric_limits<float>::quiet_NaN());  // every element must be written
    b.focal_loss(logits, labels, p, loss, dlogits);
    LossResult r{test::to_host(b, loss).data<float>()[0],
                 grad ? test::to_host(b, dlogits) : Tensor()};
    return r;
}

// The double reference's gradient as a float tensor, for all_close against a backend.
Tensor reference_gradient(const Tensor& logits, const Tensor& labels, const FocalLossParams& p,
                          double* loss_out) {
    const Shape& s = logits.shape();
    std::vector<double> z = to_double(logits), dz(z.size());
    *loss_out = reference::focal_loss<double>(z.data(), labels.data<std::uint8_t>(), s[0],
                                              static_cast<int>(s[1]), s[2] * s[3], p, dz.data());
    Tensor g = Tensor::host(s, DType::f32);
    for (std::size_t i = 0; i < dz.size(); ++i) g.data<float>()[i] = static_cast<float>(dz[i]);
    return g;
}

// The scale of a pixel's gradient: alpha_y / normalizer for a labelled pixel (the factor in front
// of every one of its C entries), 0 for an unlabelled one. Rounding errors in float scale with it,
// so gradients are compared relative to it, not with an absolute tolerance that would be as large
// as the gradients of a big batch.
// GPU and CPU gradients agree within this fraction of the pixel's gradient scale: two float
// implementations of the same formulas differ by a few ulps of the terms (about 1e-6 of the
// scale), while a wrong index, class or term errs by a sizeable fraction of it.
constexpr double kGradientRel = 1e-4;

Tensor gradient_scale(const Tensor& labels, int c, const FocalLossParams& p) {
    const std::int64_t n = labels.dim(0), hw = labels.dim(1) * labels.dim(2);
    const std::uint8_t* y = labels.data<std::uint8_t>();
    auto alpha = [&](int k) { return p.alpha.empty() ? 1.0 : double(p.alpha[std::size_t(k)]); };
    double norm = 0;
    for (std::int64_t i = 0; i < n * hw; ++i)
        if (y[i] < c) norm += p.normalize == LossNormalize::alpha ? alpha(y[i]) : 1.0;
    Tensor s = Tensor::host({n, c, labels.dim(1), labels.dim(2)}, DType::f32);
    for (std::int64_t img = 0; img < n; ++img)
        for (std::int64_t j = 0; j < hw; ++j) {
            const int yj = y[img * hw + j];
            const float v = yj < c && norm > 0 ? static_cast<float>(alpha(yj) / norm) : 0.0f;
            for (int k = 0; k < c; ++k) s.data<float>()[(img * c + k) * hw + j] = v;
        }
    return s;
}

// |got - ref| <= rel * scale elementwise (scale from gradient_scale: exactly equal where it is 0);
// reports the worst error relative to the scale and the first mismatches.
::testing::AssertionResult gradient_within_scale(const Tensor& ref, const Tensor& got,
                                                 const Tensor& scale, double rel) {
    if (ref.shape() != got.shape() || ref.shape() != scale.shape())
        return ::testing::AssertionFailure() << "shape " << ref.shape().str() << " vs "
                                             << got.shape().str() << " / " << scale.shape().str();
    std::int64_t bad = 0;
    double worst = 0;
    std::ostringstream first;
    for (std::int64_t i = 0; i < ref.numel(); ++i) {
        const double r = ref.data<float>()[i], g = got.data<float>()[i];
        const double s = scale.data<float>()[i];
        const double err = std::fabs(r - g);
        if (!(err <= rel * s)) {  // also catches NaN
            if (bad < 5) first << "\n  [" << i << "] ref " << r << " got " << g << " scale " << s;
            ++bad;
        }
        if (s > 0) worst = std::max(worst, err / s);
    }
    if (bad == 0) return ::testing::AssertionSuccess() << "worst |err|/scale " << worst;
    return ::testing::AssertionFailure()
           << bad << " of " << ref.numel() << " gradients differ by more than " << rel
           << " x their scale; worst |err|/scale " << worst << first.str();
}

}  // namespace

// ---- the reference against finite differences ------------------------------------------------

class FocalGradient : public ::testing::TestWithParam<std::tuple<float, LossNormalize>> {};

TEST_P(FocalGradient, ReferenceMatchesCentralDifferences) {
    const auto [gamma, normalize] = GetParam();
    const int n = 2, c = 4, h = 3, w = 5;
    const std::int64_t hw = h * w;
    Tensor logits = test::random_f32({n, c, h, w}, 11, -3.0f, 3.0f);
    Tensor labels = random_labels({n, h, w}, c, 0.3, 12);
    FocalLossParams p{gamma, ramp_alpha(c), normalize};

    std::vector<double> z = to_double(logits), dz(z.size());
    const std::uint8_t* y = labels.data<std::uint8_t>();
    reference::focal_loss<double>(z.data(), y, n, c, hw, p, dz.data());
    const double eps = 1e-6;
    double worst = 0.0;
    for (std::size_t i = 0; i < z.size(); ++i) {
        const double keep = z[i];
        z[i] = keep + eps;
        const double up = reference::focal_loss<double>(z.data(), y, n, c, hw, p, nullptr);
        z[i] = keep - eps;
        const double down = reference::focal_loss<double>(z.data(), y, n, c, hw, p, nullptr);
        z[i] = keep;
        const double fd = (up - down) / (2 * eps);
        EXPECT_NEAR(dz[i], fd, 1e-8 + 1e-6 * std::fabs(fd)) << "element " << i;
        worst = std::max(worst, std::fabs(dz[i] - fd));
    }
    RecordProperty("worst_abs_error", std::to_string(worst));
}

// The scale-relative comparison the GPU tests use: the float CPU backend stays far inside it
// against the double reference for C = 6 and C = 32 (worst |err|/scale about 1e-6 here), and a
// gradient off by a thousandth of its scale fails it.
TEST_P(FocalGradient, CpuBackendWithinScaleOfReference) {
    const auto [gamma, normalize] = GetParam();
    for (const int c : {6, 32}) {
        SCOPED_TRACE(::testing::Message() << "C " << c);
        Tensor logits = test::random_f32({2, c, 33, 65}, 23 + c, -6.0f, 6.0f);
        Tensor labels = random_labels({2, 33, 65}, c, 0.3, 24 + c);
        FocalLossParams p{gamma, ramp_alpha(c), normalize};
        double ref_loss = 0;
        Tensor ref = reference_gradient(logits, labels, p, &ref_loss);
        LossResult got = run_loss(*test::cpu_backend(), logits, labels, p);
        const Tensor scale = gradient_scale(labels, c, p);
        const auto ok = gradient_within_scale(ref, got.dlogits, scale, kGradientRel / 10);
        EXPECT_TRUE(ok);
        RecordProperty("C" + std::to_string(c), ok.message());
        for (std::int64_t i = 0; i < scale.numel(); ++i) {
            if (scale.data<float>()[i] == 0) continue;
            got.dlogits.data<float>()[i] += 1e-3f * scale.data<float>()[i];
            EXPECT_FALSE(gradient_within_scale(ref, got.dlogits, scale, kGradientRel));
            break;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(
    GammaAndNormalize, FocalGradient,
    ::testing::Combine(::testing::Values(0.0f, 0.5f, 1.0f, 2.0f, 5.0f),
                       ::testing::Values(LossNormalize::labelled, LossNormalize::alpha)),
    [](const auto& param_info) {
        const float g = std::get<0>(param_info.param);
        return "gamma" + std::to_string(static_cast<int>(g)) + "p" +
               std::to_string(static_cast<int>(g * 10) % 10) +
               (std::get<1>(param_info.param) == LossNormalize::alpha ? "_alpha" : "_labelled");
    });

// ---- semantics -----------------------------------------------------------------------------

// The word-at-a-time byte count of the two_launch variant's label count against the obvious loop:
// every byte value sought in words of the bytes that break such tricks side by side (0x00, 0x01,
// 0x7f, 0x80, 0x81, 0xfe, 0xff and the sought value itself, every arrangement of four), and in
// random words.
TEST(FocalLoss, WordByteCountMatchesALoopOverTheBytes) {
    auto by_loop = [](std::uint32_t w, std::uint32_t b) {
        int n = 0;
        for (int i = 0; i < 4; ++i) n += ((w >> (8 * i)) & 0xffu) == b;
        return n;
    };
    for (std::uint32_t b = 0; b < 256; ++b) {
        const std::uint32_t pick[8] = {0x00, 0x01, 0x7f, 0x80, 0x81, 0xfe, 0xff, b};
        for (int i = 0; i < 8 * 8 * 8 * 8; ++i) {
            const std::uint32_t w = pick[i & 7] | pick[(i >> 3) & 7] << 8 |
                                    pick[(i >> 6) & 7] << 16 | pick[(i >> 9) & 7] << 24;
            ASSERT_EQ(kernels::count_bytes_equal(w, b), by_loop(w, b))
                << std::hex << "word 0x" << w << " byte 0x" << b;
        }
    }
    CounterRng rng(77, 0xb17e);
    for (int i = 0; i < 200000; ++i) {
        const std::uint32_t w = rng.next_u32();
        const std::uint32_t b = i % 3 == 0 ? (w >> 8) & 0xffu : static_cast<std::uint32_t>(i % 256);
        ASSERT_EQ(kernels::count_bytes_equal(w, b), by_loop(w, b)) << std::hex << w << " " << b;
    }
}

// two_launch's count splits its labels into the bytes before the first 16-byte boundary, whole
// 16-byte loads and the bytes after them: every byte exactly once, at every address mod 16 and
// every length up to a few loads.
TEST(FocalLoss, SixteenByteSplitCoversEveryByteOnce) {
    for (std::uintptr_t address = 4096; address < 4096 + 48; ++address)
        for (long long n = 0; n <= 70; ++n) {
            SCOPED_TRACE(::testing::Message() << "address " << address << " n " << n);
            const kernels::Aligned16Split s = kernels::split_for_16_byte_loads(address, n);
            EXPECT_EQ(s.head + 16 * s.n16 + s.tail, n);
            EXPECT_TRUE(s.head >= 0 && s.head < 16 && s.head <= n);
            EXPECT_TRUE(s.tail >= 0 && s.tail < 16);
            EXPECT_GE(s.n16, 0);
            if (s.n16 > 0) {
                EXPECT_EQ((address + static_cast<std::uintptr_t>(s.head)) % 16, 0u);
            }
            // As many whole loads as fit after the boundary.
            const long long boundary = static_cast<long long>((16 - address % 16) % 16);
            EXPECT_EQ(s.n16, n > boundary ? (n - boundary) / 16 : 0);
        }
}

TEST(FocalLoss, GammaZeroIsCrossEntropy) {
    const int n = 2, c = 5, h = 7, w = 9;
    const std::int64_t hw = h * w;
    Tensor logits = test::random_f32({n, c, h, w}, 31, -4.0f, 4.0f);
    Tensor labels = random_labels({n, h, w}, c, 0.25, 32);
    // Cross-entropy written out: -log softmax via log-sum-exp, mean over labelled pixels,
    // gradient (softmax - onehot) / count.
    const float* z = logits.data<float>();
    const std::uint8_t* y = labels.data<std::uint8_t>();
    Tensor want = Tensor::host(logits.shape(), DType::f32);
    double ce = 0;
    std::int64_t count = 0;
    for (std::int64_t i = 0; i < n * hw; ++i) count += y[i] < c;
    for (std::int64_t img = 0; img < n; ++img)
        for (std::int64_t j = 0; j < hw; ++j) {
            const int yj = y[img * hw + j];
            if (yj >= c) continue;
            double lse = 0;
            for (int k = 0; k < c; ++k)
                lse += std::exp(static_cast<double>(z[(img * c + k) * hw + j]));
            lse = std::log(lse);
            ce += lse - z[(img * c + yj) * hw + j];
            for (int k = 0; k < c; ++k)
                want.data<float>()[(img * c + k) * hw + j] = static_cast<float>(
                    (std::exp(z[(img * c + k) * hw + j] - lse) - (k == yj ? 1.0 : 0.0)) /
                    static_cast<double>(count));
        }
    ce /= static_cast<double>(count);
    auto cpu = test::cpu_backend();
    LossResult got =
        run_loss(*cpu, logits, labels, FocalLossParams{0.0f, {}, LossNormalize::labelled});
    EXPECT_NEAR(got.loss, ce, 1e-6 * std::fabs(ce));
    EXPECT_TRUE(test::all_close(want, got.dlogits, 1e-7, 1e-5));
}

// The loss value written out, −α_y (1 − p_y)^γ log p_y summed over labelled pixels and divided by
// their count (or, normalize = "alpha", by the sum of their α), independently of the kernel terms
// both backends and the reference share: the gradient tests check the gradient against this loss,
// so a wrong loss with its own gradient (p^γ for (1 − p)^γ, another class's α) passed them
// (semantics audit).
TEST(FocalLoss, ValueIsTheFormulaWrittenOut) {
    const int n = 2, c = 4, h = 5, w = 7;
    const std::int64_t hw = h * w;
    Tensor logits = test::random_f32({n, c, h, w}, 51, -3.0f, 3.0f);
    Tensor labels = random_labels({n, h, w}, c, 0.3, 52);
    const std::vector<float> alpha = {0.5f, 1.0f, 2.0f, 0.25f};
    const float* z = logits.data<float>();
    const std::uint8_t* y = labels.data<std::uint8_t>();
    auto cpu = test::cpu_backend();
    for (const float gamma : {2.0f, 0.5f, 5.0f})
        for (const LossNormalize norm : {LossNormalize::labelled, LossNormalize::alpha}) {
            double sum = 0, count = 0, alpha_sum = 0;
            for (std::int64_t img = 0; img < n; ++img)
                for (std::int64_t j = 0; j < hw; ++j) {
                    const int yj = y[img * hw + j];
                    if (yj >= c) continue;
                    double denom = 0;
                    for (int k = 0; k < c; ++k)
                        denom += std::exp(static_cast<double>(z[(img * c + k) * hw + j]));
                    const double p =
                        std::exp(static_cast<double>(z[(img * c + yj) * hw + j])) / denom;
                    const double a = alpha[static_cast<std::size_t>(yj)];
                    sum += -a * std::pow(1.0 - p, static_cast<double>(gamma)) * std::log(p);
                    count += 1;
                    alpha_sum += a;
                }
            const double want = sum / (norm == LossNormalize::alpha ? alpha_sum : count);
            const LossResult got =
                run_loss(*cpu, logits, labels, FocalLossParams{gamma, alpha, norm},
                         /*grad=*/false);
            EXPECT_NEAR(got.loss, want, 2e-6 * std::fabs(want))
                << "gamma " << gamma << (norm == LossNormalize::alpha ? ", alpha" : ", labelled");
        }
}

TEST(FocalLoss, UnlabelledPixelsGetExactlyZeroGradient) {
    const int n = 2, c = 6, h = 9, w = 31;
    Tensor logits = test::random_f32({n, c, h, w}, 41, -2.0f, 2.0f);
    Tensor labels = random_labels({n, h, w}, c, 0.5, 42);
    auto cpu = test::cpu_backend();
    LossResult got = run_loss(*cpu, logits, labels,
                              FocalLossParams{2.0f, ramp_alpha(c), LossNormalize::labelled});
    const std::uint8_t* y = labels.data<std::uint8_t>();
    const float* g = got.dlogits.data<float>();
    int unlabelled = 0, above_c = 0;
    for (std::int64_t img = 0; img < n; ++img)
        for (std::int64_t j = 0; j < h * w; ++j) {
            const int yj = y[img * h * w + j];
            unlabelled += yj >= c;
            above_c += yj >= c && yj != kUnlabelled;
            for (int k = 0; k < c; ++k) {
                const float v = g[(img * c + k) * h * w + j];
                if (yj >= c)
                    ASSERT_EQ(v, 0.0f)
                        << "unlabelled pixel " << j << " label " << yj << " class " << k;
                else
                    ASSERT_NE(v, 0.0f) << "labelled pixel " << j << " class " << k;
            }
        }
    EXPECT_GT(unlabelled, 0);
    EXPECT_GT(above_c, 0);  // labels >= C that are not 255 were exercised too
}

TEST(FocalLoss, AllUnlabelledGivesZeroAndZero) {
    Tensor logits = test::random_f32({2, 3, 4, 5}, 51);
    Tensor labels = Tensor::host({2, 4, 5}, DType::u8);
    std::memset(labels.raw(), kUnlabelled, labels.bytes());
    auto cpu = test::cpu_backend();
    for (LossNormalize mode : {LossNormalize::labelled, LossNormalize::alpha}) {
        LossResult got = run_loss(*cpu, logits, labels, FocalLossParams{2.0f, {}, mode});
        EXPECT_EQ(got.loss, 0.0f);
        for (std::int64_t i = 0; i < got.dlogits.numel(); ++i)
            ASSERT_EQ(got.dlogits.data<float>()[i], 0.0f);
    }
    // Labelled pixels whose classes all weigh 0 under normalize = alpha: still 0 and 0, not NaN.
    std::memset(labels.raw(), 1, labels.bytes());
    LossResult got = run_loss(*cpu, logits, labels,
                              FocalLossParams{2.0f, {1.0f, 0.0f, 1.0f}, LossNormalize::alpha});
    EXPECT_EQ(got.loss, 0.0f);
    for (std::int64_t i = 0; i < got.dlogits.numel(); ++i)
        ASSERT_EQ(got.dlogits.data<float>()[i], 0.0f);
}

TEST(FocalLoss, HugeLogitsStayFiniteAndCorrect) {
    const int n = 1, c = 4, h = 8, w = 8;
    Tensor logits = test::random_f32({n, c, h, w}, 61, -1.0f, 1.0f);
    for (std::int64_t i = 0; i < logits.numel(); ++i)
        logits.data<float>()[i] = logits.data<float>()[i] < 0 ? -1e4f : 1e4f;
    // A few pixels decided with certainty: true class far above (q = 1) and far below (q ~ 0).
    float* z = logits.data<float>();
    Tensor labels = random_labels({n, h, w}, c, 0.1, 62);
    for (int k = 0; k < c; ++k) {
        z[k * h * w + 0] = k == 2 ? 1e4f : -1e4f;
        z[k * h * w + 1] = k == 2 ? -1e4f : 1e4f;
    }
    labels.data<std::uint8_t>()[0] = labels.data<std::uint8_t>()[1] = 2;
    auto cpu = test::cpu_backend();
    for (float gamma : {0.0f, 0.5f, 2.0f}) {
        FocalLossParams p{gamma, ramp_alpha(c), LossNormalize::alpha};
        LossResult got = run_loss(*cpu, logits, labels, p);
        ASSERT_TRUE(std::isfinite(got.loss)) << "gamma " << gamma;
        for (std::int64_t i = 0; i < got.dlogits.numel(); ++i)
            ASSERT_TRUE(std::isfinite(got.dlogits.data<float>()[i])) << "element " << i;
        double ref_loss = 0;
        Tensor ref = reference_gradient(logits, labels, p, &ref_loss);
        EXPECT_NEAR(got.loss, ref_loss, 1e-5 * std::fabs(ref_loss)) << "gamma " << gamma;
        EXPECT_GT(got.loss, 1e3f);  // pixel 1 alone contributes ~2e4 * alpha
        EXPECT_TRUE(test::all_close(ref, got.dlogits, 1e-7, 1e-5)) << "gamma " << gamma;
        for (int k = 0; k < c; ++k)
            EXPECT_EQ(got.dlogits.data<float>()[k * h * w + 0], 0.0f);  // q = 1
    }
}

TEST(FocalLoss, NonFiniteLogitOfLabelledPixelGivesNanLoss) {
    Tensor logits = test::random_f32({1, 3, 2, 2}, 95);
    Tensor labels = random_labels({1, 2, 2}, 3, 0.0, 96);
    auto cpu = test::cpu_backend();
    FocalLossParams p;
    ASSERT_TRUE(std::isfinite(run_loss(*cpu, logits, labels, p).loss));
    logits.data<float>()[1 * 4 + 2] = std::numeric_limits<float>::quiet_NaN();  // class 1, pixel 2
    EXPECT_TRUE(std::isnan(run_loss(*cpu, logits, labels, p).loss));
    logits.data<float>()[1 * 4 + 2] = std::numeric_limits<float>::infinity();
    EXPECT_TRUE(std::isnan(run_loss(*cpu, logits, labels, p).loss));
    logits.data<float>()[1 * 4 + 2] = -std::numeric_limits<float>::infinity();
    EXPECT_TRUE(std::isnan(run_loss(*cpu, logits, labels, p).loss));
}

TEST(FocalLoss, WithoutGradientSameLoss) {
    Tensor logits = test::random_f32({3, 5, 11, 13}, 71, -3.0f, 3.0f);
    Tensor labels = random_labels({3, 11, 13}, 5, 0.3, 72);
    FocalLossParams p{2.0f, ramp_alpha(5), LossNormalize::labelled};
    auto cpu = test::cpu_backend();
    EXPECT_EQ(run_loss(*cpu, logits, labels, p, true).loss,
              run_loss(*cpu, logits, labels, p, false).loss);
}

TEST(FocalLoss, SameResultForAnyThreadCount) {
#ifndef _OPENMP
    GTEST_SKIP() << "built without OpenMP";
#else
    Tensor logits = test::random_f32({3, 6, 40, 77}, 81, -3.0f, 3.0f);
    Tensor labels = random_labels({3, 40, 77}, 6, 0.3, 82);
    FocalLossParams p{2.0f, ramp_alpha(6), LossNormalize::alpha};
    auto cpu = test::cpu_backend();
    const int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    LossResult one = run_loss(*cpu, logits, labels, p);
    for (int threads : {2, 3, 5}) {
        omp_set_num_threads(threads);
        LossResult many = run_loss(*cpu, logits, labels, p);
        EXPECT_EQ(one.loss, many.loss) << threads << " threads";
        EXPECT_EQ(std::memcmp(one.dlogits.raw(), many.dlogits.raw(), one.dlogits.bytes()), 0)
            << threads << " threads";
    }
    omp_set_num_threads(saved);
#endif
}

// A gradient of 16 MiB and more is written with non-temporal stores (host/cpu/focal_loss.cpp);
// H*W = 480*481 leaves the channel rows unaligned to the vector width, so the stores' scalar head
// and tail run too. Gamma 2 takes the C = 6 path, gamma 1.5 the general one.
TEST(FocalLoss, LargeStreamedGradientMatchesReference) {
    const Shape s{3, 6, 480, 481};
    Tensor logits = test::random_f32(s, 91, -4.0f, 4.0f);
    Tensor labels = random_labels({s[0], s[2], s[3]}, 6, 0.3, 92);
    for (const float gamma : {2.0f, 1.5f}) {
        SCOPED_TRACE(::testing::Message() << "gamma " << gamma);
        FocalLossParams p{gamma, ramp_alpha(6), LossNormalize::labelled};
        double ref_loss = 0;
        Tensor ref = reference_gradient(logits, labels, p, &ref_loss);
        LossResult got = run_loss(*test::cpu_backend(), logits, labels, p);
        EXPECT_NEAR(got.loss, ref_loss, 1e-5 * std::fabs(ref_loss));
        EXPECT_TRUE(gradient_within_scale(ref, got.dlogits, gradient_scale(labels, 6, p),
                                          kGradientRel / 10));
    }
}

TEST(FocalLoss, RejectsBadArguments) {
    auto cpu = test::cpu_backend();
    Tensor logits = Tensor::host({2, 3, 4, 5}, DType::f32);
    Tensor labels = Tensor::host({2, 4, 5}, DType::u8);
    Tensor loss = Tensor::host({1}, DType::f32);
    Tensor grad = Tensor::host({2, 3, 4, 5}, DType::f32);
    Tensor none;
    FocalLossParams ok;
    EXPECT_NO_THROW(cpu->focal_loss(logits, labels, ok, loss, grad));
    Tensor bad_labels = Tensor::host({2, 4, 6}, DType::u8);
    EXPECT_THROW(cpu->focal_loss(logits, bad_labels, ok, loss, grad), ShapeError);
    Tensor f32_labels = Tensor::host({2, 4, 5}, DType::f32);
    EXPECT_THROW(cpu->focal_loss(logits, f32_labels, ok, loss, grad), ShapeError);
    Tensor bad_grad = Tensor::host({2, 3, 4, 4}, DType::f32);
    EXPECT_THROW(cpu->focal_loss(logits, labels, ok, loss, bad_grad), ShapeError);
    EXPECT_THROW(cpu->focal_loss(logits, labels, ok, grad, none), ShapeError);  // loss not (1)
    Tensor wide = Tensor::host({1, kMaxClasses + 1, 2, 2}, DType::f32);
    Tensor wide_labels = Tensor::host({1, 2, 2}, DType::u8);
    EXPECT_THROW(cpu->focal_loss(wide, wide_labels, ok, loss, none), ShapeError);
    FocalLossParams two_alpha{2.0f, {1.0f, 1.0f}, LossNormalize::labelled};
    EXPECT_THROW(cpu->focal_loss(logits, labels, two_alpha, loss, grad), ShapeError);
    FocalLossParams negative_gamma{-1.0f, {}, LossNormalize::labelled};
    EXPECT_THROW(cpu->focal_loss(logits, labels, negative_gamma, loss, grad), InputError);
    FocalLossParams nan_alpha{2.0f, {1.0f, std::nanf(""), 1.0f}, LossNormalize::labelled};
    EXPECT_THROW(cpu->focal_loss(logits, labels, nan_alpha, loss, grad), InputError);
}

// ---- GPU against CPU -----------------------------------------------------------------------

struct GpuCase {
    int n, c, h, w;
    float gamma;
    LossNormalize normalize;
};

// One case on random inputs (labels 30% unlabelled): the GPU's loss and gradient against the
// CPU's, and the no-gradient path's loss equal to the gradient path's. Returns the inputs.
std::pair<Tensor, Tensor> expect_gpu_matches_cpu(Backend& gpu, Backend& cpu, const GpuCase& k,
                                                 std::uint64_t& seed) {
    Tensor logits = test::random_f32({k.n, k.c, k.h, k.w}, ++seed, -6.0f, 6.0f);
    Tensor labels = random_labels({k.n, k.h, k.w}, k.c, 0.3, ++seed);
    FocalLossParams p{k.gamma, ramp_alpha(k.c), k.normalize};
    LossResult want = run_loss(cpu, logits, labels, p);
    LossResult got = run_loss(gpu, logits, labels, p);
    EXPECT_NEAR(got.loss, want.loss, 1e-6 + 1e-5 * std::fabs(want.loss));
    EXPECT_TRUE(gradient_within_scale(want.dlogits, got.dlogits, gradient_scale(labels, k.c, p),
                                      kGradientRel));
    EXPECT_EQ(run_loss(gpu, logits, labels, p, false).loss, got.loss);  // no-gradient path
    return {std::move(logits), std::move(labels)};
}

TEST(FocalLossGpu, DeterministicAndZeroWhenUnlabelled) {
    PFCE_REQUIRE_GPU(gpu);
    Tensor logits = test::random_f32({2, 6, 300, 300}, 201, -6.0f, 6.0f);
    Tensor labels = random_labels({2, 300, 300}, 6, 0.3, 202);
    FocalLossParams p{2.0f, ramp_alpha(6), LossNormalize::alpha};
    LossResult a = run_loss(*gpu, logits, labels, p);
    LossResult b = run_loss(*gpu, logits, labels, p);
    EXPECT_EQ(a.loss, b.loss);
    EXPECT_EQ(std::memcmp(a.dlogits.raw(), b.dlogits.raw(), a.dlogits.bytes()), 0);
    const std::uint8_t* y = labels.data<std::uint8_t>();
    for (std::int64_t img = 0; img < 2; ++img)
        for (std::int64_t j = 0; j < 300 * 300; ++j)
            if (y[img * 90000 + j] >= 6) {
                for (int k = 0; k < 6; ++k)
                    ASSERT_EQ(a.dlogits.data<float>()[(img * 6 + k) * 90000 + j], 0.0f);
            }

    std::memset(labels.raw(), kUnlabelled, labels.bytes());
    LossResult none = run_loss(*gpu, logits, labels, p);
    EXPECT_EQ(none.loss, 0.0f);
    for (std::int64_t i = 0; i < none.dlogits.numel(); ++i)
        ASSERT_EQ(none.dlogits.data<float>()[i], 0.0f);
}

// As on the CPU, every variant: a logit that is not finite, of a labelled pixel, gives a NaN loss
// (an infinite one would otherwise give exp 0 and a finite loss). The 4-pixel paths too.
TEST(FocalLossGpu, NonFiniteLogitOfLabelledPixelGivesNanLoss) {
    PFCE_REQUIRE_GPU(gpu);
    for (const std::string& variant : gpu->op_variants("focal_loss")) {
        gpu->select_op_variant("focal_loss", variant);
        for (const auto& [c, h, w] : {std::array<int, 3>{3, 2, 2}, std::array<int, 3>{6, 8, 8}}) {
            Tensor logits = test::random_f32({1, c, h, w}, 95, -3.0f, 3.0f);
            Tensor labels = random_labels({1, h, w}, c, 0.0, 96);
            labels.data<std::uint8_t>()[2] = 0;  // pixel 2 labelled, class 1 not its own
            FocalLossParams p;
            ASSERT_TRUE(std::isfinite(run_loss(*gpu, logits, labels, p).loss)) << variant;
            for (float bad : {std::nanf(""), INFINITY, -INFINITY}) {
                Tensor z = Tensor::host(logits.shape(), DType::f32);
                copy_host(z, logits);
                z.data<float>()[1 * h * w + 2] = bad;
                EXPECT_TRUE(std::isnan(run_loss(*gpu, z, labels, p).loss))
                    << variant << " C" << c << " logit " << bad;
            }
        }
    }
}

TEST(FocalLossGpu, HugeLogitsMatchCpu) {
    PFCE_REQUIRE_GPU(gpu);
    auto cpu = test::cpu_backend();
    Tensor logits = test::random_f32({2, 5, 30, 40}, 301, -1.0f, 1.0f);
    for (std::int64_t i = 0; i < logits.numel(); ++i)
        logits.data<float>()[i] = logits.data<float>()[i] < 0 ? -1e4f : 1e4f;
    Tensor labels = random_labels({2, 30, 40}, 5, 0.2, 302);
    for (float gamma : {0.0f, 0.5f, 2.0f}) {
        FocalLossParams p{gamma, ramp_alpha(5), LossNormalize::labelled};
        LossResult want = run_loss(*cpu, logits, labels, p);
        LossResult got = run_loss(*gpu, logits, labels, p);
        EXPECT_NEAR(got.loss, want.loss, 1e-6 + 1e-5 * std::fabs(want.loss)) << "gamma " << gamma;
        EXPECT_TRUE(gradient_within_scale(want.dlogits, got.dlogits, gradient_scale(labels, 5, p),
                                          kGradientRel))
            << "gamma " << gamma;
    }
}

// Sizes only a real batch reaches: over a million pixels the fused pass runs its grid-stride loop
// many times per thread and the loss partials fill the whole fixed grid.
TEST(FocalLossGpuLarge, OverAMillionPixelsWithSixAndThirtyTwoClasses) {
    PFCE_REQUIRE_GPU(gpu);
    auto cpu = test::cpu_backend();
    const GpuCase cases[] = {
        {4, 6, 512, 512, 2.0f, LossNormalize::labelled},  // 1,048,576 pixels
        {1, 32, 1024, 1024, 2.0f, LossNormalize::alpha},  // 1,048,576 pixels, 32 classes
    };
    std::uint64_t seed = 700;
    for (const GpuCase& k : cases) {
        SCOPED_TRACE(::testing::Message() << "N" << k.n << " C" << k.c << " " << k.h << "x" << k.w);
        ASSERT_GE(std::int64_t(k.n) * k.h * k.w, 1 << 20);
        Tensor logits = test::random_f32({k.n, k.c, k.h, k.w}, ++seed, -6.0f, 6.0f);
        Tensor labels = random_labels({k.n, k.h, k.w}, k.c, 0.3, ++seed);
        FocalLossParams p{k.gamma, ramp_alpha(k.c), k.normalize};
        LossResult want = run_loss(*cpu, logits, labels, p);
        LossResult got = run_loss(*gpu, logits, labels, p);
        EXPECT_NEAR(got.loss, want.loss, 1e-5 * std::fabs(want.loss));
        EXPECT_TRUE(gradient_within_scale(want.dlogits, got.dlogits, gradient_scale(labels, k.c, p),
                                          kGradientRel));
        EXPECT_EQ(run_loss(*gpu, logits, labels, p, false).loss, got.loss);
    }
}

// Past 4096 blocks of 256 threads of 4 pixels (4,194,304 pixels), vec4's threads loop over their
// image (and load the next labels ahead), and the other variants' grid-stride loops run again:
// every variant against the CPU. In FocalLossGpuLarge, which the sanitizers leave out (memcheck
// on 25M logits three times would take their whole budget).
TEST(FocalLossGpuLarge, EveryVariantPastTheLargestGrid) {
    PFCE_REQUIRE_GPU(gpu);
    auto cpu = test::cpu_backend();
    const GpuCase k{1, 6, 2048, 2056, 2.0f, LossNormalize::alpha};
    ASSERT_GT(std::int64_t(k.h) * k.w, 4096 * 256 * 4);
    for (const std::string& variant : gpu->op_variants("focal_loss")) {
        SCOPED_TRACE(variant);
        gpu->select_op_variant("focal_loss", variant);
        std::uint64_t seed = 950;
        expect_gpu_matches_cpu(*gpu, *cpu, k, seed);
    }
}

// Every CUDA variant of the loss (Backend::op_variants) against the CPU, on odd shapes and on
// shapes that take each path of a variant: 4 pixels a thread (H*W a multiple of 4, C <= 8; 2, 4,
// 6 and 8 classes) and one (odd sizes, C > 8); gamma 0 and 2 (compiled without pow) and any other;
// single pixels; up to 32 classes. Each also bit-identical on a repeat call and zero when
// everything is unlabelled.
TEST(FocalLossGpu, EveryVariantMatchesCpu) {
    PFCE_REQUIRE_GPU(gpu);
    auto cpu = test::cpu_backend();
    const std::vector<std::string> variants = gpu->op_variants("focal_loss");
    ASSERT_GE(variants.size(), 2u) << "the default and at least one variant";
    const GpuCase cases[] = {
        {1, 2, 1, 1, 2.0f, LossNormalize::labelled},
        {1, 3, 1, 1, 0.0f, LossNormalize::alpha},
        {2, 6, 17, 300, 2.0f, LossNormalize::labelled},
        {3, 32, 17, 300, 0.5f, LossNormalize::alpha},
        {1, 6, 300, 300, 2.0f, LossNormalize::alpha},
        {2, 5, 300, 300, 5.0f, LossNormalize::labelled},
        {3, 2, 33, 65, 1.0f, LossNormalize::labelled},
        {2, 17, 300, 300, 2.0f, LossNormalize::alpha},
        {1, 9, 7, 3, 0.0f, LossNormalize::labelled},
        {2, 32, 64, 64, 2.0f, LossNormalize::labelled},
        {2, 6, 64, 64, 2.0f, LossNormalize::labelled},
        {2, 6, 64, 64, 0.0f, LossNormalize::alpha},
        {1, 2, 8, 12, 0.5f, LossNormalize::labelled},
        {3, 4, 17, 300, 2.0f, LossNormalize::alpha},
        {1, 8, 300, 300, 5.0f, LossNormalize::labelled},
        {2, 17, 33, 65, 2.0f, LossNormalize::alpha},
        {1, 32, 7, 3, 0.0f, LossNormalize::labelled},
        {4, 6, 512, 512, 2.0f, LossNormalize::labelled},
        {2, 7, 12, 20, 2.0f, LossNormalize::labelled},
        {1, 1, 8, 8, 0.0f, LossNormalize::alpha},
    };
    for (const std::string& variant : variants) {
        gpu->select_op_variant("focal_loss", variant);
        std::uint64_t seed = 900;
        for (const GpuCase& k : cases) {
            SCOPED_TRACE(::testing::Message() << variant << ": N" << k.n << " C" << k.c << " "
                                              << k.h << "x" << k.w << " gamma " << k.gamma);
            auto [logits, labels] = expect_gpu_matches_cpu(*gpu, *cpu, k, seed);
            FocalLossParams p{k.gamma, ramp_alpha(k.c), k.normalize};
            LossResult got = run_loss(*gpu, logits, labels, p);
            LossResult again = run_loss(*gpu, logits, labels, p);
            EXPECT_EQ(again.loss, got.loss);
            EXPECT_EQ(std::memcmp(again.dlogits.raw(), got.dlogits.raw(), got.dlogits.bytes()), 0);
            std::memset(labels.raw(), kUnlabelled, labels.bytes());
            LossResult none = run_loss(*gpu, logits, labels, p);
            EXPECT_EQ(none.loss, 0.0f);
            for (std::int64_t i = 0; i < none.dlogits.numel(); ++i)
                ASSERT_EQ(none.dlogits.data<float>()[i], 0.0f);
        }
    }
    EXPECT_THROW(gpu->select_op_variant("focal_loss", "no_such_kernel"), InputError);
}

// vec4 on labels of `logits`' shape with no labelled pixel: the counts every variant keeps in the
// backend's workspace are left 0, so a two_launch run next that did not write its own (a count
// whose last block never finished) cannot pass on the counts of the vec4 run before it (review).
void zero_the_counts(Backend& gpu, const Tensor& logits, const FocalLossParams& p) {
    const Shape& s = logits.shape();
    Tensor none = Tensor::host({s[0], s[2], s[3]}, DType::u8);
    std::memset(none.raw(), kUnlabelled, none.bytes());
    gpu.select_op_variant("focal_loss", "vec4");
    ASSERT_EQ(run_loss(gpu, logits, none, p).loss, 0.0f);
}

// two_launch is vec4's pass with another count (which also leaves the normalizer and the dense
// flag) and with the partials summed by the pass's last block, in the finish kernel's order: the
// same bits as vec4, loss and gradient, on shapes whose label count has a remainder past the last
// 16-label load (1, 21 and 5100 pixels an image) and none, where vec4's pass runs and where it
// cannot (C > 8, odd sizes), all labelled, 70% (both dense: logits loaded beside the labels) and
// 10% (the labels read first), one call after another on grids of different sizes (both ticket
// counters must be back at 0 after every call). two_launch's pass is compiled for each class
// count 1-8, vec4's for a bound (2, 4, 6, 8) with the count read at run time: every count runs,
// at each gamma its pass is compiled for (0, 2, any).
TEST(FocalLossGpu, TwoLaunchHasVec4sBits) {
    PFCE_REQUIRE_GPU(gpu);
    std::vector<GpuCase> cases = {
        {1, 6, 1, 1, 2.0f, LossNormalize::labelled},
        {2, 6, 17, 300, 2.0f, LossNormalize::alpha},
        {1, 3, 7, 3, 0.0f, LossNormalize::labelled},
        {4, 6, 512, 512, 2.0f, LossNormalize::labelled},
        {2, 17, 64, 64, 2.0f, LossNormalize::alpha},
        {3, 8, 300, 300, 0.5f, LossNormalize::alpha},
        {1, 6, 2048, 2056, 2.0f, LossNormalize::labelled},
    };
    for (int c = 1; c <= 8; ++c)
        for (const float gamma : {0.0f, 2.0f, 0.5f})
            cases.push_back(
                {2, c, 12, 20, gamma, c % 2 ? LossNormalize::alpha : LossNormalize::labelled});
    std::uint64_t seed = 1200;
    for (const double unlabelled : {0.3, 0.9, 0.0})
        for (const GpuCase& k : cases) {
            SCOPED_TRACE(::testing::Message() << "N" << k.n << " C" << k.c << " " << k.h << "x"
                                              << k.w << " unlabelled " << unlabelled);
            Tensor logits = test::random_f32({k.n, k.c, k.h, k.w}, ++seed, -6.0f, 6.0f);
            Tensor labels = random_labels({k.n, k.h, k.w}, k.c, unlabelled, ++seed);
            FocalLossParams p{k.gamma, ramp_alpha(k.c), k.normalize};
            gpu->select_op_variant("focal_loss", "vec4");
            LossResult want = run_loss(*gpu, logits, labels, p);
            zero_the_counts(*gpu, logits, p);
            gpu->select_op_variant("focal_loss", "two_launch");
            LossResult got = run_loss(*gpu, logits, labels, p);
            EXPECT_EQ(got.loss, want.loss);
            ASSERT_EQ(got.dlogits.bytes(), want.dlogits.bytes());
            EXPECT_EQ(std::memcmp(got.dlogits.raw(), want.dlogits.raw(), got.dlogits.bytes()), 0);
            EXPECT_EQ(run_loss(*gpu, logits, labels, p, false).loss, want.loss);
        }
}

// The loss on labels that start `offset` bytes into a device buffer whose other bytes are class 0,
// so a count that reads a byte outside the labels, or one twice, counts a class 0 too many.
LossResult run_loss_on_labels_at(Backend& b, const Tensor& logits_host, const Tensor& labels_host,
                                 const FocalLossParams& p, std::size_t offset) {
    Tensor buffer_host = Tensor::host({labels_host.numel() + 32}, DType::u8);
    std::memcpy(buffer_host.data<std::uint8_t>() + offset, labels_host.raw(), labels_host.bytes());
    Tensor buffer = test::to_backend(b, buffer_host);
    Tensor labels(labels_host.shape(), DType::u8, buffer.device(),
                  static_cast<std::uint8_t*>(buffer.raw()) + offset, nullptr);
    Tensor logits = test::to_backend(b, logits_host);
    Tensor loss = b.zeros({1}, DType::f32);
    Tensor dlogits = b.zeros(logits_host.shape(), DType::f32);
    b.focal_loss(logits, labels, p, loss, dlogits);
    return {test::to_host(b, loss).data<float>()[0], test::to_host(b, dlogits)};
}

// two_launch's count reads 16 labels a load from the first 16-byte boundary on and the bytes
// before it and past the last whole load one by one: labels at every offset from a boundary
// (0-16), on sizes with none, a few and many whole loads, match the CPU, and vec4 on the same
// labels bit for bit (its pass runs where the labels are 4-byte aligned, the one-pixel pass
// elsewhere, for both).
TEST(FocalLossGpu, TwoLaunchCountsLabelsAtAnyAddress) {
    PFCE_REQUIRE_GPU(gpu);
    auto cpu = test::cpu_backend();
    const GpuCase cases[] = {
        {1, 6, 1, 5, 2.0f, LossNormalize::labelled},
        {1, 6, 4, 9, 0.0f, LossNormalize::alpha},
        {2, 6, 17, 300, 2.0f, LossNormalize::labelled},
    };
    std::uint64_t seed = 1300;
    for (const GpuCase& k : cases) {
        Tensor logits = test::random_f32({k.n, k.c, k.h, k.w}, ++seed, -6.0f, 6.0f);
        Tensor labels = random_labels({k.n, k.h, k.w}, k.c, 0.3, ++seed);
        FocalLossParams p{k.gamma, ramp_alpha(k.c), k.normalize};
        const LossResult want = run_loss(*cpu, logits, labels, p);
        for (std::size_t offset = 0; offset <= 16; ++offset) {
            SCOPED_TRACE(::testing::Message() << "N" << k.n << " C" << k.c << " " << k.h << "x"
                                              << k.w << " labels at offset " << offset);
            gpu->select_op_variant("focal_loss", "vec4");
            const LossResult vec4 = run_loss_on_labels_at(*gpu, logits, labels, p, offset);
            zero_the_counts(*gpu, logits, p);
            gpu->select_op_variant("focal_loss", "two_launch");
            const LossResult got = run_loss_on_labels_at(*gpu, logits, labels, p, offset);
            EXPECT_NEAR(got.loss, want.loss, 1e-6 + 1e-5 * std::fabs(want.loss));
            EXPECT_TRUE(gradient_within_scale(want.dlogits, got.dlogits,
                                              gradient_scale(labels, k.c, p), kGradientRel));
            EXPECT_EQ(got.loss, vec4.loss);
            EXPECT_EQ(std::memcmp(got.dlogits.raw(), vec4.dlogits.raw(), got.dlogits.bytes()), 0);
        }
    }
}

TEST(FocalLoss, CpuHasOneImplementationAndSaysSo) {
    auto cpu = test::cpu_backend();
    EXPECT_TRUE(cpu->op_variants("focal_loss").empty());
    try {
        cpu->select_op_variant("focal_loss", "single_launch");
        ADD_FAILURE() << "expected an InputError";
    } catch (const InputError& e) {
        const std::string msg = e.what();
        EXPECT_MESSAGE_HAS(msg, "\"focal_loss\"");
        EXPECT_MESSAGE_HAS(msg, "single_launch");
        EXPECT_MESSAGE_HAS(msg, "one implementation");
    }
}
