// Issue 13, "a clean training step": once the first epoch (and its validation) has run, training
// allocates nothing more on the backend, although the last validation batch is short and the
// model then runs full training batches again (the buffers are grow-only: core/backend.hpp
// ensure_tensor; the batch loader recycles its staging buffers whatever their batch size), and
// validation keeps its own buffers across epochs (host/train/evaluate.hpp EvalBuffers). On the CPU
// a backend that counts every allocating call checks it; on CUDA the backend's own count of device
// and pinned allocations (Backend::device_allocations). Also: the grow-only buffers and loader on
// their own, and the CUDA upload ring. The GPU tests skip without a device.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <vector>

#include "host/cpu/cpu_backend.hpp"
#include "tests/trainer_fixtures.hpp"

namespace pfce {
namespace {

using namespace test;

// The CPU backend, counting every call of the Backend methods that allocate (core/backend.hpp:
// zeros, host_staging). host_staging is called from the batch loader's threads, hence atomic.
class CountingCpuBackend final : public CpuBackend {
  public:
    Tensor zeros(Shape shape, DType dtype) override {
        ++allocations;
        return CpuBackend::zeros(shape, dtype);
    }
    Tensor host_staging(Shape shape, DType dtype) override {
        ++allocations;
        return CpuBackend::host_staging(shape, dtype);
    }
    std::atomic<std::uint64_t> allocations{0};
};

// Five training samples in batches of 2: the trainer drops the short last batch (a different sample
// each epoch, shuffled), so 2 steps an epoch. Validation takes every sample: batches of 2 and 1.
constexpr int kTrain = 5;
constexpr int kVal = 3;
constexpr std::int64_t kBatchesPerEpoch = 2;

// Three epochs of a tiny U-Net on `b` (CRF term and clipping on, so their buffers are covered too),
// with `count()` read after every step. Expects the count not to move after the first step of
// epoch 2, i.e. once epoch 1 has trained and validated, through the end of training (two more
// short batches and two more validations).
template <typename Count>
void expect_no_allocation_after_first_epoch(Backend& b, const std::string& device, Count count) {
    const TrainInputs in = synthetic_inputs(kTrain, 32, true, kVal);
    Config c = small_config(temp_dir("noalloc") + "/run");
    c.run.device = device;
    c.run.prefetch = 2;
    c.optimizer.clip = 1.0;
    c.loss.crf_weight = 0.01;
    c.loss.crf_radius = 2;
    std::vector<std::uint64_t> after_step;
    TrainOptions o = quiet_options();
    o.stop_after_step = [&](std::int64_t) {
        after_step.push_back(count());
        return false;
    };
    const TrainResult r = train_unet(b, c, in, o);
    ASSERT_EQ(r.steps, 3 * kBatchesPerEpoch);
    ASSERT_EQ(after_step.size(), static_cast<std::size_t>(3 * kBatchesPerEpoch));
    // after_step[k] is the count after step k + 1; step kBatchesPerEpoch + 1 is epoch 2's first.
    const std::uint64_t warm = after_step[kBatchesPerEpoch];
    EXPECT_GT(warm, 0u);
    for (std::size_t k = kBatchesPerEpoch; k < after_step.size(); ++k)
        EXPECT_EQ(after_step[k], warm) << "allocations after step " << k + 1;
    EXPECT_EQ(count(), warm) << "allocations by the end of training (epoch 3's validation)";
}

TEST(Trainer, NoAllocationAfterTheFirstEpoch) {
    CountingCpuBackend b;
    expect_no_allocation_after_first_epoch(b, "cpu", [&] { return b.allocations.load(); });
}

TEST(TrainGpu, NoAllocationAfterWarmup) {
    PFCE_REQUIRE_GPU(gpu);
    Backend& b = *gpu;
    // cudaMalloc and cudaMallocHost, the op workspace and the upload ring included.
    expect_no_allocation_after_first_epoch(b, "cuda", [&] { return b.device_allocations(); });
}

// ensure_tensor is grow-only: a smaller shape (or another dtype or layout that fits) reuses the
// memory, zeroed; a larger one reallocates. Views of a relabelled tensor still work.
TEST(GrowOnly, EnsureTensorReusesMemoryThatFits) {
    CountingCpuBackend b;
    Tensor t;
    ensure_tensor(b, t, {2, 3, 4, 4}, DType::f32, Layout::nhwc);
    ASSERT_EQ(b.allocations.load(), 1u);
    const void* mem = t.raw();
    const std::size_t full = t.bytes();
    EXPECT_EQ(t.capacity(), full);
    b.fill(t, 7.0f);
    ensure_tensor(b, t, {1, 3, 4, 4}, DType::f32, Layout::nhwc);  // the short batch
    EXPECT_EQ(t.raw(), mem);
    EXPECT_EQ(t.shape(), Shape({1, 3, 4, 4}));
    EXPECT_EQ(t.capacity(), full);
    for (std::int64_t i = 0; i < t.numel(); ++i) ASSERT_EQ(t.data<float>()[i], 0.0f);
    ensure_tensor(b, t, {2, 4, 4}, DType::u8);  // another dtype and layout that fits
    EXPECT_EQ(t.raw(), mem);
    EXPECT_EQ(t.layout(), Layout::nchw);
    ensure_tensor(b, t, {2, 3, 4, 4}, DType::f32, Layout::nhwc);  // back to the full batch
    EXPECT_EQ(t.raw(), mem);
    EXPECT_EQ(b.allocations.load(), 1u);
    Tensor view = Tensor::borrow(t, {2, 3, 4, 4});
    EXPECT_EQ(view.raw(), mem);
    EXPECT_EQ(view.capacity(), view.bytes());
    ensure_tensor(b, t, {3, 3, 4, 4}, DType::f32);  // larger: a new block
    EXPECT_EQ(b.allocations.load(), 2u);
    EXPECT_EQ(t.capacity(), t.bytes());
    EXPECT_THROW(t.reuse_as({4, 3, 4, 4}, DType::f32), ShapeError);
    Tensor moved = std::move(t);
    EXPECT_EQ(moved.capacity(), moved.bytes());
    EXPECT_EQ(t.capacity(), 0u);
}

// The batch loader makes all its staging buffers when its first epoch starts and none later,
// whatever its threads do, a short last batch and the caller's last batch of an epoch included.
TEST(GrowOnly, BatchLoaderAllocatesOnlyAtItsFirstEpoch) {
    CountingCpuBackend b;
    const TrainInputs in = synthetic_inputs(5, 16, true, 0);
    LoaderOptions lo;
    lo.batch_size = 2;
    lo.prefetch = 3;
    BatchLoader loader(b, in.train, in.stats, lo);
    loader.start_epoch(0);
    const std::uint64_t warm = b.allocations.load();
    EXPECT_EQ(warm, 3u * (lo.prefetch + 1));  // images, train_labels, dense per batch
    Batch batch;
    for (int epoch = 0; epoch < 4; ++epoch) {
        if (epoch > 0) loader.start_epoch(epoch);
        std::vector<std::int64_t> sizes;
        // Epoch 2 stops before the end, keeping its batch, as the trainer does.
        while ((epoch != 2 || sizes.size() < 3) && loader.next(batch))
            sizes.push_back(batch.images.dim(0));
        EXPECT_EQ(sizes, (std::vector<std::int64_t>{2, 2, 1})) << "epoch " << epoch;
    }
    EXPECT_EQ(b.allocations.load(), warm);
}

// Uploads back to back, more than the ring has slots and of growing sizes (the ring grows
// midway), each from one host buffer overwritten right after copy() returns, into distinct device
// tensors and into one tensor that the compute stream reads between uploads: every upload must
// arrive whole (no slot refilled before its copy read it, no copy before the compute stream was
// done with its destination, no op before its upload).
TEST(CudaBackend, UploadRingKeepsEveryBatch) {
    PFCE_REQUIRE_GPU(gpu);
    constexpr int kUploads = 10;
    auto value = [](int k, std::int64_t i) { return static_cast<float>((i * 7 + k * 131) % 1000); };
    auto size = [](int k) { return static_cast<std::int64_t>(1000 + 250000 * (k % 4) + 17 * k); };
    std::int64_t largest = 0;
    for (int k = 0; k < kUploads; ++k) largest = std::max(largest, size(k));
    Tensor host = Tensor::host({largest}, DType::f32);
    Tensor stage = gpu->zeros({largest}, DType::f32), acc = gpu->zeros({largest}, DType::f32);
    std::vector<Tensor> dst;
    for (int k = 0; k < kUploads; ++k) dst.push_back(gpu->zeros({size(k)}, DType::f32));
    for (int k = 0; k < kUploads; ++k) {
        host.reuse_as({size(k)}, DType::f32);
        for (std::int64_t i = 0; i < size(k); ++i) host.data<float>()[i] = value(k, i);
        gpu->copy(dst[static_cast<std::size_t>(k)], host);
        host.reuse_as({largest}, DType::f32);
        for (std::int64_t i = 0; i < largest; ++i) host.data<float>()[i] = value(k, i);
        gpu->copy(stage, host);
        gpu->add_inplace(acc, stage);
        std::fill(host.data<float>(), host.data<float>() + largest, -1.0f);  // reused at once
    }
    for (int k = 0; k < kUploads; ++k) {
        const Tensor back = to_host(*gpu, dst[static_cast<std::size_t>(k)]);
        std::int64_t wrong = 0;
        for (std::int64_t i = 0; i < size(k); ++i) wrong += back.data<float>()[i] != value(k, i);
        EXPECT_EQ(wrong, 0) << "upload " << k << " of " << size(k) << " floats";
    }
    const Tensor sum = to_host(*gpu, acc);
    std::int64_t wrong = 0;
    for (std::int64_t i = 0; i < largest; ++i) {
        float want = 0;
        for (int k = 0; k < kUploads; ++k) want += value(k, i);
        wrong += sum.data<float>()[i] != want;
    }
    EXPECT_EQ(wrong, 0) << "uploads into one tensor read by the compute stream in between";
}

}  // namespace
}  // namespace pfce
