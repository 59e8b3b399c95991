// SVG line charts: plot area with gridlines and tick labels, polylines per series (split at NaN),
// point markers (so a one-epoch run still shows its value), legend on the right.
#include "host/experiment/svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace pfce {

namespace {

// Distinct colours that stay apart for the colour-blind (Okabe-Ito plus a few).
const char* kColours[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00",
                          "#56B4E9", "#000000", "#F0E442", "#7F7F7F", "#8C564B"};

std::string fmt(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
}

std::string tick_label(double v, double step) {
    char buf[64];
    if (std::fabs(v) < step * 1e-6) v = 0;
    const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
    std::snprintf(buf, sizeof buf, "%.*f", std::min(decimals, 8), v);
    return buf;
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
    if (!(hi > lo)) {
        const double pad = lo == 0 ? 1 : std::fabs(lo) * 0.1;
        lo -= pad;
        hi += pad;
    }
    const double raw = (hi - lo) / std::max(1, target - 1);
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    const double r = raw / mag;
    const double step = (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
    std::vector<double> ticks;
    const double start = std::floor(lo / step + 1e-9) * step;
    for (int k = 0; k < 1000; ++k) {  // index-based so rounding does not accumulate
        const double t = start + k * step;
        ticks.push_back(t);
        if (t >= hi - step * 1e-9) break;
    }
    return ticks;
}

std::string render_line_chart_svg(const ChartSpec& spec) {
    // Taller where the legend needs it (a study of 30 experiments ran off the bottom): 20 px an
    // entry from 10 px below the top margin.
    const double W = spec.width,
                 H = std::max<double>(spec.height, 40 + 10 + 20.0 * spec.series.size() + 10);
    const double left = 70, right = 190, top = 40, bottom = 55;
    const double pw = W - left - right, ph = H - top - bottom;

    double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin;
    double ymin = xmin, ymax = -xmin;
    for (const auto& s : spec.series)
        for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
            if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
            xmin = std::min(xmin, s.x[i]);
            xmax = std::max(xmax, s.x[i]);
            ymin = std::min(ymin, s.y[i]);
            ymax = std::max(ymax, s.y[i]);
            if (i < s.lo.size() && std::isfinite(s.lo[i])) ymin = std::min(ymin, s.lo[i]);
            if (i < s.hi.size() && std::isfinite(s.hi[i])) ymax = std::max(ymax, s.hi[i]);
        }
    const bool empty = !std::isfinite(xmin);
    if (empty) xmin = 0, xmax = 1, ymin = 0, ymax = 1;
    if (spec.y_from_zero) ymin = std::min(ymin, 0.0);

    std::vector<double> xt = nice_ticks(xmin, xmax, 8);
    if (spec.integer_x) {
        xt.erase(std::remove_if(xt.begin(), xt.end(),
                                [](double t) { return std::fabs(t - std::round(t)) > 1e-9; }),
                 xt.end());
        if (xt.empty()) xt = {std::round(xmin)};
    }
    const std::vector<double> yt = nice_ticks(ymin, ymax, 6);
    const double x0 = std::min(xt.front(), xmin), x1 = std::max(xt.back(), xmax);
    const double y0 = std::min(yt.front(), ymin), y1 = std::max(yt.back(), ymax);
    const double xspan = x1 > x0 ? x1 - x0 : 1, yspan = y1 > y0 ? y1 - y0 : 1;
    auto px = [&](double x) { return left + (x - x0) / xspan * pw; };
    auto py = [&](double y) { return top + ph - (y - y0) / yspan * ph; };

    std::string o;
    o += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fmt(W) + "\" height=\"" + fmt(H) +
         "\" viewBox=\"0 0 " + fmt(W) + " " + fmt(H) +
         "\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n";
    o += "<rect x=\"0\" y=\"0\" width=\"" + fmt(W) + "\" height=\"" + fmt(H) +
         "\" fill=\"white\"/>\n";
    o += "<text x=\"" + fmt(left + pw / 2) +
         "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">" + xml_escape(spec.title) +
         "</text>\n";

    // Grid and ticks.
    o += "<g stroke=\"#dddddd\" stroke-width=\"1\">\n";
    for (double t : yt)
        o += "<line x1=\"" + fmt(left) + "\" y1=\"" + fmt(py(t)) + "\" x2=\"" + fmt(left + pw) +
             "\" y2=\"" + fmt(py(t)) + "\"/>\n";
    for (double t : xt)
        o += "<line x1=\"" + fmt(px(t)) + "\" y1=\"" + fmt(top) + "\" x2=\"" + fmt(px(t)) +
             "\" y2=\"" + fmt(top + ph) + "\"/>\n";
    o += "</g>\n";
    o += "<g fill=\"#333333\">\n";
    const double ystep = yt.size() > 1 ? yt[1] - yt[0] : 1;
    for (double t : yt)
        o += "<text x=\"" + fmt(left - 6) + "\" y=\"" + fmt(py(t) + 4) + "\" text-anchor=\"end\">" +
             tick_label(t, ystep) + "</text>\n";
    const double xstep = xt.size() > 1 ? xt[1] - xt[0] : 1;
    for (double t : xt)
        o += "<text x=\"" + fmt(px(t)) + "\" y=\"" + fmt(top + ph + 18) +
             "\" text-anchor=\"middle\">" + tick_label(t, xstep) + "</text>\n";
    o += "</g>\n";
    // Axes.
    o += "<g stroke=\"#333333\" stroke-width=\"1\">\n";
    o += "<line x1=\"" + fmt(left) + "\" y1=\"" + fmt(top + ph) + "\" x2=\"" + fmt(left + pw) +
         "\" y2=\"" + fmt(top + ph) + "\"/>\n";
    o += "<line x1=\"" + fmt(left) + "\" y1=\"" + fmt(top) + "\" x2=\"" + fmt(left) + "\" y2=\"" +
         fmt(top + ph) + "\"/>\n";
    o += "</g>\n";
    o += "<text x=\"" + fmt(left + pw / 2) + "\" y=\"" + fmt(H - 14) +
         "\" text-anchor=\"middle\">" + xml_escape(spec.x_label) + "</text>\n";
    o += "<text x=\"16\" y=\"" + fmt(top + ph / 2) +
         "\" text-anchor=\"middle\" transform=\"rotate(-90 16 " + fmt(top + ph / 2) + ")\">" +
         xml_escape(spec.y_label) + "</text>\n";
    if (empty)
        o += "<text x=\"" + fmt(left + pw / 2) + "\" y=\"" + fmt(top + ph / 2) +
             "\" text-anchor=\"middle\" fill=\"#999999\">no data</text>\n";

    // Bands first, under every line: a polygon per stretch of points that have one.
    for (std::size_t si = 0; si < spec.series.size(); ++si) {
        const auto& s = spec.series[si];
        const std::string colour = kColours[si % (sizeof kColours / sizeof kColours[0])];
        std::vector<std::size_t> stretch;
        auto flush = [&] {
            if (stretch.size() >= 2) {
                std::string points;
                for (const std::size_t i : stretch)
                    points += fmt(px(s.x[i])) + "," + fmt(py(s.hi[i])) + " ";
                for (auto it = stretch.rbegin(); it != stretch.rend(); ++it)
                    points += fmt(px(s.x[*it])) + "," + fmt(py(s.lo[*it])) + " ";
                o += "<polygon fill=\"" + colour + "\" fill-opacity=\"0.15\" stroke=\"none\" " +
                     "points=\"" + points.substr(0, points.size() - 1) + "\"/>\n";
            }
            stretch.clear();
        };
        for (std::size_t i = 0; i < s.x.size() && i < s.lo.size() && i < s.hi.size(); ++i) {
            if (std::isfinite(s.x[i]) && std::isfinite(s.lo[i]) && std::isfinite(s.hi[i]))
                stretch.push_back(i);
            else
                flush();
        }
        flush();
    }

    // Series: polylines split at missing values, plus a marker per point.
    for (std::size_t si = 0; si < spec.series.size(); ++si) {
        const auto& s = spec.series[si];
        const std::string colour = kColours[si % (sizeof kColours / sizeof kColours[0])];
        std::vector<std::string> runs(1);
        std::string markers;
        for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
            if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) {
                if (!runs.back().empty()) runs.emplace_back();
                continue;
            }
            runs.back() += fmt(px(s.x[i])) + "," + fmt(py(s.y[i])) + " ";
            markers +=
                "<circle cx=\"" + fmt(px(s.x[i])) + "\" cy=\"" + fmt(py(s.y[i])) + "\" r=\"3\"/>";
        }
        o += "<g stroke=\"" + colour + "\" fill=\"" + colour + "\">\n";
        for (const auto& run : runs)
            if (!run.empty())
                o += "<polyline fill=\"none\" stroke-width=\"2\" points=\"" +
                     run.substr(0, run.size() - 1) + "\"/>\n";
        if (!markers.empty()) o += markers + "\n";
        o += "</g>\n";
        // Legend entry.
        const double ly = top + 10 + 20 * static_cast<double>(si);
        o += "<line x1=\"" + fmt(left + pw + 15) + "\" y1=\"" + fmt(ly) + "\" x2=\"" +
             fmt(left + pw + 40) + "\" y2=\"" + fmt(ly) + "\" stroke=\"" + colour +
             "\" stroke-width=\"3\"/>\n";
        o += "<text x=\"" + fmt(left + pw + 46) + "\" y=\"" + fmt(ly + 4) + "\">" +
             xml_escape(s.name) + "</text>\n";
    }
    o += "</svg>\n";
    return o;
}

}  // namespace pfce
