// The synthetic dataset: deterministic per (seed, index); every class occurs across a set at small,
// Kaggle and large sizes with roughly Potsdam-like frequencies; colour alone does not give the
// class; written in the Kaggle layout and read back exactly through the dataset reader.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "data/dataset.hpp"
#include "data/image_io.hpp"
#include "data/synth.hpp"
#include "tests/test_util.hpp"

using namespace pfce;
namespace fs = std::filesystem;

namespace {

std::array<double, 6> class_fractions(int size, int count, std::uint64_t seed,
                                      std::array<int, 6>* present = nullptr) {
    std::array<double, 6> f{};
    double total = 0;
    for (int k = 0; k < count; ++k) {
        const SynthScene s = synthesize_scene(size, seed, static_cast<std::uint32_t>(k));
        std::array<int, 6> n{};
        for (auto l : s.labels.labels) {
            EXPECT_LT(l, 6) << "scene " << k << " has label " << int(l);
            if (l < 6) ++n[l];
        }
        for (int c = 0; c < 6; ++c) {
            f[static_cast<std::size_t>(c)] += n[static_cast<std::size_t>(c)];
            if (present && n[static_cast<std::size_t>(c)] > 0)
                ++(*present)[static_cast<std::size_t>(c)];
        }
        total += static_cast<double>(s.labels.labels.size());
    }
    for (double& v : f) v /= total;
    return f;
}

}  // namespace

TEST(Synth, DeterministicPerSeedAndIndex) {
    const SynthScene a = synthesize_scene(128, 7, 3), b = synthesize_scene(128, 7, 3);
    EXPECT_EQ(a.image.pixels, b.image.pixels);
    EXPECT_EQ(a.labels.labels, b.labels.labels);
    EXPECT_EQ(a.image.width, 128);
    EXPECT_EQ(a.labels.height, 128);
    EXPECT_NE(a.image.pixels, synthesize_scene(128, 7, 4).image.pixels);
    EXPECT_NE(a.image.pixels, synthesize_scene(128, 8, 3).image.pixels);
    // Generating other scenes in between (reused scratch buffers) changes nothing.
    synthesize_scene(300, 1, 1);
    EXPECT_EQ(synthesize_scene(128, 7, 3).image.pixels, a.image.pixels);
}

TEST(Synth, AllClassesAtEverySizeWithPotsdamLikeFrequencies) {
    // DESIGN §6 / issue 3: impervious ~28%, building ~26%, low vegetation ~23%, tree ~15%, car ~2%,
    // clutter ~5%. Broad bounds: the point is that no class is rare by accident.
    const std::array<double, 6> lo = {0.15, 0.15, 0.12, 0.07, 0.008, 0.02};
    const std::array<double, 6> hi = {0.40, 0.38, 0.40, 0.25, 0.05, 0.10};
    for (int size : {64, 300, 512}) {
        std::array<int, 6> present{};
        const int count = size == 512 ? 12 : 20;
        const auto f = class_fractions(size, count, 1, &present);
        for (int c = 0; c < 6; ++c) {
            const auto k = static_cast<std::size_t>(c);
            EXPECT_GT(present[k], 0) << "class " << c << " never occurs at " << size;
            EXPECT_GE(f[k], lo[k]) << "class " << c << " at " << size;
            EXPECT_LE(f[k], hi[k]) << "class " << c << " at " << size;
        }
        // Most scenes hold most classes (a scene is a street block, not one texture).
        int rich = 0;
        for (int k = 0; k < 6; ++k) rich += present[static_cast<std::size_t>(k)] >= count * 3 / 4;
        EXPECT_GE(rich, 5) << "at " << size;
    }
}

