// Generic datasets: root/images/ and root/masks/ paired by file stem, described by
// root/dataset.toml:
//
//     [classes]
//     names = ["road", "building"]
//     [mask]
//     encoding = "palette"                    # or "index" (pixel value = class)
//     colours = [[255,255,255], [0,0,255]]    # palette: one per class (index: optional, previews)
//     values = [1, 2]                         # index: each class's pixel value (default 0, 1, ...)
//     ignore = [0]                            # index values that mean "unlabelled"
//
//     ignore_colours = [[0,0,0]]              # palette colours that mean "unlabelled"
//     [files]                                 # optional: names with a suffix after the id
//     image_suffix = "_sat"                   # images/123_sat.jpg is sample 123 (DeepGlobe)
//     mask_suffix = "_mask"                   # masks/123_mask.png is its mask
//     images = "Images_png"                   # the directories, under root (default images/
//     masks = "Masks_png"                     # and masks/; one directory for both with suffixes)
//     images_without_mask = "skip"            # left out, and said (default "refuse": an error)
//     [image]                                 # optional: how every command reads the images
//     bands = [4, 1, 2]                       # as --bands (1-based, as GDAL counts them)
//     value_range = [0, 10000]                # as --value-range: sample values read as 0 and 255
//
// In index masks 255 means "unlabelled" (pfce's own masks use it so) unless mask.values makes it
// a class's value, as binary 0/255 masks need.
//
// Unknown keys are errors (a typo must not silently change what is trained on).
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "data/dataset_detail.hpp"

namespace fs = std::filesystem;

