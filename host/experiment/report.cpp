// Renders the suite report from experiment results: Markdown and HTML share one table model
// (header + rows of cells), so the two always show the same numbers.
#include "host/experiment/report.hpp"
#include "host/train/image_scores.hpp"  // csv_field

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <optional>
#include <set>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/hash.hpp"
#include "core/log.hpp"
#include "core/output_dir.hpp"
#include "core/source_version.hpp"
#include "core/text.hpp"
#include "host/experiment/confusion_chart.hpp"
#include "host/experiment/experiment_settings.hpp"
#include "host/experiment/paired_differences.hpp"
#include "host/experiment/svg_chart.hpp"
#include "host/experiment/text_file.hpp"

namespace pfce {

namespace {

struct Table {
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;
    std::size_t text_columns = 2;  // the leading columns of names and words (left); numbers right
};

const char* kDash = "—";

// `t` without its column `header` names (a dataset without a clutter class has no mIoU without
// it: a column of dashes said nothing).
void drop_column(Table& t, const std::string& header) {
    const auto it = std::find(t.header.begin(), t.header.end(), header);
    if (it == t.header.end()) return;
    const auto k = it - t.header.begin();
    t.header.erase(it);
    for (auto& row : t.rows)
        if (static_cast<std::ptrdiff_t>(row.size()) > k) row.erase(row.begin() + k);
}

std::string fixed(double v, int decimals) {
    return std::isfinite(v) ? format_fixed(v, decimals) : kDash;
}

std::string percent(double v) {
    if (!std::isfinite(v)) return kDash;
    char buf[64];
    std::snprintf(buf, sizeof buf, v < 0.1 ? "%.2f%%" : "%.1f%%", 100 * v);
    return buf;
}

std::string duration(double s) {
    if (!std::isfinite(s)) return kDash;
    char buf[64];
    if (s < 60)
        std::snprintf(buf, sizeof buf, "%.1f s", s);
    else if (s < 3600)
        std::snprintf(buf, sizeof buf, "%dm %02ds", static_cast<int>(s) / 60,
                      static_cast<int>(s) % 60);
    else
        std::snprintf(buf, sizeof buf, "%dh %02dm", static_cast<int>(s) / 3600,
                      (static_cast<int>(s) % 3600) / 60);
    return buf;
}

// The experiment's wall time over every session it took, or what is known of it.
std::string wall_time(const ExperimentResult& r) {
    if (r.sessions > 1)
        return duration(r.wall_seconds) + " (" + std::to_string(r.sessions) + " sessions)";
    if (r.resumed) return duration(r.wall_seconds) + " (resumed: the last session only)";
    return duration(r.wall_seconds);
}

bool ok(const ExperimentResult& r) {
    return r.status == "ok";
}

// Whether the result shown is of the suite's current settings: one listed in not_run is shown from
// an earlier run with other settings (kept because this run did not replace it).
bool current(const ReportInput& in, const ExperimentResult& r) {
    for (const auto& [id, why] : in.not_run)
        if (id == r.id) return false;
    return true;
}

const char* kStaleMark = " (stale)";

// The experiment's name in a table row: marked when the row is not of the current settings.
std::string row_id(const ReportInput& in, const ExperimentResult& r) {
    return current(in, r) ? r.id : r.id + kStaleMark;
}

bool any_stale(const ReportInput& in) {
    for (const auto& r : in.results)
        if (!current(in, r)) return true;
    return false;
}

// The CRF term of the last epoch (NaN when the experiment has none).
double final_crf(const ExperimentResult& r) {
    return r.epochs.empty() ? std::numeric_limits<double>::quiet_NaN()
                            : r.epochs.back().train_crf_loss;
}

// Mean training seconds per epoch (NaN without epochs).
double seconds_per_epoch(const ExperimentResult& r) {
    double s = 0;
    for (const auto& e : r.epochs) s += e.seconds;
    return r.epochs.empty() ? std::numeric_limits<double>::quiet_NaN()
                            : s / static_cast<double>(r.epochs.size());
}

// An experiment's own class names, one per class it measured; a result whose list does not fit its
// metrics (edited by hand, or older than the list) names its classes by number.
std::vector<std::string> own_class_names(const ExperimentResult& r) {
    const std::size_t C = r.test.iou.size();
    if (r.class_names.size() == C) return r.class_names;
    std::vector<std::string> names;
    for (std::size_t c = 0; c < C; ++c) names.push_back("class " + std::to_string(c));
    return names;
}

// The per-class columns: every class any measured experiment names, in the order they first
// appear, so a suite whose experiments have other class lists (a dataset that gained a class
// between runs) puts each number under its own class, never under the first experiment's name at
// the same index.
std::vector<std::string> class_columns(const ReportInput& in) {
    std::vector<std::string> columns;
    for (const auto& r : in.results) {
        if (!ok(r)) continue;
        for (const auto& n : own_class_names(r))
            if (std::find(columns.begin(), columns.end(), n) == columns.end()) columns.push_back(n);
    }
    return columns;
}

// r's value of a per-class metric under the column of that name; NaN where r has no such class.
double class_value(const ExperimentResult& r, const std::vector<double>& per_class,
                   const std::string& column) {
    const auto names = own_class_names(r);
    const auto it = std::find(names.begin(), names.end(), column);
    const auto c = static_cast<std::size_t>(it - names.begin());
    return it == names.end() || c >= per_class.size() ? std::numeric_limits<double>::quiet_NaN()
                                                      : per_class[c];
}

// The mean IoU without clutter, where the suite's dataset has a clutter class (else NaN, shown as
// a dash: the same number as the mIoU again would read as a second measurement).
double miou_without_clutter(const ReportInput& in, const ExperimentResult& r) {
    return in.clutter_class >= 0 ? r.test.miou_no_clutter
                                 : std::numeric_limits<double>::quiet_NaN();
}

// " [0.629, 0.649]": the test mIoU's 95% bootstrap interval over the test images, where the
// result has one.
// Its test mIoU's interval was drawn from fewer units than kFewBootstrapUnits (0: unrecorded).
bool interval_of_few_units(const ExperimentResult& r) {
    return r.test_miou_ci95_units > 0 &&
           static_cast<std::size_t>(r.test_miou_ci95_units) < kFewBootstrapUnits;
}

std::string interval_text(const ExperimentResult& r) {
    if (r.test_miou_ci95.size() != 2) return {};
    std::string s = " [";  // appended apart: GCC 12 warns falsely on "..." + std::string&&
    s += fixed(r.test_miou_ci95[0], 3);
    s += ", ";
    s += fixed(r.test_miou_ci95[1], 3);
    s += "]";
    // Too few test images to read it by: said with their count (the legend says why).
    if (interval_of_few_units(r)) s += " (n=" + std::to_string(r.test_miou_ci95_units) + ")";
    return s;
}

Table results_table(const ReportInput& in) {
    Table t;
    t.header = {"experiment",        "labels",
                "labelled fraction", "link purity",
                "final train loss",  "val loss (train labels)",
                "val loss (dense)",  "val mIoU",
                "test mIoU",         "test mIoU w/o clutter",
                "test OA",           "test mean F1",
                "wall time"};
    for (const auto& r : in.results) {
        if (!ok(r)) {
            t.rows.push_back({row_id(in, r), r.labels, "failed", kDash, kDash, kDash, kDash, kDash,
                              kDash, kDash, kDash, kDash, wall_time(r)});
            continue;
        }
        std::string labelled = percent(r.labelled_fraction);
        if (std::isfinite(r.link_purity))
            labelled = percent(r.labelled_fraction_sparse) + " → " + labelled;
        // The focal loss, and beside it the CRF term where the experiment adds one.
        std::string train = fixed(r.final_train_loss, 4);
        if (std::isfinite(final_crf(r))) train += " + " + fixed(final_crf(r), 4) + " CRF";
        t.rows.push_back({row_id(in, r), r.labels, labelled, fixed(r.link_purity, 4), train,
                          fixed(r.val_loss, 4), fixed(r.val_loss_dense, 4), fixed(r.val_miou, 4),
                          fixed(r.test.miou, 4) + interval_text(r),
                          fixed(miou_without_clutter(in, r), 4), fixed(r.test.oa, 4),
                          fixed(r.test.mean_f1, 4), wall_time(r)});
    }
    if (in.clutter_class < 0) drop_column(t, "test mIoU w/o clutter");
    return t;
}

// What each experiment is: its description, labels and the settings that set it apart (two with
// the same labels, one tuned and one not, read as one row twice otherwise).
Table experiments_table(const ReportInput& in) {
    Table t;
    t.text_columns = 4;
    t.header = {"experiment", "description", "labels", "other settings that differ (labels aside)"};
    const auto settings = distinguishing_settings(in.results);
    for (std::size_t i = 0; i < in.results.size(); ++i) {
        const ExperimentResult& r = in.results[i];
        std::string differ;
        for (const std::string& s : settings[i]) (differ += differ.empty() ? "" : ", ") += s;
        t.rows.push_back({row_id(in, r), r.description.empty() ? kDash : r.description, r.labels,
                          differ.empty() ? kDash : differ});
    }
    return t;
}

}  // namespace

std::string difference_cell(double sign, const MiouDifference& d) {
    const bool clear = excludes_zero(d);
    char cell[32];
    // No difference at all is 0.000, not "+0.000" in one cell and "-0.000" in its mirror (one
    // that rounds to it keeps its sign: which of the two is ahead, if by little).
    const double v = d.diff == 0.0 ? 0.0 : sign * d.diff;
    std::snprintf(cell, sizeof cell, v == 0.0 ? "%.3f%s%s" : "%+.3f%s%s", v, clear ? "*" : "",
                  d.holm ? "†" : "");
    return cell;
}

namespace {

// The caption's words on the draws and on the pairs' multiplicity, for a table of `pairs`.
// How many pairs hold after the correction: "none", "1 pair", "3 pairs".
std::string held_text(std::size_t held) {
    return held == 0 ? "none" : std::to_string(held) + (held == 1 ? " pair" : " pairs");
}

template <typename Pair>
std::string family_note(const std::vector<Pair>& pairs) {
    const std::size_t m = pairs.size();
    const std::size_t held = static_cast<std::size_t>(
        std::count_if(pairs.begin(), pairs.end(), [](const Pair& p) { return p.d.holm; }));
    if (m < 2)
        return " One pair: no correction for many comparisons is needed, and † marks the same "
               "pairs as *.";
    return " With " + std::to_string(m) +
           " pairs some * arise by chance (about 1 in 20 of the pairs that truly do not "
           "differ); † marks those that still hold after Holm's correction over all " +
           std::to_string(m) + " (" + held_text(held) +
           "; the chance of any † among pairs that truly do not differ is at most 1 in 20).";
}

template <typename Pair>
int draws_of(const std::vector<Pair>& pairs) {
    return pairs.empty() ? 0 : pairs.front().d.resamples;
}

std::vector<PairedDifference> pairs_of(const ReportInput& in) {
    return in.paired ? *in.paired : paired_differences(in.results, in.clutter_class);
}

// Differences as a matrix, row minus column, over the items (experiments, or experiments over
// seeds) in at least one pair: "+0.153*" where the 95% interval excludes 0, "n/a" where the two
// were tested on other images. Empty where no pair was drawn. `names` name the rows and columns,
// `row_names` the rows (marked when stale).
template <typename Pair>
Table difference_matrix(const std::vector<std::string>& names,
                        const std::vector<std::string>& row_names, const std::vector<Pair>& pairs) {
    Table t;
    t.text_columns = 1;
    std::vector<std::size_t> shown;
    for (std::size_t i = 0; i < names.size(); ++i)
        if (std::any_of(pairs.begin(), pairs.end(),
                        [&](const Pair& p) { return p.a == i || p.b == i; }))
            shown.push_back(i);
    if (shown.empty()) return t;
    t.header = {"row − column"};
    for (const std::size_t j : shown) t.header.push_back(names[j]);
    for (const std::size_t i : shown) {
        std::vector<std::string> row = {row_names[i]};
        for (const std::size_t j : shown) {
            const auto p = std::find_if(pairs.begin(), pairs.end(), [&](const Pair& q) {
                return (q.a == i && q.b == j) || (q.a == j && q.b == i);
            });
            if (i == j)
                row.push_back(kDash);
            else if (p == pairs.end())
                row.push_back("n/a");
            else  // stored as a - b: the other way round, negated with its interval
                row.push_back(difference_cell(p->a == i ? 1.0 : -1.0, p->d));
        }
        t.rows.push_back(std::move(row));
    }
    return t;
}

Table paired_table(const ReportInput& in, const std::vector<PairedDifference>& pairs) {
    std::vector<std::string> names, rows;
    for (const ExperimentResult& r : in.results) {
        names.push_back(r.id);
        rows.push_back(row_id(in, r));
    }
    return difference_matrix(names, rows, pairs);
}

// The fewest test images (tiles) any pair was drawn from, 0 without pairs.
template <typename Pair>
std::size_t fewest_units(const std::vector<Pair>& pairs) {
    std::size_t fewest = 0;
    for (const Pair& p : pairs) fewest = fewest == 0 ? p.d.units : std::min(fewest, p.d.units);
    return fewest;
}

// What a caption says of pairs drawn from fewer than kFewBootstrapUnits test images.
std::string few_units_note(std::size_t fewest) {
    if (fewest == 0 || fewest >= kFewBootstrapUnits) return {};
    if (fewest < kMinUnitsForSignificance)
        return " Drawn from only " + std::to_string(fewest) +
               " test images: so few cannot tell a difference from chance (from " +
               std::to_string(kMinUnitsForSignificance) + " on, at the least), so none is marked.";
    return " Drawn from only " + std::to_string(fewest) +
           " test images: so few understate the uncertainty, and a * may not hold.";
}

std::string paired_caption(const std::vector<PairedDifference>& pairs) {
    std::string s =
        "Row minus column: the difference of the test mIoUs, marked * where its 95% paired "
        "bootstrap interval excludes 0 (each of " +
        std::to_string(draws_of(pairs)) +
        " draws takes the same test images, by tile for tiles, for both experiments, so the "
        "images both find hard cancel out). A difference without * is one the test set alone "
        "could make. n/a: tested on other images. Each experiment ran once (one training seed, "
        "whose own spread is not in the interval).";
    return s + family_note(pairs) + few_units_note(fewest_units(pairs));
}

// ---- A suite run with seeds: each experiment over its seeds -------------------------------------

// "0.7634 ± 0.0123": a score's mean and sample standard deviation over the seeds ("0.7634" alone
// from one seed: no spread to show).
std::string mean_sd(const Spread& s) {
    if (s.n == 0 || !std::isfinite(s.mean)) return kDash;
    std::string t = fixed(s.mean, 4);
    if (s.n >= 2) (t += " ± ") += fixed(s.sd, 4);
    return t;
}

// A group's name in a table row. Its runs of other settings (stale) are left out of its numbers
// (seed_groups' counted), so the row is of the current settings; the seeds column says what is
// left out.
std::string group_row_id(const ReportInput& /*in*/, const SeedGroup& g) {
    return g.id;
}

const ExperimentResult& first_run(const ReportInput& in, const SeedGroup& g) {
    return in.results[g.first];
}

// The suite's experiments over seeds, every one that has a result (a group whose runs all failed
// too: its row says so); results of other settings not counted.
std::vector<SeedGroup> groups_of(const ReportInput& in) {
    std::vector<bool> counted;
    for (const ExperimentResult& r : in.results) counted.push_back(current(in, r));
    return seed_groups(in.results, counted);
}

// The runs of g the suite has but the report shows no result of (interrupted, not selected).
std::size_t not_run_of(const ReportInput& in, const SeedGroup& g) {
    std::size_t n = 0;
    for (const auto& [id, why] : in.not_run) {
        const std::string prefix = g.id + "-s";
        const bool of_g = id.size() > prefix.size() && id.compare(0, prefix.size(), prefix) == 0 &&
                          id.find_first_not_of("0123456789", prefix.size()) == std::string::npos;
        const bool shown = std::any_of(in.results.begin(), in.results.end(),
                                       [&](const ExperimentResult& r) { return r.id == id; });
        if (of_g && !shown) ++n;
    }
    return n;
}

Table seeds_table(const ReportInput& in, const std::vector<SeedGroup>& groups) {
    Table t;
    t.text_columns = 3;
    t.header = {"experiment",
                "description",
                "seeds",
                "test mIoU (mean ± sd)",
                "test mIoU range",
                "test mIoU w/o clutter (mean ± sd)",
                "val mIoU (mean ± sd)",
                "test OA (mean ± sd)"};
    for (const SeedGroup& g : groups) {
        std::string seeds;
        for (const std::int64_t s : g.seeds)
            (seeds += seeds.empty() ? "" : ", ") += std::to_string(s);
        if (seeds.empty()) seeds = kDash;
        // What the numbers leave out: failed runs, runs of other settings, runs not made yet.
        std::string out;
        for (const auto& [n, what] :
             {std::pair{g.failed, "failed"}, std::pair{g.left_out, "stale, not counted"},
              std::pair{not_run_of(in, g), "not run"}})
            if (n > 0) (out += out.empty() ? "" : "; ") += std::to_string(n) + " " + what;
        if (!out.empty()) seeds += " (" + out + ")";
        auto over = [&](auto&& value) { return spread_of(values_of(in.results, g, value)); };
        const Spread test = over([](const ExperimentResult& r) { return r.test.miou; });
        const ExperimentResult& first = first_run(in, g);
        t.rows.push_back(
            {group_row_id(in, g), first.description.empty() ? kDash : first.description, seeds,
             mean_sd(test), test.n >= 2 ? fixed(test.min, 4) + " – " + fixed(test.max, 4) : kDash,
             mean_sd(over([&](const ExperimentResult& r) { return miou_without_clutter(in, r); })),
             mean_sd(over([](const ExperimentResult& r) { return r.val_miou; })),
             mean_sd(over([](const ExperimentResult& r) { return r.test.oa; }))});
    }
    if (in.clutter_class < 0) drop_column(t, "test mIoU w/o clutter (mean ± sd)");
    return t;
}

Table seeds_per_class_table(const ReportInput& in, const std::vector<SeedGroup>& groups) {
    Table t;
    const auto columns = class_columns(in);
    t.text_columns = 1;
    t.header = {"experiment"};
    for (const auto& n : columns) t.header.push_back(n);
    for (const SeedGroup& g : groups) {
        std::vector<std::string> row = {group_row_id(in, g)};
        for (const auto& n : columns)
            row.push_back(
                mean_sd(spread_of(values_of(in.results, g, [&](const ExperimentResult& r) {
                    return class_value(r, r.test.iou, n);
                }))));
        t.rows.push_back(std::move(row));
    }
    return t;
}

std::vector<SeededDifference> seeded_pairs_of(const ReportInput& in,
                                              const std::vector<SeedGroup>& groups) {
    return in.paired_seeds ? *in.paired_seeds
                           : paired_differences_across_seeds(in.results, groups, in.clutter_class);
}

// The differences over seeds as a matrix, row minus column, as paired_table.
Table seeded_paired_table(const ReportInput& in, const std::vector<SeedGroup>& groups,
                          const std::vector<SeededDifference>& pairs) {
    std::vector<std::string> names, rows;
    for (const SeedGroup& g : groups) {
        names.push_back(g.id);
        rows.push_back(group_row_id(in, g));
    }
    return difference_matrix(names, rows, pairs);
}

std::string seeded_paired_caption(const std::vector<SeededDifference>& pairs) {
    std::size_t fewest_seeds = 0;
    for (const SeededDifference& p : pairs)
        fewest_seeds = fewest_seeds == 0 ? p.d.seeds : std::min(fewest_seeds, p.d.seeds);
    std::string s =
        "Row minus column: the difference of the test mIoUs averaged over the seeds both "
        "experiments finished (so not the difference of the means above where one ran more "
        "seeds), marked * where its 95% interval excludes 0. Each of " +
        std::to_string(draws_of(pairs)) +
        " draws takes seeds with replacement (one seed's runs of both experiments together: they "
        "drew the same points where their label settings agree) and test images with replacement "
        "(the same for every seed, by tile for tiles), so the interval holds what another "
        "training seed and what another test set would change. A difference without * is one "
        "chance alone could make. n/a: tested on other images." +
        family_note(pairs);
    if (fewest_seeds == 1)
        s += " One seed in common: the interval is that seed's paired one, and holds nothing of "
             "the training's own spread.";
    else if (fewest_seeds > 0 && fewest_seeds < 5)
        s += " Only " + std::to_string(fewest_seeds) + " seeds: where all " +
             std::to_string(fewest_seeds) +
             " differences have one sign the interval nearly always excludes 0 (and † most "
             "often follows), and two "
             "experiments that do not differ have them of one sign 1 time in " +
             std::to_string(1 << (fewest_seeds - 1)) + "; more seeds make a * mean more.";
    return s + few_units_note(fewest_units(pairs));
}

const char* kSeedsCaption =
    "Each experiment trained once per seed (run.seed: weights, shuffling, augmentation; "
    "labels.seed: which points are drawn), its runs <id>-s<seed> listed above. Mean and sample "
    "standard deviation over its finished seeds; the range is the lowest and highest seed's test "
    "mIoU. The spread is the training's own: two experiments whose means differ by less than it "
    "may swap places with other seeds.";

Table per_class_table(const ReportInput& in) {
    Table t;
    const auto columns = class_columns(in);
    t.text_columns = 1;
    t.header = {"experiment"};
    for (const auto& n : columns) t.header.push_back(n);
    for (const auto& r : in.results) {
        if (!ok(r)) continue;
        std::vector<std::string> row = {row_id(in, r)};
        for (const auto& n : columns) {
            std::string cell = fixed(class_value(r, r.test.iou, n), 4);
            // Its interval from the mIoU's bootstrap draws, where the class was in enough test
            // images to draw one (older results: none recorded).
            const double lo = class_value(r, r.test_iou_ci95_lo, n);
            const double hi = class_value(r, r.test_iou_ci95_hi, n);
            if (!std::isnan(lo) && !std::isnan(hi)) {
                cell += " [";  // appended apart: GCC 12 warns falsely on "..." + std::string&&
                cell += fixed(lo, 3);
                cell += ", ";
                cell += fixed(hi, 3);
                cell += "]";
            }
            row.push_back(cell);
        }
        t.rows.push_back(row);
    }
    return t;
}

// Said under the per-class table where any cell carries an interval.
bool any_class_interval(const ReportInput& in) {
    return std::any_of(in.results.begin(), in.results.end(), [](const ExperimentResult& r) {
        return ok(r) && std::any_of(r.test_iou_ci95_lo.begin(), r.test_iou_ci95_lo.end(),
                                    [](double v) { return !std::isnan(v); });
    });
}
constexpr const char* kPerClassCaption =
    "In brackets each class's 95% bootstrap interval over the test images, from the same draws as "
    "the mIoU's (by tile for tiles); none where the class is in too few test images to draw one. "
    "A class's interval is wider than the mIoU's: one class in a few images moves more.";

Table comparison_table(const ReportInput& in) {
    Table t;
    t.header = {"experiment", "technical report's figure", "ours: train / val loss (train labels)",
                "ours: val mIoU", "ours: test mIoU"};
    // A suite with seeds: each experiment's mean over its seeds, as the readings below take it.
    if (const std::vector<SeedGroup> groups = groups_of(in); !groups.empty()) {
        for (const SeedGroup& g : groups) {
            const std::string& figure = first_run(in, g).report_figure;
            if (figure.empty()) continue;
            if (g.members.empty()) {
                t.rows.push_back({g.id, figure, "no finished run", kDash, kDash});
                continue;
            }
            auto mean = [&](auto&& value) {
                return fixed(spread_of(values_of(in.results, g, value)).mean, 4);
            };
            t.rows.push_back(
                {g.id + " (mean of " + std::to_string(g.members.size()) + " seeds)", figure,
                 mean([](const ExperimentResult& r) { return r.final_train_loss; }) + " / " +
                     mean([](const ExperimentResult& r) { return r.val_loss; }),
                 mean([](const ExperimentResult& r) { return r.val_miou; }),
                 mean([](const ExperimentResult& r) { return r.test.miou; })});
        }
        return t;
    }
    for (const auto& r : in.results) {
        if (r.report_figure.empty()) continue;
        if (!ok(r)) {
            t.rows.push_back({row_id(in, r), r.report_figure, "failed", kDash, kDash});
            continue;
        }
        t.rows.push_back({row_id(in, r), r.report_figure,
                          fixed(r.final_train_loss, 4) + " / " + fixed(r.val_loss, 4),
                          fixed(r.val_miou, 4), fixed(r.test.miou, 4)});
    }
    return t;
}

const char* kCaveat =
    "The technical report's figures are **not comparable** with ours. Its code read "
    "the "
    "label images through PIL grayscale, so *impervious surfaces* (white) were silently treated as "
    "\"ignore\": never trained, never scored. Its \"IoU\" was a binary foreground IoU computed on "
    "the "
    "sparse masks (labelled versus unlabelled pixels), not a mean IoU over classes on dense ground "
    "truth. A batch without labelled pixels gave NaN, sampling was unseeded, and linking let later "
    "classes overwrite earlier ones. Our numbers are the mean IoU over all classes (impervious "
    "included) on the dense masks of the test split, from one confusion matrix over the whole "
    "split; "
    "losses are partial focal losses on the labels each run trains with.";

// The ordering the technical report implies, checked on our test mIoU.
const char* kOrder[] = {"dense", "e4-500-linked", "e3-2100-tuned", "e2-2100", "e1-700"};

// The label kind each experiment the report's readings name trains on: a suite's own experiment
// that takes one of these ids with other labels is not what the reading is about (a suite's
// "dense" on sparse points was called the upper bound).
std::string kind_read_as(const std::string& id) {
    if (id == "dense") return "dense";
    return id.find("linked") != std::string::npos ? "linked" : "sparse";
}

// Whether r trains on the labels the report reads experiment `id` as (results that record no
// settings are taken on their id).
bool trains_as_read(const ExperimentResult& r, const std::string& id) {
    const auto kind = r.config.is_object() ? r.config.find("labels.kind") : r.config.end();
    return !(r.config.is_object() && kind != r.config.end() && kind->is_string() &&
             kind->get<std::string>() != kind_read_as(id));
}

// What the readings compare of experiment `id`: its finished result, or in a suite run with seeds
// the mean over its finished seeds.
struct Scored {
    std::string name;  // its row's name; "<id> (mean of 3 seeds)" over seeds
    double miou = 0, seconds_per_epoch = 0;
};
std::optional<Scored> find(const ReportInput& in, const std::string& id) {
    for (const auto& r : in.results) {
        if (r.id != id || !ok(r)) continue;
        if (!trains_as_read(r, id)) return std::nullopt;
        return Scored{row_id(in, r), r.test.miou, seconds_per_epoch(r)};
    }
    for (const SeedGroup& g : groups_of(in)) {
        if (g.id != id || g.members.empty()) continue;
        if (!trains_as_read(first_run(in, g), id)) return std::nullopt;
        const double miou = spread_of(values_of(in.results, g, [](const ExperimentResult& r) {
                                return r.test.miou;
                            })).mean;
        const double spe = spread_of(values_of(in.results, g, seconds_per_epoch)).mean;
        return Scored{group_row_id(in, g) + " (mean of " + std::to_string(g.members.size()) +
                          (g.members.size() == 1 ? " seed)" : " seeds)"),
                      miou, spe};
    }
    return std::nullopt;
}

// Names go through row_id: a stale result compared with a current one is marked (a probe found
// "e4 reaches 299% of the dense upper bound" against a dense run of other settings, unmarked).
std::vector<std::string> ordering_notes(const ReportInput& in) {
    std::vector<std::string> notes;
    std::vector<Scored> present;
    for (const char* id : kOrder)
        if (const auto r = find(in, id)) present.push_back(*r);
    if (present.size() >= 2) {
        std::string chain;
        bool holds = true;
        for (std::size_t i = 0; i < present.size(); ++i) {
            if (i) {
                const bool ge = present[i - 1].miou >= present[i].miou;
                holds = holds && ge;
                chain += ge ? " ≥ " : " < ";
            }
            chain += present[i].name + " (" + fixed(present[i].miou, 4) + ")";
        }
        notes.push_back(std::string("Test mIoU order the report implies: ") + chain + " — " +
                        (holds ? "holds." : "does not hold everywhere (see the table)."));
    }
    if (std::any_of(in.results.begin(), in.results.end(),
                    [](const ExperimentResult& r) { return r.test_miou_ci95.size() == 2; }))
        notes.push_back(
            "The brackets beside a test mIoU hold its 95% bootstrap interval over the test images "
            "(by tile for tiles): how far the score moves with another test set of the kind. "
            "Differences inside overlapping intervals may be the test set's, not the method's." +
            std::string(std::any_of(in.results.begin(), in.results.end(), interval_of_few_units)
                            ? " An interval followed by its n was drawn from fewer than " +
                                  std::to_string(kFewBootstrapUnits) +
                                  " test images (tiles): however narrow, it understates the "
                                  "uncertainty (so few give a handful of distinct draws)."
                            : ""));
    const auto dense = find(in, "dense");
    const auto e4 = find(in, "e4-500-linked");
    if (dense && e4 && std::isfinite(dense->miou) && dense->miou > 0)
        notes.push_back(e4->name + " reaches " + fixed(100 * e4->miou / dense->miou, 1) +
                        "% of the " + dense->name + " upper bound's test mIoU.");
    // The CRF term against its controls (issue 15's targets: +0.05 and +0.03 test mIoU, at most
    // 1.3x the control's training time per epoch).
    struct Pair {
        const char *with, *without;
        double target;
    };
    for (const Pair& p : {Pair{"e7-500-crf", "e6-500-tuned", 0.05},
                          Pair{"e8-500-linked-crf", "e4-500-linked", 0.03}}) {
        const auto a = find(in, p.with);
        const auto b = find(in, p.without);
        if (!a || !b) continue;
        const double gain = a->miou - b->miou;
        notes.push_back(std::string("The CRF term: ") + a->name + " − " + b->name + " = " +
                        (gain >= 0 ? "+" : "") + fixed(gain, 4) + " test mIoU (target +" +
                        fixed(p.target, 2) + ": " + (gain >= p.target ? "met" : "missed") +
                        "); training time per epoch " +
                        fixed(a->seconds_per_epoch / b->seconds_per_epoch, 2) + "x.");
    }
    return notes;
}

// Text from users (class names, paths, error messages) in Markdown: a '<' would open an HTML tag
// that renderers drop ("sol <autre>" showed as "sol "), and an '&' that starts an entity name
// would show as its character ("a&lt;b" as "a<b"). Other '&' stay as typed ("roads & paths").
std::string md_text(const std::string& s) {
    std::string o;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '<') {  // ('>' alone opens nothing: "0.001 -> 0.002" stays readable as text)
            o += "&lt;";
        } else if (c == '&') {
            std::size_t j = i + 1;
            while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '#'))
                ++j;
            o += j > i + 1 && j < s.size() && s[j] == ';' ? "&amp;" : "&";
        } else {
            o += c;
        }
    }
    return o;
}

