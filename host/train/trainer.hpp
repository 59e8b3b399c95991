// The training loop of DESIGN §4: epochs of batches (H2D copy, forward, partial focal loss,
// backward, optional clipping by global norm, optimizer step), validation every epoch on the
// training label kind and on dense masks with dense metrics, best and last checkpoints,
// OUT/metrics.jsonl, resumable bit-exactly (on the CPU) from OUT/last.ckpt, stopped cleanly by a
// NaN/Inf loss (keeping the last good checkpoint) or by a stop request (core/stop_signal: Ctrl-C,
// SIGTERM), checked between batches, saving first.
//
// A step has two parts: prepare (take the batch's upload into fixed device buffers) and compute
// (everything else, reading only those buffers). The next batch's upload (Backend::upload_ahead,
// from the loader's pinned staging memory on CUDA, read in place) is enqueued right after a step's
// compute, so on CUDA the transfer overlaps it.
//
// Host syncs: the per-batch loss is summed on the device and read back every `log_every` batches
// (and at the end of an epoch) for the progress bar and the NaN check; nothing else in a step
// waits (the loader's workers wait for a staging buffer's upload before refilling it).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/backend.hpp"
#include "host/train/config.hpp"
#include "host/train/config_sources.hpp"
#include "host/train/evaluate.hpp"
#include "host/train/step_graph.hpp"
#include "host/train/train_data.hpp"