namespace pfce {
namespace {

struct GenericSpec {
    std::vector<std::string> names;
    bool index = false;
    std::vector<Rgb> colours;
    std::vector<std::uint8_t> values;  // index: the pixel value of each class
    std::vector<std::uint8_t> ignore;
    std::vector<Rgb> ignore_colours;
    int colour_tolerance = 0;  // palette masks: levels a colour may be off a known one
    // [files]: what follows the sample id in the file names (DeepGlobe: 123_sat.jpg, 123_mask.png).
    std::string image_suffix, mask_suffix;
    // [files]: the directories of images and masks, relative to the root (LoveDA: Images_png).
    std::string images = "images", masks = "masks";
    // [files] images_without_mask = "skip": images with no mask are left out (a benchmark's test
    // images beside its training ones: Vaihingen's unlabelled tiles, OpenEarthMap's test images),
    // and said. By default ("refuse") each image needs its mask.
    bool skip_images_without_mask = false;
    // [files] images_without_mask = "unlabelled": such images are samples whose dense mask labels
    // nothing (and the masks directory may be missing): a dataset of images and point layers
    // (sample --from-points) has no dense masks to give, and trains on its points all the same.
    bool unlabelled_images_without_mask = false;
    // [image]: the bands and value range every command reads the images with where it is given
    // none (a 4-band or 16-bit dataset needed --bands and --value-range on each command).
    ImageChoice image;
};

// A value as the file writes it (1, ["skip"], true), for a refusal of its type: on one line,
// as toml++ prints an array over several.
std::string toml_value_text(const toml::node& n) {
    if (const toml::array* a = n.as_array()) {
        std::string out = "[";
        for (std::size_t i = 0; i < a->size(); ++i)
            out += (i ? ", " : "") + toml_value_text(*a->get(i));
        return out + "]";
    }
    std::ostringstream os;
    n.visit([&os](auto&& v) { os << v; });
    return os.str();
}

void check_keys(const toml::table& t, const std::string& where,
                const std::set<std::string>& allowed, const std::string& file) {
    for (auto&& [k, v] : t) {
        (void)v;
        if (!allowed.count(std::string(k.str()))) {
            std::string list;
            for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
            // A key of another table, put in the wrong one (values under [classes]).
            static const std::map<std::string, std::string> home = {
                {"names", "classes"},      {"encoding", "mask"},
                {"colours", "mask"},       {"values", "mask"},
                {"ignore", "mask"},        {"ignore_colours", "mask"},
                {"image_suffix", "files"}, {"mask_suffix", "files"},
                {"images", "files"},       {"images_without_mask", "files"},
                {"masks", "files"},        {"bands", "image"},
                {"value_range", "image"}};
            const auto h = home.find(std::string(k.str()));
            PFCE_THROW(InputError, file, ": unknown key '", where.empty() ? "" : where + ".",
                       k.str(), "' (line ", k.source().begin.line, "; expected one of: ", list, ")",
                       h != home.end() && h->second != where
                           ? "; " + std::string(k.str()) + " belongs under [" + h->second + "]"
                           : std::string());
        }
    }
}

const toml::table& sub_table(const toml::table& t, const char* key, const std::string& file) {
    const toml::node* n = t.get(key);
    if (!n) PFCE_THROW(InputError, file, ": missing table [", key, "]");
    if (!n->is_table()) PFCE_THROW(InputError, file, ": '", key, "' must be a table ([", key, "])");
    return *n->as_table();
}

// An integer of a list (`key` names the list) or, `single`, the key's own value.
int int_in(const toml::node& n, int lo, int hi, const std::string& file, const std::string& key,
           bool single = false) {
    const auto v = n.value<std::int64_t>();
    if (!v || !n.is_integer() || *v < lo || *v > hi)
        PFCE_THROW(InputError, file, ": ", key, single ? " = " : " holds ", toml_value_text(n),
                   single ? ": expected an integer in " : ": expected integers in ", lo, "..", hi,
                   " (line ", n.source().begin.line, ")");
    return static_cast<int>(*v);
}

std::vector<Rgb> colour_list(const toml::node& n, const std::string& file, const std::string& key) {
    const toml::array* a = n.as_array();
    if (!a) PFCE_THROW(InputError, file, ": ", key, " must be a list of [r, g, b] triples");
    std::vector<Rgb> out;
    for (const toml::node& e : *a) {
        const toml::array* c = e.as_array();
        if (!c || c->size() != 3)
            PFCE_THROW(InputError, file, ": ", key, " must be a list of [r, g, b] triples (line ",
                       e.source().begin.line, ")");
        Rgb rgb;
        for (int i = 0; i < 3; ++i)
            rgb[i] = static_cast<std::uint8_t>(int_in(*c->get(i), 0, 255, file, key));
        out.push_back(rgb);
    }
    return out;
}

// [image] bands and value_range, checked as the config checks data.bands and data.value_range.
ImageChoice image_table(const toml::table& t, const std::string& file) {
    check_keys(t, "image", {"bands", "value_range"}, file);
    ImageChoice c;
    if (const toml::node* b = t.get("bands")) {
        const toml::array* a = b->as_array();
        if (!a || a->empty() || !image_channel_count_fits(static_cast<int>(a->size())))
            PFCE_THROW(InputError, file, ": image.bands = ", toml_value_text(*b), " (line ",
                       b->source().begin.line,
                       "): expected a list of band numbers, 1-based as GDAL counts them, giving ",
                       kImageChannelCounts, " (e.g. [4, 1, 2] for infrared, red, green)");
        for (const toml::node& v : *a) c.bands.push_back(int_in(v, 1, 255, file, "image.bands"));
    }
    if (const toml::node* r = t.get("value_range")) {
        const toml::array* a = r->as_array();
        std::vector<double> v;
        if (a)
            for (const toml::node& e : *a)
                if (const auto x = e.value<double>();
                    x && (e.is_integer() || e.is_floating_point()))
                    v.push_back(*x);
        if (!a || a->size() != 2 || v.size() != 2 || !std::isfinite(v[0]) || !std::isfinite(v[1]) ||
            !(v[0] < v[1]) || !std::isfinite(v[1] - v[0]))
            PFCE_THROW(
                InputError, file, ": image.value_range = ", toml_value_text(*r), " (line ",
                r->source().begin.line,
                "): expected [lo, hi] with lo < hi, both and hi - lo finite: the values of 16-bit, "
                "signed or floating-point samples read as 0 and 255 (e.g. [0, 10000] for "
                "Sentinel-2 reflectance as counts, [0, 0.3] as floats)");
        c.range_lo = v[0];
        c.range_hi = v[1];
    }
    return c;
}

GenericSpec parse_spec(const fs::path& toml_path) {
    const std::string file = toml_path.string();
    toml::table doc;
    // Read as the config files are: a directory of that name is said to be one (toml++ read it as
    // an empty document: "missing table [classes]").
    const std::string text = read_whole_file(file);
    try {
        doc = toml::parse(text, file);
    } catch (const toml::parse_error& e) {
        PFCE_THROW(InputError, file, ":", e.source().begin.line, ": ", e.description());
    }
    // [data] is a training config's table: its bands and value_range go under [image] here.
    if (const toml::node* d = doc.get("data"); d && d->is_table())
        PFCE_THROW(InputError, file, ": unknown table [data] (line ", d->source().begin.line,
                   "; expected [classes], [mask], [files] or [image]): a dataset.toml gives how "
                   "its images are read as bands and value_range under [image]; [data] is a "
                   "training config's table");
    check_keys(doc, "", {"classes", "mask", "files", "image"}, file);
    GenericSpec spec;
    if (const toml::node* im = doc.get("image")) {
        if (!im->is_table()) PFCE_THROW(InputError, file, ": 'image' must be a table ([image])");
        spec.image = image_table(*im->as_table(), file);
    }

    if (const toml::node* f = doc.get("files")) {
        if (!f->is_table()) PFCE_THROW(InputError, file, ": 'files' must be a table ([files])");
        const toml::table& files = *f->as_table();
        check_keys(files, "files",
                   {"image_suffix", "mask_suffix", "images", "masks", "images_without_mask"}, file);
        if (const toml::node* n = files.get("images_without_mask")) {
            const std::optional<std::string> v = n->value<std::string>();
            if (!n->is_string() || (*v != "refuse" && *v != "skip" && *v != "unlabelled"))
                PFCE_THROW(InputError, file, ": files.images_without_mask = ",
                           n->is_string() ? "\"" + *v + "\"" : toml_value_text(*n),
                           ": expected \"refuse\" (every image needs its mask: the default), "
                           "\"skip\" (images without one are left out, and said) or "
                           "\"unlabelled\" (they are samples whose masks label nothing: images "
                           "labelled only by points, --from-points)");
            spec.skip_images_without_mask = *v == "skip";
            spec.unlabelled_images_without_mask = *v == "unlabelled";
        }
        for (auto [key, out] : {std::pair{"image_suffix", &spec.image_suffix},
                                std::pair{"mask_suffix", &spec.mask_suffix}}) {
            const toml::node* n = files.get(key);
            if (!n) continue;
            if (!n->is_string())
                PFCE_THROW(InputError, file, ": files.", key,
                           " must be a string (what follows the sample id in the file names, "
                           "e.g. \"_sat\")");
            *out = *n->value<std::string>();
        }
        for (auto [key, out] :
             {std::pair{"images", &spec.images}, std::pair{"masks", &spec.masks}}) {
            const toml::node* n = files.get(key);
            if (!n) continue;
            if (!n->is_string())
                PFCE_THROW(InputError, file, ": files.", key,
                           " must be a string (a directory inside the dataset, relative to it)");
            const fs::path dir = n->value<std::string>().value_or("");
            if (dir.empty() || dir.is_absolute() || *dir.lexically_normal().begin() == "..")
                PFCE_THROW(InputError, file, ": files.", key,
                           " must name a directory inside the dataset, relative to it (e.g. \"",
                           key == std::string("images") ? "Images_png" : "Masks_png",
                           "\"); a dataset's files stay under its root");
            fs::path normal = dir.lexically_normal();  // "train/" and "train" are one
            if (!normal.has_filename()) normal = normal.parent_path();
            *out = normal.string();
        }
        // One directory for both (DeepGlobe's train/: 123_sat.jpg beside 123_mask.png): the
        // suffixes tell images from masks.
        if (fs::path(spec.images) == fs::path(spec.masks) &&
            (spec.image_suffix.empty() || spec.mask_suffix.empty() ||
             spec.image_suffix == spec.mask_suffix))
            PFCE_THROW(InputError, file, ": files.images and files.masks are one directory (\"",
                       spec.images,
                       "\"), so files.image_suffix and files.mask_suffix must tell images from "
                       "masks (expected two different suffixes, e.g. \"_sat\" and \"_mask\")");
    }

    const toml::table& classes = sub_table(doc, "classes", file);
    check_keys(classes, "classes", {"names"}, file);
    const toml::array* names = classes.get("names") ? classes.get("names")->as_array() : nullptr;
    if (!names || names->empty())
        PFCE_THROW(InputError, file, ": classes.names must be a non-empty list of class names");
    for (const toml::node& n : *names) {
        const auto s = n.value<std::string>();
        if (!s || !n.is_string()) PFCE_THROW(InputError, file, ": classes.names must hold strings");
        if (s->empty()) PFCE_THROW(InputError, file, ": classes.names holds an empty name");
        // Names go into tables, CSV and SVG, where a control character breaks the file.
        for (const char ch : *s)
            if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F)
                PFCE_THROW(InputError, file, ": class name \"", controls_escaped(*s),
                           "\" holds a control character (a tab, newline or code below 32); "
                           "expected printable text");
        // Reports, metrics and checkpoints name classes: two alike could not be told apart, nor
        // two apart only in case (clutter is found in any case: "Clutter" beside "clutter" was
        // kept in the mIoU without clutter, unsaid).
        const auto lower = [](std::string t) {
            for (char& ch : t) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            return t;
        };
        for (const std::string& earlier : spec.names)
            if (lower(earlier) == lower(*s))
                PFCE_THROW(
                    InputError, file, ": class name \"", *s,
                    "\" appears twice in "
                    "classes.names",
                    earlier == *s ? "" : " (as \"" + earlier + "\": names apart only in case)",
                    " (expected one name per class)");
        spec.names.push_back(*s);
    }
    if (spec.names.size() > 32)
        PFCE_THROW(InputError, file, ": ", spec.names.size(),
                   " classes given; at most 32 are supported");

