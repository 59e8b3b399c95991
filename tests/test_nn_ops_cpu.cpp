// CPU backend properties the op harness (test_backend_ops.cpp, every op against the reference)
// does not cover: convolution shape errors, and backward-filter passes that give the same bits on
// every run and on any thread count (host/cpu/dnnl_plan.hpp: fixed tiles of output channels and
// of the batch, the batch's partial sums added in a fixed order).
#include <gtest/gtest.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include <cstring>
#include <functional>

#include "tests/test_util.hpp"

using namespace pfce;
using pfce::test::all_close;
using pfce::test::random_f32;

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

namespace {

// Runs `op` on a fresh CPU backend at 1 thread, then on fresh ones at 2, 3 and 5 (a backend builds
// its primitives for the thread count of the moment), and expects the host tensors it returns to
// have the bits of the first run's, which it returns.
std::vector<Tensor> expect_same_bits_on_any_thread_count(
    const std::function<std::vector<Tensor>(Backend&)>& op) {
#ifdef _OPENMP
    const int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    std::vector<Tensor> one = op(*test::cpu_backend());
    for (int threads : {2, 3, 5}) {
        omp_set_num_threads(threads);
        const std::vector<Tensor> many = op(*test::cpu_backend());
        for (std::size_t i = 0; i < one.size(); ++i)
            EXPECT_EQ(std::memcmp(one[i].raw(), many[i].raw(), one[i].bytes()), 0)
                << "output " << i << " at " << threads << " threads";
    }
    omp_set_num_threads(saved);
    return one;
#else
    return op(*test::cpu_backend());  // one thread only
#endif
}

// The filter and bias gradients, as expect_same_bits_on_any_thread_count takes them.
std::vector<Tensor> gradients(Tensor dw, Tensor db) {
    std::vector<Tensor> out;
    out.push_back(std::move(dw));
    out.push_back(std::move(db));
    return out;
}

struct FilterCase {
    Shape x;
    std::int64_t out;  // output channels
};

}  // namespace

// The shapes of a U-Net's first level (16 -> 32 channels, whose sums oneDNN's own backward-filter
// splits by the thread count) and 40 output channels (tiles of 16, 16 and 8), in both activation
// layouts; checked against the reference too, since the tiles write slices of dw and the bias.
TEST(Conv2d, BackwardFilterHasTheSameBitsOnAnyThreadCount) {
    auto ref = test::reference_backend();
    for (const FilterCase& c : {FilterCase{{2, 16, 32, 32}, 32}, FilterCase{{3, 16, 17, 19}, 40}})
        for (Layout layout : {Layout::nhwc, Layout::nchw}) {
            SCOPED_TRACE(std::to_string(c.out) + (layout == Layout::nhwc ? " nhwc" : " nchw"));
            const Shape ys{c.x[0], c.out, c.x[2], c.x[3]}, ws{c.out, c.x[1], 3, 3};
            const Tensor x = random_f32(c.x, 11), dy = random_f32(ys, 12);
            const std::vector<Tensor> got = expect_same_bits_on_any_thread_count([&](Backend& be) {
                Tensor dw = Tensor::host(ws, DType::f32), db = Tensor::host({c.out}, DType::f32);
                be.conv2d_backward_filter(test::to_backend(be, x, layout),
                                          test::to_backend(be, dy, layout), dw, db,
                                          Conv2dParams{1});
                return gradients(std::move(dw), std::move(db));
            });
            Tensor rdw = Tensor::host(ws, DType::f32), rdb = Tensor::host({c.out}, DType::f32);
            ref->conv2d_backward_filter(x, dy, rdw, rdb, Conv2dParams{1});
            EXPECT_TRUE(all_close(rdw, got[0], 1e-3, 1e-3));
            EXPECT_TRUE(all_close(rdb, got[1], 1e-3, 1e-3));
        }
}

// The transposed convolution's weights are (Ci, Co, 2, 2): its tiles are slices of the second
// dimension. 32 -> 16 channels as in a U-Net's last up-step, and 12 -> 20 (tiles of 16 and 4).
TEST(Upconv2x2, BackwardFilterHasTheSameBitsOnAnyThreadCount) {
    auto ref = test::reference_backend();
    for (const FilterCase& c : {FilterCase{{2, 32, 16, 16}, 16}, FilterCase{{3, 12, 9, 7}, 20}})
        for (Layout layout : {Layout::nhwc, Layout::nchw}) {
            SCOPED_TRACE(std::to_string(c.out) + (layout == Layout::nhwc ? " nhwc" : " nchw"));
            const Shape ys{c.x[0], c.out, 2 * c.x[2], 2 * c.x[3]}, ws{c.x[1], c.out, 2, 2};
            const Tensor x = random_f32(c.x, 21), dy = random_f32(ys, 22);
            const std::vector<Tensor> got = expect_same_bits_on_any_thread_count([&](Backend& be) {
                Tensor dw = Tensor::host(ws, DType::f32), db = Tensor::host({c.out}, DType::f32);
                be.upconv2x2_backward_filter(test::to_backend(be, x, layout),
                                             test::to_backend(be, dy, layout), dw, db);
                return gradients(std::move(dw), std::move(db));
            });
            Tensor rdw = Tensor::host(ws, DType::f32), rdb = Tensor::host({c.out}, DType::f32);
            ref->upconv2x2_backward_filter(x, dy, rdw, rdb);
            EXPECT_TRUE(all_close(rdw, got[0], 1e-3, 1e-3));
            EXPECT_TRUE(all_close(rdb, got[1], 1e-3, 1e-3));
        }
}
