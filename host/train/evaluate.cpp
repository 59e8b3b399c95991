// Evaluation loop: losses summed on the device (one read at the end); the i32 device confusion
// matrix is folded into 64-bit host counts before it could overflow.
#include "host/train/evaluate.hpp"

#include <cmath>
#include <limits>

namespace pfce {

namespace {

void ensure(Backend& b, Tensor& t, const Shape& s, DType d) {
    if (t.empty() || t.shape() != s || t.dtype() != d) t = b.zeros(s, d);
}

float read_scalar(Backend& b, const Tensor& t) {
    Tensor h = Tensor::host({1}, DType::f32);
    b.copy(h, t);
    return h.data<float>()[0];
}

}  // namespace

EvalResult evaluate(Backend& backend, UNet& net, const std::vector<SampleData>& samples,
                    const ChannelStats& stats, int batch_size, const FocalLossParams& loss,
                    int clutter_class, int prefetch) {
    const int C = net.config().num_classes;
    EvalResult r;
    r.confusion.assign(static_cast<std::size_t>(C) * C, 0);
    if (samples.empty()) {
        r.loss = r.loss_dense = std::numeric_limits<double>::quiet_NaN();
        r.metrics = metrics_from_confusion(r.confusion, C, clutter_class);
        return r;
    }
    LoaderOptions lo;
    lo.batch_size = batch_size;
    lo.prefetch = prefetch;
    BatchLoader loader(backend, samples, stats, lo);
    loader.start_epoch(0);

    Tensor x, labels, dense, pred, none;
    Tensor d_loss = backend.zeros({1}, DType::f32);
    Tensor sum_loss = backend.zeros({1}, DType::f32), sum_dense = backend.zeros({1}, DType::f32);
    Tensor conf = backend.zeros({C, C}, DType::i32);
    Tensor conf_host = Tensor::host({C, C}, DType::i32);
    auto flush = [&] {
        backend.copy(conf_host, conf);
        for (std::size_t k = 0; k < r.confusion.size(); ++k)
            r.confusion[k] += conf_host.data<std::int32_t>()[k];
        backend.fill(conf, 0);
    };
    std::int64_t pending_pixels = 0, batches = 0;
    Batch batch;
    while (loader.next(batch)) {
        ensure(backend, x, batch.images.shape(), DType::f32);
        ensure(backend, labels, batch.train_labels.shape(), DType::u8);
        ensure(backend, dense, batch.dense.shape(), DType::u8);
        ensure(backend, pred, batch.dense.shape(), DType::u8);
        const std::int64_t pixels = batch.dense.numel();
        // A cell can count every pixel of the pending batches: flush before i32 could overflow.
        if (pending_pixels + pixels > std::numeric_limits<std::int32_t>::max()) {
            flush();
            pending_pixels = 0;
        }
        backend.copy(x, batch.images);
        backend.copy(labels, batch.train_labels);
        backend.copy(dense, batch.dense);
        const Tensor& logits = net.forward(x, false);
        backend.focal_loss(logits, labels, loss, d_loss, none);
        backend.add_inplace(sum_loss, d_loss);
        backend.focal_loss(logits, dense, loss, d_loss, none);
        backend.add_inplace(sum_dense, d_loss);
        backend.argmax_channels(logits, pred);
        backend.confusion_accumulate(pred, dense, conf);
        pending_pixels += pixels;
        r.images += batch.images.dim(0);
        ++batches;
    }
    flush();
    r.loss = read_scalar(backend, sum_loss) / static_cast<double>(batches);
    r.loss_dense = read_scalar(backend, sum_dense) / static_cast<double>(batches);
    r.metrics = metrics_from_confusion(r.confusion, C, clutter_class);
    return r;
}

}  // namespace pfce