    const toml::table& mask = sub_table(doc, "mask", file);
    check_keys(mask, "mask",
               {"encoding", "colours", "values", "ignore", "ignore_colours", "colour_tolerance"},
               file);
    const std::string encoding = mask["encoding"].value_or(std::string("palette"));
    if (encoding != "palette" && encoding != "index")
        PFCE_THROW(InputError, file, ": mask.encoding = '", encoding,
                   "' (expected \"palette\" or \"index\")");
    spec.index = encoding == "index";
    if (const toml::node* c = mask.get("colours"))
        spec.colours = colour_list(*c, file, "mask.colours");
    if (const toml::node* ic = mask.get("ignore_colours"))
        spec.ignore_colours = colour_list(*ic, file, "mask.ignore_colours");
    if (const toml::node* t = mask.get("colour_tolerance"))
        spec.colour_tolerance = int_in(*t, 0, 127, file, "mask.colour_tolerance", true);
    if (const toml::node* vs = mask.get("values")) {
        const toml::array* a = vs->as_array();
        if (!a) PFCE_THROW(InputError, file, ": mask.values must be a list of index values");
        for (const toml::node& v : *a)
            spec.values.push_back(
                static_cast<std::uint8_t>(int_in(v, 0, 255, file, "mask.values")));
    }
    if (const toml::node* ig = mask.get("ignore")) {
        const toml::array* a = ig->as_array();
        if (!a) PFCE_THROW(InputError, file, ": mask.ignore must be a list of index values");
        for (const toml::node& v : *a)
            spec.ignore.push_back(
                static_cast<std::uint8_t>(int_in(v, 0, 255, file, "mask.ignore")));
    }

