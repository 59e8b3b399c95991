// The stop flag and the handlers that set it.
#include "core/stop_signal.hpp"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>

namespace pfce {
namespace {

std::atomic<bool> g_stop{false};

// write(2) only: what a signal handler may call. Errors are ignored (nothing to do about them).
void say(const char* text) {
    const ssize_t ignored = ::write(STDERR_FILENO, text, std::strlen(text));
    (void)ignored;
}

// The first signal is acknowledged at once (a long step may pass before the work polls, and a
// user who sees nothing presses again); the second says what stopping at once leaves, then ends
// the process by the signal's default action (a shell sees it killed by that signal).
extern "C" void on_stop_signal(int sig) {
    if (!g_stop.exchange(true)) {
        say("\npfce: stopping cleanly at the next safe point (a second Ctrl-C / SIGTERM stops at "
            "once)\n");
        return;
    }
    say("\npfce: stopped at once by a second Ctrl-C / SIGTERM: what was being written is left "
        "unfinished (pfce refuses it, or removes its temporaries, next time)\n");
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

}  // namespace

StopSignals::StopSignals(bool active) : active_(active) {
    if (!active_) return;
    g_stop.store(false);
    previous_int_ = std::signal(SIGINT, on_stop_signal);
    previous_term_ = std::signal(SIGTERM, on_stop_signal);
}

StopSignals::~StopSignals() {
    if (!active_) return;
    std::signal(SIGINT, previous_int_ == SIG_ERR ? SIG_DFL : previous_int_);
    std::signal(SIGTERM, previous_term_ == SIG_ERR ? SIG_DFL : previous_term_);
    // Seen by the work it was for: library code polling after this must not stop for it.
    g_stop.store(false);
}

bool stop_requested() {
    return g_stop.load();
}
void request_stop() {
    g_stop.store(true);
}
void clear_stop_request() {
    g_stop.store(false);
}

}  // namespace pfce
