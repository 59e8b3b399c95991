// loss.alpha = "auto": label counts of the training split and the inverse square-root weights.
#include "host/train/class_weights.hpp"

#include <algorithm>
#include <cmath>

namespace pfce {

std::vector<std::int64_t> training_label_counts(const std::vector<SampleData>& samples,
                                                int classes) {
    std::vector<std::int64_t> counts(static_cast<std::size_t>(classes), 0);
    for (const SampleData& s : samples)
        for (std::uint8_t v : s.train_labels.labels)
            if (v < classes) ++counts[v];
    return counts;
}

std::vector<double> inverse_sqrt_frequency_weights(const std::vector<std::int64_t>& counts) {
    double total = 0.0;
    for (std::int64_t n : counts) total += static_cast<double>(n);
    std::vector<double> w(counts.size(), 1.0);
    if (total <= 0.0) return w;
    // w_c = 1 / (sqrt(f_c) S) with S = sum_k sqrt(f_k): then sum_c f_c w_c = sum_c sqrt(f_c) / S
    // = 1.
    double s = 0.0;
    for (std::int64_t n : counts) s += std::sqrt(static_cast<double>(n) / total);
    double largest = 0.0;
    for (std::size_t c = 0; c < counts.size(); ++c) {
        if (counts[c] == 0) continue;
        w[c] = 1.0 / (std::sqrt(static_cast<double>(counts[c]) / total) * s);
        largest = std::max(largest, w[c]);
    }
    for (std::size_t c = 0; c < counts.size(); ++c)
        if (counts[c] == 0) w[c] = largest;
    return w;
}

}  // namespace pfce
