// Datasets on disk: the real Kaggle pairs with their exact class counts, numeric ordering, PNG
// patches, tiles cut into windows that reassemble to the tile, generic palette/index datasets,
// every layout fault naming its file, kind detection, splits, and the `pfce data stats|preview`
// commands.
#include <gtest/gtest.h>
#include <png.h>
#include <sys/wait.h>
#include <tiffio.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>
#include <utility>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "data/contact_sheet.hpp"
#include "data/data_fingerprint.hpp"
#include "data/dataset.hpp"
#include "data/georef.hpp"
#include "data/georef_sidecar.hpp"
#include "data/ground_pixel_size.hpp"
#include "data/image_io.hpp"
#include "data/imported_masks.hpp"
#include "data/mask_dir.hpp"
#include "data/palette.hpp"
#include "data/picture_text.hpp"
#include "host/train/config.hpp"
#include "host/train/train_data.hpp"
#include "tests/raw_tiff.hpp"
#include "tests/test_util.hpp"

using namespace pfce;
namespace fs = std::filesystem;

namespace {

// A preview sheet's height: the columns' titles, `rows` rows of panels, and the legend of the
// palette's classes as wide as `cols` columns.
int titled_sheet_height(int rows, int cols, const SheetOptions& opt, const Palette& palette) {
    const Rgb grey{kSheetBackground, kSheetBackground, kSheetBackground};
    return title_strip_height() + sheet_height(rows, opt) +
           legend_strip(class_legend(palette), sheet_width(cols, opt), grey).height;
}

std::array<long, 7> class_counts(const LabelMap& m) {
    std::array<long, 7> c{};
    for (std::uint8_t v : m.labels) ++c[v == 255 ? 6 : v];
    return c;
}

// A scene with every Potsdam class in bands plus a little noise, and its image.
LabelMap striped_labels(int w, int h, std::uint64_t seed) {
    LabelMap m(w, h);
    CounterRng rng(seed, 3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            m.at(y, x) = static_cast<std::uint8_t>((x / 7 + y / 5 + (rng.below(9) == 0)) % 6);
    return m;
}

// A Kaggle layout under dir/patches with the given sample numbers.
void write_kaggle(const std::string& dir, const std::vector<int>& numbers, int size = 16,
                  bool png = false) {
    fs::create_directories(dir + "/patches/Images");
    fs::create_directories(dir + "/patches/Labels");
    for (int n : numbers) {
        const std::string ext = png ? ".png" : ".tif";
        const RgbImage img = test::random_rgb(size, size, n);
        const RgbImage lab = potsdam_palette().encode(striped_labels(size, size, n));
        const std::string i = dir + "/patches/Images/Image_" + std::to_string(n) + ext;
        const std::string l = dir + "/patches/Labels/Label_" + std::to_string(n) + ext;
        if (png) {
            write_png(i, img);
            write_png(l, lab);
        } else {
            write_tiff(i, img);
            write_tiff(l, lab);
        }
    }
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream f(path);
    f << text;
}

using test::CommandResult;
using test::input_error_message;
using test::run_pfce;

}  // namespace

// ---- Kaggle ------------------------------------------------------------------------------------

TEST(KaggleDataset, RealPairsReadBackWithExactClassCounts) {
    PFCE_REQUIRE_POTSDAM_SAMPLE(sample);
    for (const std::string& root : {sample, sample + "/patches"}) {
        SCOPED_TRACE(root);
        const Dataset ds = Dataset::open(root);
        EXPECT_EQ(ds.kind(), DatasetKind::kaggle);
        ASSERT_EQ(ds.size(), 2u);
        EXPECT_EQ(ds.sample(0).id, "Image_0");
        EXPECT_EQ(ds.sample(1).id, "Image_1010");
        EXPECT_EQ(class_counts(ds.read_mask(0)),
                  (std::array<long, 7>{29700, 18688, 32256, 9356, 0, 0, 0}));
        EXPECT_EQ(class_counts(ds.read_mask(1)),
                  (std::array<long, 7>{0, 42166, 40061, 0, 0, 7773, 0}));
        const RgbImage img = ds.read_image(1);
        EXPECT_EQ(img.width, 300);
        EXPECT_EQ(img.height, 300);
        EXPECT_EQ(ds.sample(1).width, 300);
    }
}

TEST(KaggleDataset, OrderedNumericallyAndPngAccepted) {
    const std::string dir = test::temp_dir("ds_kaggle_order");
    write_kaggle(dir, {10, 2, 1}, 16, /*png=*/true);
    const Dataset ds = Dataset::open(dir);
    ASSERT_EQ(ds.size(), 3u);
    EXPECT_EQ(ds.sample(0).id, "Image_1");
    EXPECT_EQ(ds.sample(1).id, "Image_2");
    EXPECT_EQ(ds.sample(2).id, "Image_10");
    EXPECT_EQ(ds.read_mask(2).labels, striped_labels(16, 16, 10).labels);
    EXPECT_EQ(ds.read_image(0).pixels, test::random_rgb(16, 16, 1).pixels);
    // Image files not named as the layout's are left out and said (a browser's duplicate was
    // dropped with nothing said but one image fewer); other files are not.
    fs::copy_file(dir + "/patches/Images/Image_1.png", dir + "/patches/Images/Image_5 (1).png");
    fs::copy_file(dir + "/patches/Labels/Label_1.png", dir + "/patches/Labels/Label_5 (1).png");
    write_text(dir + "/patches/Images/notes.txt", "mine");
    testing::internal::CaptureStderr();
    EXPECT_EQ(Dataset::open(dir).size(), 3u);
    const std::string said = testing::internal::GetCapturedStderr();
    EXPECT_MESSAGE_HAS(said, dir +
                                 "/patches/Images: 1 image file is not read (Image_5 (1).png): a "
                                 "Potsdam Kaggle directory reads Image_N.tif, .png or .jpg");
    EXPECT_MESSAGE_HAS(said, dir + "/patches/Labels: 1 image file is not read (Label_5 (1).png)");
    EXPECT_MESSAGE_HAS(said, "reads Label_N.tif or .png (N a number) alone (a mask is never JPEG");
    EXPECT_EQ(said.find("notes.txt"), std::string::npos) << said;
}

// A dataset.toml beside a Kaggle layout: the ambiguity names what each kind was recognised by,
// and the file, not read under --kind kaggle, is said to be unread (its colour_tolerance was
// ignored without a word; real-data probe).
TEST(KaggleDataset, ADatasetTomlBesideItIsNamedAndSaidToBeUnread) {
    const std::string dir = test::temp_dir("ds_kaggle_toml");
    write_kaggle(dir, {0, 1});
    write_text(dir + "/dataset.toml", "[mask]\ncolour_tolerance = 5\n");
    EXPECT_MESSAGE_HAS(input_error_message([&] { Dataset::open(dir); }),
                       "matches more than one dataset kind: kaggle (Images/ + Labels/), generic "
                       "(dataset.toml); name it with --kind");
    testing::internal::CaptureStderr();
    EXPECT_EQ(Dataset::open(dir, {DatasetKind::kaggle}).size(), 2u);
    Dataset::open(dir, {DatasetKind::kaggle});
    const std::string said = testing::internal::GetCapturedStderr();
    EXPECT_MESSAGE_HAS(said, dir +
                                 "/dataset.toml is not read: a Kaggle patch dataset has the "
                                 "ISPRS Potsdam classes and colours built in");
    EXPECT_EQ(said.find("is not read"), said.rfind("is not read")) << said;  // once
}

TEST(KaggleDataset, MissingPartnerNamesTheFile) {
    const std::string dir = test::temp_dir("ds_kaggle_partner");
    write_kaggle(dir, {0, 1});
    fs::remove(dir + "/patches/Labels/Label_1.tif");
    std::string msg = input_error_message([&] { Dataset::open(dir); });
    EXPECT_MESSAGE_HAS(msg, "missing partner file");
    EXPECT_MESSAGE_HAS(msg, "Image_1.tif");
    EXPECT_MESSAGE_HAS(msg, "Label_1.tif");
    // A label without its image.
    write_kaggle(dir, {1});
    fs::remove(dir + "/patches/Images/Image_0.tif");
    msg = input_error_message([&] { Dataset::open(dir); });
    EXPECT_MESSAGE_HAS(msg, "Label_0.tif");
    EXPECT_MESSAGE_HAS(msg, "Image_0.tif");
}

TEST(KaggleDataset, SizeMismatchNamesBothFilesAndSizes) {
    const std::string dir = test::temp_dir("ds_kaggle_size");
    write_kaggle(dir, {0});
    write_tiff(dir + "/patches/Labels/Label_0.tif",
               potsdam_palette().encode(striped_labels(16, 12, 0)));
    const std::string msg = input_error_message([&] { Dataset::open(dir); });
    EXPECT_MESSAGE_HAS(msg, "Image_0.tif is 16x16");
    EXPECT_MESSAGE_HAS(msg, "Label_0.tif is 16x12");
}

TEST(KaggleDataset, UnknownColourNamesFilePixelAndColour) {
    const std::string dir = test::temp_dir("ds_kaggle_colour");
    write_kaggle(dir, {0});
    RgbImage lab = potsdam_palette().encode(striped_labels(16, 16, 0));
    lab.at(9, 4)[0] = 200;
    lab.at(9, 4)[1] = 100;
    lab.at(9, 4)[2] = 50;
    write_tiff(dir + "/patches/Labels/Label_0.tif", lab);
    const Dataset ds = Dataset::open(dir);
    const std::string msg = input_error_message([&] { ds.read_mask(0); });
    EXPECT_MESSAGE_HAS(msg, "Label_0.tif");
    EXPECT_MESSAGE_HAS(msg, "(200,100,50)");
    EXPECT_MESSAGE_HAS(msg, "x=4, y=9");
    EXPECT_EQ(msg.find("class indices"), std::string::npos);
    // Class indices stored as gray levels (a common re-export of the colour labels): the error
    // says how to read such masks.
    write_tiff_gray(dir + "/patches/Labels/Label_0.tif", striped_labels(16, 16, 0));
    const std::string gray = input_error_message([&] { Dataset::open(dir).read_mask(0); });
    EXPECT_MESSAGE_HAS(gray, "class indices stored as gray levels");
    EXPECT_MESSAGE_HAS(gray, "encoding = \"index\"");
    // With 255 where nothing is labelled (an annotation of points, as index tools write them):
    // the same (a hostile probe was told the mask had been resized).
    LabelMap points = striped_labels(16, 16, 0);
    for (std::size_t i = 0; i < points.labels.size(); ++i)
        if (i % 7 != 0) points.labels[i] = 255;
    write_tiff_gray(dir + "/patches/Labels/Label_0.tif", points);
    const std::string sparse = input_error_message([&] { Dataset::open(dir).read_mask(0); });
    EXPECT_MESSAGE_HAS(sparse, "class indices stored as gray levels (255 unlabelled)");
    EXPECT_EQ(sparse.find("resized"), std::string::npos) << sparse;
    // The colour mask saved as grayscale (each colour its luma, as cv2 and PIL convert): white
    // impervious surfaces stay a class, building (0,0,255) becomes 29. Advice to ignore that gray
    // would have dropped the class (foreign-data probe): the class is named, and the remedy.
    RgbImage luma = potsdam_palette().encode(striped_labels(16, 16, 0));
    for (std::size_t i = 0; i < luma.pixels.size(); i += 3) {
        const std::uint8_t* p = &luma.pixels[i];
        const auto y =
            static_cast<std::uint8_t>(std::lround(0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]));
        luma.pixels[i] = luma.pixels[i + 1] = luma.pixels[i + 2] = y;
    }
    write_tiff(dir + "/patches/Labels/Label_0.tif", luma);
    const std::string grayed = input_error_message([&] { Dataset::open(dir).read_mask(0); });
    EXPECT_MESSAGE_HAS(grayed, "the mask was likely saved as grayscale");
    EXPECT_MESSAGE_HAS(grayed, "is the gray of class building (0,0,255)");
    EXPECT_EQ(grayed.find("ignore_colours ="), std::string::npos) << grayed;
    // A colour a level off a class's: the advice restores it, and names no dataset.toml setting
    // (the built-in palette has none).
    lab.at(9, 4)[0] = 254;
    lab.at(9, 4)[1] = 255;
    lab.at(9, 4)[2] = 255;
    write_tiff(dir + "/patches/Labels/Label_0.tif", lab);
    const std::string near = input_error_message([&] { Dataset::open(dir).read_mask(0); });
    EXPECT_MESSAGE_HAS(near, "within 1 levels of class impervious surfaces");
    EXPECT_EQ(near.find("colour_tolerance"), std::string::npos) << near;
}

namespace {

// An uncompressed 16x16 TIFF of zeros with `spp` bands of `bps` bits (a 4th band: e.g. infrared).
void write_odd_tiff(const std::string& path, int spp, int bps) {
    test::TiffSpec s;
    s.width = s.height = 16;
    s.spp = spp;
    s.bps = bps;
    s.rows_per_strip = 16;
    s.extra = EXTRASAMPLE_UNSPECIFIED;
    test::write_raw_tiff(path, s, std::vector<std::uint8_t>(16 * 16 * spp * bps / 8, 0));
}

}  // namespace

TEST(KaggleDataset, UnsupportedSampleFormatsNameTheFile) {
    const std::string dir = test::temp_dir("ds_kaggle_format");
    write_kaggle(dir, {0});
    const std::string image = dir + "/patches/Images/Image_0.tif";
    write_odd_tiff(image, 3, 16);
    std::string msg = input_error_message([&] { Dataset::open(dir); });
    EXPECT_MESSAGE_HAS(msg, image);
    EXPECT_MESSAGE_HAS(msg, "16-bit samples, and nothing says which values are black and white");
    EXPECT_MESSAGE_HAS(msg, "data.value_range");
    write_odd_tiff(image, 4, 8);
    msg = input_error_message([&] { Dataset::open(dir); });
    EXPECT_MESSAGE_HAS(msg, image);
    EXPECT_MESSAGE_HAS(msg, "4 bands");
    // A range reads 16-bit images, never masks: their values are labels.
    write_odd_tiff(image, 3, 16);
    const std::string label = dir + "/patches/Labels/Label_0.tif";
    write_odd_tiff(label, 3, 16);
    DatasetOptions o;
    o.image.range_lo = 0;
    o.image.range_hi = 4095;
    msg = input_error_message([&] { Dataset::open(dir, o); });
    EXPECT_MESSAGE_HAS(msg, label + ": 16-bit mask samples (expected 8-bit unsigned masks");
    EXPECT_MESSAGE_HAS(msg, "gdal_translate -ot Byte IN OUT.tif");
}

TEST(KaggleDataset, TruncatedLabelNamesTheFile) {
    const std::string dir = test::temp_dir("ds_kaggle_trunc");
    write_kaggle(dir, {0}, 64);
    const std::string label = dir + "/patches/Labels/Label_0.tif";
    fs::resize_file(label, fs::file_size(label) / 2);
    const std::string msg = input_error_message([&] {
        const Dataset ds = Dataset::open(dir);
        ds.read_mask(0);
    });
    EXPECT_MESSAGE_HAS(msg, label);
}

TEST(KaggleDataset, EmptyDatasetNamesTheRoot) {
    const std::string dir = test::temp_dir("ds_kaggle_empty");
    fs::create_directories(dir + "/patches/Images");
    fs::create_directories(dir + "/patches/Labels");
    const std::string msg = input_error_message([&] { Dataset::open(dir); });
    EXPECT_MESSAGE_HAS(msg, "empty dataset");
    EXPECT_MESSAGE_HAS(msg, dir);
}

TEST(KaggleDataset, PixelLimitRefusesBigImagesNamingTheFile) {
    const std::string dir = test::temp_dir("ds_kaggle_limit");
    write_kaggle(dir, {0}, 20);
    DatasetOptions o;
    o.max_pixels = 399;
    const std::string msg = input_error_message([&] { Dataset::open(dir, o); });
    EXPECT_MESSAGE_HAS(msg, "Image_0.tif");
    EXPECT_MESSAGE_HAS(msg, "limit of 399");
    o.max_pixels = 400;
    EXPECT_NO_THROW(Dataset::open(dir, o));
}

// ---- tiles -------------------------------------------------------------------------------------

