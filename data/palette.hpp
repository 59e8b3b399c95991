// Class palettes: colour <-> class index. The ISPRS Potsdam palette of DESIGN §2 is built in;
// generic datasets name theirs in dataset.toml.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "data/image.hpp"

namespace pfce {

using Rgb = std::array<std::uint8_t, 3>;

struct ClassInfo {
    std::string name;
    Rgb colour;
};

struct Palette {
    std::vector<ClassInfo> classes;       // index = class id
    std::vector<Rgb> unlabelled_colours;  // colours that decode to 255 (Potsdam: black)
    // A colour within this many levels (in every channel) of a class or unlabelled colour reads
    // as it: masks resized or saved lossily (DeepGlobe's off-by-a-few colours). Set only from a
    // generic dataset's [mask] colour_tolerance, which is refused unless each colour is then the
    // nearest of exactly one known colour (twice it below their distances). 0: exact colours.
    int colour_tolerance = 0;
    // Whether colour_tolerance can be set (a generic dataset's palette), for the advice.
    bool tolerance_settable = false;

    int num_classes() const { return static_cast<int>(classes.size()); }
    std::vector<std::string> class_names() const;  // in class order
    // Colour image -> labels. An unknown colour is an InputError naming `source`, the pixel and
    // colour.
    LabelMap decode(const RgbImage& colours, const std::string& source) const;
    // Labels -> colour image; 255 -> `unlabelled` (black by default: the Potsdam files' colour).
    RgbImage encode(const LabelMap& labels, const Rgb& unlabelled = Rgb{0, 0, 0}) const;
    // The colour pictures and mask PNGs show unlabelled pixels in: the dataset's own ignore colour
    // (Potsdam: black), else black, else a grey well away from every class colour (the farthest
    // where none is far), so "no label" never looks like a class.
    Rgb display_unlabelled() const;
    // display_unlabelled() before colour_tolerance is considered: the ignore colour, or a grey.
    Rgb display_grey() const;
    // The colour of the entries of a palette file (mask PNG or TIFF) that no class uses: the one
    // of the colours of channels 0, 51, ..., 255 farthest (colour_step) from every class colour,
    // unlabelled colour and display_unlabelled(). A stray value in a mask re-saved without pfce's
    // record of its values then reads as no colour the dataset knows, and is refused by colour,
    // never taken for a black class (walkthrough: the entries were black, the clutter class's).
    Rgb padding_colour() const;
    // A palette file's 256 colours: class c's at `value_of[c]` (its index where empty),
    // `unlabelled` at `unlabelled_value`, padding_colour() at every other.
    std::vector<Rgb> file_colours(const std::vector<std::uint8_t>& value_of, Rgb unlabelled,
                                  std::uint8_t unlabelled_value = 255) const;
    // What an unknown colour of `colours` likely is and how to read it (decode's refusal).
    std::string unknown_colour_advice(const RgbImage& colours, const Rgb& unknown) const;
    // The class `c` reads as: its index, 255 for an unlabelled colour, -1 for none; a colour
    // within colour_tolerance of a known one reads as it.
    int class_of(const Rgb& c) const;
    // The largest colour_tolerance that keeps every colour within reach of one known colour at
    // most: below half the distance of the closest two (127 with fewer than two colours).
    int max_colour_tolerance() const;
    // The two known colours (classes' and unlabelled) closest by colour_step, as "(r,g,b) and
    // (r,g,b)", and their step in `step` (256 with fewer than two colours).
    std::string closest_colours(int& step) const;
};

// The largest channel difference of two colours: what colour_tolerance bounds.
int colour_step(const Rgb& a, const Rgb& b);

// What colour_tolerance has decided in this process so far, over every mask decoded: the masks
// with a colour read as its nearest known one, and their pixels so read. Decode says the first
// such mask; `pfce data stats`, which decodes them all, says the total.
struct ToleranceTally {
    std::int64_t masks = 0, pixels = 0;
};
ToleranceTally tolerance_tally();

// 0 impervious (255,255,255), 1 building (0,0,255), 2 low vegetation (0,255,255), 3 tree (0,255,0),
// 4 car (255,255,0), 5 clutter (255,0,0); black = unlabelled.
const Palette& potsdam_palette();
constexpr int kPotsdamClutter = 5;

}  // namespace pfce
