// Per-image scores of an evaluation, and their CSV.
#include "host/train/image_scores.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "data/dataset.hpp"

namespace pfce {

namespace {

// The q-th quantile of `sorted` (ascending, not empty) by the nearest rank: what the bootstrap
// intervals take at 2.5% and 97.5%.
double nearest_rank(const std::vector<double>& sorted, double q) {
    const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
    return sorted[std::min(sorted.size() - 1, i > 0 ? i - 1 : 0)];
}

std::string csv_number(double x) {
    if (std::isnan(x)) return {};
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6f", x);
    return buf;
}

}  // namespace

std::string csv_field(const std::string& s) {
    const bool quote = s.find_first_of(",\"\r\n") != std::string::npos ||
                       (!s.empty() && (s.front() == ' ' || s.back() == ' '));
    if (!quote) return s;
    std::string q = "\"";
    for (const char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

std::vector<ImageScore> image_scores(const std::vector<std::string>& ids,
                                     const std::vector<std::vector<std::int64_t>>& confusions,
                                     int num_classes, int clutter_class) {
    PFCE_CHECK_SHAPE(ids.size() == confusions.size(), ids.size(), " ids for ", confusions.size(),
                     " confusion matrices");
    std::vector<ImageScore> scores;
    scores.reserve(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i)
        scores.push_back(
            {ids[i], metrics_from_confusion(confusions[i], num_classes, clutter_class)});
    return scores;
}

std::string image_scores_csv(const std::vector<ImageScore>& scores,
                             const std::vector<std::string>& class_names, int clutter_class) {
    std::string out = "id,pixels,oa,miou";
    if (clutter_class >= 0) out += ",miou_no_clutter";
    out += ",mean_f1";
    for (const char* what : {"iou_", "f1_", "tp_", "fp_", "fn_"})
        for (const std::string& name : class_names) {
            out += ',';
            out += csv_field(what + name);
        }
    out += '\n';
    const std::size_t nc = class_names.size();
    for (const ImageScore& s : scores) {
        const SegMetrics& m = s.metrics;
        const bool scored = m.pixels > 0;
        auto cell = [&](double x) {
            out += ',';
            if (scored) out += csv_number(x);
        };
        out += csv_field(s.id);
        out += ',';
        out += std::to_string(m.pixels);
        cell(m.oa);
        cell(m.miou);
        if (clutter_class >= 0) cell(m.miou_no_clutter);
        cell(m.mean_f1);
        for (const std::vector<double>* per_class : {&m.iou, &m.f1})
            for (std::size_t c = 0; c < nc; ++c)
                cell(c < per_class->size() ? (*per_class)[c] : std::nan(""));
        // The counts behind them, summable over any subset of the images (their sums over all
        // are the split's): a class's true positives, false positives (predicted, another in the
        // truth) and false negatives (in the truth, another predicted).
        std::vector<std::int64_t> tp(nc, 0), fp(nc, 0), fn(nc, 0);
        if (m.confusion.size() == nc * nc)
            for (std::size_t t = 0; t < nc; ++t)
                for (std::size_t p = 0; p < nc; ++p) {
                    const std::int64_t n = m.confusion[t * nc + p];
                    (t == p ? tp[t] : fn[t]) += n;
                    if (t != p) fp[p] += n;
                }
        for (const std::vector<std::int64_t>* counts : {&tp, &fp, &fn})
            for (const std::int64_t n : *counts) {
                out += ',';
                out += std::to_string(n);
            }
        out += '\n';
    }
    return out;
}

std::vector<std::size_t> lowest_miou_order(const std::vector<ImageScore>& scores, std::size_t n) {
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < scores.size(); ++i)
        if (scores[i].metrics.pixels > 0 && !std::isnan(scores[i].metrics.miou)) order.push_back(i);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return scores[a].metrics.miou < scores[b].metrics.miou;
    });
    if (order.size() > n) order.resize(n);
    return order;
}

std::string lowest_miou(const std::vector<ImageScore>& scores, std::size_t n) {
    const std::vector<std::size_t> order = lowest_miou_order(scores, n);
    std::string out;
    char value[32];
    for (std::size_t k = 0; k < order.size(); ++k) {
        std::snprintf(value, sizeof value, " %.4f", scores[order[k]].metrics.miou);
        if (!out.empty()) out += ", ";
        out += csv_field(scores[order[k]].id);  // an id holding ", " stays one
        out += value;
    }
    return out;
}

std::vector<std::vector<std::int64_t>> confusions_by_tile(
    const std::vector<std::string>& ids, const std::vector<std::vector<std::int64_t>>& confusions,
    std::vector<std::string>* tile_ids) {
    PFCE_CHECK_SHAPE(ids.size() == confusions.size(), ids.size(), " ids for ", confusions.size(),
                     " confusion matrices");
    std::map<std::string, std::vector<std::int64_t>> tiles;
    for (std::size_t k = 0; k < ids.size(); ++k) {
        std::vector<std::int64_t>& sum = tiles[tile_of(ids[k])];
        sum.resize(confusions[k].size(), 0);
        for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += confusions[k][i];
    }
    std::vector<std::vector<std::int64_t>> out;
    if (tile_ids) tile_ids->clear();
    for (auto& [tile, sum] : tiles) {
        out.push_back(std::move(sum));
        if (tile_ids) tile_ids->push_back(tile);
    }
    return out;
}

