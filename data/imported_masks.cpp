// The annotation files of a directory matched to a dataset's samples by name, read as the
// dataset's masks, and written as a mask directory in chunks (progress and Ctrl-C between them),
// as data/sparse_masks writes sampled points.
#include "data/imported_masks.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <map>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/log.hpp"
#include "core/op_params.hpp"
#include "core/text.hpp"
#include "data/data_fingerprint.hpp"
#include "data/dataset_detail.hpp"
#include "data/image_io.hpp"

namespace pfce {
namespace fs = std::filesystem;

namespace {

// Whether `a` is `b`, or a copy of it: the sample's own image beside the annotations (drawn over
// it), which is no annotation saved in a format pfce does not read.
bool same_file_or_bytes(const std::string& a, const std::string& b) {
    std::error_code ec;
    if (fs::equivalent(a, b, ec)) return true;
    const auto size = fs::file_size(a, ec);
    if (ec || size != fs::file_size(b, ec) || ec) return false;
    return read_whole_file(a) == read_whole_file(b);
}

}  // namespace

std::vector<std::string> annotation_files(const Dataset& ds, const std::string& from,
                                          std::vector<std::string>* unused) {
    std::error_code ec;
    if (!fs::is_directory(from, ec))
        PFCE_THROW(InputError, "--from ", from, ": expected a directory of annotation masks (it ",
                   fs::exists(from, ec) ? std::string("is not a directory") : missing_reason(from),
                   ")");
    // The dataset's own dense masks are no annotations: imported, every pixel would be a
    // "point" (a hostile probe trained "sparse" on 100% labelled pixels without a word).
    // Each directory of masks resolved once (a dataset's masks lie in one or a few).
    std::map<std::string, std::string> mask_dirs;  // directory -> one of its masks
    for (std::size_t i = 0; i < ds.size(); ++i)
        if (const std::string& mask = ds.sample(i).mask_path; !mask.empty())
            mask_dirs.emplace(fs::path(mask).parent_path().string(), mask);
    const std::string from_dir = resolved_path(from);
    for (const auto& [dir, mask] : mask_dirs) {
        if (resolved_path(dir.empty() ? "." : dir) != from_dir) continue;
        PFCE_THROW(InputError, "--from ", from, " holds the dense masks of ", ds.root(), " (e.g. ",
                   fs::path(mask).filename().string(),
                   "): --from takes the points a person labelled, not the dataset's own masks; "
                   "to train on the dense masks use labels.kind = \"dense\" (--label-kind dense)");
    }
    // Its mask files by stem: <id>.png, or named as the sample's own mask (12_mask.png). Entries
    // so named that are no file (a link to nothing, a directory) are said, not passed over.
    std::map<std::string, std::vector<std::string>> by_stem;
    std::map<std::string, std::string> unreadable;  // stem -> an image file of another format
    std::vector<std::string> not_files;
    for (const auto& e : fs::directory_iterator(from, ec)) {
        const std::string ext = ascii_lower(e.path().extension().string());
        if (is_temp_name(e.path().filename().string())) continue;
        if (ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".gif" || ext == ".webp" ||
            ext == ".jp2")
            unreadable.emplace(e.path().stem().string(), e.path().string());
        if (ext != ".png" && ext != ".tif" && ext != ".tiff") continue;
        if (!e.is_regular_file(ec))
            not_files.push_back(e.path().filename().string());
        else
            by_stem[e.path().stem().string()].push_back(e.path().string());
    }
    std::sort(not_files.begin(), not_files.end());
    if (!not_files.empty())
        log_warn("--from ", from, ": ", not_files.size(),
                 not_files.size() == 1 ? " entry named as an annotation is"
                                       : " entries named as "
                                         "annotations are",
                 " no file (a link to nothing, a directory, a pipe) and not read (",
                 some_names(not_files), ")");
    std::vector<std::string> files(ds.size());
    std::map<std::string, bool> used;
    for (std::size_t i = 0; i < ds.size(); ++i) {
        const SampleRef& s = ds.sample(i);
        std::vector<std::string> found;
        for (const std::string& stem : {s.id, fs::path(s.mask_path).stem().string()}) {
            const auto it = by_stem.find(stem);
            if (it == by_stem.end()) continue;
            for (const std::string& f : it->second)
                if (std::find(found.begin(), found.end(), f) == found.end()) found.push_back(f);
            used[stem] = true;
        }
        if (found.size() > 1)
            PFCE_THROW(InputError, "sample ", s.id, " of ", ds.root(), " has ", found.size(),
                       " annotation files in ", from, " (", some_names(found),
                       "): expected one; move the others away");
        if (!found.empty()) {
            files[i] = found[0];
            continue;
        }
        // Drawn for this sample but in a format annotations are not read from: it would train
        // on nothing, said only among the samples without an annotation (a probe's JPEG).
        for (const std::string& stem : {s.id, fs::path(s.mask_path).stem().string()})
            if (const auto it = unreadable.find(stem);
                it != unreadable.end() && !same_file_or_bytes(it->second, s.image_path)) {
                const std::string ext = ascii_lower(fs::path(it->second).extension().string());
                PFCE_THROW(InputError, it->second, " is named for sample ", s.id, " of ", ds.root(),
                           " but is not read: annotations are PNG or TIFF (expected ", stem,
                           ".png or ", stem, ".tif",
                           ext == ".jpg" || ext == ".jpeg" || ext == ".webp"
                               ? "; lossy compression changes the colours at every edge of a "
                                 "label, so save the annotation from the drawing itself as PNG"
                               : "; save it as PNG, e.g. convert IN OUT.png",
                           ")");
            }
    }
    if (unused) {
        unused->clear();
        for (const auto& [stem, paths] : by_stem)
            if (!used.count(stem))
                for (const std::string& p : paths)
                    unused->push_back(fs::path(p).filename().string());
    }
    return files;
}

ImportResult import_masks(const Dataset& ds, const std::string& from, const std::string& out,
                          bool force,
                          const std::function<void(std::size_t, std::size_t)>& progress) {
    const auto start = std::chrono::steady_clock::now();
    if (ds.kind() == DatasetKind::tiles)
        PFCE_THROW(InputError, "--from: ", ds.root(),
                   " is a dataset of Potsdam tiles, read as patches cut from them: annotations "
                   "per patch have no file name to match; annotate the Kaggle patches, or give "
                   "the tiles as a generic dataset (images/, masks/, dataset.toml)");
    refuse_output_among_samples(ds, out, "--out");
    if (resolved_path(out) == resolved_path(from) || path_is_inside(out, from) ||
        path_is_inside(from, out))
        PFCE_THROW(InputError, "--out ", out, " and --from ", from,
                   " overlap: the masks pfce writes would mix with the annotations it reads; "
                   "write them elsewhere");
    ImportResult r;
    const std::vector<std::string> files = annotation_files(ds, from, &r.unused);
    const std::size_t n = ds.size();
    std::vector<std::string> ids(n);
    for (std::size_t i = 0; i < n; ++i) {
        ids[i] = ds.sample(i).id;
        if (files[i].empty())
            r.unlabelled.push_back(ids[i]);
        else
            ++r.files;
    }
    if (r.files == 0)
        PFCE_THROW(InputError, "--from ", from, " holds no annotation named for a sample of ",
                   ds.root(), ": expected <id>.png (or .tif) per sample, e.g. ",
                   ids.empty() ? std::string("ID.png") : ids[0] + ".png",
                   ids.empty() ? std::string()
                               : ", or the name of its mask, " +
                                     fs::path(ds.sample(0).mask_path).filename().string(),
                   r.unused.empty() ? std::string() : "; it holds " + some_names(r.unused));
    if (!r.unused.empty())
        log_warn(from, ": ", r.unused.size(), r.unused.size() == 1 ? " file is" : " files are",
                 " named for no sample of ", ds.root(), " and not read (", some_names(r.unused),
                 "): annotations of other images, or misnamed?");
    if (!r.unlabelled.empty())
        log_warn(r.unlabelled.size(), " of the ", n, " samples have no annotation in ", from, " (",
                 some_names(r.unlabelled), "): their masks label nothing, so they train nothing");

    MaskStageResult& m = r.masks;
    m.dir = out;
    MaskDirWriting writing = prepare_mask_dir(out, force, ids);
    std::atomic<std::int64_t> annotated{0};  // masks may be read in parallel
    // Where an annotation and its image are both georeferenced, how their grids differ ("": on
    // one grid): points drawn over another tile, or in another CRS, fall on the wrong pixels.
    std::vector<std::string> grids(n);
    write_masks_in_chunks(
        n, ds, writing,
        [&](std::size_t i) {
            const SampleRef& s = ds.sample(i);
            // Its size from the dataset's scan, where it recorded one (else the header's).
            ImageInfo image;
            if (s.width > 0 && s.height > 0) {
                image.width = s.width;
                image.height = s.height;
            } else {
                image = probe_image(s.image_path);
            }
            if (files[i].empty()) return LabelMap(image.width, image.height, kUnlabelled);
            // Said as of a mask, before the decoder's advice for 16-bit images (a value range).
            const ImageInfo annotation = probe_image(files[i]);
            refuse_wide_mask_samples(files[i], annotation);
            grids[i] = detail::grid_mismatch(s.image_path, probe_image(s.image_path).geo, files[i],
                                             annotation.geo);
            LabelMap mask = ds.read_annotation_file(files[i]);
            // Points on an image of another size would fall on other pixels.
            if (mask.width != image.width || mask.height != image.height)
                PFCE_THROW(InputError, "annotation ", files[i], " is ", mask.width, "x",
                           mask.height, " but its image ", s.image_path, " is ", image.width, "x",
                           image.height, ": expected one mask per image, of its size");
            annotated += static_cast<std::int64_t>(mask.width) * mask.height;
            return mask;
        },
        progress, m);
    if (const auto off = static_cast<std::size_t>(std::count_if(
            grids.begin(), grids.end(), [](const std::string& g) { return !g.empty(); }));
        off > 0)
        log_warn(off, " of the ", r.files,
                 " annotations lie on other map grids than their images, "
                 "first ",
                 *std::find_if(grids.begin(), grids.end(),
                               [](const std::string& g) { return !g.empty(); }),
                 ". pfce places an annotation's points on its image's pixels by position: drawn "
                 "over another tile or in another CRS, they fall on the wrong pixels (gdalwarp "
                 "-te/-tr onto the image's grid aligns it)");
    if (m.labelled == 0)
        PFCE_THROW(InputError, "the annotations in ", from, " label no pixel of ", ds.root(),
                   " (every pixel is unlabelled or an ignore value/colour): nothing to train on");
    finish_imported_mask_dir(writing, ds,
                             {{"from", resolved_path(from)},
                              {"files", r.files},
                              {"samples_without_annotation", r.unlabelled.size()}},
                             m);
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.annotated_pixels = annotated.load();
    return r;
}

void finish_imported_mask_dir(MaskDirWriting& writing, const Dataset& ds, nlohmann::json imported,
                              const MaskStageResult& m) {
    // No "sample" record: these are no points drawn by settings, and nothing resamples them. How
    // the images were read is recorded, so commands that reopen the dataset for these masks
    // (preview, stats, edge-aware link) read it as they were made (they read it as RGB).
    record_image_reading(imported, ds.options().image);
    const nlohmann::json meta = {{"kind", "sparse"},
                                 {"source", resolved_path(ds.root())},
                                 {"imported", std::move(imported)},
                                 {"labelled_pixels", m.labelled},
                                 {"pixels", m.pixels},
                                 {"per_class", m.per_class},
                                 {"class_encodings", class_encodings(ds)}};
    writing.finish(meta, ds.palette());
}

}  // namespace pfce
