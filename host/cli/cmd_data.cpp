// `pfce data synth|stats|preview`: write the synthetic dataset, summarize a dataset or a mask
// directory (count, sizes, per-class pixel fractions, labelled fraction), and write a contact sheet
// (image | colour mask | sparse/linked mask) a person can look at.

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/file_io.hpp"
#include "core/log.hpp"
#include "core/output_dir.hpp"
#include "core/stop_signal.hpp"
#include "core/text.hpp"
#include "data/contact_sheet.hpp"
#include "data/dataset.hpp"
#include "data/ground_pixel_size.hpp"
#include "data/image_io.hpp"
#include "data/mask_dir.hpp"
#include "data/picture_text.hpp"
#include "data/sparse_masks.hpp"
#include "data/synth.hpp"
#include "host/cli/cli_checks.hpp"
#include "host/cli/command_registry.hpp"
#include "host/cli/dataset_flags.hpp"
#include "host/train/progress.hpp"
#include "host/train/train_data.hpp"

namespace fs = std::filesystem;

namespace pfce::cli {
namespace {

// Logs "what: done/total" at most every few seconds; safe to call from several threads.
class Progress {
  public:
    Progress(std::string what, std::size_t total) : what_(std::move(what)), total_(total) {}
    void tick() {
        const std::size_t d = ++done_;
        const auto now = std::chrono::steady_clock::now();
        std::lock_guard<std::mutex> lock(mutex_);
        if (now - last_ >= std::chrono::seconds(3) || d == total_) {
            if (now - start_ >= std::chrono::seconds(3)) log_info(what_, ": ", d, "/", total_);
            last_ = now;
        }
    }

