// Dataset: kind detection from the layout on disk, dispatch to the per-kind scanner, and reading a
// sample's image and dense mask (whole files, or windows of tiles through a shared band cache).
#include <algorithm>
#include <array>
#include <cctype>
#include <exception>
#include <filesystem>
#include <iterator>
#include <mutex>
#include <optional>
#include <set>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/log.hpp"
#include "core/output_dir.hpp"
#include "core/text.hpp"
#include "data/dataset_detail.hpp"
#include "data/georef_sidecar.hpp"
#include "data/image_io.hpp"
#include "data/sidecar_no_data.hpp"
#include "data/synth.hpp"

namespace fs = std::filesystem;

namespace pfce {

namespace detail {

fs::path kaggle_dir(const fs::path& root) {
    std::error_code ec;
    if (fs::is_directory(root / "patches" / "Images", ec)) return root / "patches";
    if (fs::is_directory(root / "Images", ec)) return root;
    return {};
}

// Whether dir holds a file of the Kaggle patches' naming, Image_N.<image extension>.
bool holds_kaggle_images(const fs::path& dir) {
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::string name = it->path().filename().string();
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        const std::size_t digits = name.find_first_not_of("0123456789", 6);
        if (name.rfind("image_", 0) == 0 && digits > 6 && digits != std::string::npos &&
            name[digits] == '.' && is_image_extension(it->path()))
            return true;
    }
    return false;
}

bool has_generic_layout(const fs::path& root) {
    std::error_code ec;
    return fs::exists(root / "dataset.toml", ec);
}

std::vector<DatasetKind> layouts_found(const fs::path& root) {
    std::vector<DatasetKind> found;
    // Images/ beside a dataset.toml is also UAVid's and others' generic layout: Kaggle then needs
    // its own Image_N files to be a reading of it.
    const fs::path kaggle = kaggle_dir(root);
    if (!kaggle.empty() && (!has_generic_layout(root) || holds_kaggle_images(kaggle / "Images")))
        found.push_back(DatasetKind::kaggle);
    if (has_tiles_layout(root)) found.push_back(DatasetKind::tiles);
    if (has_generic_layout(root)) found.push_back(DatasetKind::generic);
    return found;
}

bool is_image_extension(const fs::path& p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    return ext == ".tif" || ext == ".tiff" || ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

std::string unread_partner_hint(const fs::path& dir, const std::string& stem, bool mask) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const fs::path& p = e.path();
        if (p.stem().string() != stem || !is_unread_image_name(p.string())) continue;
        return "; " + p.string() + " is there, but " + p.extension().string() +
               " files are not read (" +
               (mask ? "expected .tif or .png: convert it, e.g. gdal_translate IN OUT.tif"
                     : kUnreadFormatAdvice) +
               ")";
    }
    return {};
}

void warn_of_files_left_out(const std::string& dir, std::vector<std::string> names,
                            const std::string& kind, const std::string& why) {
    if (names.empty()) return;
    std::sort(names.begin(), names.end());
    log_warn(dir, ": ", names.size(), " ", kind, names.size() == 1 ? " file is" : " files are",
             " not read (", names.front(), names.size() > 1 ? ", ..." : "", "): ", why);
}

void check_file_entry(const fs::directory_entry& e) {
    std::error_code ec;
    if (e.is_symlink(ec) && !fs::exists(e.path(), ec))
        PFCE_THROW(InputError, e.path().string(), " is a symbolic link to ",
                   fs::read_symlink(e.path(), ec).string(), ", which does not exist");
    if (!e.is_regular_file(ec))
        PFCE_THROW(InputError, e.path().string(),
                   fs::is_directory(e.path(), ec) ? " is a directory" : " is not a regular file",
                   " (expected an image file)");
}

bool natural_less(const std::string& a, const std::string& b) {
    std::size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        if (std::isdigit(static_cast<unsigned char>(a[i])) &&
            std::isdigit(static_cast<unsigned char>(b[j]))) {
            std::size_t i2 = i, j2 = j;
            while (i2 < a.size() && std::isdigit(static_cast<unsigned char>(a[i2]))) ++i2;
            while (j2 < b.size() && std::isdigit(static_cast<unsigned char>(b[j2]))) ++j2;
            // Compare digit runs by value: strip leading zeros, then length, then digits.
            std::size_t za = i, zb = j;
            while (za + 1 < i2 && a[za] == '0') ++za;
            while (zb + 1 < j2 && b[zb] == '0') ++zb;
            if (i2 - za != j2 - zb) return i2 - za < j2 - zb;
            const int c = a.compare(za, i2 - za, b, zb, j2 - zb);
            if (c != 0) return c < 0;
            i = i2;
            j = j2;
        } else {
            if (a[i] != b[j]) return a[i] < b[j];
            ++i;
            ++j;
        }
    }
    if (a.size() - i != b.size() - j) return a.size() - i < b.size() - j;
    // Equal as a person reads them ("tile_1", "tile_01"), yet other names: plain order keeps them
    // apart, since generic datasets pair their files by exact stem (before, tile_1.png paired with
    // a mask tile_01.png, and two images tile_3 and tile_03 were "two files for one sample").
    return a < b;
}

static void check_pixel_limit(const std::string& image, const ImageInfo& a,
                              std::int64_t max_pixels) {
    const std::int64_t pixels = static_cast<std::int64_t>(a.width) * a.height;
    if (max_pixels > 0 && pixels > max_pixels)
        PFCE_THROW(InputError, image, " is ", a.width, "x", a.height, " = ", pixels,
                   " pixels, above the limit of ", max_pixels,
                   " pixels (raise the limit, e.g. --max-pixels, to read it)");
}

