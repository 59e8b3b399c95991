#include "host/train/model_comparison.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <tuple>

#include "core/error.hpp"
#include "core/text.hpp"
#include "host/train/image_scores.hpp"
#include "host/train/json_number.hpp"

namespace pfce {

namespace {

std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
}

template <typename T>
std::string listed(const std::vector<T>& v) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%s%g", i ? ", " : "", static_cast<double>(v[i]));
        s += buf;
    }
    return s + "]";
}

bool defined(double v) {
    return std::isfinite(v);
}

std::string number(double v) {
    if (!defined(v)) return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f", v);
    return buf;
}

std::string signed_number(double v) {
    if (!defined(v)) return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%+.4f", v);
    return buf;
}

bool beyond_chance(const MiouDifference& d) {
    return excludes_zero(d);
}

}  // namespace

void check_comparable(const TrainedModel& model, const std::string& path, const TrainedModel& other,
                      const std::string& other_path) {
    if (other.class_names != model.class_names)
        PFCE_THROW(InputError, "--against ", other_path, " was trained for classes [",
                   joined(other.class_names), "] but ", path, " for [", joined(model.class_names),
                   "]: two models compare on the same classes only");
    // What decides which samples there are: the same dataset cut into the same windows. How each
    // model reads their pixels (bands, value range, Potsdam's image set) may differ: each is read
    // as it was trained, and eval checks that both readings give the same samples.
    const DataSettings &d = model.config.data, &o = other.config.data;
    std::vector<std::string> differ;
    auto compare = [&](const char* key, const std::string& mine, const std::string& theirs) {
        if (mine != theirs) differ.push_back(std::string(key) + " " + theirs + " (" + mine + ")");
    };
    compare("data.kind", d.kind, o.kind);
    compare("data.tile_patch", std::to_string(d.tile_patch), std::to_string(o.tile_patch));
    compare("data.tile_stride", std::to_string(d.tile_stride), std::to_string(o.tile_stride));
    if (!differ.empty()) {
        std::string list;
        for (const std::string& x : differ) list += (list.empty() ? "" : ", ") + x;
        PFCE_THROW(InputError, "--against ", other_path, " was trained on other samples than ",
                   path, ": ", list, " (its value, then this one's); the dataset is opened as ",
                   path, " opens it: compare models trained on the same samples");
    }
}

std::string image_reading_difference(const TrainedModel& model, const TrainedModel& other) {
    // Bands left out are the image's own (RGB, or gray): written out to compare.
    auto bands_of = [](const TrainedModel& m) {
        const std::vector<int>& b = m.config.data.bands;
        return b.empty() ? std::vector<int>{1, 2, 3} : b;
    };
    const DataSettings &d = model.config.data, &o = other.config.data;
    std::string differ;
    auto compare = [&](const char* key, const std::string& mine, const std::string& theirs) {
        if (mine != theirs)
            differ += (differ.empty() ? "" : ", ") + std::string(key) + " " + theirs +
                      " (this one: " + mine + ")";
    };
    compare("data.bands", listed(bands_of(model)), listed(bands_of(other)));
    compare("data.value_range", listed(d.value_range), listed(o.value_range));
    // Potsdam's image sets are the same windows of other files (RGB, IRRG, RGBIR).
    compare("data.tile_image", d.tile_image, o.tile_image);
    return differ;
}

void check_fair_images(const std::vector<std::string>& scored, const std::set<std::string>& seen,
                       const std::set<std::string>& other_seen, const std::string& path,
                       const std::string& other_path, const char* unit_name) {
    std::vector<std::string> by_other, by_this;
    for (const std::string& u : scored) {
        if (other_seen.count(u) && !seen.count(u)) by_other.push_back(u);
        if (seen.count(u) && !other_seen.count(u)) by_this.push_back(u);
    }
    for (const auto& [unfair, learnt, not_learnt] :
         {std::tuple{&by_other, &other_path, &path}, std::tuple{&by_this, &path, &other_path}})
        if (!unfair->empty())
            PFCE_THROW(
                InputError, unfair->size(), " of the ", scored.size(), " ", unit_name, " scored (",
                unfair->front(), unfair->size() > 1 ? ", ..." : "",
                ") are in the training or validation split of ", *learnt, " but not of ",
                *not_learnt,
                ": it would be scored on what it learnt from, and the comparison "
                "would flatter it. Compare on images neither trained on (train both with the "
                "same split settings or split lists, and score their test split)");
}

