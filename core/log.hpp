// Minimal leveled logging to stderr with elapsed time, so progress and choices (which backend,
// which cuDNN algorithm) are visible without polluting stdout, which carries results.
#pragma once

#include <string>

#include "core/error.hpp"

namespace pfce {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

void set_log_level(LogLevel level);
LogLevel log_level();
void log_message(LogLevel level, const std::string& msg);
// A progress bar is drawn on stderr's current line, with no newline yet (a terminal's bar): the
// next log line clears that line before it is written. false once the bar erased its line.
void set_progress_line_shown(bool shown);

template <typename... Args>
void log_info(const Args&... args) {
    if (log_level() <= LogLevel::info) log_message(LogLevel::info, detail::concat(args...));
}
template <typename... Args>
void log_warn(const Args&... args) {
    if (log_level() <= LogLevel::warn) log_message(LogLevel::warn, detail::concat(args...));
}
template <typename... Args>
void log_debug(const Args&... args) {
    if (log_level() <= LogLevel::debug) log_message(LogLevel::debug, detail::concat(args...));
}

}  // namespace pfce
