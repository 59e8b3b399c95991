// StepGraph: record, replay or run eagerly (the rules are in the header).
#include "host/train/step_graph.hpp"

#include "core/log.hpp"

namespace pfce {

void StepGraph::run(const std::vector<Shape>& inputs, const std::function<void()>& body,
                    std::uint64_t settings) {
    if (!enabled_) {
        body();
        ++counts_.eager;
        return;
    }
    if (graph_ && (inputs != graph_inputs_ || settings != graph_settings_ ||
                   backend_.device_memory_moves() != graph_allocations_)) {
        graph_.reset();  // its buffers may have moved, or its parameters changed
        last_clean_ = false;
    }
    if (!graph_ && last_clean_ && inputs == last_inputs_ && settings == last_settings_ &&
        backend_.device_memory_moves() == last_allocations_) {
        GraphCapture rec = backend_.capture_graph(body);
        if (rec.graph) {
            graph_ = std::move(rec.graph);
            graph_inputs_ = inputs;
            graph_settings_ = settings;
            graph_allocations_ = backend_.device_memory_moves();
            if (counts_.captures++ == 0)
                log_info("training step recorded as one ", graph_->describe(),
                         ", replayed from now on");
        } else if (rec.allocated && counts_.retries < kMaxRetries) {
            // Not warm after all (nothing ran): this step runs eagerly and makes its buffers; the
            // next clean one is recorded.
            ++counts_.retries;
        } else {
            // Nothing ran: the step runs eagerly below, and so do all later ones.
            enabled_ = false;
            failure_ = rec.failure;
            if (!failure_said_)
                log_warn("run.step_graph: cannot record the training step as a graph (", failure_,
                         "); every step runs op by op, with the same results");
        }
    }
    if (graph_) {
        graph_->replay();
        ++counts_.replays;
        return;
    }
    const std::uint64_t before = backend_.device_memory_moves();
    body();
    ++counts_.eager;
    last_inputs_ = inputs;
    last_settings_ = settings;
    last_allocations_ = backend_.device_memory_moves();
    last_clean_ = last_allocations_ == before;
}

}  // namespace pfce
