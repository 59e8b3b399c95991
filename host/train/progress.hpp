// Training progress on stderr: a one-line bar redrawn in place (loss, images/s, ETA) when stderr
// is a terminal, plain lines at about every tenth of the epoch otherwise (logs, CI), and at least
// every kPlainLineSeconds, so progress is visible without flooding a file.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace pfce {

class ProgressBar {
  public:
    // tty < 0: detect with isatty(stderr). `unit` names what the rate counts ("img": img/s);
    // without `with_loss` the loss is left out (work that has none: inference).
    ProgressBar(std::string label, std::int64_t total, int tty = -1, std::string unit = "img",
                bool with_loss = true);
    // `done` items of `total`; loss < 0 or NaN prints "-"; images counts the work for the rate.
    void update(std::int64_t done, double loss, std::int64_t images);
    void finish(const std::string& summary);  // ends the line (tty) or prints the summary
    void erase();  // takes the bar off its line (tty): the caller's own line follows
    // The work began before the bar (LazyProgress): the rate and ETA count from time `t`, when
    // `done` items were done (those before it, and the time before it, are left out: a 30000^2
    // image's first ETA, counting a minute of decoding as windows' time, said 3:20:00 for 16 min).
    void started_at(std::chrono::steady_clock::time_point t, std::int64_t done = 0) {
        start_ = t;
        done_at_start_ = done;
    }
    double elapsed_s() const;

  private:
    std::string label_;
    std::int64_t total_;
    bool tty_;
    std::string unit_;
    bool with_loss_;
    std::chrono::steady_clock::time_point start_, last_draw_;
    std::int64_t next_plain_ = 0;
    std::int64_t done_at_start_ = 0;
};

// Progress of work that is usually quick: nothing is shown until it has run `after_s` seconds,
// so a 300x300 patch says nothing and a 6000x6000 tile (minutes of windows on a CPU) says how far
// it is and when it will end. Erased from a terminal when done; a log keeps its lines.
class LazyProgress {
  public:
    explicit LazyProgress(std::string label, double after_s = 2.0, int tty = -1);
    void update(std::int64_t done, std::int64_t total, const char* unit);
    ~LazyProgress();

  private:
    std::string label_;
    double after_s_;
    int tty_;
    std::chrono::steady_clock::time_point start_;
    std::string unit_;
    std::int64_t total_ = -1;
    std::optional<ProgressBar> bar_;
    // The first update: when the work that is counted began, and how much was done then.
    std::optional<std::chrono::steady_clock::time_point> first_;
    std::int64_t first_done_ = 0;
};

std::string format_duration(double seconds);  // "1:02:03" / "2:03"
// A step's time for a log line: "0.022 s", "85.9 s" below a minute, else format_duration's.
std::string format_seconds(double seconds);
// A rate for a log line in three significant digits or more: "352", "41.7", "0.485" (one image in
// 2 s printed "0 images/s": scale probe).
std::string format_rate(double per_second);

}  // namespace pfce
