// What `pfce predict` will write, planned before anything is read: the options (PredictArgs), one
// Job an input (its mask, overlay, confidence map, probabilities, polygons, QGIS style and the
// georeference they carry), and the checks of those names against what is already on disk.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/file_io.hpp"
#include "data/dataset.hpp"
#include "data/georef_sidecar.hpp"
#include "data/image_io.hpp"
#include "host/train/trained_model.hpp"

namespace pfce::cli::predict {

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
    bool probabilities = false;   // --probabilities: every class's probability beside the mask
    bool polygons = false;        // --polygons: the mask's regions as GeoJSON beside it
    std::string polygon_classes;  // --polygon-classes: only these classes' regions (names, commas)
    std::int64_t polygon_min_pixels = 1;  // --polygon-min-pixels: smaller regions left out
    bool polygon_min_pixels_given = false;
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
                         const std::vector<std::string>& except);

// The generic dataset whose images lie in `dir`: the nearest dataset.toml, in `dir` or above it
// (images = "Train/Rural/images_png"), that names `dir` as its images; none where no dataset.toml
// does. Each directory is asked once (`layouts`).
const std::optional<GenericLayout>& image_dir_layout(
    const fs::path& dir, std::map<fs::path, std::optional<GenericLayout>>& layouts);

// --mask-names names masks to be copied in as those of the dataset whose images lie in `dir`: an
// InputError unless they would read back as the classes predicted. Masks hold the run's classes
// in its training dataset's encoding (values, else colours), so the dataset must have the same
// classes in the same order, and the same values (index masks) or colours (colour masks). (A
// probe's palette-trained model wrote indices 0..2 for a dataset of values 1..3: copied in, every
// class read as the next and one was lost, without a word.)
void refuse_masks_named_for_another_encoding(const std::string& checkpoint, const TrainedModel& m,
                                             const fs::path& dir, const GenericLayout& l);

// Where each prediction goes: --out names the file for one image, the directory for many.
// `layouts`: the datasets the inputs' directories are images of (image_dir_layout), by directory:
// --mask-names named masks by them.
// The file predict leaves in an --out it fills from a directory of inputs: predict --recursive on
// a directory above leaves that one out, as it leaves out a dataset's masks (a probe's second run
// predicted the first's masks as images). A hidden file, which nothing else reads.
inline constexpr const char* kPredictionsMarker = ".pfce-predictions";
// Writes it into `out` where it is not there yet (a failure is said, not fatal: the predictions
// stand).
void mark_predictions_dir(const std::string& out);

std::vector<Job> plan_jobs(const PredictArgs& a,
                           std::map<fs::path, std::optional<GenericLayout>>& layouts);

// The options' values, before any file is looked at.
void check_predict_options(const PredictArgs& a);

// --qml: refused where a mask's <stem>.qml would style another image of its stem as well.
void refuse_styles_of_other_images(const std::vector<Job>& jobs);

// --skip-existing: leaves in `jobs` the images without a whole mask (and those a killed predict
// was putting in place); false, having said so, where none is left.
bool drop_jobs_already_predicted(std::vector<Job>& jobs, const PredictArgs& a);

// Every output name checked before anything is read (inputs, a dataset's own files, --force,
// an earlier prediction's companions). Returns the files no companion removal may touch.
FileIdentities check_outputs_before_writing(const std::vector<Job>& jobs, const PredictArgs& a,
                                            const std::vector<std::string>& planned_outputs);

}  // namespace pfce::cli::predict
