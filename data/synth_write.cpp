// Writing the synthetic dataset in the Kaggle layout (patches/Images/Image_N.tif and
// patches/Labels/Label_N.tif, colour labels in the Potsdam palette), in parallel over images; each
// file is written atomically, so an interrupted run leaves only whole files.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/hash.hpp"
#include "core/log.hpp"
#include "core/output_dir.hpp"
#include "core/parallel.hpp"
#include "core/stop_signal.hpp"
#include "core/text.hpp"
#include "data/data_directory.hpp"
#include "data/dataset_detail.hpp"
#include "data/image_io.hpp"
#include "data/mask_dir.hpp"
#include "data/palette.hpp"
#include "data/synth.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace pfce {

void check_synth_options(const SynthOptions& opts) {
    if (opts.out_dir.empty())
        PFCE_THROW(InputError, "synthetic dataset: no output directory given");
    if (opts.count < 1)
        PFCE_THROW(InputError, "synthetic dataset: count ", opts.count, " must be at least 1");
    if (opts.size < 16 || opts.size > 8192)
        PFCE_THROW(InputError, "synthetic dataset: size ", opts.size,
                   " is out of range; expected 16..8192");
}

void write_synthetic_dataset(const SynthOptions& opts,
                             const std::function<void(int done, int total)>& progress) {
    namespace fs = std::filesystem;
    check_synth_options(opts);
    const fs::path images = fs::path(opts.out_dir) / "patches" / "Images";
    const fs::path labels = fs::path(opts.out_dir) / "patches" / "Labels";
    std::error_code ec;
    fs::create_directories(images, ec);
    fs::create_directories(labels, ec);
    if (!fs::is_directory(images) || !fs::is_directory(labels))
        PFCE_THROW(SystemError, "cannot create ", images.string(), " and ", labels.string(), ": ",
                   ec.message());

    const Palette& palette = potsdam_palette();
    std::atomic<int> done{0};
    std::atomic<bool> failed{false};
    std::exception_ptr error;
#pragma omp parallel for schedule(dynamic, 1)
    for (int k = 0; k < opts.count; ++k) {
        try {
            // One failure, or Ctrl-C / SIGTERM (core/stop_signal), stops the run.
            if (failed.load() || stop_requested()) continue;
            const SynthScene scene =
                synthesize_scene(opts.size, opts.seed, static_cast<std::uint32_t>(k));
            const std::string n = std::to_string(k);
            write_tiff((images / ("Image_" + n + ".tif")).string(), scene.image);
            write_tiff((labels / ("Label_" + n + ".tif")).string(), palette.encode(scene.labels));
            const int d = ++done;
            if (progress) {
#pragma omp critical(pfce_synth_progress)
                progress(d, opts.count);
            }
        } catch (...) {
#pragma omp critical(pfce_synth_error)
            if (!error) error = std::current_exception();
            failed = true;
        }
    }
    if (error) std::rethrow_exception(error);
    if (stop_requested()) throw StopRequested();  // the dataset stays incomplete (no marker)
}

