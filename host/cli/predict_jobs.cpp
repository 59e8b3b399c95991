// Planning `pfce predict`: every input's outputs named (one file for one image, a directory
// mirrored for many), refused before anything is read where a name cannot be written or would
// style, place or replace a file that is not the prediction's.
#include "host/cli/predict_jobs.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/file_io.hpp"
#include "core/log.hpp"
#include "core/output_dir.hpp"
#include "core/text.hpp"
#include "data/dataset.hpp"
#include "data/georef_sidecar.hpp"
#include "data/image_io.hpp"
#include "data/polygons_geojson.hpp"
#include "data/qgis_style.hpp"
#include "data/rpc_model.hpp"
#include "host/cli/cli_checks.hpp"
#include "host/train/trained_model.hpp"

namespace pfce::cli::predict {
namespace {

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

// The GeoTIFF tags of `input`; none where its header does not read (run_predict refuses it with
// every other such input).
GeoReference tags_of(const std::string& input) {
    try {
        return read_georeference(input);
    } catch (const InputError&) {
        return {};
    }
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
    } else if (!a.no_overlay) {
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

}  // namespace

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

std::vector<std::string> Job::outputs_of_any_option() const {
    Job all = *this;
    if (all.overlay.empty()) all.overlay = overlay_path(mask);
    all.confidence = confidence_path(mask, true);
    all.probabilities = probabilities_path(mask, true);
    all.polygons = polygons_path(mask, true);
    all.style = qgis_style_path(mask);
    return all.outputs();
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

// Where each prediction goes: --out names the file for one image, the directory for many.
// `layouts`: the datasets the inputs' directories are images of (image_dir_layout), by directory:
// --mask-names named masks by them.
void mark_predictions_dir(const std::string& out) {
    const fs::path marker = fs::path(out) / kPredictionsMarker;
    std::error_code ec;
    if (fs::exists(marker, ec)) return;
    try {
        write_file_atomically(marker.string(),
                              "pfce predict wrote predictions (masks, overlays, confidence maps) "
                              "into this directory.\npfce predict --recursive on a directory "
                              "above leaves it out: its masks are no images to predict.\nRemove "
                              "this file to have them read as images.\n");
    } catch (const Error& e) {
        log_warn("cannot mark ", out, " as predictions (", e.what(),
                 "): predict --recursive on a directory above would predict them as images");
    }
}

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
    std::vector<fs::path> inputs, unread, subdirs, not_files, mask_dirs, linked_dirs, masks_by_name,
        prediction_dirs;
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
            else if (fs::exists(e.path() / kPredictionsMarker, ec))
                prediction_dirs.push_back(e.path());
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
    else if (fs::exists(fs::path(a.input) / kPredictionsMarker, ec))
        log_warn("--input ", a.input, " holds pfce's predictions (its ", kPredictionsMarker,
                 "): its masks are predicted as if they were images");
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
    for (auto* list : {&unread, &subdirs, &not_files, &mask_dirs, &linked_dirs, &unlistable,
                       &masks_by_name, &prediction_dirs})
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
    if (!prediction_dirs.empty())
        log_info("--input ", a.input, ": ", prediction_dirs.size(),
                 prediction_dirs.size() == 1 ? " directory of pfce's predictions is"
                                             : " directories of pfce's predictions are",
                 " not read (e.g. ", prediction_dirs[0].string(), "/, marked by its ",
                 kPredictionsMarker, "): its masks are no images to predict");
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

// The options' values, before any file is looked at.
void check_predict_options(const PredictArgs& a) {
    if (!(a.alpha >= 0 && a.alpha <= 1))
        PFCE_THROW(InputError, "--alpha ", a.alpha, ": expected 0..1");
    if (a.format != "auto" && a.format != "png" && a.format != "tif")
        PFCE_THROW(InputError, "--format ", a.format, ": expected auto, png or tif");
    check_zoom_option(a.zoom);
    if (a.window_given) check_window_option(a.window);
    if (a.max_pixels_given) check_max_pixels_option(a.max_pixels);
    if (a.overlap_given) check_overlap_option(a.overlap);
    if (!a.polygons && (!a.polygon_classes.empty() || a.polygon_min_pixels_given))
        PFCE_THROW(InputError,
                   !a.polygon_classes.empty() ? "--polygon-classes" : "--polygon-min-pixels",
                   ": expected --polygons too (it chooses which regions --polygons writes)");
    if (a.polygon_min_pixels < 1)
        PFCE_THROW(InputError, "--polygon-min-pixels ", a.polygon_min_pixels,
                   ": expected a region's size in pixels, 1 or more");
    if (a.nodata_value_given && (a.nodata_value < 0 || a.nodata_value > 255))
        PFCE_THROW(InputError, "--nodata-value ", a.nodata_value,
                   ": expected a pixel value, 0..255, that no class has");
}

// QGIS applies <stem>.qml to every image of that stem in its directory: beside another image
// of the mask's stem (the input, when --out is next to it), the classes' names and colours
// would be laid over that image's pixel values too.
void refuse_styles_of_other_images(const std::vector<Job>& jobs) {
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
}

// --skip-existing: images added to a tree already predicted (its masks are written whole,
// renamed into place, so one that exists is complete). An input itself never counts as done.
// Nor an image whose files a killed predict was putting in place (its mask renamed, its
// overlay still a temporary): it was skipped for good, its overlay never made. Predicted
// again, with this run's options.
// Returns false, having said so, where no image is left to predict.
bool drop_jobs_already_predicted(std::vector<Job>& jobs, const PredictArgs& a) {
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
        j.finishes_interrupted = std::any_of(outs.begin(), outs.end(), [&](const std::string& p) {
            const auto other = planner.find(p);
            return interrupted.count(p) > 0 && (other == planner.end() || other->second == &j);
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
        log_info(skipped, " of the ", jobs.size(), jobs.size() == 1 ? " image has" : " images have",
                 " a mask already and ", skipped == 1 ? "is" : "are",
                 " skipped (--skip-existing; e.g. ", example, ")");
    if (incomplete > 0)
        log_warn(incomplete, " of the masks skipped lack their overlay",
                 a.confidence ? " or confidence map" : "",
                 a.probabilities ? " or class probabilities" : "", a.polygons ? " or polygons" : "",
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
        return false;
    }
    jobs = std::move(todo);
    return true;
}

// Every output name checked before anything is read: never an input, nor among a dataset's own
// images or masks, nor over a file without --force, nor beside an earlier prediction's companions
// that would be read with the new mask. Returns the files no companion removal may touch (every
// input, its sidecars, every planned output), to which the run adds what it writes.
FileIdentities check_outputs_before_writing(const std::vector<Job>& jobs, const PredictArgs& a,
                                            const std::vector<std::string>& planned_outputs) {
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
    return kept;
}

}  // namespace pfce::cli::predict
