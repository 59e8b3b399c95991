// Training progress on stderr: a one-line bar redrawn in place (loss, images/s, ETA) when stderr
// is a terminal, plain lines at about every tenth of the epoch otherwise (logs, CI), so progress is
// visible without flooding a file.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace pfce {

class ProgressBar {
  public:
    // tty < 0: detect with isatty(stderr).
    ProgressBar(std::string label, std::int64_t total, int tty = -1);
    // `done` items of `total`; loss < 0 or NaN prints "-"; images counts the work for images/s.
    void update(std::int64_t done, double loss, std::int64_t images);
    void finish(const std::string& summary);  // ends the line (tty) or prints the summary
    double elapsed_s() const;

  private:
    std::string label_;
    std::int64_t total_;
    bool tty_;
    std::chrono::steady_clock::time_point start_, last_draw_;
    std::int64_t next_plain_ = 0;
};

std::string format_duration(double seconds);  // "1:02:03" / "2:03"
// A step's time for a log line: "0.022 s", "85.9 s" below a minute, else format_duration's.
std::string format_seconds(double seconds);

}  // namespace pfce
