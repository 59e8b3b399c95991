// Contact sheets: a grid of equally sized panels (image | colour mask | sparse mask ...) in one RGB
// picture a person can open, for `pfce data preview` and run reports. Sparse points are drawn as
// small squares so single labelled pixels stay visible after scaling.
#pragma once

#include <string>
#include <vector>

#include "data/image.hpp"
#include "data/palette.hpp"

namespace pfce {

// The sheet's background: a mid grey, distinct from black (unlabelled) and white.
constexpr std::uint8_t kSheetBackground = 96;

struct SheetOptions {
    int panel =
        300;      // each panel is scaled (nearest neighbour) so its longer side is this many pixels
    int gap = 4;  // background pixels between panels and around the sheet
    // Drawn at the bottom-left of each row's first panel (draw_caption): the sample's id, so a
    // row the metrics name is found.
    std::vector<std::string> captions;
};

// Sheet size for `rows` x `cols` panels: gap + cols*(panel+gap) by gap + rows*(panel+gap).
int sheet_width(int cols, const SheetOptions& opt);
int sheet_height(int rows, const SheetOptions& opt);

// rows[r][c] is the panel in row r, column c; rows may have different lengths (missing cells stay
// background). Panels are scaled to fit a panel x panel cell, aspect kept, top-left aligned.
RgbImage make_contact_sheet(const std::vector<std::vector<RgbImage>>& rows,
                            const SheetOptions& opt = {});

RgbImage resize_nearest(const RgbImage& img, int width, int height);
// The size `img_w` x `img_h` takes in a panel (longer side = panel).
void panel_size(int img_w, int img_h, int panel, int& out_w, int& out_h);

// A sparse (or linked) mask rendered at out_w x out_h: unlabelled in palette.display_unlabelled(),
// every labelled pixel a (2*radius+1)^2 square of its class colour, so isolated points show at any
// scale (a black class's points too).
RgbImage render_sparse(const LabelMap& mask, const Palette& palette, int out_w, int out_h,
                       int radius = 1);

}  // namespace pfce
