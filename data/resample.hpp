// Resampling an image to another pixel size and a mask back to the image's pixels: predict
// --zoom, for imagery of another ground sampling distance than the model's training images (a
// model trained at 5 cm sees 10 cm imagery at half the scale it learnt; zoomed by 2 it sees it at
// its own).
#pragma once

#include "data/image.hpp"

namespace pfce {

// The side of an image of `side` pixels zoomed by `zoom`: round(side * zoom), at least 1.
int zoomed_side(int side, double zoom);

// `img` resampled to width x height, every channel: a triangle (linear) filter on pixel centres,
// widened by the reduction when shrinking so each output pixel averages the input pixels it
// covers (as Pillow's BILINEAR). Taps past the edge are left out and the rest renormalised, so a
// constant image stays constant to the last pixel. The same size returns a copy.
RgbImage resize_linear(const RgbImage& img, int width, int height);

// `labels` at width x height: each pixel takes the label of the pixel whose area holds its centre
// (nearest; classes are not averaged). The same size returns a copy.
LabelMap resize_labels_nearest(const LabelMap& labels, int width, int height);

}  // namespace pfce