std::string check_pair_sizes(const std::string& image, const std::string& mask,
                             std::int64_t max_pixels, const ImageChoice& choice, int& width,
                             int& height, bool* floating) {
    const ImageInfo a = probe_image(image);
    check_image_layout(image, a, choice);
    if (floating) *floating = a.sample_format == 3;
    if (mask.empty()) {  // an image without a mask (images_without_mask = "unlabelled")
        check_pixel_limit(image, a, max_pixels);
        width = a.width;
        height = a.height;
        return "";
    }
    if (is_jpeg_file(mask))
        PFCE_THROW(InputError, mask,
                   ": a JPEG mask; lossy compression changes label values, so "
                   "masks must be PNG or TIFF (colour_tolerance cannot make a JPEG one: convert "
                   "the masks to PNG, then set [mask] colour_tolerance in dataset.toml for the "
                   "colours the compression moved)");
    const ImageInfo b = probe_image(mask);
    if (!b.lossy.empty())
        PFCE_THROW(InputError, mask, ": a ", b.lossy, "-compressed mask; ", b.lossy,
                   b.lossy == "JPEG" ? " is lossy" : " may be lossy (its header does not say)",
                   " and lossy compression changes label values, so masks must be PNG or TIFF "
                   "compressed losslessly. Re-compressing this file keeps the damage already "
                   "done: export the masks again from their lossless source (e.g. gdal_translate "
                   "-co COMPRESS=DEFLATE SOURCE OUT.tif), or snap every pixel to its nearest "
                   "class colour first");
    refuse_wide_mask_samples(mask, b);
    check_sample_layout(mask, b.bits_per_sample, b.channels);
    if (a.width != b.width || a.height != b.height)
        PFCE_THROW(InputError, "image/mask size mismatch: ", image, " is ", a.width, "x", a.height,
                   " but ", mask, " is ", b.width, "x", b.height);
    check_pixel_limit(image, a, max_pixels);
    width = a.width;
    height = a.height;
    return grid_mismatch(image, a.geo, mask, b.geo);
}

std::string grid_mismatch(const std::string& image, const GeoReference& image_tags,
                          const std::string& mask, const GeoReference& mask_tags) {
    const auto by_tags = [&] {
        const std::string why = grid_difference(image_tags, mask_tags);
        return why.empty() ? why
                           : image + " (" + image_tags.describe() + ") and " + mask + " (" +
                                 mask_tags.describe() + "): " + why;
    };
    const int ei = epsg_code(image_tags), em = epsg_code(mask_tags);
    if (ei && em && ei != em) return by_tags();
    // Rotated and south-up grids too, as GDAL reads each file's.
    std::optional<PlacedTransform> gi, gm;
    try {
        gi = geotransform_as_gdal_reads(image, image_tags);
        gm = geotransform_as_gdal_reads(mask, mask_tags);
    } catch (const InputError&) {  // a sidecar that does not read: the tags compared
        return by_tags();
    }
    if (!gi || !gm) return "";
    const std::string why = grid_difference(gi->transform, gm->transform);
    if (why.empty()) return "";
    const auto where = [](const PlacedTransform& g, const GeoReference& tags) {
        return g.source == kPlacedByTags ? tags.describe()
                                         : describe(g.transform) + ", from " + g.source;
    };
    return image + " (" + where(*gi, image_tags) + ") and " + mask + " (" + where(*gm, mask_tags) +
           "): " + why;
}

void warn_grid_mismatches(const std::vector<std::string>& found, std::size_t pairs) {
    std::size_t n = 0;
    const std::string* first = nullptr;
    for (const std::string& f : found)
        if (!f.empty() && n++ == 0) first = &f;
    if (n == 0) return;
    // Once per process: linking and suites open a dataset again.
    static std::mutex said_mutex;
    static std::set<std::string> said;
    {
        std::lock_guard<std::mutex> lock(said_mutex);
        if (!said.insert(*first).second) return;
    }
    log_warn(n, " of ", pairs, " image/mask pairs lie on different map grids, first ", *first,
             ". pfce pairs an image's pixels with its mask's by position: if a mask was not made "
             "on its image's grid, its labels fall on the wrong pixels (gdalwarp -te/-tr or "
             "gdal_translate -projwin onto the image's grid aligns it)");
}

void check_all_pairs(std::vector<SampleRef>& samples, const DatasetOptions& opts) {
    const long long n = static_cast<long long>(samples.size());
    std::vector<std::exception_ptr> errors(samples.size());
    std::vector<std::string> grids(samples.size());
    std::vector<std::uint8_t> floating(samples.size(), 0);
#pragma omp parallel for schedule(dynamic, 16)
    for (long long i = 0; i < n; ++i) {
        SampleRef& s = samples[static_cast<std::size_t>(i)];
        bool f = false;
        try {
            grids[static_cast<std::size_t>(i)] = check_pair_sizes(
                s.image_path, s.mask_path, opts.max_pixels, opts.image, s.width, s.height, &f);
        } catch (...) {
            errors[static_cast<std::size_t>(i)] = std::current_exception();
        }
        floating[static_cast<std::size_t>(i)] = f;
    }
    for (const auto& e : errors)
        if (e) std::rethrow_exception(e);
    const auto first_float = std::find(floating.begin(), floating.end(), 1);
    const auto first_integer = std::find(floating.begin(), floating.end(), 0);
    if (opts.image.has_value_range() && first_float != floating.end() &&
        first_integer != floating.end()) {
        const SampleRef& f = samples[static_cast<std::size_t>(first_float - floating.begin())];
        const SampleRef& k = samples[static_cast<std::size_t>(first_integer - floating.begin())];
        PFCE_THROW(InputError, f.image_path, " holds floating-point samples, but ", k.image_path,
                   " integers: one data.value_range (", format_shortest(opts.image.range_lo), "..",
                   format_shortest(opts.image.range_hi),
                   ") reads both on one scale, which cannot suit reflectance as 0..1 and as "
                   "counts alike (expected one kind of sample in every image; convert them to "
                   "one, e.g. gdal_translate -ot Float32 -scale 0 10000 0 1 IN OUT.tif)");
    }
    warn_grid_mismatches(grids, samples.size());
}

}  // namespace detail

