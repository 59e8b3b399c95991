// Confusion matrices as one standalone SVG of small multiples, a panel per experiment: rows are the
// true classes, each cell the share of a true class's test pixels predicted as the column's class.
// The diagonal is each class's recall; the cells beside it say which class was taken for which,
// what mIoU alone hides (sparse points confusing low vegetation with trees, cars lost to roads).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pfce {

struct ConfusionPanel {
    std::string title;                     // "e4-500-linked: mIoU 0.636"
    std::vector<std::string> class_names;  // its experiment's classes, C of them
    std::vector<std::int64_t> confusion;   // C*C pixel counts, row-major, rows = truth
    std::string scope = "the test split";  // what was scored, as an empty row's tooltip names it
};

// Panels side by side, `per_row` to a row, in the order given, each with its own classes. A class
// with no pixel in the truth has an empty row (drawn grey, "no pixels"), never a row of zeros that
// reads as all wrong. ShapeError when a panel's matrix is not its class count squared.
std::string render_confusion_svg(const std::vector<ConfusionPanel>& panels, int per_row = 3);

}  // namespace pfce
