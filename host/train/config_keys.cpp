// The table of every configuration key: section, name, flag, help, type, choices, whether it
// changes a run's result, and its name in the flat [train] tables of older files. Adding a key
// here gives it a TOML key, a JSON field in checkpoints, a command-line flag and help text.
#include <limits>
#include <type_traits>

#include "core/enum_names.hpp"
#include "core/op_params.hpp"
#include "core/op_variants.hpp"
#include "host/train/config.hpp"

namespace pfce {
namespace {

using json = nlohmann::json;

// Setter for one member type: JSON value -> member, or throw what was expected.
template <typename T>
void set_value(T& out, const json& v) {
    if constexpr (std::is_same_v<T, bool>) {
        if (!v.is_boolean()) throw std::string("true or false");
        out = v.get<bool>();
    } else if constexpr (std::is_same_v<T, std::string>) {
        if (!v.is_string()) throw std::string("a string");
        // A path is cut at a NUL by every system call: "out\u0000x" wrote every output of a run
        // into one file "out".
        if (v.get<std::string>().find('\0') != std::string::npos)
            throw std::string("a string without a NUL character (\\u0000)");
        out = v.get<std::string>();
    } else if constexpr (std::is_same_v<T, double>) {
        if (!v.is_number() || !std::isfinite(v.get<double>())) throw std::string("a finite number");
        out = v.get<double>();
    } else if constexpr (std::is_same_v<T, std::uint64_t>) {
        // All 64 bits: JSON keeps values >= 2^63 as unsigned, never as negatives; one past them
        // arrives as a floating-point number, and is said as too large, not as no integer.
        if (v.is_number_float() && v.get<double>() >= 18446744073709551615.0)
            throw std::string("a non-negative integer of at most 18446744073709551615 (2^64 - 1)");
        if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0))
            throw std::string("a non-negative integer");
        out = v.get<std::uint64_t>();
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
        if (!v.is_number_integer() ||
            (v.is_number_unsigned() &&
             v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)))
            throw std::string("an integer");
        out = v.get<std::int64_t>();
    } else if constexpr (std::is_same_v<T, int>) {
        if (!v.is_number_integer() ||
            (v.is_number_unsigned() && v.get<std::uint64_t>() > INT32_MAX))
            throw std::string("an integer");
        const auto x = v.get<std::int64_t>();
        if (x < std::numeric_limits<int>::min() || x > std::numeric_limits<int>::max())
            throw std::string("an integer in int range");
        out = static_cast<int>(x);
    } else if constexpr (std::is_same_v<T, std::vector<int>>) {
        // One value for every class, or a list of one per class.
        std::vector<int> list;
        const json arr = v.is_array() ? v : json::array({v});
        for (const auto& e : arr) {
            int x = 0;
            set_value(x, e);
            list.push_back(x);
        }
        if (list.empty()) throw std::string("an integer or a non-empty list of integers");
        out = list;
    } else {
        static_assert(std::is_same_v<T, std::vector<double>>);
        if (!v.is_array()) throw std::string("a list of numbers");
        std::vector<double> list;
        for (const auto& e : v) {
            double x = 0;
            set_value(x, e);
            list.push_back(x);
        }
        out = list;
    }
}

template <typename T>
KeyType type_of() {
    if constexpr (std::is_same_v<T, bool>) return KeyType::boolean;
    if constexpr (std::is_same_v<T, std::string>) return KeyType::text;
    if constexpr (std::is_same_v<T, double>) return KeyType::number;
    if constexpr (std::is_same_v<T, std::uint64_t>) return KeyType::unsigned_integer;
    if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, int>)
        return KeyType::integer;
    if constexpr (std::is_same_v<T, std::vector<int>>) return KeyType::int_list;
    return KeyType::number_list;
}