namespace {
// "(r, g, b)", as messages about a mask's pixels write a colour.
std::string colour_text(const Rgb& c) {
    std::string t = "(";  // appended to: GCC 12 warns (-Wrestrict) at "(" + string&&
    t += std::to_string(c[0]) + ", " + std::to_string(c[1]) + ", " + std::to_string(c[2]) + ")";
    return t;
}

// What [mask] settings of `toml` would read an index mask holding `value`, which is neither a class
// value nor an ignore value (lut[v] == not_a_class). A mask with the default values 0..C-1 whose
// values run 0..C, 0 included, is most likely LoveDA's or OpenEarthMap's: classes 1..C, 0 "no
// label"; advice to ignore the top value there would shift every class by one.
std::string index_value_advice(const std::vector<std::uint8_t>& labels, int value,
                               const std::vector<std::uint8_t>& class_values, const int* lut,
                               int not_a_class, const std::string& toml) {
    const int c = static_cast<int>(class_values.size());
    bool default_values = true;
    for (int k = 0; k < c; ++k) default_values = default_values && class_values[k] == k;
    std::array<bool, 256> present{};
    for (std::uint8_t v : labels) present[v] = true;
    bool zero_to_c = default_values && value == c && present[0];
    for (int v = 0; v < 256 && zero_to_c; ++v)
        zero_to_c = !present[v] || v <= c || lut[v] != not_a_class;
    if (zero_to_c) {
        std::string one_to_c;
        for (int k = 1; k <= c; ++k) one_to_c += (k > 1 ? ", " : "") + std::to_string(k);
        return "; the mask holds values 0.." + std::to_string(c) + " for " + std::to_string(c) +
               " classes: if 0 means \"no label\" and the classes are 1.." + std::to_string(c) +
               " (LoveDA, OpenEarthMap), write values = [" + one_to_c +
               "] and add 0 to ignore under [mask] in " + toml + "; if instead " +
               std::to_string(c) + " means \"no label\", add " + std::to_string(c) +
               " to ignore; if it is a class, name one more class";
    }
    return "; if " + std::to_string(value) + " means \"no label\", add it to [mask] ignore in " +
           toml +
           "; if the classes are stored as other values, give them in order in [mask] values";
}
}  // namespace

