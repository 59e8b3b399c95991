// Text checks shared by everything that writes JSON (masks.json, checkpoints, reports): JSON holds
// UTF-8 only, so a path or a sample id that is not valid UTF-8 is refused up front, naming it,
// instead of failing after the work is done.
#pragma once

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace pfce {

// Well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
inline bool is_valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        int n = 0;
        unsigned min = 0, cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, min = 0x80, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, min = 0x800, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return false;
        }
        if (i + static_cast<std::size_t>(n) >= s.size()) return false;  // truncated sequence
        for (int k = 1; k <= n; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
            if ((cc & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += static_cast<std::size_t>(n) + 1;
    }
    return true;
}

// `s` without the spaces and tabs at its ends ("" when that is all it holds).
inline std::string trimmed(const std::string& s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// A comma-separated list's items, each trimmed, empty ones kept ("a, ,b" -> "a", "", "b"; "" ->
// one empty item): what an empty item means is the caller's to say.
inline std::vector<std::string> comma_items(const std::string& text) {
    std::vector<std::string> items;
    std::size_t from = 0;
    for (std::size_t comma; (comma = text.find(',', from)) != std::string::npos; from = comma + 1)
        items.push_back(trimmed(text.substr(from, comma - from)));
    items.push_back(trimmed(text.substr(from)));
    return items;
}

// Empty, or white space only: a value nobody can see.
inline bool is_blank(const std::string& s) {
    return s.find_first_not_of(" \t\r\n") == std::string::npos;
}

// `s` with its control characters shown as \t, \n or \xNN, for messages about text that holds
// them (printed as they are, they would be invisible or break the line).
inline std::string controls_escaped(const std::string& s) {
    std::string out;
    for (const char ch : s) {
        const auto u = static_cast<unsigned char>(ch);
        if (ch == '\t') {
            out += "\\t";
        } else if (ch == '\n') {
            out += "\\n";
        } else if (u < 0x20 || u == 0x7F) {
            const char* hex = "0123456789ABCDEF";
            out += "\\x";
            out += hex[u >> 4];
            out += hex[u & 15];
        } else {
            out += ch;
        }
    }
    return out;
}

// A value as an error message shows it: in quotes where it could not be seen otherwise (empty, or
// with spaces at its ends), else as it is.
inline std::string quoted_if_unseen(const std::string& text) {
    const bool quote = text.empty() || std::isspace(static_cast<unsigned char>(text.front())) ||
                       std::isspace(static_cast<unsigned char>(text.back()));
    return quote ? "\"" + text + "\"" : text;
}

// `s` as one word of a POSIX shell command a person copies from a message: as it is where every
// byte is one a shell leaves alone (letters, digits, _ . / : = , + @ % -, and UTF-8 past ASCII),
// else in single quotes (a quote inside as '\''), so a path with spaces or $ stays one path.
inline std::string shell_word(const std::string& s) {
    const bool plain = !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) {
        const auto c = static_cast<unsigned char>(ch);
        return c >= 0x80 || std::isalnum(c) || (c != 0 && std::strchr("_./:=,+@%-", c) != nullptr);
    });
    if (plain) return s;
    std::string out = "'";
    for (const char c : s) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out += c;
        }
    }
    return out + "'";
}

// `v` with `decimals` digits after the point ("0.73"), as printf's %.*f writes it.
inline std::string format_fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

// `v` in `digits` significant digits, no trailing zeros ("0.05", "2", "1.6"), as printf's %.*g.
inline std::string format_significant(double v, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    return buf;
}

// `v` in the fewest digits that read back as `v` ("8.0000001", "0.125", "2"): a value said back
// to the user as typed, where %g's six digits would turn 8.0000001 into 8.
inline std::string format_shortest(double v) {
    char buf[32];
    return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

// A byte count as people read it: "512 bytes", "3.4 KB", "120.0 MB", "2.1 GB" (powers of 1000,
// as df -H and file managers count), so a small amount is never "0.0 GB".
inline std::string format_bytes(double bytes) {
    const char* units[] = {"KB", "MB", "GB", "TB"};
    if (bytes < 999.5)
        return format_fixed(bytes, 0) + (bytes >= 0.5 && bytes < 1.5 ? " byte" : " bytes");
    double v = bytes / 1000;
    int u = 0;
    while (v >= 999.95 && u < 3) v /= 1000, ++u;  // decided as rounded: 999960 is 1.0 MB
    return format_fixed(v, 1) + " " + units[u];
}

// Terminal columns `s` takes: one per code point, two for East Asian wide ones (CJK, Hangul,
// fullwidth forms), none for combining marks; a byte that is not UTF-8 one column. So a table
// of class names ("Straße", "道路") stays aligned where printf's %-22s counts bytes.
inline std::size_t display_width(std::string_view s) {
    std::size_t width = 0;
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        const int n = c < 0x80             ? 0
                      : (c & 0xE0) == 0xC0 ? 1
                      : (c & 0xF0) == 0xE0 ? 2
                      : (c & 0xF8) == 0xF0 ? 3
                                           : -1;
        if (n < 0 || i + static_cast<std::size_t>(n) >= s.size()) {  // not UTF-8, or cut short
            ++width;
            ++i;
            continue;
        }
        unsigned cp = n == 0 ? c : c & (0x3F >> n);
        for (int k = 1; k <= n; ++k)
            cp =
                (cp << 6) | (static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]) & 0x3F);
        i += static_cast<std::size_t>(n) + 1;
        if ((cp >= 0x300 && cp <= 0x36F) || (cp >= 0x200B && cp <= 0x200F)) continue;  // combining
        const bool wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                          (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                          (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
                          (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1FAFF) ||
                          (cp >= 0x20000 && cp <= 0x3FFFD);
        width += wide ? 2 : 1;
    }
    return width;
}

