// What inference adds to the sliding windows. Test-time augmentation: the eight symmetries of a
// window and their inverses, sliding-window logits averaged over them against an oracle that
// transforms the whole image, predicts it without augmentation and maps the logits back, and
// evaluation with augmentation against the masks predicted with it. Confidence maps: the softmax
// probability of the predicted class, against the logits, and through `pfce predict --confidence`.
// Evaluation's losses: those of all the labelled pixels together, whatever the batches or windows.
#include <gtest/gtest.h>
#include <tiffio.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>
#include <thread>
#include <tuple>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/log.hpp"
#include "data/georef.hpp"
#include "data/image_io.hpp"
#include "data/polygonize.hpp"
#include "data/resample.hpp"
#include "host/train/evaluate.hpp"
#include "host/train/evaluate_split.hpp"
#include "host/train/progress.hpp"
#include "host/train/sliding_window.hpp"
#include "host/train/test_time_augment.hpp"
#include "host/train/train_data.hpp"
#include "host/train/trained_model.hpp"
#include "models/unet.hpp"
#include "tests/foreign_dataset.hpp"
#include "tests/raw_tiff.hpp"
#include "tests/test_util.hpp"

using namespace pfce;

namespace {

// Symmetry t of an image, written pixel by pixel from its definition (not through
// dihedral_index): mirror left-right (bit 0), top-bottom (bit 1), then transpose (bit 2).
RgbImage transformed(const RgbImage& img, int t) {
    const int w = img.width, h = img.height;
    RgbImage out = (t & 4) ? RgbImage(h, w) : RgbImage(w, h);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const int mx = (t & 1) ? w - 1 - x : x, my = (t & 2) ? h - 1 - y : y;
            std::uint8_t* dst = (t & 4) ? out.at(mx, my) : out.at(my, mx);
            for (int c = 0; c < 3; ++c) dst[c] = img.at(y, x)[c];
        }
    return out;
}

struct Fixture {
    std::unique_ptr<Backend> backend = test::cpu_backend();
    UNet net;
    ChannelStats stats;
    static UNetConfig config() {
        UNetConfig uc;
        uc.num_classes = 4;
        uc.depth = 2;
        uc.base_width = 4;
        return uc;
    }
    Fixture() : net(*backend, config(), 11) {
        for (int c = 0; c < 3; ++c) {
            stats.mean[c] = 110;
            stats.std[c] = 60;
        }
    }
    // Full (C, H, W) logits of sliding_logits.
    std::vector<float> logits(const RgbImage& img, const SlidingWindow& sw) {
        const int C = net.config().num_classes, W = img.width;
        std::vector<float> out(static_cast<std::size_t>(C) * W * img.height);
        const std::size_t plane = static_cast<std::size_t>(W) * img.height;
        sliding_logits(*backend, net, img, stats, sw, [&](int y0, int n, const float* l) {
            const std::size_t band = static_cast<std::size_t>(n) * W;
            for (int c = 0; c < C; ++c)
                std::copy_n(l + c * band, band, out.begin() + c * plane + std::size_t(y0) * W);
        });
        return out;
    }
    // Oracle: each symmetry of the whole image predicted without augmentation, its logits mapped
    // back pixel by pixel, summed in symmetry order and divided by their number.
    std::vector<float> oracle(const RgbImage& img, SlidingWindow sw, int transforms) {
        sw.tta = 1;
        const int C = net.config().num_classes, W = img.width, H = img.height;
        const std::size_t plane = static_cast<std::size_t>(W) * H;
        std::vector<float> sum(C * plane, 0.0f);
        for (int t = 0; t < transforms; ++t) {
            const RgbImage v = transformed(img, t);
            const std::vector<float> l = logits(v, sw);
            for (int c = 0; c < C; ++c)
                for (int y = 0; y < H; ++y)
                    for (int x = 0; x < W; ++x) {
                        const int mx = (t & 1) ? W - 1 - x : x, my = (t & 2) ? H - 1 - y : y;
                        const std::size_t at =
                            (t & 4) ? std::size_t(mx) * H + my : std::size_t(my) * W + mx;
                        sum[c * plane + std::size_t(y) * W + x] += l[c * plane + at];
                    }
        }
        for (float& s : sum) s /= static_cast<float>(transforms);
        return sum;
    }
};

// `n` 24x24 samples of the foreign dataset's scenes, trained on their dense labels.
std::vector<SampleData> foreign_samples(int n) {
    std::vector<SampleData> samples;
    for (int k = 0; k < n; ++k) {
        SampleData s;
        s.dense = test::foreign_labels(24, 24, k);
        s.image = test::foreign_image(s.dense, k);
        s.train_labels = s.dense;
        samples.push_back(s);
    }
    return samples;
}

}  // namespace

TEST(TestTimeAugment, EverySymmetryIsUndoneByItsInverseAndTheyAreDistinct) {
    const int h = 3, w = 5;
    std::vector<float> src(h * w);
    std::iota(src.begin(), src.end(), 1.0f);
    std::vector<std::vector<float>> views;
    for (int t = 0; t < 8; ++t) {
        std::vector<float> view(src.size()), back(src.size(), 0.0f);
        dihedral_forward(src.data(), h, w, t, view.data());
        dihedral_add_back(view.data(), h, w, t, back.data());
        EXPECT_EQ(back, src) << "symmetry " << t;
        for (const auto& other : views) EXPECT_NE(view, other) << "symmetry " << t;
        views.push_back(view);
    }
    // Spot checks against the definition: a left-right mirror, and a transpose (3x5 -> 5x3).
    std::vector<float> v(src.size());
    dihedral_forward(src.data(), h, w, 1, v.data());
    EXPECT_EQ(v[0], src[4]);  // (0,0) shows (0,4)
    dihedral_forward(src.data(), h, w, 4, v.data());
    EXPECT_EQ(v[1 * h + 2], src[2 * w + 1]);  // (1,2) of the 5x3 view is (2,1) of the source
}

TEST(TestTimeAugment, NamesAndCounts) {
    EXPECT_EQ(tta_transforms("none"), 1);
    EXPECT_EQ(tta_transforms("flips"), 4);
    EXPECT_EQ(tta_transforms("d4"), 8);
    for (int n : {1, 4, 8}) EXPECT_EQ(tta_transforms(tta_name(n)), n);
    EXPECT_EQ(tta_transforms("D4"), 8);  // any case, as every choice
    try {
        tta_transforms("D8");
        FAIL() << "an unknown name was taken";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("--tta D8: expected none, flips"), std::string::npos)
            << e.what();
    }
}

// One window per image: the augmented logits are the oracle's, bit for bit (the same sums in the
// same order), for the flips and for d4 on a window that is not square.
TEST(TestTimeAugment, OneWindowEqualsPredictingEverySymmetryOfTheImage) {
    Fixture f;
    const LabelMap lab = test::foreign_labels(28, 19, 3);
    const RgbImage img = test::foreign_image(lab, 3);
    SlidingWindow sw{32, 8, 1};
    for (int transforms : {4, 8}) {
        sw.tta = transforms;
        EXPECT_EQ(f.logits(img, sw), f.oracle(img, sw, transforms)) << transforms << " views";
    }
}

// Many windows, placed so that every symmetry of the image has the mirrored windows (each side is
// the window plus whole strides): the average over windows and over views commute, so the
// augmented logits equal the oracle's up to the order of the sums.
TEST(TestTimeAugment, ManyWindowsAverageLikeTheWholeImageTransformed) {
    Fixture f;
    const LabelMap lab = test::foreign_labels(80, 56, 5);  // 32 + 2*24 by 32 + 24
    const RgbImage img = test::foreign_image(lab, 5);
    SlidingWindow sw{32, 8, 3};
    for (int transforms : {4, 8}) {
        sw.tta = transforms;
        const std::vector<float> got = f.logits(img, sw), want = f.oracle(img, sw, transforms);
        ASSERT_EQ(got.size(), want.size());
        for (std::size_t i = 0; i < got.size(); ++i)
            ASSERT_NEAR(got[i], want[i], 1e-5f * (1 + std::abs(want[i])))
                << transforms << " views, element " << i;
        // And augmentation changes something: the model is not symmetric.
        sw.tta = 1;
        EXPECT_NE(f.logits(img, sw), got);
    }
}

// (view, window) pairs share forward passes of up to the batch: a lone square window's eight views
// are one pass of eight, a window that is not square goes in passes of four (its transposed views
// have their own shape), several windows fill passes with views of each. The logits are those of
// one input per pass, each window's views added back in the same order.
TEST(TestTimeAugment, ViewsShareForwardPassesUpToTheBatch) {
    Fixture f;
    struct Case {
        int w, h, batch, tta;
        std::int64_t last_pass;  // inputs in the last pass
    };
    for (const Case k : {Case{24, 24, 8, 8, 8}, Case{28, 19, 8, 8, 4}, Case{28, 19, 3, 8, 1},
                         Case{80, 56, 6, 8, 6}, Case{80, 56, 5, 4, 2}, Case{80, 56, 4, 8, 4},
                         Case{80, 24, 3, 4, 3}}) {
        const LabelMap lab = test::foreign_labels(k.w, k.h, 7);
        const RgbImage img = test::foreign_image(lab, 7);
        SlidingWindow one{32, 8, 1}, many{32, 8, k.batch};
        one.tta = many.tta = k.tta;
        const std::vector<float> want = f.logits(img, one);
        Tensor input;
        std::vector<float> got(want.size());
        const std::size_t plane = static_cast<std::size_t>(k.w) * k.h;
        sliding_logits(
            *f.backend, f.net, img, f.stats, many,
            [&](int y0, int n, const float* l) {
                const std::size_t band = static_cast<std::size_t>(n) * k.w;
                for (int c = 0; c < f.net.config().num_classes; ++c)
                    std::copy_n(l + c * band, band,
                                got.begin() + c * plane + std::size_t(y0) * k.w);
            },
            {}, &input);
        const std::string what = std::to_string(k.w) + "x" + std::to_string(k.h) + " batch " +
                                 std::to_string(k.batch) + " tta " + std::to_string(k.tta);
        EXPECT_EQ(input.dim(0), k.last_pass) << what;
        for (std::size_t i = 0; i < got.size(); ++i)
            ASSERT_NEAR(got[i], want[i], 1e-5f * (1 + std::abs(want[i]))) << what;
    }
}

TEST(TestTimeAugment, RefusesOtherCounts) {
    Fixture f;
    const LabelMap lab = test::foreign_labels(20, 20, 1);
    const RgbImage img = test::foreign_image(lab, 1);
    SlidingWindow sw{32, 8, 1};
    sw.tta = 2;
    EXPECT_THROW(f.logits(img, sw), InputError);
}