// md_text on one line (a heading's): a line break would end the heading.
std::string md_line(const std::string& s) {
    std::string o = md_text(s);
    std::replace(o.begin(), o.end(), '\n', ' ');
    std::replace(o.begin(), o.end(), '\r', ' ');
    return o;
}

// A Markdown table cell: a '|' in a class name would end the cell, a line break the row.
std::string md_cell(const std::string& s) {
    std::string o;
    for (char c : md_text(s)) {
        if (c == '|')
            o += "\\|";
        else if (c == '\n' || c == '\r')
            o += ' ';
        else
            o += c;
    }
    return o;
}

std::string md_table(const Table& t) {
    // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on " " + std::string&&.
    auto cell = [](std::string& line, const std::string& text) {
        line += ' ';
        line += md_cell(text);
        line += " |";
    };
    std::string o = "|";
    for (const auto& h : t.header) cell(o, h);
    o += "\n|";
    // Names and labels left, numbers right.
    for (std::size_t i = 0; i < t.header.size(); ++i) o += i < t.text_columns ? "---|" : "---:|";
    o += "\n";
    for (const auto& row : t.rows) {
        o += "|";
        for (const auto& c : row) cell(o, c);
        o += "\n";
    }
    return o;
}

std::string html_escape(const std::string& s) {
    return xml_escape(s);
}