std::string few_bootstrap_units_note(std::size_t units, const char* unit_name) {
    if (units >= kFewBootstrapUnits) return {};
    std::string s = "drawn from only " + std::to_string(units) + " ";
    s += unit_name;
    s += ": a bootstrap of fewer than " + std::to_string(kFewBootstrapUnits) +
         " understates how far the score moves with other test data, however narrow the "
         "interval; test on more to read it";
    return s;
}

MiouInterval bootstrap_miou(const std::vector<std::vector<std::int64_t>>& confusions,
                            int num_classes, int clutter_class, int resamples,
                            bool without_clutter) {
    std::vector<const std::vector<std::int64_t>*> scored;
    for (const auto& c : confusions)
        if (std::any_of(c.begin(), c.end(), [](std::int64_t n) { return n > 0; }))
            scored.push_back(&c);
    if (scored.size() < 2)
        PFCE_THROW(InputError, "a bootstrap interval needs at least 2 images that label a pixel (",
                   scored.size(), " here)");
    if (resamples < 100)
        PFCE_THROW(InputError, "--bootstrap ", resamples, ": expected at least 100 resamples");
    const std::size_t cells = static_cast<std::size_t>(num_classes) * num_classes;
    std::vector<double> mious;
    mious.reserve(static_cast<std::size_t>(resamples));
    const auto classes = static_cast<std::size_t>(num_classes);
    std::vector<std::vector<double>> ious(classes);  // each class's defined IoUs over the draws
    CounterRng rng(/*seed=*/0x5eed, /*stream_a=*/0xb007);
    std::vector<std::int64_t> sum(cells);
    for (int r = 0; r < resamples; ++r) {
        std::fill(sum.begin(), sum.end(), 0);
        for (std::size_t k = 0; k < scored.size(); ++k) {
            const std::vector<std::int64_t>& c =
                *scored[rng.below(static_cast<std::uint32_t>(scored.size()))];
            for (std::size_t i = 0; i < cells; ++i) sum[i] += c[i];
        }
        const SegMetrics m = metrics_from_confusion(sum, num_classes, clutter_class);
        mious.push_back(without_clutter ? m.miou_no_clutter : m.miou);
        for (std::size_t c = 0; c < classes && c < m.iou.size(); ++c)
            if (!std::isnan(m.iou[c])) ious[c].push_back(m.iou[c]);
    }
    std::sort(mious.begin(), mious.end());
    MiouInterval out{
        nearest_rank(mious, 0.025), nearest_rank(mious, 0.975), scored.size(), resamples, {}, {}};
    for (std::vector<double>& v : ious) {
        // Defined in 95% of the draws at least: a class of one or two images is missing from
        // a third or more of them, and the percentiles of the rest would read as its spread.
        const bool enough = 20 * v.size() >= 19 * static_cast<std::size_t>(resamples);
        std::sort(v.begin(), v.end());
        out.class_lo.push_back(enough ? nearest_rank(v, 0.025) : std::nan(""));
        out.class_hi.push_back(enough ? nearest_rank(v, 0.975) : std::nan(""));
    }
    return out;
}

bool excludes_zero(const MiouDifference& d) {
    return d.units >= kMinUnitsForSignificance && (d.lo > 0 || d.hi < 0);
}

MiouDifference paired_bootstrap_miou_difference(const std::vector<std::vector<std::int64_t>>& a,
                                                const std::vector<std::vector<std::int64_t>>& b,
                                                int num_classes, int clutter_class, int resamples,
                                                int iou_class) {
    if (a.size() != b.size())
        PFCE_THROW(InputError, "a paired comparison needs the same images: ", a.size(), " and ",
                   b.size());
    return seeded_bootstrap_miou_difference({a}, {b}, num_classes, clutter_class, resamples,
                                            iou_class);
}