// Evaluation with augmentation scores the masks that augmented prediction gives (the batched path
// of same-size images is left for sliding windows), and its losses are finite.
TEST(TestTimeAugment, EvaluationScoresTheAugmentedPredictions) {
    Fixture f;
    const int C = f.net.config().num_classes;
    const std::vector<SampleData> samples = foreign_samples(3);
    EvalOptions eo;
    eo.batch_size = 2;
    eo.window = 32;
    eo.tta = 8;
    FocalLossParams fp;
    const EvalResult r = evaluate(*f.backend, f.net, samples, f.stats, fp, -1, eo);
    std::vector<std::int64_t> want(static_cast<std::size_t>(C) * C, 0);
    SlidingWindow sw{32, 8, 1};
    sw.tta = 8;
    for (const SampleData& s : samples) {
        const LabelMap pred = predict_sliding(*f.backend, f.net, s.image, f.stats, sw);
        for (std::size_t i = 0; i < pred.labels.size(); ++i)
            if (s.dense.labels[i] != 255) ++want[s.dense.labels[i] * C + pred.labels[i]];
    }
    EXPECT_EQ(r.confusion, want);
    EXPECT_EQ(r.images, 3);
    EXPECT_TRUE(std::isfinite(r.loss) && std::isfinite(r.loss_dense));
    eo.tta = 1;
    EXPECT_NE(evaluate(*f.backend, f.net, samples, f.stats, fp, -1, eo).confusion, want);
}

// An overlap other than a quarter of the window (eval --overlap, as predict --overlap) scores the
// masks prediction gives with that overlap, on images of several windows each; the overlap is
// used (a pixel in two windows counts in both windows' losses, so the loss moves with it).
TEST(TestTimeAugment, EvaluationScoresThePredictionsOfItsOverlap) {
    Fixture f;
    const int C = f.net.config().num_classes;
    std::vector<SampleData> samples(2);
    for (int k = 0; k < 2; ++k) {
        samples[k].dense = test::foreign_labels(70, 50, k);
        samples[k].image = test::foreign_image(samples[k].dense, k);
        samples[k].train_labels = samples[k].dense;
    }
    EvalOptions eo;
    eo.window = 32;
    eo.overlap = 3;
    SlidingWindow sw{32, 3, 1};
    std::vector<std::int64_t> want(static_cast<std::size_t>(C) * C, 0);
    for (const SampleData& s : samples) {
        const LabelMap pred = predict_sliding(*f.backend, f.net, s.image, f.stats, sw);
        for (std::size_t i = 0; i < pred.labels.size(); ++i)
            if (s.dense.labels[i] != 255) ++want[s.dense.labels[i] * C + pred.labels[i]];
    }
    const EvalResult r = evaluate(*f.backend, f.net, samples, f.stats, FocalLossParams{}, -1, eo);
    EXPECT_EQ(r.confusion, want);
    eo.overlap = -1;  // a quarter of the window: 8
    EXPECT_NE(evaluate(*f.backend, f.net, samples, f.stats, FocalLossParams{}, -1, eo).loss_dense,
              r.loss_dense);
}

// Evaluation in batches (images of one size that fit the window) scores the dense masks, not the
// training labels: its confusion counts every pixel the dense masks label, each under its dense
// class, while the loss follows the training labels (a semantics audit found the windowed and
// zoomed paths pinned so, the batched one only with labels equal to the masks).
TEST(Evaluate, BatchedEvaluationScoresTheDenseMasks) {
    Fixture f;
    const int C = f.net.config().num_classes;
    std::vector<SampleData> samples(3);
    std::vector<std::int64_t> truth(static_cast<std::size_t>(C), 0);
    for (int k = 0; k < 3; ++k) {
        SampleData& s = samples[static_cast<std::size_t>(k)];
        s.dense = test::foreign_labels(32, 32, k);
        s.image = test::foreign_image(s.dense, k);
        s.train_labels = LabelMap(32, 32, 255);  // every 7th pixel
        for (std::size_t i = 0; i < s.dense.labels.size(); i += 7)
            s.train_labels.labels[i] = s.dense.labels[i];
        for (std::size_t i = 3; i < s.dense.labels.size(); i += 11) s.dense.labels[i] = 255;
        for (const std::uint8_t v : s.dense.labels)
            if (v < C) ++truth[v];
    }
    EvalOptions eo;
    ASSERT_FALSE(evaluates_in_windows({{32, 32}, {32, 32}, {32, 32}}, eo));
    const EvalResult r = evaluate(*f.backend, f.net, samples, f.stats, FocalLossParams{}, -1, eo);
    for (int t = 0; t < C; ++t) {
        std::int64_t row = 0;
        for (int p = 0; p < C; ++p) row += r.confusion[static_cast<std::size_t>(t * C + p)];
        EXPECT_EQ(row, truth[static_cast<std::size_t>(t)]) << "class " << t;
    }
    std::int64_t sparse = 0;
    for (const SampleData& s : samples)
        sparse += std::count_if(s.train_labels.labels.begin(), s.train_labels.labels.end(),
                                [&](std::uint8_t v) { return v < C; });
    EXPECT_EQ(r.loss_norm, static_cast<double>(sparse)) << "the loss follows the training labels";
}

// eval --zoom: evaluation of zoomed images scores the masks of the logits brought back onto the
// masks' pixels (predict --zoom's), each pixel of the masks once, on images of two sizes; its
// losses are the focal losses of those logits against the whole masks at once; its progress
// counts the zoomed images' windows; zoom 1 is evaluation as it was.
TEST(Zoom, EvaluationScoresTheLogitsBroughtBackOntoTheMasksPixels) {
    Fixture f;
    const int C = f.net.config().num_classes;
    std::vector<SampleData> samples(2);
    const int sizes[2][2] = {{50, 30}, {37, 41}};
    for (int k = 0; k < 2; ++k) {
        SampleData& s = samples[static_cast<std::size_t>(k)];
        s.dense = test::foreign_labels(sizes[k][0], sizes[k][1], k);
        s.image = test::foreign_image(s.dense, k);
        s.train_labels = LabelMap(s.dense.width, s.dense.height, 255);  // every 7th pixel
        for (std::size_t i = 0; i < s.dense.labels.size(); i += 7)
            s.train_labels.labels[i] = s.dense.labels[i];
        for (std::size_t i = 3; i < s.dense.labels.size(); i += 11) s.dense.labels[i] = 255;
    }
    const SlidingWindow sw{32, 8, 1};
    const FocalLossParams fp;
    // The focal loss of (C, H, W) logits against `labels`, times its normalizer (the labelled
    // pixels): what the pixels add to a split's loss.
    auto summed_loss = [&](const std::vector<float>& logits, const LabelMap& labels, double& norm) {
        Tensor l = Tensor::host({1, C, labels.height, labels.width}, DType::f32);
        std::copy(logits.begin(), logits.end(), l.data<float>());
        Tensor t = Tensor::host({1, labels.height, labels.width}, DType::u8);
        std::copy(labels.labels.begin(), labels.labels.end(), t.data<std::uint8_t>());
        Tensor loss = Tensor::host({1}, DType::f32), none;
        f.backend->focal_loss(l, t, fp, loss, none);
        const auto n = static_cast<double>(std::count_if(labels.labels.begin(), labels.labels.end(),
                                                         [&](std::uint8_t v) { return v < C; }));
        norm += n;
        return static_cast<double>(loss.data<float>()[0]) * n;
    };
    EvalOptions eo;
    eo.window = 32;
    const EvalResult plain = evaluate(*f.backend, f.net, samples, f.stats, fp, -1, eo);
    for (const double zoom : {2.0, 0.75}) {
        std::vector<std::int64_t> want(static_cast<std::size_t>(C) * C, 0);
        double loss = 0, loss_norm = 0, dense = 0, dense_norm = 0;
        std::int64_t windows = 0;
        for (const SampleData& s : samples) {
            const int W = s.image.width, H = s.image.height;
            const RgbImage zoomed =
                resize_linear(s.image, zoomed_side(W, zoom), zoomed_side(H, zoom));
            windows += window_count(zoomed.width, zoomed.height, sw);
            const std::vector<float> back =
                resize_planes_linear(f.logits(zoomed, sw), C, zoomed.width, zoomed.height, W, H);
            const std::size_t plane = static_cast<std::size_t>(W) * H;
            for (std::size_t p = 0; p < plane; ++p) {
                if (s.dense.labels[p] == 255) continue;
                int best = 0;
                for (int c = 1; c < C; ++c)
                    if (back[c * plane + p] > back[best * plane + p]) best = c;
                ++want[static_cast<std::size_t>(s.dense.labels[p]) * C + best];
            }
            loss += summed_loss(back, s.train_labels, loss_norm);
            dense += summed_loss(back, s.dense, dense_norm);
        }
        eo.zoom = zoom;
        std::int64_t last_done = 0, last_total = 0;
        eo.progress = [&](std::int64_t done, std::int64_t total, const char* unit) {
            EXPECT_STREQ(unit, "windows");
            last_done = done;
            last_total = total;
        };
        const EvalResult r = evaluate(*f.backend, f.net, samples, f.stats, fp, -1, eo);
        eo.progress = nullptr;
        EXPECT_EQ(r.confusion, want) << zoom;
        EXPECT_NE(r.confusion, plain.confusion) << zoom;
        EXPECT_NEAR(r.loss_dense, dense / dense_norm, 1e-5 * dense / dense_norm) << zoom;
        EXPECT_NEAR(r.loss, loss / loss_norm, 1e-5 * loss / loss_norm) << zoom;
        EXPECT_EQ(r.loss_dense_norm, dense_norm);
        EXPECT_EQ(last_total, windows) << zoom;
        EXPECT_EQ(last_done, windows) << zoom;
        EXPECT_EQ(r.images, 2);
    }
    eo.zoom = 1.0;
    EXPECT_EQ(evaluate(*f.backend, f.net, samples, f.stats, fp, -1, eo).confusion, plain.confusion);
}

// sliding_logits_zoomed: the model runs on the image zoomed a row of windows at a time and its
// logits come back onto the image's pixels; the same logits, bit for bit, as the zoomed image made
// whole (resize_linear), run through sliding_logits and brought back whole (resize_planes_linear),
// with windows that overlap down and across, under test-time augmentation, zooming up and down;
// predict_sliding_zoomed is their argmax, and the image's own size is sliding_logits.
TEST(Zoom, RowsZoomedAsTheWindowsMoveDownAreTheWholeZoomedImage) {
    Fixture f;
    const int C = f.net.config().num_classes;
    const RgbImage img = test::foreign_image(test::foreign_labels(45, 38, 2), 2);
    struct Case {
        int zw, zh, tta;
    };
    for (const Case k : {Case{90, 76, 1}, Case{90, 76, 4}, Case{34, 29, 1}, Case{61, 38, 8}}) {
        const SlidingWindow sw{32, 8, 3, k.tta};
        const std::vector<float> want = resize_planes_linear(
            f.logits(resize_linear(img, k.zw, k.zh), sw), C, k.zw, k.zh, img.width, img.height);
        std::vector<float> got(want.size(), -1.0f);
        const std::size_t plane = static_cast<std::size_t>(img.width) * img.height;
        int next = 0;
        sliding_logits_zoomed(
            *f.backend, f.net, img, f.stats, sw, k.zw, k.zh, [&](int y0, int n, const float* l) {
                EXPECT_EQ(y0, next);
                next = y0 + n;
                const std::size_t band = static_cast<std::size_t>(n) * img.width;
                for (int c = 0; c < C; ++c)
                    std::copy_n(l + c * band, band,
                                got.begin() + c * plane + std::size_t(y0) * img.width);
            });
        EXPECT_EQ(next, img.height);
        ASSERT_EQ(got, want) << k.zw << "x" << k.zh << ", tta " << k.tta;
        const LabelMap mask =
            predict_sliding_zoomed(*f.backend, f.net, img, f.stats, sw, k.zw, k.zh);
        for (std::size_t p = 0; p < plane; ++p) {
            int best = 0;
            for (int c = 1; c < C; ++c)
                if (want[c * plane + p] > want[best * plane + p]) best = c;
            ASSERT_EQ(mask.labels[p], best) << p;
        }
    }
    const SlidingWindow sw{32, 8, 2};
    EXPECT_EQ(
        predict_sliding_zoomed(*f.backend, f.net, img, f.stats, sw, img.width, img.height).labels,
        predict_sliding(*f.backend, f.net, img, f.stats, sw).labels);
}

