// Colour <-> class decoding. Label images are long runs of few colours, so decode remembers the
// last colour it matched and otherwise scans the (at most 32 + a few) palette entries; an unknown
// colour stops with the file, pixel and colour named, and the colours that were expected.
#include "data/palette.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>

#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/text.hpp"

namespace pfce {
namespace {

// Distinct colours of no class past which a mask reads as damaged rather than as holding a "no
// label" colour the dataset does not list.
constexpr std::size_t kManyOffColours = 8;
// How far lossy compression or interpolation moves a label colour, at most, in practice (JPEG at
// usual qualities: 9-40 levels).
constexpr int kDamageReach = 48;

std::uint32_t key(std::uint8_t r, std::uint8_t g, std::uint8_t b) {
    return (static_cast<std::uint32_t>(r) << 16) | (static_cast<std::uint32_t>(g) << 8) | b;
}
std::uint32_t key(const Rgb& c) {
    return key(c[0], c[1], c[2]);
}

std::string colour_text(const Rgb& c) {
    std::ostringstream os;
    os << '(' << int(c[0]) << ',' << int(c[1]) << ',' << int(c[2]) << ')';
    return os.str();
}

}  // namespace

int colour_step(const Rgb& a, const Rgb& b) {
    int step = 0;
    for (int ch = 0; ch < 3; ++ch) step = std::max(step, std::abs(a[ch] - b[ch]));
    return step;
}

int Palette::class_of(const Rgb& c) const {
    int best = -1, best_step = colour_tolerance + 1;
    for (std::size_t e = 0; e < classes.size(); ++e)
        if (const int step = colour_step(c, classes[e].colour); step < best_step) {
            best_step = step;
            best = static_cast<int>(e);
        }
    for (const Rgb& u : unlabelled_colours)
        if (const int step = colour_step(c, u); step < best_step) {
            best_step = step;
            best = 255;
        }
    return best;
}

std::string Palette::closest_colours(int& step) const {
    std::vector<Rgb> known;
    for (const ClassInfo& k : classes) known.push_back(k.colour);
    known.insert(known.end(), unlabelled_colours.begin(), unlabelled_colours.end());
    step = 256;
    std::string pair;
    for (std::size_t a = 0; a < known.size(); ++a)
        for (std::size_t b = 0; b < a; ++b)
            if (const int s = colour_step(known[a], known[b]); s < step) {
                step = s;
                pair = colour_text(known[b]);
                pair += " and ";  // piece by piece: GCC 12 warns falsely (-Wrestrict) on a + b
                pair += colour_text(known[a]);
            }
    return pair;
}

int Palette::max_colour_tolerance() const {
    int closest = 256;
    closest_colours(closest);
    return std::min(127, (closest - 1) / 2);
}

// What an unknown colour likely is, said after the refusal. A mask all of gray levels below the
// class count holds class indices stored as gray (a common re-export of colour labels); a colour
// within a few levels of a class's, of many pixels, a mask resized or re-saved with interpolation
// or lossy compression; anything else may be a "no label" colour (ISPRS _noBoundary black,
// DeepGlobe unknown) the dataset does not list.
std::string Palette::unknown_colour_advice(const RgbImage& colours, const Rgb& unknown) const {
    const std::size_t n = static_cast<std::size_t>(colours.width) * colours.height;
    // 255 among them is the "unlabelled" of index masks (pfce's own, and most tools').
    bool all_gray_indices = true, any_index = false, all_gray = true;
    std::size_t off = 0;  // pixels of no class or ignore colour
    // Their distinct colours, up to kPhotoColours: a photograph has more; a mask of another
    // palette, or one damaged by JPEG around its class colours, has fewer.
    constexpr std::size_t kPhotoColours = 256;
    std::unordered_set<std::uint32_t> off_colours;
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t* p = &colours.pixels[3 * i];
        const Rgb c{p[0], p[1], p[2]};
        const bool index = static_cast<int>(p[0]) < std::max(num_classes(), 2);
        any_index = any_index || index;
        all_gray = all_gray && p[0] == p[1] && p[1] == p[2];
        all_gray_indices = all_gray && (index || p[0] == 255) && all_gray_indices;
        if (class_of(c) < 0) {  // known: a class's or ignore colour, or within the tolerance
            ++off;
            if (off_colours.size() < kPhotoColours) off_colours.insert(key(p[0], p[1], p[2]));
        }
    }
    if (all_gray_indices && any_index)
        return ". This looks like a mask of class indices stored as gray levels (255 "
               "unlabelled), where this dataset's masks are colours: write the classes' colours "
               "(annotations of this dataset too), or read such masks as a generic dataset "
               "(images/, masks/ and a dataset.toml with [mask] encoding = \"index\")";
    // A colour mask saved as grayscale (an editor's or cv2's "gray" export): every class colour
    // becomes its luma, 0.299 R + 0.587 G + 0.114 B, so a class reads as an unknown gray. Advice to
    // ignore that gray would drop the class (a foreign-data probe: vegetation (0,200,0) as 117,
    // a third of the mask).
    const auto luma = [](const Rgb& c) {
        return static_cast<int>(std::lround(0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]));
    };
    const auto is_gray = [](const Rgb& c) { return c[0] == c[1] && c[1] == c[2]; };
    const bool colour_classes = std::any_of(classes.begin(), classes.end(),
                                            [&](const ClassInfo& k) { return !is_gray(k.colour); });
    if (all_gray && colour_classes && is_gray(unknown)) {
        std::string which;
        for (const ClassInfo& k : classes)
            if (!is_gray(k.colour) && std::abs(luma(k.colour) - int(unknown[0])) <= 1)
                which += (which.empty() ? "" : " or ") +
                         ("class " + k.name + " " + colour_text(k.colour));
        return ". Every pixel of this mask is gray (R = G = B), while the dataset's classes have "
               "colours: the mask was likely saved as grayscale, which turns each class colour "
               "into a gray level" +
               (which.empty() ? std::string()
                              : ": " + colour_text(unknown) + " is the gray of " + which) +
               ". Export it again in colour (RGB or a palette); never list such a gray among the "
               "ignore colours, which would drop its class";
    }
    // The nearest colour the dataset knows, a class's or an ignore colour, by the largest
    // channel difference.
    std::string nearest, tied;  // tied: another known colour as near as the nearest
    int nearest_step = 256;
    auto consider = [&](const Rgb& c, const std::string& name) {
        const int step = colour_step(c, unknown);
        if (step < nearest_step) {
            nearest_step = step;
            nearest = name + " " + colour_text(c);
            tied.clear();
        } else if (step == nearest_step) {
            tied = name + " " + colour_text(c);
        }
    };
    for (const ClassInfo& k : classes) consider(k.colour, "class " + k.name);
    for (const Rgb& u : unlabelled_colours) consider(u, "the ignore colour");
    std::ostringstream advice;
    advice << " (" << off << " of the mask's " << n << " pixels are of no class or ignore colour"
           << (off_colours.size() >= kManyOffColours
                   ? ", in " + std::to_string(kManyOffColours) + " or more colours"
                   : "")
           << ")";
    // A "no label" colour is one exact colour; many colours of no class are damage, however far
    // each lies from its class's (JPEG moves colours by 9-40 levels): never advice to ignore them
    // one colour at a time.
    // Most pixels of colours far from every known one is no damage but other colours: the
    // dataset's [mask] colours (or its kind) are not this mask's.
    // (One such colour alone is more likely a "no label" colour covering most of the mask.)
    const bool foreign = 2 * off > n && nearest_step > kDamageReach && off_colours.size() >= 2;
    const bool damaged = off_colours.size() >= kManyOffColours && !foreign;
    // Hardly a pixel of a known colour (a photograph has a few black or white ones), in many
    // colours: most likely a photograph in the mask's place (an image copied to a mask's name was
    // advised to be thresholded: error-message audit).
    if (100 * off >= 99 * n && off_colours.size() >= kPhotoColours) {
        advice << ". Hardly any of its pixels has a class or ignore colour: is it an image rather "
                  "than its mask (a file in the mask's place)? A mask whose every pixel changed "
                  "colour "
                  "(resized with interpolation, saved as JPEG) reads so too: export it again from "
                  "a lossless source";
    } else if (foreign) {
        advice << ". Most of its pixels are of colours far from every colour the dataset knows "
                  "(this one "
               << nearest_step << " levels from the nearest, " << nearest
               << "): the class colours given for the dataset do not seem to be this mask's; "
                  "compare them with the mask's own colours";
    } else if (nearest_step <= std::max(8, 2 * colour_tolerance) || damaged) {
        advice << ". " << colour_text(unknown) << " is within " << nearest_step << " levels of "
               << nearest << (tied.empty() ? "" : " and of " + tied)
               << ": the mask was likely resized or saved with interpolation or lossy "
                  "compression, which changes label colours; restore its exact colours (export "
                  "it again from a lossless source, resize with nearest neighbour; colours of "
                  "only 0 and 255 snap back with ImageMagick's convert IN -channel RGB "
                  "-threshold 50% OUT, saved under the mask's own name and format)";
        // A tolerance only where one reads it as one colour and the dataset would take it.
        if (tolerance_settable && tied.empty() && nearest_step <= max_colour_tolerance())
            advice << ", or read such colours as the nearest known one: colour_tolerance = "
                   << nearest_step << " under [mask] in dataset.toml";
        else if (tolerance_settable && tied.empty())
            advice << "; colour_tolerance cannot read it: the dataset's closest colours allow "
                      "at most "
                   << max_colour_tolerance();
    } else {
        advice << ". If " << colour_text(unknown)
               << " means \"no label\" (as black does in ISPRS _noBoundary masks and DeepGlobe's "
                  "unknown), list it among the dataset's ignore colours: ignore_colours = [["
               << int(unknown[0]) << ", " << int(unknown[1]) << ", " << int(unknown[2])
               << "]] under [mask] in ";
        if (tolerance_settable)
            advice << "its dataset.toml";
        else
            advice << "the dataset.toml of a generic dataset (this layout has no such setting: "
                      "describe the data as one, images/ and masks/ beside a dataset.toml, as "
                      "README.md's \"Your own data\" shows)";
    }
    return advice.str();
}

