// Issue 13, "a clean training step": uploads on a stream of their own, overlapped with compute.
// CUDA reads the batch loader's pinned staging buffers in place, after copy() returns, so a buffer
// may be refilled only after Backend::wait_until_read; the trainer uploads batch k + 1
// (upload_ahead) while step k computes and takes it into fixed buffers (take_upload). On the CPU,
// a backend that checks its copies as though they read their source late tests the protocol: the
// loader waits before refilling, the trainer takes every upload once, into the same buffers. On a
// GPU: every batch arrives whole through upload_ahead / take_upload from refilled staging buffers,
// and copies from staging memory skip the ring. The GPU tests skip without a device.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "host/cpu/cpu_backend.hpp"
#include "tests/trainer_fixtures.hpp"

namespace pfce {
namespace {

using namespace test;

// The CPU backend, checked as though its copies from staging memory read their source later, as
// CUDA's do: a copy from a host_staging buffer notes the bytes it reads, and wait_until_read (by
// which the read must be done) finds them still there, i.e. nothing refilled the buffer first.
// Also checks the landing protocol: every take_upload follows an upload_ahead into that landing
// tensor, no upload lands on an untaken one, and which buffers the takes fill.
class DeferredReadCpuBackend final : public CpuBackend {
  public:
    Tensor host_staging(Shape shape, DType dtype) override {
        Tensor t = CpuBackend::host_staging(shape, dtype);
        std::lock_guard<std::mutex> lock(mu_);
        staging_.insert(t.raw());
        pending_.erase(t.raw());  // a new buffer, wherever an old one lived
        return t;
    }
    Tensor zeros(Shape shape, DType dtype) override {
        Tensor t = CpuBackend::zeros(shape, dtype);
        std::lock_guard<std::mutex> lock(mu_);  // a new tensor: whatever lived here is gone
        staging_.erase(t.raw());
        pending_.erase(t.raw());
        uploaded_.erase(t.raw());
        return t;
    }
    void copy(Tensor& dst, const Tensor& src) override {
        CpuBackend::copy(dst, src);
        std::lock_guard<std::mutex> lock(mu_);
        if (!staging_.count(src.raw())) return;
        const auto* bytes = static_cast<const std::uint8_t*>(src.raw());
        pending_[src.raw()].assign(bytes, bytes + src.bytes());
    }
    void wait_until_read(const Tensor& t) override {
        std::lock_guard<std::mutex> lock(mu_);
        const auto it = pending_.find(t.raw());
        if (it == pending_.end()) return;
        ++reads_waited;
        if (std::memcmp(it->second.data(), t.raw(), it->second.size()) != 0) ++overwritten;
        pending_.erase(it);
    }
    void upload_ahead(Tensor& landing, const Tensor& host) override {
        {
            std::lock_guard<std::mutex> lock(mu_);
            bool& full = uploaded_[landing.raw()];
            if (full) ++uploads_over_untaken;
            full = true;
            ++uploads;
        }
        CpuBackend::upload_ahead(landing, host);
    }
    void take_upload(Tensor& dst, const Tensor& landing) override {
        {
            std::lock_guard<std::mutex> lock(mu_);
            bool& full = uploaded_[landing.raw()];
            if (!full) ++takes_without_upload;
            full = false;
            ++takes;
            take_targets.insert(dst.raw());
        }
        CpuBackend::take_upload(dst, landing);
    }
    // A copy from t has not been waited for: t was handed out again before its read was done.
    bool read_pending(const Tensor& t) {
        std::lock_guard<std::mutex> lock(mu_);
        return !t.empty() && pending_.count(t.raw()) > 0;
    }

    int reads_waited = 0, overwritten = 0;  // under mu_ while threads run
    int uploads = 0, takes = 0, uploads_over_untaken = 0, takes_without_upload = 0;
    std::set<const void*> take_targets;

