// Op graphs on CUDA (Backend::capture_graph): stream capture of the backend's stream into a CUDA
// graph, instantiated once and launched as one unit. This is what makes a training step one
// launch instead of a few hundred (each kernel launch costs the host several microseconds, which
// at small batches is longer than the kernel).
#include "core/error.hpp"
#include "cuda/common.cuh"
#include "cuda/cuda_backend.hpp"
#include "cuda/cuda_context.hpp"

#include <exception>
#include <string>

namespace pfce {

namespace {

class CudaOpGraph final : public OpGraph {
  public:
    CudaOpGraph(cudaGraph_t graph, cudaGraphExec_t exec, cudaStream_t stream, std::size_t nodes)
        : graph_(graph), exec_(exec), stream_(stream), nodes_(nodes) {}
    ~CudaOpGraph() override {
        PFCE_CUDA_CHECK_LOG(cudaGraphExecDestroy(exec_));
        PFCE_CUDA_CHECK_LOG(cudaGraphDestroy(graph_));
    }
    CudaOpGraph(const CudaOpGraph&) = delete;
    CudaOpGraph& operator=(const CudaOpGraph&) = delete;

    void replay() override { PFCE_CUDA_CHECK(cudaGraphLaunch(exec_, stream_)); }
    std::string describe() const override {
        return "CUDA graph of " + std::to_string(nodes_) + " nodes";
    }

  private:
    cudaGraph_t graph_;
    cudaGraphExec_t exec_;
    cudaStream_t stream_;
    std::size_t nodes_;
};

std::string cuda_error_text(const char* what, cudaError_t e) {
    return std::string(what) + ": " + cudaGetErrorName(e) + ": " + cudaGetErrorString(e);
}

}  // namespace

GraphCapture CudaBackend::capture_graph(const std::function<void()>& body) {
    CudaContext& c = *ctx_;
    PFCE_CUDA_CHECK(cudaSetDevice(c.device));
    // Device blocks taken, or any allocation refused, by this thread's body (pinned host memory
    // that the batch loader's threads take meanwhile is no buffer the graph reads).
    const auto allocation_attempts = [&c] {
        return c.device_blocks() + c.refused_while_recording();
    };
    const std::uint64_t attempts_before = allocation_attempts();
    // Thread-local mode: while this thread captures, its calls that could allocate, free or wait
    // (cudaMalloc, cudaFree, cudaStreamSynchronize, a copy to the host) fail instead of breaking
    // the graph silently, while the batch loader's threads may go on making pinned staging.
    PFCE_CUDA_CHECK(cudaStreamBeginCapture(c.stream, cudaStreamCaptureModeThreadLocal));
    std::string failure;
    cuda_detail::recording_graph = true;
    try {
        body();
    } catch (const std::exception& e) {
        failure = e.what();
    } catch (...) {
        failure = "the ops threw something that is not a std::exception";
    }
    cuda_detail::recording_graph = false;
    cudaGraph_t graph = nullptr;
    const cudaError_t ended = cudaStreamEndCapture(c.stream, &graph);
    // A failed capture's errors belong to the capture, not to the next kernel's launch check.
    (void)cudaGetLastError();
    // Memory the body released: recorded ops may name it, so the graph is not kept. Freed now
    // (cudaFree waits for the work enqueued before the recording that may still use it).
    if (!cuda_detail::frees_while_recording.empty()) {
        if (failure.empty()) failure = "the ops freed device memory while being recorded";
        for (void* p : cuda_detail::frees_while_recording) PFCE_CUDA_CHECK_LOG(cudaFree(p));
        cuda_detail::frees_while_recording.clear();
    }
    if (failure.empty() && ended != cudaSuccess)
        failure = cuda_error_text("stream capture failed", ended);
    if (failure.empty() && graph == nullptr) failure = "stream capture returned no graph";
    // An allocation inside the body may be cudaMalloc'd memory the graph would keep using after
    // whatever owns it frees it again: only a warmed-up body, which allocates nothing, is kept.
    // (alloc_device refuses while recording, counting the attempt, so the body throws first.)
    const bool allocated = allocation_attempts() != attempts_before;
    if (failure.empty() && allocated)
        failure = "the ops allocated memory while being recorded (run them once first)";
    if (!failure.empty()) {
        if (graph) PFCE_CUDA_CHECK_LOG(cudaGraphDestroy(graph));
        return {nullptr, failure, allocated};
    }
    std::size_t nodes = 0;
    PFCE_CUDA_CHECK_LOG(cudaGraphGetNodes(graph, nullptr, &nodes));
    cudaGraphExec_t exec = nullptr;
    const cudaError_t made = cudaGraphInstantiate(&exec, graph, 0);
    if (made != cudaSuccess) {
        (void)cudaGetLastError();
        PFCE_CUDA_CHECK_LOG(cudaGraphDestroy(graph));
        return {nullptr, cuda_error_text("cudaGraphInstantiate", made)};
    }
    return {std::make_unique<CudaOpGraph>(graph, exec, c.stream, nodes), {}};
}

}  // namespace pfce
