#include "host/experiment/seed_groups.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.hpp"
#include "host/experiment/paired_differences.hpp"

namespace pfce {

std::vector<SeedGroup> seed_groups(const std::vector<ExperimentResult>& results,
                                   const std::vector<bool>& counted) {
    std::vector<SeedGroup> groups;
    for (std::size_t i = 0; i < results.size(); ++i) {
        const ExperimentResult& r = results[i];
        if (r.group.empty()) continue;
        auto g = std::find_if(groups.begin(), groups.end(),
                              [&](const SeedGroup& x) { return x.id == r.group; });
        if (g == groups.end()) {
            SeedGroup fresh;
            fresh.id = r.group;
            fresh.first = i;
            groups.push_back(std::move(fresh));
            g = groups.end() - 1;
        }
        if (i < counted.size() && !counted[i]) {
            ++g->left_out;
            continue;
        }
        if (r.status != "ok") {
            ++g->failed;
            continue;
        }
        // In seed order, whatever order the suite ran them in.
        const auto at = std::upper_bound(g->seeds.begin(), g->seeds.end(), r.seed);
        g->members.insert(g->members.begin() + (at - g->seeds.begin()), i);
        g->seeds.insert(at, r.seed);
    }
    return groups;
}

Spread spread_of(const std::vector<double>& values) {
    constexpr double nan = std::numeric_limits<double>::quiet_NaN();
    Spread s;
    s.n = values.size();
    if (values.empty() ||
        std::any_of(values.begin(), values.end(), [](double v) { return !std::isfinite(v); }))
        return {nan, nan, nan, nan, s.n};
    s.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(s.n);
    double squares = 0;
    for (const double v : values) squares += (v - s.mean) * (v - s.mean);
    s.sd = s.n >= 2 ? std::sqrt(squares / static_cast<double>(s.n - 1)) : nan;
    s.min = *std::min_element(values.begin(), values.end());
    s.max = *std::max_element(values.begin(), values.end());
    return s;
}

std::vector<SeededDifference> paired_differences_across_seeds(
    const std::vector<ExperimentResult>& results, const std::vector<SeedGroup>& groups,
    int clutter_class, int resamples) {
    // Each candidate pair's runs of the seeds both finished, each run of either tested as the
    // first of a.
    struct Candidate {
        std::size_t a = 0, b = 0;
        MiouDifference d;
        std::vector<UnitConfusions> runs_a, runs_b;
        int classes = 0;
    };
    std::vector<Candidate> candidates;
    for (std::size_t ga = 0; ga < groups.size(); ++ga)
        for (std::size_t gb = ga + 1; gb < groups.size(); ++gb) {
            Candidate c{ga, gb, {}, {}, {}, 0};
            bool comparable = true;
            const ExperimentResult* first = nullptr;
            for (std::size_t m = 0; m < groups[ga].members.size() && comparable; ++m) {
                const auto& sb = groups[gb].seeds;
                const auto at = std::find(sb.begin(), sb.end(), groups[ga].seeds[m]);
                if (at == sb.end()) continue;
                const std::size_t ia = groups[ga].members[m];
                const std::size_t ib =
                    groups[gb].members[static_cast<std::size_t>(at - sb.begin())];
                if (!first) first = &results[ia];
                comparable = pairable(results[ia]) && pairable(results[ib]) &&
                             same_test_units(*first, results[ia]) &&
                             same_test_units(*first, results[ib]);
                c.runs_a.push_back(test_confusions(results[ia]));
                c.runs_b.push_back(test_confusions(results[ib]));
            }
            if (!comparable || c.runs_a.empty()) continue;
            c.classes = static_cast<int>(first->class_names.size());
            candidates.push_back(std::move(c));
        }
    const int draws = resamples > 0 ? resamples : family_resamples(candidates.size());
    std::vector<SeededDifference> out;
    for (const Candidate& c : draw_family(std::move(candidates), [&](const Candidate& c) {
             return seeded_bootstrap_miou_difference(c.runs_a, c.runs_b, c.classes, clutter_class,
                                                     draws);
         }))
        out.push_back({c.a, c.b, c.d});
    return out;
}

}  // namespace pfce
