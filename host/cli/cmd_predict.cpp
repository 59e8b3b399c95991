// `pfce predict`: the class mask of an image, or of every image in a directory, in sliding windows
// (any size, bounded memory: a 6000x6000 tile predicts like a 300x300 patch). The mask is a palette
// image whose pixel values are the class indices (or, where the training dataset's index masks
// give classes other values with mask.values, those values: a prediction reads back as a mask of
// that dataset) and whose colours are the class colours: PNG, or
// TIFF, which keeps a GeoTIFF input's georeference so the prediction lands on the map where its
// image was; a world file, .prj or .aux.xml beside the input is carried to the mask's own, and so
// is a camera model (RPC coefficients: an .RPB, an _RPC.TXT, a TIFF's RPCCoefficientTag). An
// overlay (<stem>_overlay.png) blends the mask over the image. Nothing is written over an existing
// file without --force, and never over an input. Pixels without data (transparent: alpha, tRNS, a
// GeoTIFF's nodata mask) get no class: 255 in the mask (--nodata-value). Ctrl-C or SIGTERM stops
// before the next forward pass, keeping only the images finished (every mask and overlay written is
// whole), and exits with 130.
#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/file_io.hpp"
#include "core/log.hpp"
#include "core/output_dir.hpp"
#include "core/stop_signal.hpp"
#include "core/text.hpp"
#include "data/dataset.hpp"
#include "data/georef_sidecar.hpp"
#include "data/ground_pixel_size.hpp"
#include "data/image_io.hpp"
#include "data/polygonize.hpp"
#include "data/polygons_geojson.hpp"
#include "data/qgis_style.hpp"
#include "data/resample.hpp"
#include "data/rpc_model.hpp"
#include "host/backend/backend_factory.hpp"
#include "host/cli/cli_checks.hpp"
#include "host/cli/command_registry.hpp"
#include "host/train/evaluate.hpp"
#include "host/train/memory_estimate.hpp"
#include "host/train/progress.hpp"
#include "host/train/sliding_window.hpp"
#include "host/train/test_time_augment.hpp"
#include "host/train/train_data.hpp"
#include "host/train/trained_model.hpp"

namespace pfce::cli {
namespace {

namespace fs = std::filesystem;

// The value predict writes for a pixel without data (transparent in its input): pfce's
// "unlabelled", so a prediction read back as a mask leaves those pixels out.
constexpr std::uint8_t kNoData = 255;

struct PredictArgs {
    std::string checkpoint, input, out, device = "auto", format = "auto", tta = "none";
    double alpha = 0.5;
    double zoom = 1.0;  // --zoom: inputs resampled by this before the model, logits back
    int window = 0, overlap = 0;
    bool window_given = false, overlap_given = false;  // else the run's window, a quarter of it
    std::int64_t max_pixels = 0;
    bool max_pixels_given = false;  // else the run's data.max_pixels
    bool force = false, confidence = false;
    bool probabilities = false;  // --probabilities: every class's probability beside the mask
    bool polygons = false;       // --polygons: the mask's regions as GeoJSON beside it
    bool no_overlay = false;     // --no-overlay: the mask (and its companions) alone
    std::string match;           // --match: a shell pattern the directory's image names must match
    bool recursive = false;      // the directory's subdirectories too, their masks in --out's
    bool skip_existing = false;  // inputs whose mask exists are left as they are
    bool mask_names = false;     // masks named as the inputs' dataset names its masks
    bool qml = false;            // a QGIS style beside each mask: its classes by name
    int nodata_value = 255;      // --nodata-value: the mask's value where the input has no data
    bool nodata_value_given = false;
};

struct Job {
    std::string input, mask, overlay;  // overlay: empty under --no-overlay
    std::string confidence;            // empty unless --confidence
    std::string style;                 // <stem>.qml with --qml, else empty
    SidecarGeoref sidecars;  // the input's world file, .prj, .aux.xml: carried to mask (and
                             // confidence), which lie on its pixel grid
    GeoReference tags;       // the input's GeoTIFF tags, read once: a TIFF mask copies them
    std::string rpc_source;  // where the camera model the outputs carry came from ("" if none)
    // --skip-existing found the temporaries of a predict killed while putting this image's files
    // in place (its mask there, its overlay not): what it left is replaced, --force or not.
    bool finishes_interrupted = false;
    // <stem>_probabilities.tif under --probabilities, else empty: a band a class, on the mask's
    // grid (its sidecars, and a GeoTIFF input's tags).
    std::string probabilities{};
    // <stem>_polygons.geojson under --polygons, else empty: the mask's regions, on the map where
    // the input lies on one.
    std::string polygons{};
    // The overlay's place on the map: the mask's sidecars where the mask is a PNG; for a TIFF mask
    // (which keeps the input's tags) the place its tags give, as for a PNG mask. A GIS then lays
    // the overlay where the image lies (it had none: opened beside the image, it landed at 0,0).
    SidecarGeoref overlay_sidecars{};
    std::vector<std::string> outputs() const {
        std::vector<std::string> o{mask};
        if (!overlay.empty()) o.push_back(overlay);
        if (!confidence.empty()) o.push_back(confidence);
        if (!probabilities.empty()) o.push_back(probabilities);
        if (!polygons.empty()) o.push_back(polygons);
        if (!style.empty()) o.push_back(style);
        for (const std::string& p : sidecar_paths(sidecars, mask)) o.push_back(p);
        if (!overlay.empty())
            for (const std::string& p : sidecar_paths(overlay_sidecars, overlay)) o.push_back(p);
        if (!confidence.empty())
            for (const std::string& p : sidecar_paths(sidecars, confidence)) o.push_back(p);
        if (!probabilities.empty())
            for (const std::string& p : sidecar_paths(sidecars, probabilities)) o.push_back(p);
        return o;
    }
    // outputs() as they would be with every companion asked for (overlay, confidence map,
    // probabilities, polygons, style): the names whose temporaries a killed predict can have left,
    // whatever this run asks for (a double Ctrl-C during --probabilities left one that a rerun
    // without it never removed).
    std::vector<std::string> outputs_of_any_option() const;
    std::vector<std::string> inputs() const {
        std::vector<std::string> i{input};
        for (const std::string* p : {&sidecars.world_file, &sidecars.prj_file, &sidecars.aux_file})
            if (!p->empty()) i.push_back(*p);
        return i;
    }
    // Files there now that would be read with the new mask but are not among its outputs: an
    // earlier prediction's world file or .aux.xml (GDAL would place the new mask by them), its
    // confidence map, probabilities, polygons and QGIS style and, where that prediction is being
    // replaced, its .prj and overlay. Never a file of `protected_files` (every input of the run,
    // with each input's sidecars, and every output of the run), nor a
    // name another image of the mask's stem shares (its .prj, .wld), nor a file that is one of the
    // outputs under another spelling (a case-insensitive file system).
    std::vector<std::string> stale_companions(const FileIdentities& protected_files) const;
};

// <stem>_confidence.<ext> beside the mask, asked for or not.
std::string confidence_path(const fs::path& mask, bool asked);
// <stem>_probabilities.tif beside the mask (a TIFF whatever the mask's format: a band a class).
std::string probabilities_path(const fs::path& mask, bool asked);
// <stem>_polygons.geojson beside the mask.
std::string polygons_path(const fs::path& mask, bool asked);
// <stem>_overlay.png beside the mask.
std::string overlay_path(const fs::path& mask);

// Whether another image file (not `except`) of stem `stem` lies in `dir`: a .prj or .wld of that
// stem may be its. Probed by name (each image extension, lower, upper and title case), not by
// listing the directory, which a rerun over thousands of tiles would do once per tile.
bool other_image_of_stem(const fs::path& dir, const std::string& stem,
                         const std::vector<std::string>& except) {
    std::error_code ec;
    for (const char* ext : {"tif", "tiff", "png", "jpg", "jpeg"}) {
        std::string upper = ext, title = ext;
        for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        title[0] = upper[0];
        for (const std::string& e : {std::string(ext), upper, title}) {
            const std::string p = (dir / (stem + "." + e)).string();
            if (fs::is_regular_file(p, ec) &&
                std::find(except.begin(), except.end(), p) == except.end())
                return true;
        }
    }
    return false;
}

// Why the file at a mask's place is no whole image ("" when it is): --skip-existing took an empty
// or cut-short file (an interrupted cp or rsync) for a finished mask (hostile-user probe). The
// header must read, and a PNG must end in its IEND chunk, which a copy cut short lacks. A whole
// image of another size than `input`'s is no mask of it either (another tile's, a thumbnail).
std::string incomplete_image(const std::string& path, const std::string& input) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec) return ec.message();
    if (size == 0) return "empty";
    try {
        const ImageInfo info = probe_image(path);
        const ImageInfo of = probe_image(input);
        if (info.width != of.width || info.height != of.height)
            return detail::concat(info.width, "x", info.height, ", but its image ", input, " is ",
                                  of.width, "x", of.height);
        if (info.png) {
            // The IEND chunk (length 0, type, CRC) near the end: some tools append bytes after
            // it, so the last 4 KB are searched rather than the last 12 bytes compared.
            static constexpr char kIend[12] = {0,   0,   0,      0,   'I', 'E',
                                               'N', 'D', '\xAE', 'B', '`', '\x82'};
            const auto n = static_cast<std::size_t>(std::min<std::uintmax_t>(size, 4096));
            std::string tail(n, '\0');
            std::FILE* f = std::fopen(path.c_str(), "rb");
            const bool read = f && std::fseek(f, -static_cast<long>(n), SEEK_END) == 0 &&
                              std::fread(tail.data(), 1, n, f) == n;
            if (f) std::fclose(f);
            if (!read || tail.find(std::string(kIend, sizeof kIend)) == std::string::npos)
                return "a PNG cut short (no IEND chunk at its end)";
        }
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

std::vector<std::string> Job::outputs_of_any_option() const {
    Job all = *this;
    if (all.overlay.empty()) all.overlay = overlay_path(mask);
    all.confidence = confidence_path(mask, true);
    all.probabilities = probabilities_path(mask, true);
    all.polygons = polygons_path(mask, true);
    all.style = qgis_style_path(mask);
    return all.outputs();
}

// Whether `path` is what predict writes as `input`'s confidence map: an 8-bit gray image of its
// size (a file that does not read as one is not).
bool looks_like_confidence_map(const std::string& path, const std::string& input) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return false;
    try {
        const ImageInfo c = probe_image(path), in = probe_image(input);
        return c.channels == 1 && !c.palette && c.bits_per_sample == 8 && c.width == in.width &&
               c.height == in.height;
    } catch (const Error&) {
        return false;
    }
}

std::vector<std::string> Job::stale_companions(const FileIdentities& protected_files) const {
    const std::vector<std::string> ours = outputs();
    std::error_code ec;
    const bool replacing = fs::exists(mask, ec);  // an earlier prediction (or file) of this name
    // Per image the names: those of its extension (world files .pgw/.pngw, <file>.aux.xml) are
    // its alone; a .prj, .wld, .RPB or _RPC.TXT is its stem's, shared with any other image of that
    // stem (the directory listed only where such a file is there).
    std::vector<std::string> names;
    const auto add = [&](const std::string& image) {
        const fs::path p(image);
        int shared = -1;  // unknown until needed
        // A camera model beside a PNG is no companion: GDAL reads none there.
        const bool png = lower_ext_is(image, {".png"});
        for (const std::string& n : georef_sidecar_candidates(image)) {
            if (png && is_rpc_sidecar(n)) continue;
            const bool stem_name = is_stem_sidecar(n);
            if (stem_name && fs::exists(n, ec) && shared < 0) {
                // (The confidence map being replaced is no other image of its stem.)
                std::vector<std::string> mine = ours;
                mine.push_back(image);
                shared = other_image_of_stem(p.parent_path(), p.stem().string(), mine);
            }
            if (!stem_name || shared == 0) names.push_back(n);
        }
    };
    add(mask);
    // Placed as the mask is: an earlier overlay's place would misplace this one. Under
    // --no-overlay, the overlay of the mask being replaced would show the old prediction.
    const std::string old_overlay = overlay_path(mask);
    if (!overlay.empty()) add(overlay);
    if (overlay.empty() && replacing) {
        names.push_back(old_overlay);
        add(old_overlay);
    }
    // An earlier confidence map describes another prediction, beside a mask replaced or not (one
    // left beside a new mask of another --zoom passed for its map); beside no mask, only a file
    // that is one (8-bit gray, the input's size), not a user's file of that name.
    const std::string conf = confidence_path(mask, true);
    const bool stale_conf =
        conf != confidence && (replacing || looks_like_confidence_map(conf, input));
    if (stale_conf) names.push_back(conf);
    if (stale_conf || conf == confidence) add(conf);  // its world file, .aux.xml: not a user's
    // The class probabilities are a TIFF of the mask's stem whatever the mask's format: an earlier
    // one there describes another prediction (of another format, or copied in), replaced or not.
    const std::string probs = probabilities_path(mask, true);
    if (probs != probabilities) names.push_back(probs);
    add(probs);
    // So are the regions of an earlier prediction (GeoJSON, of either mask format): pfce's own.
    if (const std::string polys = polygons_path(mask, true);
        polys != polygons && is_pfce_polygons_file(polys))
        names.push_back(polys);
    // An earlier prediction's QGIS style (--qml), which would name its classes over this mask's
    // (also one written beside a mask of the other format: QGIS applies it to either).
    if (const std::string qml = qgis_style_path(mask); style.empty() && is_pfce_qgis_style(qml))
        names.push_back(qml);
    std::vector<std::string> stale;
    for (const std::string& n : names) {
        const auto same = [&](const std::string& o) { return fs::equivalent(n, o, ec); };
        if (fs::is_regular_file(n, ec) && std::find(ours.begin(), ours.end(), n) == ours.end() &&
            std::none_of(ours.begin(), ours.end(), same) && !protected_files.find(n) &&
            std::find(stale.begin(), stale.end(), n) == stale.end())
            stale.push_back(n);
    }
    return stale;
}

std::string overlay_path(const fs::path& mask) {
    return (mask.parent_path() / (mask.stem().string() + "_overlay.png")).string();
}

std::string probabilities_path(const fs::path& mask, bool asked) {
    if (!asked) return {};
    return (mask.parent_path() / (mask.stem().string() + "_probabilities.tif")).string();
}

std::string polygons_path(const fs::path& mask, bool asked) {
    if (!asked) return {};
    return (mask.parent_path() / (mask.stem().string() + "_polygons.geojson")).string();
}

// <stem>_confidence.png|.tif beside the mask, in the mask's format (a GeoTIFF keeps its place).
std::string confidence_path(const fs::path& mask, bool asked) {
    if (!asked) return {};
    return (mask.parent_path() / (mask.stem().string() + "_confidence" + mask.extension().string()))
        .string();
}

// What differs in `img` (its pixels with data) from a channel that was `constant` (the checkpoint's
// meta.data.constant_channels: each channel's one training value, or null) in training: "channel 3
// (blue) holds 0..212 here, but was 0", or "" when nothing does.
std::string differs_where_training_was_constant(const RgbImage& img,
                                                const std::vector<std::uint8_t>* nodata,
                                                const nlohmann::json& constant,
                                                const std::vector<int>& bands) {
    const auto nc = static_cast<std::size_t>(img.channels);
    if (!constant.is_array() || constant.size() != nc) return {};
    for (std::size_t c = 0; c < nc; ++c) {
        const nlohmann::json& v = constant[c];
        if (!v.is_number_integer()) continue;
        int lo = 255, hi = 0;
        for (std::size_t i = 0; i < img.pixels.size() / nc; ++i) {
            if (nodata && (*nodata)[i]) continue;
            lo = std::min<int>(lo, img.pixels[nc * i + c]);
            hi = std::max<int>(hi, img.pixels[nc * i + c]);
        }
        const int was = v.get<int>();
        if (lo > hi || (lo == was && hi == was)) continue;
        return channel_name(c, nc, bands) + " holds " +
               (lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi)) +
               " here, but was " + std::to_string(was);
    }
    return {};
}