namespace {

// k for a file write_synthetic_dataset names "<stem>_<k>.tif" (stem Image or Label, k as
// std::to_string writes it), else -1. The one reading of those names: what replacing a dataset
// removes, and what reusing one expects.
long long synthetic_file_number(const std::string& name, const std::string& stem) {
    const std::size_t b = stem.size() + 1;
    if (name.rfind(stem + "_", 0) != 0 || name.size() < b + 5 ||
        name.compare(name.size() - 4, 4, ".tif") != 0)
        return -1;
    const std::string digits = name.substr(b, name.size() - 4 - b);
    if (digits.size() > 9 || (digits.size() > 1 && digits[0] == '0') ||
        !std::all_of(digits.begin(), digits.end(),
                     [](unsigned char c) { return std::isdigit(c) != 0; }))
        return -1;
    return std::stoll(digits);
}

// Sorts the files under out_dir/patches into a synthetic dataset's own (Images/Image_k.tif,
// Labels/Label_k.tif and their atomic-write temporaries) and the rest (a user's file).
struct PatchFiles {
    std::vector<std::filesystem::path> ours, foreign;
};
PatchFiles synthetic_patch_files(const std::string& out_dir) {
    namespace fs = std::filesystem;
    const fs::path patches = fs::path(out_dir) / "patches";
    PatchFiles files;
    std::error_code ec;
    if (!fs::exists(patches, ec)) return files;
    // One of its files, or the atomic-write temporary of one (.Image_3.tif.tmp123_0).
    auto ours = [](const std::string& name, const std::string& stem) {
        if (!is_temp_name(name)) return synthetic_file_number(name, stem) >= 0;
        return synthetic_file_number(name.substr(1, name.rfind(".tmp") - 1), stem) >= 0;
    };
    for (const auto& e : fs::directory_iterator(patches, ec)) {
        const std::string name = e.path().filename().string();
        const std::string stem = name == "Images" ? "Image" : name == "Labels" ? "Label" : "";
        if (stem.empty() || !e.is_directory()) {
            files.foreign.push_back(e.path());
            continue;
        }
        for (const auto& f : fs::directory_iterator(e.path(), ec))
            (f.is_regular_file() && ours(f.path().filename().string(), stem) ? files.ours
                                                                             : files.foreign)
                .push_back(f.path());
    }
    if (ec) PFCE_THROW(InputError, "cannot list ", patches.string(), ": ", ec.message());
    return files;
}

// "a, b, c, ...": the first few of `paths`, for a message.
std::string some_paths(const std::vector<std::filesystem::path>& paths) {
    std::string some;
    for (std::size_t i = 0; i < paths.size() && i < 3; ++i)
        some += (i ? ", " : "") + paths[i].string();
    return some + (paths.size() > 3 ? ", ..." : "");
}

// Before a synthetic dataset is written again: removes its own files (so no file of a larger
// earlier --count stays behind as an extra sample). Anything else under patches/ is not pfce's to
// remove: it refuses, naming it, before removing anything. `marker`, where given, goes first: a
// kill while the files go then leaves a dataset said to be interrupted, not the old completion
// record over half its files (hostile probe: "missing partner file", then "holds another synthetic
// dataset" of one no longer there).
void remove_synthetic_files(const std::string& out_dir, const std::string& marker = "") {
    const PatchFiles files = synthetic_patch_files(out_dir);
    if (!files.foreign.empty())
        PFCE_THROW(InputError, out_dir, " holds files pfce did not write (",
                   some_paths(files.foreign),
                   "); the synthetic dataset is replaced only where it holds nothing else: move "
                   "them or choose another directory");
    if (!marker.empty()) std::filesystem::remove(marker);
    for (const auto& f : files.ours) std::filesystem::remove(f);
}

// The command that writes the dataset again, preceded by moving the files --force would refuse to
// replace (a command that is then refused is no advice).
std::string how_to_write_again(const SynthOptions& opts, const std::string& again) {
    const PatchFiles files = synthetic_patch_files(opts.out_dir);
    if (files.foreign.empty()) return again;
    return "move the files pfce did not write out of it (" + some_paths(files.foreign) +
           "), then: " + again;
}

// The first problem with the files a complete synthetic dataset of `opts` must hold (Image_k.tif
// and Label_k.tif for k < count, and nothing else a reader would take for a sample), or "".
// Files replaced under the same names are seen by the content hash (synthetic_content_hash).
std::string synthetic_files_problem(const SynthOptions& opts) {
    namespace fs = std::filesystem;
    const fs::path patches = fs::path(opts.out_dir) / "patches";
    std::error_code ec;
    for (const auto& [dir, stem] : {std::pair<const char*, const char*>{"Images", "Image"},
                                    std::pair<const char*, const char*>{"Labels", "Label"}}) {
        for (int k = 0; k < opts.count; ++k) {
            const fs::path f =
                patches / dir / (std::string(stem) + "_" + std::to_string(k) + ".tif");
            if (!fs::is_regular_file(f, ec)) return f.string() + " is missing";
        }
        // Beside them: another image file would be read as one more sample.
        for (const auto& e : fs::directory_iterator(patches / dir, ec)) {
            const std::string name = e.path().filename().string();
            if (name.empty() || name[0] == '.' || !detail::is_image_extension(e.path()))
                continue;  // not read as a sample (atomic-write temporaries among them)
            const long long k = synthetic_file_number(name, stem);
            const bool expected = k >= 0 && k < opts.count;
            if (!expected)
                return e.path().string() + " is there, which its " + std::to_string(opts.count) +
                       " images do not account for";
        }
        if (ec) return "cannot list " + (patches / dir).string() + ": " + ec.message();
    }
    return {};
}

// Size-probe directories ("pfce-synth-size-PID-XXXXXX") in `tmp` whose process is gone (killed
// while measuring): removed. Only directories of this user whose PID names no process.
void remove_stale_size_probes(const std::filesystem::path& tmp) {
    namespace fs = std::filesystem;
    const std::string prefix = "pfce-synth-size-";
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(tmp, ec)) {
        const std::string name = e.path().filename().string();
        if (name.rfind(prefix, 0) != 0) continue;
        const std::size_t dash = name.find('-', prefix.size());
        if (dash == std::string::npos || dash == prefix.size()) continue;
        long pid = 0;
        for (std::size_t i = prefix.size(); i < dash; ++i) {
            if (!std::isdigit(static_cast<unsigned char>(name[i])) || pid > 0x7FFFFFFF) {
                pid = -1;
                break;
            }
            pid = pid * 10 + (name[i] - '0');
        }
        struct stat st {};
        if (pid <= 0 || ::lstat(e.path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
            st.st_uid != ::getuid())
            continue;
        if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH)
            continue;  // alive, or unsure
        fs::remove_all(e.path(), ec);
    }
}

