// Issue 13, "the whole step capturable as one CUDA graph and replayed": the rules of StepGraph
// (host/train/step_graph.hpp) on a CPU backend whose graphs are recordings of the body, then
// CUDA's capture_graph itself (GPU tests: a replay runs the recorded kernels, recording runs
// nothing, and a body that cannot be recorded leaves the stream usable), and training with the
// step replayed against training op by op (bit for bit, deterministic cuDNN).
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "host/cpu/cpu_backend.hpp"
#include "host/train/step_graph.hpp"
#include "tests/trainer_fixtures.hpp"

#ifdef PFCE_HAVE_CUDA
#include <cuda_runtime.h>
#endif

namespace pfce {
namespace {

using namespace test;

// A CPU backend with graphs: capture_graph keeps the body without running it (as stream capture
// does) and a replay runs the kept body; device_allocations counts zeros(), as CUDA counts
// cudaMalloc. Enough to check when StepGraph records, replays and runs eagerly.
class RecordingCpuBackend final : public CpuBackend {
  public:
    struct Recorded final : OpGraph {
        std::function<void()> body;
        int* replays;
        void replay() override {
            ++*replays;
            body();
        }
        std::string describe() const override { return "recording"; }
    };
    GraphCapture capture_graph(const std::function<void()>& body) override {
        ++captures;
        if (allocating_captures > 0) {  // as CUDA reports a body that allocated while recorded
            --allocating_captures;
            ++allocations;
            return {nullptr, "allocated", true};
        }
        if (!fail_with.empty()) return {nullptr, fail_with};
        auto g = std::make_unique<Recorded>();
        g->body = body;
        g->replays = &replays;
        return {std::move(g), {}};
    }
    Tensor zeros(Shape shape, DType dtype) override {
        ++allocations;
        return CpuBackend::zeros(shape, dtype);
    }
    std::uint64_t device_allocations() const override { return allocations; }
    std::uint64_t device_memory_moves() const override { return allocations + frees; }
    std::uint64_t allocations = 0, frees = 0;
    int captures = 0, replays = 0;
    std::string fail_with;
    int allocating_captures = 0;  // the next n recordings report an allocation
};

void expect_counts(const StepGraphCounts& c, std::int64_t eager, std::int64_t captures,
                   std::int64_t replays) {
    EXPECT_EQ(c.eager, eager);
    EXPECT_EQ(c.captures, captures);
    EXPECT_EQ(c.replays, replays);
}

const std::vector<Shape> kA = {{2, 3, 8, 8}};
const std::vector<Shape> kB = {{1, 3, 8, 8}};

TEST(StepGraph, OffRunsEveryStepEagerly) {
    RecordingCpuBackend b;
    StepGraph g(b, false);
    int ran = 0;
    for (int i = 0; i < 4; ++i) g.run(kA, [&] { ++ran; });
    EXPECT_EQ(ran, 4);
    EXPECT_EQ(b.captures, 0);
    EXPECT_EQ(g.counts().eager, 4);
}

// Step 1 runs eagerly (buffers and algorithms are set up); step 2 is recorded, which runs
// nothing, then replayed; later steps replay.
TEST(StepGraph, RecordsAfterOneCleanEagerStepThenReplays) {
    RecordingCpuBackend b;
    StepGraph g(b, true);
    int ran = 0;
    for (int i = 0; i < 5; ++i) g.run(kA, [&] { ++ran; });
    EXPECT_EQ(ran, 5);  // each step's work ran exactly once
    EXPECT_EQ(b.captures, 1);
    EXPECT_EQ(b.replays, 4);
    expect_counts(g.counts(), 1, 1, 4);
}

// A step that allocates has buffers that may still move: the next clean one is recorded.
TEST(StepGraph, WaitsForAStepThatAllocatesNothing) {
    RecordingCpuBackend b;
    StepGraph g(b, true);
    Tensor t;
    int ran = 0;
    auto body = [&] {
        ++ran;
        if (ran <= 2) t = b.zeros({4}, DType::f32);  // the first two steps allocate
    };
    for (int i = 0; i < 5; ++i) g.run(kA, body);
    EXPECT_EQ(ran, 5);
    EXPECT_EQ(g.counts().eager, 3);  // steps 1 and 2 allocate, 3 is clean, 4 is recorded
    EXPECT_EQ(g.counts().replays, 2);
}

// Other input shapes: the graph is not replayed; it is recorded anew once the shapes stay.
TEST(StepGraph, ShapeChangeRunsEagerlyAndRecordsAgain) {
    RecordingCpuBackend b;
    StepGraph g(b, true);
    int ran = 0;
    for (const auto* shapes : {&kA, &kA, &kB, &kA, &kA, &kA}) g.run(*shapes, [&] { ++ran; });
    EXPECT_EQ(ran, 6);
    // A eager, A recorded, B eager, A eager (the step before was B), A recorded, A replayed.
    expect_counts(g.counts(), 3, 2, 3);
}

// Host settings the recorded ops take as parameters (the CRF weight of a warm-up, new each
// epoch): a change is a new graph, recorded after a clean eager step with the new settings.
TEST(StepGraph, SettingsChangeRunsEagerlyAndRecordsAgain) {
    RecordingCpuBackend b;
    StepGraph g(b, true);
    int ran = 0;
    for (const std::uint64_t s : {1, 1, 1, 2, 2, 2})
        g.run(
            kA, [&] { ++ran; }, s);
    EXPECT_EQ(ran, 6);
    // 1 eager, 1 recorded and replayed, 1 replayed, 2 eager, 2 recorded and replayed, 2 replayed.
    expect_counts(g.counts(), 2, 2, 4);
}

// Two steps (the second recorded and replayed), `move` (device memory allocated or freed
// between steps), three more: the graph is dropped, step 3 runs eagerly, 4 is recorded again, 5
// replayed.
void expect_graph_dropped_by(RecordingCpuBackend& b, const std::function<void()>& move) {
    StepGraph g(b, true);
    int ran = 0;
    g.run(kA, [&] { ++ran; });
    g.run(kA, [&] { ++ran; });
    ASSERT_EQ(g.counts().replays, 1);
    move();
    for (int i = 0; i < 3; ++i) g.run(kA, [&] { ++ran; });
    EXPECT_EQ(ran, 5);
    expect_counts(g.counts(), 2, 2, 3);
}

// Something allocated between steps (evaluation growing the shared workspace) may have moved a
// buffer the graph reads.
TEST(StepGraph, AllocationBetweenStepsDropsTheGraph) {
    RecordingCpuBackend b;
    Tensor elsewhere;
    expect_graph_dropped_by(b, [&] { elsewhere = b.zeros({8}, DType::f32); });
}

// Device memory freed between steps: a buffer the graph reads may be gone, though nothing was
// allocated.
TEST(StepGraph, FreeBetweenStepsDropsTheGraph) {
    RecordingCpuBackend b;
    expect_graph_dropped_by(b, [&] { ++b.frees; });
}

// Allocated between a clean eager step and the next (validation between epochs): no recording
// until a clean step has followed it.
TEST(StepGraph, AllocationAfterTheCleanStepWaitsForAnotherOne) {
    RecordingCpuBackend b;
    StepGraph g(b, true);
    int ran = 0;
    g.run(kA, [&] { ++ran; });
    Tensor elsewhere = b.zeros({8}, DType::f32);
    for (int i = 0; i < 3; ++i) g.run(kA, [&] { ++ran; });
    EXPECT_EQ(ran, 4);
    expect_counts(g.counts(), 2, 1, 2);
}

// A recording that allocated ran nothing: that step runs eagerly, and a later clean one is
// recorded; a step that allocates at every recording is given up after a few.
TEST(StepGraph, RecordingThatAllocatedIsRetriedThenGivenUp) {
    {
        RecordingCpuBackend b;
        b.allocating_captures = 1;
        StepGraph g(b, true);
        int ran = 0;
        for (int i = 0; i < 5; ++i) g.run(kA, [&] { ++ran; });
        EXPECT_EQ(ran, 5);
        // 1 eager; 2's recording allocates, so 2 runs eagerly (cleanly: the allocation came
        // before it); 3 is recorded, and it, 4 and 5 are replays.
        expect_counts(g.counts(), 2, 1, 3);
        EXPECT_EQ(g.counts().retries, 1);
        EXPECT_TRUE(g.enabled());
    }
    {
        RecordingCpuBackend b;
        b.allocating_captures = 100;
        StepGraph g(b, true);
        int ran = 0;
        for (int i = 0; i < 12; ++i) g.run(kA, [&] { ++ran; });
        EXPECT_EQ(ran, 12);
        EXPECT_EQ(g.counts().replays, 0);
        EXPECT_EQ(b.captures, 4);  // 3 retries, then given up
        EXPECT_FALSE(g.enabled());
        EXPECT_EQ(g.failure(), "allocated");
    }
}

// A body that cannot be recorded: that step and every later one run eagerly, once each, and the
// reason is kept.
TEST(StepGraph, FailedRecordingFallsBackForTheRestOfTheRun) {
    RecordingCpuBackend b;
    b.fail_with = "an op waited for the device";
    StepGraph g(b, true);
    int ran = 0;
    for (int i = 0; i < 4; ++i) g.run(kA, [&] { ++ran; });
    EXPECT_EQ(ran, 4);
    EXPECT_EQ(b.captures, 1);
    EXPECT_FALSE(g.enabled());
    EXPECT_EQ(g.failure(), "an op waited for the device");
    EXPECT_EQ(g.counts().eager, 4);
}

// The CPU backend itself records no graphs: it says so, and training goes on op by op.
TEST(StepGraph, CpuBackendSaysItHasNoGraphs) {
    CpuBackend b;
    const GraphCapture rec = b.capture_graph([] { FAIL() << "a capture must not run its body"; });
    EXPECT_EQ(rec.graph, nullptr);
    EXPECT_NE(rec.failure.find("no op graphs"), std::string::npos) << rec.failure;
}

// CUDA_LAUNCH_BLOCKING=1 (gpu_check's rerun of failed tests sets it) makes every launch wait,
// which stream capture cannot record: the graph tests mean nothing there.
#define PFCE_SKIP_IF_LAUNCHES_BLOCK()                                                         \
    do {                                                                                      \
        const char* v = std::getenv("CUDA_LAUNCH_BLOCKING");                                  \
        if (v != nullptr && std::string(v) == "1")                                            \
            GTEST_SKIP() << "CUDA_LAUNCH_BLOCKING=1 waits at every launch; graphs cannot be " \
                            "recorded";                                                       \
    } while (0)

// ---- training with the step replayed ---------------------------------------------------------

// The metrics of a run without its timings (which differ between any two runs).
std::vector<nlohmann::json> metrics_without_timings(const std::string& path) {
    std::vector<nlohmann::json> lines = read_metrics(path);
    for (nlohmann::json& l : lines)
        for (const char* k : {"time_s", "val_time_s", "images_per_s"}) l.erase(k);
    return lines;
}

// Three epochs of a tiny U-Net (clipping and the CRF term on, so every part of the step is in the
// body) on `b`, run.step_graph as given (nullopt: unset, auto).
TrainResult train_small(Backend& b, const std::string& device, std::optional<bool> step_graph,
                        const std::string& name, bool deterministic = false,
                        const std::string& kernels = "", const std::string& precision = "auto",
                        int crf_warmup = 0) {
    const TrainInputs in = synthetic_inputs(5, 32, true, 3);
    Config c = small_config(temp_dir(name) + "/run");
    c.run.device = device;
    c.run.kernels = kernels;
    c.run.precision = precision;
    c.run.step_graph = step_graph;
    c.run.deterministic = deterministic;
    c.optimizer.clip = 1.0;
    c.loss.crf_weight = 0.01;
    c.loss.crf_radius = 2;
    c.loss.crf_warmup = crf_warmup;
    return train_unet(b, c, in, quiet_options());
}

// The trainer's step body holds all of a step's device work and reads every per-step value from
// device tensors: replaying recordings of it (the recording backend re-runs the body it kept, so
// a body that captured a dead local or left work out would show) gives the run op by op gives.
TEST(StepGraph, TrainingWithReplayedStepsIsTheSameRun) {
    RecordingCpuBackend eager_b, graph_b;
    const TrainResult eager = train_small(eager_b, "cpu", false, "graph_off");
    const TrainResult graph = train_small(graph_b, "cpu", true, "graph_on");
    EXPECT_EQ(eager.step_graph.replays, 0);
    // 2 steps an epoch, 3 epochs: step 1 makes its buffers, step 2 runs eagerly allocating
    // nothing; epoch 1's validation allocates its own buffers, so step 3 runs eagerly too and
    // step 4 is recorded: it and the last two steps are replays.
    expect_counts(graph.step_graph, 3, 1, 3);
    EXPECT_EQ(graph.steps, eager.steps);
    EXPECT_EQ(graph.train_loss, eager.train_loss);
    EXPECT_EQ(metrics_without_timings(graph.metrics_path),
              metrics_without_timings(eager.metrics_path));
}

// A CRF weight that ramps up is a parameter of the recorded op: each epoch of the ramp records
// the step again (a CUDA graph would replay the first epoch's weight), and the run is the run op
// by op, its metrics naming each epoch's weight.
TEST(StepGraph, ACrfWarmUpRecordsEachEpochOfTheRamp) {
    RecordingCpuBackend eager_b, graph_b;
    const TrainResult eager =
        train_small(eager_b, "cpu", false, "graph_ramp_off", false, "", "auto", 3);
    const TrainResult graph =
        train_small(graph_b, "cpu", true, "graph_ramp_on", false, "", "auto", 3);
    // Steps 1, 2 eager (epoch 1); 3 eager (validation allocated), 4 recorded at epoch 2's
    // weight; 5 eager (epoch 3's weight), 6 recorded anew.
    expect_counts(graph.step_graph, 4, 2, 2);
    EXPECT_EQ(graph.train_loss, eager.train_loss);
    const std::vector<nlohmann::json> metrics = metrics_without_timings(graph.metrics_path);
    EXPECT_EQ(metrics, metrics_without_timings(eager.metrics_path));
    ASSERT_EQ(metrics.size(), 3u);
    const double lambda = 0.01;
    for (int e = 0; e < 3; ++e)
        EXPECT_DOUBLE_EQ(metrics[e].value("crf_weight", -1.0), lambda * (e + 1) / 3) << e;
}

// A run stopped mid-way reports its graph's counts too.
TEST(StepGraph, InterruptedRunReportsItsCounts) {
    RecordingCpuBackend b;
    const TrainInputs in = synthetic_inputs(5, 32, true, 1);
    Config c = small_config(temp_dir("graph_stop") + "/run");
    c.run.step_graph = true;
    TrainOptions o = quiet_options();
    o.stop_after_step = [](std::int64_t s) { return s == 5; };
    const TrainResult r = train_unet(b, c, in, o);
    EXPECT_TRUE(r.interrupted);
    EXPECT_EQ(r.step_graph.eager + r.step_graph.replays, 5);
    EXPECT_GT(r.step_graph.replays, 0);
}

// On the plain CPU backend run.step_graph says once, before training, that it has no effect, and
// trains op by op, the same (its try at recording says nothing more). Unset (auto, the default),
// the CPU does not try, and says nothing about graphs.
TEST(StepGraph, CpuRunFallsBackToTheSameRun) {
    CpuBackend b1, b2, b3;
    const TrainResult eager = train_small(b1, "cpu", false, "cpu_graph_off");
    testing::internal::CaptureStderr();
    const TrainResult graph = train_small(b2, "cpu", true, "cpu_graph_on");
    const std::string said = testing::internal::GetCapturedStderr();
    EXPECT_NE(said.find("run.step_graph = true has no effect on the CPU backend"),
              std::string::npos)
        << said;
    EXPECT_EQ(said.find("cannot record the training step"), std::string::npos) << said;
    EXPECT_GT(graph.step_graph.eager, 2);  // it tried
    EXPECT_EQ(graph.step_graph.replays, 0);
    EXPECT_NE(graph.step_graph_failure.find("no op graphs"), std::string::npos)
        << graph.step_graph_failure;
    EXPECT_EQ(metrics_without_timings(graph.metrics_path),
              metrics_without_timings(eager.metrics_path));

    testing::internal::CaptureStderr();
    const TrainResult plain = train_small(b3, "cpu", std::nullopt, "cpu_graph_auto");
    const std::string plain_said = testing::internal::GetCapturedStderr();
    EXPECT_EQ(plain_said.find("graph"), std::string::npos) << plain_said;
    EXPECT_EQ(plain.step_graph.replays, 0);
    EXPECT_EQ(plain.step_graph_failure, "");
    EXPECT_EQ(metrics_without_timings(plain.metrics_path),
              metrics_without_timings(eager.metrics_path));
}

// ---- CUDA ----------------------------------------------------------------------------------

// The real thing: a run whose steps are CUDA graph replays gives the bits of the run op by op
// (deterministic cuDNN, so two eager runs agree too), and the graph was replayed. Both runs with
// the kernel variants `kernels` (run.kernels); the graph's with run.step_graph = `setting` (unset:
// auto, which records on CUDA).
void check_step_graph_matches_eager(const std::string& kernels, const std::string& tag,
                                    const std::string& precision = "auto",
                                    std::optional<bool> setting = true) {
    PFCE_REQUIRE_GPU(gpu_eager);
    PFCE_SKIP_IF_LAUNCHES_BLOCK();
    auto gpu_graph = test::cuda_backend_or_null();
    ASSERT_NE(gpu_graph, nullptr);
    const TrainResult eager =
        train_small(*gpu_eager, "cuda", false, tag + "_off", true, kernels, precision);
    const TrainResult graph =
        train_small(*gpu_graph, "cuda", setting, tag + "_on", true, kernels, precision);
    EXPECT_EQ(graph.step_graph_failure, "");
    EXPECT_GT(graph.step_graph.replays, 0);
    EXPECT_EQ(graph.train_loss, eager.train_loss);
    EXPECT_EQ(metrics_without_timings(graph.metrics_path),
              metrics_without_timings(eager.metrics_path));
}

// The run defaults (nhwc activations convolved channels_last, multi-tensor launches; the graph by
// default too), and the reference kernels; the two_launch loss, whose ticket counters a replay
// must find at 0 as an eager call does.
TEST(TrainGpu, StepGraphRunMatchesEagerBitForBit) {
    check_step_graph_matches_eager("", "gpu_graph", "auto", std::nullopt);
    check_step_graph_matches_eager("focal_loss=two_launch", "gpu_graph_two_launch");
    check_step_graph_matches_eager(kReferenceKernels, "gpu_graph_reference");
    check_step_graph_matches_eager("focal_loss=vec4", "gpu_graph_vec4");  // its 2-D grid
}

// The network on nhwc activations with cuDNN convolving NCHW: every convolution stages through
// the context's precision scratch, which must have grown before the graph is recorded.
TEST(TrainGpu, StepGraphOnNhwcActivationsMatchesEagerBitForBit) {
    check_step_graph_matches_eager("activations=nhwc,convolution=nchw", "gpu_graph_nhwc");
    // ... and with every other variant too (multi-tensor launches, the single-launch loss).
    check_step_graph_matches_eager(
        "activations=nhwc,convolution=channels_last,focal_loss=single_launch,"
        "global_grad_norm=multi_tensor,adam_steps=multi_tensor",
        "gpu_graph_all_variants");
}

// Activations stored in bf16 (precision bf16): the bias kernels of the bf16 tensors and the
// staging of the f32 image and filters are in the recording too.
TEST(TrainGpu, StepGraphWithBf16ActivationsMatchesEagerBitForBit) {
    check_step_graph_matches_eager("", "gpu_graph_bf16", "bf16");  // the run defaults at bf16
    check_step_graph_matches_eager("activation_storage=bf16,activations=nchw,convolution=nchw",
                                   "gpu_graph_bf16_nchw", "bf16");
    check_step_graph_matches_eager("activation_storage=bf16,activations=nhwc,convolution=nchw",
                                   "gpu_graph_bf16_nhwc", "bf16");
}

std::vector<float> host_values(Backend& b, const Tensor& t) {
    Tensor h = Tensor::host(t.shape(), DType::f32);
    b.copy(h, t);
    return std::vector<float>(h.data<float>(), h.data<float>() + h.numel());
}

TEST(CudaGraph, RecordingRunsNothingAndEveryReplayRunsTheKernels) {
    PFCE_REQUIRE_GPU(gpu);
    PFCE_SKIP_IF_LAUNCHES_BLOCK();
    Backend& b = *gpu;
    Tensor x = b.zeros({1000}, DType::f32), y = b.zeros({1000}, DType::f32);
    b.fill(x, 2.0f);
    b.fill(y, 1.0f);
    b.synchronize();
    GraphCapture rec = b.capture_graph([&] {
        b.add_inplace(y, x);
        b.scale_inplace(y, 0.5f);
    });
    ASSERT_NE(rec.graph, nullptr) << rec.failure;
    EXPECT_NE(rec.graph->describe().find("nodes"), std::string::npos);
    EXPECT_EQ(host_values(b, y)[0], 1.0f) << "recording ran the ops";
    float want = 1.0f;
    for (int i = 0; i < 3; ++i) {
        rec.graph->replay();
        want = (want + 2.0f) * 0.5f;
    }
    const std::vector<float> got = host_values(b, y);
    for (float v : got) ASSERT_EQ(v, want);
    // Ops after a replay see its results on the same stream.
    b.add_inplace(y, x);
    EXPECT_EQ(host_values(b, y)[999], want + 2.0f);
}

// Whether the CUDA runtime knows `p` as allocated device memory (false without CUDA, where the GPU
// tests skip).
bool is_device_memory(const void* p) {
#ifdef PFCE_HAVE_CUDA
    cudaPointerAttributes attr{};
    const bool known = cudaPointerGetAttributes(&attr, p) == cudaSuccess;
    (void)cudaGetLastError();  // an unknown pointer may leave an error behind
    return known && attr.type == cudaMemoryTypeDevice;
#else
    (void)p;
    return false;
#endif
}

TEST(CudaGraph, BodiesThatCannotBeRecordedSayWhyAndLeaveTheStreamUsable) {
    PFCE_REQUIRE_GPU(gpu);
    PFCE_SKIP_IF_LAUNCHES_BLOCK();
    Backend& b = *gpu;
    Tensor y = b.zeros({16}, DType::f32);
    b.synchronize();
    // A copy back to the host waits for the device.
    GraphCapture waits = b.capture_graph([&] {
        b.fill(y, 3.0f);
        Tensor h = Tensor::host({16}, DType::f32);
        b.copy(h, y);
    });
    EXPECT_EQ(waits.graph, nullptr);
    EXPECT_NE(waits.failure.find("cannot be recorded"), std::string::npos) << waits.failure;
    // An upload: a replay would copy whatever the staging buffer holds by then, so it is refused
    // by name rather than recorded.
    GraphCapture uploads = b.capture_graph([&] {
        Tensor h = Tensor::host({16}, DType::f32);
        b.copy(y, h);
    });
    EXPECT_EQ(uploads.graph, nullptr);
    EXPECT_NE(uploads.failure.find("cannot be recorded"), std::string::npos) << uploads.failure;
    // An allocation.
    Tensor made;
    GraphCapture allocates = b.capture_graph([&] { made = b.zeros({1 << 20}, DType::f32); });
    EXPECT_EQ(allocates.graph, nullptr);
    EXPECT_FALSE(allocates.failure.empty());
    // A free (a buffer dropped, as the layers' pool does when it grows a block): the recording
    // fails, since its ops could name the freed memory, and the block is freed once it has ended
    // (not leaked: the runtime no longer knows the address as device memory).
    Tensor dropped = b.zeros({1 << 20}, DType::f32);
    const void* address = dropped.raw();
    b.synchronize();
    ASSERT_TRUE(is_device_memory(address));
    const std::uint64_t moves = b.device_memory_moves();
    GraphCapture frees = b.capture_graph([&] {
        b.fill(dropped, 1.0f);
        dropped = Tensor();
    });
    EXPECT_EQ(frees.graph, nullptr);
    EXPECT_NE(frees.failure.find("freed"), std::string::npos) << frees.failure;
    EXPECT_FALSE(frees.allocated);
    EXPECT_GT(b.device_memory_moves(), moves);
    EXPECT_FALSE(is_device_memory(address)) << "the block dropped while recording was not freed";
    // The stream still works, and the failed recordings ran nothing.
    EXPECT_EQ(host_values(b, y)[0], 0.0f);
    b.fill(y, 5.0f);
    EXPECT_EQ(host_values(b, y)[15], 5.0f);
}

}  // namespace
}  // namespace pfce
