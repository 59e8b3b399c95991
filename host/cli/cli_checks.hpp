// Validators shared by the subcommands' options, so a value CLI11 would silently wrap or accept
// (a negative seed parsed into an unsigned 64-bit integer) is refused with the option named.
#pragma once

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/log.hpp"
#include "core/output_dir.hpp"
#include "core/text.hpp"
#include "data/data_directory.hpp"
#include "data/dataset.hpp"
#include "data/ground_pixel_size.hpp"
#include "data/mask_dir.hpp"
#include "data/resample.hpp"
#include "host/train/sliding_window.hpp"
#include "host/train/train_data.hpp"
#include "models/unet.hpp"

namespace pfce::cli {

// --zoom typed to predict or eval: a factor the resampling serves (data/ground_pixel_size's range).
inline void check_zoom_option(double zoom) {
    if (!(zoom >= kMinZoom && zoom <= kMaxZoom))
        PFCE_THROW(
            InputError, "--zoom ", format_shortest(zoom), ": expected a factor in ", kMinZoom, "..",
            kMaxZoom,
            " (the input's pixel size over the training images': 2 for 10 cm imagery and a model "
            "trained at 5 cm)");
}

// --window typed to eval or predict: a side a U-Net can take at all (depth aside, checked below).
inline void check_window_option(int window) {
    if (window < 16)
        PFCE_THROW(InputError, "--window ", window,
                   ": expected a side of at least 16 pixels (or leave it out: the run's window)");
}

// --max-pixels typed to eval or predict: the largest image read, in place of the run's
// data.max_pixels (a memory guard; an orthophoto may be larger than the chips a run trained on).
inline void check_max_pixels_option(std::int64_t max_pixels) {
    if (max_pixels < 1)
        PFCE_THROW(InputError, "--max-pixels ", max_pixels,
                   ": expected a limit >= 1 (a limit; there is no 'no limit'; leave it out: the "
                   "run's data.max_pixels)");
}
inline CLI::Option* add_max_pixels_option(CLI::App& sub, std::int64_t& max_pixels) {
    return sub.add_option("--max-pixels", max_pixels,
                          "largest image read, in pixels (a memory guard; default: the run's "
                          "data.max_pixels)");
}

// Whether `p`'s extension, in lower case, is one of `exts` (".png", ".tif"): the kind of file an
// output's name says it holds.
inline bool lower_ext_is(const std::filesystem::path& p, std::initializer_list<const char*> exts) {
    std::string e = p.extension().string();
    for (char& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const char* x : exts)
        if (e == x) return true;
    return false;
}

using pfce::data_directory_of;  // data/data_directory.hpp

// InputError when `file`, an output given as `given` ("--out X"), would lie in a data directory
// (data_directory_of), --force or not: a sheet or a prediction among a dataset's masks is read as
// one of them, and replacing a mask breaks the dataset. Nor inside what another pfce command
// filled (pfce_output_above) where that command's next run refuses the files it did not write: a
// synthetic dataset or a mask directory anywhere (a probe's predictions in a synthetic dataset
// stopped data synth --force, while sample and link refused the same place), a suite's OUT only
// in an experiment's own directory, OUT/<id>/ (pfce run keeps other files in OUT and in its
// train/: an ONNX model exported beside a suite's checkpoint is fine).
inline void refuse_output_among_data(const std::string& given, const std::string& file,
                                     const char* what) {
    const std::filesystem::path parent = std::filesystem::path(file).parent_path();
    const std::string data = data_directory_of(parent.empty() ? "." : parent);
    const std::string named =
        given.size() >= file.size() &&
                given.compare(given.size() - file.size(), file.size(), file) == 0
            ? ""
            : ": " + file;
    if (!data.empty())
        PFCE_THROW(InputError, given, named, " would lie in ", data,
                   ", where it would be read as data; write ", what,
                   " elsewhere (--force does not change this)");
    const PfceOutputAbove above = pfce_output_above(file);
    if (above.dir.empty()) return;
    if (above.kind.rfind("run of suite", 0) == 0) {
        namespace fs = std::filesystem;
        std::error_code ec;
        const fs::path dir = fs::absolute(file, ec).lexically_normal().parent_path();
        const bool experiment =
            fs::equivalent(dir.parent_path(), above.dir, ec) &&
            (fs::exists(dir / "result.json", ec) || fs::exists(dir / "sessions.json", ec) ||
             fs::is_directory(dir / "train", ec));
        if (!experiment) return;
    }
    refuse_output_inside_pfce_output(given + named, file, what);
}

// InputError when `out`, a directory a command fills with `what` ("its masks", "the run"), given
// as `given` ("--out X"), would lie among a dataset's images or masks (read as that dataset's
// files there) or inside what another pfce command filled (a suite's OUT, a synthetic dataset:
// that command's next run refuses the files it did not write), --force or not. predict, data
// preview and eval refused such places; sample, link and train wrote there (hostile-user probe).
inline void refuse_output_dir_among_others(const std::string& given, const std::string& out,
                                           const char* what) {
    refuse_output_below_mask_directory(out, given);
    if (const std::string data = data_directory_of(out, /*itself_masks_ok=*/true); !data.empty())
        PFCE_THROW(InputError, given, " lies in ", data,
                   ", which holds the dataset's images or masks: ", what,
                   " would lie among them and be read as data; write them elsewhere (--force "
                   "does not change this)");
    refuse_output_inside_pfce_output(given, out, what);
}

// --overlap typed to eval or predict: pixels neighbouring windows share, checked before the
// checkpoint is read (>= 0), then against the window (overlap_for).
inline void check_overlap_option(int overlap) {
    if (overlap < 0)
        PFCE_THROW(InputError, "--overlap ", overlap,
                   ": expected >= 0 pixels (or leave it out: a quarter of the window)");
}
// The windows' overlap: fewer pixels than the window (the run's, or --window when
// `window_typed`); untyped, a quarter of the window.
inline int overlap_for(int overlap, bool typed, int window, bool window_typed) {
    if (!typed) return default_overlap(window);
    check_overlap_option(overlap);
    if (overlap >= window)
        PFCE_THROW(InputError, "--overlap ", overlap, ": expected fewer pixels than the window (",
                   window, window_typed ? ", --window" : ", the run's window", ")");
    // Windows a few pixels apart predict each pixel (window/step)^2 times: --overlap 63 of 64
    // showed nothing but an ETA of hours (hostile probe). Said, with what the default costs.
    const int step = window - overlap;
    if (step * 8 < window) {
        auto per_pixel = [&](int s) {  // windows over a pixel, windows s pixels apart
            const double r = static_cast<double>(window) / s;
            return r * r;
        };
        const double times = per_pixel(step);
        const double d_times = per_pixel(window - default_overlap(window));
        log_warn("--overlap ", overlap, " of a ", window, "-pixel window: windows ", step,
                 step == 1 ? " pixel" : " pixels", " apart predict each pixel about ",
                 static_cast<long long>(times + 0.5), " times (",
                 static_cast<long long>(times / d_times + 0.5),
                 "x the work of the default --overlap ", default_overlap(window),
                 "); an overlap of a quarter to a half of the window is usual");
    }
    return overlap;
}

// The --zoom to name where a zoom below 1 leaves images too small for a U-Net ("zoom less" read
// as "a smaller --zoom" made it worse): the smallest that takes all of them, unless one is too
// small even unzoomed (then no zoom helps).
class ZoomThatFits {
  public:
    ZoomThatFits(int depth, double zoom)
        : depth_(depth), side_(smallest_unet_side(depth)), zoom_(zoom) {}
    // An image of w x h (its own size), counted where zoomed it is too small.
    void add(int w, int h) {
        if (unet_side_fits(zoomed_side(w, zoom_), depth_) &&
            unet_side_fits(zoomed_side(h, zoom_), depth_))
            return;
        const int s = std::min(w, h);
        if (s < side_)
            hopeless_ = true;
        else
            fit_ = std::max(fit_, smallest_zoom_reaching(s, side_));
    }
    // "--zoom 0.79 or more takes them, or OTHERWISE", or OTHERWISE where no zoom helps.
    std::string remedy(const std::string& otherwise) const {
        if (zoom_ >= 1.0 || hopeless_ || !(fit_ > 0) || fit_ > 1.0) return otherwise;
        return "--zoom " + format_shortest(fit_) + " or more takes them, or " + otherwise;
    }

