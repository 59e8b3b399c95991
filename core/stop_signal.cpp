// The stop flag and the handlers that set it.
#include "core/stop_signal.hpp"

#include <atomic>
#include <csignal>

namespace pfce {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int sig) {
    g_stop.store(true);
    std::signal(sig, SIG_DFL);
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
