// LR schedules: the formulas, and ReduceLROnPlateau's bookkeeping as in torch.optim.lr_scheduler.
#include "host/train/lr_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"

namespace pfce {

LrSchedule::LrSchedule(const ScheduleConfig& cfg)
    : cfg_(cfg), plateau_lr_(cfg.base_lr), best_(worst()) {}

double LrSchedule::worst() const {
    return cfg_.plateau_max ? -std::numeric_limits<double>::infinity()
                            : std::numeric_limits<double>::infinity();
}

double LrSchedule::lr(std::int64_t step, int epoch) const {
    switch (cfg_.kind) {
        case ScheduleKind::constant:
            return cfg_.base_lr;
        case ScheduleKind::step: {
            const int k = cfg_.step_size > 0 ? epoch / cfg_.step_size : 0;
            return cfg_.base_lr * std::pow(cfg_.gamma, k);
        }
        case ScheduleKind::cosine: {
            // Warm-up reaches base_lr at the last warm-up step: lr = base * (step+1) / warmup.
            if (step < cfg_.warmup_steps)
                return cfg_.base_lr * static_cast<double>(step + 1) /
                       static_cast<double>(cfg_.warmup_steps);
            const std::int64_t span =
                std::max<std::int64_t>(1, cfg_.total_steps - cfg_.warmup_steps);
            const double t = std::min(
                1.0, static_cast<double>(step - cfg_.warmup_steps) / static_cast<double>(span));
            return cfg_.min_lr + 0.5 * (cfg_.base_lr - cfg_.min_lr) * (1.0 + std::cos(M_PI * t));
        }
        case ScheduleKind::plateau:
            return plateau_lr_;
    }
    return cfg_.base_lr;
}

bool LrSchedule::is_better(double a) const {
    if (cfg_.plateau_max)
        return cfg_.threshold_abs ? a > best_ + cfg_.threshold : a > best_ * (1.0 + cfg_.threshold);
    return cfg_.threshold_abs ? a < best_ - cfg_.threshold : a < best_ * (1.0 - cfg_.threshold);
}

bool LrSchedule::end_epoch(double metric) {
    if (cfg_.kind != ScheduleKind::plateau) return false;
    // torch ReduceLROnPlateau.step(): improvement resets the bad-epoch count; cooldown swallows
    // bad epochs; more than `patience` bad epochs multiply lr by factor (not below min_lr).
    if (is_better(metric)) {
        best_ = metric;
        num_bad_ = 0;
    } else {
        ++num_bad_;
    }
    if (cooldown_counter_ > 0) {
        --cooldown_counter_;
        num_bad_ = 0;
    }
    if (num_bad_ > cfg_.patience) {
        const double next = std::max(plateau_lr_ * cfg_.factor, cfg_.min_lr);
        num_bad_ = 0;
        cooldown_counter_ = cfg_.cooldown;
        if (plateau_lr_ - next > 1e-8) {
            plateau_lr_ = next;
            return true;
        }
    }
    return false;
}

void LrSchedule::restart_watch() {
    best_ = worst();
    num_bad_ = 0;
}

nlohmann::json LrSchedule::state() const {
    return {{"plateau_lr", plateau_lr_},
            {"best", std::isfinite(best_) ? nlohmann::json(best_) : nlohmann::json()},
            {"num_bad", num_bad_},
            {"cooldown_counter", cooldown_counter_}};
}

void LrSchedule::load_state(const nlohmann::json& s) {
    plateau_lr_ = s.at("plateau_lr").get<double>();
    best_ = s.at("best").is_null() ? worst() : s.at("best").get<double>();
    num_bad_ = s.at("num_bad").get<int>();
    cooldown_counter_ = s.at("cooldown_counter").get<int>();
}

}  // namespace pfce
