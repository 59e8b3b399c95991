// When the device work of a training step runs as a replayed op graph (run.step_graph; a CUDA
// graph on the cuda backend). A graph replays the same kernels on the same buffers, so it is
// recorded only once the step's buffers stop moving: after a step that ran eagerly at the same
// input shapes and allocated nothing, with nothing allocated or freed since (evaluation between
// epochs may grow a buffer the step then moves too). It is replayed while the input shapes stay and
// no device memory has been allocated or freed since (that may have moved a buffer it reads:
// evaluation growing the shared workspace), and recorded again after the next clean eager step
// otherwise. A recording that allocated is dropped and tried again later; a step that cannot be
// recorded at all (a backend without graphs, an op that waits for the device) is said once and
// every step then runs eagerly. The run's results are the same either way.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/backend.hpp"

namespace pfce {

struct StepGraphCounts {
    std::int64_t eager = 0, captures = 0, replays = 0;
    std::int64_t retries = 0;  // recordings dropped because the step allocated
};

class StepGraph {
  public:
    // failure_said: the caller has said why recording cannot work (a backend without graphs),
    // so a failed recording is kept in failure() without a warning.
    StepGraph(Backend& backend, bool enabled, bool failure_said = false)
        : backend_(backend), enabled_(enabled), failure_said_(failure_said) {}

    // Runs `body`, the device work of one step whose fixed-shape inputs have shapes `inputs`
    // (they and every buffer body touches must be the same from step to step at the same
    // shapes): eagerly, or recorded and replayed. Every value that changes between steps must be
    // in a device tensor written before the call, since a replay does not run body's host code;
    // `settings` stands for host values the ops take as parameters and that change seldom (the
    // CRF term's weight while it ramps up each epoch): a change records the step again.
    void run(const std::vector<Shape>& inputs, const std::function<void()>& body,
             std::uint64_t settings = 0);

    bool enabled() const { return enabled_; }
    const StepGraphCounts& counts() const { return counts_; }
    const std::string& failure() const { return failure_; }  // why recording was given up

  private:
    // Recordings that allocated before recording is given up (a step that allocates every time).
    static constexpr std::int64_t kMaxRetries = 3;
    Backend& backend_;
    bool enabled_;
    bool failure_said_;
    std::unique_ptr<OpGraph> graph_;
    std::vector<Shape> graph_inputs_;
    std::uint64_t graph_settings_ = 0;
    std::uint64_t graph_allocations_ = 0;  // device_memory_moves() when graph_ was recorded
    std::vector<Shape> last_inputs_;       // of the previous eager step
    std::uint64_t last_settings_ = 0;      // ... its settings
    bool last_clean_ = false;              // ... which allocated nothing
    std::uint64_t last_allocations_ = 0;   // device_memory_moves() after it
    StepGraphCounts counts_;
    std::string failure_;
};

}  // namespace pfce
