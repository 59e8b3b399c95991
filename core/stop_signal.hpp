// Ctrl-C and SIGTERM as a request to stop cleanly: while a StopSignals object lives, either signal
// sets a flag that long work polls between steps (the trainer between batches, the suite runner
// between stages), so the work saves what it has and returns instead of dying mid-write. Each
// signal says so on stderr at once; a second one ends the process (by the signal's default action).
// The flag is cleared when the object goes, so work polling later is not stopped by an old request.
#pragma once

#include <exception>

namespace pfce {

class StopSignals {
  public:
    explicit StopSignals(bool active = true);
    ~StopSignals();
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;

  private:
    bool active_;
    void (*previous_int_)(int) = nullptr;
    void (*previous_term_)(int) = nullptr;
};

bool stop_requested();
void request_stop();  // as if a signal arrived (tests)
void clear_stop_request();

// Thrown by work that polls stop_requested() inside a step that cannot save a part (one image's
// forward passes under `pfce predict`): the caller drops that step's output and stops.
struct StopRequested : std::exception {
    const char* what() const noexcept override { return "stopped on request (Ctrl-C / SIGTERM)"; }
};

}  // namespace pfce
