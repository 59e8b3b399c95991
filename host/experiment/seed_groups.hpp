// A suite run with seeds (suite.hpp) holds each experiment's runs, one per training seed; these
// are the experiment's numbers over its seeds: the mean and spread of each score, and the
// differences between two experiments with intervals that hold the seeds' spread as well as the
// test set's (image_scores.hpp seeded_bootstrap_miou_difference).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "host/experiment/results.hpp"
#include "host/train/image_scores.hpp"

namespace pfce {

struct SeedGroup {
    std::string id;                    // the experiment as the suite names it (its runs' group)
    std::size_t first = 0;             // its first result, of any status (its description)
    std::vector<std::size_t> members;  // its finished runs: indices into the results, seed order
    std::vector<std::int64_t> seeds;   // their seeds, in the same order
    std::size_t failed = 0;            // its runs that failed
    std::size_t left_out = 0;          // its runs not counted (results of other settings)
};

// The experiments of the results that ran with seeds (results with a group), in the order their
// first run appears; results without a group are in none. Where `counted` is given, a result i
// with counted[i] false (one of an earlier run's other settings) is left out of its group's
// members and counted in left_out.
std::vector<SeedGroup> seed_groups(const std::vector<ExperimentResult>& results,
                                   const std::vector<bool>& counted = {});

// The mean, sample standard deviation (n - 1; NaN below 2 values), least and greatest of values.
// NaN throughout when there are none (or NaN among them: a run that measured nothing).
struct Spread {
    double mean = 0, sd = 0, min = 0, max = 0;
    std::size_t n = 0;
};
Spread spread_of(const std::vector<double>& values);

// What `value` gives for each member of g.
template <typename F>
std::vector<double> values_of(const std::vector<ExperimentResult>& results, const SeedGroup& g,
                              F&& value) {
    std::vector<double> v;
    for (const std::size_t i : g.members) v.push_back(value(results[i]));
    return v;
}

// The difference of two experiments' test mIoU averaged over the seeds both finished, a = groups
// index minus b, with its two-level bootstrap interval.
struct SeededDifference {
    std::size_t a = 0, b = 0;  // indices into the groups
    MiouDifference d;
};
// Every pair a < b of groups with a seed in common whose runs of their common seeds were all
// tested on the same units with the same truth (paired_differences.hpp same_test_units). With one
// seed in common the interval is that seed's paired one. Each `holm` as paired_differences's;
// resamples 0: family_resamples of the pairs.
std::vector<SeededDifference> paired_differences_across_seeds(
    const std::vector<ExperimentResult>& results, const std::vector<SeedGroup>& groups,
    int clutter_class, int resamples = 0);

}  // namespace pfce
