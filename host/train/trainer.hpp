// The training loop of DESIGN §4: epochs of batches (H2D copy, forward, partial focal loss,
// backward, optional clipping by global norm, optimizer step), validation every epoch on the
// training label kind and on dense masks with dense metrics, best and last checkpoints,
// OUT/metrics.jsonl, resumable bit-exactly (on the CPU) from OUT/last.ckpt, stopped cleanly by a
// NaN/Inf loss (keeping the last good checkpoint) or by Ctrl-C (saving first).
//
// Host syncs: the per-batch loss is summed on the device and read back every `log_every` batches
// (and at the end of an epoch) for the progress bar and the NaN check; nothing else in a step
// waits.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/backend.hpp"
#include "host/train/evaluate.hpp"
#include "host/train/train_config.hpp"
#include "host/train/train_data.hpp"

namespace pfce {

struct TrainOptions {
    bool resume = false;  // continue from OUT/last.ckpt (its config must equal the one given)
    bool force = false;   // start over even though OUT/ already holds a run
    bool handle_sigint = false;  // Ctrl-C sets a flag checked between batches (CLI only)
    int tty = -1;                // progress display: -1 detect, 0 plain lines, 1 redrawn bar
    // Called after every optimizer step with the number of steps taken; true stops the run as
    // Ctrl-C does (tests use it to interrupt at a chosen point).
    std::function<bool(std::int64_t)> stop_after_step;
};

struct TrainResult {
    int epochs_completed = 0;
    bool interrupted = false;
    std::int64_t steps = 0;
    double train_loss = 0;  // of the last completed epoch
    EvalResult val;         // of the last completed epoch
    int best_epoch = 0;     // 1-based; 0 = none yet
    double best_value = 0;
    std::string last_checkpoint, best_checkpoint, metrics_path;
};

TrainResult train_unet(Backend& backend, const TrainConfig& cfg, const TrainInputs& inputs,
                       const TrainOptions& opts = {});

// The training config stored in OUT/last.ckpt (for `pfce train --resume` without --config).
TrainConfig config_of_run(const std::string& out_dir);

}  // namespace pfce