// Progress on large images: sliding_logits counts each image's windows up to window_count,
// evaluation counts all the samples' windows (or images, in batches) up to their total, and
// LazyProgress says nothing of quick work and plain lines of slow work in a log.
TEST(Progress, CountsWindowsAndImagesToTheirTotals) {
    Fixture f;
    SlidingWindow sw{32, 8, 3};
    RgbImage img = test::foreign_image(test::foreign_labels(100, 70, 1), 1);
    std::vector<std::pair<std::int64_t, std::int64_t>> seen;
    sw.progress = [&](std::int64_t done, std::int64_t total) { seen.emplace_back(done, total); };
    f.logits(img, sw);
    const std::int64_t windows = window_count(100, 70, sw);
    EXPECT_EQ(windows, 4 * 3);  // x at 0, 24, 48 and 68 (the edge), y at 0, 24 and 38
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.back(), std::make_pair(windows, windows));
    for (std::size_t k = 1; k < seen.size(); ++k) EXPECT_GT(seen[k].first, seen[k - 1].first);

    std::vector<SampleData> samples = foreign_samples(3);
    samples.push_back(SampleData{});
    samples.back().dense = test::foreign_labels(100, 70, 1);
    samples.back().image = img;
    samples.back().train_labels = samples.back().dense;
    EvalOptions eo;
    eo.window = 32;
    std::vector<std::tuple<std::int64_t, std::int64_t, std::string>> calls;
    eo.progress = [&](std::int64_t done, std::int64_t total, const char* unit) {
        calls.emplace_back(done, total, unit);
    };
    evaluate(*f.backend, f.net, samples, f.stats, FocalLossParams{}, -1, eo);
    ASSERT_FALSE(calls.empty());
    EXPECT_EQ(calls.back(), std::make_tuple(3 + windows, 3 + windows, std::string("windows")));
    calls.clear();
    samples.pop_back();  // one size: batches of images
    evaluate(*f.backend, f.net, samples, f.stats, FocalLossParams{}, -1, eo);
    ASSERT_FALSE(calls.empty());
    EXPECT_EQ(calls.back(), std::make_tuple(std::int64_t{3}, std::int64_t{3}, std::string("img")));

    testing::internal::CaptureStderr();
    {
        LazyProgress quick("quick", 1000.0, /*tty=*/0);
        for (int k = 1; k <= 10; ++k) quick.update(k, 10, "windows");
    }
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
    testing::internal::CaptureStderr();
    {
        LazyProgress slow("tile.tif", 0.0, /*tty=*/0);
        for (int k = 1; k <= 10; ++k) slow.update(k, 10, "windows");
    }
    const std::string lines = testing::internal::GetCapturedStderr();
    EXPECT_NE(lines.find("tile.tif 1/10  "), std::string::npos) << lines;
    EXPECT_NE(lines.find("tile.tif 10/10  "), std::string::npos) << lines;
    EXPECT_NE(lines.find(" windows/s  ETA "), std::string::npos) << lines;
    EXPECT_EQ(lines.find("loss"), std::string::npos) << lines;

    // On a terminal, a log line written while the bar is drawn (a warning of eval's reader
    // thread) clears the bar's line first instead of continuing it, and the bar draws itself
    // again below it. Plain lines (no terminal) never hold control characters.
    EXPECT_EQ(lines.find('\x1b'), std::string::npos) << lines;
    testing::internal::CaptureStderr();
    {
        LazyProgress bar("eval test", 0.0, /*tty=*/1);
        bar.update(0, 10, "windows");
        std::this_thread::sleep_for(std::chrono::milliseconds(150));  // bars redraw every 0.1 s
        bar.update(1, 10, "windows");
        log_warn("a warning mid-bar");
        bar.update(10, 10, "windows");
    }
    const std::string drawn = testing::internal::GetCapturedStderr();
    const std::size_t warning = drawn.find("warn: a warning mid-bar");
    ASSERT_NE(warning, std::string::npos) << drawn;
    const std::size_t line = drawn.rfind('[', warning);
    ASSERT_GE(line, 4u) << drawn;
    EXPECT_EQ(drawn.substr(line - 4, 4), "\r\x1b[K") << drawn;
    EXPECT_NE(drawn.find("eval test 1/10"), std::string::npos) << drawn;
    EXPECT_GT(drawn.find("eval test 10/10"), warning) << drawn;

    // The rate and ETA count from the first update, not from before it (a 30000^2 image's first
    // ETA counted a minute of decoding as windows' time: 3:20:00 for 16 minutes; scale probe):
    // 10 windows in 20 s after 50, 40 to go, is 0.5 window/s and 80 s.
    testing::internal::CaptureStderr();
    {
        ProgressBar bar("tile.tif", 100, /*tty=*/0, "windows", /*with_loss=*/false);
        bar.started_at(std::chrono::steady_clock::now() - std::chrono::seconds(20), 50);
        bar.update(60, -1, 60);
    }
    const std::string timed = testing::internal::GetCapturedStderr();
    EXPECT_NE(timed.find("tile.tif 60/100  0.500 windows/s  ETA 1:20"), std::string::npos) << timed;
}

// Evaluation's losses are those of every labelled pixel of the split at once: batches of 1, 2 (a
// short last one) and all 5 give the same loss, for both normalizations, although the samples'
// labelled pixels differ in number (a mean of batch means would weigh them alike).
TEST(EvaluationLoss, IsThatOfAllLabelledPixelsWhateverTheBatching) {
    Fixture f;
    std::vector<SampleData> samples = foreign_samples(5);
    for (std::size_t k = 0; k < samples.size(); ++k) {
        std::vector<std::uint8_t>& l = samples[k].train_labels.labels;
        for (std::size_t i = 0; i < l.size(); ++i)
            if (i % (1 + 6 * k) != 0) l[i] = 255;
    }
    for (const LossNormalize normalize : {LossNormalize::labelled, LossNormalize::alpha}) {
        FocalLossParams fp;
        fp.alpha = {0.5f, 2.0f, 1.0f, 3.0f};
        fp.normalize = normalize;
        EvalOptions eo;
        eo.window = 32;
        eo.batch_size = 5;
        const EvalResult all = evaluate(*f.backend, f.net, samples, f.stats, fp, -1, eo);
        for (const int b : {1, 2}) {
            eo.batch_size = b;
            const EvalResult r = evaluate(*f.backend, f.net, samples, f.stats, fp, -1, eo);
            EXPECT_NEAR(r.loss, all.loss, 1e-5 * all.loss) << "batch " << b;
            EXPECT_NEAR(r.loss_dense, all.loss_dense, 1e-5 * all.loss_dense) << "batch " << b;
        }
        EXPECT_GT(std::abs(all.loss - all.loss_dense), 1e-3);  // the two label kinds differ
    }
}

// Windows without a labelled pixel add nothing to the loss: an image whose labels all lie where
// only its first window reaches has the loss of that window alone, evaluated as an image of its
// own (before, the three empty windows of four divided it by four).
TEST(EvaluationLoss, WindowsWithoutLabelsDoNotDiluteIt) {
    Fixture f;
    SampleData wide;
    wide.dense = test::foreign_labels(200, 64, 3);
    wide.image = test::foreign_image(wide.dense, 3);
    for (int y = 0; y < 64; ++y)
        for (int x = 32; x < 200; ++x) wide.dense.at(y, x) = 255;  // only columns 0..31 labelled
    wide.train_labels = wide.dense;
    SampleData left;  // the first 64 x 64 window of `wide`
    left.image = RgbImage(64, 64);
    left.dense = LabelMap(64, 64, 255);
    for (int y = 0; y < 64; ++y)
        for (int x = 0; x < 64; ++x) {
            std::copy_n(wide.image.at(y, x), 3, left.image.at(y, x));
            left.dense.at(y, x) = wide.dense.at(y, x);
        }
    left.train_labels = left.dense;
    EvalOptions eo;
    eo.window = 64;     // `wide` in windows at x = 0, 48, 96 and 136; `left` in one batch
    eo.batch_size = 1;  // a window per forward pass, so each window's loss is a batch's
    FocalLossParams fp;
    const EvalResult one = evaluate(*f.backend, f.net, {left}, f.stats, fp, -1, eo);
    const EvalResult windows = evaluate(*f.backend, f.net, {wide}, f.stats, fp, -1, eo);
    ASSERT_GT(one.loss, 0);
    EXPECT_NEAR(windows.loss, one.loss, 1e-5 * one.loss);
    EXPECT_NEAR(windows.loss_dense, one.loss_dense, 1e-5 * one.loss_dense);
    SampleData unlabelled = left;
    std::fill(unlabelled.train_labels.labels.begin(), unlabelled.train_labels.labels.end(), 255);
    std::fill(unlabelled.dense.labels.begin(), unlabelled.dense.labels.end(), 255);
    const EvalResult none = evaluate(*f.backend, f.net, {unlabelled}, f.stats, fp, -1, eo);
    EXPECT_EQ(none.loss, 0.0);  // nothing labelled anywhere: 0, never NaN
    EXPECT_EQ(none.loss_dense, 0.0);
}

// The confidence of each pixel is the softmax probability of the class predicted there, from the
// very logits the mask is the argmax of.
TEST(Confidence, IsTheSoftmaxProbabilityOfThePredictedClass) {
    Fixture f;
    const LabelMap lab = test::foreign_labels(45, 38, 2);
    const RgbImage img = test::foreign_image(lab, 2);
    SlidingWindow sw{32, 8, 2};
    const int C = f.net.config().num_classes;
    const std::vector<float> l = f.logits(img, sw);
    LabelMap conf;
    const LabelMap pred = predict_sliding(*f.backend, f.net, img, f.stats, sw, &conf);
    ASSERT_EQ(conf.width, img.width);
    ASSERT_EQ(conf.height, img.height);
    EXPECT_EQ(predict_sliding(*f.backend, f.net, img, f.stats, sw).labels, pred.labels);
    const std::size_t plane = static_cast<std::size_t>(img.width) * img.height;
    int below_half = 0;
    for (std::size_t p = 0; p < plane; ++p) {
        double sum = 0;
        for (int c = 0; c < C; ++c) sum += std::exp(double(l[c * plane + p]));
        const double prob = std::exp(double(l[pred.labels[p] * plane + p])) / sum;
        ASSERT_NEAR(conf.labels[p], 255.0 * prob, 0.5 + 1e-6) << "pixel " << p;
        ASSERT_GE(255.0 * prob, 255.0 / C - 0.5);  // the argmax has at least 1/C
        below_half += prob < 0.5;
    }
    EXPECT_GT(below_half, 0);  // an untrained net is unsure somewhere: the map is not all white
}