// The NoData value of the input's .aux.xml (GDAL's way for a PNG or JPEG chip) marks the pixels
// that hold it in every band as no data, with those read_rgb_with_nodata found. It is a stored
// sample, so it is compared where the image is read as stored (8-bit RGB or gray, its own
// colours); else (a palette's index, 1-bit gray scaled, bands picked) it is said not to be used.
void mark_sidecar_no_data(const Job& j, const RgbImage& img, const ImageChoice& choice,
                          std::vector<std::uint8_t>& nodata) {
    if (j.sidecars.no_data < 0) return;
    const ImageInfo info = probe_image(j.input);
    if (choice.reads_16_bit() || !choice.bands.empty() || info.palette ||
        info.bits_per_sample != 8) {
        log_warn(j.sidecars.aux_file, ": NoDataValue ", j.sidecars.no_data,
                 " is not used: it is a stored sample, and ", j.input,
                 info.palette                ? " is a palette image (read as its colours)"
                 : info.bits_per_sample != 8 ? " has samples of other than 8 bits"
                                             : " is read through data.bands or data.value_range",
                 "; its pixels are predicted as data");
        return;
    }
    const auto v = static_cast<std::uint8_t>(j.sidecars.no_data);
    const std::size_t n = img.pixels.size() / 3;
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t* p = &img.pixels[3 * i];
        if (p[0] != v || p[1] != v || p[2] != v) continue;
        if (nodata.empty()) nodata.assign(n, 0);
        nodata[i] = 1;
    }
}

// The GeoTIFF tags of `input`; none where its header does not read (run_predict refuses it with
// every other such input).
GeoReference tags_of(const std::string& input) {
    try {
        return read_georeference(input);
    } catch (const InputError&) {
        return {};
    }
}

// A TIFF mask's place for the summary line: its tags', or where the input's .aux.xml, carried
// beside the mask, puts both for GDAL, which reads it before the tags (the tags' origin alone
// misled a probe).
std::string place_said(const std::string& input, const GeoReference& tags) {
    try {
        const std::optional<PlacedGrid> placed = pixel_grid_as_gdal_reads(input, tags);
        if (placed && placed->source != kPlacedByTags)
            return describe(placed->grid) + " by " + placed->source +
                   ", which GDAL reads before the GeoTIFF tags (" + tags.describe() + ")";
    } catch (const InputError&) {  // a rotated grid: as its tags describe it
    }
    return tags.describe();
}

// Every file a job writes goes through a temporary, so a name past kMaxNameWrittenAtomically
// cannot be written: refused before any image is read, the limit said for the mask's name, which
// the user controls (--out, or the input's name), not for a companion's (the refusal named
// "..._overlay.png" and its own limit: robustness probe).
void refuse_long_output_names(const Job& j) {
    const std::size_t mask_name = fs::path(j.mask).filename().string().size();
    // The longest name decides the mask's limit (the first one past it named a limit that the
    // next one past it refused again).
    const std::string* longest = &j.mask;
    for (const std::string* out :
         {&j.mask, &j.overlay, &j.confidence, &j.probabilities, &j.polygons, &j.style})
        if (!out->empty() && fs::path(*out).filename().string().size() >
                                 fs::path(*longest).filename().string().size())
            longest = out;
    const std::string name = fs::path(*longest).filename().string();
    if (name.size() <= kMaxNameWrittenAtomically) return;
    const std::size_t extra = name.size() - mask_name;
    PFCE_THROW(
        InputError, "the prediction of ", j.input, " as ", j.mask,
        longest == &j.mask ? std::string() : detail::concat(" writes ", *longest, " beside it"),
        ": a name of ", name.size(), " bytes, past the ", kMaxNameWrittenAtomically,
        " pfce can write (through a temporary of up to 255 bytes): expected a mask name of "
        "at most ",
        kMaxNameWrittenAtomically - extra, " bytes",
        extra > 0 ? " (its companions' names are longer)" : "");
}

// What --polygons has said once, of all the images: a geotransform it cannot use, a grid in no
// named CRS, a speckled prediction.
struct PolygonWarnings {
    bool unusable = false, no_epsg = false, speckled = false;
};

// How --polygons places and names `j`'s regions (a `width` x `height` mask): each class by its
// name and the value the mask holds for it, the corners where GDAL places the input (its
// geotransform, rotated or sheared too; none: pixel coordinates), the EPSG code of its CRS.
PolygonLayer polygon_layer(const Job& j, const TrainedModel& m,
                           const std::vector<std::uint8_t>& value_of, int width, int height,
                           PolygonWarnings& said) {
    PolygonLayer layer;
    layer.name = fs::path(j.mask).stem().string();
    layer.class_names = m.class_names;
    for (std::size_t c = 0; c < value_of.size(); ++c)
        layer.class_of_value[value_of[c]] = static_cast<int>(c);
    layer.confidence = true;
    if (const auto placed = geotransform_as_gdal_reads(j.input, j.tags))
        layer.transform = placed->transform;
    // A world file's pixel of 1e308 puts the far corners past a double (JSON has no infinity); a
    // pixel of no area places nothing.
    if (const std::optional<GeoTransform>& t = layer.transform) {
        const auto& v = *t;
        // Every corner of the image (a term may cancel another at one corner only).
        bool finite = std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); }) &&
                      std::isfinite((v[1] * v[5] - v[2] * v[4]) * width * height);
        for (const int c : {0, width})
            for (const int r : {0, height})
                finite = finite && std::isfinite(v[0] + c * v[1] + r * v[2]) &&
                         std::isfinite(v[3] + c * v[4] + r * v[5]);
        if (!finite || v[1] * v[5] - v[2] * v[4] == 0) {
            if (!std::exchange(said.unusable, true))
                log_warn(j.input, "'s geotransform (", v[0], ", ", v[1], ", ", v[2], ", ", v[3],
                         ", ", v[4], ", ", v[5],
                         ") puts its pixels past the numbers a file holds, or gives them no "
                         "area: --polygons writes its regions in pixel coordinates (x column, "
                         "y -row)");
            layer.transform.reset();
        }
    }
    if (!layer.transform) return layer;
    layer.epsg = crs_as_gdal_reads(j.input, j.tags).epsg;
    // No code (an ESRI .prj, a CRS of its own): its text, which GDAL reads as it reads the .prj.
    if (layer.epsg == 0) layer.crs_text = crs_text_as_gdal_reads(j.input, j.tags);
    if (layer.epsg == 0 && layer.crs_text.empty() && !std::exchange(said.no_epsg, true))
        log_warn(j.input,
                 " lies on a map grid but names no CRS (a world file without a .prj, GeoTIFF "
                 "keys of no EPSG code): its polygons' GeoJSON says so, and a GIS needs their "
                 "CRS set to the image's");
    return layer;
}

// The job of predicting `input` into `mask`: with the georeference it carries, the input's
// sidecars, and for a PNG mask of a GeoTIFF the place its tags give (a PNG holds no tags; a TIFF
// mask copies them).
Job job_for(const PredictArgs& a, const std::string& input, const fs::path& mask,
            GeoReference tags) {
    SidecarGeoref g = find_sidecar_georef(input);
    // The camera model, on the same pixels: a TIFF output holds it in its tag, a PNG in its
    // .aux.xml.
    const RpcModel rpc = rpc_as_gdal_reads(input, tags);
    tags.rpc_coefficients = rpc.values;
    g.rpc = rpc.values;
    SidecarGeoref overlay_place = g;
    if (lower_ext_is(mask, {".png"})) {
        add_place_of_tags(g, input, tags);
        overlay_place = g;
    } else {
        add_place_of_tags(overlay_place, input, tags, /*overlay_only=*/true);  // PNG: no tags
    }
    Job j{input,
          mask.string(),
          a.no_overlay ? std::string() : overlay_path(mask),
          confidence_path(mask, a.confidence),
          a.qml ? qgis_style_path(mask.string()) : std::string(),
          std::move(g),
          std::move(tags),
          rpc.source};
    j.overlay_sidecars = std::move(overlay_place);
    j.probabilities = probabilities_path(mask, a.probabilities);
    j.polygons = polygons_path(mask, a.polygons);
    refuse_long_output_names(j);
    return j;
}

