// The batch loader: exact channel statistics and normalization, augmentation that keeps image and
// masks aligned (every output is one of the D4 symmetries of the input; rotations only for square
// images), determinism per (seed, epoch), every sample once per epoch, prefetch-independence,
// size checks and worker errors surfacing in next().
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <vector>

#include "core/error.hpp"
#include "data/augment.hpp"
#include "data/batch_loader.hpp"
#include "tests/test_util.hpp"

using namespace pfce;

namespace {

// Pixel positions are encoded in the colours and in both masks, so any misalignment shows.
SampleData pattern_sample(int w, int h, int id, bool with_dense = true) {
    SampleData s;
    s.image = RgbImage(w, h);
    s.train_labels = LabelMap(w, h);
    if (with_dense) s.dense = LabelMap(w, h);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const int p = y * w + x;  // < 200 in these tests
            std::uint8_t* px = s.image.at(y, x);
            px[0] = static_cast<std::uint8_t>(p);
            px[1] = static_cast<std::uint8_t>(id);
            px[2] = static_cast<std::uint8_t>((p * 7 + id) & 255);
            s.train_labels.at(y, x) = static_cast<std::uint8_t>(p % 31);
            if (with_dense) s.dense.at(y, x) = static_cast<std::uint8_t>((p + 5) % 31);
        }
    return s;
}

// `count` w x h pattern samples with ids 0, 1, ...
std::vector<SampleData> pattern_samples(int count, int w, int h) {
    std::vector<SampleData> s;
    for (int i = 0; i < count; ++i) s.push_back(pattern_sample(w, h, i));
    return s;
}

struct Collected {
    std::vector<std::size_t> indices;
    std::vector<std::vector<float>> images;
    std::vector<std::vector<std::uint8_t>> labels, dense;
};

Collected run_epoch(Backend& b, const std::vector<SampleData>& samples, LoaderOptions o, int epoch,
                    ChannelStats st = {}) {
    BatchLoader loader(b, samples, st, o);
    loader.start_epoch(epoch);
    Collected c;
    Batch batch;
    std::size_t batches = 0;
    while (loader.next(batch)) {
        ++batches;
        const auto n = static_cast<std::size_t>(batch.images.dim(0));
        EXPECT_EQ(batch.indices.size(), n);
        const auto plane = static_cast<std::size_t>(batch.images.dim(2) * batch.images.dim(3));
        for (std::size_t j = 0; j < n; ++j) {
            c.indices.push_back(batch.indices[j]);
            const float* im = batch.images.data<float>() + j * 3 * plane;
            c.images.emplace_back(im, im + 3 * plane);
            const std::uint8_t* l = batch.train_labels.data<std::uint8_t>() + j * plane;
            c.labels.emplace_back(l, l + plane);
            const std::uint8_t* d = batch.dense.data<std::uint8_t>() + j * plane;
            c.dense.emplace_back(d, d + plane);
        }
    }
    EXPECT_EQ(batches, loader.batches_per_epoch());
    return c;
}

// `st` is each channel's mean and standard deviation over every pixel of `s`, within float
// rounding.
void expect_exact_stats(const std::vector<SampleData>& s, const ChannelStats& st) {
    const auto nc = static_cast<std::size_t>(st.channels);
    for (std::size_t c = 0; c < nc; ++c) {
        double sum = 0, sq = 0, n = 0;
        for (const auto& x : s)
            for (std::size_t i = c; i < x.image.pixels.size(); i += nc) {
                sum += x.image.pixels[i];
                sq += double(x.image.pixels[i]) * x.image.pixels[i];
                n += 1;
            }
        const double mean = sum / n, sd = std::sqrt(sq / n - mean * mean);
        EXPECT_NEAR(st.mean[c], mean, 1e-4) << c;
        EXPECT_NEAR(st.std[c], sd, 1e-4) << c;
    }
}

}  // namespace

TEST(BatchLoader, ChannelStatsAreExact) {
    std::vector<SampleData> s = {pattern_sample(10, 10, 3), pattern_sample(10, 10, 9)};
    expect_exact_stats(s, compute_channel_stats({&s[0].image, &s[1].image}));
    EXPECT_THROW(compute_channel_stats({}), InputError);
}