namespace {
std::atomic<std::int64_t> tally_masks{0}, tally_pixels{0};  // tolerance_tally
}  // namespace

ToleranceTally tolerance_tally() {
    return {tally_masks.load(), tally_pixels.load()};
}

LabelMap Palette::decode(const RgbImage& colours, const std::string& source) const {
    struct Entry {
        std::uint32_t key;
        std::uint8_t label;
    };
    std::vector<Entry> table;
    for (std::size_t c = 0; c < classes.size(); ++c)
        table.push_back({key(classes[c].colour), static_cast<std::uint8_t>(c)});
    for (const Rgb& u : unlabelled_colours) table.push_back({key(u), 255});

    std::unordered_map<std::uint32_t, std::uint8_t> near;  // colours read by the tolerance
    std::size_t near_pixels = 0;                           // pixels of those colours
    std::string first_near;                                // the first, and what it was read as
    LabelMap out(colours.width, colours.height);
    const std::size_t n = static_cast<std::size_t>(colours.width) * colours.height;
    const std::uint8_t* px = colours.pixels.data();
    std::uint32_t last_key = table.empty() ? 0xFFFFFFFFu : table[0].key;
    std::uint8_t last_label = table.empty() ? 255 : table[0].label;
    for (std::size_t i = 0; i < n; ++i, px += 3) {
        const std::uint32_t k = key(px[0], px[1], px[2]);
        if (k != last_key) {
            std::size_t j = 0;
            while (j < table.size() && table[j].key != k) ++j;
            if (j == table.size() && colour_tolerance > 0) {
                // Within the tolerance of a known colour: remembered, so its other pixels are
                // found at once (a noisy mask holds thousands of near colours).
                const auto it = near.find(k);
                const Rgb c{px[0], px[1], px[2]};
                const int cls = it != near.end() ? it->second : class_of(c);
                if (cls >= 0) {
                    if (it == near.end()) {
                        near.emplace(k, static_cast<std::uint8_t>(cls));
                        if (first_near.empty())
                            first_near = colour_text(c) + " as " +
                                         (cls == 255 ? std::string("unlabelled")
                                                     : "class " + classes[cls].name);
                    }
                    last_key = k;
                    last_label = static_cast<std::uint8_t>(cls);
                    out.labels[i] = last_label;
                    ++near_pixels;
                    continue;
                }
            }
            if (j == table.size()) {
                std::ostringstream expected;
                for (std::size_t c = 0; c < classes.size(); ++c)
                    expected << (c ? ", " : "") << classes[c].name << " "
                             << colour_text(classes[c].colour);
                for (const Rgb& u : unlabelled_colours)
                    expected << ", unlabelled " << colour_text(u);
                const int x = static_cast<int>(i % colours.width),
                          y = static_cast<int>(i / colours.width);
                PFCE_THROW(InputError, source, ": unknown colour ",
                           colour_text(Rgb{px[0], px[1], px[2]}), " at pixel (x=", x, ", y=", y,
                           "); expected one of: ", expected.str(),
                           unknown_colour_advice(colours, Rgb{px[0], px[1], px[2]}));
            }
            last_key = k;
            last_label = table[j].label;
        }
        out.labels[i] = last_label;
    }
    if (near_pixels > 0) {
        tally_masks.fetch_add(1, std::memory_order_relaxed);
        tally_pixels.fetch_add(static_cast<std::int64_t>(near_pixels), std::memory_order_relaxed);
    }
    // How much the tolerance decided, said for the first mask that needed it: a large share means
    // a damaged mask whose far colours may land in the wrong class.
    static std::atomic<bool> said{false};
    if (near_pixels > 0 && !said.exchange(true))
        log_info(source, ": ", near_pixels, " of its ", n, " pixels (",
                 format_fixed(100.0 * static_cast<double>(near_pixels) / static_cast<double>(n), 1),
                 "%) in ", near.size(),
                 " colours were read as their nearest known colour, within "
                 "mask.colour_tolerance = ",
                 colour_tolerance, " (first: ", first_near, "; said for the first such mask)");
    return out;
}