// What the predict tests below start from: a small U-Net (depth 2, width 4) trained one epoch on a
// foreign dataset of four classes into `root`/run, and a 50x30 image of that dataset's kind,
// `root`/in.png.
RgbImage train_tiny_run_beside_an_image(const std::string& root) {
    const auto fd = test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    const test::CommandResult r =
        test::run_pfce("train --data " + fd.root + " --out " + root +
                       "/run --epochs 1 --batch-size 4 --width 4 --depth 2 --device cpu");
    EXPECT_EQ(r.status, 0) << r.output;
    RgbImage image = test::foreign_image(test::foreign_labels(50, 30, 4), 4);
    write_png(root + "/in.png", image);
    return image;
}

// Of two classes the winner always has one half: "unsure" is below 0.75 there (a walkthrough's
// building masks said "0.0% of pixels below 0.5" of every image).
TEST(Confidence, ATwoClassModelCountsPixelsBelowThreeQuarters) {
    const std::string root = test::temp_dir("confidence_two_classes");
    std::filesystem::create_directories(root + "/d/images");
    std::filesystem::create_directories(root + "/d/masks");
    write_file_atomically(root + "/d/dataset.toml",
                          "[classes]\nnames = [\"background\", \"building\"]\n[mask]\n"
                          "encoding = \"index\"\n");
    for (int k = 0; k < 4; ++k) {
        LabelMap m(32, 32, 0);
        for (int y = 8; y < 24; ++y)
            for (int x = 4 + k; x < 20 + k; ++x) m.at(y, x) = 1;
        RgbImage img = test::random_rgb(32, 32, static_cast<std::uint64_t>(k));
        for (std::size_t i = 0; i < m.labels.size(); ++i)
            if (m.labels[i] == 1) img.pixels[3 * i] = 250;
        const std::string id = "t" + std::to_string(k);
        write_png(root + "/d/images/" + id + ".png", img);
        write_png_gray(root + "/d/masks/" + id + ".png", m);
    }
    ASSERT_EQ(test::run_pfce("train --data " + root + "/d --out " + root +
                             "/run --epochs 1 --width 4 --depth 1 --batch-size 2 --device cpu")
                  .status,
              0);
    const test::CommandResult r =
        test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --input " + root +
                       "/d/images/t0.png --out " + root + "/p.png --confidence --device cpu");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_MESSAGE_HAS(r.output, "% of pixels below 0.75 (of two classes, one has 0.5 or more)");
    EXPECT_MESSAGE_HAS(r.output, "% predicted with confidence below 0.75");
}

TEST(Confidence, PredictWritesItBesideTheMaskInItsFormatWithoutOverwriting) {
    const std::string root = test::temp_dir("confidence_cli");
    train_tiny_run_beside_an_image(root);
    ASSERT_FALSE(HasFailure());
    const std::string in = root + "/in.png";
    const std::string cmd = "predict --checkpoint " + root + "/run/last.ckpt --input " + in +
                            " --device cpu --confidence --out " + root;
    const test::CommandResult first = test::run_pfce(cmd + "/a.png");
    ASSERT_EQ(first.status, 0) << first.output;
    EXPECT_MESSAGE_HAS(first.output, "% of pixels below 0.5");
    const LabelMap conf = read_gray(root + "/a_confidence.png");
    EXPECT_EQ(conf.width, 50);
    EXPECT_EQ(conf.height, 30);
    const test::CommandResult tif = test::run_pfce(cmd + "/b.tif --tta flips");
    ASSERT_EQ(tif.status, 0) << tif.output;
    EXPECT_EQ(read_gray(root + "/b_confidence.tif").width, 50);
    // An existing confidence map is an output like the mask: refused without --force, and the
    // refusal comes before anything is written.
    std::filesystem::remove(root + "/a.png");
    std::filesystem::remove(root + "/a_overlay.png");
    const test::CommandResult again = test::run_pfce(cmd + "/a.png");
    EXPECT_NE(again.status, 0);
    EXPECT_MESSAGE_HAS(again.output, "a_confidence.png");
    EXPECT_FALSE(std::filesystem::exists(root + "/a.png"));
    // The temporaries a predict killed twice over left of companions this run does not ask for
    // (a process now gone): removed all the same, and nothing else of that name is.
    const std::string gone = ".tmp2147483000_0";
    for (const std::string name : {"c_probabilities.tif", "c_confidence.png", "c.qml"})
        std::ofstream(root + "/." + name + gone) << "half";
    std::ofstream(root + "/.c_other.png" + gone) << "not a companion";
    const test::CommandResult plain =
        test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --input " + in +
                       " --device cpu --no-overlay --out " + root + "/c.png");
    ASSERT_EQ(plain.status, 0) << plain.output;
    for (const std::string name : {"c_probabilities.tif", "c_confidence.png", "c.qml"})
        EXPECT_FALSE(std::filesystem::exists(root + "/." + name + gone)) << name;
    EXPECT_TRUE(std::filesystem::exists(root + "/.c_other.png" + gone));
}

// predict --polygons: beside the mask <stem>_polygons.geojson, a feature a region of the mask
// written (polygonize_mask's, in its order), each named by its class, with the mean of the
// confidence map over it; an image without georeference in pixel coordinates (x column, y minus
// the row); an earlier one beside a new mask refused without --force, removed with it.
TEST(Polygons, PredictWritesTheMasksRegionsAsGeoJsonBesideIt) {
    const std::string root = test::temp_dir("polygons_cli");
    train_tiny_run_beside_an_image(root);
    ASSERT_FALSE(HasFailure());
    const std::string cmd = "predict --checkpoint " + root + "/run/last.ckpt --input " + root +
                            "/in.png --device cpu --no-overlay --out " + root + "/a.png";
    const test::CommandResult r = test::run_pfce(cmd + " --polygons --confidence");
    ASSERT_EQ(r.status, 0) << r.output;
    const LabelMap mask = read_gray(root + "/a.png");
    const LabelMap confidence = read_gray(root + "/a_confidence.png");
    const std::vector<MaskRegion> regions = polygonize_mask(mask, -1, confidence.labels);
    EXPECT_MESSAGE_HAS(r.output,
                       std::to_string(regions.size()) +
                           " regions as polygons in pixel coordinates (x column, y -row)");
    const nlohmann::json j = nlohmann::json::parse(read_whole_file(root + "/a_polygons.geojson"));
    EXPECT_EQ(j["name"], "a");
    EXPECT_MESSAGE_HAS(j["crs"]["properties"]["name"].get<std::string>(),
                       "LOCAL_CS[\"pixels of the image (x column, y -row)\"");
    ASSERT_EQ(j["features"].size(), regions.size());
    const std::vector<std::string>& names = test::foreign_class_names();
    for (std::size_t k = 0; k < regions.size(); ++k) {
        const nlohmann::json& f = j["features"][k];
        EXPECT_EQ(f["properties"]["class"], names.at(regions[k].value));
        EXPECT_EQ(f["properties"]["pixels"], regions[k].pixels);
        EXPECT_NEAR(f["properties"]["confidence"].get<double>(),
                    regions[k].confidence_sum / (255.0 * regions[k].pixels), 5e-4);
        for (const nlohmann::json& p : f["geometry"]["coordinates"][0]) {
            EXPECT_GE(p[0].get<double>(), 0);
            EXPECT_LE(p[0].get<double>(), 50);
            EXPECT_LE(p[1].get<double>(), 0);
            EXPECT_GE(p[1].get<double>(), -30);
        }
    }
    // --polygon-classes, --polygon-min-pixels: only those classes' regions of that size or more,
    // in the same order (footprints without background or specks: walkthrough); a name of no
    // class, or either without --polygons, is refused.
    const std::string some =
        " --force --polygons --polygon-classes " + names[2] + ",TREE" + " --polygon-min-pixels 3";
    const test::CommandResult filtered = test::run_pfce(cmd + some);
    ASSERT_EQ(filtered.status, 0) << filtered.output;
    std::vector<const MaskRegion*> kept_regions;
    for (const MaskRegion& g : regions)
        if ((g.value == 2 || g.value == 3) && g.pixels >= 3) kept_regions.push_back(&g);
    ASSERT_LT(kept_regions.size(), regions.size());
    EXPECT_MESSAGE_HAS(filtered.output,
                       std::to_string(kept_regions.size()) + " regions as polygons (of " +
                           std::to_string(regions.size()) +
                           ", the others left out by --polygon-classes and --polygon-min-pixels)");
    const nlohmann::json only =
        nlohmann::json::parse(read_whole_file(root + "/a_polygons.geojson"));
    ASSERT_EQ(only["features"].size(), kept_regions.size());
    for (std::size_t k = 0; k < kept_regions.size(); ++k) {
        EXPECT_EQ(only["features"][k]["properties"]["value"], int{kept_regions[k]->value}) << k;
        EXPECT_EQ(only["features"][k]["properties"]["pixels"], kept_regions[k]->pixels) << k;
    }
    const test::CommandResult unknown =
        test::run_pfce(cmd + " --force --polygons --polygon-classes roof");
    EXPECT_EQ(unknown.status, 2) << unknown.output;
    EXPECT_MESSAGE_HAS(unknown.output, "--polygon-classes roof: \"roof\" is no class of");
    const test::CommandResult alone = test::run_pfce(cmd + " --force --polygon-min-pixels 4");
    EXPECT_EQ(alone.status, 2) << alone.output;
    EXPECT_MESSAGE_HAS(alone.output, "--polygon-min-pixels: expected --polygons too");
    test::run_pfce(cmd + " --force --polygons --confidence");  // as it was, for what follows
    // Predicted again without it (the mask and map gone): the earlier regions would describe
    // another mask.
    std::filesystem::remove(root + "/a.png");
    std::filesystem::remove(root + "/a_confidence.png");
    const test::CommandResult kept = test::run_pfce(cmd);
    EXPECT_EQ(kept.status, 2) << kept.output;
    EXPECT_MESSAGE_HAS(kept.output, root + "/a_polygons.geojson");
    const test::CommandResult forced = test::run_pfce(cmd + " --force");
    ASSERT_EQ(forced.status, 0) << forced.output;
    EXPECT_FALSE(std::filesystem::exists(root + "/a_polygons.geojson"));
    // A world file whose pixel is 1e308 m puts the far corners past a double (JSON has no
    // infinity): said, and the regions in pixel coordinates, a file JSON reads.
    std::ofstream(root + "/in.pgw") << "1e308\n0\n0\n-1e308\n0\n0\n";
    const test::CommandResult huge = test::run_pfce(
        "predict --checkpoint " + root + "/run/last.ckpt --input " + root +
        "/in.png --device cpu --no-overlay --polygons --out " + root + "/huge/b.png");
    ASSERT_EQ(huge.status, 0) << huge.output;
    EXPECT_MESSAGE_HAS(huge.output, "puts its pixels past the numbers a file holds");
    const nlohmann::json far =
        nlohmann::json::parse(read_whole_file(root + "/huge/b_polygons.geojson"));
    EXPECT_EQ(far["features"].size(), regions.size());
    // A rotated and sheared grid (world file A D B E C F = 0.4 0.1 0.3 -0.4 ..., B and D apart so
    // that swapping them shows), as GDAL lays such an image: pixel corner (c, r) at
    // (C - A/2 - B/2 + c A + r B, F - D/2 - E/2 + c D + r E); a pixel's area |A E - B D| = 0.19.
    std::ofstream(root + "/in.pgw") << "0.4\n0.1\n0.3\n-0.4\n1000.2\n2000.1\n";
    const test::CommandResult turned = test::run_pfce(
        "predict --checkpoint " + root + "/run/last.ckpt --input " + root +
        "/in.png --device cpu --no-overlay --polygons --out " + root + "/turned/b.png");
    ASSERT_EQ(turned.status, 0) << turned.output;
    const nlohmann::json rot =
        nlohmann::json::parse(read_whole_file(root + "/turned/b_polygons.geojson"));
    ASSERT_EQ(rot["features"].size(), regions.size());
    const double A = 0.4, D = 0.1, B = 0.3, E = -0.4, det = A * E - B * D;
    const double x0 = 1000.2 - A / 2 - B / 2, y0 = 2000.1 - D / 2 - E / 2;
    for (std::size_t k = 0; k < regions.size(); ++k) {
        const nlohmann::json& f = rot["features"][k];
        EXPECT_NEAR(f["properties"]["area"].get<double>(), regions[k].pixels * 0.19, 1e-9);
        // Its outer ring's corners, back on the pixels' grid: whole numbers, and the ring's.
        std::set<std::pair<long, long>> got, want;
        for (const nlohmann::json& p : f["geometry"]["coordinates"][0]) {
            const double dx = p[0].get<double>() - x0, dy = p[1].get<double>() - y0;
            const double col = (E * dx - B * dy) / det, row = (A * dy - D * dx) / det;
            EXPECT_NEAR(col, std::round(col), 1e-6);
            EXPECT_NEAR(row, std::round(row), 1e-6);
            got.insert({std::lround(col), std::lround(row)});
        }
        for (const auto& q : regions[k].outer[0]) want.insert({q[0], q[1]});
        EXPECT_EQ(got, want) << "region " << k;
    }
    // Rows running north (E > 0): the map is no mirror image of the pixels' grid, and the outer
    // rings still run counter-clockwise on it, the holes clockwise: their signed areas sum to the
    // region's.
    std::ofstream(root + "/in.pgw") << "0.5\n0\n0\n0.5\n10.25\n20.25\n";
    const test::CommandResult north = test::run_pfce(
        "predict --checkpoint " + root + "/run/last.ckpt --input " + root +
        "/in.png --device cpu --no-overlay --polygons --out " + root + "/north/b.png");
    ASSERT_EQ(north.status, 0) << north.output;
    for (const nlohmann::json& f :
         nlohmann::json::parse(read_whole_file(root + "/north/b_polygons.geojson"))["features"]) {
        double twice = 0;
        for (const nlohmann::json& ring : f["geometry"]["coordinates"])
            for (std::size_t i = 0; i + 1 < ring.size(); ++i)
                twice += ring[i][0].get<double>() * ring[i + 1][1].get<double>() -
                         ring[i + 1][0].get<double>() * ring[i][1].get<double>();
        EXPECT_NEAR(twice, 2 * 0.25 * f["properties"]["pixels"].get<double>(), 1e-6);
    }
    // An input whose name is no UTF-8 (Latin-1, from a Windows zip): predicted, its name in the
    // GeoJSON with U+FFFD (JSON holds UTF-8 only; it stopped the whole run).
    std::filesystem::create_directories(root + "/latin");
    std::filesystem::copy_file(root + "/in.png", root + "/latin/l\xe9gende.png");
    const test::CommandResult latin =
        test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --input " + root +
                       "/latin --device cpu --no-overlay --polygons --out " + root + "/latin-out");
    ASSERT_EQ(latin.status, 0) << latin.output;
    EXPECT_EQ(nlohmann::json::parse(
                  read_whole_file(root + "/latin-out/l\xe9gende_polygons.geojson"))["name"],
              "l\xef\xbf\xbdgende");
}