TEST(BatchLoader, NormalizesAndCopiesLabelsWithoutAugmentation) {
    auto b = test::cpu_backend();
    std::vector<SampleData> s = {pattern_sample(8, 6, 1), pattern_sample(8, 6, 2, false),
                                 pattern_sample(8, 6, 3)};
    ChannelStats st;
    st.mean[0] = 10;
    st.mean[1] = 20;
    st.mean[2] = 30;
    st.std[0] = 2;
    st.std[1] = 4;
    st.std[2] = 8;
    LoaderOptions o;
    o.batch_size = 2;
    const Collected c = run_epoch(*b, s, o, 0, st);
    ASSERT_EQ(c.indices, (std::vector<std::size_t>{0, 1, 2}));
    for (std::size_t k = 0; k < 3; ++k) {
        const SampleData& x = s[k];
        for (int y = 0; y < 6; ++y)
            for (int xx = 0; xx < 8; ++xx) {
                const std::size_t p = static_cast<std::size_t>(y * 8 + xx);
                for (int ch = 0; ch < 3; ++ch)
                    ASSERT_EQ(c.images[k][static_cast<std::size_t>(ch) * 48 + p],
                              (float(x.image.at(y, xx)[ch]) - st.mean[ch]) / st.std[ch]);
                ASSERT_EQ(c.labels[k][p], x.train_labels.labels[p]);
                ASSERT_EQ(c.dense[k][p], k == 1 ? 255 : x.dense.labels[p]);  // no dense mask: 255
            }
    }
}

// Bands past the third (infrared, an elevation band) are channels of their own: exact statistics,
// normalized planes after the first three through the same augmentation as the masks, while the
// raw colours (the CRF term's) stay the first three. Images or statistics of another channel
// count are refused.
TEST(BatchLoader, ImagesOfMoreThanThreeBandsKeepEveryChannel) {
    auto b = test::cpu_backend();
    const int w = 8, h = 6, nc = 5;
    std::vector<SampleData> s;
    for (int id = 0; id < 4; ++id) {
        SampleData x = pattern_sample(w, h, id);
        RgbImage wide(w, h, nc);
        for (int y = 0; y < h; ++y)
            for (int xx = 0; xx < w; ++xx) {
                const int p = y * w + xx;
                std::copy_n(x.image.at(y, xx), 3, wide.at(y, xx));
                wide.at(y, xx)[3] = static_cast<std::uint8_t>(200 - p);
                wide.at(y, xx)[4] = static_cast<std::uint8_t>((p * 3 + id * 11) & 255);
            }
        x.image = std::move(wide);
        s.push_back(std::move(x));
    }
    std::vector<const RgbImage*> images;
    for (const SampleData& x : s) images.push_back(&x.image);
    const ChannelStats st = compute_channel_stats(images);
    ASSERT_EQ(st.channels, nc);
    expect_exact_stats(s, st);
    const LoaderOptions o{.batch_size = 3, .augment = true, .seed = 7, .keep_rgb = true};
    BatchLoader loader(*b, s, st, o);
    loader.start_epoch(2);
    Batch batch;
    std::size_t seen = 0;
    const std::size_t plane = static_cast<std::size_t>(w) * h;
    while (loader.next(batch)) {
        ASSERT_EQ(batch.images.dim(1), nc);
        ASSERT_EQ(batch.rgb.dim(1), 3);
        for (std::size_t j = 0; j < batch.indices.size(); ++j, ++seen) {
            const SampleData& x = s[batch.indices[j]];
            const D4Transform tr = augmentation_for(7, 2, batch.indices[j], false);
            const float* im = batch.images.data<float>() + j * nc * plane;
            const std::uint8_t* raw = batch.rgb.data<std::uint8_t>() + j * 3 * plane;
            for (int y = 0; y < h; ++y)
                for (int xx = 0; xx < w; ++xx) {
                    int sy, sx;
                    d4_source(tr, w, h, y, xx, sy, sx);
                    const std::size_t p = static_cast<std::size_t>(y * w + xx);
                    for (int c = 0; c < nc; ++c)
                        ASSERT_EQ(im[static_cast<std::size_t>(c) * plane + p],
                                  (float(x.image.at(sy, sx)[c]) - st.mean[c]) / st.std[c])
                            << c;
                    for (int c = 0; c < 3; ++c)
                        ASSERT_EQ(raw[static_cast<std::size_t>(c) * plane + p],
                                  x.image.at(sy, sx)[c]);
                    ASSERT_EQ(batch.train_labels.data<std::uint8_t>()[j * plane + p],
                              x.train_labels.at(sy, sx));
                }
        }
    }
    EXPECT_EQ(seen, s.size());
    // Statistics of three channels for images of five: refused, not read past each pixel.
    EXPECT_THROW(BatchLoader(*b, s, ChannelStats{}, o), InputError);
    std::vector<SampleData> mixed = {pattern_sample(w, h, 0), s[1]};
    EXPECT_THROW(compute_channel_stats({&mixed[0].image, &mixed[1].image}), InputError);
}