// Markdown bold/italics in the caveat, rendered for HTML.
std::string inline_md_to_html(const std::string& s) {
    std::string o, esc = html_escape(s);
    bool bold = false, ital = false;
    for (std::size_t i = 0; i < esc.size(); ++i) {
        if (esc.compare(i, 2, "**") == 0) {
            o += bold ? "</strong>" : "<strong>";
            bold = !bold;
            ++i;
        } else if (esc[i] == '*') {
            o += ital ? "</em>" : "<em>";
            ital = !ital;
        } else {
            o += esc[i];
        }
    }
    return o;
}

std::string html_table(const Table& t) {
    std::string o = "<table>\n<thead><tr>";
    // A column of names or words is headed as it is aligned (left), numbers right.
    for (std::size_t i = 0; i < t.header.size(); ++i)
        o += std::string(i == 0 || i < t.text_columns ? "<th class=\"text\">" : "<th>") +
             html_escape(t.header[i]) + "</th>";
    o += "</tr></thead>\n<tbody>\n";
    for (const auto& row : t.rows) {
        o += "<tr>";
        for (std::size_t i = 0; i < row.size(); ++i)
            o += std::string(i == 0               ? "<td class=\"id\">"
                             : i < t.text_columns ? "<td class=\"text\">"
                                                  : "<td>") +
                 html_escape(row[i]) + "</td>";
        o += "</tr>\n";
    }
    return o + "</tbody>\n</table>\n";
}