// The generic dataset whose images lie in `dir`: the nearest dataset.toml, in `dir` or above it
// (images = "Train/Rural/images_png"), that names `dir` as its images; none where no dataset.toml
// does. Each directory is asked once (`layouts`).
const std::optional<GenericLayout>& image_dir_layout(
    const fs::path& dir, std::map<fs::path, std::optional<GenericLayout>>& layouts) {
    auto found = layouts.find(dir);
    if (found != layouts.end()) return found->second;
    std::error_code ec;
    std::optional<GenericLayout> layout;
    for (fs::path root = fs::weakly_canonical(dir, ec); !layout && !root.empty();
         root = root.parent_path()) {
        if (const std::optional<GenericLayout> l = generic_layout(root);
            l && fs::equivalent(l->images, dir, ec))
            layout = l;
        if (root == root.parent_path()) break;
    }
    return layouts.emplace(dir, std::move(layout)).first->second;
}

// --mask-names: the stem of `image`'s mask as the generic dataset whose images it is names its
// masks (12_sat.jpg -> 12_mask, by files.image_suffix and files.mask_suffix), so predictions
// copied into the dataset are read as its masks. InputError where no dataset.toml names its
// directory as images (image_dir_layout), or the name lacks image_suffix.
std::string dataset_mask_stem(const fs::path& image,
                              std::map<fs::path, std::optional<GenericLayout>>& layouts) {
    const fs::path dir = image.parent_path().empty() ? fs::path(".") : image.parent_path();
    const std::optional<GenericLayout>& layout = image_dir_layout(dir, layouts);
    if (!layout)
        PFCE_THROW(InputError, "--mask-names: ", image.string(),
                   " lies in no dataset's image directory (a dataset.toml in ", dir.string(),
                   " or a directory above it naming it as [files] images): nothing says how "
                   "its masks are named; leave --mask-names out to name masks by the image's "
                   "stem");
    std::string stem = image.stem().string();
    const std::string& suffix = layout->image_suffix;
    if (!suffix.empty()) {
        if (stem.size() <= suffix.size() ||
            stem.compare(stem.size() - suffix.size(), suffix.size(), suffix) != 0)
            PFCE_THROW(InputError, "--mask-names: ", image.string(),
                       " does not end in its dataset's image_suffix \"", suffix,
                       "\", so it is none of its images and has no mask name");
        stem.resize(stem.size() - suffix.size());
    }
    return stem + layout->mask_suffix;
}

// --mask-names names masks to be copied in as those of the dataset whose images lie in `dir`: an
// InputError unless they would read back as the classes predicted. Masks hold the run's classes
// in its training dataset's encoding (values, else colours), so the dataset must have the same
// classes in the same order, and the same values (index masks) or colours (colour masks). (A
// probe's palette-trained model wrote indices 0..2 for a dataset of values 1..3: copied in, every
// class read as the next and one was lost, without a word.)
void refuse_masks_named_for_another_encoding(const std::string& checkpoint, const TrainedModel& m,
                                             const fs::path& dir, const GenericLayout& l) {
    auto list = [](const auto& items, auto text) {
        std::string s;
        for (const auto& x : items) s += (s.empty() ? "" : ", ") + text(x);
        return s.empty() ? std::string("none") : s;
    };
    const auto name = [](const std::string& n) { return n; };
    const auto number = [](int v) { return std::to_string(v); };
    std::string differs;
    if (l.classes.empty())
        differs = "its dataset.toml does not read (pfce data stats on the dataset says why)";
    else if (l.classes != m.class_names)
        differs = "its classes are [" + list(l.classes, name) + "], the run's [" +
                  list(m.class_names, name) + "]";
    else if (l.index) {
        std::vector<int> written;  // what predict writes for each class
        for (std::size_t c = 0; c < m.class_names.size(); ++c)
            written.push_back(m.mask_values.empty() ? static_cast<int>(c) : m.mask_values[c]);
        if (written != l.values)
            differs = "its masks hold the values " + list(l.values, number) +
                      " (mask.values), the predictions " + list(written, number);
    } else if (l.colours != m.class_colours) {
        differs =
            "its masks are colours other than those the predictions are drawn in (the run's "
            "class colours)";
    }
    if (!differs.empty())
        PFCE_THROW(InputError, "--mask-names: the dataset whose images are ", dir.string(),
                   " cannot read these predictions as its masks: ", differs, "; ", checkpoint,
                   " was trained on a dataset encoded otherwise. Predict it with a run trained on "
                   "a dataset like it, or leave --mask-names out");
}

// Whether a directory's name is one datasets keep their masks under (masks, labels, gt, LoveDA's
// masks_png, Vaihingen's gts_for_participants, MMSegmentation's ann_dir), in any case.
bool named_like_masks(std::string name) {
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const char* n : {"masks", "mask", "labels", "label", "gt", "gts", "masks_png",
                          "labels_png", "annotations", "ann_dir", "gts_for_participants"})
        if (name == n) return true;
    return false;
}

// Whether `dir`, met below --input, holds a dataset's masks (no images to predict): a pfce mask
// directory (masks.json), a Kaggle-layout Labels/ beside its Images/, or the masks directory of a
// generic dataset whose root is an ancestor (its dataset.toml, each root's read once).
class MaskDirectoryFinder {
  public:
    bool operator()(const fs::path& dir) {
        std::error_code ec;
        if (fs::exists(dir / "masks.json", ec)) return true;
        if (dir.filename() == "Labels" && fs::is_directory(dir.parent_path() / "Images", ec))
            return true;
        const fs::path absolute = fs::absolute(dir, ec).lexically_normal();
        for (fs::path root = absolute.parent_path(); !root.empty(); root = root.parent_path()) {
            const auto [it, fresh] = layouts_.try_emplace(root);
            if (fresh) it->second = generic_layout(root);
            const std::optional<GenericLayout>& l = it->second;
            // A directory of both (DeepGlobe's train/) holds the images: their suffix decides.
            if (l && !fs::equivalent(l->images, l->masks, ec) &&
                fs::equivalent(l->masks, absolute, ec))
                return true;
            if (root == root.parent_path()) break;
        }
        return false;
    }

  private:
    std::map<fs::path, std::optional<GenericLayout>> layouts_;
};