Dataset Dataset::open(const std::string& root, const DatasetOptions& opts) {
    const fs::path r(root);
    std::error_code ec;
    if (!fs::is_directory(r, ec))
        PFCE_THROW(InputError, "dataset root ", root, " is not a directory",
                   fs::exists(r, ec) ? "" : " (it " + missing_reason(root) + ")");
    // pfce data synth writes its marker first and synthetic.json last: a directory with the one and
    // not the other was killed while being written and holds only some of its images, which would
    // read as a smaller dataset without a word. (`pfce run` writes such a directory again before
    // opening it.)
    // Its patches/ directory, given as the root, is the same partial dataset.
    fs::path normal = r.lexically_normal();
    if (normal.filename().empty()) normal = normal.parent_path();  // "patches/"
    const fs::path parent = normal.parent_path();
    for (const fs::path& dir : {r, parent}) {
        if (dir.empty() || output_dir_kind(dir.string()) != kSynthOutputKind ||
            fs::exists(dir / kSynthCompletionFile, ec))
            continue;
        PFCE_THROW(InputError, "dataset ", root, dir == r ? " is" : " is part of",
                   " a synthetic dataset that was interrupted while being written (or is being "
                   "written now): ",
                   dir == r ? "it" : dir.string(), " has pfce's marker ",
                   (dir / ".pfce-output").string(), " but no ", kSynthCompletionFile,
                   " (written last), so it holds only part of its images. Write it again with "
                   "pfce data synth --out ",
                   shell_word(dir.string()),
                   " and the --count, --size and --seed you meant (it clears the partial images "
                   "first; no --force is needed)");
    }
    DatasetKind kind = opts.kind;
    if (kind == DatasetKind::automatic) {
        const std::vector<DatasetKind> found = detail::layouts_found(r);
        // Another pfce output given as a dataset: say what it is (a mask directory's writer
        // marks it "masks" first and writes masks.json last), not which layouts were expected.
        if (found.empty() && output_dir_kind(root) == "masks")
            PFCE_THROW(InputError, root,
                       " is a mask directory (the --out of pfce sample or pfce link)",
                       fs::exists(r / "masks.json", ec)
                           ? ", not a dataset: give it as --labels beside its dataset's --data, or "
                             "to pfce data stats or preview"
                           : " whose writing did not finish (it was stopped or killed): "
                             "masks.json, written last, is missing. Run the command that made "
                             "it again");
        if (found.empty()) {
            // A parent of datasets (LoveDA's Train/ of Urban/ and Rural/, each with its
            // dataset.toml) or a dataset's images/: the datasets found a level below, or the root
            // above, are what to give.
            std::string below;
            int n_below = 0;
            for (const auto& e : fs::directory_iterator(r, ec)) {
                if (!e.is_directory(ec)) continue;
                const fs::path d = e.path();
                if (detail::has_generic_layout(d) || detail::has_tiles_layout(d) ||
                    fs::is_directory(d / "patches" / "Images", ec) ||
                    fs::is_directory(d / "Images", ec))
                    if (++n_below <= 4) below += (below.empty() ? "" : ", ") + d.string();
            }
            const fs::path up = normal.parent_path();
            const bool root_above = !up.empty() && detail::has_generic_layout(up);
            PFCE_THROW(InputError, "cannot tell the dataset kind of ", root,
                       ": expected patches/Images + patches/Labels (Kaggle patches), "
                       "top_potsdam_*_RGB.tif "
                       "tiles, or a dataset.toml (generic: images/ + masks/ beside it, or the "
                       "directories its [files] images and masks name; README.md's \"Your own "
                       "data\" shows one)",
                       n_below > 0 ? "; datasets lie a level below it, give one of them: " + below +
                                         (n_below > 4 ? ", ..." : "")
                       : root_above
                           ? "; " + up.string() + " holds a dataset.toml: give that directory"
                           : std::string());
        }
        if (found.size() > 1) {
            // What each kind was recognised by, so the file that should not be there is seen.
            std::string which;
            for (DatasetKind k : found)
                which += (which.empty() ? "" : ", ") +
                         std::string(k == DatasetKind::kaggle  ? "kaggle (Images/ + Labels/)"
                                     : k == DatasetKind::tiles ? "tiles (top_potsdam_*_RGB.tif)"
                                                               : "generic (dataset.toml)");
            PFCE_THROW(InputError, "the layout of ", root,
                       " matches more than one dataset kind: ", which,
                       "; name it with --kind kaggle|tiles|generic");
        }
        kind = found[0];
    }
    // The Potsdam layouts have their palette built in: a dataset.toml beside them (written for
    // its [mask] colour_tolerance, say) is not read, which is said rather than seen as no effect.
    static std::mutex told_mutex;
    static std::set<std::string> told;  // once per dataset: commands open one several times
    const auto first_time = [&] {
        std::lock_guard<std::mutex> lock(told_mutex);
        return told.insert(root).second;
    };
    if ((kind == DatasetKind::kaggle || kind == DatasetKind::tiles) &&
        fs::exists(r / "dataset.toml", ec) && first_time())
        log_warn((r / "dataset.toml").string(), " is not read: a ",
                 kind == DatasetKind::kaggle ? "Kaggle patch" : "Potsdam tile",
                 " dataset has the ISPRS Potsdam classes and colours built in, and none of its "
                 "settings (e.g. [mask] colour_tolerance, [image] bands) apply; a dataset that "
                 "needs them is a "
                 "generic one (images/, masks/ and dataset.toml)");
    if (opts.max_pixels < 1)
        PFCE_THROW(InputError, "max_pixels ", opts.max_pixels,
                   ": expected a limit >= 1 pixels (there is no 'no limit')");
    if (!is_valid_utf8(root))
        PFCE_THROW(InputError, "dataset root ", root,
                   " is not valid UTF-8; pfce records paths in JSON (masks.json, checkpoints): "
                   "rename it");
    // (The config refuses these with its source named; this guards pfce sample and pfce data.)
    const std::vector<int>& bands = opts.image.bands;
    if (!bands.empty() && !image_channel_count_fits(static_cast<int>(bands.size())))
        PFCE_THROW(InputError, "--bands gives ", bands.size(), " bands: expected ",
                   kImageChannelCounts);
    for (const int b : bands)
        if (b < 1 || b > 255)
            PFCE_THROW(InputError, "--bands ", b,
                       ": expected band numbers 1..255 (1 is the first)");
    if (opts.tile_patch <= 0 || opts.tile_stride <= 0)
        PFCE_THROW(InputError, "tile patch size and stride must be positive (got ", opts.tile_patch,
                   " and ", opts.tile_stride, ")");

    Dataset ds;
    ds.root_ = root;
    ds.kind_ = kind;
    ds.opts_ = opts;
    ds.opts_.kind = kind;
    switch (kind) {
        case DatasetKind::kaggle: {
            const fs::path dir = detail::kaggle_dir(r);
            if (dir.empty())
                PFCE_THROW(InputError, root,
                           " is not a Kaggle patch dataset: no patches/Images or Images "
                           "directory in it");
            DatasetBuilder::scan_kaggle(ds, dir);
            break;
        }
        case DatasetKind::tiles:
            // A stride above the patch (--tile-patch alone, the stride left at its default) is
            // warned of there, where the windows say how many pixels it leaves out.
            DatasetBuilder::scan_tiles(ds, r);
            break;
        case DatasetKind::generic:
            DatasetBuilder::scan_generic(ds, r);
            break;
        case DatasetKind::automatic:
            break;  // resolved above
    }
    for (const SampleRef& sr : ds.samples_)
        if (!is_valid_utf8(sr.id))
            PFCE_THROW(InputError, sr.image_path,
                       ": the file name is not valid UTF-8; pfce records sample ids in JSON "
                       "(masks.json, checkpoints): rename it");
    log_debug("dataset ", root, ": ",
              kind == DatasetKind::kaggle  ? "kaggle patches"
              : kind == DatasetKind::tiles ? "Potsdam tiles"
                                           : "generic (dataset.toml)",
              opts.kind == DatasetKind::automatic ? " (found by its layout)" : " (as asked)", ", ",
              ds.samples_.size(), " samples, ", ds.palette().classes.size(), " classes");
    return ds;
}

const SampleRef& Dataset::sample(std::size_t i) const {
    if (i >= samples_.size())
        PFCE_THROW(ShapeError, "sample index ", i, " out of range (dataset has ", samples_.size(),
                   ")");
    return samples_[i];
}