namespace {

// Of the colours of channels 0, 51, ..., 255, the one farthest (colour_step) from all of `known`.
Rgb farthest_grid_colour(const std::vector<Rgb>& known) {
    Rgb best{0, 0, 0};
    int best_step = -1;
    for (int r = 0; r <= 255; r += 51)
        for (int g = 0; g <= 255; g += 51)
            for (int b = 0; b <= 255; b += 51) {
                const Rgb c{static_cast<std::uint8_t>(r), static_cast<std::uint8_t>(g),
                            static_cast<std::uint8_t>(b)};
                int nearest = 256;
                for (const Rgb& k : known) nearest = std::min(nearest, colour_step(c, k));
                if (nearest > best_step) best_step = nearest, best = c;
            }
    return best;
}

}  // namespace

Rgb Palette::padding_colour() const {
    std::vector<Rgb> known = unlabelled_colours;
    for (const ClassInfo& k : classes) known.push_back(k.colour);
    known.push_back(display_unlabelled());
    return farthest_grid_colour(known);
}

std::vector<Rgb> Palette::file_colours(const std::vector<std::uint8_t>& value_of, Rgb unlabelled,
                                       std::uint8_t unlabelled_value) const {
    std::vector<Rgb> out(256, padding_colour());
    for (std::size_t c = 0; c < classes.size(); ++c)
        out[value_of.empty() ? c : value_of[c]] = classes[c].colour;
    out[unlabelled_value] = unlabelled;
    return out;
}