namespace {

void write_tile(const std::string& dir, const std::string& stem, int w, int h,
                const char* label_suffix, std::uint64_t seed) {
    write_tiff(dir + "/" + stem + "_RGB.tif", test::random_rgb(w, h, seed));
    write_tiff(dir + "/" + stem + label_suffix,
               potsdam_palette().encode(striped_labels(w, h, seed)));
}

// Windows must cover the tile and agree with it everywhere they overlap, and each tile pixel must
// be owned by one window (what metrics score), the one that load_samples leaves it labelled in.
void check_reassembly(const Dataset& ds, int w, int h, int patch, std::size_t expected_windows,
                      std::uint64_t seed) {
    ASSERT_EQ(ds.size(), expected_windows);
    const RgbImage tile = test::random_rgb(w, h, seed);
    const LabelMap labels = striped_labels(w, h, seed);
    std::vector<int> covered(static_cast<std::size_t>(w) * h, 0),
        owned(static_cast<std::size_t>(w) * h, 0);
    std::vector<std::size_t> all(ds.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    const std::vector<SampleData> whole = load_samples(ds, all, ""),
                                  scored = load_samples(ds, all, "", /*scored=*/true);
    for (std::size_t i = 0; i < ds.size(); ++i) {
        const SampleRef& s = ds.sample(i);
        for (int y = 0; y < patch; ++y)
            for (int x = 0; x < patch; ++x) {
                const bool own = x >= s.own_x0 && x < s.own_x1 && y >= s.own_y0 && y < s.own_y1;
                if (own) ++owned[static_cast<std::size_t>(s.y0 + y) * w + s.x0 + x];
                // Trained on everywhere, scored where owned (dense and training labels alike).
                const std::uint8_t truth = labels.at(s.y0 + y, s.x0 + x);
                ASSERT_EQ(whole[i].train_labels.at(y, x), truth);
                ASSERT_EQ(whole[i].dense.at(y, x), truth);
                ASSERT_EQ(scored[i].dense.at(y, x), own ? truth : 255)
                    << s.id << " at " << x << "," << y;
                ASSERT_EQ(scored[i].train_labels.at(y, x), own ? truth : 255);
            }
        ASSERT_EQ(s.width, patch);
        ASSERT_EQ(s.height, patch);
        ASSERT_LE(s.x0 + s.width, w);
        ASSERT_LE(s.y0 + s.height, h);
        const RgbImage img = ds.read_image(i);
        const LabelMap m = ds.read_mask(i);
        ASSERT_EQ(img.width, patch);
        ASSERT_EQ(m.height, patch);
        for (int y = 0; y < patch; ++y)
            for (int x = 0; x < patch; ++x) {
                ++covered[static_cast<std::size_t>(s.y0 + y) * w + s.x0 + x];
                ASSERT_EQ(m.at(y, x), labels.at(s.y0 + y, s.x0 + x)) << s.id;
                for (int c = 0; c < 3; ++c)
                    ASSERT_EQ(img.at(y, x)[c], tile.at(s.y0 + y, s.x0 + x)[c]) << s.id;
            }
    }
    for (int v : covered) ASSERT_GT(v, 0);
    for (int v : owned) ASSERT_EQ(v, 1);
}

}  // namespace

TEST(TilesDataset, WindowsReassembleToTheTileWithEdgesCovered) {
    const std::string dir = test::temp_dir("ds_tiles");
    write_tile(dir, "top_potsdam_2_10", 1000, 700, "_label.tif", 5);
    DatasetOptions o{.tile_patch = 300, .tile_stride = 300};
    const Dataset a = Dataset::open(dir, o);
    EXPECT_EQ(a.kind(), DatasetKind::tiles);
    // x: 0 300 600 700, y: 0 300 400.
    check_reassembly(a, 1000, 700, 300, 12, 5);
    EXPECT_EQ(a.sample(3).id, "top_potsdam_2_10@700_0");
    EXPECT_EQ(a.sample(11).id, "top_potsdam_2_10@700_400");
    // The windows at x 600 and 700 overlap on [700, 900): each owns the half nearer its centre.
    EXPECT_EQ(a.sample(2).own_x0, 0);
    EXPECT_EQ(a.sample(2).own_x1, 200);
    EXPECT_EQ(a.sample(3).own_x0, 100);
    EXPECT_EQ(a.sample(3).own_x1, 300);
    o.tile_stride = 250;
    // x: 0 250 500 700, y: 0 250 400.
    check_reassembly(Dataset::open(dir, o), 1000, 700, 300, 12, 5);
    o.tile_stride = 200;
    // x: 0 200 400 600 700, y: 0 200 400.
    check_reassembly(Dataset::open(dir, o), 1000, 700, 300, 15, 5);
    // A stride above the patch: the pixels no window reads are counted from the windows (it was
    // said of every such stride, even one whose last window, flush with the end, covers the tile).
    o.tile_patch = 500;
    o.tile_stride = 600;  // x: 0 500 (covering all 1000), y: 0 200 (all 700): no gap
    testing::internal::CaptureStderr();
    Dataset::open(dir, o);
    EXPECT_EQ(testing::internal::GetCapturedStderr().find("never read"), std::string::npos);
    o.tile_patch = 200;
    o.tile_stride = 300;  // x: 0 300 600 800 (200 cols left), y: 0 300 500 (100 rows left)
    testing::internal::CaptureStderr();
    Dataset::open(dir, o);
    EXPECT_MESSAGE_HAS(testing::internal::GetCapturedStderr(),
                       "tile stride 300 exceeds the patch size 200: 220000 of 700000 pixels "
                       "(31.4%) lie between windows and are never read (e.g. in "
                       "top_potsdam_2_10)");
}

// A window larger than a tile is cut to the tile, and said once per dataset (it was silent).
TEST(TilesDataset, AWindowLargerThanATileIsSaid) {
    const std::string dir = test::temp_dir("ds_tiles_small");
    write_tile(dir, "top_potsdam_2_11", 120, 90, "_label.tif", 5);
    write_tile(dir, "top_potsdam_2_12", 400, 400, "_label.tif", 5);
    testing::internal::CaptureStderr();
    const Dataset ds = Dataset::open(dir, {.tile_patch = 300, .tile_stride = 300});
    Dataset::open(dir, {.tile_patch = 300, .tile_stride = 300});
    const std::string said = testing::internal::GetCapturedStderr();
    EXPECT_EQ(ds.sample(0).width, 120);
    EXPECT_EQ(ds.sample(0).height, 90);
    EXPECT_MESSAGE_HAS(said,
                       "1 of 2 tiles are narrower or lower than data.tile_patch = 300 (e.g. "
                       "top_potsdam_2_11 (120x90)): their windows are cut to the tile's side");
    EXPECT_EQ(said.find("narrower"), said.rfind("narrower")) << said;  // once
    testing::internal::CaptureStderr();
    Dataset::open(dir, {.tile_patch = 64, .tile_stride = 64});
    EXPECT_EQ(testing::internal::GetCapturedStderr().find("narrower"), std::string::npos);
    // Short on one side only (a probe: it was said to be "one window"): 3 windows of 20x32.
    const std::string thin = test::temp_dir("ds_tiles_thin");
    write_tile(thin, "top_potsdam_3_10", 20, 90, "_label.tif", 5);
    testing::internal::CaptureStderr();
    const Dataset t = Dataset::open(thin, {.tile_patch = 32, .tile_stride = 32});
    EXPECT_MESSAGE_HAS(testing::internal::GetCapturedStderr(),
                       "top_potsdam_3_10 (20x90)): their windows are cut to the tile's side");
    ASSERT_EQ(t.size(), 3u);
    for (std::size_t i = 0; i < t.size(); ++i) {
        EXPECT_EQ(t.sample(i).width, 20);
        EXPECT_EQ(t.sample(i).height, 32);
    }
}

TEST(TilesDataset, ConcurrentReadersGetTheSameWindows) {
    // Threads reading neighbouring rows of windows at once share the band cache; each must still
    // get exactly its own window.
    const std::string dir = test::temp_dir("ds_tiles_threads");
    write_tile(dir, "top_potsdam_4_12", 400, 330, "_label.tif", 9);
    const Dataset ds = Dataset::open(dir, {.tile_patch = 64, .tile_stride = 48});
    const LabelMap labels = striped_labels(400, 330, 9);
    std::vector<std::thread> threads;
    std::atomic<int> mismatches{0};
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (std::size_t i = t; i < ds.size(); i += 4) {
                const SampleRef& s = ds.sample(i);
                const LabelMap m = ds.read_mask(i);
                for (int y = 0; y < s.height; ++y)
                    for (int x = 0; x < s.width; ++x)
                        if (m.at(y, x) != labels.at(s.y0 + y, s.x0 + x)) ++mismatches;
                if (ds.read_image(i).width != s.width) ++mismatches;
            }
        });
    for (auto& th : threads) th.join();
    EXPECT_EQ(mismatches.load(), 0);
}

TEST(TilesDataset, NoBoundaryLabelsAndSubdirectoriesAndOrder) {
    const std::string dir = test::temp_dir("ds_tiles_nb");
    fs::create_directories(dir + "/2_Ortho_RGB");
    fs::create_directories(dir + "/5_Labels_all_noBoundary");
    write_tiff(dir + "/2_Ortho_RGB/top_potsdam_2_10_RGB.tif", test::random_rgb(40, 30, 1));
    write_tiff(dir + "/2_Ortho_RGB/top_potsdam_2_9_RGB.tif", test::random_rgb(40, 30, 2));
    LabelMap lab = striped_labels(40, 30, 1);
    for (int x = 0; x < 40; ++x) lab.at(10, x) = 255;  // the eroded boundary, black on disk
    write_tiff(dir + "/5_Labels_all_noBoundary/top_potsdam_2_10_label_noBoundary.tif",
               potsdam_palette().encode(lab));
    write_tiff(dir + "/5_Labels_all_noBoundary/top_potsdam_2_9_label_noBoundary.tif",
               potsdam_palette().encode(striped_labels(40, 30, 2)));
    // A patch bigger than the tile: one window of the whole tile.
    const Dataset ds = Dataset::open(dir, {.tile_patch = 50});
    ASSERT_EQ(ds.size(), 2u);
    EXPECT_EQ(ds.sample(0).id, "top_potsdam_2_9@0_0");  // 9 before 10
    EXPECT_EQ(ds.read_mask(1).labels, lab.labels);
    EXPECT_EQ(class_counts(ds.read_mask(1))[6], 40);
}

// 2_Ortho_RGB and 3_Ortho_IRRG unpacked side by side: RGB is read unless data.tile_image says IRRG.
TEST(TilesDataset, TheImageSetReadIsTheOneChosen) {
    const std::string dir = test::temp_dir("ds_tiles_irrg");
    fs::create_directories(dir + "/2_Ortho_RGB");
    fs::create_directories(dir + "/3_Ortho_IRRG");
    const RgbImage rgb = test::random_rgb(40, 30, 1), irrg = test::random_rgb(40, 30, 2);
    write_tiff(dir + "/2_Ortho_RGB/top_potsdam_2_10_RGB.tif", rgb);
    write_tiff(dir + "/3_Ortho_IRRG/top_potsdam_2_10_IRRG.tif", irrg);
    write_tiff(dir + "/top_potsdam_2_10_label.tif",
               potsdam_palette().encode(striped_labels(40, 30, 1)));
    EXPECT_EQ(Dataset::open(dir, {.tile_patch = 50}).read_image(0).pixels, rgb.pixels);
    DatasetOptions o{.tile_patch = 50};
    o.tile_image = "IRRG";
    EXPECT_EQ(Dataset::open(dir, o).read_image(0).pixels, irrg.pixels);
    o.tile_image = "RGBI";
    EXPECT_MESSAGE_HAS(input_error_message([&] { Dataset::open(dir, o); }),
                       "data.tile_image \"RGBI\": expected RGB, IRRG or RGBIR");
    // Only IRRG tiles: the message names them and the key.
    fs::remove_all(dir + "/2_Ortho_RGB");
    const std::string msg = input_error_message([&] { Dataset::open(dir); });
    EXPECT_MESSAGE_HAS(msg, "no top_potsdam_*_RGB.tif tiles");
    EXPECT_MESSAGE_HAS(msg, "IRRG tiles");
    EXPECT_MESSAGE_HAS(msg, "data.tile_image");
}

// 5_Labels_all and 5_Labels_all_noBoundary unpacked side by side: the full labels are read unless
// data.tile_labels says eroded; a tile without the labels asked for names the other file and the
// key; tiles of one kind beside tiles of the other only are said, not mixed in silence.
TEST(TilesDataset, TheLabelSetReadIsTheOneChosen) {
    const std::string dir = test::temp_dir("ds_tiles_labels");
    for (const char* sub : {"/2_Ortho_RGB", "/5_Labels_all", "/5_Labels_all_noBoundary"})
        fs::create_directories(dir + sub);
    write_tiff(dir + "/2_Ortho_RGB/top_potsdam_2_10_RGB.tif", test::random_rgb(40, 30, 1));
    write_tiff(dir + "/2_Ortho_RGB/top_potsdam_2_9_RGB.tif", test::random_rgb(40, 30, 2));
    const LabelMap full = striped_labels(40, 30, 1);
    LabelMap eroded = full;
    for (int x = 0; x < 40; ++x) eroded.at(10, x) = 255;  // black on disk
    for (const char* stem : {"top_potsdam_2_10", "top_potsdam_2_9"}) {
        write_tiff(dir + "/5_Labels_all/" + stem + "_label.tif", potsdam_palette().encode(full));
        write_tiff(dir + "/5_Labels_all_noBoundary/" + stem + "_label_noBoundary.tif",
                   potsdam_palette().encode(eroded));
    }
    DatasetOptions o{.tile_patch = 50};
    EXPECT_EQ(Dataset::open(dir, o).read_mask(1).labels, full.labels);
    o.tile_labels = "full";
    EXPECT_EQ(Dataset::open(dir, o).read_mask(1).labels, full.labels);
    o.tile_labels = "eroded";
    const Dataset ds = Dataset::open(dir, o);
    EXPECT_EQ(ds.read_mask(1).labels, eroded.labels);
    EXPECT_NE(ds.sample(1).mask_path.find("_label_noBoundary.tif"), std::string::npos);
    o.tile_labels = "noBoundary";
    EXPECT_MESSAGE_HAS(input_error_message([&] { Dataset::open(dir, o); }),
                       "data.tile_labels \"noBoundary\": expected auto, full");

    // Tile 2_9 has only its full labels: "eroded" names them and the key that reads them.
    fs::remove(dir + "/5_Labels_all_noBoundary/top_potsdam_2_9_label_noBoundary.tif");
    o.tile_labels = "eroded";
    std::string msg = input_error_message([&] { Dataset::open(dir, o); });
    EXPECT_MESSAGE_HAS(msg,
                       "top_potsdam_2_9_RGB.tif has no label top_potsdam_2_9_label_noBoundary");
    EXPECT_MESSAGE_HAS(msg, "only the full top_potsdam_2_9_label.tif");
    EXPECT_MESSAGE_HAS(msg, "data.tile_labels = \"full\"");
    // ... and 2_10 only its eroded ones: "full" names those; "auto" reads both kinds and says so.
    fs::remove(dir + "/5_Labels_all/top_potsdam_2_10_label.tif");
    o.tile_labels = "full";
    msg = input_error_message([&] { Dataset::open(dir, o); });
    EXPECT_MESSAGE_HAS(msg, "top_potsdam_2_10_RGB.tif has no label top_potsdam_2_10_label.tif");
    EXPECT_MESSAGE_HAS(msg, "data.tile_labels = \"eroded\"");
    // A PNG of the label beside it (thresholded by the near-colour advice): named, with the fix.
    write_png(dir + "/5_Labels_all/top_potsdam_2_10_label.png", RgbImage(2, 2));
    msg = input_error_message([&] { Dataset::open(dir, o); });
    EXPECT_MESSAGE_HAS(msg, dir +
                                "/5_Labels_all/top_potsdam_2_10_label.png is there, but Potsdam "
                                "tile labels are read as .tif only");
    fs::remove(dir + "/5_Labels_all/top_potsdam_2_10_label.png");
    o.tile_labels = "auto";
    testing::internal::CaptureStderr();
    const Dataset mixed = Dataset::open(dir, o);
    const std::string said = testing::internal::GetCapturedStderr();
    EXPECT_EQ(mixed.read_mask(0).labels, full.labels);    // 2_9
    EXPECT_EQ(mixed.read_mask(1).labels, eroded.labels);  // 2_10
    EXPECT_MESSAGE_HAS(said, "1 of 2 tiles have only eroded labels");
    EXPECT_MESSAGE_HAS(said, "--tile-labels");
}

TEST(TilesDataset, MissingLabelNamesTheTile) {
    const std::string dir = test::temp_dir("ds_tiles_missing");
    write_tiff(dir + "/top_potsdam_3_11_RGB.tif", test::random_rgb(20, 20, 1));
    const std::string msg = input_error_message([&] { Dataset::open(dir); });
    EXPECT_MESSAGE_HAS(msg, "top_potsdam_3_11_RGB.tif");
    EXPECT_MESSAGE_HAS(msg, "top_potsdam_3_11_label.tif");
}

// ---- generic -----------------------------------------------------------------------------------

namespace {

void write_generic(const std::string& dir, const std::string& toml) {
    fs::create_directories(dir + "/images");
    fs::create_directories(dir + "/masks");
    write_text(dir + "/dataset.toml", toml);
}

// Sample x of a generic index dataset: a random image and the 1-band mask m, then the dataset.
Dataset write_index_sample(const std::string& dir, const LabelMap& m) {
    write_tiff(dir + "/images/x.tif", test::random_rgb(m.width, m.height, 1));
    write_tiff_gray(dir + "/masks/x.tif", m);
    return Dataset::open(dir, {DatasetKind::generic});
}

}  // namespace

TEST(GenericDataset, PaletteMasksWithIgnoreColours) {
    const std::string dir = test::temp_dir("ds_generic_palette");
    write_generic(dir, R"([classes]
names = ["road", "building"]
[mask]
encoding = "palette"
colours = [[255, 255, 255], [0, 0, 255]]
ignore_colours = [[0, 0, 0]]
)");
    RgbImage m(4, 2);
    const std::uint8_t px[8][3] = {{255, 255, 255}, {0, 0, 255}, {0, 0, 0}, {255, 255, 255},
                                   {0, 0, 255},     {0, 0, 255}, {0, 0, 0}, {255, 255, 255}};
    for (int i = 0; i < 8; ++i) std::copy(px[i], px[i] + 3, &m.pixels[3 * i]);
    write_png(dir + "/images/b2.png", test::random_rgb(4, 2, 1));
    write_png(dir + "/masks/b2.png", m);
    write_png(dir + "/images/a10.png", test::random_rgb(4, 2, 2));
    write_png(dir + "/masks/a10.png", m);
    const Dataset ds = Dataset::open(dir);
    EXPECT_EQ(ds.kind(), DatasetKind::generic);
    ASSERT_EQ(ds.size(), 2u);
    EXPECT_EQ(ds.sample(0).id, "a10");
    EXPECT_EQ(ds.palette().num_classes(), 2);
    EXPECT_EQ(ds.palette().classes[1].name, "building");
    EXPECT_EQ(ds.read_mask(1).labels, (std::vector<std::uint8_t>{0, 1, 255, 0, 1, 1, 255, 0}));
}

TEST(GenericDataset, IndexMasksWithIgnoreValues) {
    const std::string dir = test::temp_dir("ds_generic_index");
    write_generic(dir, R"([classes]
names = ["a", "b", "c"]
[mask]
encoding = "index"
ignore = [7]
)");
    LabelMap m(3, 2);
    m.labels = {0, 1, 2, 7, 255, 1};
    const Dataset ds = write_index_sample(dir, m);
    EXPECT_EQ(ds.read_mask(0).labels, (std::vector<std::uint8_t>{0, 1, 2, 255, 255, 1}));
    // A value that is neither a class nor ignored names file, pixel and value.
    m.labels[4] = 5;
    write_tiff_gray(dir + "/masks/x.tif", m);
    const std::string msg = input_error_message([&] { ds.read_mask(0); });
    EXPECT_MESSAGE_HAS(msg, "masks/x.tif");
    EXPECT_MESSAGE_HAS(msg, "value 5");
    EXPECT_MESSAGE_HAS(msg, "x=1, y=1");
}

// LoveDA-style index masks: 0 means "no data" and the classes are 1..N (mask.values), so 0 can be
// an ignore value; 255 stays unlabelled; a value that is neither is an error. Mistakes in the
// description name the key and the file.
TEST(GenericDataset, IndexMasksWithClassValues) {
    const std::string dir = test::temp_dir("ds_generic_values");
    write_generic(dir, R"([classes]
names = ["background", "building", "road"]
[mask]
encoding = "index"
values = [1, 2, 3]
ignore = [0]
)");
    LabelMap m(3, 2);
    m.labels = {0, 1, 2, 3, 255, 1};
    const Dataset ds = write_index_sample(dir, m);
    EXPECT_EQ(ds.read_mask(0).labels, (std::vector<std::uint8_t>{255, 0, 1, 2, 255, 0}));
    m.labels[5] = 4;
    write_tiff_gray(dir + "/masks/x.tif", m);
    EXPECT_MESSAGE_HAS(input_error_message([&] { ds.read_mask(0); }), "value 4");

    const std::string head = "[classes]\nnames = [\"a\", \"b\"]\n[mask]\nencoding = \"index\"\n";
    for (const auto& [mask, mention] : std::vector<std::pair<std::string, std::string>>{
             {"values = [1]\n", "1 values for 2 classes"},
             {"values = [1, 1]\n", "the same value 1"},
             {"values = [1, 2]\nignore = [2]\n", "also the value of class 'b'"},
             {"values = [1, 256]\n", "mask.values"},
         }) {
        write_generic(dir, head + mask);
        const std::string msg =
            input_error_message([&] { Dataset::open(dir, {DatasetKind::generic}); });
        EXPECT_MESSAGE_HAS(msg, "dataset.toml");
        EXPECT_MESSAGE_HAS(msg, mention);
    }
    write_generic(dir,
                  "[classes]\nnames = [\"a\"]\n[mask]\nencoding = \"palette\"\n"
                  "colours = [[1, 2, 3]]\nvalues = [1]\n");
    EXPECT_MESSAGE_HAS(input_error_message([&] { Dataset::open(dir, {DatasetKind::generic}); }),
                       "mask.values applies to index masks");
}

// LoveDA's masks read with the default values 0..C-1 hold 0..C: the advice must be values 1..C and
// ignore 0 (ignoring C, the top value, would shift every class by one and drop the last), and that
// advice, followed, reads every pixel as its class (public-datasets probe).
TEST(GenericDataset, MasksOfValuesZeroToCGetLoveDAAdvice) {
    const std::string dir = test::temp_dir("ds_generic_loveda_advice");
    write_generic(dir, "[classes]\nnames = [\"a\", \"b\", \"c\"]\n[mask]\nencoding = \"index\"\n");
    LabelMap m(4, 2);
    m.labels = {0, 1, 2, 3, 3, 2, 1, 0};
    const Dataset ds = write_index_sample(dir, m);
    const std::string msg = input_error_message([&] { ds.read_mask(0); });
    EXPECT_MESSAGE_HAS(msg, "index value 3 at pixel (x=3, y=0)");
    EXPECT_MESSAGE_HAS(msg, "the mask holds values 0..3 for 3 classes");
    EXPECT_MESSAGE_HAS(msg, "write values = [1, 2, 3] and add 0 to ignore under [mask] in " + dir +
                                "/dataset.toml; if instead 3 means \"no label\", add 3 to ignore");
    write_generic(dir,
                  "[classes]\nnames = [\"a\", \"b\", \"c\"]\n[mask]\nencoding = \"index\"\n"
                  "values = [1, 2, 3]\nignore = [0]\n");
    EXPECT_EQ(Dataset::open(dir, {DatasetKind::generic}).read_mask(0).labels,
              (std::vector<std::uint8_t>{255, 0, 1, 2, 2, 1, 0, 255}));
    // Values past C + 1, or without a 0: the general advice.
    write_generic(dir, "[classes]\nnames = [\"a\", \"b\", \"c\"]\n[mask]\nencoding = \"index\"\n");
    m.labels = {1, 1, 2, 3, 3, 2, 1, 1};
    write_tiff_gray(dir + "/masks/x.tif", m);
    const Dataset no_zero = Dataset::open(dir, {DatasetKind::generic});
    const std::string general = input_error_message([&] { no_zero.read_mask(0); });
    EXPECT_MESSAGE_HAS(general, "if 3 means \"no label\", add it to [mask] ignore");
    EXPECT_EQ(general.find("0..3"), std::string::npos) << general;
}

