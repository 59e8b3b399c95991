// Glyph drawing and the strips made of it (titles, legends).
#include "data/picture_text.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace pfce {

namespace {

#include "data/glyphs.inc"

constexpr int kLineSpacing = 3;  // pixels between lines of text
constexpr int kMargin = 4;       // around a strip's contents, as the sheets' gap
constexpr int kMinLegendWidth = 240;

// A combining diacritical mark (U+0300..U+036F: 0xCC 0x80..0xBF or 0xCD 0x80..0xAF) at text[i]:
// names copied from macOS file names carry their accents so (NFD, "e" + U+0301 for "é").
int combining_mark_at(std::string_view text, std::size_t i) {
    if (i + 1 >= text.size()) return -1;
    const auto lead = static_cast<unsigned char>(text[i]);
    const auto next = static_cast<unsigned char>(text[i + 1]);
    if ((next & 0xC0) != 0x80 || (lead != 0xCC && lead != 0xCD)) return -1;
    const int code = ((lead & 0x1F) << 6) | (next & 0x3F);
    return code <= 0x36F ? code : -1;
}

// The Latin-1 letter (U+00C0..U+00FF) that `base` with combining `mark` composes to (NFC), or -1.
int composed_latin1(int base, int mark) {
    // Each Latin-1 letter with its base letter and mark, in code order from U+00C0; ' ' for none
    // (Æ, Ð, ×, Ø, Þ, ß and their small forms).
    static constexpr const char* kBases =
        "AAAAAA CEEEEIIII NOOOOO  UUUUY  aaaaaa ceeeeiiii nooooo  uuuuy y";
    static constexpr int kMarks[64] = {
        0x300, 0x301, 0x302, 0x303, 0x308, 0x30A, 0,     0x327, 0x300, 0x301, 0x302, 0x308, 0x300,
        0x301, 0x302, 0x308, 0,     0x303, 0x300, 0x301, 0x302, 0x303, 0x308, 0,     0,     0x300,
        0x301, 0x302, 0x308, 0x301, 0,     0,     0x300, 0x301, 0x302, 0x303, 0x308, 0x30A, 0,
        0x327, 0x300, 0x301, 0x302, 0x308, 0x300, 0x301, 0x302, 0x308, 0,     0x303, 0x300, 0x301,
        0x302, 0x303, 0x308, 0,     0,     0x300, 0x301, 0x302, 0x308, 0x301, 0,     0x308};
    for (int k = 0; k < 64; ++k)
        if (kBases[k] == base && kMarks[k] == mark) return 0xC0 + k;
    return -1;
}

// The characters of `text` as glyph indices: printable ASCII as itself, a UTF-8 Latin-1 letter
// (U+00A0..U+00FF: "Gebäude", "végétation") as its own glyph, and so a letter with a combining
// accent after it (NFD) where Latin-1 has the two as one; another combining accent is left off
// its letter (the letter is the closer reading), any other character its code point in hex
// ("<6771>" for 東: ids and class names in CJK, Cyrillic or Greek were all "??", rows of a
// sheet no one could tell apart), a malformed sequence '?' (a stray continuation byte is no
// character).
std::vector<int> glyphs_of(std::string_view text) {
    constexpr int kQuestion = '?' - 32, kLatin1 = 95;  // the glyph table's first Latin-1 entry
    std::vector<int> g;
    g.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if ((c & 0xC0) == 0x80) continue;  // a continuation byte of a character already counted
        if (c >= 32 && c < 127) {
            g.push_back(c - 32);
            continue;
        }
        if (const int mark = combining_mark_at(text, i); mark >= 0) {
            const int base = g.empty() || g.back() >= kLatin1 ? -1 : g.back() + 32;
            if (const int composed = composed_latin1(base, mark); composed >= 0)
                g.back() = kLatin1 + composed - 0xA0;
            continue;  // no glyph of its own either way
        }
        // U+00A0..U+00FF is 0xC2 0xA0..0xBF or 0xC3 0x80..0xBF.
        const auto next = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0;
        const int code = (c == 0xC2 || c == 0xC3) && (next & 0xC0) == 0x80
                             ? ((c & 0x1F) << 6) | (next & 0x3F)
                             : -1;
        if (code >= 0xA0 && code <= 0xFF) {
            g.push_back(kLatin1 + code - 0xA0);
            continue;
        }
        // Any other: its code point, from a well-formed 2-4 byte sequence.
        const int extra = c >= 0xF0 && c < 0xF8 ? 3 : c >= 0xE0 ? 2 : c >= 0xC2 ? 1 : 0;
        std::uint32_t cp = c & (0x3F >> extra);
        bool ok = extra > 0 && i + extra < text.size();
        for (int k = 1; ok && k <= extra; ++k) {
            const auto b = static_cast<unsigned char>(text[i + k]);
            ok = (b & 0xC0) == 0x80;
            cp = (cp << 6) | (b & 0x3F);
        }
        if (!ok) {
            g.push_back(kQuestion);
            continue;
        }
        char hex[12];
        std::snprintf(hex, sizeof hex, "<%X>", cp);
        for (const char* h = hex; *h; ++h) g.push_back(*h - 32);
    }
    static_assert(kGlyphCount == kLatin1 + 96, "data/glyphs.inc: 95 ASCII, then 96 Latin-1");
    return g;
}