  private:
    std::string what_;
    std::size_t total_;
    std::atomic<std::size_t> done_{0};
    std::mutex mutex_;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now(), last_ = start_;
};

bool is_mask_dir(const std::string& dir) {
    std::error_code ec;
    return fs::exists(fs::path(dir) / "masks.json", ec);
}

// How the images of a mask directory's dataset are read: as its masks.json records they were
// when the masks were made (bands, value range, tile images, patch and stride); a flag typed
// otherwise is refused.
DatasetOptions mask_dir_dataset_options(const MaskDir& md, const std::string& root,
                                        const DatasetFlags& flags) {
    const nlohmann::json* made = image_reading_record(md);
    // Masks imported by a pfce that did not record the reading: read as a fresh opening does.
    if (!made) return flags.options_for(root);
    const DatasetOptions typed = flags.options();
    DatasetOptions o = typed;
    apply_sampled_dataset_options(*made, o);
    // The masks were made from the images read as the record says: a flag typed otherwise would
    // be overruled without a word, so it is refused.
    const auto refuse = [&](const char* flag, const std::string& asked, const std::string& made) {
        PFCE_THROW(InputError, flag, " ", asked, ": the masks in ", md.dir,
                   " were made from images read with ", made,
                   " (their masks.json), and are read that way here; leave ", flag, " out");
    };
    const auto list = [](const auto& v) { return nlohmann::json(v).dump(); };
    if (flags.typed.count("data.bands") && typed.image.bands != o.image.bands)
        refuse("--bands", list(typed.image.bands),
               o.image.bands.empty() ? std::string("their files' own colours (no --bands)")
                                     : "bands " + list(o.image.bands));
    const auto range = [&](const ImageChoice& c) {
        return c.has_value_range() ? list(std::vector<double>{c.range_lo, c.range_hi}) : "[]";
    };
    if (flags.typed.count("data.value_range") && range(typed.image) != range(o.image))
        refuse("--value-range", range(typed.image), "value range " + range(o.image));
    // Tile settings of masks made from a dataset of another kind did nothing: not compared
    // (the dataset opened says they do nothing, DatasetFlags::warn_of_unused).
    const std::string kind_made = md.meta.value("sample", md.meta).value("dataset_kind", "");
    if (!kind_made.empty() && kind_made != "tiles") return o;
    if (flags.typed.count("data.tile_image") && typed.tile_image != o.tile_image)
        refuse("--tile-image", typed.tile_image, "tile images " + o.tile_image);
    if (flags.typed.count("data.tile_labels") && typed.tile_labels != o.tile_labels)
        refuse("--tile-labels", typed.tile_labels, "tile labels " + o.tile_labels);
    if (flags.typed.count("data.tile_patch") && typed.tile_patch != o.tile_patch)
        refuse("--tile-patch", std::to_string(typed.tile_patch),
               "tile windows of " + std::to_string(o.tile_patch) + " pixels");
    if (flags.typed.count("data.tile_stride") && typed.tile_stride != o.tile_stride)
        refuse("--tile-stride", std::to_string(typed.tile_stride),
               "a tile stride of " + std::to_string(o.tile_stride) + " pixels");
    return o;
}

// The dataset a mask directory was made from (masks.json "source"), if it names one. One that no
// longer exists (moved, deleted) is nullopt, said once, where `needed` is false (stats counts the
// masks with the classes masks.json records); an InputError saying how to go on where it is true.
std::optional<Dataset> mask_source(const MaskDir& md, const DatasetFlags& flags, bool needed,
                                   const std::string& remedy) {
    if (!md.meta.contains("source") || !md.meta["source"].is_string()) return std::nullopt;
    const std::string source = md.meta["source"].get<std::string>();
    std::error_code ec;
    if (!std::filesystem::exists(source, ec)) {
        if (needed)
            PFCE_THROW(InputError, md.dir, "/masks.json names its dataset ", source,
                       " (\"source\"), which no longer exists; ", remedy);
        if (md.palette) {
            log_warn(md.dir, "/masks.json names its dataset ", source,
                     " (\"source\"), which no longer exists: counting the masks with the classes "
                     "masks.json records");
            return std::nullopt;
        }
    }
    return open_dataset(source, mask_dir_dataset_options(md, source, flags), flags);
}

// ---- synth ----------------------------------------------------------------------------------

// The flags fill the library's options directly; --force is the command's.
struct SynthFlags {
    SynthOptions o;
    bool force = false;
};

void run_synth(const SynthFlags& f) {
    const SynthOptions& o = f.o;
    // The library's own checks cannot name the flags.
    if (o.count < 1) PFCE_THROW(InputError, "--count ", o.count, ": expected at least 1 image");
    if (o.size < 16 || o.size > 8192)
        PFCE_THROW(InputError, "--size ", o.size, ": expected 16..8192 pixels");
    const auto start = std::chrono::steady_clock::now();
    Progress progress("synth", static_cast<std::size_t>(o.count));
    // --force writes it again even over this very dataset: the way to repair one whose files were
    // replaced (reuse checks that every file is there, not what each holds).
    const SynthReplace replace = f.force ? SynthReplace::always : SynthReplace::never;
    bool reused = false;
    {
        // Ctrl-C / SIGTERM: stop after the images in hand; the dataset stays incomplete.
        const StopSignals stop_signals;
        try {
            reused = prepare_synthetic_dataset(o, replace, [&](int, int) { progress.tick(); });
        } catch (const StopRequested&) {
            std::fflush(stdout);
            std::fprintf(stderr,
                         "pfce: stopped (Ctrl-C / SIGTERM): %s is incomplete (it has no "
                         "%s); run the same command again to write it\n",
                         o.out_dir.c_str(), kSynthCompletionFile);
            throw CLI::RuntimeError(130);
        }
    }
    if (reused) {
        std::printf("%s already holds this synthetic dataset (%d images of %dx%d, seed %llu)\n",
                    o.out_dir.c_str(), o.count, o.size, o.size,
                    static_cast<unsigned long long>(o.seed));
        return;
    }
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("wrote %d synthetic %dx%d images (seed %llu) to %s in %.2f s (%s images/s)\n",
                o.count, o.size, o.size, static_cast<unsigned long long>(o.seed),
                (fs::path(o.out_dir) / "patches").c_str(), s,
                format_rate(o.count / std::max(s, 1e-9)).c_str());
}

// ---- stats ----------------------------------------------------------------------------------

struct Counts {
    std::vector<std::int64_t> per_label = std::vector<std::int64_t>(256, 0);
    std::map<std::pair<int, int>, std::int64_t> sizes;  // (w, h) -> images