TEST(BatchLoader, AugmentationKeepsImageAndMasksAligned) {
    auto b = test::cpu_backend();
    for (auto [w, h] : {std::pair{12, 12}, std::pair{12, 8}}) {
        const std::vector<SampleData> s = pattern_samples(16, w, h);
        const LoaderOptions o{.batch_size = 5, .augment = true, .seed = 4};
        std::set<int> seen;
        for (int epoch = 0; epoch < 3; ++epoch) {
            const Collected c = run_epoch(*b, s, o, epoch);
            for (std::size_t k = 0; k < c.indices.size(); ++k) {
                const SampleData& x = s[c.indices[k]];
                // Which symmetry was applied? Exactly the one that reproduces every channel and
                // mask.
                int match = -1;
                for (int t = 0; t < 8 && match < 0; ++t) {
                    D4Transform tr{t};
                    if (!tr.allowed_for(w, h)) continue;
                    bool ok = true;
                    for (int y = 0; y < h && ok; ++y)
                        for (int xx = 0; xx < w && ok; ++xx) {
                            int sy, sx;
                            d4_source(tr, w, h, y, xx, sy, sx);
                            const std::size_t p = static_cast<std::size_t>(y * w + xx);
                            const std::size_t plane = static_cast<std::size_t>(w * h);
                            ok = c.images[k][p] == float(x.image.at(sy, sx)[0]) &&
                                 c.images[k][plane + p] == float(x.image.at(sy, sx)[1]) &&
                                 c.images[k][2 * plane + p] == float(x.image.at(sy, sx)[2]) &&
                                 c.labels[k][p] == x.train_labels.at(sy, sx) &&
                                 c.dense[k][p] == x.dense.at(sy, sx);
                        }
                    if (ok) match = t;
                }
                ASSERT_GE(match, 0)
                    << "sample " << c.indices[k] << " epoch " << epoch << " is no aligned symmetry";
                EXPECT_EQ(match, augmentation_for(4, epoch, c.indices[k], w == h).t);
                seen.insert(match);
            }
        }
        if (w == h) {
            EXPECT_EQ(seen.size(), 8u) << "square images should see all eight symmetries";
        } else {
            EXPECT_EQ(seen, (std::set<int>{0, 2, 4, 6}))
                << "non-square images: flips and half turns only";
        }
    }
}

TEST(BatchLoader, DeterministicPerSeedAndEpochAndIndependentOfPrefetch) {
    auto b = test::cpu_backend();
    const std::vector<SampleData> s = pattern_samples(23, 10, 10);
    LoaderOptions o{.batch_size = 4, .shuffle = true, .augment = true, .seed = 17, .prefetch = 1};
    const Collected a = run_epoch(*b, s, o, 2);
    o.prefetch = 4;
    const Collected a4 = run_epoch(*b, s, o, 2);
    EXPECT_EQ(a.indices, a4.indices);
    EXPECT_EQ(a.images, a4.images);
    EXPECT_EQ(a.labels, a4.labels);
    const Collected other_epoch = run_epoch(*b, s, o, 3);
    EXPECT_NE(a.indices, other_epoch.indices);
    o.seed = 18;
    EXPECT_NE(a.indices, run_epoch(*b, s, o, 2).indices);
    // Augmentation depends on (seed, epoch, index), not on the position in the shuffled order.
    o.seed = 17;
    o.shuffle = false;
    const Collected unshuffled = run_epoch(*b, s, o, 2);
    for (std::size_t k = 0; k < a.indices.size(); ++k)
        EXPECT_EQ(a.images[k], unshuffled.images[a.indices[k]]) << "sample " << a.indices[k];
}

