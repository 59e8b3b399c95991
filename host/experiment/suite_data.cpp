// Reading a suite's data: dataset, split, and every sample in use in memory, in parallel.
#include "host/experiment/suite_data.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>
#include <tuple>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/log.hpp"
#include "core/output_dir.hpp"
#include "core/parallel.hpp"
#include "core/stopwatch.hpp"
#include "data/data_fingerprint.hpp"
#include "data/synth.hpp"
#include "host/train/progress.hpp"
#include "host/train/train_data.hpp"

namespace pfce {
namespace fs = std::filesystem;

std::string synthetic_data_dir(const DataSettings& d, const RunOptions& opts,
                               const std::string& out_dir) {
    if (!opts.data_path.empty()) return opts.data_path;
    // [data] root of a synthetic suite: where the set is written (or found), as --data would say
    // (before, it was ignored without a word and the set went under OUT/data).
    if (!d.root.empty()) return d.root;
    return (fs::path(out_dir) / "data" /
            ("synthetic-" + std::to_string(d.synthetic_count) + "x" +
             std::to_string(d.synthetic_size) + "-s" + std::to_string(d.synthetic_seed)))
        .string();
}

bool suite_reads_through_band_1(const Suite& suite) {
    return suite.data.bands.empty() && !suite.experiments.empty() &&
           std::all_of(suite.experiments.begin(), suite.experiments.end(),
                       [](const ExperimentSpec& e) { return !e.config.data.bands.empty(); });
}

DataSettings suite_data_settings(const Suite& suite, const RunOptions& opts,
                                 const std::string& out_dir) {
    DataSettings d = suite.data;
    // Experiments that each read the images through bands of their own (RGB against RGB +
    // infrared) need none from the suite, whose files may have no reading without a choice: the
    // suite opens them through band 1, which every file has (its samples, sizes and split are the
    // same whatever the bands), and each experiment reads them again through its own.
    if (suite_reads_through_band_1(suite)) d.bands = {1};
    if (d.source == "synthetic") {
        d.root = synthetic_data_dir(d, opts, out_dir);
    } else {
        if (!opts.data_path.empty()) d.root = opts.data_path;
        if (d.root.empty())
            PFCE_THROW(InputError, suite.file,
                       ": this suite reads a dataset: give its root with --data PATH (or "
                       "root = \"...\" in [data])");
    }
    return d;
}

Suite with_dataset_image_settings(const Suite& given, const RunOptions& opts) {
    Suite s = given;
    DataSettings& d = s.data;
    if (d.source != "dataset") return s;
    if (!opts.data_path.empty()) d.root = opts.data_path;
    try {
        adopt_dataset_image_settings(d, false, false, "suite's");
    } catch (const InputError&) {
        return given;  // a dataset.toml that does not parse: the dataset's opening says so
    }
    // Experiments that all read bands of their own keep the suite reading through band 1
    // (suite_reads_through_band_1): the file's bands would be a reading no experiment uses.
    if (suite_reads_through_band_1(given)) d.bands.clear();
    // Each experiment reads as the suite does where it names no bands of its own (the value range
    // is the suite's alone), so its recorded settings are those it trained with.
    for (ExperimentSpec& e : s.experiments) {
        if (e.config.data.bands.empty()) e.config.data.bands = d.bands;
        if (e.config.data.value_range.empty()) e.config.data.value_range = d.value_range;
    }
    d.root = given.data.root;
    return s;
}

nlohmann::json suite_data_identity(const DataSettings& d, bool must_open, std::string* unreadable) {
    if (unreadable) unreadable->clear();
    if (d.source == "synthetic") return nullptr;
    try {
        return data_identity(Dataset::open(d.root, dataset_options(d)));
    } catch (const InputError& e) {
        if (must_open) throw;
        if (unreadable) *unreadable = e.what();
        // A report can be remade with the data archived, so this is no error; but nothing then
        // says the results are of this data, and an experiment that runs will fail on it.
        log_warn("data: ", d.root, " cannot be read (", e.what(),
                 "): finished experiments are kept on their settings alone, unchecked against "
                 "the data");
        return nullptr;
    }
}

namespace {

fs::path resolved(const std::string& p) {
    std::error_code ec;
    const fs::path r = fs::weakly_canonical(fs::absolute(p), ec);
    return (ec ? fs::absolute(p) : r).lexically_normal();
}

// Whether `p` is `dir` or inside it (both resolved).
bool within(const fs::path& p, const fs::path& dir) {
    auto a = p.begin(), b = dir.begin();
    for (; b != dir.end(); ++a, ++b) {
        if (b->empty()) continue;  // a trailing separator
        if (a == p.end() || *a != *b) return false;
    }
    return true;
}

}  // namespace

std::string describe_image_sizes(const std::vector<RgbImage>& images) {
    std::map<std::tuple<std::int64_t, int, int>, std::size_t> n;  // (area, w, h) -> images
    for (const RgbImage& im : images)
        ++n[{static_cast<std::int64_t>(im.width) * im.height, im.width, im.height}];
    const auto text = [&](const auto& entry) {
        const auto& [key, count] = entry;
        return std::to_string(std::get<1>(key)) + "x" + std::to_string(std::get<2>(key)) +
               (n.size() > 1 ? " (" + std::to_string(count) + ")" : std::string());
    };
    if (n.size() == 1) return text(*n.begin());
    std::string s = std::to_string(n.size()) + " sizes: ";
    if (n.size() > 4) return s + text(*n.begin()) + " to " + text(*n.rbegin());
    for (auto it = n.begin(); it != n.end(); ++it) {
        if (it != n.begin()) s += ", ";
        s += text(*it);
    }
    return s;
}

bool check_suite_data_dir(const DataSettings& d, const RunOptions& opts, const std::string& out_dir,
                          const std::string& suite_file) {
    const bool synthetic = d.source == "synthetic";
    std::error_code ec;
    // A dataset that is not there is refused before OUT is claimed, where every experiment would
    // read it (a new OUT); an OUT of finished experiments reads no data.
    if (!synthetic && (!fs::exists(out_dir, ec) || fs::is_empty(out_dir, ec)) &&
        !fs::is_directory(d.root, ec))
        PFCE_THROW(InputError, opts.data_path.empty() ? suite_file + ": [data] root " : "--data ",
                   d.root,
                   fs::exists(d.root, ec) ? " is not a directory" : " " + missing_reason(d.root),
                   " (expected the dataset's directory",
                   fs::path(d.root).is_relative()
                       ? "; a relative path is read from the working directory, " +
                             fs::current_path(ec).string()
                       : std::string(),
                   ")");
    // A dataset the suite file names: OUT inside it is refused as with --data (a probe's run
    // wrote its report and cache there before every experiment failed).
    if (opts.data_path.empty() && !synthetic && within(resolved(out_dir), resolved(d.root)))
        PFCE_THROW(InputError, "--out ", out_dir, " is inside the dataset ", d.root, " (",
                   suite_file,
                   ": [data] root): pfce run writes nothing into a dataset; choose an --out "
                   "outside it");
    if (opts.data_path.empty()) return opts.force;  // the suite's own, in OUT/data/
    const fs::path data = resolved(opts.data_path), out = resolved(out_dir);
    const bool own = within(data, out / "data") && data != out / "data";
    if (within(data, out) && !own)
        PFCE_THROW(
            InputError, "--data ", opts.data_path, " is ",
            data == out ? "--out itself" : "inside --out " + out_dir,
            ", where pfce run writes its experiments and report: give a dataset outside "
            "OUT",
            synthetic ? " (without --data, a synthetic suite writes its own in OUT/data/)" : "");
    if (within(out, data))
        PFCE_THROW(InputError, "--out ", out_dir, " is inside --data ", opts.data_path,
                   ": pfce run writes nothing into a dataset; choose an --out outside it");
    if (!synthetic) return false;
    const SynthOptions so = synth_options(d, "--data");
    const SynthReplace replace =
        own && opts.force ? SynthReplace::other_or_broken : SynthReplace::never;
    const bool out_is_new = !fs::exists(out_dir, ec) || fs::is_empty(out_dir, ec);
    if (out_is_new)  // every experiment runs, so the data is prepared: refuse what that would
        check_synthetic_dataset_dir(so, replace);
    else  // a directory of other files is never a synthetic dataset, whatever OUT holds
        (void)check_output_dir(d.root, kSynthOutputKind, kSynthCompletionFile, "--data");
    return replace != SynthReplace::never;
}

LoadedData read_with_bands(const LoadedData& L, const std::vector<int>& bands) {
    const Stopwatch t0;
    DatasetOptions o = L.ds->options();
    o.image.bands = bands;
    LoadedData out;
    out.root = L.root;
    out.ds = std::make_unique<Dataset>(Dataset::open(L.root, o));
    bool same = out.ds->size() == L.ds->size();
    for (std::size_t i = 0; same && i < L.ds->size(); ++i)
        same = out.ds->sample(i).id == L.ds->sample(i).id;
    if (!same)
        PFCE_THROW(InputError, L.root, " read with data.bands ", nlohmann::json(bands).dump(),
                   " gives other samples than the suite's reading of it");
    out.indices = L.indices;
    out.ids = L.ids;
    out.dense = L.dense;
    out.split = L.split;
    out.identity = L.identity;
    out.files = L.files;
    out.images.resize(L.indices.size());
    out.no_data.resize(L.indices.size());
    parallel_for(
        L.indices.size(),
        [&](std::size_t k) {
            out.images[k] = out.ds->read_image_and_no_data(L.indices[k], out.no_data[k]);
        },
        8);
    out.summary = L.summary + ", read as bands " + nlohmann::json(bands).dump();
    log_info("data: read ", L.indices.size(), " images again as data.bands ",
             nlohmann::json(bands).dump(), " in ", format_seconds(t0.seconds()));
    return out;
}

const LoadedData& data_for_bands(const LoadedData& L, const std::vector<int>& bands,
                                 std::map<std::vector<int>, LoadedData>& others) {
    if (bands == L.ds->options().image.bands) return L;
    auto it = others.find(bands);
    if (it == others.end()) it = others.emplace(bands, read_with_bands(L, bands)).first;
    return it->second;
}

LoadedData load_suite_data(const Suite& suite, const DataSettings& d, bool replace_synthetic,
                           const std::string& flag) {
    const Stopwatch t0;
    LoadedData L;
    L.root = d.root;
    L.ds = std::make_unique<Dataset>(open_run_dataset(d, replace_synthetic, flag, &L.reading));
    L.files = data_identity(*L.ds);
    if (d.source != "synthetic") L.identity = L.files;
    // A list's refusal names the suite file, whose [data] table sets the lists (not --train-list).
    const ConfigKeySources from_suite = [&](const std::vector<std::string>&) { return suite.file; };
    const Split split = run_split(*L.ds, d, &from_suite);
    for (const auto* part : {&split.train, &split.val, &split.test})
        L.indices.insert(L.indices.end(), part->begin(), part->end());
    std::sort(L.indices.begin(), L.indices.end());
    auto positions = [&](const std::vector<std::size_t>& part) {
        std::vector<std::size_t> out;
        for (std::size_t i : part)
            out.push_back(static_cast<std::size_t>(
                std::lower_bound(L.indices.begin(), L.indices.end(), i) - L.indices.begin()));
        return out;
    };
    L.split = {positions(split.train), positions(split.val), positions(split.test)};
    const bool by_tile = d.split_by == "tile" && d.train_list.empty();
    if (L.split.train.empty() || L.split.test.empty())
        PFCE_THROW(InputError, suite.file, ": ", L.indices.size(), " samples give ",
                   L.split.train.size(), " train / ", L.split.val.size(), " val / ",
                   L.split.test.size(), " test: too few for a run",
                   by_tile ? " (split by tile: data.train_frac and val_frac are fractions of the "
                             "tiles, and each part needs whole tiles)"
                           : "");
    std::vector<SampleData> all = load_samples(*L.ds, L.indices, "");
    auto dense = std::make_shared<std::vector<LabelMap>>();
    for (std::size_t k = 0; k < L.indices.size(); ++k) {
        L.ids.push_back(L.ds->sample(L.indices[k]).id);
        L.images.push_back(std::move(all[k].image));
        L.no_data.push_back(std::move(all[k].no_data));
        // Whole windows: dense experiments train on them, links are measured on them; only
        // evaluation leaves other windows' pixels out (samples_for).
        dense->push_back(std::move(all[k].dense));
    }
    L.dense = std::move(dense);
    // Built piece by piece: a long root or many sizes never cut short.
    std::string& t = L.summary;
    t = d.source == "synthetic" ? "synthetic (seed " + std::to_string(d.synthetic_seed) + ")"
                                : "dataset (" + std::string(kDatasetKinds.name(L.ds->kind())) + ")";
    t += ", " + std::to_string(L.indices.size()) + " images of " + describe_image_sizes(L.images);
    // Absolute: the report is read from anywhere, and kept by later runs with nothing to run
    // (a path relative to the first run's directory then misled).
    std::error_code ec;
    fs::path where = fs::absolute(L.root, ec).lexically_normal();
    if (where.filename().empty()) where = where.parent_path();  // "data/" -> ".../data"
    t += " at " + (ec ? L.root : where.string());
    // How the images were read: the bands of a multi-band set (a suite opened through band 1 for
    // experiments of their own bands says those, with each experiment's settings).
    if (suite_reads_through_band_1(suite))
        t += ", each experiment reading its own data.bands";
    else if (!d.bands.empty())
        t += ", read as bands " + nlohmann::json(d.bands).dump();
    // And the value range (the same bands of [0, 2047] and [0, 4095] are other inputs).
    if (d.value_range.size() == 2) {
        std::ostringstream range;
        range << ", sample values " << d.value_range[0] << ".." << d.value_range[1]
              << " read as 0..255";
        t += range.str();
    }
    t += "; split ";
    t += std::to_string(L.split.train.size()) + "/";
    t += std::to_string(L.split.val.size()) + "/" + std::to_string(L.split.test.size());
    t += " (train/val/test, ";
    t += d.train_list.empty()
             ? (by_tile ? "by tile, seed " : "seed ") + std::to_string(d.split_seed)
             : std::string("from lists");
    t += ")";
    log_info("data: read ", L.indices.size(), " samples in ", format_seconds(t0.seconds()), ": ",
             L.summary);
    return L;
}

}  // namespace pfce
