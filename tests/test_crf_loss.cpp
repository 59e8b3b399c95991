// Local-window CRF (Potts) loss in three layers: the double-precision reference against central
// finite differences (cells of one pixel and of several, partial edge cells), the semantics on
// hand-made inputs (a hand-computed value, colour gating, no neighbour, weight 0, thread count),
// and GPU against CPU. The op harness (test_backend_ops.cpp) compares both backends with the
// reference on many shapes.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "host/reference/reference_ops.hpp"
#include "tests/test_util.hpp"

using namespace pfce;

namespace {

using test::LossResult;
using test::to_double;

LossResult run_crf(Backend& b, const Tensor& logits, const Tensor& rgb, const CrfLossParams& p) {
    Tensor z = test::to_backend(b, logits), colours = test::to_backend(b, rgb);
    Tensor loss = b.zeros({1}, DType::f32), dz = b.zeros(logits.shape(), DType::f32);
    b.fill(dz, std::nanf(""));  // every element must be written
    b.crf_loss(z, colours, p, loss, dz);
    return {test::to_host(b, loss).data<float>()[0], test::to_host(b, dz)};
}

// (N,3,H,W) u8 of one colour per pixel given by f(y, x) -> {r, g, b}.
template <typename F>
Tensor paint(int n, int h, int w, F f) {
    Tensor t = Tensor::host({n, 3, h, w}, DType::u8);
    for (int i = 0; i < n; ++i)
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                const std::array<int, 3> c = f(y, x);
                for (int ch = 0; ch < 3; ++ch)
                    t.data<std::uint8_t>()[((i * 3 + ch) * h + y) * w + x] =
                        static_cast<std::uint8_t>(c[static_cast<std::size_t>(ch)]);
            }
    return t;
}

}  // namespace

// ---- the reference against finite differences ------------------------------------------------

struct FdCase {
    int n, c, h, w, radius, downsample;
    float sigma_xy, sigma_rgb;
};

class CrfGradient : public ::testing::TestWithParam<FdCase> {};

TEST_P(CrfGradient, ReferenceMatchesCentralDifferences) {
    const FdCase k = GetParam();
    Tensor logits = test::random_f32({k.n, k.c, k.h, k.w}, 41, -3.0f, 3.0f);
    Tensor rgb = test::random_rgb(k.n, k.h, k.w, 42);
    CrfLossParams p;
    p.weight = 0.8f;
    p.radius = k.radius;
    p.downsample = k.downsample;
    p.sigma_xy = k.sigma_xy;
    p.sigma_rgb = k.sigma_rgb;
    const std::uint8_t* colours = rgb.data<std::uint8_t>();

    std::vector<double> z = to_double(logits), dz(z.size());
    const double loss =
        reference::crf_loss<double>(z.data(), colours, k.n, k.c, k.h, k.w, p, dz.data());
    EXPECT_GT(loss, 0.0);
    const double eps = 1e-6;
    double worst = 0.0;
    for (std::size_t i = 0; i < z.size(); ++i) {
        const double keep = z[i];
        z[i] = keep + eps;
        const double up =
            reference::crf_loss<double>(z.data(), colours, k.n, k.c, k.h, k.w, p, nullptr);
        z[i] = keep - eps;
        const double down =
            reference::crf_loss<double>(z.data(), colours, k.n, k.c, k.h, k.w, p, nullptr);
        z[i] = keep;
        const double fd = (up - down) / (2 * eps);
        EXPECT_NEAR(dz[i], fd, 1e-8 + 1e-6 * std::fabs(fd)) << "element " << i;
        worst = std::max(worst, std::fabs(dz[i] - fd));
    }
    RecordProperty("worst_abs_error", std::to_string(worst));
    std::printf("finite differences: %zu logits, worst |analytic - numeric| %.3g\n", z.size(),
                worst);
}

