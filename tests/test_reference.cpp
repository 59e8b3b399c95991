// The reference itself (host/reference), which every backend is checked against: its convolution,
// transposed convolution and batch norm gradients against central finite differences of its own
// forward passes in double, and its routing ops and batch-norm statistics against values worked
// out by hand (max-pool ties, numpy's reflect padding, first-max argmax, PyTorch's running stats).
// The focal loss's finite-difference test is in test_focal_loss.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "host/reference/reference_ops.hpp"
#include "tests/test_util.hpp"

using namespace pfce;
using pfce::test::all_close;
using pfce::test::random_f32;

namespace {

using Vec = std::vector<double>;

Vec random_vec(std::size_t n, std::uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
    const Tensor t = random_f32({static_cast<std::int64_t>(n)}, seed, lo, hi);
    return Vec(t.data<float>(), t.data<float>() + t.numel());
}

Tensor host_from(std::initializer_list<float> v, Shape s) {
    Tensor t = Tensor::host(s, DType::f32);
    std::int64_t i = 0;
    for (float f : v) t.data<float>()[i++] = f;
    EXPECT_EQ(i, t.numel());
    return t;
}

double dot(const Vec& a, const Vec& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s;
}

// |fd - got| <= atol + rtol |fd| for the central differences fd of f at v, coordinate by
// coordinate, against the analytic gradient `got`.
::testing::AssertionResult matches_finite_differences(const std::function<double(const Vec&)>& f,
                                                      Vec v, const Vec& got) {
    const double eps = 1e-4, atol = 1e-7, rtol = 1e-6;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const double keep = v[i];
        v[i] = keep + eps;
        const double fp = f(v);
        v[i] = keep - eps;
        const double fm = f(v);
        v[i] = keep;
        const double fd = (fp - fm) / (2 * eps);
        if (!(std::fabs(fd - got[i]) <= atol + rtol * std::fabs(fd)))
            return ::testing::AssertionFailure() << "coordinate " << i << ": finite differences "
                                                 << fd << ", gradient " << got[i];
    }
    return ::testing::AssertionSuccess();
}

// For a layer y = forward(x, w, b) whose backward(x, w, b, r, dx, dw, db) writes the gradients of
// r . y for an upstream gradient r: each gradient against central differences of r . y. The
// forward pass runs at (x, w, b) right before backward (batch norm's saves its statistics then).
template <typename Forward, typename Backward>
void expect_gradients(Forward forward, Backward backward, const Vec& x, const Vec& w, const Vec& b,
                      std::size_t ny) {
    const Vec r = random_vec(ny, 4);
    auto loss = [&](const Vec& vx, const Vec& vw, const Vec& vb) {
        Vec y(ny);
        forward(vx.data(), vw.data(), vb.data(), y.data());
        return dot(r, y);
    };
    Vec dx(x.size()), dw(w.size()), db(b.size());
    loss(x, w, b);
    backward(x.data(), w.data(), b.data(), r.data(), dx.data(), dw.data(), db.data());
    EXPECT_TRUE(matches_finite_differences([&](const Vec& v) { return loss(v, w, b); }, x, dx));
    EXPECT_TRUE(matches_finite_differences([&](const Vec& v) { return loss(x, v, b); }, w, dw));
    EXPECT_TRUE(matches_finite_differences([&](const Vec& v) { return loss(x, w, v); }, b, db));
}

std::size_t size_of(std::int64_t n) {
    return static_cast<std::size_t>(n);
}

// The passes of the layers with weights, by shape: conv2d (ConvShape) and upconv2x2 (UpconvShape).
void layer_forward(const double* x, const double* w, const double* b, double* y,
                   const reference::ConvShape& s) {
    reference::conv2d_forward(x, w, b, y, s);
}
void layer_forward(const double* x, const double* w, const double* b, double* y,
                   const reference::UpconvShape& s) {
    reference::upconv2x2_forward(x, w, b, y, s);
}
void layer_backward(const double* x, const double* w, const double* r, double* dx, double* dw,
                    double* db, const reference::ConvShape& s) {
    reference::conv2d_backward_data(r, w, dx, s);
    reference::conv2d_backward_filter(x, r, dw, db, s);
}
void layer_backward(const double* x, const double* w, const double* r, double* dx, double* dw,
                    double* db, const reference::UpconvShape& s) {
    reference::upconv2x2_backward_data(r, w, dx, s);
    reference::upconv2x2_backward_filter(x, r, dw, db, s);
}