  private:
    int depth_, side_;
    double zoom_;
    double fit_ = 0;
    bool hopeless_ = false;
};

// What eval and predict check before they write or score anything: the U-Net takes windows of
// min(side, window) pixels a side, each reflect-padded to a multiple of 2^depth, which needs a
// shortest side (models/unet.hpp). So the window must reach it, and so must every image side.
inline void check_window_fits_unet(int window, bool typed, int depth,
                                   const std::string& checkpoint) {
    if (!unet_side_fits(window, depth))
        PFCE_THROW(InputError, typed ? "--window " : "the run's window ", window,
                   ": too small for the depth-", depth, " U-Net of ", checkpoint,
                   " (expected at least ", smallest_unet_side(depth), " pixels)");
}
// Every image (gathered in `small`) must reach it too; one refusal names them all.
// `remedy` says what to do with "them" (one image: "it").
inline void refuse_images_too_small(const TooSmallImages& small, const std::string& checkpoint,
                                    std::string remedy) {
    if (small.empty()) return;
    for (std::size_t at = remedy.find("them"); at != std::string::npos;
         at = remedy.find("them", at + 1))
        remedy.replace(at, 4, small.them());
    PFCE_THROW(InputError, small.describe(checkpoint), "; ", remedy);
}

// An output path no file can be made at: a loop of symbolic links, a name too long, a component
// that is no directory. Said as `flag OUT: reason` before any work (sample and predict said
// "OUT/masks.json: Too many levels of symbolic links (status)", std::filesystem's words). A path
// that does not exist yet, or a link to one, is for the command to make or refuse.
inline void refuse_unreachable_out(const std::string& out, const std::string& flag) {
    const std::string why = missing_reason(out);
    if (why.empty() || why == "does not exist" || why.rfind("is a symbolic link to", 0) == 0)
        return;
    PFCE_THROW(
        InputError, flag, " ", out, ": it ", why,
        why == "is a loop of symbolic links" ? ": mend the link, or choose another path" : "");
}

// An input `flag PATH` that names nothing, said with the flag and what it takes, before a reader
// says only "cannot open PATH" or "mask directory PATH does not exist" (with --checkpoint and
// --against both given, which one: error-message audit). `directory`: a file where a directory is
// expected is said too; the readers check what a file holds.
inline void require_input(const std::string& flag, const std::string& path, bool directory,
                          const std::string& expected) {
    if (const std::string why = missing_reason(path); !why.empty())
        PFCE_THROW(InputError, flag, " ", path, " ", why, " (expected ", expected, ")");
    std::error_code ec;
    if (directory && !std::filesystem::is_directory(path, ec))
        PFCE_THROW(InputError, flag, " ", path, " is a file (expected ", expected, ")");
}

// The directory of an output file `file` (given as `flag FILE`), made with `made` (removed again
// when the command fails or is stopped before writing): before any work, so a path that cannot be
// created is said first.
inline void make_parent_directory(const std::string& flag, const std::string& file,
                                  MadeDirectories& made) {
    const std::filesystem::path parent = std::filesystem::path(file).parent_path();
    if (parent.empty()) return;
    std::error_code ec;
    made.create(parent, ec);
    if (!std::filesystem::is_directory(parent))
        PFCE_THROW(InputError, flag, " ", file, ": ", parent.string(), ": ",
                   ec ? cannot_create_dir_reason(parent.string(), ec)
                      : "cannot create this directory: a file of that name is in the way");
}

// The inputs a command refuses while it checks them all before writing anything (predict's images):
// one refusal says every one of them (the first ten in full), so a directory is fixed in one go.
class RefusedInputs {
  public:
    // `inputs`: how many inputs the refusal names (the too-small images are one refusal).
    void add(const InputError& e, std::size_t inputs = 1) {
        if (!first_) first_ = e;
        if (messages_.size() < kShown) messages_.emplace_back(e.what());
        ++refusals_;
        inputs_ += inputs;
    }
    // `checked`: how many inputs were checked. A lone refusal is thrown as it was raised.
    void throw_if_any(std::size_t checked) const {
        if (refusals_ == 0) return;
        if (refusals_ == 1) throw *first_;
        std::string all = std::to_string(inputs_) + " of " + std::to_string(checked) +
                          " inputs are refused (nothing written):";
        for (const std::string& m : messages_) all += "\n  " + m;
        if (refusals_ > messages_.size())
            all += "\n  ... and " + std::to_string(refusals_ - messages_.size()) + " more";
        PFCE_THROW(InputError, all);
    }