INSTANTIATE_TEST_SUITE_P(
    Windows, CrfGradient,
    ::testing::Values(FdCase{2, 3, 5, 6, 1, 1, 3.0f, 20.0f},   // cells of one pixel
                      FdCase{1, 4, 6, 7, 3, 1, 2.0f, 40.0f},   // window wider than the image
                      FdCase{2, 3, 7, 8, 2, 2, 4.0f, 25.0f},   // 2x2 cells, partial last row
                      FdCase{1, 2, 7, 10, 1, 3, 6.0f, 30.0f},  // 3x3 cells, partial both ways
                      FdCase{1, 5, 4, 4, 2, 1, 1e3f, 1e4f}),   // kernel ~1 everywhere
    [](const auto& param_info) {
        const FdCase& k = param_info.param;
        return std::to_string(k.h) + "x" + std::to_string(k.w) + "_r" + std::to_string(k.radius) +
               "_d" + std::to_string(k.downsample);
    });

// ---- semantics ---------------------------------------------------------------------------------

// Two pixels side by side, two classes: each is the other's only neighbour, so
// loss = weight / 2 * 2 k (1 - p.q) with k = exp(-1 / 2 sigma_xy^2 - |drgb|^2 / 2 sigma_rgb^2).
TEST(CrfLoss, TwoPixelsByHand) {
    Tensor logits = Tensor::host({1, 2, 1, 2}, DType::f32);
    const float z[] = {1.0f, -0.5f, 0.0f, 0.7f};  // (C,H,W): pixel 0 (1, 0), pixel 1 (-0.5, 0.7)
    std::copy(z, z + 4, logits.data<float>());
    Tensor rgb = paint(1, 1, 2, [](int, int x) {
        return x == 0 ? std::array<int, 3>{10, 20, 30} : std::array<int, 3>{13, 24, 30};
    });
    CrfLossParams p;
    p.weight = 0.6f;
    p.radius = 1;
    p.sigma_xy = 2.0f;
    p.sigma_rgb = 5.0f;
    const double p0 = 1.0 / (1.0 + std::exp(0.0 - 1.0)), p1 = 1.0 / (1.0 + std::exp(0.7 + 0.5));
    const double dot = p0 * p1 + (1 - p0) * (1 - p1);
    const double k = std::exp(-1.0 / 8.0 - 25.0 / 50.0);
    const double want = 0.6 / 2.0 * 2.0 * k * (1.0 - dot);
    for (auto& b : {test::reference_backend(), test::cpu_backend()}) {
        const LossResult r = run_crf(*b, logits, rgb, p);
        EXPECT_NEAR(r.loss, want, 1e-6 * want) << b->name();
        // The logits' gradient sums to 0 over the classes of a pixel (softmax).
        for (int x = 0; x < 2; ++x)
            EXPECT_NEAR(r.dlogits.data<float>()[x] + r.dlogits.data<float>()[2 + x], 0.0, 1e-7);
    }
}

// A picture of two flat colours far apart: with sigma_rgb small, the kernel across the border
// vanishes and the loss is the sum of the two halves' losses, each computed on its own.
TEST(CrfLoss, ColourEdgesGateTheKernel) {
    const int h = 9, w = 12;
    Tensor logits = test::random_f32({1, 3, h, w}, 51, -2.0f, 2.0f);
    Tensor rgb = paint(1, h, w, [](int, int x) {
        return x < 5 ? std::array<int, 3>{200, 40, 40} : std::array<int, 3>{40, 200, 40};
    });
    CrfLossParams p;
    p.weight = 1.0f;
    p.radius = 4;
    p.sigma_rgb = 10.0f;  // the border's colour step is 160 * sqrt(2): exponent ~256
    auto half = [&](int x0, int x1) {
        const int hw = x1 - x0;
        Tensor zl = Tensor::host({1, 3, h, hw}, DType::f32);
        Tensor cl = Tensor::host({1, 3, h, hw}, DType::u8);
        for (int k = 0; k < 3; ++k)
            for (int y = 0; y < h; ++y)
                for (int x = x0; x < x1; ++x) {
                    zl.data<float>()[(k * h + y) * hw + x - x0] =
                        logits.data<float>()[(k * h + y) * w + x];
                    cl.data<std::uint8_t>()[(k * h + y) * hw + x - x0] =
                        rgb.data<std::uint8_t>()[(k * h + y) * w + x];
                }
        // Each half normalized by its own cells: scale back to this picture's.
        return reference::crf_loss<double>(to_double(zl).data(), cl.data<std::uint8_t>(), 1, 3, h,
                                           hw, p, nullptr) *
               (h * hw) / (h * w);
    };
    const double want = half(0, 5) + half(5, w);
    auto cpu = test::cpu_backend();
    EXPECT_NEAR(run_crf(*cpu, logits, rgb, p).loss, want, 1e-5 * want);
    // A softer colour kernel couples the halves (k across the border ~0.5): the loss grows.
    p.sigma_rgb = 200.0f;
    EXPECT_GT(run_crf(*cpu, logits, rgb, p).loss, 1.1 * want);
}

