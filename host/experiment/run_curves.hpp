// A training run's curves in one picture, OUT/curves.svg, drawn again after every epoch from
// OUT/metrics.jsonl: the losses, the validation mIoU and overall accuracy, and the learning rate.
// Someone watching `pfce train` (or a suite's experiment) opens it in a browser while the run goes
// on, instead of plotting metrics.jsonl in a notebook.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "host/train/trainer.hpp"  // kRunCurvesFile, is_run_curves

namespace pfce {

// The picture of these metrics.jsonl lines (one object per epoch; lines without an epoch are
// left out): three charts one under the other, `title` above them and `subtitle` (the run's
// settings) under it; the best checkpoint's epoch marked.
std::string render_run_curves_svg(const std::vector<nlohmann::json>& epochs,
                                  const std::string& title, const std::string& subtitle = "");

// Reads `metrics_path` and writes the picture to `svg_path` atomically. A file of that name that
// pfce did not draw is left alone, said once (a warning); an unreadable metrics file draws nothing.
void write_run_curves(const std::string& metrics_path, const std::string& svg_path,
                      const std::string& title, const std::string& subtitle = "");

}  // namespace pfce