  private:
    static constexpr std::size_t kShown = 10;
    std::optional<InputError> first_;
    std::vector<std::string> messages_;
    std::size_t refusals_ = 0, inputs_ = 0;
};

// Digits only, after an optional '+': "0" .. "18446744073709551615". CLI11 parses "-1" into a
// uint64 as 2^64-1, and a larger number as 2^64-1 too (strtoull saturates): both refused.
inline const CLI::Validator& non_negative_integer() {
    static const CLI::Validator v(
        [](std::string& s) -> std::string {
            const std::size_t start = !s.empty() && s[0] == '+' ? 1 : 0;  // +3, as numbers take
            if (s.size() == start || s.find_first_not_of("0123456789", start) != std::string::npos)
                return "expected a non-negative integer, got \"" + s + "\"";
            const std::string max = "18446744073709551615";
            const std::string n = s.substr(start);
            const std::size_t digits = n.size() - std::min(n.find_first_not_of('0'), n.size());
            if (digits > max.size() || (digits == max.size() && n.substr(n.size() - digits) > max))
                return "expected at most " + max + " (2^64 - 1), got " + s;
            return {};
        },
        "");  // the option's own type shows UINT ("UINT:UINT" with a description here)
    return v;
}

// A decimal number as people write one (2, 0.5, 1e-3): CLI11 also reads C's hex floats (0x2,
// 0x1.8p1) and leading spaces, which the config's numbers refuse (host/train/config_io).
inline const CLI::Validator& decimal_number() {
    static const CLI::Validator v(
        [](std::string& s) -> std::string {
            if (s.empty() || std::isspace(static_cast<unsigned char>(s[0])) ||
                s.find_first_of("xX") != std::string::npos)
                return "expected a decimal number (such as 2 or 0.5), got \"" + s + "\"";
            return {};
        },
        "");
    return v;
}

// Lower-cases a choice as it is read, so that --split TEST and --format PNG mean what the config
// keys' choices (--device CPU, --tile-image irrg) already do: choices are read in any case.
inline const CLI::Validator& any_case() {
    static const CLI::Validator v(
        [](std::string& s) -> std::string {
            std::transform(s.begin(), s.end(), s.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            return {};
        },
        "");
    return v;
}

}  // namespace pfce::cli