  private:
    std::mutex mu_;
    std::set<const void*> staging_;
    std::map<const void*, std::vector<std::uint8_t>> pending_;  // staging buffer -> bytes read
    std::map<const void*, bool> uploaded_;  // landing tensor -> holds an upload not yet taken
};

// The loader's workers wait until a recycled batch's copies have read it before refilling it, over
// epochs with shuffling, augmentation, the raw colours and a short last batch.
TEST(BatchLoader, RefillsABatchOnlyOnceItsCopiesHaveReadIt) {
    DeferredReadCpuBackend b;
    const TrainInputs in = synthetic_inputs(7, 16, true, 0);
    LoaderOptions lo;
    lo.batch_size = 2;
    lo.prefetch = 2;
    lo.shuffle = true;
    lo.augment = true;
    lo.keep_rgb = true;
    lo.seed = 3;
    BatchLoader loader(b, in.train, in.stats, lo);
    Tensor x, labels, dense, rgb;
    Batch batch;
    for (int epoch = 0; epoch < 3; ++epoch) {
        loader.start_epoch(epoch);
        while (loader.next(batch)) {
            for (const Tensor* t : {&batch.images, &batch.train_labels, &batch.dense, &batch.rgb})
                EXPECT_FALSE(b.read_pending(*t))
                    << "epoch " << epoch << ": a batch refilled before wait_until_read";
            ensure_tensor(b, x, batch.images.shape(), DType::f32);
            ensure_tensor(b, labels, batch.train_labels.shape(), DType::u8);
            ensure_tensor(b, dense, batch.dense.shape(), DType::u8);
            ensure_tensor(b, rgb, batch.rgb.shape(), DType::u8);
            b.copy(x, batch.images);
            b.copy(labels, batch.train_labels);
            b.copy(dense, batch.dense);
            b.copy(rgb, batch.rgb);
        }
    }
    EXPECT_EQ(b.overwritten, 0) << "staging buffers written before their copies were waited for";
    EXPECT_GT(b.reads_waited, 0) << "no recycled batch was waited for: the test checked nothing";
}

// The trainer uploads each batch ahead once and takes it once, into the same three buffers every
// step (the CRF term's colours included), through an interruption (a batch sent but never taken)
// and a resume mid-epoch; the loader never refills a buffer an upload has not finished reading.
TEST(Trainer, TakesEveryBatchUploadedAheadIntoFixedBuffers) {
    DeferredReadCpuBackend b;
    const TrainInputs in = synthetic_inputs(5, 32, true, 2);  // 2 steps an epoch (batch 2)
    Config c = small_config(temp_dir("upload") + "/run");
    c.run.prefetch = 2;
    c.loss.crf_weight = 0.01;
    c.loss.crf_radius = 2;
    train_interrupted_after(b, c, in, quiet_options(), 3);  // after epoch 2's first step
    EXPECT_EQ(b.take_targets.size(), 3u) << "x, labels and rgb: the same buffers every step";
    // Epochs 1 and 2's first steps took 3 batches; the stop came after the 4th was sent.
    EXPECT_EQ(b.takes, 3 * 3);
    EXPECT_EQ(b.uploads, 3 * 4);
    b.take_targets.clear();
    resume_training(b, c, in, quiet_options(), 6);
    EXPECT_EQ(b.take_targets.size(), 3u);
    EXPECT_EQ(b.takes, 3 * 6);
    EXPECT_EQ(b.uploads, 3 * 7);  // the resumed run sends epoch 2's second batch again
    EXPECT_EQ(b.uploads_over_untaken, 0);
    EXPECT_EQ(b.takes_without_upload, 0);
    EXPECT_EQ(b.overwritten, 0);
    EXPECT_GT(b.reads_waited, 0);
}

// Batches uploaded ahead from two pinned staging buffers, each refilled as soon as
// wait_until_read allows, while the compute stream is kept busy, so uploads queue behind takes and
// the host runs far ahead: every batch must reach the fixed buffers whole (no staging buffer
// refilled before its DMA read it, no upload landing before the previous take copied it out, the
// first one not before the landing tensor's zero fill, no take before its upload).
TEST(CudaBackend, UploadAheadKeepsEveryBatch) {
    PFCE_REQUIRE_GPU(gpu);
    constexpr int kBatches = 12;
    constexpr std::int64_t kImages = 300000, kLabels = 70001;
    auto image = [](int k, std::int64_t i) { return static_cast<float>((i * 7 + k * 131) % 1000); };
    auto label = [](int k, std::int64_t i) { return static_cast<std::uint8_t>((i * 3 + k) % 251); };
    Tensor staging_x[2] = {gpu->host_staging({kImages}, DType::f32),
                           gpu->host_staging({kImages}, DType::f32)};
    Tensor staging_y[2] = {gpu->host_staging({kLabels}, DType::u8),
                           gpu->host_staging({kLabels}, DType::u8)};
    Tensor landing_x = gpu->zeros({kImages}, DType::f32), x = gpu->zeros({kImages}, DType::f32);
    Tensor landing_y = gpu->zeros({kLabels}, DType::u8), y = gpu->zeros({kLabels}, DType::u8);
    Tensor busy = gpu->zeros({std::int64_t{1} << 24}, DType::f32);  // 64 MiB to keep the GPU busy
    std::vector<Tensor> seen_x, seen_y;
    for (int k = 0; k < kBatches; ++k) {
        seen_x.push_back(gpu->zeros({kImages}, DType::f32));
        seen_y.push_back(gpu->zeros({kLabels}, DType::u8));
    }
    auto send = [&](int k) {
        Tensor& sx = staging_x[k % 2];
        Tensor& sy = staging_y[k % 2];
        gpu->wait_until_read(sx);
        gpu->wait_until_read(sy);
        for (std::int64_t i = 0; i < kImages; ++i) sx.data<float>()[i] = image(k, i);
        for (std::int64_t i = 0; i < kLabels; ++i) sy.data<std::uint8_t>()[i] = label(k, i);
        gpu->upload_ahead(landing_x, sx);
        gpu->upload_ahead(landing_y, sy);
    };
    send(0);
    for (int k = 0; k < kBatches; ++k) {
        gpu->take_upload(x, landing_x);
        gpu->take_upload(y, landing_y);
        for (int r = 0; r < 20; ++r) gpu->scale_inplace(busy, 1.0f);  // the step's compute
        gpu->copy(seen_x[static_cast<std::size_t>(k)], x);
        gpu->copy(seen_y[static_cast<std::size_t>(k)], y);
        if (k + 1 < kBatches) send(k + 1);
    }
    for (int k = 0; k < kBatches; ++k) {
        const Tensor bx = to_host(*gpu, seen_x[static_cast<std::size_t>(k)]);
        const Tensor by = to_host(*gpu, seen_y[static_cast<std::size_t>(k)]);
        std::int64_t wrong = 0;
        for (std::int64_t i = 0; i < kImages; ++i) wrong += bx.data<float>()[i] != image(k, i);
        for (std::int64_t i = 0; i < kLabels; ++i)
            wrong += by.data<std::uint8_t>()[i] != label(k, i);
        EXPECT_EQ(wrong, 0) << "batch " << k;
    }
    Tensor untouched = gpu->zeros({kImages}, DType::f32);
    EXPECT_THROW(gpu->take_upload(x, untouched), ShapeError) << "a take with no upload";
}

// A copy from a pinned staging buffer is read in place: the ring's pinned slots are not made (a
// fresh backend makes them at its first upload from pageable memory), and the buffer is the
// caller's again once wait_until_read returns.
TEST(CudaBackend, PinnedCopiesBypassTheRing) {
    PFCE_REQUIRE_GPU(gpu);
    constexpr std::int64_t n = 100000;
    auto value = [](std::int64_t i) { return static_cast<float>(i % 977); };
    Tensor staging = gpu->host_staging({n}, DType::f32);
    for (std::int64_t i = 0; i < n; ++i) staging.data<float>()[i] = value(i);
    Tensor copied = gpu->zeros({n}, DType::f32), landing = gpu->zeros({n}, DType::f32),
           taken = gpu->zeros({n}, DType::f32);
    const std::uint64_t before = gpu->device_allocations();
    gpu->copy(copied, staging);
    gpu->upload_ahead(landing, staging);
    EXPECT_EQ(gpu->device_allocations(), before) << "a copy from staging memory made ring slots";
    gpu->wait_until_read(staging);
    std::fill(staging.data<float>(), staging.data<float>() + n, -1.0f);
    gpu->take_upload(taken, landing);
    for (const Tensor* d : {&copied, &taken}) {
        const Tensor back = to_host(*gpu, *d);
        std::int64_t wrong = 0;
        for (std::int64_t i = 0; i < n; ++i) wrong += back.data<float>()[i] != value(i);
        EXPECT_EQ(wrong, 0) << (d == &copied ? "copy" : "upload_ahead + take_upload");
    }
    Tensor pageable = Tensor::host({n}, DType::f32);
    gpu->copy(copied, pageable);
    EXPECT_EQ(gpu->device_allocations(), before + 3) << "the ring's slots, for pageable memory";
}

}  // namespace
}  // namespace pfce