TEST(GenericDataset, UnknownTomlKeyNamesKeyAndFile) {
    const std::string dir = test::temp_dir("ds_generic_key");
    write_generic(dir,
                  "[classes]\nnames = [\"a\"]\n[mask]\nencoding = \"index\"\ncolors = [[1,2,3]]\n");
    write_tiff(dir + "/images/x.tif", test::random_rgb(3, 2, 1));
    write_tiff_gray(dir + "/masks/x.tif", LabelMap(3, 2, 0));
    std::string msg = input_error_message([&] { Dataset::open(dir); });
    EXPECT_MESSAGE_HAS(msg, "dataset.toml");
    EXPECT_MESSAGE_HAS(msg, "mask.colors");
    write_text(dir + "/dataset.toml",
               "seed = 3\n[classes]\nnames = [\"a\"]\n[mask]\nencoding = \"index\"\n");
    msg = input_error_message([&] { Dataset::open(dir); });
    EXPECT_MESSAGE_HAS(msg, "'seed'");
    // A key of another table: the message says where it belongs.
    write_text(dir + "/dataset.toml",
               "[classes]\nnames = [\"a\"]\nvalues = [3]\n[mask]\nencoding = \"index\"\n");
    msg = input_error_message([&] { Dataset::open(dir); });
    EXPECT_MESSAGE_HAS(msg, "unknown key 'classes.values'");
    EXPECT_MESSAGE_HAS(msg, "values belongs under [mask]");
    write_text(dir + "/dataset.toml",
               "[classes]\nnames = [\"a\", \"b\"]\n[mask]\ncolours = [[1,2,3]]\n");
    msg = input_error_message([&] { Dataset::open(dir); });
    EXPECT_MESSAGE_HAS(msg, "1 colours for 2 classes");
    // A control character in a class name would break the report's tables and pictures.
    write_text(dir + "/dataset.toml",
               "[classes]\nnames = [\"a\", \"tab\\there\"]\n[mask]\nencoding = \"index\"\n");
    msg = input_error_message([&] { Dataset::open(dir); });
    EXPECT_MESSAGE_HAS(msg, "class name \"tab\\there\" holds a control character");
    // A directory of that name was read as an empty file: "missing table [classes]".
    fs::remove(dir + "/dataset.toml");
    fs::create_directories(dir + "/dataset.toml");
    msg = input_error_message([&] { Dataset::open(dir); });
    EXPECT_MESSAGE_HAS(msg, dir + "/dataset.toml is a directory (expected a file)");
}

TEST(GenericDataset, MissingMaskNamesTheFile) {
    const std::string dir = test::temp_dir("ds_generic_partner");
    write_generic(dir, "[classes]\nnames = [\"a\"]\n[mask]\nencoding = \"index\"\n");
    write_tiff(dir + "/images/only.tif", test::random_rgb(3, 2, 1));
    const std::string msg = input_error_message([&] { Dataset::open(dir); });
    EXPECT_MESSAGE_HAS(msg, "images/only.tif");
    EXPECT_MESSAGE_HAS(msg, "masks/only");
    // Stems pair exactly, so ONLY and only are no pair: the file that differs only in case is
    // pointed out.
    write_tiff_gray(dir + "/masks/ONLY.tif", test::random_gray(3, 2, 1));
    const std::string cased = input_error_message([&] { Dataset::open(dir); });
    EXPECT_MESSAGE_HAS(cased, "missing partner file");
    EXPECT_MESSAGE_HAS(cased, "images/only.tif differs only in case or in zeros");
    // Accented letters that look alike but are other bytes: é as one code point (NFC) beside e
    // and a combining accent (NFD, names copied from macOS), and Ü beside ü. No hint before.
    for (const auto& [image, mask] :
         std::vector<std::pair<std::string, std::string>>{{"caf\xc3\xa9", "cafe\xcc\x81"},
                                                          {"\xc3\x9c"
                                                           "ber",
                                                           "\xc3\xbc"
                                                           "ber"},
                                                          // Latin Extended-A: Brno_č (NFC)
                                                          // and Brno_c + caron (NFD), Győr,
                                                          // Łódź beside łódź.
                                                          {"Brno_\xc4\x8d", "Brno_c\xcc\x8c"},
                                                          {"Gy\xc5\x91r", "Gyo\xcc\x8br"},
                                                          {"\xc5\x81\xc3\xb3"
                                                           "d\xc5\xba",
                                                           "\xc5\x82o\xcc\x81"
                                                           "dz\xcc\x81"}}) {
        const std::string accents = test::temp_dir("ds_generic_accents");
        write_generic(accents, "[classes]\nnames = [\"a\"]\n[mask]\nencoding = \"index\"\n");
        write_tiff(accents + "/images/" + image + ".tif", test::random_rgb(3, 2, 1));
        write_tiff_gray(accents + "/masks/" + mask + ".tif", test::random_gray(3, 2, 1));
        const std::string accented = input_error_message([&] { Dataset::open(accents); });
        EXPECT_MESSAGE_HAS(accented, "images/" + image +
                                         ".tif differs only in its accented letters: their case, "
                                         "or how they are encoded (Unicode NFC or NFD");
    }
    // Masks named as their images with an ending: the [files] key that pairs them is pointed out
    // (the longest stem: IMG_10 for IMG_10_label, not IMG_1).
    const std::string named = test::temp_dir("ds_generic_suffix");
    write_generic(named, "[classes]\nnames = [\"a\"]\n[mask]\nencoding = \"index\"\n");
    for (const char* id : {"IMG_1", "IMG_10"}) {
        write_tiff(named + "/images/" + id + ".tif", test::random_rgb(3, 2, 1));
        write_tiff_gray(named + "/masks/" + std::string(id) + "_label.tif", LabelMap(3, 2, 0));
    }
    const std::string suffixed = input_error_message([&] { Dataset::open(named); });
    EXPECT_MESSAGE_HAS(suffixed, "_label.tif has no image");
    EXPECT_MESSAGE_HAS(suffixed, "it is named as " + named +
                                     "/images/IMG_1.tif with \"_label\" added: if every such "
                                     "file is, say so in dataset.toml ([files] mask_suffix = "
                                     "\"_label\")");
    // Images with the ending, masks without: found from the mask's side (its loop runs first).
    const std::string rgb = test::temp_dir("ds_generic_image_suffix");
    write_generic(rgb, "[classes]\nnames = [\"a\"]\n[mask]\nencoding = \"index\"\n");
    write_tiff(rgb + "/images/t_1_rgb.tif", test::random_rgb(3, 2, 1));
    write_tiff_gray(rgb + "/masks/t_1.tif", LabelMap(3, 2, 0));
    EXPECT_MESSAGE_HAS(input_error_message([&] { Dataset::open(rgb); }),
                       rgb +
                           "/images/t_1_rgb.tif is named as it with \"_rgb\" added: if every "
                           "such file is, say so in dataset.toml ([files] image_suffix = "
                           "\"_rgb\")");
    // Numbered names are no endings: t_11 without its mask is not t_1 with "1" added.
    const std::string numbered = test::temp_dir("ds_generic_numbered");
    write_generic(numbered, "[classes]\nnames = [\"a\"]\n[mask]\nencoding = \"index\"\n");
    for (const char* id : {"t_1", "t_11"})
        write_tiff(numbered + "/images/" + id + ".tif", test::random_rgb(3, 2, 1));
    write_tiff_gray(numbered + "/masks/t_1.tif", LabelMap(3, 2, 0));
    const std::string no_hint = input_error_message([&] { Dataset::open(numbered); });
    EXPECT_MESSAGE_HAS(no_hint, "t_11.tif has no mask");
    EXPECT_EQ(no_hint.find("added"), std::string::npos) << no_hint;
    // One image without a mask: the way to leave it out is said too (a walkthrough's was not).
    EXPECT_MESSAGE_HAS(no_hint, "1 of the 2 images has no mask");
    EXPECT_MESSAGE_HAS(no_hint, "or leave them out with [files] images_without_mask = \"skip\"");
    // Several images without masks (OpenEarthMap keeps its test images in images/): counted, and
    // the way out said.
    write_tiff(numbered + "/images/t_12.tif", test::random_rgb(3, 2, 1));
    const std::string several = input_error_message([&] { Dataset::open(numbered); });
    EXPECT_MESSAGE_HAS(several,
                       "2 of the 3 images have no mask (a dataset's test images, whose labels "
                       "are withheld?)");
    EXPECT_MESSAGE_HAS(several, "or leave them out with [files] images_without_mask = \"skip\"");
    // ... which leaves them out, and says so: the dataset is its labelled images.
    const std::string toml = "[classes]\nnames = [\"a\"]\n[mask]\nencoding = \"index\"\n[files]\n";
    write_text(numbered + "/dataset.toml", toml + "images_without_mask = \"skip\"\n");
    const Dataset skipped = Dataset::open(numbered);
    ASSERT_EQ(skipped.size(), 1u);
    EXPECT_EQ(skipped.sample(0).id, "t_1");
    const CommandResult stats = run_pfce("data stats " + numbered);
    ASSERT_EQ(stats.status, 0) << stats.output;
    EXPECT_MESSAGE_HAS(stats.output,
                       "2 of the 3 images have no mask and are left out "
                       "(files.images_without_mask = \"skip\"): t_11.tif, t_12.tif in " +
                           numbered + "/images");
    // A split list naming an image left out is told why it is no sample.
    write_text(numbered + "/train.txt", "t_1\nt_11\n");
    DataSettings lists;
    lists.train_list = numbered + "/train.txt";
    EXPECT_MESSAGE_HAS(input_error_message([&] { run_split(skipped, lists); }),
                       "train.txt:2: unknown sample id 't_11' (not in the dataset; 't_11' is an "
                       "image without a mask, left out by [files] images_without_mask = \"skip\" "
                       "in " +
                           numbered + "/dataset.toml)");
    write_text(numbered + "/dataset.toml", toml + "images_without_mask = 1\n");
    EXPECT_MESSAGE_HAS(input_error_message([&] { Dataset::open(numbered); }),
                       "files.images_without_mask = 1: expected");
    write_text(numbered + "/dataset.toml", toml + "images_without_mask = \"ignore\"\n");
    EXPECT_MESSAGE_HAS(input_error_message([&] { Dataset::open(numbered); }),
                       "dataset.toml: files.images_without_mask = \"ignore\": expected "
                       "\"refuse\" (every image needs its mask: the default), \"skip\" (images "
                       "without one are left out, and said) or \"unlabelled\"");
    write_text(numbered + "/dataset.toml", toml + "images_without_mask = \"skip\"\n");
    fs::remove(numbered + "/masks/t_1.tif");
    EXPECT_MESSAGE_HAS(input_error_message([&] { Dataset::open(numbered); }),
                       "empty dataset: none of the 3 images in " + numbered + "/images has a mask");
    // The longest stem extended: area_north_mask is area_north with "_mask", not area with
    // "_north_mask".
    const std::string areas = test::temp_dir("ds_generic_areas");
    write_generic(areas, "[classes]\nnames = [\"a\"]\n[mask]\nencoding = \"index\"\n");
    for (const char* id : {"area", "area_north"})
        write_tiff(areas + "/images/" + id + ".tif", test::random_rgb(3, 2, 1));
    write_tiff_gray(areas + "/masks/area_north_mask.tif", LabelMap(3, 2, 0));
    EXPECT_MESSAGE_HAS(input_error_message([&] { Dataset::open(areas); }),
                       "([files] mask_suffix = \"_mask\")");
    // A mask in a format pfce does not read is pointed to the lossless ones (not .jpg, which a
    // mask may not be).
    fs::remove(named + "/masks/IMG_1_label.tif");
    fs::remove(named + "/masks/IMG_10_label.tif");
    write_text(named + "/masks/IMG_1.gif", "GIF89a");
    const std::string gif = input_error_message([&] { Dataset::open(named); });
    EXPECT_MESSAGE_HAS(gif,
                       "IMG_1.gif is there, but .gif files are not read (expected .tif or "
                       ".png: convert it");
}

// Image files whose names start with '.' (macOS's ._ copies, hidden files) are left out, and said
// per directory, naming one (a probe found a pair dropped with nothing said).
TEST(GenericDataset, HiddenImageFilesAreLeftOutAndSaid) {
    const std::string dir = test::temp_dir("ds_generic_hidden");
    write_generic(dir, "[classes]\nnames = [\"a\"]\n[mask]\nencoding = \"index\"\n");
    for (const char* id : {"x", ".hidden"}) {
        write_tiff(dir + "/images/" + id + ".tif", test::random_rgb(3, 2, 1));
        write_tiff_gray(dir + "/masks/" + id + ".tif", LabelMap(3, 2, 0));
    }
    write_text(dir + "/images/._x.tif", "AppleDouble");  // no image at all
    testing::internal::CaptureStderr();
    EXPECT_EQ(Dataset::open(dir).size(), 1u);
    const std::string said = testing::internal::GetCapturedStderr();
    EXPECT_MESSAGE_HAS(said, dir + "/images: 2 hidden image files are not read (._x.tif, ...)");
    EXPECT_MESSAGE_HAS(said, dir + "/masks: 1 hidden image file is not read (.hidden.tif)");
    // A pair in a format pfce does not read is left out too, and said (it was not).
    write_text(dir + "/images/y.bmp", "BM");
    write_text(dir + "/masks/y.bmp", "BM");
    testing::internal::CaptureStderr();
    EXPECT_EQ(Dataset::open(dir).size(), 1u);
    const std::string unread = testing::internal::GetCapturedStderr();
    EXPECT_MESSAGE_HAS(unread,
                       dir +
                           "/images: 1 image file is not read (y.bmp): expected .tif, .png or "
                           ".jpg: convert it");
    EXPECT_MESSAGE_HAS(unread, dir + "/masks: 1 image file is not read (y.bmp)");
}

// Stems pair exactly: numbers read alike are not the same name (tile_1 and tile_01 may be two
// tiles). Before, tile_1.png paired with a mask tile_01.png without a word, and two images tile_3
// and tile_03 were refused as "two files for one sample". Order stays natural.
// A colour given twice is refused naming whose it is each time (it named neither).
TEST(GenericDataset, AColourGivenTwiceNamesBothOwners) {
    const std::string dir = test::temp_dir("ds_generic_colour_twice");
    write_generic(dir,
                  "[classes]\nnames = [\"road\", \"tree\"]\n[mask]\nencoding = \"palette\"\n"
                  "colours = [[0, 0, 0], [0, 0, 0]]\n");
    EXPECT_MESSAGE_HAS(input_error_message([&] { Dataset::open(dir); }),
                       "colour (0,0,0) is given twice, to class 'road' (mask.colours entry 1) and "
                       "to class 'tree' (mask.colours entry 2)");
    write_generic(dir,
                  "[classes]\nnames = [\"road\", \"tree\"]\n[mask]\nencoding = \"palette\"\n"
                  "colours = [[0, 0, 0], [0, 255, 0]]\nignore_colours = [[0, 255, 0]]\n");
    EXPECT_MESSAGE_HAS(input_error_message([&] { Dataset::open(dir); }),
                       "colour (0,255,0) is given twice, to class 'tree' (mask.colours entry 2) "
                       "and to mask.ignore_colours");
}

TEST(GenericDataset, ZeroPaddedAndPlainNumbersAreOtherStems) {
    const std::string dir = test::temp_dir("ds_generic_padded");
    write_generic(dir, "[classes]\nnames = [\"a\", \"b\"]\n[mask]\nencoding = \"index\"\n");
    LabelMap two = test::random_gray(3, 2, 1);
    for (auto& v : two.labels) v %= 2;
    write_tiff(dir + "/images/tile_1.tif", test::random_rgb(3, 2, 1));
    write_tiff_gray(dir + "/masks/tile_01.tif", two);
    std::string msg = input_error_message([&] { Dataset::open(dir); });
    EXPECT_MESSAGE_HAS(msg, "missing partner file");
    EXPECT_MESSAGE_HAS(msg, "images/tile_1.tif differs only in case or in zeros before a number");
    for (const char* id : {"tile_01", "tile_1", "tile_3", "tile_03", "tile_10", "tile_2"}) {
        write_tiff(dir + "/images/" + id + ".tif", test::random_rgb(3, 2, 1));
        write_tiff_gray(dir + "/masks/" + id + ".tif", two);
    }
    const Dataset ds = Dataset::open(dir);
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < ds.size(); ++i) ids.push_back(ds.sample(i).id);
    EXPECT_EQ(ids, (std::vector<std::string>{"tile_01", "tile_1", "tile_2", "tile_03", "tile_3",
                                             "tile_10"}));
}

// A binary 0/255 mask saved at 1 bit per pixel (ImageMagick does so for two grays) holds 0 and
// 1: the refusal of its value 1 says why, instead of leaving the user to find the bit depth.
TEST(GenericDataset, AOneBitMaskOfABinaryDatasetSaysItsValuesAre0And1) {
    const std::string dir = test::temp_dir("ds_generic_one_bit");
    write_generic(dir,
                  "[classes]\nnames = [\"ground\", \"building\"]\n[mask]\nencoding = "
                  "\"index\"\nvalues = [0, 255]\n");
    write_tiff(dir + "/images/a.tif", test::random_rgb(8, 2, 1));
    test::TiffSpec one_bit;
    one_bit.width = 8;
    one_bit.height = 2;
    one_bit.spp = 1;
    one_bit.bps = 1;
    one_bit.photometric = PHOTOMETRIC_MINISBLACK;
    one_bit.rows_per_strip = 2;
    test::write_raw_tiff(dir + "/masks/a.tif", one_bit, {0x0f, 0x0f});  // four 0s, then four 1s
    const Dataset ds = Dataset::open(dir);
    const std::string msg = input_error_message([&] { ds.read_mask(0); });
    EXPECT_MESSAGE_HAS(msg, "index value 1 at pixel (x=4, y=0)");
    EXPECT_MESSAGE_HAS(msg, "stores 1 bit(s) per pixel, so its values are 0..1");
}