TEST(BatchLoader, EverySampleOncePerEpoch) {
    auto b = test::cpu_backend();
    const std::vector<SampleData> s = pattern_samples(23, 6, 6);
    LoaderOptions o{.batch_size = 5, .shuffle = true, .seed = 1};
    BatchLoader loader(*b, s, {}, o);
    EXPECT_EQ(loader.batches_per_epoch(), 5u);
    for (int epoch = 0; epoch < 3; ++epoch) {
        loader.start_epoch(epoch);
        std::vector<std::size_t> seen;
        Batch batch;
        std::vector<std::int64_t> sizes;
        while (loader.next(batch)) {
            sizes.push_back(batch.images.dim(0));
            seen.insert(seen.end(), batch.indices.begin(), batch.indices.end());
        }
        EXPECT_EQ(sizes, (std::vector<std::int64_t>{5, 5, 5, 5, 3}));
        std::sort(seen.begin(), seen.end());
        for (std::size_t i = 0; i < s.size(); ++i) ASSERT_EQ(seen[i], i);
        EXPECT_EQ(seen.size(), s.size());
    }
    // Starting an epoch part-way through the previous one is fine.
    loader.start_epoch(5);
    Batch batch;
    ASSERT_TRUE(loader.next(batch));
    loader.start_epoch(6);
    std::size_t n = 0;
    while (loader.next(batch)) n += batch.indices.size();
    EXPECT_EQ(n, s.size());
    o.drop_last = true;
    BatchLoader dropping(*b, s, {}, o);
    EXPECT_EQ(dropping.batches_per_epoch(), 4u);
}

// data.crops_per_image: every sample gives that many crops an epoch, each at its own offset (a
// large tile's one 256 crop an epoch saw a sliver of it: walkthrough), each crop its sample's.
TEST(BatchLoader, SeveralCropsOfEachImageAnEpoch) {
    auto b = test::cpu_backend();
    const std::vector<SampleData> s = pattern_samples(5, 40, 40);
    LoaderOptions o{.batch_size = 4, .shuffle = true, .seed = 3, .crop_size = 8};
    o.crops_per_image = 3;
    const Collected c = run_epoch(*b, s, o, 2);
    ASSERT_EQ(c.indices.size(), 15u);  // 4 batches, the last of 3
    std::map<std::size_t, std::set<std::vector<std::uint8_t>>> crops;
    for (std::size_t k = 0; k < c.indices.size(); ++k) {
        const std::size_t i = c.indices[k];
        ASSERT_LT(i, s.size());
        EXPECT_EQ(c.images[k][64], static_cast<float>(i)) << "channel 1 holds the sample's id";
        crops[i].insert(c.labels[k]);
    }
    ASSERT_EQ(crops.size(), s.size());
    for (const auto& [i, distinct] : crops)
        EXPECT_GE(distinct.size(), 2u) << "sample " << i << ": its crops are drawn apart";
    std::map<std::size_t, int> times;
    for (const std::size_t i : c.indices) ++times[i];
    for (const auto& [i, n] : times) EXPECT_EQ(n, 3) << "sample " << i;
    o.drop_last = true;
    BatchLoader dropping(*b, s, {}, o);
    EXPECT_EQ(dropping.batches_per_epoch(), 3u);
    // A batch larger than the images, within their crops (a few large tiles, many crops each,
    // batch 8: it was refused, or failed reusing buffers sized for the images; probe).
    o.batch_size = 12;
    const Collected big = run_epoch(*b, s, o, 0);
    EXPECT_EQ(big.indices.size(), 12u);
    o.batch_size = 16;
    o.drop_last = false;
    EXPECT_EQ(run_epoch(*b, s, o, 0).indices.size(), 15u);
}