struct ChartDef {
    const char* file;
    const char* title;
    const char* y_label;
    std::function<double(const EpochRecord&)> value;
    bool from_zero;
    bool measured_only = false;  // leave out experiments without a single value (no CRF term)
};

const std::vector<ChartDef>& chart_defs() {
    static const std::vector<ChartDef> defs = {
        {"train_loss.svg", "Training loss (partial focal, training labels)", "loss",
         [](const EpochRecord& e) { return e.train_loss; }, true},
        {"val_loss.svg", "Validation loss (training label kind)", "loss",
         [](const EpochRecord& e) { return e.val_loss; }, true},
        {"val_loss_dense.svg", "Validation loss on dense masks", "loss",
         [](const EpochRecord& e) { return e.val_loss_dense; }, true},
        {"val_miou.svg", "Validation mIoU (dense truth)", "mIoU",
         [](const EpochRecord& e) { return e.val_miou; }, true},
        {"train_crf_loss.svg", "Training loss: the CRF term (weighted, all pixels)", "loss",
         [](const EpochRecord& e) { return e.train_crf_loss; }, true, true},
    };
    return defs;
}

// Where the experiments' losses are on other scales (another focal γ: γ = 0 is plain cross-entropy
// and a larger γ shrinks every loss; other training labels: the validation loss is on each one's
// own kind), a caveat under the curves: the charts invite comparing them (walkthrough). "" else.
std::string loss_scale_note(const ReportInput& in) {
    std::set<std::string> gammas, kinds;
    for (const auto& r : in.results) {
        if (!ok(r) || !r.config.is_object()) continue;
        gammas.insert(r.config.value("loss.gamma", nlohmann::json()).dump());
        kinds.insert(r.config.value("labels.kind", nlohmann::json()).dump());
    }
    if (gammas.size() < 2 && kinds.size() < 2) return {};
    return std::string("The experiments' losses are on other scales (") +
           (gammas.size() > 1 ? "another focal γ: 0 is plain cross-entropy, a larger γ shrinks "
                                "every loss"
                              : "") +
           (gammas.size() > 1 && kinds.size() > 1 ? "; " : "") +
           (kinds.size() > 1 ? "other training labels, on which the training and validation "
                               "losses are taken"
                             : "") +
           "): compare them within an experiment, and across experiments by the validation mIoU" +
           (gammas.size() > 1 ? "" : " or the validation loss on dense masks") + ".";
}

