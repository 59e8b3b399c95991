// Suites run with seeds: each experiment once per seed (ids, seeds and the errors of suite files
// and --seeds), the two-level bootstrap of a difference over seeds against exact oracles, the
// groups' means and spreads, the report's "Over seeds" sections, and a tiny suite end to end.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/rng.hpp"
#include "core/text.hpp"
#include "data/palette.hpp"
#include "host/experiment/report.hpp"
#include "host/experiment/seed_groups.hpp"
#include "host/experiment/suite.hpp"
#include "host/experiment/svg_chart.hpp"
#include "host/experiment/text_file.hpp"
#include "host/train/image_scores.hpp"
#include "host/train/metrics.hpp"
#include "test_util.hpp"

namespace pfce {
namespace {

void write_file(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
}

int count_of(const std::string& s, const std::string& needle) {
    int n = 0;
    for (std::size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) ++n;
    return n;
}

const char* kSparseFile = R"(
[experiment]
id = "sparse"
description = "sparse points"
[labels]
kind = "sparse"
points = 500
seed = 7
[run]
seed = 7
)";

// A suite of two experiments (one dense: no points to draw) with `suite_extra` in [suite] and
// `entry_extra` in the dense entry.
std::string suite_text(const std::string& suite_extra, const std::string& entry_extra = "") {
    return "[suite]\nname = \"seeded\"\n" + suite_extra +
           "\nexperiments = [\"sparse.toml\", { id = \"dense\", labels = { kind = \"dense\" }" +
           entry_extra + " }]\n[data]\nsource = \"synthetic\"\n";
}

TEST(SuiteSeeds, EachExperimentRunsOncePerSeed) {
    const std::string dir = test::temp_dir("suite_seeds");
    write_file(dir + "/sparse.toml", kSparseFile);
    write_file(dir + "/s.toml", suite_text("seeds = [0, 2]"));
    const Suite s = load_suite(dir + "/s.toml");
    EXPECT_EQ(s.seeds, (std::vector<std::int64_t>{0, 2}));
    ASSERT_EQ(s.experiments.size(), 4u);
    const char* ids[] = {"sparse-s0", "sparse-s2", "dense-s0", "dense-s2"};
    for (std::size_t i = 0; i < 4; ++i) {
        const ExperimentSpec& e = s.experiments[i];
        EXPECT_EQ(e.id, ids[i]);
        EXPECT_EQ(e.group, i < 2 ? "sparse" : "dense");
        EXPECT_EQ(e.seed, i % 2 == 0 ? 0 : 2);
        // The seed replaces the file's own (7): training and the points drawn.
        EXPECT_EQ(e.config.run.seed, static_cast<std::uint64_t>(e.seed));
        EXPECT_EQ(e.key_sources.at("run.seed"), dir + "/s.toml [suite] seeds");
    }
    EXPECT_EQ(s.experiments[1].config.labels.seed, 2u);
    // A dense run draws no points: its labels.seed stays idle (no unused-setting warning).
    EXPECT_EQ(s.experiments[3].config.labels.seed, 0u);
    EXPECT_EQ(s.experiments[3].key_sources.count("labels.seed"), 0u);
    EXPECT_NE(experiment_fingerprint(s.experiments[0]), experiment_fingerprint(s.experiments[1]));

    // --seeds replaces the file's list; without either, each experiment runs once as written.
    const Suite cli = load_suite(dir + "/s.toml", std::vector<std::int64_t>{5});
    ASSERT_EQ(cli.experiments.size(), 2u);
    EXPECT_EQ(cli.experiments[0].id, "sparse-s5");
    EXPECT_EQ(cli.experiments[0].config.labels.seed, 5u);
    EXPECT_EQ(cli.experiments[0].key_sources.at("labels.seed"), "--seeds");
    write_file(dir + "/plain.toml", suite_text(""));
    const Suite plain = load_suite(dir + "/plain.toml");
    ASSERT_EQ(plain.experiments.size(), 2u);
    EXPECT_EQ(plain.experiments[0].id, "sparse");
    EXPECT_EQ(plain.experiments[0].group, "");
    EXPECT_EQ(plain.experiments[0].seed, -1);
    EXPECT_EQ(plain.experiments[0].config.run.seed, 7u);
}

TEST(SuiteSeeds, BadSeedsAreRefusedNamingWhereAndWhat) {
    const std::string dir = test::temp_dir("suite_seeds_bad");
    write_file(dir + "/sparse.toml", kSparseFile);
    const std::string file = dir + "/s.toml";
    auto error_of = [&](const std::string& extra, const std::string& entry = "") {
        write_file(file, suite_text(extra, entry));
        return test::input_error_message([&] { load_suite(file); });
    };
    EXPECT_MESSAGE_HAS(error_of("seeds = []"), file + " [suite] seeds: no seeds; expected one");
    EXPECT_MESSAGE_HAS(error_of("seeds = [0, -1]"),
                       "seeds: seed -1; expected non-negative integers");
    EXPECT_MESSAGE_HAS(error_of("seeds = [1, 1]"), "seeds: seed 1 twice; expected distinct");
    EXPECT_MESSAGE_HAS(error_of("seeds = 3"), "seeds: expected a list of integers");
    EXPECT_MESSAGE_HAS(error_of("seeds = [0, \"1\"]"), "seeds: expected a list of integers");
    std::string many = "seeds = [0";
    for (int i = 1; i <= 40; ++i) many += ", " + std::to_string(i);
    EXPECT_MESSAGE_HAS(error_of(many + "]"), "41 seeds; expected at most 32");
    // A seed of the suite's own beside its seeds would be replaced without a word.
    EXPECT_MESSAGE_HAS(error_of("seeds = [0, 1]", ", run = { seed = 3 }"),
                       file +
                           " [suite] experiments[2]: run.seed is set for experiment dense, "
                           "and the suite runs every experiment once per seed (" +
                           file + " [suite] seeds), which sets run.seed: remove one of them");
    write_file(file, suite_text("seeds = [0]") + "[override.labels]\nseed = 4\n");
    EXPECT_MESSAGE_HAS(test::input_error_message([&] { load_suite(file); }),
                       file + " [override]: labels.seed is set for experiment sparse");
    // The suite's own [run] seed beside its [suite] seeds: the same file says both.
    write_file(file, suite_text("seeds = [0, 1]") + "[run]\nseed = 5\n");
    EXPECT_MESSAGE_HAS(
        test::input_error_message([&] { load_suite(file); }),
        file +
            ": run.seed (its [run] table) is set for every experiment, and the suite runs "
            "every experiment once per seed");
    // --seeds replaces it, as a flag replaces what a file says.
    EXPECT_EQ(load_suite(file, std::vector<std::int64_t>{2}).experiments[0].config.run.seed, 2u);
    // A dense entry's labels.seed is no seed the suite's seeds set (it draws no points).
    write_file(file,
               "[suite]\nseeds = [0]\nexperiments = [{ id = \"d\", labels = { kind = \"dense\", "
               "seed = 3 } }]\n[data]\nsource = \"synthetic\"\n");
    EXPECT_EQ(load_suite(file).experiments.at(0).id, "d-s0");
    // An experiment named as another's run: --only could not tell them apart.
    write_file(file,
               "[suite]\nseeds = [1]\nexperiments = [{ id = \"a\" }, { id = \"a-s1\" }]\n"
               "[data]\nsource = \"synthetic\"\n");
    EXPECT_MESSAGE_HAS(test::input_error_message([&] { load_suite(file); }),
                       "experiment id \"a-s1\" is also the id of experiment a's run of seed 1");
    // An experiment's own file may set its seed (the shipped ones do): the suite's seeds win.
    write_file(file, suite_text("seeds = [1]"));
    EXPECT_EQ(load_suite(file).experiments[0].config.run.seed, 1u);
    // An id the seed makes too long for a directory name.
    write_file(file, "[suite]\nseeds = [1000]\nexperiments = [{ id = \"" + std::string(62, 'a') +
                         "\" }]\n[data]\nsource = \"synthetic\"\n");
    EXPECT_MESSAGE_HAS(test::input_error_message([&] { load_suite(file); }),
                       "expected 1-64 characters");
}

TEST(SuiteSeeds, SeedListsOfTheCommandLine) {
    EXPECT_EQ(parse_seed_list("0,1, 2", "--seeds"), (std::vector<std::int64_t>{0, 1, 2}));
    EXPECT_EQ(parse_seed_list("42", "--seeds"), (std::vector<std::int64_t>{42}));
    for (const char* bad : {"", "0,", "1,,2", "a", "-1", "1.5", "2x", "99999999999999999999"})
        EXPECT_MESSAGE_HAS(test::input_error_message([&] { parse_seed_list(bad, "--seeds"); }),
                           "is not a seed; expected non-negative integers separated by commas");
    EXPECT_MESSAGE_HAS(test::input_error_message([&] { parse_seed_list("3,3", "--seeds"); }),
                       "--seeds: seed 3 twice");
    const test::CommandResult r = test::run_pfce("run synthetic-small --seeds 0,x --out " +
                                                 test::temp_dir("seeds_cli") + "/out");
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_MESSAGE_HAS(r.output, "--seeds \"0,x\": \"x\" is not a seed");
    const test::CommandResult empty = test::run_pfce("run synthetic-small --seeds \"\" --out " +
                                                     test::temp_dir("seeds_cli_empty") + "/out");
    EXPECT_EQ(empty.status, 2) << empty.output;  // not taken as "no seeds"
    EXPECT_MESSAGE_HAS(empty.output, "--seeds \"\": an empty value");
}

// A confusion matrix of 2 classes, `pixels` of each, with `wrong` pixels of class 1 taken for
// class 0 (the truth, its row sums, stays the same whatever is wrong).
std::vector<std::int64_t> two_class(std::int64_t pixels, std::int64_t wrong) {
    return {pixels, 0, wrong, pixels - wrong};
}

double miou_of(const std::vector<std::int64_t>& c) {
    return metrics_from_confusion(c, 2, -1).miou;
}

// With one seed the interval is the paired one, draw for draw: against the paired bootstrap as
// pfce drew it before seeds (written out here: each draw sums the drawn images' matrices).
TEST(SeededBootstrap, OneSeedIsThePairedInterval) {
    UnitConfusions a, b;
    for (int k = 0; k < 9; ++k) {
        a.push_back(two_class(50 + k, k % 3));
        b.push_back(two_class(50 + k, 4 + k % 2));
    }
    CounterRng rng(0x5eed, 0xd1ff);
    std::vector<double> draws;
    for (int r = 0; r < 500; ++r) {
        std::vector<std::int64_t> sa(4, 0), sb(4, 0);
        for (int n = 0; n < 9; ++n) {
            const std::uint32_t k = rng.below(9);
            for (int i = 0; i < 4; ++i) {
                sa[i] += a[k][i];
                sb[i] += b[k][i];
            }
        }
        draws.push_back(miou_of(sa) - miou_of(sb));
    }
    std::sort(draws.begin(), draws.end());
    const MiouDifference p = paired_bootstrap_miou_difference(a, b, 2, -1, 500);
    const MiouDifference s = seeded_bootstrap_miou_difference({a}, {b}, 2, -1, 500);
    EXPECT_EQ(p.lo, draws[12]);   // nearest rank: ceil(0.025 * 500) = 13th
    EXPECT_EQ(p.hi, draws[487]);  // ceil(0.975 * 500) = 488th
    EXPECT_EQ(p.diff, s.diff);
    EXPECT_EQ(p.lo, s.lo);
    EXPECT_EQ(p.hi, s.hi);
    EXPECT_EQ(s.seeds, 1u);
    EXPECT_EQ(s.units, 9u);
}

// Units all alike: drawing units changes nothing, so each draw is the mean of the seeds drawn.
// Two seeds whose differences are d0 and d1 give d0 (1 in 4 draws), (d0 + d1) / 2 (2 in 4) and d1
// (1 in 4): the 2.5th and 97.5th percentiles of 1000 draws are d0 and d1 exactly, and the point
// is their mean.
TEST(SeededBootstrap, IdenticalUnitsLeaveOnlyTheSeedDraws) {
    std::vector<UnitConfusions> a(2), b(2);
    for (int k = 0; k < 6; ++k) {
        a[0].push_back(two_class(100, 10));
        a[1].push_back(two_class(100, 40));
        b[0].push_back(two_class(100, 20));
        b[1].push_back(two_class(100, 20));
    }
    const double d0 = miou_of(two_class(100, 10)) - miou_of(two_class(100, 20));  // > 0
    const double d1 = miou_of(two_class(100, 40)) - miou_of(two_class(100, 20));  // < 0
    const MiouDifference d = seeded_bootstrap_miou_difference(a, b, 2, -1, 1000);
    EXPECT_NEAR(d.diff, (d0 + d1) / 2, 1e-15);
    EXPECT_NEAR(d.lo, d1, 1e-15);
    EXPECT_NEAR(d.hi, d0, 1e-15);
    EXPECT_EQ(d.seeds, 2u);
    // Each seed alone is beyond chance (its units agree everywhere), the two together are not.
    const MiouDifference only0 = paired_bootstrap_miou_difference(a[0], b[0], 2, -1, 1000);
    EXPECT_GT(only0.lo, 0.0);
    // p: every draw above 0 gives the smallest p 1000 draws can, 2 / 1001; the two seeds together
    // (seed 1 drawn twice, a quarter of the draws, puts them below 0) a p near one half.
    EXPECT_DOUBLE_EQ(only0.p, 2.0 / 1001);
    EXPECT_GT(d.p, 0.3);
    EXPECT_LE(d.p, 1.0);
}

// Holm's step-down against its definition by adjusted p-values (the k-th smallest adjusted to
// the largest of (m - j) p_(j) over j <= k, capped at 1; rejected where at most alpha), on a
// hand-made family and on random ones with ties.
TEST(SeededBootstrap, HolmRejectsAsItsAdjustedPValuesSay) {
    EXPECT_EQ(holm_rejections({0.01, 0.04, 0.03, 0.005}),
              (std::vector<bool>{true, false, false, true}));  // 0.03 > 0.05 / 2 stops it
    EXPECT_EQ(holm_rejections({}), std::vector<bool>{});
    EXPECT_EQ(holm_rejections({0.05}), std::vector<bool>{true});
    EXPECT_EQ(holm_rejections({0.02, 0.02}, 0.04), (std::vector<bool>{true, true}));
    CounterRng rng(7, 0);
    for (int family = 0; family < 500; ++family) {
        const std::size_t m = 1 + rng.below(12);
        std::vector<double> p(m);
        for (double& v : p) v = static_cast<double>(rng.below(80)) / 1000.0;  // ties, and 0
        std::vector<std::size_t> order(m);
        for (std::size_t i = 0; i < m; ++i) order[i] = i;
        std::stable_sort(order.begin(), order.end(),
                         [&](std::size_t x, std::size_t y) { return p[x] < p[y]; });
        std::vector<bool> expected(m);
        double adjusted = 0;
        for (std::size_t k = 0; k < m; ++k) {
            adjusted = std::max(adjusted, std::min(1.0, static_cast<double>(m - k) * p[order[k]]));
            expected[order[k]] = adjusted <= 0.05 + 1e-15;
        }
        EXPECT_EQ(holm_rejections(p), expected) << "family " << family;
    }
}

// The point estimate against a brute-force mean of each seed's difference of summed matrices;
// the interval holds it and widens when the seeds disagree.
TEST(SeededBootstrap, PointIsTheMeanOfTheSeedsDifferences) {
    std::vector<UnitConfusions> a(3), b(3);
    for (int s = 0; s < 3; ++s)
        for (int k = 0; k < 12; ++k) {
            a[s].push_back(two_class(80 + k, (k * 7 + s * 3) % 11));
            b[s].push_back(two_class(80 + k, (k * 5 + s) % 9 + 2));
        }
    double expected = 0;
    for (int s = 0; s < 3; ++s) {
        std::vector<std::int64_t> sa(4, 0), sb(4, 0);
        for (int k = 0; k < 12; ++k)
            for (int i = 0; i < 4; ++i) {
                sa[i] += a[s][k][i];
                sb[i] += b[s][k][i];
            }
        expected += (miou_of(sa) - miou_of(sb)) / 3;
    }
    const MiouDifference d = seeded_bootstrap_miou_difference(a, b, 2, -1, 1000);
    EXPECT_NEAR(d.diff, expected, 1e-12);
    EXPECT_LE(d.lo, d.diff);
    EXPECT_GE(d.hi, d.diff);
    EXPECT_EQ(d.units, 12u);
    EXPECT_EQ(d.resamples, 1000);
    // Runs of other lengths: said.
    std::vector<UnitConfusions> short_b = b;
    short_b[2].pop_back();
    EXPECT_MESSAGE_HAS(test::input_error_message(
                           [&] { seeded_bootstrap_miou_difference(a, short_b, 2, -1, 1000); }),
                       "needs the same images");
    EXPECT_MESSAGE_HAS(test::input_error_message([&] {
                           seeded_bootstrap_miou_difference(a, {b[0], b[1]}, 2, -1, 1000);
                       }),
                       "one run of each per seed: 3 and 2");
}

TEST(SeedGroups, GroupsInSeedOrderWithFailuresCounted) {
    std::vector<ExperimentResult> results(6);
    const char* groups[] = {"b", "a", "b", "", "a", "b"};
    const std::int64_t seeds[] = {2, 0, 0, -1, 1, 1};
    for (std::size_t i = 0; i < 6; ++i) {
        results[i].group = groups[i];
        results[i].seed = seeds[i];
        results[i].id = results[i].group + "-s" + std::to_string(seeds[i]);
    }
    results[5].status = "failed";
    const std::vector<SeedGroup> g = seed_groups(results);
    ASSERT_EQ(g.size(), 2u);
    EXPECT_EQ(g[0].id, "b");
    EXPECT_EQ(g[0].members, (std::vector<std::size_t>{2, 0}));
    EXPECT_EQ(g[0].seeds, (std::vector<std::int64_t>{0, 2}));
    EXPECT_EQ(g[0].failed, 1u);
    EXPECT_EQ(g[1].id, "a");
    EXPECT_EQ(g[1].members, (std::vector<std::size_t>{1, 4}));

    const Spread s = spread_of({0.5, 0.7, 0.6});
    EXPECT_NEAR(s.mean, 0.6, 1e-15);
    EXPECT_NEAR(s.sd, 0.1, 1e-15);  // n - 1: the sample standard deviation
    EXPECT_EQ(s.min, 0.5);
    EXPECT_EQ(s.max, 0.7);
    EXPECT_TRUE(std::isnan(spread_of({0.5}).sd));
    EXPECT_TRUE(std::isnan(spread_of({0.5, std::nan("")}).mean));
}

// A run of experiment `group` with seed `seed`: 8 test images of 2 classes, each with `wrong`
// pixels of class 1 taken for class 0.
ExperimentResult seeded_run(const std::string& group, std::int64_t seed, std::int64_t wrong) {
    ExperimentResult r;
    r.group = group;
    r.seed = seed;
    r.id = group + "-s" + std::to_string(seed);
    r.description = "runs of " + group;
    r.labels = "sparse 500/class";
    r.class_names = {"ground", "roof"};
    std::vector<std::int64_t> sum(4, 0);
    for (int k = 0; k < 12; ++k) {
        const std::vector<std::int64_t> c = two_class(100 + k, wrong + k % 2);
        r.test_units.push_back({"img_" + std::to_string(k), c});
        for (int i = 0; i < 4; ++i) sum[i] += c[i];
    }
    r.test = metrics_from_confusion(sum, 2, -1);
    r.val_miou = r.test.miou - 0.01;
    return r;
}

TEST(Report, OverSeedsMeansSpreadsAndDifferences) {
    ReportInput in;
    in.title = "seeded";
    in.clutter_class = -1;
    for (std::int64_t s = 0; s < 3; ++s) in.results.push_back(seeded_run("good", s, 5 + 2 * s));
    for (std::int64_t s = 0; s < 3; ++s) in.results.push_back(seeded_run("poor", s, 40 + s));
    in.results.push_back(seeded_run("poor", 3, 0));
    in.results.back().status = "failed";
    const std::string md = render_report_markdown(in);
    const Spread good =
        spread_of({in.results[0].test.miou, in.results[1].test.miou, in.results[2].test.miou});
    EXPECT_MESSAGE_HAS(md,
                       "## Over seeds\n\n| experiment | description | seeds | test mIoU "
                       "(mean ± sd) | test mIoU range |");
    EXPECT_MESSAGE_HAS(md, "| good | runs of good | 0, 1, 2 | " + format_fixed(good.mean, 4) +
                               " ± " + format_fixed(good.sd, 4) + " | " +
                               format_fixed(good.min, 4) + " – " + format_fixed(good.max, 4) +
                               " |");
    EXPECT_MESSAGE_HAS(md, "| poor | runs of poor | 0, 1, 2 (1 failed) |");
    EXPECT_MESSAGE_HAS(md, "### Per-class IoU over seeds (test, mean ± sd)");
    // The differences are over the groups; the run-by-run matrix is left out.
    EXPECT_MESSAGE_HAS(md,
                       "### Differences of the test mIoU over seeds\n\n| row − column | good | "
                       "poor |\n|---|---:|---:|\n| good | — | +0.");
    EXPECT_MESSAGE_HAS(
        md,
        "Only 3 seeds: where all 3 differences have one sign the interval nearly always "
        "excludes 0 (and † most often follows), and two experiments that do not differ have "
        "them of one sign 1 time in 4;");
    EXPECT_EQ(md.find("### Paired differences of the test mIoU"), std::string::npos);

    const nlohmann::json j = render_results_json(in);
    ASSERT_EQ(j["over_seeds"].size(), 2u);
    EXPECT_EQ(j["over_seeds"][0]["id"], "good");
    EXPECT_EQ(j["over_seeds"][0]["runs"], (nlohmann::json{"good-s0", "good-s1", "good-s2"}));
    EXPECT_NEAR(j["over_seeds"][0]["test_miou"]["mean"].get<double>(), good.mean, 1e-12);
    EXPECT_NEAR(j["over_seeds"][0]["test_miou"]["sd"].get<double>(), good.sd, 1e-12);
    EXPECT_EQ(j["over_seeds"][1]["failed"], 1);
    ASSERT_EQ(j["paired_differences_over_seeds"].size(), 1u);
    const nlohmann::json& p = j["paired_differences_over_seeds"][0];
    EXPECT_EQ(p["a"], "good");
    EXPECT_EQ(p["seeds"], 3);
    EXPECT_GT(p["ci95"][0].get<double>(), 0.0);  // 35 pixels a class apart on every image
    const std::string csv = render_results_csv(in);
    EXPECT_MESSAGE_HAS(csv, ",settings_that_differ,group,seed,");
    EXPECT_MESSAGE_HAS(csv, ",good,1,");
    // A result read back keeps its group and seed.
    const ExperimentResult back =
        result_from_json(nlohmann::json::parse(to_json(in.results[4]).dump()), "mem");
    EXPECT_EQ(back.group, "poor");
    EXPECT_EQ(back.seed, 1);
}

// The report's readings of the technical report's order take an experiment's mean over seeds.
TEST(Report, OrderingNotesReadMeansOverSeeds) {
    ReportInput in;
    in.title = "seeded";
    for (std::int64_t s = 0; s < 2; ++s) {
        in.results.push_back(seeded_run("dense", s, 2 + s));
        in.results.back().labels = "dense";
        in.results.push_back(seeded_run("e1-700", s, 30 + s));
    }
    const std::string md = render_report_markdown(in);
    EXPECT_MESSAGE_HAS(md, "Test mIoU order the report implies: dense (mean of 2 seeds) (");
    EXPECT_MESSAGE_HAS(md, " ≥ e1-700 (mean of 2 seeds) (");
}

// What a group's numbers leave out: a run of other settings (stale) is not counted, one not run
// yet is said, and an experiment whose runs all failed keeps its row. The HTML shows the same.
TEST(Report, OverSeedsSaysWhatItLeavesOut) {
    ReportInput in;
    in.title = "seeded";
    for (std::int64_t s = 0; s < 3; ++s) in.results.push_back(seeded_run("good", s, 5 + s));
    in.results[1].test.miou = 0.01;  // an earlier run's of other settings: kept, not counted
    in.not_run.emplace_back("good-s1", "refused: other settings");
    in.not_run.emplace_back("good-s3", "not run: the suite was interrupted");
    for (std::int64_t s = 0; s < 2; ++s) {
        in.results.push_back(seeded_run("broken", s, 0));
        in.results.back().status = "failed";
    }
    const std::string md = render_report_markdown(in);
    const Spread good = spread_of({in.results[0].test.miou, in.results[2].test.miou});
    EXPECT_MESSAGE_HAS(md, "| good | runs of good | 0, 2 (1 stale, not counted; 1 not run) | " +
                               format_fixed(good.mean, 4) + " ± ");
    EXPECT_MESSAGE_HAS(md, "| broken | runs of broken | — (2 failed) | — | — |");
    const std::string html = render_report_html(in, test::temp_dir("seeds_html"));
    EXPECT_MESSAGE_HAS(html, "<h3>Over seeds</h3>");
    EXPECT_MESSAGE_HAS(html, "0, 2 (1 stale, not counted; 1 not run)");
    const nlohmann::json j = render_results_json(in);
    ASSERT_EQ(j["over_seeds"].size(), 2u);
    EXPECT_EQ(j["over_seeds"][0]["stale_not_counted"], 1);
    EXPECT_EQ(j["over_seeds"][0]["not_run"], 1);
    EXPECT_NEAR(j["over_seeds"][0]["test_miou"]["mean"].get<double>(), good.mean, 1e-12);
    EXPECT_EQ(j["over_seeds"][1]["seeds"].size(), 0u);
    EXPECT_TRUE(j["over_seeds"][1]["test_miou"]["mean"].is_null());
}

// One seed in common is a comparison too (the paired one); pairs of runs are drawn within a
// seed only; results of a suite without seeds carry no group.
TEST(Report, OneSeedComparesAndRunsPairWithinTheirSeed) {
    ReportInput in;
    in.title = "one seed";
    in.results.push_back(seeded_run("good", 4, 5));
    in.results.push_back(seeded_run("poor", 4, 40));
    const std::string md = render_report_markdown(in);
    EXPECT_MESSAGE_HAS(md, "| good | — | +0.");
    EXPECT_MESSAGE_HAS(md, "One seed in common: the interval is that seed's paired one");
    const nlohmann::json one = render_results_json(in);
    ASSERT_EQ(one["paired_differences_over_seeds"].size(), 1u);
    EXPECT_EQ(one["paired_differences_over_seeds"][0]["miou_a_minus_b"],
              one["paired_differences"][0]["miou_a_minus_b"]);
    EXPECT_EQ(one["paired_differences_over_seeds"][0]["ci95"],
              one["paired_differences"][0]["ci95"]);

    in.results.push_back(seeded_run("good", 5, 6));
    in.results.push_back(seeded_run("poor", 5, 41));
    const nlohmann::json two = render_results_json(in);
    ASSERT_EQ(two["paired_differences"].size(), 2u);  // good-s4 - poor-s4, good-s5 - poor-s5
    EXPECT_EQ(two["paired_differences"][1]["a"], "good-s5");
    EXPECT_EQ(two["paired_differences"][1]["b"], "poor-s5");

    ExperimentResult plain = seeded_run("x", 0, 1);
    plain.group.clear();
    plain.seed = -1;
    const nlohmann::json pj = to_json(plain);
    EXPECT_FALSE(pj.contains("group"));
    EXPECT_FALSE(pj.contains("seed"));
    EXPECT_EQ(result_from_json(pj, "mem").seed, -1);
}

// The technical report's figures beside the means over seeds, not beside each run.
TEST(Report, TheReportsFiguresBesideMeansOverSeeds) {
    ReportInput in;
    in.title = "seeded";
    for (std::int64_t s = 0; s < 2; ++s) {
        in.results.push_back(seeded_run("e2-2100", s, 10 + s));
        in.results.back().report_figure = "train 0.0545 / val 0.2350 loss";
    }
    const std::string md = render_report_markdown(in);
    EXPECT_MESSAGE_HAS(md, "| e2-2100 (mean of 2 seeds) | train 0.0545 / val 0.2350 loss |");
    EXPECT_EQ(md.find("| e2-2100-s0 | train 0.0545"), std::string::npos);
}

// The curves of a suite with seeds: one line per experiment, the seeds' mean at each epoch, in a
// band from the lowest seed to the highest; without seeds, a line per run and no band.
TEST(Report, CurvesOverSeedsAreMeansInABand) {
    ReportInput in;
    in.title = "seeded";
    for (std::int64_t s = 0; s < 3; ++s) {
        in.results.push_back(seeded_run("good", s, 5));
        for (int e = 1; e <= 3; ++e)
            in.results.back().epochs.push_back(
                {.epoch = e, .train_loss = 1.0 / e, .val_miou = 0.1 * e + 0.01 * s});
    }
    const std::string svg = render_chart(in, "val_miou.svg");
    EXPECT_MESSAGE_HAS(svg, "(mean of seeds; band: lowest to highest)");
    EXPECT_EQ(count_of(svg, "<polygon"), 1);  // one band, over the three epochs
    EXPECT_EQ(count_of(svg, "<polyline"), 1);
    EXPECT_MESSAGE_HAS(svg, ">good</text>");
    EXPECT_EQ(svg.find(">good-s1<"), std::string::npos);
    // A series given a band draws it as one polygon under its line.
    ChartSpec spec;
    spec.series.push_back({"m", {1, 2}, {0.5, 0.6}, {0.4, 0.5}, {0.7, 0.8}});
    const std::string band = render_line_chart_svg(spec);
    EXPECT_EQ(count_of(band, "<polygon"), 1);
    // Many series: the chart grows to hold the legend.
    ChartSpec many;
    for (int k = 0; k < 30; ++k) {
        std::string name = "e";  // appended: GCC 12 warns falsely on "e" + std::string&&
        name += std::to_string(k);
        many.series.push_back({name, {1}, {0.5}, {}, {}});
    }
    EXPECT_MESSAGE_HAS(render_line_chart_svg(many), "height=\"660.0\"");  // 40 + 10 + 600 + 10
    for (auto& r : in.results) r.group.clear();
    const std::string plain = render_chart(in, "val_miou.svg");
    EXPECT_EQ(count_of(plain, "<polygon"), 0);
    EXPECT_EQ(count_of(plain, "<polyline"), 3);
}

// With seeds the report shows each experiment's first run's picture grid, not every run's.
TEST(Report, PicturesOfTheFirstSeedOnly) {
    ReportInput in;
    in.title = "seeded";
    for (std::int64_t s = 0; s < 3; ++s) {
        in.results.push_back(seeded_run("good", s, 5));
        in.results.back().grid_png = in.results.back().id + "/grid.png";
    }
    in.results[0].status = "failed";  // the first finished run is seed 1's
    const std::string md = render_report_markdown(in);
    EXPECT_MESSAGE_HAS(md, "](good-s1/grid.png)");
    EXPECT_EQ(md.find("](good-s2/grid.png)"), std::string::npos);
    EXPECT_MESSAGE_HAS(md, "With seeds, each experiment's first run is shown");
}

const char* kTinySeededSuite = R"(
[suite]
name = "tiny-seeds"
seeds = [0, 1]
experiments = [
  { id = "pts", labels = { kind = "sparse", points = 200 } },
  { id = "full", labels = { kind = "dense" } },
]
grid_images = 1

[data]
source = "synthetic"
synthetic_count = 16
synthetic_size = 64
synthetic_seed = 3
train_frac = 0.75
val_frac = 0.125
crop_size = 32

[model]
width = 4
depth = 2

[run]
epochs = 1
batch_size = 4
)";

