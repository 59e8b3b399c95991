// The stop flag and the handlers that set it.
#include "core/stop_signal.hpp"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <ctime>

namespace pfce {
namespace {

std::atomic<bool> g_stop{false};
// When the first signal came (CLOCK_MONOTONIC, ns): a second within kSameRequestNs is the same
// request delivered twice, not a second Ctrl-C. `timeout -s INT` signals the child and then its
// process group, so pfce got both, and 7 of 60 timed-out `data synth` runs stopped at once,
// leaving temporaries (interruption probe).
std::atomic<long long> g_first_signal_ns{0};
constexpr long long kSameRequestNs = 200'000'000;

long long monotonic_ns() {  // clock_gettime is async-signal-safe
    timespec t{};
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    return static_cast<long long>(t.tv_sec) * 1'000'000'000LL + t.tv_nsec;
}

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
        g_first_signal_ns.store(monotonic_ns());
        say("\npfce: stopping cleanly at the next safe point (a second Ctrl-C / SIGTERM stops at "
            "once)\n");
        return;
    }
    if (monotonic_ns() - g_first_signal_ns.load() < kSameRequestNs) return;
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