// Whether the chart has a curve: one measured only for some experiments (the CRF term) is left out
// when none has it.
bool chart_has_data(const ReportInput& in, const ChartDef& d) {
    if (!d.measured_only) return true;
    for (const auto& r : in.results)
        if (ok(r))
            for (const auto& e : r.epochs)
                if (std::isfinite(d.value(e))) return true;
    return false;
}

std::vector<const ChartDef*> charts_of(const ReportInput& in) {
    std::vector<const ChartDef*> out;
    for (const auto& d : chart_defs())
        if (chart_has_data(in, d)) out.push_back(&d);
    return out;
}

std::string failures_md(const ReportInput& in) {
    std::string o;
    for (const auto& r : in.results)
        if (!ok(r)) o += "- **" + r.id + "** failed: " + md_text(r.error) + "\n";
    return o;
}

// The confusion matrices of the experiments that recorded one (results of older pfce did not).
const char* kConfusionFile = "test_confusion.svg";
const char* kConfusionCaption =
    "Confusion on the test split's dense masks, one panel per experiment: each row is a true "
    "class, each cell the share of its pixels predicted as the column's class (the diagonal is "
    "the class's recall; errors are shaded by the square root of their share, so small ones "
    "show). The pixel counts are in each experiment's result.json (\"confusion\"), and in the "
    "cells' tooltips when test_confusion.svg is opened on its own.";

// Each with its own experiment's classes (a suite whose dataset gained a class between runs shows
// each matrix as it was made); a result whose class list does not fit its matrix (edited by hand)
// names the classes by number.
std::vector<ConfusionPanel> confusion_panels(const ReportInput& in) {
    std::vector<ConfusionPanel> panels;
    for (const auto& r : in.results) {
        if (!ok(r) || r.test.confusion.empty()) continue;
        panels.push_back({row_id(in, r) + ": mIoU " + fixed(r.test.miou, 3), own_class_names(r),
                          r.test.confusion});
    }
    return panels;
}

// Whether any experiment has a picture grid (none with suite.grid_images = 0): the section and its
// caption only then.
bool any_pictures(const ReportInput& in) {
    return std::any_of(in.results.begin(), in.results.end(),
                       [](const ExperimentResult& r) { return ok(r) && !r.grid_png.empty(); });
}

// The pictures' caption, naming the colour unlabelled pixels are shown in (black, or the dataset's
// ignore colour, or a grey when a class is black).
// The pfce builds the results were made with, each once in suite order ("0.1.0 (commit a1b2)"):
// a suite continued after an update holds results of two, which a reader should know.
std::string pfce_versions(const ReportInput& in) {
    std::vector<std::string> seen;
    for (const ExperimentResult& r : in.results)
        if (std::find(seen.begin(), seen.end(), r.pfce) == seen.end()) seen.push_back(r.pfce);
    std::string text;
    for (const std::string& v : seen) {
        if (!text.empty()) text += "; ";
        text += v.empty() ? "not recorded (an older pfce)" : v;
    }
    return text.empty() ? std::string(kDash) : text;
}

// An experiment's picture heading: its id and what it is (the description says more than the
// labels, which two experiments may share).
std::string picture_heading(const ReportInput& in, const ExperimentResult& r) {
    return row_id(in, r) + " — " + (r.description.empty() ? r.labels : r.description);
}

// Whether r's picture grid is shown: with seeds, each experiment's first finished run's only (the
// others are in their own folders; 27 grids of 9 experiments made a report of pictures).
bool picture_shown(const ReportInput& in, const ExperimentResult& r) {
    if (!ok(r) || r.grid_png.empty()) return false;
    if (r.group.empty()) return true;
    for (const ExperimentResult& x : in.results) {
        if (&x == &r) return true;
        if (x.group == r.group && ok(x) && !x.grid_png.empty()) return false;
    }
    return true;
}

std::string grid_caption(const ReportInput& in) {
    const auto& u = in.unlabelled_colour;
    const std::string colour = u == std::array<std::uint8_t, 3>{0, 0, 0}
                                   ? "Black"
                                   : "The colour (" + std::to_string(u[0]) + ", " +
                                         std::to_string(u[1]) + ", " + std::to_string(u[2]) + ")";
    return "Rows: test images. Columns: image | dense truth | sparse points (enlarged; a dense "
           "experiment's mask as it is) | training labels (after linking) | prediction, with "
           "the image's own mIoU (against its dense truth; grids drawn by an older pfce have "
           "none). " +
           colour + " = unlabelled." +
           (groups_of(in).empty() ? ""
                                  : " With seeds, each experiment's first run is shown; every "
                                    "run's grid is in its own folder (<id>-s<seed>/grid.png).");
}

// What the experiments' best checkpoints follow (run.best_metric of those that test the best):
// "lowest validation loss", "highest validation mIoU", or both named where they differ (the legend
// said "loss" of a suite that kept the best mIoU: walkthrough).
std::string best_checkpoint_said(const ReportInput& in) {
    std::vector<std::string> said;  // each once, in the order of the experiments
    for (const ExperimentResult& r : in.results) {
        // A failed experiment followed nothing; one that tests its last epoch follows nothing.
        if (!r.config.is_object() || r.status == "failed" ||
            r.config.value("run.evaluate", std::string()) == "last")
            continue;
        const std::string best = r.config.value("run.best_metric", std::string("val_loss"));
        const std::string text = best == "val_miou" ? "highest validation mIoU"
                                 : best.rfind(kBestIouPrefix, 0) == 0
                                     ? "highest validation IoU of " +
                                           best.substr(std::string_view(kBestIouPrefix).size())
                                     : "lowest validation loss";
        if (std::find(said.begin(), said.end(), text) == said.end()) said.push_back(text);
    }
    // The loss first, then the mIoU, then each class's IoU as the experiments name them.
    std::stable_sort(said.begin(), said.end(), [](const std::string& a, const std::string& b) {
        auto rank = [](const std::string& t) {
            return t.rfind("lowest", 0) == 0 ? 0 : t.find("mIoU") != std::string::npos ? 1 : 2;
        };
        return rank(a) < rank(b);
    });
    if (said.empty()) return "lowest validation loss";
    if (said.size() == 1) return said[0];
    std::string all;
    for (std::size_t i = 0; i < said.size(); ++i)
        all += (i == 0 ? "" : i + 1 == said.size() ? " or " : ", ") + said[i];
    return all + ", by its run.best_metric";
}

std::string legend_md(const ReportInput& in) {
    const std::string stale =
        any_stale(in) ? " **(stale)**: results of an earlier run with other settings than the "
                        "suite's current ones (see Incomplete above); rerun with --force --only "
                        "and their ids to replace them."
                      : "";
    std::string legend =
        "Labelled fraction: share of training-split pixels the loss sees (sparse → after "
        "linking). Final train loss: the partial focal loss, + the CRF term (weighted, over all "
        "pixels) where the experiment adds one. Link purity: share of linked pixels with a dense "
        "label "
        "that agree with it. Validation numbers are at the evaluated checkpoint (" +
        best_checkpoint_said(in) +
        " where the experiment keeps the best, else the last epoch). Test metrics use dense "
        "ground truth; mIoU averages the classes in the truth or the predictions";
    legend += in.clutter_class >= 0 ? ", \"w/o clutter\" leaves clutter out (the ISPRS convention)."
                                    : ".";
    legend += stale;  // appended apart: GCC 12 warns falsely (-Wrestrict) on "..." + std::string
    return legend;
}

}  // namespace

std::vector<std::string> report_chart_files() {
    std::vector<std::string> files;
    for (const auto& d : chart_defs()) files.push_back(d.file);
    return files;
}

std::vector<std::string> report_chart_files(const ReportInput& in) {
    std::vector<std::string> files;
    for (const ChartDef* d : charts_of(in)) files.push_back(d->file);
    return files;
}

std::string render_chart(const ReportInput& in, const std::string& chart_file) {
    for (const auto& d : chart_defs()) {
        if (chart_file != d.file) continue;
        ChartSpec spec;
        spec.title = d.title;
        spec.x_label = "epoch";
        spec.y_label = d.y_label;
        spec.y_from_zero = d.from_zero;
        // A suite with seeds: one line per experiment, the mean of its seeds at each epoch, in a
        // band from the lowest seed to the highest (27 lines of 9 experiments were unreadable).
        if (const std::vector<SeedGroup> groups = groups_of(in); !groups.empty()) {
            spec.title += " (mean of seeds; band: lowest to highest)";
            for (const SeedGroup& g : groups) {
                ChartSeries s;
                s.name = g.id;
                bool measured = false;
                for (std::size_t k = 0;; ++k) {
                    std::vector<double> at;  // the seeds' values at epoch k + 1
                    bool any_epoch = false;
                    for (const std::size_t i : g.members) {
                        const auto& epochs = in.results[i].epochs;
                        if (k >= epochs.size()) continue;
                        any_epoch = true;
                        if (std::isfinite(d.value(epochs[k]))) at.push_back(d.value(epochs[k]));
                    }
                    if (!any_epoch) break;
                    const Spread sp = spread_of(at);
                    s.x.push_back(static_cast<double>(k + 1));
                    s.y.push_back(at.empty() ? std::nan("") : sp.mean);
                    s.lo.push_back(at.size() >= 2 ? sp.min : std::nan(""));
                    s.hi.push_back(at.size() >= 2 ? sp.max : std::nan(""));
                    measured = measured || !at.empty();
                }
                if (measured || (!d.measured_only && !g.members.empty()))
                    spec.series.push_back(std::move(s));
            }
            return render_line_chart_svg(spec);
        }
        for (const auto& r : in.results) {
            if (!ok(r)) continue;
            ChartSeries s;
            s.name = r.id;
            bool measured = false;
            for (const auto& e : r.epochs) {
                s.x.push_back(e.epoch);
                s.y.push_back(d.value(e));
                measured = measured || std::isfinite(s.y.back());
            }
            if (measured || !d.measured_only) spec.series.push_back(std::move(s));
        }
        return render_line_chart_svg(spec);
    }
    PFCE_THROW(InputError, "unknown chart \"", chart_file, "\"");
}