// Where each prediction goes: --out names the file for one image, the directory for many.
// `layouts`: the datasets the inputs' directories are images of (image_dir_layout), by directory:
// --mask-names named masks by them.
std::vector<Job> plan_jobs(const PredictArgs& a,
                           std::map<fs::path, std::optional<GenericLayout>>& layouts) {
    if (a.out.empty())
        PFCE_THROW(InputError, "--out \"\": expected a .png or .tif file, or a directory");
    refuse_unreachable_out(a.out, "--out");
    std::error_code ec;
    std::vector<Job> jobs;
    if (const std::string why = missing_reason(a.input); !why.empty()) {
        // Said before --match and --recursive speak of it as one file (a probe's "--input nope
        // is one file"); a shell pattern quoted for --input is named as one.
        const fs::path p(a.input);
        if (why == "does not exist" &&
            p.filename().string().find_first_of("*?[") != std::string::npos)
            PFCE_THROW(InputError, "--input ", a.input,
                       " does not exist: --input takes one image or one directory, not a pattern; "
                       "give the directory and the pattern to --match (--input ",
                       p.parent_path().empty() ? std::string(".") : p.parent_path().string(),
                       " --match '", p.filename().string(), "')");
        PFCE_THROW(InputError, "--input ", a.input, " ", why,
                   " (expected an image file or a directory of images)");
    }
    if (!fs::is_directory(a.input, ec)) {
        if (a.recursive)
            log_info("--recursive: --input ", a.input, " is one file, predicted alone");
        if (!a.match.empty())
            PFCE_THROW(InputError, "--match ", a.match,
                       " picks images of a directory, but --input ", a.input,
                       " is one file: give its directory, or leave --match out");
        // A FIFO or a device would block the read or never end: only files are images.
        if (fs::exists(a.input, ec) && !fs::is_regular_file(a.input, ec))
            PFCE_THROW(InputError, "--input ", a.input,
                       " is not a regular file (a FIFO, socket or device); expected an image file "
                       "or a directory of them");
        fs::path mask(a.out);
        const bool into_dir = fs::is_directory(mask, ec) || a.out.back() == '/';
        if (a.mask_names && !into_dir)
            PFCE_THROW(InputError, "--mask-names names masks put into a directory, but --out ",
                       a.out,
                       " names the mask file itself: give a directory, or leave "
                       "--mask-names out");
        if (into_dir)
            mask /= (a.mask_names ? dataset_mask_stem(a.input, layouts)
                                  : fs::path(a.input).stem().string()) +
                    (a.format == "tif"   ? ".tif"
                     : a.format == "png" ? ".png"
                                         : "");
        // ".png" alone is an extension without a name: it would become the hidden file "..png".
        if (!fs::is_directory(a.out, ec) && a.out.back() != '/' &&
            lower_ext_is(fs::path("x" + mask.filename().string()), {".png", ".tif", ".tiff"}) &&
            mask.filename().string().find('.', 1) == std::string::npos)
            PFCE_THROW(InputError, "--out ", a.out, ": the file name ", mask.filename().string(),
                       " is only an extension (it would be a hidden file); expected a name such "
                       "as ",
                       (mask.parent_path() / "mask.png").string(), ", or a directory");
        // A device, FIFO or socket with no extension (--out /dev/null) was taken as a stem:
        // /dev/null.png and /dev/null_overlay.png were written into /dev.
        if (const std::string kind = special_file_kind(a.out); !kind.empty())
            PFCE_THROW(InputError, "--out ", a.out, " is ", kind,
                       ", not a file or directory: predict writes a mask file and its overlay; "
                       "expected a .png or .tif name, or a directory");
        GeoReference tags = tags_of(a.input);
        if (!mask.has_extension())
            mask += a.format == "tif"   ? ".tif"
                    : a.format == "png" ? ".png"
                    : tags.empty()      ? ".png"
                                        : ".tif";
        if (!lower_ext_is(mask, {".png", ".tif", ".tiff"}))
            PFCE_THROW(InputError, "--out ", mask.string(),
                       ": expected a .png or .tif file (or a directory)");
        // The file's name decides its format: a --format that says otherwise was not obeyed
        // (--out x.png --format tif wrote a PNG without a word).
        const bool tif = lower_ext_is(mask, {".tif", ".tiff"});
        if (a.format != "auto" && (a.format == "tif") != tif)
            PFCE_THROW(InputError, "--format ", a.format, " but --out ", mask.string(), " names a ",
                       tif ? "TIFF" : "PNG", " file; expected --out ",
                       (mask.parent_path() / mask.stem()).string(),
                       a.format == "tif" ? ".tif" : ".png",
                       ", or no --format (the file's extension decides)");
        jobs.push_back(job_for(a, a.input, mask, std::move(tags)));
        return jobs;
    }
    // --recursive writes a mask per image into the same place under --out: an --out inside
    // --input would be read as input by the next run (its masks predicted as images).
    if (a.recursive && path_is_inside(a.out, a.input))
        PFCE_THROW(InputError, "--out ", a.out, " lies inside --input ", a.input,
                   ", which --recursive reads: a later run would predict these predictions; write "
                   "them elsewhere");
    // Left out, and said: images of formats not read, subdirectories (without --recursive),
    // entries named as images that are no file (a link to nothing, a pipe), hidden image files
    // (macOS's ._x.png resource forks, as a generic dataset says of them); with --recursive, the
    // mask directories of datasets inside (their masks are no images) and links to directories
    // (not followed: a link to a parent would never end).
    std::vector<fs::path> inputs, unread, subdirs, not_files, mask_dirs, linked_dirs, masks_by_name;
    std::vector<std::string> hidden;
    MaskDirectoryFinder is_mask_directory;
    auto classify = [&](const fs::directory_entry& e, bool& descend) {
        descend = false;
        const bool image_name = lower_ext_is(e.path(), {".tif", ".tiff", ".png", ".jpg", ".jpeg"});
        if (e.path().filename().string()[0] == '.') {
            if (image_name) hidden.push_back(e.path().string());
            return;
        }
        if (e.is_directory(ec)) {
            if (!a.recursive)
                subdirs.push_back(e.path());
            else if (e.is_symlink(ec))
                linked_dirs.push_back(e.path());
            else if (is_mask_directory(e.path()))
                mask_dirs.push_back(e.path());
            else if (named_like_masks(e.path().filename().string())) {
                masks_by_name.push_back(e.path());  // read, and said
                descend = true;
            } else
                descend = true;
        } else if (!e.is_regular_file(ec)) {
            if (image_name) not_files.push_back(e.path());
        } else if (image_name) {
            inputs.push_back(e.path());
        } else if (is_unread_image_name(e.path().string())) {
            unread.push_back(e.path());  // images of formats not read; sidecars are not
        }
    };
    // Masks are no images: below --input their directories are left out; --input itself is
    // predicted as asked, and said.
    if (const std::string data = data_directory_of(a.input);
        data.rfind("the mask directory", 0) == 0 || data.rfind("the Labels/", 0) == 0)
        log_warn("--input ", a.input, " lies in ", data,
                 ": its masks are predicted as if they were images");
    // The directories read, depth first, each listed once: --input alone without --recursive. One
    // that cannot be listed below --input is said and passed over (the rest is predicted); --input
    // itself is refused.
    std::vector<fs::path> pending = {fs::path(a.input)}, unlistable;
    for (bool top = true; !pending.empty(); top = false) {
        const fs::path dir = pending.back();
        pending.pop_back();
        fs::directory_iterator it(dir, ec);
        std::vector<fs::path> below;
        for (bool descend = false; !ec && it != fs::directory_iterator(); it.increment(ec)) {
            classify(*it, descend);
            if (descend) below.push_back(it->path());
        }
        if (ec && top)
            PFCE_THROW(InputError, "--input ", a.input, ": cannot read it (", ec.message(), ")");
        if (ec) unlistable.push_back(dir);
        pending.insert(pending.end(), below.rbegin(), below.rend());
    }
    // A generic dataset's directory of images and masks both (DeepGlobe's train/: 12_sat.jpg
    // beside 12_mask.png): its masks are no images to predict (a prediction named 12_mask.png
    // would pass for ground truth). Each directory the images lie in is asked once.
    std::map<fs::path, std::string> mask_suffix_of;  // by directory; "" where none
    auto mask_suffix = [&](const fs::path& dir) -> const std::string& {
        const auto found = mask_suffix_of.find(dir);
        if (found != mask_suffix_of.end()) return found->second;
        const std::optional<GenericLayout>& layout = image_dir_layout(dir, layouts);
        const bool shared =
            layout && !layout->mask_suffix.empty() && fs::equivalent(layout->masks, dir, ec);
        return mask_suffix_of[dir] = shared ? layout->mask_suffix : std::string();
    };
    std::map<fs::path, std::size_t> masks_left_out;
    const auto masks = std::remove_if(inputs.begin(), inputs.end(), [&](const fs::path& p) {
        const std::string& suffix = mask_suffix(p.parent_path());
        const std::string stem = p.stem().string();
        const bool mask = !suffix.empty() && stem.size() > suffix.size() &&
                          stem.compare(stem.size() - suffix.size(), suffix.size(), suffix) == 0;
        if (mask) ++masks_left_out[p.parent_path()];
        return mask;
    });
    inputs.erase(masks, inputs.end());
    for (const auto& [dir, n] : masks_left_out)
        log_info(dir.lexically_relative(a.input) == "." ? "--input " + a.input : dir.string(),
                 ": its ", n, " masks (*", mask_suffix_of[dir],
                 ", as its dataset.toml says) are left out");
    // --match: the images of a directory that also holds others (DeepGlobe's 12_sat.jpg beside
    // 12_mask.png with no dataset.toml; a researcher's walkthrough predicted the masks too). A
    // pattern with a '/' matches the path below --input (--recursive: "*/images_png/*").
    std::sort(inputs.begin(), inputs.end());  // the examples below are then the first by name
    if (!a.match.empty()) {
        std::vector<fs::path> left_out;
        std::vector<fs::path> matched;
        std::string pattern = a.match;
        while (pattern.rfind("./", 0) == 0) pattern.erase(0, 2);  // paths below --input have none
        const bool by_path = pattern.find('/') != std::string::npos;
        auto shown = [&](const fs::path& p) {
            return by_path ? p.lexically_relative(a.input).generic_string() : p.filename().string();
        };
        for (const fs::path& p : inputs)
            (fnmatch(pattern.c_str(), shown(p).c_str(), by_path ? FNM_PATHNAME : 0) == 0 ? matched
                                                                                         : left_out)
                .push_back(p);
        if (matched.empty()) {
            // A pattern of paths must match the whole path below --input, a '*' within one
            // directory: the first image's path with its name and all but its last directory
            // as '*' is one that does.
            std::string like;
            // The example of a path in a subdirectory where there is one.
            const auto deep = std::find_if(inputs.begin(), inputs.end(), [&](const fs::path& p) {
                return shown(p).find('/') != std::string::npos;
            });
            const fs::path example = deep != inputs.end() ? *deep
                                     : inputs.empty()     ? fs::path()
                                                          : inputs.front();
            if (by_path && !inputs.empty()) {
                const fs::path rel = example.lexically_relative(a.input);
                const std::size_t depth =
                    static_cast<std::size_t>(std::distance(rel.begin(), rel.end()));
                std::size_t k = 0;
                for (const fs::path& part : rel) {
                    ++k;
                    like += k + 2 == depth + 1 ? part.string() : std::string("*");
                    if (k < depth) like += '/';
                }
            }
            PFCE_THROW(
                InputError, "--match ", a.match, ": none of the ", inputs.size(), " images of ",
                a.input, " has a ", by_path ? "path" : "name", " it matches",
                inputs.empty() ? std::string() : " (e.g. " + shown(example) + ")",
                by_path ? "; a pattern with a '/' matches the whole path below --input, "
                          "its '*' within one directory ('**' too)" +
                              (like.empty() ? std::string()
                                            : ", e.g. \"" + like + "\" matches " + shown(example))
                        : "; expected a shell pattern of file names, e.g. \"*_sat.jpg\"",
                // A path below --input is only looked at with --recursive (README probe: the
                // README's own '*/images_png/*' example found nothing without it).
                by_path && !a.recursive
                    ? "; only the images directly in --input are looked at without --recursive, "
                      "which adds those of its subdirectories"
                    : "");
        }
        if (!left_out.empty())
            log_info("--match ", a.match, ": ", left_out.size(), " of the ", inputs.size(),
                     " images of ", a.input, " left out (e.g. ", shown(left_out.front()), ")");
        inputs = std::move(matched);
    }
    for (auto* list :
         {&unread, &subdirs, &not_files, &mask_dirs, &linked_dirs, &unlistable, &masks_by_name})
        std::sort(list->begin(), list->end());
    warn_of_hidden_image_files("--input " + a.input, std::move(hidden));
    if (!unread.empty())
        log_warn("--input ", a.input, ": ", unread.size(), " image(s) of a format not read are ",
                 "left out (e.g. ", unread[0].string(),
                 "; expected .tif, .png or .jpg: convert them, e.g. gdal_translate IN OUT.tif)");
    if (!subdirs.empty())
        log_warn("--input ", a.input, ": ", subdirs.size(),
                 subdirs.size() == 1 ? " subdirectory is" : " subdirectories are",
                 " not read (e.g. ", subdirs[0].string(),
                 "/); predict takes the images directly in the directory given (--recursive "
                 "reads its subdirectories too)");
    if (!mask_dirs.empty())
        log_info("--input ", a.input, ": ", mask_dirs.size(),
                 mask_dirs.size() == 1 ? " directory of a dataset's masks is"
                                       : " directories of datasets' masks are",
                 " not read (e.g. ", mask_dirs[0].string(), "/): masks are no images to predict");
    // Directories no dataset.toml describes but named as masks are (LoveDA's masks_png beside
    // images_png, downloaded): read as asked, their files predicted as images, and said.
    // (Those --match leaves no image of are not.)
    masks_by_name.erase(std::remove_if(masks_by_name.begin(), masks_by_name.end(),
                                       [&](const fs::path& dir) {
                                           return std::none_of(
                                               inputs.begin(), inputs.end(),
                                               [&](const fs::path& in) {
                                                   const fs::path rel = in.lexically_relative(dir);
                                                   return !rel.empty() && *rel.begin() != "..";
                                               });
                                       }),
                        masks_by_name.end());
    if (!masks_by_name.empty())
        log_warn("--input ", a.input, ": ", masks_by_name.size(),
                 masks_by_name.size() == 1 ? " directory named like masks is"
                                           : " directories named like masks are",
                 " read as images (e.g. ", masks_by_name[0].string(),
                 "/): no dataset.toml says what they hold; --match picks the images (e.g. "
                 "'*/images_png/*'), or a dataset.toml in their dataset's root leaves its masks "
                 "out");
    if (!unlistable.empty())
        log_warn("--input ", a.input, ": ", unlistable.size(),
                 unlistable.size() == 1 ? " subdirectory cannot be read and is"
                                        : " subdirectories cannot be read and are",
                 " left out (e.g. ", unlistable[0].string(),
                 "/: permission denied, or it changed while read)");
    if (!linked_dirs.empty())
        log_warn("--input ", a.input, ": ", linked_dirs.size(),
                 linked_dirs.size() == 1 ? " link to a directory is" : " links to directories are",
                 " not followed (e.g. ", linked_dirs[0].string(),
                 "); give the directory it names as --input to predict its images");
    if (!not_files.empty())
        log_warn("--input ", a.input, ": ", not_files.size(),
                 not_files.size() == 1 ? " entry named as an image is no readable file and is"
                                       : " entries named as images are no readable file and are",
                 " left out (e.g. ", not_files[0].string(),
                 ": a link to nothing, or not a regular file)");
    if (inputs.empty())
        PFCE_THROW(InputError, "--input ", a.input, ": no .tif, .png or .jpg images in it",
                   a.recursive ? " or below it" : "");
    if (fs::exists(a.out, ec) && fs::equivalent(a.out, a.input, ec))
        PFCE_THROW(InputError, "--out ", a.out,
                   " is the input directory; write predictions elsewhere");
    if (fs::exists(a.out, ec) && !fs::is_directory(a.out, ec))
        PFCE_THROW(InputError, "--out ", a.out, " is a file; --input ", a.input,
                   " is a directory of images, so --out must be a directory (new or existing) "
                   "for their masks and overlays");
    // A new --out named like an image would become a directory of that name, holding the masks.
    if (!fs::exists(a.out, ec) && a.out.back() != '/' &&
        lower_ext_is(fs::path(a.out), {".png", ".tif", ".tiff", ".jpg", ".jpeg"}))
        PFCE_THROW(InputError, "--out ", a.out, " names an image file, but --input ", a.input,
                   " is a directory of ", inputs.size(),
                   " images: expected a directory for their masks and overlays (e.g. ",
                   (fs::path(a.out).parent_path() / fs::path(a.out).stem()).string(), "/)");
    for (const fs::path& in : inputs) {
        GeoReference tags = tags_of(in.string());
        const bool tif = a.format == "tif" || (a.format == "auto" && !tags.empty());
        // --recursive: in the subdirectory of --out where the image lies below --input.
        const fs::path below = in.parent_path().lexically_relative(a.input);
        const fs::path dir = below.empty() || below == "." ? fs::path(a.out) : a.out / below;
        const std::string stem = a.mask_names ? dataset_mask_stem(in, layouts) : in.stem().string();
        const fs::path mask = dir / (stem + (tif ? ".tif" : ".png"));
        jobs.push_back(job_for(a, in.string(), mask, std::move(tags)));
    }
    // Two inputs with one stem (x.tif and x.TIF, x.png and x.jpg) would write the same mask: the
    // second would silently replace the first.
    std::map<std::string, std::string> made_by;
    for (const Job& j : jobs)
        for (const std::string& p : j.outputs()) {
            const auto [it, fresh] = made_by.emplace(p, j.input);
            if (!fresh)
                PFCE_THROW(InputError, "--input ", a.input, ": ", it->second, " and ", j.input,
                           " would both be predicted to ", p,
                           ": rename one (outputs are named by the input's stem)");
        }
    // --recursive: a subdirectory of --input named as an output (x_overlay.png/ beside x.tif)
    // would be both a directory of masks and a file; the rename found it, after the work, as a
    // file "another command wrote".
    for (const Job& j : jobs)
        for (fs::path d = fs::path(j.mask).parent_path(); !d.empty() && d != fs::path(a.out);
             d = d.parent_path()) {
            const auto it = made_by.find(d.string());
            if (it != made_by.end())
                PFCE_THROW(InputError, "--input ", a.input, ": the prediction of ", it->second,
                           " would write ", d.string(), ", the directory ", j.input,
                           "'s mask goes to (", j.mask,
                           "): rename that subdirectory or the image (outputs are named by the "
                           "input's stem)");
            if (d == d.parent_path()) break;
        }
    return jobs;
}