// An undertrained model's speckle (a region every few pixels): --polygons says so once, with the
// file's size, and still writes every region.
TEST(Polygons, ASpeckledPredictionIsSaid) {
    const std::string root = test::temp_dir("polygons_speckle");
    train_tiny_run_beside_an_image(root);
    ASSERT_FALSE(HasFailure());
    write_png(root + "/noise.png", test::random_rgb(400, 300, 11));
    const test::CommandResult r =
        test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --input " + root +
                       "/noise.png --device cpu --no-overlay --polygons --out " + root + "/n.png");
    ASSERT_EQ(r.status, 0) << r.output;
    const std::vector<MaskRegion> regions = polygonize_mask(read_gray(root + "/n.png"), -1);
    ASSERT_GT(regions.size(), 10000u) << "not speckled enough to be said";
    EXPECT_MESSAGE_HAS(r.output, "noise.png: its prediction is " + std::to_string(regions.size()) +
                                     " regions in 120000 pixels");
    EXPECT_EQ(
        nlohmann::json::parse(read_whole_file(root + "/n_polygons.geojson"))["features"].size(),
        regions.size());
}

// A directory as real chips come: JPEG and PNG, each of its own size, one with pixels of no data
// (transparent). Each image's polygons are its own mask's regions, in its own extent, the no-data
// pixels in none of them; nothing of one image's size or no data carries over to the next.
TEST(Polygons, EachImageOfAMixedDirectoryHasItsOwnRegions) {
    const std::string root = test::temp_dir("polygons_mixed");
    train_tiny_run_beside_an_image(root);
    ASSERT_FALSE(HasFailure());
    namespace fs = std::filesystem;
    fs::create_directories(root + "/chips");
    struct Chip {
        std::string name;
        int width, height, transparent_rows;
    };
    const std::vector<Chip> chips = {
        {"a.jpg", 50, 30, 0}, {"b.png", 37, 61, 3}, {"c.jpg", 64, 17, 0}, {"d.png", 23, 29, 0}};
    for (std::size_t k = 0; k < chips.size(); ++k) {
        const Chip& c = chips[k];
        const RgbImage img = test::foreign_image(
            test::foreign_labels(c.width, c.height, static_cast<unsigned>(20 + k)),
            static_cast<unsigned>(20 + k));
        const std::string path = root + "/chips/" + c.name;
        if (c.name.ends_with(".jpg")) {
            test::write_jpeg_for_test(path, img);
        } else if (c.transparent_rows == 0) {
            write_png(path, img);
        } else {
            std::vector<std::uint8_t> rgba(4 * img.pixels.size() / 3);
            for (std::size_t i = 0; i < rgba.size() / 4; ++i) {
                for (std::size_t b = 0; b < 3; ++b) rgba[4 * i + b] = img.pixels[3 * i + b];
                rgba[4 * i + 3] =
                    i < static_cast<std::size_t>(c.transparent_rows * c.width) ? 0 : 255;
            }
            ASSERT_TRUE(
                stbi_write_png(path.c_str(), c.width, c.height, 4, rgba.data(), 4 * c.width));
        }
    }
    const test::CommandResult r =
        test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --input " + root +
                       "/chips --device cpu --no-overlay --confidence --polygons --nodata-value 7 "
                       "--out " +
                       root + "/out");
    ASSERT_EQ(r.status, 0) << r.output;
    for (const Chip& c : chips) {
        const std::string stem = c.name.substr(0, 1);
        const LabelMap mask = read_gray(root + "/out/" + stem + ".png");
        ASSERT_EQ(mask.width, c.width) << c.name;
        ASSERT_EQ(mask.height, c.height) << c.name;
        const std::size_t no_data = static_cast<std::size_t>(c.transparent_rows * c.width);
        for (std::size_t i = 0; i < mask.labels.size(); ++i)
            ASSERT_EQ(mask.labels[i] == 7, i < no_data) << c.name << " pixel " << i;
        // Its pixels without data are transparent (a tRNS gray of 0, GDAL's NoData): a GIS
        // shows nothing there, not the most unsure pixels.
        MaskMarks marks;
        const LabelMap confidence =
            read_gray(root + "/out/" + stem + "_confidence.png", 0, nullptr, &marks);
        for (std::size_t i = 0; i < confidence.labels.size(); ++i)
            ASSERT_EQ(!marks.transparent.empty() && marks.transparent[i], i < no_data)
                << c.name << " pixel " << i;
        const std::vector<MaskRegion> regions =
            polygonize_mask(mask, no_data > 0 ? 7 : -1, confidence.labels);
        const nlohmann::json j =
            nlohmann::json::parse(read_whole_file(root + "/out/" + stem + "_polygons.geojson"));
        EXPECT_EQ(j["name"], stem);
        ASSERT_EQ(j["features"].size(), regions.size()) << c.name;
        std::int64_t pixels = 0;
        for (std::size_t k = 0; k < regions.size(); ++k) {
            const nlohmann::json& f = j["features"][k];
            EXPECT_NE(f["properties"]["value"], 7) << c.name;
            EXPECT_EQ(f["properties"]["pixels"], regions[k].pixels) << c.name;
            pixels += f["properties"]["pixels"].get<std::int64_t>();
            for (const nlohmann::json& ring : f["geometry"]["coordinates"])
                for (const nlohmann::json& p : ring) {
                    EXPECT_GE(p[0].get<double>(), 0) << c.name;
                    EXPECT_LE(p[0].get<double>(), c.width) << c.name;
                    EXPECT_LE(p[1].get<double>(), -static_cast<double>(c.transparent_rows))
                        << c.name;
                    EXPECT_GE(p[1].get<double>(), -c.height) << c.name;
                }
        }
        EXPECT_EQ(pixels, static_cast<std::int64_t>(mask.labels.size() - no_data)) << c.name;
    }
}