    if (spec.index) {
        if (!spec.ignore_colours.empty())
            PFCE_THROW(InputError, file,
                       ": mask.ignore_colours applies to palette masks; index masks use "
                       "mask.ignore");
        if (spec.values.empty())
            for (std::size_t c = 0; c < spec.names.size(); ++c)
                spec.values.push_back(static_cast<std::uint8_t>(c));
        if (spec.values.size() != spec.names.size())
            PFCE_THROW(InputError, file, ": mask.values has ", spec.values.size(), " values for ",
                       spec.names.size(), " classes (expected one pixel value per class)");
        for (std::size_t c = 0; c < spec.values.size(); ++c)
            for (std::size_t d = 0; d < c; ++d)
                if (spec.values[c] == spec.values[d])
                    PFCE_THROW(InputError, file, ": mask.values gives classes '", spec.names[d],
                               "' and '", spec.names[c], "' the same value ", int(spec.values[c]));
        for (std::uint8_t v : spec.ignore)
            for (std::size_t c = 0; c < spec.values.size(); ++c)
                if (v == spec.values[c])
                    PFCE_THROW(InputError, file, ": mask.ignore value ", int(v),
                               " is also the value of class '", spec.names[c],
                               "' (give the classes other values with mask.values)");
    } else {
        if (!spec.values.empty())
            PFCE_THROW(InputError, file,
                       ": mask.values applies to index masks; palette masks use mask.colours");
        if (!spec.ignore.empty())
            PFCE_THROW(InputError, file,
                       ": mask.ignore applies to index masks; palette masks use "
                       "mask.ignore_colours");
        if (spec.colours.empty())
            PFCE_THROW(InputError, file,
                       ": palette masks need mask.colours, one [r, g, b] per class");
    }
    if (!spec.colours.empty() && spec.colours.size() != spec.names.size())
        PFCE_THROW(InputError, file, ": mask.colours has ", spec.colours.size(), " colours for ",
                   spec.names.size(), " classes");
    // A colour given twice, with whose it is each time (it named neither).
    std::map<std::uint32_t, std::string> owner;
    for (std::size_t i = 0; i < spec.colours.size() + spec.ignore_colours.size(); ++i) {
        const bool ignore = i >= spec.colours.size();
        const Rgb& c = ignore ? spec.ignore_colours[i - spec.colours.size()] : spec.colours[i];
        const std::string whose = ignore ? "mask.ignore_colours"
                                         : "class '" + spec.names[i] + "' (mask.colours entry " +
                                               std::to_string(i + 1) + ")";
        const auto [at, fresh] = owner.emplace((c[0] << 16) | (c[1] << 8) | c[2], whose);
        if (!fresh)
            PFCE_THROW(InputError, file, ": colour (", int(c[0]), ",", int(c[1]), ",", int(c[2]),
                       ") is given twice, to ", at->second, " and to ", whose,
                       ": each class needs a colour of its own, and an ignore colour one no class "
                       "has");
    }
    if (spec.colour_tolerance > 0) {
        if (spec.index)
            PFCE_THROW(InputError, file,
                       ": mask.colour_tolerance applies to palette masks; index masks hold "
                       "exact values");
        // A colour within the tolerance of two known colours would be either: each must be the
        // only one within reach, so twice the tolerance stays below the closest two's distance.
        Palette known;
        for (const Rgb& c : spec.colours) known.classes.push_back({"", c});
        known.unlabelled_colours = spec.ignore_colours;
        int closest = 256;
        const std::string pair = known.closest_colours(closest);
        if (2 * spec.colour_tolerance >= closest)
            PFCE_THROW(InputError, file, ": mask.colour_tolerance = ", spec.colour_tolerance,
                       ": colours ", pair, " are ", closest,
                       " levels apart, so a colour between them could be read as either "
                       "(expected at most ",
                       known.max_colour_tolerance(), ")");
    }
    return spec;
}

// Distinct preview colours for index datasets that name none: the Potsdam ones first, then a
// spread.
Rgb default_colour(std::size_t c) {
    const Palette& p = potsdam_palette();
    if (c < static_cast<std::size_t>(p.num_classes())) return p.classes[c].colour;
    const std::uint32_t h = static_cast<std::uint32_t>(c) * 2654435761u;
    return Rgb{static_cast<std::uint8_t>(64 + (h >> 8) % 192),
               static_cast<std::uint8_t>(64 + (h >> 16) % 192),
               static_cast<std::uint8_t>(64 + (h >> 24) % 192)};
}

// The files directly in `dir` by sample id: the file's stem less `suffix` (files.image_suffix or
// files.mask_suffix of `toml`, which a stem must then end in).
std::map<std::string, fs::path, bool (*)(const std::string&, const std::string&)> files_by_stem(
    const fs::path& dir, const std::string& suffix, const char* suffix_key, const fs::path& toml,
    const std::string& others_suffix, const fs::path& other_dir) {
    std::map<std::string, fs::path, bool (*)(const std::string&, const std::string&)> out(
        detail::natural_less);
    std::vector<std::string> subdirs;  // not read: said, so a nested layout is not half-read
    std::vector<std::string> hidden;   // image files named .*: not read, and said
    std::vector<std::string> unread;   // image files of a format pfce does not read: said
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        std::error_code ec;
        if (!name.empty() && name[0] != '.' && e.is_directory(ec) && e.path() != other_dir)
            subdirs.push_back(name);  // the other kind's directory (images = ".") is read
        if (!name.empty() && name[0] == '.' && detail::is_image_extension(e.path()))
            hidden.push_back(name);
        else if (!name.empty() && name[0] != '.' && is_unread_image_name(name))
            unread.push_back(name);
        if (name.empty() || name[0] == '.' || !detail::is_image_extension(e.path())) continue;
        detail::check_file_entry(e);
        std::string id = e.path().stem().string();
        auto ends_in = [&](const std::string& end) {
            return id.size() > end.size() &&
                   id.compare(id.size() - end.size(), end.size(), end) == 0;
        };
        // A directory shared by images and masks: the other kind's files are not this kind's.
        if (!others_suffix.empty() && ends_in(others_suffix)) continue;
        if (!suffix.empty()) {
            if (id.size() <= suffix.size() ||
                id.compare(id.size() - suffix.size(), suffix.size(), suffix) != 0)
                PFCE_THROW(InputError, e.path().string(), ": the name does not end in '", suffix,
                           "' before its extension, as ", toml.string(), " files.", suffix_key,
                           " says every file here does (expected <id>", suffix,
                           e.path().extension().string(), ")");
            id.resize(id.size() - suffix.size());
        }
        detail::add_sample_file(out, id, e.path());
    }
    warn_of_hidden_image_files(dir.string(), std::move(hidden));
    detail::warn_of_files_left_out(dir.string(), std::move(unread), "image",
                                   detail::kUnreadFormatAdvice);
    if (!subdirs.empty()) {
        std::sort(subdirs.begin(), subdirs.end());
        std::string list;
        for (const std::string& d : subdirs) list += (list.empty() ? "" : ", ") + d + "/";
        log_warn(dir.string(), ": subdirectories are not read (", list,
                 "); a generic dataset's files lie directly in its image and mask directories");
    }
    return out;
}

