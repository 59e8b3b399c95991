// Sparse sampling (DESIGN §2) and mask directories: exact counts min(N, n_c), no class lost, a
// subset of the dense mask, uniform draws, the same output for 1, 2 and 8 threads and any listing
// order, per-class N, area scaling; mask directories round-trip; `pfce sample` end to end.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "data/dataset.hpp"
#include "data/image_io.hpp"
#include "data/mask_dir.hpp"
#include "data/palette.hpp"
#include "data/sparse_masks.hpp"
#include "data/sparse_sampler.hpp"
#include "tests/test_util.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

using namespace pfce;
namespace fs = std::filesystem;

namespace {

// A dense map with very unequal class sizes: class 0 huge, class 3 tiny, class 4 absent, some 255.
LabelMap uneven_map(int w, int h, std::uint64_t seed) {
    LabelMap m(w, h);
    CounterRng rng(seed, 99);
    for (auto& l : m.labels) {
        const std::uint32_t r = rng.below(1000);
        l = r < 600 ? 0 : r < 850 ? 1 : r < 990 ? 2 : r < 993 ? 3 : r < 995 ? 5 : 255;
    }
    return m;
}

std::array<int, 256> histogram(const LabelMap& m) {
    std::array<int, 256> h{};
    for (auto l : m.labels) ++h[l];
    return h;
}

SamplerOptions with_points(std::vector<int> points, std::uint64_t seed = 1) {
    SamplerOptions o;
    o.points = std::move(points);
    o.seed = seed;
    return o;
}

}  // namespace

TEST(Sampler, ExactCountsNoClassLostSubsetOfDense) {
    for (std::uint64_t seed = 0; seed < 5; ++seed) {
        const LabelMap dense = uneven_map(97, 83, seed);
        const LabelMap sparse =
            sample_sparse(dense, with_points({40}, seed), "img" + std::to_string(seed));
        const auto hd = histogram(dense), hs = histogram(sparse);
        for (int c = 0; c < 32; ++c) {
            EXPECT_EQ(hs[c], std::min(40, hd[c])) << "class " << c << " seed " << seed;
            if (hd[c] > 0) {
                EXPECT_GT(hs[c], 0) << "class " << c << " lost";
            }
        }
        for (std::size_t i = 0; i < dense.labels.size(); ++i)
            if (sparse.labels[i] != 255) {
                ASSERT_EQ(sparse.labels[i], dense.labels[i]) << "pixel " << i;
            }
        EXPECT_EQ(hs[255],
                  static_cast<int>(dense.labels.size()) - (hs[0] + hs[1] + hs[2] + hs[3] + hs[5]));
    }
}

TEST(Sampler, DrawIsUniformOverTheClassPixels) {
    // A class of 10 pixels, N = 3: every pixel is kept with probability 0.3.
    LabelMap dense(5, 4, 1);
    for (int i = 0; i < 10; ++i) dense.labels[static_cast<std::size_t>(i * 2)] = 0;
    std::array<int, 20> hits{};
    const int trials = 3000;
    for (int t = 0; t < trials; ++t) {
        const LabelMap s =
            sample_sparse(dense, with_points({3}, static_cast<std::uint64_t>(t)), "u");
        for (int i = 0; i < 20; ++i)
            hits[static_cast<std::size_t>(i)] += s.labels[static_cast<std::size_t>(i)] == 0;
    }
    for (int i = 0; i < 20; i += 2)  // expected 900, sd ~25: 6 sd bounds
        EXPECT_NEAR(hits[static_cast<std::size_t>(i)], 900, 150) << "pixel " << i;
}

TEST(Sampler, DependsOnSeedIdAndClassOnly) {
    const LabelMap dense = uneven_map(64, 64, 3);
    const LabelMap a = sample_sparse(dense, with_points({20}, 7), "Image_1");
    EXPECT_EQ(a.labels, sample_sparse(dense, with_points({20}, 7), "Image_1").labels);
    EXPECT_NE(a.labels, sample_sparse(dense, with_points({20}, 8), "Image_1").labels);
    EXPECT_NE(a.labels, sample_sparse(dense, with_points({20}, 7), "Image_2").labels);
    // A class's draw does not depend on the other classes' counts.
    const LabelMap b = sample_sparse(dense, with_points({20, 5, 20, 20, 20, 20}, 7), "Image_1");
    for (std::size_t i = 0; i < a.labels.size(); ++i)
        if (a.labels[i] == 0 || a.labels[i] == 2) {
            ASSERT_EQ(a.labels[i], b.labels[i]);
        }
    EXPECT_EQ(sample_stream_id("Image_1"), sample_stream_id(std::string("Image_1")));
    EXPECT_NE(sample_stream_id("Image_1"), sample_stream_id("Image_10"));
}