// An unknown colour's refusal says what it likely is (public-datasets probe: an RGB mask's black,
// ISPRS _noBoundary's "no label" in a dataset that did not list it, was said to look like class
// indices, and following that advice failed again).
TEST(GenericDataset, AnUnknownColourIsExplainedByWhatItLikelyIs) {
    const std::string dir = test::temp_dir("ds_generic_unknown_colour");
    write_generic(dir,
                  "[classes]\nnames = [\"road\", \"roof\"]\n[mask]\n"
                  "colours = [[255, 255, 255], [0, 0, 255]]\n");
    write_tiff(dir + "/images/a.tif", test::random_rgb(4, 1, 1));
    RgbImage mask(4, 1);
    mask.pixels = {255, 255, 255, 0, 0, 0, 0, 0, 255, 0, 0, 0};
    write_png(dir + "/masks/a.png", mask);
    std::string msg = input_error_message([&] { Dataset::open(dir).read_mask(0); });
    EXPECT_MESSAGE_HAS(msg, "unknown colour (0,0,0) at pixel (x=1, y=0)");
    EXPECT_MESSAGE_HAS(msg, "(2 of the mask's 4 pixels are of no class or ignore colour)");
    EXPECT_MESSAGE_HAS(msg, "ignore_colours = [[0, 0, 0]] under [mask]");
    EXPECT_EQ(msg.find("class indices"), std::string::npos) << msg;
    // A colour a few levels off a class's: resized or lossy masks.
    mask.pixels = {255, 255, 255, 2, 0, 251, 0, 0, 255, 0, 0, 255};
    write_png(dir + "/masks/a.png", mask);
    msg = input_error_message([&] { Dataset::open(dir).read_mask(0); });
    EXPECT_MESSAGE_HAS(msg, "(2,0,251) is within 4 levels of class roof (0,0,255)");
    EXPECT_MESSAGE_HAS(msg, "-threshold 50%");
    EXPECT_MESSAGE_HAS(msg, "colour_tolerance = 4 under [mask]");
    // Many colours of no class, each 9-40 levels off (JPEG damage): damage, however far, never
    // advice to ignore them one colour at a time (real-datasets probe).
    RgbImage jpeg_like(12, 1);
    for (int x = 0; x < 12; ++x) {
        const auto off = static_cast<std::uint8_t>(9 + 3 * x);
        const std::uint8_t px[3] = {off, 0, static_cast<std::uint8_t>(255 - off)};
        std::copy(px, px + 3, jpeg_like.at(0, x));
    }
    write_tiff(dir + "/images/a.tif", test::random_rgb(12, 1, 1));
    write_png(dir + "/masks/a.png", jpeg_like);
    msg = input_error_message([&] { Dataset::open(dir).read_mask(0); });
    EXPECT_MESSAGE_HAS(msg, "unknown colour (9,0,246)");
    EXPECT_MESSAGE_HAS(msg, "in 8 or more colours");
    EXPECT_MESSAGE_HAS(msg, "is within 9 levels of class roof (0,0,255)");
    EXPECT_MESSAGE_HAS(msg, "lossy compression");
    EXPECT_EQ(msg.find("ignore_colours"), std::string::npos) << msg;
    // A mask of other colours altogether (another dataset's palette): said so, neither damage
    // nor an ignore colour (diff review).
    RgbImage other(12, 1);
    for (int x = 0; x < 12; ++x) {
        const std::uint8_t px[3] = {static_cast<std::uint8_t>(100 + 10 * x), 128, 60};
        std::copy(px, px + 3, other.at(0, x));
    }
    write_png(dir + "/masks/a.png", other);
    msg = input_error_message([&] { Dataset::open(dir).read_mask(0); });
    EXPECT_MESSAGE_HAS(msg,
                       "the class colours given for the dataset do not seem to be this mask's");
    EXPECT_EQ(msg.find("lossy"), std::string::npos) << msg;
    // A photograph in the mask's place (an image copied to a mask's name): not one pixel of a
    // known colour, in hundreds of colours; said so, not advised to be thresholded (error-message
    // audit).
    write_tiff(dir + "/images/a.tif", test::random_rgb(32, 32, 1));
    RgbImage photo = test::random_rgb(32, 32, 2);
    for (int k = 0; k < 3; ++k) photo.pixels[k] = 255;  // a white roof: class road's colour
    write_png(dir + "/masks/a.png", photo);
    msg = input_error_message([&] { Dataset::open(dir).read_mask(0); });
    EXPECT_MESSAGE_HAS(msg,
                       "Hardly any of its pixels has a class or ignore colour: is it an "
                       "image rather than its mask");
    EXPECT_EQ(msg.find("-threshold"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("ignore_colours"), std::string::npos) << msg;
}

// A "no label" colour in a layout with no dataset.toml (Kaggle, tiles): the advice says that the
// setting is a generic dataset's, not "add it to dataset.toml" as if there were one.
TEST(KaggleDataset, AnUnknownColourAdviceSaysWhereIgnoreColoursLive) {
    const std::string dir = test::temp_dir("ds_kaggle_unknown_far");
    write_kaggle(dir, {0});
    RgbImage lab = potsdam_palette().encode(striped_labels(16, 16, 0));
    lab.at(3, 3)[0] = lab.at(3, 3)[1] = lab.at(3, 3)[2] = 128;
    write_tiff(dir + "/patches/Labels/Label_0.tif", lab);
    const std::string msg = input_error_message([&] { Dataset::open(dir).read_mask(0); });
    EXPECT_MESSAGE_HAS(msg,
                       "ignore_colours = [[128, 128, 128]] under [mask] in the dataset.toml "
                       "of a generic dataset (this layout has no such setting");
}

// data stats, which decodes every mask, says how much the tolerance decided over all of them (the
// log names only the first mask it read so).
TEST(DataCommand, StatsSaysWhatTheColourToleranceDecidedOverEveryMask) {
    const std::string dir = test::temp_dir("ds_stats_tolerance");
    write_generic(dir,
                  "[classes]\nnames = [\"ground\", \"roof\"]\n[mask]\n"
                  "colours = [[0, 0, 0], [255, 0, 0]]\ncolour_tolerance = 8\n");
    for (const char* id : {"a", "b", "c"}) {
        write_tiff(dir + "/images/" + id + ".tif", test::random_rgb(4, 1, 1));
        RgbImage mask(4, 1);
        mask.pixels = {0, 0, 0, 255, 0, 0, 0, 0, 0, 255, 0, 0};
        if (std::string(id) != "c") mask.pixels[0] = 3;  // one pixel off in a and b
        write_png(dir + "/masks/" + id + ".png", mask);
    }
    const CommandResult r = run_pfce("data stats " + dir);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_MESSAGE_HAS(r.output,
                       "tolerance: 2 pixels (16.6667%) in 2 of the 3 masks read as their "
                       "nearest known colour (mask.colour_tolerance = 8)");
}

// [mask] colour_tolerance reads a colour a few levels off a known one (DeepGlobe's masks, resized
// or lossy ones) as that one, a class's or an ignore colour's; one too large for the colours to
// stay apart (a colour between two within reach of both) is refused, and so is one for index masks.
TEST(GenericDataset, ColourToleranceReadsNearColoursAsTheirClass) {
    const std::string dir = test::temp_dir("ds_generic_tolerance");
    const std::string classes =
        "[classes]\nnames = [\"ground\", \"roof\", \"road\"]\n[mask]\n"
        "colours = [[0, 0, 0], [255, 0, 0], [255, 255, 255]]\n"
        "ignore_colours = [[155, 155, 155]]\n";
    write_generic(dir, classes + "colour_tolerance = 8\n");
    write_tiff(dir + "/images/a.tif", test::random_rgb(6, 1, 1));
    RgbImage mask(6, 1);
    mask.pixels = {0, 0, 0, 3, 3, 3, 254, 1, 0, 247, 8, 8, 255, 255, 255, 150, 157, 155};
    write_png(dir + "/masks/a.png", mask);
    testing::internal::CaptureStderr();
    EXPECT_EQ(Dataset::open(dir).read_mask(0).labels,
              (std::vector<std::uint8_t>{0, 0, 1, 1, 2, 255}));
    // How much the tolerance decided is said (the first mask it read so): 4 of 6 pixels moved.
    EXPECT_MESSAGE_HAS(testing::internal::GetCapturedStderr(),
                       "masks/a.png: 4 of its 6 pixels (66.7%) in 4 colours were read as their "
                       "nearest known colour, within mask.colour_tolerance = 8 (first: (3,3,3) as "
                       "class ground");
    // Nine levels off is past 8: refused, and the advice names the tolerance that reads it.
    mask.pixels[9] = 246;
    write_png(dir + "/masks/a.png", mask);
    std::string msg = input_error_message([&] { Dataset::open(dir).read_mask(0); });
    EXPECT_MESSAGE_HAS(msg, "unknown colour (246,8,8)");
    EXPECT_MESSAGE_HAS(msg, "colour_tolerance = 9 under [mask]");
    // White and the grey ignore colour are 100 levels apart: 49 keeps them apart, 50 does not.
    write_generic(dir, classes + "colour_tolerance = 49\n");
    EXPECT_NO_THROW(Dataset::open(dir));
    write_generic(dir, classes + "colour_tolerance = 50\n");
    msg = input_error_message([&] { Dataset::open(dir); });
    EXPECT_MESSAGE_HAS(msg,
                       "mask.colour_tolerance = 50: colours (255,255,255) and (155,155,155) "
                       "are 100 levels apart");
    EXPECT_MESSAGE_HAS(msg, "expected at most 49");
    // A colour as near two colours is read as neither, and no tolerance is offered; nor is one
    // the dataset's closest colours would refuse (a loop of advice and refusals before).
    write_generic(dir,
                  "[classes]\nnames = [\"a\", \"b\"]\n[mask]\n"
                  "colours = [[0, 0, 0], [10, 0, 0]]\n");
    RgbImage between(1, 1);
    between.pixels = {5, 0, 0};
    write_png(dir + "/masks/a.png", between);
    write_tiff(dir + "/images/a.tif", test::random_rgb(1, 1, 1));
    msg = input_error_message([&] { Dataset::open(dir).read_mask(0); });
    EXPECT_MESSAGE_HAS(msg, "within 5 levels of class a (0,0,0) and of class b (10,0,0)");
    EXPECT_EQ(msg.find("colour_tolerance"), std::string::npos) << msg;
    between.pixels = {0, 0, 7};
    write_png(dir + "/masks/a.png", between);
    msg = input_error_message([&] { Dataset::open(dir).read_mask(0); });
    EXPECT_MESSAGE_HAS(msg,
                       "colour_tolerance cannot read it: the dataset's closest colours allow "
                       "at most 4");
    write_generic(dir,
                  "[classes]\nnames = [\"a\", \"b\"]\n[mask]\nencoding = \"index\"\n"
                  "colour_tolerance = 2\n");
    EXPECT_MESSAGE_HAS(input_error_message([&] { Dataset::open(dir); }),
                       "mask.colour_tolerance applies to palette masks");
}

// A mask GeoTIFF's GDAL NoData value (gdal_translate -a_nodata, pfce's own predictions) says
// "no label": read as unlabelled where no class has it (before, an index mask's was refused as no
// class value and a colour mask's as no class colour). Where a class has it, the dataset's
// settings decide and the warning, once, names the file, value, class and count.
TEST(GenericDataset, AMaskGeoTiffsNoDataValueIsUnlabelledUnlessAClassHasIt) {
    const std::string dir = test::temp_dir("ds_generic_mask_nodata");
    write_generic(dir,
                  "[classes]\nnames = [\"ground\", \"building\"]\n[mask]\nencoding = "
                  "\"index\"\n");
    write_tiff(dir + "/images/a.tif", test::random_rgb(4, 2, 1));
    write_tiff(dir + "/images/b.tif", test::random_rgb(4, 2, 2));
    test::TiffSpec gray;
    gray.width = 4;
    gray.height = 2;
    gray.spp = 1;
    gray.photometric = PHOTOMETRIC_MINISBLACK;
    gray.rows_per_strip = 2;
    const std::vector<std::uint8_t> values = {0, 1, 9, 9, 1, 0, 0, 9};
    test::write_raw_tiff(dir + "/masks/a.tif", gray, values, nullptr, "9");
    // NoData 0: class ground's value.
    test::write_raw_tiff(dir + "/masks/b.tif", gray, {0, 1, 1, 1, 1, 0, 0, 1}, nullptr, "0");
    const Dataset ds = Dataset::open(dir, {DatasetKind::generic});
    EXPECT_EQ(ds.read_mask(0).labels, (std::vector<std::uint8_t>{0, 1, 255, 255, 1, 0, 0, 255}));
    testing::internal::CaptureStderr();
    EXPECT_EQ(ds.read_mask(1).labels, (std::vector<std::uint8_t>{0, 1, 1, 1, 1, 0, 0, 1}));
    EXPECT_EQ(ds.read_mask(1).labels[0], 0);  // said once
    const std::string logged = testing::internal::GetCapturedStderr();
    EXPECT_MESSAGE_HAS(logged, dir +
                                   "/masks/b.tif: 3 pixels hold 0, which the file's GDAL NoData "
                                   "tag marks as no data, but 0 is the value of class ground");
    EXPECT_MESSAGE_HAS(logged, "make 0 an ignore value (mask.ignore");
    // Said once, and so (a walkthrough's second such mask went unsaid: it could not tell).
    EXPECT_MESSAGE_HAS(logged, "(said for the first such mask only: others may have them too)");
    EXPECT_EQ(logged.find("GDAL NoData", logged.find("GDAL NoData") + 1), std::string::npos)
        << logged;
    // Without the tag, 9 is no value of the dataset: refused, as before.
    test::write_raw_tiff(dir + "/masks/a.tif", gray, values);
    const std::string nine = input_error_message([&] { ds.read_mask(0); });
    EXPECT_MESSAGE_HAS(nine, "index value 9 at pixel (x=2, y=0) is neither a class value");
    // ... saying which settings would read it (public-datasets probe).
    EXPECT_MESSAGE_HAS(
        nine, "if 9 means \"no label\", add it to [mask] ignore in " + dir + "/dataset.toml");

    // Colour masks: the NoData colour (v, v, v) is unlabelled unless it is a class's colour.
    const std::string col = test::temp_dir("ds_generic_mask_nodata_colour");
    write_generic(col,
                  "[classes]\nnames = [\"ground\", \"building\"]\n[mask]\n"
                  "colours = [[0, 0, 0], [0, 0, 255]]\n");
    write_tiff(col + "/images/a.tif", test::random_rgb(2, 1, 1));
    write_tiff(col + "/images/b.tif", test::random_rgb(2, 1, 2));
    test::TiffSpec rgb;
    rgb.width = 2;
    rgb.height = 1;
    rgb.rows_per_strip = 1;
    test::write_raw_tiff(col + "/masks/a.tif", rgb, {7, 7, 7, 0, 0, 255}, nullptr, "7");
    // NoData 0: black, class ground's colour.
    test::write_raw_tiff(col + "/masks/b.tif", rgb, {0, 0, 0, 0, 0, 255}, nullptr, "0");
    const Dataset cds = Dataset::open(col, {DatasetKind::generic});
    EXPECT_EQ(cds.read_mask(0).labels, (std::vector<std::uint8_t>{255, 1}));
    testing::internal::CaptureStderr();
    EXPECT_EQ(cds.read_mask(1).labels, (std::vector<std::uint8_t>{0, 1}));
    EXPECT_MESSAGE_HAS(testing::internal::GetCapturedStderr(),
                       col +
                           "/masks/b.tif: 1 pixels are (0, 0, 0), which the file's GDAL NoData "
                           "tag (value 0) marks as no data, but (0, 0, 0) is the colour of "
                           "class ground, so they are read as ground");
    // A palette PNG's transparent entry is "no label" too (pfce predict marks no data so, in a
    // grey no class has where the dataset has no ignore colour: it read as an unknown colour); a
    // transparent entry of a class's colour stays that class.
    write_tiff(col + "/images/c.tif", test::random_rgb(4, 1, 3));
    LabelMap entries(4, 1);
    entries.labels = {0, 1, 2, 3};
    std::vector<Rgb> pal(256, Rgb{0, 0, 0});
    pal[1] = {0, 0, 255};
    pal[2] = {128, 128, 128};
    std::vector<std::uint8_t> alpha(256, 255);
    alpha[2] = alpha[3] = 0;  // the grey, and a black (ground's colour)
    write_png_indexed(col + "/masks/c.png", entries, pal, alpha);
    testing::internal::CaptureStderr();
    EXPECT_EQ(Dataset::open(col, {DatasetKind::generic}).read_mask(2).labels,
              (std::vector<std::uint8_t>{0, 1, 255, 0}));
    // ... and says so (foreign-data probe: a labelling tool's transparent "not labelled" entry
    // in a black class's colour silently became that class).
    EXPECT_MESSAGE_HAS(testing::internal::GetCapturedStderr(),
                       col +
                           "/masks/c.png: 1 pixels are (0, 0, 0) and transparent (a palette "
                           "entry that marks them as not labelled), but (0, 0, 0) is the colour "
                           "of class ground, so they are read as ground");
    // A palette TIFF's NoData value is an index: its pixels are found by index, not by colour
    // (index 0 shows the same black as the NoData entry 255 here: ground's pixels stay ground,
    // and only the NoData ones are counted). Its entry's colour decides as for the others.
    write_tiff(col + "/images/d.tif", test::random_rgb(4, 1, 4));
    test::TiffSpec p;
    p.width = 4;
    p.height = 1;
    p.spp = 1;
    p.photometric = PHOTOMETRIC_PALETTE;
    p.rows_per_strip = 1;
    std::vector<std::uint16_t> cmap(3 * 256, 0);  // every entry black but 1 (blue) and 7 (grey)
    cmap[512 + 1] = 65535;
    cmap[7] = cmap[256 + 7] = cmap[512 + 7] = 128 * 257;
    test::write_raw_tiff(col + "/masks/d.tif", p, {0, 1, 7, 0}, &cmap, "7");
    const Dataset four = Dataset::open(col, {DatasetKind::generic});
    EXPECT_EQ(four.read_mask(3).labels, (std::vector<std::uint8_t>{0, 1, 255, 0}));
    test::write_raw_tiff(col + "/masks/d.tif", p, {0, 1, 255, 255}, &cmap, "255");
    testing::internal::CaptureStderr();
    EXPECT_EQ(Dataset::open(col, {DatasetKind::generic}).read_mask(3).labels,
              (std::vector<std::uint8_t>{0, 1, 0, 0}));
    EXPECT_MESSAGE_HAS(testing::internal::GetCapturedStderr(),
                       "/masks/d.tif: 2 pixels are (0, 0, 0), which the file's GDAL NoData tag "
                       "(value 255) marks as no data");
}

// An index mask's transparent palette entries (a labelling tool's "not labelled"): of a value no
// class has, unlabelled (it was refused as no class value); of a class's value, that class, said
// once naming the file, value, class and count (it was read as the class without a word).
// A GeoTIFF georeference in EPSG:`epsg` whose pixel (0, 0) has its corner at (x0, y0), pixels
// `size` map units wide (tie point and scale, as Potsdam's tiles).
GeoReference geo_at(int epsg, double x0, double y0, double size = 0.05) {
    GeoReference g;
    g.pixel_scale = {size, size, 0};
    g.tiepoints = {0, 0, 0, x0, y0, 0};
    g.key_directory = {1,    1, 0, 3,
                       1024, 0, 1, 1,  // model type projected
                       1025, 0, 1, 1,  // raster is area
                       3072, 0, 1, static_cast<std::uint16_t>(epsg)};
    return g;
}

// The code a CRS text names as a whole, not its datum's, unit's or base CRS's: WKT 1 and 2, GDAL's
// XML-escaped SRS and its "EPSG:n"; none for an ESRI .prj or anything else.
TEST(GeoReference, TheEpsgCodeOfACrsIsItsOutermostElements) {
    const std::string wkt1 =
        "PROJCS[\"WGS 84 / UTM zone 33N\",GEOGCS[\"WGS 84\",DATUM[\"WGS_1984\",SPHEROID[\"WGS "
        "84\",6378137,298.257223563,AUTHORITY[\"EPSG\",\"7030\"]],AUTHORITY[\"EPSG\",\"6326\"]],"
        "AUTHORITY[\"EPSG\",\"4326\"]],PROJECTION[\"Transverse_Mercator\"],UNIT[\"metre\",1,"
        "AUTHORITY[\"EPSG\",\"9001\"]],AXIS[\"Easting\",EAST],AUTHORITY[\"EPSG\",\"32633\"]]";
    EXPECT_EQ(epsg_of_crs_text(wkt1), 32633);
    EXPECT_EQ(epsg_of_crs_text("\n  " + wkt1 + "\n"), 32633);
    std::string escaped = wkt1;
    for (std::size_t at; (at = escaped.find('"')) != std::string::npos;)
        escaped.replace(at, 1, "&quot;");
    EXPECT_EQ(epsg_of_crs_text(escaped), 32633);
    EXPECT_EQ(
        epsg_of_crs_text("PROJCRS[\"ETRS89 / UTM zone 32N\",\n  BASEGEOGCRS[\"ETRS89\",\n"
                         "    ID[\"EPSG\",4258]],\n  CS[Cartesian,2],\n  ID[\"EPSG\",25832]]"),
        25832);
    EXPECT_EQ(epsg_of_crs_text("EPSG:3857"), 3857);
    EXPECT_EQ(epsg_of_crs_text(" EPSG:25832\n"), 25832);
    // Codes only deeper in: the projected CRS itself has none.
    EXPECT_EQ(epsg_of_crs_text("PROJCS[\"x\",GEOGCS[\"WGS 84\",AUTHORITY[\"EPSG\",\"4326\"]]]"), 0);
    EXPECT_EQ(epsg_of_crs_text("PROJCS[\"ETRS_1989_UTM_Zone_32N\",GEOGCS[\"GCS_ETRS_1989\"]]"), 0);
    // Brackets and commas inside a name are text.
    EXPECT_EQ(epsg_of_crs_text("PROJCS[\"a],AUTHORITY[\",AUTHORITY[\"EPSG\",\"2\"]]"), 2);
    EXPECT_EQ(epsg_of_crs_text("PROJCS[\"a, AUTHORITY[\"EPSG\",\"1\"]]"), 0);
    EXPECT_EQ(epsg_of_crs_text("+proj=utm +zone=33 +datum=WGS84"), 0);
    // Parentheses, any case, a BOM; nothing after the element closes; a compound CRS's horizontal
    // member (points on a map are in it), not the compound's own code (review).
    EXPECT_EQ(epsg_of_crs_text("PROJCS(\"x\",GEOGCS(\"y\"),authority(\"epsg\",\"32633\"))"), 32633);
    EXPECT_EQ(epsg_of_crs_text("\xEF\xBB\xBF"
                               "EPSG:25832"),
              25832);
    EXPECT_EQ(epsg_of_crs_text("PROJCS[\"x\",GEOGCS[\"y\"]] AUTHORITY[\"EPSG\",\"3\"]"), 0);
    EXPECT_EQ(
        epsg_of_crs_text("COMPD_CS[\"ETRS89 / UTM 32N + DHHN92\",PROJCS[\"ETRS89 / UTM zone "
                         "32N\",GEOGCS[\"ETRS89\",AUTHORITY[\"EPSG\",\"4258\"]],AUTHORITY["
                         "\"EPSG\",\"25832\"]],VERT_CS[\"DHHN92\",AUTHORITY[\"EPSG\",\"5783\"]],"
                         "AUTHORITY[\"EPSG\",\"5555\"]]"),
        25832);
    EXPECT_EQ(epsg_of_crs_text("COMPOUNDCRS[\"a\",PROJCRS[\"b\",ID[\"EPSG\",32633]],VERTCRS[\"c\","
                               "ID[\"EPSG\",5773]],ID[\"EPSG\",9999]]"),
              32633);
    EXPECT_EQ(epsg_of_crs_text("EPSG:x"), 0);
    EXPECT_EQ(epsg_of_crs_text(""), 0);
}

TEST(GeoReference, GridDifferenceSaysWhatDiffers) {
    const GeoReference a = geo_at(25832, 366000, 5808000);
    EXPECT_EQ(grid_difference(a, a), "");
    EXPECT_EQ(grid_difference(a, GeoReference{}), "");  // a mask with no georeference: nothing
    EXPECT_EQ(grid_difference(a, geo_at(25832, 366000.02, 5808000)), "");  // under half a pixel
    // The same grid as an affine transformation (row-major 4x4, y down).
    GeoReference t = a;
    t.pixel_scale.clear();
    t.tiepoints.clear();
    t.transformation = {0.05, 0, 0, 366000, 0, -0.05, 0, 5808000, 0, 0, 0, 0, 0, 0, 0, 1};
    EXPECT_EQ(grid_difference(a, t), "");
    EXPECT_EQ(grid_difference(a, geo_at(32632, 366000, 5808000)),
              "CRS EPSG:25832 against EPSG:32632");
    EXPECT_EQ(grid_difference(a, geo_at(25832, 366000, 5808000, 0.1)),
              "pixel 0.05 x 0.05 against 0.1 x 0.1");
    EXPECT_EQ(grid_difference(a, geo_at(25832, 366000.5, 5808000)),
              "origin 10 pixels apart (10, 0)");
    EXPECT_EQ(grid_difference(a, geo_at(25832, 366000.05, 5808000)), "origin 1 pixel apart (1, 0)");
}

// A south-up or rotated grid's pixels have the size of its steps (a GIS probe: south-up training
// images recorded no pixel size, predict said nothing of 0.6 m imagery for a 0.3 m model, a rotated
// 0.3 m pixel was said to be 0.26); two such grids compare by their axes and origin too.
TEST(GeoReference, RotatedAndSouthUpGridsHaveTheirPixelsSize) {
    const std::string dir = test::temp_dir("geo_rotated");
    const double c = 0.3 * std::cos(M_PI / 6), s = 0.3 * std::sin(M_PI / 6);
    // Row-major 4x4: x = m0 col + m1 row + m3, y = m4 col + m5 row + m7.
    const auto affine = [](double m0, double m1, double x0, double m4, double m5, double y0) {
        GeoReference g = geo_at(32632, 0, 0);
        g.pixel_scale.clear();
        g.tiepoints.clear();
        g.transformation = {m0, m1, 0, x0, m4, m5, 0, y0, 0, 0, 1, 0, 0, 0, 0, 1};
        return g;
    };
    const GeoReference north = affine(0.3, 0, 500000, 0, -0.3, 5800000);
    const GeoReference south = affine(0.3, 0, 500000, 0, 0.3, 5800000);
    const GeoReference rotated = affine(c, s, 500000, s, -c, 5800000);
    for (const auto& [name, g] :
         {std::pair{"north", north}, std::pair{"south", south}, std::pair{"rotated", rotated}}) {
        const std::string tif = dir + "/" + name + ".tif";
        write_tiff_gray(tif, LabelMap(8, 6, 100), g);
        const std::optional<GroundPixelSize> px = ground_pixel_size(tif);
        ASSERT_TRUE(px.has_value()) << name;
        EXPECT_NEAR(px->x, 0.3, 1e-12) << name;
        EXPECT_NEAR(px->y, 0.3, 1e-12) << name;
        EXPECT_EQ(px->epsg, 32632) << name;
    }
    EXPECT_MESSAGE_HAS(rotated.describe(), "EPSG:32632, pixel 0.3 x 0.3, rotated 30 degrees");
    EXPECT_MESSAGE_HAS(south.describe(), "pixel 0.3 x 0.3, south-up, origin (500000, 5800000)");
    EXPECT_EQ(grid_difference(rotated, rotated), "");
    EXPECT_EQ(grid_difference(rotated, north), "pixel axes rotated 30 degrees against north-up");
    EXPECT_EQ(grid_difference(north, south), "pixel axes north-up against south-up");
    // Points are found on north-up pixels only: a south-up image is refused with the way out.
    EXPECT_MESSAGE_HAS(test::input_error_message([&] { (void)map_grid_of_tags(south, "s.tif"); }),
                       "warp it north-up first (gdalwarp IN OUT.tif)");
    // One pixel along the rotated rows, two down its columns.
    EXPECT_EQ(
        grid_difference(rotated, affine(c, s, 500000 + c + 2 * s, s, -c, 5800000 + s - 2 * c)),
        "origin 2.2 pixels apart (1, 2)");
    EXPECT_EQ(grid_difference(rotated, affine(2 * c, 2 * s, 500000, 2 * s, -2 * c, 5800000)),
              "pixel 0.3 x 0.3 against 0.6 x 0.6");
}

// A window's place (a tile's patch, sampled): the image's geotransform moved to the window's
// corner, the world file's C and F the centre of its first pixel; its CRS by EPSG code; rotated
// grids alike; an image without a place gives none.
TEST(GeoReference, AWindowLiesWhereItsPixelsLieInItsImage) {
    const std::string dir = test::temp_dir("geo_window_place");
    const std::string tif = dir + "/tile.tif";
    write_tiff_gray(tif, LabelMap(64, 48, 100), geo_at(25832, 366000, 5808000));
    const SidecarGeoref whole = window_place(tif, read_georeference(tif), 0, 0);
    EXPECT_EQ(whole.world, "0.05\n0\n0\n-0.05\n366000.025\n5807999.975\n");
    EXPECT_EQ(whole.aux, "<PAMDataset>\n  <SRS>EPSG:25832</SRS>\n</PAMDataset>\n");
    const SidecarGeoref patch = window_place(tif, read_georeference(tif), 20, 10);
    const std::optional<MapGrid> g = map_grid_of_world(patch.world, "patch");
    ASSERT_TRUE(g.has_value());
    EXPECT_NEAR(g->x0, 366000 + 20 * 0.05, 1e-9);
    EXPECT_NEAR(g->y0, 5808000 - 10 * 0.05, 1e-9);
    // Rotated: the window's corner along the rotated axes.
    GeoReference r = geo_at(25832, 0, 0);
    r.pixel_scale.clear();
    r.tiepoints.clear();
    r.transformation = {0.3, 0.1, 0, 1000, 0.1, -0.3, 0, 2000, 0, 0, 1, 0, 0, 0, 0, 1};
    write_tiff_gray(dir + "/r.tif", LabelMap(8, 8, 1), r);
    const std::optional<GeoTransform> t =
        geotransform_of_world(window_place(dir + "/r.tif", r, 2, 3).world);
    ASSERT_TRUE(t.has_value());
    EXPECT_NEAR((*t)[0], 1000 + 2 * 0.3 + 3 * 0.1, 1e-9);
    EXPECT_NEAR((*t)[3], 2000 + 2 * 0.1 - 3 * 0.3, 1e-9);
    write_png(dir + "/bare.png", RgbImage(4, 4));
    EXPECT_TRUE(window_place(dir + "/bare.png", GeoReference{}, 0, 0).empty());
}

// Training images of one pixel size in two UTM CRSs (Potsdam's tiles come in 32633 and 25833):
// one size recorded, as predict compares them (a probe's run recorded none).
TEST(GeoReference, PixelSizesOfTwoMetricCrssAreOne) {
    const std::string dir = test::temp_dir("geo_two_utm");
    write_tiff_gray(dir + "/a.tif", LabelMap(8, 6, 1), geo_at(32633, 366000, 5808000, 0.3));
    write_tiff_gray(dir + "/b.tif", LabelMap(8, 6, 1), geo_at(25833, 366000, 5808000, 0.3));
    const nlohmann::json both = common_ground_pixel_size({dir + "/a.tif", dir + "/b.tif"}, false);
    ASSERT_TRUE(both.is_object()) << both.dump();
    EXPECT_DOUBLE_EQ(both["x"].get<double>(), 0.3);
    write_tiff_gray(dir + "/c.tif", LabelMap(8, 6, 1), geo_at(3857, 366000, 5808000, 0.3));
    EXPECT_TRUE(common_ground_pixel_size({dir + "/a.tif", dir + "/c.tif"}, false).is_null());
}

// Where GDAL puts an image, from its first source in GDAL's order: a TIFF's .aux.xml GeoTransform
// before its tags (GDAL writes one when a read-only GeoTIFF is georeferenced again) and its tags
// before its world file; a PNG's world file before its .aux.xml; a JPEG's .aux.xml before its
// world file. A foreign-data probe found sample --from-points placing points by a TIFF's tags
// where an .aux.xml moved it 10 pixels.
TEST(GeoReference, ImagesArePlacedAsGdalPlacesThem) {
    const std::string dir = test::temp_dir("geo_gdal_order");
    const std::string tif = dir + "/a.tif";
    write_tiff_gray(tif, LabelMap(8, 6, 100), geo_at(25832, 366000, 5808000));
    const GeoReference tags = read_georeference(tif);
    auto placed = [&](const std::string& image, const GeoReference& t) {
        const std::optional<PlacedGrid> g = pixel_grid_as_gdal_reads(image, t);
        return g ? describe(g->grid) + " by " + g->source : std::string("nowhere");
    };
    EXPECT_EQ(placed(tif, tags), "pixel 0.05 x 0.05, origin (366000, 5808000) by its GeoTIFF tags");
    std::ofstream(dir + "/a.tfw") << "1\n0\n0\n-1\n0.5\n-0.5\n";
    EXPECT_EQ(placed(tif, tags), "pixel 0.05 x 0.05, origin (366000, 5808000) by its GeoTIFF tags");
    std::ofstream(tif + ".aux.xml")
        << "<PAMDataset>\n  <GeoTransform>366000.5, 0.05, 0, 5808000, 0, -0.05</GeoTransform>\n"
           "</PAMDataset>\n";
    EXPECT_EQ(placed(tif, tags),
              "pixel 0.05 x 0.05, origin (366000.5, 5808000) by " + tif + ".aux.xml");
    fs::remove(tif + ".aux.xml");
    EXPECT_EQ(placed(tif, GeoReference{}), "pixel 1 x 1, origin (0, 0) by " + dir + "/a.tfw");

    const std::string png = dir + "/b.png";
    write_png(png, test::random_rgb(8, 6, 1));
    EXPECT_EQ(placed(png, GeoReference{}), "nowhere");
    std::ofstream(png + ".aux.xml")
        << "<PAMDataset><GeoTransform>10, 2, 0, 20, 0, -2</GeoTransform></PAMDataset>";
    EXPECT_EQ(placed(png, GeoReference{}), "pixel 2 x 2, origin (10, 20) by " + png + ".aux.xml");
    std::ofstream(dir + "/b.pgw") << "1\n0\n0\n-1\n0.5\n-0.5\n";
    EXPECT_EQ(placed(png, GeoReference{}), "pixel 1 x 1, origin (0, 0) by " + dir + "/b.pgw");
    const std::string jpg = dir + "/c.jpg";
    std::ofstream(jpg) << "not read";
    std::ofstream(dir + "/c.jgw") << "1\n0\n0\n-1\n0.5\n-0.5\n";
    EXPECT_EQ(placed(jpg, GeoReference{}), "pixel 1 x 1, origin (0, 0) by " + dir + "/c.jgw");
    std::ofstream(jpg + ".aux.xml")
        << "<PAMDataset><GeoTransform>10, 2, 0, 20, 0, -2</GeoTransform></PAMDataset>";
    EXPECT_EQ(placed(jpg, GeoReference{}), "pixel 2 x 2, origin (10, 20) by " + jpg + ".aux.xml");
}

// A mask GeoTIFF on another map grid than its image (another CRS, or shifted) is said, naming both
// files and what differs: pairs are matched by pixel position (a real-data probe found them paired
// without a word). Masks without a georeference, and masks on the image's grid, say nothing.
TEST(GenericDataset, AnImageAndMaskOnDifferentMapGridsAreSaid) {
    const std::string dir = test::temp_dir("ds_generic_grids");
    write_generic(dir,
                  "[classes]\nnames = [\"ground\", \"building\"]\n[mask]\nencoding = "
                  "\"index\"\n");
    const LabelMap img(8, 6, 100), mask(8, 6, 1);
    const GeoReference here = geo_at(25832, 366000, 5808000);
    write_tiff_gray(dir + "/images/a.tif", img, here);
    write_tiff_gray(dir + "/masks/a.tif", mask, here);
    write_tiff_gray(dir + "/images/b.tif", img, here);
    write_tiff_gray(dir + "/masks/b.tif", mask);  // no georeference
    testing::internal::CaptureStderr();
    Dataset::open(dir, {DatasetKind::generic});
    std::string logged = testing::internal::GetCapturedStderr();
    EXPECT_EQ(logged.find("map grid"), std::string::npos) << logged;

    write_tiff_gray(dir + "/masks/b.tif", mask, geo_at(25832, 366001, 5808000));
    testing::internal::CaptureStderr();
    Dataset::open(dir, {DatasetKind::generic});
    logged = testing::internal::GetCapturedStderr();
    EXPECT_MESSAGE_HAS(logged, "1 of 2 image/mask pairs lie on different map grids, first " + dir +
                                   "/images/b.tif (EPSG:25832, pixel 0.05 x 0.05, origin "
                                   "(366000, 5808000)) and " +
                                   dir + "/masks/b.tif (EPSG:25832");
    EXPECT_MESSAGE_HAS(logged, "origin 20 pixels apart (20, 0)");
    EXPECT_MESSAGE_HAS(logged, "its labels fall on the wrong pixels");

    // Where an .aux.xml places a GeoTIFF, GDAL reads it before the tags: the pair is compared as
    // GDAL shows it. One that puts b's mask back on its image's grid silences the warning; one
    // that moves a's image away from its mask's tags is said, naming the .aux.xml.
    std::ofstream(dir + "/masks/b.tif.aux.xml")
        << "<PAMDataset><GeoTransform>366000, 0.05, 0, 5808000, 0, -0.05</GeoTransform>"
           "</PAMDataset>";
    std::ofstream(dir + "/images/a.tif.aux.xml")
        << "<PAMDataset><GeoTransform>366001, 0.05, 0, 5808000, 0, -0.05</GeoTransform>"
           "</PAMDataset>";
    testing::internal::CaptureStderr();
    Dataset::open(dir, {DatasetKind::generic});
    logged = testing::internal::GetCapturedStderr();
    EXPECT_MESSAGE_HAS(logged, "1 of 2 image/mask pairs lie on different map grids, first " + dir +
                                   "/images/a.tif (pixel 0.05 x 0.05, origin (366001, 5808000), "
                                   "from " +
                                   dir + "/images/a.tif.aux.xml) and " + dir +
                                   "/masks/a.tif (EPSG:25832, pixel 0.05 x 0.05, origin "
                                   "(366000, 5808000)): origin 20 pixels apart (-20, 0)");
}

// sample --from: an annotation GeoTIFF on another map grid than its image (drawn over another
// tile, or in another CRS) is said after the import, naming both files and what differs, as a
// dense mask's is (a hostile probe imported one 100 km off without a word). Annotations without
// a georeference, or on their image's grid, say nothing.
TEST(GenericDataset, AnAnnotationOnAnotherMapGridThanItsImageIsSaid) {
    const std::string dir = test::temp_dir("ds_annotation_grids");
    write_generic(dir,
                  "[classes]\nnames = [\"ground\", \"building\"]\n[mask]\nencoding = "
                  "\"index\"\n");
    const LabelMap img(8, 6, 100), mask(8, 6, 1);
    const GeoReference here = geo_at(25832, 366000, 5808000);
    for (const char* id : {"a", "b"}) {
        write_tiff_gray(dir + "/images/" + id + ".tif", img, here);
        write_tiff_gray(dir + "/masks/" + id + ".tif", mask, here);
    }
    const Dataset ds = Dataset::open(dir, {DatasetKind::generic});
    LabelMap points(8, 6, 255);
    points.labels[9] = 1;
    const std::string from = dir + "/../ann_grids";
    fs::remove_all(from);
    fs::create_directories(from);
    auto import = [&](const GeoReference& b_geo) {
        write_tiff_gray(from + "/a.tif", points, here);
        write_tiff_gray(from + "/b.tif", points, b_geo);
        testing::internal::CaptureStderr();
        import_masks(ds, from, dir + "/../ann_grids_out", /*force=*/true, {});
        return testing::internal::GetCapturedStderr();
    };
    std::string logged = import(GeoReference{});
    EXPECT_EQ(logged.find("map grid"), std::string::npos) << logged;
    logged = import(here);
    EXPECT_EQ(logged.find("map grid"), std::string::npos) << logged;
    logged = import(geo_at(25832, 466000, 5808000));  // 100 km east
    EXPECT_MESSAGE_HAS(logged,
                       "1 of the 2 annotations lie on other map grids than their images, "
                       "first " +
                           dir +
                           "/images/b.tif (EPSG:25832, pixel 0.05 x 0.05, origin "
                           "(366000, 5808000)) and " +
                           from + "/b.tif (EPSG:25832");
    EXPECT_MESSAGE_HAS(logged, "origin 2000000 pixels apart");
    EXPECT_MESSAGE_HAS(logged, "they fall on the wrong pixels");
    logged = import(geo_at(25833, 366000, 5808000));  // another CRS
    EXPECT_MESSAGE_HAS(logged, "1 of the 2 annotations lie on other map grids");
}

TEST(GenericDataset, AnIndexMasksTransparentEntryIsUnlabelledUnlessAClassHasIt) {
    const std::string dir = test::temp_dir("ds_generic_index_transparent");
    write_generic(dir,
                  "[classes]\nnames = [\"ground\", \"building\"]\n[mask]\nencoding = "
                  "\"index\"\n");
    write_tiff(dir + "/images/a.tif", test::random_rgb(4, 1, 1));
    LabelMap m(4, 1);
    m.labels = {0, 1, 5, 0};
    std::vector<Rgb> pal(256, Rgb{0, 0, 0});
    for (int v = 0; v < 256; ++v) pal[v] = {std::uint8_t(v), std::uint8_t(v), std::uint8_t(v)};
    std::vector<std::uint8_t> alpha(256, 255);
    alpha[5] = 0;
    write_png_indexed(dir + "/masks/a.png", m, pal, alpha);
    testing::internal::CaptureStderr();
    EXPECT_EQ(Dataset::open(dir).read_mask(0).labels, (std::vector<std::uint8_t>{0, 1, 255, 0}));
    EXPECT_EQ(testing::internal::GetCapturedStderr().find("transparent"), std::string::npos);
    alpha[0] = 0;
    write_png_indexed(dir + "/masks/a.png", m, pal, alpha);
    testing::internal::CaptureStderr();
    EXPECT_EQ(Dataset::open(dir).read_mask(0).labels, (std::vector<std::uint8_t>{0, 1, 255, 0}));
    const std::string logged = testing::internal::GetCapturedStderr();
    EXPECT_MESSAGE_HAS(logged, dir + "/masks/a.png: 2 pixels hold 0 and are transparent");
    EXPECT_MESSAGE_HAS(logged, "0 is the value of class ground in this dataset");
    EXPECT_MESSAGE_HAS(logged, "give them a value no class has (255, or one listed in mask.ignore");
}

// Names with a suffix after the id (DeepGlobe: 12_sat.jpg + 12_mask.png) pair through [files];
// the ids are the names less the suffixes, and a file without its suffix is an error naming it.
TEST(GenericDataset, FileSuffixesPairDeepGlobeStyleNames) {
    const std::string dir = test::temp_dir("ds_generic_suffix");
    write_generic(dir,
                  "[classes]\nnames = [\"a\", \"b\"]\n[mask]\nencoding = \"index\"\n"
                  "[files]\nimage_suffix = \"_sat\"\nmask_suffix = \"_mask\"\n");
    const LabelMap m = test::random_gray(4, 3, 2);
    LabelMap two = m;
    for (auto& v : two.labels) v %= 2;
    for (const char* id : {"12", "7"}) {
        write_tiff(dir + "/images/" + id + "_sat.tif", test::random_rgb(4, 3, 1));
        write_tiff_gray(dir + "/masks/" + id + "_mask.tif", two);
    }
    const Dataset ds = Dataset::open(dir);
    ASSERT_EQ(ds.size(), 2u);
    EXPECT_EQ(ds.sample(0).id, "7");
    EXPECT_EQ(ds.sample(1).id, "12");
    EXPECT_EQ(ds.read_mask(1).labels, two.labels);
    // A split list of the images' file names (DeepGlobe's) names the samples, suffix and all.
    write_text(dir + "/list.txt", "12_sat.tif\n");
    EXPECT_EQ(split_from_lists(ds, dir + "/list.txt", "", "").train, (std::vector<std::size_t>{1}));
    // A mask without its suffix.
    write_tiff_gray(dir + "/masks/3.tif", two);
    std::string msg = input_error_message([&] { Dataset::open(dir); });
    EXPECT_MESSAGE_HAS(msg, "masks/3.tif");
    EXPECT_MESSAGE_HAS(msg, "files.mask_suffix");
    EXPECT_MESSAGE_HAS(msg, "<id>_mask.tif");
    fs::remove(dir + "/masks/3.tif");
    // A missing partner is named with its suffix.
    fs::remove(dir + "/masks/7_mask.tif");
    msg = input_error_message([&] { Dataset::open(dir); });
    EXPECT_MESSAGE_HAS(msg, "masks/7_mask.(tif");
    // Not a string.
    write_generic(dir,
                  "[classes]\nnames = [\"a\"]\n[mask]\nencoding = \"index\"\n"
                  "[files]\nimage_suffix = 3\n");
    EXPECT_MESSAGE_HAS(input_error_message([&] { Dataset::open(dir); }),
                       "files.image_suffix must be a string");
}

// The directories a public dataset ships (LoveDA's Images_png/Masks_png, Inria's gt/, DeepGlobe's
// one train/ of 123_sat.jpg beside 123_mask.png) read through [files] images and masks (they
// needed symlinks named images/ and masks/; one shared directory was refused on its masks'
// names); a missing directory names those there and the key (public-datasets probe).
TEST(GenericDataset, FilesKeysNameTheDirectoriesAndOneMayHoldBoth) {
    const std::string dir = test::temp_dir("ds_generic_dirs");
    const std::string toml =
        "[classes]\nnames = [\"a\", \"b\"]\n[mask]\nencoding = \"index\"\n[files]\n";
    fs::create_directories(dir + "/Images_png");
    fs::create_directories(dir + "/Masks_png");
    write_text(dir + "/dataset.toml", toml);
    std::string msg = input_error_message([&] { Dataset::open(dir); });
    EXPECT_MESSAGE_HAS(msg, "directory " + dir + "/images is missing");
    EXPECT_MESSAGE_HAS(msg, "holds Images_png/, Masks_png/");
    EXPECT_MESSAGE_HAS(msg, "[files] images = \"DIR\"");
    LabelMap m = test::random_gray(4, 3, 2);
    for (auto& v : m.labels) v %= 2;
    write_tiff(dir + "/Images_png/7.tif", test::random_rgb(4, 3, 1));
    write_tiff_gray(dir + "/Masks_png/7.tif", m);
    write_text(dir + "/dataset.toml", toml + "images = \"Images_png\"\nmasks = \"Masks_png\"\n");
    const Dataset named = Dataset::open(dir);
    ASSERT_EQ(named.size(), 1u);
    EXPECT_EQ(named.read_mask(0).labels, m.labels);
    // One directory, the suffixes telling images from masks.
    fs::create_directories(dir + "/train");
    write_tiff(dir + "/train/12_sat.tif", test::random_rgb(4, 3, 1));
    write_tiff_gray(dir + "/train/12_mask.tif", m);
    write_text(dir + "/dataset.toml", toml +
                                          "images = \"train\"\nmasks = \"train/\"\n"
                                          "image_suffix = \"_sat\"\nmask_suffix = \"_mask\"\n");
    const Dataset shared = Dataset::open(dir);
    ASSERT_EQ(shared.size(), 1u);
    EXPECT_EQ(shared.sample(0).id, "12");
    EXPECT_EQ(shared.read_mask(0).labels, m.labels);
    // ... which needs two suffixes; a directory outside the dataset is refused.
    write_text(dir + "/dataset.toml", toml + "images = \"train\"\nmasks = \"train\"\n");
    EXPECT_MESSAGE_HAS(input_error_message([&] { Dataset::open(dir); }),
                       "files.images and files.masks are one directory");
    write_text(dir + "/dataset.toml", toml + "images = \"../elsewhere\"\n");
    EXPECT_MESSAGE_HAS(input_error_message([&] { Dataset::open(dir); }),
                       "files.images must name a directory inside the dataset");
}

// The dense labels' fingerprint leaves out dataset.toml's [image] (how the images are read): added
// at the end, in the middle, with a comment of its own, or as top-level keys, it keeps the labels
// those of the file before it; an edit of a label key still moves it (review: a blank line added
// with the table made every mask directory and result of the data "of other label files").
TEST(DatasetFingerprint, TheImageTableOfDatasetTomlIsNoPartOfTheLabels) {
    const std::string dir = test::temp_dir("ds_fingerprint_image_table");
    const std::string classes = "[classes]\nnames = [\"a\", \"b\"]\n";
    const std::string mask = "[mask]\nencoding = \"index\"\n# 0 and 1\n";
    write_generic(dir, classes + "\n" + mask);
    LabelMap m(4, 2, 0);
    m.labels[3] = 1;
    const std::string before = dense_labels_fingerprint(write_index_sample(dir, m));
    const std::string image = "[image]\nbands = [1, 2, 3]\nvalue_range = [0, 4095]\n";
    const auto fingerprint = [&](const std::string& toml) {
        write_text(dir + "/dataset.toml", toml);
        return dense_labels_fingerprint(Dataset::open(dir, {DatasetKind::generic}));
    };
    for (const std::string& with :
         {classes + "\n" + mask + "\n" + image, classes + "\n" + mask + image,
          classes + "\n" + mask + "\n# how the 12-bit stacks are read\n" + image + "\n",
          classes + "\n" + image + "\n" + mask,
          classes + "\n[ \"image\" ]\nbands = [3, 2, 1]\n\n" + mask,
          "image.bands = [1, 2, 3]\n" + classes + "\n" + mask,
          "image = { value_range = [0, 255] }\n" + classes + "\n" + mask})
        EXPECT_EQ(fingerprint(with), before) << with;
    EXPECT_NE(fingerprint(classes + "\n" + mask + "ignore = [7]\n" + image), before);
    EXPECT_NE(fingerprint(classes + "\n" + mask + "# another note\n"), before);  // as before
}

// ---- kind detection ----------------------------------------------------------------------------

// One dataset, however its root is spelled: Kaggle patches given as D, D/, ./D or D/patches
// fingerprint alike (hostile-user probe: eval --data D/patches said the run's files had changed).
TEST(DatasetFingerprint, KagglePatchesFingerprintAlikeUnderEverySpelling) {
    const std::string dir = test::temp_dir("ds_fingerprint_spellings");
    write_kaggle(dir, {0, 1});
    const Dataset ds = Dataset::open(dir);
    const std::string images = images_fingerprint(ds), labels = dense_labels_fingerprint(ds);
    for (const std::string& spelling :
         {dir + "/", dir + "/patches", dir + "/patches/", dir + "/./patches",
          fs::relative(dir, fs::current_path()).string()}) {
        const Dataset other = Dataset::open(spelling);
        EXPECT_EQ(images_fingerprint(other), images) << spelling;
        EXPECT_EQ(dense_labels_fingerprint(other), labels) << spelling;
    }
    // --data . from inside D/patches.
    const fs::path cwd = fs::current_path();
    fs::current_path(dir + "/patches");
    const std::string from_inside = images_fingerprint(Dataset::open("."));
    fs::current_path(cwd);
    EXPECT_EQ(from_inside, images);
    // A file that did change still changes it.
    write_kaggle(dir, {1}, 20);
    EXPECT_NE(images_fingerprint(Dataset::open(dir + "/patches")), images);
}

TEST(DatasetKindDetection, UnknownAmbiguousAndNamedKinds) {
    const std::string dir = test::temp_dir("ds_kind");
    std::string msg = input_error_message([&] { Dataset::open(dir); });
    EXPECT_MESSAGE_HAS(msg, dir);
    EXPECT_MESSAGE_HAS(msg, "cannot tell the dataset kind");
    EXPECT_MESSAGE_HAS(msg, "the directories its [files] images and masks name");
    // A parent of datasets (LoveDA's Train/ of Urban/ and Rural/) names them; a dataset's own
    // images/ names the root above (both said only "cannot tell").
    const std::string parent = test::temp_dir("ds_kind_parent");
    fs::create_directories(parent + "/Urban/images");
    fs::create_directories(parent + "/Rural");
    for (const char* d : {"Urban", "Rural"})
        write_text(parent + "/" + d + "/dataset.toml", "[classes]\nnames = [\"a\", \"b\"]\n");
    msg = input_error_message([&] { Dataset::open(parent); });
    EXPECT_MESSAGE_HAS(msg, "; datasets lie a level below it, give one of them: ");
    EXPECT_MESSAGE_HAS(msg, parent + "/Rural");
    EXPECT_MESSAGE_HAS(msg, parent + "/Urban");
    msg = input_error_message([&] { Dataset::open(parent + "/Urban/images"); });
    EXPECT_MESSAGE_HAS(msg, "; " + parent + "/Urban holds a dataset.toml: give that directory");
    msg = input_error_message([&] { Dataset::open(dir + "/nope"); });
    EXPECT_MESSAGE_HAS(msg, "does not exist");
    write_kaggle(dir, {0});
    write_text(dir + "/dataset.toml", "[classes]\nnames = [\"a\"]\n[mask]\nencoding = \"index\"\n");
    msg = input_error_message([&] { Dataset::open(dir); });
    EXPECT_MESSAGE_HAS(msg, "more than one dataset kind");
    EXPECT_EQ(Dataset::open(dir, {DatasetKind::kaggle}).size(), 1u);
    // UAVid's Images/ + Labels/ of 000000.png, described by a dataset.toml: no Image_N file, so
    // no Kaggle reading and no ambiguity (real-datasets probe: every command needed --kind).
    const std::string uavid = test::temp_dir("ds_kind_uavid");
    fs::create_directories(uavid + "/Images");
    fs::create_directories(uavid + "/Labels");
    write_tiff(uavid + "/Images/000000.tif", test::random_rgb(4, 4, 1));
    write_tiff_gray(uavid + "/Labels/000000.tif", LabelMap(4, 4, 0));
    write_text(uavid + "/dataset.toml",
               "[classes]\nnames = [\"a\"]\n[mask]\nencoding = \"index\"\n[files]\n"
               "images = \"Images\"\nmasks = \"Labels\"\n");
    EXPECT_EQ(Dataset::open(uavid).kind(), DatasetKind::generic);
    EXPECT_EQ(kDatasetKinds.parse("tiles"), DatasetKind::tiles);
    EXPECT_EQ(kDatasetKinds.parse("auto"), DatasetKind::automatic);
    EXPECT_STREQ(kDatasetKinds.name(DatasetKind::generic), "generic");
    EXPECT_THROW(kDatasetKinds.parse("coco"), InputError);
}

// ---- splits ------------------------------------------------------------------------------------

TEST(Splits, DeterministicCoveringAndSized) {
    const Split a = make_split(1000, 7), b = make_split(1000, 7), c = make_split(1000, 8);
    EXPECT_EQ(a.train, b.train);
    EXPECT_EQ(a.val, b.val);
    EXPECT_EQ(a.test, b.test);
    EXPECT_NE(a.train, c.train);
    EXPECT_EQ(a.train.size(), 800u);
    EXPECT_EQ(a.val.size(), 100u);
    EXPECT_EQ(a.test.size(), 100u);
    std::vector<int> seen(1000, 0);
    for (const auto* part : {&a.train, &a.val, &a.test})
        for (std::size_t i : *part) ++seen[i];
    for (int v : seen) EXPECT_EQ(v, 1);
    // Not just the identity cut: the validation part is spread over the range.
    EXPECT_LT(a.val.front(), 100u);
    EXPECT_GT(a.val.back(), 900u);
    const Split small = make_split(7, 1, 0.5, 0.25);
    EXPECT_EQ(small.train.size() + small.val.size() + small.test.size(), 7u);
    EXPECT_THROW(make_split(10, 1, 0.9, 0.2), InputError);
    EXPECT_TRUE(make_split(0, 1).train.empty());
}

// A list made on macOS writes é as e and a combining accent (NFD) where the file is named with é
// (NFC): the two look alike but are other bytes. Ids match by their bytes, as files pair by them;
// the refusal names the dataset's id it differs from only so.
TEST(Splits, AnIdWhoseAccentIsEncodedOtherwiseIsPointedOut) {
    const std::string dir = test::temp_dir("ds_split_accents");
    write_generic(dir, "[classes]\nnames = [\"a\"]\n[mask]\nencoding = \"index\"\n");
    for (const char* id : {"Z\xc3\xbcrich_21", "Bern_1"}) {
        write_tiff(dir + "/images/" + id + ".tif", test::random_rgb(3, 2, 1));
        write_tiff_gray(dir + "/masks/" + id + ".tif", test::random_gray(3, 2, 1));
    }
    const Dataset ds = Dataset::open(dir);
    write_text(dir + "/test.txt", "Bern_1\nZu\xcc\x88rich_21\n");
    const std::string msg =
        input_error_message([&] { split_from_lists(ds, "", "", dir + "/test.txt"); });
    EXPECT_MESSAGE_HAS(msg,
                       "test.txt:2: unknown sample id 'Zu\xcc\x88rich_21' (not in the "
                       "dataset; the dataset's 'Z\xc3\xbcrich_21' differs from it only in its "
                       "accented letters");
    EXPECT_MESSAGE_HAS(msg, "Unicode NFC or NFD");
    // Written as the dataset has it, it is read.
    write_text(dir + "/test.txt", "Z\xc3\xbcrich_21\n");
    EXPECT_EQ(split_from_lists(ds, "", "", dir + "/test.txt").test.size(), 1u);
}

TEST(Splits, FromListsWithUnknownAndDuplicateIds) {
    PFCE_REQUIRE_POTSDAM_SAMPLE(sample);
    const Dataset ds = Dataset::open(sample);
    const std::string dir = test::temp_dir("ds_split_lists");
    write_text(dir + "/train.txt", "# training\nImage_1010\n\n");
    write_text(dir + "/val.txt", "Image_0\n");
    const Split s = split_from_lists(ds, dir + "/train.txt", dir + "/val.txt", "");
    EXPECT_EQ(s.train, (std::vector<std::size_t>{1}));
    EXPECT_EQ(s.val, (std::vector<std::size_t>{0}));
    EXPECT_TRUE(s.test.empty());
    write_text(dir + "/test.txt", "Image_7\n");
    std::string msg = input_error_message(
        [&] { split_from_lists(ds, dir + "/train.txt", "", dir + "/test.txt"); });
    EXPECT_MESSAGE_HAS(msg, "test.txt:1");
    EXPECT_MESSAGE_HAS(msg, "Image_7");
    // An id of another form ('0' for Image_0): what this dataset's ids look like.
    write_text(dir + "/numbers.txt", "0\n");
    msg = input_error_message(
        [&] { split_from_lists(ds, dir + "/train.txt", "", dir + "/numbers.txt"); });
    EXPECT_MESSAGE_HAS(msg,
                       "unknown sample id '0' (not in the dataset; its ids are like 'Image_0', "
                       "'Image_1010')");
    write_text(dir + "/again.txt", "Image_1010\n");
    msg = input_error_message(
        [&] { split_from_lists(ds, dir + "/train.txt", dir + "/again.txt", ""); });
    EXPECT_MESSAGE_HAS(msg, "again.txt:1: sample 'Image_1010' is already listed at");
    // A list saved with a byte-order mark reads as without; an id written as an image's file
    // name (OpenEarthMap's lists) is read as the id, and said; a mask's file name is refused,
    // naming the id it would be.
    write_text(dir + "/bom.txt", "\xEF\xBB\xBFImage_0\n");
    EXPECT_EQ(split_from_lists(ds, dir + "/train.txt", dir + "/bom.txt", "").val,
              (std::vector<std::size_t>{0}));
    write_text(dir + "/names.txt", "Image_0.tif\n");
    testing::internal::CaptureStderr();
    EXPECT_EQ(split_from_lists(ds, dir + "/train.txt", dir + "/names.txt", "").val,
              (std::vector<std::size_t>{0}));
    EXPECT_MESSAGE_HAS(testing::internal::GetCapturedStderr(),
                       "names.txt names an image by file name: read 'Image_0.tif' as 'Image_0'");
    // Only the name of an image that is there: not another extension, not a mask's name.
    for (const char* name : {"Image_0.png", "Image_0.txt", "Label_0.tif"}) {
        write_text(dir + "/names.txt", std::string(name) + "\n");
        EXPECT_MESSAGE_HAS(input_error_message([&] {
                               split_from_lists(ds, dir + "/train.txt", dir + "/names.txt", "");
                           }),
                           std::string("unknown sample id '") + name + "'");
    }
    write_text(dir + "/names.txt", "Image_0.txt\n");
    msg = input_error_message(
        [&] { split_from_lists(ds, dir + "/train.txt", dir + "/names.txt", ""); });
    EXPECT_MESSAGE_HAS(msg, "names.txt:1");
    EXPECT_MESSAGE_HAS(msg, "without their extension: 'Image_0'");
    // UTF-16 (Notepad's "Unicode") read as ids of NUL bytes: named for what it is.
    write_text(dir + "/utf16.txt", std::string("\xFF\xFEI\0m\0a\0g\0e\0_\0\x30\0\n\0", 18));
    msg = input_error_message(
        [&] { split_from_lists(ds, dir + "/train.txt", dir + "/utf16.txt", ""); });
    EXPECT_MESSAGE_HAS(msg, "utf16.txt (--val-list (data.val_list)) is UTF-16 text");
}

// In a tiles dataset a list line may name a tile: it stands for all the tile's windows, and a
// window listed twice (by its tile and by its own id, in either order) is refused naming both.
TEST(Splits, ListsNameWholeTiles) {
    const std::string dir = test::temp_dir("ds_split_tiles");
    std::filesystem::create_directories(dir + "/data");
    for (const char* stem : {"top_potsdam_2_10", "top_potsdam_2_11", "top_potsdam_2_13"})
        write_tile(dir + "/data", stem, 64, 64, "_label.tif", 3);
    const Dataset ds =
        Dataset::open(dir + "/data", DatasetOptions{.tile_patch = 32, .tile_stride = 32});
    ASSERT_EQ(ds.size(), 12u);
    write_text(dir + "/train.txt", "top_potsdam_2_10\ntop_potsdam_2_11@0_0\n");
    write_text(dir + "/val.txt", "top_potsdam_2_11@32_0\n");
    write_text(dir + "/test.txt", "# a whole tile\ntop_potsdam_2_13\n");
    const Split s = split_from_lists(ds, dir + "/train.txt", dir + "/val.txt", dir + "/test.txt");
    auto ids = [&](const std::vector<std::size_t>& part) {
        std::vector<std::string> out;
        for (std::size_t i : part) out.push_back(ds.sample(i).id);
        return out;
    };
    EXPECT_EQ(ids(s.train),
              (std::vector<std::string>{"top_potsdam_2_10@0_0", "top_potsdam_2_10@32_0",
                                        "top_potsdam_2_10@0_32", "top_potsdam_2_10@32_32",
                                        "top_potsdam_2_11@0_0"}));
    EXPECT_EQ(ids(s.val), (std::vector<std::string>{"top_potsdam_2_11@32_0"}));
    EXPECT_EQ(s.test.size(), 4u);
    for (std::size_t i : s.test) EXPECT_EQ(ds.sample(i).id.rfind("top_potsdam_2_13@", 0), 0u);
    write_text(dir + "/window.txt", "top_potsdam_2_10@32_0\n");
    std::string msg = input_error_message(
        [&] { split_from_lists(ds, dir + "/train.txt", dir + "/window.txt", ""); });
    EXPECT_MESSAGE_HAS(msg, "window.txt:1: sample 'top_potsdam_2_10@32_0' is already listed at");
    EXPECT_MESSAGE_HAS(msg, "train.txt:1");
    msg = input_error_message(
        [&] { split_from_lists(ds, dir + "/window.txt", dir + "/train.txt", ""); });
    EXPECT_MESSAGE_HAS(msg,
                       "train.txt:1: tile 'top_potsdam_2_10': its window "
                       "'top_potsdam_2_10@32_0' is already listed at");
    write_text(dir + "/unknown.txt", "top_potsdam_9_9\n");
    msg = input_error_message([&] { split_from_lists(ds, dir + "/unknown.txt", "", ""); });
    EXPECT_MESSAGE_HAS(msg, "unknown sample id 'top_potsdam_9_9'");
    EXPECT_MESSAGE_HAS(msg, "a tile's name, e.g. 'top_potsdam_2_10', stands for all its windows");
    // A window off the tile's grid (a list cut with another patch or stride) is shown the grid.
    write_text(dir + "/off_grid.txt", "top_potsdam_2_10@16_0\n");
    msg = input_error_message([&] { split_from_lists(ds, dir + "/off_grid.txt", "", ""); });
    EXPECT_MESSAGE_HAS(msg,
                       "tile 'top_potsdam_2_10' has windows at x 0, 32 and y 0, 32 "
                       "(data.tile_patch 32, tile_stride 32; --tile-patch, --tile-stride): was the "
                       "list made with another patch or stride?");
    // A malformed window id is told the form; a window of a tile that is not there, that.
    write_text(dir + "/off_grid.txt", "top_potsdam_2_10@a_b\n");
    msg = input_error_message([&] { split_from_lists(ds, dir + "/off_grid.txt", "", ""); });
    EXPECT_MESSAGE_HAS(msg,
                       "a window's id is TILE@x_y with x, y where the window starts: tile "
                       "'top_potsdam_2_10' has windows at x 0, 32");
    EXPECT_EQ(msg.find("another patch"), std::string::npos) << msg;
    write_text(dir + "/off_grid.txt", "top_potsdam_9_9@0_0\n");
    msg = input_error_message([&] { split_from_lists(ds, dir + "/off_grid.txt", "", ""); });
    EXPECT_MESSAGE_HAS(msg, "no tile 'top_potsdam_9_9' in " + dir + "/data");
    // Every unknown id of a list is counted, a tile's file names its tile, and one file given as
    // two parts' lists is refused as such.
    write_text(dir + "/unknown.txt", "top_potsdam_9_9\ntop_potsdam_2_10\ntop_potsdam_8_8\n");
    msg = input_error_message([&] { split_from_lists(ds, dir + "/unknown.txt", "", ""); });
    EXPECT_MESSAGE_HAS(msg,
                       "unknown.txt:1: 2 unknown sample ids: 'top_potsdam_9_9', "
                       "'top_potsdam_8_8'");
    write_text(dir + "/file.txt", "top_potsdam_2_13_label.tif\n");
    msg = input_error_message([&] { split_from_lists(ds, dir + "/file.txt", "", ""); });
    EXPECT_MESSAGE_HAS(msg, "that is a file of tile 'top_potsdam_2_13': name the tile");
    write_text(dir + "/file.txt", "top_potsdam_2_13_RGB.tif\n");  // the image: read as its tile
    write_text(dir + "/tile.txt", "top_potsdam_2_13\n");
    EXPECT_EQ(split_from_lists(ds, dir + "/file.txt", "", "").train,
              split_from_lists(ds, dir + "/tile.txt", "", "").train);
    msg = input_error_message(
        [&] { split_from_lists(ds, dir + "/train.txt", "", dir + "/train.txt"); });
    EXPECT_MESSAGE_HAS(
        msg, "--train-list (data.train_list) and --test-list (data.test_list) name the same file");
    // Two copies of one tile's file (a whole download unzipped) read as one; two different files
    // (the root and 2_Ortho_RGB/) would be read in directory order, and are refused.
    std::filesystem::create_directories(dir + "/data/2_Ortho_RGB");
    std::filesystem::copy_file(dir + "/data/top_potsdam_2_10_RGB.tif",
                               dir + "/data/2_Ortho_RGB/top_potsdam_2_10_RGB.tif");
    EXPECT_EQ(
        Dataset::open(dir + "/data", DatasetOptions{.tile_patch = 32, .tile_stride = 32}).size(),
        12u);
    write_tiff(dir + "/data/2_Ortho_RGB/top_potsdam_2_10_RGB.tif", test::random_rgb(32, 32, 1));
    msg = input_error_message([&] { Dataset::open(dir + "/data", DatasetOptions{}); });
    EXPECT_MESSAGE_HAS(msg, "two different files for tile top_potsdam_2_10: ");
}

// A seeded split of tiles: each tile's windows all in one part, the fractions of tiles, the same
// tiles for a seed on every machine, and only the first max_samples windows drawn from. Run on a
// dataset that is not cut from tiles it is refused, naming the dataset and what to set instead.
TEST(Splits, DrawnByTileKeepsEachTilesWindowsTogether) {
    const std::string dir = test::temp_dir("ds_split_by_tile");
    std::filesystem::create_directories(dir + "/data");
    for (int t = 10; t < 20; ++t)
        write_tile(dir + "/data", "top_potsdam_2_" + std::to_string(t), 64, 64, "_label.tif",
                   static_cast<std::uint64_t>(t));
    const Dataset ds =
        Dataset::open(dir + "/data", DatasetOptions{.tile_patch = 32, .tile_stride = 32});
    ASSERT_EQ(ds.size(), 40u);
    const Split s = make_tile_split(ds, ds.size(), 3, 0.6, 0.2);
    std::map<std::string, std::set<int>> parts_of_tile;
    std::set<std::size_t> seen;
    int part_no = 0;
    for (const auto* part : {&s.train, &s.val, &s.test}) {
        EXPECT_TRUE(std::is_sorted(part->begin(), part->end()));
        for (const std::size_t i : *part) {
            EXPECT_TRUE(seen.insert(i).second) << "window " << i << " in two parts";
            parts_of_tile[tile_of(ds.sample(i).id)].insert(part_no);
        }
        ++part_no;
    }
    EXPECT_EQ(seen.size(), 40u);
    ASSERT_EQ(parts_of_tile.size(), 10u);
    for (const auto& [tile, parts] : parts_of_tile) EXPECT_EQ(parts.size(), 1u) << tile;
    EXPECT_EQ(s.train.size(), 6u * 4);  // 6 of 10 tiles, 4 windows each
    EXPECT_EQ(s.val.size(), 2u * 4);
    EXPECT_EQ(s.test.size(), 2u * 4);
    // The tiles drawn are those make_split draws over the tiles' indices: the same on every
    // machine.
    const Split by_index = make_split(10, 3, 0.6, 0.2);
    for (std::size_t k = 0; k < by_index.test.size(); ++k)
        EXPECT_EQ(tile_of(ds.sample(s.test[4 * k]).id),
                  "top_potsdam_2_" + std::to_string(10 + by_index.test[k]));
    const Split again = make_tile_split(ds, ds.size(), 3, 0.6, 0.2);
    EXPECT_EQ(again.test, s.test);
    EXPECT_NE(make_tile_split(ds, ds.size(), 4, 0.6, 0.2).test, s.test);
    // max_samples 6: the first tile's windows and two of the second's; both tiles are kept whole.
    const Split first = make_tile_split(ds, 6, 3, 0.5, 0.0);
    EXPECT_EQ(first.train.size(), 4u);
    EXPECT_EQ(first.test.size(), 4u);
    std::vector<std::size_t> both = first.train;
    both.insert(both.end(), first.test.begin(), first.test.end());
    std::sort(both.begin(), both.end());
    EXPECT_EQ(both, (std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7}));
    const Split one_tile = make_tile_split(ds, 4, 3, 1.0, 0.0);  // cut at a tile's end
    EXPECT_EQ(one_tile.train, (std::vector<std::size_t>{0, 1, 2, 3}));
    // A tile whose own name holds '@' is its own tile (window ids are TILE@x_y).
    EXPECT_EQ(tile_of("top_potsdam_2@0@32_0"), "top_potsdam_2@0");
    EXPECT_EQ(tile_of("top_potsdam_2_10"), "top_potsdam_2_10");

    DataSettings d;
    d.root = dir + "/data";
    d.tile_patch = d.tile_stride = 32;
    d.split_by = "tile";
    d.split_seed = 3;
    d.train_frac = 0.6;
    d.val_frac = 0.2;
    testing::internal::CaptureStderr();
    EXPECT_EQ(run_split(ds, d).test, s.test);
    const std::string logged = testing::internal::GetCapturedStderr();
    EXPECT_MESSAGE_HAS(logged,
                       "data: split by tile: 6 tiles (24 windows) for training, 2 tiles (8 "
                       "windows: top_potsdam_2_1");
    // Fractions that leave no test tile are said to.
    d.train_frac = 0.5;
    d.val_frac = 0.5;
    testing::internal::CaptureStderr();
    EXPECT_TRUE(run_split(ds, d).test.empty());
    EXPECT_MESSAGE_HAS(testing::internal::GetCapturedStderr(),
                       "the split by tile leaves no test tile (5 + 5 tiles");
    d.train_frac = 0.6;
    d.val_frac = 0.2;
    write_kaggle(dir + "/kaggle", {0, 1, 2});
    const Dataset kaggle = Dataset::open(dir + "/kaggle");
    const std::string msg = input_error_message([&] { run_split(kaggle, d); });
    EXPECT_MESSAGE_HAS(msg, "data.split_by = \"tile\" (--split-by tile)");
    EXPECT_MESSAGE_HAS(msg, dir + "/kaggle is a kaggle dataset");
    EXPECT_MESSAGE_HAS(msg, "expected \"sample\"");
    // Where the settings alone say the samples are not windows of tiles, validate() refuses it
    // before anything is read or generated.
    Config c;
    c.data.split_by = "tile";
    c.data.source = "synthetic";
    EXPECT_MESSAGE_HAS(input_error_message([&] { validate(c, "command line"); }),
                       "data.split_by = \"tile\": expected \"sample\" with data.source = "
                       "\"synthetic\"");
    c.data.source = "dataset";
    c.data.kind = "generic";
    EXPECT_MESSAGE_HAS(input_error_message([&] { validate(c, "command line"); }),
                       "expected \"sample\" with data.kind = \"generic\"");
}