// Confident, agreeing predictions on one colour cost nothing and get no gradient; no neighbour
// (radius 0, or a single cell) and weight 0 give exactly 0.
TEST(CrfLoss, ZeroWhereNothingDisagrees) {
    const int n = 2, c = 4, h = 6, w = 7;
    Tensor rgb = paint(n, h, w, [](int, int) { return std::array<int, 3>{90, 90, 90}; });
    Tensor logits = Tensor::host({n, c, h, w}, DType::f32);
    for (std::int64_t i = 0; i < logits.numel(); ++i)
        logits.data<float>()[i] = (i / (h * w)) % c == 2 ? 60.0f : -60.0f;  // class 2 everywhere
    auto cpu = test::cpu_backend();
    CrfLossParams p;
    LossResult r = run_crf(*cpu, logits, rgb, p);
    EXPECT_EQ(r.loss, 0.0f);
    for (std::int64_t i = 0; i < r.dlogits.numel(); ++i)
        ASSERT_EQ(r.dlogits.data<float>()[i], 0.0f) << i;

    Tensor random = test::random_f32({n, c, h, w}, 52, -3.0f, 3.0f);
    Tensor colours = test::random_rgb(n, h, w, 53);
    for (auto& b : {test::reference_backend(), test::cpu_backend()}) {
        for (int variant = 0; variant < 3; ++variant) {
            CrfLossParams q;
            if (variant == 0) q.radius = 0;
            if (variant == 1) q.downsample = 8;  // one cell per image
            if (variant == 2) q.weight = 0.0f;
            r = run_crf(*b, random, colours, q);
            EXPECT_EQ(r.loss, 0.0f) << b->name() << " variant " << variant;
            for (std::int64_t i = 0; i < r.dlogits.numel(); ++i)
                ASSERT_EQ(r.dlogits.data<float>()[i], 0.0f) << b->name() << " variant " << variant;
        }
    }
}

// The loss and gradient are linear in the weight, and mixed classes cost more than agreement.
TEST(CrfLoss, LinearInWeight) {
    Tensor logits = test::random_f32({2, 6, 20, 24}, 54, -4.0f, 4.0f);
    Tensor rgb = test::random_rgb(2, 20, 24, 55);
    auto cpu = test::cpu_backend();
    CrfLossParams p;
    p.weight = 0.5f;
    const LossResult a = run_crf(*cpu, logits, rgb, p);
    p.weight = 1.0f;
    const LossResult b = run_crf(*cpu, logits, rgb, p);
    EXPECT_NEAR(b.loss, 2 * a.loss, 1e-6 * b.loss);
    for (std::int64_t i = 0; i < a.dlogits.numel(); ++i)
        ASSERT_EQ(2 * a.dlogits.data<float>()[i], b.dlogits.data<float>()[i]) << i;
}

#ifdef _OPENMP
// Every cell's sums run in one fixed order whatever the thread count: bit-identical results.
TEST(CrfLoss, CpuResultDoesNotDependOnThreadCount) {
    Tensor logits = test::random_f32({3, 6, 33, 41}, 56, -4.0f, 4.0f);
    Tensor rgb = test::random_rgb(3, 33, 41, 57);
    auto cpu = test::cpu_backend();
    for (int d : {1, 2}) {
        CrfLossParams p;
        p.downsample = d;
        const int before = omp_get_max_threads();
        omp_set_num_threads(1);
        const LossResult one = run_crf(*cpu, logits, rgb, p);
        omp_set_num_threads(3);
        const LossResult three = run_crf(*cpu, logits, rgb, p);
        omp_set_num_threads(before);
        EXPECT_EQ(one.loss, three.loss) << "d " << d;
        for (std::int64_t i = 0; i < one.dlogits.numel(); ++i)
            ASSERT_EQ(one.dlogits.data<float>()[i], three.dlogits.data<float>()[i]) << i;
    }
}
#endif