    // The pixels of mask m that its sample owns (a tile's windows overlap: each pixel is counted
    // in one, SampleRef::own_x0); a whole-file sample owns them all.
    void add(const LabelMap& m, const SampleRef& sample) {
        ++sizes[{m.width, m.height}];
        if (sample.owns_all()) {
            for (std::uint8_t v : m.labels) ++per_label[v];
            return;
        }
        for (int y = std::max(sample.own_y0, 0); y < std::min(sample.own_y1, m.height); ++y)
            for (int x = std::max(sample.own_x0, 0); x < std::min(sample.own_x1, m.width); ++x)
                ++per_label[m.at(y, x)];
    }
    void merge(const Counts& o) {
        for (int i = 0; i < 256; ++i) per_label[i] += o.per_label[i];
        for (const auto& [k, v] : o.sizes) sizes[k] += v;
    }
};

// Reads mask(i) for i in [0, n) in parallel, with progress, counting the pixels sample(i) owns;
// rethrows the failure of the lowest i, whatever the threads' timing (masks past a failure are
// skipped, those before it still read), so the same bad dataset names the same file every time.
template <typename ReadMask, typename Sample>
Counts count_masks(std::size_t n, const char* what, ReadMask&& read_mask, Sample&& sample) {
    Counts total;
    Progress progress(what, n);
    std::exception_ptr error;
    std::atomic<long long> first_bad{static_cast<long long>(n)};
#pragma omp parallel
    {
        Counts mine;
#pragma omp for schedule(dynamic, 4)
        for (long long i = 0; i < static_cast<long long>(n); ++i) {
            if (i > first_bad.load()) continue;
            try {
                mine.add(read_mask(static_cast<std::size_t>(i)),
                         sample(static_cast<std::size_t>(i)));
                progress.tick();
            } catch (...) {
#pragma omp critical(pfce_stats_error)
                if (i < first_bad.load()) {
                    error = std::current_exception();
                    first_bad = i;
                }
            }
        }
#pragma omp critical(pfce_stats_merge)
        total.merge(mine);
    }
    if (error) std::rethrow_exception(error);
    return total;
}

std::string sizes_text(const Counts& c) {
    std::string s;
    for (const auto& [wh, n] : c.sizes) {
        if (!s.empty()) s += ", ";
        s += std::to_string(wh.first) + "x" + std::to_string(wh.second);
        if (c.sizes.size() > 1) s += " (" + std::to_string(n) + ")";
    }
    return s;
}

void print_class_table(const Counts& c, const Palette& pal, std::int64_t denominator,
                       const char* fraction_of) {
    std::printf("%-24s %14s %10s\n", "class", "pixels", fraction_of);
    for (int k = 0; k < pal.num_classes(); ++k)
        std::printf("%s %14lld %10.4f\n", padded(pal.classes[k].name, 24).c_str(),
                    static_cast<long long>(c.per_label[k]),
                    denominator > 0 ? static_cast<double>(c.per_label[k]) / denominator : 0.0);
}

// How the images are read, from the first one's header: "3 bands of 8 bits, read as RGB", or the
// bands picked and the range scaled.
std::string image_reading_text(const Dataset& ds) {
    const ImageInfo info = probe_image(ds.sample(0).image_path);
    const ImageChoice& choice = ds.options().image;
    std::string text = std::to_string(info.channels) + (info.channels == 1 ? " band" : " bands") +
                       " of " + std::to_string(info.file_bits()) + " bits" +
                       (info.file_bits() != info.bits_per_sample
                            ? " (read as " + std::to_string(info.bits_per_sample) + "-bit values)"
                            : std::string()) +
                       (info.sample_format == 2   ? " (signed)"
                        : info.sample_format == 3 ? " (floating point)"
                                                  : "");
    if (choice.bands.empty()) {
        const bool irrg = ds.kind() == DatasetKind::tiles && ds.options().tile_image == "IRRG";
        text += info.palette         ? " (palette indices), read as the palette's colours"
                : info.channels == 1 ? ", read as gray"
                : irrg               ? ", read as infrared, red, green (the IRRG set)"
                                     : ", read as RGB";
    } else {
        text += ", read as bands ";
        for (std::size_t i = 0; i < choice.bands.size(); ++i)
            text += (i ? "," : "") + std::to_string(choice.bands[i]);
    }
    if (choice.has_value_range()) {
        char range[96];
        std::snprintf(range, sizeof range, ", values %g..%g scaled to 0..255", choice.range_lo,
                      choice.range_hi);
        text += range;
    }
    return text + " (the first image's header)";
}

// The counts as JSON, for a script or a paper's table: the sizes, every class's pixels and share of
// `denominator` (all pixels for a dataset, labelled ones for masks), the unlabelled pixels.
nlohmann::json stats_json(const Counts& c, const Palette& pal, std::int64_t denominator,
                          std::int64_t all) {
    nlohmann::json sizes = nlohmann::json::object();
    for (const auto& [wh, n] : c.sizes)
        sizes[std::to_string(wh.first) + "x" + std::to_string(wh.second)] = n;
    nlohmann::json classes = nlohmann::json::array();
    for (int k = 0; k < pal.num_classes(); ++k)
        classes.push_back(
            {{"name", pal.classes[static_cast<std::size_t>(k)].name},
             {"pixels", c.per_label[k]},
             {"fraction",
              denominator > 0 ? static_cast<double>(c.per_label[k]) / denominator : 0.0}});
    return {{"sizes", sizes},
            {"pixels", all},
            {"unlabelled_pixels", c.per_label[255]},
            {"classes", classes}};
}

// Where the images lie: how many are georeferenced (GeoTIFF tags, a world file or .aux.xml, as GDAL
// reads them), their pixels' ground size and CRSs (a researcher wanted the CRS and pixel size of a
// dataset before training on it: walkthrough).
struct ImagesPlace {
    std::size_t images = 0, georeferenced = 0;
    double smallest = 0, largest = 0;  // the larger axis of each pixel, in map units
    std::vector<int> epsg;             // the CRSs named (0: one not named)
    std::string text() const {
        if (georeferenced == 0)
            return "no image is georeferenced (GeoTIFF tags, a world file or .aux.xml): "
                   "predictions carry no place on a map";
        const bool metres = std::all_of(epsg.begin(), epsg.end(), epsg_in_metres);
        std::string crs;
        for (const int e : epsg)
            crs += (crs.empty() ? "" : ", ") +
                   (e > 0 ? "EPSG:" + std::to_string(e) : std::string("a CRS without a code"));
        const std::string unit = metres ? " m" : " map units";
        return detail::concat(georeferenced == images
                                  ? "every image"
                                  : detail::concat(georeferenced, " of the ", images, " images"),
                              " georeferenced, pixels of ", format_significant(smallest, 4),
                              smallest == largest ? "" : " to " + format_significant(largest, 4),
                              unit, " (", crs, ")");
    }
};

ImagesPlace images_place(const Dataset& ds) {
    std::set<std::string> paths;
    for (std::size_t i = 0; i < ds.size(); ++i) paths.insert(ds.sample(i).image_path);
    ImagesPlace p;
    p.images = paths.size();
    std::set<int> codes;
    for (const std::string& path : paths) {
        const std::optional<GroundPixelSize> px = ground_pixel_size(path);
        if (!px) continue;
        const double side = std::max(px->x, px->y);
        p.smallest = p.georeferenced == 0 ? side : std::min(p.smallest, side);
        p.largest = std::max(p.largest, side);
        ++p.georeferenced;
        codes.insert(px->epsg);
    }
    p.epsg.assign(codes.begin(), codes.end());
    return p;
}

void run_stats(const std::string& dir, const DatasetFlags& flags, bool json) {
    if (is_mask_dir(dir)) {
        const MaskDir md = open_mask_dir(dir);
        warn_if_mask_files_changed(md);  // as link and preview say: the command to check data
        const std::optional<Dataset> src = mask_source(md, flags, false, "");
        if (src) check_dense_labels_unchanged(md, *src);
        const Palette& pal = src ? src->palette() : md.palette ? *md.palette : potsdam_palette();
        const Counts c = count_masks(
            md.ids.size(), "stats",
            [&](std::size_t i) { return read_mask_png(md, md.ids[i], pal); },
            // Masks are counted whole, as the files they are: a point in the overlap of two
            // windows is a label of each.
            [](std::size_t) { return SampleRef{}; });
        std::int64_t all = 0;
        for (int v = 0; v < 256; ++v) all += c.per_label[v];
        const std::int64_t labelled = all - c.per_label[255];
        const std::string kind = md.meta.value("kind", std::string("masks"));
        if (json) {
            nlohmann::json j = stats_json(c, pal, labelled, all);
            j["masks"] = dir;
            j["kind"] = kind;
            j["count"] = md.ids.size();
            j["source"] = src ? nlohmann::json(src->root()) : nlohmann::json();
            j["labelled_pixels"] = labelled;
            j["fraction_of"] = "labelled pixels";
            std::printf("%s\n", j.dump(2).c_str());
            return;
        }
        std::printf("masks:     %s (%s, %zu masks%s%s)\n", dir.c_str(), kind.c_str(), md.ids.size(),
                    src ? ", from " : "", src ? src->root().c_str() : "");
        std::printf("size:      %s\n", sizes_text(c).c_str());
        std::printf("labelled:  %.6f of all pixels (%lld of %lld)\n",
                    all > 0 ? static_cast<double>(labelled) / all : 0.0,
                    static_cast<long long>(labelled), static_cast<long long>(all));
        print_class_table(c, pal, labelled, "of labelled");
        return;
    }
    const Dataset ds = open_dataset(dir, flags.options_for(dir), flags);
    // Every image and mask is decoded, in parallel: a file truncated after its header fails here,
    // naming it, not in the middle of a training run. Gray ones are counted (a mix is said).
    std::atomic<std::size_t> gray{0};
    // Pixels without data (transparent, or a GeoTIFF's NoData value: an orthophoto's border):
    // training and evaluation leave them out, as predict does, whatever the masks say there.
    // Counted, with the labels the masks give them (which no run uses).
    std::mutex no_data_mutex;
    std::int64_t no_data_pixels = 0;
    std::size_t no_data_images = 0;
    // Images without a pixel with data (all NaN, all transparent): they train and score nothing.
    std::size_t empty_images = 0, first_empty = ds.size();
    std::vector<std::int64_t> no_data_labelled(256, 0);
    const Counts c = count_masks(
        ds.size(), "stats",
        [&](std::size_t i) {
            std::vector<std::uint8_t> nodata;
            const RgbImage image = ds.read_image_and_no_data(i, nodata);
            const bool empty = !nodata.empty() && std::find(nodata.begin(), nodata.end(),
                                                            std::uint8_t{0}) == nodata.end();
            if (image_gray(image) && !empty) ++gray;  // its stored colours mean nothing
            LabelMap mask = ds.read_mask(i);
            if (image.width != mask.width || image.height != mask.height)
                PFCE_THROW(InputError, ds.sample(i).image_path, " decodes to ", image.width, "x",
                           image.height, " but its mask to ", mask.width, "x", mask.height);
            const SampleRef& s = ds.sample(i);
            if (s.owns_all() && nodata.size() == mask.labels.size()) {
                std::int64_t n = 0;
                std::vector<std::int64_t> labelled(256, 0);
                for (std::size_t p = 0; p < nodata.size(); ++p)
                    if (nodata[p]) ++n, ++labelled[mask.labels[p]];
                const std::lock_guard<std::mutex> lock(no_data_mutex);
                no_data_pixels += n;
                no_data_images += n > 0;
                if (empty) {
                    ++empty_images;
                    first_empty = std::min(first_empty, i);
                }
                for (int v = 0; v < 255; ++v) no_data_labelled[v] += labelled[v];
            }
            return mask;
        },
        [&](std::size_t i) { return ds.sample(i); });
    if (no_data_pixels > 0) {
        std::int64_t labelled = 0;
        std::string classes;
        for (int k = 0; k < ds.palette().num_classes(); ++k) {
            if (no_data_labelled[k] == 0) continue;
            labelled += no_data_labelled[k];
            classes += (classes.empty() ? "" : ", ") + ds.palette().classes[k].name + " " +
                       std::to_string(no_data_labelled[k]);
        }
        log_info(no_data_pixels, " image pixels in ", no_data_images,
                 no_data_images == 1 ? " image have" : " images have",
                 " no data (transparent, a GeoTIFF NoData value, or NaN), ",
                 labelled > 0
                     ? detail::concat("and the masks label ", labelled, " of them (", classes, ")")
                     : std::string("none labelled in the masks"),
                 ": training and evaluation leave them out (unlabelled), as predict leaves them "
                 "without a class");
        if (empty_images > 0)
            log_warn(empty_images, " of the ", ds.size(),
                     empty_images == 1 ? " images has" : " images have",
                     " no pixel with data at all (first ", ds.sample(first_empty).id,
                     "): they train and score nothing (an image outside the scene, or a NoData "
                     "value or range that marks every pixel?)");
    }
    std::int64_t all = 0;
    for (int v = 0; v < 256; ++v) all += c.per_label[v];
    const ImagesPlace place = images_place(ds);
    if (json) {
        nlohmann::json j = stats_json(c, ds.palette(), all, all);
        j["dataset"] = dir;
        j["kind"] = kDatasetKinds.name(ds.kind());
        j["count"] = ds.size();
        j["images"] = image_reading_text(ds);
        j["gray_images"] = gray.load();
        j["no_data_pixels"] = no_data_pixels;     // left out of training and evaluation
        j["images_without_data"] = empty_images;  // no pixel with data at all
        j["georeferenced_images"] = place.georeferenced;
        j["ground_pixel_size"] = place.georeferenced > 0 ? nlohmann::json{{"min", place.smallest},
                                                                          {"max", place.largest},
                                                                          {"epsg", place.epsg}}
                                                         : nlohmann::json();
        j["fraction_of"] = "all pixels";
        std::printf("%s\n", j.dump(2).c_str());
        return;
    }
    std::printf("dataset:   %s (%s, %zu images)\n", dir.c_str(), kDatasetKinds.name(ds.kind()),
                ds.size());
    std::printf("size:      %s\n", sizes_text(c).c_str());
    std::printf("images:    %s\n", image_reading_text(ds).c_str());
    // The header is the first image's: a set of gray and colour images is said as one (training
    // warns of it; a model of the one kind predicts the other poorly).
    if (const std::size_t g = gray.load(); g > 0 && g < ds.size())
        std::printf("           %zu of the %zu images are gray (%s), the others colour\n", g,
                    ds.size(),
                    ds.options().image.bands.size() > 3 ? "every band picked equal"
                                                        : "equal red, green and blue");
    // Images without a mask (images_without_mask = "unlabelled") have none to decode: not
    // counted as pairs (a dataset of no masks read "every image and mask decoded").
    std::size_t unmasked = 0;
    for (std::size_t i = 0; i < ds.size(); ++i) unmasked += ds.sample(i).mask_path.empty() ? 1 : 0;
    if (unmasked == 0)
        std::printf("checked:   every image and mask decoded (%zu pairs)\n", ds.size());
    else if (unmasked == ds.size())
        std::printf(
            "checked:   every image decoded (%zu), no masks (images_without_mask = "
            "\"unlabelled\": they label nothing)\n",
            ds.size());
    else
        std::printf(
            "checked:   every image and mask decoded (%zu pairs, and %zu images without a "
            "mask, which label nothing)\n",
            ds.size() - unmasked, unmasked);
    if (ds.kind() == DatasetKind::tiles)
        std::printf("pixels:    each tile pixel once (windows that overlap share them out)\n");
    std::printf("place:     %s\n", place.text().c_str());
    print_class_table(c, ds.palette(), all, "fraction");
    std::printf("%-24s %14lld %10.4f\n", "unlabelled", static_cast<long long>(c.per_label[255]),
                all > 0 ? static_cast<double>(c.per_label[255]) / all : 0.0);
    // Over the whole dataset (the log names the first mask only): how much the tolerance decided.
    if (const ToleranceTally t = tolerance_tally(); t.masks > 0)
        std::printf(
            "tolerance: %lld pixels (%.4f%%) in %lld of the %zu masks read as their nearest "
            "known colour (mask.colour_tolerance = %d)\n",
            static_cast<long long>(t.pixels),
            all > 0 ? 100.0 * static_cast<double>(t.pixels) / all : 0.0,
            static_cast<long long>(t.masks), ds.size(), ds.palette().colour_tolerance);
}

// ---- preview --------------------------------------------------------------------------------

struct PreviewFlags {
    std::string out;
    int count = 8;
    std::vector<std::string> masks;  // a column each: sparse and linked side by side
    bool masks_given = false;        // --masks typed, with or without a directory after it
    int panel = 300;
    bool force = false;
};

void run_preview(const std::string& dir, const PreviewFlags& f, const DatasetFlags& flags) {
    // Typed without a value, CLI11 records one empty value.
    if (f.masks_given &&
        std::all_of(f.masks.begin(), f.masks.end(), [](const std::string& m) { return m.empty(); }))
        PFCE_THROW(InputError,
                   "--masks: expected one or more mask directories after it (the --out of pfce "
                   "sample or pfce link)");
    if (f.count < 1) PFCE_THROW(InputError, "--count ", f.count, " must be at least 1");
    if (f.panel < 16 || f.panel > 4096)
        PFCE_THROW(InputError, "--panel ", f.panel, " must be in 16..4096");
    // The sheet is a PNG: a name that says otherwise would hold bytes of another format.
    if (!lower_ext_is(f.out, {".png"}))
        PFCE_THROW(InputError, "--out ", f.out, ": expected a .png file (the sheet is a PNG)");
    std::optional<Dataset> ds;
    // A column each, in the order given: a mask directory as DIR first, then each --masks (the
    // sparse masks beside those linked from them: one column could show only one).
    std::vector<MaskDir> mds;
    for (const std::string& m : f.masks) {
        require_input("--masks", m, true, "the --out of pfce sample or pfce link");
        std::error_code ec;
        for (const MaskDir& earlier : mds)
            if (fs::equivalent(earlier.dir, m, ec))
                PFCE_THROW(InputError, "--masks ", m,
                           earlier.dir == m ? std::string(" is given twice")
                                            : " is " + earlier.dir + " again (the same directory)",
                           " (expected each mask directory once)");
        mds.push_back(open_mask_dir(m));
    }
    if (is_mask_dir(dir)) {  // a mask directory previews against the dataset it came from
        std::error_code ec;
        for (const MaskDir& m : mds)
            if (fs::equivalent(m.dir, dir, ec))
                PFCE_THROW(InputError, dir, " is a mask directory already; --masks ", m.dir,
                           " is not needed (another mask directory there adds a column)");
        mds.insert(mds.begin(), open_mask_dir(dir));
        ds = mask_source(mds.front(), flags, true,
                         "preview the dataset at its new place beside them: pfce data preview "
                         "NEW_PLACE --masks " +
                             dir);
        if (!ds)
            PFCE_THROW(InputError, dir,
                       "/masks.json does not name its source dataset; preview the dataset "
                       "with --masks ",
                       dir, " instead");
    } else if (!mds.empty()) {  // the dataset's images read as the masks were made from
        ds = open_dataset(dir, mask_dir_dataset_options(mds.front(), dir, flags), flags);
    } else {
        ds = open_dataset(dir, flags.options_for(dir), flags);
    }
    // The sheet shows the masks beside the dataset's images: they must be of that dataset (--masks
    // of another one is refused before any advice to resample it), and it says when they were
    // sampled from other labels than the dataset's now.
    for (const MaskDir& m : mds) check_masks_belong_to(m, *ds);
    // One column of images for all: masks made from the images read otherwise (other bands or
    // range) are shown over the first's reading, which is said (it went unsaid).
    const auto reading = [](const ImageChoice& c) {
        return "bands " +
               (c.bands.empty() ? std::string("[] (the files' colours)")
                                : nlohmann::json(c.bands).dump()) +
               (c.has_value_range()
                    ? ", values " + format_shortest(c.range_lo) + ".." + format_shortest(c.range_hi)
                    : std::string());
    };
    for (std::size_t k = 1; k < mds.size(); ++k) {
        ImageChoice other;
        try {
            other = mask_dir_dataset_options(mds[k], ds->root(), flags).image;
        } catch (const InputError&) {  // a flag typed otherwise than its record: not shown so
            continue;
        }
        if (reading(other) != reading(ds->options().image))
            log_warn("the masks in ", mds[k].dir, " were made from the images read with ",
                     reading(other), "; the sheet shows the images as ", mds.front().dir,
                     "'s were read (", reading(ds->options().image), ")");
    }
    refuse_output_among_data("--out " + f.out, f.out, "the sheet");
    check_output_file(f.out, f.force, FileIdentities{});
    std::vector<std::string> read_dirs = {ds->root()};
    for (const MaskDir& m : mds) read_dirs.push_back(m.dir);
    for (const std::string& d : read_dirs)
        if (!d.empty() && path_is_inside(f.out, d))
            PFCE_THROW(InputError, "--out ", f.out, " lies inside ", d,
                       ", which preview reads; write the sheet elsewhere");
    // The sheet's directory, made as predict makes its outputs': before any image is read.
    MadeDirectories made;
    make_parent_directory("--out", f.out, made);
    const std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(f.count), ds->size());
    SheetOptions opt;
    opt.panel = f.panel;
    // A PNG of more than 1,000,000 rows is past libpng's limit (and past what viewers open): such
    // a sheet failed after every image was read ("Invalid IHDR data" after 37 s and 5.4 GB at
    // --count 3300 of 300-pixel panels: scale probe). Refused first, with the count that fits
    // (the titles and the legend take up to kSheetMarginRows rows).
    constexpr std::int64_t kPngMaxRows = 1000000, kSheetMarginRows = 10000;
    const std::int64_t row_height = opt.panel + opt.gap;
    const std::int64_t fits = (kPngMaxRows - kSheetMarginRows - opt.gap) / row_height;
    if (static_cast<std::int64_t>(n) > fits)
        PFCE_THROW(InputError, "--count ", f.count, ": a sheet of ", n, " rows of ", opt.panel,
                   "-pixel panels would be up to ",
                   static_cast<std::int64_t>(n) * row_height + opt.gap + kSheetMarginRows,
                   " pixels high with its titles and legend, past the 1,000,000 rows a PNG may "
                   "have; expected at most ",
                   fits, " rows at --panel ", opt.panel, " (a smaller --panel fits more)");
    // Ctrl-C / SIGTERM: stop between images, or once the sheet is written but before it is put
    // in place, leaving --out as it was and no temporary (preview had no handler: killed by the
    // signal, it left a half-written temporary beside the sheet; interruption probe).
    const StopSignals stop_signals;
    const auto stop_if_asked = [&] {
        if (!stop_requested()) return;
        std::fflush(stdout);
        std::fprintf(stderr,
                     "pfce: stopped (Ctrl-C / SIGTERM): no sheet written (%s is as it was); run "
                     "the same command again to write it\n",
                     f.out.c_str());
        throw CLI::RuntimeError(130);
    };
    std::vector<std::vector<RgbImage>> rows(n);
    Progress progress("preview", n);
    for (std::size_t r = 0; r < n; ++r) {
        stop_if_asked();
        const std::size_t i = r * ds->size() / n;  // spread over the whole set
        // Pixels without data shown unlabelled in the mask, as training and evaluation read it.
        std::vector<std::uint8_t> nodata;
        const RgbImage image = ds->read_image_and_no_data(i, nodata);
        rows[r].push_back(colour_channels(image));  // of more bands, the first three
        opt.captions.push_back(ds->sample(i).id);
        LabelMap dense = ds->read_mask(i);
        ds->say_no_data_unlabelled(i, ds->unlabel_no_data(nodata, {&dense}));
        rows[r].push_back(ds->palette().encode(dense, ds->palette().display_unlabelled()));
        for (const MaskDir& md : mds) {
            const LabelMap sparse = read_mask_png(md, ds->sample(i).id, ds->palette());
            // Drawn over an image of another size, the points would land on other pixels.
            check_mask_fits(md, ds->sample(i).id, sparse, "image", ds->sample(i).image_path,
                            image.width, image.height, ds->kind() == DatasetKind::tiles);
            int w = 0, h = 0;
            panel_size(sparse.width, sparse.height, opt.panel, w, h);
            rows[r].push_back(render_sparse(sparse, ds->palette(), w, h, 1));
        }
        progress.tick();
    }
    // Titled and with the classes' legend: an index-mask dataset's colours are pfce's choice.
    // Bands other than the first three are a false-colour view: said (IR-R-G reads as RGB).
    std::string image_title = "image";
    if (const std::vector<int>& bands = ds->options().image.bands; !bands.empty()) {
        image_title += " (bands ";
        for (std::size_t b = 0; b < std::min<std::size_t>(bands.size(), 3); ++b)
            (image_title += b ? "," : "") += std::to_string(bands[b]);
        if (bands.size() > 3) {  // the model sees them all; a picture shows three
            image_title += " of ";
            for (std::size_t b = 0; b < bands.size(); ++b)
                (image_title += b ? "," : "") += std::to_string(bands[b]);
        }
        image_title += ")";
    }
    std::vector<std::string> titles = {image_title, "mask"};
    for (const MaskDir& md : mds) {
        std::string title = md.meta.value("kind", std::string("sparse")) == "linked"
                                ? "linked mask"
                                : "sparse mask";
        // Two of a kind (two radii, two point counts): told apart by their directory's name.
        for (const MaskDir& other : mds)
            if (&other != &md && other.meta.value("kind", std::string("sparse")) ==
                                     md.meta.value("kind", std::string("sparse"))) {
                fs::path name = fs::path(md.dir).lexically_normal();
                if (name.filename().empty()) name = name.parent_path();  // "dir/"
                title += " (" + name.filename().string() + ")";
                break;
            }
        titles.push_back(title);
    }
    std::vector<int> lefts, widths;  // each column's cell (its panels, of any aspect, inside)
    for (std::size_t c = 0; c < titles.size(); ++c) {
        lefts.push_back(opt.gap + static_cast<int>(c) * (opt.panel + opt.gap));
        widths.push_back(opt.panel);
    }
    const Rgb background{kSheetBackground, kSheetBackground, kSheetBackground};
    const RgbImage sheet = titled_picture(make_contact_sheet(rows, opt), titles, lefts, widths,
                                          class_legend(ds->palette()), background);
    remove_stale_temps_of(f.out);  // a killed preview's, as every writer removes them
    // Without --force, a sheet another command wrote there meanwhile is refused, not replaced
    // (two previews to one --out both said they wrote it).
    stop_if_asked();
    StagedFiles staged;
    write_png(staged.stage(f.out), sheet);
    stop_if_asked();  // the staged sheet is removed with `staged`
    staged.commit(f.force);
    made.kept();
    std::string columns;
    for (const std::string& t : titles) columns += (columns.empty() ? "" : " | ") + t;
    std::printf("wrote %s (%dx%d): %zu row%s of %s, and the classes' legend\n", f.out.c_str(),
                sheet.width, sheet.height, n, n == 1 ? "" : "s", columns.c_str());
}

void setup_data(CLI::App& sub) {
    sub.require_subcommand(1);

    auto synth = std::make_shared<SynthFlags>();
    CLI::App* s =
        sub.add_subcommand("synth", "write the synthetic Potsdam-like dataset (Kaggle layout)");
    s->add_option("--out", synth->o.out_dir,
                  "output directory (receives patches/Images and patches/Labels)")
        ->required();
    s->add_option("--count", synth->o.count, "number of images")->capture_default_str();
    s->add_option("--size", synth->o.size, "image side in pixels")->capture_default_str();
    s->add_option("--seed", synth->o.seed, "random seed")
        ->check(non_negative_integer())
        ->capture_default_str();
    s->add_flag("--force", synth->force,
                "write the dataset again over another synthetic dataset, or this one (damaged), in "
                "--out (never over a directory of other files)");
    s->callback([synth] { run_synth(*synth); });

    auto stats_dir = std::make_shared<std::string>();
    auto stats_flags = std::make_shared<DatasetFlags>();
    CLI::App* st =
        sub.add_subcommand("stats",
                           "image count, sizes and per-class pixel fractions of a dataset "
                           "or a mask directory (with its labelled fraction)");
    st->add_option("DIR", *stats_dir, "dataset root or mask directory (has masks.json)")
        ->required();
    add_dataset_flags(*st, *stats_flags);
    auto stats_json_flag = std::make_shared<bool>(false);
    st->add_flag("--json", *stats_json_flag,
                 "print the counts as JSON (sizes, each class's pixels and fraction)");
    st->callback([stats_dir, stats_flags, stats_json_flag] {
        run_stats(*stats_dir, *stats_flags, *stats_json_flag);
    });

    auto prev_dir = std::make_shared<std::string>();
    auto prev = std::make_shared<PreviewFlags>();
    auto prev_flags = std::make_shared<DatasetFlags>();
    CLI::App* p = sub.add_subcommand(
        "preview", "contact sheet PNG: image | colour mask (| each mask directory's)");
    p->add_option("DIR", *prev_dir,
                  "dataset root, or a mask directory (previewed with its source dataset)")
        ->required();
    p->add_option("--out", prev->out, "PNG to write")->required();
    p->add_option("--count", prev->count, "rows (samples spread over the dataset)")
        ->capture_default_str();
    // At least one directory is checked by run_preview, not by CLI11: asked for one, CLI11 took
    // the next argument whatever it was, so "--masks --out s.png" read --out as a directory and
    // said "--out is required".
    CLI::Option* masks =
        p->add_option("--masks", prev->masks,
                      "mask directories (of pfce sample or link) shown in a column each, in the "
                      "order given: --masks SPARSE LINKED shows points and their links side by "
                      "side")
            ->expected(0, -1);
    p->add_option("--panel", prev->panel, "panel size in pixels")->capture_default_str();
    p->add_flag("--force", prev->force, "replace an existing --out file");
    add_dataset_flags(*p, *prev_flags);
    p->callback([prev_dir, prev, prev_flags, masks] {
        prev->masks_given = masks->count() > 0;
        run_preview(*prev_dir, *prev, *prev_flags);
    });
}

const bool registered = register_command(
    "data", "datasets: synth (write the synthetic set), stats, preview", setup_data);

}  // namespace
}  // namespace pfce::cli