// The shipped ISPRS split (experiments/splits/) puts the benchmark's 14 test tiles in test and its
// 24 training tiles in train and validation, each tile in exactly one part.
TEST(Splits, TheShippedIsprsPotsdamSplitIsTheBenchmarks) {
    const std::string dir = test::temp_dir("ds_split_isprs");
    const std::set<std::string> test_tiles = {"2_13", "2_14", "3_13", "3_14", "4_13",
                                              "4_14", "4_15", "5_13", "5_14", "5_15",
                                              "6_13", "6_14", "6_15", "7_13"};
    std::vector<std::string> tiles;
    for (int row = 2; row <= 7; ++row)
        for (int col = 7; col <= 15; ++col) {
            const std::string t = std::to_string(row) + "_" + std::to_string(col);
            const bool train = col >= 10 ? col <= 12 && row <= 7 : row >= 6;
            if (train || test_tiles.count(t)) tiles.push_back(t);
        }
    ASSERT_EQ(tiles.size(), 38u);  // the benchmark's 38 tiles
    for (const std::string& t : tiles) write_tile(dir, "top_potsdam_" + t, 8, 8, "_label.tif", 1);
    const Dataset ds = Dataset::open(dir, DatasetOptions{.tile_patch = 300, .tile_stride = 300});
    ASSERT_EQ(ds.size(), 38u);  // one window per 8x8 tile
    const std::string lists = test::source_dir() + "/experiments/splits/isprs-potsdam-";
    const Split s =
        split_from_lists(ds, lists + "train.txt", lists + "val.txt", lists + "test.txt");
    EXPECT_EQ(s.train.size(), 22u);
    EXPECT_EQ(s.val.size(), 2u);
    ASSERT_EQ(s.test.size(), 14u);
    for (std::size_t i : s.test) {
        const std::string& id = ds.sample(i).id;  // top_potsdam_R_C@0_0
        EXPECT_EQ(test_tiles.count(id.substr(12, id.find('@') - 12)), 1u) << id;
    }
}