MiouDifference seeded_bootstrap_miou_difference(const std::vector<UnitConfusions>& a,
                                                const std::vector<UnitConfusions>& b,
                                                int num_classes, int clutter_class, int resamples,
                                                int iou_class) {
    const std::size_t seeds = a.size();
    if (seeds == 0 || b.size() != seeds)
        PFCE_THROW(InputError, "a comparison over seeds needs one run of each per seed: ", seeds,
                   " and ", b.size());
    const std::size_t units = a[0].size();
    for (std::size_t s = 0; s < seeds; ++s)
        if (a[s].size() != units || b[s].size() != units)
            PFCE_THROW(InputError, "a paired comparison needs the same images: ", a[s].size(),
                       " and ", b[s].size());
    if (resamples < 100)
        PFCE_THROW(InputError, "a paired bootstrap of ", resamples,
                   " resamples: expected at least 100");
    const std::size_t cells = static_cast<std::size_t>(num_classes) * num_classes;
    auto labels = [](const std::vector<std::int64_t>& c) {
        return std::any_of(c.begin(), c.end(), [](std::int64_t n) { return n > 0; });
    };
    std::vector<std::size_t> scored;
    for (std::size_t k = 0; k < units; ++k) {
        bool any = false;
        for (std::size_t s = 0; s < seeds; ++s) {
            PFCE_CHECK_SHAPE(a[s][k].size() == cells && b[s][k].size() == cells,
                             "confusion matrix of unit ", k, ": expected ", cells, " counts");
            any = any || labels(a[s][k]) || labels(b[s][k]);
        }
        if (any) scored.push_back(k);
    }
    if (scored.size() < 2)
        PFCE_THROW(InputError, "a paired interval needs at least 2 images that label a pixel (",
                   scored.size(), " here)");
    // Seed s's difference on the units drawn `times[n]` times each (n indexing `scored`).
    std::vector<std::int64_t> sa(cells), sb(cells);
    auto difference = [&](std::size_t s, const std::vector<std::int64_t>& times) {
        std::fill(sa.begin(), sa.end(), 0);
        std::fill(sb.begin(), sb.end(), 0);
        for (std::size_t n = 0; n < scored.size(); ++n) {
            if (times[n] == 0) continue;
            const std::vector<std::int64_t>& ca = a[s][scored[n]];
            const std::vector<std::int64_t>& cb = b[s][scored[n]];
            for (std::size_t i = 0; i < cells; ++i) {
                sa[i] += times[n] * ca[i];
                sb[i] += times[n] * cb[i];
            }
        }
        const SegMetrics ma = metrics_from_confusion(sa, num_classes, clutter_class),
                         mb = metrics_from_confusion(sb, num_classes, clutter_class);
        return iou_class < 0 ? ma.miou - mb.miou
                             : ma.iou[static_cast<std::size_t>(iou_class)] -
                                   mb.iou[static_cast<std::size_t>(iou_class)];
    };
    const std::vector<std::int64_t> once(scored.size(), 1);
    MiouDifference d;
    for (std::size_t s = 0; s < seeds; ++s) d.diff += difference(s, once);
    d.diff /= static_cast<double>(seeds);
    if (!std::isfinite(d.diff))
        PFCE_THROW(InputError,
                   "no image scored labels or predicts the class, so its IoU is "
                   "undefined under both models");
    d.units = scored.size();
    d.resamples = resamples;
    d.seeds = seeds;
    std::vector<double> diffs;
    diffs.reserve(static_cast<std::size_t>(resamples));
    CounterRng rng(/*seed=*/0x5eed, /*stream_a=*/0xd1ff);
    std::vector<std::int64_t> seed_times(seeds), times(scored.size());
    for (int r = 0; r < resamples; ++r) {
        // One seed is drawn every time: its draws take no number, so a single run's interval is
        // the paired one of the same draws.
        std::fill(seed_times.begin(), seed_times.end(), seeds == 1 ? 1 : 0);
        if (seeds > 1)
            for (std::size_t n = 0; n < seeds; ++n)
                ++seed_times[rng.below(static_cast<std::uint32_t>(seeds))];
        std::fill(times.begin(), times.end(), 0);
        for (std::size_t n = 0; n < scored.size(); ++n)
            ++times[rng.below(static_cast<std::uint32_t>(scored.size()))];
        double sum = 0;
        for (std::size_t s = 0; s < seeds; ++s)
            if (seed_times[s] > 0) sum += static_cast<double>(seed_times[s]) * difference(s, times);
        // One class's IoU is undefined on draws without it: such a draw says nothing.
        if (std::isfinite(sum)) diffs.push_back(sum / static_cast<double>(seeds));
    }
    if (diffs.size() * 2 < static_cast<std::size_t>(resamples))
        PFCE_THROW(InputError, "the class is in too few of the images scored: ",
                   resamples - static_cast<int>(diffs.size()), " of ", resamples,
                   " resamples of them hold none of it, so its IoU has no interval");
    d.resamples = static_cast<int>(diffs.size());
    const auto below = std::count_if(diffs.begin(), diffs.end(), [](double v) { return v <= 0; });
    const auto above = std::count_if(diffs.begin(), diffs.end(), [](double v) { return v >= 0; });
    d.p = std::min(1.0, 2.0 * static_cast<double>(1 + std::min(below, above)) /
                            static_cast<double>(diffs.size() + 1));
    if (d.units < kMinUnitsForSignificance) d.p = 1;  // Holm's correction marks none of them
    std::sort(diffs.begin(), diffs.end());
    d.lo = nearest_rank(diffs, 0.025);
    d.hi = nearest_rank(diffs, 0.975);
    return d;
}

std::vector<bool> holm_rejections(const std::vector<double>& p, double alpha) {
    std::vector<std::size_t> order(p.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    // Ties keep their places, so equal p-values are decided alike.
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t x, std::size_t y) { return p[x] < p[y]; });
    std::vector<bool> rejected(p.size(), false);
    const std::size_t m = p.size();
    for (std::size_t k = 0; k < m; ++k) {
        if (!(p[order[k]] <= alpha / static_cast<double>(m - k))) break;
        rejected[order[k]] = true;
    }
    return rejected;
}

}  // namespace pfce
