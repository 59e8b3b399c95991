// Logging sink: "[  12.3s] info: message" on stderr, one line per call, safe across threads.
#include "core/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

#include "core/enum_names.hpp"

namespace pfce {

namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::info)};
const auto g_start = std::chrono::steady_clock::now();
std::mutex g_mutex;
std::atomic<bool> g_bar_on_line{false};
const char* level_name(LogLevel l) {
    static const EnumName<LogLevel> names[] = {{LogLevel::debug, "debug"},
                                               {LogLevel::info, "info"},
                                               {LogLevel::warn, "warn"},
                                               {LogLevel::error, "error"}};
    return enum_name(l, names);
}
}  // namespace

void set_log_level(LogLevel level) {
    g_level.store(static_cast<int>(level));
}
LogLevel log_level() {
    return static_cast<LogLevel>(g_level.load());
}

void log_message(LogLevel level, const std::string& msg) {
    double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - g_start).count();
    std::lock_guard<std::mutex> lock(g_mutex);
    // A progress bar's line is cleared first (the bar draws itself again at its next update):
    // a warning from a reader thread was appended to the bar's text.
    const char* clear = g_bar_on_line.exchange(false) ? "\r\x1b[K" : "";
    std::fprintf(stderr, "%s[%7.1fs] %s: %s\n", clear, t, level_name(level), msg.c_str());
}

void set_progress_line_shown(bool shown) {
    g_bar_on_line.store(shown);
}

}  // namespace pfce
