// The one typed configuration of a run, in sections: data, labels, model, loss, optimizer,
// schedule, run. One table of keys (config_keys.cpp) drives everything that reads or writes it:
// the TOML reader ([data], [labels], ... tables in config, experiment and suite files), the JSON
// stored in checkpoints, the command-line flags (every key has one, generated) and their help text.
// A config is validated once, where it has been fully read (validate()), with errors that name the
// source, the key, the value and what was expected.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <toml++/toml.h>
#include <nlohmann/json.hpp>

#include "core/op_params.hpp"
#include "host/train/lr_schedule.hpp"
#include "host/train/optimizer.hpp"

namespace pfce {

struct DataSettings {
    std::string root;                  // dataset root (any layout data/dataset.hpp reads)
    std::string kind = "auto";         // auto | kaggle | tiles | generic
    int tile_patch = 300;              // tiles: patch size
    int tile_stride = 300;             // tiles: stride
    std::string tile_image = "RGB";    // tiles: RGB | IRRG | RGBIR (the ISPRS image sets)
    std::string tile_labels = "auto";  // tiles: auto | full | eroded (_label_noBoundary)
    std::vector<int> bands{};  // the images' bands the model sees, 1-based (empty: RGB or gray)
    std::vector<double> value_range{};  // wider samples: [values read as 0, as 255]; empty: 8-bit
    std::int64_t max_pixels = 100'000'000;  // refuse bigger images (memory guard)
    std::string source = "dataset";         // dataset | synthetic (generated into root)
    int synthetic_count = 160, synthetic_size = 96;
    std::uint64_t synthetic_seed = 0;
    std::string train_list, val_list, test_list;  // split files of sample ids (override fractions)
    double train_frac = 0.8, val_frac = 0.1;
    std::uint64_t split_seed = 0;
    std::string split_by = "sample";  // sample | tile: what the seeded split draws
    int max_samples = 0;  // the first N samples (0 = all; split by tile: their whole tiles)
    int crop_size = 0;    // random crops of this side for training (0 = whole images)
    // Crops drawn from each training image per epoch (crop_size > 0): large tiles give an epoch
    // of more than one small window each.
    int crops_per_image = 1;
    bool augment = true;  // random flips and 90-degree rotations
};

struct LabelSettings {
    std::string kind = "dense";    // dense | sparse | linked: what the loss sees
    std::string dir;               // an existing mask directory to train on (pfce sample/link)
    std::vector<int> points{500};  // per class at 300x300 (one value, or one per class)
    bool scale_by_area = true;     // scale points by H*W/90000 (DESIGN §5)
    std::uint64_t seed = 0;        // sampling seed
    int radius = 20;               // linking distance D
    std::string conflict = "unlabelled";  // unlabelled | lowest
    double max_color_step = -1;           // edge-aware linking threshold; -1 = off
};

struct ModelSettings {
    int width = 32;  // base width F
    int depth = 4;   // down-sampling steps L
    // A checkpoint whose weights the run starts from (fine-tuning), "" for random weights.
    std::string init_from;
};

struct LossSettings {
    double gamma = 2.0;
    // Per class; empty = 1 for every class. With alpha_auto (loss.alpha = "auto"), the trainer
    // fills it with the inverse square-root label frequency of the training split
    // (host/train/class_weights.hpp); the config itself keeps saying "auto".
    std::vector<double> alpha;
    bool alpha_auto = false;
    std::string normalize = "labelled";  // labelled | alpha
    // The local-window CRF (Potts) term added to the focal loss (core/backend.hpp crf_loss).
    double crf_weight = 0.0;  // lambda; 0 = off
    int crf_radius = 5;       // window radius, in cells
    double crf_sigma_xy = 5.0;
    double crf_sigma_rgb = 15.0;
    int crf_downsample = 1;  // cells of d x d pixels
    // Epochs over which lambda ramps up: epoch e (from 1) trains at lambda * min(1, e / warmup),
    // so the points shape the classes before the term pulls neighbours together. 0 = full lambda.
    int crf_warmup = 0;
};

struct OptimizerSettings {
    std::string name = "adam";  // sgd | adam | adamw | adam_l2
    double lr = 1e-3;
    double weight_decay = 0.0, momentum = 0.9, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    double clip = 0.0;  // max global gradient norm; 0 = off
};

struct ScheduleSettings {
    std::string name = "constant";  // constant | step | cosine | plateau
    int step_size = 10;
    double step_gamma = 0.1;
    double warmup_epochs = 0.0;  // cosine
    double min_lr = 0.0;         // cosine and plateau floor
    double plateau_factor = 0.1;
    int plateau_patience = 10;
    double plateau_threshold = 1e-4;
    int plateau_cooldown = 0;
    std::string plateau_metric = "val_loss";  // val_loss | val_miou
};

struct RunSettings {
    int epochs = 10;
    int batch_size = 8;
    std::uint64_t seed = 0;  // weights, shuffling, augmentation, crops
    std::string device = "auto";
    std::string out = "runs/train";
    std::string best_metric = "val_loss";  // val_loss (min) | val_miou (max) | val_iou:CLASS (max)
    std::string evaluate = "last";         // last | best: the checkpoint a suite tests
    int log_every = 10;          // batches between loss read-backs (the only host sync of a step)
    int prefetch = 2;            // batches prepared ahead by loader threads
    bool deterministic = false;  // CUDA: deterministic cuDNN algorithms only (Backend)
    // Convolution arithmetic: auto | fp32 | tf32 | bf16 (core/op_params.hpp Precision; auto =
    // tf32 on CUDA, fp32 on the CPU).
    std::string precision = "auto";
    // CUDA: record the training step once as a CUDA graph and replay it (host/train/step_graph).
    // Unset (written "auto", the default): on for CUDA, off on the CPU, which records no graphs.
    std::optional<bool> step_graph;
    // CUDA kernel variants, "op=variant" entries separated by commas (core/op_variants.hpp); ""
    // runs every default.
    std::string kernels;
};

struct Config {
    DataSettings data;
    LabelSettings labels;
    ModelSettings model;
    LossSettings loss;
    OptimizerSettings optimizer;
    ScheduleSettings schedule;
    RunSettings run;
};

// ---- the key table ---------------------------------------------------------------------------

enum class KeyType {
    integer,
    unsigned_integer,
    number,
    boolean,
    text,
    choice,
    int_list,
    number_list,
    number_list_or_auto,  // a list of numbers, or the string "auto"
    switch_or_auto        // true, false or the string "auto" (a switch on the command line)
};

struct ConfigKey {
    std::string section, name;  // "optimizer", "lr"
    std::string flag;           // "--lr"
    std::string help;           // one line, for --help
    KeyType type = KeyType::text;
    std::vector<std::string> choices;  // KeyType::choice
    bool affects_result = true;        // resume must agree on it (see differing_result_keys)
    // Added after results were first recorded, its default doing what pfce did before: a suite
    // result that lacks it is of the default (a new result key must default so, or be stale).
    bool added_at_old_behaviour = false;
    bool is_path = false;  // compared after resolution, against the working directory
    std::string legacy;    // the key's name in the flat [train] table of older files
    std::function<nlohmann::json(const Config&)> get;
    // Throws std::string (what was expected) on a value of the wrong type.
    std::function<void(Config&, const nlohmann::json&)> set;