TEST(Synth, ColourAloneDoesNotGiveTheClass) {
    // A nearest-class-mean colour classifier must do clearly better than chance (colours mean
    // something) and clearly worse than perfect (grey roofs vs roads, dark trees vs shadowed lawn).
    double sum[6][3] = {}, cnt[6] = {};
    std::vector<SynthScene> scenes;
    for (std::uint32_t k = 0; k < 10; ++k) scenes.push_back(synthesize_scene(200, 5, k));
    for (const auto& s : scenes)
        for (std::size_t i = 0; i < s.labels.labels.size(); ++i) {
            const int c = s.labels.labels[i];
            for (int ch = 0; ch < 3; ++ch)
                sum[c][ch] += s.image.pixels[3 * i + static_cast<std::size_t>(ch)];
            cnt[c] += 1;
        }
    double right = 0, all = 0;
    for (const auto& s : scenes)
        for (std::size_t i = 0; i < s.labels.labels.size(); ++i) {
            int best = 0;
            double best_d = 1e300;
            for (int c = 0; c < 6; ++c) {
                if (cnt[c] == 0) continue;
                double d = 0;
                for (int ch = 0; ch < 3; ++ch) {
                    const double e =
                        s.image.pixels[3 * i + static_cast<std::size_t>(ch)] - sum[c][ch] / cnt[c];
                    d += e * e;
                }
                if (d < best_d) best_d = d, best = c;
            }
            right += best == s.labels.labels[i];
            all += 1;
        }
    const double acc = right / all;
    EXPECT_GT(acc, 0.3);
    EXPECT_LT(acc, 0.85);
}

TEST(Synth, ShadowsDarkenWithoutChangingTheClass) {
    // Across scenes, lawn pixels come in two brightness populations: lit and shadowed; the dark
    // tail must exist (shadows) while the class stays low vegetation.
    int dark = 0, lawn = 0;
    for (std::uint32_t k = 0; k < 10; ++k) {
        const SynthScene s = synthesize_scene(300, 2, k);
        for (std::size_t i = 0; i < s.labels.labels.size(); ++i) {
            if (s.labels.labels[i] != 2) continue;
            ++lawn;
            const int g = s.image.pixels[3 * i + 1];
            dark += g < 80;
        }
    }
    ASSERT_GT(lawn, 0);
    EXPECT_GT(dark, lawn / 50);
    EXPECT_LT(dark, lawn / 2);
}

TEST(Synth, RejectsBadSizes) {
    EXPECT_THROW(synthesize_scene(8, 0, 0), InputError);
    SynthOptions o;
    o.out_dir = test::temp_dir("synth_bad");
    o.count = 0;
    EXPECT_THROW(write_synthetic_dataset(o), InputError);
}

// The estimate a dataset is refused by when the disk cannot hold it: at least the bytes written,
// at most 1.6x (six bytes a pixel, uncompressed, refused datasets 2.4-3x the size that fit).
TEST(Synth, SizeEstimateIsNearWhatIsWritten) {
    for (const int size : {128, 300}) {
        SynthOptions o;
        o.out_dir = test::temp_dir("synth_size_" + std::to_string(size));
        o.count = 12;
        o.size = size;
        write_synthetic_dataset(o);
        std::uintmax_t written = 0;
        for (const auto& e : fs::recursive_directory_iterator(o.out_dir))
            if (e.is_regular_file()) written += e.file_size();
        const double estimate = synthetic_dataset_bytes(o);
        EXPECT_GE(estimate, static_cast<double>(written)) << size;
        EXPECT_LE(estimate, 1.6 * static_cast<double>(written)) << size;
    }
}

