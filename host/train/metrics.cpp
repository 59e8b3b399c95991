// Metrics from the confusion matrix; NaN-aware means (classes absent from truth and prediction).
#include "host/train/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/error.hpp"
#include "core/text.hpp"

namespace pfce {

namespace {

double nan_mean(const std::vector<double>& v, int skip = -1) {
    double s = 0;
    int n = 0;
    for (int i = 0; i < static_cast<int>(v.size()); ++i) {
        if (i == skip || std::isnan(v[static_cast<std::size_t>(i)])) continue;
        s += v[static_cast<std::size_t>(i)];
        ++n;
    }
    return n ? s / n : std::numeric_limits<double>::quiet_NaN();
}

nlohmann::json num(double x) {
    return std::isnan(x) ? nlohmann::json() : nlohmann::json(x);
}

}  // namespace

SegMetrics metrics_from_confusion(const std::vector<std::int64_t>& confusion, int num_classes,
                                  int clutter_class) {
    const std::size_t C = static_cast<std::size_t>(num_classes);
    PFCE_CHECK_SHAPE(num_classes > 0 && confusion.size() == C * C, "confusion has ",
                     confusion.size(), " entries for ", num_classes, " classes");
    SegMetrics m;
    m.num_classes = num_classes;
    m.confusion = confusion;
    std::vector<std::int64_t> row(C, 0), col(C, 0);
    std::int64_t diag = 0;
    for (std::size_t t = 0; t < C; ++t)
        for (std::size_t p = 0; p < C; ++p) {
            const std::int64_t n = confusion[t * C + p];
            row[t] += n;
            col[p] += n;
            m.pixels += n;
            if (t == p) diag += n;
        }
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (std::size_t c = 0; c < C; ++c) {
        const double tp = static_cast<double>(confusion[c * C + c]);
        const double fn = static_cast<double>(row[c]) - tp, fp = static_cast<double>(col[c]) - tp;
        const double uni = tp + fp + fn;
        m.iou.push_back(uni > 0 ? tp / uni : nan);
        m.f1.push_back(uni > 0 ? 2 * tp / (2 * tp + fp + fn) : nan);
    }
    m.miou = nan_mean(m.iou);
    m.miou_no_clutter = clutter_class >= 0 ? nan_mean(m.iou, clutter_class)
                                           : std::numeric_limits<double>::quiet_NaN();
    m.mean_f1 = nan_mean(m.f1);
    m.oa = m.pixels > 0 ? static_cast<double>(diag) / static_cast<double>(m.pixels) : nan;
    return m;
}

nlohmann::json to_json(const SegMetrics& m, const std::vector<std::string>& class_names) {
    nlohmann::json iou = nlohmann::json::array(), f1 = nlohmann::json::array();
    for (std::size_t c = 0; c < m.iou.size(); ++c) {
        iou.push_back(num(m.iou[c]));
        f1.push_back(num(m.f1[c]));
    }
    nlohmann::json j = {{"miou", num(m.miou)}, {"miou_no_clutter", num(m.miou_no_clutter)},
                        {"oa", num(m.oa)},     {"mean_f1", num(m.mean_f1)},
                        {"iou", iou},          {"f1", f1},
                        {"pixels", m.pixels}};
    if (!class_names.empty()) j["classes"] = class_names;
    if (!m.confusion.empty()) j["confusion"] = confusion_rows(m.confusion, m.num_classes);
    return j;
}

nlohmann::json confusion_rows(const std::vector<std::int64_t>& confusion, int num_classes) {
    const std::size_t C = static_cast<std::size_t>(std::max(num_classes, 0));
    PFCE_CHECK_SHAPE(confusion.size() == C * C, "confusion has ", confusion.size(), " entries for ",
                     num_classes, " classes");
    nlohmann::json rows = nlohmann::json::array();
    for (std::size_t t = 0; t < C; ++t)
        rows.push_back(std::vector<std::int64_t>(
            confusion.begin() + static_cast<std::ptrdiff_t>(t * C),
            confusion.begin() + static_cast<std::ptrdiff_t>((t + 1) * C)));
    return rows;
}

std::string format_metrics_table(const SegMetrics& m, const std::vector<std::string>& class_names,
                                 int clutter_class) {
    std::string out;
    char line[512];
    std::snprintf(line, sizeof line, "%-22s %8s %8s\n", "class", "IoU", "F1");
    out += line;
    std::string absent;  // classes neither in the truth nor predicted: no IoU, not in the means
    std::string only_predicted;  // absent from the truth but predicted: IoU 0, in the means
    const std::size_t C = m.iou.size();
    const bool counts = m.confusion.size() == C * C;
    std::size_t scored = 0;
    for (std::size_t c = 0; c < m.iou.size(); ++c) {
        const std::string name =
            c < class_names.size() ? class_names[c] : "class " + std::to_string(c);
        if (std::isnan(m.iou[c])) {
            std::snprintf(line, sizeof line, "%s %8s %8s  (absent)\n", padded(name, 22).c_str(),
                          "-", "-");
            absent += (absent.empty() ? "" : ", ") + name;
        } else {
            std::snprintf(line, sizeof line, "%s %8.4f %8.4f\n", padded(name, 22).c_str(), m.iou[c],
                          m.f1[c]);
            ++scored;
            std::int64_t truth = 0, predicted = 0;
            for (std::size_t k = 0; counts && k < C; ++k) {
                truth += m.confusion[c * C + k];
                predicted += m.confusion[k * C + c];
            }
            if (counts && truth == 0 && predicted > 0)
                only_predicted += (only_predicted.empty() ? "" : ", ") + name + " (" +
                                  std::to_string(predicted) +
                                  (predicted == 1 ? " pixel)" : " pixels)");
        }
        out += line;
    }
    std::snprintf(line, sizeof line, "%-22s %8.4f\n", "mIoU", m.miou);
    out += line;
    if (!absent.empty()) {
        out += "  (the means are over the " + std::to_string(scored) + " classes in the truth or ";
        out += "the predictions; absent from both: " + absent + ")\n";
    }
    // A class the truth lacks but a few pixels predict scores 0 and pulls the means down: said,
    // so that a low mIoU on a small split is read for what it is.
    if (!only_predicted.empty())
        out += "  (absent from the truth but predicted, so IoU 0 in the means: " + only_predicted +
               ")\n";
    // Only a dataset with a clutter class has a mean without it (else it is the mIoU again).
    if (clutter_class >= 0 && static_cast<std::size_t>(clutter_class) < m.iou.size()) {
        const std::string name = static_cast<std::size_t>(clutter_class) < class_names.size()
                                     ? class_names[static_cast<std::size_t>(clutter_class)]
                                     : "clutter";
        std::snprintf(line, sizeof line, "%s %8.4f\n", padded("mIoU w/o " + name, 22).c_str(),
                      m.miou_no_clutter);
        out += line;
    }
    std::snprintf(line, sizeof line, "%-22s %8.4f\n%-22s %8.4f\n%-22s %8lld\n", "overall accuracy",
                  m.oa, "mean F1", m.mean_f1, "pixels", static_cast<long long>(m.pixels));
    out += line;
    return out;
}

}  // namespace pfce