void run_predict(const PredictArgs& a) {
    if (!(a.alpha >= 0 && a.alpha <= 1))
        PFCE_THROW(InputError, "--alpha ", a.alpha, ": expected 0..1");
    if (a.format != "auto" && a.format != "png" && a.format != "tif")
        PFCE_THROW(InputError, "--format ", a.format, ": expected auto, png or tif");
    check_zoom_option(a.zoom);
    if (a.window_given) check_window_option(a.window);
    if (a.max_pixels_given) check_max_pixels_option(a.max_pixels);
    if (a.overlap_given) check_overlap_option(a.overlap);
    if (a.nodata_value_given && (a.nodata_value < 0 || a.nodata_value > 255))
        PFCE_THROW(InputError, "--nodata-value ", a.nodata_value,
                   ": expected a pixel value, 0..255, that no class has");
    const int tta = tta_transforms(a.tta);
    std::map<fs::path, std::optional<GenericLayout>> mask_name_layouts;
    std::vector<Job> jobs = plan_jobs(a, mask_name_layouts);
    // QGIS applies <stem>.qml to every image of that stem in its directory: beside another image
    // of the mask's stem (the input, when --out is next to it), the classes' names and colours
    // would be laid over that image's pixel values too.
    for (const Job& j : jobs) {
        const fs::path mask(j.mask);
        if (!j.style.empty() &&
            other_image_of_stem(mask.parent_path(), mask.stem().string(), j.outputs()))
            PFCE_THROW(InputError, "--qml: ", j.style, " would style not only ", j.mask,
                       " but also the other image of stem \"", mask.stem().string(), "\" in ",
                       mask.parent_path().string(),
                       " (QGIS applies <stem>.qml to each image of that stem): write the masks "
                       "into another --out");
    }
    // Every output of the run as planned, the images --skip-existing leaves out too: never another
    // image's stale companion (below).
    std::vector<std::string> planned_outputs;
    for (const Job& j : jobs)
        for (const std::string& o : j.outputs()) planned_outputs.push_back(o);
    // --skip-existing: images added to a tree already predicted (its masks are written whole,
    // renamed into place, so one that exists is complete). An input itself never counts as done.
    // Nor an image whose files a killed predict was putting in place (its mask renamed, its
    // overlay still a temporary): it was skipped for good, its overlay never made. Predicted
    // again, with this run's options.
    if (a.skip_existing) {
        std::error_code ec;
        std::vector<std::string> all_outputs;
        for (const Job& j : jobs)
            for (const std::string& p : j.outputs_of_any_option()) all_outputs.push_back(p);
        std::set<std::string> interrupted;
        remove_stale_temps_of(all_outputs, &interrupted);
        std::vector<Job> todo;
        std::string example, broken_example;
        std::size_t finished = 0, unstyled = 0, broken = 0, incomplete = 0;
        // Which image plans each output: a companion name this run does not ask for may be
        // another image's own (x_confidence.png is the mask of input x_confidence.tif).
        std::map<std::string, const Job*> planner;
        for (const Job& j : jobs)
            for (const std::string& o : j.outputs()) planner.emplace(o, &j);
        for (Job& j : jobs) {
            // Of any companion, not only those this run asks for (a rerun with fewer options
            // removed the temporaries of the others and skipped the image for good: probe), but
            // never of a name another image's output has.
            const std::vector<std::string> outs = j.outputs_of_any_option();
            j.finishes_interrupted =
                std::any_of(outs.begin(), outs.end(), [&](const std::string& p) {
                    const auto other = planner.find(p);
                    return interrupted.count(p) > 0 &&
                           (other == planner.end() || other->second == &j);
                });
            if (fs::is_regular_file(j.mask, ec) && !fs::equivalent(j.mask, j.input, ec) &&
                !j.finishes_interrupted) {
                if (example.empty()) example = j.mask;
                if (const std::string why = incomplete_image(j.mask, j.input); !why.empty()) {
                    if (broken++ < 3)
                        broken_example +=
                            (broken_example.empty() ? "" : "; ") + j.mask + " (" + why + ")";
                    continue;
                }
                // Its style, overlay or confidence map is not written: the mask may be another
                // model's.
                if (!j.style.empty() && !fs::exists(j.style, ec)) ++unstyled;
                if ((!j.overlay.empty() && !fs::exists(j.overlay, ec)) ||
                    (!j.confidence.empty() && !fs::exists(j.confidence, ec)) ||
                    (!j.probabilities.empty() && !fs::exists(j.probabilities, ec)) ||
                    (!j.polygons.empty() && !fs::exists(j.polygons, ec)))
                    ++incomplete;
            } else {
                finished += j.finishes_interrupted ? 1 : 0;
                todo.push_back(std::move(j));
            }
        }
        if (broken > 0)
            PFCE_THROW(InputError, "--skip-existing: ", broken, broken == 1 ? " file" : " files",
                       " at a mask's place ", broken == 1 ? "is" : "are",
                       " no whole mask of its image (", broken > 3 ? "e.g. " : "", broken_example,
                       "; an interrupted copy?): remove ", broken == 1 ? "it" : "each",
                       " with its overlay and confidence map (<stem>_overlay.png, "
                       "<stem>_confidence.png), and --skip-existing predicts ",
                       broken == 1 ? "it" : "them", "; or predict all again with --force");
        if (finished > 0)
            log_info(finished, finished == 1 ? " image's files were" : " images' files were",
                     " being put in place when a predict was stopped: predicted again, what it "
                     "left replaced");
        const std::size_t skipped = jobs.size() - todo.size();
        if (skipped > 0)
            log_info(skipped, " of the ", jobs.size(),
                     jobs.size() == 1 ? " image has" : " images have", " a mask already and ",
                     skipped == 1 ? "is" : "are", " skipped (--skip-existing; e.g. ", example, ")");
        if (incomplete > 0)
            log_warn(incomplete, " of the masks skipped lack their overlay",
                     a.confidence ? " or confidence map" : "",
                     a.probabilities ? " or class probabilities" : "",
                     a.polygons ? " or polygons" : "",
                     ", which --skip-existing does not make for them (a mask there may be another "
                     "model's): predict them again with --force to have all");
        if (unstyled > 0)
            log_warn(unstyled,
                     " of the masks skipped have no QGIS style beside them, and --qml "
                     "writes none for them (a mask there may be another model's): predict them "
                     "again with --force to have both");
        if (todo.empty()) {
            std::printf("nothing to predict: every input has its mask in %s (--skip-existing)\n",
                        a.out.c_str());
            return;
        }
        jobs = std::move(todo);
    }
    std::vector<std::string> inputs = {a.checkpoint};
    for (const Job& j : jobs)
        for (const std::string& i : j.inputs()) inputs.push_back(i);
    // An output that is an input, then predictions among a dataset's own images or masks (read
    // as data): each refused --force or not, so said before "pass --force" would be advice that
    // cannot work.
    const FileIdentities input_ids(inputs);
    for (const Job& j : jobs)
        for (const std::string& p : j.outputs()) check_output_file(p, true, input_ids);
    // Once per output directory: each check walks up to the root reading dataset.toml files, and
    // a tree of 10 000 images has far fewer directories.
    std::set<std::string> checked_dirs;
    for (const Job& j : jobs)
        if (checked_dirs.insert(std::filesystem::path(j.mask).parent_path().string()).second)
            refuse_output_among_data("--out " + a.out, j.mask, "predictions");
    for (const Job& j : jobs)
        for (const std::string& p : j.outputs()) try {
                check_output_file(p, a.force || j.finishes_interrupted, input_ids);
            } catch (const InputError& e) {
                // Many images, some predicted (a killed predict's rerun): --force is not the only
                // way on (probe: the rerun named it alone, to redo every image).
                if (jobs.size() < 2 || a.skip_existing) throw;
                PFCE_THROW(InputError, e.what(),
                           "; or pass --skip-existing to predict only the images without their "
                           "files (one a killed predict left half-done is predicted again)");
            }
    // An earlier prediction's sidecars or confidence map beside a new mask would describe it
    // (before, --force left them: a new mask took the old one's place on the map). With --force
    // they go with the prediction's files; without, nothing is removed.
    // Every input and every sidecar name of every input: never removed as another's companion.
    FileIdentities kept;
    for (const std::string& i : inputs) kept.add(i);
    for (const Job& j : jobs)
        for (const std::string& n : georef_sidecar_candidates(j.input)) kept.add(n);
    // Nor another image's output (x_confidence.tif's mask is x_confidence.png, the name of x's
    // confidence map): that image's prediction replaces it, or --skip-existing keeps it. Those
    // written by this run are added as they are written (FileIdentities holds files that exist).
    for (const std::string& o : planned_outputs) kept.add(o);
    for (const Job& j : jobs)
        for (const std::string& p : j.stale_companions(kept))
            if (!a.force && !j.finishes_interrupted)
                PFCE_THROW(InputError, p, " exists beside ", j.mask,
                           " and would be read with it (GDAL takes a world file, .prj or .aux.xml "
                           "beside an image for its place on the map, an .RPB or _RPC.TXT beside "
                           "a TIFF for its camera model, QGIS a .qml for its "
                           "classes; a _confidence or _overlay file or a .qml is an earlier "
                           "prediction's), but "
                           "this prediction does not write it: remove it, or pass --force to "
                           "remove it with the new mask's writing");

    // Ctrl-C / SIGTERM: stop before the next forward pass, drop the image in hand (nothing of it
    // is written yet) and exit 130.
    const StopSignals stop_signals;
    auto backend = make_backend(a.device);
    TrainedModel m = load_trained_model(*backend, a.checkpoint);
    // Inputs that are a generic dataset's images whose dataset.toml reads them otherwise
    // ([image]) are read as the model was trained, and that said once a dataset (another
    // dataset's R, G, B went through a run's 3,2,1 without a word).
    {
        std::set<fs::path> dirs;
        for (const Job& j : jobs)
            dirs.insert(fs::path(j.input).parent_path().empty() ? fs::path(".")
                                                                : fs::path(j.input).parent_path());
        std::set<std::string> told;
        for (const fs::path& dir : dirs) {
            const std::optional<GenericLayout>& l = image_dir_layout(dir, mask_name_layouts);
            if (l && told.insert(l->image.file).second)
                warn_of_other_reading(image_choice(m.config.data), l->image);
        }
    }
    for (const auto& [dir, layout] : mask_name_layouts)
        if (a.mask_names && layout)
            refuse_masks_named_for_another_encoding(a.checkpoint, m, dir, *layout);
    SlidingWindow sw;
    sw.window = a.window_given ? a.window : eval_options(m.config).window;
    sw.tta = tta;
    check_window_fits_unet(sw.window, a.window_given, m.net->config().depth, a.checkpoint);
    sw.overlap = overlap_for(a.overlap, a.overlap_given, sw.window, a.window_given);
    // Every input is read (its header) and sized before the first output is written, so a bad
    // file in a directory stops the command before it has written half of the predictions.
    TooSmallImages small(m.net->config().depth);  // said all at once, after the loop
    ZoomThatFits fits(m.net->config().depth, a.zoom);
    const std::int64_t max_pixels = a.max_pixels_given ? a.max_pixels : m.config.data.max_pixels;
    // Every refused input is named at once: a directory with three bad images is fixed in one go,
    // not in three reruns that each name the next.
    RefusedInputs refused;
    const MachineMemory memory = machine_memory();
    for (const Job& j : jobs) try {
            const ImageInfo info = probe_image(j.input);
            const std::int64_t pixels = static_cast<std::int64_t>(info.width) * info.height;
            // What the model sees: the image zoomed (--zoom), else the image.
            const int mw = zoomed_side(info.width, a.zoom), mh = zoomed_side(info.height, a.zoom);
            // The windows this image would run: no wider or taller than the image, and no more
            // of them in a pass than it has (a 64x64 image is one 64x64 window, not four of 512).
            const int ww = std::min(sw.window, mw), wh = std::min(sw.window, mh);
            const int batch =
                static_cast<int>(std::min<std::int64_t>(sw.batch, window_count(mw, mh, sw)));
            // An overlay is 3 bytes a pixel of it (none under --no-overlay); the class
            // probabilities one a class, and as many again interleaved for the TIFF; polygons a
            // region number, a byte of edges walked, the flood fill's stack (up to half the
            // pixels, 4 bytes each) and the confidence map (their rings, a few bytes a corner, are
            // more only for a speckled prediction).
            const double held = (6.0 - (a.no_overlay ? 3.0 : 0.0) + m.stats.channels +
                                 (a.probabilities ? 2.0 * m.net->config().num_classes : 0.0) +
                                 (a.polygons ? 8.0 : 0.0)) *
                                static_cast<double>(pixels);
            if (a.polygons && static_cast<std::size_t>(pixels) > kMaxPolygonizedPixels)
                PFCE_THROW(InputError, j.input, " is ", info.width, "x", info.height, " = ", pixels,
                           " pixels: --polygons numbers a mask's regions in 32 bits, "
                           "up to ",
                           kMaxPolygonizedPixels,
                           " pixels (cut it into tiles first: gdal_retile.py -ps 40000 40000)");
            // A row of windows' class scores at the model's width; zoomed, that row of windows'
            // pixels made from the image, and the logits brought back (host/train/sliding_window).
            const double band = sliding_band_bytes(m.net->config().num_classes, mw, mh, sw,
                                                   info.width, a.zoom, m.stats.channels);
            const double activations =
                inference_bytes(std::int64_t{ww} * wh, batch, m.net->config().base_width);
            const std::string needs = detail::concat(
                "predict holds the image, its mask", a.no_overlay ? "" : ", its overlay",
                a.probabilities ? ", its class probabilities" : "",
                a.polygons ? ", its regions" : "", ", about ", format_bytes(held),
                ", the class scores of a row of windows",
                a.zoom == 1.0 ? "" : " and its zoomed pixels", ", about ", format_bytes(band),
                ", and the activations of ", batch, batch == 1 ? " window of " : " windows of ", ww,
                "x", wh, ", about ", format_bytes(activations));
            if (pixels > max_pixels)
                PFCE_THROW(InputError, j.input, " is ", info.width, "x", info.height, " = ", pixels,
                           " pixels, above the limit of ", max_pixels,
                           a.max_pixels_given ? " (--max-pixels)" : " (the run's data.max_pixels)",
                           ": raise it with --max-pixels N to predict it (a memory guard: ", needs,
                           ")");
            // Past the machine's memory even so (--max-pixels raised): refused before it decodes
            // for a minute and dies of bad_alloc, or is killed without a word (scale probe). With
            // swap, a quarter more is allowed, as for training.
            if (memory.total > 0 &&
                held + band + activations > (memory.swap == 0 ? 1.0 : 1.25) * memory.total)
                PFCE_THROW(InputError, j.input, " is ", info.width, "x", info.height,
                           ": predicting it needs about ", format_bytes(held + band + activations),
                           " (", needs, "), more than this machine's ", format_bytes(memory.total),
                           " of memory", memory.swap == 0 ? " (and it has no swap)" : "",
                           ": cut it into tiles first (gdal_retile.py -ps 10000 10000 -targetDir "
                           "DIR ",
                           j.input, ") and predict the directory, or use a machine with more");
            // 16-bit samples, four colour bands: known from the header, so refused before any
            // output. The checkpoint decides how inputs are read: say so, not which flag would
            // change it.
            const ImageChoice choice = image_choice(m.config.data);
            // Signed or floating-point samples are refused by name (not as "32-bit samples").
            if (info.sample_format != 1) check_image_layout(j.input, info, choice);
            if (info.bits_per_sample == 16 && !choice.reads_16_bit())
                PFCE_THROW(InputError, j.input, ": 16-bit samples, but ", a.checkpoint,
                           " was trained on 8-bit images (its data.value_range is empty; expected "
                           "8-bit images, as it was trained on)");
            if (info.bits_per_sample != 16 && choice.reads_16_bit())
                PFCE_THROW(InputError, j.input, ": ", info.bits_per_sample, "-bit samples, but ",
                           a.checkpoint, " reads 16-bit images, values ", choice.range_lo, "..",
                           choice.range_hi,
                           " scaled to 0..255 (its data.value_range; expected 16-bit images, as it "
                           "was trained on)");
            try {
                check_image_layout(j.input, info, choice);
            } catch (const InputError& e) {
                // A refusal names data.bands, which predict does not take: say whose it is.
                const std::string what = e.what();
                if (choice.bands.empty() || what.find("data.bands") == std::string::npos) throw;
                PFCE_THROW(InputError, what, " [", a.checkpoint, " was trained on bands ",
                           nlohmann::json(choice.bands).dump(),
                           " (its data.bands): predict reads every input so]");
            }
            small.add(a.zoom != 1.0
                          ? detail::concat(j.input, " zoomed by ", format_shortest(a.zoom))
                          : j.input,
                      mw, mh);
            fits.add(info.width, info.height);
        } catch (const InputError& e) {
            refused.add(e);
        }
    try {  // in the same refusal: a directory is fixed in one go
        refuse_images_too_small(small, a.checkpoint, fits.remedy("leave them out of --input"));
    } catch (const InputError& e) {
        refused.add(e, small.count());
    }
    refused.throw_if_any(jobs.size());
    // Only now, with every input checked: the directories the masks go to (a missing one is made,
    // for a directory of inputs as for one mask file). Those made are removed again, once empty,
    // when predict ends with nothing written in them (stopped before the first image, or failed).
    MadeDirectories made;
    for (const Job& j : jobs) {
        const fs::path parent = fs::path(j.mask).parent_path();
        std::error_code ec;
        if (!parent.empty()) made.create(parent, ec);
        if (!parent.empty() && !fs::is_directory(parent))
            PFCE_THROW(InputError, "--out ", a.out, ": ", parent.string(), ": ",
                       ec ? cannot_create_dir_reason(parent.string(), ec)
                          : "cannot create this directory: a file of that name is in the way");
    }
    // The temporaries of a predict killed while writing these outputs, or the companions an
    // earlier one was asked for (never another file).
    std::vector<std::string> outputs;
    for (const Job& j : jobs)
        for (const std::string& p : j.outputs_of_any_option()) outputs.push_back(p);
    remove_stale_temps_of(outputs);
    // Class c is written as pixel value value_of[c], shown in its colour.
    std::vector<std::uint8_t> value_of(m.class_colours.size());
    for (std::size_t c = 0; c < value_of.size(); ++c)
        value_of[c] = static_cast<std::uint8_t>(m.mask_values.empty() ? c : m.mask_values[c]);
    // The value no-data pixels get: --nodata-value, else 255 (pfce's unlabelled), else (a class
    // has 255) the lowest value no class has.
    auto no_data_value = static_cast<std::uint8_t>(a.nodata_value_given ? a.nodata_value : kNoData);
    // The class (if any) whose value is the one no-data pixels get.
    int class_of_no_data = -1;
    for (std::size_t c = 0; c < value_of.size(); ++c)
        if (value_of[c] == no_data_value) class_of_no_data = static_cast<int>(c);
    // The lowest value no class has (at most 32 classes: there is one).
    int free_value = 0;
    while (std::find(value_of.begin(), value_of.end(), free_value) != value_of.end()) ++free_value;
    if (a.nodata_value_given && class_of_no_data >= 0)
        PFCE_THROW(InputError, "--nodata-value ", a.nodata_value, ": ", a.checkpoint, " writes ",
                   m.class_names[class_of_no_data],
                   " as that value (expected a value no class has, e.g. ", free_value, ")");
    // A class of 255 (binary 0/255 building masks): no-data pixels get the lowest free value
    // instead, said once. Before, each image with such pixels failed, found only once read, after
    // the images before it were written (walkthrough: exit 3 for an orthophoto's border).
    if (class_of_no_data >= 0) {
        log_info("no-data pixels (transparent, or a NoData value) get the value ", free_value,
                 ", the lowest no class has (", int{kNoData}, " is ",
                 m.class_names[class_of_no_data],
                 "'s), marked as the masks' NoData; --nodata-value N chooses another");
        no_data_value = static_cast<std::uint8_t>(free_value);
    }
    // Transparent in a PNG (no class has the value), and shown, where a viewer (or a TIFF, which
    // has no transparency) ignores that, in the training dataset's ignore colour, else a colour no
    // class has: a colour mask read back by its colours is unlabelled there, never a black class
    // (as pfce's own masks do).
    std::vector<std::uint8_t> no_data_alpha(256, 255);
    no_data_alpha[no_data_value] = 0;
    Palette shown;
    for (std::size_t c = 0; c < m.class_colours.size(); ++c)
        shown.classes.push_back({m.class_names[c], m.class_colours[c]});
    shown.unlabelled_colours = m.unlabelled_colours;
    // Values no class has, but no-data's, in a colour no class has either (they were black: a
    // stray value in a mask re-saved without its palette's meaning read as a black class).
    const std::vector<Rgb> colours =
        shown.file_colours(value_of, shown.display_unlabelled(), no_data_value);
    // --qml: one style for every mask, each class by its value, name and colour.
    std::string style;
    if (a.qml) {
        std::vector<StyledClass> classes;
        for (std::size_t c = 0; c < value_of.size(); ++c)
            classes.push_back({value_of[c], m.class_names[c], m.class_colours[c]});
        style = qgis_paletted_style(classes, int{no_data_value}, "checkpoint " + a.checkpoint);
    }
    if (!m.mask_values.empty()) {
        std::string list;
        for (std::size_t c = 0; c < value_of.size(); ++c)
            list += (c ? ", " : "") + m.class_names[c] + " " + std::to_string(value_of[c]);
        std::printf("pixel values are the training dataset's mask.values: %s\n", list.c_str());
    }
    // Gray images for a model trained on colour ones (or the reverse) predict without an error
    // but from inputs unlike its training: said for the first, counted for the rest.
    const TrainedImageKinds trained =
        trained_image_kinds(m.meta.value("data", nlohmann::json::object()));
    std::size_t unlike = 0;
    // A channel that held one value in every training image (an empty band) taught the model
    // nothing: an input where it holds another value is predicted from what it never saw.
    const nlohmann::json trained_constant =
        m.meta.value("data", nlohmann::json::object()).value("constant_channels", nlohmann::json());
    std::size_t unlike_constant = 0;
    // An input whose pixels are of another ground size than the training images' (a checkpoint
    // records theirs where they have one): the model sees its ground features at another scale
    // than it learnt (cars half as long), which --zoom corrects. Said for the first, counted.
    const nlohmann::json trained_pixel_size =
        m.meta.value("data", nlohmann::json::object()).value("ground_pixel_size", nlohmann::json());
    std::size_t other_scale = 0;
    std::vector<std::int64_t> total(m.class_colours.size(), 0);
    std::int64_t pixels = 0, unsure = 0;  // unsure: confidence below one half; pixels with data
    std::int64_t no_data_total = 0;
    std::size_t done = 0;
    auto interrupted = [&] {
        if (done == 0)
            std::printf(
                "interrupted before the first of %zu image(s) was done; nothing written "
                "(and no directory made)\n",
                jobs.size());
        else
            std::printf(
                "interrupted after %zu of %zu image(s); the masks written are complete "
                "(predict the rest with --skip-existing, or all again with --force)\n",
                done, jobs.size());
        return CLI::RuntimeError(130);
    };
    sw.stop_between_passes = true;  // an image in hand is dropped, not finished (minutes, at d4)
    bool told_alpha_majority = false;
    PolygonWarnings polygon_warnings;
    // Inputs that fail once their pixels are read (damage past a good header: every header was
    // checked above; no-data pixels where the model's values have no room for them): the others
    // are still predicted, and the command fails at the end naming them, so one bad chip does not
    // leave most of a directory unpredicted.
    std::vector<std::string> unread;
    const auto jobs_start = std::chrono::steady_clock::now();
    for (const Job& j : jobs) {
        if (stop_requested()) throw interrupted();  // every output written so far is complete
        // Pixels without data (transparent: alpha, a tRNS colour, a GeoTIFF's nodata mask, as an
        // orthophoto marks what lies outside its survey) get no class: kNoData in the mask, 0 in
        // the confidence map. The network sees the training mean there (0 once normalised), the
        // blank that disturbs the windows beside them least; the overlay shows them as stored.
        std::vector<std::uint8_t> nodata;
        NoDataSources sources;
        RgbImage stored;
        std::int64_t no_data = 0;
        try {
            stored = read_rgb_with_nodata(j.input, nodata, max_pixels, image_choice(m.config.data),
                                          &sources);
            mark_sidecar_no_data(j, stored, image_choice(m.config.data), nodata);
            no_data = static_cast<std::int64_t>(
                std::count(nodata.begin(), nodata.end(), std::uint8_t{1}));
        } catch (const InputError& e) {
            if (jobs.size() == 1) throw;  // nothing else to predict: the error as it is
            // With --force its outputs would have been replaced: an earlier prediction left there
            // would pass for this image's, beside the new ones. Removed, and said.
            std::string removed;
            for (const std::string& o : j.outputs()) {
                std::error_code ec;
                if (a.force && fs::is_regular_file(o, ec) && fs::remove(o, ec))
                    removed += (removed.empty() ? "" : ", ") + o;
            }
            log_warn(e.what(), "; no prediction of it is written",
                     removed.empty() ? "" : " (its earlier one is removed: " + removed + ")",
                     ", the other inputs go on");
            unread.push_back(e.what());
            continue;
        }
        // A band of measurements (infrared) tagged as alpha makes most pixels "transparent", by
        // values between transparent and opaque, which a real alpha band (0 outside a survey,
        // opaque inside) seldom holds: said once, with how to re-tag the band.
        if (sources.alpha * 2 > static_cast<std::int64_t>(nodata.size()) &&
            sources.alpha_partial * 2 > sources.alpha && !told_alpha_majority) {
            told_alpha_majority = true;
            const int band = probe_image(j.input).channels + 1;
            log_warn(j.input, ": ", sources.alpha, " of its ", nodata.size(),
                     " pixels are transparent by its alpha band (band ", band, "), ",
                     sources.alpha_partial,
                     " of them neither transparent nor opaque, and get no class; if that band "
                     "holds infrared or another measurement rather than alpha, tag it as such: "
                     "gdal_translate -colorinterp_",
                     band, " undefined IN OUT.tif");
        }
        const auto nc = static_cast<std::size_t>(stored.channels);  // 3 unless bands add some
        RgbImage filled;
        if (no_data > 0) {
            filled = stored;
            for (std::size_t i = 0; i < nodata.size(); ++i)
                if (nodata[i])
                    for (std::size_t k = 0; k < nc; ++k)
                        filled.pixels[i * nc + k] = static_cast<std::uint8_t>(
                            std::clamp(std::lround(m.stats.mean[k]), 0L, 255L));
        }
        const RgbImage& img = no_data > 0 ? filled : stored;
        if (trained.known) {
            // Judged on the pixels with a value: an image that is all no data (a transparent
            // PNG) is neither gray nor colour.
            bool gray = true, any_value = false;
            for (std::size_t i = 0; gray && i + nc <= stored.pixels.size(); i += nc) {
                if (no_data > 0 && nodata[i / nc]) continue;
                any_value = true;
                for (std::size_t k = 1; k < nc; ++k)
                    gray &= stored.pixels[i] == stored.pixels[i + k];
            }
            if (any_value && trained.unlike(gray) && unlike++ == 0)
                log_warn(j.input, gray ? " is gray" : " is in colour", " but ", a.checkpoint,
                         " was trained on ", gray ? "colour" : "gray",
                         " images: its predictions of such inputs may mean little");
        }
        if (const std::string differs = differs_where_training_was_constant(
                stored, no_data > 0 ? &nodata : nullptr, trained_constant, m.config.data.bands);
            !differs.empty() && unlike_constant++ == 0)
            log_warn(j.input, ": ", differs, " in every training image of ", a.checkpoint,
                     ": the model learnt nothing from that channel, so its predictions of such "
                     "inputs may mean little",
                     m.config.data.bands.empty() ? "" : " (read with the run's data.bands)");
        if (trained_pixel_size.is_object())
            if (const std::optional<GroundPixelSize> px = ground_pixel_size(j.input, &j.tags))
                if (const auto off = scale_mismatch(*px, a.zoom, trained_pixel_size, a.checkpoint);
                    off && other_scale++ == 0)
                    log_warn(j.input, " has ", off->sizes,
                             a.zoom == 1.0
                                 ? ""
                                 : detail::concat(" (--zoom ", format_shortest(a.zoom), " given)"),
                             ": the model sees its ground at another scale than it learnt; ",
                             off->remedy("--zoom"));
        LabelMap confidence;  // for its map, and each polygon's mean
        const bool wants_confidence = !j.confidence.empty() || !j.polygons.empty();
        std::vector<std::uint8_t> probabilities;  // a plane a class, under --probabilities
        LabelMap pred;
        try {
            // A 6000x6000 tile is minutes of windows on a CPU: said as it goes, past 2 s.
            LazyProgress progress(fs::path(j.input).filename().string());
            SlidingWindow image_sw = sw;
            image_sw.progress = [&](std::int64_t windows_done, std::int64_t windows) {
                progress.update(windows_done, windows, "windows");
            };
            if (a.zoom == 1.0) {
                pred = predict_sliding(*backend, *m.net, img, m.stats, image_sw,
                                       wants_confidence ? &confidence : nullptr,
                                       j.probabilities.empty() ? nullptr : &probabilities);
            } else {  // the model sees the image at its training images' pixel size
                // and its logits come back onto the input's pixels before the argmax.
                pred = predict_sliding_zoomed(
                    *backend, *m.net, img, m.stats, image_sw, zoomed_side(img.width, a.zoom),
                    zoomed_side(img.height, a.zoom), wants_confidence ? &confidence : nullptr,
                    j.probabilities.empty() ? nullptr : &probabilities);
            }
        } catch (const StopRequested&) {
            throw interrupted();  // nothing of this image was written
        }
        // The overlay's pixels only where it is written (a 12000^2 image's is 432 MB).
        RgbImage overlay(j.overlay.empty() ? 0 : img.width, j.overlay.empty() ? 0 : img.height);
        const bool blend = !j.overlay.empty();
        std::vector<std::int64_t> counts(m.class_colours.size(), 0);
        LabelMap written(pred.width, pred.height);
        for (std::size_t i = 0; i < pred.labels.size(); ++i) {
            if (no_data > 0 && nodata[i]) {
                written.labels[i] = no_data_value;
                if (!confidence.labels.empty()) confidence.labels[i] = 0;
                for (std::size_t c = 0; c < probabilities.size() / pred.labels.size(); ++c)
                    probabilities[c * pred.labels.size() + i] = 0;  // no class has any there
                for (std::size_t k = 0; blend && k < 3; ++k)
                    overlay.pixels[i * 3 + k] = stored.pixels[i * nc + k];
                continue;
            }
            const std::size_t c = pred.labels[i];
            ++counts[c];
            written.labels[i] = value_of[c];
            const Rgb& colour = m.class_colours[c];
            for (std::size_t k = 0; blend && k < 3; ++k)  // the first three channels: shown
                overlay.pixels[i * 3 + k] = static_cast<std::uint8_t>(
                    (1.0 - a.alpha) * img.pixels[i * nc + k] + a.alpha * colour[k] + 0.5);
        }
        const GeoReference& geo = j.tags;
        const bool tif = lower_ext_is(j.mask, {".tif", ".tiff"});
        // An image's outputs are put in place together once all are written: a full disk leaves
        // none of them (or, with --force, the old ones together), never a mask without its overlay.
        // Without --force none replaces a file: another predict writing the same names into this
        // --out meanwhile (several may share one, for different inputs) is an error, not a mix.
        StagedFiles staged;
        std::string about;                 // the confidence map's summary
        std::vector<std::string> removed;  // files of the replaced mask --force removes
        try {
            if (tif)
                write_tiff_indexed(staged.stage(j.mask), written, colours, geo, int{no_data_value});
            else
                write_png_indexed(staged.stage(j.mask), written, colours, no_data_alpha);
            write_sidecar_georef(j.sidecars, j.mask, &staged);
            if (blend) {
                write_png(staged.stage(j.overlay), overlay);
                write_sidecar_georef(j.overlay_sidecars, j.overlay, &staged);
            }
            if (!j.style.empty()) write_file_atomically(staged.stage(j.style), style);
            if (!j.confidence.empty()) {
                // 0 is no data (a prediction's confidence is at least 1/C of 255): tagged so, a
                // GIS shows those pixels as no data, not as the most unsure ones.
                if (tif)
                    write_tiff_gray(staged.stage(j.confidence), confidence, geo, 0);
                else
                    write_png_gray(staged.stage(j.confidence), confidence);
                write_sidecar_georef(j.sidecars, j.confidence, &staged);
                std::int64_t sum = 0, below = 0;
                for (std::size_t i = 0; i < confidence.labels.size(); ++i) {
                    if (no_data > 0 && nodata[i]) continue;  // no prediction there
                    sum += confidence.labels[i];
                    below += confidence.labels[i] < 128;  // 128/255: the first above one half
                }
                const double n = std::max(1.0, static_cast<double>(confidence.labels.size()) -
                                                   static_cast<double>(no_data));
                about = "; confidence mean " +
                        format_fixed(static_cast<double>(sum) / (255.0 * n), 2) + ", " +
                        format_fixed(100.0 * static_cast<double>(below) / n, 1) +
                        "% of pixels below 0.5";
                unsure += below;
            }
            if (!j.probabilities.empty()) {  // a TIFF, whatever the mask's format: a band a class
                // Pixels without data: 0 in every band, and GDAL's nodata mask says so.
                std::vector<std::uint8_t> valid;
                if (no_data > 0)
                    for (const std::uint8_t n : nodata) valid.push_back(n ? 0 : 1);
                write_tiff_bands(staged.stage(j.probabilities), probabilities, img.width,
                                 img.height, m.class_names, geo, valid);
                write_sidecar_georef(j.sidecars, j.probabilities, &staged);
            }
            if (!j.polygons.empty()) {
                const PolygonLayer layer =
                    polygon_layer(j, m, value_of, written.width, written.height, polygon_warnings);
                const std::vector<MaskRegion> regions = polygonize_mask(
                    written, no_data > 0 ? int{no_data_value} : -1, confidence.labels);
                // Speckle (an undertrained model's): a region every few pixels is a file of
                // about 100 bytes each, and a layer nobody can read. Said once, with why.
                const auto px = static_cast<std::int64_t>(written.labels.size()) - no_data;
                if (regions.size() > 10000 && static_cast<std::int64_t>(regions.size()) * 50 > px &&
                    !std::exchange(polygon_warnings.speckled, true))
                    log_warn(j.input, ": its prediction is ", regions.size(), " regions in ", px,
                             " pixels (one every ",
                             format_fixed(
                                 static_cast<double>(px) / static_cast<double>(regions.size()), 1),
                             "), a GeoJSON of about ", format_bytes(100.0 * regions.size()),
                             ": a model that has not learnt enough yet predicts speckle (its "
                             "confidence map shows where)");
                {  // streamed: a noisy prediction's regions are hundreds of megabytes of text
                    std::ofstream f(staged.stage(j.polygons), std::ios::binary);
                    // Ctrl-C / SIGTERM: the image dropped as during its forward passes.
                    if (f)
                        write_polygons_geojson(f, regions, layer, [&] {
                            if (stop_requested()) throw interrupted();
                        });
                    f.close();
                    if (!f)
                        PFCE_THROW(SystemError, "cannot write ", j.polygons, ": ",
                                   std::strerror(errno));
                }
                about += "; " + std::to_string(regions.size()) +
                         (regions.size() == 1 ? " region" : " regions") + " as polygons" +
                         (layer.transform ? "" : " in pixel coordinates (x column, y -row)");
            }
            // Only with --force, or for an image a killed predict was putting in place (its own
            // leftovers): one that appeared since the check above is another command's.
            if (a.force || j.finishes_interrupted) {
                removed = j.stale_companions(kept);
                for (const std::string& p : removed) staged.drop(p);
            }
            try {
                staged.commit(a.force || j.finishes_interrupted);
                for (const std::string& o : j.outputs()) kept.add(o);
            } catch (const InputError& e) {  // an output another command wrote meanwhile
                PFCE_THROW(InputError, "cannot write the prediction of ", j.input, " to ", j.mask,
                           " (none of its files was written): ", e.what(),
                           "; pass --force to replace it");
            }
        } catch (const SystemError& e) {
            // Named by the file the user asked for, not the temporary that failed.
            PFCE_THROW(SystemError, "cannot write the prediction of ", j.input, " to ", j.mask,
                       a.force ? " (the files there are as they were)"
                               : " (none of its files was written)",
                       ": ", e.what());
        }
        std::string where = tif && !geo.empty() ? ", " + place_said(j.input, geo) : std::string();
        if (no_data > 0)
            where += ", " + std::to_string(no_data) + " pixels of no data left " +
                     std::to_string(int{no_data_value});
        if (!j.rpc_source.empty()) where += ", RPC camera model carried from " + j.rpc_source;
        if (!j.sidecars.empty()) where += ", georeference carried from " + j.sidecars.describe();
        // A line a file: a newline in a name is shown as \n (it broke the line in two).
        // Of many images, how far the command is and when it ends (1000 chips printed a line
        // each and no count: scale probe).
        std::string count;
        if (jobs.size() > 1) {
            const auto k = static_cast<std::size_t>(&j - jobs.data()) + 1;
            const double seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - jobs_start)
                    .count();
            count = "[" + std::to_string(k) + "/" + std::to_string(jobs.size());
            if (k < jobs.size() && seconds > 2)
                count += " ETA " + format_duration(seconds / static_cast<double>(k) *
                                                   static_cast<double>(jobs.size() - k));
            count += "] ";
        }
        // Zoomed: the size the model saw, so a zoom given the wrong way round shows.
        const std::string seen = a.zoom == 1.0
                                     ? std::string()
                                     : detail::concat(", seen at ", zoomed_side(img.width, a.zoom),
                                                      "x", zoomed_side(img.height, a.zoom));
        std::printf("%s%s -> %s (%dx%d%s%s%s)\n", count.c_str(), controls_escaped(j.input).c_str(),
                    controls_escaped(j.mask).c_str(), img.width, img.height, seen.c_str(),
                    where.c_str(), about.c_str());
        // What --force removed is said as the refusal without it said it would be (a probe's
        // .prj and .aux.xml went without a word).
        if (!removed.empty()) {
            std::string names;
            for (const std::string& p : removed) names += (names.empty() ? "" : ", ") + p;
            std::printf("  removed with --force, as they belonged to the mask it replaced: %s\n",
                        names.c_str());
        }
        std::fflush(stdout);  // each line as its image is done (a log, a watcher)
        for (std::size_t c = 0; c < counts.size(); ++c) total[c] += counts[c];
        pixels += static_cast<std::int64_t>(pred.labels.size()) - no_data;
        no_data_total += no_data;
        ++done;
        made.kept();  // they hold a prediction now
    }
    if (done == 0 && !unread.empty())
        PFCE_THROW(InputError, "none of the ", jobs.size(),
                   " inputs could be read or predicted (each is named above), so no prediction "
                   "was written: ",
                   unread.front());
    std::printf("%zu image(s), %lld pixels%s%s:\n", jobs.size() - unread.size(),
                static_cast<long long>(pixels),
                no_data_total > 0 ? (" with data (and " + std::to_string(no_data_total) +
                                     " without, left " + std::to_string(int{no_data_value}) + ")")
                                        .c_str()
                                  : "",
                a.confidence
                    ? (", " +
                       format_fixed(100.0 * static_cast<double>(unsure) /
                                        static_cast<double>(std::max<std::int64_t>(pixels, 1)),
                                    1) +
                       "% predicted with confidence below 0.5")
                          .c_str()
                    : "");
    for (std::size_t c = 0; c < total.size(); ++c)
        std::printf("  %s %6.2f%%\n", padded(m.class_names[c], 20).c_str(),
                    100.0 * static_cast<double>(total[c]) /
                        static_cast<double>(std::max<std::int64_t>(pixels, 1)));
    if (other_scale > 1)
        log_warn(other_scale, " of ", jobs.size(),
                 " images have pixels of another ground size than the training images'");
    if (unlike_constant > 1)
        log_warn(unlike_constant, " of ", jobs.size(),
                 " images differ from the training images in a channel that never varied there");
    if (unlike > 1)
        log_warn(unlike, " of ", jobs.size(), " images are ", trained.gray ? "in colour" : "gray",
                 " but ", a.checkpoint, " was trained on ", trained.gray ? "gray" : "colour",
                 " images");
    if (!unread.empty()) {
        // Exit 3, not 2: a script must tell "some written" from "nothing written" (a refusal of
        // the command, exit 2, and none readable above, which writes nothing).
        std::string more;
        for (std::size_t k = 1; k < unread.size() && k < 3; ++k) more += "; " + unread[k];
        PFCE_THROW(PartlyDone, unread.size(), " of ", jobs.size(),
                   " inputs could not be read or predicted and have no prediction (the other ",
                   jobs.size() - unread.size(),
                   " were written; each failed one is named above, with why): ", unread.front(),
                   more, unread.size() > 3 ? "; ...;" : ";",
                   " predict each alone (--input FILE) once its cause is mended");
    }
}

