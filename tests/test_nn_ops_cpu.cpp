// CPU neural-net ops against independent references: a naive double-precision convolution and
// transposed convolution (themselves checked by central finite differences), batch-norm statistics
// and running-stat updates by hand and by finite differences, and exact expected values for the
// routing ops (max-pool ties, numpy-style reflect pad, crop, concat, argmax).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "core/rng.hpp"
#include "tests/test_util.hpp"

using namespace pfce;
using pfce::test::all_close;
using pfce::test::random_f32;

namespace {

using Vec = std::vector<double>;

Vec to_vec(const Tensor& t) {
    const float* p = t.data<float>();
    return Vec(p, p + t.numel());
}

Tensor from_vec(const Vec& v, Shape s) {
    Tensor t = Tensor::host(s, DType::f32);
    for (std::int64_t i = 0; i < t.numel(); ++i)
        t.data<float>()[i] = static_cast<float>(v[static_cast<std::size_t>(i)]);
    return t;
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

// ---- naive double references: 7 loops, no tricks --------------------------------------------
struct ConvDims {
    int n, ci, h, w, co, k, pad;
    int ho() const { return h + 2 * pad - k + 1; }
    int wo() const { return w + 2 * pad - k + 1; }
};

// y (N,Co,Ho,Wo) = sum_{ci,ky,kx} x[n,ci,oy-pad+ky,ox-pad+kx] w[co,ci,ky,kx] + b[co]
Vec naive_conv(const Vec& x, const Vec& w, const Vec& b, const ConvDims& d) {
    Vec y(static_cast<std::size_t>(d.n * d.co * d.ho() * d.wo()), 0.0);
    for (int n = 0; n < d.n; ++n)
        for (int o = 0; o < d.co; ++o)
            for (int oy = 0; oy < d.ho(); ++oy)
                for (int ox = 0; ox < d.wo(); ++ox) {
                    double s = b.empty() ? 0.0 : b[static_cast<std::size_t>(o)];
                    for (int c = 0; c < d.ci; ++c)
                        for (int ky = 0; ky < d.k; ++ky)
                            for (int kx = 0; kx < d.k; ++kx) {
                                const int iy = oy - d.pad + ky, ix = ox - d.pad + kx;
                                if (iy < 0 || iy >= d.h || ix < 0 || ix >= d.w) continue;
                                s += x[static_cast<std::size_t>(((n * d.ci + c) * d.h + iy) * d.w +
                                                                ix)] *
                                     w[static_cast<std::size_t>(((o * d.ci + c) * d.k + ky) * d.k +
                                                                kx)];
                            }
                    y[static_cast<std::size_t>(((n * d.co + o) * d.ho() + oy) * d.wo() + ox)] = s;
                }
    return y;
}

// The adjoints of naive_conv: dx, dw, db for upstream gradient dy.
void naive_conv_backward(const Vec& x, const Vec& w, const Vec& dy, const ConvDims& d, Vec& dx,
                         Vec& dw, Vec& db) {
    dx.assign(x.size(), 0.0);
    dw.assign(w.size(), 0.0);
    db.assign(static_cast<std::size_t>(d.co), 0.0);
    for (int n = 0; n < d.n; ++n)
        for (int o = 0; o < d.co; ++o)
            for (int oy = 0; oy < d.ho(); ++oy)
                for (int ox = 0; ox < d.wo(); ++ox) {
                    const double g =
                        dy[static_cast<std::size_t>(((n * d.co + o) * d.ho() + oy) * d.wo() + ox)];
                    db[static_cast<std::size_t>(o)] += g;
                    for (int c = 0; c < d.ci; ++c)
                        for (int ky = 0; ky < d.k; ++ky)
                            for (int kx = 0; kx < d.k; ++kx) {
                                const int iy = oy - d.pad + ky, ix = ox - d.pad + kx;
                                if (iy < 0 || iy >= d.h || ix < 0 || ix >= d.w) continue;
                                const auto xi = static_cast<std::size_t>(
                                    ((n * d.ci + c) * d.h + iy) * d.w + ix);
                                const auto wi = static_cast<std::size_t>(
                                    ((o * d.ci + c) * d.k + ky) * d.k + kx);
                                dx[xi] += g * w[wi];
                                dw[wi] += g * x[xi];
                            }
                }
}

// y (N,Co,2H,2W): y[n,co,2i+a,2j+b] = sum_ci x[n,ci,i,j] w[ci,co,a,b] + bias[co]
Vec naive_upconv(const Vec& x, const Vec& w, const Vec& b, int n_, int ci, int h, int w_, int co) {
    Vec y(static_cast<std::size_t>(n_ * co * 4 * h * w_), 0.0);
    for (int n = 0; n < n_; ++n)
        for (int o = 0; o < co; ++o)
            for (int yy = 0; yy < 2 * h; ++yy)
                for (int xx = 0; xx < 2 * w_; ++xx) {
                    double s = b[static_cast<std::size_t>(o)];
                    for (int c = 0; c < ci; ++c)
                        s +=
                            x[static_cast<std::size_t>(((n * ci + c) * h + yy / 2) * w_ + xx / 2)] *
                            w[static_cast<std::size_t>(((c * co + o) * 2 + yy % 2) * 2 + xx % 2)];
                    y[static_cast<std::size_t>(((n * co + o) * 2 * h + yy) * 2 * w_ + xx)] = s;
                }
    return y;
}

// Central differences of f at v (double), one coordinate at a time.
Vec finite_diff(const std::function<double(const Vec&)>& f, Vec v, double eps = 1e-4) {
    Vec g(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
        const double keep = v[i];
        v[i] = keep + eps;
        const double fp = f(v);
        v[i] = keep - eps;
        const double fm = f(v);
        v[i] = keep;
        g[i] = (fp - fm) / (2 * eps);
    }
    return g;
}

::testing::AssertionResult vec_close(const Vec& ref, const Vec& got, double atol, double rtol) {
    return all_close(from_vec(ref, {static_cast<std::int64_t>(ref.size())}),
                     from_vec(got, {static_cast<std::int64_t>(got.size())}), atol, rtol);
}

}  // namespace

// ---- convolution ---------------------------------------------------------------------------

TEST(NaiveReference, ConvAdjointsAreFiniteDifferences) {
    const ConvDims d{2, 2, 4, 5, 3, 3, 1};
    const Vec x = to_vec(random_f32({2, 2, 4, 5}, 1)), w = to_vec(random_f32({3, 2, 3, 3}, 2));
    const Vec b = to_vec(random_f32({3}, 3));
    const Vec r = to_vec(random_f32({2, 3, d.ho(), d.wo()}, 4));  // random linear functional
    Vec dx, dw, db;
    naive_conv_backward(x, w, r, d, dx, dw, db);
    EXPECT_TRUE(
        vec_close(finite_diff([&](const Vec& v) { return dot(r, naive_conv(v, w, b, d)); }, x), dx,
                  1e-7, 1e-6));
    EXPECT_TRUE(
        vec_close(finite_diff([&](const Vec& v) { return dot(r, naive_conv(x, v, b, d)); }, w), dw,
                  1e-7, 1e-6));
    EXPECT_TRUE(
        vec_close(finite_diff([&](const Vec& v) { return dot(r, naive_conv(x, w, v, d)); }, b), db,
                  1e-7, 1e-6));
}

namespace {

// The BLAS convolution (forward, backward-data, backward-filter) against the naive reference.
void check_conv(const ConvDims& d, bool with_bias, std::uint64_t seed) {
    SCOPED_TRACE(::testing::Message() << "conv n" << d.n << " ci" << d.ci << " " << d.h << "x"
                                      << d.w << " co" << d.co << " k" << d.k << " pad" << d.pad);
    auto be = pfce::test::cpu_backend();
    const Shape xs{d.n, d.ci, d.h, d.w}, ws{d.co, d.ci, d.k, d.k}, ys{d.n, d.co, d.ho(), d.wo()};
    Tensor x = random_f32(xs, seed), w = random_f32(ws, seed + 1, -0.5f, 0.5f);
    Tensor b = with_bias ? random_f32({d.co}, seed + 2) : Tensor();
    Tensor dy = random_f32(ys, seed + 3);
    const Vec vb = with_bias ? to_vec(b) : Vec();

    Tensor y = Tensor::host(ys, DType::f32);
    be->conv2d_forward(x, w, b, y, Conv2dParams{d.pad});
    const Vec ref = naive_conv(to_vec(x), to_vec(w), vb, d);
    EXPECT_TRUE(all_close(from_vec(ref, ys), y, 1e-4, 1e-4));

    Vec rdx, rdw, rdb;
    naive_conv_backward(to_vec(x), to_vec(w), to_vec(dy), d, rdx, rdw, rdb);
    Tensor dx = random_f32(xs, 99);  // garbage first: backward must overwrite, not accumulate
    be->conv2d_backward_data(dy, w, dx, Conv2dParams{d.pad});
    EXPECT_TRUE(all_close(from_vec(rdx, xs), dx, 1e-4, 1e-4));
    Tensor dw = random_f32(ws, 98), db = with_bias ? random_f32({d.co}, 97) : Tensor();
    be->conv2d_backward_filter(x, dy, dw, db, Conv2dParams{d.pad});
    EXPECT_TRUE(all_close(from_vec(rdw, ws), dw, 1e-3, 1e-4));
    if (with_bias) {
        EXPECT_TRUE(all_close(from_vec(rdb, {d.co}), db, 1e-3, 1e-4));
    }
}

}  // namespace

TEST(Conv2d, Small3x3Pad1WithBias) {
    check_conv({2, 3, 7, 9, 4, 3, 1}, true, 10);
}
TEST(Conv2d, Small3x3Pad0) {
    check_conv({1, 2, 6, 5, 3, 3, 0}, false, 20);
}
TEST(Conv2d, OneByOneIsPlainGemm) {
    check_conv({3, 5, 4, 6, 2, 1, 0}, true, 30);
}
TEST(Conv2d, SinglePixelAndSingleChannel) {
    check_conv({1, 1, 1, 1, 1, 3, 1}, true, 40);
}
TEST(Conv2d, ManyImagesRunInParallel) {
    check_conv({5, 4, 9, 8, 6, 3, 1}, false, 50);
}
// Ci*9*W large enough that an image is split into several row tiles (the last one partial).
TEST(Conv2d, ImageSplitIntoRowTiles) {
    check_conv({2, 64, 61, 64, 8, 3, 1}, true, 60);
}
TEST(Conv2d, OneImageSplitIntoRowTiles) {
    check_conv({1, 64, 45, 64, 4, 3, 1}, false, 70);
}

TEST(Conv2d, RejectsBadShapes) {
    auto be = pfce::test::cpu_backend();
    Tensor x = Tensor::host({1, 3, 8, 8}, DType::f32), w = Tensor::host({4, 3, 3, 3}, DType::f32);
    Tensor y = Tensor::host({1, 4, 6, 6}, DType::f32), none;
    EXPECT_THROW(be->conv2d_forward(x, w, none, y, Conv2dParams{1}),
                 ShapeError);  // y should be 8x8
    Tensor w2 = Tensor::host({4, 2, 3, 3}, DType::f32), y2 = Tensor::host({1, 4, 8, 8}, DType::f32);
    EXPECT_THROW(be->conv2d_forward(x, w2, none, y2, Conv2dParams{1}), ShapeError);
    Tensor bad_bias = Tensor::host({3}, DType::f32);
    EXPECT_THROW(be->conv2d_forward(x, w, bad_bias, y2, Conv2dParams{1}), ShapeError);
}

TEST(Conv2d, BackwardFilterIsDeterministic) {
    auto be = pfce::test::cpu_backend();
    Tensor x = random_f32({4, 16, 20, 20}, 1), dy = random_f32({4, 8, 20, 20}, 2);
    Tensor dw1 = Tensor::host({8, 16, 3, 3}, DType::f32),
           dw2 = Tensor::host({8, 16, 3, 3}, DType::f32);
    Tensor db1 = Tensor::host({8}, DType::f32), db2 = Tensor::host({8}, DType::f32);
    be->conv2d_backward_filter(x, dy, dw1, db1, Conv2dParams{1});
    be->conv2d_backward_filter(x, dy, dw2, db2, Conv2dParams{1});
    EXPECT_TRUE(all_close(dw1, dw2, 0, 0));
    EXPECT_TRUE(all_close(db1, db2, 0, 0));
}

// ---- transposed convolution ------------------------------------------------------------------

namespace {

// The adjoints of naive_upconv for upstream gradient dy.
void naive_upconv_backward(const Vec& x, const Vec& w, const Vec& dy, int n_, int ci, int h, int w_,
                           int co, Vec& dx, Vec& dw, Vec& db) {
    dx.assign(x.size(), 0.0);
    dw.assign(w.size(), 0.0);
    db.assign(static_cast<std::size_t>(co), 0.0);
    for (int n = 0; n < n_; ++n)
        for (int o = 0; o < co; ++o)
            for (int yy = 0; yy < 2 * h; ++yy)
                for (int xx = 0; xx < 2 * w_; ++xx) {
                    const double g =
                        dy[static_cast<std::size_t>(((n * co + o) * 2 * h + yy) * 2 * w_ + xx)];
                    db[static_cast<std::size_t>(o)] += g;
                    for (int c = 0; c < ci; ++c) {
                        const auto xi =
                            static_cast<std::size_t>(((n * ci + c) * h + yy / 2) * w_ + xx / 2);
                        const auto wi =
                            static_cast<std::size_t>(((c * co + o) * 2 + yy % 2) * 2 + xx % 2);
                        dx[xi] += g * w[wi];
                        dw[wi] += g * x[xi];
                    }
                }
}

}  // namespace

TEST(NaiveReference, UpconvAdjointsAreFiniteDifferences) {
    const int n = 2, ci = 2, h = 2, w = 3, co = 3;
    const Vec x = to_vec(random_f32({n, ci, h, w}, 1)), wt = to_vec(random_f32({ci, co, 2, 2}, 2));
    const Vec b = to_vec(random_f32({co}, 3)), r = to_vec(random_f32({n, co, 2 * h, 2 * w}, 4));
    Vec dx, dw, db;
    naive_upconv_backward(x, wt, r, n, ci, h, w, co, dx, dw, db);
    EXPECT_TRUE(vec_close(
        finite_diff([&](const Vec& v) { return dot(r, naive_upconv(v, wt, b, n, ci, h, w, co)); },
                    x),
        dx, 1e-7, 1e-6));
    EXPECT_TRUE(vec_close(
        finite_diff([&](const Vec& v) { return dot(r, naive_upconv(x, v, b, n, ci, h, w, co)); },
                    wt),
        dw, 1e-7, 1e-6));
    EXPECT_TRUE(vec_close(
        finite_diff([&](const Vec& v) { return dot(r, naive_upconv(x, wt, v, n, ci, h, w, co)); },
                    b),
        db, 1e-7, 1e-6));
}

namespace {

// The BLAS transposed convolution (forward, backward-data, backward-filter) against the reference.
void check_upconv(int n, int ci, int h, int w, int co, std::uint64_t seed) {
    SCOPED_TRACE(::testing::Message()
                 << "upconv n" << n << " ci" << ci << " " << h << "x" << w << " co" << co);
    auto be = pfce::test::cpu_backend();
    const Shape xs{n, ci, h, w}, ws{ci, co, 2, 2}, ys{n, co, 2 * h, 2 * w};
    Tensor x = random_f32(xs, seed), wt = random_f32(ws, seed + 1), b = random_f32({co}, seed + 2);
    Tensor dy = random_f32(ys, seed + 3);
    Tensor y = Tensor::host(ys, DType::f32);
    be->upconv2x2_forward(x, wt, b, y);
    EXPECT_TRUE(
        all_close(from_vec(naive_upconv(to_vec(x), to_vec(wt), to_vec(b), n, ci, h, w, co), ys), y,
                  1e-4, 1e-4));
    Vec rdx, rdw, rdb;
    naive_upconv_backward(to_vec(x), to_vec(wt), to_vec(dy), n, ci, h, w, co, rdx, rdw, rdb);
    Tensor dx = random_f32(xs, 91), dw = random_f32(ws, 92), db = random_f32({co}, 93);
    be->upconv2x2_backward_data(dy, wt, dx);
    be->upconv2x2_backward_filter(x, dy, dw, db);
    EXPECT_TRUE(all_close(from_vec(rdx, xs), dx, 1e-4, 1e-4));
    EXPECT_TRUE(all_close(from_vec(rdw, ws), dw, 1e-3, 1e-4));
    EXPECT_TRUE(all_close(from_vec(rdb, {co}), db, 1e-3, 1e-4));
}

}  // namespace

TEST(Upconv2x2, Small) {
    check_upconv(1, 2, 2, 3, 2, 100);
}
TEST(Upconv2x2, SeveralImagesOddSides) {
    check_upconv(3, 3, 5, 3, 4, 110);
}
// Co*4 x W large enough that an image is split into row tiles (32 rows: 2 tiles, the last partial).
TEST(Upconv2x2, RowTiles) {
    check_upconv(1, 4, 40, 64, 128, 120);
}
TEST(Upconv2x2, ManyImagesRowTiles) {
    check_upconv(3, 4, 40, 64, 128, 130);
}

// ---- batch norm ------------------------------------------------------------------------------

TEST(BatchNorm, TrainNormalizesAndUpdatesRunningStats) {
    auto be = pfce::test::cpu_backend();
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

TEST(BatchNorm, InferUsesRunningStats) {
    auto be = pfce::test::cpu_backend();
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

namespace {

// Training-mode batch norm in double: y = gamma*(x-mean)/sqrt(var_biased+eps) + beta per channel.
Vec bn_ref(const Vec& x, const Vec& g, const Vec& b, int n, int c, int hw, double eps) {
    Vec y(x.size());
    for (int ch = 0; ch < c; ++ch) {
        double s = 0, sq = 0;
        for (int i = 0; i < n; ++i)
            for (int k = 0; k < hw; ++k) s += x[static_cast<std::size_t>((i * c + ch) * hw + k)];
        const double mean = s / (n * hw);
        for (int i = 0; i < n; ++i)
            for (int k = 0; k < hw; ++k) {
                const double d = x[static_cast<std::size_t>((i * c + ch) * hw + k)] - mean;
                sq += d * d;
            }
        const double inv = 1 / std::sqrt(sq / (n * hw) + eps);
        for (int i = 0; i < n; ++i)
            for (int k = 0; k < hw; ++k) {
                const auto at = static_cast<std::size_t>((i * c + ch) * hw + k);
                y[at] = g[static_cast<std::size_t>(ch)] * (x[at] - mean) * inv +
                        b[static_cast<std::size_t>(ch)];
            }
    }
    return y;
}

}  // namespace

TEST(BatchNorm, BackwardMatchesFiniteDifferences) {
    auto be = pfce::test::cpu_backend();
    const int n = 3, c = 2, h = 3, w = 2, hw = h * w;
    Tensor x = random_f32({n, c, h, w}, 5, -2, 3), g = random_f32({c}, 6, 0.5f, 2),
           b = random_f32({c}, 7);
    Tensor r = random_f32({n, c, h, w}, 8);
    Tensor rm = Tensor::host({c}, DType::f32), rv = Tensor::host({c}, DType::f32);
    Tensor y = Tensor::host({n, c, h, w}, DType::f32), sm = Tensor::host({c}, DType::f32),
           si = Tensor::host({c}, DType::f32);
    BatchNormParams p;
    be->batchnorm_forward_train(x, g, b, rm, rv, y, sm, si, p);
    EXPECT_TRUE(
        all_close(from_vec(bn_ref(to_vec(x), to_vec(g), to_vec(b), n, c, hw, p.eps), {n, c, h, w}),
                  y, 1e-5, 1e-5));
    Tensor dx = Tensor::host({n, c, h, w}, DType::f32), dg = Tensor::host({c}, DType::f32),
           db = Tensor::host({c}, DType::f32);
    be->batchnorm_backward(x, r, g, sm, si, dx, dg, db);
    const Vec vx = to_vec(x), vg = to_vec(g), vb = to_vec(b), vr = to_vec(r);
    const double eps = p.eps;
    const Vec gx =
        finite_diff([&](const Vec& v) { return dot(vr, bn_ref(v, vg, vb, n, c, hw, eps)); }, vx);
    const Vec gg =
        finite_diff([&](const Vec& v) { return dot(vr, bn_ref(vx, v, vb, n, c, hw, eps)); }, vg);
    const Vec gb =
        finite_diff([&](const Vec& v) { return dot(vr, bn_ref(vx, vg, v, n, c, hw, eps)); }, vb);
    EXPECT_TRUE(all_close(from_vec(gx, {n, c, h, w}), dx, 1e-4, 1e-4));
    EXPECT_TRUE(all_close(from_vec(gg, {c}), dg, 1e-4, 1e-4));
    EXPECT_TRUE(all_close(from_vec(gb, {c}), db, 1e-4, 1e-4));
}

// ---- ReLU, max-pool ----------------------------------------------------------------------------

TEST(Relu, ForwardInPlaceAndBackwardMasksNonPositive) {
    auto be = pfce::test::cpu_backend();
    Tensor x = host_from({-1, 0, 2, -0.5f, 3, 0}, {1, 1, 2, 3});
    be->relu_forward(x, x);
    EXPECT_TRUE(all_close(host_from({0, 0, 2, 0, 3, 0}, {1, 1, 2, 3}), x, 0, 0));
    Tensor dy = host_from({1, 2, 3, 4, 5, 6}, {1, 1, 2, 3}),
           dx = Tensor::host({1, 1, 2, 3}, DType::f32);
    be->relu_backward(x, dy, dx);
    EXPECT_TRUE(all_close(host_from({0, 0, 3, 0, 5, 0}, {1, 1, 2, 3}), dx, 0, 0));
}

TEST(MaxPool, ForwardBackwardAndTieBreaking) {
    auto be = pfce::test::cpu_backend();
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

TEST(MaxPool, BackwardRoutesToTheMaximumOnRandomInput) {
    auto be = pfce::test::cpu_backend();
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

// ---- concat, reflect pad, crop, argmax ---------------------------------------------------------

TEST(Concat, RoundTrip) {
    auto be = pfce::test::cpu_backend();
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

TEST(ReflectPad, MatchesNumpyReflect) {
    auto be = pfce::test::cpu_backend();
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

TEST(Crop, ForwardAndBackward) {
    auto be = pfce::test::cpu_backend();
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

TEST(Argmax, FirstMaxWins) {
    auto be = pfce::test::cpu_backend();
    // (1,3,1,3): pixel 0 max at c1; pixel 1 ties c0=c2 -> 0; pixel 2 ties c1=c2 -> 1.
    Tensor l = host_from({0, 5, 1, 3, 1, 2, 1, 5, 2}, {1, 3, 1, 3});
    Tensor pred = Tensor::host({1, 1, 3}, DType::u8);
    be->argmax_channels(l, pred);
    EXPECT_EQ(pred.data<std::uint8_t>()[0], 1);
    EXPECT_EQ(pred.data<std::uint8_t>()[1], 0);
    EXPECT_EQ(pred.data<std::uint8_t>()[2], 1);
}

TEST(Argmax, MatchesNaiveOnRandomLogits) {
    auto be = pfce::test::cpu_backend();
    const int n = 3, c = 5, h = 7, w = 9;
    Tensor l = random_f32({n, c, h, w}, 21);
    Tensor pred = Tensor::host({n, h, w}, DType::u8);
    be->argmax_channels(l, pred);
    for (int i = 0; i < n; ++i)
        for (int k = 0; k < h * w; ++k) {
            int best = 0;
            for (int ch = 1; ch < c; ++ch)
                if (l.data<float>()[(i * c + ch) * h * w + k] >
                    l.data<float>()[(i * c + best) * h * w + k])
                    best = ch;
            ASSERT_EQ(pred.data<std::uint8_t>()[i * h * w + k], best) << i << " " << k;
        }
}
