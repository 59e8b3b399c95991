// CPU backend properties the op harness (test_backend_ops.cpp, every op against the reference)
// does not cover: convolution shape errors, and a backward-filter pass that gives the same bits
// on every run (its per-thread partial sums are added in a fixed order).
#include <gtest/gtest.h>

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
