// loss.alpha = "auto": label counts over the training labels and the inverse square-root weights,
// against hand-computed values; the trainer records the resolved weights in its checkpoint.
#include <gtest/gtest.h>

#include <cmath>

#include "host/train/class_weights.hpp"

using namespace pfce;

namespace {

SampleData sample_with_labels(std::vector<std::uint8_t> labels) {
    SampleData s;
    s.train_labels.width = static_cast<int>(labels.size());
    s.train_labels.height = 1;
    s.train_labels.labels = std::move(labels);
    return s;
}

}  // namespace

TEST(ClassWeights, CountsSkipUnlabelledAndOutOfRangeValues) {
    const std::vector<SampleData> samples = {sample_with_labels({0, 0, 1, 255, 7}),
                                             sample_with_labels({2, 0, 255})};
    EXPECT_EQ(training_label_counts(samples, 3), (std::vector<std::int64_t>{3, 1, 1}));
}

TEST(ClassWeights, InverseSquareRootFrequencyKeepsTheLossScale) {
    // Shares 0.64, 0.32, 0.04: weights proportional to 1/0.8, 1/sqrt(0.32), 1/0.2.
    const std::vector<double> w = inverse_sqrt_frequency_weights({64, 32, 4});
    ASSERT_EQ(w.size(), 3u);
    EXPECT_NEAR(w[2] / w[0], 4.0, 1e-12);
    EXPECT_NEAR(w[1] / w[0], 0.8 / std::sqrt(0.32), 1e-12);
    // The mean weight over the labelled pixels is 1.
    EXPECT_NEAR(0.64 * w[0] + 0.32 * w[1] + 0.04 * w[2], 1.0, 1e-12);
}

TEST(ClassWeights, UnlabelledClassGetsTheLargestWeightAndNoLabelsGiveOnes) {
    const std::vector<double> w = inverse_sqrt_frequency_weights({90, 0, 10});
    EXPECT_DOUBLE_EQ(w[1], w[2]);
    EXPECT_GT(w[2], w[0]);
    EXPECT_EQ(inverse_sqrt_frequency_weights({0, 0}), (std::vector<double>{1.0, 1.0}));
    // Equal counts: every weight 1.
    for (double v : inverse_sqrt_frequency_weights({5, 5, 5, 5})) EXPECT_NEAR(v, 1.0, 1e-12);
}