// The size probe's private directory in $TMPDIR is gone after it, and one a command killed while
// probing left is removed by the next probe (it stayed for good); a live process's stays.
TEST(Synth, SizeProbeLeavesNothingAndClearsAKilledProbesFiles) {
    const std::string tmp = test::temp_dir("synth_size_probe_tmp");
    const char* was = std::getenv("TMPDIR");
    const std::string saved = was ? was : "";
    ::setenv("TMPDIR", tmp.c_str(), 1);
    // A probe of a process that is gone (PIDs above Linux's largest, 4194304, name none).
    fs::create_directories(tmp + "/pfce-synth-size-9999999-Ab12Cd");
    std::ofstream(tmp + "/pfce-synth-size-9999999-Ab12Cd/i.tif") << "half a TIFF";
    fs::create_directories(tmp + "/pfce-synth-size-1-Ef34Gh");    // PID 1's: alive, kept
    std::ofstream(tmp + "/pfce-synth-size-notes.txt") << "mine";  // not a probe's: kept
    SynthOptions o;
    o.count = 3;
    o.size = 64;
    const double estimate = synthetic_dataset_bytes(o);
    if (was)
        ::setenv("TMPDIR", saved.c_str(), 1);
    else
        ::unsetenv("TMPDIR");
    EXPECT_GT(estimate, 0.0);
    EXPECT_LT(estimate, (6.0 * 64 * 64 + 4096.0) * 3);  // measured, not the uncompressed bound
    std::vector<std::string> left;
    for (const auto& e : fs::directory_iterator(tmp)) left.push_back(e.path().filename().string());
    std::sort(left.begin(), left.end());
    EXPECT_EQ(left,
              (std::vector<std::string>{"pfce-synth-size-1-Ef34Gh", "pfce-synth-size-notes.txt"}));
}

// A dataset is refused where it would not fit, and where it would leave under a tenth of the free
// space (the estimate is approximate; a probe's 99.9% of the disk went ahead), naming both.
TEST(Synth, ADatasetThatWouldAllButFillTheDiskIsRefused) {
    SynthOptions o;
    o.out_dir = "d";
    o.count = 10;
    o.size = 64;
    EXPECT_NO_THROW(check_synthetic_dataset_space(o, 89.0, 100.0, "/data"));
    EXPECT_MESSAGE_HAS(
        test::input_error_message([&] { check_synthetic_dataset_space(o, 95.0, 100.0, "/data"); }),
        "need about 95 bytes but /data has 100 bytes free (it would leave under a tenth of that");
    const std::string over =
        test::input_error_message([&] { check_synthetic_dataset_space(o, 150.0, 100.0, "/data"); });
    EXPECT_MESSAGE_HAS(over, "need about 150 bytes but /data has 100 bytes free; choose a smaller");
}

TEST(Synth, WritesKaggleLayoutThatReadsBackExactly) {
    SynthOptions o;
    o.out_dir = test::temp_dir("synth_roundtrip");
    o.count = 7;
    o.size = 96;
    o.seed = 12;
    int calls = 0, last = 0;
    write_synthetic_dataset(o, [&](int done, int total) {
        ++calls;
        EXPECT_EQ(total, 7);
        last = std::max(last, done);
    });
    EXPECT_EQ(calls, 7);
    EXPECT_EQ(last, 7);
    EXPECT_TRUE(fs::exists(o.out_dir + "/patches/Images/Image_6.tif"));
    EXPECT_TRUE(fs::exists(o.out_dir + "/patches/Labels/Label_0.tif"));
    EXPECT_FALSE(fs::exists(o.out_dir + "/patches/Images/Image_7.tif"));

    const Dataset ds = Dataset::open(o.out_dir);
    EXPECT_EQ(ds.kind(), DatasetKind::kaggle);
    ASSERT_EQ(ds.size(), 7u);
    for (std::size_t i = 0; i < ds.size(); ++i) {
        const std::string& id = ds.sample(i).id;
        ASSERT_EQ(id.rfind("Image_", 0), 0u) << id;
        const auto index = static_cast<std::uint32_t>(std::stoul(id.substr(6)));
        const SynthScene s = synthesize_scene(96, 12, index);
        EXPECT_EQ(ds.read_image(i).pixels, s.image.pixels) << id;  // LZW is lossless
        EXPECT_EQ(ds.read_mask(i).labels, s.labels.labels) << id;  // palette colours decode back
    }
}
