// make_sparse_masks: read + sample + write in parallel chunks, masks.json (with the settings that
// make the directory reusable and the label counts) written last.
#include "data/sparse_masks.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>

#include "core/dir_lock.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/log.hpp"
#include "core/parallel.hpp"
#include "core/stop_signal.hpp"
#include "core/text.hpp"
#include "data/data_fingerprint.hpp"
#include "data/georef_sidecar.hpp"
#include "data/image_io.hpp"
#include "data/mask_dir.hpp"

namespace pfce {
namespace fs = std::filesystem;

std::string recorded_dense_labels(const MaskDir& md) {
    const auto s = md.meta.find("sample");
    if (s == md.meta.end() || !s->is_object()) return {};
    const auto d = s->find("dense_labels");
    return d != s->end() && d->is_string() ? d->get<std::string>() : std::string();
}

bool check_dense_labels_unchanged(const MaskDir& md, const Dataset& ds) {
    const std::string made = recorded_dense_labels(md);
    if (made.empty()) return true;  // masks of a pfce that did not record it: nothing to compare
    const std::string now = dense_labels_fingerprint(ds);
    if (made == now) return true;
    // Warned, not refused: the fingerprint hashes each mask file's size and modification time, not
    // its pixels (reading every mask to open a mask directory would cost as much as sampling), so a
    // touch, a copy that did not keep the times or a checkout moves it while the labels stay the
    // same. Refusing would make such masks unusable; saying so lets the user decide.
    static std::mutex warned_mutex;
    static std::set<std::string> warned;  // the train and validation samples both check
    {
        std::lock_guard<std::mutex> lock(warned_mutex);
        if (!warned.insert(md.dir + "\n" + ds.root()).second) return false;
    }
    const bool linked = md.meta.value("kind", std::string()) == "linked";
    const std::string from = md.meta.value("linked_from", std::string("SPARSE"));
    // The sampling settings it records, so the command makes the same kind of masks again.
    const nlohmann::json& made_with = md.meta.at("sample");
    // Potsdam's other label set opened (data.tile_labels, or "auto" finding other files): the
    // masks are as they were; what differs is which labels the dataset reads, said as such.
    const bool made_eroded = made_with.value("tile_labels", std::string()) == "eroded";
    if (ds.kind() == DatasetKind::tiles && made_eroded != (ds.tile_labels_read() == "eroded")) {
        const auto set = [](const std::string& read) {
            return read == "eroded"  ? "eroded labels (_label_noBoundary.tif)"
                   : read == "mixed" ? "labels of both sets (data.tile_labels = \"auto\")"
                                     : "full labels (_label.tif)";
        };
        log_warn("the masks in ", md.dir, " were sampled from the ",
                 set(made_eroded ? "eroded" : "full"), " of ", ds.root(),
                 ", which is read with its ", set(ds.tile_labels_read()),
                 " now: give --tile-labels ", made_eroded ? "eroded" : "full",
                 " (data.tile_labels) to read the labels they were sampled from (their points "
                 "are labels of either set, but validation and scores read the set opened)");
        return false;
    }
    const auto points = made_with.value("points", std::vector<int>{});
    std::string flags;
    if (points.size() == 1) flags += " --points " + std::to_string(points[0]);
    if (points.size() > 1) {
        flags += " --points-per-class ";
        for (std::size_t k = 0; k < points.size(); ++k) {
            if (k) flags += ',';  // piece by piece: GCC 12 warns falsely (-Wrestrict) on ","+string
            flags += std::to_string(points[k]);
        }
    }
    if (!made_with.value("scale_by_area", false))
        flags += " --no-scale-by-area";  // the default scales
    flags += " --seed " + std::to_string(made_with.value("seed", std::uint64_t{0}));
    // How the masks' dataset was opened, as masks.json records it (the defaults where older
    // directories record nothing), so the command cuts and reads the images as the masks were.
    const DatasetOptions& o = ds.options();
    DatasetOptions rec;  // what the record leaves out is the default, but the cutting as now
    rec.tile_patch = o.tile_patch;
    rec.tile_stride = o.tile_stride;
    apply_sampled_dataset_options(made_with, rec);
    if (ds.kind() == DatasetKind::tiles) {
        if (rec.tile_patch != o.tile_patch || rec.tile_stride != o.tile_stride) {
            // Not a changed dataset: the same tiles cut otherwise, so other windows.
            log_warn("the masks in ", md.dir, " were sampled from windows of ", rec.tile_patch,
                     " pixels at a stride of ", rec.tile_stride, "; ", ds.root(), " is cut into ",
                     o.tile_patch, " at ", o.tile_stride,
                     " now, so its windows are other pixels: open it as the masks were made "
                     "(--tile-patch ",
                     rec.tile_patch, " --tile-stride ", rec.tile_stride,
                     ", data.tile_patch and data.tile_stride)");
            return false;
        }
        flags += " --tile-patch " + std::to_string(rec.tile_patch) + " --tile-stride " +
                 std::to_string(rec.tile_stride);
        if (rec.tile_image != DatasetOptions().tile_image)
            flags += " --tile-image " + rec.tile_image;
        if (rec.tile_labels != DatasetOptions().tile_labels)
            flags += " --tile-labels " + rec.tile_labels;
    }
    if (!rec.image.bands.empty()) {
        flags += " --bands ";
        for (std::size_t k = 0; k < rec.image.bands.size(); ++k) {
            if (k) flags += ',';
            flags += std::to_string(rec.image.bands[k]);
        }
    }
    if (rec.image.has_value_range())  // as typed back: every digit a float range needs
        flags += " --value-range " + format_shortest(rec.image.range_lo) + ',' +
                 format_shortest(rec.image.range_hi);
    log_warn("the masks in ", md.dir, " were ", linked ? "linked from masks " : "",
             "sampled from the dense labels of ", ds.root(),
             " as they were then (masks.json sample.dense_labels ", made, "; now ", now,
             "): its mask files, palette or dataset.toml have changed or been touched since, or "
             "samples were added or removed. If only the files' times changed (a touch, a copy), "
             "the masks still fit; if the dataset changed, they are labels of other images: make "
             "them again with ",
             linked ? "pfce sample --data " + shell_word(ds.root()) + flags + " --out " +
                          shell_word(from) + " --force, then pfce link --in " + shell_word(from) +
                          " --out " + shell_word(md.dir) + " --force (with its link settings)"
                    : "pfce sample --data " + shell_word(ds.root()) + flags + " --out " +
                          shell_word(md.dir) + " --force");
    return false;
}

void check_class_encodings_unchanged(const MaskDir& md, const Dataset& ds) {
    // Masks of another dataset (their source still there) are refused as such by the caller: the
    // encodings of two datasets may differ without a class having changed.
    const std::string source = md.meta.value("source", std::string());
    std::error_code ec;
    if (!source.empty() && fs::exists(source, ec) &&
        resolved_path(source) != resolved_path(ds.root()))
        return;
    const std::string recoded = class_encoding_change(
        md.meta.value("class_encodings", nlohmann::json()), nlohmann::json(class_encodings(ds)));
    if (!recoded.empty())
        PFCE_THROW(InputError, "the masks in ", md.dir, " were made when the masks of ", ds.root(),
                   " encoded the classes otherwise (", recoded,
                   "): their points are of other classes than its dense masks are now; restore "
                   "its description (dataset.toml), or make the masks again (pfce sample --data ",
                   ds.root(), " --out NEW_DIR)");
}

namespace {

// A "sample" record as sparse_mask_settings writes it now: a dataset that is no tiles dataset has
// the default tiling whatever was typed (directories made before recorded the flags typed, and
// were then refused as "made otherwise" by the same command).
nlohmann::json as_recorded_now(nlohmann::json made) {
    if (!made.is_object() || made.value("dataset_kind", std::string("tiles")) == "tiles")
        return made;
    const DatasetOptions defaults;
    if (made.contains("tile_patch")) made["tile_patch"] = defaults.tile_patch;
    if (made.contains("tile_stride")) made["tile_stride"] = defaults.tile_stride;
    made.erase("tile_image");
    return made;
}

// What differs between the sampling a mask directory records (`was`) and the one asked for, key
// by key ("points [5] there, [50] asked"), as link says of its settings.
std::string sampled_masks_change(const nlohmann::json& was, const nlohmann::json& now, bool sparse,
                                 std::size_t had, std::size_t has) {
    if (!sparse) return "linked masks, not sampled points: sample into a directory of its own";
    std::string out;
    auto add = [&](const std::string& piece) { out += (out.empty() ? "" : ", ") + piece; };
    for (const auto& [key, value] : now.items()) {
        if (key == "dense_labels") continue;  // said below, with the samples
        const nlohmann::json there = was.value(key, nlohmann::json());
        if (there != value)
            add(key + " " + (there.is_null() ? "unrecorded" : there.dump()) + " there, " +
                value.dump() + " asked");
    }
    if (had != has)
        add(std::to_string(had) + " samples there, " + std::to_string(has) + " in the dataset");
    else if (was.value("dense_labels", nlohmann::json()) !=
             now.value("dense_labels", nlohmann::json()))
        add("from other dense labels");
    return out.empty() ? "other samples" : out;
}

}  // namespace

nlohmann::json sparse_mask_settings(const Dataset& ds, const SamplerOptions& so) {
    std::error_code ec;
    const fs::path root = fs::weakly_canonical(fs::absolute(ds.root()), ec);
    // The tiling of a dataset that is no tiles dataset did nothing: recorded as the defaults
    // whatever was typed (as directories made with them recorded), so masks sampled again with
    // the same settings are the same masks, not "made otherwise".
    const bool tiles = ds.kind() == DatasetKind::tiles;
    const DatasetOptions defaults;
    nlohmann::json s = {{"source", ec ? ds.root() : root.string()},
                        {"dataset_kind", kDatasetKinds.name(ds.kind())},
                        {"dense_labels", dense_labels_fingerprint(ds)},
                        {"tile_patch", tiles ? ds.options().tile_patch : defaults.tile_patch},
                        {"tile_stride", tiles ? ds.options().tile_stride : defaults.tile_stride},
                        {"points", so.points},
                        {"scale_by_area", so.scale_by_area},
                        {"seed", so.seed}};
    // How the images open, for whoever reopens the dataset from this record (edge-aware linking
    // reads them); only where not the default, so directories made before still compare equal.
    if (tiles && ds.options().tile_image != defaults.tile_image)
        s["tile_image"] = ds.options().tile_image;
    // The labels read, not the setting: masks sampled under "auto" from a folder of eroded labels
    // keep reading those when the full ones are added beside them. Full labels (and a mix, which
    // only "auto" reads) are recorded as nothing, as before the key existed.
    if (ds.tile_labels_read() == "eroded") s["tile_labels"] = "eroded";
    const ImageChoice& image = ds.options().image;
    if (!image.bands.empty()) s["bands"] = image.bands;
    if (image.has_value_range()) s["value_range"] = {image.range_lo, image.range_hi};
    return s;
}

void record_image_reading(nlohmann::json& record, const ImageChoice& image) {
    record["reading_recorded"] = true;
    if (!image.bands.empty()) record["bands"] = image.bands;
    if (image.has_value_range()) record["value_range"] = {image.range_lo, image.range_hi};
}

const nlohmann::json* image_reading_record(const MaskDir& md) {
    const auto own = [](const nlohmann::json& meta) -> const nlohmann::json* {
        if (!meta.is_object()) return nullptr;
        if (const auto s = meta.find("sample"); s != meta.end() && s->is_object()) return &*s;
        if (const auto i = meta.find("imported"); i != meta.end() && i->is_object())
            return i->value("reading_recorded", false) ? &*i : nullptr;
        return nullptr;
    };
    if (const nlohmann::json* r = own(md.meta)) return r;
    if (md.meta.contains("imported")) return nullptr;  // imported before the reading was recorded
    if (const auto link = md.meta.find("link"); link != md.meta.end() && link->is_object())
        if (const auto in = link->find("in_meta"); in != link->end()) {
            if (const nlohmann::json* r = own(*in)) return r;
            if (in->is_object() && in->contains("imported")) return nullptr;
        }
    return &md.meta;  // the oldest directories record the sampling at the top level
}

void apply_sampled_dataset_options(const nlohmann::json& made, DatasetOptions& o) {
    if (!made.is_object()) return;
    if (made.contains("tile_patch") && made["tile_patch"].is_number_integer())
        o.tile_patch = made["tile_patch"].get<int>();
    if (made.contains("tile_stride") && made["tile_stride"].is_number_integer())
        o.tile_stride = made["tile_stride"].get<int>();
    // A record with the tiling records the tile image set and labels where they were not the
    // defaults (sparse_mask_settings), so there a missing one is the default, not "as typed now".
    const bool tiling_recorded = made.contains("tile_patch");
    if (made.contains("tile_image") && made["tile_image"].is_string())
        o.tile_image = made["tile_image"].get<std::string>();
    else if (tiling_recorded)
        o.tile_image = DatasetOptions().tile_image;
    if (made.contains("tile_labels") && made["tile_labels"].is_string())
        o.tile_labels = made["tile_labels"].get<std::string>();
    else if (tiling_recorded)
        o.tile_labels = DatasetOptions().tile_labels;
    // Bands and a value range are recorded where set (sparse_mask_settings) since pfce read
    // either, so one missing is the default (the file's own colours, 8 bits), not as typed now: a
    // --bands typed beside masks made without was taken without a word.
    o.image.bands.clear();
    if (made.contains("bands") && made["bands"].is_array())
        for (const auto& b : made["bands"])
            if (b.is_number_integer()) o.image.bands.push_back(b.get<int>());
    o.image.range_lo = o.image.range_hi = 0;
    const auto r = made.find("value_range");
    if (r != made.end() && r->is_array() && r->size() == 2 && (*r)[0].is_number() &&
        (*r)[1].is_number()) {
        o.image.range_lo = (*r)[0].get<double>();
        o.image.range_hi = (*r)[1].get<double>();
    }
}

namespace {

// Where sample i's image lies (its window of a tile: a patch), as its mask's sidecars.
SidecarGeoref sample_place(const Dataset& ds, std::size_t i) {
    const SampleRef& s = ds.sample(i);
    GeoReference tags;
    try {
        tags = read_georeference(s.image_path);
    } catch (const Error&) {  // its readers say what is wrong with it
    }
    return window_place(s.image_path, tags, s.x0, s.y0);
}

}  // namespace

void write_masks_in_chunks(std::size_t n, const Dataset& ds, MaskDirWriting& writing,
                           const std::function<LabelMap(std::size_t)>& mask_of,
                           const std::function<void(std::size_t, std::size_t)>& progress,
                           MaskStageResult& r) {
    const Palette& palette = ds.palette();
    const int C = palette.num_classes();
    std::atomic<bool> crs_said{false};  // a CRS the masks cannot carry: said once
    r.per_class.assign(static_cast<std::size_t>(C), 0);
    // Chunks of about half a second: progress and a stop request are seen between chunks, so a
    // fixed 256 images of 6000x6000 showed nothing for 79 s and took 71 s to stop. A few images
    // per thread to start with, then as many as the last chunk's rate fits, up to 256.
    std::size_t chunk = 4;
    for (std::size_t first = 0, count = 0; first < n; first += count) {
        count = std::min(chunk, n - first);
        const auto chunk_start = std::chrono::steady_clock::now();
        std::vector<std::vector<std::int64_t>> counts(count);
        parallel_for(
            count,
            [&](std::size_t k) {
                const std::size_t i = first + k;
                const LabelMap mask = mask_of(i);
                counts[k].assign(static_cast<std::size_t>(C) + 1, 0);
                for (std::uint8_t l : mask.labels) ++counts[k][l == 255 ? C : l];
                const SidecarGeoref place = sample_place(ds, i);
                if (place.crs_not_carried && !crs_said.exchange(true))
                    log_warn(ds.sample(i).image_path,
                             "'s CRS is defined by GeoTIFF keys without an EPSG code, which pfce "
                             "cannot write beside a PNG mask: its mask (and any other such "
                             "image's) lies on the image's pixels but names no CRS");
                writing.write(i, mask, palette, place);
            },
            2);
        for (std::size_t m = 0; m < count; ++m) {
            const std::vector<std::int64_t>& c = counts[m];
            std::int64_t labelled = 0;
            for (int k = 0; k < C; ++k) {
                r.per_class[static_cast<std::size_t>(k)] += c[static_cast<std::size_t>(k)];
                labelled += c[static_cast<std::size_t>(k)];
            }
            r.labelled += labelled;
            r.pixels += labelled + c[static_cast<std::size_t>(C)];
            if (labelled == 0) r.labelling_nothing.push_back(first + m);
        }
        if (progress) progress(first + count, n);
        // Ctrl-C / SIGTERM (core/stop_signal): unwinding undoes the writing (mask_dir.hpp).
        if (stop_requested()) throw StopRequested();
        const double took =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - chunk_start).count();
        const double per_image = took / static_cast<double>(count);
        chunk =
            per_image > 0 ? static_cast<std::size_t>(std::clamp(0.5 / per_image, 1.0, 256.0)) : 256;
    }
}

