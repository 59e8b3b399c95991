// The report's picture per experiment: a few test images, one per row, as
// image | dense truth | sparse points | training labels (linked) | prediction, in the dataset's
// palette (unlabelled = black). Sparse points are drawn as enlarged dots so a person can see them;
// small images are enlarged and large ones reduced by an integer factor (GridZoom).
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "data/image.hpp"
#include "data/palette.hpp"

namespace pfce {

struct GridRow {
    std::string id;  // the sample's, drawn on its image panel (none where empty)
    RgbImage image;
    LabelMap dense;   // dense truth
    LabelMap sparse;  // sampled points (or the dense mask for a dense experiment)
    // Whether `sparse` holds points, drawn as enlarged discs; a dense experiment's mask is drawn
    // as it is (discs around every pixel grew classes over each other).
    bool sparse_are_points = true;
    LabelMap train;  // what the loss saw: linked labels, sparse points, or dense
    LabelMap prediction;
    // Drawn on the prediction panel (none where empty): how right it is, "mIoU 0.72", so a reader
    // sees which images are the hard ones.
    std::string score;
};

// "mIoU 0.7213" of `prediction` against `truth` (pixels 255 in the truth left out), over the
// classes in either, as the split's mIoU; "mIoU n/a" where the truth labels no pixel.
std::string prediction_score(const LabelMap& truth, const LabelMap& prediction, int num_classes,
                             int clutter_class);

constexpr int kGridColumns = 5;
constexpr int kGridGap = 4;  // white pixels between and around panels

// How panels are scaled: images under 160 px are enlarged by an integer factor so a row is
// readable, images over 480 px reduced by one so a panel stays a few hundred pixels (a 6000x6000
// tile would otherwise make a 30000-pixel-wide picture). Either up or down is 1.
struct GridZoom {
    int up = 1;
    int down = 1;
    int shown(int n) const { return std::max(1, n * up / down); }  // panel pixels for n
};
// One zoom for every row, from the largest image, so rows of other sizes keep their proportions.
GridZoom grid_zoom_for(int width, int height);

struct GridImageSize {
    int width = 0;
    int height = 0;
};
// Size of the grid for one row per image size: columns as wide as the widest row's panels, each
// row as tall as its own.
void grid_size(const std::vector<GridImageSize>& rows, int& out_width, int& out_height);

// Rows may differ in size (smaller panels are left-aligned on white); masks must match their
// image (ShapeError otherwise).
RgbImage compose_picture_grid(const std::vector<GridRow>& rows, const Palette& palette);

// The grid with its columns' titles above and the classes' legend below: the report's grid.png.
RgbImage titled_picture_grid(const std::vector<GridRow>& rows, const Palette& palette);

// Sparse labels drawn as filled discs of `radius` pixels on black (larger labels are kept where
// discs overlap, so the picture does not depend on drawing order).
RgbImage draw_points(const LabelMap& sparse, const Palette& palette, int radius);

}  // namespace pfce