// Bytes an image and its label take as written (LZW), measured on sample 0 written to a private
// temporary directory, a quarter added for scenes that compress less; the uncompressed size (6
// bytes a pixel) where that cannot be written. The uncompressed size alone refused datasets 2.4-3x
// the size that fit (the scenes take about 2.3 bytes a pixel). The directory is named with this
// process's ID: one a command killed while measuring left is removed by the next measurement (it
// stayed in /tmp for good).
double bytes_per_sample(const SynthOptions& opts) {
    namespace fs = std::filesystem;
    const double uncompressed = 6.0 * opts.size * opts.size;
    std::error_code ec;
    const fs::path tmp = fs::temp_directory_path(ec);
    if (ec) return uncompressed;
    remove_stale_size_probes(tmp);
    std::string dir =
        (tmp / ("pfce-synth-size-" + std::to_string(::getpid()) + "-XXXXXX")).string();
    if (::mkdtemp(dir.data()) == nullptr) return uncompressed;
    double bytes = uncompressed;
    try {
        const SynthScene scene = synthesize_scene(opts.size, opts.seed, 0);
        write_tiff(dir + "/i.tif", scene.image);
        write_tiff(dir + "/l.tif", potsdam_palette().encode(scene.labels));
        bytes = 1.25 *
                static_cast<double>(fs::file_size(dir + "/i.tif") + fs::file_size(dir + "/l.tif"));
    } catch (const std::exception&) {  // a full or read-only temporary directory: the bound
    }
    fs::remove_all(dir, ec);
    return std::min(bytes, uncompressed);
}

}  // namespace

double synthetic_dataset_bytes(const SynthOptions& opts) {
    return (bytes_per_sample(opts) + 4096.0) * opts.count;  // + directory entries
}

namespace {

// Refuses a dataset the disk cannot hold, before anything is written: a mistyped `--count
// 100000000` would otherwise fill the file system and stop half-way. The files of a dataset
// already in out_dir count as free, since replacing removes them first.
void check_synthetic_dataset_fits(const SynthOptions& opts) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path existing = fs::absolute(opts.out_dir, ec);
    while (!existing.empty() && !fs::exists(existing, ec) && existing != existing.root_path())
        existing = existing.parent_path();
    const fs::space_info space = fs::space(existing, ec);
    if (ec || space.available == static_cast<std::uintmax_t>(-1)) return;  // cannot tell: go on
    std::uintmax_t reclaimable = 0;
    const fs::path patches = fs::path(opts.out_dir) / "patches";
    for (auto it = fs::recursive_directory_iterator(patches, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file(ec)) reclaimable += it->file_size(ec);
    check_synthetic_dataset_space(
        opts, synthetic_dataset_bytes(opts),
        static_cast<double>(space.available) + static_cast<double>(reclaimable), existing.string());
}

}  // namespace

