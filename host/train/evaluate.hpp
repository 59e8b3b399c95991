// Evaluation of a model over a list of samples: the loss on the training label kind, the loss on
// the dense masks, and the confusion matrix on the DENSE masks (DESIGN §2) with the metrics derived
// from it. Used for per-epoch validation and by `pfce eval`. Images of any size: see EvalOptions.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "data/batch_loader.hpp"
#include "host/train/metrics.hpp"
#include "models/unet.hpp"

namespace pfce {

struct EvalResult {
    // The focal losses of all the split's labelled pixels together, on train_labels and on the
    // dense masks: batches' means weighted by their normalizers (EvalOptions: in sliding windows,
    // each window's labelled pixels, a pixel in an overlap counted in each window).
    double loss = 0;
    double loss_dense = 0;
    // What they divide: the summed losses and their normalizers (each batch's normalizer, summed).
    // Evaluations of parts of a split merge into that of the whole by adding these (merge_into).
    double loss_sum = 0, loss_norm = 0;
    double loss_dense_sum = 0, loss_dense_norm = 0;
    std::vector<std::int64_t> confusion;  // C*C, rows = truth (metrics.confusion is a copy)
    SegMetrics metrics;
    std::int64_t images = 0;
    // Of those, the images whose masks label no pixel (evaluate_split: counted, not run).
    std::int64_t images_unlabelled = 0;
    // With EvalOptions::per_image, each sample's own C*C confusion matrix, in the order of the
    // samples (evaluate_split: of its indices, all zero for a sample that labels no pixel). Their
    // sum is `confusion`.
    std::vector<std::vector<std::int64_t>> image_confusion;
};

struct EvalOptions {
    int batch_size = 8;
    int prefetch = 2;
    // Samples that all share one size, no side above `window`, go through in batches; any other
    // set (mixed sizes, large tiles) is evaluated image by image in sliding windows of this side
    // (host/train/sliding_window); a pixel in two windows' overlap counts in both windows' losses.
    int window = 512;
    // Pixels neighbouring windows share; -1: a quarter of the window (predict's default), so eval
    // scores the masks predict writes.
    int overlap = -1;
    // Test-time augmentation (host/train/test_time_augment.hpp): 1, 4 or 8 symmetries averaged
    // per window. Above 1, every set goes through sliding windows, and the losses are those of
    // the averaged logits.
    int tta = 1;
    // Images resampled by this factor before the model (eval --zoom, as predict's: imagery of
    // another ground pixel size than the training images'), and the logits brought back onto the
    // masks' pixels before the argmax (host/train/sliding_window's sliding_logits_zoomed). Not 1:
    // every set goes through sliding windows (of the zoomed images), and the losses are those of
    // the logits brought back, each pixel of the masks counted once.
    double zoom = 1.0;
    // Sliding windows even for samples that would go through in batches: a split evaluated in
    // parts (evaluate_split) takes every part the way the whole split would go.
    bool in_windows = false;
    // Also count each image's confusion matrix (EvalResult::image_confusion): which images a model
    // fails on. In batches it costs a copy of each batch's predicted classes to the host.
    bool per_image = false;
    // Called as the work goes: windows done of all the samples' windows, or images done of the
    // samples in batches (`unit` says which): eval and validation of large tiles take minutes.
    std::function<void(std::int64_t done, std::int64_t total, const char* unit)> progress;
};

// A run's evaluation settings: its batch size and prefetch; windows of its crop size when it
// trains on crops (else 512).
struct Config;
EvalOptions eval_options(const Config& cfg);

// What evaluate() keeps from one call to the next, so that evaluating again (the trainer's
// validation, every epoch) allocates nothing: its device tensors (grow-only: ensure_tensor, so the
// short last batch fits in the full one's) and, while the samples (the same vector, unchanged),
// statistics and options stay the same, its batch loader with the loader's staging buffers. The
// caller owns it; evaluate() without one uses a fresh one.
struct EvalBuffers {
    Tensor x, labels, dense, pred, d_loss, sum_loss, sum_dense, conf;  // on the backend
    Tensor tta_logits;  // sliding windows' averaged logits under test-time augmentation
    Tensor band_logits, host_band_logits;  // --zoom: a band of logits brought back, for the losses
    Tensor conf_host, host_labels, host_dense, host_pred;  // host memory
    std::unique_ptr<BatchLoader> loader;
    const std::vector<SampleData>* loader_samples = nullptr;
    std::size_t loader_count = 0;
    ChannelStats loader_stats;
    EvalOptions loader_opts;
};

// The sliding windows evaluate() scores with: the options' window, overlap (a quarter of the
// window unless set), test-time augmentation, and batches of at most 8 windows.
struct SlidingWindow;
SlidingWindow sliding_window_of(const EvalOptions& opts);

// Whether evaluate() takes samples of these sizes (width, height) through sliding windows, and
// the work it then counts in progress: windows, or images in batches.
bool evaluates_in_windows(const std::vector<std::pair<int, int>>& sizes, const EvalOptions& opts);
// Whether every image, zoomed as `opts` says, fits one window: scored whole, windows or not.
bool every_image_in_one_window(const std::vector<std::pair<int, int>>& sizes,
                               const EvalOptions& opts);
std::int64_t eval_progress_units(int width, int height, bool in_windows, const EvalOptions& opts);

// Adds the evaluation of other samples of the same split to `total` (confusion, loss sums and
// normalizers, images) and derives its losses and metrics again.
void merge_into(EvalResult& total, const EvalResult& part, int clutter_class);

EvalResult evaluate(Backend& backend, UNet& net, const std::vector<SampleData>& samples,
                    const ChannelStats& stats, const FocalLossParams& loss, int clutter_class,
                    const EvalOptions& opts);
EvalResult evaluate(Backend& backend, UNet& net, const std::vector<SampleData>& samples,
                    const ChannelStats& stats, const FocalLossParams& loss, int clutter_class,
                    const EvalOptions& opts, EvalBuffers& buffers);

}  // namespace pfce