// --skip-existing predicts again an image a killed predict was putting in place, whatever
// companions it had asked for; but a temporary named as another image's own output (input
// x_confidence.png's mask is x's confidence map's name) marks only that image (review: x's
// finished mask was replaced without --force), and the re-predicted image's own leftovers (a
// confidence map committed before the kill) go with it, not refused for want of --force.
TEST(Confidence, SkipExistingFinishesOnlyTheImagesAKilledPredictLeft) {
    const std::string root = test::temp_dir("skip_existing_interrupted");
    const RgbImage image = train_tiny_run_beside_an_image(root);
    ASSERT_FALSE(HasFailure());
    namespace fs = std::filesystem;
    fs::create_directories(root + "/two");
    write_png(root + "/two/x.png", image);
    write_png(root + "/two/x_confidence.png", image);
    const std::string predict =
        "predict --checkpoint " + root + "/run/last.ckpt --device cpu --no-overlay --input ";
    ASSERT_EQ(test::run_pfce(predict + root + "/two --out " + root + "/o").status, 0);
    const auto old = fs::last_write_time(root + "/o/x.png") - std::chrono::hours(1);
    fs::last_write_time(root + "/o/x.png", old);
    std::ofstream(root + "/o/.x_confidence.png.tmp2147483000_0") << "half";  // no such process
    // Plainly rerun, the refusal names --skip-existing beside --force (which redoes every image).
    const test::CommandResult plain = test::run_pfce(predict + root + "/two --out " + root + "/o");
    EXPECT_EQ(plain.status, 2) << plain.output;
    EXPECT_MESSAGE_HAS(plain.output,
                       "; or pass --skip-existing to predict only the images without "
                       "their files (one a killed predict left half-done is "
                       "predicted again)");
    // Both: keep them or replace them? Refused (--force went unheard: "nothing to predict").
    const test::CommandResult both =
        test::run_pfce(predict + root + "/two --out " + root + "/o --skip-existing --force");
    EXPECT_EQ(both.status, 2) << both.output;
    EXPECT_MESSAGE_HAS(both.output, "--force excludes --skip-existing");
    const test::CommandResult one =
        test::run_pfce(predict + root + "/two --out " + root + "/o --skip-existing");
    ASSERT_EQ(one.status, 0) << one.output;
    EXPECT_MESSAGE_HAS(one.output, "1 image's files were being put in place");
    EXPECT_EQ(fs::last_write_time(root + "/o/x.png"), old);  // x's, untouched
    EXPECT_FALSE(fs::exists(root + "/o/.x_confidence.png.tmp2147483000_0"));

    // Killed after x's mask and confidence map were renamed, its probabilities still a temporary;
    // rerun with fewer options: predicted again, the confidence map removed with it.
    fs::create_directories(root + "/one");
    write_png(root + "/one/x.png", image);
    ASSERT_EQ(test::run_pfce(predict + root + "/one --out " + root + "/p --confidence").status, 0);
    std::ofstream(root + "/p/.x_probabilities.tif.tmp2147483000_0") << "half";
    const test::CommandResult fewer =
        test::run_pfce(predict + root + "/one --out " + root + "/p --skip-existing");
    ASSERT_EQ(fewer.status, 0) << fewer.output;
    EXPECT_MESSAGE_HAS(fewer.output, "1 image's files were being put in place");
    EXPECT_FALSE(fs::exists(root + "/p/x_confidence.png"));
    EXPECT_FALSE(fs::exists(root + "/p/.x_probabilities.tif.tmp2147483000_0"));
    EXPECT_TRUE(fs::exists(root + "/p/x.png"));
}

// A confidence map left beside a new mask (its own gone, or of another --zoom) described another
// prediction: refused without --force, removed with it, as the other companions are.
TEST(Confidence, AnEarlierMapBesideANewMaskIsAStaleCompanion) {
    const std::string root = test::temp_dir("confidence_stale");
    train_tiny_run_beside_an_image(root);
    ASSERT_FALSE(HasFailure());
    const std::string cmd = "predict --checkpoint " + root + "/run/last.ckpt --input " + root +
                            "/in.png --device cpu --no-overlay --out " + root + "/c.png";
    ASSERT_EQ(test::run_pfce(cmd + " --confidence").status, 0);
    std::filesystem::remove(root + "/c.png");
    const test::CommandResult kept = test::run_pfce(cmd + " --zoom 2");
    EXPECT_EQ(kept.status, 2) << kept.output;
    EXPECT_MESSAGE_HAS(kept.output, root + "/c_confidence.png");
    EXPECT_FALSE(std::filesystem::exists(root + "/c.png"));
    const test::CommandResult forced = test::run_pfce(cmd + " --zoom 2 --force");
    ASSERT_EQ(forced.status, 0) << forced.output;
    EXPECT_TRUE(std::filesystem::exists(root + "/c.png"));
    EXPECT_FALSE(std::filesystem::exists(root + "/c_confidence.png"));
    // Another image's mask of that name (x_confidence.png predicted before, x.png added to the
    // directory) is that image's output, not x's stale map: --skip-existing predicts x and
    // leaves it (--force with it is refused: Confidence.SkipExistingFinishes...).
    namespace fs = std::filesystem;
    fs::create_directories(root + "/in2");
    fs::copy_file(root + "/in.png", root + "/in2/x_confidence.png");
    const std::string dir = "predict --checkpoint " + root + "/run/last.ckpt --input " + root +
                            "/in2 --device cpu --no-overlay --out " + root + "/out2";
    ASSERT_EQ(test::run_pfce(dir).status, 0);
    const std::string other = read_whole_file(root + "/out2/x_confidence.png");
    fs::copy_file(root + "/in.png", root + "/in2/x.png");
    fs::remove(root + "/out2/x.png");
    const test::CommandResult added = test::run_pfce(dir + " --skip-existing");
    ASSERT_EQ(added.status, 0) << added.output;
    EXPECT_TRUE(fs::exists(root + "/out2/x.png"));
    EXPECT_EQ(read_whole_file(root + "/out2/x_confidence.png"), other);
}

// The bands of an 8-bit TIFF, a plane a band (band b's pixel i at b * width * height + i).
std::vector<std::uint8_t> tiff_planes(const std::string& path, int& bands, int& width,
                                      int& height) {
    std::vector<std::uint8_t> planes;
    TIFF* t = TIFFOpen(path.c_str(), "r");
    if (!t) return planes;
    std::uint32_t w = 0, h = 0;
    std::uint16_t spp = 0;
    TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &spp);
    bands = spp;
    width = static_cast<int>(w);
    height = static_cast<int>(h);
    const std::size_t plane = static_cast<std::size_t>(w) * h;
    planes.assign(plane * spp, 0);
    std::vector<std::uint8_t> row(static_cast<std::size_t>(TIFFScanlineSize(t)));
    for (std::uint32_t y = 0; y < h; ++y) {
        if (TIFFReadScanline(t, row.data(), y, 0) < 0) break;
        for (std::uint32_t x = 0; x < w; ++x)
            for (std::uint16_t b = 0; b < spp; ++b)
                planes[b * plane + static_cast<std::size_t>(y) * w + x] = row[x * spp + b];
    }
    TIFFClose(t);
    return planes;
}

// A TIFF's second page where it is a nodata mask (NewSubfileType "mask", as GDAL writes one), a
// byte a pixel; empty where there is none.
std::vector<std::uint8_t> tiff_mask_page(const std::string& path) {
    std::vector<std::uint8_t> mask;
    TIFF* t = TIFFOpen(path.c_str(), "r");
    if (!t) return mask;
    std::uint32_t subfile = 0, w = 0, h = 0;
    if (TIFFReadDirectory(t) && TIFFGetField(t, TIFFTAG_SUBFILETYPE, &subfile) &&
        (subfile & FILETYPE_MASK) && TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w) &&
        TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h)) {
        mask.assign(static_cast<std::size_t>(w) * h, 0);
        for (std::uint32_t y = 0; y < h; ++y)
            if (TIFFReadScanline(t, mask.data() + static_cast<std::size_t>(y) * w, y, 0) < 0) break;
    }
    TIFFClose(t);
    return mask;
}