TEST(Sampler, SameOutputFor1_2_8ThreadsAndAnyOrder) {
    std::vector<LabelMap> dense;
    std::vector<std::string> ids;
    for (int i = 0; i < 24; ++i) {
        dense.push_back(uneven_map(60 + i, 50, static_cast<std::uint64_t>(i)));
        ids.push_back("tile_" + std::to_string(i));
    }
    const SamplerOptions o = with_points({30}, 11);
    std::vector<std::vector<LabelMap>> runs;
#ifdef _OPENMP
    const int saved = omp_get_max_threads();
    for (int t : {1, 2, 8}) {
        omp_set_num_threads(t);
        runs.push_back(sample_sparse_all(dense, ids, o));
    }
    omp_set_num_threads(saved);
#else
    runs.push_back(sample_sparse_all(dense, ids, o));
#endif
    for (const auto& r : runs)
        for (std::size_t i = 0; i < dense.size(); ++i)
            ASSERT_EQ(r[i].labels, runs[0][i].labels) << ids[i];
    // Reversed listing: every id gets the same mask as before.
    std::vector<LabelMap> rdense(dense.rbegin(), dense.rend());
    std::vector<std::string> rids(ids.rbegin(), ids.rend());
    const auto rev = sample_sparse_all(rdense, rids, o);
    for (std::size_t i = 0; i < dense.size(); ++i)
        ASSERT_EQ(rev[dense.size() - 1 - i].labels, runs[0][i].labels);
}

TEST(Sampler, PerClassCounts) {
    const LabelMap dense = uneven_map(100, 100, 5);
    const std::vector<int> n = {10, 200, 1, 50, 7, 3};
    const auto hd = histogram(dense);
    const auto hs = histogram(sample_sparse(dense, with_points(n), "p"));
    for (int c = 0; c < 6; ++c)
        EXPECT_EQ(hs[c], std::min(n[static_cast<std::size_t>(c)], hd[c])) << "class " << c;
}

TEST(Sampler, AreaScaling) {
    SamplerOptions o = with_points({500});
    o.scale_by_area = true;
    EXPECT_EQ(points_for_class(o, 0, 300, 300), 500);
    EXPECT_EQ(points_for_class(o, 0, 150, 150), 125);
    EXPECT_EQ(points_for_class(o, 0, 600, 300), 1000);
    EXPECT_EQ(points_for_class(o, 0, 64, 64), 23);  // 500 * 4096 / 90000 = 22.76
    EXPECT_EQ(points_for_class(o, 0, 10, 10), 1);   // 0.56 rounds to 1
    EXPECT_EQ(points_for_class(o, 0, 3, 3), 1);     // 0.05: at least 1
    o.scale_by_area = false;
    EXPECT_EQ(points_for_class(o, 0, 64, 64), 500);
    o.scale_by_area = true;
    const LabelMap dense = uneven_map(64, 64, 2);
    const auto hd = histogram(dense), hs = histogram(sample_sparse(dense, o, "a"));
    for (int c = 0; c < 6; ++c) EXPECT_EQ(hs[c], std::min(23, hd[c])) << "class " << c;
}

TEST(Sampler, BadInputNamesTheSample) {
    LabelMap dense(4, 4, 0);
    dense.labels[5] = 77;
    try {
        sample_sparse(dense, with_points({3}), "Image_42");
        FAIL() << "label 77 accepted";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("Image_42"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("77"), std::string::npos) << e.what();
    }
    LabelMap six(4, 4, 5);
    EXPECT_THROW(sample_sparse(six, with_points({1, 2, 3}), "short_list"), InputError);
    EXPECT_THROW(sample_sparse(six, with_points({0}), "zero"), InputError);
    EXPECT_THROW(sample_sparse(six, with_points({}), "none"), InputError);
}