MaskStageResult make_sparse_masks(const Dataset& ds, const SamplerOptions& so,
                                  const std::string& dir, bool force,
                                  const std::function<void(std::size_t, std::size_t)>& progress) {
    const auto start = std::chrono::steady_clock::now();
    validate_sampler_options(so);
    const int C = ds.palette().num_classes();
    if (so.points.size() > 1 && static_cast<int>(so.points.size()) != C)
        PFCE_THROW(InputError, "labels.points: ", so.points.size(), " counts, but dataset ",
                   ds.root(), " has ", C,
                   " classes: expected one count per class, or one for every class");
    refuse_output_among_samples(ds, dir, "--out");
    const nlohmann::json settings = sparse_mask_settings(ds, so);
    const std::size_t n = ds.size();
    std::vector<std::string> ids(n);
    for (std::size_t i = 0; i < n; ++i) ids[i] = ds.sample(i).id;

    MaskStageResult r;
    r.dir = dir;
    r.per_class.assign(static_cast<std::size_t>(C), 0);
    // Not while another pfce replaces them: its masks.json stays until its last mask is in.
    std::optional<DirLock> reading;
    std::optional<MaskDir> existing;
    if (fs::exists(fs::path(dir) / "masks.json")) {
        reading.emplace(lock_dir_for_reading(dir, "--out"));
        try {
            existing = open_mask_dir(dir);
        } catch (const InputError& e) {
            // A damaged record (cut short, edited) names nothing to reuse: --force samples the
            // masks again (prepare_mask_dir checks the directory is pfce's), as it promised, where
            // it said only "not valid JSON" and left rm -rf as the way out.
            if (!force)
                PFCE_THROW(InputError, e.what(),
                           "; pass --force to sample the masks of this directory again");
        }
    }
    if (existing) {
        const MaskDir& md = *existing;
        const nlohmann::json made = as_recorded_now(md.meta.value("sample", nlohmann::json()));
        // A linked directory keeps the "sample" record of the points it was linked from: the
        // same settings, but not these masks.
        const bool sparse = md.meta.value("kind", std::string()) == "sparse";
        // Its record's classes must be the dataset's (an edited masks.json was "reused" while
        // every reader refused it): told, and sampled again with --force.
        std::string other_classes;
        try {
            check_mask_dir_classes(md, ds.palette(), ds.root());
        } catch (const InputError& e) {
            other_classes = e.what();
        }
        if (!other_classes.empty() && !force)
            PFCE_THROW(InputError, other_classes,
                       "; pass --force to sample the masks of this directory again");
        const bool same_masks =
            other_classes.empty() && md.format == 2 && sparse && made == settings && md.ids == ids;
        const std::string changed = same_masks ? mask_files_change(md) : "";
        if (!changed.empty() && !force)
            PFCE_THROW(InputError, dir, " holds masks sampled with these settings, but ", changed,
                       ": pass --force to sample them again");
        r.made_again_because = changed;
        if (same_masks && changed.empty()) {
            r.reused = true;
            remove_stale_temps(dir);  // a killed writer's, beside the complete masks
            // The same masks; their place is their images' now (georeferenced again since).
            if (const std::size_t moved =
                    update_mask_places(md, [&](std::size_t k) { return sample_place(ds, k); }))
                log_info(dir, ": ", moved, moved == 1 ? " mask's" : " masks'",
                         " place on the map updated (their images were georeferenced again)");
            r.labelled = md.meta.value("labelled_pixels", std::int64_t{0});
            r.pixels = md.meta.value("pixels", std::int64_t{0});
            const auto pc = md.meta.value("per_class", std::vector<std::int64_t>{});
            if (pc.size() == r.per_class.size()) r.per_class = pc;
            return r;
        }
        // The same settings but other dense labels: say so, since the command is the same.
        nlohmann::json same = made;
        if (!force && sparse && same.is_object() && md.ids == ids) {
            same["dense_labels"] = settings["dense_labels"];
            if (same == settings)
                PFCE_THROW(InputError, dir, " holds masks sampled with these settings from ",
                           ds.root(),
                           " as its labels were before: its palette, dataset.toml or "
                           "a mask file changed (or was touched) since, or the masks predate the "
                           "record of it; pass --force to sample them again");
        }
        // Masks of other settings: which, so that a mistyped flag is not taken for a rerun.
        if (!force && md.format == 2 && (made.is_object() || !sparse))
            PFCE_THROW(InputError, dir, " already holds masks (",
                       (fs::path(dir) / "masks.json").string(), ") made otherwise (",
                       sampled_masks_change(made, settings, sparse, md.ids.size(), ids.size()),
                       "); pass --force to replace them");
    }
    reading.reset();  // this command writes them now
    MaskDirWriting writing = prepare_mask_dir(dir, force, ids);

    write_masks_in_chunks(
        n, ds, writing,
        [&](std::size_t i) {
            // No point on a pixel without data (transparent, NoData): training would drop it,
            // and a link from it would label pixels with data (probe). Tiles have none.
            LabelMap dense = ds.read_mask(i);
            if (ds.kind() != DatasetKind::tiles) {
                std::vector<std::uint8_t> nodata;
                ds.read_image_and_no_data(i, nodata);
                Dataset::unlabel_no_data(nodata, {&dense});
            }
            return sample_sparse(dense, so, ids[i]);
        },
        progress, r);
    // A dense mask of unlabelled pixels only (all ignore or no data: LoveDA's no-data tiles) has
    // no point to keep: its image trains nothing, said (it was sampled into an empty mask
    // without a word).
    if (!r.labelling_nothing.empty()) {
        std::string some;
        for (std::size_t k = 0; k < r.labelling_nothing.size() && k < 3; ++k)
            some += (k ? ", " : "") + ids[r.labelling_nothing[k]];
        if (r.labelling_nothing.size() > 3) some += ", ...";
        log_warn(r.labelling_nothing.size(), " of the ", n,
                 " dense masks label no pixel (all unlabelled: ignore values or no data; ", some,
                 "): their sparse masks label nothing, so those images train nothing");
    }
    nlohmann::json meta = {{"kind", "sparse"},   {"source", settings["source"]},
                           {"sample", settings}, {"labelled_pixels", r.labelled},
                           {"pixels", r.pixels}, {"per_class", r.per_class}};
    // Outside "sample" (the settings a reuse compares), so that masks made before it was
    // recorded are still reused; `pfce link` keeps it with the rest of the sparse masks' record.
    meta["class_encodings"] = class_encodings(ds);
    writing.finish(meta, ds.palette());
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

}  // namespace pfce