// ---- contact sheet and CLI ---------------------------------------------------------------------

// Pictures never show "no label" in a class's colour: the dataset's ignore colour, else black,
// else a grey well away from every class; a black class's points show against it.
TEST(ContactSheet, UnlabelledNeverLooksLikeAClass) {
    EXPECT_EQ(potsdam_palette().display_unlabelled(), (Rgb{0, 0, 0}));
    Palette p;
    p.classes = {{"background", {0, 0, 0}}, {"road", {128, 128, 128}}, {"roof", {255, 0, 0}}};
    // Black and 128 are classes: the first grey well away from both (64 lay as near to each as
    // 160 to 128: a walkthrough's class of 160 hardly showed against 128).
    EXPECT_EQ(p.display_unlabelled(), (Rgb{224, 224, 224}));
    Palette crowded = p;  // no grey 150 from every class: the farthest
    for (int g = 16; g < 256; g += 48)
        crowded.classes.push_back({"g" + std::to_string(g),
                                   {static_cast<std::uint8_t>(g), static_cast<std::uint8_t>(g),
                                    static_cast<std::uint8_t>(g)}});
    const Rgb far = crowded.display_unlabelled();
    EXPECT_EQ(far[0], far[1]);
    for (const ClassInfo& k : crowded.classes) EXPECT_NE(k.colour, far) << k.name;
    p.unlabelled_colours = {{255, 0, 255}};  // the dataset's own ignore colour
    EXPECT_EQ(p.display_unlabelled(), (Rgb{255, 0, 255}));
    LabelMap m(6, 6);
    m.at(2, 2) = 0;
    const RgbImage r = render_sparse(m, p, 6, 6, 0);
    EXPECT_EQ(r.at(2, 2)[0], 0);    // the black class's point
    EXPECT_EQ(r.at(0, 0)[0], 255);  // unlabelled: magenta
    EXPECT_EQ(r.at(0, 0)[1], 0);
    const RgbImage e = p.encode(m, p.display_unlabelled());
    EXPECT_EQ(e.at(2, 2)[2], 0);
    EXPECT_EQ(e.at(5, 5)[2], 255);
    EXPECT_EQ(p.encode(m).at(5, 5)[2], 0);  // files keep black for unlabelled
}

