// One experiment of a suite, stage by stage: labels (sample, link: cached), training (resumed when
// an interrupted run of the same settings is there), the test split on dense truth with the chosen
// checkpoint, and the picture grid. Each stage is logged with its time.
#pragma once

#include <string>
#include <vector>

#include "core/backend.hpp"
#include "host/experiment/results.hpp"
#include "host/experiment/runner.hpp"
#include "host/experiment/suite.hpp"
#include "host/experiment/suite_data.hpp"

namespace pfce {

// Throws on failure. When Ctrl-C / SIGTERM stops the training, returns with r.status "interrupted"
// after the trainer saved its checkpoint (the next `pfce run` resumes it).
// InputError when the suite's images do not fit experiment `e`: one its U-Net (model.depth)
// cannot take whole, a crop more than twice the largest training image's side, training images of
// several sizes without crops. A suite checks every experiment so before the first one runs.
void check_experiment_fits_images(const ExperimentSpec& e, const LoadedData& L);

ExperimentResult run_experiment(const ExperimentSpec& e, const Suite& suite, const LoadedData& L,
                                Backend& backend, const std::string& out_dir,
                                const RunOptions& opts, const std::string& tag);

// OUT/<id>/grid.png removed and r's grid fields cleared (a suite asking for no pictures).
void remove_picture_grid(const ExperimentSpec& e, const std::string& out_dir, ExperimentResult& r);

// The checkpoint a finished experiment's test results are of: OUT/<id>/train/last.ckpt where the
// last epoch was selected (run.evaluate "last", or the best epoch was the last), else best.ckpt.
std::string tested_checkpoint(const std::string& out_dir, const std::string& id,
                              const ExperimentResult& r);

// A finished experiment's picture grid drawn again for suite.grid_images (which changes no result,
// so a new count reruns nothing): its tested checkpoint on its labels (OUT/cache, made again where
// they are gone). Updates r's grid fields; throws where the checkpoint cannot be read.
void redraw_picture_grid(const ExperimentSpec& e, const Suite& suite, const LoadedData& L,
                         Backend& backend, const std::string& out_dir, ExperimentResult& r,
                         const std::string& tag);

// The settings that keep the interrupted training in `train_dir` (its last.ckpt) from being
// resumed by an experiment of `cfg` on data of `identity` (suite_data_identity: null for
// synthetic data): the keys that change the result, a longer run.epochs (the schedule depends on
// the count), as "run.epochs: 300 -> 301", and other data ("the data: ... since"); not where the
// data or the suite's labels lie. Empty when there is no checkpoint, all agree, or it cannot be
// read (the run then says why it starts over).
std::vector<std::string> interrupted_training_changes(const std::string& train_dir,
                                                      const Config& cfg,
                                                      const nlohmann::json& identity);

}  // namespace pfce