// For a file without a partner: a file among `others` whose stem differs only in case or in
// zeros before a number (pairing is by exact stem, so IMG_1.tif and img_1.png, or tile_1.png and
// tile_01.png, are no pair), said as a hint; empty if none.
template <typename Files>
std::string near_stem_hint(const std::string& stem, const Files& others) {
    auto loose = [](const std::string& t) {  // lower case, numbers without leading zeros
        auto digit = [&](std::size_t i) {
            return i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]));
        };
        std::string out;
        for (std::size_t i = 0; i < t.size();) {
            if (!digit(i)) {
                out += static_cast<char>(std::tolower(static_cast<unsigned char>(t[i++])));
                continue;
            }
            std::size_t end = i;
            while (digit(end)) ++end;
            while (i + 1 < end && t[i] == '0') ++i;
            out.append(t, i, end - i);
            i = end;
        }
        return out;
    };
    const std::string want = loose(stem);
    for (const auto& [other, path] : others)
        if (loose(other) == want)
            return "; " + path.string() +
                   " differs only in case or in zeros before a number: rename one (stems pair "
                   "exactly)";
    // Accented letters: é is one code point (NFC) or e and a combining accent (NFD, how names
    // copied from macOS come), and É is é in upper case. Both files then look alike in `ls`.
    const std::string want_folded = loose(fold_accents(stem));
    for (const auto& [other, path] : others)
        if (loose(fold_accents(other)) == want_folded)
            return "; " + path.string() +
                   " differs only in its accented letters: their case, or how they are encoded "
                   "(Unicode NFC or NFD: names copied from macOS are NFD), which look alike but "
                   "are other bytes: rename one (stems pair exactly)";
    return {};
}