TEST(ContactSheet, SparsePointsAreDrawnEnlarged) {
    LabelMap m(10, 10);
    m.at(5, 5) = 1;
    const RgbImage r = render_sparse(m, potsdam_palette(), 10, 10, 1);
    int coloured = 0;
    for (int y = 0; y < 10; ++y)
        for (int x = 0; x < 10; ++x)
            if (r.at(y, x)[2] == 255) {
                ++coloured;
                EXPECT_LE(std::abs(y - 5), 1);
                EXPECT_LE(std::abs(x - 5), 1);
            }
    EXPECT_EQ(coloured, 9);
    SheetOptions opt;
    opt.panel = 10;
    const RgbImage sheet = make_contact_sheet({{r, r}, {r}}, opt);
    EXPECT_EQ(sheet.width, sheet_width(2, opt));
    EXPECT_EQ(sheet.height, sheet_height(2, opt));
    EXPECT_EQ(sheet.at(opt.gap + 5, opt.gap + 5)[2], 255);
    // An image enlarged 15x: the point covers its own 15x15 block, where the dense mask shows its
    // pixel (resize_nearest), with the dot centred there (it sat at the block's corner, 7 panel
    // pixels up and left).
    // The last row and column too (their blocks reach the panel's edge), and at a scale that is
    // no whole number (20 -> 290).
    for (const int at : {10, 19, 0})
        for (const int panel : {300, 290}) {
            LabelMap small(20, 20);
            small.at(at, at) = 1;
            const RgbImage big = render_sparse(small, potsdam_palette(), panel, panel, 1);
            const RgbImage dense = resize_nearest(potsdam_palette().encode(small), panel, panel);
            int lo = panel, hi = -1;
            for (int y = 0; y < panel; ++y)
                for (int x = 0; x < panel; ++x) {
                    const bool point = big.at(y, x)[2] == 255 && big.at(y, x)[0] == 0;
                    const bool pixel = dense.at(y, x)[2] == 255 && dense.at(y, x)[0] == 0;
                    EXPECT_EQ(point, pixel)
                        << "x=" << x << " y=" << y << " at " << at << " in " << panel;
                    if (point) lo = std::min(lo, x), hi = std::max(hi, x);
                }
            if (at == 10 && panel == 300) {
                EXPECT_EQ(lo, 150);
                EXPECT_EQ(hi, 164);
            }
        }
    // Downscaled (a 20x20 mask in 7x7): every point still drawn inside the panel.
    LabelMap corner(20, 20);
    corner.at(19, 19) = 1;
    const RgbImage tiny = render_sparse(corner, potsdam_palette(), 7, 7, 0);
    EXPECT_EQ(tiny.at(6, 6)[2], 255);
}

TEST(DataCommand, StatsOnTheRealSample) {
    PFCE_REQUIRE_POTSDAM_SAMPLE(sample);
    const CommandResult r = run_pfce("data stats " + sample);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_MESSAGE_HAS(r.output, "kaggle, 2 images");
    EXPECT_MESSAGE_HAS(r.output, "300x300");
    // building: (18688 + 42166) / 180000
    EXPECT_MESSAGE_HAS(r.output, "60854");
    EXPECT_MESSAGE_HAS(r.output, "0.3381");
    const CommandResult bad = run_pfce("data stats " + sample + "/nope");
    EXPECT_EQ(bad.status, 2);
    EXPECT_MESSAGE_HAS(bad.output, "nope");
}