namespace pfce {

struct TrainOptions {
    // Continue from OUT/last.ckpt. The config given must agree with the stored one on every key
    // that changes the result (differing_result_keys: device, paths that resolve to the same place
    // and more epochs are fine); the keys that differ are named otherwise.
    bool resume = false;
    bool force = false;  // start over even though OUT/ already holds a run
    // How errors about run.out name it: "--out", or "FILE: run.out" when a config file set it.
    std::string out_name = "--out";
    int tty = -1;  // progress display: -1 detect, 0 plain lines, 1 redrawn bar
    // What continues the run after a failed write (a full disk), said with it: a suite resumes
    // its experiments by itself.
    std::string continue_with = "the same command with --resume";
    // Called after every optimizer step with the number of steps taken; true stops the run as a
    // stop request does (tests use it to interrupt at a chosen point).
    std::function<bool(std::int64_t)> stop_after_step;
    // Called as validation reports its progress, before it polls for a stop (tests ask for one
    // there, as a Ctrl-C during minutes of validation windows would).
    std::function<void()> during_validation;
    // Called whenever metrics.jsonl changes: when a new run begins it (empty) and after each
    // epoch's line. `pfce train` and suites draw OUT/curves.svg from it (run_curves.hpp); an
    // exception it throws is said as a warning and does not stop the run.
    std::function<void()> on_metrics;
};

// OUT/curves.svg, the run's curves (host/experiment/run_curves.hpp), is the run's own where it
// carries the marker: a new run (--force) removes it, and it does not make OUT someone else's.
inline constexpr const char* kRunCurvesFile = "curves.svg";
inline constexpr const char* kRunCurvesMarker = "<!-- pfce run curves -->";
bool is_run_curves(const std::string& path);

// OUT/config.toml: the settings the run trains with, as `pfce train --print-config` prints them,
// written at the run's start and at each resume, so a person can read and diff them and start
// another run from them (--config). The run's own where its first line is kRunConfigMarker: a
// user's file of that name is never replaced. The checkpoints stay the run's record of them.
inline constexpr const char* kRunConfigFile = "config.toml";
inline constexpr const char* kRunConfigMarker = "# pfce run settings";
bool is_run_config(const std::string& path);
// Whether the run's config.toml at `path` was edited since pfce wrote it: its last line, the
// checksum of the text above it, no longer matches (false for a file without one: an older
// pfce's). A resume keeps an edited one as config.toml.edited before writing it again.
bool run_config_edited(const std::string& path);
// Whether config.toml at `path` ends in its checksum line (one cut short, or an older pfce's, does
// not).
bool run_config_has_checksum(const std::string& path);
std::string run_config_text(const Config& cfg);
// The label settings of a run with a mask directory that its config.toml leaves to the masks
// (points, seed, scale_by_area, written as comments): how the run's masks were made, "key = value"
// lines as the file holds them. From a run's config.toml at `path` (empty for another file, or a
// run without labels.dir), or for `cfg` as its config.toml would write them.
std::vector<std::string> run_config_labels_of_masks(const std::string& path);
std::vector<std::string> run_config_labels_of_masks(const Config& cfg);

struct TrainResult {
    int epochs_completed = 0;
    bool interrupted = false;
    bool already_finished = false;  // resumed a run that had done all its epochs: nothing ran
    bool last_epoch_metrics_lost = false;  // ... and metrics.jsonl lacks its last epoch's line
    std::int64_t steps = 0;
    double train_loss = 0;  // of the last completed epoch
    EvalResult val;         // of the last completed epoch (metrics read back when already_finished)
    int best_epoch = 0;     // 1-based; 0 = none yet
    double best_value = 0;
    std::string best_metric;  // what best_value is: val_loss, val_miou or train_loss
    std::string last_checkpoint, best_checkpoint, metrics_path;
    // run.step_graph: steps run op by op, recorded and replayed; why recording was given up.
    StepGraphCounts step_graph;
    std::string step_graph_failure;
};

// `cfg` must be validated (validate()).
TrainResult train_unet(Backend& backend, const Config& cfg, const TrainInputs& inputs,
                       const TrainOptions& opts = {});

// Refuses (InputError naming the paths) a run.out that is a file, lies inside the dataset root or
// labels.dir, cannot be written (tried with a temporary directory, removed at once), holds files
// that are not a run's (a run is recognised by a pfce checkpoint named last.ckpt or best.ckpt, or
// metrics.jsonl; its label cache OUT/labels and temporaries count as its own), or holds a run
// when neither --resume nor --force was given. Leaves everything as it was: `pfce train` calls it
// before writing anything, and train_unet again before it claims the directory.
void check_run_dir(const Config& cfg, const TrainOptions& opts);

// What OUT/last.ckpt records of its run, read once: the config (run.out set to OUT) and the
// identity of the data it trained on (data/data_fingerprint.hpp data_identity; null for
// checkpoints that predate it).
struct StoredRun {
    Config config;
    nlohmann::json data_identity;
    // Whether it recorded its labels' pixels per class (data.label_counts): then its labels are
    // taken at another path where they hold the same counts (a run directory moved or copied).
    bool records_label_counts = false;
};
StoredRun stored_run(const std::string& out_dir);
// Refuses (InputError listing "key: stored -> given") to resume a run with settings that change its
// result (differing_result_keys). `pfce train --resume` calls it before it reads the data, without
// the labels keys (a mask directory's settings are adopted while the data is read) and with
// root_moved "same" (data.root is judged once the data is read); the trainer again with them.
// root_moved, for another data.root: "same" where the data there is the run's, moved (allowed),
// else why it is not (said beside the key); "" to compare data.root as any key.
// same_label_counts: the labels read now hold, class by class, the pixels the run's did (a mask
// directory at another path is then the run's, moved or copied).
// on_cuda: where the run goes on, for run.precision "auto" (the same as fp32 on a CPU, tf32 on
// CUDA: the arithmetic typed out is no change). not_tiles: the dataset read is no tiles dataset
// (data.tile_* do nothing). Keys that do nothing in both configs are not compared. `where`: where
// each given key was set (a --config file, a flag), named beside each change it holds.
void refuse_changed_settings(const Config& stored, const Config& given, bool labels_too,
                             bool on_cuda, const std::string& root_moved = {},
                             bool same_label_counts = false, bool not_tiles = false,
                             const KeySources* where = nullptr);
// stored_run(out_dir).config (for `pfce train --resume` without a config file).
Config config_of_run(const std::string& out_dir);

}  // namespace pfce