RgbImage Dataset::read_image(std::size_t i) const {
    const SampleRef& s = sample(i);
    if (kind_ == DatasetKind::tiles) return DatasetBuilder::read_tile_image(*this, s);
    return read_rgb(s.image_path, opts_.max_pixels, opts_.image);
}

RgbImage Dataset::read_image_and_no_data(std::size_t i, std::vector<std::uint8_t>& nodata) const {
    nodata.clear();
    const SampleRef& s = sample(i);
    if (kind_ == DatasetKind::tiles) return DatasetBuilder::read_tile_image(*this, s);
    NoDataSources sources;
    RgbImage img =
        read_rgb_with_nodata(s.image_path, nodata, opts_.max_pixels, opts_.image, &sources);
    // A chip's .aux.xml NoData value, as predict reads it.
    try {
        if (const SidecarGeoref g = find_sidecar_georef(s.image_path); g.no_data >= 0)
            mark_sidecar_no_data(s.image_path, g, img, opts_.image, nodata,
                                 "trained on and scored as data", told_aux_no_data_unused_.get());
    } catch (const InputError& e) {  // a sidecar GDAL would not read either: no NoData from it
        log_debug(s.image_path, ": its sidecar is not read for a NoData value: ", e.what());
    }
    // Mostly partly transparent: a band of measurements tagged as alpha, not an orthophoto's
    // outside (alpha 0 there, opaque inside): refused, saying how to tag the band, rather than
    // most of the image left out of training without a word.
    if (sources.alpha > 0 && sources.alpha_partial * 2 > sources.alpha) {
        const int band = probe_image(s.image_path).channels + 1;
        PFCE_THROW(InputError, s.image_path, ": ", sources.alpha,
                   " of its pixels are transparent by its alpha band (band ", band, "), ",
                   sources.alpha_partial,
                   " of them only partly, as a band of measurements tagged as alpha would be "
                   "(an orthophoto's alpha is 0 outside its survey and opaque inside): if band ",
                   band,
                   " holds infrared or another measurement, tag it as such (gdal_translate "
                   "-colorinterp_",
                   band,
                   " undefined IN OUT.tif) and pick the bands to read with "
                   "data.bands (--bands)");
    }
    return img;
}

Dataset::NoDataUnlabelled Dataset::unlabel_no_data(const std::vector<std::uint8_t>& nodata,
                                                   std::initializer_list<LabelMap*> masks) {
    NoDataUnlabelled n;
    n.pixels = static_cast<std::int64_t>(std::count(nodata.begin(), nodata.end(), 1));
    if (n.pixels == 0) return n;
    bool first = true;
    for (LabelMap* m : masks) {
        if (m->labels.size() != nodata.size()) continue;
        for (std::size_t p = 0; p < nodata.size(); ++p)
            if (nodata[p]) {
                n.labelled += first && m->labels[p] != 255;
                m->labels[p] = 255;
            }
        first = false;
    }
    return n;
}

void Dataset::say_no_data_unlabelled(std::size_t i, const NoDataUnlabelled& n) const {
    if (n.pixels == 0 || told_image_no_data_->exchange(true)) return;
    log_info(sample(i).image_path, ": ", n.pixels, n.pixels == 1 ? " pixel has" : " pixels have",
             " no data (transparent, the GeoTIFF NoData value in every band, or NaN)",
             n.labelled > 0 ? detail::concat(", ", n.labelled, " of them labelled in its mask")
                            : std::string(),
             ": left out of training and evaluation (unlabelled; the network sees the training "
             "mean there), as predict leaves them without a class (said for the first such "
             "image)");
}

// An index mask saved as a palette image of grays whose entry v is shown as another gray: a
// viewer shows the grays, pfce (as GDAL, PIL and rasterio) reads the entries, and nothing tells
// which the labels are. Said once per dataset, naming an entry in use.
void Dataset::warn_if_grays_disagree(const std::string& path, const LabelMap& m,
                                     const std::vector<Rgb>& colormap) const {
    if (colormap.empty()) return;
    for (const Rgb& c : colormap)
        if (c[0] != c[1] || c[1] != c[2]) return;  // a palette of colours: no gray to confuse
    std::array<bool, 256> used{};
    for (std::uint8_t v : m.labels) used[v] = true;
    for (std::size_t v = 0; v < colormap.size(); ++v) {
        if (!used[v] || colormap[v][0] == v) continue;
        if (told_gray_palette_->exchange(true)) return;
        log_warn(path, ": a palette image of grays whose entry ", v, " is shown as gray ",
                 static_cast<int>(colormap[v][0]), ": its labels are read as the entries (", v,
                 "), as GDAL and PIL read them, not as the grays a viewer shows. If the grays are "
                 "the labels, rewrite the masks as grayscale (e.g. gdal_translate -expand gray "
                 "IN OUT)");
        return;
    }
}

void unlabel_pixels_owned_elsewhere(LabelMap& dense, const SampleRef& s) {
    if (s.owns_all() || dense.width == 0) return;
    for (int y = 0; y < dense.height; ++y) {
        std::uint8_t* row = &dense.labels[static_cast<std::size_t>(y) * dense.width];
        if (y < s.own_y0 || y >= s.own_y1) {
            std::fill(row, row + dense.width, std::uint8_t{255});
            continue;
        }
        std::fill(row, row + std::min(s.own_x0, dense.width), std::uint8_t{255});
        if (s.own_x1 < dense.width) std::fill(row + s.own_x1, row + dense.width, std::uint8_t{255});
    }
}