Rgb Palette::display_unlabelled() const {
    const Rgb g = display_grey();
    // Within colour_tolerance of a class, the grey would read as it in a mask saved without
    // pfce's record (black and white classes at tolerance 127 leave no grey out of reach, and
    // the unlabelled pixels of such a mask read as white: hostile probe): the colour farthest
    // from every class instead.
    if (colour_tolerance > 0 &&
        std::any_of(classes.begin(), classes.end(), [&](const ClassInfo& k) {
            return colour_step(g, k.colour) <= colour_tolerance;
        })) {
        std::vector<Rgb> known;
        for (const ClassInfo& k : classes) known.push_back(k.colour);
        return farthest_grid_colour(known);
    }
    return g;
}

Rgb Palette::display_grey() const {
    auto is_class = [&](const Rgb& c) {
        return std::any_of(classes.begin(), classes.end(),
                           [&](const ClassInfo& k) { return k.colour == c; });
    };
    for (const Rgb& u : unlabelled_colours)  // the dataset's own ignore colour
        if (!is_class(u)) return u;
    // Else a grey well away from every class colour: black first, then spread out (128, 64, 192,
    // ...: the bit-reversed order), the first at least kApart from each class; where none is, the
    // one farthest from its nearest class. (The first grey no class used was 128 beside a class
    // of 160, whose points then hardly showed: walkthrough.)
    constexpr double kApart = 150;  // in RGB units, as far as black is from a grey of 87
    auto nearest_class = [&](int g) {
        double nearest = 1e9;
        for (const ClassInfo& k : classes) {
            double d2 = 0;
            for (int c = 0; c < 3; ++c) d2 += (k.colour[c] - g) * (k.colour[c] - g);
            nearest = std::min(nearest, std::sqrt(d2));
        }
        return nearest;
    };
    int best = 0;
    double best_apart = -1;
    for (int i = 0; i < 256; ++i) {
        int g = 0;
        for (int b = 0; b < 8; ++b) g |= ((i >> b) & 1) << (7 - b);
        const double apart = nearest_class(g);
        if (apart >= kApart)
            return Rgb{static_cast<std::uint8_t>(g), static_cast<std::uint8_t>(g),
                       static_cast<std::uint8_t>(g)};
        if (apart > best_apart) best_apart = apart, best = g;
    }
    const auto v = static_cast<std::uint8_t>(best);
    return Rgb{v, v, v};
}

