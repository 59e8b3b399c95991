// Run curves: three line charts (host/experiment/svg_chart) nested in one SVG.
#include "host/experiment/run_curves.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "core/file_io.hpp"
#include "core/log.hpp"
#include "host/experiment/svg_chart.hpp"

namespace pfce {

namespace {

constexpr int kWidth = 760, kChartHeight = 300, kTitleHeight = 36;

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

// `svg` (a whole chart) placed at y0 inside the outer picture.
std::string nested_at(const std::string& svg, int y0) {
    const std::string open = "<svg ";
    const std::size_t at = svg.find(open);
    if (at == std::string::npos) return svg;
    return svg.substr(0, at) + "<svg x=\"0\" y=\"" + std::to_string(y0) + "\" " +
           svg.substr(at + open.size());
}

}  // namespace

std::string render_run_curves_svg(const std::vector<nlohmann::json>& all,
                                  const std::string& title) {
    std::vector<nlohmann::json> epochs;
    for (const nlohmann::json& e : all)
        if (e.is_object() && e.contains("epoch") && e.at("epoch").is_number()) epochs.push_back(e);
    ChartSpec loss, val, lr;
    loss.title = "loss";
    loss.y_label = "focal loss";
    loss.y_from_zero = true;
    add_series(loss, epochs, "train_loss", "train (labels)");
    add_series(loss, epochs, "val_loss", "val (labels)");
    add_series(loss, epochs, "val_loss_dense", "val (dense)");
    add_series(loss, epochs, "train_crf_loss", "train CRF term");
    val.title = "validation on dense masks";
    val.y_label = "score";
    val.y_from_zero = true;
    add_series(val, epochs, "val_miou", "mIoU");
    add_series(val, epochs, "val_miou_no_clutter", "mIoU w/o clutter");
    add_series(val, epochs, "val_oa", "overall accuracy");
    add_series(val, epochs, "val_mean_f1", "mean F1");
    lr.title = "learning rate (at the epoch's end)";
    lr.y_label = "lr";
    lr.y_from_zero = true;
    add_series(lr, epochs, "lr", "lr");
    std::string o = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(kWidth) +
                    "\" height=\"" + std::to_string(kTitleHeight + 3 * kChartHeight) + "\">\n";
    o += std::string(kRunCurvesMarker) + "\n";
    o += "<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    o += "<text x=\"" + std::to_string(kWidth / 2) +
         "\" y=\"24\" text-anchor=\"middle\" font-family=\"Helvetica, Arial, sans-serif\" "
         "font-size=\"16\">" +
         xml_escape(title) + "</text>\n";
    int y0 = kTitleHeight;
    for (ChartSpec* spec : {&loss, &val, &lr}) {
        spec->x_label = "epoch";
        spec->width = kWidth;
        spec->height = kChartHeight;
        o += nested_at(render_line_chart_svg(*spec), y0);
        y0 += kChartHeight;
    }
    o += "</svg>\n";
    return o;
}

void write_run_curves(const std::string& metrics_path, const std::string& svg_path,
                      const std::string& title) {
    std::error_code ec;
    if (std::filesystem::exists(svg_path, ec) && !is_run_curves(svg_path)) {
        static bool told = false;
        if (!told)
            log_warn(svg_path,
                     " is not a picture pfce drew: it is left as it is, and the run's "
                     "curves are not drawn");
        told = true;
        return;
    }
    std::ifstream in(metrics_path);
    if (!in) return;
    std::vector<nlohmann::json> epochs;
    for (std::string line; std::getline(in, line);) {
        nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (!j.is_discarded()) epochs.push_back(std::move(j));
    }
    write_file_atomically(svg_path, render_run_curves_svg(epochs, title));
}

}  // namespace pfce