std::string render_report_markdown(const ReportInput& in) {
    std::string o = "# pfce report: " + md_line(in.title) + "\n\n";
    if (!in.description.empty()) o += md_text(in.description) + "\n\n";
    o += "- suite: `" + in.suite_file + "`\n- data: " + md_text(in.data_summary) +
         "\n- device: " + in.device + "\n- pfce: " + md_text(pfce_versions(in)) +
         "\n- generated: " + in.generated_at + "\n\n";
    if (!in.not_run.empty()) {
        o += "**Incomplete:** this report does not show a run of every experiment of the suite "
             "with its current settings:\n\n";
        for (const auto& [id, why] : in.not_run) o += "- **" + id + "**: " + md_text(why) + "\n";
        o += "\n";
    }
    o += "## Experiments\n\n" + md_table(experiments_table(in)) + "\n";
    o += "## Results (test split, dense ground truth)\n\n" + md_table(results_table(in)) + "\n";
    o += legend_md(in) + "\n\n";
    const std::string fails = failures_md(in);
    if (!fails.empty()) o += "### Failed experiments\n\n" + fails + "\n";
    // Only where an experiment finished (its table had no class column otherwise).
    if (const Table pc = per_class_table(in); !pc.rows.empty())
        o += "### Per-class IoU (test)\n\n" + md_table(pc) + "\n" +
             (any_class_interval(in) ? std::string(kPerClassCaption) + "\n\n" : std::string());
    const std::vector<SeedGroup> groups = groups_of(in);
    if (!groups.empty()) {
        o += "### Over seeds\n\n" + md_table(seeds_table(in, groups)) + "\n" + kSeedsCaption +
             "\n\n### Per-class IoU over seeds (test, mean ± sd)\n\n" +
             md_table(seeds_per_class_table(in, groups)) + "\n";
        const std::vector<SeededDifference> pairs = seeded_pairs_of(in, groups);
        if (const Table pt = seeded_paired_table(in, groups, pairs); !pt.rows.empty())
            o += "### Differences of the test mIoU over seeds\n\n" + md_table(pt) + "\n" +
                 seeded_paired_caption(pairs) + "\n\n";
    } else {  // a suite run with seeds compares experiments over them, not run by run
        const std::vector<PairedDifference> pairs = pairs_of(in);
        if (const Table pt = paired_table(in, pairs); !pt.rows.empty())
            o += "### Paired differences of the test mIoU\n\n" + md_table(pt) + "\n" +
                 paired_caption(pairs) + "\n\n";
    }
    for (const auto& n : ordering_notes(in)) o += "- " + n + "\n";
    if (!confusion_panels(in).empty())
        o += "\n### Confusion (test)\n\n" + std::string(kConfusionCaption) +
             "\n\n![Confusion matrices (test)](" + kConfusionFile + ")\n";
    if (const Table cmp = comparison_table(in); in.potsdam_classes && !cmp.rows.empty()) {
        o += "\n## The technical report's figures beside ours\n\n";
        o += md_table(cmp) + "\n";
        o += std::string(kCaveat) + "\n";
    }
    o += "\n## Curves\n\n";
    if (const std::string note = loss_scale_note(in); !note.empty()) o += note + "\n\n";
    for (const ChartDef* d : charts_of(in))
        o += "![" + std::string(d->title) + "](" + d->file + ")\n\n";
    if (any_pictures(in)) o += "## Pictures\n\n" + grid_caption(in) + "\n\n";
    for (const auto& r : in.results) {
        if (!picture_shown(in, r)) continue;
        o += "### " + md_line(picture_heading(in, r)) + "\n\n![" + r.id + "](" + r.grid_png +
             ")\n\n";
    }
    return o;
}

std::string render_report_html(const ReportInput& in, const std::string& out_dir) {
    auto data_uri = [&](const std::string& rel, const char* mime) -> std::string {
        const std::string path = (std::filesystem::path(out_dir) / rel).string();
        if (!file_exists(path)) return "";
        return std::string("data:") + mime + ";base64," + base64_encode(read_text_file(path));
    };
    std::string o =
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>pfce "
        "report: " +
        html_escape(in.title) +
        "</"
        "title>\n<style>\nbody{font-family:Helvetica,Arial,sans-serif;margin:2em;max-width:1400px;"
        "color:#222}\ntable{border-collapse:collapse;margin:1em "
        "0;font-size:13px}\nth,td{border:1px "
        "solid #ccc;padding:4px "
        "8px;text-align:right}\nth{background:#f3f3f3}\ntd.id{text-align:left;"
        "font-weight:bold}\ntd.text,th.text{text-align:left}\nimg{max-width:100%;image-rendering:"
        "pixelated}"
        "\n.charts "
        "img{max-width:48%;"
        "margin:0.5%}\n.note{background:#fff8e0;border-left:4px solid #e0b000;padding:0.6em 1em}\n"
        "</style>\n</head>\n<body>\n";
    o += "<h1>pfce report: " + html_escape(in.title) + "</h1>\n";
    if (!in.description.empty()) o += "<p>" + html_escape(in.description) + "</p>\n";
    o += "<ul><li>suite: <code>" + html_escape(in.suite_file) +
         "</code></li><li>data: " + html_escape(in.data_summary) +
         "</li><li>device: " + html_escape(in.device) +
         "</li><li>pfce: " + html_escape(pfce_versions(in)) +
         "</li><li>generated: " + html_escape(in.generated_at) + "</li></ul>\n";
    if (!in.not_run.empty()) {
        o += "<div class=\"note\"><p><b>Incomplete:</b> this report does not show a run of every "
             "experiment of the suite with its current settings:</p><ul>";
        for (const auto& [id, why] : in.not_run)
            o += "<li><b>" + html_escape(id) + "</b>: " + html_escape(why) + "</li>";
        o += "</ul></div>\n";
    }
    o += "<h2>Experiments</h2>\n" + html_table(experiments_table(in));
    o += "<h2>Results (test split, dense ground truth)</h2>\n" + html_table(results_table(in));
    o += "<p>" + html_escape(legend_md(in)) + "</p>\n";
    bool any_failed = false;
    for (const auto& r : in.results) any_failed = any_failed || !ok(r);
    if (any_failed) {
        o += "<h3>Failed experiments</h3>\n<ul>\n";
        for (const auto& r : in.results)
            if (!ok(r))
                o += "<li><strong>" + html_escape(r.id) +
                     "</strong> failed: " + html_escape(r.error) + "</li>\n";
        o += "</ul>\n";
    }
    if (const Table pc = per_class_table(in); !pc.rows.empty())
        o += "<h3>Per-class IoU (test)</h3>\n" + html_table(pc) +
             (any_class_interval(in) ? "<p>" + html_escape(kPerClassCaption) + "</p>\n"
                                     : std::string());
    const std::vector<SeedGroup> groups = groups_of(in);
    if (!groups.empty()) {
        o += "<h3>Over seeds</h3>\n" + html_table(seeds_table(in, groups)) + "<p>" +
             html_escape(kSeedsCaption) +
             "</p>\n<h3>Per-class IoU over seeds (test, mean ± sd)</h3>\n" +
             html_table(seeds_per_class_table(in, groups));
        const std::vector<SeededDifference> pairs = seeded_pairs_of(in, groups);
        if (const Table pt = seeded_paired_table(in, groups, pairs); !pt.rows.empty())
            o += "<h3>Differences of the test mIoU over seeds</h3>\n" + html_table(pt) + "<p>" +
                 html_escape(seeded_paired_caption(pairs)) + "</p>\n";
    } else {
        const std::vector<PairedDifference> pairs = pairs_of(in);
        if (const Table pt = paired_table(in, pairs); !pt.rows.empty())
            o += "<h3>Paired differences of the test mIoU</h3>\n" + html_table(pt) + "<p>" +
                 html_escape(paired_caption(pairs)) + "</p>\n";
    }
    const auto notes = ordering_notes(in);
    if (!notes.empty()) {
        o += "<ul>\n";
        for (const auto& n : notes) o += "<li>" + html_escape(n) + "</li>\n";
        o += "</ul>\n";
    }
    if (!confusion_panels(in).empty()) {
        o += "<h3>Confusion (test)</h3>\n<p>" + html_escape(kConfusionCaption) + "</p>\n";
        const std::string uri = data_uri(kConfusionFile, "image/svg+xml");
        if (uri.empty())
            o += "<p>(chart " + std::string(kConfusionFile) + " missing)</p>\n";
        else
            o += "<img alt=\"Confusion matrices (test)\" src=\"" + uri + "\"/>\n";
    }
    if (const Table cmp = comparison_table(in); in.potsdam_classes && !cmp.rows.empty()) {
        o += "<h2>The technical report's figures beside ours</h2>\n" + html_table(cmp);
        o += "<p class=\"note\">" + inline_md_to_html(kCaveat) + "</p>\n";
    }
    o += "<h2>Curves</h2>\n";
    if (const std::string note = loss_scale_note(in); !note.empty())
        o += "<p class=\"note\">" + html_escape(note) + "</p>\n";
    o += "<div class=\"charts\">\n";
    for (const ChartDef* d : charts_of(in)) {
        const std::string uri = data_uri(d->file, "image/svg+xml");
        if (uri.empty())
            o += "<p>(chart " + std::string(d->file) + " missing)</p>\n";
        else
            o += "<img alt=\"" + html_escape(d->title) + "\" src=\"" + uri + "\"/>\n";
    }
    o += "</div>\n";
    if (any_pictures(in)) o += "<h2>Pictures</h2>\n<p>" + html_escape(grid_caption(in)) + "</p>\n";
    for (const auto& r : in.results) {
        if (!picture_shown(in, r)) continue;
        o += "<h3>" + html_escape(picture_heading(in, r)) + "</h3>\n";
        const std::string uri = data_uri(r.grid_png, "image/png");
        if (uri.empty())
            o += "<p>(picture " + html_escape(r.grid_png) + " missing)</p>\n";
        else
            o += "<img alt=\"" + html_escape(r.id) + "\" src=\"" + uri + "\"/>\n";
    }
    o += "</body>\n</html>\n";
    return o;
}