// The gradients of the layer of shape s (nw weights, ny outputs) against finite differences, at
// random x, w and bias (seeds 1, 2, 3).
template <typename LayerShape>
void expect_layer_gradients(const LayerShape& s, std::size_t nw, std::size_t ny) {
    expect_gradients(
        [&](const double* x, const double* w, const double* b, double* y) {
            layer_forward(x, w, b, y, s);
        },
        [&](const double* x, const double* w, const double*, const double* r, double* dx,
            double* dw, double* db) { layer_backward(x, w, r, dx, dw, db, s); },
        random_vec(size_of(s.n * s.ci * s.h * s.w), 1), random_vec(nw, 2),
        random_vec(size_of(s.co), 3), ny);
}

}  // namespace

// ---- gradients against finite differences ---------------------------------------------------

TEST(ReferenceGradients, ConvolutionIsFiniteDifferences) {
    for (const reference::ConvShape s :
         {reference::ConvShape{2, 2, 4, 5, 3, 3, 1}, reference::ConvShape{1, 3, 3, 4, 2, 1, 0},
          reference::ConvShape{1, 2, 5, 3, 2, 3, 0}}) {
        expect_layer_gradients(s, size_of(s.co * s.ci * s.k * s.k),
                               size_of(s.n * s.co * s.ho() * s.wo()));
    }
}

TEST(ReferenceGradients, TransposedConvolutionIsFiniteDifferences) {
    const reference::UpconvShape s{2, 2, 2, 3, 3};
    expect_layer_gradients(s, size_of(s.ci * s.co * 4), size_of(s.n * s.co * 4 * s.h * s.w));
}

// Training-mode batch norm as a layer of (x, gamma, beta): y depends on x through the batch
// statistics too, which the backward pass must account for.
TEST(ReferenceGradients, BatchNormIsFiniteDifferences) {
    const reference::BnShape s{3, 2, 6};
    Vec mean(size_of(s.c)), invstd(size_of(s.c));  // saved by the forward pass
    expect_gradients(
        [&](const double* x, const double* g, const double* b, double* y) {
            Vec rm(size_of(s.c), 0.0), rv(size_of(s.c), 1.0);
            reference::batchnorm_forward_train(x, g, b, rm.data(), rv.data(), y, mean.data(),
                                               invstd.data(), s, 0.1, 1e-5);
        },
        [&](const double* x, const double* g, const double*, const double* r, double* dx,
            double* dg, double* db) {
            reference::batchnorm_backward(x, r, g, mean.data(), invstd.data(), dx, dg, db, s);
        },
        random_vec(size_of(s.n * s.c * s.hw), 5, -2.0f, 3.0f),
        random_vec(size_of(s.c), 6, 0.5f, 2.0f), random_vec(size_of(s.c), 7),
        size_of(s.n * s.c * s.hw));
}

// ---- batch norm statistics ----------------------------------------------------------------------

TEST(ReferenceBatchNorm, TrainNormalizesAndUpdatesRunningStats) {
    auto be = test::reference_backend();
    // Channel 0 holds 1,2,3,4 (mean 2.5, biased var 1.25, unbiased 5/3); channel 1 holds 0,0,0,8.
    Tensor x = host_from({1, 2, 0, 0, 3, 4, 0, 8}, {2, 2, 1, 2});
    Tensor g = host_from({2, 1}, {2}), b = host_from({0.5f, -1}, {2});
    Tensor rm = host_from({0, 1}, {2}), rv = host_from({1, 1}, {2});
    Tensor y = Tensor::host({2, 2, 1, 2}, DType::f32), sm = Tensor::host({2}, DType::f32),
           si = Tensor::host({2}, DType::f32);
    BatchNormParams p;  // momentum 0.1, eps 1e-5
    be->batchnorm_forward_train(x, g, b, rm, rv, y, sm, si, p);
    const double is0 = 1 / std::sqrt(1.25 + 1e-5), is1 = 1 / std::sqrt(12.0 + 1e-5);
    EXPECT_NEAR(sm.data<float>()[0], 2.5, 1e-6);
    EXPECT_NEAR(sm.data<float>()[1], 2.0, 1e-6);
    EXPECT_NEAR(si.data<float>()[0], is0, 1e-6);
    EXPECT_NEAR(si.data<float>()[1], is1, 1e-6);
    EXPECT_NEAR(rm.data<float>()[0], 0.25, 1e-6);                   // 0.9*0 + 0.1*2.5
    EXPECT_NEAR(rm.data<float>()[1], 0.9 + 0.2, 1e-6);              // 0.9*1 + 0.1*2
    EXPECT_NEAR(rv.data<float>()[0], 0.9 + 0.1 * 5.0 / 3.0, 1e-6);  // unbiased variance
    EXPECT_NEAR(rv.data<float>()[1], 0.9 + 0.1 * 16.0, 1e-5);       // 48/3
    const float* py = y.data<float>();
    // y index (n,c,0,k): n*4 + c*2 + k
    EXPECT_NEAR(py[0], 2 * (1 - 2.5) * is0 + 0.5, 1e-5);
    EXPECT_NEAR(py[5], 2 * (4 - 2.5) * is0 + 0.5, 1e-5);
    EXPECT_NEAR(py[2], (0 - 2.0) * is1 - 1, 1e-5);
    EXPECT_NEAR(py[7], (8 - 2.0) * is1 - 1, 1e-5);
}

