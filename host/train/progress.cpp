// Progress bar drawing and the plain-line fallback.
#include "host/train/progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "core/log.hpp"

namespace pfce {

namespace {

constexpr double kPlainLineSeconds = 30;

// -q (warnings and errors only) keeps progress and epoch lines off stderr too: they are info.
bool progress_shown() {
    return log_level() <= LogLevel::info;
}

}  // namespace

std::string format_duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return "?";
    const long s = std::lround(seconds);
    char buf[32];
    if (s >= 3600)
        std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
    else
        std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
    return buf;
}

std::string format_seconds(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return "?";
    if (seconds >= 60) return format_duration(seconds);
    char buf[32];
    std::snprintf(buf, sizeof buf, seconds < 1 ? "%.3f s" : "%.1f s", seconds);
    return buf;
}

std::string format_rate(double per_second) {
    if (!std::isfinite(per_second) || per_second < 0) return "?";
    char buf[32];
    std::snprintf(buf, sizeof buf,
                  per_second >= 100  ? "%.0f"
                  : per_second >= 10 ? "%.1f"
                  : per_second >= 1  ? "%.2f"
                                     : "%.3f",
                  per_second);
    return buf;
}

ProgressBar::ProgressBar(std::string label, std::int64_t total, int tty, std::string unit,
                         bool with_loss)
    : label_(std::move(label)),
      total_(total),
      tty_(tty < 0 ? ::isatty(STDERR_FILENO) != 0 : tty != 0),
      unit_(std::move(unit)),
      with_loss_(with_loss),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

double ProgressBar::elapsed_s() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressBar::update(std::int64_t done, double loss, std::int64_t images) {
    if (!progress_shown()) return;
    const auto now = std::chrono::steady_clock::now();
    const double t = elapsed_s();
    const std::int64_t counted = done - done_at_start_;
    const double rate = t > 0 ? static_cast<double>(images - done_at_start_) / t : 0.0;
    const double eta =
        counted > 0 ? t * static_cast<double>(total_ - done) / static_cast<double>(counted) : NAN;
    char loss_s[32] = "";  // none for inference
    if (with_loss_ && loss >= 0 && std::isfinite(loss))
        std::snprintf(loss_s, sizeof loss_s, " loss %.4f", loss);
    else if (with_loss_)
        std::snprintf(loss_s, sizeof loss_s, " loss %s", std::isnan(loss) ? "nan" : "-");
    if (tty_) {
        // Redraw at most 10 times a second; always draw the last item.
        if (done < total_ && std::chrono::duration<double>(now - last_draw_).count() < 0.1) return;
        last_draw_ = now;
        constexpr int kWidth = 24;
        const int filled = total_ > 0 ? static_cast<int>(kWidth * done / total_) : kWidth;
        std::string bar(static_cast<std::size_t>(filled), '=');
        bar.resize(kWidth, ' ');
        std::fprintf(stderr, "\r%s %lld/%lld [%s]%s  %s %s/s  ETA %s \x1b[K", label_.c_str(),
                     static_cast<long long>(done), static_cast<long long>(total_), bar.c_str(),
                     loss_s, format_rate(rate).c_str(), unit_.c_str(),
                     format_duration(eta).c_str());
        std::fflush(stderr);
        set_progress_line_shown(true);
        return;
    }
    // A tenth of the work, or kPlainLineSeconds, whichever comes first: a tenth of a 30000^2
    // image's windows was 88 s of silence in a log (scale probe).
    const bool due = std::chrono::duration<double>(now - last_draw_).count() >= kPlainLineSeconds;
    if (done < next_plain_ && done < total_ && !due) return;
    const std::int64_t step = total_ >= 10 ? total_ / 10 : 1;
    next_plain_ = (done / step + 1) * step;
    last_draw_ = now;
    std::fprintf(stderr, "%s %lld/%lld%s  %s %s/s  ETA %s\n", label_.c_str(),
                 static_cast<long long>(done), static_cast<long long>(total_), loss_s,
                 format_rate(rate).c_str(), unit_.c_str(), format_duration(eta).c_str());
}

void ProgressBar::erase() {
    if (!tty_ || !progress_shown()) return;
    std::fprintf(stderr, "\r\x1b[K");
    std::fflush(stderr);
    set_progress_line_shown(false);
}

LazyProgress::LazyProgress(std::string label, double after_s, int tty)
    : label_(std::move(label)),
      after_s_(after_s),
      tty_(tty),
      start_(std::chrono::steady_clock::now()) {}

void LazyProgress::update(std::int64_t done, std::int64_t total, const char* unit) {
    if (!first_) {
        first_ = std::chrono::steady_clock::now();
        first_done_ = done;
    }
    if (!bar_) {
        if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count() <
            after_s_)
            return;
        bar_.emplace(label_, total, tty_, unit, /*with_loss=*/false);
        bar_->started_at(*first_, first_done_);
        unit_ = unit;
        total_ = total;
    }
    if (unit != unit_ || total != total_) return;
    bar_->update(done, -1, done);
}

LazyProgress::~LazyProgress() {
    if (bar_) bar_->erase();
}

void ProgressBar::finish(const std::string& summary) {
    if (!progress_shown()) return;
    set_progress_line_shown(false);  // the summary ends the line
    if (tty_)
        std::fprintf(stderr, "\r%s %s\x1b[K\n", label_.c_str(), summary.c_str());
    else
        std::fprintf(stderr, "%s %s\n", label_.c_str(), summary.c_str());
    std::fflush(stderr);
}

}  // namespace pfce