LabelMap Dataset::read_mask(std::size_t i) const {
    const SampleRef& s = sample(i);
    if (kind_ == DatasetKind::tiles) return DatasetBuilder::read_tile_mask(*this, s);
    // An image without a mask (images_without_mask = "unlabelled"): no pixel labelled.
    if (s.mask_path.empty()) {
        const int w = s.width > 0 ? s.width : probe_image(s.image_path).width;
        const int h = s.height > 0 ? s.height : probe_image(s.image_path).height;
        return LabelMap(w, h, 255);
    }
    return read_mask_file(s.mask_path);
}

LabelMap Dataset::read_mask_file(const std::string& path) const {
    return read_mask_or_annotation(path, false);
}

LabelMap Dataset::read_annotation_file(const std::string& path) const {
    return read_mask_or_annotation(path, true);
}

LabelMap Dataset::read_mask_or_annotation(const std::string& path, bool annotation) const {
    if (index_masks_) {
        std::vector<Rgb> colormap;
        MaskMarks marks;
        LabelMap m = read_gray(path, opts_.max_pixels, &colormap, &marks, annotation);
        if (!told_gray_palette_->load()) warn_if_grays_disagree(path, m, colormap);
        refuse_pfce_label_png(path, colormap);
        if (annotation && colormap.empty()) refuse_pfce_indices_saved_gray(path, m);
        // Pixel value -> class (mask.values), 255 for an ignore value and for 255 itself unless
        // it is a class's value (pfce's own "unlabelled"), anything else an error.
        constexpr int kNotAClass = 256;
        int lut[256];
        std::fill(std::begin(lut), std::end(lut), kNotAClass);
        for (std::uint8_t v : index_ignore_) lut[v] = 255;
        const bool implicit_255 =
            lut[255] == kNotAClass &&
            std::find(index_values_.begin(), index_values_.end(), 255) == index_values_.end();
        if (implicit_255) lut[255] = 255;
        for (std::size_t c = 0; c < index_values_.size(); ++c)
            lut[index_values_[c]] = static_cast<int>(c);
        // The file's own NoData value: unlabelled where no class has it (and no need to say
        // so of 255, as pfce's GeoTIFF predictions mark it); a class's value stays that class.
        const MaskNoData no_data = read_mask_no_data(path);
        if (no_data.value >= 0) {
            const int c = lut[no_data.value];
            if (c == kNotAClass || c == 255)
                lut[no_data.value] = 255;
            else
                warn_if_no_data_is_a_class(path, no_data, c,
                                           std::count(m.labels.begin(), m.labels.end(),
                                                      static_cast<std::uint8_t>(no_data.value)));
        }
        if (implicit_255 && !annotation && no_data.value != 255 && !told_implicit_255_->load() &&
            std::find(m.labels.begin(), m.labels.end(), std::uint8_t{255}) != m.labels.end() &&
            !told_implicit_255_->exchange(true))
            log_warn(path,
                     ": pixel value 255 is read as unlabelled (pfce's default for index masks). "
                     "If 255 is a class, as in binary 0/255 masks, give it in mask.values of ",
                     root_,
                     "/dataset.toml (e.g. values = [0, 255]); to keep it unlabelled and "
                     "silence this, add 255 to mask.ignore");
        // Transparent pixels (a labelling tool's "not labelled" entry) of a value no class has
        // read as unlabelled; of a class's value, as that class, said once (counted for the first
        // such value, which the warning names).
        std::int64_t transparent_as_class = 0;
        int transparent_value = -1;
        for (std::size_t p = 0; p < m.labels.size(); ++p) {
            const bool transparent = !marks.transparent.empty() && marks.transparent[p];
            const int v = lut[m.labels[p]];
            // In an annotation, transparent is what nobody drew, whatever value it holds.
            if (transparent && (v == kNotAClass || annotation)) {
                m.labels[p] = 255;
                continue;
            }
            if (transparent && v != 255) {
                if (transparent_value < 0) transparent_value = m.labels[p];
                transparent_as_class += m.labels[p] == transparent_value;
            }
            if (v == kNotAClass) {
                // What a value may be: the classes' values (mask.values, else 0..C-1) and the
                // ignore values.
                std::string classes, ignore;
                for (std::size_t c = 0; c < index_values_.size(); ++c)
                    classes += (c ? ", " : "") + std::to_string(index_values_[c]);
                for (std::uint8_t u : index_ignore_)
                    ignore += (ignore.empty() ? "" : ", ") + std::to_string(u);
                if (implicit_255) ignore += ignore.empty() ? "255" : ", 255";
                // A binary 0/255 mask that a tool saved at 1 bit per pixel (ImageMagick does for
                // two grays) holds 0 and 1: say why its values are not the ones drawn.
                std::string bits;
                try {
                    const int b = probe_image(path).bits_per_sample;
                    if (b < 8)
                        bits = "; the file stores " + std::to_string(b) +
                               " bit(s) per pixel, so its values are 0.." +
                               std::to_string((1 << b) - 1) +
                               " (a binary mask saved at 1 bit holds 0 and 1, not 0 and 255): "
                               "give those values in mask.values, or save the masks as 8-bit";
                } catch (const Error&) {
                }
                const int value = m.labels[p];
                std::string advice = bits;  // else, what [mask] settings would read it
                if (advice.empty())
                    advice = index_value_advice(m.labels, value, index_values_, lut, kNotAClass,
                                                root_ + "/dataset.toml");
                PFCE_THROW(InputError, path, ": index value ", value, " at pixel (x=", p % m.width,
                           ", y=", p / m.width, ") is neither a class value (", classes,
                           ") nor an ignore value (", ignore.empty() ? "none" : ignore, ")",
                           advice);
            }
            m.labels[p] = static_cast<std::uint8_t>(v);
        }
        if (transparent_as_class > 0)
            warn_if_transparent_is_a_class(path, std::to_string(transparent_value),
                                           lut[transparent_value], transparent_as_class);
        return m;
    }
    MaskMarks marks;
    RgbImage colours = read_mask_rgb(path, opts_.max_pixels, &marks, 0, 0, 0, 0, annotation);
    return decode_colour_mask(path, path, std::move(colours), marks, annotation);
}

