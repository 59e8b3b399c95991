#include "host/experiment/paired_differences.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace pfce {
namespace {

// A unit's truth: its confusion matrix's row sums, each class's pixels in the dense masks.
std::vector<std::int64_t> truth_of(const std::vector<std::int64_t>& confusion, std::size_t c) {
    std::vector<std::int64_t> rows(c, 0);
    for (std::size_t t = 0; t < c; ++t)
        for (std::size_t p = 0; p < c; ++p) rows[t] += confusion[t * c + p];
    return rows;
}

}  // namespace

UnitConfusions test_confusions(const ExperimentResult& r) {
    UnitConfusions c;
    for (const TestUnit& u : r.test_units) c.push_back(u.confusion);
    return c;
}

bool pairable(const ExperimentResult& r) {
    return r.status == "ok" && !r.test_units.empty() &&
           r.test_units.front().confusion.size() == r.class_names.size() * r.class_names.size();
}

// The same images with the same truth: ids alone would pair a split scored on eroded tile labels
// with one on full ones, or two versions of a dataset of the same names.
bool same_test_units(const ExperimentResult& x, const ExperimentResult& y) {
    if (x.test_units.size() != y.test_units.size() || x.class_names != y.class_names) return false;
    const std::size_t c = x.class_names.size();
    for (std::size_t k = 0; k < x.test_units.size(); ++k)
        if (x.test_units[k].id != y.test_units[k].id ||
            x.test_units[k].confusion.size() != y.test_units[k].confusion.size() ||
            truth_of(x.test_units[k].confusion, c) != truth_of(y.test_units[k].confusion, c))
            return false;
    return true;
}

int family_resamples(std::size_t pairs) {
    return static_cast<int>(std::clamp<std::size_t>(200 * pairs, 1000, kMaxFamilyResamples));
}

std::vector<PairedDifference> paired_differences(const std::vector<ExperimentResult>& results,
                                                 int clutter_class, int resamples) {
    std::vector<PairedDifference> candidates;
    for (std::size_t a = 0; a < results.size(); ++a) {
        if (!pairable(results[a])) continue;
        for (std::size_t b = a + 1; b < results.size(); ++b)
            // Runs of a suite with seeds pair with the runs of their own seed (what the
            // differences over seeds average); across seeds a pair mixes two trainings' chance.
            if (pairable(results[b]) && results[a].seed == results[b].seed &&
                same_test_units(results[a], results[b]))
                candidates.push_back({a, b, {}});
    }
    const int draws = resamples > 0 ? resamples : family_resamples(candidates.size());
    return draw_family(std::move(candidates), [&](const PairedDifference& p) {
        return paired_bootstrap_miou_difference(
            test_confusions(results[p.a]), test_confusions(results[p.b]),
            static_cast<int>(results[p.a].class_names.size()), clutter_class, draws);
    });
}

}  // namespace pfce