// For a file without a partner: where its stem and a stem among `others` differ by an ending
// alone (IMG_1_label beside IMG_1, or IMG_1 beside IMG_1_rgb), the [files] key that pairs them,
// as a hint; empty if none. An ending is a separator and a word ("_label", "-mask"): t_11 beside
// t_1, or a browser's "x (1)", is no naming scheme. `key` names this file's ending, `others_key`
// the other's; a key set already is not suggested.
template <typename Files>
std::string suffix_hint(const std::string& stem, const Files& others, const char* key,
                        const char* others_key, const std::string& set,
                        const std::string& others_set) {
    const auto ending = [](const std::string& longer, const std::string& shorter) {
        if (longer.size() < shorter.size() + 2 || longer.compare(0, shorter.size(), shorter) != 0)
            return std::string();
        const std::string e = longer.substr(shorter.size());
        const bool word = (e[0] == '_' || e[0] == '-' || e[0] == '.') &&
                          std::isalpha(static_cast<unsigned char>(e[1])) &&
                          e.find_first_of(" ()") == std::string::npos;
        return word ? e : std::string();
    };
    const auto say = [](const std::string& named, const std::string& as, const std::string& e,
                        const char* k) {
        return "; " + named + " is named as " + as + " with \"" + e +
               "\" added: if every such file is, say so in dataset.toml ([files] " + k + " = \"" +
               e + "\")";
    };
    // The longest stem this one extends (area_north for area_north_mask, not area), else the
    // shortest that extends it.
    std::string best;
    std::size_t best_len = 0;
    for (const auto& [other, path] : others)
        if (const std::string e = ending(stem, other);
            !e.empty() && set.empty() && other.size() > best_len) {
            best = say("it", path.string(), e, key);
            best_len = other.size();
        }
    if (!best.empty()) return best;
    std::size_t shortest = std::string::npos;
    for (const auto& [other, path] : others)
        if (const std::string e = ending(other, stem);
            !e.empty() && others_set.empty() && other.size() < shortest) {
            best = say(path.string(), "it", e, others_key);
            shortest = other.size();
        }
    return best;
}

}  // namespace

void warn_of_hidden_image_files(const std::string& where, std::vector<std::string> names) {
    detail::warn_of_files_left_out(where, std::move(names), "hidden image",
                                   "names that start with '.' are left out (macOS's ._ copies are "
                                   "no images); rename a file to read it");
}

std::optional<GenericLayout> generic_layout(const fs::path& root) {
    std::error_code ec;
    const fs::path toml_path = root / "dataset.toml";
    if (!fs::exists(toml_path, ec)) return std::nullopt;
    GenericLayout l;
    l.images = root / "images";
    l.masks = root / "masks";
    try {
        const GenericSpec spec = parse_spec(toml_path);
        l.images = root / spec.images;
        l.masks = root / spec.masks;
        l.image_suffix = spec.image_suffix;
        l.mask_suffix = spec.mask_suffix;
        l.classes = spec.names;
        l.index = spec.index;
        l.colours = spec.colours;
        for (std::size_t c = 0; c < spec.names.size(); ++c)
            l.values.push_back(spec.values.empty() ? static_cast<int>(c) : spec.values[c]);
        l.image = {spec.image, toml_path.string()};
    } catch (const InputError&) {
    }
    return l;
}

