// Learning-rate schedules: constant, step (StepLR), cosine with linear warm-up (per optimizer
// step), and ReduceLROnPlateau with PyTorch's semantics (mode, factor, patience, threshold,
// cooldown, min_lr). The schedule lives on the host: the trainer asks it for the lr of every step
// and tells it the monitored metric at each epoch end. Its state round-trips through checkpoints.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/enum_names.hpp"

namespace pfce {

enum class ScheduleKind { constant, step, cosine, plateau };
inline constexpr EnumTable<ScheduleKind, 4> kScheduleKinds{
    {"constant", "step", "cosine", "plateau"}, "schedule"};

struct ScheduleConfig {
    ScheduleKind kind = ScheduleKind::constant;
    double base_lr = 1e-3;
    // step: lr = base * gamma^floor(epoch / step_size)
    int step_size = 10;
    double gamma = 0.1;
    // cosine: linear warm-up over warmup_steps, then base -> min_lr over the remaining steps
    std::int64_t warmup_steps = 0;
    std::int64_t total_steps = 1;
    // plateau (and the floor of cosine)
    double min_lr = 0.0;
    bool plateau_max = false;  // mode "max": higher metric is better
    double factor = 0.1;
    int patience = 10;
    double threshold = 1e-4;
    bool threshold_abs = false;  // threshold_mode "abs" (default "rel")
    int cooldown = 0;
};

class LrSchedule {
  public:
    explicit LrSchedule(const ScheduleConfig& cfg);

    // lr for optimizer step `step` (0-based, counted over the whole run) in epoch `epoch`
    // (0-based).
    double lr(std::int64_t step, int epoch) const;
    // End of an epoch: plateau reads `metric` (others ignore it). Returns true if lr was reduced.
    bool end_epoch(double metric);

    const ScheduleConfig& config() const { return cfg_; }
    nlohmann::json state() const;
    // plateau: forgets the best metric and the epochs without improvement (the lr and cooldown
    // stay), for a resumed run that watches another metric than its checkpoint's.
    void restart_watch();
    void load_state(const nlohmann::json& s);

  private:
    bool is_better(double a) const;
    double worst() const;  // the best before any epoch: any finite metric beats it

    ScheduleConfig cfg_;
    double plateau_lr_;
    double best_;
    int num_bad_ = 0;
    int cooldown_counter_ = 0;
};

}  // namespace pfce