struct Key {
    ConfigKey k;
    Key& choices(std::vector<std::string> c) {
        k.type = KeyType::choice;
        k.choices = std::move(c);
        return *this;
    }
    Key& path() {
        k.is_path = true;
        return *this;
    }
    Key& no_result() {
        k.affects_result = false;
        return *this;
    }
    Key& legacy(const char* name) {
        k.legacy = name;
        return *this;
    }
    // A result key added after results were first recorded, whose default does what pfce did
    // before it existed: results recorded without it are those of its default.
    Key& added_at_old_behaviour() {
        k.added_at_old_behaviour = true;
        return *this;
    }
};

// run.precision: "auto" and the names of core/op_params.hpp's kPrecisions.
std::vector<std::string> precision_names() {
    std::vector<std::string> names{"auto"};
    names.insert(names.end(), kPrecisions.names.begin(), kPrecisions.names.end());
    return names;
}

// run.kernels: the catalogue of core/op_variants.hpp in the help text.
std::string kernels_help() {
    std::string h =
        "CUDA kernel variants as op=variant entries separated by commas, each family's run "
        "default (marked *, the fastest a GPU run measured) when not named; the convolution "
        "layout follows a named activations layout; other backends ignore them:";
    for (const OpVariantFamily& f : cuda_op_variant_families()) {
        h += " " + f.op + " = ";
        for (std::size_t i = 0; i < f.variants.size(); ++i)
            h += (i ? "|" : "") + f.variants[i] + (f.variants[i] == f.run_default ? "*" : "");
        h += " (" + f.about + ");";
    }
    h.back() = '.';
    return h;
}

// A key whose value is not one member of one type: its getter and setter are the caller's.
Key custom_key(const char* section, const char* name, const char* flag, const char* help,
               KeyType type) {
    Key b;
    b.k.section = section;
    b.k.name = name;
    b.k.flag = flag;
    b.k.help = help;
    b.k.type = type;
    return b;
}

// loss.alpha: a list of per-class weights, or "auto" (recorded as "auto"; the weights are computed
// from the training labels by the trainer).
Key alpha_key() {
    Key b = custom_key("loss", "alpha", "--focal-alpha",
                       "per-class weights, one per class (empty = 1 for every class), or auto: "
                       "the inverse square-root frequency of the training labels",
                       KeyType::number_list_or_auto);
    b.k.get = [](const Config& c) { return c.loss.alpha_auto ? json("auto") : json(c.loss.alpha); };
    b.k.set = [](Config& c, const json& v) {
        if (v.is_string() && same_name(v.get<std::string>(), "auto")) {
            c.loss.alpha_auto = true;
            c.loss.alpha.clear();
            return;
        }
        std::vector<double> list;
        try {
            set_value(list, v);
        } catch (const std::string&) {
            throw std::string("a list of numbers, or \"auto\"");
        }
        c.loss.alpha = list;
        c.loss.alpha_auto = false;
    };
    b.legacy("focal_alpha");
    return b;
}

// run.step_graph: true, false, or "auto" (unset: on for CUDA, where it measured 1.03-1.05x on an
// H100 and an H200 with the same bits, off on the CPU).
Key step_graph_key() {
    Key b = custom_key("run", "step_graph", "--step-graph",
                       "CUDA: record the training step once as a CUDA graph and replay it (one "
                       "launch per step instead of hundreds; the same bits; 1.03-1.05x on an H100 "
                       "and an H200); auto = on for CUDA, off on the CPU (which records no graphs)",
                       KeyType::switch_or_auto);
    b.k.get = [](const Config& c) {
        return c.run.step_graph ? json(*c.run.step_graph) : json("auto");
    };
    b.k.set = [](Config& c, const json& v) {
        if (v.is_boolean())
            c.run.step_graph = v.get<bool>();
        else if (v.is_string() && same_name(v.get<std::string>(), "auto"))
            c.run.step_graph.reset();
        else
            throw std::string("true, false or \"auto\"");
    };
    b.no_result();
    return b;
}

template <typename S, typename T>
Key key(S Config::*section, T S::*member, const char* section_name, const char* name,
        const char* flag, const std::string& help) {
    Key b;
    b.k.section = section_name;
    b.k.name = name;
    b.k.flag = flag;
    b.k.help = help;
    b.k.type = type_of<T>();
    b.k.get = [section, member](const Config& c) { return json((c.*section).*member); };
    b.k.set = [section, member](Config& c, const json& v) { set_value((c.*section).*member, v); };
    return b;
}