    std::string dotted() const { return section + "." + name; }
};

const std::vector<std::string>& config_sections();  // data, labels, model, ... in order
const std::vector<ConfigKey>& config_keys();        // section order, then a sensible key order
const ConfigKey* find_config_key(const std::string& dotted);

// ---- reading and writing ---------------------------------------------------------------------

// Applies the tables named in `sections` of `root` (each a [section] table) onto `c`. Unknown keys,
// wrong types and tables not in `sections` are InputErrors naming `source` and the key. A flat
// [train] table of older files is accepted when `sections` holds "train".
void apply_toml_sections(Config& c, const toml::table& root, const std::string& source,
                         const std::set<std::string>& sections);
// One [section] table (suite overrides, inline experiment entries).
void apply_toml_section(Config& c, const std::string& section, const toml::table& table,
                        const std::string& source);
// A config file: any of the seven section tables, and an experiment file's [experiment] table
// (experiment_of_config_file); validated.
Config load_config_file(const std::string& path);
// The id of a suite's experiment file (its [experiment] table: id, description, report_figure,
// which only a suite's report uses; the file's stem where it has no id), or "" for a config. A
// suite file ([suite]) is an InputError naming pfce run.
std::string experiment_of_config_file(const toml::table& root, const std::string& path);
// InputError naming file, line and column; a directory, a checkpoint, a binary file or JSON said as
// what it is, named as `given_as PATH` ("--config run1") where given.
toml::table parse_toml_file(const std::string& path, const std::string& given_as = "");

nlohmann::json to_json(const Config& c);  // {"data": {...}, "labels": {...}, ...}
// Reads to_json's form (or the flat form of older checkpoints); not validated.
Config config_from_json(const nlohmann::json& j, const std::string& source);
std::string to_toml_text(const Config& c);  // the whole config as a file `load_config_file` reads

// A value typed on the command line for `k` ("1e-3", "adam", "500,500,700", "true").
void apply_flag_text(Config& c, const ConfigKey& k, const std::string& text);
// A switch's text as the flags and files take it: true/1/yes/on or false/0/no/off, in any case;
// nullopt for anything else.
std::optional<bool> switch_value(const std::string& text);

// ---- checks ----------------------------------------------------------------------------------

// Upper bounds past which a setting only trains on nonsense (validate() refuses them).
inline constexpr double kMaxAdamLr = 1.0;  // adam, adamw, adam_l2: a step moves a weight ~lr
inline constexpr double kMaxSgdLr = 10.0;
inline constexpr int kMaxEpochs = 100'000;
// 65535: the CUDA kernels put the batch on a grid dimension limited to 65535 (CRF, staging).
inline constexpr int kMaxBatchSize = 65'535;
// The largest loss.crf_weight: at 0.3 the term already overwhelms 500 points per class on the
// synthetic set (docs/crf-study.md: the run collapsed to a few classes), so past 100 times the
// shipped 0.1 it only trains every pixel towards one class.
inline constexpr double kMaxCrfWeight = 10.0;
inline constexpr double kMinClassWeight = 1e-30, kMaxClassWeight = 1000.0;  // loss.alpha
inline constexpr double kMinCrfSigma = 0.01, kMaxCrfSigma = 1e4;
inline constexpr double kMinLr = 1e-10;
// The smallest gradient-clipping norm that still trains (optimizer.clip; 0 = off).
inline constexpr double kMinClip = 1e-6;
inline constexpr double kMaxAdamWeightDecay = 1000.0;  // adam, adam_l2 (an L2 term)
inline constexpr double kMinAdamEps = 1e-30;
// run.best_metric = "val_iou:CLASS": best.ckpt follows that class's validation IoU (and
// schedule.plateau_metric, a plateau schedule).
inline constexpr const char* kBestIouPrefix = "val_iou:";

// Ranges, names and cross-key rules (warm-up within the run, min_lr below lr, split fractions);
// InputError naming `source`, the key, the value and the expectation.
void validate(const Config& c, const std::string& source);
// The file (or files) that set the keys an error is about, for configs read from several layered
// files (suites): called with the key the error names, then any key a rule ties it to.
using ConfigKeySources = std::function<std::string(const std::vector<std::string>& keys)>;
void validate(const Config& c, const ConfigKeySources& source);
// How a ConfigKeySources names a key a resumed run's stored config set ("<this> DIR"): rules added
// since it was stored (a band picked twice) do not refuse a run already trained that way.
inline constexpr const char* kStoredConfigSource = "the stored config of ";
// The keys that give a value per class, once the dataset's classes are known (before labels are
// drawn or a batch is trained): labels.points one count or one per class (where this run draws
// points), loss.alpha none or one weight per class. InputError naming the source, the key, its
// value, the dataset and its classes.
void validate_for_classes(const Config& c, const std::vector<std::string>& class_names,
                          const std::string& dataset, const ConfigKeySources& source);

// Settings set to other than their default that the rest of `c` leaves without effect
// (labels.points with dense labels, CRF settings with loss.crf_weight = 0, plateau settings under
// another schedule, ...): the key, and a message "key = value has no effect with setting (why)".
// Warnings.
struct UnusedSetting {
    std::string key, message;
};
std::vector<UnusedSetting> unused_settings(const Config& c);
// Every key the rest of `c` leaves without effect, whatever its value (another optimizer's
// momentum, a dense run's point counts): a resume does not compare them where both configs agree
// they do nothing.
std::vector<std::string> keys_without_effect(const Config& c);
// What a colour step of 0 for edge-aware linking does, `name` the key or flag that set it.
std::string zero_colour_step_note(const std::string& name);
// No two 0-255 RGB colours are farther apart (Euclidean) than 255 sqrt 3: a max colour step of at
// least this keeps every segment, and its note (`name` = step) says so.
inline constexpr double kWidestColourStep = 441.6729559300637;
std::string wide_colour_step_note(const std::string& name, double step);

// Keys that change a run's result and differ between a run's stored config and the one given to
// resume it: paths are compared after resolution (a moved run, another working directory and a
// trailing slash are the same), the device, the output directory and logging never count, and a
// longer schedule (more epochs) is allowed. Each entry reads "key: stored -> given".
std::vector<std::string> differing_result_keys(const Config& stored, const Config& given);

// Every path key made absolute (against the working directory; empty ones stay empty), as a run
// records its config: its checkpoint then names the files it trained on wherever `pfce eval` or
// `pfce train --resume` runs, instead of whatever lies under the same relative name there.
void make_paths_absolute(Config& c);

// ---- resolved pieces ---------------------------------------------------------------------------

OptimizerConfig optimizer_config(const Config& c);
// The focal loss's parameters. loss.alpha = "auto" must have been resolved into loss.alpha (by the
// trainer, or from a checkpoint by load_trained_model); InputError otherwise.
FocalLossParams focal_params(const Config& c);
CrfLossParams crf_params(const Config& c);
// The CRF term's weight in epoch `epoch` (from 0): loss.crf_weight ramped over loss.crf_warmup.
double crf_weight_at(const LossSettings& l, int epoch);
ScheduleConfig schedule_config(const Config& c, std::int64_t batches_per_epoch);
LinkParams link_params(const LabelSettings& l);
std::string describe_labels(const LabelSettings& l);  // "sparse 700/class", "linked ... D=20"
// A run's settings in a line, for its curves' subtitle: "linked 500/class D=20, adam lr 0.001
// (cosine), weight decay 0.0001, clip 1, batch 16, U-Net width 16 depth 4, focal gamma 2".
std::string run_settings_summary(const Config& c);

}  // namespace pfce