ModelComparison compare_models(const SegMetrics& a, const SegMetrics& b,
                               const std::vector<std::vector<std::int64_t>>& a_units,
                               const std::vector<std::vector<std::int64_t>>& b_units,
                               int clutter_class, int resamples, int interval_class) {
    ModelComparison c;
    c.a = a;
    c.b = b;
    try {
        c.d = paired_bootstrap_miou_difference(a_units, b_units, a.num_classes, clutter_class,
                                               resamples);
    } catch (const InputError& e) {
        c.d.diff = a.miou - b.miou;
        c.no_interval = e.what();
    }
    c.class_index = interval_class;
    if (interval_class >= 0) {
        const auto k = static_cast<std::size_t>(interval_class);
        try {
            c.class_d = paired_bootstrap_miou_difference(a_units, b_units, a.num_classes,
                                                         clutter_class, resamples, interval_class);
        } catch (const InputError& e) {
            c.class_d.diff = a.iou[k] - b.iou[k];
            c.class_no_interval = e.what();
        }
    }
    return c;
}

std::string format_comparison(const ModelComparison& c, const std::string& other_path,
                              const std::vector<std::string>& class_names, int clutter_class,
                              const char* unit_name) {
    // Rows named as eval's table names them, as wide as the longest class name needs.
    int width = 22;
    for (const std::string& n : class_names)
        width = std::max(width, static_cast<int>(n.size()) + 5);
    std::string o = "against " + other_path + " (B), on the same images:\n";
    char line[512];
    std::snprintf(line, sizeof line, "%-*s %8s %8s %9s\n", width, "", "this", "B", "this - B");
    o += line;
    auto row = [&](const std::string& name, double x, double y) {
        std::snprintf(line, sizeof line, "%-*s %8s %8s %9s\n", width, name.c_str(),
                      number(x).c_str(), number(y).c_str(),
                      defined(x) && defined(y) ? signed_number(x - y).c_str() : "-");
        o += line;
    };
    row("mIoU", c.a.miou, c.b.miou);
    if (clutter_class >= 0) row("mIoU w/o clutter", c.a.miou_no_clutter, c.b.miou_no_clutter);
    row("OA", c.a.oa, c.b.oa);
    for (std::size_t k = 0; k < class_names.size() && k < c.a.iou.size(); ++k)
        row("IoU " + class_names[k], c.a.iou[k], c.b.iou[k]);
    if (c.d.units == 0) {
        o += "no paired interval: " + c.no_interval + "\n";
        return o;
    }
    // An interval and whether chance alone could make the difference it brackets.
    const auto interval = [&](const std::string& what, const MiouDifference& d) {
        std::snprintf(line, sizeof line,
                      "%-*s [%+.4f, %+.4f]  (95%%: paired bootstrap of %zu %s, %d resamples)\n",
                      width, (what + " this - B interval").c_str(), d.lo, d.hi, d.units, unit_name,
                      d.resamples);
        o += line;
        if (d.units < kMinUnitsForSignificance)
            o += detail::concat("the difference cannot be told from chance on ", d.units, " ",
                                unit_name, " (it takes ", kMinUnitsForSignificance,
                                " at the least, whatever the interval)\n");
        else
            o += beyond_chance(d)
                     ? "the difference is beyond the test set's chance: the interval excludes 0\n"
                     : "the difference is within chance: the test set alone could make it\n";
    };
    interval("mIoU", c.d);
    if (c.class_index >= 0) {
        const std::string name = "IoU " + class_names[static_cast<std::size_t>(c.class_index)];
        if (c.class_d.units > 0)
            interval(name, c.class_d);
        else
            o += "no paired interval of the " + name + ": " + c.class_no_interval + "\n";
    }
    // What it cannot say: two trainings of one setting differ by as much (three seeds of the
    // synthetic suite's e6 scored 0.774, 0.799 and 0.822, docs/seeds-synthetic-small).
    o += "(one training of each: another seed moves a model too, which this interval does not "
         "hold; pfce run --seeds measures it)\n";
    const std::string few = few_bootstrap_units_note(c.d.units, unit_name);
    if (!few.empty()) o += "the interval is " + few + "\n";
    return o;
}

nlohmann::json comparison_json(const ModelComparison& c, const std::string& other_path,
                               const std::vector<std::string>& class_names, const char* unit_name) {
    nlohmann::json j = {{"checkpoint", other_path},
                        {"metrics", to_json(c.b, class_names)},
                        {"miou_difference", json_number(c.a.miou - c.b.miou)}};
    if (c.d.units > 0) {
        j["miou_difference_ci95"] = {c.d.lo, c.d.hi};
        j["beyond_chance"] = beyond_chance(c.d);
        j["bootstrap"] = {{"resamples", c.d.resamples}, {unit_name, c.d.units}};
    } else {
        j["no_interval"] = c.no_interval;
    }
    if (c.class_index >= 0) {
        nlohmann::json k = {{"class", class_names[static_cast<std::size_t>(c.class_index)]},
                            {"difference", json_number(c.class_d.diff)}};
        if (c.class_d.units > 0) {
            k["ci95"] = {c.class_d.lo, c.class_d.hi};
            k["beyond_chance"] = beyond_chance(c.class_d);
            k["resamples"] = c.class_d.resamples;
        } else {
            k["no_interval"] = c.class_no_interval;
        }
        j["iou_difference"] = k;
    }
    return j;
}

}  // namespace pfce