// End to end: every run in its own directory with its seed, the report over seeds, and --only
// naming an experiment selects all its seeds.
TEST(SuiteSeeds, ATinySuiteRunsEverySeedAndReportsThem) {
    const std::string dir = test::temp_dir("suite_seeds_run");
    write_file(dir + "/tiny.toml", kTinySeededSuite);
    const std::string out = dir + "/out";
    const test::CommandResult r1 =
        test::run_pfce("run " + dir + "/tiny.toml --device cpu --only pts --out " + out);
    ASSERT_EQ(r1.status, 0) << r1.output;
    EXPECT_MESSAGE_HAS(r1.output, "2 ran, 0 skipped, 0 failed");
    EXPECT_TRUE(file_exists(out + "/pts-s0/result.json"));
    EXPECT_TRUE(file_exists(out + "/pts-s1/result.json"));
    EXPECT_FALSE(file_exists(out + "/full-s0"));
    const test::CommandResult r2 =
        test::run_pfce("run " + dir + "/tiny.toml --device cpu --out " + out);
    ASSERT_EQ(r2.status, 0) << r2.output;
    EXPECT_MESSAGE_HAS(r2.output, "2 ran, 2 skipped, 0 failed");
    const auto j = nlohmann::json::parse(read_text_file(out + "/results.json"));
    ASSERT_EQ(j["experiments"].size(), 4u);
    EXPECT_EQ(j["experiments"][1]["id"], "pts-s1");
    EXPECT_EQ(j["experiments"][1]["group"], "pts");
    EXPECT_EQ(j["experiments"][1]["seed"], 1);
    EXPECT_EQ(j["experiments"][1]["config"]["run.seed"], 1);
    EXPECT_EQ(j["experiments"][1]["config"]["labels.seed"], 1);
    // Each class's test IoU interval beside the mIoU's (null: a class of too few test images).
    ASSERT_EQ(j["experiments"][0]["test_iou_ci95_lo"].size(), 6u);
    ASSERT_EQ(j["experiments"][0]["test_iou_ci95_hi"].size(), 6u);
    // Two seeds, two models: not the same numbers twice.
    EXPECT_NE(j["experiments"][0]["final_train_loss"], j["experiments"][1]["final_train_loss"]);
    ASSERT_EQ(j["over_seeds"].size(), 2u);
    EXPECT_EQ(j["over_seeds"][1]["id"], "full");
    EXPECT_EQ(j["over_seeds"][1]["seeds"], (nlohmann::json{0, 1}));
    const std::string md = read_text_file(out + "/report.md");
    EXPECT_MESSAGE_HAS(md, "### Over seeds");
    // One seed's run by its own id; an unknown id names the experiments, and the runs' form.
    const test::CommandResult r3 = test::run_pfce("run " + dir + "/tiny.toml --device cpu --out " +
                                                  out + " --force --only full-s1");
    ASSERT_EQ(r3.status, 0) << r3.output;
    EXPECT_MESSAGE_HAS(r3.output, "1 ran, 0 skipped, 0 failed");  // the others not selected
    const test::CommandResult r4 =
        test::run_pfce("run " + dir + "/tiny.toml --device cpu --out " + out + " --only nope");
    EXPECT_EQ(r4.status, 2) << r4.output;
    EXPECT_MESSAGE_HAS(r4.output, "(it has pts, full; one seed's run: <id>-s<seed>)");
    EXPECT_MESSAGE_HAS(md, "| pts | — | 0, 1 |");
    // The seeds are in the runs' ids, not listed again as the settings that set them apart.
    EXPECT_MESSAGE_HAS(md, "| pts-s1 | — | sparse 200/class | — |");
    // The suite without seeds into the same OUT: the seeded runs there are said (not shown), and
    // the other way round.
    std::string unseeded = kTinySeededSuite;
    unseeded.erase(unseeded.find("seeds = [0, 1]\n"), 15);
    write_file(dir + "/unseeded.toml", unseeded);
    const test::CommandResult r5 =
        test::run_pfce("run " + dir + "/unseeded.toml --device cpu " + "--only pts --out " + out);
    ASSERT_EQ(r5.status, 0) << r5.output;
    EXPECT_MESSAGE_HAS(r5.output, out +
                                      " holds 4 runs of a suite with seeds (full-s0, full-s1, "
                                      "pts-s0, ...), which this suite without seeds does not "
                                      "show: left as they are");
    const test::CommandResult r6 =
        test::run_pfce("run " + dir + "/tiny.toml --device cpu --out " + out);
    ASSERT_EQ(r6.status, 0) << r6.output;
    EXPECT_MESSAGE_HAS(r6.output, out +
                                      " holds 1 run of experiments without seeds (pts), which "
                                      "this suite with seeds does not show (its seed-0 runs "
                                      "train again)");
}

}  // namespace
}  // namespace pfce
