// Colour <-> class decoding. Label images are long runs of few colours, so decode remembers the
// last colour it matched and otherwise scans the (at most 32 + a few) palette entries; an unknown
// colour stops with the file, pixel and colour named, and the colours that were expected.
#include "data/palette.hpp"

#include <algorithm>

#include <sstream>

#include "core/error.hpp"

namespace pfce {
namespace {

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

LabelMap Palette::decode(const RgbImage& colours, const std::string& source) const {
    struct Entry {
        std::uint32_t key;
        std::uint8_t label;
    };
    std::vector<Entry> table;
    for (std::size_t c = 0; c < classes.size(); ++c)
        table.push_back({key(classes[c].colour), static_cast<std::uint8_t>(c)});
    for (const Rgb& u : unlabelled_colours) table.push_back({key(u), 255});

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
            if (j == table.size()) {
                std::ostringstream expected;
                for (std::size_t c = 0; c < classes.size(); ++c)
                    expected << (c ? ", " : "") << classes[c].name << " "
                             << colour_text(classes[c].colour);
                for (const Rgb& u : unlabelled_colours)
                    expected << ", unlabelled " << colour_text(u);
                const int x = static_cast<int>(i % colours.width),
                          y = static_cast<int>(i / colours.width);
                // A gray level no higher than the class count is likely a class index stored as
                // gray (a common re-export of colour labels): say how to read such masks.
                const bool looks_like_index =
                    px[0] == px[1] && px[1] == px[2] && px[0] < num_classes();
                PFCE_THROW(InputError, source, ": unknown colour ",
                           colour_text(Rgb{px[0], px[1], px[2]}), " at pixel (x=", x, ", y=", y,
                           "); expected one of: ", expected.str(),
                           looks_like_index
                               ? ". This looks like a mask of class indices stored as gray "
                                 "levels: read it as a generic dataset (images/, masks/ and a "
                                 "dataset.toml with [mask] encoding = \"index\")"
                               : "");
            }
            last_key = k;
            last_label = table[j].label;
        }
        out.labels[i] = last_label;
    }
    return out;
}

Rgb Palette::display_unlabelled() const {
    auto is_class = [&](const Rgb& c) {
        return std::any_of(classes.begin(), classes.end(),
                           [&](const ClassInfo& k) { return k.colour == c; });
    };
    for (const Rgb& u : unlabelled_colours)  // the dataset's own ignore colour
        if (!is_class(u)) return u;
    // Else a grey no class uses (at most 32 classes, so one is free), black first, then spread
    // out (128, 64, 192, ...: the bit-reversed order) so it is not a near-black next to black.
    for (int i = 0; i < 256; ++i) {
        int g = 0;
        for (int b = 0; b < 8; ++b) g |= ((i >> b) & 1) << (7 - b);
        const auto v = static_cast<std::uint8_t>(g);
        if (!is_class(Rgb{v, v, v})) return Rgb{v, v, v};
    }
    return Rgb{0, 0, 0};
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