TEST(ReferenceBatchNorm, InferUsesRunningStats) {
    auto be = test::reference_backend();
    Tensor x = host_from({1, 2, 3, 4, 5, 6}, {1, 2, 3, 1});
    Tensor g = host_from({2, 0.5f}, {2}), b = host_from({1, 0}, {2});
    Tensor rm = host_from({2, -1}, {2}), rv = host_from({4, 0.25f}, {2});
    Tensor y = Tensor::host({1, 2, 3, 1}, DType::f32);
    BatchNormParams p;
    p.eps = 0.0f;
    be->batchnorm_forward_infer(x, g, b, rm, rv, y, p);
    EXPECT_TRUE(all_close(host_from({0, 1, 2, 5, 6, 7}, {1, 2, 3, 1}), y, 1e-6, 1e-6));
    // Running statistics are read, never written, in inference.
    EXPECT_EQ(rm.data<float>()[0], 2.0f);
    EXPECT_EQ(rv.data<float>()[1], 0.25f);
}

// ---- routing ops, by hand ---------------------------------------------------------------------

TEST(ReferenceLayers, ReluForwardInPlaceAndBackwardMasksNonPositive) {
    auto be = test::reference_backend();
    Tensor x = host_from({-1, 0, 2, -0.5f, 3, 0}, {1, 1, 2, 3});
    be->relu_forward(x, x);
    EXPECT_TRUE(all_close(host_from({0, 0, 2, 0, 3, 0}, {1, 1, 2, 3}), x, 0, 0));
    Tensor dy = host_from({1, 2, 3, 4, 5, 6}, {1, 1, 2, 3}),
           dx = Tensor::host({1, 1, 2, 3}, DType::f32);
    be->relu_backward(x, dy, dx);
    EXPECT_TRUE(all_close(host_from({0, 0, 3, 0, 5, 0}, {1, 1, 2, 3}), dx, 0, 0));
}

TEST(ReferenceLayers, MaxPoolForwardBackwardAndTieBreaking) {
    auto be = test::reference_backend();
    // 3x5 input: floor -> 1x2 output; the last row and column are never pooled.
    // Window 0 is all equal (first, (0,0), wins); window 1 ties at (1,0) and (1,1): (1,0) wins.
    Tensor x = host_from({7, 7, 1, 2, 9, 7, 7, 5, 5, 9, 9, 9, 9, 9, 9}, {1, 1, 3, 5});
    Tensor y = Tensor::host({1, 1, 1, 2}, DType::f32);
    be->maxpool2x2_forward(x, y);
    EXPECT_TRUE(all_close(host_from({7, 5}, {1, 1, 1, 2}), y, 0, 0));
    Tensor dy = host_from({10, 20}, {1, 1, 1, 2});
    Tensor dx = random_f32({1, 1, 3, 5}, 3);  // must be overwritten everywhere
    be->maxpool2x2_backward(x, y, dy, dx);
    EXPECT_TRUE(all_close(host_from({10, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0}, {1, 1, 3, 5}),
                          dx, 0, 0));
}

TEST(ReferenceLayers, MaxPoolBackwardRoutesToTheMaximumOnRandomInput) {
    auto be = test::reference_backend();
    const int n = 2, c = 3, h = 6, w = 4;
    Tensor x = random_f32({n, c, h, w}, 11), y = Tensor::host({n, c, 3, 2}, DType::f32);
    be->maxpool2x2_forward(x, y);
    Tensor dy = random_f32({n, c, 3, 2}, 12), dx = Tensor::host({n, c, h, w}, DType::f32);
    be->maxpool2x2_backward(x, y, dy, dx);
    // Each window's gradient sum is dy, and it sits where x is the max.
    for (int p = 0; p < n * c; ++p)
        for (int i = 0; i < 3; ++i)
            for (int j = 0; j < 2; ++j) {
                double s = 0, at_max = 0;
                const float m = y.data<float>()[(p * 3 + i) * 2 + j];
                for (int a = 0; a < 2; ++a)
                    for (int bb = 0; bb < 2; ++bb) {
                        const int k = (p * h + 2 * i + a) * w + 2 * j + bb;
                        s += dx.data<float>()[k];
                        if (x.data<float>()[k] == m) at_max = dx.data<float>()[k];
                    }
                EXPECT_EQ(s, dy.data<float>()[(p * 3 + i) * 2 + j]);
                EXPECT_EQ(at_max, s);
            }
}