// `s` followed by spaces to `width` terminal columns (display_width), for a printed table.
inline std::string padded(const std::string& s, std::size_t width) {
    const std::size_t w = display_width(s);
    return w >= width ? s : s + std::string(width - w, ' ');
}

// Text for XML and SVG attributes and elements: the five characters XML reserves, escaped.
inline std::string xml_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&apos;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

// `s` with its ASCII letters in lower case (names compared "in any case").
inline std::string ascii_lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// Up to three of `names`, comma-separated, and ", ..." past them: a message's examples.
inline std::string some_names(const std::vector<std::string>& names) {
    std::string s;
    for (std::size_t i = 0; i < names.size() && i < 3; ++i) s += (i ? ", " : "") + names[i];
    return s + (names.size() > 3 ? ", ..." : "");
}

// The number of single-character insertions, deletions and substitutions from `a` to `b`
// (Levenshtein), for "did you mean" hints.
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = up;
        }
    }
    return row[b.size()];
}

// The name of `names` a mistyped `typed` most likely meant: the nearest by edit distance within a
// third of its length (at least 1), or one that starts with it or it starts with (epoch for
// epochs, out-dir for out); "" when none is that near.
inline std::string nearest_name(const std::string& typed, const std::vector<std::string>& names) {
    std::string best;
    std::size_t best_distance = std::max<std::size_t>(1, typed.size() / 3) + 1;
    for (const std::string& n : names) {
        std::size_t d = edit_distance(typed, n);
        const bool prefix = n.rfind(typed, 0) == 0 || typed.rfind(n, 0) == 0;
        if (prefix && n.size() >= 2 && typed.size() >= 3) d = std::min<std::size_t>(d, 1);
        if (d < best_distance) {
            best_distance = d;
            best = n;
        }
    }
    return best;
}

// `t` (UTF-8) with its Latin letters' accents dropped: combining marks (U+0300..U+036F, what NFD
// splits an accent into) go, and a precomposed letter of Latin-1 or Latin Extended-A (U+00C0..
// U+017F: NFC's é, č, ő, ł) becomes its ASCII base letter, in its case. Other bytes stay as they
// are. Only for hints (names that differ in how an accent is encoded, NFC or NFD, look alike):
// files and ids match by their exact bytes.
inline std::string fold_accents(const std::string& t) {
    // U+00C0..U+017F: the base letter, or 0 for one without (Æ, Ð, Ø, Þ, ß, ×, ÷, Ĳ, ĸ, ŉ, Ŋ,
    // Œ, ſ).
    static const char base[193] =
        "AAAAAA\0CEEEEIIII\0NOOOOO\0\0UUUUY\0\0"                        // U+00C0
        "aaaaaa\0ceeeeiiii\0nooooo\0\0uuuuy\0y"                         // U+00E0
        "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIi\0\0JjKk\0"  // U+0100
        "LlLlLlLlLlNnNnNn\0\0\0OoOoOo\0\0RrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZz\0";
    static_assert(sizeof(base) == 0x180 - 0xC0 + 1);
    std::string out;
    for (std::size_t i = 0; i < t.size(); ++i) {
        const auto b = static_cast<unsigned char>(t[i]);
        if (i + 1 < t.size() && ((b >= 0xC3 && b <= 0xC5) || b == 0xCC || b == 0xCD)) {
            const auto c = static_cast<unsigned char>(t[i + 1]);
            const unsigned cp = ((b & 0x1Fu) << 6) | (c & 0x3Fu);
            if ((c & 0xC0) == 0x80 && cp >= 0x300 && cp <= 0x36F) {  // a combining mark
                ++i;
                continue;
            }
            if ((c & 0xC0) == 0x80 && cp >= 0xC0 && cp < 0x180 && base[cp - 0xC0]) {
                out += base[cp - 0xC0];
                ++i;
                continue;
            }
        }
        out += t[i];
    }
    return out;
}

}  // namespace pfce