// data.bands: an int list whose empty value (the default: the images' own RGB or gray) is a value,
// which the int-list setter refuses.
Key bands_key() {
    Key b = key(&Config::data, &DataSettings::bands, "data", "bands", "--bands",
                "the image bands the model sees, 1-based as GDAL counts them: three to eight, "
                "one per input channel (1,2,3,4 = all of an RGB + infrared tile, 4,1,2 = its "
                "IR-R-G), or one (copied to three channels); empty = a generic dataset's "
                "dataset.toml [image] bands, else the images' RGB or gray");
    b.k.set = [](Config& c, const json& v) {
        if (v.is_array() && v.empty()) {
            c.data.bands.clear();
            return;
        }
        const std::string expected =
            "a list of band numbers such as [4, 1, 2] ([3]: band 3 alone), or [] for RGB";
        // `bands = 3` reads as "three bands" as much as "band 3": a list only (a probe's trained
        // a gray model of band 3 without a word). --bands 3 is a list of one already.
        if (!v.is_array()) throw expected;
        try {
            set_value(c.data.bands, v);
        } catch (const std::string&) {
            throw expected;
        }
    };
    return b;
}

std::vector<ConfigKey> build_keys() {
    using D = DataSettings;
    using L = LabelSettings;
    using M = ModelSettings;
    using Lo = LossSettings;
    using O = OptimizerSettings;
    using S = ScheduleSettings;
    using R = RunSettings;
    const auto d = &Config::data;
    const auto l = &Config::labels;
    const auto m = &Config::model;
    const auto lo = &Config::loss;
    const auto o = &Config::optimizer;
    const auto s = &Config::schedule;
    const auto r = &Config::run;
    std::vector<Key> keys = {
        // data
        key(d, &D::root, "data", "root", "--data",
            "dataset root (Kaggle patches, Potsdam tiles or generic images/ + masks/)")
            .path()
            .legacy("data"),
        key(d, &D::kind, "data", "kind", "--kind", "dataset layout")
            .choices({"auto", "kaggle", "tiles", "generic"}),
        key(d, &D::tile_patch, "data", "tile_patch", "--tile-patch",
            "tiles: side of the patches cut from each tile"),
        key(d, &D::tile_stride, "data", "tile_stride", "--tile-stride",
            "tiles: stride between patches (edges covered by a last, shifted patch)"),
        key(d, &D::tile_image, "data", "tile_image", "--tile-image",
            "tiles: which ISPRS image set is read, top_potsdam_*_<set>.tif (RGBIR has four "
            "bands: pick them with data.bands)")
            .choices({"RGB", "IRRG", "RGBIR"}),
        key(d, &D::tile_labels, "data", "tile_labels", "--tile-labels",
            "tiles: which labels are read: full (top_potsdam_*_label.tif), eroded "
            "(_label_noBoundary.tif: boundaries unlabelled, as the ISPRS benchmark scores) or "
            "auto (full where a tile has both)")
            .choices({"auto", "full", "eroded"})
            .added_at_old_behaviour(),
        bands_key(),
        key(d, &D::value_range, "data", "value_range", "--value-range",
            "16-bit, signed or floating-point images: the sample values read as 0 and as 255, "
            "linearly and clipped (0,10000 for Sentinel-2 reflectance as counts, 0,0.3 as floats; "
            "0,2047 for 11-bit WorldView; -25,0 for backscatter in dB); empty = a generic "
            "dataset's dataset.toml [image] value_range, else 8-bit images"),
        key(d, &D::max_pixels, "data", "max_pixels", "--max-pixels",
            "refuse images with more pixels than this (a memory guard)")
            .no_result(),
        key(d, &D::source, "data", "source", "--data-source",
            "dataset: read data.root; synthetic: generate the embedded dataset into it")
            .choices({"dataset", "synthetic"}),
        key(d, &D::synthetic_count, "data", "synthetic_count", "--synthetic-count",
            "synthetic: number of images"),
        key(d, &D::synthetic_size, "data", "synthetic_size", "--synthetic-size",
            "synthetic: image side in pixels"),
        key(d, &D::synthetic_seed, "data", "synthetic_seed", "--synthetic-seed",
            "synthetic: generator seed"),
        key(d, &D::train_list, "data", "train_list", "--train-list",
            "file of training sample ids, one per line (an official split)")
            .path(),
        key(d, &D::val_list, "data", "val_list", "--val-list", "file of validation sample ids")
            .path(),
        key(d, &D::test_list, "data", "test_list", "--test-list", "file of test sample ids").path(),
        key(d, &D::train_frac, "data", "train_frac", "--train-frac",
            "fraction of samples (or tiles, data.split_by) for training (seeded split)")
            .legacy("train_frac"),
        key(d, &D::val_frac, "data", "val_frac", "--val-frac", "fraction for validation")
            .legacy("val_frac"),
        key(d, &D::split_seed, "data", "split_seed", "--split-seed", "seed of the split")
            .legacy("split_seed"),
        key(d, &D::split_by, "data", "split_by", "--split-by",
            "what the seeded split draws: samples, or tiles (a tiles dataset's windows then stay "
            "with their tile in one part, and the fractions are of tiles)")
            .choices({"sample", "tile"})
            .added_at_old_behaviour(),
        key(d, &D::max_samples, "data", "max_samples", "--max-samples",
            "use only the first N samples (0 = all; with data.split_by = \"tile\", the whole "
            "tiles of the first N windows)")
            .legacy("max_samples"),
        key(d, &D::crop_size, "data", "crop_size", "--crop-size",
            "train on one random crop of this side per image and epoch, 16..8192 (0 = whole "
            "images, which must then share one size)"),
        key(d, &D::crops_per_image, "data", "crops_per_image", "--crops-per-image",
            "random crops drawn from each training image per epoch, 1..4096 (with data.crop_size; "
            "large tiles: an epoch of 1 crop each sees a sliver of them, and validates as often)")
            .added_at_old_behaviour(),
        key(d, &D::augment, "data", "augment", "--augment",
            "random flips and 90-degree rotations, image and labels together")
            .legacy("augment"),
        // labels
        key(l, &L::kind, "labels", "kind", "--label-kind",
            "what the loss sees: dense masks, sparse points or linked points")
            .choices({"dense", "sparse", "linked"}),
        key(l, &L::dir, "labels", "dir", "--labels",
            "mask directory to train on (pfce sample / pfce link); sets the label kind")
            .path()
            .legacy("labels"),
        key(l, &L::points, "labels", "points", "--points",
            "points kept per class and image, at 300x300 (one value, or one per class: "
            "500,500,700)"),
        key(l, &L::scale_by_area, "labels", "scale_by_area", "--scale-by-area",
            "scale points by H*W/90000 (the report's counts are for 300x300 patches)"),
        key(l, &L::seed, "labels", "seed", "--label-seed", "sampling seed"),
        key(l, &L::radius, "labels", "radius", "--radius",
            "linking: join same-class points at most D pixels apart (0..10000)"),
        key(l, &L::conflict, "labels", "conflict", "--conflict",
            "linking: a pixel claimed by two classes stays unlabelled, or takes the lowest class")
            .choices({"unlabelled", "lowest"}),
        key(l, &L::max_color_step, "labels", "max_color_step", "--max-color-step",
            "edge-aware linking: skip segments with a pixel farther than this from the "
            "endpoints' mean RGB (-1 = off)"),
        // model
        key(m, &M::width, "model", "width", "--width", "U-Net base width (doubles per level)")
            .legacy("width"),
        key(m, &M::depth, "model", "depth", "--depth", "U-Net depth (down-sampling steps)")
            .legacy("depth"),
        key(m, &M::init_from, "model", "init_from", "--init-from",
            "start from the weights of this checkpoint (fine-tuning: its width, depth and classes; "
            "a new optimizer and schedule)")
            .path()
            .added_at_old_behaviour(),
        // loss
        key(lo, &Lo::gamma, "loss", "gamma", "--focal-gamma", "focal exponent (0 = cross-entropy)")
            .legacy("focal_gamma"),
        alpha_key(),
        key(lo, &Lo::normalize, "loss", "normalize", "--loss-normalize",
            "divide by the labelled pixel count, or by the sum of their alphas")
            .choices({"labelled", "alpha"})
            .legacy("loss_normalize"),
        key(lo, &Lo::crf_weight, "loss", "crf_weight", "--crf-weight",
            "weight lambda of the local-window CRF (Potts) term on all pixels, 0..10 (0 = off)"),
        key(lo, &Lo::crf_radius, "loss", "crf_radius", "--crf-radius",
            "CRF: window radius, in cells of crf_downsample pixels"),
        key(lo, &Lo::crf_sigma_xy, "loss", "crf_sigma_xy", "--crf-sigma-xy",
            "CRF: spatial bandwidth of the kernel, in pixels"),
        key(lo, &Lo::crf_sigma_rgb, "loss", "crf_sigma_rgb", "--crf-sigma-rgb",
            "CRF: colour bandwidth of the kernel, in 0-255 RGB units"),
        key(lo, &Lo::crf_downsample, "loss", "crf_downsample", "--crf-downsample",
            "CRF: run the window on cells of d x d pixels (mean probabilities and colours)"),
        key(lo, &Lo::crf_warmup, "loss", "crf_warmup", "--crf-warmup",
            "CRF: epochs over which the weight ramps up linearly (epoch e of W trains at "
            "lambda * e / W; 0 = full weight from the first step)")
            .added_at_old_behaviour(),
        // optimizer
        key(o, &O::name, "optimizer", "name", "--optimizer",
            "adam_l2 = Adam with L2 in the gradient, adamw = decoupled decay")
            .choices({"sgd", "adam", "adamw", "adam_l2"})
            .legacy("optimizer"),
        key(o, &O::lr, "optimizer", "lr", "--lr",
            "base learning rate: at most 1 for adam, adamw and adam_l2, 10 for sgd")
            .legacy("lr"),
        key(o, &O::weight_decay, "optimizer", "weight_decay", "--weight-decay",
            "weight decay (convolution weights only); sgd and adamw: lr * weight_decay < 1")
            .legacy("weight_decay"),
        key(o, &O::momentum, "optimizer", "momentum", "--momentum", "SGD momentum")
            .legacy("momentum"),
        key(o, &O::beta1, "optimizer", "beta1", "--beta1", "Adam beta1").legacy("beta1"),
        key(o, &O::beta2, "optimizer", "beta2", "--beta2", "Adam beta2").legacy("beta2"),
        key(o, &O::eps, "optimizer", "eps", "--eps", "Adam epsilon").legacy("eps"),
        key(o, &O::clip, "optimizer", "clip", "--clip", "max global gradient norm (0 = off)")
            .legacy("clip"),
        // schedule
        key(s, &S::name, "schedule", "name", "--schedule", "learning-rate schedule")
            .choices({"constant", "step", "cosine", "plateau"})
            .legacy("schedule"),
        key(s, &S::step_size, "schedule", "step_size", "--step-size", "step: epochs between decays")
            .legacy("step_size"),
        key(s, &S::step_gamma, "schedule", "step_gamma", "--step-gamma",
            "step: factor applied at each decay, (0, 1]")
            .legacy("step_gamma"),
        key(s, &S::warmup_epochs, "schedule", "warmup_epochs", "--warmup-epochs",
            "cosine: linear warm-up, in epochs")
            .legacy("warmup_epochs"),
        key(s, &S::min_lr, "schedule", "min_lr", "--min-lr", "cosine and plateau: lowest lr")
            .legacy("min_lr"),
        key(s, &S::plateau_factor, "schedule", "plateau_factor", "--plateau-factor",
            "plateau: factor applied when the metric stalls")
            .legacy("plateau_factor"),
        key(s, &S::plateau_patience, "schedule", "plateau_patience", "--plateau-patience",
            "plateau: epochs without improvement before a decay")
            .legacy("plateau_patience"),
        key(s, &S::plateau_threshold, "schedule", "plateau_threshold", "--plateau-threshold",
            "plateau: relative improvement that counts")
            .legacy("plateau_threshold"),
        key(s, &S::plateau_cooldown, "schedule", "plateau_cooldown", "--plateau-cooldown",
            "plateau: epochs after a decay before watching again")
            .legacy("plateau_cooldown"),
        key(s, &S::plateau_metric, "schedule", "plateau_metric", "--plateau-metric",
            "plateau: the metric watched: val_loss, val_miou, or val_iou:CLASS (one class's "
            "validation IoU, as --best takes it)")
            .legacy("plateau_metric"),
        // run
        key(r, &R::epochs, "run", "epochs", "--epochs",
            "epochs, 1..100000 (a resumed run may add more)")
            .legacy("epochs"),
        key(r, &R::batch_size, "run", "batch_size", "--batch-size", "images per batch, 1..65535")
            .legacy("batch_size"),
        key(r, &R::seed, "run", "seed", "--seed", "seed of weights, shuffling, augmentation, crops")
            .legacy("seed"),
        key(r, &R::device, "run", "device", "--device", "auto | cpu | cuda | cuda:N")
            .no_result()
            .legacy("device"),
        key(r, &R::out, "run", "out", "--out", "run directory (checkpoints, metrics.jsonl)")
            .path()
            .no_result()
            .legacy("out"),
        key(r, &R::best_metric, "run", "best_metric", "--best",
            "best.ckpt follows the lowest validation loss (val_loss), the highest validation "
            "mIoU (val_miou), or one class's highest validation IoU (val_iou:CLASS, e.g. "
            "val_iou:building, for a building-extraction dataset whose background IoU says "
            "little)")
            .legacy("best_metric"),
        key(r, &R::evaluate, "run", "evaluate", "--evaluate",
            "the checkpoint a suite tests: the last one or the best-validation one")
            .choices({"last", "best"}),
        key(r, &R::log_every, "run", "log_every", "--log-every",
            "batches between loss read-backs (the only host sync of a step)")
            .no_result()
            .legacy("log_every"),
        key(r, &R::prefetch, "run", "prefetch", "--prefetch",
            "batches prepared ahead by loader threads")
            .no_result()
            .legacy("prefetch"),
        key(r, &R::deterministic, "run", "deterministic", "--deterministic",
            "CUDA: deterministic cuDNN algorithms only (reruns and resumes give the same bits; "
            "may be slower)"),
        key(r, &R::precision, "run", "precision", "--precision",
            "convolution arithmetic: fp32 (no TF32), tf32 (TF32 factors), bf16 (bf16 factors and "
            "results, f32 sums, bias and batch norm; on CUDA activations stored bf16 unless "
            "--kernels activation_storage=f32); auto = tf32 on CUDA, fp32 on the CPU (each "
            "device's fast f32 path)")
            .choices(precision_names()),
        // The same model and arithmetic whichever variants run (only the rounding of sums may
        // differ), so a run may resume with other ones, as with step_graph.
        key(r, &R::kernels, "run", "kernels", "--kernels", kernels_help()).no_result(),
        step_graph_key(),
    };
    std::vector<ConfigKey> out;
    for (auto& k : keys) out.push_back(std::move(k.k));
    return out;
}

}  // namespace

const std::vector<std::string>& config_sections() {
    static const std::vector<std::string> s = {"data",      "labels",   "model", "loss",
                                               "optimizer", "schedule", "run"};
    return s;
}

const std::vector<ConfigKey>& config_keys() {
    static const std::vector<ConfigKey> keys = build_keys();
    return keys;
}

const ConfigKey* find_config_key(const std::string& dotted) {
    for (const ConfigKey& k : config_keys())
        if (k.dotted() == dotted) return &k;
    return nullptr;
}

}  // namespace pfce