TEST(DataCommand, StatsAndPreviewOfASparseMaskDirectory) {
    PFCE_REQUIRE_POTSDAM_SAMPLE(sample);
    // Sparse masks of the real sample: every 97th pixel keeps its label.
    const Dataset ds = Dataset::open(sample);
    const std::string dir = test::temp_dir("ds_maskdir");
    const std::string masks = dir + "/sparse";
    std::vector<std::string> ids;
    std::vector<LabelMap> sparse;
    long labelled = 0;
    for (std::size_t i = 0; i < ds.size(); ++i) {
        LabelMap m = ds.read_mask(i);
        for (std::size_t p = 0; p < m.labels.size(); ++p)
            if (p % 97 != 0)
                m.labels[p] = 255;
            else
                ++labelled;
        ids.push_back(ds.sample(i).id);
        sparse.push_back(std::move(m));
    }
    write_mask_dir(masks, ids, sparse, ds.palette(), {{"source", sample}, {"kind", "sparse"}});
    const CommandResult st = run_pfce("data stats " + masks);
    ASSERT_EQ(st.status, 0) << st.output;
    EXPECT_MESSAGE_HAS(st.output, "sparse, 2 masks");
    EXPECT_MESSAGE_HAS(st.output, "(" + std::to_string(labelled) + " of 180000)");
    const std::string out = dir + "/sheet.png";
    const CommandResult pv =
        run_pfce("data preview " + sample + " --masks " + masks + " --out " + out);
    ASSERT_EQ(pv.status, 0) << pv.output;
    const RgbImage sheet = read_rgb(out);
    const SheetOptions opt;
    EXPECT_EQ(sheet.width, sheet_width(3, opt));  // image | colour mask | sparse mask
    EXPECT_EQ(sheet.height, titled_sheet_height(2, 3, opt, ds.palette()));
    // Labelled pixel 0 of Image_0 (impervious, white) shows as a dot in the third column, with
    // its right-hand neighbour (unlabelled in the mask) painted too: points are enlarged.
    const int ox = opt.gap + 2 * (opt.panel + opt.gap), oy = title_strip_height() + opt.gap;
    EXPECT_EQ(sheet.at(oy, ox + 1)[0], ds.palette().classes[sparse[0].labels[0]].colour[0]);
    EXPECT_EQ(sheet.at(oy, ox + 1)[2], ds.palette().classes[sparse[0].labels[0]].colour[2]);
    // Pointing preview at the mask directory itself finds the source dataset.
    const CommandResult self =
        run_pfce("data preview " + masks + " --out " + out + " --count 1 --force");
    ASSERT_EQ(self.status, 0) << self.output;
    EXPECT_EQ(read_rgb(out).height, titled_sheet_height(1, 3, opt, ds.palette()));
    // The sparse masks beside those linked from them: a column each, in the order given, and the
    // mask directory as DIR first (preview showed one or the other: a researcher's walkthrough).
    const std::string linked = dir + "/linked";
    ASSERT_EQ(
        run_pfce("link --in " + masks + " --out " + linked + " --radius 20 --device cpu").status,
        0);
    const CommandResult both = run_pfce("data preview " + sample + " --masks " + masks + " " +
                                        linked + " --out " + out + " --count 1 --force");
    ASSERT_EQ(both.status, 0) << both.output;
    EXPECT_MESSAGE_HAS(both.output, "image | mask | sparse mask | linked mask");
    EXPECT_EQ(read_rgb(out).width, sheet_width(4, opt));
    const CommandResult from_dir = run_pfce("data preview " + masks + " --masks " + linked +
                                            " --out " + out + " --count 1 --force");
    ASSERT_EQ(from_dir.status, 0) << from_dir.output;
    EXPECT_MESSAGE_HAS(from_dir.output, "image | mask | sparse mask | linked mask");
    const CommandResult twice = run_pfce("data preview " + masks + " --masks " + masks + " --out " +
                                         out + " --count 1 --force");
    EXPECT_EQ(twice.status, 2) << twice.output;
    EXPECT_MESSAGE_HAS(twice.output,
                       "is a mask directory already; --masks " + masks + " is not needed");
    // --masks with no directory after it, before --out or last: said as such (before --out, the
    // option took --out for a directory and said "--out is required").
    for (const std::string& cmd :
         {"data preview " + sample + " --masks --out " + out + " --force",
          "data preview " + sample + " --out " + out + " --force --masks"}) {
        const CommandResult none = run_pfce(cmd);
        EXPECT_EQ(none.status, 2) << cmd << "\n" << none.output;
        EXPECT_MESSAGE_HAS(none.output, "--masks: expected one or more mask directories");
    }
}

// A GeoTIFF's NoData pixels (an orthophoto's border) are left out of training and evaluation:
// data stats says how many, and as which classes the masks label them (a walkthrough's building
// points on such a border went unsaid).
TEST(DataCommand, StatsSaysLabelsOnImagePixelsWithoutData) {
    const std::string dir = test::temp_dir("stats_image_nodata");
    write_generic(dir, "[classes]\nnames = [\"a\", \"b\"]\n[mask]\nencoding = \"index\"\n");
    std::vector<std::uint8_t> rgb(3 * 8 * 6, 100);
    for (std::size_t p = 0; p < 5; ++p) rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = 0;
    test::write_raw_tiff(dir + "/images/x.tif", {.width = 8, .height = 6}, rgb, nullptr, "0");
    LabelMap m(8, 6, 0);
    for (std::size_t p = 0; p < 5; ++p) m.labels[p] = p < 3 ? 1 : 255;
    write_tiff_gray(dir + "/masks/x.tif", m);
    const CommandResult r = run_pfce("data stats " + dir);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_MESSAGE_HAS(
        r.output,
        "5 image pixels in 1 image have no data (transparent, a GeoTIFF NoData "
        "value, or NaN), and the masks label 3 of them (b 3): training and evaluation "
        "leave them out (unlabelled), as predict leaves them without a class");
    for (std::size_t p = 0; p < 5; ++p) m.labels[p] = 255;
    write_tiff_gray(dir + "/masks/x.tif", m);
    const CommandResult unlabelled = run_pfce("data stats " + dir);
    ASSERT_EQ(unlabelled.status, 0) << unlabelled.output;
    EXPECT_MESSAGE_HAS(unlabelled.output,
                       "5 image pixels in 1 image have no data (transparent, "
                       "a GeoTIFF NoData value, or NaN), none labelled in the masks");
}

// Image pixels without data (a GeoTIFF's NoData value in every band, transparent pixels of an
// RGBA orthophoto) have no truth to score and nothing to teach: training and evaluation read them
// unlabelled in the dense masks and the training labels alike, as predict leaves them without a
// class (eval scored a NoData border predict leaves out: building IoU 0.44 for 0.69, and refused
// an RGBA tile with advice that kept its alpha band: walkthrough). An alpha band mostly partly
// transparent (infrared tagged as alpha) is still refused, naming how to tag it.
TEST(GenericDataset, ImagePixelsWithoutDataAreUnlabelledForTrainingAndEvaluation) {
    const std::string dir = test::temp_dir("ds_image_nodata");
    write_generic(dir, "[classes]\nnames = [\"a\", \"b\"]\n[mask]\nencoding = \"index\"\n");
    const int w = 8, h = 6;
    std::vector<std::uint8_t> rgb(3 * w * h, 100);
    for (std::size_t p = 0; p < 5; ++p) rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = 0;
    test::write_raw_tiff(dir + "/images/geo.tif", {.width = w, .height = h}, rgb, nullptr, "0");
    // An RGBA PNG whose first row is transparent.
    std::vector<std::uint8_t> rgba;
    for (int p = 0; p < w * h; ++p)
        rgba.insert(rgba.end(), {90, 120, 150, static_cast<std::uint8_t>(p < w ? 0 : 255)});
    png_image img{};
    img.version = PNG_IMAGE_VERSION;
    img.width = w;
    img.height = h;
    img.format = PNG_FORMAT_RGBA;
    ASSERT_TRUE(png_image_write_to_file(&img, (dir + "/images/rgba.png").c_str(), 0, rgba.data(), 0,
                                        nullptr));
    LabelMap m(w, h, 1);
    write_tiff_gray(dir + "/masks/geo.tif", m);
    write_tiff_gray(dir + "/masks/rgba.tif", m);
    const Dataset ds = Dataset::open(dir, {DatasetKind::generic});
    ASSERT_EQ(ds.size(), 2u);
    testing::internal::CaptureStderr();
    const std::vector<SampleData> got = load_samples(ds, {0, 1}, "", /*scored=*/true);
    const std::string said = testing::internal::GetCapturedStderr();
    EXPECT_MESSAGE_HAS(said,
                       "/images/geo.tif: 5 pixels have no data (transparent, the GeoTIFF "
                       "NoData value in every band, or NaN), 5 of them labelled in its mask: left "
                       "out of training and evaluation");
    EXPECT_EQ(said.find("rgba.png"), std::string::npos) << "said once a dataset";
    for (std::size_t k = 0; k < 2; ++k) {
        const std::size_t unlabelled = ds.sample(k).id == "geo" ? 5 : static_cast<std::size_t>(w);
        ASSERT_EQ(got[k].no_data.size(), static_cast<std::size_t>(w * h));  // for fill_no_data
        EXPECT_EQ(std::count(got[k].no_data.begin(), got[k].no_data.end(), 1),
                  static_cast<std::ptrdiff_t>(unlabelled));
        for (const LabelMap* l : {&got[k].dense, &got[k].train_labels})
            for (std::size_t p = 0; p < l->labels.size(); ++p)
                ASSERT_EQ(l->labels[p], p < unlabelled ? 255 : 1) << ds.sample(k).id << " " << p;
    }
    // A PNG chip whose .aux.xml gives NoDataValue 0 in every band (GDAL's way for a chip): its
    // black pixels have no data for training and evaluation as for predict (the sidecar was
    // predict's alone: probe).
    RgbImage chip = test::random_rgb(w, h, 9);
    for (int x = 0; x < w; ++x) chip.at(0, x)[0] = chip.at(0, x)[1] = chip.at(0, x)[2] = 0;
    for (std::size_t i = 3 * static_cast<std::size_t>(w); i < chip.pixels.size(); ++i)
        chip.pixels[i] = std::max<std::uint8_t>(chip.pixels[i], 1);
    write_png(dir + "/images/chip.png", chip);
    write_tiff_gray(dir + "/masks/chip.tif", m);
    std::ofstream(dir + "/images/chip.png.aux.xml")
        << "<PAMDataset><PAMRasterBand band=\"1\"><NoDataValue>0</NoDataValue></PAMRasterBand>"
           "<PAMRasterBand band=\"2\"><NoDataValue>0</NoDataValue></PAMRasterBand>"
           "<PAMRasterBand band=\"3\"><NoDataValue>0</NoDataValue></PAMRasterBand></PAMDataset>";
    const Dataset with_chip = Dataset::open(dir, {DatasetKind::generic});
    std::size_t c = 0;
    while (with_chip.sample(c).id != "chip") ++c;
    testing::internal::CaptureStderr();
    const std::vector<SampleData> chip_read = load_samples(with_chip, {c}, "", true);
    testing::internal::GetCapturedStderr();
    EXPECT_EQ(std::count(chip_read[0].no_data.begin(), chip_read[0].no_data.end(), 1), w);
    for (std::size_t p = 0; p < chip_read[0].dense.labels.size(); ++p)
        ASSERT_EQ(chip_read[0].dense.labels[p], p < static_cast<std::size_t>(w) ? 255 : 1) << p;
    // No point is drawn on a pixel without data (training would drop it, and a link from it
    // would label pixels with data: probe): 90000 a class keeps every pixel with data, and none
    // without.
    const std::string sparse = dir + "/sparse";
    ASSERT_EQ(
        test::run_pfce("sample --data " + dir + " --out " + sparse + " --points 90000").status, 0);
    const MaskDir md = open_mask_dir(sparse);
    for (const std::string id : {"geo", "rgba", "chip"}) {
        const LabelMap pts = read_mask_png(md, id, with_chip.palette());
        const std::size_t none = id == "geo" ? 5 : static_cast<std::size_t>(w);
        std::size_t labelled = 0;
        for (std::size_t p = 0; p < pts.labels.size(); ++p) {
            if (p < none) EXPECT_EQ(pts.labels[p], 255) << id << " pixel " << p;
            labelled += pts.labels[p] != 255;
        }
        EXPECT_EQ(labelled, pts.labels.size() - none) << id << ": every pixel with data kept";
    }
    std::filesystem::remove_all(sparse);
    std::filesystem::remove(dir + "/images/chip.png");
    std::filesystem::remove(dir + "/images/chip.png.aux.xml");
    std::filesystem::remove(dir + "/masks/chip.tif");
    // Partly transparent almost everywhere: a measurement tagged as alpha, refused as read_rgb
    // refuses it.
    for (int p = 0; p < w * h; ++p) rgba[4 * static_cast<std::size_t>(p) + 3] = 128;
    ASSERT_TRUE(png_image_write_to_file(&img, (dir + "/images/rgba.png").c_str(), 0, rgba.data(), 0,
                                        nullptr));
    EXPECT_MESSAGE_HAS(test::input_error_message([&] {
                           load_samples(ds, {0, 1}, "");
                       }),
                       "48 of its pixels are transparent by its alpha band (band 4), 48 of them "
                       "only partly, as a band of measurements tagged as alpha would be");
}

TEST(DataCommand, PreviewWritesADecodableSheet) {
    PFCE_REQUIRE_POTSDAM_SAMPLE(sample);
    const std::string dir = test::temp_dir("ds_preview");
    const std::string out = dir + "/sheet.png";
    const CommandResult r = run_pfce("data preview " + sample + " --out " + out + " --count 8");
    ASSERT_EQ(r.status, 0) << r.output;
    const RgbImage sheet = read_rgb(out);
    const SheetOptions opt;  // the command's defaults: panel 300
    const Dataset ds = Dataset::open(sample);
    EXPECT_EQ(sheet.width, sheet_width(2, opt));                            // image | colour mask
    EXPECT_EQ(sheet.height, titled_sheet_height(2, 2, opt, ds.palette()));  // only 2 samples
    // The colour mask panel of the first row holds the palette colours of Label_0.
    const RgbImage mask0 = ds.palette().encode(ds.read_mask(0));
    const int ox = opt.gap * 2 + opt.panel, oy = title_strip_height() + opt.gap;
    for (int y = 0; y < 300; y += 37)
        for (int x = 0; x < 300; x += 41)
            for (int c = 0; c < 3; ++c) ASSERT_EQ(sheet.at(oy + y, ox + x)[c], mask0.at(y, x)[c]);
}

// Text on pictures: the glyphs ink where they should (a '|' is one column, a space nothing), a
// UTF-8 name past Latin-1 is drawn as code points, text too long for its room is cut with "...", a
// legend wraps to its width and shows each class's colour inside an outline of the text's colour.
TEST(PictureText, GlyphsTitlesAndLegend) {
    EXPECT_EQ(text_width("abc"), 3 * text_width("a"));
    EXPECT_EQ(text_width("Gebäude"), text_width("Gebaude"));  // 'ä' is two bytes, one character
    // Latin-1 letters have glyphs of their own ('ä' is no 'a' with nothing on it, and no '?');
    // a character past Latin-1 ('€', three bytes) is one '?'.
    auto drawn = [](const std::string& text) {
        RgbImage im(text_width(text), text_line_height());
        std::fill(im.pixels.begin(), im.pixels.end(), std::uint8_t{255});
        draw_text(im, 0, 0, text, Rgb{0, 0, 0});
        return im.pixels;
    };
    EXPECT_NE(drawn("ä"), drawn("a"));
    EXPECT_NE(drawn("ä"), drawn("?"));
    EXPECT_NE(drawn("é"), drawn("è"));
    // Past Latin-1, a character is its code point in hex: 東京 and 日本 (both "??" before, two
    // rows of a sheet no one could tell apart) stay apart; a malformed sequence is one '?'.
    EXPECT_EQ(drawn("€"), drawn("<20AC>"));
    EXPECT_EQ(text_width("東京"), text_width("<6771><4EAC>"));
    EXPECT_NE(drawn("東京"), drawn("日本"));
    EXPECT_EQ(drawn("\xE6\x9D"), drawn("?"));
    EXPECT_EQ(drawn("\xF0\x9F\x98\x80"), drawn("<1F600>"));
    EXPECT_EQ(fit_text("東京 tower", 9 * text_width("a")), "東...");
    EXPECT_EQ(drawn("\x80"), drawn(""));  // a stray continuation byte is no character
    // A letter and a combining accent (NFD, as macOS names files): the Latin-1 letter they make
    // ("e" + U+0301 is "é"), or the letter alone where Latin-1 has none ("c" + caron); never '?'.
    EXPECT_EQ(drawn("Ve\u0301ge\u0301tation"), drawn("Végétation"));
    EXPECT_EQ(drawn("A\u030A y\u0308 N\u0303 c\u0327"), drawn("Å ÿ Ñ ç"));
    EXPECT_EQ(drawn("Brnoc\u030C"), drawn("Brnoc"));
    EXPECT_EQ(drawn("\u0301x"), drawn("x"));  // a mark with no letter before it: nothing
    EXPECT_EQ(fit_text("Ve\u0301ge\u0301tation basse", 6 * text_width("a")), "Ve\u0301g...");
    EXPECT_EQ(fit_text("Ve\u0301ge\u0301tation", 9 * text_width("a")), "Ve\u0301ge\u0301ta...");
    EXPECT_EQ(fit_text("building", 100), "building");
    const std::string cut = fit_text("impervious surfaces", 10 * text_width("a"));
    EXPECT_EQ(cut, "impervi...");  // ten characters of room
    EXPECT_EQ(fit_text("car", 2 * text_width("a")), "..");
    EXPECT_EQ(text_width(fit_text("Gebäude und Straßen", 8 * text_width("a"))),
              8 * text_width("a"));

    const Rgb white{255, 255, 255}, black{0, 0, 0};
    EXPECT_EQ(text_colour_on(white), black);
    EXPECT_EQ(text_colour_on(Rgb{96, 96, 96}), white);
    RgbImage img(40, 20);
    std::fill(img.pixels.begin(), img.pixels.end(), std::uint8_t{255});
    draw_text(img, 0, 0, " ", black);
    EXPECT_TRUE(
        std::all_of(img.pixels.begin(), img.pixels.end(), [](std::uint8_t v) { return v == 255; }));
    draw_text(img, 10, 2, "|", black);
    std::set<int> columns;
    int inked = 0;
    for (int y = 0; y < img.height; ++y)
        for (int x = 0; x < img.width; ++x)
            if (img.at(y, x)[0] < 128) {
                columns.insert(x);
                ++inked;
            }
    EXPECT_EQ(columns.size(), 1u);  // a vertical bar, one pixel wide
    EXPECT_GE(inked, 10);
    EXPECT_GE(*columns.begin(), 10);
    draw_text(img, -5, -5, "W", black);  // partly outside: clipped, not written out of bounds
    draw_text(img, 38, 15, "W", black);

    // The legend: one line when wide, several when narrow, each swatch its class's colour.
    const Palette& pal = potsdam_palette();
    const std::vector<LegendEntry> entries = class_legend(pal);
    ASSERT_EQ(entries.size(), pal.classes.size() + 1);
    EXPECT_EQ(entries.back().name, "unlabelled");
    const RgbImage wide = legend_strip(entries, 2000, white);
    const RgbImage narrow = legend_strip(entries, 200, white);
    EXPECT_EQ(wide.width, 2000);
    EXPECT_GT(narrow.height, 3 * wide.height);
    auto count_colour = [](const RgbImage& im, const Rgb& c) {
        int n = 0;
        for (int y = 0; y < im.height; ++y)
            for (int x = 0; x < im.width; ++x)
                if (std::equal(c.begin(), c.end(), im.at(y, x))) ++n;
        return n;
    };
    for (const ClassInfo& c : pal.classes)
        if (c.colour != white) {
            EXPECT_GE(count_colour(narrow, c.colour), 25) << c.name;
        }
    // Titles centred over their columns: ink over each column, none between.
    const RgbImage titles = title_strip({"image", "mask"}, {0, 100}, {60, 60}, 160, white);
    EXPECT_EQ(titles.height, title_strip_height());
    auto ink_in = [&](int x0, int x1) {
        for (int y = 0; y < titles.height; ++y)
            for (int x = x0; x < x1; ++x)
                if (titles.at(y, x)[0] < 128) return true;
        return false;
    };
    EXPECT_TRUE(ink_in(0, 60));
    EXPECT_FALSE(ink_in(60, 100));
    EXPECT_TRUE(ink_in(100, 160));
    const RgbImage stacked =
        titled_picture(RgbImage(160, 50), {"image", "mask"}, {0, 100}, {60, 60}, entries, white);
    EXPECT_EQ(stacked.height, title_strip_height() + 50 + legend_strip(entries, 240, white).height);
    EXPECT_EQ(stacked.width, 240);  // a narrow picture is widened for its legend's names
    EXPECT_EQ(titled_picture(RgbImage(400, 50), {}, {}, {}, entries, white).width, 400);
}
