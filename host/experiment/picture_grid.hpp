// The report's picture per experiment: a few test images, one per row, as
// image | dense truth | sparse points | training labels (linked) | prediction, in the dataset's
// palette (unlabelled = black). Sparse points are drawn as enlarged dots so a person can see them;
// small images are enlarged by an integer factor so a row is readable.
#pragma once

#include <vector>

#include "data/image.hpp"
#include "data/palette.hpp"

namespace pfce {

struct GridRow {
    RgbImage image;
    LabelMap dense;   // dense truth
    LabelMap sparse;  // sampled points (or the dense mask for a dense experiment)
    LabelMap train;   // what the loss saw: linked labels, sparse points, or dense
    LabelMap prediction;
};

constexpr int kGridColumns = 5;
constexpr int kGridGap = 4;  // white pixels between and around panels

// Integer enlargement for panels of this size: images under 160 px are scaled up.
int grid_scale_for(int width, int height);
// Size of the grid for `rows` rows of width x height images.
void grid_size(int rows, int width, int height, int& out_width, int& out_height);

// All rows must share one size; masks must match their image (ShapeError otherwise).
RgbImage compose_picture_grid(const std::vector<GridRow>& rows, const Palette& palette);

// Sparse labels drawn as filled discs of `radius` pixels on black (larger labels are kept where
// discs overlap, so the picture does not depend on drawing order).
RgbImage draw_points(const LabelMap& sparse, const Palette& palette, int radius);

}  // namespace pfce
