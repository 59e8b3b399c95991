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
#include <algorithm>
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
#include "data/ground_pixel_size.hpp"
#include "data/image_io.hpp"
#include "data/polygonize.hpp"
#include "data/polygons_geojson.hpp"
#include "data/qgis_style.hpp"
#include "data/resample.hpp"
#include "data/sidecar_no_data.hpp"
#include "host/backend/backend_factory.hpp"
#include "host/cli/cli_checks.hpp"
#include "host/cli/command_registry.hpp"
#include "host/cli/predict_jobs.hpp"
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
using namespace predict;  // PredictArgs, Job, plan_jobs

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

// A TIFF mask's place for the summary line: its tags', or where the input's .aux.xml, carried
// beside the mask, puts both for GDAL, which reads it before the tags (the tags' origin alone
// misled a probe).
std::string place_said(const std::string& input, const GeoReference& tags) {
    try {
        const std::optional<PlacedTransform> placed = geotransform_as_gdal_reads(input, tags);
        if (placed && placed->source != kPlacedByTags)
            return describe(placed->transform) + " by " + placed->source +
                   ", which GDAL reads before the GeoTIFF tags (" + tags.describe() + ")";
    } catch (const InputError&) {  // a sidecar that does not read: as its tags describe it
    }
    return tags.describe();
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

// Every input is read (its header) and sized before the first output is written, so a bad file
// in a directory stops the command before it has written half of the predictions; every refused
// input is named at once.
void check_inputs_before_writing(const std::vector<Job>& jobs, const PredictArgs& a,
                                 const TrainedModel& m, const SlidingWindow& sw,
                                 std::int64_t max_pixels) {
    TooSmallImages small(m.net->config().depth);  // said all at once, after the loop
    ZoomThatFits fits(m.net->config().depth, a.zoom);
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
            // Wide samples (16-bit, float) are decoded, every band of the file, beside the 8-bit
            // ones they become: 24 bytes a pixel more for 3 bands of float64.
            const double decoded =
                info.needs_value_range()
                    ? (info.channels + (info.alpha ? 1.0 : 0.0)) * (info.bits_per_sample / 8 + 1)
                    : 0.0;
            const double held = (6.0 - (a.no_overlay ? 3.0 : 0.0) + m.stats.channels +
                                 (a.probabilities ? 2.0 * m.net->config().num_classes : 0.0) +
                                 (a.polygons ? 8.0 : 0.0) + decoded) *
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
            // Decoding's own guard, for many bands or wide samples (read_tiff's): said here,
            // before any output, not when its turn comes.
            check_decoded_size(
                j.input,
                "its " + std::to_string(info.width) + "x" + std::to_string(info.height) + " pixels",
                info.width, info.height, info.channels + (info.alpha ? 1 : 0), info.bits_per_sample,
                max_pixels);
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
            // A type no model reads (complex numbers), by name, before what the model reads.
            check_sample_type(j.input, info.bits_per_sample, info.sample_format);
            const std::string kind = sample_kind(info.bits_per_sample, info.sample_format);
            if (info.needs_value_range() && !choice.has_value_range())
                PFCE_THROW(InputError, j.input, ": ", kind, " samples, but ", a.checkpoint,
                           " was trained on 8-bit images (its data.value_range is empty; expected "
                           "8-bit images, as it was trained on)");
            if (!info.needs_value_range() && choice.has_value_range())
                PFCE_THROW(InputError, j.input, ": ", kind, " samples, but ", a.checkpoint,
                           " reads wider samples (16-bit, signed or floating-point), values ",
                           format_shortest(choice.range_lo), "..", format_shortest(choice.range_hi),
                           " scaled to 0..255 (its data.value_range; expected such samples, as it "
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
}

// How predictions are written: each class's pixel value and colour, the value and look of pixels
// without data, and the QGIS style (--qml).
struct MaskEncoding {
    std::vector<std::uint8_t> value_of;  // class c is written as value_of[c]
    std::uint8_t no_data_value = kNoData;
    std::vector<std::uint8_t> no_data_alpha;  // a PNG's alpha of each value: 0 for no data's
    std::vector<Rgb> colours;                 // the palette, a colour a value
    std::string style;                        // --qml's, else empty
};

MaskEncoding mask_encoding(const PredictArgs& a, const TrainedModel& m) {
    MaskEncoding e;
    // Class c is written as pixel value e.value_of[c], shown in its colour.
    e.value_of.resize(m.class_colours.size());
    for (std::size_t c = 0; c < e.value_of.size(); ++c)
        e.value_of[c] = static_cast<std::uint8_t>(m.mask_values.empty() ? c : m.mask_values[c]);
    // The value no-data pixels get: --nodata-value, else 255 (pfce's unlabelled), else (a class
    // has 255) the lowest value no class has.
    e.no_data_value = static_cast<std::uint8_t>(a.nodata_value_given ? a.nodata_value : kNoData);
    // The class (if any) whose value is the one no-data pixels get.
    int class_of_no_data = -1;
    for (std::size_t c = 0; c < e.value_of.size(); ++c)
        if (e.value_of[c] == e.no_data_value) class_of_no_data = static_cast<int>(c);
    // The lowest value no class has (at most 32 classes: there is one).
    int free_value = 0;
    while (std::find(e.value_of.begin(), e.value_of.end(), free_value) != e.value_of.end())
        ++free_value;
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
        e.no_data_value = static_cast<std::uint8_t>(free_value);
    }
    // Transparent in a PNG (no class has the value), and shown, where a viewer (or a TIFF, which
    // has no transparency) ignores that, in the training dataset's ignore colour, else a colour no
    // class has: a colour mask read back by its colours is unlabelled there, never a black class
    // (as pfce's own masks do).
    e.no_data_alpha.assign(256, 255);
    e.no_data_alpha[e.no_data_value] = 0;
    Palette shown;
    for (std::size_t c = 0; c < m.class_colours.size(); ++c)
        shown.classes.push_back({m.class_names[c], m.class_colours[c]});
    shown.unlabelled_colours = m.unlabelled_colours;
    // Values no class has, but no-data's, in a colour no class has either (they were black: a
    // stray value in a mask re-saved without its palette's meaning read as a black class).
    e.colours = shown.file_colours(e.value_of, shown.display_unlabelled(), e.no_data_value);
    // --qml: one style for every mask, each class by its value, name and colour.
    if (a.qml) {
        std::vector<StyledClass> classes;
        for (std::size_t c = 0; c < e.value_of.size(); ++c)
            classes.push_back({e.value_of[c], m.class_names[c], m.class_colours[c]});
        e.style = qgis_paletted_style(classes, int{e.no_data_value}, "checkpoint " + a.checkpoint);
    }
    return e;
}

// --polygon-classes: the mask values whose regions --polygons writes (all, without the option),
// each class named as the checkpoint names it (any case); an unknown name is an InputError naming
// them.
std::vector<bool> polygon_values_kept(const PredictArgs& a, const TrainedModel& m,
                                      const std::vector<std::uint8_t>& value_of) {
    std::vector<bool> kept(256, a.polygon_classes.empty());
    std::string rest = a.polygon_classes;
    while (!a.polygon_classes.empty()) {
        const std::size_t comma = rest.find(',');
        const std::string name = trimmed(rest.substr(0, comma));
        std::size_t c = 0;
        while (c < m.class_names.size() && ascii_lower(m.class_names[c]) != ascii_lower(name)) ++c;
        if (c == m.class_names.size())
            PFCE_THROW(InputError, "--polygon-classes ", a.polygon_classes, ": \"", name,
                       "\" is no class of ", a.checkpoint,
                       " (expected names of its classes: ", some_names(m.class_names), ")");
        kept[value_of[c]] = true;
        if (comma == std::string::npos) break;
        rest = rest.substr(comma + 1);
    }
    return kept;
}

// Inputs unlike the training images, each kind said for the first such input and counted for the
// rest: gray for a colour model (or the reverse), a channel that never varied in training, pixels
// of another ground size.
class InputsUnlikeTraining {
  public:
    InputsUnlikeTraining(const PredictArgs& a, const TrainedModel& m)
        : checkpoint_(a.checkpoint), zoom_(a.zoom), bands_(m.config.data.bands) {
        const nlohmann::json data = m.meta.value("data", nlohmann::json::object());
        trained_ = trained_image_kinds(data);
        trained_constant_ = data.value("constant_channels", nlohmann::json());
        trained_pixel_size_ = data.value("ground_pixel_size", nlohmann::json());
    }

    // `stored`: the input as read; `nodata`: its pixels without data (null: none).
    void check(const Job& j, const RgbImage& stored, const std::vector<std::uint8_t>* nodata) {
        const auto nc = static_cast<std::size_t>(stored.channels);
        if (trained_.known) {
            // Judged on the pixels with a value: an image that is all no data (a transparent
            // PNG) is neither gray nor colour.
            bool gray = true, any_value = false;
            for (std::size_t i = 0; gray && i + nc <= stored.pixels.size(); i += nc) {
                if (nodata && (*nodata)[i / nc]) continue;
                any_value = true;
                for (std::size_t k = 1; k < nc; ++k)
                    gray &= stored.pixels[i] == stored.pixels[i + k];
            }
            if (any_value && trained_.unlike(gray) && unlike_++ == 0)
                log_warn(j.input, gray ? " is gray" : " is in colour", " but ", checkpoint_,
                         " was trained on ", gray ? "colour" : "gray",
                         " images: its predictions of such inputs may mean little");
        }
        if (const std::string differs =
                differs_where_training_was_constant(stored, nodata, trained_constant_, bands_);
            !differs.empty() && unlike_constant_++ == 0)
            log_warn(j.input, ": ", differs, " in every training image of ", checkpoint_,
                     ": the model learnt nothing from that channel, so its predictions of such "
                     "inputs may mean little",
                     bands_.empty() ? "" : " (read with the run's data.bands)");
        if (trained_pixel_size_.is_object())
            if (const std::optional<GroundPixelSize> px = ground_pixel_size(j.input, &j.tags))
                if (const auto off = scale_mismatch(*px, zoom_, trained_pixel_size_, checkpoint_);
                    off && other_scale_++ == 0)
                    log_warn(j.input, " has ", off->sizes,
                             zoom_ == 1.0
                                 ? ""
                                 : detail::concat(" (--zoom ", format_shortest(zoom_), " given)"),
                             ": the model sees its ground at another scale than it learnt; ",
                             off->remedy("--zoom"));
    }

    // The counts past the first of each kind, once every input is predicted.
    void say_counts(std::size_t images) const {
        if (other_scale_ > 1)
            log_warn(other_scale_, " of ", images,
                     " images have pixels of another ground size than the training images'");
        if (unlike_constant_ > 1)
            log_warn(
                unlike_constant_, " of ", images,
                " images differ from the training images in a channel that never varied there");
        if (unlike_ > 1)
            log_warn(unlike_, " of ", images, " images are ", trained_.gray ? "in colour" : "gray",
                     " but ", checkpoint_, " was trained on ", trained_.gray ? "gray" : "colour",
                     " images");
    }

  private:
    std::string checkpoint_;
    double zoom_;
    std::vector<int> bands_;
    // Gray images for a model trained on colour ones (or the reverse) predict without an error
    // but from inputs unlike its training: said for the first, counted for the rest.
    TrainedImageKinds trained_;
    std::size_t unlike_ = 0;
    // A channel that held one value in every training image (an empty band) taught the model
    // nothing: an input where it holds another value is predicted from what it never saw.
    nlohmann::json trained_constant_;
    std::size_t unlike_constant_ = 0;
    // An input whose pixels are of another ground size than the training images' (a checkpoint
    // records theirs where they have one): the model sees its ground features at another scale
    // than it learnt (cars half as long), which --zoom corrects. Said for the first, counted.
    nlohmann::json trained_pixel_size_;
    std::size_t other_scale_ = 0;
};

void run_predict(const PredictArgs& a) {
    check_predict_options(a);
    const int tta = tta_transforms(a.tta);
    std::map<fs::path, std::optional<GenericLayout>> mask_name_layouts;
    std::vector<Job> jobs = plan_jobs(a, mask_name_layouts);
    refuse_styles_of_other_images(jobs);
    // Every output of the run as planned, the images --skip-existing leaves out too: never another
    // image's stale companion (below).
    std::vector<std::string> planned_outputs;
    for (const Job& j : jobs)
        for (const std::string& o : j.outputs()) planned_outputs.push_back(o);
    if (a.skip_existing && !drop_jobs_already_predicted(jobs, a)) return;
    FileIdentities kept = check_outputs_before_writing(jobs, a, planned_outputs);

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
    const std::int64_t max_pixels = a.max_pixels_given ? a.max_pixels : m.config.data.max_pixels;
    check_inputs_before_writing(jobs, a, m, sw, max_pixels);
    // A directory of inputs fills --out with predictions: marked so, once one is there; not a
    // directory of the user's that held other files (their images would be left out by
    // --recursive ever after).
    const bool mark_out = [&] {
        std::error_code ec;
        // A directory of inputs, or one image into a directory (--out ending in '/', or one).
        const bool into_directory = fs::is_directory(a.input, ec) ||
                                    (!a.out.empty() && a.out.back() == '/') ||
                                    fs::is_directory(a.out, ec);
        return into_directory && (!fs::exists(a.out, ec) || fs::is_empty(a.out, ec) ||
                                  fs::exists(fs::path(a.out) / kPredictionsMarker, ec));
    }();
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
    const MaskEncoding encoding = mask_encoding(a, m);
    const std::vector<std::uint8_t>& value_of = encoding.value_of;
    const std::uint8_t no_data_value = encoding.no_data_value;
    const std::vector<std::uint8_t>& no_data_alpha = encoding.no_data_alpha;
    const std::vector<Rgb>& colours = encoding.colours;
    const std::string& style = encoding.style;
    const std::vector<bool> polygon_kept = polygon_values_kept(a, m, value_of);
    if (!m.mask_values.empty()) {
        std::string list;
        for (std::size_t c = 0; c < value_of.size(); ++c)
            list += (c ? ", " : "") + m.class_names[c] + " " + std::to_string(value_of[c]);
        std::printf("pixel values are the training dataset's mask.values: %s\n", list.c_str());
    }
    InputsUnlikeTraining unlike_training(a, m);
    std::vector<std::int64_t> total(m.class_colours.size(), 0);
    std::int64_t pixels = 0, unsure = 0;  // unsure: confidence below one half; pixels with data
    std::int64_t no_data_total = 0;
    std::size_t done = 0;
    // Under --force, the masks there before: those not yet replaced when a stop comes are the
    // earlier prediction's, which --skip-existing would keep (it mixed two models' masks without
    // a word: interruption probe).
    // "Unsure": a confidence below 0.5 (128 of 255, the first above one half), or with two classes,
    // whose winner always has at least one half, below 0.75 (192: a walkthrough's building masks
    // said "0.0% of pixels below 0.5" of every image).
    const bool two_classes = m.class_colours.size() == 2;
    const int unsure_below = two_classes ? 192 : 128;
    const std::string unsure_text =
        two_classes ? "0.75 (of two classes, one has 0.5 or more)" : "0.5";
    const bool replacing = a.force && std::any_of(jobs.begin(), jobs.end(), [](const Job& j) {
                               std::error_code ec;
                               return fs::exists(j.mask, ec);
                           });
    auto interrupted = [&] {
        if (done == 0)
            std::printf(
                "interrupted before the first of %zu image(s) was done; nothing written "
                "(and no directory made)\n",
                jobs.size());
        else if (replacing)
            std::printf(
                "interrupted after %zu of %zu image(s); the masks written are complete, and the "
                "others are still the earlier prediction's where there was one: predict all "
                "again with --force (--skip-existing would keep those)\n",
                done, jobs.size());
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
            mark_sidecar_no_data(j.input, j.sidecars, stored, image_choice(m.config.data), nodata,
                                 "predicted as data");
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
        if (no_data > 0) {  // the training mean, as training and evaluation fill them
            filled = stored;
            fill_no_data(filled, nodata, m.stats);
        }
        const RgbImage& img = no_data > 0 ? filled : stored;
        unlike_training.check(j, stored, no_data > 0 ? &nodata : nullptr);
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
                // 0 is no data (a prediction's confidence is at least 1/C of 255): tagged so (a
                // TIFF's NoData tag, a PNG's transparent gray), a GIS shows those pixels as no
                // data, not as the most unsure ones.
                if (tif)
                    write_tiff_gray(staged.stage(j.confidence), confidence, geo, 0);
                else
                    write_png_gray(staged.stage(j.confidence), confidence, 0);
                write_sidecar_georef(j.sidecars, j.confidence, &staged);
                std::int64_t sum = 0, below = 0;
                for (std::size_t i = 0; i < confidence.labels.size(); ++i) {
                    if (no_data > 0 && nodata[i]) continue;  // no prediction there
                    sum += confidence.labels[i];
                    below += confidence.labels[i] < unsure_below;
                }
                const double with_data =
                    static_cast<double>(confidence.labels.size()) - static_cast<double>(no_data);
                const double n = std::max(1.0, with_data);
                // An image without a pixel with data (all NaN) has no confidence to average.
                about = with_data <= 0
                            ? std::string("; no pixel with data, so no confidence")
                            : "; confidence mean " +
                                  format_fixed(static_cast<double>(sum) / (255.0 * n), 2) + ", " +
                                  format_fixed(100.0 * static_cast<double>(below) / n, 1) +
                                  "% of pixels below " + unsure_text;
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
                std::vector<MaskRegion> regions = polygonize_mask(
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
                // --polygon-classes, --polygon-min-pixels: building footprints without the
                // background or a model's specks (a walkthrough's 2866 building regions held
                // 2759 of 5 pixels or fewer, beside the background's).
                const std::size_t all_regions = regions.size();
                std::erase_if(regions, [&](const MaskRegion& r) {
                    return !polygon_kept[r.value] || r.pixels < a.polygon_min_pixels;
                });
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
                         (regions.size() < all_regions
                              ? detail::concat(
                                    " (of ", all_regions, ", the others left out by ",
                                    a.polygon_classes.empty()    ? ""
                                    : a.polygon_min_pixels_given ? "--polygon-classes and "
                                                                 : "--polygon-classes",
                                    a.polygon_min_pixels_given ? "--polygon-min-pixels" : "", ")")
                              : std::string()) +
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
        if (mark_out && done == 1) mark_predictions_dir(a.out);
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
                       "% predicted with confidence below " + unsure_text)
                          .c_str()
                    : "");
    for (std::size_t c = 0; c < total.size(); ++c)
        std::printf("  %s %6.2f%%\n", padded(m.class_names[c], 20).c_str(),
                    100.0 * static_cast<double>(total[c]) /
                        static_cast<double>(std::max<std::int64_t>(pixels, 1)));
    unlike_training.say_counts(jobs.size());
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
        sub.add_option("--polygon-classes", a->polygon_classes,
                       "with --polygons: only the regions of these classes, by name, separated by "
                       "commas (building footprints without the background)");
        CLI::Option* polygon_min_pixels = sub.add_option(
            "--polygon-min-pixels", a->polygon_min_pixels,
            "with --polygons: leave out regions of fewer pixels than this (a model's specks)");
        sub.add_flag("--no-overlay", a->no_overlay,
                     "write no <stem>_overlay.png (the mask over the image): for many or large "
                     "images, where it costs more time and space than the mask");
        sub.add_flag("--confidence", a->confidence,
                     "also write <stem>_confidence.png|.tif: the predicted class's softmax "
                     "probability as 0..255 gray (dark = unsure: where more points would help)");
        CLI::Option* max_pixels = add_max_pixels_option(sub, a->max_pixels);
        CLI::Option* force =
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
                     "tree predicted before; a mask is kept even if the checkpoint changed)")
            ->excludes(force);  // keep them or replace them: not both (--force went unheard)
        CLI::Option* nodata_value = sub.add_option(
            "--nodata-value", a->nodata_value,
            "the mask's value where an input has no data (transparent, or a GeoTIFF's NoData): "
            "255, or where a class has 255 (binary masks of values 0 and 255) the lowest value "
            "no class has; marked as NoData in a TIFF mask, transparent in a PNG");
        nodata_value->capture_default_str();  // 0..255, said with the range by run_predict
        sub.callback([a, window, overlap, max_pixels, nodata_value, polygon_min_pixels] {
            a->nodata_value_given = nodata_value->count() > 0;
            a->polygon_min_pixels_given = polygon_min_pixels->count() > 0;
            a->window_given = window->count() > 0;
            a->overlap_given = overlap->count() > 0;
            a->max_pixels_given = max_pixels->count() > 0;
            run_predict(*a);
        });
    });

}  // namespace
}  // namespace pfce::cli