// predict --probabilities: beside the mask a TIFF of a band a class (named after it, as GDAL reads
// band descriptions), each the class's softmax probability as round(255 p) of the logits the mask
// and the confidence map come from; a TIFF input's tags carried; never written over without
// --force, and with --force an earlier one goes when this prediction writes none.
TEST(Probabilities, PredictWritesEveryClassBesideTheMaskAsABandOfItsName) {
    const std::string root = test::temp_dir("probabilities_cli");
    const RgbImage img = train_tiny_run_beside_an_image(root);
    ASSERT_FALSE(HasFailure());
    const std::string cmd = "predict --checkpoint " + root + "/run/last.ckpt --input " + root +
                            "/in.png --device cpu --no-overlay --out " + root + "/a.png";
    const test::CommandResult r = test::run_pfce(cmd + " --probabilities --confidence");
    ASSERT_EQ(r.status, 0) << r.output;
    int bands = 0, width = 0, height = 0;
    const std::vector<std::uint8_t> file =
        tiff_planes(root + "/a_probabilities.tif", bands, width, height);
    ASSERT_EQ(bands, 4);
    ASSERT_EQ(width, 50);
    ASSERT_EQ(height, 30);
    {  // The same, in this process, from the checkpoint.
        std::unique_ptr<Backend> b = test::cpu_backend();
        TrainedModel m = load_trained_model(*b, root + "/run/last.ckpt");
        SlidingWindow sw;
        sw.window = eval_options(m.config).window;
        sw.overlap = default_overlap(sw.window);
        LabelMap conf;
        std::vector<std::uint8_t> probs;
        predict_sliding(*b, *m.net, img, m.stats, sw, &conf, &probs);
        EXPECT_EQ(file, probs);
        const LabelMap written_conf = read_gray(root + "/a_confidence.png");
        EXPECT_EQ(written_conf.labels, conf.labels);
        // The confidence is the most likely class's probability; the classes' sum to 1.
        const std::size_t plane = 50 * 30;
        for (std::size_t i = 0; i < plane; ++i) {
            int top = 0, sum = 0;
            for (int c = 0; c < 4; ++c) {
                top = std::max<int>(top, probs[c * plane + i]);
                sum += probs[c * plane + i];
            }
            ASSERT_EQ(top, conf.labels[i]) << "pixel " << i;
            ASSERT_NEAR(sum, 255, 2) << "pixel " << i;  // each rounded
        }
    }
    const std::string bytes = read_whole_file(root + "/a_probabilities.tif");
    EXPECT_NE(bytes.find("sample=\"1\" role=\"description\">road</Item>"), std::string::npos);
    EXPECT_NE(bytes.find("sample=\"3\" role=\"description\">tree</Item>"), std::string::npos);

    // Never written over without --force, the refusal before anything is written.
    std::filesystem::remove(root + "/a.png");
    std::filesystem::remove(root + "/a_confidence.png");
    const test::CommandResult again = test::run_pfce(cmd + " --probabilities");
    EXPECT_EQ(again.status, 2) << again.output;
    EXPECT_MESSAGE_HAS(again.output, "a_probabilities.tif");
    EXPECT_FALSE(std::filesystem::exists(root + "/a.png"));
    // With --force, a prediction without --probabilities that replaces the mask takes the
    // earlier one away (it would describe the old mask), saying so.
    ASSERT_EQ(test::run_pfce(cmd + " --probabilities --force").status, 0);
    const test::CommandResult forced = test::run_pfce(cmd + " --force");
    ASSERT_EQ(forced.status, 0) << forced.output;
    EXPECT_MESSAGE_HAS(forced.output, "a_probabilities.tif");
    EXPECT_FALSE(std::filesystem::exists(root + "/a_probabilities.tif"));

    // An earlier prediction's probabilities beside a new mask that writes none (copied in, or of
    // a mask of the other format: the probabilities are a TIFF either way) would be read as this
    // mask's: refused without --force, removed with it, said either way.
    ASSERT_EQ(test::run_pfce(cmd + " --probabilities --force").status, 0);
    const std::string tif_cmd = "predict --checkpoint " + root + "/run/last.ckpt --input " + root +
                                "/in.png --device cpu --no-overlay --out " + root + "/a.tif";
    const test::CommandResult other_format = test::run_pfce(tif_cmd);
    EXPECT_EQ(other_format.status, 2) << other_format.output;
    EXPECT_MESSAGE_HAS(other_format.output, "a_probabilities.tif exists beside");
    EXPECT_FALSE(std::filesystem::exists(root + "/a.tif"));
    const test::CommandResult other_forced = test::run_pfce(tif_cmd + " --force");
    ASSERT_EQ(other_forced.status, 0) << other_forced.output;
    EXPECT_MESSAGE_HAS(other_forced.output, "a_probabilities.tif");
    EXPECT_FALSE(std::filesystem::exists(root + "/a_probabilities.tif"));

    // A class name of XML's special characters is the band's description as GDAL reads it back,
    // which unescapes twice ("roads & paths" read as "roads ").
    write_tiff_bands(root + "/names.tif", std::vector<std::uint8_t>(2 * 4, 7), 2, 2,
                     {"roads & \"paths\"", "<tree>"});
    const std::string names = read_whole_file(root + "/names.tif");
    EXPECT_NE(names.find(">roads &amp;amp; &amp;quot;paths&amp;quot;</Item>"), std::string::npos);
    EXPECT_NE(names.find(">&amp;lt;tree&amp;gt;</Item>"), std::string::npos);

    // Pixels without data (transparent here) are 0 in every band, and GDAL's internal nodata
    // mask (the page after the image's) says so; a file without such pixels has no mask.
    EXPECT_TRUE(tiff_mask_page(root + "/a_probabilities.tif").empty());
    std::vector<std::uint8_t> rgba(4 * 50 * 30);
    for (std::size_t i = 0; i < 50 * 30; ++i) {
        for (std::size_t c = 0; c < 3; ++c) rgba[4 * i + c] = img.pixels[3 * i + c];
        rgba[4 * i + 3] = i % 50 < 10 ? 0 : 255;  // the first 10 columns transparent
    }
    test::write_raw_tiff(root + "/holed.tif", {.width = 50, .height = 30, .spp = 4}, rgba);
    const test::CommandResult holes = test::run_pfce(
        "predict --checkpoint " + root + "/run/last.ckpt --input " + root +
        "/holed.tif --device cpu --no-overlay --probabilities --out " + root + "/holed_pred.png");
    ASSERT_EQ(holes.status, 0) << holes.output;
    const std::vector<std::uint8_t> valid = tiff_mask_page(root + "/holed_pred_probabilities.tif");
    ASSERT_EQ(valid.size(), 50u * 30u);
    const std::vector<std::uint8_t> holed_bands =
        tiff_planes(root + "/holed_pred_probabilities.tif", bands, width, height);
    for (std::size_t i = 0; i < valid.size(); ++i) {
        ASSERT_EQ(valid[i], i % 50 < 10 ? 0 : 255) << "pixel " << i;
        if (i % 50 >= 10) continue;
        for (std::size_t c = 0; c < 4; ++c) ASSERT_EQ(holed_bands[c * valid.size() + i], 0);
    }

    // A TIFF input's tags (here its camera model) are the probabilities' too.
    std::vector<double> tag(kRpcTagValues);
    for (std::size_t i = 0; i < tag.size(); ++i) tag[i] = 0.5 * static_cast<double>(i) - 7;
    test::write_raw_tiff(root + "/scene.tif", {.width = 50, .height = 30, .rpc = tag}, img.pixels);
    const test::CommandResult scene = test::run_pfce(
        "predict --checkpoint " + root + "/run/last.ckpt --input " + root +
        "/scene.tif --device cpu --no-overlay --probabilities --out " + root + "/scene_pred.tif");
    ASSERT_EQ(scene.status, 0) << scene.output;
    EXPECT_EQ(read_georeference(root + "/scene_pred_probabilities.tif").rpc_coefficients, tag);
}

// predict --zoom: the model sees the image resampled (resize_linear) and its logits come back on
// the input's pixels (resize_planes_linear) before the argmax. Zoomed by 2, the mask and
// confidence equal those of the doubled image's logits brought back to the input's size (here,
// in this process, from the checkpoint); zoom 1 is no zoom, bit for bit; a factor out of range is
// refused.
TEST(Zoom, PredictSeesTheImageResampledAndItsLogitsComeBackOnTheInputsPixels) {
    const std::string root = test::temp_dir("zoom_cli");
    const RgbImage image = train_tiny_run_beside_an_image(root);
    ASSERT_FALSE(HasFailure());
    const std::string predict =
        "predict --checkpoint " + root +
        "/run/last.ckpt --device cpu --window 128 --confidence --no-overlay --input ";
    const test::CommandResult zoomed =
        test::run_pfce(predict + root + "/in.png --zoom 2 --out " + root + "/zoomed.png");
    ASSERT_EQ(zoomed.status, 0) << zoomed.output;
    EXPECT_MESSAGE_HAS(zoomed.output, "/zoomed.png (50x30, seen at 100x60;");
    {
        std::unique_ptr<Backend> b = test::cpu_backend();
        TrainedModel m = load_trained_model(*b, root + "/run/last.ckpt");
        SlidingWindow sw;
        sw.window = 128;
        sw.overlap = default_overlap(128);
        const int C = m.net->config().num_classes;
        std::vector<float> logits(static_cast<std::size_t>(C) * 100 * 60);
        sliding_logits(*b, *m.net, resize_linear(image, 100, 60), m.stats, sw,
                       [&](int y0, int n, const float* band) {
                           for (int c = 0; c < C; ++c)
                               std::copy_n(band + static_cast<std::size_t>(c) * n * 100, n * 100,
                                           logits.begin() + c * 6000 + y0 * 100);
                       });
        const std::vector<float> back = resize_planes_linear(logits, C, 100, 60, 50, 30);
        const LabelMap mask = read_gray(root + "/zoomed.png");
        const LabelMap conf = read_gray(root + "/zoomed_confidence.png");
        ASSERT_EQ(mask.width, 50);
        ASSERT_EQ(mask.height, 30);
        for (int p = 0; p < 1500; ++p) {
            int best = 0;
            double sum = 0;
            for (int c = 1; c < C; ++c)
                if (back[c * 1500 + p] > back[best * 1500 + p]) best = c;
            for (int c = 0; c < C; ++c)
                sum += std::exp(double(back[c * 1500 + p]) - back[best * 1500 + p]);
            ASSERT_EQ(mask.labels[p], best) << p;
            ASSERT_EQ(conf.labels[p], std::lround(255.0 / sum)) << p;
        }
    }
    // Zoom 1 is no zoom; the plain prediction differs from the zoomed one somewhere (else this
    // test could not tell a zoom from none).
    ASSERT_EQ(test::run_pfce(predict + root + "/in.png --out " + root + "/plain.png").status, 0);
    ASSERT_EQ(test::run_pfce(predict + root + "/in.png --zoom 1 --out " + root + "/one.png").status,
              0);
    EXPECT_EQ(read_gray(root + "/one.png").labels, read_gray(root + "/plain.png").labels);
    EXPECT_EQ(read_gray(root + "/one_confidence.png").labels,
              read_gray(root + "/plain_confidence.png").labels);
    EXPECT_NE(read_gray(root + "/zoomed_confidence.png").labels,
              read_gray(root + "/plain_confidence.png").labels);
    for (const char* bad : {"0", "-2", "9", "nan"}) {
        const test::CommandResult r = test::run_pfce(predict + root + "/in.png --zoom " + bad +
                                                     " --out " + root + "/bad.png");
        EXPECT_EQ(r.status, 2) << bad << ": " << r.output;
        EXPECT_MESSAGE_HAS(r.output, "expected a factor in 0.125..8");
        EXPECT_FALSE(std::filesystem::exists(root + "/bad.png"));
    }
    // The value said as typed (not 8), and C's hex floats refused as the config refuses them.
    const test::CommandResult past =
        test::run_pfce(predict + root + "/in.png --zoom 8.0000001 --out " + root + "/bad.png");
    EXPECT_EQ(past.status, 2) << past.output;
    EXPECT_MESSAGE_HAS(past.output, "--zoom 8.0000001: expected a factor in 0.125..8");
    for (const char* hex : {"--zoom 0x2", "--alpha 0x0.8p0"}) {
        const test::CommandResult r =
            test::run_pfce(predict + root + "/in.png " + hex + " --out " + root + "/bad.png");
        EXPECT_EQ(r.status, 2) << hex << ": " << r.output;
        EXPECT_MESSAGE_HAS(r.output, "expected a decimal number (such as 2 or 0.5)");
    }
    // Zoomed out, an image too small for the U-Net is said with its zoom.
    write_png(root + "/small.png", test::foreign_image(test::foreign_labels(8, 8, 4), 4));
    const test::CommandResult tiny =
        test::run_pfce(predict + root + "/small.png --zoom 0.125 " + "--out " + root + "/tiny.png");
    EXPECT_EQ(tiny.status, 2) << tiny.output;
    EXPECT_MESSAGE_HAS(tiny.output, "/small.png zoomed by 0.125 is 1x1");
    EXPECT_MESSAGE_HAS(tiny.output, "--zoom 0.19 or more takes it, or leave it out of --input");
    EXPECT_FALSE(std::filesystem::exists(root + "/tiny.png"));
}

// Parts of a split (pfce eval's bounded memory): consecutive, each within the budget unless one
// sample alone is larger, every sample in exactly one.
TEST(EvaluateSplit, PartsKeepOrderAndBudget) {
    using Parts = std::vector<std::pair<std::size_t, std::size_t>>;
    EXPECT_EQ(plan_eval_parts({}, 100), Parts{});
    EXPECT_EQ(plan_eval_parts({10, 20, 30}, 100), (Parts{{0, 3}}));
    EXPECT_EQ(plan_eval_parts({60, 40, 1, 100, 30}, 100), (Parts{{0, 2}, {2, 3}, {3, 4}, {4, 5}}));
    EXPECT_EQ(plan_eval_parts({250, 10, 250}, 100), (Parts{{0, 1}, {1, 2}, {2, 3}}));
    EXPECT_EQ(decoded_sample_bytes(6000, 6000), std::int64_t{180'000'000});
}

namespace {

// Evaluation of a dataset's samples all read at once, as eval did before it read parts; training
// labels from mask directory `labels` (empty: the dense masks).
EvalResult evaluate_at_once(Fixture& f, const Dataset& ds, const std::vector<std::size_t>& indices,
                            const EvalOptions& eo, const std::string& labels = "") {
    return evaluate(*f.backend, f.net, load_samples(ds, indices, labels, /*scored=*/true), f.stats,
                    FocalLossParams{}, -1, eo);
}

// Five images of mixed sizes (evaluated in sliding windows) and five of one size (in batches).
std::vector<std::pair<std::string, test::ForeignSpec>> split_specs() {
    test::ForeignSpec mixed;
    mixed.sizes = {{40, 32}, {70, 50}, {24, 24}, {40, 32}, {33, 41}};
    test::ForeignSpec uniform;
    uniform.sizes.assign(5, {24, 24});
    return {{"mixed", mixed}, {"uniform", uniform}};
}

}  // namespace