RgbImage Palette::encode(const LabelMap& labels, const Rgb& unlabelled) const {
    RgbImage out(labels.width, labels.height);
    const std::size_t n = static_cast<std::size_t>(labels.width) * labels.height;
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t l = labels.labels[i];
        if (l == 255) {
            std::copy(unlabelled.begin(), unlabelled.end(), &out.pixels[3 * i]);
            continue;
        }
        if (l >= classes.size())
            PFCE_THROW(InputError, "label ", static_cast<int>(l), " at pixel (x=", i % labels.width,
                       ", y=", i / labels.width, ") has no colour in a palette of ", classes.size(),
                       " classes");
        const Rgb& c = classes[l].colour;
        out.pixels[3 * i] = c[0];
        out.pixels[3 * i + 1] = c[1];
        out.pixels[3 * i + 2] = c[2];
    }
    return out;
}

const Palette& potsdam_palette() {
    static const Palette p = [] {
        Palette q;
        q.classes = {{"impervious surfaces", {255, 255, 255}},
                     {"building", {0, 0, 255}},
                     {"low vegetation", {0, 255, 255}},
                     {"tree", {0, 255, 0}},
                     {"car", {255, 255, 0}},
                     {"clutter", {255, 0, 0}}};
        q.unlabelled_colours = {{0, 0, 0}};  // the eroded boundary of the noBoundary labels
        return q;
    }();
    return p;
}

std::vector<std::string> Palette::class_names() const {
    std::vector<std::string> names;
    for (const ClassInfo& c : classes) names.push_back(c.name);
    return names;
}

}  // namespace pfce