// Pixels without data count in no channel statistic, and are filled with the training mean, as
// predict fills them (training and eval fed them their stored colours: probe).
TEST(BatchLoader, PixelsWithoutDataAreLeftOutOfTheStatisticsAndFilledWithTheMean) {
    RgbImage a(2, 1), b(2, 1);
    const std::uint8_t values[4] = {10, 30, 0, 200};  // b's second pixel has no data
    for (int x = 0; x < 2; ++x)
        for (int c = 0; c < 3; ++c) {
            a.at(0, x)[c] = values[x];
            b.at(0, x)[c] = values[2 + x];
        }
    b.at(0, 0)[0] = b.at(0, 0)[1] = b.at(0, 0)[2] = 20;
    const std::vector<std::uint8_t> none, marked = {0, 1};
    const ChannelStats st = compute_channel_stats({&a, &b}, {&none, &marked});
    for (int c = 0; c < 3; ++c) EXPECT_FLOAT_EQ(st.mean[c], 20.0f);  // (10 + 30 + 20) / 3
    EXPECT_NE(compute_channel_stats({&a, &b}).mean[0], 20.0f);
    std::vector<SampleData> s(1);
    s[0].image = b;
    s[0].no_data = marked;
    fill_no_data(s, st);
    EXPECT_EQ(s[0].image.at(0, 1)[2], 20);
    EXPECT_EQ(s[0].image.at(0, 0)[0], 20);  // a pixel with data as it was
}

TEST(BatchLoader, RejectsMixedSizesAndSurfacesWorkerErrors) {
    auto b = test::cpu_backend();
    std::vector<SampleData> s = {pattern_sample(8, 8, 0), pattern_sample(8, 6, 1)};
    LoaderOptions o;
    try {
        BatchLoader bad(*b, s, {}, o);
        FAIL() << "mixed sizes accepted";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("sample 1"), std::string::npos) << e.what();
    }
    std::vector<SampleData> t = {pattern_sample(8, 8, 0), pattern_sample(8, 8, 1),
                                 pattern_sample(8, 8, 2)};
    t[2].train_labels.labels[3] = 200;  // not a class, not 255: found by the worker making batch 2
    o.batch_size = 1;
    BatchLoader loader(*b, t, {}, o);
    loader.start_epoch(0);
    Batch batch;
    bool threw = false;
    try {
        while (loader.next(batch)) {
        }
    } catch (const InputError& e) {
        threw = true;
        EXPECT_NE(std::string(e.what()).find("sample 2"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(threw);
    Batch unused;
    BatchLoader fresh(*b, t, {}, o);
    EXPECT_THROW(fresh.next(unused), ShapeError);  // next() before start_epoch()
}

// Each batch says whether its training labels label any pixel (the trainer counts batches without
// one): set from the labels the batch holds, crops and padding included, whatever buffer it reuses.
TEST(BatchLoader, SaysWhetherABatchHoldsALabelledPixel) {
    auto b = test::cpu_backend();
    std::vector<SampleData> s = pattern_samples(6, 8, 8);
    for (std::size_t i = 0; i < s.size(); ++i)
        if (i % 3 != 0)
            std::fill(s[i].train_labels.labels.begin(), s[i].train_labels.labels.end(), 255);
    s[3].train_labels.labels.assign(64, 255);
    s[3].train_labels.at(7, 7) = 2;  // one labelled pixel, in the corner
    LoaderOptions o{.batch_size = 1, .prefetch = 2};
    BatchLoader loader(*b, s, {}, o);
    for (int epoch = 0; epoch < 2; ++epoch) {
        loader.start_epoch(epoch);
        Batch batch;
        std::vector<bool> labelled;
        while (loader.next(batch)) labelled.push_back(batch.any_train_label);
        EXPECT_EQ(labelled, (std::vector<bool>{true, false, false, true, false, false}));
    }
    // With crops, the crop's labels decide (sample 3's one pixel lies in some of its crops only);
    // sample 0 is labelled everywhere.
    o.crop_size = 4;
    o.seed = 3;
    BatchLoader cropped(*b, s, {}, o);
    cropped.start_epoch(0);
    Batch batch;
    std::vector<bool> labelled;
    while (cropped.next(batch)) {
        const std::uint8_t* l = batch.train_labels.data<std::uint8_t>();
        const bool any =
            std::any_of(l, l + batch.train_labels.numel(), [](std::uint8_t v) { return v != 255; });
        EXPECT_EQ(batch.any_train_label, any);
        labelled.push_back(any);
    }
    EXPECT_TRUE(labelled[0]);
}