TEST(Sampler, RealKagglePairKeepsEveryClass) {
    PFCE_REQUIRE_POTSDAM_SAMPLE(root);
    const Dataset ds = Dataset::open(root);
    for (std::size_t i = 0; i < ds.size(); ++i) {
        const LabelMap dense = ds.read_mask(i);
        const auto hd = histogram(dense),
                   hs = histogram(sample_sparse(dense, with_points({500}), ds.sample(i).id));
        for (int c = 0; c < 6; ++c)
            EXPECT_EQ(hs[c], std::min(500, hd[c])) << ds.sample(i).id << " class " << c;
    }
}

TEST(MaskDir, RoundTripAndMetadata) {
    const std::string dir = test::temp_dir("maskdir_roundtrip") + "/masks";
    std::vector<LabelMap> masks;
    std::vector<std::string> ids = {"Image_3", "Image_10", "top_potsdam_2_10@600_300"};
    for (std::size_t i = 0; i < ids.size(); ++i)
        masks.push_back(sample_sparse(uneven_map(40, 30, i), with_points({15}), ids[i]));
    const nlohmann::json meta = {
        {"kind", "sparse"}, {"source", "/data/x"}, {"points", 15}, {"seed", 1}};
    write_mask_dir(dir, ids, masks, potsdam_palette(), meta);
    EXPECT_TRUE(fs::exists(dir + "/Image_10.png"));
    const MaskDir md = open_mask_dir(dir);
    EXPECT_EQ(md.ids, ids);
    EXPECT_EQ(md.meta["kind"], "sparse");
    EXPECT_EQ(md.meta["points"], 15);
    EXPECT_EQ(md.meta["source"], "/data/x");
    for (std::size_t i = 0; i < ids.size(); ++i)
        EXPECT_EQ(read_mask_png(md, ids[i], potsdam_palette()).labels, masks[i].labels) << ids[i];
    // Unlabelled pixels are black in the PNG a person opens.
    const RgbImage png = read_mask_rgb(dir + "/Image_3.png");
    for (std::size_t i = 0; i < masks[0].labels.size(); ++i)
        if (masks[0].labels[i] == 255) {
            ASSERT_EQ(png.pixels[3 * i] + png.pixels[3 * i + 1] + png.pixels[3 * i + 2], 0);
        }
}

TEST(MaskDir, MissingOrBadMetadataNamesTheFile) {
    const std::string dir = test::temp_dir("maskdir_bad");
    try {
        open_mask_dir(dir);
        FAIL() << "opened a directory without masks.json";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("masks.json"), std::string::npos) << e.what();
    }
    std::ofstream(dir + "/masks.json") << "{ not json";
    EXPECT_THROW(open_mask_dir(dir), InputError);
    std::ofstream(dir + "/masks.json") << "{\"kind\": \"sparse\"}";
    EXPECT_THROW(open_mask_dir(dir), InputError);  // no ids
    EXPECT_THROW(write_mask_dir(dir, {"../escape"}, {LabelMap(2, 2)}, potsdam_palette(), {}),
                 InputError);
}

