// Line charts as standalone SVG text (no library): one series per experiment, axes with "nice"
// ticks, a legend, and gaps where a value is missing (NaN). Used for the per-epoch loss and mIoU
// curves of the report, which must open in any browser offline.
#pragma once

#include <string>
#include <vector>

#include "core/text.hpp"  // xml_escape, for the charts beside it

namespace pfce {

struct ChartSeries {
    std::string name;
    std::vector<double> x, y;  // same length; NaN y = no point (the line breaks there)
    // A band around the line, drawn faint in its colour (a spread: the lowest and highest of the
    // runs the line is the mean of); empty for none, else as long as x, NaN where none.
    std::vector<double> lo, hi;
};

struct ChartSpec {
    std::string title, x_label, y_label;
    std::vector<ChartSeries> series;
    int width = 760, height = 420;
    bool integer_x = true;     // x ticks at whole numbers (epochs)
    bool y_from_zero = false;  // include 0 in the y range
};

std::string render_line_chart_svg(const ChartSpec& spec);

// Tick positions covering [lo, hi] with a 1/2/5 x 10^k step, about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);

}  // namespace pfce