LabelMap Dataset::decode_colour_mask(const std::string& path, const std::string& source,
                                     RgbImage colours, const MaskMarks& marks,
                                     bool annotation) const {
    // Pixels the file says have no label: a palette PNG's transparent entry (pfce predict's masks
    // mark no data so, in the dataset's ignore colour or, where it has none, a grey no class has)
    // and a GeoTIFF's NoData value. Those of a colour no class has read as unlabelled (they were
    // refused as unknown colours); a class's colour stays the class, and NoData there is said.
    std::vector<std::size_t> unlabelled_at;
    std::int64_t no_data_as_class = 0, transparent_as_class = 0;
    int no_data_class = -1, transparent_class = -1;
    Rgb transparent_colour{};
    const std::size_t n = colours.pixels.size() / 3;
    for (std::size_t k = 0; k < n; ++k) {
        const bool transparent = !marks.transparent.empty() && marks.transparent[k];
        const bool no_data = !marks.no_data.empty() && marks.no_data[k];
        if (!transparent && !no_data) continue;
        std::uint8_t* p = &colours.pixels[3 * k];
        const Rgb c{p[0], p[1], p[2]};
        // A class's colour (or one within mask.colour_tolerance of it) stays the class, said;
        // not in an annotation, where transparent is what nobody drew, whatever colour it holds.
        const int found = annotation && transparent ? 255 : palette_.class_of(c);
        const int cls = found == 255 ? -1 : found;
        if (cls >= 0) {
            if (no_data && no_data_as_class++ == 0) no_data_class = cls;
            if (transparent && !no_data) {  // counted for the first such colour, as named
                if (transparent_class < 0) {
                    transparent_class = cls;
                    transparent_colour = c;
                }
                transparent_as_class += c == transparent_colour;
            }
            continue;
        }
        unlabelled_at.push_back(k);
        std::copy(palette_.classes[0].colour.begin(), palette_.classes[0].colour.end(), p);  // any
    }
    if (no_data_as_class > 0)
        warn_if_no_data_is_a_class(path, read_mask_no_data(path), no_data_class, no_data_as_class);
    if (transparent_as_class > 0)
        warn_if_transparent_is_a_class(path, colour_text(transparent_colour), transparent_class,
                                       transparent_as_class);
    LabelMap m = palette_.decode(colours, source);
    for (const std::size_t k : unlabelled_at) m.labels[k] = 255;
    return m;
}

void Dataset::refuse_pfce_label_png(const std::string& path,
                                    const std::vector<Rgb>& colormap) const {
    bool indices = true;  // the classes' values are 0, 1, 2, ...: a label PNG means the same
    for (std::size_t c = 0; c < index_values_.size(); ++c)
        indices = indices && index_values_[c] == c;
    if (indices) return;
    // pfce's label PNGs colour entry c as class c; the dataset's own masks colour entry
    // mask.values[c] so. A palette in class order but not in value order is one of pfce's whose
    // text tag is gone: an editor re-saved it (a researcher correcting points by hand).
    auto colours_in_order = [&](auto entry_of) {
        if (index_values_.size() < 2) return false;
        for (std::size_t c = 0; c < index_values_.size(); ++c) {
            const std::size_t e = entry_of(c);
            if (e >= colormap.size() || colormap[e] != palette_.classes[c].colour) return false;
        }
        return true;
    };
    const bool tagged = !probe_image(path).labels.empty();
    const bool class_order = colours_in_order([](std::size_t c) { return c; }) &&
                             !colours_in_order([&](std::size_t c) { return index_values_[c]; });
    if (!tagged && !class_order) return;
    std::string values;
    for (std::size_t c = 0; c < index_values_.size(); ++c)
        values += (c ? ", " : "") + std::to_string(index_values_[c]);
    PFCE_THROW(InputError, path, " is a label PNG of pfce sample or link",
               tagged
                   ? std::string()
                   : " (its palette colours entry c as class c, as pfce writes them, where this "
                     "dataset's masks colour entry mask.values[c]; its pfce-labels text is gone, "
                     "e.g. re-saved by an editor)",
               ": its pixel values are class indices (0..", index_values_.size() - 1,
               ", 255 unlabelled), not this dataset's mask.values (", values,
               "), so every class would be read as another; train on its directory with "
               "--labels DIR (labels.dir) instead, or predict masks, which hold the values");
}

