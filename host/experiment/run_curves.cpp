// Run curves: three line charts (host/experiment/svg_chart) nested in one SVG.
#include "host/experiment/run_curves.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>

#include "core/file_io.hpp"
#include "core/log.hpp"
#include "host/experiment/svg_chart.hpp"

namespace pfce {

namespace {

constexpr int kWidth = 760, kChartHeight = 300, kTitleHeight = 54;

double number_or_nan(const nlohmann::json& line, const char* key) {
    const auto it = line.find(key);
    return it != line.end() && it->is_number() ? it->get<double>()
                                               : std::numeric_limits<double>::quiet_NaN();
}

// A series of `key` over the epochs; none where no epoch has a number for it.
void add_series(ChartSpec& spec, const std::vector<nlohmann::json>& epochs, const char* key,
                const std::string& name) {
    ChartSeries s;
    s.name = name;
    bool any = false;
    for (const nlohmann::json& e : epochs) {
        s.x.push_back(e.at("epoch").get<double>());
        s.y.push_back(number_or_nan(e, key));
        any = any || std::isfinite(s.y.back());
    }
    if (any) spec.series.push_back(std::move(s));
}

// A one-point series at the last epoch marked best (its line's "best": the checkpoint best.ckpt
// holds), at its value of `key`.
void add_best_marker(ChartSpec& spec, const std::vector<nlohmann::json>& epochs, const char* key) {
    for (auto e = epochs.rbegin(); e != epochs.rend(); ++e)
        if (e->value("best", false)) {
            const double y = number_or_nan(*e, key);
            if (!std::isfinite(y)) return;
            spec.series.push_back({"best.ckpt", {e->at("epoch").get<double>()}, {y}, {}, {}});
            return;
        }
}

// A learning rate over more than a decade (step decay, a plateau's cuts) drawn as log10: linear,
// 1e-4 and 1e-5 both read as 0.
void log_scale_if_wide(ChartSpec& spec) {
    double lo = std::numeric_limits<double>::infinity(), hi = 0;
    for (const ChartSeries& s : spec.series)
        for (const double y : s.y)
            if (std::isfinite(y) && y > 0) {
                lo = std::min(lo, y);
                hi = std::max(hi, y);
            }
    if (!(hi > 10 * lo)) return;
    for (ChartSeries& s : spec.series) {
        for (double& y : s.y) y = y > 0 ? std::log10(y) : std::numeric_limits<double>::quiet_NaN();
        s.name += " (log10)";
    }
    spec.y_label = "log10(lr)";
    spec.y_from_zero = false;
}

// `svg` (a whole chart) placed at y0 inside the outer picture.
std::string nested_at(const std::string& svg, int y0) {
    const std::string open = "<svg ";
    const std::size_t at = svg.find(open);
    if (at == std::string::npos) return svg;
    return svg.substr(0, at) + "<svg x=\"0\" y=\"" + std::to_string(y0) + "\" " +
           svg.substr(at + open.size());
}

}  // namespace

std::string render_run_curves_svg(const std::vector<nlohmann::json>& all, const std::string& title,
                                  const std::string& subtitle) {
    std::vector<nlohmann::json> epochs;
    for (const nlohmann::json& e : all)
        if (e.is_object() && e.contains("epoch") && e.at("epoch").is_number()) epochs.push_back(e);
    // The best checkpoint's epoch is marked on the validation mIoU, or without validation on the
    // training loss (what chose it then).
    const bool validated = std::any_of(epochs.begin(), epochs.end(), [](const nlohmann::json& e) {
        return std::isfinite(number_or_nan(e, "val_miou"));
    });
    // A validation loss without an mIoU: images without dense masks, validated on their points;
    // best.ckpt follows that loss.
    const bool val_loss_only =
        !validated && std::any_of(epochs.begin(), epochs.end(), [](const nlohmann::json& e) {
            return std::isfinite(number_or_nan(e, "val_loss"));
        });
    // The charts, one under the other, and the metrics.jsonl keys each draws.
    struct Curve {
        const char* key;
        const char* name;
    };
    struct CurveChart {
        const char* title;
        const char* y_label;
        std::vector<Curve> curves;
    };
    static const CurveChart charts[] = {
        {"loss",
         "loss",
         {{"train_loss", "train (labels)"},
          {"val_loss", "val (labels)"},
          {"val_loss_dense", "val (dense)"},
          {"train_crf_loss", "train CRF term"}}},
        {"validation on dense masks",
         "score",
         {{"val_miou", "mIoU"},
          {"val_miou_no_clutter", "mIoU w/o clutter"},
          {"val_oa", "overall accuracy"},
          {"val_mean_f1", "mean F1"}}},
        {"learning rate (at the epoch's end)", "lr", {{"lr", "lr"}}},
    };
    std::string o =
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(kWidth) +
        "\" height=\"" +
        std::to_string(kTitleHeight + static_cast<int>(std::size(charts)) * kChartHeight) + "\">\n";
    o += std::string(kRunCurvesMarker) + "\n";
    o += "<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    o += "<text x=\"" + std::to_string(kWidth / 2) +
         "\" y=\"24\" text-anchor=\"middle\" font-family=\"Helvetica, Arial, sans-serif\" "
         "font-size=\"16\">" +
         xml_escape(title) + "</text>\n";
    // A subtitle wider than the picture (a long data path, many settings) is squeezed to fit
    // rather than clipped at both ends (walkthrough): about 6.6 px a character at 12 px.
    const int room = kWidth - 20;
    const std::string squeeze =
        static_cast<double>(subtitle.size()) * 6.6 > room
            ? " textLength=\"" + std::to_string(room) + "\" lengthAdjust=\"spacingAndGlyphs\""
            : std::string();
    o += "<text x=\"" + std::to_string(kWidth / 2) +
         "\" y=\"44\" text-anchor=\"middle\" font-family=\"Helvetica, Arial, sans-serif\" "
         "font-size=\"12\" fill=\"#444444\"" +
         squeeze + ">" + xml_escape(subtitle) + "</text>\n";
    int y0 = kTitleHeight;
    for (const CurveChart& chart : charts) {
        ChartSpec spec;
        spec.title = chart.title;
        // A run without a validation split has nothing to draw there: said in the title (its
        // empty chart read as a failure to draw).
        if (&chart == &charts[1] && !validated && !epochs.empty())
            spec.title += val_loss_only ? " (no dense mask labels a pixel: best.ckpt follows the "
                                          "validation loss)"
                                        : " (no validation: best.ckpt follows the training loss)";
        spec.x_label = "epoch";
        spec.y_label = chart.y_label;
        spec.y_from_zero = true;
        spec.width = kWidth;
        spec.height = kChartHeight;
        for (const Curve& c : chart.curves) add_series(spec, epochs, c.key, c.name);
        if (&chart == &charts[1] || (&chart == &charts[0] && !validated))
            add_best_marker(spec, epochs,
                            &chart == &charts[1] ? "val_miou"
                            : val_loss_only      ? "val_loss"
                                                 : "train_loss");
        if (&chart == &charts[2]) log_scale_if_wide(spec);
        o += nested_at(render_line_chart_svg(spec), y0);
        y0 += kChartHeight;
    }
    o += "</svg>\n";
    return o;
}

void write_run_curves(const std::string& metrics_path, const std::string& svg_path,
                      const std::string& title, const std::string& subtitle) {
    std::error_code ec;
    if (std::filesystem::exists(svg_path, ec) && !is_run_curves(svg_path)) {
        static std::set<std::string> told;  // each path once (a suite's experiments: each)
        if (told.insert(svg_path).second)
            log_warn(svg_path,
                     " is not a picture pfce drew: it is left as it is, and the run's "
                     "curves are not drawn");
        return;
    }
    std::ifstream in(metrics_path);
    if (!in) return;
    std::vector<nlohmann::json> epochs;
    for (std::string line; std::getline(in, line);) {
        nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (!j.is_discarded()) epochs.push_back(std::move(j));
    }
    write_file_atomically(svg_path, render_run_curves_svg(epochs, title, subtitle));
}

}  // namespace pfce