// A logit that is not finite (a diverged network) makes the loss NaN, not a finite number: an
// infinite logit would otherwise give exp 0 and hide.
void expect_nan_loss_for_non_finite_logits(Backend& b) {
    Tensor logits = test::random_f32({1, 3, 5, 6}, 62, -3.0f, 3.0f);
    Tensor rgb = test::random_rgb(1, 5, 6, 63);
    CrfLossParams p;
    ASSERT_TRUE(std::isfinite(run_crf(b, logits, rgb, p).loss)) << b.name();
    for (float bad : {std::nanf(""), INFINITY, -INFINITY}) {
        Tensor z = Tensor::host(logits.shape(), DType::f32);
        copy_host(z, logits);
        z.data<float>()[1 * 30 + 7] = bad;  // class 1 of one pixel
        EXPECT_TRUE(std::isnan(run_crf(b, z, rgb, p).loss)) << b.name() << " logit " << bad;
    }
}

TEST(CrfLoss, NonFiniteLogitGivesNanLoss) {
    expect_nan_loss_for_non_finite_logits(*test::cpu_backend());
}

// ---- GPU against CPU -------------------------------------------------------------------------

TEST(CrfLossGpu, NonFiniteLogitGivesNanLossAsOnTheCpu) {
    PFCE_REQUIRE_GPU(gpu);
    expect_nan_loss_for_non_finite_logits(*gpu);
}

// A synthetic-small training batch at the defaults and on 2x2 cells: the CUDA kernels (shared-
// memory tiles) against the CPU backend. Both compute in float in different orders; the
// tolerance is the harness's.
TEST(CrfLossGpu, MatchesCpuOnATrainingBatch) {
    PFCE_REQUIRE_GPU(gpu);
    auto cpu = test::cpu_backend();
    Tensor logits = test::random_f32({8, 6, 96, 96}, 58, -5.0f, 5.0f);
    Tensor rgb = test::random_rgb(8, 96, 96, 59);
    for (int d : {1, 2}) {
        CrfLossParams p;
        p.downsample = d;
        p.weight = 0.3f;
        const LossResult want = run_crf(*cpu, logits, rgb, p), got = run_crf(*gpu, logits, rgb, p);
        EXPECT_NEAR(got.loss, want.loss, 1e-5 * std::fabs(want.loss)) << "d " << d;
        EXPECT_TRUE(test::all_close(want.dlogits, got.dlogits, 1e-8, 1e-4)) << "d " << d;
    }
}

// Wide windows and many classes, where a tile of 16 x 16 cells and its halo no longer fits in
// shared memory (radius 14 with 27 classes is 256 B under an H200's opt-in limit before the
// kernel's static shared memory is counted): the 8 x 8 tiles must take over, with the same result.
TEST(CrfLossGpu, MatchesCpuWithWideWindowsAndManyClasses) {
    PFCE_REQUIRE_GPU(gpu);
    auto cpu = test::cpu_backend();
    for (const auto& [c, r] : {std::pair{27, 14}, std::pair{32, 16}, std::pair{9, 16}}) {
        Tensor logits = test::random_f32({2, c, 40, 37}, 60 + c, -4.0f, 4.0f);
        Tensor rgb = test::random_rgb(2, 40, 37, 61 + c);
        CrfLossParams p;
        p.radius = r;
        p.weight = 0.5f;
        const LossResult want = run_crf(*cpu, logits, rgb, p), got = run_crf(*gpu, logits, rgb, p);
        EXPECT_NEAR(got.loss, want.loss, 1e-5 * std::fabs(want.loss)) << "c " << c << " r " << r;
        EXPECT_TRUE(test::all_close(want.dlogits, got.dlogits, 1e-8, 1e-4))
            << "c " << c << " r " << r;
    }
}
