// Text on pfce's pictures: column titles and a legend naming each class beside its colour, so a
// preview sheet or a report grid says what it shows without the palette at hand (an index-mask
// dataset's colours are pfce's choice, not the user's). Drawn with glyphs built into the program
// (data/glyphs.inc, DejaVu Sans Mono at 12 px): no font library at run time.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "data/image.hpp"
#include "data/palette.hpp"

namespace pfce {

// Pixels `text` takes on one line: a fixed advance per glyph (the glyphs are ASCII and Latin-1,
// a UTF-8 sequence of either is one; any other character is drawn as its code point in hex,
// "<6771>", so names in other scripts stay distinct; a malformed sequence is '?').
int text_width(std::string_view text);
// Pixels of a line of text, spacing below included.
int text_line_height();

// `text` cut to at most `max_width` pixels, ending in "..." where it was cut.
std::string fit_text(std::string_view text, int max_width);

// Draws `text` with its top-left corner at (x, y), blended by each glyph's coverage over what is
// there; pixels outside the image are skipped.
void draw_text(RgbImage& img, int x, int y, std::string_view text, const Rgb& colour);

// `text` in white on a black box at the bottom-left corner of the `w` x `h` region at (x, y) of
// `img`, cut to the region's width: a panel's caption (its sample's id). Nothing where the region
// is lower than a line.
void draw_caption(RgbImage& img, int x, int y, int w, int h, std::string_view text);

// Black on a light background, white on a dark one.
Rgb text_colour_on(const Rgb& background);

struct LegendEntry {
    std::string name;
    Rgb colour;
};

// The palette's classes, then "unlabelled" in the colour pictures show it in.
std::vector<LegendEntry> class_legend(const Palette& palette);

// A strip `width` pixels wide on `background`: a swatch of each entry's colour (outlined, so a
// class of the background's colour shows) and its name, wrapped over as many lines as they need.
RgbImage legend_strip(const std::vector<LegendEntry>& entries, int width, const Rgb& background);

// A strip `width` pixels wide on `background` with titles[c] centred over the column that starts
// at lefts[c] and is widths[c] wide (cut to fit it).
RgbImage title_strip(const std::vector<std::string>& titles, const std::vector<int>& lefts,
                     const std::vector<int>& widths, int width, const Rgb& background);

// Pixels of a title strip.
int title_strip_height();

// `picture` with `titles` over its columns (title_strip) and the legend of `entries` under it
// (legend_strip, at least 240 pixels wide: a narrower picture is widened for it), on
// `background`: what a person opening the PNG needs to read it.
RgbImage titled_picture(const RgbImage& picture, const std::vector<std::string>& titles,
                        const std::vector<int>& lefts, const std::vector<int>& widths,
                        const std::vector<LegendEntry>& entries, const Rgb& background);

// The pictures one under the other, left-aligned on `background`, as wide as the widest.
RgbImage stack_pictures(const std::vector<const RgbImage*>& parts, const Rgb& background);

}  // namespace pfce