const bool registered = register_command(
    "predict", "class masks of an image or a directory of images, plus overlays",
    [](CLI::App& sub) {
        auto a = std::make_shared<PredictArgs>();
        sub.add_option("--checkpoint", a->checkpoint, "checkpoint file")->required();
        sub.add_option("--input", a->input, "image (TIFF, PNG or JPEG) or a directory of them")
            ->required();
        sub.add_option("--match", a->match,
                       "a directory's images to predict: a shell pattern of their file names "
                       "(e.g. \"*_sat.jpg\"; others left out, said)");
        sub.add_flag("--recursive", a->recursive,
                     "a directory's subdirectories too (links to directories not followed, a "
                     "dataset's mask directories left out): each mask goes to the same "
                     "subdirectory of --out");
        sub.add_option("--out", a->out,
                       "mask file (.png, or .tif to keep a GeoTIFF's georeference) for one image; "
                       "a directory for many (masks <stem>.png|.tif, overlays <stem>_overlay.png)")
            ->required();
        sub.add_option(
               "--format", a->format,
               "the masks' format where --out names none (a directory, or a name without .png "
               "or .tif): auto (.tif for GeoTIFF inputs, else .png), png or tif")
            ->transform(any_case())
            ->capture_default_str();
        CLI::Option* window = sub.add_option(
            "--window", a->window,
            "sliding-window side, at least 16 (default: the training crop, else 512)");
        CLI::Option* overlap = sub.add_option("--overlap", a->overlap,
                                              "pixels shared by neighbouring windows (window/4)");
        sub.add_option("--tta", a->tta,
                       "test-time augmentation: none, flips (4 mirrored views averaged) or d4 (8: "
                       "mirrors and rotations; 8x the time)")
            ->capture_default_str();
        sub.add_option(
               "--zoom", a->zoom,
               "resample each input by this factor before the model, and its logits back "
               "to the input's pixels: the input's pixel size over the training images' (2 for 10 "
               "cm imagery and a model trained at 5 cm; 0.5 for 2.5 cm)")
            ->check(decimal_number())
            ->capture_default_str();
        sub.add_option("--alpha", a->alpha, "overlay opacity of the mask")
            ->check(decimal_number())
            ->capture_default_str();
        sub.add_option("--device", a->device, "auto | cpu | cuda[:N]")->capture_default_str();
        sub.add_flag("--probabilities", a->probabilities,
                     "also write <stem>_probabilities.tif: every class's softmax probability "
                     "as round(255 p), a band a class named after it (8-bit, LZW, the mask's "
                     "georeference; 0 in every band where the input has no data)");
        sub.add_flag("--polygons", a->polygons,
                     "also write <stem>_polygons.geojson: each region of the mask (pixels of one "
                     "class joined across edges) as a polygon on the map where the input lies "
                     "on one (its class, pixel value, pixels, area and mean confidence), for a GIS "
                     "(footprints, areas, regions filtered by size or confidence)");
        sub.add_flag("--no-overlay", a->no_overlay,
                     "write no <stem>_overlay.png (the mask over the image): for many or large "
                     "images, where it costs more time and space than the mask");
        sub.add_flag("--confidence", a->confidence,
                     "also write <stem>_confidence.png|.tif: the predicted class's softmax "
                     "probability as 0..255 gray (dark = unsure: where more points would help)");
        CLI::Option* max_pixels = add_max_pixels_option(sub, a->max_pixels);
        sub.add_flag("--force", a->force, "replace existing output files (never an input)");
        sub.add_flag("--qml", a->qml,
                     "beside each mask a QGIS style, <mask stem>.qml, which QGIS applies when it "
                     "opens the mask: each class by its name and colour in the legend");
        sub.add_flag("--mask-names", a->mask_names,
                     "name each mask of a directory as the inputs' dataset names its masks "
                     "(files.image_suffix and mask_suffix of its dataset.toml: 12_sat.jpg -> "
                     "12_mask.png), so the masks (not their _overlay.png) can be copied in as its "
                     "masks");
        sub.add_flag("--skip-existing", a->skip_existing,
                     "leave out the inputs whose mask is already in --out (images added to a "
                     "tree predicted before; a mask is kept even if the checkpoint changed)");
        CLI::Option* nodata_value = sub.add_option(
            "--nodata-value", a->nodata_value,
            "the mask's value where an input has no data (transparent, or a GeoTIFF's NoData): "
            "255, or where a class has 255 (binary masks of values 0 and 255) the lowest value "
            "no class has; marked as NoData in a TIFF mask, transparent in a PNG");
        nodata_value->capture_default_str();  // 0..255, said with the range by run_predict
        sub.callback([a, window, overlap, max_pixels, nodata_value] {
            a->nodata_value_given = nodata_value->count() > 0;
            a->window_given = window->count() > 0;
            a->overlap_given = overlap->count() > 0;
            a->max_pixels_given = max_pixels->count() > 0;
            run_predict(*a);
        });
    });

}  // namespace
}  // namespace pfce::cli