void DatasetBuilder::scan_generic(Dataset& ds, const fs::path& root) {
    const fs::path toml_path = root / "dataset.toml";
    std::error_code ec;
    if (!fs::exists(toml_path, ec))
        PFCE_THROW(InputError, "generic dataset ", root.string(), " has no dataset.toml (",
                   toml_path.string(), " names the classes and the mask encoding)");
    const GenericSpec spec = parse_spec(toml_path);
    const fs::path images_dir = root / spec.images, masks_dir = root / spec.masks;
    const bool shared = images_dir == masks_dir;
    // Images that may all lack a mask need no masks directory.
    const bool masks_optional = spec.unlabelled_images_without_mask && !fs::exists(masks_dir, ec);
    for (const auto& [d, key] : {std::pair{images_dir, "images"}, std::pair{masks_dir, "masks"}})
        if (!fs::is_directory(d, ec) && !(masks_optional && d == masks_dir)) {
            // The directories a dataset ships under other names (LoveDA's Images_png, Inria's
            // gt): named, with the key that reads them.
            std::vector<std::string> subdirs;
            for (const auto& e : fs::directory_iterator(root, ec))
                if (e.is_directory(ec) && e.path().filename().string()[0] != '.')
                    subdirs.push_back(e.path().filename().string() + "/");
            std::sort(subdirs.begin(), subdirs.end());
            std::string there;
            for (const std::string& sub : subdirs) there += (there.empty() ? "" : ", ") + sub;
            if (fs::exists(d, ec))
                PFCE_THROW(InputError, "generic dataset ", root.string(), ": ", d.string(),
                           " is a file, not a directory (expected the dataset's ", key,
                           " directory; [files] ", key, " = \"DIR\" in dataset.toml names it)");
            PFCE_THROW(InputError, "generic dataset ", root.string(), ": directory ", d.string(),
                       " is missing (", root.string(), " holds ",
                       there.empty() ? "no directory" : there, "; [files] ", key,
                       " = \"DIR\" in dataset.toml names another)");
        }

    Palette pal;
    for (std::size_t c = 0; c < spec.names.size(); ++c)
        pal.classes.push_back(
            {spec.names[c], spec.colours.empty() ? default_colour(c) : spec.colours[c]});
    pal.unlabelled_colours = spec.ignore_colours;
    pal.colour_tolerance = spec.colour_tolerance;
    pal.tolerance_settable = !spec.index;
    ds.palette_ = std::move(pal);
    ds.index_masks_ = spec.index;
    ds.index_values_ = spec.values;
    ds.index_ignore_ = spec.ignore;

    const auto images = files_by_stem(images_dir, spec.image_suffix, "image_suffix", toml_path,
                                      shared ? spec.mask_suffix : std::string(), masks_dir);
    const auto masks = masks_optional
                           ? decltype(images){}
                           : files_by_stem(masks_dir, spec.mask_suffix, "mask_suffix", toml_path,
                                           shared ? spec.image_suffix : std::string(), images_dir);
    if (images.empty())
        PFCE_THROW(InputError, "empty dataset: no .tif/.png/.jpg images in ", images_dir.string());
    for (const auto& [stem, path] : masks)
        if (!images.count(stem))
            PFCE_THROW(MissingPartnerFile, "missing partner file: ", path.string(),
                       " has no image ", (images_dir / (stem + spec.image_suffix)).string(),
                       ".(tif|tiff|png|jpg|jpeg)", near_stem_hint(stem, images),
                       suffix_hint(stem, images, "mask_suffix", "image_suffix", spec.mask_suffix,
                                   spec.image_suffix),
                       detail::unread_partner_hint(images_dir, stem + spec.image_suffix, false));
    // Images without a mask, counted: several are most likely a public dataset's test images,
    // whose labels are withheld (OpenEarthMap keeps them in images/), not a misnamed file.
    std::size_t unlabelled_images = 0;
    std::string named;  // up to five file names
    for (const auto& [stem, path] : images)
        if (masks.count(stem) == 0) {
            if (unlabelled_images < 5)
                named += (named.empty() ? "" : ", ") + path.filename().string();
            ++unlabelled_images;
        }
    if (spec.skip_images_without_mask && unlabelled_images > 0) {
        if (unlabelled_images == images.size())
            PFCE_THROW(InputError, "empty dataset: none of the ", images.size(), " images in ",
                       images_dir.string(), " has a mask in ", masks_dir.string(),
                       " (files.images_without_mask = \"skip\" in ", toml_path.string(),
                       " leaves them all out)");
        log_info(root.string(), ": ", unlabelled_images, " of the ", images.size(),
                 " images have no mask and are left out (files.images_without_mask = \"skip\"): ",
                 named, unlabelled_images > 5 ? ", ..." : "", " in ", images_dir.string());
    }
    if (spec.unlabelled_images_without_mask && unlabelled_images > 0)
        log_info(root.string(), ": ", unlabelled_images, " of the ", images.size(),
                 " images have no mask and label nothing (files.images_without_mask = "
                 "\"unlabelled\"): they train on the points given for them (--labels), and "
                 "validation and eval --labels score those points where an image has no mask");
    for (const auto& [stem, path] : images) {
        auto m = masks.find(stem);
        if (m == masks.end() && spec.unlabelled_images_without_mask) {
            SampleRef s;
            s.id = stem;
            s.image_path = path.string();  // mask_path stays empty: a mask of no label
            ds.samples_.push_back(std::move(s));
            continue;
        }
        if (m == masks.end() && spec.skip_images_without_mask) {
            ds.ids_without_mask_.push_back(stem);  // `images` is ordered: sorted
            continue;
        }
        if (m == masks.end())
            PFCE_THROW(MissingPartnerFile, "missing partner file: ", path.string(), " has no mask ",
                       (masks_dir / (stem + spec.mask_suffix)).string(), ".(tif|tiff|png)",
                       near_stem_hint(stem, masks),
                       suffix_hint(stem, masks, "image_suffix", "mask_suffix", spec.image_suffix,
                                   spec.mask_suffix),
                       detail::unread_partner_hint(masks_dir, stem + spec.mask_suffix, true),
                       // One such image too (a walkthrough's error named no way to leave it out).
                       unlabelled_images >= 1 && unlabelled_images < images.size()
                           ? "; " + std::to_string(unlabelled_images) + " of the " +
                                 std::to_string(images.size()) +
                                 (unlabelled_images == 1 ? " images has" : " images have") +
                                 " no mask (a dataset's test images, whose labels "
                                 "are withheld?): move those out of " +
                                 images_dir.string() +
                                 ", or leave them out with [files] images_without_mask = "
                                 "\"skip\" in " +
                                 toml_path.string() + " (split lists do not leave them out)"
                           : std::string());
        SampleRef s;
        s.id = stem;
        s.image_path = path.string();
        s.mask_path = m->second.string();
        ds.samples_.push_back(std::move(s));
    }
    detail::check_all_pairs(ds.samples_, ds.opts_);
}