void check_synthetic_dataset_space(const SynthOptions& opts, double need, double have,
                                   const std::string& where) {
    if (need <= 0.9 * have) return;
    PFCE_THROW(InputError, "synthetic dataset: ", opts.count, " images of ", opts.size, "x",
               opts.size, " need about ", format_bytes(need), " but ", where, " has ",
               format_bytes(have), " free",
               need > have ? std::string()
                           : " (it would leave under a tenth of that: the estimate is "
                             "approximate, and a full disk stops every program writing there)",
               "; choose a smaller --count or --size, or another --out");
}

namespace {

// What synthetic.json records of a dataset's settings (written last; reuse compares them).
nlohmann::json synthetic_record(const SynthOptions& opts) {
    return {{"generator", "pfce synthetic"},
            {"count", opts.count},
            {"size", opts.size},
            {"seed", opts.seed}};
}

// A hash of the bytes of every image and label file of the dataset, in order (each file hashed on
// its own, in parallel): synthetic.json records it beside the settings, so a file replaced under
// its own name (another image copied over one) is seen by reuse, which reads bytes but decodes
// nothing. Files of a copied run directory hash the same, whatever their times.
std::string synthetic_content_hash(const SynthOptions& opts) {
    namespace fs = std::filesystem;
    const fs::path patches = fs::path(opts.out_dir) / "patches";
    const std::size_t n = static_cast<std::size_t>(opts.count);
    std::vector<std::uint64_t> hashes(2 * n);
    parallel_for(2 * n, [&](std::size_t i) {
        const std::string k = std::to_string(i % n);
        const fs::path f = i < n ? patches / "Images" / ("Image_" + k + ".tif")
                                 : patches / "Labels" / ("Label_" + k + ".tif");
        const std::string bytes = read_whole_file(f.string());
        hashes[i] = fnv1a64(bytes.data(), bytes.size());
    });
    return hex64(fnv1a64(hashes.data(), hashes.size() * sizeof(std::uint64_t)));
}

// Whether the dataset directory in `state` is reused as it is (true) or written (false); an
// InputError with the command that replaces it when `replace` allows neither.
bool reuse_synthetic_dataset(const SynthOptions& opts, SynthReplace replace, OutputDirState state) {
    namespace fs = std::filesystem;
    using json = nlohmann::json;
    if (state != OutputDirState::ours_complete) return false;
    const json want = synthetic_record(opts);
    const std::string marker = (fs::path(opts.out_dir) / kSynthCompletionFile).string();
    const std::string again = "pfce data synth --out " + shell_word(opts.out_dir) + " --count " +
                              std::to_string(opts.count) + " --size " + std::to_string(opts.size) +
                              " --seed " + std::to_string(opts.seed) + " --force";
    json have;
    std::string unreadable;  // why the marker is no record at all (cut short, edited)
    try {
        have = json::parse(read_whole_file(marker));
        if (!have.is_object()) unreadable = "holds " + have.dump() + ", not a JSON object";
    } catch (const json::exception& e) {
        unreadable = std::string("is not JSON (") + e.what() + ")";
    }
    // A damaged record says nothing of which dataset is there: not "another dataset".
    if (!unreadable.empty() && replace == SynthReplace::never)
        PFCE_THROW(InputError, opts.out_dir, " holds a synthetic dataset whose record ", marker,
                   " is damaged: it ", unreadable, "; expected the settings pfce wrote it with (",
                   want.dump(), " for these). Write it again: ", how_to_write_again(opts, again));
    // The settings; the content hash apart (datasets of an older pfce record none).
    const json content = have.is_object() && have.contains("content") ? have["content"] : json();
    if (have.is_object()) have.erase("content");
    if (have == want && replace != SynthReplace::always) {
        // Reused only whole: a dataset with files deleted or added since would be read as
        // fewer or more images than synthetic.json says, and one with a file replaced as other
        // images or labels than its settings make, without a word.
        std::string problem = synthetic_files_problem(opts);
        if (problem.empty() && content.is_string() && content != synthetic_content_hash(opts))
            problem =
                "its images or labels are not the files pfce wrote (replaced or edited "
                "since: " +
                std::string(kSynthCompletionFile) + " records a hash of their bytes)";
        if (problem.empty()) return true;
        if (replace == SynthReplace::never)
            PFCE_THROW(InputError, opts.out_dir, " holds this synthetic dataset (", marker, ": ",
                       opts.count, " images of ", opts.size, "x", opts.size, ", seed ", opts.seed,
                       ") but it is damaged: ", problem,
                       ". Write it again: ", how_to_write_again(opts, again));
    } else if (have != want && replace == SynthReplace::never) {
        PFCE_THROW(InputError, opts.out_dir, " holds another synthetic dataset (", marker, ": ",
                   have.dump(), "; asked for ", want.dump(),
                   "); choose another directory, or replace it: ", how_to_write_again(opts, again));
    }
    return false;
}

}  // namespace

