#include "host/experiment/paired_differences.hpp"

#include "core/error.hpp"

namespace pfce {
namespace {

bool same_units(const ExperimentResult& x, const ExperimentResult& y) {
    if (x.test_units.size() != y.test_units.size() || x.class_names != y.class_names) return false;
    for (std::size_t k = 0; k < x.test_units.size(); ++k)
        if (x.test_units[k].id != y.test_units[k].id ||
            x.test_units[k].confusion.size() != y.test_units[k].confusion.size())
            return false;
    return true;
}

std::vector<std::vector<std::int64_t>> confusions(const ExperimentResult& r) {
    std::vector<std::vector<std::int64_t>> c;
    for (const TestUnit& u : r.test_units) c.push_back(u.confusion);
    return c;
}

}  // namespace

std::vector<PairedDifference> paired_differences(const std::vector<ExperimentResult>& results,
                                                 int clutter_class, int resamples) {
    std::vector<PairedDifference> out;
    auto usable = [](const ExperimentResult& r) {
        return r.status == "ok" && !r.test_units.empty() &&
               r.test_units.front().confusion.size() == r.class_names.size() * r.class_names.size();
    };
    for (std::size_t a = 0; a < results.size(); ++a) {
        if (!usable(results[a])) continue;
        for (std::size_t b = a + 1; b < results.size(); ++b) {
            if (!usable(results[b]) || !same_units(results[a], results[b])) continue;
            try {
                out.push_back({a, b,
                               paired_bootstrap_miou_difference(
                                   confusions(results[a]), confusions(results[b]),
                                   static_cast<int>(results[a].class_names.size()), clutter_class,
                                   resamples)});
            } catch (const InputError&) {
                // Fewer than 2 units that label a pixel: no interval to draw.
            }
        }
    }
    return out;
}

}  // namespace pfce