DeclaredImage declared_image_settings(const std::string& root, DatasetKind kind) {
    const fs::path r(root);
    std::error_code ec;
    // Read only where the dataset opens as a generic one; a dataset.toml beside Potsdam tiles or
    // Kaggle patches is not read (Dataset::open says so), nor one of several layouts.
    if (kind == DatasetKind::kaggle || kind == DatasetKind::tiles || !fs::is_directory(r, ec))
        return {};
    if (kind == DatasetKind::automatic &&
        detail::layouts_found(r) != std::vector<DatasetKind>{DatasetKind::generic})
        return {};
    const fs::path toml_path = r / "dataset.toml";
    if (!fs::is_regular_file(toml_path, ec)) return {};
    return {parse_spec(toml_path).image, toml_path.string()};
}

namespace {

// adopt_declared_image, the kept ones warned about where `warn` (a model's reading).
void take_declared_image(ImageChoice& c, const DeclaredImage& d, bool bands_given, bool range_given,
                         const char* whose, bool warn) {
    const auto bands_text = [](const std::vector<int>& b) {
        std::string t = "[";
        for (std::size_t i = 0; i < b.size(); ++i) t += (i ? "," : "") + std::to_string(b[i]);
        return t + "]";
    };
    const auto range_text = [](const ImageChoice& x) {
        return "[" + format_shortest(x.range_lo) + ", " + format_shortest(x.range_hi) + "]";
    };
    std::string taken, kept;
    if (!d.choice.bands.empty()) {
        if (!bands_given) {
            c.bands = d.choice.bands;
            taken = "bands " + bands_text(c.bands);
        } else if (c.bands != d.choice.bands) {
            kept = "bands " +
                   (c.bands.empty() ? std::string("[] (the files' own colours)")
                                    : bands_text(c.bands)) +
                   ", not the " + bands_text(d.choice.bands);
        }
    }
    if (d.choice.has_value_range()) {
        if (!range_given) {
            c.range_lo = d.choice.range_lo;
            c.range_hi = d.choice.range_hi;
            taken += (taken.empty() ? "" : " and ") + std::string("value range ") + range_text(c);
        } else if (!c.has_value_range() || c.range_lo != d.choice.range_lo ||
                   c.range_hi != d.choice.range_hi) {
            kept += (kept.empty() ? "" : "; ") + std::string("value range ") +
                    (c.has_value_range() ? range_text(c) : "[] (8-bit samples as stored)") +
                    ", not the " + range_text(d.choice);
        }
    }
    if (!taken.empty()) log_info("images read with ", taken, ", as ", d.file, " [image] says");
    if (kept.empty()) return;
    if (warn)
        log_warn("images read with the ", whose, " ", kept, " of ", d.file,
                 " [image]: as the model was trained, not as that dataset reads them");
    else
        log_info("images read with the ", whose, " ", kept, " of ", d.file, " [image]");
}

}  // namespace

void adopt_declared_image(ImageChoice& c, const DeclaredImage& d, bool bands_given,
                          bool range_given, const char* whose) {
    take_declared_image(c, d, bands_given, range_given, whose, false);
}

void warn_of_other_reading(const ImageChoice& trained, const DeclaredImage& d) {
    ImageChoice kept = trained;
    take_declared_image(kept, d, true, true, "checkpoint's", true);
}

}  // namespace pfce
