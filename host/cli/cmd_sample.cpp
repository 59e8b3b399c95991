// `pfce sample`: sparse point labels (DESIGN §2) from a dataset's dense masks into a mask directory
// (data/sparse_masks: the same stage experiments use, with the same cache rule). Prints images,
// points per class, the labelled fraction and the time.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "core/log.hpp"
#include "core/stop_signal.hpp"
#include "core/text.hpp"
#include "data/dataset.hpp"
#include "data/imported_masks.hpp"
#include "data/point_annotations.hpp"
#include "data/sparse_masks.hpp"
#include "data/sparse_sampler.hpp"
#include "host/cli/cli_checks.hpp"
#include "host/cli/command_registry.hpp"
#include "host/cli/config_flags.hpp"
#include "host/cli/dataset_flags.hpp"
#include "host/cli/stopped.hpp"
#include "host/train/config.hpp"
#include "host/train/progress.hpp"

namespace pfce::cli {
namespace {

struct SampleFlags {
    std::string data, out, per_class;
    std::string points = "500";  // one count, or one per class as --points-per-class takes
    std::uint64_t seed = 0;
    bool force = false;
    // --scale-by-area as typed ("" when not given: scaled, as training samples, by default).
    std::string scale_by_area_text;
    DatasetFlags dataset;
    std::string from;  // a directory of the user's own annotations, taken instead of sampling
    std::string from_points;            // ... or a file of their points (GeoJSON or CSV)
    std::string class_field = "class";  // the points' property or column of class names
    const CLI::Option* class_field_option = nullptr;
    std::vector<const CLI::Option*> sampling;  // the flags that only sampling reads
};

using Progress = std::function<void(std::size_t done, std::size_t n)>;

// write(progress) under Ctrl-C / SIGTERM: it stops after the masks in hand and the output is
// undone (mask_dir.hpp), said; its progress is a line every 3 s ("sample: done/n unit").
template <typename Write>
auto writing_masks(const std::string& out, const char* unit, Write write) {
    auto last_log = std::chrono::steady_clock::now();
    const Progress progress = [&](std::size_t done, std::size_t n) {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_log > std::chrono::seconds(3)) {
            log_info("sample: ", done, "/", n, " ", unit);
            last_log = now;
        }
    };
    const StopSignals stop_signals;
    try {
        auto r = write(progress);
        said_stop_came_late(out);
        return r;
    } catch (const StopRequested&) {
        stopped_writing_masks(out);
    }
}

// "<what>N (class n, ...)" and the labelled fraction of a mask directory written.
void print_label_counts(const char* what, const MaskStageResult& r, const Dataset& ds) {
    std::printf("%s%lld (", what, static_cast<long long>(r.labelled));
    for (std::size_t c = 0; c < r.per_class.size(); ++c)
        std::printf("%s%s %lld", c ? ", " : "", ds.palette().classes[c].name.c_str(),
                    static_cast<long long>(r.per_class[c]));
    std::printf(")\n");
    std::printf("labelled fraction: %.4f%% of %lld pixels\n",
                r.pixels > 0 ? 100.0 * static_cast<double>(r.labelled) / r.pixels : 0.0,
                static_cast<long long>(r.pixels));
}

// The sampling flags beside --from or --from-points (`flag` and its `what`): refused, as nothing is
// sampled.
void refuse_sampling_flags(const SampleFlags& f, const std::string& flag, const std::string& what) {
    for (const CLI::Option* o : f.sampling)
        if (o->count() > 0)
            PFCE_THROW(InputError, o->get_name(),
                       " sets how points are sampled from the dense masks, and ", flag,
                       " takes the annotations in ", what, " as they are: give one or the other");
    if (!f.scale_by_area_text.empty())
        PFCE_THROW(InputError,
                   "--scale-by-area sets how points are sampled from the dense masks, "
                   "and ",
                   flag, " takes the annotations in ", what, " as they are: give one or the other");
}

// Points or scribbles label a few percent at most: half the pixels of the images they annotate are
// dense masks (other than the dataset's, which import refuses), and "sparse" training on them says
// nothing. Of those images only: samples without a point label nothing. `why`: what may explain it.
void warn_if_dense(const std::string& what, std::int64_t labelled, std::int64_t annotated,
                   const std::string& why = {}) {
    if (annotated <= 0 || 2 * labelled <= annotated) return;
    log_warn(
        what, " label ",
        format_fixed(100.0 * static_cast<double>(labelled) / static_cast<double>(annotated), 1),
        "% of the pixels of the images they annotate: dense masks rather than points? They "
        "train as sparse labels all the same",
        why);
}

// --from-points: the user's points (a GeoJSON layer on the map, or pixel positions in a CSV),
// each labelling its pixel, written as a mask directory.
void run_point_import(const SampleFlags& f, const Dataset& ds) {
    refuse_sampling_flags(f, "--from-points", f.from_points);
    const PointImportResult r = writing_masks(f.out, "images", [&](const Progress& progress) {
        return import_points(ds, f.from_points, f.class_field, f.out, f.force, progress);
    });
    std::printf("imported %zu of the %zu points of %s into %s (%zu of %zu samples labelled",
                r.placed, r.points, f.from_points.c_str(), f.out.c_str(),
                ds.size() - r.unlabelled.size(), ds.size());
    if (r.duplicates > 0)
        std::printf("; %zu point%s on a pixel already labelled with its class", r.duplicates,
                    r.duplicates == 1 ? "" : "s");
    if (r.on_no_data > 0) std::printf("; %zu on a pixel without data, left out", r.on_no_data);
    std::printf(")\n");
    print_label_counts("labelled pixels:   ", r.masks, ds);
    warn_if_dense("the points of " + f.from_points, r.masks.labelled, r.annotated_pixels);
    for (std::size_t c = 0; c < r.masks.per_class.size(); ++c)
        if (r.masks.per_class[c] == 0)
            log_warn("the points label no pixel of class ", ds.palette().classes[c].name,
                     ": a model trained on them never learns it");
}

// --from: the user's annotations, read as the dataset's masks, written as a mask directory.
void run_import(const SampleFlags& f, const Dataset& ds) {
    refuse_sampling_flags(f, "--from", f.from);
    const ImportResult r = writing_masks(f.out, "annotations", [&](const Progress& progress) {
        return import_masks(ds, f.from, f.out, f.force, progress);
    });
    const MaskStageResult& m = r.masks;
    std::printf("imported %zu annotation%s from %s into %s (%zu of %zu samples)\n", r.files,
                r.files == 1 ? "" : "s", f.from.c_str(), f.out.c_str(), r.files, ds.size());
    print_label_counts("labelled pixels:   ", m, ds);
    if (r.annotated_pixels > 0 && 2 * m.labelled > r.annotated_pixels) {
        // 255 is unlabelled in annotations only where no class has it (mask.values = [0, 255]):
        // there a canvas filled with 255 for "nothing drawn" reads as that class everywhere.
        const std::vector<std::uint8_t>& values = ds.index_values();
        const auto at = std::find(values.begin(), values.end(), std::uint8_t{255});
        const std::string class_255 =
            at == values.end()
                ? std::string()
                : ". In this dataset 255 is class " +
                      ds.palette().classes[static_cast<std::size_t>(at - values.begin())].name +
                      "'s value (mask.values), not unlabelled: leave what nobody drew "
                      "transparent (alpha 0), or give it a value of mask.ignore";
        warn_if_dense("the annotations in " + f.from, m.labelled, r.annotated_pixels, class_255);
    }
    for (std::size_t c = 0; c < m.per_class.size(); ++c)
        if (m.per_class[c] == 0)
            log_warn("the annotations label no pixel of class ", ds.palette().classes[c].name,
                     ": a model trained on them never learns it");
}

// Keeps freed image buffers in the process instead of returning them to the kernel: with glibc's
// defaults every decoded image (270 KB at 300x300) is a fresh mmap, and the page faults cost more
// than decoding and sampling together (measured 2.5x on bench_data). Process-wide, so only
// commands and benchmarks that stream thousands of images set it.
void keep_freed_memory() {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

// Read as train reads its --points (labels.points: one parser, the same messages), naming the
// flag typed.
std::vector<int> parse_point_list(const std::string& text, const char* flag) {
    ConfigKey key = *find_config_key("labels.points");
    key.flag = flag;
    Config c;
    apply_flag_text(c, key, text);
    return c.labels.points;
}

// Counts are typed per 300x300 and scaled by each image's area (at least 1): what the first image
// keeps is said where its area differs, and warned of where classes typed apart get one count (a
// probe's --points-per-class 1,2,3,4,5,6 on 64x64 images kept 1 of every class without a word).
void say_scaled_counts(const SamplerOptions& so, const Dataset& ds, const char* flag,
                       const std::string& typed) {
    if (!so.scale_by_area || ds.size() == 0) return;
    const SampleRef& first = ds.sample(0);
    if (static_cast<std::int64_t>(first.width) * first.height == 90000) return;
    const std::string counts = points_per_class_text(so, first.width, first.height);
    auto kept = [&](std::size_t c) {
        return points_for_class(so, static_cast<int>(c), first.width, first.height);
    };
    bool merged = false;
    for (std::size_t i = 0; i < so.points.size(); ++i)
        for (std::size_t j = i + 1; j < so.points.size(); ++j)
            merged = merged || (so.points[i] != so.points[j] && kept(i) == kept(j));
    const std::string size = std::to_string(first.width) + "x" + std::to_string(first.height);
    if (merged)
        log_warn(flag, " ", typed, " is per 300x300: scaled by the area of ", size,
                 " (the first image) it keeps ", counts,
                 ", so classes typed apart get the same count; --scale-by-area false keeps the "
                 "counts as typed");
    else
        log_info("points per class, typed per 300x300, scaled by each image's area: ", counts,
                 " at ", size, " (the first image)");
}

void run_sample(const SampleFlags& f) {
    keep_freed_memory();
    refuse_unreachable_out(f.out, "--out");
    refuse_output_dir_among_others("--out " + f.out, f.out, "its masks");
    const Dataset ds = open_dataset(f.data, f.dataset.options_for(f.data), f.dataset);
    if (f.from_points.empty() && f.class_field_option && f.class_field_option->count() > 0)
        PFCE_THROW(InputError, "--class-field ", f.class_field,
                   " names the class property of --from-points, which is not given");
    if (!f.from_points.empty()) return run_point_import(f, ds);
    if (!f.from.empty()) return run_import(f, ds);

    SamplerOptions so;
    // The same checks, and messages, as a run's labels.points, naming the flag typed.
    const char* flag = f.per_class.empty() ? "--points" : "--points-per-class";
    so.points = parse_point_list(f.per_class.empty() ? f.points : f.per_class, flag);
    {
        Config c;
        c.labels.kind = "sparse";
        c.labels.points = so.points;
        const auto typed = [flag](const std::vector<std::string>&) { return std::string(flag); };
        validate(c, typed);
        validate_for_classes(c, ds.palette().class_names(), f.data, typed);
    }
    bool scale = true;
    if (!f.scale_by_area_text.empty()) {
        const std::optional<bool> given = switch_value(f.scale_by_area_text);
        if (!given)
            PFCE_THROW(InputError, "--scale-by-area ", f.scale_by_area_text,
                       ": expected true or false");
        scale = *given;
    }
    so.scale_by_area = scale;
    so.seed = f.seed;
    say_scaled_counts(so, ds, flag, f.per_class.empty() ? f.points : f.per_class);
    const MaskStageResult r = writing_masks(f.out, "images", [&](const Progress& progress) {
        return make_sparse_masks(ds, so, f.out, f.force, progress);
    });
    if (r.reused)
        std::printf("%s already holds these masks (same dataset and settings); reused\n",
                    f.out.c_str());
    else
        std::printf("sampled %zu images from %s into %s\n", ds.size(), f.data.c_str(),
                    f.out.c_str());
    print_label_counts("points:            ", r, ds);
    if (!r.reused)
        std::printf(
            "time:              %.2f s (%s images/s)\n", r.seconds,
            format_rate(static_cast<double>(ds.size()) / std::max(r.seconds, 1e-9)).c_str());
}

const bool registered = register_command(
    "sample",
    "sparse point labels: keep min(N, n_c) pixels of every class present in each dense mask (N "
    "per 300x300, scaled by image area), or take your own annotations (--from DIR)",
    [](CLI::App& sub) {
        auto f = std::make_shared<SampleFlags>();
        sub.add_option("--data", f->data, "dataset root (Kaggle patches, tiles or generic)")
            ->required();
        sub.add_option("--out", f->out, "mask directory to write (<id>.png + masks.json)")
            ->required();
        CLI::Option* points =
            sub.add_option("--points", f->points,
                           "points per class and image at 300x300 (scaled by area); a list "
                           "gives each class its own, e.g. 500,500,500,500,500,1000")
                ->capture_default_str();
        sub.add_option("--points-per-class", f->per_class,
                       "per-class counts (the same as a list to --points)")
            ->excludes(points);
        CLI::Option* seed = sub.add_option("--seed", f->seed, "sampling seed")
                                ->check(non_negative_integer())
                                ->capture_default_str();
        CLI::Option* per_class = sub.get_option("--points-per-class");
        f->sampling = {points, per_class, seed};
        CLI::Option* from =
            sub.add_option("--from", f->from,
                           "your own annotations instead of sampling: a directory of one mask "
                           "per sample (<id>.png or .tif, or named as the sample's mask), "
                           "encoded as the dataset's masks (its colours or index values; ignore "
                           "= unlabelled)");
        sub.add_option("--from-points", f->from_points,
                       "your own points instead of sampling: a GeoJSON point layer in the "
                       "images' map coordinates (their GeoTIFF tags, world files or .aux.xml "
                       "place them), or a CSV of pixel positions (id, x, y, class); each point "
                       "labels the pixel it falls on")
            ->excludes(from);
        f->class_field_option =
            sub.add_option("--class-field", f->class_field,
                           "the points' property (GeoJSON) or column (CSV) holding each point's "
                           "class name")
                ->capture_default_str();
        // A switch as train's are: alone, with a value (`--scale-by-area false`, which a flag
        // refused), or negated; the value is read after parsing, naming the flag.
        add_switch(&sub, "--scale-by-area",
                   "scale the counts by H*W/90000 (round, at least 1), as training does "
                   "(default true); --no-scale-by-area keeps N on every image whatever its size",
                   [f](const std::string& text) { f->scale_by_area_text = text; });
        add_dataset_flags(sub, f->dataset);
        sub.add_flag("--force", f->force, "replace a mask directory made otherwise");
        sub.callback([f] { run_sample(*f); });
    });

}  // namespace
}  // namespace pfce::cli