// A split evaluated in parts scores what it scores at once: the same confusion matrix and the same
// losses (to the order of float additions; one part: bit for bit), on mixed image sizes (sliding
// windows) and on one size (batches, which a part of one size must not leave for windows or the
// reverse), with progress counting the whole split once to its total.
TEST(EvaluateSplit, PartsScoreWhatTheWholeSplitScores) {
    Fixture f;
    const std::string root = test::temp_dir("evaluate_split");
    for (const auto& [name, spec] : split_specs()) {
        SCOPED_TRACE(name);
        const auto fd = test::write_foreign_dataset(root + "/" + name, spec);
        const Dataset ds = Dataset::open(fd.root);
        std::vector<std::size_t> indices(ds.size());
        std::iota(indices.begin(), indices.end(), std::size_t{0});
        std::reverse(indices.begin(), indices.end());  // any order of the split
        SplitEvalOptions so;
        so.eval.window = 32;
        so.eval.batch_size = 2;
        const EvalResult whole = evaluate_at_once(f, ds, indices, so.eval);
        std::vector<std::tuple<std::int64_t, std::int64_t, std::string>> calls;
        so.eval.progress = [&](std::int64_t done, std::int64_t total, const char* unit) {
            calls.emplace_back(done, total, unit);
        };
        std::size_t read = 0, parts = 0;
        so.on_read = [&](const std::vector<SampleData>& part) {
            read += part.size();
            ++parts;
        };
        const EvalResult one = evaluate_split(*f.backend, f.net, ds, indices, nullptr, f.stats,
                                              FocalLossParams{}, -1, so);
        EXPECT_EQ(parts, 1u);
        EXPECT_EQ(one.confusion, whole.confusion);
        EXPECT_EQ(one.loss_dense, whole.loss_dense);
        EXPECT_EQ(one.loss, whole.loss);
        EXPECT_EQ(one.metrics.miou, whole.metrics.miou);
        ASSERT_FALSE(calls.empty());
        const std::int64_t total = std::get<1>(calls.back());
        EXPECT_EQ(std::get<0>(calls.back()), total);

        so.part_bytes = decoded_sample_bytes(40, 32);  // about one image a part
        read = parts = 0;
        calls.clear();
        const EvalResult split = evaluate_split(*f.backend, f.net, ds, indices, nullptr, f.stats,
                                                FocalLossParams{}, -1, so);
        EXPECT_GE(parts, 3u);
        EXPECT_EQ(read, indices.size());
        EXPECT_EQ(split.images, whole.images);
        EXPECT_EQ(split.confusion, whole.confusion);
        EXPECT_NEAR(split.loss_dense, whole.loss_dense, 1e-6 * whole.loss_dense);
        EXPECT_NEAR(split.loss, whole.loss, 1e-6 * whole.loss);
        EXPECT_EQ(split.metrics.miou, whole.metrics.miou);
        ASSERT_FALSE(calls.empty());
        EXPECT_EQ(calls.back(), std::make_tuple(total, total, std::get<2>(calls.back())));
        EXPECT_EQ(std::get<2>(calls.back()), name == std::string("mixed") ? "windows" : "img");
        for (std::size_t k = 1; k < calls.size(); ++k)
            EXPECT_GE(std::get<0>(calls[k]), std::get<0>(calls[k - 1]));

        // Sparse training labels (eval --labels): their loss merges apart from the dense one.
        const std::string sparse = root + "/" + name + "_sparse";
        const test::CommandResult sampled =
            test::run_pfce("sample --data " + fd.root + " --points 4 --out " + sparse);
        ASSERT_EQ(sampled.status, 0) << sampled.output;
        const MaskDir md = open_mask_dir(sparse);
        so.eval.progress = nullptr;
        const EvalResult sparse_whole = evaluate_at_once(f, ds, indices, so.eval, sparse);
        const EvalResult sparse_split =
            evaluate_split(*f.backend, f.net, ds, indices, &md, f.stats, FocalLossParams{}, -1, so);
        EXPECT_NE(sparse_whole.loss, sparse_whole.loss_dense);
        EXPECT_NEAR(sparse_split.loss, sparse_whole.loss, 1e-6 * sparse_whole.loss);
        EXPECT_NEAR(sparse_split.loss_dense, whole.loss_dense, 1e-6 * whole.loss_dense);
        EXPECT_EQ(sparse_split.confusion, whole.confusion);
    }
}

// Samples whose masks label no pixel (orthophoto borders, tiles left unlabelled) add nothing to a
// split's scores: evaluate_split counts them as scored without running them through the network,
// and scores the rest as they score alone; a split of only such samples scores nothing (eval
// refuses it) after its reading alone, with its progress at its end.
TEST(EvaluateSplit, SamplesThatLabelNoPixelAddNothing) {
    Fixture f;
    const std::string root = test::temp_dir("evaluate_split_unlabelled");
    for (const auto& [name, spec] : split_specs()) {
        SCOPED_TRACE(name);
        const auto fd = test::write_foreign_dataset(root + "/" + name, spec);
        auto unlabel = [&](std::size_t k) {
            RgbImage ignore(spec.sizes[k].first, spec.sizes[k].second);
            for (std::size_t i = 0; i < ignore.pixels.size(); ++i)
                ignore.pixels[i] = test::kForeignIgnoreColour[i % 3];
            write_png(fd.root + "/masks/" + fd.ids[k] + ".png", ignore);
        };
        unlabel(1);
        unlabel(4);  // the last: progress must still reach its end
        const Dataset ds = Dataset::open(fd.root);
        const std::vector<std::size_t> all = {0, 1, 2, 3, 4}, labelled = {0, 2, 3};
        SplitEvalOptions so;
        so.eval.window = 32;
        so.eval.batch_size = 2;
        // The labelled samples alone, the way the whole split goes (windows for mixed sizes).
        EvalOptions alone = so.eval;
        alone.in_windows = evaluates_in_windows(sample_sizes(ds, all), so.eval);
        const EvalResult expected = evaluate_at_once(f, ds, labelled, alone);
        std::vector<std::int64_t> done;
        std::int64_t total = 0;
        so.eval.progress = [&](std::int64_t d, std::int64_t t, const char*) {
            done.push_back(d);
            total = t;
        };
        for (std::int64_t part_bytes : {kEvalPartBytes, decoded_sample_bytes(40, 32)}) {
            done.clear();
            so.part_bytes = part_bytes;
            const EvalResult r = evaluate_split(*f.backend, f.net, ds, all, nullptr, f.stats,
                                                FocalLossParams{}, -1, so);
            EXPECT_EQ(r.images, 5);
            EXPECT_EQ(r.images_unlabelled, 2);
            EXPECT_EQ(r.confusion, expected.confusion);
            EXPECT_NEAR(r.loss_dense, expected.loss_dense, 1e-6 * expected.loss_dense);
            EXPECT_EQ(r.metrics.miou, expected.metrics.miou);
            ASSERT_FALSE(done.empty());
            EXPECT_EQ(done.back(), total);
            EXPECT_TRUE(std::is_sorted(done.begin(), done.end()));
        }
        const EvalResult none = evaluate_split(*f.backend, f.net, ds, {1, 4}, nullptr, f.stats,
                                               FocalLossParams{}, -1, so);
        EXPECT_EQ(none.images, 2);
        EXPECT_EQ(none.images_unlabelled, 2);
        EXPECT_TRUE(std::all_of(none.confusion.begin(), none.confusion.end(),
                                [](std::int64_t n) { return n == 0; }));
        EXPECT_EQ(none.loss_dense, 0.0);
        EXPECT_EQ(done.back(), total);
    }
}

// eval --per-image: each image's own confusion matrix, in the split's order whatever its parts,
// all zero for an image that labels no pixel, counting that image's labelled pixels, and summing
// to the split's. In sliding windows an image's windows are its own: it scores what it scores
// alone. Without the option nothing is kept per image.
TEST(EvaluateSplit, EachImageHasItsOwnConfusion) {
    Fixture f;
    const std::string root = test::temp_dir("evaluate_split_per_image");
    for (const auto& [name, spec] : split_specs()) {
        SCOPED_TRACE(name);
        const auto fd = test::write_foreign_dataset(root + "/" + name, spec);
        RgbImage ignore(spec.sizes[1].first, spec.sizes[1].second);
        for (std::size_t i = 0; i < ignore.pixels.size(); ++i)
            ignore.pixels[i] = test::kForeignIgnoreColour[i % 3];
        write_png(fd.root + "/masks/" + fd.ids[1] + ".png", ignore);
        const Dataset ds = Dataset::open(fd.root);
        const std::vector<std::size_t> indices = {3, 1, 0, 4, 2};
        SplitEvalOptions so;
        so.eval.window = 32;
        so.eval.batch_size = 2;
        const bool windows = evaluates_in_windows(sample_sizes(ds, indices), so.eval);
        EXPECT_EQ(windows, name == std::string("mixed"));
        EXPECT_TRUE(evaluate_split(*f.backend, f.net, ds, indices, nullptr, f.stats,
                                   FocalLossParams{}, -1, so)
                        .image_confusion.empty());
        so.eval.per_image = true;
        for (std::int64_t part_bytes : {kEvalPartBytes, decoded_sample_bytes(40, 32)}) {
            so.part_bytes = part_bytes;
            const EvalResult r = evaluate_split(*f.backend, f.net, ds, indices, nullptr, f.stats,
                                                FocalLossParams{}, -1, so);
            ASSERT_EQ(r.image_confusion.size(), indices.size());
            std::vector<std::int64_t> sum(r.confusion.size(), 0);
            for (std::size_t k = 0; k < indices.size(); ++k) {
                SCOPED_TRACE("sample " + fd.ids[indices[k]]);
                const std::vector<std::int64_t>& own = r.image_confusion[k];
                ASSERT_EQ(own.size(), r.confusion.size());
                for (std::size_t c = 0; c < sum.size(); ++c) sum[c] += own[c];
                const LabelMap dense = load_samples(ds, {indices[k]}, "", true)[0].dense;
                const auto labelled = std::count_if(dense.labels.begin(), dense.labels.end(),
                                                    [](std::uint8_t v) { return v != 255; });
                EXPECT_EQ(std::accumulate(own.begin(), own.end(), std::int64_t{0}), labelled);
                if (indices[k] == 1) {
                    EXPECT_EQ(labelled, 0);
                }
                if (windows) {
                    EvalOptions alone = so.eval;
                    alone.in_windows = true;
                    EXPECT_EQ(own, evaluate_at_once(f, ds, {indices[k]}, alone).confusion);
                }
            }
            EXPECT_EQ(sum, r.confusion);
        }
    }
}