// Sparse masks are reused only for the same dense labels: after the dataset's palette changes
// (two colours swapped in dataset.toml) or a mask file is rewritten, the old points would carry the
// wrong classes, so the directory is not reused (refused without force, resampled with it).
TEST(SparseMasks, ReusedOnlyWhileTheDenseLabelsAreTheSame) {
    const std::string root = test::temp_dir("sparse_stale");
    const std::string data = root + "/data", out = root + "/sparse";
    fs::create_directories(data + "/images");
    fs::create_directories(data + "/masks");
    auto describe = [&](const char* colours) {
        std::ofstream(data + "/dataset.toml")
            << "[classes]\nnames = [\"road\", \"building\"]\n[mask]\nencoding = \"palette\"\n"
            << "colours = " << colours << "\nignore_colours = [[255, 0, 255]]\n";
    };
    describe("[[255, 255, 255], [0, 0, 0]]");  // a black class, a magenta ignore colour
    RgbImage mask(6, 4);
    for (int y = 0; y < 4; ++y)
        for (int x = 0; x < 6; ++x) {
            const std::uint8_t v = x < 3 ? 255 : 0;
            std::fill_n(&mask.pixels[3 * (y * 6 + x)], 3, v);
        }
    write_png(data + "/images/a.png", test::random_rgb(6, 4, 1));
    write_png(data + "/masks/a.png", mask);
    SamplerOptions so = with_points({2}, 3);
    auto sample = [&](bool force) {
        return make_sparse_masks(Dataset::open(data), so, out, force);
    };
    auto points_of = [&](int cls) {
        const MaskDir md = open_mask_dir(out);
        const LabelMap m = read_mask_png(md, "a", Dataset::open(data).palette());
        int left = 0, right = 0;
        for (int y = 0; y < 4; ++y)
            for (int x = 0; x < 6; ++x)
                if (m.at(y, x) == cls) ++(x < 3 ? left : right);
        return std::array<int, 2>{left, right};
    };
    EXPECT_FALSE(sample(false).reused);
    EXPECT_EQ(points_of(0), (std::array<int, 2>{2, 0}));  // road (white) on the left
    EXPECT_TRUE(sample(false).reused);
    // Another spelling of the same dataset is the same labels.
    EXPECT_TRUE(make_sparse_masks(Dataset::open(root + "/./data/"), so, out, false).reused);

    describe("[[0, 0, 0], [255, 255, 255]]");  // the colours were swapped: road is black now
    EXPECT_MESSAGE_HAS(test::input_error_message([&] { sample(false); }), "--force");
    EXPECT_FALSE(sample(true).reused);
    EXPECT_EQ(points_of(0), (std::array<int, 2>{0, 2}));  // road on the right, as the palette says
    EXPECT_TRUE(sample(false).reused);

    // The mask rewritten (its left half now ignored): resampled, no road point on the left.
    for (int y = 0; y < 4; ++y)
        for (int x = 0; x < 3; ++x) {
            std::uint8_t* px = &mask.pixels[3 * (y * 6 + x)];
            px[0] = 255;
            px[1] = 0;
            px[2] = 255;
        }
    const auto before = fs::last_write_time(data + "/masks/a.png");
    write_png(data + "/masks/a.png", mask);
    fs::last_write_time(data + "/masks/a.png", before + std::chrono::seconds(1));
    EXPECT_FALSE(sample(true).reused);
    EXPECT_EQ(points_of(1), (std::array<int, 2>{0, 0}));
}

TEST(SampleCommand, WritesMasksThatMatchTheLibrary) {
    const std::string root = test::temp_dir("sample_cmd");
    const std::string data = test::write_synthetic(root + "/data", 5, 64, 3);
    const std::string out = root + "/sparse";
    const std::string cmd = test::pfce_binary() + " -q sample --data " + data +
                            " --points 500 --seed 9 --out " + out + " > " + root +
                            "/stdout.txt 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::ifstream printed(root + "/stdout.txt");
    const std::string text((std::istreambuf_iterator<char>(printed)),
                           std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("labelled fraction"), std::string::npos) << text;
    const MaskDir md = open_mask_dir(out);
    EXPECT_EQ(md.meta["kind"], "sparse");
    EXPECT_EQ(md.meta["sample"]["seed"], 9);
    EXPECT_EQ(md.meta["sample"]["points"], std::vector<int>{500});
    EXPECT_EQ(md.meta["source"], fs::absolute(data).lexically_normal().string());
    const Dataset ds = Dataset::open(data);
    ASSERT_EQ(md.ids.size(), ds.size());
    SamplerOptions o = with_points({500}, 9);
    o.scale_by_area = true;
    for (std::size_t i = 0; i < ds.size(); ++i) {
        EXPECT_EQ(md.ids[i], ds.sample(i).id);
        EXPECT_EQ(read_mask_png(md, md.ids[i], potsdam_palette()).labels,
                  sample_sparse(ds.read_mask(i), o, ds.sample(i).id).labels)
            << md.ids[i];
    }
    // The counts were scaled by area without asking, as training scales them.
    EXPECT_EQ(md.meta["sample"]["scale_by_area"], true);
    // Other settings (seed 0) are refused without --force; the same ones are reused.
    const std::string again =
        test::pfce_binary() + " -q sample --data " + data + " --out " + out + " > /dev/null 2>&1";
    EXPECT_NE(std::system(again.c_str()), 0);
    EXPECT_EQ(
        std::system((again.substr(0, again.find(" >")) + " --force > /dev/null 2>&1").c_str()), 0);
}