std::string render_results_csv(const ReportInput& in) {
    const auto columns = class_columns(in);
    auto num = [](double v) {
        if (!std::isfinite(v)) return std::string();
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.6g", v);
        return std::string(buf);
    };
    std::string o =
        "id,status,current,labels,labelled_fraction_sparse,labelled_fraction,link_purity,final_"
        "train_loss,"
        "val_loss,val_loss_dense,val_miou,test_miou,test_miou_no_clutter,test_oa,test_mean_f1";
    // The whole header cell is one field: quoting only the name ("iou_\"a, b\"") split it.
    for (const auto& n : columns) o += "," + csv_field("iou_" + n);
    for (const auto& n : columns) o += "," + csv_field("f1_" + n);
    o += ",final_train_crf_loss,seconds_per_epoch,selected_epoch,test_miou_ci95_lo,"
         "test_miou_ci95_hi,wall_seconds,description,settings_that_differ,group,seed";
    // Each class's IoU interval last, so the columns of older files keep their places.
    for (const auto& n : columns)
        o += "," + csv_field("iou_" + n + "_ci95_lo") + "," + csv_field("iou_" + n + "_ci95_hi");
    o += "\n";
    const auto settings = distinguishing_settings(in.results);
    for (std::size_t i = 0; i < in.results.size(); ++i) {
        const ExperimentResult& r = in.results[i];
        // A failed experiment measured nothing: its cells stay empty, never 0.
        auto metric = [&](double v) { return ok(r) ? num(v) : std::string(); };
        // current: false for a result of an earlier run with other settings than the suite's now.
        o += csv_field(r.id) + "," + r.status + "," + (current(in, r) ? "true" : "false") + "," +
             csv_field(r.labels) + "," + metric(r.labelled_fraction_sparse) + "," +
             metric(r.labelled_fraction) + "," + metric(r.link_purity) + "," +
             metric(r.final_train_loss) + "," + metric(r.val_loss) + "," +
             metric(r.val_loss_dense) + "," + metric(r.val_miou) + "," + metric(r.test.miou) + "," +
             metric(miou_without_clutter(in, r)) + "," + metric(r.test.oa) + "," +
             metric(r.test.mean_f1);
        for (const auto& n : columns) (o += ",") += metric(class_value(r, r.test.iou, n));
        for (const auto& n : columns) (o += ",") += metric(class_value(r, r.test.f1, n));
        o += "," + metric(final_crf(r)) + "," + metric(seconds_per_epoch(r));
        o += "," + (ok(r) ? std::to_string(r.selected_epoch) : std::string());
        for (std::size_t k = 0; k < 2; ++k)
            (o += ",") +=
                ok(r) && r.test_miou_ci95.size() == 2 ? num(r.test_miou_ci95[k]) : std::string();
        std::string differ;  // "; " apart: a value may hold commas ([500, 1000])
        for (const std::string& s : settings[i]) (differ += differ.empty() ? "" : "; ") += s;
        o += "," + num(r.wall_seconds) + "," + csv_field(r.description) + "," + csv_field(differ);
        // The experiment a run of a suite with seeds is one seed of, and that seed.
        o += "," + csv_field(r.group) + "," + (r.seed >= 0 ? std::to_string(r.seed) : "");
        for (const auto& n : columns) {
            (o += ",") += metric(class_value(r, r.test_iou_ci95_lo, n));
            (o += ",") += metric(class_value(r, r.test_iou_ci95_hi, n));
        }
        o += "\n";
    }
    return o;
}

nlohmann::json render_results_json(const ReportInput& in) {
    nlohmann::json ex = nlohmann::json::array();
    const auto settings = distinguishing_settings(in.results);
    for (std::size_t i = 0; i < in.results.size(); ++i) {
        ex.push_back(to_json(in.results[i]));
        ex.back()["current"] = current(in, in.results[i]);  // false: an earlier run's settings
        ex.back()["settings_that_differ"] = settings[i];
    }
    nlohmann::json paired = nlohmann::json::array();
    for (const PairedDifference& p : pairs_of(in))
        paired.push_back({{"a", in.results[p.a].id},
                          {"b", in.results[p.b].id},
                          {"miou_a_minus_b", p.d.diff},
                          {"ci95", {p.d.lo, p.d.hi}},
                          {"p", p.d.p},
                          {"holds_after_holm", p.d.holm},
                          {"units", p.d.units},
                          {"resamples", p.d.resamples}});
    nlohmann::json not_run = nlohmann::json::array();
    for (const auto& [id, why] : in.not_run) not_run.push_back({{"id", id}, {"reason", why}});
    // Over seeds: each experiment's scores, and their differences.
    const std::vector<SeedGroup> groups = groups_of(in);
    auto spread_json = [](const Spread& sp) {
        return nlohmann::json{{"mean", json_number(sp.mean)},
                              {"sd", json_number(sp.sd)},
                              {"min", json_number(sp.min)},
                              {"max", json_number(sp.max)},
                              {"n", sp.n}};
    };
    nlohmann::json over_seeds = nlohmann::json::array();
    for (const SeedGroup& g : groups) {
        auto over = [&](auto&& value) {
            return spread_json(spread_of(values_of(in.results, g, value)));
        };
        std::vector<std::string> runs;
        for (const std::size_t i : g.members) runs.push_back(in.results[i].id);
        nlohmann::json iou = nlohmann::json::object();
        for (const auto& n : class_columns(in))
            iou[n] = over([&](const ExperimentResult& r) { return class_value(r, r.test.iou, n); });
        over_seeds.push_back(
            {{"id", g.id},
             {"seeds", g.seeds},
             {"runs", runs},
             {"failed", g.failed},
             {"stale_not_counted", g.left_out},
             {"not_run", not_run_of(in, g)},
             {"test_miou", over([](const ExperimentResult& r) { return r.test.miou; })},
             {"test_miou_no_clutter",
              over([&](const ExperimentResult& r) { return miou_without_clutter(in, r); })},
             {"val_miou", over([](const ExperimentResult& r) { return r.val_miou; })},
             {"test_oa", over([](const ExperimentResult& r) { return r.test.oa; })},
             {"test_iou", iou}});
    }
    nlohmann::json seeded = nlohmann::json::array();
    for (const SeededDifference& p :
         groups.empty() ? std::vector<SeededDifference>{} : seeded_pairs_of(in, groups))
        seeded.push_back({{"a", groups[p.a].id},
                          {"b", groups[p.b].id},
                          {"miou_a_minus_b", p.d.diff},
                          {"ci95", {p.d.lo, p.d.hi}},
                          {"p", p.d.p},
                          {"holds_after_holm", p.d.holm},
                          {"seeds", p.d.seeds},
                          {"units", p.d.units},
                          {"resamples", p.d.resamples}});
    return {{"suite", in.title},
            {"pfce", pfce_version_text()},  // the build that wrote this file (each result: its own)
            {"description", in.description},
            {"suite_file", in.suite_file},
            {"data", in.data_summary},
            {"device", in.device},
            {"generated", in.generated_at},
            {"clutter_class", in.clutter_class},
            {"complete", in.not_run.empty()},
            {"not_run", not_run},
            {"paired_differences", paired},
            {"over_seeds", over_seeds},
            {"paired_differences_over_seeds", seeded},
            {"experiments", ex}};
}