namespace {

// What is refused before the directory is looked at or claimed (a refusal leaves no trace): the
// settings, a place below a mask directory or among another dataset's images or masks (its scans
// would meet the new dataset's files, and its own data synth --force then refused them as files
// it did not write), and a dataset the disk cannot hold.
void refuse_synthetic_dataset_settings_and_place(const SynthOptions& opts) {
    check_synth_options(opts);
    refuse_output_below_mask_directory(opts.out_dir, opts.flag + " " + opts.out_dir);
    if (const std::string data = data_directory_of(opts.out_dir); !data.empty())
        PFCE_THROW(InputError, opts.flag, " ", opts.out_dir, " would lie in ", data,
                   ", where its files would be read as that dataset's; write the synthetic "
                   "dataset elsewhere (--force does not change this)");
    check_synthetic_dataset_fits(opts);
}

}  // namespace

void check_synthetic_dataset_dir(const SynthOptions& opts, SynthReplace replace) {
    refuse_synthetic_dataset_settings_and_place(opts);
    reuse_synthetic_dataset(
        opts, replace,
        check_output_dir(opts.out_dir, kSynthOutputKind, kSynthCompletionFile, opts.flag));
}

bool prepare_synthetic_dataset(const SynthOptions& opts, SynthReplace replace,
                               const std::function<void(int done, int total)>& progress) {
    namespace fs = std::filesystem;
    const std::string marker = (fs::path(opts.out_dir) / kSynthCompletionFile).string();
    refuse_synthetic_dataset_settings_and_place(opts);
    const OutputDirClaim claim =
        claim_output_dir(opts.out_dir, kSynthOutputKind, kSynthCompletionFile, opts.flag);
    const OutputDirState state = claim.state;
    if (reuse_synthetic_dataset(opts, replace, state)) return true;
    if (state == OutputDirState::ours_complete) {
        // Refuses, removing nothing, if a user's file is there; incomplete from the marker's
        // removal until the new one is written.
        remove_synthetic_files(opts.out_dir, marker);
    } else if (state == OutputDirState::ours_incomplete) {
        // An interrupted earlier run, perhaps of other settings: its images would join these.
        // Said: the files vanish and come back (a probe saw it done without a word).
        log_info(opts.flag, " ", opts.out_dir,
                 ": the synthetic dataset a stopped pfce left incomplete there is written again");
        remove_synthetic_files(opts.out_dir);
    }
    write_synthetic_dataset(opts, progress);
    nlohmann::json record = synthetic_record(opts);
    record["content"] = synthetic_content_hash(opts);
    write_file_atomically(marker, record.dump(2) + "\n");  // last: marks the dataset complete
    return false;
}

}  // namespace pfce
