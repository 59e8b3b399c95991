// Loading a run's data: dataset, split, labels (given, or made by the sample/link stages), samples
// in memory and statistics.
#include "host/train/train_data.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>

#include "core/dir_lock.hpp"
#include "core/file_io.hpp"
#include "core/log.hpp"
#include "core/output_dir.hpp"
#include "core/parallel.hpp"
#include "core/text.hpp"
#include "data/data_fingerprint.hpp"
#include "data/ground_pixel_size.hpp"
#include "data/linking.hpp"
#include "data/sparse_masks.hpp"
#include "data/synth.hpp"
#include "host/train/memory_estimate.hpp"
#include "models/unet.hpp"

namespace pfce {
namespace fs = std::filesystem;

int find_clutter_class(const Palette& palette) {
    for (int c = 0; c < palette.num_classes(); ++c) {
        std::string n = palette.classes[static_cast<std::size_t>(c)].name;
        std::transform(n.begin(), n.end(), n.begin(),
                       [](unsigned char ch) { return std::tolower(ch); });
        if (n == "clutter") return c;
    }
    return -1;
}

std::vector<int> recorded_mask_values(const Dataset& ds) {
    const std::vector<std::uint8_t>& v = ds.index_values();
    bool identity = true;
    for (std::size_t c = 0; c < v.size(); ++c) identity = identity && v[c] == c;
    return identity ? std::vector<int>() : std::vector<int>(v.begin(), v.end());
}

ImageChoice image_choice(const DataSettings& d) {
    ImageChoice c;
    c.bands = d.bands;
    if (d.value_range.size() == 2) {
        c.range_lo = d.value_range[0];
        c.range_hi = d.value_range[1];
    }
    return c;
}

DatasetOptions dataset_options(const DataSettings& d) {
    DatasetOptions o;
    o.kind = kDatasetKinds.parse(d.kind);
    o.tile_patch = d.tile_patch;
    o.tile_stride = d.tile_stride;
    o.max_pixels = d.max_pixels;
    o.tile_image = d.tile_image;
    o.tile_labels = d.tile_labels;
    o.image = image_choice(d);
    return o;
}

SynthOptions synth_options(const DataSettings& d, const std::string& flag) {
    SynthOptions so;
    so.out_dir = d.root;
    so.count = d.synthetic_count;
    so.size = d.synthetic_size;
    so.seed = d.synthetic_seed;
    so.flag = flag;
    return so;
}

Dataset open_run_dataset(const DataSettings& d, bool force, const std::string& flag,
                         DirLock* reading) {
    if (d.root.empty())
        PFCE_THROW(InputError, "no dataset given (--data DIR, or data.root in the config)");
    if (d.source == "synthetic") {
        const SynthOptions so = synth_options(d, flag);
        int logged = 0;
        // `pfce run --force` replaces another synthetic set or a damaged one; one whole and of
        // these settings is reused (it is deterministic: writing it again would only cost time).
        const SynthReplace replace = force ? SynthReplace::other_or_broken : SynthReplace::never;
        const bool reused = prepare_synthetic_dataset(so, replace, [&](int done, int total) {
            if (done == 1)
                log_info("data: generating ", total, " synthetic images of ", so.size, "x", so.size,
                         " (seed ", so.seed, ") into ", so.out_dir);
            if (done == total || done - logged >= std::max(1, total / 4)) {
                logged = done;
                log_info("data: ", done, "/", total, " images");
            }
        });
        if (reused)
            log_info("data: reusing synthetic dataset ", so.out_dir, " (", so.count, " images of ",
                     so.size, "x", so.size, ", seed ", so.seed, ")");
    }
    if (reading) *reading = lock_dir_for_reading(d.root, flag);
    Dataset ds = Dataset::open(d.root, dataset_options(d));
    // data.tile_* on a data.kind that says it is no tiles dataset is said with the other unused
    // settings (unused_settings); with data.kind = "auto" only the dataset found tells.
    if (d.kind == "auto" && ds.kind() != DatasetKind::tiles) {
        const DataSettings defaults;
        std::string given;
        auto add = [&](const char* key, const std::string& value) {
            given += (given.empty() ? "" : ", ") + std::string(key) + " = " + value;
        };
        if (d.tile_patch != defaults.tile_patch)
            add("data.tile_patch", std::to_string(d.tile_patch));
        if (d.tile_stride != defaults.tile_stride)
            add("data.tile_stride", std::to_string(d.tile_stride));
        if (d.tile_image != defaults.tile_image) add("data.tile_image", "\"" + d.tile_image + "\"");
        if (d.tile_labels != defaults.tile_labels)
            add("data.tile_labels", "\"" + d.tile_labels + "\"");
        if (!given.empty())
            log_warn("data: ", given, " has no effect: ", d.root, " is a ",
                     kDatasetKinds.name(ds.kind()),
                     " dataset (data.kind = \"auto\" found it), and the tile settings are for the "
                     "original Potsdam tiles, data.kind = \"tiles\"");
    }
    return ds;
}

namespace {

// The tiles of a part of a tiles dataset's split, in the order of their first window.
std::vector<std::string> tiles_of(const Dataset& ds, const std::vector<std::size_t>& part) {
    std::vector<std::string> tiles;
    std::set<std::string> seen;
    for (const std::size_t i : part)
        if (std::string t = tile_of(ds.sample(i).id); seen.insert(t).second)
            tiles.push_back(std::move(t));
    return tiles;
}

// "2 tiles (18 windows)"; with `named`, the tiles too when there are few (which tiles a run is
// validated and tested on is the first thing a reader of its scores asks).
std::string describe_tiles(const Dataset& ds, const std::vector<std::size_t>& part, bool named) {
    const std::vector<std::string> tiles = tiles_of(ds, part);
    std::string out = std::to_string(tiles.size()) + (tiles.size() == 1 ? " tile (" : " tiles (") +
                      std::to_string(part.size()) + (part.size() == 1 ? " window" : " windows");
    if (named && !tiles.empty() && tiles.size() <= 4) {
        out += ": ";
        for (std::size_t k = 0; k < tiles.size(); ++k) out += (k ? ", " : "") + tiles[k];
    }
    return out + ")";
}

void log_tile_split(const Dataset& ds, const Split& s, const DataSettings& d) {
    log_info("data: split by tile: ", describe_tiles(ds, s.train, false), " for training, ",
             describe_tiles(ds, s.val, true), " for validation, ", describe_tiles(ds, s.test, true),
             " for test");
    if (s.test.empty() && !s.train.empty())
        log_warn("data: the split by tile leaves no test tile (", tiles_of(ds, s.train).size(),
                 " + ", tiles_of(ds, s.val).size(), " tiles for training and validation at ",
                 "data.train_frac ", d.train_frac, " and val_frac ", d.val_frac,
                 " of the tiles): pfce eval --split test will have nothing to score; lower the "
                 "fractions or add tiles");
}

}  // namespace

void warn_if_points_are_dense(const std::vector<int>& points, std::int64_t labelled,
                              std::int64_t dense, const std::string& tag, const char* what) {
    if (dense <= 0 || 2 * labelled < dense) return;
    log_warn(tag, "labels.points = ", nlohmann::json(points).dump(), " keeps ",
             format_fixed(100.0 * static_cast<double>(labelled) / static_cast<double>(dense), 0),
             "% of the pixels the dense masks label: these are no sparse labels, the ", what,
             " is close to a dense one (expected a count well below a class's pixels in an "
             "image, e.g. the default 500 per 300x300)");
}

Split run_split(const Dataset& ds, const DataSettings& d, const ConfigKeySources* source) {
    const DataSettings defaults;
    if (!d.train_list.empty()) {
        if (d.max_samples > 0 || d.train_frac != defaults.train_frac ||
            d.val_frac != defaults.val_frac || d.split_seed != defaults.split_seed ||
            d.split_by != defaults.split_by)
            log_warn(
                "data: the split comes from the lists (data.train_list ...); data.train_frac, "
                "val_frac, split_seed, split_by and max_samples are not used");
        std::array<std::string, 3> names;  // the flags', unless a file set the key
        const char* keys[] = {"data.train_list", "data.val_list", "data.test_list"};
        for (std::size_t k = 0; k < 3 && source; ++k)
            if (const std::string from = (*source)({keys[k]}); from != "command line")
                names[k] = std::string(keys[k]) + " in " + from;
        const Split s = split_from_lists(ds, d.train_list, d.val_list, d.test_list, names);
        // Samples in no list are left out, by design (an official split need not cover all); a
        // missing test list leaves nothing to test, which a user who gave two lists rarely meant.
        const std::size_t listed = s.train.size() + s.val.size() + s.test.size();
        if (s.test.empty() && listed < ds.size())
            log_warn("data: no test sample (",
                     d.test_list.empty() ? "no data.test_list" : "an empty test list",
                     "): the lists name ", listed, " of the ", ds.size(),
                     " samples, and the other ", ds.size() - listed,
                     " are used nowhere; pfce eval --split test will have nothing to score. "
                     "List them in data.test_list (--test-list) to test on them");
        return s;
    }
    std::size_t n = ds.size();
    if (d.max_samples > 0) n = std::min<std::size_t>(n, static_cast<std::size_t>(d.max_samples));
    const bool tiles_dataset = ds.kind() == DatasetKind::tiles;
    if (d.split_by == "tile") {
        if (!tiles_dataset)
            PFCE_THROW(InputError,
                       "data.split_by = \"tile\" (--split-by tile) keeps the windows cut from one "
                       "tile in one part; ",
                       ds.root(), " is a ", kDatasetKinds.name(ds.kind()),
                       " dataset, whose samples are not windows of tiles: expected \"sample\"");
        const Split s = make_tile_split(ds, n, d.split_seed, d.train_frac, d.val_frac);
        log_tile_split(ds, s, d);
        return s;
    }
    if (tiles_dataset) {
        std::set<std::string> tiles;
        for (std::size_t i = 0; i < n; ++i) tiles.insert(tile_of(ds.sample(i).id));
        if (tiles.size() < n)  // some tile is cut into several windows
            log_warn(
                "data: the random split puts windows of one tile in train, validation and "
                "test; windows of one tile are neighbours (or overlap, with a stride below "
                "the patch), so the validation and test scores are optimistic. To split by "
                "tile, draw tiles (--split-by tile, data.split_by = \"tile\") or list tile "
                "names (data.train_list, val_list, test_list, or --train-list ...; one name, "
                "e.g. ",
                *tiles.begin(),
                ", per line stands for all its windows): experiments/splits/ has the ISPRS "
                "split");
    }
    const Split s = make_split(n, d.split_seed, d.train_frac, d.val_frac);
    if (s.test.empty() &&
        !s.train.empty())  // said, not refused: training on everything is a choice
        log_warn("data: data.train_frac ", d.train_frac, " and val_frac ", d.val_frac, " of ", n,
                 " samples leave no test sample: pfce eval --split test will have nothing to "
                 "score; lower the fractions to keep one");
    return s;
}

void check_masks_belong_to(const MaskDir& md, const Dataset& ds) {
    check_mask_dir_classes(md, ds.palette(), ds.root());
    // The same class names read from other colours or values (before, a warning about files
    // "changed or touched" said only that).
    check_class_encodings_unchanged(md, ds);
    const std::string source = md.meta.value("source", std::string());
    if (!source.empty() && resolved_path(source) != resolved_path(ds.root())) {
        std::error_code ec;
        if (fs::exists(source, ec))
            PFCE_THROW(InputError, "the masks in ", md.dir, " were made from ", source,
                       ", not from ", ds.root(),
                       ": use them with the dataset they belong to (its --data)");
        // With its source gone, other dense labels than those sampled may be another dataset's
        // (named alike) as well as this one moved and touched: refused, and never with advice to
        // sample over these masks.
        const std::string made = recorded_dense_labels(md);
        if (!made.empty() && made != dense_labels_fingerprint(ds))
            PFCE_THROW(InputError, "the masks in ", md.dir, " were made from ", source,
                       ", which no longer exists, and the labels of ", ds.root(),
                       " are not those they were sampled from (masks.json sample.dense_labels): "
                       "they may be masks of another dataset; make masks of this one into a new "
                       "directory (pfce sample --data ",
                       ds.root(), " --out NEW_DIR)");
        // Once per directory and dataset (the train and validation samples both check).
        static std::mutex warned_mutex;
        static std::set<std::string> warned;
        std::lock_guard<std::mutex> lock(warned_mutex);
        if (warned.insert(md.dir + "\n" + ds.root()).second)
            log_warn("the masks in ", md.dir, " were made from ", source,
                     ", which no longer exists; using them with ", ds.root(),
                     " (their classes and sample ids match)");
    }
    // Masks sampled before the dataset's labels changed are labels of other images (a warning:
    // the fingerprint moves with a touch too; data/sparse_masks).
    check_dense_labels_unchanged(md, ds);
    warn_if_mask_files_changed(md);
}

void check_masks_match_dataset(const MaskDir& md, const Dataset& ds,
                               const std::vector<std::size_t>& indices) {
    check_masks_belong_to(md, ds);
    std::vector<std::string> have = md.ids;
    std::sort(have.begin(), have.end());
    std::string missing;
    std::size_t n_missing = 0;
    for (std::size_t i : indices)
        if (!std::binary_search(have.begin(), have.end(), ds.sample(i).id) && ++n_missing <= 3)
            missing += (missing.empty() ? "" : ", ") + ds.sample(i).id;
    if (n_missing > 0)
        PFCE_THROW(InputError, md.dir, " has no masks for ", n_missing, " sample(s) of ", ds.root(),
                   " (", missing, n_missing > 3 ? ", ..." : "", ")");
}

std::vector<SampleData> load_samples(const Dataset& ds, const std::vector<std::size_t>& indices,
                                     const std::string& labels_dir, bool scored) {
    if (labels_dir.empty()) return load_samples(ds, indices, nullptr, scored);
    const MaskDir md = open_mask_dir(labels_dir);
    check_masks_match_dataset(md, ds, indices);
    return load_samples(ds, indices, &md, scored);
}

std::vector<SampleData> load_samples(const Dataset& ds, const std::vector<std::size_t>& indices,
                                     const MaskDir* labels, bool scored) {
    std::vector<SampleData> out(indices.size());
    std::vector<Dataset::NoDataUnlabelled> said(indices.size());
    parallel_for(indices.size(), [&](std::size_t k) {
        SampleData& s = out[k];
        std::vector<std::uint8_t> nodata;
        s.image = ds.read_image_and_no_data(indices[k], nodata);
        s.dense = ds.read_mask(indices[k]);
        if (!labels) {
            s.train_labels = s.dense;
        } else {
            const SampleRef& ref = ds.sample(indices[k]);
            s.train_labels = read_mask_png(*labels, ref.id, ds.palette());
            check_mask_fits(*labels, ref.id, s.train_labels, "image", ref.image_path, s.image.width,
                            s.image.height, ds.kind() == DatasetKind::tiles);
        }
        // Pixels without data (an orthophoto's outside of the survey): no truth to score and
        // nothing to learn there, whatever the masks say (eval scored a NoData border that predict
        // leaves without a class: building IoU 0.44 against 0.69 on the pixels with data).
        said[k] = ds.unlabel_no_data(nodata, {&s.dense, &s.train_labels});
        if (said[k].pixels > 0) s.no_data = std::move(nodata);
        if (!scored) return;
        unlabel_pixels_owned_elsewhere(s.dense, ds.sample(indices[k]));
        unlabel_pixels_owned_elsewhere(s.train_labels, ds.sample(indices[k]));
        if (labels && ds.sample(indices[k]).mask_path.empty()) s.dense = s.train_labels;
    });
    for (std::size_t k = 0; k < said.size(); ++k)
        if (said[k].pixels > 0) {
            ds.say_no_data_unlabelled(indices[k], said[k]);
            break;
        }
    return out;
}

namespace {

// A mask directory's record `key` ("sample": how its points were sampled; "imported": the
// annotations pfce sample --from read): its own, or for linked masks their input's.
const nlohmann::json& own_or_input_record(const MaskDir& md, const char* key) {
    static const nlohmann::json none;
    if (md.meta.contains(key)) return md.meta[key];
    const nlohmann::json& link = md.meta.contains("link") ? md.meta["link"] : none;
    if (link.is_object() && link.contains("in_meta") && link["in_meta"].is_object() &&
        link["in_meta"].contains(key))
        return link["in_meta"][key];
    return none;
}
const nlohmann::json& sampling_record(const MaskDir& md) {
    return own_or_input_record(md, "sample");
}
const nlohmann::json& imported_record(const MaskDir& md) {
    return own_or_input_record(md, "imported");
}

// [0, 10000], as typed.
std::string range_text(const std::vector<double>& r) {
    std::ostringstream os;
    os << "[" << r[0] << ", " << r[1] << "]";
    return os.str();
}

}  // namespace

void adopt_dataset_image_settings(DataSettings& d, bool bands_given, bool range_given,
                                  const char* whose) {
    if (d.source != "dataset" || d.root.empty()) return;
    ImageChoice c = image_choice(d);
    adopt_declared_image(c, declared_image_settings(d.root, kDatasetKinds.parse(d.kind)),
                         bands_given || !d.bands.empty(), range_given || !d.value_range.empty(),
                         whose);
    d.bands = c.bands;
    if (c.has_value_range()) d.value_range = {c.range_lo, c.range_hi};
}

void adopt_labels_dir_image_settings(DataSettings& d, const MaskDir& md) {
    const nlohmann::json* sample = image_reading_record(md);
    if (!sample) return;
    // The record read as link and preview read it, into the options the images opened with.
    DatasetOptions made;
    apply_sampled_dataset_options(*sample, made);
    if (made.image.has_value_range()) {
        const std::vector<double> range = {made.image.range_lo, made.image.range_hi};
        if (d.value_range.empty()) {
            d.value_range = range;
            log_info("data.value_range = ", range_text(range), ": the range the masks in ", md.dir,
                     " were sampled with (masks.json)");
        } else if (d.value_range != range) {
            log_warn("data.value_range = ", range_text(d.value_range),
                     " reads the images otherwise than the ", range_text(range), " the masks in ",
                     md.dir,
                     " were sampled with (masks.json): the points are the same, the "
                     "pixels the network sees are not those sampling and linking read");
        }
    }
    if (!made.image.bands.empty() && d.bands.empty()) {
        d.bands = made.image.bands;
        log_info("data.bands = ", nlohmann::json(d.bands).dump(), ": the bands the masks in ",
                 md.dir, " were sampled with (masks.json)");
        return;
    }
    // Edge-aware linking compared the colours, the first three bands it read: other ones make
    // the segments it kept or skipped no longer those of the image the network sees.
    auto colours = [](const std::vector<int>& b) {
        return b.size() >= 3 ? std::vector<int>(b.begin(), b.begin() + 3) : b;
    };
    if (md.meta.value("max_color_step", -1.0) >= 0 && !d.bands.empty() &&
        colours(d.bands) != colours(made.image.bands))
        log_warn("data.bands = ", nlohmann::json(d.bands).dump(),
                 " shows the network other colours than the ",
                 made.image.bands.empty() ? std::string("images' own")
                                          : "bands " + nlohmann::json(made.image.bands).dump(),
                 " that edge-aware linking compared when it made the masks in ", md.dir,
                 " (masks.json max_color_step ", md.meta.value("max_color_step", -1.0),
                 "): the points are the same, the segments kept between them were judged on "
                 "other colours");
}

void adopt_labels_dir_settings(LabelSettings& l, const MaskDir& md, bool resuming,
                               const ConfigKeySources* source) {
    const LabelSettings defaults;
    const std::string kind = md.meta.value("kind", std::string("sparse"));
    // How a setting was given (its flag, or the file that holds the key), and what to drop.
    auto named = [&](const char* key, const std::string& asked) {
        const std::string dotted = std::string("labels.") + key;
        const std::string from = source ? (*source)({dotted}) : std::string();
        const ConfigKey* k = find_config_key(dotted);
        const bool flag = from == "command line" && k && !k->flag.empty();
        // A switch set false was typed --no-X (or --X false): named so, not as the --X it undoes.
        const std::string typed = flag && k->type == KeyType::boolean && asked == "false"
                                      ? "--no-" + k->flag.substr(2)
                                      : (flag ? k->flag : std::string());
        return std::pair<std::string, std::string>(
            flag ? dotted + " = " + asked + " (" + typed + ")"
                 : (from.empty() ? "" : from + ": ") + dotted + " = " + asked,
            flag ? typed : dotted);
    };
    auto refuse = [&](const char* key, const std::string& asked, const std::string& made) {
        const std::string dotted_key = std::string("labels.") + key;
        const std::string typed_from = source ? (*source)({dotted_key}) : std::string();
        // A setting typed beside --resume is not the run's: the masks the run trains on decide
        // it (a probe's --points 80 was said as the directory's, "made again").
        if (resuming && typed_from == "command line")
            PFCE_THROW(InputError, "cannot resume: ", dotted_key, " = ", asked,
                       " was given, but the masks the run trains on (labels.dir ", md.dir,
                       ") were made with ", key, " = ", made,
                       " (its masks.json); resume without it");
        // A resumed run's settings are its own: the directory holds other masks than it did.
        if (resuming)
            PFCE_THROW(InputError, "cannot resume: labels.dir ", md.dir, " holds masks made with ",
                       key, " = ", made, " (its masks.json), the run trained on masks made with ",
                       key, " = ", asked,
                       ": they are not the run's masks (made again since the run began, or another "
                       "directory). Its labels would change in the middle of the run: make the "
                       "masks as they were (the run's labels.points = ",
                       nlohmann::json(l.points).dump(), ", seed = ", l.seed,
                       ", scale_by_area = ", l.scale_by_area ? "true" : "false",
                       kind == "linked" || l.kind == "linked"
                           ? detail::concat(", radius = ", l.radius, ", conflict = ", l.conflict,
                                            ", max_color_step = ", l.max_color_step)
                           : std::string(),
                       "), or start over with --force");
        const auto [given, drop] = named(key, asked);
        PFCE_THROW(InputError, given, ": labels.dir ", md.dir, " holds ", kind, " masks made with ",
                   key, " = ", made,
                   " (its masks.json); a mask directory is trained on as it is: drop ", drop,
                   " or make masks with it (pfce sample / pfce link)");
    };
    if (l.kind != defaults.kind && l.kind != kind) refuse("kind", l.kind, kind);
    l.kind = kind;
    // The sampling and linking settings it records (a linked directory records its input's). A
    // setting that differs from its default and from the directory's is refused; the rest are
    // taken from the directory, so the run's config (checkpoints, --print-config) says how its
    // labels were made, not the defaults it never used.
    const nlohmann::json none;
    const nlohmann::json& link = md.meta.contains("link") ? md.meta["link"] : none;
    const nlohmann::json& sample = sampling_record(md);
    // Annotations imported with pfce sample --from were never sampled: a points, seed or
    // scale_by_area typed beside them did nothing, yet the run recorded it as how its labels
    // were made (a hostile probe's checkpoint said points = [100] of a person's points).
    if (!sample.is_object() && imported_record(md).is_object() && !resuming) {
        // Set where it is said to be set (a flag, a file's key), even to its default: --points
        // 500 typed beside them would seem to have taken effect.
        // (A key nobody set is said to come from the fallback, what no key names.)
        auto set_or_changed = [&](const char* key, bool changed) {
            return changed ||
                   (source && (*source)({std::string("labels.") + key}) != (*source)({}));
        };
        const std::vector<std::pair<const char*, std::string>> set = {
            {"points", set_or_changed("points", l.points != defaults.points)
                           ? nlohmann::json(l.points).dump()
                           : ""},
            {"seed", set_or_changed("seed", l.seed != defaults.seed) ? std::to_string(l.seed) : ""},
            {"scale_by_area",
             set_or_changed("scale_by_area", l.scale_by_area != defaults.scale_by_area)
                 ? (l.scale_by_area ? "true" : "false")
                 : ""}};
        for (const auto& [key, asked] : set)
            if (!asked.empty()) {
                const auto [given, drop] = named(key, asked);
                PFCE_THROW(InputError, given, ": labels.dir ", md.dir,
                           " holds annotations imported from ",
                           imported_record(md).contains("from_points")
                               ? imported_record(md).value("from_points", std::string()) +
                                     " (pfce sample --from-points"
                               : imported_record(md).value("from", std::string("a directory")) +
                                     " (pfce sample --from",
                           "; its masks.json), not points sampled by settings, so ", key,
                           " sets nothing there: drop ", drop);
            }
    }
    if (sample.is_object()) {
        const auto made = sample.value("points", std::vector<int>{});
        if (l.points != defaults.points && !made.empty() && made != l.points)
            refuse("points", nlohmann::json(l.points).dump(), nlohmann::json(made).dump());
        if (!made.empty()) l.points = made;
        if (sample.contains("scale_by_area")) {
            const bool by_area = sample.value("scale_by_area", defaults.scale_by_area);
            if (l.scale_by_area != defaults.scale_by_area && by_area != l.scale_by_area)
                refuse("scale_by_area", l.scale_by_area ? "true" : "false",
                       by_area ? "true" : "false");
            l.scale_by_area = by_area;
        }
        const auto seed = sample.value("seed", std::uint64_t{0});
        if (l.seed != defaults.seed && seed != l.seed)
            refuse("seed", std::to_string(l.seed), std::to_string(seed));
        l.seed = seed;
    }
    if (link.is_object() && link.contains("radius")) {
        const int made = link.value("radius", 0);
        if (l.radius != defaults.radius && made != l.radius)
            refuse("radius", std::to_string(l.radius), std::to_string(made));
        l.radius = made;
        const std::string conflict = link.value("conflict", defaults.conflict);
        if (l.conflict != defaults.conflict && conflict != l.conflict)
            refuse("conflict", l.conflict, conflict);
        l.conflict = conflict;
        // Older pfce link took any negative step as off, as -1 is now.
        const nlohmann::json& recorded = link.contains("max_color_step")
                                             ? link["max_color_step"]
                                             : nlohmann::json(defaults.max_color_step);
        double step = recorded.is_number() ? recorded.get<double>() : -1.0;  // inf was null
        if (step < 0) step = -1;
        if (l.max_color_step != defaults.max_color_step && step != l.max_color_step)
            refuse("max_color_step", std::to_string(l.max_color_step), std::to_string(step));
        l.max_color_step = step;
    } else {
        // Unlinked masks: linking settings were never applied, so the run's config holds their
        // defaults (a checkpoint said radius 5 of masks never linked). pfce train refuses them
        // where they were typed (refuse_label_settings_the_masks_contradict); a run that
        // recorded them before is resumed, since they do nothing without linking.
        l.radius = defaults.radius;
        l.conflict = defaults.conflict;
        l.max_color_step = defaults.max_color_step;
    }
}

std::string training_labels_dir(Backend& backend, const Config& cfg, const Dataset& ds) {
    const LabelSettings& l = cfg.labels;
    if (!l.dir.empty()) return l.dir;
    if (l.kind == "dense") return {};
    const fs::path base = fs::path(cfg.run.out) / "labels";
    SamplerOptions so;
    so.points = l.points;
    so.scale_by_area = l.scale_by_area;
    so.seed = l.seed;
    const std::string sparse = (base / "sparse").string();
    // A cache holding files pfce did not write is refused naming the run directory, which the user
    // typed (the mask writer names only the cache's own path, as if it were an --out given).
    const std::string cache_of = "the label cache of the run directory " + cfg.run.out + ":";
    for (const char* kind : {"sparse", "linked"})
        check_output_dir((base / kind).string(), "masks", "masks.json", cache_of);
    const MaskStageResult s = make_sparse_masks(ds, so, sparse, /*force=*/true);
    // The counts are per 300x300 and each image keeps its own, by its area: said for the first
    // image where it differs ("sampled 7/class" of 64x64 images kept 1 per class).
    std::string kept;
    if (so.scale_by_area && ds.size() > 0) {
        const SampleRef& first = ds.sample(0);
        const std::string counts = points_per_class_text(so, first.width, first.height);
        if (first.width * first.height != 90000)
            kept = " (per 300x300, each image's count scaled by its area: " + counts +
                   "/class at " + std::to_string(first.width) + "x" + std::to_string(first.height) +
                   ", the first image's size)";
    }
    // The points, as sparse masks (then linked below): "sampled linked 500/class D=20" read as
    // if linking were sampled.
    LabelSettings points = l;
    points.kind = "sparse";
    // The run's own masks, changed by hand since (a mask edited or removed): made again, as the
    // seed makes them, and said (they were replaced without a word; reproducibility probe).
    if (!s.made_again_because.empty())
        log_warn("labels: ", sparse, " held the masks of these settings, but ",
                 s.made_again_because,
                 ": sampled again (the seed makes the same masks; to train on masks edited by "
                 "hand, copy them out and train with --labels on the copy)");
    log_info("labels: ", s.reused ? "reused " : "sampled ", describe_labels(points), kept, " -> ",
             sparse);
    if (l.kind == "sparse") return sparse;
    LinkDirOptions lo;
    lo.in_dir = sparse;
    lo.out_dir = (base / "linked").string();
    lo.data_root = ds.root();
    lo.data_options = ds.options();
    lo.params = link_params(l);
    lo.force = true;  // the run's own cache: replaced when the settings change
    const LinkDirResult r = link_mask_dir(backend, lo);
    if (!r.made_again_because.empty())
        log_warn("labels: ", lo.out_dir, " held the masks of these settings, but ",
                 r.made_again_because,
                 ": linked again (the same points link the same way; to train on masks edited "
                 "by hand, copy them out and train with --labels on the copy)");
    log_info("labels: ", r.reused ? "reused " : "", describe_labels(l), " -> ", lo.out_dir,
             " (coverage ", 100 * r.quality.coverage_before(), "% -> ",
             100 * r.quality.coverage_after(), "%, purity ", r.quality.purity(), ")");
    return lo.out_dir;
}

void TooSmallImages::add(const std::string& name, int w, int h) {
    if (unet_side_fits(w, depth_) && unet_side_fits(h, depth_)) return;
    const std::string size = std::to_string(w) + "x" + std::to_string(h);
    if (count_++ == 0) first_ = name + " is " + size;
    if (named_.size() < 3) named_.push_back(name + " (" + size + ")");
    deepest_ = std::min({deepest_, deepest_unet_for_side(w), deepest_unet_for_side(h)});
}

std::string TooSmallImages::describe(const std::string& of) const {
    const std::string needs = "for a depth-" + std::to_string(depth_) + " U-Net" +
                              (of.empty() ? "" : " of " + of) + " (each side needs at least " +
                              std::to_string(smallest_unet_side(depth_)) + " pixels)";
    if (count_ == 1) return first_ + ": too small " + needs;
    std::string s = std::to_string(count_) + " images are too small " + needs + ": ";
    for (std::size_t k = 0; k < named_.size(); ++k) s += (k ? ", " : "") + named_[k];
    return s + (count_ > named_.size() ? ", ..." : "");
}

void check_sizes_fit_unet(const Dataset& ds, const Split& split, int depth, int crop_size) {
    const auto check = [&](const std::vector<std::size_t>& part, const char* name,
                           const char* list) {
        TooSmallImages small(depth);
        for (std::size_t i : part) {
            const SampleRef& r = ds.sample(i);
            small.add(r.image_path + (r.x0 || r.y0 ? " (sample " + r.id + ")" : std::string()),
                      r.width, r.height);
        }
        if (small.empty()) return;
        const int lower = small.lower_depth_that_fits();
        const bool training = std::string(name) == "training";
        PFCE_THROW(InputError, "the ", name, " split: ", small.describe(), "; the U-Net takes ",
                   name, " images whole: leave ", small.them(), " out of the ", name, " split (",
                   list, ")", training ? ", train on crops (data.crop_size)" : "",
                   lower > 0 ? " or lower model.depth to " + std::to_string(lower) : std::string());
    };
    if (crop_size == 0) check(split.train, "training", "data.train_list");
    check(split.val, "validation", "data.val_list");
    check(split.test, "test", "data.test_list");
}

TrainingFootprint training_footprint(const Dataset& ds, const Split& split, int crop_size) {
    TrainingFootprint f;
    f.train_count = split.train.size();
    f.channels = image_channels_of_bands(static_cast<int>(ds.options().image.bands.size()));
    if (!split.train.empty()) {
        const SampleRef& first = ds.sample(split.train.front());
        f.width = crop_size > 0 ? crop_size : first.width;
        f.height = crop_size > 0 ? crop_size : first.height;
    }
    // A sample holds its image's channels, its training labels and its dense mask: a byte each.
    const double per_pixel = f.channels + 2.0;
    for (const std::vector<std::size_t>* part : {&split.train, &split.val})
        for (std::size_t i : *part)
            f.data_bytes += per_pixel * ds.sample(i).width * ds.sample(i).height;
    return f;
}

TrainingFootprint training_footprint(const std::vector<SampleData>& train,
                                     const std::vector<SampleData>& val, int crop_size) {
    TrainingFootprint f;
    f.train_count = train.size();
    if (!train.empty()) {
        f.width = crop_size > 0 ? crop_size : train.front().image.width;
        f.height = crop_size > 0 ? crop_size : train.front().image.height;
        f.channels = train.front().image.channels;
    }
    for (const std::vector<SampleData>* part : {&train, &val})
        for (const SampleData& s : *part)
            f.data_bytes +=
                static_cast<double>(s.image.pixels.size()) + 2.0 * s.image.width * s.image.height;
    return f;
}

void check_training_memory(const TrainingFootprint& run, const Config& cfg, DeviceKind device,
                           double total, double available, bool resuming, double swap) {
    if (run.train_count == 0 || total <= 0) return;
    const bool cpu = device == DeviceKind::cpu;
    const int crop = cfg.data.crop_size;
    const int w = run.width, h = run.height;
    const int batch = static_cast<int>(std::min<std::int64_t>(
        cfg.run.batch_size, static_cast<std::int64_t>(run.train_count) *
                                (crop > 0 ? std::max(1, cfg.data.crops_per_image) : 1)));
    const int width = cfg.model.width;
    // On CUDA the step is in device memory (not judged here); the samples are in host memory on
    // every device.
    const double step = cpu ? training_step_bytes(std::int64_t{w} * h, batch, width) : 0.0;
    // The weights, gradients and optimizer state, whatever the crop (6 classes: the head's share
    // is negligible): a wide, deep U-Net holds tens of GB before its first step.
    const double params =
        cpu ? parameter_state_bytes(unet_parameter_count({run.channels, 6, cfg.model.depth, width}),
                                    cfg.optimizer.name)
            : 0.0;
    const double need = step + params + run.data_bytes;
    const double free_now = available > 0 ? available : total;
    if (need <= 0.8 * free_now) return;
    const std::string samples = detail::concat(
        format_bytes(run.data_bytes), " for the ", run.train_count,
        " training and validation samples it holds at ", run.channels + 2, " bytes a pixel");
    // The largest crop side (a multiple of 64) whose step at batch b fits in `room`: advice that
    // works, not a guess.
    auto fitting_side = [&](int b, double room) {
        int side = 0;
        for (int s = 64; s <= std::max(w, h); s += 64)
            if (training_step_bytes(std::int64_t{s} * s, b, width) + params <= room) side = s;
        return side;
    };
    // Beside the samples in half of the memory; else, what fits once there are fewer samples.
    const double beside = 0.5 * total - run.data_bytes;
    const int side = fitting_side(batch, beside), side1 = fitting_side(1, beside);
    const int alone = fitting_side(batch, 0.5 * total);
    auto crop_advice = [&](int s) {
        const int c = std::min(s, 512);
        return detail::concat("crops of at most ", s, " (--crop-size ", c, ": about ",
                              format_bytes(training_step_bytes(std::int64_t{c} * c, batch, width)),
                              " a step)");
    };
    const bool many_samples = run.data_bytes > 0.25 * total;
    std::string advice;
    if (params > 0.25 * total)  // no crop or batch makes room: the model itself is too large
        advice = detail::concat("lower model.width or model.depth (the model's ",
                                unet_parameter_count({3, 6, cfg.model.depth, width}),
                                " parameters, their gradients and the optimizer's state alone "
                                "need about ",
                                format_bytes(params), ")");
    else if (!cpu || (many_samples && step <= 0.5 * total))
        advice = "train on fewer samples (data.max_samples, or a shorter data.train_list)";
    else if (step + params <= beside)  // only what is available now is short
        advice = "free memory (other programs hold most of it)";
    else if (side >= 64)
        advice = "train on " + crop_advice(side);
    else if (side1 >= 64)
        advice = detail::concat("lower run.batch_size (--batch-size 1 with --crop-size ", side1,
                                " fits)");
    else if (many_samples && alone >= 64)
        advice = "train on fewer samples (data.max_samples, or a shorter data.train_list) and on " +
                 crop_advice(alone);
    else if (many_samples)
        advice =
            "train on fewer samples (data.max_samples, or a shorter data.train_list) and "
            "lower model.width";
    else
        advice = "lower model.width";
    const std::string what =
        !cpu       ? detail::concat("training on ", run.train_count, " samples")
        : crop > 0 ? detail::concat("training on ", crop, "x", crop, " crops at batch ", batch,
                                    " and model.width ", width)
                   : detail::concat("training on whole ", w, "x", h,
                                    " images (data.crop_size = 0) at batch ", batch,
                                    " and model.width ", width);
    const std::string held =
        !cpu ? " of host memory (" + samples + ")"
             : detail::concat(" (", format_bytes(step), " for one step on the CPU, ",
                              format_bytes(params),
                              " for the weights, gradients and optimizer "
                              "state, ",
                              samples, ")");
    // Refused only well past the machine's memory (the estimate is within about 20%), and
    // never on a resume: a run that trained here (swapping, say) must be able to go on. Without
    // swap, at all of the memory available now: nothing can take the excess, and the system kills
    // the run (a probe's run estimated at 1.11x the memory was killed after 131 s, and one at 0.99x
    // of it after 3 minutes, each with no message; that estimate was 0.4% above what it held).
    const bool no_swap = swap == 0;
    if (!resuming && no_swap && need > 0.97 * free_now)
        PFCE_THROW(InputError, what, " needs about ", format_bytes(need), held, ", ",
                   need > free_now ? "more than" : "nearly all of", " the ", format_bytes(free_now),
                   " of memory ", available > 0 ? "available now" : "this machine has",
                   " (and it has no swap: the system would stop the run without a message); ",
                   advice);
    if (!resuming && !no_swap && need > 1.25 * total)
        PFCE_THROW(InputError, what, " needs about ", format_bytes(need), held,
                   ", more than this machine's ", format_bytes(total), " of memory; ", advice);
    log_warn(what, " needs about ", format_bytes(need), held, ", close to or more than the ",
             format_bytes(free_now), " of memory ",
             available > 0 ? "available now" : "this machine has",
             no_swap ? ": this machine has no swap, and the system stops a run that runs out of "
                       "memory without a message; "
                     : ": the machine may swap or stop the run; ",
             advice);
}

void check_training_memory(const TrainingFootprint& run, const Config& cfg, DeviceKind device,
                           bool resuming) {
    const MachineMemory mem = machine_memory();
    check_training_memory(run, cfg, device, mem.total, mem.available, resuming, mem.swap);
}

void check_training_sizes(const std::vector<ImageSize>& train, const std::vector<std::string>& ids,
                          int crop_size, bool say_padding) {
    if (crop_size > 0) {
        // Crops larger than an image are padded with unlabelled pixels: allowed (mixed sizes),
        // but said, since a crop far larger than every image trains mostly on padding.
        std::size_t smaller = 0, first = 0;
        for (std::size_t i = 0; i < train.size(); ++i)
            if (train[i].width < crop_size || train[i].height < crop_size)
                if (smaller++ == 0) first = i;
        // Past twice the largest image's side every crop is over 3/4 padding: the memory and time
        // of a batch grow with the square of the crop while its labels stay those of the images.
        std::size_t largest = 0;
        for (std::size_t i = 1; i < train.size(); ++i)
            if (std::max(train[i].width, train[i].height) >
                std::max(train[largest].width, train[largest].height))
                largest = i;
        const int side = train.empty() ? 0 : std::max(train[largest].width, train[largest].height);
        if (side > 0 && crop_size > 2 * side)
            PFCE_THROW(InputError, "data.crop_size ", crop_size,
                       " is more than twice the side of the largest training image (", ids[largest],
                       ", ", train[largest].width, "x", train[largest].height,
                       "): every crop would be over 3/4 padding; use "
                       "at most ",
                       2 * side, ", or 0 to train on whole images");
        if (smaller > 0 && say_padding)
            log_warn("data.crop_size ", crop_size, " is larger than ", smaller, " of ",
                     train.size(), " training images (e.g. ", ids[first], ", ", train[first].width,
                     "x", train[first].height, "): their crops are padded with unlabelled pixels");
        return;
    }
    if (train.empty()) return;
    const ImageSize& first = train[0];
    // The crop suggested lies inside every training image: their shortest side (it suggested 512,
    // which datasets of small chips then refused as more than twice their side).
    int shortest = std::min(first.width, first.height);
    for (const ImageSize& im : train) shortest = std::min({shortest, im.width, im.height});
    shortest = std::clamp(shortest, 16, 8192);  // data.crop_size's range (validate)
    for (std::size_t i = 1; i < train.size(); ++i) {
        const ImageSize& im = train[i];
        if (im.width == first.width && im.height == first.height) continue;
        PFCE_THROW(InputError, "training images differ in size: ", ids[0], " is ", first.width, "x",
                   first.height, ", ", ids[i], " is ", im.width, "x", im.height,
                   "; train on random crops of one size (data.crop_size, e.g. --crop-size ",
                   shortest,
                   ", the shortest side of the training images; a larger crop pads "
                   "the smaller images with unlabelled pixels)");
    }
}

void check_training_sizes(const std::vector<SampleData>& train, const std::vector<std::string>& ids,
                          int crop_size) {
    std::vector<ImageSize> sizes;
    for (const SampleData& s : train) sizes.push_back({s.image.width, s.image.height});
    check_training_sizes(sizes, ids, crop_size);
}

void check_training_sizes(const Dataset& ds, const Split& split, int crop_size, bool say_padding) {
    std::vector<ImageSize> sizes;
    std::vector<std::string> ids;
    for (std::size_t i : split.train) {
        sizes.push_back({ds.sample(i).width, ds.sample(i).height});
        ids.push_back(ds.sample(i).id);
    }
    check_training_sizes(sizes, ids, crop_size, say_padding);
}

bool image_gray(const RgbImage& img) {
    const std::vector<std::uint8_t>& px = img.pixels;
    const auto nc = static_cast<std::size_t>(img.channels);
    for (std::size_t i = 0; i + nc <= px.size(); i += nc)
        for (std::size_t c = 1; c < nc; ++c)
            if (px[i] != px[i + c]) return false;
    return true;
}

bool training_images_gray(const std::vector<SampleData>& train) {
    for (const SampleData& s : train)
        if (!image_gray(s.image)) return false;
    return !train.empty();
}

nlohmann::json training_image_kinds(const std::vector<SampleData>& train) {
    const auto gray = std::count_if(train.begin(), train.end(),
                                    [](const SampleData& s) { return image_gray(s.image); });
    return {{"gray", gray}, {"colour", static_cast<std::ptrdiff_t>(train.size()) - gray}};
}

TrainedImageKinds trained_image_kinds(const nlohmann::json& data_meta) {
    TrainedImageKinds k;
    if (!data_meta.is_object()) return k;
    const nlohmann::json kinds = data_meta.value("image_kinds", nlohmann::json());
    const auto count = [&](const char* key) {
        const nlohmann::json v = kinds.value(key, nlohmann::json());
        return v.is_number_integer() ? v.get<std::int64_t>() : std::int64_t{-1};
    };
    if (kinds.is_object() && count("gray") >= 0 && count("colour") >= 0) {
        k = {true, count("gray") > 0, count("colour") > 0};
    } else if (const nlohmann::json all_gray = data_meta.value("gray_images", nlohmann::json());
               all_gray.is_boolean()) {
        k = {true, all_gray.get<bool>(), !all_gray.get<bool>()};
    }
    return k;
}

void warn_if_gray_and_colour_mixed(const std::vector<SampleData>& train,
                                   const std::vector<std::string>& ids) {
    std::size_t gray = 0;
    std::optional<std::size_t> first_gray, first_colour;
    for (std::size_t i = 0; i < train.size(); ++i) {
        const bool g = image_gray(train[i].image);
        std::optional<std::size_t>& first = g ? first_gray : first_colour;
        if (!first) first = i;
        gray += g ? 1 : 0;
    }
    if (!first_gray || !first_colour) return;
    log_warn("data: ", gray, " of the ", train.size(), " training images are gray (e.g. sample ",
             ids.at(*first_gray), ") and the others in colour (e.g. ", ids.at(*first_colour),
             "): the model learns from both kinds; if the gray ones are one band of a stack read "
             "by mistake, give data.bands");
}

std::string channel_name(std::size_t c, std::size_t channels, const std::vector<int>& bands) {
    static constexpr const char* kNames[3] = {"red", "green", "blue"};
    std::string name = "channel ";  // appended to: GCC 12 warns (-Wrestrict) at "" + string&&
    name += std::to_string(c + 1);
    if (!bands.empty())
        name += " (band " + std::to_string(bands[bands.size() == 1 ? 0 : c]) + ")";
    else if (channels == 3)
        name += std::string(" (") + kNames[c] + ")";
    return name;
}

nlohmann::json warn_if_a_channel_never_varies(const std::vector<SampleData>& train,
                                              const std::vector<int>& bands) {
    const std::size_t channels =
        train.empty() ? 3 : static_cast<std::size_t>(train[0].image.channels);
    nlohmann::json constant = nlohmann::json::array();
    for (std::size_t c = 0; c < channels; ++c) constant.push_back(nullptr);
    if (train.empty()) return constant;
    std::vector<std::uint8_t> lo(channels, 255), hi(channels, 0);
    for (const SampleData& s : train) {
        const std::uint8_t* p = s.image.pixels.data();
        for (std::size_t i = 0; i + channels <= s.image.pixels.size(); i += channels)
            for (std::size_t c = 0; c < channels; ++c) {
                lo[c] = std::min(lo[c], p[i + c]);
                hi[c] = std::max(hi[c], p[i + c]);
            }
    }
    std::string flat;
    std::size_t count = 0;
    for (std::size_t c = 0; c < channels; ++c)
        if (lo[c] == hi[c]) {
            flat += std::string(flat.empty() ? "" : ", ") + channel_name(c, channels, bands) +
                    " = " + std::to_string(lo[c]);
            constant[c] = lo[c];
            ++count;
        }
    if (count == 0) return constant;
    if (count == channels) {
        log_warn("data: every training image is one flat colour (", flat,
                 "): there is nothing to learn from");
        return constant;
    }
    log_warn("data: ", count == 1 ? "a channel holds" : "channels hold",
             " the same value in every training image (", flat, "): the model learns nothing from ",
             count == 1 ? "it" : "them", ", and its predictions go wrong on images where ",
             count == 1 ? "it varies" : "they vary",
             ". An empty or saturated band? Pick bands that vary with data.bands, or check "
             "data.value_range");
    return constant;
}

void check_class_count(const Palette& palette, const std::string& root) {
    // A softmax over one class is 1 everywhere: such a run would report a perfect score for
    // learning nothing.
    const std::size_t C = palette.classes.size();
    if (C < 2)
        PFCE_THROW(InputError, "dataset ", root, " has ", C, " class",
                   C == 1 ? " (" + palette.classes[0].name + ")" : "",
                   "; training needs at least 2 (a class per kind of surface, in its palette)");
}

void check_training_labels(const std::vector<std::int64_t>& per_class, const Palette& palette,
                           std::size_t train_samples, const std::string& where,
                           const std::vector<double>& alpha, const std::string& init_from,
                           bool dataset_read_255, const std::string& dataset) {
    std::int64_t labelled = 0;
    for (std::int64_t n : per_class) labelled += n;
    if (labelled == 0)
        PFCE_THROW(InputError, "no pixel of the ", train_samples, " training samples is labelled (",
                   where,
                   "): every mask pixel is unlabelled or an ignore colour, so the loss would see "
                   "nothing; check the masks' colours against the dataset's palette (pfce data "
                   "stats)");
    std::string unseen;
    for (std::size_t c = 0; c < per_class.size() && c < palette.classes.size(); ++c)
        if (per_class[c] == 0) unseen += (unseen.empty() ? "" : ", ") + palette.classes[c].name;
    // Weights of 0 on every class the labels hold: loss 0 and no gradient, epoch after epoch,
    // with nothing else to say so (a weight above 0 on a class without a training pixel counts
    // for nothing).
    if (alpha.size() == per_class.size()) {
        std::string weighed, labelled_names;
        for (std::size_t c = 0; c < per_class.size() && c < palette.classes.size(); ++c) {
            if (per_class[c] == 0) continue;
            labelled_names += (labelled_names.empty() ? "" : ", ") + palette.classes[c].name;
            if (alpha[c] > 0) weighed += palette.classes[c].name;
        }
        if (weighed.empty())
            PFCE_THROW(InputError, "loss.alpha = ", nlohmann::json(alpha).dump(),
                       " gives weight 0 to every class labelled in the training samples (",
                       labelled_names, ", in ", where,
                       "), so the loss would be 0 and nothing would train; expected a weight "
                       "above 0 for at least one of them");
    }
    if (!unseen.empty() && dataset_read_255)
        PFCE_THROW(InputError, "no training pixel is labelled ", unseen, " (", where,
                   "), while mask pixels of value 255 were read as unlabelled (pfce's default "
                   "for index masks): if 255 is ",
                   unseen,
                   ", as in binary 0/255 masks, give each class its value in mask.values of ",
                   dataset,
                   "/dataset.toml (e.g. values = [0, 255]); to train without it, add 255 to "
                   "mask.ignore there");
    // Fine-tuning: the model predicts such a class already (a walkthrough was told it could not
    // learn it); labels of the other classes alone teach it to predict them instead.
    if (!unseen.empty() && !init_from.empty())
        log_warn("no training pixel is labelled ", unseen, " (", where, "): this run teaches ",
                 "nothing of it beyond what ", init_from,
                 " learnt, and training on the other classes' labels alone may make the model "
                 "unlearn it");
    else if (!unseen.empty())
        log_warn("no training pixel is labelled ", unseen, " (", where,
                 "): the model cannot learn to predict it, and its test IoU will be 0 where it "
                 "occurs");
}

TrainInputs load_train_inputs(Backend& backend, Config& cfg, const ConfigKeySources& source,
                              bool resuming) {
    // A path that is not there, named with where it was set: a config file's data.root was said
    // as "dataset root X is not a directory", naming neither the file nor the key.
    auto missing = [&](const char* key, const std::string& path, const char* expected) {
        std::error_code ec;
        // A path that is there but cannot be looked at (a loop of links, no permission) is
        // refused by the open that follows, naming the system's reason.
        if (path.empty() || fs::exists(path, ec) || ec) return;
        const std::string from = source({key});
        if (from == "command line")
            PFCE_THROW(InputError, find_config_key(key)->flag, " ", path,
                       " does not exist (expected ", expected, ")");
        PFCE_THROW(InputError, from, ": ", key, " = \"", path, "\" does not exist (expected ",
                   expected, ")");
    };
    if (cfg.data.source == "dataset")
        missing("data.root", cfg.data.root, "the dataset's directory");
    missing("labels.dir", cfg.labels.dir, "the --out of pfce sample or pfce link");
    // Held while the samples are read (into memory, below): `pfce data synth --force` writing the
    // dataset again meanwhile would give the run damaged or mixed files (it is refused instead,
    // and this refused while it writes).
    DirLock reading_data;
    const Dataset ds = open_run_dataset(cfg.data, false, "--data", &reading_data);
    check_class_count(ds.palette(), cfg.data.root);
    validate_for_classes(cfg, ds.palette().class_names(), cfg.data.root, source);
    const Split split = run_split(ds, cfg.data, &source);
    if (split.train.empty() && cfg.data.split_by == "tile" && cfg.data.train_list.empty())
        PFCE_THROW(InputError, "dataset ", cfg.data.root, ": its ",
                   tiles_of(ds, split.val).size() + tiles_of(ds, split.test).size(),
                   " tiles leave no training tile (data.train_frac ", cfg.data.train_frac,
                   " of the tiles, data.split_by = \"tile\"): raise data.train_frac or add tiles");
    if (split.train.empty())
        PFCE_THROW(InputError, "dataset ", cfg.data.root, ": ", ds.size(),
                   " samples leave no training sample (train_frac ", cfg.data.train_frac, ")");
    // Before labels are sampled or linked and pixels read: only the files' sizes are needed.
    check_sizes_fit_unet(ds, split, cfg.model.depth, cfg.data.crop_size);
    check_training_sizes(ds, split, cfg.data.crop_size);  // one size, or crops: what memory sizes
    check_training_memory(training_footprint(ds, split, cfg.data.crop_size), cfg, backend.device(),
                          resuming);
    const std::string labels = training_labels_dir(backend, cfg, ds);
    TrainInputs in;
    // Held while the masks are read: `pfce sample --force` replacing them meanwhile would mix old
    // and new ones (it is refused instead, and this refused while it writes).
    const DirLock reading =
        labels.empty()
            ? DirLock()
            : lock_dir_for_reading(labels, cfg.labels.dir.empty() ? "labels" : "labels.dir");
    if (!labels.empty()) {
        const MaskDir md = open_mask_dir(labels);
        in.label_kind = md.meta.value("kind", std::string("sparse"));
        if (!cfg.labels.dir.empty()) {
            adopt_labels_dir_settings(cfg.labels, md, resuming, &source);
        }
    }
    in.train = load_samples(ds, split.train, labels);
    in.val = load_samples(ds, split.val, labels, /*scored=*/true);
    // Validation images without dense masks (images_without_mask = "unlabelled"), labelled by
    // points alone: their points are the truth validation scores, as eval --labels scores them,
    // so val mIoU, best.ckpt and the plateau schedule follow the points (their mIoU was undefined;
    // beside images with masks, they were left out of it).
    // (load_samples scores them so; counted here to be said.)
    const std::size_t val_on_points =
        labels.empty() ? 0
                       : static_cast<std::size_t>(std::count_if(
                             split.val.begin(), split.val.end(),
                             [&](std::size_t i) { return ds.sample(i).mask_path.empty(); }));
    if (val_on_points == split.val.size() && val_on_points > 0)
        log_info("validation scores the points of ", labels, " on its ", split.val.size(),
                 split.val.size() == 1 ? " image" : " images",
                 ": they have no dense masks, so val mIoU and OA count those points");
    else if (val_on_points > 0)
        log_info("validation scores the points of ", labels, " on the ", val_on_points, " of its ",
                 split.val.size(),
                 " images that have no dense mask, the dense masks on the others");
    in.stats = training_channel_stats(in.train, in.val);
    for (const auto& c : ds.palette().classes) {
        in.class_names.push_back(c.name);
        in.class_colours.push_back(c.colour);
    }
    in.unlabelled_colours = ds.palette().unlabelled_colours;
    in.clutter_class = find_clutter_class(ds.palette());
    in.mask_values = recorded_mask_values(ds);
    for (std::size_t i : split.train) in.train_ids.push_back(ds.sample(i).id);
    for (std::size_t i : split.val) in.val_ids.push_back(ds.sample(i).id);
    for (std::size_t i : split.test) in.test_ids.push_back(ds.sample(i).id);
    warn_if_gray_and_colour_mixed(in.train, in.train_ids);
    const nlohmann::json constant_channels =
        warn_if_a_channel_never_varies(in.train, cfg.data.bands);
    in.data_meta = {{"root", resolved_path(cfg.data.root)},
                    // What data.kind "auto" found: a resume knows whether data.tile_* mattered.
                    {"dataset_kind", kDatasetKinds.name(ds.kind())},
                    {"labels", labels.empty() ? std::string() : resolved_path(labels)},
                    {"train", split.train.size()},
                    {"val", split.val.size()},
                    {"test", split.test.size()},
                    {"identity", data_identity(ds)},
                    {"gray_images", training_images_gray(in.train)},
                    {"image_kinds", training_image_kinds(in.train)},
                    {"constant_channels", constant_channels}};
    {  // predict says when an input's pixels are of another size, and the --zoom for it
        std::vector<std::string> paths;
        for (std::size_t i : split.train) paths.push_back(ds.sample(i).image_path);
        in.data_meta["ground_pixel_size"] = common_ground_pixel_size(paths);
    }
    // Which Potsdam label set was read (eval scores another one as such, not as changed files).
    if (ds.kind() == DatasetKind::tiles) in.data_meta["tile_labels_read"] = ds.tile_labels_read();
    if (val_on_points > 0)
        in.data_meta["val_scored_on"] =
            val_on_points == split.val.size() ? "labels" : "dense+labels";

    // Say what the loss will see, so masks that lost their labels cannot train unnoticed.
    const std::vector<std::int64_t> per_class =
        training_label_counts(in.train, ds.palette().num_classes());
    std::int64_t pixels = 0, labelled = 0;
    for (const SampleData& s : in.train)
        pixels += static_cast<std::int64_t>(s.train_labels.labels.size());
    for (std::int64_t n : per_class) labelled += n;
    // What the labels hold, whatever their path: a run resumed with its mask directory at another
    // path takes it only where these counts are the run's (a copy, not other masks).
    in.data_meta["label_counts"] = {
        {"train", per_class}, {"val", training_label_counts(in.val, ds.palette().num_classes())}};
    std::string counts;
    for (std::size_t c = 0; c < per_class.size(); ++c)
        counts +=
            (c ? ", " : "") + ds.palette().classes[c].name + " " + std::to_string(per_class[c]);
    log_info("data: ", cfg.data.root, " (", ds.size(), " samples; train ", in.train.size(),
             ", val ", in.val.size(), ", test ", split.test.size(),
             "), training labels: ", in.label_kind, ", ", labelled, " of ", pixels,
             " pixels labelled (",
             pixels > 0 ? 100.0 * static_cast<double>(labelled) / static_cast<double>(pixels) : 0.0,
             "%): ", counts);
    // Points drawn here that keep most of what the dense masks label are no sparse labels: the
    // run is a dense one under another name (a probe's points = 1000000000 trained on 100% of the
    // pixels, "sparse", without a word).
    if (in.label_kind == "sparse" && cfg.labels.dir.empty() && labelled > 0) {
        std::int64_t dense = 0;
        for (const SampleData& s : in.train)
            for (const std::uint8_t v : s.dense.labels) dense += v != 255;
        warn_if_points_are_dense(cfg.labels.points, labelled, dense, "", "run");
    }
    check_training_labels(per_class, ds.palette(), in.train.size(),
                          labels.empty() ? "the dense masks of " + cfg.data.root
                          : cfg.labels.dir.empty()
                              ? "the " + in.label_kind + " labels drawn from the dense masks of " +
                                    cfg.data.root + ", in " + labels
                              : labels,
                          cfg.loss.alpha_auto || cfg.loss.crf_weight > 0
                              ? std::vector<double>{}  // the CRF term trains on every pixel
                              : cfg.loss.alpha,
                          cfg.model.init_from, ds.read_255_as_unlabelled(), ds.root());
    return in;
}

}  // namespace pfce
