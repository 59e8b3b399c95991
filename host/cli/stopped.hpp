// What a command that writes a mask directory says when Ctrl-C / SIGTERM stops it (core/
// stop_signal): the writing was undone on the way out (data/mask_dir.hpp), so it names what the
// directory holds now and how to go on. Exits 130, as a stopped train or predict does.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <string>
#include <utility>

#include "core/stop_signal.hpp"

namespace pfce::cli {

[[noreturn]] inline void stopped_writing_masks(const std::string& dir) {
    std::fflush(stdout);
    std::fprintf(stderr,
                 "pfce: stopped (Ctrl-C / SIGTERM) before the masks of %s were complete: "
                 "complete masks it held are as they were, and a directory this command made "
                 "is removed; run the same command again to make them\n",
                 dir.c_str());
    throw CLI::RuntimeError(130);
}

// A stop that came after the last mask was written (while they were put in place, which it does
// not cut short): the work is done and complete, so the command ends as it would have, saying so.
inline void said_stop_came_late(const std::string& dir) {
    if (!stop_requested()) return;
    std::fprintf(stderr,
                 "pfce: the stop (Ctrl-C / SIGTERM) came after the last mask was written: the "
                 "masks in %s are complete\n",
                 dir.c_str());
}

// Declared after a command's StopSignals: where the command ends as it would have, a stop that came
// too late to cut it short (its outputs were being put in place) is said, never met with silence
// and exit 0 (export, eval and run acknowledged the signal, then said nothing more: interruption
// probe). `done` says what is complete.
class LateStopSaid {
  public:
    explicit LateStopSaid(std::string done)
        : done_(std::move(done)), exceptions_(std::uncaught_exceptions()) {}
    LateStopSaid(const LateStopSaid&) = delete;
    LateStopSaid& operator=(const LateStopSaid&) = delete;
    ~LateStopSaid() {
        if (std::uncaught_exceptions() != exceptions_ || !stop_requested()) return;
        std::fflush(stdout);
        std::fprintf(stderr,
                     "pfce: the stop (Ctrl-C / SIGTERM) came too late to cut it short: %s\n",
                     done_.c_str());
    }

  private:
    std::string done_;
    int exceptions_;
};

}  // namespace pfce::cli