// What results.json records of a report document, to tell an edit from pfce's own text.
static std::string content_hash(const std::string& text) {
    return hex64(fnv1a64(text.data(), text.size()));
}

// The hash of a file's content, "" when it cannot be read.
static std::string file_content_hash(const std::string& path) {
    try {
        return content_hash(read_whole_file(path));
    } catch (const std::exception&) {
        return "";
    }
}

ReportFileHashes edited_report_hashes(const std::string& out_dir) {
    ReportFileHashes h;
    for (const std::string& f : edited_report_files(out_dir)) h[f] = file_content_hash(f);
    return h;
}

// results.json in out_dir, an empty object where there is none (no report yet) or it does not
// parse (said by the run that reads it).
static nlohmann::json results_record(const std::string& out_dir) {
    const std::filesystem::path file = std::filesystem::path(out_dir) / "results.json";
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) return nlohmann::json::object();
    try {
        nlohmann::json results = nlohmann::json::parse(read_whole_file(file.string()));
        if (results.is_object()) return results;
    } catch (const std::exception&) {
    }
    return nlohmann::json::object();
}

void mark_result_being_rerun(const std::string& out_dir, const std::string& id) {
    nlohmann::json results = results_record(out_dir);
    if (results.empty()) return;
    results["complete"] = false;
    if (!results["not_run"].is_array()) results["not_run"] = nlohmann::json::array();
    results["not_run"].push_back(
        {{"id", id},
         {"reason",
          "being run again by pfce run --force, its earlier result removed (a run "
          "stopped before it ends leaves it without one: run it again)"}});
    if (results["experiments"].is_array())
        for (nlohmann::json& e : results["experiments"])
            if (e.is_object() && e.value("id", std::string()) == id) e["current"] = false;
    write_text_atomically((std::filesystem::path(out_dir) / "results.json").string(),
                          results.dump(2) + "\n");
}

// record[key] where it is an object, else an empty object (a record of an older pfce).
static nlohmann::json object_at(const nlohmann::json& record, const char* key) {
    const auto found = record.find(key);
    return found != record.end() && found->is_object() ? *found : nlohmann::json::object();
}

std::map<std::string, std::string> write_report(const std::string& out_dir,
                                                const ReportInput& given,
                                                const ReportFileHashes& replaceable) {
    ReportInput in = given;
    if (!in.paired)
        in.paired = std::make_shared<const std::vector<PairedDifference>>(
            paired_differences(in.results, in.clutter_class));
    if (!in.paired_seeds)
        in.paired_seeds = std::make_shared<const std::vector<SeededDifference>>(
            paired_differences_across_seeds(in.results, groups_of(in), in.clutter_class));
    std::filesystem::create_directories(out_dir);
    auto path = [&](const std::string& f) { return (std::filesystem::path(out_dir) / f).string(); };
    const std::vector<std::string> charts = report_chart_files(in);
    std::error_code ec;
    for (const auto& f : report_chart_files()) {
        if (std::find(charts.begin(), charts.end(), f) != charts.end())
            write_text_atomically(path(f), render_chart(in, f));
        else  // an earlier report's chart of what no experiment now has (OUT's names are pfce's)
            std::filesystem::remove(path(f), ec);
    }
    if (const std::vector<ConfusionPanel> panels = confusion_panels(in); !panels.empty())
        write_text_atomically(path(kConfusionFile), render_confusion_svg(panels));
    else
        std::filesystem::remove(path(kConfusionFile), ec);
    const std::pair<const char*, std::string> documents[] = {
        {"results.csv", render_results_csv(in)},
        {"report.md", render_report_markdown(in)},
        {"report.html", render_report_html(in, out_dir)}};
    // A document edited since the run began (a person reading the last report meanwhile) is kept,
    // the new one written beside it; the next run refuses until it is moved away. --force
    // replaces only the edits it saw at the start, as they were then.
    std::vector<std::string> edited;
    for (const std::string& f : edited_report_files(out_dir)) {
        const auto it = replaceable.find(f);
        if (it == replaceable.end() || it->second.empty() || it->second != file_content_hash(f))
            edited.push_back(f);
        else  // --force agreed; said, so that the edit's loss is not silent
            log_warn(f,
                     ": replaced (--force); it had been edited since pfce wrote it, or its "
                     "record in results.json was missing");
    }
    nlohmann::json results = render_results_json(in);
    // results.json goes in first, then the documents, each a rename: a kill between two renames
    // (kill -9, power loss) leaves each document either as pfce wrote it before, whose hash is kept
    // as "report_files_before", or new, whose hash is "report_files": neither reads as an edit to
    // the next run (before, it refused the run as if report.md had been edited by hand).
    const nlohmann::json before = recorded_report_hashes(out_dir);
    const nlohmann::json written_new = object_at(results_record(out_dir), "report_files_new");
    StagedFiles staged;
    const std::string results_tmp = staged.stage(path("results.json"));
    std::vector<std::pair<std::string, const std::string*>> targets;
    // NAME.new that an earlier run wrote beside an edited NAME, now that NAME is written again
    // (the edit moved away, or --force): stale, removed once the new documents are in. Only what
    // pfce wrote there (results.json "report_files_new") or this report's own text; a NAME.new
    // someone edited, or copied there, stays.
    std::vector<std::string> stale_new;
    std::map<std::string, std::string> written;
    for (const auto& [name, text] : documents) {
        results["report_files"][name] = content_hash(text);
        std::string target = path(name);
        if (std::find(edited.begin(), edited.end(), target) != edited.end()) {
            log_warn(target, " was changed during this run: kept; the new one is ", target, ".new");
            target += ".new";
            results["report_files_new"][name] = content_hash(text);
        } else {
            if (const auto it = before.find(name); it != before.end() && it->is_string())
                results["report_files_before"][name] = *it;
            const std::string new_file = target + ".new";
            const auto was_new = written_new.find(name);
            if (std::filesystem::is_regular_file(new_file, ec) &&
                !std::filesystem::is_symlink(new_file, ec)) {
                const std::string hash = file_content_hash(new_file);
                if (hash == content_hash(text) ||
                    (was_new != written_new.end() && was_new->is_string() &&
                     hash == was_new->get<std::string>()))
                    stale_new.push_back(new_file);
            }
        }
        targets.emplace_back(target, &text);
        written[name] = target;
    }
    write_text_atomically(results_tmp, results.dump(2) + "\n");
    for (const auto& [target, text] : targets) write_text_atomically(staged.stage(target), *text);
    staged.commit(/*replace=*/true);
    for (const std::string& f : stale_new) std::filesystem::remove(f, ec);
    return written;
}

nlohmann::json recorded_report_hashes(const std::string& out_dir) {
    return object_at(results_record(out_dir), "report_files");
}

// The report's documents there now.
static std::vector<std::string> report_documents_in(const std::string& out_dir) {
    std::vector<std::string> found;
    std::error_code ec;
    for (const char* name : {"results.csv", "report.md", "report.html"}) {
        const std::filesystem::path file = std::filesystem::path(out_dir) / name;
        if (std::filesystem::is_regular_file(file, ec)) found.push_back(file.string());
    }
    return found;
}

// Whether results.json is there and reads as a JSON object.
static bool results_record_readable(const std::string& out_dir) {
    const std::filesystem::path file = std::filesystem::path(out_dir) / "results.json";
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) return false;
    try {
        return nlohmann::json::parse(read_whole_file(file.string())).is_object();
    } catch (const std::exception&) {
        return false;
    }
}

bool report_without_record(const std::string& out_dir) {
    // In a suite's OUT only (its marker): documents in another directory are no report of pfce's,
    // and claiming OUT refuses them as files pfce did not write.
    return output_dir_kind(out_dir).rfind("run of suite", 0) == 0 &&
           !report_documents_in(out_dir).empty() && !results_record_readable(out_dir);
}

std::vector<std::string> edited_report_files(const std::string& out_dir) {
    // results.json goes in before the documents (write_report): documents without it are not
    // known to be pfce's text.
    if (report_without_record(out_dir)) return report_documents_in(out_dir);
    std::vector<std::string> edited;
    const std::filesystem::path dir(out_dir);
    std::error_code ec;
    const nlohmann::json record = results_record(out_dir);
    const nlohmann::json files = object_at(record, "report_files");
    const nlohmann::json before = object_at(record, "report_files_before");
    for (const auto& [name, hash] : files.items()) {
        const std::filesystem::path file = dir / name;
        if (name.find('/') != std::string::npos || !hash.is_string() ||
            !std::filesystem::is_regular_file(file, ec))
            continue;  // removed: nothing to lose
        std::string text;
        try {
            text = read_whole_file(file.string());
        } catch (const std::exception&) {
            continue;
        }
        // pfce's text: this report's, or the one before it (a write cut short between renames).
        const std::string now = content_hash(text);
        const bool earlier = before.contains(name) && before[name].is_string() &&
                             before[name].get<std::string>() == now;
        if (now != hash.get<std::string>() && !earlier) edited.push_back(file.string());
    }
    return edited;
}

}  // namespace pfce