void Dataset::refuse_pfce_indices_saved_gray(const std::string& path, const LabelMap& m) const {
    const std::size_t C = index_values_.size();
    bool indices = true;  // the classes' values are 0, 1, 2, ...: nothing changes meaning
    for (std::size_t c = 0; c < C; ++c) indices = indices && index_values_[c] == c;
    auto is_ignore = [&](int v) {
        return std::find(index_ignore_.begin(), index_ignore_.end(), v) != index_ignore_.end();
    };
    auto is_value = [&](int v) {
        return std::find(index_values_.begin(), index_values_.end(), v) != index_values_.end();
    };
    // 255 read as unlabelled by default only (255 in mask.ignore is the user's word for it).
    if (indices || C < 2 || is_value(255) || is_ignore(255) || is_value(0)) return;
    std::array<std::int64_t, 256> count{};
    for (const std::uint8_t v : m.labels) ++count[v];
    for (std::size_t v = C; v < 255; ++v)
        if (count[v] > 0) return;
    if (count[0] == 0 || 2 * count[255] <= static_cast<std::int64_t>(m.labels.size())) return;
    std::string values, read_as;
    for (std::size_t c = 0; c < C; ++c)
        values += (c ? ", " : "") + std::to_string(index_values_[c]);
    for (std::size_t v = 0; v < C; ++v) {
        if (count[v] == 0) continue;
        const auto at = std::find(index_values_.begin(), index_values_.end(), v);
        const std::string as =
            at != index_values_.end()
                ? palette_.classes[static_cast<std::size_t>(at - index_values_.begin())].name
            : is_ignore(static_cast<int>(v)) ? "ignored"
                                             : "no class";
        read_as += (read_as.empty() ? "" : ", ") + std::to_string(v) + " (pfce's " +
                   palette_.classes[v].name + ") as " + as;
    }
    PFCE_THROW(
        InputError, path, ": a gray image of values 0..", C - 1, " on a background of 255 (",
        format_significant(
            100.0 * static_cast<double>(count[255]) / static_cast<double>(m.labels.size()), 3),
        "% of its pixels), as a label PNG of pfce sample or link holds once saved again "
        "without its palette (an image library keeps the values and drops the palette). "
        "This dataset's classes have the values ",
        values, ", so its values would read as other classes: ", read_as,
        ". Give the label PNG as pfce wrote it, or write class c as mask.values[c]; if "
        "its values are this dataset's already, add 255 to mask.ignore in ",
        root_, "/dataset.toml (its points on an unlabelled background)");
}

void Dataset::warn_if_transparent_is_a_class(const std::string& path, const std::string& shown,
                                             int cls, std::int64_t pixels) const {
    if (pixels == 0 || told_transparent_class_->exchange(true)) return;
    const std::string& name = palette_.classes[static_cast<std::size_t>(cls)].name;
    if (index_masks_)
        log_warn(path, ": ", pixels, " pixels hold ", shown,
                 " and are transparent (a palette entry, tRNS or nodata mask that marks them as "
                 "not labelled), but ",
                 shown, " is the value of class ", name, " in this dataset, so they are read as ",
                 name, ". If they have no label, give them a value no class has (255, or one ",
                 "listed in mask.ignore of ", root_, "/dataset.toml); if they are ", name,
                 ", make them opaque to silence this");
    else
        log_warn(path, ": ", pixels, " pixels are ", shown,
                 " and transparent (a palette entry that marks them as not labelled), but ", shown,
                 " is the colour of class ", name, ", so they are read as ", name,
                 ". If they have no label, give them a colour no class has (an ignore colour); "
                 "if they are ",
                 name, ", make them opaque to silence this");
}

void Dataset::warn_if_no_data_is_a_class(const std::string& path, const MaskNoData& no_data,
                                         int cls, std::int64_t pixels) const {
    if (pixels == 0 || told_no_data_class_->exchange(true)) return;
    const std::string colour = colour_text(no_data.colour);
    const std::string& name = palette_.classes[static_cast<std::size_t>(cls)].name;
    if (index_masks_)
        log_warn(path, ": ", pixels, " pixels hold ", no_data.value,
                 ", which the file's GDAL NoData tag marks as no data, but ", no_data.value,
                 " is the value of class ", name, " in this dataset, so they are read as ", name,
                 ". If they have no label, make ", no_data.value, " an ignore value (mask.ignore, ",
                 "with mask.values giving the classes' values, in ", root_,
                 "/dataset.toml); if they are ", name,
                 ", remove the tag (gdal_edit.py -unsetnodata)"
                 " to silence this (said for the first such mask only: others may have them too)");
    else
        log_warn(path, ": ", pixels, " pixels are ", colour,
                 ", which the file's GDAL NoData tag (value ", no_data.value,
                 ") marks as no data, but ", colour, " is the colour of class ", name,
                 ", so they are read as ", name,
                 ". If they have no label, recolour them with an ignore colour; if they are ", name,
                 ", remove the tag (gdal_edit.py -unsetnodata) to silence this (said for the first "
                 "such mask only: others may have them too)");
}

void refuse_wide_mask_samples(const std::string& path, const ImageInfo& info) {
    if (info.file_bits() > 8 || info.sample_format != 1)
        PFCE_THROW(InputError, path, ": ", sample_kind(info.file_bits(), info.sample_format),
                   " mask samples (expected 8-bit unsigned masks: class colours, or class values "
                   "0..255; class values below 256 convert without change: gdal_translate -ot "
                   "Byte IN OUT.tif, or gdal_rasterize -ot Byte where the masks are drawn)");
}

void refuse_output_among_samples(const Dataset& ds, const std::string& out,
                                 const std::string& flag) {
    std::set<std::string> dirs;  // few: the directories of the samples' files
    for (std::size_t i = 0; i < ds.size(); ++i) {
        const SampleRef& s = ds.sample(i);
        dirs.insert(fs::path(s.image_path).parent_path().string());
        if (!s.mask_path.empty()) dirs.insert(fs::path(s.mask_path).parent_path().string());
    }
    const std::string root = resolved_path(ds.root());
    for (const std::string& d : dirs) {
        const std::string dir = resolved_path(d.empty() ? "." : d);
        const bool same = resolved_path(out) == dir;
        // Files that lie in the root itself (tiles unpacked flat, a generic images = "."): a
        // folder beside them is a labels folder of the dataset, as elsewhere; the root itself is
        // refused where it is claimed (it holds files pfce did not write).
        if (same || (dir != root && path_is_inside(out, dir)))
            PFCE_THROW(InputError, flag, " ", out, same ? " is " : " is inside ", d,
                       ", which holds the dataset's images or masks: its masks would lie among "
                       "them; choose a directory outside it");
    }
}

}  // namespace pfce