void fill_rect(RgbImage& img, int x0, int y0, int w, int h, const Rgb& colour) {
    for (int y = std::max(0, y0); y < std::min(img.height, y0 + h); ++y)
        for (int x = std::max(0, x0); x < std::min(img.width, x0 + w); ++x)
            std::memcpy(img.at(y, x), colour.data(), 3);
}

RgbImage filled(int width, int height, const Rgb& colour) {
    RgbImage img(width, height);
    fill_rect(img, 0, 0, width, height, colour);
    return img;
}

}  // namespace

int text_width(std::string_view text) {
    return static_cast<int>(glyphs_of(text).size()) * kGlyphWidth;
}

int text_line_height() {
    return kGlyphHeight + kLineSpacing;
}

std::string fit_text(std::string_view text, int max_width) {
    if (text_width(text) <= max_width) return std::string(text);
    const int room = max_width / kGlyphWidth - 3;  // characters before "..."
    if (room <= 0)
        return std::string(static_cast<std::size_t>(std::max(0, max_width / kGlyphWidth)), '.');
    // A character at a time, with the combining accents after it (never cut from their letter),
    // each as wide as its glyphs (a code point drawn in hex is several).
    auto starts = [&](std::size_t i) {
        return (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 &&
               combining_mark_at(text, i) < 0;
    };
    std::string out;
    int used = 0;
    for (std::size_t i = 0; i < text.size();) {
        std::size_t j = i + 1;
        while (j < text.size() && !starts(j)) ++j;
        const std::string_view one = text.substr(i, j - i);
        const int w = static_cast<int>(glyphs_of(one).size());
        if (used + w > room) break;
        out += one;
        used += w;
        i = j;
    }
    return out + "...";
}

void draw_text(RgbImage& img, int x, int y, std::string_view text, const Rgb& colour) {
    for (const int g : glyphs_of(text)) {
        for (int r = 0; r < kGlyphHeight; ++r) {
            const int py = y + r;
            if (py < 0 || py >= img.height) continue;
            const char* row = kGlyphRows[g][r];
            for (int c = 0; c < kGlyphWidth; ++c) {
                const int px = x + c;
                if (px < 0 || px >= img.width || row[c] == '.') continue;
                const int ink = row[c] <= '9' ? row[c] - '0' : row[c] - 'a' + 10;  // 0..15
                std::uint8_t* p = img.at(py, px);
                for (int k = 0; k < 3; ++k)
                    p[k] =
                        static_cast<std::uint8_t>((colour[k] * ink + p[k] * (15 - ink) + 7) / 15);
            }
        }
        x += kGlyphWidth;
    }
}

void draw_caption(RgbImage& img, int x, int y, int w, int h, std::string_view text) {
    const int box_h = kGlyphHeight + 2;
    if (h < box_h || w < 2 + kGlyphWidth) return;
    const std::string shown = fit_text(text, w - 4);
    const int box_w = std::min(w, text_width(shown) + 4);
    fill_rect(img, x, y + h - box_h, box_w, box_h, Rgb{0, 0, 0});
    draw_text(img, x + 2, y + h - box_h + 1, shown, Rgb{255, 255, 255});
}

Rgb text_colour_on(const Rgb& background) {
    const int luma = (299 * background[0] + 587 * background[1] + 114 * background[2]) / 1000;
    return luma > 128 ? Rgb{0, 0, 0} : Rgb{255, 255, 255};
}

std::vector<LegendEntry> class_legend(const Palette& palette) {
    std::vector<LegendEntry> entries;
    for (const ClassInfo& c : palette.classes) entries.push_back({c.name, c.colour});
    entries.push_back({"unlabelled", palette.display_unlabelled()});
    return entries;
}

RgbImage legend_strip(const std::vector<LegendEntry>& entries, int width, const Rgb& background) {
    const int swatch = kGlyphHeight - 2, line = text_line_height();
    const int inner = std::max(1, width - 2 * kMargin);
    // Each entry: swatch, a space, its name (cut to a line), and two spaces before the next.
    struct Placed {
        int x, line;
        std::string name;
    };
    std::vector<Placed> placed;
    int x = 0, lines = 1;
    for (const LegendEntry& e : entries) {
        const std::string name = fit_text(e.name, inner - swatch - kGlyphWidth);
        const int w = swatch + kGlyphWidth + text_width(name);
        if (x > 0 && x + w > inner) {
            x = 0;
            ++lines;
        }
        placed.push_back({x, lines - 1, name});
        x += w + 2 * kGlyphWidth;
    }
    RgbImage strip = filled(width, 2 * kMargin + lines * line - kLineSpacing, background);
    const Rgb ink = text_colour_on(background);
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const int x0 = kMargin + placed[i].x, y0 = kMargin + placed[i].line * line;
        fill_rect(strip, x0, y0 + 1, swatch, swatch, ink);  // the outline
        fill_rect(strip, x0 + 1, y0 + 2, swatch - 2, swatch - 2, entries[i].colour);
        draw_text(strip, x0 + swatch + kGlyphWidth, y0, placed[i].name, ink);
    }
    return strip;
}