TEST(ReferenceLayers, ConcatRoundTrip) {
    auto be = test::reference_backend();
    Tensor a = random_f32({2, 3, 4, 5}, 1), b = random_f32({2, 2, 4, 5}, 2);
    Tensor y = Tensor::host({2, 5, 4, 5}, DType::f32);
    be->concat_channels(a, b, y);
    // y[n,c] is a[n,c] for c < 3, b[n,c-3] after.
    EXPECT_EQ(y.data<float>()[(1 * 5 + 2) * 20 + 7], a.data<float>()[(1 * 3 + 2) * 20 + 7]);
    EXPECT_EQ(y.data<float>()[(1 * 5 + 3) * 20 + 7], b.data<float>()[(1 * 2 + 0) * 20 + 7]);
    Tensor da = Tensor::host(a.shape(), DType::f32), db = Tensor::host(b.shape(), DType::f32);
    be->concat_channels_backward(y, da, db);
    EXPECT_TRUE(all_close(a, da, 0, 0));
    EXPECT_TRUE(all_close(b, db, 0, 0));
    Tensor bad = Tensor::host({2, 4, 4, 5}, DType::f32);
    EXPECT_THROW(be->concat_channels(a, b, bad), ShapeError);
}

TEST(ReferenceLayers, ReflectPadMatchesNumpyReflect) {
    auto be = test::reference_backend();
    // np.pad(np.arange(12).reshape(3,4), ((1,2),(2,1)), mode='reflect')
    Tensor x = host_from({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {1, 1, 3, 4});
    Tensor y = Tensor::host({1, 1, 6, 7}, DType::f32);
    be->reflect_pad(x, y, 1, 2);
    EXPECT_TRUE(
        all_close(host_from({6,  5, 4, 5, 6,  7,  6,  2, 1, 0, 1, 2, 3, 2, 6, 5, 4, 5, 6, 7, 6,
                             10, 9, 8, 9, 10, 11, 10, 6, 5, 4, 5, 6, 7, 6, 2, 1, 0, 1, 2, 3, 2},
                            {1, 1, 6, 7}),
                  y, 0, 0));
    Tensor too_big = Tensor::host({1, 1, 7, 7}, DType::f32);  // bottom pad 3 >= H
    EXPECT_THROW(be->reflect_pad(x, too_big, 1, 2), ShapeError);
}

TEST(ReferenceLayers, CropForwardAndBackward) {
    auto be = test::reference_backend();
    Tensor x = random_f32({2, 3, 6, 7}, 4), y = Tensor::host({2, 3, 3, 4}, DType::f32);
    be->crop(x, y, 2, 1);
    for (int p = 0; p < 6; ++p)
        for (int i = 0; i < 3; ++i)
            for (int j = 0; j < 4; ++j)
                ASSERT_EQ(y.data<float>()[(p * 3 + i) * 4 + j],
                          x.data<float>()[(p * 6 + i + 2) * 7 + j + 1]);
    Tensor dx = random_f32({2, 3, 6, 7}, 5);
    be->crop_backward(y, dx, 2, 1);
    for (int p = 0; p < 6; ++p)
        for (int i = 0; i < 6; ++i)
            for (int j = 0; j < 7; ++j) {
                const bool inside = i >= 2 && i < 5 && j >= 1 && j < 5;
                const float want = inside ? x.data<float>()[(p * 6 + i) * 7 + j] : 0.0f;
                ASSERT_EQ(dx.data<float>()[(p * 6 + i) * 7 + j], want) << p << " " << i << " " << j;
            }
    Tensor out_of_range = Tensor::host({2, 3, 3, 4}, DType::f32);
    EXPECT_THROW(be->crop(x, out_of_range, 4, 0), ShapeError);
}

TEST(ReferenceLayers, ArgmaxFirstMaxWins) {
    auto be = test::reference_backend();
    // (1,3,1,3): pixel 0 max at c1; pixel 1 ties c0=c2 -> 0; pixel 2 ties c1=c2 -> 1.
    Tensor l = host_from({0, 5, 1, 3, 1, 2, 1, 5, 2}, {1, 3, 1, 3});
    Tensor pred = Tensor::host({1, 1, 3}, DType::u8);
    be->argmax_channels(l, pred);
    EXPECT_EQ(pred.data<std::uint8_t>()[0], 1);
    EXPECT_EQ(pred.data<std::uint8_t>()[1], 0);
    EXPECT_EQ(pred.data<std::uint8_t>()[2], 1);
}
