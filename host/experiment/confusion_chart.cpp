// SVG confusion matrices: row-normalised cells shaded from white (blue on the diagonal, where a
// share is right; vermilion off it, where it is wrong), the share printed in each cell and the
// pixel counts in a tooltip, class names on both axes.
#include "host/experiment/confusion_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.hpp"
#include "core/text.hpp"
#include "host/experiment/svg_chart.hpp"

namespace pfce {

namespace {

// White blended towards (r, g, b) by f in [0, 1].
std::string shade(double f, int r, int g, int b) {
    auto mix = [f](int to) { return static_cast<int>(std::lround(255 + (to - 255) * f)); };
    char buf[16];
    std::snprintf(buf, sizeof buf, "#%02x%02x%02x", mix(r), mix(g), mix(b));
    return buf;
}

// A share as a cell shows it, in whole percent: "<1" for a sliver and ">99" for all but a sliver
// (a count that is not zero must not read as none, nor a row with errors as all right), nothing
// for none.
std::string percent_text(std::int64_t n, std::int64_t row) {
    if (n == 0) return "";
    const long p = std::lround(100.0 * static_cast<double>(n) / static_cast<double>(row));
    if (p == 0) return "&lt;1";
    if (p == 100 && n != row) return "&gt;99";
    return std::to_string(p);
}

// A class name as the axes show it: at most 22 characters (the full name is in the tooltips).
std::string axis_name(const std::string& name) {
    constexpr std::size_t kMax = 22;
    if (name.size() <= kMax) return xml_escape(name);
    std::size_t cut = kMax - 1;
    while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;  // UTF-8
    return xml_escape(name.substr(0, cut)) + "\u2026";
}

}  // namespace

std::string render_confusion_svg(const std::vector<ConfusionPanel>& panels, int per_row) {
    std::size_t longest = 1, most_classes = 1, longest_title = 0;
    for (const ConfusionPanel& p : panels) {
        longest_title = std::max(longest_title, display_width(p.title));
        const std::size_t C = p.class_names.size();
        PFCE_CHECK_SHAPE(p.confusion.size() == C * C, "confusion matrix of \"", p.title, "\" has ",
                         p.confusion.size(), " entries for ", C, " classes");
        most_classes = std::max(most_classes, C);
        for (const std::string& n : p.class_names)
            longest = std::max(longest, std::min<std::size_t>(n.size(), 22));
    }
    per_row = std::max(1, per_row);
    const int cell = 34, title_h = 24, caption_h = 32;
    // Row labels left of the cells; column labels at -45 degrees above them, reaching as far up
    // (and right of the last column) as they are long. A panel is at least as wide as its caption.
    const int label_w = std::clamp(static_cast<int>(longest) * 7 + 10, 40, 160);
    const int header = static_cast<int>(label_w * 0.72) + 6;
    const int most = static_cast<int>(most_classes);
    // As wide as its title too (13 px bold: about 8 px a character), which ran off the canvas.
    const int panel_w =
        std::max({label_w + most * cell + header, 300,
                  static_cast<int>(std::min<std::size_t>(longest_title, 120)) * 8 + 20});
    const int panel_h = title_h + header + most * cell + caption_h;
    const int cols = std::max(1, std::min(per_row, static_cast<int>(panels.size())));
    const int rows = std::max(1, (static_cast<int>(panels.size()) + per_row - 1) / per_row);
    const int width = cols * panel_w + 20, height = rows * panel_h + 20;

    std::string o;
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                  "viewBox=\"0 0 %d %d\" font-family=\"Helvetica,Arial,sans-serif\">\n"
                  "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                  width, height, width, height);
    o += buf;
    if (panels.empty())
        o += "<text x=\"10\" y=\"30\" font-size=\"14\">no confusion matrix recorded</text>\n";
    for (std::size_t k = 0; k < panels.size(); ++k) {
        const ConfusionPanel& p = panels[k];
        const std::vector<std::string>& class_names = p.class_names;
        const std::size_t C = class_names.size();
        const int n = static_cast<int>(C);
        const int px = 10 + static_cast<int>(k % static_cast<std::size_t>(per_row)) * panel_w;
        const int py = 10 + static_cast<int>(k / static_cast<std::size_t>(per_row)) * panel_h;
        const int gx = px + label_w, gy = py + title_h + header;  // the cells' top left
        std::snprintf(buf, sizeof buf,
                      "<g>\n<text x=\"%d\" y=\"%d\" font-size=\"13\" font-weight=\"bold\">", px,
                      py + 15);
        o += buf + xml_escape(p.title) + "</text>\n";
        for (int c = 0; c < n; ++c) {
            const std::string name = axis_name(class_names[static_cast<std::size_t>(c)]);
            std::snprintf(buf, sizeof buf,
                          "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">", gx - 4,
                          gy + c * cell + cell / 2 + 4);
            o += buf + name + "</text>\n";
            const int cx = gx + c * cell + cell / 2, cy = gy - 4;
            std::snprintf(buf, sizeof buf,
                          "<text x=\"%d\" y=\"%d\" font-size=\"11\" "
                          "transform=\"rotate(-45 %d %d)\">",
                          cx, cy, cx, cy);
            o += buf + name + "</text>\n";
        }
        for (std::size_t t = 0; t < C; ++t) {
            std::int64_t row = 0;
            for (std::size_t q = 0; q < C; ++q) row += p.confusion[t * C + q];
            const std::string truth = xml_escape(class_names[t]);
            for (std::size_t q = 0; q < C; ++q) {
                const int x = gx + static_cast<int>(q) * cell, y = gy + static_cast<int>(t) * cell;
                const std::int64_t count = p.confusion[t * C + q];
                const double f =
                    row > 0 ? static_cast<double>(count) / static_cast<double>(row) : 0;
                // Errors are mostly small shares: their shade grows as the square root, so 5% is
                // seen (the number in the cell stays the share itself).
                const std::string fill = row == 0 ? std::string("#eeeeee")
                                         : t == q ? shade(f, 0, 114, 178)
                                                  : shade(std::sqrt(f), 213, 94, 0);
                std::snprintf(buf, sizeof buf,
                              "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" "
                              "stroke=\"#d8d8d8\">",
                              x, y, cell, cell, fill.c_str());
                o += buf;
                if (row == 0) {
                    o += "<title>no pixels of " + truth + " in " + xml_escape(p.scope) +
                         "</title></rect>\n";
                    continue;
                }
                std::snprintf(buf, sizeof buf, ": %lld pixel%s, %.2f%% of ",
                              static_cast<long long>(count), count == 1 ? "" : "s", 100 * f);
                o += "<title>truth " + truth + ", predicted " + xml_escape(class_names[q]) + buf +
                     truth + "</title></rect>\n";
                const std::string text = percent_text(count, row);
                if (text.empty()) continue;
                std::snprintf(buf, sizeof buf,
                              "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\" "
                              "fill=\"%s\">",
                              x + cell / 2, y + cell / 2 + 4,
                              (t == q ? f : std::sqrt(f)) > 0.55 ? "#ffffff" : "#222222");
                o += buf + text + "</text>\n";
            }
        }
        // Two short lines: one line ran under the next panel's (a panel is 300 wide at least).
        std::snprintf(buf, sizeof buf,
                      "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#555555\">rows: truth; "
                      "columns: predicted; %% of each row (blank: none)</text>\n"
                      "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#555555\">a grey row: no "
                      "pixel of the class in the truth</text>\n</g>\n",
                      px, gy + n * cell + 13, px, gy + n * cell + 26);
        o += buf;
    }
    return o + "</svg>\n";
}

}  // namespace pfce