int title_strip_height() {
    return 2 * kMargin + kGlyphHeight;
}

RgbImage title_strip(const std::vector<std::string>& titles, const std::vector<int>& lefts,
                     const std::vector<int>& widths, int width, const Rgb& background) {
    RgbImage strip = filled(width, title_strip_height(), background);
    const Rgb ink = text_colour_on(background);
    for (std::size_t c = 0; c < titles.size() && c < lefts.size() && c < widths.size(); ++c) {
        const std::string t = fit_text(titles[c], widths[c]);
        draw_text(strip, lefts[c] + (widths[c] - text_width(t)) / 2, kMargin, t, ink);
    }
    return strip;
}

RgbImage stack_pictures(const std::vector<const RgbImage*>& parts, const Rgb& background) {
    int width = 0, height = 0;
    for (const RgbImage* p : parts) {
        width = std::max(width, p->width);
        height += p->height;
    }
    RgbImage out = filled(width, height, background);
    int y0 = 0;
    for (const RgbImage* p : parts) {
        for (int y = 0; y < p->height; ++y)
            std::memcpy(out.at(y0 + y, 0), p->at(y, 0), static_cast<std::size_t>(p->width) * 3);
        y0 += p->height;
    }
    return out;
}

RgbImage titled_picture(const RgbImage& picture, const std::vector<std::string>& titles,
                        const std::vector<int>& lefts, const std::vector<int>& widths,
                        const std::vector<LegendEntry>& entries, const Rgb& background) {
    const RgbImage top = title_strip(titles, lefts, widths, picture.width, background);
    // At least room for a class name a line: a sheet of 16-pixel panels is 44 pixels wide, where
    // every name was cut to "..".
    const RgbImage bottom =
        legend_strip(entries, std::max(picture.width, kMinLegendWidth), background);
    return stack_pictures({&top, &picture, &bottom}, background);
}

}  // namespace pfce
