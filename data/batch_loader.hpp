// Batches for training and evaluation: images normalized with the training split's per-channel
// mean/std (N,C,H,W) f32 (and optionally the raw colours, the first three channels, u8), training
// labels (sparse or linked) and dense labels (N,H,W) u8. Optional random crops (images of any
// size), random flips and 90-degree rotations (square images) applied to image and masks together,
// deterministic per (seed, epoch, index). Background threads prefetch the next batches into host
// staging tensors (pinned memory on CUDA) handed out by the backend.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/backend.hpp"
#include "data/image.hpp"

namespace pfce {

// Per-channel statistics in 0..255 units, of the model's `channels` input channels.
struct ChannelStats {
    int channels = 3;
    float mean[kMaxImageChannels] = {};
    float std[kMaxImageChannels] = {1, 1, 1, 1, 1, 1, 1, 1};
};
bool operator==(const ChannelStats& a, const ChannelStats& b);
// An InputError unless `img` has the channels the statistics (a model's input) have.
void check_channels_match(const RgbImage& img, const ChannelStats& stats);

// Everything the loader needs for one sample, already in memory (the experiment reads files once
// and caches sampled/linked masks).
struct SampleData {
    RgbImage image;
    LabelMap train_labels;  // what the loss sees (sparse, linked or dense)
    LabelMap dense;         // for metrics and dense validation loss; may be empty (width 0)
    // 1 for each image pixel without data (transparent, or a GeoTIFF's NoData value: unlabelled
    // in both masks); empty where there is none. fill_no_data gives them the training mean.
    std::vector<std::uint8_t> no_data;
};

// Of images that all have one channel count (an InputError names the first that differs). Pixels
// `no_data` marks (a mask an image, parallel to `images`; empty: none) are left out: their stored
// colours mean nothing.
ChannelStats compute_channel_stats(
    const std::vector<const RgbImage*>& images,
    const std::vector<const std::vector<std::uint8_t>*>& no_data = {});
// The pixels `no_data` marks (empty: none) set to each channel's training mean, rounded, as
// predict fills them: the network sees the blank that disturbs the pixels beside them least (0
// once normalised), the same in training, evaluation and prediction (eval fed them their stored
// colours and scored other masks than predict wrote: probe).
void fill_no_data(RgbImage& img, const std::vector<std::uint8_t>& no_data,
                  const ChannelStats& stats);
void fill_no_data(std::vector<SampleData>& samples, const ChannelStats& stats);
// The channel statistics of the training samples' pixels with data, their pixels without data
// then filled with them (fill_no_data), and the validation samples' too: what a run normalises by.
ChannelStats training_channel_stats(std::vector<SampleData>& train, std::vector<SampleData>& val);

struct LoaderOptions {
    int batch_size = 8;
    bool shuffle = false;  // order shuffled per epoch from (seed, epoch)
    bool augment = false;  // flips + 90-degree rotations
    bool drop_last = false;
    std::uint64_t seed = 0;
    int prefetch = 2;  // batches prepared ahead by background threads
    // > 0: every sample gives one crop_size x crop_size window per epoch, at an offset drawn from
    // (seed, epoch, sample), so samples may differ in size; a side shorter than the crop is padded
    // (image: the channel mean, labels: unlabelled), at a drawn offset too. 0: whole images, which
    // must then all have one size.
    int crop_size = 0;
    // Crops of each sample an epoch (crop_size > 0): the epoch's order holds every sample this
    // many times, each draw its own offset and augmentation (draw k of sample i keyed as i + k*n,
    // so one crop an image is the loader as it was).
    int crops_per_image = 1;
    // Also hand out the raw colours (Batch::rgb), for losses defined on them (the CRF term).
    bool keep_rgb = false;
};

struct Batch {
    Tensor images;        // (B,C,H,W) f32 host staging
    Tensor train_labels;  // (B,H,W) u8
    Tensor dense;         // (B,H,W) u8 (all 255 where no dense mask)
    Tensor rgb;  // (B,3,H,W) u8 raw colours (the first three channels), same crop and augmentation
                 // (keep_rgb), else empty
    std::vector<std::size_t> indices;  // positions in the sample list (a crop's image)
    // Whether train_labels label any pixel (found by the worker as it checks them): a batch
    // without one trains nothing, and the trainer counts such batches.
    bool any_train_label = false;
};

class BatchLoader {
  public:
    BatchLoader(Backend& backend, const std::vector<SampleData>& samples, ChannelStats stats,
                LoaderOptions opts);
    ~BatchLoader();
    std::size_t batches_per_epoch() const;
    void start_epoch(int epoch);
    // Next batch of the current epoch, or false at its end. Throws what a worker threw. The tensors
    // `out` held before the call are recycled for later batches: copies enqueued from them
    // (Backend::copy, upload_ahead) may still be reading them, and nothing waits for that here; a
    // worker calls Backend::wait_until_read on them before refilling them, so the caller may hand
    // back a batch whose uploads are in flight, but must not write into it itself. All the staging
    // buffers (prefetch + 1 batches of the largest batch size) are made when the first epoch
    // starts, so a caller that passes the same `out` from epoch to epoch allocates nothing after.
    bool next(Batch& out);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pfce
