// Datasets as people bring them: JPEG images, images of different sizes (random crops for
// training, sliding windows for evaluation and prediction), official split lists, and GeoTIFFs
// whose predictions keep their georeference. The end-to-end case runs a generic dataset with a
// black class, a grey ignore colour, JPEG images and four image sizes through sample, link, train
// with crops and eval, checking the labelled fraction at every stage.
#include <gtest/gtest.h>
#include <png.h>
#include <tiffio.h>

#include <cstdio>
// jpeglib.h needs FILE and size_t declared first.
#include <jpeglib.h>

#include <nlohmann/json.hpp>

#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <regex>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/op_params.hpp"
#include "data/dataset.hpp"
#include "data/georef.hpp"
#include "data/image_io.hpp"
#include "data/mask_dir.hpp"
#include "data/qgis_style.hpp"
#include "data/rpc_model.hpp"
#include "data/sparse_sampler.hpp"
#include "host/train/checkpoint.hpp"
#include "host/train/memory_estimate.hpp"
#include "host/train/sliding_window.hpp"
#include "models/unet.hpp"
#include "tests/foreign_dataset.hpp"
#include "tests/json_output.hpp"
#include "tests/raw_tiff.hpp"
#include "tests/test_util.hpp"

using namespace pfce;
namespace fs = std::filesystem;

namespace {

const std::string kTiny = " --batch-size 4 --width 4 --depth 2 --device cpu";

// Index masks whose classes have the pixel values `values` (mask.values).
test::ForeignSpec index_spec(std::vector<int> values) {
    test::ForeignSpec spec;
    spec.index_masks = true;
    spec.index_values = std::move(values);
    return spec;
}

// The test's own GeoTIFF writer (raw libtiff, its own field declarations), independent of pfce's.
const TIFFFieldInfo kGeoFields[] = {
    {33550, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1, const_cast<char*>("ModelPixelScaleTag")},
    {33922, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1, const_cast<char*>("ModelTiepointTag")},
    {34735, -1, -1, TIFF_SHORT, FIELD_CUSTOM, 1, 1, const_cast<char*>("GeoKeyDirectoryTag")},
    {34737, -1, -1, TIFF_ASCII, FIELD_CUSTOM, 1, 0, const_cast<char*>("GeoASCIIParamsTag")},
};
void declare_geo_fields(TIFF* t) {
    for (const TIFFFieldInfo& f : kGeoFields)
        if (!TIFFFindField(t, f.field_tag, TIFF_ANY)) TIFFMergeFieldInfo(t, &f, 1);
}

const std::vector<double> kScale = {0.05, 0.05, 0.0};
const std::vector<double> kTie = {0, 0, 0, 366012.5, 5808070.25, 0};
// Version 1.1.0, 3 keys: model type projected, raster pixel-is-area, projected CRS EPSG:25832.
const std::vector<std::uint16_t> kKeys = {1,    1, 0, 3, 1024, 0, 1, 1,
                                          1025, 0, 1, 1, 3072, 0, 1, 25832};

// RGB, or with `infrared` (one value per pixel) RGB + IR as Potsdam's 4_Ortho_RGBIR tiles are.
// `gcps`: tie points (I, J, K, X, Y, Z each) without a pixel size, in place of the grid's tags.
void write_geotiff(const std::string& path, const RgbImage& img,
                   const std::vector<std::uint8_t>* infrared = nullptr, bool grid_tags = true,
                   const std::vector<double>* gcps = nullptr) {
    TIFF* t = TIFFOpen(path.c_str(), "w");
    ASSERT_NE(t, nullptr);
    declare_geo_fields(t);
    const int bands = infrared ? 4 : 3;
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, static_cast<std::uint32_t>(img.width));
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, static_cast<std::uint32_t>(img.height));
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, bands);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 8);
    if (infrared) {
        const std::uint16_t extra = EXTRASAMPLE_UNSPECIFIED;
        TIFFSetField(t, TIFFTAG_EXTRASAMPLES, 1, &extra);
    }
    if (gcps)
        TIFFSetField(t, 33922, static_cast<std::uint16_t>(gcps->size()), gcps->data());
    else if (grid_tags) {  // else its CRS alone, placed by a world file (a .tfw beside it)
        TIFFSetField(t, 33550, static_cast<std::uint16_t>(kScale.size()), kScale.data());
        TIFFSetField(t, 33922, static_cast<std::uint16_t>(kTie.size()), kTie.data());
    }
    TIFFSetField(t, 34735, static_cast<std::uint16_t>(kKeys.size()), kKeys.data());
    TIFFSetField(t, 34737, "ETRS89 / UTM zone 32N|");
    std::vector<std::uint8_t> row(static_cast<std::size_t>(img.width) * bands);
    for (int y = 0; y < img.height; ++y) {
        for (int x = 0; x < img.width; ++x) {
            std::copy(img.at(y, x), img.at(y, x) + 3, &row[static_cast<std::size_t>(x) * bands]);
            if (infrared)
                row[static_cast<std::size_t>(x) * bands + 3] =
                    (*infrared)[static_cast<std::size_t>(y) * img.width + x];
        }
        TIFFWriteScanline(t, row.data(), static_cast<std::uint32_t>(y), 0);
    }
    TIFFClose(t);
}

// An unsigned 16-bit band stack (pixel-interleaved), as multispectral GeoTIFFs ship.
void write_tiff16(const std::string& path, int w, int h, int bands,
                  const std::vector<std::uint16_t>& samples) {
    TIFF* t = TIFFOpen(path.c_str(), "w");
    ASSERT_NE(t, nullptr);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, static_cast<std::uint32_t>(w));
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, static_cast<std::uint32_t>(h));
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, bands);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 16);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 4);
    std::vector<std::uint16_t> extra(static_cast<std::size_t>(bands - 1), EXTRASAMPLE_UNSPECIFIED);
    TIFFSetField(t, TIFFTAG_EXTRASAMPLES, static_cast<std::uint16_t>(extra.size()), extra.data());
    std::vector<std::uint16_t> row(static_cast<std::size_t>(w) * bands);
    for (int y = 0; y < h; ++y) {
        std::copy_n(&samples[static_cast<std::size_t>(y) * row.size()], row.size(), row.begin());
        TIFFWriteScanline(t, row.data(), static_cast<std::uint32_t>(y), 0);
    }
    TIFFClose(t);
}

}  // namespace

TEST(SlidingWindow, StartsCoverEverySideWithOneWindowSize) {
    EXPECT_EQ(window_starts(100, 128, 96), (std::vector<int>{0}));
    EXPECT_EQ(window_starts(128, 128, 96), (std::vector<int>{0}));
    EXPECT_EQ(window_starts(300, 128, 96), (std::vector<int>{0, 96, 172}));
    EXPECT_EQ(window_starts(224, 128, 96), (std::vector<int>{0, 96}));
}

TEST(SlidingWindow, EqualsAveragingEveryWindowIntoTheWholeImage) {
    auto b = test::cpu_backend();
    UNetConfig uc;
    uc.num_classes = 4;
    uc.depth = 2;
    uc.base_width = 4;
    UNet net(*b, uc, 7);
    const LabelMap lab = test::foreign_labels(70, 53, 1);
    const RgbImage img = test::foreign_image(lab, 1);
    ChannelStats st;
    st.mean[0] = st.mean[1] = st.mean[2] = 100;
    st.std[0] = st.std[1] = st.std[2] = 50;
    SlidingWindow sw;
    sw.window = 32;
    sw.overlap = 8;
    sw.batch = 3;
    // Oracle: every window's logits summed into full-size arrays, divided by the cover count.
    const int C = 4, W = img.width, H = img.height;
    std::vector<double> acc(static_cast<std::size_t>(C) * W * H, 0),
        cnt(static_cast<std::size_t>(W) * H, 0);
    for (int y0 : window_starts(H, 32, 24))
        for (int x0 : window_starts(W, 32, 24)) {
            RgbImage crop(32, 32);
            for (int y = 0; y < 32; ++y)
                for (int x = 0; x < 32; ++x)
                    for (int c = 0; c < 3; ++c) crop.at(y, x)[c] = img.at(y0 + y, x0 + x)[c];
            Tensor logits_host;
            sliding_logits(
                *b, net, crop, st, SlidingWindow{32, 8, 1}, [&](int ry, int n, const float* l) {
                    for (int c = 0; c < C; ++c)
                        for (int y = 0; y < n; ++y)
                            for (int x = 0; x < 32; ++x)
                                acc[(static_cast<std::size_t>(c) * H + y0 + ry + y) * W + x0 + x] +=
                                    l[(static_cast<std::size_t>(c) * n + y) * 32 + x];
                });
            for (int y = 0; y < 32; ++y)
                for (int x = 0; x < 32; ++x)
                    cnt[static_cast<std::size_t>(y0 + y) * W + x0 + x] += 1;
        }
    std::size_t checked = 0;
    sliding_logits(*b, net, img, st, sw, [&](int y0, int n, const float* l) {
        for (int c = 0; c < C; ++c)
            for (int y = 0; y < n; ++y)
                for (int x = 0; x < W; ++x) {
                    const std::size_t p = static_cast<std::size_t>(y0 + y) * W + x;
                    const double want = acc[static_cast<std::size_t>(c) * H * W + p] / cnt[p];
                    ASSERT_NEAR(l[(static_cast<std::size_t>(c) * n + y) * W + x], want,
                                1e-4 * (1 + std::abs(want)))
                        << "class " << c << " at (" << x << ", " << y0 + y << ")";
                    ++checked;
                }
    });
    EXPECT_EQ(checked, static_cast<std::size_t>(C) * W * H);
}

// An index mask saved as a palette image of grays whose entries show other grays: the entries
// are the labels (as GDAL and PIL read them), and pfce says so once, since a viewer shows the
// grays; grays that agree with their entries, and colour palettes, are not mentioned.
TEST(RealDatasets, IndexMasksAsPalettesOfOtherGraysAreSaid) {
    const std::string root = test::temp_dir("real_gray_palette");
    const auto fd = test::write_foreign_dataset(root + "/data", index_spec({}));
    const std::string stats = "data stats " + fd.root;
    EXPECT_EQ(test::run_pfce(stats).output.find("palette image of grays"), std::string::npos);
    auto rewrite = [&](const std::vector<Rgb>& colours) {
        for (const std::string& id : fd.ids) {
            const std::string path = fd.root + "/masks/" + id + ".png";
            write_png_indexed(path, read_gray(path), colours);
        }
    };
    std::vector<Rgb> agree(256), shifted(256), coloured(256);
    for (int v = 0; v < 256; ++v) {
        const auto g = static_cast<std::uint8_t>(v);
        agree[v] = Rgb{g, g, g};
        shifted[v] =
            Rgb{static_cast<std::uint8_t>((v + 1) % 256), static_cast<std::uint8_t>((v + 1) % 256),
                static_cast<std::uint8_t>((v + 1) % 256)};
        coloured[v] = Rgb{g, 0, 0};
    }
    rewrite(agree);
    EXPECT_EQ(test::run_pfce(stats).output.find("palette image of grays"), std::string::npos);
    rewrite(coloured);
    EXPECT_EQ(test::run_pfce(stats).output.find("palette image of grays"), std::string::npos);
    rewrite(shifted);
    const test::CommandResult r = test::run_pfce(stats);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_MESSAGE_HAS(r.output, "a palette image of grays whose entry 0 is shown as gray 1");
    EXPECT_EQ(r.output.find("palette image of grays"), r.output.rfind("palette image of grays"))
        << "said once";
}

// An image in a format pfce does not read is named where its mask lacks a partner (before, only
// "has no image", while the file was there).
TEST(RealDatasets, APartnerInAFormatNotReadIsNamed) {
    const std::string root = test::temp_dir("real_unread_partner");
    const auto fd = test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    fs::rename(fd.root + "/images/tile_2.png", fd.root + "/images/tile_2.bmp");
    std::ofstream(fd.root + "/images/tile_2.tfw") << "1\n0\n0\n-1\n0\n0\n";  // not an image
    try {
        Dataset::open(fd.root);
        FAIL() << "a mask without a readable image was accepted";
    } catch (const InputError& e) {
        EXPECT_MESSAGE_HAS(std::string(e.what()), "masks/tile_2.png has no image");
        EXPECT_MESSAGE_HAS(std::string(e.what()),
                           "images/tile_2.bmp is there, but .bmp files are not read");
    }
}

TEST(RealDatasets, JpegImagesReadAndJpegMasksAreRefused) {
    const std::string root = test::temp_dir("real_jpeg");
    const LabelMap lab = test::foreign_labels(40, 24, 2);
    const RgbImage img = test::foreign_image(lab, 2);
    test::write_jpeg_for_test(root + "/x.jpg", img);
    const ImageInfo info = probe_image(root + "/x.jpg");
    EXPECT_EQ(info.width, 40);
    EXPECT_EQ(info.height, 24);
    const RgbImage back = read_rgb(root + "/x.jpg");
    ASSERT_EQ(back.pixels.size(), img.pixels.size());
    double diff = 0;
    for (std::size_t i = 0; i < img.pixels.size(); ++i)
        diff += std::abs(int(back.pixels[i]) - int(img.pixels[i]));
    EXPECT_LT(diff / static_cast<double>(img.pixels.size()), 12.0);  // lossy, but the same picture
    // A JPEG mask would change label values: refused, naming it.
    test::ForeignSpec spec;
    const auto fd = test::write_foreign_dataset(root + "/data", spec);
    fs::remove(fd.root + "/masks/tile_0.png");
    test::write_jpeg_for_test(fd.root + "/masks/tile_0.jpg", img);
    try {
        Dataset::open(fd.root);
        FAIL() << "a JPEG mask was accepted";
    } catch (const InputError& e) {
        EXPECT_MESSAGE_HAS(std::string(e.what()), "tile_0.jpg");
        EXPECT_MESSAGE_HAS(std::string(e.what()), "lossy");
        // colour_tolerance, made for lossy masks, does not read a JPEG: the way that works said.
        EXPECT_MESSAGE_HAS(std::string(e.what()),
                           "convert the masks to PNG, then set [mask] "
                           "colour_tolerance");
    }
}

// Masks in TIFFs compressed by LERC or WebP (GDAL writes both; lossy unless asked otherwise, and
// the header does not say) are refused as JPEG ones are: a LERC mask with MAX_Z_ERROR 1 was read
// with 720 of 4800 pixels in another class, without a word.
TEST(RealDatasets, MasksOfCodecsThatMayBeLossyAreRefused) {
    const std::string root = test::temp_dir("real_lossy_tiff");
    test::ForeignSpec spec;
    const auto fd = test::write_foreign_dataset(root + "/data", spec);
    const std::string png = fd.root + "/masks/tile_0.png", tif = fd.root + "/masks/tile_0.tif";
    const RgbImage mask = read_rgb(png);
    fs::remove(png);
    for (const auto& [codec, name] :
         {std::pair{COMPRESSION_LERC, "LERC"}, std::pair{COMPRESSION_WEBP, "WebP"}}) {
        if (!TIFFIsCODECConfigured(codec)) {
            ADD_FAILURE() << "this libtiff cannot write " << name;  // Debian 12's writes both
            continue;
        }
        TIFF* t = TIFFOpen(tif.c_str(), "w");
        ASSERT_NE(t, nullptr);
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, mask.width);
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, mask.height);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3);
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
        TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
        TIFFSetField(t, TIFFTAG_COMPRESSION, codec);
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, mask.height);
        ASSERT_GE(TIFFWriteEncodedStrip(t, 0, const_cast<std::uint8_t*>(mask.pixels.data()),
                                        static_cast<tmsize_t>(mask.pixels.size())),
                  0);
        TIFFClose(t);
        EXPECT_EQ(probe_image(tif).lossy, name);
        try {
            Dataset::open(fd.root);
            ADD_FAILURE() << "a " << name << " mask was accepted";
        } catch (const InputError& e) {
            EXPECT_MESSAGE_HAS(std::string(e.what()), "tile_0.tif");
            EXPECT_MESSAGE_HAS(std::string(e.what()), std::string(name) + "-compressed mask");
            EXPECT_MESSAGE_HAS(std::string(e.what()), "COMPRESS=DEFLATE");
        }
    }
}

// The bytes of `path`, and `path` rewritten with `bytes`.
std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
}

// A JPEG whose scan data is damaged (end markers written over the middle of it, as a cut-off
// download or a bad sector leaves it) is an error naming the file and libjpeg's reason, not a
// picture whose lower part is grey blocks; a cut-off file too.
TEST(RealDatasets, DamagedJpegIsAnErrorNotGreyBlocks) {
    const std::string root = test::temp_dir("real_jpeg_damage");
    const LabelMap lab = test::foreign_labels(96, 96, 3);
    test::write_jpeg_for_test(root + "/x.jpg", test::foreign_image(lab, 3));
    ASSERT_NO_THROW(read_rgb(root + "/x.jpg"));
    std::string bytes = file_bytes(root + "/x.jpg");
    ASSERT_GT(bytes.size(), 1000u);
    for (std::size_t i = bytes.size() / 2; i < bytes.size() / 2 + 10; i += 2)
        bytes.replace(i, 2, "\xff\xd9");
    write_bytes(root + "/damaged.jpg", bytes);
    try {
        read_rgb(root + "/damaged.jpg");
        FAIL() << "a damaged JPEG decoded without a word";
    } catch (const InputError& e) {
        EXPECT_MESSAGE_HAS(std::string(e.what()), root + "/damaged.jpg");
        EXPECT_MESSAGE_HAS(std::string(e.what()), "corrupt JPEG");
    }
    // Bytes in the middle of the scan that the decoder skips as "extraneous" are damage too; zero
    // padding before the end marker (some encoders write it) is not.
    const std::string good = file_bytes(root + "/x.jpg");
    write_bytes(root + "/extra.jpg",
                good.substr(0, good.size() / 2) + "!\"#$%&'()" + good.substr(good.size() / 2));
    try {
        read_rgb(root + "/extra.jpg");
        FAIL() << "a JPEG with bytes inserted into its scan decoded without a word";
    } catch (const InputError& e) {
        EXPECT_MESSAGE_HAS(std::string(e.what()), "corrupt JPEG");
    }
    write_bytes(root + "/padded.jpg", good.substr(0, good.size() - 2) + std::string(3, '\0') +
                                          good.substr(good.size() - 2));
    EXPECT_EQ(read_rgb(root + "/padded.jpg").pixels, read_rgb(root + "/x.jpg").pixels);
    write_bytes(root + "/cut.jpg", file_bytes(root + "/x.jpg").substr(0, bytes.size() * 2 / 3));
    try {
        read_rgb(root + "/cut.jpg");
        FAIL() << "a cut-off JPEG decoded without a word";
    } catch (const InputError& e) {
        EXPECT_MESSAGE_HAS(std::string(e.what()), "truncated or corrupt JPEG");
    }
}

// JPEGs that are whole but not of what pfce reads are said as such, not as damage nor with advice
// about bands that cannot help: 12-bit samples (the precision byte of the frame header), and two
// components (written by libjpeg itself: JCS_UNKNOWN takes any count).
TEST(RealDatasets, JpegOfOtherPrecisionOrComponentsIsNamedAsSuch) {
    const std::string root = test::temp_dir("real_jpeg_kinds");
    test::write_jpeg_for_test(root + "/x.jpg",
                              test::foreign_image(test::foreign_labels(24, 16, 1), 1));
    std::string bytes = file_bytes(root + "/x.jpg");
    const std::size_t sof = bytes.find("\xff\xc0");
    ASSERT_NE(sof, std::string::npos);
    ASSERT_EQ(bytes[sof + 4], '\x08');  // FFC0, length (2 bytes), precision
    bytes[sof + 4] = '\x0c';
    write_bytes(root + "/deep.jpg", bytes);
    for (const auto& read : std::vector<std::function<void()>>{
             [&] { read_rgb(root + "/deep.jpg"); }, [&] { probe_image(root + "/deep.jpg"); }}) {
        const std::string msg = test::input_error_message(read);
        EXPECT_MESSAGE_HAS(msg, "deep.jpg: JPEG of 12-bit samples is not read");
        EXPECT_EQ(msg.find("corrupt"), std::string::npos) << msg;
    }

    const std::string two = root + "/two.jpg";
    {
        jpeg_compress_struct c{};
        jpeg_error_mgr err{};
        c.err = jpeg_std_error(&err);
        jpeg_create_compress(&c);
        std::FILE* f = std::fopen(two.c_str(), "wb");
        ASSERT_NE(f, nullptr);
        jpeg_stdio_dest(&c, f);
        c.image_width = 8;
        c.image_height = 8;
        c.input_components = 2;
        c.in_color_space = JCS_UNKNOWN;
        jpeg_set_defaults(&c);
        jpeg_start_compress(&c, TRUE);
        std::vector<JSAMPLE> row(16, 100);
        JSAMPROW rows[1] = {row.data()};
        while (c.next_scanline < c.image_height) jpeg_write_scanlines(&c, rows, 1);
        jpeg_finish_compress(&c);
        jpeg_destroy_compress(&c);
        std::fclose(f);
    }
    for (const auto& read :
         std::vector<std::function<void()>>{[&] { read_rgb(two); }, [&] { probe_image(two); }}) {
        const std::string msg = test::input_error_message(read);
        EXPECT_MESSAGE_HAS(msg, "two.jpg: JPEG with 2 components is not read");
        EXPECT_EQ(msg.find("bands"), std::string::npos) << msg;
    }
}

// A photo's EXIF Orientation says viewers (and labelling tools) show it turned, while pfce reads
// the stored pixels: which of the two a mask follows is unknowable, so it is refused, naming the
// file and what a viewer shows. Orientation 1 (as stored) reads as before.
TEST(RealDatasets, JpegWithExifOrientationIsRefusedNamingIt) {
    const std::string root = test::temp_dir("real_jpeg_exif");
    const LabelMap lab = test::foreign_labels(40, 24, 4);
    test::write_jpeg_for_test(root + "/x.jpg", test::foreign_image(lab, 4));
    const std::string plain = file_bytes(root + "/x.jpg");
    // APP1 "Exif": a big-endian TIFF header and IFD0 with one entry, Orientation (274) = o.
    // Type 3 (SHORT, as the standard says) or 4 (LONG, as some writers put it).
    auto with_orientation = [&](char o, char type = '\x03') {
        const std::string value = type == '\x03' ? std::string("\0", 1) + o + std::string("\0\0", 2)
                                                 : std::string("\0\0\0", 3) + o;
        const std::string exif = std::string("Exif\0\0MM\0\x2a\0\0\0\x08\0\x01", 16) +
                                 std::string("\x01\x12\0", 3) + type +
                                 std::string("\0\0\0\x01", 4) + value + std::string("\0\0\0\0", 4);
        const std::size_t len = exif.size() + 2;
        return plain.substr(0, 2) + "\xff\xe1" + static_cast<char>(len >> 8) +
               static_cast<char>(len & 0xff) + exif + plain.substr(2);
    };
    write_bytes(root + "/turned.jpg", with_orientation('\x06'));
    for (const auto& read : std::vector<std::function<void()>>{
             [&] { read_rgb(root + "/turned.jpg"); }, [&] { probe_image(root + "/turned.jpg"); }}) {
        try {
            read();
            FAIL() << "a JPEG shown rotated was read as stored";
        } catch (const InputError& e) {
            for (const char* part : {"turned.jpg", "EXIF Orientation 6",
                                     "rotated 90 degrees clockwise", "-auto-orient"})
                EXPECT_MESSAGE_HAS(std::string(e.what()), part);
        }
    }
    write_bytes(root + "/long.jpg", with_orientation('\x08', '\x04'));
    try {
        read_rgb(root + "/long.jpg");
        FAIL() << "an Orientation stored as LONG was read as stored";
    } catch (const InputError& e) {
        EXPECT_MESSAGE_HAS(std::string(e.what()), "EXIF Orientation 8");
    }
    write_bytes(root + "/upright.jpg", with_orientation('\x01'));
    EXPECT_EQ(read_rgb(root + "/upright.jpg").pixels, read_rgb(root + "/x.jpg").pixels);
}

TEST(RealDatasets, OfficialSplitListsReachTrainingAndEval) {
    const std::string root = test::temp_dir("real_lists");
    test::ForeignSpec spec;
    spec.sizes.assign(7, {40, 32});
    const auto fd = test::write_foreign_dataset(root + "/data", spec);
    std::ofstream(root + "/train.txt") << "# official\ntile_0\ntile_2\ntile_4\ntile_6\n";
    std::ofstream(root + "/val.txt") << "tile_1\n";
    std::ofstream(root + "/test.txt") << "tile_3\ntile_5\n";
    const test::CommandResult t = test::run_pfce(
        "train --data " + fd.root + " --train-list " + root + "/train.txt --val-list " + root +
        "/val.txt --test-list " + root + "/test.txt --out " + root + "/run --epochs 1" + kTiny);
    ASSERT_EQ(t.status, 0) << t.output;
    EXPECT_MESSAGE_HAS(t.output, "train 4, val 1, test 2");
    const test::CommandResult e =
        test::run_pfce("eval --checkpoint " + root + "/run/last.ckpt --json -q");
    ASSERT_EQ(e.status, 0) << e.output;
    EXPECT_EQ(test::number_after(e.output, "\"images\": ([0-9]+)"), 2);
    // With the confusion matrix the metrics come from: a row per class, summing to the pixels.
    const auto j = test::json_in_output(e.output);
    ASSERT_EQ(j["confusion"].size(), j["iou"].size()) << e.output;
    std::int64_t scored = 0;
    for (const auto& row : j["confusion"]) {
        EXPECT_EQ(row.size(), j["iou"].size());
        for (const auto& n : row) scored += n.get<std::int64_t>();
    }
    EXPECT_EQ(scored, j["pixels"].get<std::int64_t>());
    // A copy of the test samples alone evaluates the test split; the train split is not in it.
    std::filesystem::create_directories(root + "/only_test/images");
    std::filesystem::create_directories(root + "/only_test/masks");
    std::filesystem::copy_file(fd.root + "/dataset.toml", root + "/only_test/dataset.toml");
    for (const char* sub : {"images", "masks"})
        for (const auto& f : std::filesystem::directory_iterator(fd.root + "/" + sub))
            if (const std::string stem = f.path().stem().string();
                stem == "tile_3" || stem == "tile_5")
                std::filesystem::copy_file(
                    f.path(), root + "/only_test/" + sub + "/" + f.path().filename().string());
    const std::string on_copy =
        "eval --checkpoint " + root + "/run/last.ckpt --json -q --data " + root + "/only_test";
    const test::CommandResult copy_test = test::run_pfce(on_copy);
    ASSERT_EQ(copy_test.status, 0) << copy_test.output;
    EXPECT_EQ(test::json_in_output(copy_test.output)["miou"], j["miou"]);
    const test::CommandResult copy_train = test::run_pfce(on_copy + " --split train");
    EXPECT_EQ(copy_train.status, 2) << copy_train.output;
    EXPECT_MESSAGE_HAS(copy_train.output, "4 sample(s) of its train split are not in");
    // An id that is not in the dataset names the list and the line.
    std::ofstream(root + "/test.txt") << "tile_3\ntile_77\n";
    const test::CommandResult bad = test::run_pfce(
        "train --data " + fd.root + " --train-list " + root + "/train.txt --test-list " + root +
        "/test.txt --out " + root + "/run2 --epochs 1" + kTiny);
    EXPECT_EQ(bad.status, 2) << bad.output;
    EXPECT_MESSAGE_HAS(bad.output, "test.txt:2");
    EXPECT_MESSAGE_HAS(bad.output, "tile_77");
}

namespace {

// `pfce train` of one tiny epoch on `data` into `run`: a checkpoint for the prediction tests.
test::CommandResult train_tiny_run(const std::string& data, const std::string& run) {
    return test::run_pfce("train --data " + data + " --out " + run + " --epochs 1" + kTiny);
}

}  // namespace

// Many or large images (scale probe): a directory's lines count the images; --no-overlay writes
// no overlay (and --force removes the replaced mask's); an image past the machine's memory is
// refused before it is read, with how to cut it, however high --max-pixels is raised.
TEST(RealDatasets, ManyOrLargeImagesArePredictedWithinTheMachine) {
    const std::string root = test::temp_dir("real_many_large");
    const auto fd = test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    ASSERT_EQ(train_tiny_run(fd.root, root + "/run").status, 0);
    fs::create_directories(root + "/in");
    for (const char* name : {"a", "b", "c"})
        write_png(root + "/in/" + name + ".png",
                  test::foreign_image(test::foreign_labels(40, 32, 3), 3));
    const std::string predict = "predict --checkpoint " + root + "/run/last.ckpt --device cpu ";
    const test::CommandResult with =
        test::run_pfce(predict + "--input " + root + "/in --out " + root + "/out");
    ASSERT_EQ(with.status, 0) << with.output;
    EXPECT_MESSAGE_HAS(with.output, "[1/3] " + root + "/in/a.png -> " + root + "/out/a.png");
    EXPECT_MESSAGE_HAS(with.output, "[3/3] " + root + "/in/c.png -> ");
    EXPECT_TRUE(fs::exists(root + "/out/a_overlay.png"));
    const test::CommandResult without = test::run_pfce(predict + "--input " + root + "/in --out " +
                                                       root + "/out --no-overlay --force");
    ASSERT_EQ(without.status, 0) << without.output;
    EXPECT_MESSAGE_HAS(without.output,
                       "removed with --force, as they belonged to the mask it "
                       "replaced: " +
                           root + "/out/a_overlay.png");
    EXPECT_TRUE(fs::exists(root + "/out/a.png"));
    for (const char* name : {"a", "b", "c"})
        EXPECT_FALSE(fs::exists(root + "/out/" + std::string(name) + "_overlay.png")) << name;
    const test::CommandResult one =
        test::run_pfce(predict + "--input " + root + "/in/a.png --out " + root + "/one.png");
    ASSERT_EQ(one.status, 0) << one.output;
    EXPECT_EQ(one.output.find("[1/1]"), std::string::npos) << one.output;
    // An earlier prediction's _RPC.TXT beside a TIFF mask would give it that camera model (GDAL
    // reads it before the mask's own tag): not left there without --force.
    std::ofstream(root + "/two_RPC.TXT") << "LINE_OFF: 99\n";
    const test::CommandResult stale =
        test::run_pfce(predict + "--input " + root + "/in/a.png --out " + root + "/two.tif");
    EXPECT_EQ(stale.status, 2) << stale.output;
    EXPECT_MESSAGE_HAS(stale.output, root + "/two_RPC.TXT exists beside " + root +
                                         "/two.tif and would be read with it");

    // A 400000x400000 RGB TIFF, its header only (1.4 TB of pixels, past any test machine):
    // refused at once, not after minutes of decoding and a bad_alloc.
    const std::uint32_t side = 400000, rows_per_strip = 1000, strips = side / rows_per_strip;
    std::string tif("II*\0\x08\0\0\0", 8);  // little-endian, the directory at byte 8
    const auto u16 = [&](std::uint16_t v) { tif.append(reinterpret_cast<const char*>(&v), 2); };
    const auto u32 = [&](std::uint32_t v) { tif.append(reinterpret_cast<const char*>(&v), 4); };
    const std::uint32_t data = 8 + 2 + 10 * 12 + 4, offsets = data + 6,
                        counts = offsets + 4 * strips;
    u16(10);
    const auto entry = [&](std::uint16_t tag, std::uint16_t type, std::uint32_t n,
                           std::uint32_t v) {
        u16(tag);
        u16(type);
        u32(n);
        u32(v);
    };
    entry(256, 4, 1, side);
    entry(257, 4, 1, side);
    entry(258, 3, 3, data);
    entry(259, 3, 1, 1);
    entry(262, 3, 1, 2);
    entry(273, 4, strips, offsets);
    entry(277, 3, 1, 3);
    entry(278, 4, 1, rows_per_strip);
    entry(279, 4, strips, counts);
    entry(284, 3, 1, 1);
    u32(0);
    for (int b = 0; b < 3; ++b) u16(8);
    for (std::uint32_t k = 0; k < strips; ++k) u32(counts + 4 * strips);
    for (std::uint32_t k = 0; k < strips; ++k) u32(side * rows_per_strip * 3);
    std::ofstream(root + "/huge.tif", std::ios::binary) << tif;
    const test::CommandResult huge =
        test::run_pfce(predict + "--input " + root + "/huge.tif --out " + root +
                       "/huge_mask.tif --max-pixels 400000000000");
    EXPECT_EQ(huge.status, 2) << huge.output;
    EXPECT_MESSAGE_HAS(huge.output, root +
                                        "/huge.tif is 400000x400000: predicting it needs about "
                                        "1.4 TB");
    EXPECT_MESSAGE_HAS(huge.output, "of memory");
    EXPECT_MESSAGE_HAS(huge.output, "cut it into tiles first (gdal_retile.py -ps 10000 10000");
    EXPECT_FALSE(fs::exists(root + "/huge_mask.tif"));
}

// A last.ckpt of a run killed before its first step holds random weights: predict and eval say
// so, and eval's JSON records the epoch and step so a script can tell (hostile-user probe: used
// without a word, mIoU 0.08).
TEST(RealDatasets, AnUntrainedCheckpointIsSaidToBeOne) {
    const std::string root = test::temp_dir("real_untrained");
    const auto fd = test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    ASSERT_EQ(train_tiny_run(fd.root, root + "/run").status, 0);
    Checkpoint ck = read_checkpoint(root + "/run/last.ckpt");
    ck.meta["state"]["epoch"] = 0;
    ck.meta["state"]["global_step"] = 0;
    write_checkpoint(root + "/untrained.ckpt", ck);
    const std::string said = "checkpoint " + root + "/untrained.ckpt holds untrained weights";
    const test::CommandResult e =
        test::run_pfce("eval --checkpoint " + root + "/untrained.ckpt --data " + fd.root +
                       " --split all --device cpu --json");
    ASSERT_EQ(e.status, 0) << e.output;
    EXPECT_MESSAGE_HAS(e.output, said);
    EXPECT_MESSAGE_HAS(e.output, "\"global_step\": 0");
    const test::CommandResult p =
        test::run_pfce("predict --checkpoint " + root + "/untrained.ckpt --input " + fd.root +
                       "/images --out " + root + "/pred --device cpu");
    ASSERT_EQ(p.status, 0) << p.output;
    EXPECT_MESSAGE_HAS(p.output, said);
    // The trained one: its step, and no such word.
    const test::CommandResult t =
        test::run_pfce("eval --checkpoint " + root + "/run/last.ckpt --data " + fd.root +
                       " --split all --device cpu --json");
    ASSERT_EQ(t.status, 0) << t.output;
    EXPECT_MESSAGE_HAS(t.output, "\"global_step\": 1");
    EXPECT_EQ(t.output.find("untrained weights"), std::string::npos) << t.output;
    EXPECT_EQ(t.output.find("interrupted within"), std::string::npos) << t.output;
    // A Ctrl-C within an epoch saves the weights of that moment: used, and said (it went
    // without a word, as an epoch's end).
    ck.meta["state"]["epoch"] = 2;
    ck.meta["state"]["batch"] = 3;
    ck.meta["state"]["global_step"] = 11;
    write_checkpoint(root + "/stopped.ckpt", ck);
    const test::CommandResult s =
        test::run_pfce("eval --checkpoint " + root + "/stopped.ckpt --data " + fd.root +
                       " --split all --device cpu");
    ASSERT_EQ(s.status, 0) << s.output;
    EXPECT_MESSAGE_HAS(s.output, "checkpoint " + root +
                                     "/stopped.ckpt was saved by a run interrupted within epoch 3 "
                                     "(after 3 of its batches, optimizer step 11)");
}

TEST(RealDatasets, PredictionOfAGeoTiffKeepsItsGeoreference) {
    const std::string root = test::temp_dir("real_geotiff");
    const auto fd = test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    ASSERT_EQ(train_tiny_run(fd.root, root + "/run").status, 0);
    {  // An image located only by RPCs (a camera model in pixel coordinates): its mask, on the
       // same pixels, keeps them, so gdalwarp -rpc orthorectifies it as it does the image (they
       // were dropped, with a warning). A TIFF holds them in its RPCCoefficientTag, a PNG in its
       // .aux.xml (GDAL reads no _RPC.TXT or .RPB beside a PNG).
        const std::string dir = root + "/rpc";
        fs::create_directories(dir);
        const RgbImage cam = test::foreign_image(test::foreign_labels(40, 32, 1), 1);
        std::vector<double> tag(kRpcTagValues);
        for (std::size_t i = 0; i < tag.size(); ++i) tag[i] = 0.25 * static_cast<double>(i) - 3;
        write_png(dir + "/cam.png", cam);
        std::ofstream(dir + "/cam_RPC.TXT") << test::rpc_txt(tag);  // GeoEye's, beside a PNG chip
        const test::CommandResult r =
            test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --input " + dir +
                           "/cam.png --out " + dir + "/pred.tif --device cpu");
        ASSERT_EQ(r.status, 0) << r.output;
        EXPECT_EQ(read_georeference(dir + "/pred.tif").rpc_coefficients, tag);
        EXPECT_TRUE(read_georeference(dir + "/pred.tif").empty());  // still no grid
        EXPECT_EQ(read_whole_file(dir + "/pred_overlay.png.aux.xml"),
                  "<PAMDataset>\n" + pam_rpc_metadata(tag) + "</PAMDataset>\n");
        EXPECT_MESSAGE_HAS(r.output, "RPC camera model carried from " + dir + "/cam_RPC.TXT");
        EXPECT_EQ(r.output.find("does not carry"), std::string::npos) << r.output;
        // In the TIFF itself: the TIFF mask and confidence map copy the tag; a PNG mask and the
        // overlays take it in their .aux.xml.
        test::write_raw_tiff(dir + "/scene.tif", {.width = 40, .height = 32, .rpc = tag},
                             cam.pixels);
        for (const char* format : {"tif", "png"}) {
            const std::string out = dir + "/scene_pred." + format;
            const test::CommandResult t =
                test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --input " + dir +
                               "/scene.tif --out " + out + " --confidence --device cpu");
            ASSERT_EQ(t.status, 0) << t.output;
            EXPECT_MESSAGE_HAS(t.output, "RPC camera model carried from the RPCCoefficientTag of " +
                                             dir + "/scene.tif");
            const std::string pam = "<PAMDataset>\n" + pam_rpc_metadata(tag) + "</PAMDataset>\n";
            const std::string conf = dir + "/scene_pred_confidence." + format;
            if (std::string(format) == "tif") {
                EXPECT_EQ(read_georeference(out).rpc_coefficients, tag);
                EXPECT_EQ(read_georeference(conf).rpc_coefficients, tag);
                EXPECT_FALSE(fs::exists(out + ".aux.xml"));
            } else {
                EXPECT_EQ(read_whole_file(out + ".aux.xml"), pam);
                EXPECT_EQ(read_whole_file(conf + ".aux.xml"), pam);
            }
            EXPECT_EQ(read_whole_file(dir + "/scene_pred_overlay.png.aux.xml"), pam);
            fs::remove(dir + "/scene_pred_overlay.png.aux.xml");
            fs::remove(dir + "/scene_pred_overlay.png");
        }
    }
    const LabelMap lab = test::foreign_labels(90, 70, 5);
    const std::string tile = root + "/tiles/tile.tif";
    fs::create_directories(root + "/tiles");
    write_geotiff(tile, test::foreign_image(lab, 5));
    const GeoReference in = read_georeference(tile);
    EXPECT_EQ(in.describe(), "EPSG:25832, pixel 0.05 x 0.05, origin (366012.5, 5808070.25)");
    // PixelIsPoint (GTRasterTypeGeoKey 2): the tie point is pixel (0, 0)'s centre; described by
    // the corner, as gdalinfo's Origin (a walkthrough saw the centre said as the origin).
    GeoReference point = in;
    for (std::size_t i = 4; i + 3 < point.key_directory.size(); i += 4)
        if (point.key_directory[i] == 1025) point.key_directory[i + 3] = 2;
    EXPECT_EQ(point.describe(), "EPSG:25832, pixel 0.05 x 0.05, origin (366012.475, 5808070.275)");

    // One file, windows smaller than the tile; then a directory (masks default to .tif there).
    const test::CommandResult p =
        test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --input " + tile +
                       " --out " + root + "/pred.tif --window 32 --device cpu");
    ASSERT_EQ(p.status, 0) << p.output;
    const test::CommandResult d =
        test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --input " + root +
                       "/tiles --out " + root + "/preds --confidence --polygons --device cpu");
    ASSERT_EQ(d.status, 0) << d.output;
    // --polygons: the regions on the map, in its CRS, covering the tile's 4.5 m x 3.5 m.
    const nlohmann::json regions =
        nlohmann::json::parse(read_whole_file(root + "/preds/tile_polygons.geojson"));
    EXPECT_EQ(regions["crs"]["properties"]["name"], "urn:ogc:def:crs:EPSG::25832");
    double x_lo = 1e300, x_hi = -1e300, y_lo = 1e300, y_hi = -1e300, area = 0;
    for (const nlohmann::json& f : regions["features"]) {
        area += f["properties"]["area"].get<double>();
        for (const nlohmann::json& p : f["geometry"]["coordinates"][0]) {
            x_lo = std::min(x_lo, p[0].get<double>());
            x_hi = std::max(x_hi, p[0].get<double>());
            y_lo = std::min(y_lo, p[1].get<double>());
            y_hi = std::max(y_hi, p[1].get<double>());
        }
    }
    EXPECT_NEAR(x_lo, 366012.5, 1e-6);
    EXPECT_NEAR(x_hi, 366012.5 + 90 * 0.05, 1e-6);
    EXPECT_NEAR(y_hi, 5808070.25, 1e-6);
    EXPECT_NEAR(y_lo, 5808070.25 - 70 * 0.05, 1e-6);
    EXPECT_NEAR(area, 90 * 70 * 0.05 * 0.05, 1e-6);
    // The regions GDAL's polygonizer draws from the mask, exactly (where Python's GDAL is).
    const std::string python = fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    const test::CommandResult gdal =
        test::run_command(python + " " + test::source_dir() + "/tests/polygonize_gdal_check.py " +
                          root + "/preds/tile.tif " + root + "/preds/tile_polygons.geojson 2>&1");
    std::printf("polygonize_gdal_check.py: %s", gdal.output.c_str());  // done, or skipped
    if (gdal.status != 77) EXPECT_EQ(gdal.status, 0) << gdal.output;
    // The confidence map lands on the map too.
    for (const std::string& out :
         {root + "/pred.tif", root + "/preds/tile.tif", root + "/preds/tile_confidence.tif"}) {
        ASSERT_TRUE(fs::exists(out)) << out;
        const LabelMap mask = read_gray(out);
        EXPECT_EQ(mask.width, 90);
        EXPECT_EQ(mask.height, 70);
        if (out.find("confidence") == std::string::npos) {
            for (std::uint8_t v : mask.labels) ASSERT_LT(v, 4);
        }
        // Read back by the test's own libtiff code: the very same tags.
        TIFF* t = TIFFOpen(out.c_str(), "r");
        ASSERT_NE(t, nullptr);
        declare_geo_fields(t);
        std::uint16_t n = 0;
        double* v = nullptr;
        ASSERT_TRUE(TIFFGetField(t, 33922, &n, &v));
        EXPECT_EQ(std::vector<double>(v, v + n), kTie);
        ASSERT_TRUE(TIFFGetField(t, 33550, &n, &v));
        EXPECT_EQ(std::vector<double>(v, v + n), kScale);
        std::uint16_t* keys = nullptr;
        ASSERT_TRUE(TIFFGetField(t, 34735, &n, &keys));
        EXPECT_EQ(std::vector<std::uint16_t>(keys, keys + n), kKeys);
        TIFFClose(t);
    }
    EXPECT_TRUE(fs::exists(root + "/preds/tile_overlay.png"));
    // The overlay, a PNG, holds no tags: it gets their place as a PNG mask would (a world file,
    // an .aux.xml naming the CRS), so a GIS lays it over the tile.
    const std::string tfw = read_whole_file(root + "/preds/tile_overlay.pgw");
    EXPECT_MESSAGE_HAS(tfw, "0.05\n");
    EXPECT_MESSAGE_HAS(read_whole_file(root + "/preds/tile_overlay.png.aux.xml"), "EPSG:25832");
}

// Chips georeferenced beside the file (a world file, a .prj, GDAL's .aux.xml) predict to masks
// with the same sidecars, named for the mask (.pgw for a PNG, .tfw for a TIFF): before, they were
// dropped without a word. The .aux.xml keeps only the SRS and GeoTransform (its band statistics
// are the image's), a file that is not a world file is not carried, and a sidecar already there
// is a file predict does not replace without --force.
// An image's place as GDAL reads it, whatever the output's format reads first. GDAL takes the
// first source that has one, by format: a PNG's world file before its .aux.xml, a JPEG's .aux.xml
// before its world file, a GeoTIFF's tags before its world file. A disagreeing source is not
// carried (a stale .tfw beside a GeoTIFF had placed its PNG mask 4 km away, by a georeference
// probe), and said; one that agrees is. A world file's lines after the sixth are ignored, as GDAL
// ignores them. A partial RPC camera model is said and not carried.
TEST(RealDatasets, PredictionCarriesThePlaceGdalReads) {
    const std::string root = test::temp_dir("real_gdal_place");
    const auto fd = test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    ASSERT_EQ(train_tiny_run(fd.root, root + "/run").status, 0);
    const std::string in = root + "/in";
    fs::create_directories(in);
    const RgbImage img = test::foreign_image(test::foreign_labels(40, 32, 3), 3);
    const std::string stale = "0.2\n0\n0\n-0.2\n370000.1\n5819999.9\n";
    // GeoTIFF tags: EPSG:25832, pixel 0.05, origin (366012.5, 5808070.25) (write_geotiff).
    write_geotiff(in + "/stale.tif", img);
    std::ofstream(in + "/stale.tfw") << stale;
    write_geotiff(in + "/agrees.tif", img);
    const std::string agrees = "0.05\n0\n0\n-0.05\n366012.525\n5808070.225\n";
    std::ofstream(in + "/agrees.tfw") << agrees;
    const std::string srs = "<SRS>EPSG:25832</SRS>";
    const std::string pam_gt = "<GeoTransform>366000, 0.1, 0, 5810000, 0, -0.1</GeoTransform>";
    write_png(in + "/both.png", img);
    std::ofstream(in + "/both.pgw") << stale;
    std::ofstream(in + "/both.png.aux.xml")
        << "<PAMDataset>\n  " << srs << "\n  " << pam_gt << "\n</PAMDataset>\n";
    test::write_jpeg_for_test(in + "/cam.jpg", img);
    std::ofstream(in + "/cam.jgw") << stale;
    std::ofstream(in + "/cam.jpg.aux.xml") << "<PAMDataset>\n  " << pam_gt << "\n</PAMDataset>\n";
    write_png(in + "/notes.png", img);
    std::ofstream(in + "/notes.pgw") << stale << "exported by a GIS, 2026\n";
    write_png(in + "/rpc.png", img);
    std::ofstream(in + "/rpc.png.aux.xml")
        << "<PAMDataset><Metadata domain=\"RPC\"><MDI key=\"LINE_OFF\">16</MDI></Metadata>"
           "</PAMDataset>";
    // An RPC sidecar beside a PNG mask is none of its companions: GDAL reads none there.
    fs::create_directories(root + "/out");
    std::ofstream(root + "/out/agrees_RPC.TXT") << "LINE_OFF: 99\n";
    const test::CommandResult r =
        test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --device cpu --input " +
                       in + " --format png --out " + root + "/out");
    ASSERT_EQ(r.status, 0) << r.output;
    const std::string out = root + "/out";
    EXPECT_EQ(read_whole_file(out + "/agrees_RPC.TXT"), "LINE_OFF: 99\n");
    // The tags' place instead, as a PNG's world file and .aux.xml SRS (a PNG holds no tags).
    EXPECT_EQ(read_whole_file(out + "/stale.pgw"), agrees);
    EXPECT_EQ(read_whole_file(out + "/stale.png.aux.xml"),
              "<PAMDataset>\n  " + srs + "\n</PAMDataset>\n");
    EXPECT_MESSAGE_HAS(r.output, in +
                                     "/stale.tfw (origin (370000, 5820000), pixel 0.2 x 0.2) is "
                                     "not carried to the prediction of " +
                                     in +
                                     "/stale.tif: GDAL places the image by its own GeoTIFF "
                                     "tags (EPSG:25832");
    EXPECT_EQ(read_whole_file(out + "/agrees.pgw"), agrees);
    EXPECT_EQ(read_whole_file(out + "/both.pgw"), stale);
    EXPECT_EQ(read_whole_file(out + "/both.png.aux.xml"),
              "<PAMDataset>\n  " + srs + "\n</PAMDataset>\n");
    EXPECT_MESSAGE_HAS(r.output, in + "/both.png.aux.xml: its GeoTransform (origin (366000, "
                                      "5810000), pixel 0.1 x 0.1) is not carried");
    EXPECT_FALSE(fs::exists(out + "/cam.pgw"));
    EXPECT_EQ(read_whole_file(out + "/cam.png.aux.xml"),
              "<PAMDataset>\n  " + pam_gt + "\n</PAMDataset>\n");
    EXPECT_MESSAGE_HAS(r.output,
                       "GDAL places the image by the GeoTransform of " + in + "/cam.jpg.aux.xml");
    EXPECT_EQ(read_whole_file(out + "/notes.pgw"), stale);
    // A partial camera model is said, and not carried (GDAL reads none there either).
    EXPECT_MESSAGE_HAS(r.output, in + "/rpc.png.aux.xml: its RPC metadata is not a whole camera "
                                      "model (no SAMP_OFF; GDAL does not read it either)");
    EXPECT_FALSE(fs::exists(out + "/rpc.png.aux.xml"));
}

// A checkpoint records its training images' ground pixel size (from their world files and CRS);
// predict says when an input's pixels are of another size in a CRS that compares (the same one,
// or two in metres), with the --zoom that shows the model the scale it learnt, and not when the
// zoom given does so, the sizes agree or the CRSs do not compare (degrees against metres).
TEST(RealDatasets, PredictSaysWhenAnInputsPixelsAreOfAnotherGroundSize) {
    const std::string root = test::temp_dir("real_ground_pixel");
    const auto fd = test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    const auto crs = [](int epsg) {
        return "PROJCS[\"a CRS\",GEOGCS[\"b\"],AUTHORITY[\"EPSG\",\"" + std::to_string(epsg) +
               "\"]]";
    };
    const auto world = [](double size) {
        return std::to_string(size) + "\n0\n0\n" + std::to_string(-size) + "\n500000\n5000000\n";
    };
    for (const std::string& id : fd.ids) {
        std::ofstream(fd.root + "/images/" + id + ".pgw") << world(0.05);
        std::ofstream(fd.root + "/images/" + id + ".prj") << crs(25832);
    }
    ASSERT_EQ(train_tiny_run(fd.root, root + "/run").status, 0);
    const std::string chips = root + "/chips";
    fs::create_directories(chips);
    struct Chip {
        std::string name;
        double size;
        int epsg;
        const char* zoom;
        bool said;
    };
    // Web Mercator's unit is no ground metre (1.64 of them at Potsdam): it compares with itself
    // only. A rotated (here sheared) world file's pixels have the lengths of its steps, 0.102 x 0.1
    // (a GIS probe: a rotated or south-up input had no size, and no warning).
    for (const Chip& c :
         {Chip{"coarse", 0.1, 25832, "", true}, Chip{"utm33", 0.1, 32633, "", true},
          Chip{"zoomed", 0.1, 25832, " --zoom 2", false}, Chip{"same", 0.05, 25832, "", false},
          Chip{"degrees", 0.1, 4326, "", false}, Chip{"mercator", 0.1, 3857, "", false},
          Chip{"far", 10, 25832, "", false}, Chip{"rotated", 0.1, 25832, "", false}}) {
        write_png(chips + "/" + c.name + ".png",
                  test::foreign_image(test::foreign_labels(40, 32, 3), 3));
        std::ofstream(chips + "/" + c.name + ".pgw")
            << (c.name == "rotated" ? "0.1\n0.02\n0\n-0.1\n500000\n5000000\n" : world(c.size));
        std::ofstream(chips + "/" + c.name + ".prj") << crs(c.epsg);
        const test::CommandResult r = test::run_pfce(
            "predict --checkpoint " + root + "/run/last.ckpt --input " + chips + "/" + c.name +
            ".png --out " + root + "/out/" + c.name + ".png" + c.zoom + " --device cpu");
        ASSERT_EQ(r.status, 0) << c.name << ": " << r.output;
        if (c.said)
            EXPECT_MESSAGE_HAS(r.output, c.name + ".png has pixels of 0.1 x 0.1 map units, but " +
                                             root +
                                             "/run/last.ckpt was trained on pixels of 0.05 x "
                                             "0.05: the model sees its ground at another scale "
                                             "than it learnt; --zoom 2 shows it the scale it "
                                             "learnt");
        else if (c.name == "rotated")
            EXPECT_MESSAGE_HAS(r.output, "rotated.png has pixels of 0.102 x 0.1 map units, but " +
                                             root +
                                             "/run/last.ckpt was trained on pixels of 0.05 x "
                                             "0.05: the model sees its ground at another scale "
                                             "than it learnt; --zoom 2 shows it the scale it "
                                             "learnt");
        else if (c.name == "far")
            EXPECT_MESSAGE_HAS(r.output, "far.png has pixels of 10 x 10 map units, but " + root +
                                             "/run/last.ckpt was trained on pixels of 0.05 x "
                                             "0.05: the model sees its ground at another scale "
                                             "than it learnt; the scales differ 200 times, past "
                                             "what --zoom takes (0.125..8): resample the imagery "
                                             "first (gdalwarp -tr)");
        else
            EXPECT_EQ(r.output.find("another scale"), std::string::npos) << c.name << r.output;
    }
    // eval says it of the images it scores, and nothing where they agree.
    const std::string eval =
        "eval --checkpoint " + root + "/run/last.ckpt --split all --device cpu";
    const test::CommandResult same = test::run_pfce(eval);
    ASSERT_EQ(same.status, 0) << same.output;
    EXPECT_EQ(same.output.find("another scale"), std::string::npos) << same.output;
    for (const std::string& id : fd.ids)
        std::ofstream(fd.root + "/images/" + id + ".pgw") << world(0.1);
    const test::CommandResult coarse = test::run_pfce(eval);
    ASSERT_EQ(coarse.status, 0) << coarse.output;
    EXPECT_MESSAGE_HAS(coarse.output,
                       "the images scored have pixels of 0.1 x 0.1 map units, but " + root +
                           "/run/last.ckpt was trained on pixels of 0.05 x 0.05: the scores are "
                           "of the model at another scale than it learnt (its ground features "
                           "appear at 0.5 times their size in its training images; --zoom 2 "
                           "shows it the scale it learnt)");
    // eval --zoom 2 scores the model at the scale it learnt: nothing said, the zoom recorded, and
    // other scores than at 1; a zoom the wrong way round is said with the zoom given; a factor
    // out of range is refused.
    const test::CommandResult zoomed = test::run_pfce(eval + " --zoom 2 --json");
    ASSERT_EQ(zoomed.status, 0) << zoomed.output;
    EXPECT_EQ(zoomed.output.find("another scale"), std::string::npos) << zoomed.output;
    const nlohmann::json zj = nlohmann::json::parse(zoomed.output.substr(zoomed.output.find('{')));
    EXPECT_EQ(zj["zoom"], 2.0);
    const test::CommandResult unzoomed = test::run_pfce(eval + " --json");
    ASSERT_EQ(unzoomed.status, 0) << unzoomed.output;
    const nlohmann::json uj =
        nlohmann::json::parse(unzoomed.output.substr(unzoomed.output.find('{')));
    EXPECT_EQ(uj["zoom"], 1.0);
    EXPECT_NE(zj["loss_dense"], uj["loss_dense"]);
    // Which losses count a pixel of an overlap in each window: unzoomed sliding windows only.
    EXPECT_EQ(zj["loss_counts_overlaps"], false);
    EXPECT_EQ(uj["loss_counts_overlaps"], false);  // in batches
    const test::CommandResult windows = test::run_pfce(eval + " --window 16 --json");
    ASSERT_EQ(windows.status, 0) << windows.output;
    EXPECT_EQ(nlohmann::json::parse(
                  windows.output.substr(windows.output.find('{')))["loss_counts_overlaps"],
              true);
    const test::CommandResult wrong = test::run_pfce(eval + " --zoom 0.5");
    ASSERT_EQ(wrong.status, 0) << wrong.output;
    EXPECT_MESSAGE_HAS(wrong.output,
                       "(--zoom 0.5 given): the scores are of the model at another "
                       "scale than it learnt (its ground features appear at 0.25 "
                       "times their size in its training images; --zoom 2 shows "
                       "it the scale it learnt)");
    EXPECT_MESSAGE_HAS(wrong.output,
                       ", on the images zoomed by 0.5 (the logits brought back onto "
                       "the masks' pixels)");
    const test::CommandResult bad = test::run_pfce(eval + " --zoom 0");
    EXPECT_EQ(bad.status, 2) << bad.output;
    EXPECT_MESSAGE_HAS(bad.output, "--zoom 0: expected a factor in 0.125..8");
    // A zoom past the machine's memory is refused before any image is read, naming the image, its
    // zoomed size and the remedy: an image 900000 wide zoomed by 8 has rows 7.2 million wide, and a
    // row of windows' class scores is 190 GB (the zoomed image is made a row of windows at a time,
    // so it is its width, not its area, that no machine holds).
    const std::string big = root + "/big";
    fs::create_directories(big + "/images");
    fs::create_directories(big + "/masks");
    fs::copy_file(fd.root + "/dataset.toml", big + "/dataset.toml");
    for (const char* id : {"a", "b"}) {
        test::write_header_only_png(big + "/images/" + id + ".png", 900000, 300, '\2');
        test::write_header_only_png(big + "/masks/" + id + ".png", 900000, 300, '\2');
    }
    if (machine_memory().total > 0) {
        const test::CommandResult huge =
            test::run_pfce("eval --checkpoint " + root + "/run/last.ckpt --data " + big +
                           " --split all --device cpu --max-pixels 900000000 --zoom 8");
        EXPECT_EQ(huge.status, 2) << huge.output;
        EXPECT_MESSAGE_HAS(huge.output,
                           "/big/images/a.png zoomed by 8 is 7200000x2400: scoring "
                           "it needs about ");
        EXPECT_MESSAGE_HAS(huge.output, "zoom less, or cut the images into tiles first");
    }
    // Pixels of another shape (0.1 x 0.05 against 0.05 x 0.05): no one zoom fits both axes, and
    // the mean (1.5) silences nothing.
    write_png(chips + "/aniso.png", test::foreign_image(test::foreign_labels(40, 32, 3), 3));
    std::ofstream(chips + "/aniso.pgw") << "0.1\n0\n0\n-0.05\n500000\n5000000\n";
    std::ofstream(chips + "/aniso.prj") << crs(25832);
    for (const char* zoom : {"", " --zoom 1.5"}) {
        const test::CommandResult r = test::run_pfce(
            "predict --checkpoint " + root + "/run/last.ckpt --input " + chips +
            "/aniso.png --out " + root + "/out/aniso.png --force --device cpu" + zoom);
        ASSERT_EQ(r.status, 0) << r.output;
        EXPECT_MESSAGE_HAS(r.output, "aniso.png has pixels of 0.1 x 0.05 map units");
        EXPECT_MESSAGE_HAS(r.output,
                           "no one --zoom shows both axes the scale learnt (x needs 2, "
                           "y 1): resample the imagery to the training images' pixel "
                           "shape first (gdalwarp -tr)");
    }
    // Training images of two sizes: said, and none recorded (so nothing is said of inputs).
    for (std::size_t k = 0; k < fd.ids.size(); ++k)  // the training split holds both
        std::ofstream(fd.root + "/images/" + fd.ids[k] + ".pgw") << world(k % 2 ? 0.05 : 0.1);
    // eval of a survey of mixed sizes names the first image off the scale and counts them.
    const test::CommandResult half = test::run_pfce(eval);
    ASSERT_EQ(half.status, 0) << half.output;
    EXPECT_MESSAGE_HAS(half.output, "/images/" + fd.ids[0] +
                                        ".png has pixels of 0.1 x 0.1 map units, but " + root +
                                        "/run/last.ckpt was trained on pixels of 0.05 x 0.05");
    EXPECT_MESSAGE_HAS(half.output, std::to_string(fd.ids.size() / 2) + " of " +
                                        std::to_string(fd.ids.size()) +
                                        " images scored have pixels off the scale the model "
                                        "learnt");
    const test::CommandResult mixed = train_tiny_run(fd.root, root + "/mixed-run");
    ASSERT_EQ(mixed.status, 0) << mixed.output;
    EXPECT_MESSAGE_HAS(mixed.output, "training images have pixels of different ground sizes: ");
    EXPECT_MESSAGE_HAS(mixed.output, "none is recorded in the checkpoint");
    const test::CommandResult unknown =
        test::run_pfce("predict --checkpoint " + root + "/mixed-run/last.ckpt --input " + chips +
                       "/coarse.png --out " + root + "/out/mixed.png --device cpu");
    ASSERT_EQ(unknown.status, 0) << unknown.output;
    EXPECT_EQ(unknown.output.find("another scale"), std::string::npos) << unknown.output;
    // Training images on a rotated grid train as before (their size unknown, none recorded).
    for (const std::string& id : fd.ids)
        std::ofstream(fd.root + "/images/" + id + ".pgw")
            << "0.05\n0.01\n0\n-0.05\n500000\n5000000\n";
    const test::CommandResult rotated = train_tiny_run(fd.root, root + "/rotated-run");
    EXPECT_EQ(rotated.status, 0) << rotated.output;
}

TEST(RealDatasets, PredictionCarriesSidecarGeoreference) {
    const std::string root = test::temp_dir("real_sidecar_geo");
    const auto fd = test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    ASSERT_EQ(train_tiny_run(fd.root, root + "/run").status, 0);
    const std::string chips = root + "/chips";
    fs::create_directories(chips);
    write_png(chips + "/a.png", test::foreign_image(test::foreign_labels(40, 32, 3), 3));
    test::write_jpeg_for_test(chips + "/b.JPG",
                              test::foreign_image(test::foreign_labels(40, 32, 4), 4));
    const std::string world = "0.5\n0\n0\n-0.5\n500000.25\n5000039.75\n";
    const std::string wkt = "PROJCS[\"ETRS89 / UTM zone 32N\"]";
    std::ofstream(chips + "/a.pgw") << world;
    std::ofstream(chips + "/a.prj") << wkt;
    std::ofstream(chips + "/a.png.aux.xml")
        << "<PAMDataset>\n  <SRS dataAxisToSRSAxisMapping=\"1,2\">EPSG:25832</SRS>\n"
           "  <GeoTransform> 5.0e+05, 5.0e-01, 0.0, 5.00004e+06, 0.0, -5.0e-01</GeoTransform>\n"
           "  <PAMRasterBand band=\"1\"><Metadata><MDI key=\"STATISTICS_MEAN\">97</MDI>"
           "</Metadata></PAMRasterBand>\n</PAMDataset>\n";
    std::ofstream(chips + "/b.JGW") << world;
    // A scan georeferenced by ground control points, its outside marked by the bands' NoData
    // value in the .aux.xml (GDAL's way for PNG and JPEG): the points are carried, and the pixels
    // of NoData get no class (both were dropped without a word); NoData values that differ
    // between bands are said not to be used.
    RgbImage scan = test::foreign_image(test::foreign_labels(40, 32, 5), 5);
    for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 5; ++x) scan.at(y, x)[0] = scan.at(y, x)[1] = scan.at(y, x)[2] = 0;
    write_png(chips + "/s.png", scan);
    const std::string gcps =
        "<GCPList Projection=\"EPSG:4326\">\n    <GCP Id=\"1\" Pixel=\"0\" Line=\"0\" X=\"7.1\" "
        "Y=\"50.2\"/>\n  </GCPList>";
    std::string bands;
    for (int b = 1; b <= 3; ++b)
        bands += "  <PAMRasterBand band=\"" + std::to_string(b) +
                 "\">\n    <NoDataValue>0</NoDataValue>\n  </PAMRasterBand>\n";
    std::ofstream(chips + "/s.png.aux.xml") << "<PAMDataset>\n  " << gcps << "\n"
                                            << bands << "</PAMDataset>\n";
    write_png(chips + "/t.png", scan);
    std::ofstream(chips + "/t.png.aux.xml")
        << "<PAMDataset><PAMRasterBand band=\"1\"><NoDataValue>0</NoDataValue></PAMRasterBand>"
           "<PAMRasterBand band=\"2\"><NoDataValue>5</NoDataValue></PAMRasterBand></PAMDataset>";
    // A palette chip's NoDataValue is an index, which predict does not compare (it reads the
    // colours): said, not applied to the colour it shows.
    {
        std::vector<Rgb> colours(256, Rgb{255, 255, 255});  // entry 0 white, not (0, 0, 0)
        colours[1] = {200, 100, 50};
        colours[2] = {40, 160, 90};
        colours[3] = {70, 70, 70};
        write_png_indexed(chips + "/p.png", test::foreign_labels(40, 32, 2), colours);
        std::ofstream(chips + "/p.png.aux.xml")
            << "<PAMDataset><PAMRasterBand band=\"1\"><NoDataValue>0</NoDataValue>"
               "</PAMRasterBand></PAMDataset>";
    }
    std::ofstream(chips + "/c.bmp") << "BM";  // a format not read: left out, and said
    // A gray chip for a model trained on colour images: predicted, and said.
    write_png_gray(chips + "/g.png", test::foreign_labels(40, 32, 6));
    const std::string predict =
        "predict --checkpoint " + root + "/run/last.ckpt --device cpu --input " + chips;
    const test::CommandResult r = test::run_pfce(predict + " --out " + root + "/out --confidence");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_MESSAGE_HAS(r.output,
                       "georeference carried from world file a.pgw, a.prj, a.png.aux.xml");
    EXPECT_MESSAGE_HAS(r.output,
                       "1 image(s) of a format not read are left out (e.g. " + chips + "/c.bmp");
    EXPECT_MESSAGE_HAS(r.output,
                       "g.png is gray but " + root + "/run/last.ckpt was trained on colour images");
    EXPECT_EQ(r.output.find("b.JPG is"), std::string::npos) << r.output;
    EXPECT_EQ(read_whole_file(root + "/out/s.png.aux.xml"),
              "<PAMDataset>\n  " + gcps + "\n</PAMDataset>\n");
    const LabelMap scan_mask = read_gray(root + "/out/s.png");
    for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 40; ++x) ASSERT_EQ(scan_mask.at(y, x) == 255, x < 5) << x << "," << y;
    EXPECT_MESSAGE_HAS(r.output, "160 pixels of no data left 255");
    EXPECT_MESSAGE_HAS(r.output,
                       "t.png.aux.xml: NoDataValue 0, 5 is not used (expected one whole "
                       "value 0..255 for every band); its pixels are predicted as data");
    EXPECT_MESSAGE_HAS(r.output,
                       "p.png.aux.xml: NoDataValue 0 is not used: it is a stored sample, "
                       "and " +
                           chips + "/p.png is a palette image");
    EXPECT_EQ(read_whole_file(root + "/out/a.pgw"), world);
    EXPECT_EQ(read_whole_file(root + "/out/a_confidence.pgw"), world);
    EXPECT_EQ(read_whole_file(root + "/out/a.prj"), wkt);
    EXPECT_EQ(read_whole_file(root + "/out/a.png.aux.xml"),
              "<PAMDataset>\n  <SRS dataAxisToSRSAxisMapping=\"1,2\">EPSG:25832</SRS>\n"
              "  <GeoTransform> 5.0e+05, 5.0e-01, 0.0, 5.00004e+06, 0.0, -5.0e-01</GeoTransform>\n"
              "</PAMDataset>\n");
    EXPECT_EQ(read_whole_file(root + "/out/b.pgw"), world);  // b.JPG -> b.png
    EXPECT_FALSE(fs::exists(root + "/out/b.prj"));
    // The overlay lies on the mask's grid: placed as it is, so a GIS lays it over the image.
    EXPECT_EQ(read_whole_file(root + "/out/a_overlay.pgw"), world);
    EXPECT_EQ(read_whole_file(root + "/out/a_overlay.prj"), wkt);
    // One file to a TIFF: its world file is a .tfw.
    const std::string one = "predict --checkpoint " + root +
                            "/run/last.ckpt --device cpu --input " + chips + "/a.png --out " +
                            root + "/one.tif";
    ASSERT_EQ(test::run_pfce(one).status, 0);
    EXPECT_EQ(read_whole_file(root + "/one.tfw"), world);
    // A user's file where a sidecar would go is refused without --force, and stays.
    fs::remove(root + "/one.tif");
    fs::remove(root + "/one_overlay.png");
    std::ofstream(root + "/one.tfw") << "mine";
    const test::CommandResult mine = test::run_pfce(one);
    EXPECT_EQ(mine.status, 2) << mine.output;
    EXPECT_MESSAGE_HAS(mine.output, "one.tfw");
    EXPECT_EQ(read_whole_file(root + "/one.tfw"), "mine");
    // Beside its input, with its stem: the input's .prj is the mask's too, and stays as it is
    // (before this was seen, predict refused to write over its input).
    const test::CommandResult beside = test::run_pfce(predict + "/a.png --out " + chips + "/a.tif");
    ASSERT_EQ(beside.status, 0) << beside.output;
    EXPECT_EQ(read_whole_file(chips + "/a.prj"), wkt);
    EXPECT_EQ(read_whole_file(chips + "/a.tfw"), world);
    // Not six numbers: not carried, and said.
    std::ofstream(chips + "/a.pgw") << "0.5\n0\n";
    const test::CommandResult bad = test::run_pfce(predict + "/a.png --out " + root + "/bad.png");
    ASSERT_EQ(bad.status, 0) << bad.output;
    EXPECT_MESSAGE_HAS(bad.output, "a.pgw: not a world file");
    EXPECT_FALSE(fs::exists(root + "/bad.pgw"));
    EXPECT_TRUE(fs::exists(root + "/bad.prj"));

    // An earlier prediction's sidecars and confidence map beside a new mask of the same name would
    // place and describe it (hostile-user probe: --force left them, and GDAL put an image without
    // georeference where the old one lay). --force removes them with the new mask's writing;
    // without it, a stray world file is refused, named, and left as it is.
    std::ofstream(chips + "/a.pgw") << world;
    const std::string plain = root + "/plain";
    fs::create_directories(plain);
    write_png(plain + "/a.png", test::foreign_image(test::foreign_labels(24, 16, 7), 7));
    const std::string again =
        "predict --checkpoint " + root + "/run/last.ckpt --device cpu --input ";
    ASSERT_EQ(
        test::run_pfce(again + chips + "/a.png --out " + root + "/re/a.png --confidence").status,
        0);
    ASSERT_TRUE(fs::exists(root + "/re/a.pgw"));
    const test::CommandResult refused = test::run_pfce(again + plain + " --out " + root + "/re");
    EXPECT_EQ(refused.status, 2) << refused.output;
    const test::CommandResult replaced =
        test::run_pfce(again + plain + " --out " + root + "/re --force");
    ASSERT_EQ(replaced.status, 0) << replaced.output;
    for (const char* gone : {"a.pgw", "a.prj", "a.png.aux.xml", "a_confidence.png",
                             "a_confidence.pgw", "a_confidence.prj", "a_confidence.png.aux.xml"})
        EXPECT_FALSE(fs::exists(root + "/re/" + gone)) << gone;
    EXPECT_EQ(read_gray(root + "/re/a.png").width, 24);
    std::vector<std::string> left;
    for (const auto& e : fs::directory_iterator(root + "/re")) left.push_back(e.path().filename());
    std::sort(left.begin(), left.end());
    // (no mark of a directory of predictions: it held other files when first predicted into)
    EXPECT_EQ(left, (std::vector<std::string>{"a.png", "a_overlay.png"}));
    fs::create_directories(root + "/stray");
    std::ofstream(root + "/stray/a.wld") << world;
    const test::CommandResult stray = test::run_pfce(again + plain + " --out " + root + "/stray");
    EXPECT_EQ(stray.status, 2) << stray.output;
    EXPECT_MESSAGE_HAS(stray.output, root + "/stray/a.wld exists beside " + root +
                                         "/stray/a.png and would be read with it");
    EXPECT_EQ(read_whole_file(root + "/stray/a.wld"), world);
    EXPECT_FALSE(fs::exists(root + "/stray/a.png"));
    // With --force it goes with the new mask, and that is said (it went without a word).
    const test::CommandResult forced_stray =
        test::run_pfce(again + plain + " --out " + root + "/stray --force");
    EXPECT_EQ(forced_stray.status, 0) << forced_stray.output;
    EXPECT_MESSAGE_HAS(
        forced_stray.output,
        "removed with --force, as they belonged to the mask it replaced: " + root + "/stray/a.wld");
    EXPECT_FALSE(fs::exists(root + "/stray/a.wld"));
    // Never a file of anyone else's (diff review): not an input's other world file (the mask
    // beside its input), not the .prj of a user's a.tif beside a new a.png, --force or not.
    std::ofstream(chips + "/a.wld") << world;
    ASSERT_EQ(test::run_pfce(again + chips + "/a.png --out " + chips + "/a.tif --force").status, 0);
    EXPECT_EQ(read_whole_file(chips + "/a.wld"), world);
    EXPECT_EQ(read_whole_file(chips + "/a.pgw"), world);
    const std::string users = root + "/users";
    fs::create_directories(users);
    write_png(users + "/a.tif", test::foreign_image(test::foreign_labels(8, 8, 1), 1));
    std::ofstream(users + "/a.prj") << wkt;
    std::ofstream(users + "/a.tfw") << world;
    ASSERT_EQ(test::run_pfce(again + plain + "/a.png --out " + users + "/a.png --force").status, 0);
    EXPECT_EQ(read_whole_file(users + "/a.prj"), wkt);
    EXPECT_EQ(read_whole_file(users + "/a.tfw"), world);
}

// Sparse and linked masks lie where their images lie: each mask's world file and CRS beside it (a
// GIS lays the points over their image; they carried none); a mask whose image lost its place
// loses its sidecars when sampled again; an image without a place gives its mask none.
TEST(RealDatasets, SparseAndLinkedMasksCarryTheirImagesPlace) {
    const std::string root = test::temp_dir("real_mask_place");
    const auto fd = test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    ASSERT_GE(fd.ids.size(), 5u);
    const std::string tif_id = fd.ids[0], pgw_id = fd.ids[1], bare_id = fd.ids[2];
    const std::string wkt_id = fd.ids[3], gcp_id = fd.ids[4];
    {  // one GeoTIFF (EPSG:25832 by its tags), one PNG placed by a world file and .prj
        const std::string png = fd.root + "/images/" + tif_id + ".png";
        const RgbImage img = read_rgb(png);
        fs::remove(png);
        write_geotiff(fd.root + "/images/" + tif_id + ".tif", img);
    }
    const std::string world = "0.3\n0\n0\n-0.3\n500000.15\n4999999.85\n";
    std::ofstream(fd.root + "/images/" + pgw_id + ".pgw") << world;
    std::ofstream(fd.root + "/images/" + pgw_id + ".prj")
        << "PROJCS[\"WGS 84 / UTM zone 32N\",AUTHORITY[\"EPSG\",\"32632\"]]";
    // A CRS without a code (a local grid) goes in the .aux.xml as its text, which GDAL reads
    // beside a PNG (it reads no .prj there); a GeoTIFF located by GCPs, its GCPList.
    std::ofstream(fd.root + "/images/" + wkt_id + ".pgw") << world;
    std::ofstream(fd.root + "/images/" + wkt_id + ".prj") << "LOCAL_CS[\"site <B>\"]";
    {
        const std::string png = fd.root + "/images/" + gcp_id + ".png";
        const RgbImage img = read_rgb(png);
        fs::remove(png);
        const std::vector<double> gcps = {0,  0, 0, 366000, 5808000, 0,
                                          10, 0, 0, 366002, 5808000, 0};
        write_geotiff(fd.root + "/images/" + gcp_id + ".tif", img, nullptr, true, &gcps);
    }
    const std::string sp = root + "/sp", lk = root + "/lk";
    const test::CommandResult sampled =
        test::run_pfce("sample --data " + fd.root + " --points 5 --out " + sp);
    ASSERT_EQ(sampled.status, 0) << sampled.output;
    // The GeoTIFF's tags as GDAL reads them: the centre of pixel (0, 0) is half a pixel in.
    EXPECT_EQ(read_whole_file(sp + "/" + tif_id + ".pgw"),
              "0.05\n0\n0\n-0.05\n366012.525\n5808070.225\n");
    EXPECT_EQ(read_whole_file(sp + "/" + tif_id + ".png.aux.xml"),
              "<PAMDataset>\n  <SRS>EPSG:25832</SRS>\n</PAMDataset>\n");
    EXPECT_EQ(read_whole_file(sp + "/" + pgw_id + ".pgw"),
              "0.3\n0\n0\n-0.3\n500000.15\n4999999.85\n");
    EXPECT_EQ(read_whole_file(sp + "/" + pgw_id + ".png.aux.xml"),
              "<PAMDataset>\n  <SRS>EPSG:32632</SRS>\n</PAMDataset>\n");
    for (const char* ext : {".pgw", ".prj", ".png.aux.xml"})
        EXPECT_FALSE(fs::exists(sp + "/" + bare_id + ext)) << ext;
    EXPECT_EQ(read_whole_file(sp + "/" + wkt_id + ".png.aux.xml"),
              "<PAMDataset>\n  <SRS>LOCAL_CS[&quot;site &lt;B&gt;&quot;]</SRS>\n</PAMDataset>\n");
    EXPECT_FALSE(fs::exists(sp + "/" + wkt_id + ".prj"));
    EXPECT_MESSAGE_HAS(
        read_whole_file(sp + "/" + gcp_id + ".png.aux.xml"),
        "<GCPList Projection=\"EPSG:25832\">\n    <GCP Id=\"1\" Pixel=\"0\" Line=\"0\" "
        "X=\"366000\" Y=\"5808000\" Z=\"0\" />");
    // Sampled again with the same settings, the masks are reused, and their place follows their
    // images' (a GIS probe: a place changed since stayed stale, --force or not).
    std::ofstream(fd.root + "/images/" + bare_id + ".pgw") << world;
    const test::CommandResult reused =
        test::run_pfce("sample --data " + fd.root + " --points 5 --out " + sp);
    ASSERT_EQ(reused.status, 0) << reused.output;
    EXPECT_MESSAGE_HAS(reused.output, "reused");
    EXPECT_MESSAGE_HAS(reused.output, sp + ": 1 mask's place on the map updated");
    EXPECT_EQ(read_whole_file(sp + "/" + bare_id + ".pgw"), world);
    fs::remove(fd.root + "/images/" + bare_id + ".pgw");
    ASSERT_EQ(test::run_pfce("sample --data " + fd.root + " --points 5 --out " + sp).status, 0);
    EXPECT_FALSE(fs::exists(sp + "/" + bare_id + ".pgw"));
    // Linked masks lie where their sparse masks lie.
    const test::CommandResult linked =
        test::run_pfce("link --in " + sp + " --out " + lk + " --radius 5 --device cpu");
    ASSERT_EQ(linked.status, 0) << linked.output;
    for (const std::string& id : {tif_id, pgw_id})
        for (const char* ext : {".pgw", ".png.aux.xml"})
            EXPECT_EQ(read_whole_file(lk + "/" + id + ext), read_whole_file(sp + "/" + id + ext))
                << id << ext;
    EXPECT_FALSE(fs::exists(lk + "/" + bare_id + ".pgw"));
    // Reused, linked masks follow their sparse masks' place (sample updates those on reuse).
    const std::string link = "link --in " + sp + " --out " + lk + " --radius 5 --device cpu";
    std::ofstream(fd.root + "/images/" + bare_id + ".pgw") << world;
    ASSERT_EQ(test::run_pfce("sample --data " + fd.root + " --points 5 --out " + sp).status, 0);
    const test::CommandResult relinked = test::run_pfce(link);
    ASSERT_EQ(relinked.status, 0) << relinked.output;
    EXPECT_MESSAGE_HAS(relinked.output, lk + ": 1 mask's place on the map updated");
    EXPECT_EQ(read_whole_file(lk + "/" + bare_id + ".pgw"), world);
    fs::remove(fd.root + "/images/" + bare_id + ".pgw");
    ASSERT_EQ(test::run_pfce("sample --data " + fd.root + " --points 5 --out " + sp).status, 0);
    ASSERT_EQ(test::run_pfce(link).status, 0);
    EXPECT_FALSE(fs::exists(lk + "/" + bare_id + ".pgw"));
    // Its image's place gone, a mask sampled again has none (its old one would place it).
    fs::remove(fd.root + "/images/" + pgw_id + ".pgw");
    fs::remove(fd.root + "/images/" + pgw_id + ".prj");
    const test::CommandResult again =
        test::run_pfce("sample --data " + fd.root + " --points 6 --out " + sp + " --force");
    ASSERT_EQ(again.status, 0) << again.output;
    EXPECT_FALSE(fs::exists(sp + "/" + pgw_id + ".pgw"));
    EXPECT_FALSE(fs::exists(sp + "/" + pgw_id + ".png.aux.xml"));
    EXPECT_TRUE(fs::exists(sp + "/" + tif_id + ".pgw"));
    // The masks read back as before, and no temporary is left.
    EXPECT_EQ(test::run_pfce("data stats " + sp).status, 0);
    for (const auto& e : fs::directory_iterator(sp))
        EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
}

// Potsdam ships each tile three ways (2_Ortho_RGB, 3_Ortho_IRRG, 4_Ortho_RGBIR). A folder of only
// RGBIR tiles is recognized and says how to read it; data.tile_image picks the set and data.bands
// the bands (IR-R-G here), through training, the checkpoint, prediction and edge-aware linking.
// An orthophoto marks what lies outside its survey as transparent (alpha, a tRNS colour, a
// GeoTIFF nodata mask). Predict refused such a chip outright; now those pixels get no class: 255
// (pfce's unlabelled, transparent in the PNG) in the mask, 0 in the confidence map, their stored
// colour in the overlay, and they are counted apart from the pixels with data.
// data stats says where the images lie: how many are georeferenced, their pixels' ground size and
// CRS (a researcher wanted them before training: walkthrough), in its text and --json.
TEST(RealDatasets, StatsSaysHowManyImagesAreGeoreferencedAndTheirPixelSize) {
    const std::string root = test::temp_dir("real_stats_place");
    const auto fd = test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    const test::CommandResult none = test::run_pfce("data stats " + fd.root);
    ASSERT_EQ(none.status, 0) << none.output;
    EXPECT_MESSAGE_HAS(none.output, "place:     no image is georeferenced");
    for (std::size_t k = 0; k < 2; ++k) {
        const std::string png = fd.root + "/images/" + fd.ids[k] + ".png";
        const RgbImage img = read_rgb(png);
        std::filesystem::remove(png);
        write_geotiff(fd.root + "/images/" + fd.ids[k] + ".tif", img);
    }
    const test::CommandResult some = test::run_pfce("data stats " + fd.root);
    ASSERT_EQ(some.status, 0) << some.output;
    EXPECT_MESSAGE_HAS(some.output,
                       "place:     2 of the 8 images georeferenced, pixels of 0.05 m "
                       "(EPSG:25832)");
    const test::CommandResult j = test::run_pfce("data stats " + fd.root + " --json -q");
    ASSERT_EQ(j.status, 0) << j.output;
    const nlohmann::json stats = test::json_in_output(j.output);
    EXPECT_EQ(stats["georeferenced_images"], 2);
    EXPECT_EQ(stats["ground_pixel_size"]["epsg"], nlohmann::json::array({25832}));
    EXPECT_DOUBLE_EQ(stats["ground_pixel_size"]["min"].get<double>(), 0.05);
}

TEST(RealDatasets, PredictionLeavesPixelsWithoutDataUnlabelled) {
    const std::string root = test::temp_dir("real_predict_nodata");
    const auto fd = test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    ASSERT_EQ(train_tiny_run(fd.root, root + "/run").status, 0);
    const int w = 40, h = 32;
    const RgbImage rgb = test::foreign_image(test::foreign_labels(w, h, 3), 3);
    std::vector<std::uint8_t> rgba;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const std::uint8_t* p = &rgb.pixels[3 * (static_cast<std::size_t>(y) * w + x)];
            rgba.insert(rgba.end(), {p[0], p[1], p[2], std::uint8_t(x < 10 ? 0 : 255)});
        }
    const std::string chip = root + "/chip.png";
    png_image img{};
    img.version = PNG_IMAGE_VERSION;
    img.width = w;
    img.height = h;
    img.format = PNG_FORMAT_RGBA;
    ASSERT_TRUE(png_image_write_to_file(&img, chip.c_str(), 0, rgba.data(), 0, nullptr));
    EXPECT_THROW(read_rgb(chip), InputError);  // read as data only where it may have none

    const test::CommandResult r =
        test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --input " + chip +
                       " --out " + root + "/pred.png --confidence --device cpu");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_MESSAGE_HAS(r.output, "320 pixels of no data left 255");
    EXPECT_MESSAGE_HAS(r.output, "960 pixels with data (and 320 without, left 255)");
    EXPECT_EQ(r.output.find("-colorinterp"), std::string::npos) << r.output;
    // Most of an image transparent by an alpha band of measurements (infrared tagged as alpha,
    // as some exports do: values between 0 and 255): how to re-tag it is said. An edge tile
    // mostly outside its survey (alpha 0 there, 255 inside) says nothing.
    const std::string mostly = root + "/mostly.png";
    auto predict_mostly = [&](bool measured) {
        for (std::size_t i = 3; i < rgba.size(); i += 4)
            rgba[i] = (i / 4) % w >= 30 ? 255 : measured ? std::uint8_t(1 + i % 200) : 0;
        EXPECT_TRUE(png_image_write_to_file(&img, mostly.c_str(), 0, rgba.data(), 0, nullptr));
        return test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --input " + mostly +
                              " --out " + root + "/mostly/pred.png --force --device cpu");
    };
    const test::CommandResult edge = predict_mostly(false);
    ASSERT_EQ(edge.status, 0) << edge.output;
    EXPECT_MESSAGE_HAS(edge.output, "960 pixels of no data left 255");
    EXPECT_EQ(edge.output.find("-colorinterp"), std::string::npos) << edge.output;
    const test::CommandResult ir = predict_mostly(true);
    ASSERT_EQ(ir.status, 0) << ir.output;
    EXPECT_MESSAGE_HAS(ir.output, mostly +
                                      ": 960 of its 1280 pixels are transparent by its alpha "
                                      "band (band 4), 960 of them neither transparent nor "
                                      "opaque");
    EXPECT_MESSAGE_HAS(ir.output, "-colorinterp_4 undefined");
    // All transparent: no pixel is gray or in colour, so nothing is said of it (it was called
    // gray, a model trained on colour warned of).
    for (std::size_t i = 3; i < rgba.size(); i += 4) rgba[i] = 0;
    ASSERT_TRUE(png_image_write_to_file(&img, mostly.c_str(), 0, rgba.data(), 0, nullptr));
    const test::CommandResult empty =
        test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --input " + mostly +
                       " --out " + root + "/mostly/pred.png --force --device cpu");
    ASSERT_EQ(empty.status, 0) << empty.output;
    EXPECT_MESSAGE_HAS(empty.output, "1280 pixels of no data left 255");
    EXPECT_EQ(empty.output.find(" is gray"), std::string::npos) << empty.output;
    for (std::size_t i = 3; i < rgba.size(); i += 4) rgba[i] = (i / 4) % w < 10 ? 0 : 255;
    const LabelMap mask = read_gray(root + "/pred.png");
    const LabelMap confidence = read_gray(root + "/pred_confidence.png");
    const RgbImage overlay = read_rgb(root + "/pred_overlay.png");
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const std::size_t i = static_cast<std::size_t>(y) * w + x;
            if (x < 10) {
                ASSERT_EQ(mask.labels[i], 255) << x << "," << y;
                ASSERT_EQ(confidence.labels[i], 0);
                for (int k = 0; k < 3; ++k)
                    ASSERT_EQ(overlay.pixels[3 * i + k], rgb.pixels[3 * i + k]);
            } else {
                ASSERT_LT(mask.labels[i], 6) << x << "," << y;
            }
        }
    // The mask's palette makes 255 transparent: a viewer shows no class there.
    std::vector<std::uint8_t> nodata;
    read_rgb_with_nodata(root + "/pred.png", nodata);
    ASSERT_EQ(nodata.size(), static_cast<std::size_t>(w) * h);
    EXPECT_EQ(std::count(nodata.begin(), nodata.end(), 1), 320);
    // Read back as a mask of the same dataset (pseudo-labels), PNG or TIFF, those pixels are
    // unlabelled: 255's palette entry is the dataset's ignore colour, not black, which is this
    // dataset's background class (a TIFF has no transparency; PNG readers may ignore it).
    ASSERT_EQ(test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --input " + chip +
                             " --out " + root + "/tif/pred.tif --confidence --device cpu")
                  .status,
              0);
    // The TIFF says so to GIS tools too: GDAL's NoData tag holds 255 (pfce's reader marks it).
    // A palette image's NoData value is an index, as GDAL reads it (it was not read at all):
    // predicting the mask itself as an image leaves those pixels without a class again.
    std::vector<std::uint8_t> tif_nodata;
    read_rgb_with_nodata(root + "/tif/pred.tif", tif_nodata);
    EXPECT_EQ(std::count(tif_nodata.begin(), tif_nodata.end(), 1), 320);
    const test::CommandResult again =
        test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --input " + root +
                       "/tif/pred.tif --out " + root + "/again.png --device cpu");
    ASSERT_EQ(again.status, 0) << again.output;
    EXPECT_MESSAGE_HAS(again.output, "320 pixels of no data left 255");
    // The GIS tools' NoData tag: 255 in the mask, 0 in the confidence map (a confidence is at
    // least 1/C, so 0 is free; without the tag no-data pixels showed as the most unsure ones).
    for (const auto& [file, want] : {std::pair<std::string, std::string>{"/tif/pred.tif", "255"},
                                     {"/tif/pred_confidence.tif", "0"}}) {
        TIFF* t = TIFFOpen((root + file).c_str(), "r");
        ASSERT_NE(t, nullptr) << file;
        char* text = nullptr;
        EXPECT_TRUE(TIFFGetField(t, 42113, &text) && text && std::string(text) == want) << file;
        TIFFClose(t);
    }
    for (const char* ext : {".png", ".tif"}) {
        const std::string back = root + "/back" + ext;
        fs::create_directories(back + "/images");
        fs::create_directories(back + "/masks");
        fs::copy_file(fd.root + "/dataset.toml", back + "/dataset.toml");
        write_png(back + "/images/chip.png", rgb);
        fs::copy_file(root + (ext == std::string(".png") ? "/pred.png" : "/tif/pred.tif"),
                      back + "/masks/chip" + ext);
        const LabelMap read = Dataset::open(back).read_mask(0);
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                const std::uint8_t v = read.labels[static_cast<std::size_t>(y) * w + x];
                if (x < 10)
                    ASSERT_EQ(v, 255) << ext << " " << x << "," << y;
                else
                    ASSERT_LT(v, 4) << ext << " " << x << "," << y;
            }
    }
}

// Three 72x64 Potsdam RGBIR tiles (top_potsdam_2_10..12) and their labels under `data`: each
// tile's colours and infrared band (which says the class outright, vegetation bright, so it is no
// copy of R, G or B).
struct RgbirTiles {
    int w = 72, h = 64;
    std::vector<std::vector<std::uint8_t>> infrared;
    std::vector<RgbImage> colours;
};
RgbirTiles write_rgbir_tiles(const std::string& data) {
    fs::create_directories(data + "/4_Ortho_RGBIR");
    fs::create_directories(data + "/5_Labels_all");
    RgbirTiles t;
    for (int k = 0; k < 3; ++k) {
        const std::string stem = "top_potsdam_2_" + std::to_string(10 + k);
        LabelMap lab(t.w, t.h, 0);
        for (int y = 0; y < t.h; ++y)
            for (int x = 0; x < t.w; ++x)
                lab.at(y, x) = static_cast<std::uint8_t>((x / 12 + y / 16 + k) % 6);
        t.colours.push_back(test::foreign_image(lab, k));
        t.infrared.emplace_back(static_cast<std::size_t>(t.w) * t.h);
        for (std::size_t i = 0; i < t.infrared.back().size(); ++i)
            t.infrared.back()[i] = static_cast<std::uint8_t>(20 + 40 * lab.labels[i]);
        write_geotiff(data + "/4_Ortho_RGBIR/" + stem + "_RGBIR.tif", t.colours.back(),
                      &t.infrared.back());
        write_tiff(data + "/5_Labels_all/" + stem + "_label.tif", potsdam_palette().encode(lab));
    }
    return t;
}

TEST(RealDatasets, PotsdamRgbirTilesTrainOnTheBandsChosen) {
    const std::string root = test::temp_dir("real_rgbir");
    const std::string data = root + "/data";
    const RgbirTiles fixture = write_rgbir_tiles(data);
    const int w = fixture.w;
    const std::vector<std::vector<std::uint8_t>>& infrared = fixture.infrared;
    const std::vector<RgbImage>& colours = fixture.colours;
    // Without a choice: what is there, and the key that reads it.
    const test::CommandResult none = test::run_pfce("data stats " + data);
    EXPECT_NE(none.status, 0);
    EXPECT_MESSAGE_HAS(none.output, "no top_potsdam_*_RGB.tif tiles");
    EXPECT_MESSAGE_HAS(none.output, "RGBIR tiles");
    EXPECT_MESSAGE_HAS(none.output, "--tile-image RGBIR");
    const std::string tiles =
        " --data " + data + " --tile-image RGBIR --tile-patch 32 --tile-stride 32";
    const test::CommandResult unpicked =
        test::run_pfce("train" + tiles + " --out " + root + "/r0 --epochs 1" + kTiny);
    EXPECT_NE(unpicked.status, 0);
    EXPECT_MESSAGE_HAS(unpicked.output, "_RGBIR.tif: 4 bands");
    EXPECT_MESSAGE_HAS(unpicked.output, "data.bands");

    // The dataset reads IR, R, G where asked.
    DatasetOptions o;
    o.tile_image = "RGBIR";
    o.tile_patch = o.tile_stride = 32;
    o.image.bands = {4, 1, 2};
    const Dataset ds = Dataset::open(data, o);
    ASSERT_EQ(ds.size(), 3u * 3 * 2);
    const SampleRef& s = ds.sample(4);
    const RgbImage img = ds.read_image(4);
    const int tile = std::stoi(s.id.substr(14, 2)) - 10;  // top_potsdam_2_1K@...
    for (int y = 0; y < s.height; ++y)
        for (int x = 0; x < s.width; ++x) {
            const std::size_t i = static_cast<std::size_t>(s.y0 + y) * w + s.x0 + x;
            ASSERT_EQ(img.at(y, x)[0], infrared[static_cast<std::size_t>(tile)][i]);
            ASSERT_EQ(img.at(y, x)[1],
                      colours[static_cast<std::size_t>(tile)].at(s.y0 + y, s.x0 + x)[0]);
            ASSERT_EQ(img.at(y, x)[2],
                      colours[static_cast<std::size_t>(tile)].at(s.y0 + y, s.x0 + x)[1]);
        }

    const test::CommandResult t = test::run_pfce("train" + tiles + " --bands 4,1,2 --out " + root +
                                                 "/run --epochs 1" + kTiny);
    ASSERT_EQ(t.status, 0) << t.output;
    // A random split of windows is said to leak neighbours between the parts; so are lists that
    // put windows of one tile in two parts, and split settings the lists make unused.
    EXPECT_MESSAGE_HAS(t.output, "the random split puts windows of one tile in train");
    std::ofstream(root + "/train.txt") << ds.sample(0).id << "\n" << ds.sample(2).id << "\n";
    std::ofstream(root + "/test.txt") << ds.sample(1).id << "\n";
    const test::CommandResult listed = test::run_pfce(
        "train" + tiles + " --bands 4,1,2 --train-list " + root + "/train.txt --test-list " + root +
        "/test.txt --split-seed 5 --out " + root + "/listed --epochs 1" + kTiny);
    ASSERT_EQ(listed.status, 0) << listed.output;
    EXPECT_MESSAGE_HAS(listed.output, "has windows in 2 of the split's lists");
    EXPECT_MESSAGE_HAS(listed.output, "split_seed, split_by and max_samples are not used");
    // Drawn by tile, the split keeps each tile's windows in one part, and warns of nothing.
    const test::CommandResult by_tile =
        test::run_pfce("train" + tiles + " --bands 4,1,2 --split-by tile --out " + root +
                       "/by-tile --epochs 1" + kTiny);
    ASSERT_EQ(by_tile.status, 0) << by_tile.output;
    EXPECT_MESSAGE_HAS(by_tile.output,
                       "split by tile: 2 tiles (12 windows) for training, 0 tiles (0 windows) for "
                       "validation, 1 tile (6 windows: top_potsdam_2_11) for test");
    EXPECT_EQ(by_tile.output.find("random split"), std::string::npos) << by_tile.output;
    // eval --bootstrap draws a tiles dataset by tile (3 tiles of 6 windows each here).
    const test::CommandResult boot = test::run_pfce("eval --checkpoint " + root +
                                                    "/by-tile/last.ckpt --split all --bootstrap "
                                                    "200 --device cpu");
    ASSERT_EQ(boot.status, 0) << boot.output;
    EXPECT_MESSAGE_HAS(boot.output, "(95%: bootstrap of 3 tiles, 200 resamples; too few to trust)");
    // Resumed with the other split, it is refused before the data's warnings are said.
    const test::CommandResult other_split =
        test::run_pfce("train" + tiles + " --bands 4,1,2 --split-by sample --resume --out " + root +
                       "/by-tile --epochs 2" + kTiny);
    EXPECT_NE(other_split.status, 0);
    EXPECT_MESSAGE_HAS(other_split.output, "data.split_by: \"tile\" -> \"sample\"");
    EXPECT_EQ(other_split.output.find("random split"), std::string::npos) << other_split.output;
    // The checkpoint's bands read the tile the model was trained on, and refuse a plain RGB file.
    const std::string ckpt = root + "/run/last.ckpt";
    const std::string tile0 = data + "/4_Ortho_RGBIR/top_potsdam_2_10_RGBIR.tif";
    const test::CommandResult p = test::run_pfce("predict --checkpoint " + ckpt + " --input " +
                                                 tile0 + " --out " + root + "/pred.tif");
    ASSERT_EQ(p.status, 0) << p.output;
    EXPECT_EQ(read_gray(root + "/pred.tif").width, w);
    write_geotiff(root + "/rgb.tif", colours[0]);
    const test::CommandResult rgb = test::run_pfce("predict --checkpoint " + ckpt + " --input " +
                                                   root + "/rgb.tif --out " + root + "/p2.tif");
    EXPECT_NE(rgb.status, 0);
    EXPECT_MESSAGE_HAS(rgb.output, "rgb.tif: data.bands asks for band 4, but the file has 3 bands");
    EXPECT_FALSE(fs::exists(root + "/p2.tif"));

    // Sampled with the choice, the masks record it, so edge-aware linking reads the same bands.
    ASSERT_EQ(
        test::run_pfce("sample" + tiles + " --bands 4,1,2 --points 5 --out " + root + "/sp").status,
        0);
    for (const std::string& data_flag : {std::string(), " --data " + data}) {
        const test::CommandResult l =
            test::run_pfce("link --in " + root + "/sp --out " + root + "/ln --force --radius 6 " +
                           "--max-color-step 30 --device cpu" + data_flag);
        EXPECT_EQ(l.status, 0) << data_flag << "\n" << l.output;
    }
    // Training on the masks with the tiles cut otherwise is said to be that (not a changed
    // dataset), naming the cutting to use.
    const test::CommandResult cut =
        test::run_pfce("train" + tiles + " --tile-stride 16 --bands 4,1,2 --labels " + root +
                       "/sp --out " + root + "/cut" + kTiny);
    EXPECT_MESSAGE_HAS(cut.output, "were sampled from windows of 32 pixels at a stride of 32");
    EXPECT_MESSAGE_HAS(cut.output, "--tile-patch 32 --tile-stride 32");
    // The dataset previewed beside the masks is cut and read as they were (32x32 windows of the
    // RGBIR tiles' bands 4,1,2, from masks.json), so the points land on their pixels; a patch
    // typed otherwise would put them on others, and is refused.
    const test::CommandResult pv = test::run_pfce("data preview " + data + " --masks " + root +
                                                  "/sp --out " + root + "/sheet.png");
    EXPECT_EQ(pv.status, 0) << pv.output;
    EXPECT_TRUE(fs::exists(root + "/sheet.png"));
    const test::CommandResult other =
        test::run_pfce("data preview " + data + " --tile-patch 300 --masks " + root + "/sp --out " +
                       root + "/sheet300.png");
    EXPECT_NE(other.status, 0);
    EXPECT_MESSAGE_HAS(other.output, "--tile-patch 300: the masks in");
    EXPECT_MESSAGE_HAS(other.output, "tile windows of 32 pixels");
    EXPECT_FALSE(fs::exists(root + "/sheet300.png"));
    // A directory whose masks.json does not record the cutting (older ones) is read with the
    // flags; masks of 32x32 windows over 300x300 ones are refused, not drawn on other pixels.
    fs::copy(root + "/sp", root + "/sp_old", fs::copy_options::recursive);
    nlohmann::json meta = nlohmann::json::parse(std::ifstream(root + "/sp_old/masks.json"));
    for (nlohmann::json* j : {&meta, &meta["sample"]}) {
        j->erase("tile_patch");
        j->erase("tile_stride");
    }
    meta.erase("checksum");  // older pfce wrote none
    std::ofstream(root + "/sp_old/masks.json") << meta.dump();
    const test::CommandResult old =
        test::run_pfce("data preview " + data + " --tile-image RGBIR --bands 4,1,2 --masks " +
                       root + "/sp_old --out " + root + "/sheet_old.png");
    EXPECT_NE(old.status, 0);
    EXPECT_MESSAGE_HAS(old.output,
                       "The tiles are cut into patches otherwise than when the masks were made");
    EXPECT_FALSE(fs::exists(root + "/sheet_old.png"));
}

// 16-bit multispectral imagery (SpaceNet's 11-bit 8-band WorldView, Sentinel-2 stacks): refused
// until data.value_range says which values are black and white, then trained on the bands chosen;
// predict reads its inputs with the checkpoint's range and bands.
// ISPRS ships Potsdam's labels twice: 5_Labels_all and 5_Labels_all_noBoundary, whose black
// boundaries are unlabelled and which the benchmark scores. data.tile_labels picks the set for
// training and sampling (masks.json records it, so the masks reopen their dataset as made), and
// eval --tile-labels scores a run on the other set of the same windows, without taking those
// files for changed data.

// Where only the infrared band tells the classes apart (colours of noise), a model of the four
// bands learns them and a model of the three colours cannot: the fourth channel reaches the
// network in training, not only its shape.
TEST(RealDatasets, AFourthBandTeachesWhatTheColoursDoNot) {
    const std::string root = test::temp_dir("real_ir_only");
    const std::string data = root + "/data";
    fs::create_directories(data + "/4_Ortho_RGBIR");
    fs::create_directories(data + "/5_Labels_all");
    const int w = 64, h = 64;
    for (int k = 0; k < 3; ++k) {
        const std::string stem = "top_potsdam_3_" + std::to_string(10 + k);
        LabelMap lab(w, h, 0);
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x)
                lab.at(y, x) = static_cast<std::uint8_t>((x / 16 + y / 16 + k) % 3);
        std::vector<std::uint8_t> ir(static_cast<std::size_t>(w) * h);
        for (std::size_t i = 0; i < ir.size(); ++i)
            ir[i] = static_cast<std::uint8_t>(40 + 80 * lab.labels[i]);
        write_geotiff(data + "/4_Ortho_RGBIR/" + stem + "_RGBIR.tif",
                      test::random_rgb(w, h, static_cast<std::uint32_t>(7 + k)), &ir);
        write_tiff(data + "/5_Labels_all/" + stem + "_label.tif", potsdam_palette().encode(lab));
    }
    auto val_miou = [&](const std::string& bands) {
        const test::CommandResult t =
            test::run_pfce("train --data " + data +
                           " --tile-image RGBIR --tile-patch 32 --tile-stride 32 "
                           "--bands " +
                           bands + " --out " + root + "/run" + std::to_string(bands.size()) +
                           " --epochs 30 --lr 0.01" + kTiny);
        EXPECT_EQ(t.status, 0) << t.output;
        std::smatch m;
        const std::regex re("val mIoU ([0-9.]+)");
        EXPECT_TRUE(std::regex_search(t.output, m, re)) << t.output;
        return m.size() > 1 ? std::stod(m[1].str()) : -1.0;
    };
    const double four = val_miou("1,2,3,4"), three = val_miou("1,2,3");
    EXPECT_GT(four, 0.6) << "four bands";
    EXPECT_LT(three, four - 0.25) << "three bands: " << three << ", four: " << four;

    // The same question as a suite: experiments of their own data.bands on one split, each
    // reading the tiles through its bands (edge-aware linking too), compared in one report.
    std::ofstream(root + "/suite.toml")
        << "[suite]\nname = \"ir\"\nexperiments = [\n"
           "  { id = \"rgb\", data = { bands = [1, 2, 3] } },\n"
           "  { id = \"rgbir\", data = { bands = [1, 2, 3, 4] } },\n"
           "  { id = \"rgbir-edge\", data = { bands = [1, 2, 3, 4] }, labels = { kind = "
           "\"linked\", points = 2000, radius = 8, max_color_step = 60.0 } },\n]\n"
           "[data]\nroot = \""
        << data
        << "\"\ntile_image = \"RGBIR\"\ntile_patch = 32\ntile_stride = 32\ntrain_frac = 0.6\n"
           "val_frac = 0.1\n"
           "[model]\nwidth = 4\ndepth = 2\n[optimizer]\nlr = 0.01\n[run]\nepochs = 30\n"
           "batch_size = 4\n";
    const test::CommandResult suite =
        test::run_pfce("run " + root + "/suite.toml --device cpu --out " + root + "/suite-out");
    ASSERT_EQ(suite.status, 0) << suite.output;
    EXPECT_MESSAGE_HAS(suite.output, "images again as data.bands [1,2,3,4]");
    std::ifstream results_file(root + "/suite-out/results.json");
    const nlohmann::json results = nlohmann::json::parse(results_file);
    EXPECT_MESSAGE_HAS(results.at("data").dump(), "each experiment reading its own data.bands");
    std::map<std::string, double> miou;
    for (const nlohmann::json& e : results.at("experiments")) {
        EXPECT_EQ(e.at("status"), "ok") << e.dump();
        miou[e.at("id").get<std::string>()] = e.at("test").at("miou").get<double>();
    }
    EXPECT_LT(miou.at("rgb"), miou.at("rgbir") - 0.25) << results.dump();
    const Checkpoint rgbir = read_checkpoint(root + "/suite-out/rgbir/train/last.ckpt");
    EXPECT_EQ(rgbir.meta.at("model").at("in_channels").get<int>(), 4);
    // An experiment's bands are its fingerprint: the same suite again has nothing to run.
    const test::CommandResult again =
        test::run_pfce("run " + root + "/suite.toml --device cpu --out " + root + "/suite-out");
    ASSERT_EQ(again.status, 0) << again.output;
    EXPECT_MESSAGE_HAS(again.output, "0 ran, 3 skipped");

    // Bands the files lack fail that experiment before any trains; the others run.
    std::ofstream(root + "/bad.toml")
        << "[suite]\nname = \"bad\"\nexperiments = [\n"
           "  { id = \"five\", data = { bands = [1, 2, 3, 5] } },\n"
           "  { id = \"rgb\", data = { bands = [1, 2, 3] } },\n]\n[data]\nroot = \""
        << data
        << "\"\ntile_image = \"RGBIR\"\ntile_patch = 32\ntile_stride = 32\n"
           "[model]\nwidth = 4\ndepth = 2\n[run]\nepochs = 1\nbatch_size = 4\n";
    const test::CommandResult bad =
        test::run_pfce("run " + root + "/bad.toml --device cpu --out " + root + "/bad-out");
    EXPECT_EQ(bad.status, 1) << bad.output;
    EXPECT_MESSAGE_HAS(bad.output,
                       "experiment five cannot run on this data, and fails: its "
                       "data.bands [1,2,3,5] do not read the data");
    EXPECT_MESSAGE_HAS(bad.output, "asks for band 5, but the file has 4 bands");
    EXPECT_LT(bad.output.find("experiment five cannot run"), bad.output.find("training U-Net"))
        << bad.output;
    EXPECT_MESSAGE_HAS(bad.output, "1 ran, 0 skipped, 1 failed");
}

// Four-band images on a dataset unlike ours (black class, grey ignore colour, images of mixed
// sizes, read by the generic layout): training on crops, eval in windows and predict read the four
// bands; every prediction has its image's size, and the preview shows the first three.
TEST(RealDatasets, FourBandImagesOfMixedSizesOnAForeignDataset) {
    const std::string root = test::temp_dir("real_foreign4");
    test::ForeignSpec spec;
    spec.sizes = {{40, 32}, {56, 48}, {33, 61}, {72, 40}, {40, 32}, {48, 40}, {64, 64}, {36, 44}};
    const test::ForeignDataset fd = test::write_foreign_dataset(root + "/data", spec);
    for (std::size_t k = 0; k < fd.ids.size(); ++k) {
        const std::string png = fd.root + "/images/" + fd.ids[k] + ".png";
        const RgbImage colours = read_rgb(png);
        std::vector<std::uint8_t> ir(colours.pixels.size() / 3);
        for (std::size_t i = 0; i < ir.size(); ++i)
            ir[i] = static_cast<std::uint8_t>(
                fd.dense[k].labels[i] == 255 ? 90 : 20 + 50 * fd.dense[k].labels[i]);
        fs::remove(png);
        write_geotiff(fd.root + "/images/" + fd.ids[k] + ".tif", colours, &ir);
    }
    const test::CommandResult t =
        test::run_pfce("train --data " + fd.root + " --bands 1,2,3,4 --crop-size 32 --out " + root +
                       "/run --epochs 2" + kTiny);
    ASSERT_EQ(t.status, 0) << t.output;
    const std::string ckpt = root + "/run/last.ckpt";
    EXPECT_EQ(read_checkpoint(ckpt).meta.at("model").at("in_channels").get<int>(), 4);
    const test::CommandResult ev =
        test::run_pfce("eval --checkpoint " + ckpt + " --split all --window 32 --device cpu");
    ASSERT_EQ(ev.status, 0) << ev.output;
    EXPECT_MESSAGE_HAS(ev.output, "scored in sliding windows of 32x32");
    const test::CommandResult p =
        test::run_pfce("predict --checkpoint " + ckpt + " --input " + fd.root + "/images --out " +
                       root + "/pred --window 32 --device cpu");
    ASSERT_EQ(p.status, 0) << p.output;
    for (std::size_t k = 0; k < fd.ids.size(); ++k) {
        const std::string mask = root + "/pred/" + fd.ids[k] + ".tif";  // GeoTIFF in, TIFF out
        ASSERT_TRUE(fs::exists(mask)) << p.output;
        const LabelMap m = read_gray(mask);
        EXPECT_EQ(m.width, spec.sizes[k].first) << fd.ids[k];
        EXPECT_EQ(m.height, spec.sizes[k].second) << fd.ids[k];
        // The overlay is a picture: three channels, whatever the model saw.
        EXPECT_EQ(probe_image(root + "/pred/" + fd.ids[k] + "_overlay.png").channels, 3);
    }
    const test::CommandResult preview =
        test::run_pfce("data preview " + fd.root + " --bands 1,2,3,4 --out " + root + "/s.png");
    ASSERT_EQ(preview.status, 0) << preview.output;
}

// All four bands of RGBIR tiles as four channels: the U-Net's first layer takes four inputs, the
// checkpoint keeps four channels' statistics, predict reads the four and what it says depends on
// the infrared band; a 3-band file is refused, a model of three channels cannot start from it, and
// edge-aware linking and the preview read the colours (the first three).
TEST(RealDatasets, PotsdamRgbirTilesTrainOnAllFourBands) {
    const std::string root = test::temp_dir("real_rgbir4");
    const std::string data = root + "/data";
    const RgbirTiles fixture = write_rgbir_tiles(data);
    const std::string tiles =
        " --data " + data + " --tile-image RGBIR --tile-patch 32 --tile-stride 32";

    DatasetOptions o;
    o.tile_image = "RGBIR";
    o.tile_patch = o.tile_stride = 32;
    o.image.bands = {1, 2, 3, 4};
    const Dataset ds = Dataset::open(data, o);
    const SampleRef& s = ds.sample(4);
    const RgbImage img = ds.read_image(4);
    ASSERT_EQ(img.channels, 4);
    const auto tile = static_cast<std::size_t>(std::stoi(s.id.substr(14, 2)) - 10);
    for (int y = 0; y < s.height; ++y)
        for (int x = 0; x < s.width; ++x) {
            const std::size_t i = static_cast<std::size_t>(s.y0 + y) * fixture.w + s.x0 + x;
            for (int c = 0; c < 3; ++c)
                ASSERT_EQ(img.at(y, x)[c], fixture.colours[tile].at(s.y0 + y, s.x0 + x)[c]);
            ASSERT_EQ(img.at(y, x)[3], fixture.infrared[tile][i]);
        }

    const test::CommandResult t = test::run_pfce("train" + tiles + " --bands 1,2,3,4 --out " +
                                                 root + "/run --epochs 1" + kTiny);
    ASSERT_EQ(t.status, 0) << t.output;
    const std::string ckpt = root + "/run/last.ckpt";
    const Checkpoint ck = read_checkpoint(ckpt);
    EXPECT_EQ(ck.meta.at("model").at("in_channels").get<int>(), 4);
    EXPECT_EQ(ck.meta.at("stats").at("mean").size(), 4u);
    EXPECT_EQ(ck.meta.at("stats").at("std").size(), 4u);
    // The infrared channel's mean is the training windows' (20..220 here), not a colour's.
    const double ir_mean = ck.meta.at("stats").at("mean").at(3).get<double>();
    EXPECT_GT(ir_mean, 20.0);
    EXPECT_LT(ir_mean, 220.0);
    bool first_layer_of_four = false;
    for (const NamedTensor& tensor : ck.tensors)
        if (tensor.value.shape().rank == 4 && tensor.value.dim(1) == 4) first_layer_of_four = true;
    EXPECT_TRUE(first_layer_of_four) << "no convolution takes the four channels";
    std::ifstream config(root + "/run/config.toml");
    const std::string config_text((std::istreambuf_iterator<char>(config)),
                                  std::istreambuf_iterator<char>());
    EXPECT_MESSAGE_HAS(config_text, "bands = [1,2,3,4]");
    const test::CommandResult ev =
        test::run_pfce("eval --checkpoint " + ckpt + " --data " + data + " --device cpu");
    ASSERT_EQ(ev.status, 0) << ev.output;

    // Predict reads the four bands (each of the eight views of --tta d4 too): the same tile with
    // its infrared band emptied is another input, and the model's confidence changes with it.
    const std::string tile0 = data + "/4_Ortho_RGBIR/top_potsdam_2_10_RGBIR.tif";
    const std::vector<std::uint8_t> dark(fixture.infrared[0].size(), 0);
    write_geotiff(root + "/dark_ir.tif", fixture.colours[0], &dark);
    for (const std::string& in : {tile0, root + "/dark_ir.tif"}) {
        const test::CommandResult p =
            test::run_pfce("predict --checkpoint " + ckpt + " --input " + in + " --out " + root +
                           "/" + fs::path(in).stem().string() + "_mask.tif --confidence --tta d4");
        ASSERT_EQ(p.status, 0) << p.output;
    }
    const LabelMap confident = read_gray(root + "/top_potsdam_2_10_RGBIR_mask_confidence.tif");
    const LabelMap dark_confident = read_gray(root + "/dark_ir_mask_confidence.tif");
    EXPECT_EQ(confident.width, fixture.w);
    EXPECT_NE(confident.labels, dark_confident.labels) << "predict ignored the infrared band";
    write_geotiff(root + "/rgb.tif", fixture.colours[0]);
    const test::CommandResult rgb = test::run_pfce("predict --checkpoint " + ckpt + " --input " +
                                                   root + "/rgb.tif --out " + root + "/p2.tif");
    EXPECT_NE(rgb.status, 0);
    EXPECT_MESSAGE_HAS(rgb.output, "rgb.tif: data.bands asks for band 4, but the file has 3 bands");
    EXPECT_MESSAGE_HAS(rgb.output, ckpt + " was trained on bands [1,2,3,4] (its data.bands)");
    EXPECT_FALSE(fs::exists(root + "/p2.tif"));

    // Does infrared help? The four-band model against one of the colours alone on the same windows,
    // a paired comparison, each model reading the tiles as it was trained.
    ASSERT_EQ(
        test::run_pfce("train" + tiles + " --bands 1,2,3 --out " + root + "/rgb --epochs 1" + kTiny)
            .status,
        0);
    const test::CommandResult against = test::run_pfce("eval --checkpoint " + ckpt + " --against " +
                                                       root + "/rgb/last.ckpt --device cpu");
    ASSERT_EQ(against.status, 0) << against.output;
    EXPECT_MESSAGE_HAS(against.output,
                       "B read the images as it was trained: data.bands [1, 2, 3] "
                       "(this one: [1, 2, 3, 4])");
    // So does a model of the archive's RGB tiles (2_Ortho_RGB): the same windows of other files.
    fs::create_directories(data + "/2_Ortho_RGB");
    for (int k = 0; k < 3; ++k)
        write_geotiff(data + "/2_Ortho_RGB/top_potsdam_2_" + std::to_string(10 + k) + "_RGB.tif",
                      fixture.colours[static_cast<std::size_t>(k)]);
    ASSERT_EQ(test::run_pfce("train --data " + data +
                             " --tile-image RGB --tile-patch 32 --tile-stride 32 --out " + root +
                             "/rgb-tiles --epochs 1" + kTiny)
                  .status,
              0);
    const test::CommandResult tiles_against = test::run_pfce(
        "eval --checkpoint " + ckpt + " --against " + root + "/rgb-tiles/last.ckpt --device cpu");
    ASSERT_EQ(tiles_against.status, 0) << tiles_against.output;
    EXPECT_MESSAGE_HAS(tiles_against.output, "data.tile_image RGB (this one: RGBIR)");
    EXPECT_EQ(tiles_against.output.find("is not the data --against"), std::string::npos)
        << tiles_against.output;
    // A run of three channels cannot start from it: its first layer has another shape.
    const test::CommandResult init =
        test::run_pfce("train" + tiles + " --bands 4,1,2 --init-from " + ckpt + " --out " + root +
                       "/r3 --epochs 1" + kTiny);
    EXPECT_NE(init.status, 0);
    EXPECT_MESSAGE_HAS(init.output, "sees 4 input channels, this run's 3");

    // Edge-aware linking compares colours: the first three bands.
    ASSERT_EQ(test::run_pfce("sample" + tiles + " --bands 1,2,3,4 --points 5 --out " + root + "/sp")
                  .status,
              0);
    const test::CommandResult l = test::run_pfce("link --in " + root + "/sp --out " + root +
                                                 "/ln --radius 6 --max-color-step 30 --device cpu");
    EXPECT_EQ(l.status, 0) << l.output;
    const test::CommandResult preview =
        test::run_pfce("data preview " + data + " --tile-image RGBIR --bands 1,2,3,4 --out " +
                       root + "/sheet.png");
    ASSERT_EQ(preview.status, 0) << preview.output;
    EXPECT_EQ(probe_image(root + "/sheet.png").channels, 3);
}
TEST(RealDatasets, PotsdamErodedLabelsTrainSampleAndScore) {
    const std::string root = test::temp_dir("real_tile_labels");
    const std::string data = root + "/data";
    for (const char* sub : {"/2_Ortho_RGB", "/5_Labels_all", "/5_Labels_all_noBoundary"})
        fs::create_directories(data + sub);
    const int w = 64, h = 64;
    std::int64_t boundary = 0;  // pixels the eroded labels leave unlabelled, over all tiles
    for (int k = 0; k < 3; ++k) {
        const std::string stem = "top_potsdam_2_" + std::to_string(10 + k);
        LabelMap full(w, h, 0);
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x)
                full.at(y, x) = static_cast<std::uint8_t>((x / 16 + y / 16 + k) % 6);
        LabelMap eroded = full;
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x)
                if (x % 16 == 0 || y % 16 == 0) eroded.at(y, x) = 255, ++boundary;
        write_tiff(data + "/2_Ortho_RGB/" + stem + "_RGB.tif", test::foreign_image(full, k));
        write_tiff(data + "/5_Labels_all/" + stem + "_label.tif", potsdam_palette().encode(full));
        write_tiff(data + "/5_Labels_all_noBoundary/" + stem + "_label_noBoundary.tif",
                   potsdam_palette().encode(eroded));
    }
    const std::string tiles = " --data " + data + " --tile-patch 32 --tile-stride 32";
    const test::CommandResult t =
        test::run_pfce("train" + tiles + " --out " + root + "/run --epochs 1" + kTiny);
    ASSERT_EQ(t.status, 0) << t.output;
    EXPECT_MESSAGE_HAS(t.output, "--tile-labels eroded");  // both sets there: which one is read
    auto scored = [&](const std::string& flags) {
        const test::CommandResult e = test::run_pfce("eval --checkpoint " + root +
                                                     "/run/best.ckpt --split all --json" + flags);
        EXPECT_EQ(e.status, 0) << e.output;
        EXPECT_EQ(e.output.find("is not as it was"), std::string::npos) << e.output;
        return test::json_in_output(e.output);
    };
    const nlohmann::json as_trained = scored(""), eroded = scored(" --tile-labels ERODED");
    EXPECT_EQ(as_trained["pixels"].get<std::int64_t>(), 3 * w * h);
    EXPECT_EQ(eroded["pixels"].get<std::int64_t>(), 3 * w * h - boundary);
    EXPECT_EQ(eroded["tile_labels"], "eroded");
    const test::CommandResult wrong =
        test::run_pfce("eval --checkpoint " + root + "/run/best.ckpt --tile-labels noBoundary");
    EXPECT_NE(wrong.status, 0);
    EXPECT_MESSAGE_HAS(wrong.output, "--tile-labels noboundary: expected auto, full");

    // Sampled from the eroded labels: no point on a boundary, and masks.json says which set.
    const test::CommandResult sp = test::run_pfce("sample" + tiles + " --tile-labels eroded " +
                                                  "--points 20 --out " + root + "/sp");
    ASSERT_EQ(sp.status, 0) << sp.output;
    const nlohmann::json meta = nlohmann::json::parse(std::ifstream(root + "/sp/masks.json"));
    EXPECT_EQ(meta["sample"]["tile_labels"], "eroded");
    const MaskDir md = open_mask_dir(root + "/sp");
    std::int64_t points = 0;
    for (const std::string& id : md.ids) {
        const LabelMap m = read_mask_png(md, id, potsdam_palette());
        const int x0 = std::stoi(id.substr(id.find('@') + 1)),
                  y0 = std::stoi(id.substr(id.find('_', id.find('@')) + 1));
        for (int y = 0; y < m.height; ++y)
            for (int x = 0; x < m.width; ++x)
                if (m.at(y, x) != 255) {
                    ++points;
                    EXPECT_FALSE((x0 + x) % 16 == 0 || (y0 + y) % 16 == 0) << id;
                }
    }
    EXPECT_GT(points, 0);
    // The masks show their own labels: --tile-labels otherwise is refused, not overruled.
    const test::CommandResult shown =
        test::run_pfce("data stats " + root + "/sp --tile-labels full");
    EXPECT_NE(shown.status, 0);
    EXPECT_MESSAGE_HAS(shown.output, "tile labels eroded");
    // Training on them with the full labels opened says which set differs and the flag that
    // reads theirs (it said their files had changed or been touched).
    const test::CommandResult on_full = test::run_pfce(
        "train" + tiles + " --labels " + root + "/sp --out " + root + "/run-sp --epochs 1" + kTiny);
    ASSERT_EQ(on_full.status, 0) << on_full.output;
    EXPECT_MESSAGE_HAS(on_full.output, "were sampled from the eroded labels");
    EXPECT_MESSAGE_HAS(on_full.output, "give --tile-labels eroded");
    EXPECT_EQ(on_full.output.find("touched"), std::string::npos) << on_full.output;
    // Sampled with "full" asked where "auto" reads the full labels anyway: the same masks, reused.
    ASSERT_EQ(test::run_pfce("sample" + tiles + " --points 20 --out " + root + "/sp-auto").status,
              0);
    const test::CommandResult same = test::run_pfce("sample" + tiles + " --tile-labels full " +
                                                    "--points 20 --out " + root + "/sp-auto");
    EXPECT_EQ(same.status, 0) << same.output;
    EXPECT_MESSAGE_HAS(same.output, "reused");

    // Without its full labels, the folder reads the eroded ones under "auto": masks sampled so
    // record the set read, and keep it when the full labels come back; eval says which set it
    // scores, and that the run trained on the other.
    fs::rename(data + "/5_Labels_all", root + "/full-aside");
    const nlohmann::json found_eroded = scored("");
    EXPECT_EQ(found_eroded["tile_labels"], "eroded");
    EXPECT_EQ(found_eroded["pixels"].get<std::int64_t>(), 3 * w * h - boundary);
    const test::CommandResult table =
        test::run_pfce("eval --checkpoint " + root + "/run/best.ckpt --split all");
    EXPECT_MESSAGE_HAS(table.output, "(eroded labels, trained on full)");
    ASSERT_EQ(test::run_pfce("sample" + tiles + " --points 20 --out " + root + "/sp-found").status,
              0);
    EXPECT_EQ(nlohmann::json::parse(
                  std::ifstream(root + "/sp-found/masks.json"))["sample"]["tile_labels"],
              "eroded");
    fs::rename(root + "/full-aside", data + "/5_Labels_all");
    const test::CommandResult stats = test::run_pfce("data stats " + root + "/sp-found");
    EXPECT_EQ(stats.status, 0) << stats.output;
    EXPECT_EQ(stats.output.find("warn"), std::string::npos) << stats.output;
    // Two different copies of a full label file clash, but not where only the eroded ones are read.
    fs::create_directories(data + "/5_Labels_for_participants");
    write_tiff(data + "/5_Labels_for_participants/top_potsdam_2_10_label.tif",
               potsdam_palette().encode(LabelMap(8, 8, 0)));
    EXPECT_NE(test::run_pfce("data stats " + data).status, 0);
    EXPECT_EQ(test::run_pfce("data stats " + data + " --tile-labels eroded").status, 0);
    // eval --tile-labels opens the set for every tile, scored or not: said in eval's terms.
    fs::remove_all(data + "/5_Labels_for_participants");
    fs::remove(data + "/5_Labels_all_noBoundary/top_potsdam_2_10_label_noBoundary.tif");
    const test::CommandResult partial =
        test::run_pfce("eval --checkpoint " + root + "/run/best.ckpt --tile-labels eroded");
    EXPECT_NE(partial.status, 0);
    EXPECT_MESSAGE_HAS(partial.output,
                       "eval --tile-labels eroded opens that label set for every "
                       "tile");
}

// The foreign dataset with 11-bit 5-band GeoTIFF-like stacks for images: B, G, R, red edge, NIR.
test::ForeignDataset write_band_stack_dataset(const std::string& root) {
    const auto fd = test::write_foreign_dataset(root, test::ForeignSpec{});
    const int bands = 5;
    auto stack = [&](const LabelMap& lab, int k) {
        const RgbImage rgb = test::foreign_image(lab, k);
        std::vector<std::uint16_t> v(static_cast<std::size_t>(lab.width) * lab.height * bands);
        for (std::size_t i = 0; i < lab.labels.size(); ++i) {
            for (int c = 0; c < 3; ++c) v[i * bands + c] = rgb.pixels[i * 3 + (2 - c)] * 8;
            v[i * bands + 3] = static_cast<std::uint16_t>(300 + 100 * (lab.labels[i] % 8));
            v[i * bands + 4] = static_cast<std::uint16_t>(lab.labels[i] == 3 ? 1900 : 400);
        }
        return v;
    };
    for (std::size_t k = 0; k < fd.ids.size(); ++k) {
        fs::remove(root + "/images/" + fd.ids[k] + ".png");
        const LabelMap& lab = fd.dense[k];
        write_tiff16(root + "/images/" + fd.ids[k] + ".tif", lab.width, lab.height, bands,
                     stack(lab, static_cast<int>(k)));
    }
    return fd;
}

TEST(RealDatasets, SixteenBitBandStacksTrainWithARangeAndBands) {
    const std::string root = test::temp_dir("real_16bit");
    const auto fd = write_band_stack_dataset(root + "/data");
    const test::CommandResult stats = test::run_pfce("data stats " + fd.root);
    EXPECT_NE(stats.status, 0);
    EXPECT_MESSAGE_HAS(stats.output, "16-bit samples, and nothing says");
    EXPECT_MESSAGE_HAS(stats.output, "--value-range");
    const test::CommandResult ok =
        test::run_pfce("data stats " + fd.root + " --value-range 0,2047 --bands 5,3,2");
    EXPECT_EQ(ok.status, 0) << ok.output;
    EXPECT_MESSAGE_HAS(ok.output,
                       "5 bands of 16 bits, read as bands 5,3,2, values 0..2047 scaled to 0..255");

    // NIR-R-G, as a false-colour composite.
    const std::string run = root + "/run";
    const test::CommandResult t =
        test::run_pfce("train --data " + fd.root + " --value-range 0,2047 --bands 5,3,2 --out " +
                       run + " --epochs 1" + kTiny);
    ASSERT_EQ(t.status, 0) << t.output;
    const std::string one = root + "/data/images/" + fd.ids[0] + ".tif";
    const test::CommandResult p =
        test::run_pfce("predict --checkpoint " + run + "/last.ckpt --input " + one + " --out " +
                       root + "/pred.png");
    ASSERT_EQ(p.status, 0) << p.output;
    EXPECT_EQ(read_gray(root + "/pred.png").width, fd.dense[0].width);
    // An 8-bit file is not on the checkpoint's scale.
    write_png(root + "/eight.png", test::foreign_image(fd.dense[0], 0));
    const test::CommandResult eight =
        test::run_pfce("predict --checkpoint " + run + "/last.ckpt --input " + root +
                       "/eight.png --out " + root + "/p8.png");
    EXPECT_NE(eight.status, 0);
    EXPECT_MESSAGE_HAS(eight.output, "eight.png: 8-bit samples, but " + run +
                                         "/last.ckpt reads wider samples (16-bit, signed or "
                                         "floating-point), values 0..2047");
    // eval reads a dataset as the checkpoint does, and says so rather than naming a flag.
    const auto plain = test::write_foreign_dataset(root + "/plain", test::ForeignSpec{});
    const test::CommandResult ev =
        test::run_pfce("eval --checkpoint " + run + "/last.ckpt --data " + plain.root + " -q");
    EXPECT_NE(ev.status, 0);
    EXPECT_MESSAGE_HAS(ev.output, "8-bit samples, but data.value_range");
    EXPECT_MESSAGE_HAS(ev.output, "[eval reads images as " + run + "/last.ckpt was trained");
    // A range that means nothing is refused naming the key.
    const test::CommandResult bad =
        test::run_pfce("train --data " + fd.root + " --value-range 2047,0 --bands 5,3,2 --out " +
                       root + "/r2 --epochs 1" + kTiny);
    EXPECT_NE(bad.status, 0);
    EXPECT_MESSAGE_HAS(bad.output, "data.value_range = [2047, 0]: expected [lo, hi]");
    // Masks sampled with a range and bands record them; train on them takes both (it refused the
    // images without --value-range, though the masks said how they were read), and says so; a
    // range given otherwise is warned about.
    const test::CommandResult s =
        test::run_pfce("sample --data " + fd.root +
                       " --value-range 0,2047 --bands 5,3,2 --points 5 --out " + root + "/sparse");
    ASSERT_EQ(s.status, 0) << s.output;
    const test::CommandResult adopted =
        test::run_pfce("train --data " + fd.root + " --labels " + root + "/sparse --out " + root +
                       "/r3 --epochs 1" + kTiny);
    ASSERT_EQ(adopted.status, 0) << adopted.output;
    EXPECT_MESSAGE_HAS(adopted.output, "data.value_range = [0, 2047]: the range the masks in");
    EXPECT_MESSAGE_HAS(adopted.output, "data.bands = [5,3,2]: the bands the masks in");
    const test::CommandResult other = test::run_pfce(
        "train --data " + fd.root + " --labels " + root + "/sparse --value-range 0,1000 --out " +
        root + "/r4 --epochs 1 --print-config" + kTiny);
    EXPECT_EQ(other.status, 0) << other.output;
    EXPECT_MESSAGE_HAS(other.output,
                       "data.value_range = [0, 1000] reads the images otherwise than the [0, "
                       "2047] the masks in");
}

// Reflectance stored as float32 0..1 (how many processing chains write Sentinel-2 or aerial
// reflectance), with NaN where a scene has no data: refused without a range, naming the type; with
// one it trains, evaluates and predicts, the NaN rows left out everywhere (counted by data stats,
// no class in predict's mask), and a model of 8-bit images refuses them by type.
TEST(RealDatasets, FloatingPointReflectanceTrainsThroughARangeAndItsNanIsNoData) {
    const std::string root = test::temp_dir("real_float");
    const auto fd = test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    std::int64_t nan_pixels = 0;
    for (std::size_t k = 0; k < fd.ids.size(); ++k) {
        const LabelMap& lab = fd.dense[k];
        const RgbImage rgb = test::foreign_image(lab, static_cast<int>(k));
        std::vector<float> v(rgb.pixels.size());
        for (std::size_t i = 0; i < v.size(); ++i)
            v[i] = static_cast<float>(rgb.pixels[i]) / 255.0f * 0.3f;
        if (k % 2 == 0) {  // the first two rows: outside the scene
            std::fill(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(6 * lab.width),
                      std::numeric_limits<float>::quiet_NaN());
            nan_pixels += 2 * lab.width;
        }
        std::vector<std::uint8_t> bytes(v.size() * 4);
        std::memcpy(bytes.data(), v.data(), bytes.size());
        test::TiffSpec s{.width = lab.width, .height = lab.height, .spp = 3, .bps = 32};
        s.sample_format = SAMPLEFORMAT_IEEEFP;
        fs::remove(root + "/data/images/" + fd.ids[k] + ".png");
        test::write_raw_tiff(root + "/data/images/" + fd.ids[k] + ".tif", s, bytes);
    }
    const test::CommandResult refused = test::run_pfce("data stats " + fd.root);
    EXPECT_NE(refused.status, 0);
    EXPECT_MESSAGE_HAS(refused.output, "32-bit floating-point samples, and nothing says");
    const test::CommandResult stats =
        test::run_pfce("data stats " + fd.root + " --value-range 0,0.3");
    ASSERT_EQ(stats.status, 0) << stats.output;
    EXPECT_MESSAGE_HAS(stats.output,
                       "3 bands of 32 bits (floating point), read as RGB, values "
                       "0..0.3 scaled to 0..255");
    EXPECT_MESSAGE_HAS(stats.output, std::to_string(nan_pixels) + " image pixels in ");
    EXPECT_EQ(stats.output.find("no pixel with data at all"), std::string::npos) << stats.output;

    const std::string run = root + "/run";
    const test::CommandResult t = test::run_pfce(
        "train --data " + fd.root + " --value-range 0,0.3 --out " + run + " --epochs 1" + kTiny);
    ASSERT_EQ(t.status, 0) << t.output;
    const test::CommandResult ev =
        test::run_pfce("eval --checkpoint " + run + "/last.ckpt --data " + fd.root + " -q");
    EXPECT_EQ(ev.status, 0) << ev.output;
    const std::string one = root + "/data/images/" + fd.ids[0] + ".tif";
    const test::CommandResult p =
        test::run_pfce("predict --checkpoint " + run + "/last.ckpt --input " + one + " --out " +
                       root + "/pred.png --no-overlay");
    ASSERT_EQ(p.status, 0) << p.output;
    const LabelMap pred = read_gray(root + "/pred.png");
    ASSERT_EQ(pred.width, fd.dense[0].width);
    for (int i = 0; i < pred.width * pred.height; ++i)
        ASSERT_EQ(pred.labels[i] == 255, i < 2 * pred.width) << i;
    // A model of 8-bit images refuses them by type, before writing anything.
    const auto plain = test::write_foreign_dataset(root + "/plain", test::ForeignSpec{});
    const test::CommandResult t8 = test::run_pfce("train --data " + plain.root + " --out " + root +
                                                  "/run8 --epochs 1" + kTiny);
    ASSERT_EQ(t8.status, 0) << t8.output;
    const test::CommandResult p8 =
        test::run_pfce("predict --checkpoint " + root + "/run8/last.ckpt --input " + one +
                       " --out " + root + "/p8.png");
    EXPECT_NE(p8.status, 0);
    EXPECT_MESSAGE_HAS(p8.output, "32-bit floating-point samples, but " + root +
                                      "/run8/last.ckpt was trained on 8-bit images");
    EXPECT_FALSE(fs::exists(root + "/p8.png"));

    // Points of the user's on a pixel without data are left out, and said (they were kept, and
    // training dropped them without a word).
    std::ofstream(root + "/points.csv") << "id,x,y,class\n"
                                        << fd.ids[0] << ",3,1,road\n"
                                        << fd.ids[0] << ",3,5,road\n";
    const test::CommandResult pts =
        test::run_pfce("sample --data " + fd.root + " --value-range 0,0.3 --from-points " + root +
                       "/points.csv --out " + root + "/imported");
    ASSERT_EQ(pts.status, 0) << pts.output;
    EXPECT_MESSAGE_HAS(pts.output,
                       "1 of the 2 points of " + root + "/points.csv lie on pixels without data");
    EXPECT_MESSAGE_HAS(pts.output, "1 on a pixel without data, left out");
    EXPECT_EQ(read_gray(root + "/imported/" + fd.ids[0] + ".png").labels[1 * pred.width + 3], 255);

    // An image all NaN (outside the scene) trains and scores nothing: said, not counted as gray.
    {
        const LabelMap& lab3 = fd.dense[3];
        std::vector<float> all_nan(static_cast<std::size_t>(lab3.width) * lab3.height * 3,
                                   std::numeric_limits<float>::quiet_NaN());
        std::vector<std::uint8_t> nan_bytes(all_nan.size() * 4);
        std::memcpy(nan_bytes.data(), all_nan.data(), nan_bytes.size());
        test::TiffSpec s{.width = lab3.width, .height = lab3.height, .spp = 3, .bps = 32};
        s.sample_format = SAMPLEFORMAT_IEEEFP;
        const std::string path = root + "/data/images/" + fd.ids[3] + ".tif";
        const std::string kept = read_whole_file(path);
        test::write_raw_tiff(path, s, nan_bytes);
        const test::CommandResult empty =
            test::run_pfce("data stats " + fd.root + " --value-range 0,0.3 --json");
        ASSERT_EQ(empty.status, 0) << empty.output;
        EXPECT_MESSAGE_HAS(empty.output, "1 of the " + std::to_string(fd.ids.size()) +
                                             " images has no pixel with data at all (first " +
                                             fd.ids[3] + ")");
        // predict leaves it without a class and says it has no confidence to average.
        const test::CommandResult none =
            test::run_pfce("predict --checkpoint " + run + "/last.ckpt --input " + path +
                           " --out " + root + "/none.png --no-overlay --confidence");
        ASSERT_EQ(none.status, 0) << none.output;
        EXPECT_MESSAGE_HAS(none.output, "no pixel with data, so no confidence");
        for (const std::uint8_t v : read_gray(root + "/none.png").labels) ASSERT_EQ(v, 255);
        write_file_atomically(path, kept);
    }
    // One range cannot read floats beside integers: refused, naming one of each.
    const std::string counts = root + "/data/images/" + fd.ids[1] + ".tif";
    const LabelMap& lab1 = fd.dense[1];
    std::vector<std::uint8_t> wide(static_cast<std::size_t>(lab1.width) * lab1.height * 3 * 2, 0);
    test::write_raw_tiff(counts, {.width = lab1.width, .height = lab1.height, .bps = 16}, wide);
    const test::CommandResult mixed =
        test::run_pfce("data stats " + fd.root + " --value-range 0,0.3");
    EXPECT_NE(mixed.status, 0);
    EXPECT_MESSAGE_HAS(mixed.output, "holds floating-point samples, but " + counts + " integers");
}

// The value-range warning on data unlike a good range's, each case its own process (the warning
// is said once a process): clipping on both sides says both; reflectance under -100..100 reads
// flat; an even tile in a fitting range is no misfit; a fill inside a range stretched over it is
// named with the nearly white rest; a 12-bit scene with many zeros inside the range and an
// untagged 65535 fill above it names the fill, not the zeros.
TEST(RealDatasets, ValueRangeMisfitsAreSaidForWhatTheyAre) {
    const std::string root = test::temp_dir("real_range_misfits");
    struct Case {
        std::string name;
        int bits;  // 32: float32; 16: uint16
        std::function<double(int)> value;
        std::string range;
        std::vector<std::string> said;  // empty: nothing said
        std::vector<std::string> not_said;
    };
    const std::vector<Case> cases = {
        {"both",
         32,
         [](int i) { return i < 16   ? -1.0
                            : i < 32 ? 2.0
                                     : 0.01 * i; },
         "0,1",
         {"read as 0 (black) below it and 255 (white) above it"},
         {}},
        {"flat",
         32,
         [](int i) { return 0.02 + 0.004 * i; },
         "-100,100",
         {"which data.value_range -100,100 reads as 128..128 of 255: the images are one flat "
          "colour"},
         {}},
        {"even", 32, [](int i) { return 1000.0 + (i % 31); }, "0,4095", {}, {}},
        {"inside",
         32,
         [](int i) { return i < 24 ? -9999.0 : 0.02 + 0.004 * i; },
         "-9999,0.4",
         {"its samples other than -9999 (24 of them: a fill", "nearly white",
          "--value-range 0.116,0.272"},
         {}},
        {"zeros",
         16,
         [](int i) { return i < 19   ? 0.0
                            : i < 32 ? 65535.0
                                     : 100.0 + 100 * (i - 32); },
         "0,4095",
         {"nearly all of them 65535", "gdal_edit.py -a_nodata 65535"},
         {"nearly all of them 0"}}};
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        const std::string dir = root + "/" + c.name;
        fs::create_directories(dir + "/images");
        fs::create_directories(dir + "/masks");
        std::ofstream(dir + "/dataset.toml")
            << "[classes]\nnames = [\"a\", \"b\"]\n[mask]\nencoding = \"index\"\n";
        std::vector<std::uint8_t> bytes(64 * static_cast<std::size_t>(c.bits / 8));
        for (int i = 0; i < 64; ++i) {
            if (c.bits == 32) {
                const float f = static_cast<float>(c.value(i));
                std::memcpy(&bytes[4 * static_cast<std::size_t>(i)], &f, 4);
            } else {
                const auto u = static_cast<std::uint16_t>(c.value(i));
                std::memcpy(&bytes[2 * static_cast<std::size_t>(i)], &u, 2);
            }
        }
        test::TiffSpec s{.width = 8, .height = 8, .spp = 1, .bps = c.bits};
        s.photometric = PHOTOMETRIC_MINISBLACK;
        if (c.bits == 32) s.sample_format = SAMPLEFORMAT_IEEEFP;
        test::write_raw_tiff(dir + "/images/x.tif", s, bytes);
        LabelMap mask(8, 8, 0);
        write_png_gray(dir + "/masks/x.png", mask);
        const test::CommandResult r =
            test::run_pfce("data stats " + dir + " --value-range " + c.range);
        ASSERT_EQ(r.status, 0) << r.output;
        for (const std::string& t : c.said) EXPECT_MESSAGE_HAS(r.output, t);
        for (const std::string& t : c.not_said)
            EXPECT_EQ(r.output.find(t), std::string::npos) << r.output;
        if (c.said.empty()) {
            EXPECT_EQ(r.output.find("of 255"), std::string::npos) << r.output;
            EXPECT_EQ(r.output.find("outside data.value_range"), std::string::npos) << r.output;
        }
    }
}

// A dataset.toml's [image] says once how its images are read: every command that opens the
// dataset fresh reads them so without --bands or --value-range (a 16-bit 5-band dataset needed
// both on each command), records what it read, and a flag typed still wins.
TEST(RealDatasets, DatasetTomlImageTableReadsBandsAndRangeForEveryCommand) {
    const std::string root = test::temp_dir("real_image_table");
    const auto fd = write_band_stack_dataset(root + "/data");
    const std::string toml = fd.root + "/dataset.toml";
    const std::string plain = read_whole_file(toml);
    write_file_atomically(toml, plain + "\n[image]\nbands = [5, 3, 2]\nvalue_range = [0, 2047]\n");
    const test::CommandResult stats = test::run_pfce("data stats " + fd.root);
    ASSERT_EQ(stats.status, 0) << stats.output;
    EXPECT_MESSAGE_HAS(stats.output,
                       "5 bands of 16 bits, read as bands 5,3,2, values 0..2047 scaled to 0..255");
    EXPECT_MESSAGE_HAS(
        stats.output,
        "images read with bands [5,3,2] and value range [0, 2047], as " + toml + " [image] says");
    // Typed, a flag is the reading, and said to be over the file's.
    const test::CommandResult typed = test::run_pfce("data stats " + fd.root + " --bands 1,2,3");
    ASSERT_EQ(typed.status, 0) << typed.output;
    EXPECT_MESSAGE_HAS(typed.output, "read as bands 1,2,3, values 0..2047");
    EXPECT_MESSAGE_HAS(typed.output,
                       "images read with the typed bands [1,2,3], not the [5,3,2] of " + toml);
    const test::CommandResult preview =
        test::run_pfce("data preview " + fd.root + " --out " + root + "/sheet.png");
    ASSERT_EQ(preview.status, 0) << preview.output;

    // Sampled masks record the reading; a run on them and a run sampling its own train with it,
    // and predict reads the images as the checkpoint records.
    const test::CommandResult s =
        test::run_pfce("sample --data " + fd.root + " --points 5 --out " + root + "/sparse");
    ASSERT_EQ(s.status, 0) << s.output;
    const MaskDir md = open_mask_dir(root + "/sparse");
    EXPECT_EQ(md.meta.at("sample").at("bands"), nlohmann::json({5, 3, 2}));
    EXPECT_EQ(md.meta.at("sample").at("value_range"), nlohmann::json({0.0, 2047.0}));
    const test::CommandResult printed =
        test::run_pfce("train --data " + fd.root + " --out " + root + "/p --print-config" + kTiny);
    ASSERT_EQ(printed.status, 0) << printed.output;
    EXPECT_MESSAGE_HAS(printed.output, "\nbands = [5,3,2]\n");
    EXPECT_MESSAGE_HAS(printed.output, "\nvalue_range = [0.0,2047.0]\n");
    const test::CommandResult t =
        test::run_pfce("train --data " + fd.root + " --out " + root + "/run --epochs 1" + kTiny);
    ASSERT_EQ(t.status, 0) << t.output;
    const Checkpoint ck = read_checkpoint(root + "/run/last.ckpt");
    const nlohmann::json& data = ck.meta.at("config").at("data");
    EXPECT_EQ(data.at("bands"), nlohmann::json({5, 3, 2}));
    EXPECT_EQ(data.at("value_range"), nlohmann::json({0.0, 2047.0}));
    const test::CommandResult p =
        test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --input " + fd.root +
                       "/images/" + fd.ids[0] + ".tif --out " + root + "/pred.png");
    ASSERT_EQ(p.status, 0) << p.output;
    const test::CommandResult on_masks =
        test::run_pfce("train --data " + fd.root + " --labels " + root + "/sparse --out " + root +
                       "/run2 --epochs 1" + kTiny);
    ASSERT_EQ(on_masks.status, 0) << on_masks.output;
    EXPECT_EQ(on_masks.output.find("reads the images otherwise"), std::string::npos)
        << on_masks.output;

    // Points imported from a layer record the reading too: stats, preview and edge-aware linking
    // of them read the images so (they read them as RGB, refused as 16-bit).
    std::ofstream(root + "/points.csv") << "id,x,y,class\n" << fd.ids[0] << ",10,5,road\n";
    const test::CommandResult imported =
        test::run_pfce("sample --data " + fd.root + " --from-points " + root +
                       "/points.csv --out " + root + "/imported");
    ASSERT_EQ(imported.status, 0) << imported.output;
    EXPECT_EQ(open_mask_dir(root + "/imported").meta.at("imported").at("bands"),
              nlohmann::json({5, 3, 2}));
    for (const std::string& cmd :
         {"data stats " + root + "/imported",
          "data preview " + fd.root + " --masks " + root + "/imported --out " + root + "/imp.png",
          "link --in " + root + "/imported --out " + root + "/imp-linked --max-color-step 30"}) {
        const test::CommandResult r = test::run_pfce(cmd);
        EXPECT_EQ(r.status, 0) << cmd << "\n" << r.output;
    }

    // Masks of another reading shown in one sheet: the first's reading is the sheet's, said.
    ASSERT_EQ(test::run_pfce("sample --data " + fd.root + " --bands 1,2,3 --points 5 --out " +
                             root + "/sparse123")
                  .status,
              0);
    const test::CommandResult two =
        test::run_pfce("data preview " + fd.root + " --masks " + root + "/sparse " + root +
                       "/sparse123 --out " + root + "/two.png");
    ASSERT_EQ(two.status, 0) << two.output;
    EXPECT_MESSAGE_HAS(two.output, "the masks in " + root +
                                       "/sparse123 were made from the images read with bands "
                                       "[1,2,3], values 0..2047; the sheet shows the images as " +
                                       root +
                                       "/sparse's were read (bands [5,3,2], values 0..2047)");

    // The reading edited afterwards: no label file changed (the masks and runs are the labels of
    // the same data), a resumed run keeps its reading and says the file's, and a run initialised
    // from one of the other reading is warned.
    write_file_atomically(toml, plain +
                                    "\n[image]  # NIR first\nbands = [5, 1, 2]\nvalue_range = [0, "
                                    "4095]\n");
    const test::CommandResult preview_again = test::run_pfce(
        "data preview " + fd.root + " --masks " + root + "/sparse --out " + root + "/again.png");
    ASSERT_EQ(preview_again.status, 0) << preview_again.output;
    EXPECT_EQ(preview_again.output.find("changed"), std::string::npos) << preview_again.output;
    const test::CommandResult resumed =
        test::run_pfce("train --resume --out " + root + "/run --epochs 2" + kTiny);
    ASSERT_EQ(resumed.status, 0) << resumed.output;
    EXPECT_EQ(resumed.output.find("changed"), std::string::npos) << resumed.output;
    EXPECT_MESSAGE_HAS(resumed.output,
                       "images read with the resumed run's bands [5,3,2], not the "
                       "[5,1,2]; value range [0, 2047], not the [0, 4095] of " +
                           toml);
    const test::CommandResult init =
        test::run_pfce("train --data " + fd.root + " --init-from " + root +
                       "/run/last.ckpt --out " + root + "/run3 --epochs 1" + kTiny);
    ASSERT_EQ(init.status, 0) << init.output;
    EXPECT_MESSAGE_HAS(init.output,
                       "it was trained on images read with data.bands [5,3,2] and "
                       "data.value_range [0.0,2047.0], this run reads them with "
                       "[5,1,2] and [0.0,4095.0]");
    const test::CommandResult ev = test::run_pfce("eval --checkpoint " + root + "/run/last.ckpt");
    ASSERT_EQ(ev.status, 0) << ev.output;
    EXPECT_MESSAGE_HAS(ev.output,
                       "warn: images read with the checkpoint's bands [5,3,2], not the "
                       "[5,1,2]; value range [0, 2047], not the [0, 4095] of " +
                           toml + " [image]: as the model was trained");
    // --json records the reading the score is of.
    const test::CommandResult ev_json =
        test::run_pfce("eval --checkpoint " + root + "/run/last.ckpt --json");
    ASSERT_EQ(ev_json.status, 0) << ev_json.output;
    const nlohmann::json ej = test::json_in_output(ev_json.output);
    EXPECT_EQ(ej["bands"], nlohmann::json({5, 3, 2}));
    EXPECT_EQ(ej["value_range"], nlohmann::json({0.0, 2047.0}));
    const test::CommandResult pred =
        test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --input " + fd.root +
                       "/images/" + fd.ids[1] + ".tif --out " + root + "/pred-again.png");
    ASSERT_EQ(pred.status, 0) << pred.output;
    EXPECT_MESSAGE_HAS(pred.output,
                       "warn: images read with the checkpoint's bands [5,3,2], not the "
                       "[5,1,2]; value range [0, 2047], not the [0, 4095] of " +
                           toml + " [image]");
    // A suite's data line (report, results.json) names the range as well as the bands.
    std::ofstream(root + "/suite.toml")
        << "[suite]\nname = \"s\"\nexperiments = [{ id = \"d\", labels = { kind = \"dense\" } "
           "}]\n[data]\nroot = \""
        << fd.root << "\"\n[model]\nwidth = 4\ndepth = 2\n[run]\nepochs = 1\nbatch_size = 4\n";
    const test::CommandResult suite =
        test::run_pfce("run " + root + "/suite.toml --device cpu --out " + root + "/suite-out");
    ASSERT_EQ(suite.status, 0) << suite.output;
    EXPECT_MESSAGE_HAS(nlohmann::json::parse(std::ifstream(root + "/suite-out/results.json"))
                           .at("data")
                           .get<std::string>(),
                       "read as bands [5,1,2], sample values 0..4095 read as 0..255");
    write_file_atomically(toml, plain);

    // Values that mean nothing are refused naming the file, the key, its line and what is expected.
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"bands = [0, 1, 2]", "image.bands holds 0: expected integers in 1..255 (line 9)"},
        {"bands = [1, 2]", "image.bands = [1, 2] (line"},
        {"bands = \"4,1,2\"", "expected a list of band numbers"},
        {"value_range = [2047, 0]", "image.value_range = [2047, 0] (line"},
        {"value_range = [0, nan]", "image.value_range = [0, nan] (line"},
        {"value_range = [3, 3]", "expected [lo, hi] with lo < hi, both and hi - lo finite"},
        {"value_range = [-1e308, 1e308]", "expected [lo, hi] with lo < hi, both and hi - lo"},
        {"band = [4, 1, 2]",
         "unknown key 'image.band' (line 9; expected one of: bands, value_range)"}};
    for (const auto& [line, expected] : bad) {
        write_file_atomically(toml, plain + "\n[image]\n" + line + "\n");
        const test::CommandResult r = test::run_pfce("data stats " + fd.root);
        EXPECT_NE(r.status, 0) << line;
        EXPECT_MESSAGE_HAS(r.output, "pfce: error: " + toml + ": ");
        EXPECT_MESSAGE_HAS(r.output, expected);
    }
    // In the wrong table, the right one is named.
    write_file_atomically(toml, plain + "bands = [5, 3, 2]\n");
    const test::CommandResult misplaced = test::run_pfce("data stats " + fd.root);
    EXPECT_NE(misplaced.status, 0);
    EXPECT_MESSAGE_HAS(misplaced.output, "bands belongs under [image]");
    write_file_atomically(toml, plain + "[data]\nbands = [5, 3, 2]\n");
    const test::CommandResult config_table = test::run_pfce("data stats " + fd.root);
    EXPECT_NE(config_table.status, 0);
    EXPECT_MESSAGE_HAS(config_table.output, toml + ": unknown table [data] (line");
    EXPECT_MESSAGE_HAS(config_table.output, "as bands and value_range under [image]");
}

// What comes before dataset.toml's [image] in train: a mask directory's record of the images read
// as their own colours (preview and link read them so; train took the file's bands, review), and a
// flag given empty (sample took it as RGB, train as the file's bands).
TEST(RealDatasets, AMaskRecordAndAnEmptyFlagComeBeforeTheImageTable) {
    const std::string root = test::temp_dir("real_image_table_order");
    const auto fd = test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    ASSERT_EQ(
        test::run_pfce("sample --data " + fd.root + " --points 5 --out " + root + "/sparse").status,
        0);
    const std::string toml = fd.root + "/dataset.toml";
    write_file_atomically(toml, read_whole_file(toml) + "\n[image]\nbands = [3, 2, 1]\n");
    for (const std::string& how : {" --labels " + root + "/sparse", std::string(" --bands \"\"")}) {
        const test::CommandResult printed = test::run_pfce(
            "train --data " + fd.root + how + " --out " + root + "/r --print-config" + kTiny);
        ASSERT_EQ(printed.status, 0) << how << "\n" << printed.output;
        EXPECT_MESSAGE_HAS(printed.output, "\nbands = []\n");
        EXPECT_MESSAGE_HAS(printed.output,
                           "images read with the run's bands [] (the files' own colours), not "
                           "the [3,2,1] of " +
                               toml);
    }
    const test::CommandResult plain =
        test::run_pfce("train --data " + fd.root + " --out " + root + "/r --print-config" + kTiny);
    ASSERT_EQ(plain.status, 0) << plain.output;
    EXPECT_MESSAGE_HAS(plain.output, "\nbands = [3,2,1]\n");
}

// The "done when" of the issue: a dataset unlike ours through every stage.
TEST(RealDatasets, BlackClassGreyIgnoreJpegAndFourSizesThroughEveryStage) {
    const std::string root = test::temp_dir("real_e2e");
    test::ForeignSpec spec;
    spec.jpeg = true;
    spec.sizes = {{40, 32}, {56, 48}, {33, 61}, {72, 40}, {40, 32},
                  {56, 48}, {33, 61}, {72, 40}, {40, 32}, {56, 48}};
    const auto fd = test::write_foreign_dataset(root + "/data", spec);
    const Dataset ds = Dataset::open(fd.root);

    // sample: the printed labelled count is the library's, on every size (8 on each: these
    // chips are far below 300x300, where scaling by area would keep 1 per class).
    SamplerOptions so;
    so.points = {8};
    so.seed = 2;
    long long want = 0, pixels = 0;
    for (std::size_t i = 0; i < ds.size(); ++i) {
        const LabelMap s = sample_sparse(fd.dense[i], so, fd.ids[i]);
        for (std::uint8_t v : s.labels) want += v != 255;
        pixels += static_cast<long long>(s.labels.size());
    }
    const test::CommandResult s =
        test::run_pfce("sample --data " + fd.root +
                       " --points 8 --seed 2 --no-scale-by-area --out " + root + "/sparse");
    ASSERT_EQ(s.status, 0) << s.output;
    EXPECT_EQ(test::number_after(s.output, "points: +([0-9]+)"), want);
    EXPECT_EQ(test::number_after(s.output, "of ([0-9]+) pixels"), pixels);

    // link: more labelled pixels, and stats reads back what link wrote.
    const test::CommandResult l = test::run_pfce("link --in " + root + "/sparse --out " + root +
                                                 "/linked --radius 10 --device cpu");
    ASSERT_EQ(l.status, 0) << l.output;
    const test::CommandResult ls = test::run_pfce("data stats " + root + "/linked");
    ASSERT_EQ(ls.status, 0) << ls.output;
    const long long linked = test::number_after(ls.output, "labelled: .*\\(([0-9]+) of");
    EXPECT_GT(linked, want);
    EXPECT_MESSAGE_HAS(ls.output, "72x40 (2)");

    // train on random crops of 32: the loss sees the linked labels of the training split.
    const test::CommandResult t =
        test::run_pfce("train --data " + fd.root + " --labels " + root + "/linked --crop-size 32 " +
                       "--out " + root + "/run --epochs 2" + kTiny);
    ASSERT_EQ(t.status, 0) << t.output;
    EXPECT_MESSAGE_HAS(t.output, "crops of 32");
    const long long seen = test::number_after(t.output, "training labels: linked, ([0-9]+) of");
    EXPECT_GT(seen, 0);
    EXPECT_LT(seen, linked);

    // eval: every size, in windows of the crop, on dense truth.
    const test::CommandResult e =
        test::run_pfce("eval --checkpoint " + root +
                       "/run/last.ckpt --split all --json -q --labels " + root + "/linked");
    ASSERT_EQ(e.status, 0) << e.output;
    EXPECT_EQ(test::number_after(e.output, "\"images\": ([0-9]+)"), 10);
    long long dense_labelled = 0;
    for (const LabelMap& m : fd.dense)
        for (std::uint8_t v : m.labels) dense_labelled += v != 255;
    EXPECT_EQ(test::number_after(e.output, "\"pixels\": ([0-9]+)"), dense_labelled);
    // The table says which windows scored it (they move the score), as --json records them.
    const test::CommandResult table =
        test::run_pfce("eval --checkpoint " + root + "/run/last.ckpt --split all --window 48");
    ASSERT_EQ(table.status, 0) << table.output;
    EXPECT_MESSAGE_HAS(table.output,
                       "scored in sliding windows of 48x48, neighbours overlapping by 12 px\n");
    // Test-time augmentation goes through windows, but images within one are scored whole: said
    // so, not as overlapping windows that were none.
    const test::CommandResult whole = test::run_pfce(
        "eval --checkpoint " + root + "/run/last.ckpt --split all --tta flips --window 256");
    ASSERT_EQ(whole.status, 0) << whole.output;
    EXPECT_MESSAGE_HAS(whole.output, "scored each image whole (none exceeds the 256x256 window)\n");
}

// Crops larger than the images are padded with unlabelled pixels: said; past twice the largest
// image's side (every crop over 3/4 padding, memory growing with its square) refused.
TEST(RealDatasets, CropsMostlyOfPaddingAreRefused) {
    const std::string root = test::temp_dir("real_crop_padding");
    const auto fd = test::write_foreign_dataset(root + "/data", test::ForeignSpec{});  // 40x32
    const test::CommandResult padded = test::run_pfce(
        "train --data " + fd.root + " --crop-size 48 --out " + root + "/padded --epochs 1" + kTiny);
    EXPECT_EQ(padded.status, 0) << padded.output;
    EXPECT_MESSAGE_HAS(padded.output, "data.crop_size 48 is larger than");
    // Its classes have no clutter: eval shows no mean without it.
    const test::CommandResult e =
        test::run_pfce("eval --checkpoint " + root + "/padded/last.ckpt --split all");
    EXPECT_EQ(e.status, 0) << e.output;
    EXPECT_MESSAGE_HAS(e.output, "mIoU ");
    EXPECT_EQ(e.output.find("clutter"), std::string::npos) << e.output;
    const test::CommandResult huge = test::run_pfce(
        "train --data " + fd.root + " --crop-size 81 --out " + root + "/huge --epochs 1" + kTiny);
    EXPECT_EQ(huge.status, 2) << huge.output;
    EXPECT_MESSAGE_HAS(huge.output,
                       "data.crop_size 81 is more than twice the side of the largest "
                       "training image (tile_");
    EXPECT_MESSAGE_HAS(huge.output, "40x32): every crop would be over 3/4 padding; use at most 80");
    EXPECT_FALSE(fs::exists(root + "/huge"));
    // Sparse labels are drawn into OUT/labels before the crops are checked: OUT is removed again.
    const test::CommandResult sparse =
        test::run_pfce("train --data " + fd.root + " --label-kind sparse --crop-size 81 --out " +
                       root + "/huge-sparse --epochs 1" + kTiny);
    EXPECT_EQ(sparse.status, 2) << sparse.output;
    EXPECT_FALSE(fs::exists(root + "/huge-sparse"));
}

// Validation and test images are scored whole: one too small for the U-Net (a side under
// smallest_unet_side) is refused when the data is loaded, naming its file and split, and OUT is
// not left behind (before, training stopped after its first epoch naming no file).
TEST(RealDatasets, ImagesTooSmallToScoreAreRefusedBeforeTraining) {
    const std::string root = test::temp_dir("real_too_small");
    test::ForeignSpec spec;
    spec.sizes.push_back({1, 30});  // tile_8
    const auto fd = test::write_foreign_dataset(root + "/data", spec);
    std::ofstream(root + "/train.txt") << "tile_0\ntile_1\ntile_2\ntile_3\n";
    std::ofstream(root + "/small.txt") << "tile_8\n";
    std::ofstream(root + "/ok.txt") << "tile_4\n";
    const std::string train = "train --data " + fd.root + " --train-list " + root +
                              "/train.txt --crop-size 32 --epochs 1" + kTiny;
    for (const auto& [lists, split] :
         {std::pair{" --val-list " + root + "/small.txt --test-list " + root + "/ok.txt",
                    "validation"},
          std::pair{" --val-list " + root + "/ok.txt --test-list " + root + "/small.txt",
                    "test"}}) {
        const test::CommandResult r = test::run_pfce(train + lists + " --out " + root + "/run");
        EXPECT_EQ(r.status, 2) << r.output;
        EXPECT_MESSAGE_HAS(r.output, "the " + std::string(split) + " split: " + fd.root +
                                         "/images/tile_8.png is 1x30: too small for a depth-2 "
                                         "U-Net");
        EXPECT_MESSAGE_HAS(r.output, "leave it out of the " + std::string(split) + " split");
        // A side of one pixel fits no depth: no advice to lower it.
        EXPECT_EQ(r.output.find("model.depth"), std::string::npos) << r.output;
        EXPECT_EQ(r.output.find("epoch 1"), std::string::npos) << r.output;
        EXPECT_FALSE(fs::exists(root + "/run"));
    }
}

// Masks that would train on nothing: every pixel ignored (a wrong ignore colour, masks of another
// palette) is refused, naming where the labels came from; a palette of one class is refused (its
// softmax is 1 everywhere: a perfect score for learning nothing); a class without a training pixel
// is said, since the model cannot learn it.
TEST(RealDatasets, MasksThatTeachNothingAreRefusedAndAnUnseenClassIsSaid) {
    const std::string root = test::temp_dir("real_nothing");
    const test::ForeignSpec spec = index_spec({});
    const auto fd = test::write_foreign_dataset(root + "/data", spec);
    auto repaint = [&](const std::function<std::uint8_t(std::uint8_t)>& f) {
        for (std::size_t k = 0; k < fd.ids.size(); ++k) {
            LabelMap m = read_gray(fd.root + "/masks/" + fd.ids[k] + ".png");
            for (auto& v : m.labels) v = f(v);
            write_png_gray(fd.root + "/masks/" + fd.ids[k] + ".png", m);
        }
    };
    auto train = [&](const std::string& out) {
        return test::run_pfce("train --data " + fd.root + " --out " + root + "/" + out +
                              " --epochs 1" + kTiny);
    };
    repaint([](std::uint8_t v) { return v == 3 ? std::uint8_t{0} : v; });  // no tree left
    const test::CommandResult no_tree = train("no-tree");
    EXPECT_EQ(no_tree.status, 0) << no_tree.output;
    EXPECT_MESSAGE_HAS(no_tree.output,
                       "warn: no training pixel is labelled tree (the dense masks of " + fd.root +
                           "): the model cannot learn to predict it");
    // Fine-tuning a model that predicts trees already: it may unlearn them (a walkthrough was
    // told it could not learn them).
    const test::CommandResult tuned =
        test::run_pfce("train --data " + fd.root + " --out " + root + "/tuned --epochs 1" + kTiny +
                       " --init-from " + root + "/no-tree/last.ckpt");
    EXPECT_EQ(tuned.status, 0) << tuned.output;
    EXPECT_MESSAGE_HAS(tuned.output,
                       "warn: no training pixel is labelled tree (the dense masks of " + fd.root +
                           "): this run teaches nothing of it beyond what " + root +
                           "/no-tree/last.ckpt learnt, and training on the "
                           "other classes' labels alone may make the model unlearn "
                           "it");

    repaint([](std::uint8_t) { return test::kForeignIgnoreIndex; });
    const test::CommandResult ignored = train("ignored");
    EXPECT_EQ(ignored.status, 2);
    EXPECT_MESSAGE_HAS(ignored.output, "training samples is labelled (the dense masks of " +
                                           fd.root +
                                           "): every mask pixel is unlabelled or an ignore colour");
    EXPECT_FALSE(fs::exists(root + "/ignored/last.ckpt"));
    // A suite trains through its own path: the same refusal, as a failed experiment.
    std::ofstream(root + "/suite.toml")
        << "[suite]\nname = \"s\"\nexperiments = [{ id = \"d\", labels = { kind = \"dense\" } "
           "}]\n[data]\nroot = \""
        << fd.root << "\"\n[model]\nwidth = 4\ndepth = 2\n[run]\nepochs = 1\nbatch_size = 4\n";
    const test::CommandResult suite =
        test::run_pfce("run " + root + "/suite.toml --device cpu --out " + root + "/suite-out");
    EXPECT_EQ(suite.status, 1) << suite.output;
    EXPECT_MESSAGE_HAS(suite.output, "every mask pixel is unlabelled or an ignore colour");
    EXPECT_MESSAGE_HAS(suite.output, "0 ran, 0 skipped, 1 failed");

    std::ofstream(fd.root + "/dataset.toml")
        << "[classes]\nnames = [\"background\"]\n[mask]\nencoding = \"index\"\nignore = [200]\n";
    repaint([](std::uint8_t) { return std::uint8_t{0}; });
    const test::CommandResult one = train("one");
    EXPECT_EQ(one.status, 2);
    EXPECT_MESSAGE_HAS(
        one.output, "dataset " + fd.root + " has 1 class (background); training needs at least 2");
}

// Binary masks (0 = background, 255 = building, as Inria and Massachusetts ship them): 255 is a
// class when mask.values says so. Where it says nothing, 255 reads as unlabelled (pfce's own
// convention), and the first mask holding it says so once, naming the key that changes it.
TEST(RealDatasets, IndexMasksWith255AsAClassReadWhenValuesSaySoAndAreToldOtherwise) {
    const std::string root = test::temp_dir("real_255");
    const test::ForeignSpec spec = index_spec({0, 1, 2, 255});
    const auto fd = test::write_foreign_dataset(root + "/valued", spec);
    const Dataset ds = Dataset::open(fd.root);
    for (std::size_t i = 0; i < ds.size(); ++i)
        ASSERT_EQ(ds.read_mask(i).labels, fd.dense[i].labels) << fd.ids[i];

    // The same masks declared without values: 255 is not a class, so it is unlabelled, and said.
    test::ForeignSpec plain;
    plain.index_masks = true;
    const auto fp = test::write_foreign_dataset(root + "/plain", plain);
    for (const std::string& id : fp.ids)
        fs::copy_file(fd.root + "/masks/" + id + ".png", fp.root + "/masks/" + id + ".png",
                      fs::copy_options::overwrite_existing);
    const test::CommandResult s = test::run_pfce("data stats " + fp.root);
    ASSERT_EQ(s.status, 0) << s.output;
    const std::string told = "pixel value 255 is read as unlabelled";
    const std::size_t at = s.output.find(told);
    ASSERT_NE(at, std::string::npos) << s.output;
    EXPECT_EQ(s.output.find(told, at + 1), std::string::npos) << "said more than once:\n"
                                                              << s.output;
    EXPECT_MESSAGE_HAS(s.output, "mask.values");
    // Trained so, the class of 255 (tree here) has no pixel: refused, not a model that cannot
    // predict it with exit 0 (walkthrough: binary 0/255 masks without mask.values).
    const test::CommandResult lost =
        test::run_pfce("train --data " + fp.root + " --out " + root + "/lost --epochs 1" + kTiny);
    EXPECT_EQ(lost.status, 2) << lost.output;
    EXPECT_MESSAGE_HAS(lost.output, "no training pixel is labelled tree (");
    EXPECT_MESSAGE_HAS(lost.output, "), while mask pixels of value 255 were read as unlabelled");
    EXPECT_MESSAGE_HAS(lost.output, "mask.values of " + fp.root + "/dataset.toml");
    // In annotations 255 is what README says it is, unlabelled: sample --from says nothing of it.
    fs::create_directory(root + "/ann");
    for (const std::string& id : fp.ids)
        fs::copy_file(fp.root + "/masks/" + id + ".png", root + "/ann/" + id + ".png");
    const test::CommandResult imported = test::run_pfce("sample --data " + fp.root + " --from " +
                                                        root + "/ann --out " + root + "/imp");
    ASSERT_EQ(imported.status, 0) << imported.output;
    EXPECT_EQ(imported.output.find(told), std::string::npos) << imported.output;
    // Where 255 is a class's value (mask.values), it is that class in annotations too: a canvas
    // filled with 255 for "nothing drawn" labels that class everywhere, said naming it (a
    // foreign-dataset probe found only "dense masks rather than points?").
    fs::create_directory(root + "/canvas");
    for (std::size_t i = 0; i < fd.ids.size(); ++i) {
        LabelMap canvas(fd.dense[i].width, fd.dense[i].height, 255);
        canvas.labels[0] = 0;
        write_png_gray(root + "/canvas/" + fd.ids[i] + ".png", canvas);
    }
    const test::CommandResult filled = test::run_pfce("sample --data " + fd.root + " --from " +
                                                      root + "/canvas --out " + root + "/filled");
    ASSERT_EQ(filled.status, 0) << filled.output;
    EXPECT_MESSAGE_HAS(filled.output, "In this dataset 255 is class " +
                                          ds.palette().classes[3].name +
                                          "'s value (mask.values), not unlabelled");
    // 255 may not be both a class and an ignore value.
    std::ofstream(fp.root + "/dataset.toml")
        << "[classes]\nnames = [\"background\", \"building\"]\n[mask]\nencoding = \"index\"\n"
           "values = [0, 255]\nignore = [255]\n";
    try {
        Dataset::open(fp.root);
        FAIL() << "255 accepted as a class and an ignore value";
    } catch (const InputError& e) {
        EXPECT_MESSAGE_HAS(std::string(e.what()), "mask.ignore value 255");
    }
}

// sample --from-points: a point layer digitised over the images (GeoJSON in their map
// coordinates, placed by their world files or GeoTIFF tags; or a CSV of pixel positions), each
// point labelling the pixel it falls on, written as a mask directory train takes. What cannot be
// placed or read is refused naming the feature and the value; points off every image are said.
TEST(RealDatasets, SamplePointsFromAGeoJsonLayerOrACsvLabelTheirPixels) {
    const std::string root = test::temp_dir("real_points");
    const auto fd = test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    // Image k on the map: pixels of 0.5, its top left corner at (1000 + 100 k, 5000).
    for (std::size_t k = 0; k < fd.ids.size(); ++k)
        std::ofstream(fd.root + "/images/" + fd.ids[k] + ".pgw")
            << "0.5\n0\n0\n-0.5\n"
            << 1000.25 + 100.0 * static_cast<double>(k) << "\n4999.75\n";
    auto point = [](const std::string& cls, double x, double y) {
        return "{\"type\": \"Feature\", \"properties\": {\"class\": \"" + cls +
               "\"}, \"geometry\": {\"type\": \"Point\", \"coordinates\": [" + std::to_string(x) +
               ", " + std::to_string(y) + "]}}";
    };
    auto layer = [&](const std::vector<std::string>& features, const std::string& crs) {
        std::string s = "{\"type\": \"FeatureCollection\",";
        if (!crs.empty())
            s += " \"crs\": {\"type\": \"name\", \"properties\": {\"name\": \"" + crs + "\"}},";
        s += " \"features\": [";
        for (std::size_t i = 0; i < features.size(); ++i) s += (i ? ", " : "") + features[i];
        return s + "]}";
    };
    const std::string utm = "urn:ogc:def:crs:EPSG::25832";
    // Image 0's column 10, row 5; image 1's column 3, row 7; image 2's corners (a MultiPoint);
    // one far from every image; one more on image 0's pixel, of its class.
    const std::vector<std::string> features = {
        point("road", 1005.2, 4997.3), point("Tree", 1101.7, 4996.3),
        "{\"type\": \"Feature\", \"properties\": {\"class\": \"building\"}, \"geometry\": "
        "{\"type\": \"MultiPoint\", \"coordinates\": [[1200.1, 4999.9], [1219.7, 4984.3]]}}",
        point("road", 0, 0), point("ROAD", 1005.4, 4997.1)};
    const std::string points = root + "/points.geojson";
    std::ofstream(points) << layer(features, utm);
    const std::string sample = "sample --data " + fd.root + " --out " + root + "/sparse";
    const test::CommandResult r = test::run_pfce(sample + " --from-points " + points);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_MESSAGE_HAS(r.output, "imported 5 of the 6 points of " + points + " into " + root +
                                     "/sparse (3 of 8 samples labelled; 1 point on a pixel "
                                     "already labelled with its class)");
    EXPECT_MESSAGE_HAS(r.output, "1 of the 6 points of " + points + " lie on no image");
    const MaskDir md = open_mask_dir(root + "/sparse");
    const Dataset ds = Dataset::open(fd.root);
    auto labelled = [&](const std::string& id) {
        const LabelMap m = read_mask_png(md, id, ds.palette());
        std::vector<std::tuple<int, int, int>> l;  // row, column, class
        for (int y = 0; y < m.height; ++y)
            for (int x = 0; x < m.width; ++x)
                if (m.at(y, x) != 255) l.emplace_back(y, x, m.at(y, x));
        return l;
    };
    using L = std::vector<std::tuple<int, int, int>>;
    EXPECT_EQ(labelled(fd.ids[0]), (L{{5, 10, 1}}));
    EXPECT_EQ(labelled(fd.ids[1]), (L{{7, 3, 3}}));
    EXPECT_EQ(labelled(fd.ids[2]), (L{{0, 0, 2}, {31, 39, 2}}));
    EXPECT_TRUE(labelled(fd.ids[3]).empty());
    // They train as sampled points do.
    const test::CommandResult t =
        test::run_pfce("train --data " + fd.root + " --labels " + root + "/sparse --out " + root +
                       "/run --epochs 1" + kTiny);
    EXPECT_EQ(t.status, 0) << t.output;

    // The same pixels from a CSV of pixel positions (x the column, y the row).
    std::ofstream(root + "/points.csv") << "id,x,y,class\n"
                                        << fd.ids[0] << ",10.5,5.5,road\n"
                                        << fd.ids[2] << ",39,31,\"building\"\n";
    const test::CommandResult csv =
        test::run_pfce(sample + "-csv --from-points " + root + "/points.csv");
    ASSERT_EQ(csv.status, 0) << csv.output;
    const MaskDir from_csv = open_mask_dir(root + "/sparse-csv");
    EXPECT_EQ(read_mask_png(from_csv, fd.ids[0], ds.palette()).at(5, 10), 1);
    EXPECT_EQ(read_mask_png(from_csv, fd.ids[2], ds.palette()).at(31, 39), 2);

    // Refused, naming what: a class the dataset lacks, two classes on one pixel, a line, a
    // missing class property, the other CRS, a CSV position off its image, a sampling flag.
    auto refused = [&](const std::string& text, const std::string& file, const std::string& extra,
                       const std::string& message) {
        std::ofstream(root + "/" + file) << text;
        const test::CommandResult b =
            test::run_pfce(sample + "-bad --from-points " + root + "/" + file + extra);
        EXPECT_EQ(b.status, 2) << b.output;
        EXPECT_MESSAGE_HAS(b.output, message);
        EXPECT_FALSE(fs::exists(root + "/sparse-bad"));
    };
    refused(layer({point("water", 1005.2, 4997.3)}, utm), "water.geojson", "",
            "feature 0 is of class \"water\", which " + fd.root +
                " does not have: expected one of its class names (background, road, building, "
                "tree), in any case");
    refused(layer({point("road", 1005.2, 4997.3), point("tree", 1005.3, 4997.2)}, utm),
            "both.geojson", "",
            "feature 0 (road) and feature 1 (tree) fall on one pixel of " + fd.ids[0] +
                " (column 10, row 5): expected one class a pixel");
    refused(layer({"{\"type\": \"Feature\", \"properties\": {\"class\": \"road\"}, "
                   "\"geometry\": {\"type\": \"LineString\", \"coordinates\": [[0, 0], [1, "
                   "1]]}}"},
                  utm),
            "line.geojson", "", "feature 0 is a LineString: expected Point or MultiPoint");
    refused(layer({point("road", 1005.2, 4997.3)}, utm), "named.geojson", " --class-field kind",
            "feature 0 has no property \"kind\": expected its class name as text (its "
            "properties: class");
    refused("id,x,y,class\n" + fd.ids[0] + ",40,5,road\n", "off.csv", "",
            "line 2 is at (40, 5), outside " + fd.ids[0] +
                ", which is 40x32: expected x in [0, 40) and y in [0, 32)");
    refused(layer({point("road", 1005.2, 4997.3)}, utm), "flags.geojson", " --points 5",
            "--points sets how points are sampled from the dense masks, and --from-points takes");
    refused("{\"type\": 5, \"features\": []}", "typed.geojson", "",
            "typed.geojson is not GeoJSON as expected (");
    refused("id,x,y,class\n" + fd.ids[0] + ",0x10,5,road\n", "hex.csv", "",
            "line 2: x = \"0x10\", y = \"5\": expected numbers");
    // The layer is read a feature at a time (a million points took 1.3 GB as one document): a
    // "features" that is no list, an element that is no feature and a file cut short are said as
    // a whole document's were.
    refused("{\"features\": {\"a\": " + point("road", 1005.2, 4997.3) +
                "}, \"type\": \"FeatureCollection\"}",
            "object.geojson", "", "object.geojson: expected a GeoJSON FeatureCollection");
    refused(layer({point("road", 1005.2, 4997.3), "[1, 2]"}, utm), "number.geojson", "",
            "number.geojson: feature 1 is no geometry: expected Point or MultiPoint");
    refused(layer({point("road", 1005.2, 4997.3), "5"}, utm), "five.geojson", "",
            "five.geojson: feature 1 is no geometry: expected Point or MultiPoint");
    refused(layer({"{\"type\": \"Feature\", \"properties\": {\"class\": \"road\"}, "
                   "\"geometry\": {\"type\": \"Point\", \"coordinates\": [1e400, 1]}}"},
                  utm),
            "huge.geojson", "", "huge.geojson is not JSON (");
    refused(layer({point("road", 1005.2, 4997.3)}, utm).substr(0, 150), "cut.geojson", "",
            "cut.geojson is not JSON (");
    // Members in any order, and a "features" or "type" inside a feature or the crs is no list of
    // features.
    std::ofstream(root + "/order.geojson")
        << "{\"features\": [{\"type\": \"Feature\", \"properties\": {\"class\": \"road\", "
           "\"features\": [1, 2], \"type\": \"x\"}, \"geometry\": {\"type\": \"Point\", "
           "\"coordinates\": [1005.2, 4997.3]}}], \"crs\": {\"type\": \"name\", \"properties\": "
           "{\"name\": \""
        << utm << "\", \"features\": {\"a\": {}}}}, \"type\": \"FeatureCollection\"}";
    const test::CommandResult order =
        test::run_pfce(sample + "-order --from-points " + root + "/order.geojson");
    ASSERT_EQ(order.status, 0) << order.output;
    EXPECT_MESSAGE_HAS(order.output, "imported 1 of the 1 points of " + root + "/order.geojson");
    EXPECT_EQ(
        read_mask_png(open_mask_dir(root + "/sparse-order"), fd.ids[0], ds.palette()).at(5, 10), 1);
    // A CSV as Excel's "CSV UTF-8" saves it (a byte order mark first, CRLF lines) reads as any.
    std::ofstream(root + "/excel.CSV") << "\xEF\xBB\xBFid,x,y,class\r\n"
                                       << fd.ids[0] << ",1,2,road\r\n";
    EXPECT_EQ(test::run_pfce(sample + "-excel --from-points " + root + "/excel.CSV").status, 0);
    // Ambiguous or odd layers (hostile probe): a member or column given twice is refused (the
    // last "class" was taken, and the first column); a null class is said as null, not as
    // missing; spaces around a GeoJSON class name are no part of it, as in a CSV.
    refused(layer({"{\"type\": \"Feature\", \"properties\": {\"class\": \"road\", \"class\": "
                   "\"tree\"}, \"geometry\": {\"type\": \"Point\", \"coordinates\": [1005.2, "
                   "4997.3]}}"},
                  utm),
            "twice.geojson", "",
            "twice.geojson: feature 0 has the member \"class\" twice in one object: expected "
            "each name once");
    refused("id,x,y,class,class\n" + fd.ids[0] + ",3,2,road,tree\n", "twice.csv", "",
            "twice.csv: its first line names column \"class\" twice (fields 4 and 5)");
    refused(layer({"{\"type\": \"Feature\", \"properties\": {\"class\": null}, \"geometry\": "
                   "{\"type\": \"Point\", \"coordinates\": [1005.2, 4997.3]}}"},
                  utm),
            "null.geojson", "", "feature 0 has \"class\" = null: expected its class name as text");
    std::ofstream(root + "/spaced.geojson") << layer({point(" road ", 1005.2, 4997.3)}, utm);
    const test::CommandResult spaced =
        test::run_pfce(sample + "-spaced --from-points " + root + "/spaced.geojson");
    ASSERT_EQ(spaced.status, 0) << spaced.output;
    EXPECT_EQ(
        read_mask_png(open_mask_dir(root + "/sparse-spaced"), fd.ids[0], ds.palette()).at(5, 10),
        1);
    // Points on every pixel of an image are a dense mask, said as --from says it.
    {
        std::ofstream dense(root + "/dense.csv");
        dense << "id,x,y,class\n";
        for (int y = 0; y < 32; ++y)
            for (int x = 0; x < 40; ++x) dense << fd.ids[0] << "," << x << "," << y << ",road\n";
    }
    const test::CommandResult dense =
        test::run_pfce(sample + "-dense --from-points " + root + "/dense.csv");
    ASSERT_EQ(dense.status, 0) << dense.output;
    EXPECT_MESSAGE_HAS(dense.output, "the points of " + root +
                                         "/dense.csv label 100.0% of the pixels of the images "
                                         "they annotate: dense masks rather than points?");
    // A world file whose numbers are no numbers: refused, naming it (it crashed). One of other
    // than six numbers places nothing, as GDAL reads it: the image has no georeference, and the
    // file there is named (the message read as if there were none).
    {
        const std::string pgw = fd.root + "/images/" + fd.ids[3] + ".pgw";
        const std::string good = read_whole_file(pgw);
        std::ofstream(pgw) << "0.5\n0\n0\n-0.5\nnan\n4999.75\n";
        refused(layer({point("road", 1005.2, 4997.3)}, utm), "nan.geojson", "",
                pgw + " places pixel (0, 0) at (nan, ");
        std::ofstream(pgw) << "hello\nworld\n";
        refused(layer({point("road", 1005.2, 4997.3)}, utm), "words.geojson", "",
                "has no georeference (GeoTIFF tags, a world file or an .aux.xml; beside it " +
                    fd.ids[3] + ".pgw, which place it nowhere: a world file holds six numbers");
        // Images that overlap (image 3 moved onto image 2): a point on both, and another on its
        // pixel, count one duplicate, not one an image (300000 points said 489833 duplicates).
        std::ofstream(pgw) << "0.5\n0\n0\n-0.5\n1200.25\n4999.75\n";
        std::ofstream(root + "/overlap.geojson")
            << layer({point("road", 1205.2, 4997.3), point("road", 1205.3, 4997.2)}, utm);
        const test::CommandResult overlap =
            test::run_pfce(sample + "-overlap --from-points " + root + "/overlap.geojson");
        ASSERT_EQ(overlap.status, 0) << overlap.output;
        EXPECT_MESSAGE_HAS(overlap.output,
                           "(2 of 8 samples labelled; 1 point on a pixel already "
                           "labelled with its class)");
        std::ofstream(pgw) << good;
    }
    // The OGC URI form of the CRS names it too.
    std::ofstream(root + "/uri.geojson")
        << layer({point("road", 1005.2, 4997.3)}, "http://www.opengis.net/def/crs/EPSG/0/25832");
    EXPECT_EQ(test::run_pfce(sample + "-uri --from-points " + root + "/uri.geojson").status, 0);
    // A PNG chip's CRS is named only beside it, by a .prj (WKT) or an .aux.xml's SRS: checked as
    // a GeoTIFF's geokeys are (a layer in another CRS was taken as the images' own; README
    // probe). A .prj that names no code (ESRI's WKT) leaves it unchecked.
    {
        const std::string png = fd.root + "/images/" + fd.ids[1] + ".png";
        const std::string prj = fd.root + "/images/" + fd.ids[1] + ".prj";
        std::ofstream(prj) << "PROJCS[\"ETRS89 / UTM zone 32N\",GEOGCS[\"ETRS89\",DATUM["
                              "\"European_Terrestrial_Reference_System_1989\",AUTHORITY[\"EPSG\","
                              "\"6258\"]],AUTHORITY[\"EPSG\",\"4258\"]],PROJECTION[\"Transverse_"
                              "Mercator\"],UNIT[\"metre\",1,AUTHORITY[\"EPSG\",\"9001\"]],"
                              "AUTHORITY[\"EPSG\",\"25832\"]]\n";
        refused(
            layer({point("road", 1005.2, 4997.3)}, "EPSG:4326"), "prj.geojson", "",
            "gives its points in EPSG:4326 but image " + png + " is in EPSG:25832 (" + prj + ")");
        refused(layer({point("road", 1005.2, 4997.3)}, ""), "prj-none.geojson", "",
                "is in EPSG:25832 (" + prj + ")");
        std::ofstream(prj) << "PROJCS[\"ETRS_1989_UTM_Zone_32N\",GEOGCS[\"GCS_ETRS_1989\"]]\n";
        EXPECT_EQ(test::run_pfce(sample + "-esri --from-points " + root + "/prj.geojson").status,
                  0);
        fs::remove(prj);
        const std::string aux = png + ".aux.xml";
        std::ofstream(aux) << "<PAMDataset>\n  <SRS dataAxisToSRSAxisMapping=\"1,2\">EPSG:25832"
                              "</SRS>\n</PAMDataset>\n";
        refused(
            layer({point("road", 1005.2, 4997.3)}, "EPSG:3857"), "aux.geojson", "",
            "gives its points in EPSG:3857 but image " + png + " is in EPSG:25832 (" + aux + ")");
        fs::remove(aux);
    }
    // A run on imported points: its config.toml leaves the sampling keys to the masks, so another
    // run starts from it (train refuses them beside imported annotations).
    const std::string config = read_whole_file(root + "/run/config.toml");
    EXPECT_MESSAGE_HAS(config, "\n# points = [");
    const test::CommandResult again =
        test::run_pfce("train --config " + root + "/run/config.toml --out " + root + "/run2");
    EXPECT_EQ(again.status, 0) << again.output;
    // An image in another CRS than the layer's, or a layer that names none (WGS 84 by RFC 7946).
    const std::string tif = fd.root + "/images/" + fd.ids[0] + ".tif";
    write_geotiff(tif, read_rgb(fd.root + "/images/" + fd.ids[0] + ".png"));
    fs::remove(fd.root + "/images/" + fd.ids[0] + ".png");
    fs::remove(fd.root + "/images/" + fd.ids[0] + ".pgw");
    refused(layer({point("road", 1005.2, 4997.3)}, "EPSG:4326"), "wgs.geojson", "",
            "gives its points in EPSG:4326 but image " + tif + " is in EPSG:25832");
    refused(layer({point("road", 1005.2, 4997.3)}, ""), "nocrs.geojson", "",
            "names no CRS, so its points are WGS 84 longitude and latitude");
    // In its own CRS, on the GeoTIFF's column 2, row 3 (its tags' grid: 0.05 from 366012.5,
    // 5808070.25).
    std::ofstream(root + "/utm.geojson") << layer({point("tree", 366012.61, 5808070.09)}, utm);
    ASSERT_EQ(test::run_pfce(sample + "-utm --from-points " + root + "/utm.geojson").status, 0);
    EXPECT_EQ(read_mask_png(open_mask_dir(root + "/sparse-utm"), fd.ids[0], ds.palette()).at(3, 2),
              3);
    // Its CRS in its geokeys, its grid from a world file: the CRS is still checked.
    write_geotiff(tif, read_rgb(tif), nullptr, /*grid_tags=*/false);
    std::ofstream(fd.root + "/images/" + fd.ids[0] + ".tfw")
        << "0.5\n0\n0\n-0.5\n1000.25\n4999.75\n";
    refused(layer({point("road", 1005.2, 4997.3)}, "EPSG:4326"), "wgs2.geojson", "",
            "gives its points in EPSG:4326 but image " + tif + " is in EPSG:25832");
    std::ofstream(root + "/tfw.geojson") << layer({point("road", 1005.2, 4997.3)}, utm);
    ASSERT_EQ(test::run_pfce(sample + "-tfw --from-points " + root + "/tfw.geojson").status, 0);
    EXPECT_EQ(read_mask_png(open_mask_dir(root + "/sparse-tfw"), fd.ids[0], ds.palette()).at(5, 10),
              1);

    // The grids: a PixelIsPoint tie point is a pixel's centre; an .aux.xml's GeoTransform is
    // GDAL's (corner, size, rotation); a rotated grid has no north-up pixels.
    GeoReference g;
    g.pixel_scale = {0.5, 0.5, 0};
    g.tiepoints = {0, 0, 0, 100, 200, 0};
    g.key_directory = {1, 1, 0, 1, 1025, 0, 1, 2};
    const std::optional<MapGrid> centre = map_grid_of_tags(g, "t.tif");
    ASSERT_TRUE(centre.has_value());
    EXPECT_DOUBLE_EQ(centre->x0, 99.75);
    EXPECT_DOUBLE_EQ(centre->y0, 200.25);
    // ... and so is a transformation's origin (as GDAL reads it).
    GeoReference m;
    m.transformation = {0.5, 0, 0, 100, 0, -0.5, 0, 200, 0, 0, 0, 0, 0, 0, 0, 1};
    m.key_directory = g.key_directory;
    EXPECT_DOUBLE_EQ(map_grid_of_tags(m, "m.tif")->x0, 99.75);
    m.key_directory.clear();
    EXPECT_DOUBLE_EQ(map_grid_of_tags(m, "m.tif")->x0, 100);
    const std::optional<MapGrid> aux = map_grid_of_aux(
        "<PAMDataset><GeoTransform> 1.0e+03, 5.0e-01, 0, 5.0e+03, 0, -2.5e-01</GeoTransform>",
        "a.png.aux.xml");
    ASSERT_TRUE(aux.has_value());
    EXPECT_DOUBLE_EQ(aux->x0, 1000);
    EXPECT_DOUBLE_EQ(aux->sy, 0.25);
    EXPECT_MESSAGE_HAS(test::input_error_message(
                           [] { map_grid_of_world("0.5\n0.1\n0\n-0.5\n10\n20\n", "r.pgw"); }),
                       "r.pgw places its pixels on a rotated or sheared grid");
}

// What predict says of where its PNG prediction of a GeoTIFF lies: a GeoTIFF naming a CRS but no
// grid is said as such (it was said to be "located by ground control points", which it had none
// of); tags beside a .tfw that disagrees place the prediction by the tags, as GDAL does, and the
// line saying where the place came from names the tags alone (it named the .tfw, which the
// warning beside it said was not carried).
TEST(RealDatasets, PredictSaysWhereAGeoTiffsPredictionLies) {
    const std::string root = test::temp_dir("real_predict_geotiff_place");
    const auto fd = test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    ASSERT_EQ(train_tiny_run(fd.root, root + "/run").status, 0);
    const RgbImage img = read_rgb(fd.root + "/images/" + fd.ids[0] + ".png");
    write_geotiff(root + "/crs.tif", img, nullptr, /*grid_tags=*/false);
    write_geotiff(root + "/both.tif", img);
    std::ofstream(root + "/both.tfw") << "0.1\n0\n0\n-0.1\n600000\n5100000\n";
    const std::string predict =
        "predict --checkpoint " + root + "/run/last.ckpt --device cpu --no-overlay --input " + root;
    const test::CommandResult crs = test::run_pfce(predict + "/crs.tif --out " + root + "/c.png");
    ASSERT_EQ(crs.status, 0) << crs.output;
    EXPECT_MESSAGE_HAS(crs.output, root + "/crs.tif names a CRS but no place on its grid (EPSG:");
    EXPECT_FALSE(test::message_has(crs.output, "ground control points")) << crs.output;
    const test::CommandResult both = test::run_pfce(predict + "/both.tif --out " + root + "/b.png");
    ASSERT_EQ(both.status, 0) << both.output;
    EXPECT_MESSAGE_HAS(both.output,
                       root +
                           "/both.tfw (origin (599999.95, 5100000.05), pixel 0.1 x 0.1) "
                           "is not carried to the prediction");
    EXPECT_MESSAGE_HAS(both.output, "georeference carried from the GeoTIFF tags of both.tif)");
    EXPECT_FALSE(test::message_has(both.output, "carried from world file")) << both.output;
    EXPECT_EQ(map_grid_of_world(read_whole_file(root + "/b.pgw"), "b.pgw")->x0,
              map_grid_of_tags(read_georeference(root + "/both.tif"), "both.tif")->x0);
    // A GeoTIFF located by ground control points: its PNG mask and overlay carry them as GDAL
    // keeps a PNG's, a GCPList in the .aux.xml with the CRS (a GIS probe: a PNG's own GCPs were
    // carried, a GeoTIFF's said lost). A .tif mask keeps the tags; with --no-overlay nothing is
    // said of an overlay not written.
    const std::vector<double> gcps = {0,      0,       0, 366000, 5808000, 0, 39.5,   0,         0,
                                      366002, 5808000, 0, 0,      31,      0, 366000, 5807998.5, 0};
    write_geotiff(root + "/gcp.tif", img, nullptr, true, &gcps);
    const std::string with_overlay =
        "predict --checkpoint " + root + "/run/last.ckpt --device cpu --input " + root;
    const test::CommandResult gcp =
        test::run_pfce(with_overlay + "/gcp.tif --out " + root + "/g.png");
    ASSERT_EQ(gcp.status, 0) << gcp.output;
    EXPECT_FALSE(test::message_has(gcp.output, "ground control points")) << gcp.output;
    const std::string list =
        "<PAMDataset>\n  <GCPList Projection=\"EPSG:25832\">\n"
        "    <GCP Id=\"1\" Pixel=\"0\" Line=\"0\" X=\"366000\" Y=\"5808000\" Z=\"0\" />\n"
        "    <GCP Id=\"2\" Pixel=\"39.5\" Line=\"0\" X=\"366002\" Y=\"5808000\" Z=\"0\" />\n"
        "    <GCP Id=\"3\" Pixel=\"0\" Line=\"31\" X=\"366000\" Y=\"5807998.5\" Z=\"0\" />\n"
        "  </GCPList>\n</PAMDataset>\n";
    EXPECT_EQ(read_whole_file(root + "/g.png.aux.xml"), list);
    EXPECT_EQ(read_whole_file(root + "/g_overlay.png.aux.xml"), list);
    EXPECT_FALSE(fs::exists(root + "/g.pgw"));
    const test::CommandResult tif = test::run_pfce(predict + "/gcp.tif --out " + root + "/g.tif");
    ASSERT_EQ(tif.status, 0) << tif.output;
    EXPECT_EQ(read_georeference(root + "/g.tif").tiepoints, gcps);
    EXPECT_FALSE(test::message_has(tif.output, "overlay")) << tif.output;
}

// --from-points on JPEG chips of several sizes placed by .jgw world files, index masks whose class
// values include 255: each point on its pixel, the class read back as that class, never as no
// label.
TEST(RealDatasets, SamplePointsOnJpegChipsOfMixedSizes) {
    const std::string root = test::temp_dir("real_points_jpeg");
    test::ForeignSpec spec = index_spec({0, 255, 7, 3});  // road is 255
    spec.jpeg = true;
    spec.sizes = {{40, 32}, {56, 40}, {32, 48}, {64, 36}};
    const auto fd = test::write_foreign_dataset(root + "/data", spec);
    for (std::size_t k = 0; k < fd.ids.size(); ++k)  // chip k's corner at (1000 + 100 k, 5000)
        std::ofstream(fd.root + "/images/" + fd.ids[k] + ".jgw")
            << "0.5\n0\n0\n-0.5\n"
            << 1000.25 + 100.0 * static_cast<double>(k) << "\n4999.75\n";
    // Chip 1's last column and row (55, 39), chip 3's (63, 35): the far corners of other sizes.
    std::ofstream(root + "/points.geojson")
        << "{\"type\": \"FeatureCollection\", \"features\": ["
           "{\"type\": \"Feature\", \"properties\": {\"class\": \"road\"}, \"geometry\": "
           "{\"type\": \"Point\", \"coordinates\": [1127.7, 4980.3]}},"
           "{\"type\": \"Feature\", \"properties\": {\"class\": \"tree\"}, \"geometry\": "
           "{\"type\": \"Point\", \"coordinates\": [1331.7, 4982.3]}}]}";
    const test::CommandResult r =
        test::run_pfce("sample --data " + fd.root + " --out " + root + "/sparse --from-points " +
                       root + "/points.geojson");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_MESSAGE_HAS(r.output, "imported 2 of the 2 points");
    const MaskDir md = open_mask_dir(root + "/sparse");
    const Dataset ds = Dataset::open(fd.root);
    const LabelMap one = read_mask_png(md, fd.ids[1], ds.palette());
    EXPECT_EQ(one.width, 56);
    EXPECT_EQ(one.at(39, 55), 1);  // road: its value 255 in the dataset, class 1 here
    EXPECT_EQ(std::count(one.labels.begin(), one.labels.end(), std::uint8_t{255}), 56 * 40 - 1);
    EXPECT_EQ(read_mask_png(md, fd.ids[3], ds.palette()).at(35, 63), 3);
}

// A dataset of images and a point layer, no dense masks: [files] images_without_mask =
// "unlabelled" makes each image a sample whose mask labels nothing (the masks directory may be
// missing), so sample --from-points and train --labels work on it; one mask given is read as usual.
TEST(RealDatasets, ImagesWithoutMasksTrainOnTheirPoints) {
    const std::string root = test::temp_dir("real_maskless");
    const auto fd = test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    const std::string kept_mask = root + "/" + fd.ids[1] + ".png";
    fs::copy_file(fd.root + "/masks/" + fd.ids[1] + ".png", kept_mask);
    fs::remove_all(fd.root + "/masks");
    const test::CommandResult refused = test::run_pfce("data stats " + fd.root);
    EXPECT_EQ(refused.status, 2) << refused.output;  // by default each image needs its mask
    std::ofstream(fd.root + "/dataset.toml", std::ios::app)
        << "\n[files]\nimages_without_mask = \"unlabelled\"\n";
    const test::CommandResult stats = test::run_pfce("data stats " + fd.root);
    ASSERT_EQ(stats.status, 0) << stats.output;
    EXPECT_MESSAGE_HAS(stats.output, "8 of the 8 images have no mask and label nothing");
    // Nor does it say it decoded masks there are not (a foreign-dataset probe).
    EXPECT_MESSAGE_HAS(stats.output, "checked:   every image decoded (8), no masks");
    EXPECT_EQ(stats.output.find("and mask decoded"), std::string::npos) << stats.output;
    // Points on every image but the last, by pixel position.
    std::string csv = "id,x,y,class\n";
    for (std::size_t k = 0; k + 1 < fd.ids.size(); ++k)
        for (int c = 0; c < 4; ++c)
            csv += fd.ids[k] + "," + std::to_string(3 + 9 * c) + "," + std::to_string(2 + 7 * c) +
                   "," + test::foreign_class_names()[static_cast<std::size_t>(c)] + "\n";
    std::ofstream(root + "/points.csv") << csv;
    const test::CommandResult s = test::run_pfce("sample --data " + fd.root + " --out " + root +
                                                 "/points --from-points " + root + "/points.csv");
    ASSERT_EQ(s.status, 0) << s.output;
    EXPECT_MESSAGE_HAS(s.output, "(7 of 8 samples labelled)");
    const test::CommandResult t =
        test::run_pfce("train --data " + fd.root + " --labels " + root + "/points --out " + root +
                       "/run --epochs 1" + kTiny);
    ASSERT_EQ(t.status, 0) << t.output;
    // Validation on images without masks scores their points (their mIoU was undefined, and
    // before that read "nan").
    EXPECT_MESSAGE_HAS(t.output, "validation scores the points of " + root + "/points on its");
    EXPECT_MESSAGE_HAS(t.output, "(on the points of --labels: the val images have no dense masks)");
    EXPECT_MESSAGE_HAS(t.output, " (points) | ");
    EXPECT_EQ(t.output.find("mIoU nan"), std::string::npos) << t.output;
    // A validation image without points scores nothing: its losses are null in metrics.jsonl, the
    // dense one too (it read 0.0, a loss of no pixel).
    std::ofstream(root + "/tr.txt") << fd.ids[0] << "\n" << fd.ids[1] << "\n";
    std::ofstream(root + "/va.txt") << fd.ids.back() << "\n";  // the image without points
    std::ofstream(root + "/te.txt") << fd.ids[2] << "\n";
    const test::CommandResult no_points =
        test::run_pfce("train --data " + fd.root + " --labels " + root + "/points --train-list " +
                       root + "/tr.txt --val-list " + root + "/va.txt --test-list " + root +
                       "/te.txt --out " + root + "/run-nopoints --epochs 1" + kTiny);
    ASSERT_EQ(no_points.status, 0) << no_points.output;
    const nlohmann::json line =
        nlohmann::json::parse(read_whole_file(root + "/run-nopoints/metrics.jsonl"));
    EXPECT_TRUE(line["val_loss"].is_null()) << line.dump();
    EXPECT_TRUE(line["val_loss_dense"].is_null()) << line.dump();
    // eval on them scores the points of --labels (held-out points, the one truth there is): OA
    // is the share of points predicted as their class, as predict's masks say at those pixels
    // (it was refused as "nothing to score"). Without --labels there is nothing to score.
    const std::string eval =
        "eval --checkpoint " + root + "/run/last.ckpt --device cpu --split all";
    const test::CommandResult on_points =
        test::run_pfce(eval + " --labels " + root + "/points --per-image " + root + "/s.csv");
    ASSERT_EQ(on_points.status, 0) << on_points.output;
    EXPECT_MESSAGE_HAS(on_points.output, "scored on the points of --labels " + root +
                                             "/points: the images have no dense masks");
    EXPECT_MESSAGE_HAS(on_points.output, "loss (--labels)");
    EXPECT_EQ(on_points.output.find("loss (dense)"), std::string::npos) << on_points.output;
    EXPECT_TRUE(fs::exists(root + "/s.csv"));
    const test::CommandResult as_json =
        test::run_pfce(eval + " --labels " + root + "/points --json");
    ASSERT_EQ(as_json.status, 0) << as_json.output;
    const nlohmann::json pj = test::json_in_output(as_json.output);
    EXPECT_EQ(pj["scored_on"], "labels");
    EXPECT_TRUE(pj["loss_dense"].is_null());
    EXPECT_EQ(pj["images"], 8);
    ASSERT_EQ(test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --device cpu " +
                             "--input " + fd.root + "/images --out " + root + "/pred")
                  .status,
              0);
    const Dataset maskless = Dataset::open(fd.root);
    int hits = 0, points = 0;
    for (std::size_t k = 0; k + 1 < fd.ids.size(); ++k) {
        const LabelMap p = maskless.read_mask_file(root + "/pred/" + fd.ids[k] + ".png");
        for (int c = 0; c < 4; ++c, ++points) hits += p.at(2 + 7 * c, 3 + 9 * c) == c ? 1 : 0;
    }
    // (Eval's batches and predict's windows may round a logit otherwise: one point of 28 at most.)
    EXPECT_NEAR(pj["oa"].get<double>(), static_cast<double>(hits) / points, 1.0 / points + 1e-9)
        << as_json.output;
    const test::CommandResult bare = test::run_pfce(eval);
    EXPECT_EQ(bare.status, 2) << bare.output;
    EXPECT_MESSAGE_HAS(bare.output,
                       "its images have no dense masks (images_without_mask = "
                       "\"unlabelled\"); score them on points with --labels POINTS");
    // Points that label no pixel of the split score nothing either: refused, not a loss of 0.
    const test::CommandResult test_split =
        test::run_pfce("eval --checkpoint " + root + "/run/last.ckpt --device cpu --labels " +
                       root + "/points --json");
    ASSERT_EQ(test_split.status, 0) << test_split.output;
    const nlohmann::json tested = test::json_in_output(test_split.output)["ids"];
    fs::create_directories(root + "/blank");
    for (const std::string& id : fd.ids) {
        const RgbImage image = read_rgb(fd.root + "/images/" + id + ".png");
        RgbImage blank(image.width, image.height);
        std::fill(blank.pixels.begin(), blank.pixels.end(), std::uint8_t{155});  // ignore colour
        const bool in_test = std::find(tested.begin(), tested.end(), id) != tested.end();
        if (!in_test)  // a point where the test split has none
            std::copy_n(maskless.palette().classes[0].colour.begin(), 3, blank.pixels.begin());
        write_png(root + "/blank/" + id + ".png", blank);
    }
    ASSERT_EQ(test::run_pfce("sample --data " + fd.root + " --from " + root + "/blank --out " +
                             root + "/blank-masks")
                  .status,
              0);
    const test::CommandResult blank =
        test::run_pfce("eval --checkpoint " + root + "/run/last.ckpt --device cpu --labels " +
                       root + "/blank-masks");
    EXPECT_EQ(blank.status, 2) << blank.output;
    EXPECT_MESSAGE_HAS(blank.output, "--labels " + root + "/blank-masks labels no pixel of split");
    // val_miou there is that of the points: best.ckpt and plateau follow it (it was undefined: they
    // followed the validation loss, and before that the plateau lowered the lr every patience
    // epochs and best.ckpt was never written).
    const test::CommandResult miou = test::run_pfce(
        "train --data " + fd.root + " --labels " + root + "/points --out " + root +
        "/run-miou --epochs 2 --best val_miou --schedule plateau --plateau-metric val_miou" +
        kTiny);
    ASSERT_EQ(miou.status, 0) << miou.output;
    EXPECT_EQ(miou.output.find("mIoU is undefined"), std::string::npos) << miou.output;
    EXPECT_MESSAGE_HAS(miou.output, "(val_miou ");
    EXPECT_TRUE(fs::exists(root + "/run-miou/best.ckpt"));
    // A mask given for one image is read as before: its pixels are counted.
    fs::create_directories(fd.root + "/masks");
    fs::copy_file(kept_mask, fd.root + "/masks/" + fd.ids[1] + ".png");
    const test::CommandResult mixed = test::run_pfce("data stats " + fd.root + " --json");
    ASSERT_EQ(mixed.status, 0) << mixed.output;
    EXPECT_MESSAGE_HAS(mixed.output, "7 of the 8 images have no mask");
    const nlohmann::json j = test::json_in_output(mixed.output);
    std::int64_t labelled = 0;
    for (const auto& c : j["classes"]) labelled += c["pixels"].get<std::int64_t>();
    EXPECT_GT(labelled, 0);
    // eval --labels there scores each image on what it has: that mask, and the others' points
    // (beside an image with a mask, they were left out of the scores, unsaid).
    const test::CommandResult both = test::run_pfce(eval + " --labels " + root + "/points");
    ASSERT_EQ(both.status, 0) << both.output;
    EXPECT_MESSAGE_HAS(both.output, "scored on the dense masks, and on the points of --labels " +
                                        root + "/points for the 7 images without one");
    const test::CommandResult both_json =
        test::run_pfce(eval + " --labels " + root + "/points --json");
    ASSERT_EQ(both_json.status, 0) << both_json.output;
    const nlohmann::json bj = test::json_in_output(both_json.output);
    EXPECT_EQ(bj["scored_on"], "dense+labels");
    EXPECT_EQ(bj["images_unlabelled"], 1);  // the last image: neither mask nor points
    // Every image a mask all of the ignore colour: dense masks labelling nothing, so eval
    // --labels gives the loss on the points alone (the metrics would be of no pixel).
    const RgbImage shape = read_rgb(kept_mask);
    RgbImage grey(shape.width, shape.height);
    std::fill(grey.pixels.begin(), grey.pixels.end(), std::uint8_t{155});
    for (const std::string& id : fd.ids) write_png(fd.root + "/masks/" + id + ".png", grey);
    const test::CommandResult loss_only = test::run_pfce(eval + " --labels " + root + "/points");
    ASSERT_EQ(loss_only.status, 0) << loss_only.output;
    EXPECT_MESSAGE_HAS(loss_only.output,
                       "label no pixel: no mIoU, OA or IoU; the loss on the points of --labels");
    EXPECT_MESSAGE_HAS(loss_only.output, "loss (--labels)");
    const test::CommandResult with_csv =
        test::run_pfce(eval + " --labels " + root + "/points --per-image " + root + "/t.csv");
    EXPECT_EQ(with_csv.status, 2) << with_csv.output;
    EXPECT_MESSAGE_HAS(with_csv.output, "eval gives the loss on its points");
    EXPECT_FALSE(fs::exists(root + "/t.csv"));
}

// predict --qml: beside each mask a QGIS style naming each class by the value the mask holds for
// it (the dataset's own values; 255 one of them, so no "no data" entry), in its colour. Without
// --qml, with --force, an earlier prediction's style goes with it (it would name the classes over
// the new mask); a user's own .qml is replaced only with --force; a mask beside another image of
// its stem (QGIS would style that image too) is refused.
TEST(RealDatasets, PredictQmlNamesEachClassOfTheMaskForQgis) {
    const std::string root = test::temp_dir("real_qml");
    const auto fd = test::write_foreign_dataset(root + "/data", index_spec({10, 20, 30, 255}));
    const std::string run = root + "/run/last.ckpt";
    ASSERT_EQ(
        test::run_pfce("train --data " + fd.root + " --out " + root + "/run --epochs 1" + kTiny)
            .status,
        0);
    const std::string predict =
        "predict --device cpu --checkpoint " + run + " --input " + fd.root + "/images --out ";
    const test::CommandResult p = test::run_pfce(predict + root + "/pred --qml");
    ASSERT_EQ(p.status, 0) << p.output;
    for (const std::string& id : fd.ids) EXPECT_TRUE(fs::exists(root + "/pred/" + id + ".qml"));
    const std::string qml = read_whole_file(root + "/pred/" + fd.ids[0] + ".qml");
    EXPECT_EQ(qml.rfind("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n", 0), 0u);
    EXPECT_MESSAGE_HAS(qml, "<rasterrenderer type=\"paletted\" band=\"1\"");
    EXPECT_MESSAGE_HAS(qml,
                       "<paletteEntry value=\"10\" color=\"#000000\" alpha=\"255\" "
                       "label=\"background\"/>");
    EXPECT_MESSAGE_HAS(qml,
                       "<paletteEntry value=\"20\" color=\"#804080\" alpha=\"255\" "
                       "label=\"road\"/>");
    EXPECT_MESSAGE_HAS(qml,
                       "<paletteEntry value=\"255\" color=\"#6b8e23\" alpha=\"255\" "
                       "label=\"tree\"/>");
    // 255 is a class here: no-data pixels get 0, the lowest value no class has, styled so.
    EXPECT_MESSAGE_HAS(qml,
                       "<paletteEntry value=\"0\" color=\"#000000\" alpha=\"0\" "
                       "label=\"no data\"/>");
    EXPECT_EQ(qml.find("value=\"255\" color=\"#000000\" alpha=\"0\""), std::string::npos) << qml;

    // Predicted again without --qml: refused beside the old style, removed with --force.
    const test::CommandResult kept = test::run_pfce(predict + root + "/pred");
    EXPECT_EQ(kept.status, 2) << kept.output;
    const test::CommandResult again = test::run_pfce(predict + root + "/pred --force");
    ASSERT_EQ(again.status, 0) << again.output;
    EXPECT_FALSE(fs::exists(root + "/pred/" + fd.ids[0] + ".qml"));
    // --skip-existing writes no style beside masks it skips (they may be another model's): said.
    const test::CommandResult skipped =
        test::run_pfce(predict + root + "/pred --qml --skip-existing");
    EXPECT_EQ(skipped.status, 0) << skipped.output;
    EXPECT_MESSAGE_HAS(skipped.output, " of the masks skipped have no QGIS style beside them");
    // A style written beside a TIFF mask is stale beside a PNG mask of the same stem too.
    ASSERT_EQ(test::run_pfce(predict + root + "/formats --qml --format tif").status, 0);
    ASSERT_EQ(test::run_pfce(predict + root + "/formats --format png --force").status, 0);
    EXPECT_FALSE(fs::exists(root + "/formats/" + fd.ids[0] + ".qml"));
    // A user's own style where one would go: refused, then replaced with --force.
    fs::create_directories(root + "/mine");
    { std::ofstream(root + "/mine/" + fd.ids[1] + ".qml") << "<qgis/>\n"; }
    const test::CommandResult theirs = test::run_pfce(predict + root + "/mine --qml");
    EXPECT_EQ(theirs.status, 2) << theirs.output;
    EXPECT_MESSAGE_HAS(theirs.output, fd.ids[1] + ".qml already exists");
    EXPECT_EQ(read_whole_file(root + "/mine/" + fd.ids[1] + ".qml"), "<qgis/>\n");
    ASSERT_EQ(test::run_pfce(predict + root + "/mine --qml --force").status, 0);
    EXPECT_MESSAGE_HAS(read_whole_file(root + "/mine/" + fd.ids[1] + ".qml"), "label=\"road\"");
    // A mask written beside its image, which has its stem: the style would name classes over the
    // image's pixel values.
    fs::create_directories(root + "/chips");
    write_png(root + "/chips/a.png", test::foreign_image(test::foreign_labels(40, 32, 6), 6));
    const test::CommandResult beside =
        test::run_pfce("predict --device cpu --checkpoint " + run + " --input " + root +
                       "/chips/a.png --out " + root + "/chips/a.tif --qml");
    EXPECT_EQ(beside.status, 2) << beside.output;
    EXPECT_MESSAGE_HAS(beside.output, "--qml: " + root + "/chips/a.qml would style not only " +
                                          root + "/chips/a.tif but also the other image of stem");
    EXPECT_FALSE(fs::exists(root + "/chips/a.tif"));
    // Names with XML's reserved characters, the no-data entry where no class has 255, and a
    // comment that stays one ("--" cannot appear inside it).
    const std::string made = qgis_paletted_style({{3, "roads & \"paths\" <1m>", {1, 2, 254}}}, 255,
                                                 "checkpoint runs/a--b/last.ckpt");
    EXPECT_MESSAGE_HAS(made,
                       "<paletteEntry value=\"3\" color=\"#0102fe\" alpha=\"255\" "
                       "label=\"roads &amp; &quot;paths&quot; &lt;1m&gt;\"/>");
    EXPECT_MESSAGE_HAS(made,
                       "<paletteEntry value=\"255\" color=\"#000000\" alpha=\"0\" "
                       "label=\"no data\"/>");
    const std::string comment = made.substr(made.find("<!--") + 4);
    EXPECT_EQ(comment.substr(0, comment.find("-->")).find("--"), std::string::npos) << made;
}

// A dataset whose index masks give the classes their own values (LoveDA: 1..7, 0 = no data):
// predictions are written in those values, so a prediction read back as that dataset's mask means
// what the network predicted (in class indices, class 0 would read as no data and every other
// class as its neighbour).
TEST(RealDatasets, PredictionsOfAnIndexDatasetWithItsOwnValuesReadBackAsItsMasks) {
    const std::string root = test::temp_dir("real_values");
    const test::ForeignSpec spec = index_spec({10, 20, 30, 255});
    const auto fd = test::write_foreign_dataset(root + "/data", spec);
    const test::CommandResult t =
        test::run_pfce("train --data " + fd.root + " --out " + root + "/run --epochs 1" + kTiny);
    ASSERT_EQ(t.status, 0) << t.output;
    const test::CommandResult p =
        test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --input " + fd.root +
                       "/images --out " + root + "/pred");
    ASSERT_EQ(p.status, 0) << p.output;
    EXPECT_MESSAGE_HAS(p.output, "background 10, road 20, building 30, tree 255");
    // A chip with pixels of no data (a NoDataValue in its .aux.xml), which predict writes as 255
    // where no class has it, but 255 is this model's tree: they get the lowest value no class
    // has, 0, said once, marked transparent; every chip is predicted (that chip failed, found only
    // once its pixels were read, after the chips before it were written: exit 3).
    fs::create_directories(root + "/chips");
    RgbImage scan = test::foreign_image(test::foreign_labels(40, 32, 5), 5);
    for (int x = 0; x < 5; ++x) scan.at(0, x)[0] = scan.at(0, x)[1] = scan.at(0, x)[2] = 0;
    write_png(root + "/chips/a.png", test::foreign_image(test::foreign_labels(40, 32, 6), 6));
    write_png(root + "/chips/b.png", scan);
    std::ofstream(root + "/chips/b.png.aux.xml")
        << "<PAMDataset><PAMRasterBand band=\"1\"><NoDataValue>0</NoDataValue></PAMRasterBand>"
           "<PAMRasterBand band=\"2\"><NoDataValue>0</NoDataValue></PAMRasterBand>"
           "<PAMRasterBand band=\"3\"><NoDataValue>0</NoDataValue></PAMRasterBand></PAMDataset>";
    write_png(root + "/chips/c.png", test::foreign_image(test::foreign_labels(40, 32, 7), 7));
    const test::CommandResult nd =
        test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --input " + root +
                       "/chips --out " + root + "/chips-out");
    EXPECT_EQ(nd.status, 0) << nd.output;
    EXPECT_MESSAGE_HAS(nd.output,
                       "no-data pixels (transparent, or a NoData value) get the value 0, the "
                       "lowest no class has (255 is tree's), marked as the masks' NoData; "
                       "--nodata-value N chooses another");
    for (const char* chip : {"a", "b", "c"})
        EXPECT_TRUE(fs::exists(root + "/chips-out/" + chip + ".png")) << chip;
    {
        const LabelMap b = read_gray(root + "/chips-out/b.png");
        std::vector<std::uint8_t> transparent;
        read_rgb_with_nodata(root + "/chips-out/b.png", transparent);
        for (std::size_t i = 0; i < b.labels.size(); ++i) {
            EXPECT_EQ(b.labels[i] == 0, i < 5) << "pixel " << i;
            EXPECT_EQ(!transparent.empty() && transparent[i] == 1, i < 5) << "pixel " << i;
        }
    }
    // --nodata-value: those pixels get a value no class has, the PNG's transparent entry and a
    // TIFF's NoData; a class's value is refused before anything is read.
    const std::string chip_b =
        "predict --checkpoint " + root + "/run/last.ckpt --input " + root + "/chips/b.png --out ";
    const test::CommandResult taken = test::run_pfce(chip_b + root + "/b0.png --nodata-value 20");
    EXPECT_EQ(taken.status, 2) << taken.output;
    EXPECT_MESSAGE_HAS(taken.output, "--nodata-value 20: " + root +
                                         "/run/last.ckpt writes road as that value (expected a "
                                         "value no class has, e.g. 0)");
    EXPECT_FALSE(fs::exists(root + "/b0.png"));
    for (const char* value : {"-1", "256"}) {
        const test::CommandResult out_of_range =
            test::run_pfce(chip_b + root + "/b0.png --nodata-value " + value);
        EXPECT_EQ(out_of_range.status, 2) << out_of_range.output;
        EXPECT_MESSAGE_HAS(out_of_range.output, std::string("--nodata-value ") + value +
                                                    ": expected a pixel value, 0..255, that no "
                                                    "class has");
    }
    for (const char* ext : {".png", ".tif"}) {
        const std::string out = root + "/b7" + (ext + 1) + ext;  // overlays of their own
        const test::CommandResult seven = test::run_pfce(chip_b + out + " --nodata-value 7");
        ASSERT_EQ(seven.status, 0) << seven.output;
        EXPECT_MESSAGE_HAS(seven.output, "5 pixels of no data left 7");
        const LabelMap written = read_gray(out);
        std::vector<std::uint8_t> no_data;
        read_rgb_with_nodata(out, no_data);  // transparent (PNG) or NoData (TIFF) where 7
        for (std::size_t i = 0; i < written.labels.size(); ++i) {
            const std::uint8_t v = written.labels[i];
            EXPECT_EQ(v == 7, i < 5) << ext << " pixel " << i;
            EXPECT_EQ(int{no_data[i]}, i < 5 ? 1 : 0) << ext << " pixel " << i;
            EXPECT_TRUE(v == 7 || v == 10 || v == 20 || v == 30 || v == 255) << int{v};
        }
    }

    // The predictions as the masks of a copy of the dataset: every pixel a class, and as many of
    // each class as predict counted.
    fs::create_directories(root + "/back/masks");
    fs::copy(fd.root + "/images", root + "/back/images");
    fs::copy_file(fd.root + "/dataset.toml", root + "/back/dataset.toml");
    for (const std::string& id : fd.ids)
        fs::copy_file(root + "/pred/" + id + ".png", root + "/back/masks/" + id + ".png");
    const Dataset back = Dataset::open(root + "/back");
    std::vector<double> count(4, 0.0);
    double pixels = 0;
    for (std::size_t i = 0; i < back.size(); ++i)
        for (const std::uint8_t v : back.read_mask(i).labels) {
            ASSERT_LT(v, 4) << "a predicted pixel reads back as no class";
            ++count[v];
            ++pixels;
        }
    for (std::size_t c = 0; c < 4; ++c) {
        const std::string name = test::foreign_class_names()[c];
        const std::smatch m = [&] {
            std::smatch r;
            std::regex_search(p.output, r, std::regex("\n  " + name + " +([0-9.]+)%"));
            return r;
        }();
        ASSERT_FALSE(m.empty()) << name << "\n" << p.output;
        EXPECT_NEAR(std::stod(m[1].str()), 100.0 * count[c] / pixels, 0.006) << name;
    }
    // A value of no class names the values it may be (before: "not a class (4 classes)", as if
    // 0..3 were the classes).
    LabelMap odd = read_gray(root + "/back/masks/" + fd.ids[0] + ".png");
    odd.labels[5] = 0;
    write_png_gray(root + "/back/masks/" + fd.ids[0] + ".png", odd);
    try {
        back.read_mask(0);
        ADD_FAILURE() << "value 0 was read as a class";
    } catch (const InputError& e) {
        EXPECT_MESSAGE_HAS(std::string(e.what()),
                           "index value 0 at pixel (x=5, y=0) is neither a class value (10, 20, "
                           "30, 255) nor an ignore value (200)");
    }
    // pfce sample's masks hold class indices: copied in as the dataset's masks, every class read
    // as another (foreign-data probe). Each says what it holds, and such a dataset refuses it.
    const test::CommandResult sampled =
        test::run_pfce("sample --data " + fd.root + " --points 5 --out " + root + "/sparse");
    ASSERT_EQ(sampled.status, 0) << sampled.output;
    const std::string label_png = root + "/sparse/" + fd.ids[0] + ".png";
    EXPECT_MESSAGE_HAS(probe_image(label_png).labels, "class indices 0..3, 255 unlabelled");
    fs::copy_file(label_png, root + "/back/masks/" + fd.ids[0] + ".png",
                  fs::copy_options::overwrite_existing);
    try {
        back.read_mask(0);
        ADD_FAILURE() << "a label PNG of class indices was read as masks of values 10..255";
    } catch (const InputError& e) {
        EXPECT_MESSAGE_HAS(std::string(e.what()),
                           "is a label PNG of pfce sample or link: its pixel values are class "
                           "indices (0..3, 255 unlabelled), not this dataset's mask.values (10, "
                           "20, 30, 255)");
    }
    // Re-saved by an editor (palette kept, text tag and transparency dropped): known by its
    // palette, entry c in class c's colour (a foreign-data probe read every class as the next).
    std::vector<Rgb> editor_palette;
    const LabelMap indices = read_gray(label_png, 0, &editor_palette);
    ASSERT_GE(editor_palette.size(), 4u);
    editor_palette.resize(256);
    write_png_indexed(root + "/back/masks/" + fd.ids[0] + ".png", indices, editor_palette);
    ASSERT_TRUE(probe_image(root + "/back/masks/" + fd.ids[0] + ".png").labels.empty());
    try {
        back.read_mask(0);
        ADD_FAILURE() << "a re-saved label PNG of class indices was read as masks of values";
    } catch (const InputError& e) {
        EXPECT_MESSAGE_HAS(std::string(e.what()),
                           "is a label PNG of pfce sample or link (its palette colours entry c as "
                           "class c, as pfce writes them");
    }
    // The dataset's own masks, in the same palette written in value order, stay masks.
    {
        const std::uint8_t value_of[4] = {10, 20, 30, 255};  // mask.values; 200 is ignored
        std::vector<Rgb> by_value(256, Rgb{0, 0, 0});
        for (std::size_t c = 0; c < 4; ++c) by_value[value_of[c]] = editor_palette[c];
        LabelMap values = indices;
        for (std::uint8_t& v : values.labels) v = v == 255 ? 200 : value_of[v];
        write_png_indexed(root + "/back/masks/" + fd.ids[0] + ".png", values, by_value);
        EXPECT_NO_THROW(back.read_mask(0));
    }
    // Where the classes' values are their indices, the same file means the same classes.
    const auto plain = test::write_foreign_dataset(root + "/plain", index_spec({}));
    fs::copy_file(label_png, plain.root + "/masks/" + plain.ids[0] + ".png",
                  fs::copy_options::overwrite_existing);
    EXPECT_EQ(Dataset::open(plain.root).read_mask(0).labels, read_gray(label_png).labels);
}

// A label PNG of pfce sample saved again as gray (an image library's open-array-save keeps the
// values and drops the palette and text) and given to sample --from of a dataset whose classes
// have other values: refused, naming what each index would be read as (a probe's building point
// became background and its road point building, without a word). An annotation in the dataset's
// own values on the same background of 255 is read as drawn.
TEST(RealDatasets, ALabelPngSavedAsGrayIsRefusedAsAnAnnotationOfOtherValues) {
    const std::string root = test::temp_dir("real_gray_label_png");
    const auto fd = test::write_foreign_dataset(root + "/data", index_spec({1, 2, 3, 4}));
    const test::CommandResult sampled =
        test::run_pfce("sample --data " + fd.root + " --points 5 --out " + root + "/sparse");
    ASSERT_EQ(sampled.status, 0) << sampled.output;
    fs::create_directories(root + "/ann");
    const std::string ann = root + "/ann/" + fd.ids[0] + ".png";
    write_png_gray(ann, read_gray(root + "/sparse/" + fd.ids[0] + ".png"));
    const std::string from =
        "sample --data " + fd.root + " --from " + root + "/ann --out " + root + "/imported";
    const test::CommandResult gray = test::run_pfce(from);
    EXPECT_EQ(gray.status, 2) << gray.output;
    EXPECT_MESSAGE_HAS(gray.output, ann + ": a gray image of values 0..3 on a background of 255");
    EXPECT_MESSAGE_HAS(gray.output,
                       "This dataset's classes have the values 1, 2, 3, 4, so its values would "
                       "read as other classes: 0 (pfce's background) as no class, 1 (pfce's "
                       "road) as background, 2 (pfce's building) as road, 3 (pfce's tree) as "
                       "building");
    EXPECT_FALSE(fs::exists(root + "/imported"));
    LabelMap own(fd.dense[0].width, fd.dense[0].height, 255);
    own.labels[3] = 1;
    own.labels[50] = 2;
    own.labels[100] = 3;
    write_png_gray(ann, own);
    const test::CommandResult drawn = test::run_pfce(from);
    ASSERT_EQ(drawn.status, 0) << drawn.output;
    const LabelMap imported = read_gray(root + "/imported/" + fd.ids[0] + ".png");
    EXPECT_EQ(imported.labels[3], 0);
    EXPECT_EQ(imported.labels[50], 1);
    EXPECT_EQ(imported.labels[100], 2);
    EXPECT_EQ(std::count(imported.labels.begin(), imported.labels.end(), 255),
              static_cast<std::ptrdiff_t>(imported.labels.size()) - 3);
}

// A suite rerun with nothing to run read no data, and wrote its report with Potsdam's classes: the
// foreign dataset's class 5 counted as clutter (none here) and the pictures' unlabelled colour
// said black. The report of a rerun is the report of the run.
TEST(RealDatasets, ASuiteRerunWithNothingToRunKeepsItsDatasetsClasses) {
    const std::string root = test::temp_dir("real_suite_rerun");
    const auto fd = test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    std::ofstream(root + "/suite.toml")
        << "[suite]\nname = \"s\"\nexperiments = [{ id = \"d\", labels = { kind = \"dense\" } "
           "}]\n[data]\nroot = \""
        << fd.root
        << "\"\ntrain_frac = 0.5\nval_frac = 0.25\n[model]\nwidth = 4\ndepth = 2\n[run]\nepochs "
           "= 1\nbatch_size = 4\n";
    const std::string run = "run " + root + "/suite.toml --device cpu --out " + root + "/out";
    const test::CommandResult first = test::run_pfce(run);
    ASSERT_EQ(first.status, 0) << first.output;
    const std::string report = root + "/out/report.md";
    auto results_row = [&] {
        std::ifstream f(report);
        std::string line;
        while (std::getline(f, line))
            if (line.rfind("| d |", 0) == 0) return line;
        return std::string();
    };
    const std::string row = results_row();
    ASSERT_FALSE(row.empty());
    const test::CommandResult again = test::run_pfce(run);
    ASSERT_EQ(again.status, 0) << again.output;
    EXPECT_MESSAGE_HAS(again.output, "0 ran, 1 skipped");
    EXPECT_EQ(results_row(), row);
    std::ifstream f(report);
    const std::string md((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    EXPECT_MESSAGE_HAS(md, "The colour (155, 155, 155) = unlabelled.");
}

// A suite on images of ten sizes: the picture grid of test images of other sizes failed every
// experiment after its training and testing ("grid row 1 image is 72x100, expected 40x48"); the
// report said "10 images of 40x32" and compared the data with the technical report's Potsdam
// figures, which are of other classes.
TEST(RealDatasets, ASuiteOnImagesOfManySizesDrawsItsPicturesAndDescribesItsData) {
    const std::string root = test::temp_dir("real_suite_sizes");
    test::ForeignSpec spec;
    spec.sizes = {{40, 32}, {56, 48}, {33, 61}, {72, 40}, {48, 40},
                  {64, 36}, {36, 52}, {44, 44}, {60, 34}, {50, 46}};  // all different
    const auto fd = test::write_foreign_dataset(root + "/data", spec);
    std::ofstream(root + "/suite.toml")
        << "[suite]\nname = \"s\"\ngrid_images = 3\nexperiments = [{ id = \"d\", labels = { "
           "kind = \"dense\" } }, { id = \"e4-500-linked\", report_figure = \"test 0.83\", "
           "labels = { kind = \"linked\", points = 20, radius = 8 } }]\n[data]\nroot = \""
        << fd.root
        << "\"\ncrop_size = 32\ntrain_frac = 0.5\nval_frac = 0.2\n[model]\nwidth = 4\ndepth = "
           "2\n[run]\nepochs = 1\nbatch_size = 4\n";
    const test::CommandResult r =
        test::run_pfce("run " + root + "/suite.toml --device cpu --out " + root + "/out");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_MESSAGE_HAS(r.output, "2 ran");
    for (const char* id : {"d", "e4-500-linked"}) {
        const RgbImage g = read_rgb(root + "/out/" + id + "/grid.png");
        EXPECT_GT(g.height, 0) << id;
    }
    std::ifstream f(root + "/out/report.md");
    const std::string md((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    EXPECT_MESSAGE_HAS(md, "10 images of 10 sizes: 40x32 (1) to 72x40 (1)");
    EXPECT_EQ(md.find("technical report's figures"), std::string::npos) << md;
}

// A TIFF of several full-size pages (an ImageJ stack of bands, masks saved page by page) is read
// at its first page; that was silent. Overviews and thumbnails marked as reduced-resolution pages
// are not full pages, and say nothing.
TEST(RealDatasets, ATiffOfSeveralFullPagesIsSaidOnce) {
    const std::string root = test::temp_dir("real_pages");
    const auto fd = test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    auto write_pages = [](const std::string& path, const std::vector<RgbImage>& pages,
                          bool later_reduced) {
        TIFF* t = TIFFOpen(path.c_str(), "w");
        ASSERT_NE(t, nullptr);
        for (std::size_t k = 0; k < pages.size(); ++k) {
            const RgbImage& page = pages[k];
            if (k > 0 && later_reduced) TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_REDUCEDIMAGE);
            TIFFSetField(t, TIFFTAG_IMAGEWIDTH, page.width);
            TIFFSetField(t, TIFFTAG_IMAGELENGTH, page.height);
            TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3);
            TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
            TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
            TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
            TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, page.height);
            for (int y = 0; y < page.height; ++y)
                ASSERT_GE(TIFFWriteScanline(
                              t, const_cast<std::uint8_t*>(&page.pixels[3 * y * page.width]), y, 0),
                          0);
            ASSERT_TRUE(TIFFWriteDirectory(t));
        }
        TIFFClose(t);
    };
    const RgbImage first = read_rgb(fd.root + "/images/tile_0.png");
    fs::remove(fd.root + "/images/tile_0.png");
    write_pages(fd.root + "/images/tile_0.tif", {first, test::random_rgb(40, 32, 5)}, false);
    const test::CommandResult stack = test::run_pfce("data stats " + fd.root);
    EXPECT_EQ(stack.status, 0) << stack.output;
    EXPECT_MESSAGE_HAS(stack.output,
                       "tile_0.tif has 2 pages; only its first full-resolution page "
                       "(40x32) is read, but page 2 is 40x32 as well");
    write_pages(fd.root + "/images/tile_0.tif", {first, test::random_rgb(20, 16, 5)}, true);
    const test::CommandResult overview = test::run_pfce("data stats " + fd.root);
    EXPECT_EQ(overview.status, 0) << overview.output;
    EXPECT_EQ(overview.output.find("has 2 pages"), std::string::npos) << overview.output;
}

// Annotations exported by a labelling tool (or a GIMP layer) leave what nobody drew transparent:
// RGBA with alpha 0, or gray + alpha for index masks. Those pixels are unlabelled whatever colour
// they hold (here black, a class's colour, and an index class's value); a foreign-data probe found
// them refused. Partly transparent pixels (a soft brush's blended edge) are refused, said so; the
// dataset's own masks are read as before (transparency there still refused).
TEST(RealDatasets, TransparentAnnotationPixelsAreUnlabelled) {
    const std::string root = test::temp_dir("real_import_alpha");
    for (const bool index : {false, true}) {
        SCOPED_TRACE(index ? "index masks" : "palette masks");
        test::ForeignSpec spec;
        spec.index_masks = index;
        spec.index_values = index ? std::vector<int>{1, 2, 3, 4} : std::vector<int>{};
        const std::string base = root + (index ? "/index" : "/palette");
        const auto fd = test::write_foreign_dataset(base + "/data", spec);
        const std::string ann = base + "/annotations";
        fs::create_directories(ann);
        const int channels = index ? 2 : 4;
        std::vector<LabelMap> meant;
        auto write = [&](std::size_t k, std::uint8_t edge_alpha) {
            const LabelMap& dense = fd.dense[k];
            LabelMap points(dense.width, dense.height, kUnlabelled);
            std::vector<std::uint8_t> px(points.labels.size() * channels, 0);  // black, alpha 0
            if (index)
                for (std::size_t i = 0; i < points.labels.size(); ++i) px[2 * i] = 1;  // class 0
            for (std::size_t i = 0; i < points.labels.size(); i += 23) {
                const std::uint8_t c = dense.labels[i];
                if (c == kUnlabelled) continue;
                points.labels[i] = c;
                std::uint8_t* p = &px[i * channels];
                if (index) {
                    p[0] = static_cast<std::uint8_t>(c + 1);
                } else {
                    const Rgb colour = test::foreign_colours()[c];
                    std::copy(colour.begin(), colour.end(), p);
                }
                p[channels - 1] = 255;
            }
            px[5 * channels + channels - 1] = edge_alpha;  // pixel 5: opaque, or a soft edge
            if (edge_alpha == 255) points.labels[5] = 0;   // black, or value 1: class 0
            const std::string path = ann + "/" + fd.ids[k] + ".png";
            ASSERT_TRUE(stbi_write_png(path.c_str(), dense.width, dense.height, channels, px.data(),
                                       dense.width * channels));
            meant.push_back(points);
        };
        for (std::size_t k = 0; k < fd.ids.size(); ++k) write(k, 0);
        const std::string out = base + "/imported";
        const test::CommandResult r =
            test::run_pfce("sample --data " + fd.root + " --from " + ann + " --out " + out);
        ASSERT_EQ(r.status, 0) << r.output;
        EXPECT_EQ(r.output.find("transparent"), std::string::npos) << r.output;  // nothing to say
        const MaskDir md = open_mask_dir(out);
        const Dataset ds = Dataset::open(fd.root);
        for (std::size_t k = 0; k < fd.ids.size(); ++k)
            EXPECT_EQ(read_mask_png(md, fd.ids[k], ds.palette()).labels, meant[k].labels)
                << fd.ids[k];
        // An opaque pixel of class 0 (black, or value 1) stays class 0.
        meant.clear();
        write(0, 255);
        const test::CommandResult opaque = test::run_pfce("sample --data " + fd.root + " --from " +
                                                          ann + " --out " + out + " --force");
        ASSERT_EQ(opaque.status, 0) << opaque.output;
        EXPECT_EQ(read_mask_png(open_mask_dir(out), fd.ids[0], ds.palette()).labels[5], 0);
        // A soft edge: refused, naming the file and why.
        write(0, 128);
        const test::CommandResult soft = test::run_pfce("sample --data " + fd.root + " --from " +
                                                        ann + " --out " + base + "/soft");
        EXPECT_EQ(soft.status, 2) << soft.output;
        EXPECT_MESSAGE_HAS(soft.output, fd.ids[0] + ".png: 1 pixel is partly transparent");
        EXPECT_FALSE(fs::exists(base + "/soft"));
        // So is a palette entry of alpha 128 (pngquant, indexed exports), which read as
        // unlabelled before: entry 0 (alpha 0) is what nobody drew.
        {
            LabelMap idx(fd.dense[0].width, fd.dense[0].height, 0);
            idx.labels[7] = 2;
            std::vector<Rgb> pal(256, Rgb{0, 0, 0});
            pal[2] = test::foreign_colours()[2];
            std::vector<std::uint8_t> alpha(256, 255);
            alpha[0] = 0;
            alpha[2] = 128;
            write_png_indexed(ann + "/" + fd.ids[0] + ".png", idx, pal, alpha);
            const test::CommandResult entry = test::run_pfce(
                "sample --data " + fd.root + " --from " + ann + " --out " + base + "/soft");
            EXPECT_EQ(entry.status, 2) << entry.output;
            EXPECT_MESSAGE_HAS(entry.output, fd.ids[0] + ".png: 1 pixel is partly transparent");
        }
        // A 16-bit annotation: said as of a mask (8-bit values or colours), not with the
        // advice for 16-bit images (a value range), which a probe was given.
        fs::remove(ann + "/" + fd.ids[0] + ".png");
        write_tiff16(ann + "/" + fd.ids[0] + ".tif", fd.dense[0].width, fd.dense[0].height, 1,
                     std::vector<std::uint16_t>(fd.dense[0].labels.size(), 1));
        const test::CommandResult wide = test::run_pfce("sample --data " + fd.root + " --from " +
                                                        ann + " --out " + base + "/soft");
        EXPECT_EQ(wide.status, 2) << wide.output;
        EXPECT_MESSAGE_HAS(wide.output, fd.ids[0] + ".tif: 16-bit mask samples (expected 8-bit");
        EXPECT_EQ(wide.output.find("value-range"), std::string::npos) << wide.output;
        // As the dataset's own mask, the same file is refused as before.
        fs::copy_file(ann + "/" + fd.ids[1] + ".png", fd.root + "/masks/" + fd.ids[1] + ".png",
                      fs::copy_options::overwrite_existing);
        const std::string own = test::input_error_message([&] { ds.read_mask(1); });
        EXPECT_MESSAGE_HAS(own, "transparent");
    }
}

// A dense mask of unlabelled pixels only (LoveDA's no-data tiles: all ignore colour) has no point
// to keep: sample says which images then train nothing (it wrote an empty mask without a word).
TEST(RealDatasets, SampleSaysWhichDenseMasksLabelNothing) {
    const std::string root = test::temp_dir("real_sample_empty_dense");
    const auto fd = test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    const RgbImage old = read_rgb(fd.root + "/masks/" + fd.ids[1] + ".png");
    RgbImage blank(old.width, old.height);
    for (std::size_t i = 0; i < blank.pixels.size(); ++i)
        blank.pixels[i] = test::kForeignIgnoreColour[i % 3];
    write_png(fd.root + "/masks/" + fd.ids[1] + ".png", blank);
    const test::CommandResult r =
        test::run_pfce("sample --data " + fd.root + " --points 5 --out " + root + "/sparse");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_MESSAGE_HAS(r.output, "1 of the " + std::to_string(fd.ids.size()) +
                                     " dense masks label no pixel (all unlabelled: ignore values "
                                     "or no data; " +
                                     fd.ids[1] + "): their sparse masks label nothing");
}

// A researcher's own point annotations (a walkthrough found no way to train on them: only points
// sampled from dense masks could). pfce sample --from reads one file per sample, encoded as the
// dataset's masks (black as a class's colour, grey as ignore; or index values with 0 as "no
// data"), and writes a mask directory whose labels mean what the files meant: read back pixel for
// pixel, trained on, linked. A sample without a file labels nothing and is said, as is a file
// named for no sample; one of another size is refused, naming both files.
TEST(RealDatasets, OwnAnnotationsAreImportedAsTheyMean) {
    const std::string root = test::temp_dir("real_import");
    for (const bool index : {false, true}) {
        SCOPED_TRACE(index ? "index masks" : "palette masks");
        test::ForeignSpec spec;
        spec.sizes = {{40, 32}, {48, 40}, {40, 32}, {40, 32}, {40, 32}, {40, 32}};
        spec.index_masks = index;
        spec.index_values = index ? std::vector<int>{1, 2, 3, 4} : std::vector<int>{};
        spec.jpeg = index;  // JPEG chips beside index masks (DeepGlobe's images are JPEG)
        const std::string base = root + (index ? "/index" : "/palette");
        const auto fd = test::write_foreign_dataset(base + "/data", spec);
        const std::string ann = base + "/annotations";
        fs::create_directories(ann);
        std::vector<LabelMap> meant;  // what each annotation means: a few points per image
        for (std::size_t k = 0; k + 1 < fd.ids.size(); ++k) {  // the last sample has none
            LabelMap points(fd.dense[k].width, fd.dense[k].height, kUnlabelled);
            for (std::size_t p = 0; p < points.labels.size(); p += 37)
                points.labels[p] = fd.dense[k].labels[p];
            meant.push_back(points);
            if (index) {
                LabelMap raw = points;  // class c as value c + 1, unlabelled as 200 (ignore)
                for (auto& v : raw.labels)
                    v = v == kUnlabelled ? test::kForeignIgnoreIndex
                                         : static_cast<std::uint8_t>(v + 1);
                write_png_gray(ann + "/" + fd.ids[k] + ".png", raw);
            } else {
                Palette p;
                for (std::size_t c = 0; c < test::foreign_colours().size(); ++c)
                    p.classes.push_back(
                        {test::foreign_class_names()[c], test::foreign_colours()[c]});
                RgbImage colour = p.encode(points);  // class 0 is black
                for (std::size_t i = 0; i < points.labels.size(); ++i)
                    if (points.labels[i] == kUnlabelled)
                        for (int c = 0; c < 3; ++c)
                            colour.pixels[3 * i + c] = test::kForeignIgnoreColour[c];
                write_png(ann + "/" + fd.ids[k] + ".png", colour);
            }
        }
        write_png(ann + "/notes_sketch.png", RgbImage(8, 8));  // named for no sample
        const std::string out = base + "/imported";
        const test::CommandResult r =
            test::run_pfce("sample --data " + fd.root + " --from " + ann + " --out " + out);
        ASSERT_EQ(r.status, 0) << r.output;
        EXPECT_MESSAGE_HAS(r.output, "1 of the 6 samples have no annotation in " + ann +
                                         " (tile_5): their masks label nothing");
        EXPECT_MESSAGE_HAS(r.output, "(notes_sketch.png): annotations of other images");
        EXPECT_MESSAGE_HAS(r.output, "imported 5 annotations from " + ann);
        const MaskDir md = open_mask_dir(out);
        const Dataset ds = Dataset::open(fd.root);
        for (std::size_t k = 0; k < meant.size(); ++k)
            EXPECT_EQ(read_mask_png(md, fd.ids[k], ds.palette()).labels, meant[k].labels)
                << fd.ids[k];
        const LabelMap none = read_mask_png(md, fd.ids.back(), ds.palette());
        EXPECT_TRUE(std::all_of(none.labels.begin(), none.labels.end(),
                                [](std::uint8_t v) { return v == kUnlabelled; }));
        // Trained on, and linked, as sampled points are.
        const test::CommandResult train = test::run_pfce(
            "train --data " + fd.root + " --labels " + out + " --out " + base +
            "/run --epochs 1 --batch-size 2 --width 4 --depth 1 --crop-size 32 --device cpu");
        EXPECT_EQ(train.status, 0) << train.output;
        EXPECT_MESSAGE_HAS(train.output, "training labels: sparse");
        const test::CommandResult link =
            test::run_pfce("link --in " + out + " --out " + base + "/linked --radius 6");
        EXPECT_EQ(link.status, 0) << link.output;
        // Again without --force, sampling flags beside --from, a file of another size.
        const std::string again = "sample --data " + fd.root + " --from " + ann + " --out " + out;
        EXPECT_MESSAGE_HAS(test::run_pfce(again).output, "pass --force to replace them");
        EXPECT_MESSAGE_HAS(test::run_pfce(again + " --force --points 5").output,
                           "--points sets how points are sampled");
        fs::copy_file(ann + "/" + fd.ids[0] + ".png", ann + "/" + fd.ids[1] + ".png",
                      fs::copy_options::overwrite_existing);  // 40x32 for a 48x40 image
        const test::CommandResult size = test::run_pfce(again + " --force");
        EXPECT_EQ(size.status, 2) << size.output;
        EXPECT_MESSAGE_HAS(size.output,
                           "annotation " + ann + "/" + fd.ids[1] + ".png is 40x32 but its image");
        EXPECT_EQ(open_mask_dir(out).meta.value("imported", nlohmann::json()).value("files", 0),
                  5);  // the directory as it was
        // The last sample's annotation saved as JPEG: refused, naming it (it was passed over,
        // the sample said only among those without an annotation, and trained on nothing).
        const std::string jpeg = ann + "/" + fd.ids.back() + ".jpg";
        test::write_jpeg_for_test(jpeg, RgbImage(fd.dense.back().width, fd.dense.back().height));
        const test::CommandResult lossy = test::run_pfce(again + " --force");
        EXPECT_EQ(lossy.status, 2) << lossy.output;
        EXPECT_MESSAGE_HAS(lossy.output, jpeg + " is named for sample " + fd.ids.back() + " of " +
                                             fd.root +
                                             " but is not read: annotations are PNG or TIFF "
                                             "(expected " +
                                             fd.ids.back() + ".png or " + fd.ids.back() +
                                             ".tif; lossy compression changes the colours");
        // A copy of the sample's own JPEG image beside the annotations (drawn over it) is no
        // annotation: the import goes on to the next problem, the annotation of another size.
        fs::remove(jpeg);
        if (index) {
            fs::copy_file(fd.root + "/images/" + fd.ids.back() + ".jpg", jpeg);
            const test::CommandResult copy = test::run_pfce(again + " --force");
            EXPECT_FALSE(test::message_has(copy.output, "is not read: annotations are PNG"))
                << copy.output;
            EXPECT_MESSAGE_HAS(copy.output, ".png is 40x32 but its image");
        }
    }
}

// A directory of images and their masks without a dataset.toml (DeepGlobe's train/ as
// downloaded): --match picks the images, so masks are not predicted as images (a walkthrough
// got 100000_mask.png predicted to a file named as ground truth). A pattern that matches nothing,
// or --match with one file, is an error.
TEST(RealDatasets, PredictMatchPicksTheImagesOfADirectory) {
    const std::string root = test::temp_dir("real_predict_match");
    const auto fd = test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    ASSERT_EQ(train_tiny_run(fd.root, root + "/run").status, 0);
    const std::string in = root + "/deepglobe";
    fs::create_directories(in);
    for (const char* id : {"100", "200"}) {
        fs::copy_file(fd.root + "/images/tile_0.png", in + "/" + id + "_sat.png");
        fs::copy_file(fd.root + "/masks/tile_0.png", in + "/" + id + "_mask.png");
    }
    const std::string predict =
        "predict --checkpoint " + root + "/run/last.ckpt --device cpu --input ";
    const test::CommandResult r =
        test::run_pfce(predict + in + " --match '*_sat.png' --out " + root + "/out");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_MESSAGE_HAS(r.output, "--match *_sat.png: 2 of the 4 images of " + in + " left out");
    EXPECT_TRUE(fs::exists(root + "/out/100_sat.png"));
    EXPECT_TRUE(fs::exists(root + "/out/200_sat.png"));
    EXPECT_FALSE(fs::exists(root + "/out/100_mask.png"));
    const test::CommandResult none =
        test::run_pfce(predict + in + " --match '*.jpg' --out " + root + "/none");
    EXPECT_EQ(none.status, 2) << none.output;
    EXPECT_MESSAGE_HAS(none.output, "--match *.jpg: none of the 4 images of " + in);
    EXPECT_FALSE(fs::exists(root + "/none"));
    const test::CommandResult file =
        test::run_pfce(predict + in + "/100_sat.png --match '*' --out " + root + "/one.png");
    EXPECT_EQ(file.status, 2) << file.output;
    EXPECT_MESSAGE_HAS(file.output, "picks images of a directory");
}

// --mask-names: predictions named as a suffixed dataset names its masks (DeepGlobe's 12_sat.jpg
// -> 12_mask.png), so a copy of the dataset with them as masks opens, each read as the mask
// predicted (a walkthrough renamed them by hand). Inputs of no dataset are refused, as is
// --mask-names with an --out that names the mask file.
TEST(RealDatasets, PredictMaskNamesFollowTheDatasetsSuffixes) {
    const std::string root = test::temp_dir("real_predict_mask_names");
    const auto fd = test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    ASSERT_EQ(train_tiny_run(fd.root, root + "/run").status, 0);
    const std::string dg = root + "/dg";
    fs::create_directories(dg + "/images");
    fs::create_directories(dg + "/masks");
    fs::copy_file(fd.root + "/dataset.toml", dg + "/dataset.toml");
    std::ofstream(dg + "/dataset.toml", std::ios::app)
        << "[files]\nimage_suffix = \"_sat\"\nmask_suffix = \"_mask\"\n";
    for (const std::string& id : fd.ids) {
        fs::copy_file(fd.root + "/images/" + id + ".png", dg + "/images/" + id + "_sat.png");
        fs::copy_file(fd.root + "/masks/" + id + ".png", dg + "/masks/" + id + "_mask.png");
    }
    const std::string predict =
        "predict --checkpoint " + root + "/run/last.ckpt --device cpu --mask-names --input ";
    const test::CommandResult r = test::run_pfce(predict + dg + "/images --out " + root + "/pred");
    ASSERT_EQ(r.status, 0) << r.output;
    for (const std::string& id : fd.ids) {
        EXPECT_TRUE(fs::exists(root + "/pred/" + id + "_mask.png")) << id;
        EXPECT_FALSE(fs::exists(root + "/pred/" + id + "_sat.png")) << id;
    }
    // The copy with the predictions as its masks opens and reads each one as it was written.
    const std::string copy = root + "/copy";
    fs::create_directories(copy + "/masks");
    fs::copy(dg + "/images", copy + "/images");
    fs::copy_file(dg + "/dataset.toml", copy + "/dataset.toml");
    for (const std::string& id : fd.ids)
        fs::copy_file(root + "/pred/" + id + "_mask.png", copy + "/masks/" + id + "_mask.png");
    const Dataset back = Dataset::open(copy);
    ASSERT_EQ(back.size(), fd.ids.size());
    for (std::size_t i = 0; i < back.size(); ++i)
        EXPECT_EQ(back.read_mask(i).labels,
                  read_gray(root + "/pred/" + back.sample(i).id + "_mask.png").labels)
            << back.sample(i).id;
    // One image into a directory: named so too; into a file: refused.
    const test::CommandResult one =
        test::run_pfce(predict + dg + "/images/" + fd.ids[0] + "_sat.png --out " + root + "/one/");
    EXPECT_EQ(one.status, 0) << one.output;
    EXPECT_TRUE(fs::exists(root + "/one/" + fd.ids[0] + "_mask.png")) << one.output;
    const test::CommandResult file = test::run_pfce(predict + dg + "/images/" + fd.ids[0] +
                                                    "_sat.png --out " + root + "/one.png");
    EXPECT_EQ(file.status, 2) << file.output;
    EXPECT_MESSAGE_HAS(file.output, "names the mask file itself");
    // A dataset of the same classes that stores them as values 1..4: the predictions (colours)
    // would read as other classes there, so they are not named as its masks.
    const std::string dgi = root + "/dgi";
    fs::create_directories(dgi + "/masks");
    fs::copy(dg + "/images", dgi + "/images");
    std::ofstream(dgi + "/dataset.toml")
        << "[classes]\nnames = [\"background\", \"road\", \"building\", \"tree\"]\n[mask]\n"
           "encoding = \"index\"\nvalues = [1, 2, 3, 4]\n[files]\nimage_suffix = \"_sat\"\n"
           "mask_suffix = \"_mask\"\n";
    const test::CommandResult other =
        test::run_pfce(predict + dgi + "/images --out " + root + "/pred_other");
    EXPECT_EQ(other.status, 2) << other.output;
    EXPECT_MESSAGE_HAS(other.output,
                       "cannot read these predictions as its masks: its masks hold "
                       "the values 1, 2, 3, 4 (mask.values)");
    EXPECT_FALSE(fs::exists(root + "/pred_other"));
    // Images of no dataset: nothing says how masks are named.
    const test::CommandResult loose =
        test::run_pfce(predict + fd.root + "/masks --out " + root + "/loose");
    EXPECT_EQ(loose.status, 2) << loose.output;
    EXPECT_MESSAGE_HAS(loose.output, "lies in no dataset's image directory");
    EXPECT_FALSE(fs::exists(root + "/loose"));
}

// predict --recursive over a tree (LoveDA's Val/Urban and Val/Rural): every image below --input is
// predicted to the same place below --out; the mask directory of a dataset inside (Urban has its
// dataset.toml) is left out and said; a pattern with a '/' picks paths (Rural's masks_png has
// no dataset.toml to say what it is); links to directories are not followed; an --out inside
// --input is refused (a rerun would predict the predictions); without --recursive the
// subdirectories are said and not read.
TEST(RealDatasets, PredictRecursiveMirrorsTheTree) {
    const std::string root = test::temp_dir("real_predict_recursive");
    const auto fd = test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
    ASSERT_EQ(train_tiny_run(fd.root, root + "/run").status, 0);
    const std::string val = root + "/Val";
    fs::create_directories(val);
    fs::copy(fd.root, val + "/Urban", fs::copy_options::recursive);  // images/, masks/, toml
    for (const char* dir : {"/Rural/images_png", "/Rural/masks_png"}) {
        fs::create_directories(val + dir);
        for (const char* id : {"1366", "1367"})
            fs::copy_file(fd.root + "/images/tile_0.png", val + dir + "/" + id + ".png");
    }
    fs::create_directory_symlink(val + "/Rural", val + "/Rural_link");
    const std::string predict =
        "predict --checkpoint " + root + "/run/last.ckpt --device cpu --input " + val;
    const test::CommandResult all =
        test::run_pfce(predict + " --recursive --match '*/images*/*' --out " + root + "/out");
    ASSERT_EQ(all.status, 0) << all.output;
    EXPECT_MESSAGE_HAS(
        all.output, "1 directory of a dataset's masks is not read (e.g. " + val + "/Urban/masks/)");
    EXPECT_MESSAGE_HAS(all.output,
                       "1 link to a directory is not followed (e.g. " + val + "/Rural_link)");
    EXPECT_MESSAGE_HAS(all.output, "--match */images*/*: 2 of the ");  // Rural's masks_png
    // The same pattern without --recursive finds nothing, and says what would (README probe).
    const test::CommandResult shallow =
        test::run_pfce(predict + " --match '*/images*/*' --out " + root + "/shallow");
    EXPECT_EQ(shallow.status, 2) << shallow.output;
    EXPECT_MESSAGE_HAS(shallow.output,
                       "only the images directly in --input are looked at without "
                       "--recursive, which adds those of its subdirectories");
    EXPECT_EQ(all.output.find("named like masks"), std::string::npos) << all.output;
    // Without --match, Rural's masks_png (no dataset.toml says what it is) is read, and said.
    const test::CommandResult named =
        test::run_pfce(predict + " --recursive --out " + root + "/named");
    ASSERT_EQ(named.status, 0) << named.output;
    EXPECT_MESSAGE_HAS(named.output, "1 directory named like masks is read as images (e.g. " + val +
                                         "/Rural/masks_png/)");
    for (const std::string& id : fd.ids) {
        EXPECT_TRUE(fs::exists(root + "/out/Urban/images/" + id + ".png")) << id;
        EXPECT_TRUE(fs::exists(root + "/out/Urban/images/" + id + "_overlay.png")) << id;
    }
    EXPECT_TRUE(fs::exists(root + "/out/Rural/images_png/1366.png"));
    EXPECT_TRUE(fs::exists(root + "/out/Rural/images_png/1367.png"));
    EXPECT_FALSE(fs::exists(root + "/out/Rural/masks_png"));
    EXPECT_FALSE(fs::exists(root + "/out/Urban/masks"));
    EXPECT_FALSE(fs::exists(root + "/out/Rural_link"));
    // An image added to the tree: --skip-existing predicts it alone, leaving the masks there.
    fs::copy_file(fd.root + "/images/tile_1.png", val + "/Rural/images_png/1368.png");
    const auto before = fs::last_write_time(root + "/out/Rural/images_png/1366.png");
    const std::string rerun =
        predict + " --recursive --match '*/images*/*' --out " + root + "/out --skip-existing";
    const test::CommandResult added = test::run_pfce(rerun);
    ASSERT_EQ(added.status, 0) << added.output;
    EXPECT_MESSAGE_HAS(added.output, std::to_string(fd.ids.size() + 2) + " of the " +
                                         std::to_string(fd.ids.size() + 3) +
                                         " images have a mask already and are skipped");
    EXPECT_TRUE(fs::exists(root + "/out/Rural/images_png/1368.png"));
    EXPECT_EQ(fs::last_write_time(root + "/out/Rural/images_png/1366.png"), before);
    const test::CommandResult none = test::run_pfce(rerun);
    ASSERT_EQ(none.status, 0) << none.output;
    EXPECT_MESSAGE_HAS(none.output, "nothing to predict: every input has its mask in");
    // A predict killed while putting an image's files in place (its mask renamed, its overlay
    // still a temporary of a process now gone): --skip-existing skipped it for good, the overlay
    // never made and the temporary never removed (a hostile probe). It is predicted again.
    const std::string dir = root + "/out/Rural/images_png/";
    fs::remove(dir + "1367_overlay.png");
    std::ofstream(dir + ".1367_overlay.png.tmp2147483000_0") << "half";  // no such process
    const auto kept_1366 = fs::last_write_time(dir + "1366.png");
    const test::CommandResult finished = test::run_pfce(rerun);
    ASSERT_EQ(finished.status, 0) << finished.output;
    EXPECT_MESSAGE_HAS(finished.output,
                       "1 image's files were being put in place when a predict "
                       "was stopped: predicted again");
    EXPECT_TRUE(fs::exists(dir + "1367_overlay.png"));
    EXPECT_FALSE(fs::exists(dir + ".1367_overlay.png.tmp2147483000_0"));
    EXPECT_EQ(fs::last_write_time(dir + "1366.png"), kept_1366);
    // ... also where the temporary is of a companion this rerun does not ask for (a confidence
    // map): it removed the temporary and skipped the image for good (probe).
    std::ofstream(dir + ".1367_confidence.png.tmp2147483000_0") << "half";
    fs::last_write_time(dir + "1367.png", kept_1366 - std::chrono::hours(1));
    const test::CommandResult fewer = test::run_pfce(rerun);
    ASSERT_EQ(fewer.status, 0) << fewer.output;
    EXPECT_MESSAGE_HAS(fewer.output,
                       "1 image's files were being put in place when a predict "
                       "was stopped: predicted again");
    EXPECT_NE(fs::last_write_time(dir + "1367.png"), kept_1366 - std::chrono::hours(1));
    EXPECT_FALSE(fs::exists(dir + ".1367_confidence.png.tmp2147483000_0"));
    // A mask whose overlay or confidence map is missing is skipped (it may be another model's),
    // said; a file there that is no whole image (empty, or a PNG cut short by an interrupted
    // copy) was taken for a finished mask (hostile-user probe): refused, naming it, nothing
    // written.
    fs::remove(dir + "1367_overlay.png");
    const test::CommandResult lacking = test::run_pfce(rerun + " --confidence");
    ASSERT_EQ(lacking.status, 0) << lacking.output;
    EXPECT_MESSAGE_HAS(lacking.output,
                       std::to_string(fd.ids.size() + 3) +
                           " of the masks skipped lack their overlay or confidence map, which "
                           "--skip-existing does not make for them");
    EXPECT_FALSE(fs::exists(dir + "1367_overlay.png"));
    const std::string whole = read_whole_file(dir + "1367.png");
    write_png(dir + "1367_overlay.png", test::random_rgb(7, 5, 1));  // an earlier overlay
    write_png(root + "/small.png", test::random_rgb(7, 5, 2));
    const std::string small = read_whole_file(root + "/small.png");
    for (const std::string& cut : {std::string(), whole.substr(0, whole.size() - 20), small}) {
        std::ofstream(dir + "1367.png", std::ios::binary | std::ios::trunc) << cut;
        const test::CommandResult damaged = test::run_pfce(rerun);
        EXPECT_EQ(damaged.status, 2) << damaged.output;
        EXPECT_MESSAGE_HAS(damaged.output,
                           "--skip-existing: 1 file at a mask's place is no whole mask of its "
                           "image (" +
                               dir + "1367.png (");
        EXPECT_MESSAGE_HAS(damaged.output, cut.empty()    ? "(empty)"
                                           : cut == small ? "7x5, but its image "
                                                          : "cut short");
        EXPECT_EQ(read_whole_file(dir + "1367.png"), cut);
    }
    // As said: the mask removed with its overlay, --skip-existing predicts it.
    fs::remove(dir + "1367.png");
    fs::remove(dir + "1367_overlay.png");
    ASSERT_EQ(test::run_pfce(rerun).status, 0);
    EXPECT_EQ(read_whole_file(dir + "1367.png"), whole);
    EXPECT_TRUE(fs::exists(dir + "1367_overlay.png"));
    // Without it, the existing masks are refused (as before), nothing written.
    fs::copy_file(fd.root + "/images/tile_2.png", val + "/Rural/images_png/1369.png");
    const test::CommandResult refused =
        test::run_pfce(predict + " --recursive --match '*/images*/*' --out " + root + "/out");
    EXPECT_EQ(refused.status, 2) << refused.output;
    EXPECT_FALSE(fs::exists(root + "/out/Rural/images_png/1369.png"));
    fs::remove(val + "/Rural/images_png/1368.png");
    fs::remove(val + "/Rural/images_png/1369.png");
    // A mask is the image's prediction, as predicting the image alone writes it.
    const test::CommandResult one =
        test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --device cpu --input " +
                       val + "/Rural/images_png/1366.png --out " + root + "/one.png");
    ASSERT_EQ(one.status, 0) << one.output;
    EXPECT_EQ(read_rgb(root + "/one.png").pixels,
              read_rgb(root + "/out/Rural/images_png/1366.png").pixels);
    const test::CommandResult alone = test::run_pfce(
        "predict --checkpoint " + root + "/run/last.ckpt --device cpu --recursive --input " + val +
        "/Rural/images_png/1366.png --out " + root + "/alone.png");
    ASSERT_EQ(alone.status, 0) << alone.output;
    EXPECT_MESSAGE_HAS(alone.output, "/1366.png is one file, predicted alone");

    const test::CommandResult inside =
        test::run_pfce(predict + " --recursive --out " + val + "/predictions");
    EXPECT_EQ(inside.status, 2) << inside.output;
    EXPECT_MESSAGE_HAS(inside.output, "lies inside --input " + val + ", which --recursive reads");
    EXPECT_FALSE(fs::exists(val + "/predictions"));
    // A directory's predictions written inside the tree without --recursive (allowed: that run
    // does not read below): marked, and a later --recursive run leaves them out, said (a hostile
    // probe's second run predicted the first's masks as images). --input it alone: said.
    const std::string rural = val + "/Rural/images_png";
    ASSERT_EQ(test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --device cpu " +
                             "--no-overlay --input " + rural + " --out " + rural + "/pred")
                  .status,
              0);
    EXPECT_TRUE(fs::exists(rural + "/pred/.pfce-predictions"));
    const test::CommandResult marked = test::run_pfce(
        predict + " --recursive --match '*/images*/*' --out " + root + "/marked --no-overlay");
    ASSERT_EQ(marked.status, 0) << marked.output;
    EXPECT_MESSAGE_HAS(marked.output, "1 directory of pfce's predictions is not read (e.g. " +
                                          rural + "/pred/, marked by its .pfce-predictions)");
    EXPECT_FALSE(fs::exists(root + "/marked/Rural/images_png/pred"));
    EXPECT_TRUE(fs::exists(root + "/marked/Rural/images_png/1366.png"));
    const test::CommandResult again =
        test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --device cpu " +
                       "--no-overlay --input " + rural + "/pred --out " + root + "/again");
    ASSERT_EQ(again.status, 0) << again.output;
    EXPECT_MESSAGE_HAS(again.output, "--input " + rural +
                                         "/pred holds pfce's predictions (its .pfce-predictions): "
                                         "its masks are predicted as if they were images");
    fs::remove_all(rural + "/pred");
    // A pattern of paths matches whole paths: the refusal shows one that would.
    const test::CommandResult partial =
        test::run_pfce(predict + " --recursive --match 'images_png/*' --out " + root + "/part");
    EXPECT_EQ(partial.status, 2) << partial.output;
    EXPECT_MESSAGE_HAS(partial.output,
                       "a pattern with a '/' matches the whole path below --input, its '*' "
                       "within one directory ('**' too), e.g. \"*/images_png/*\" matches "
                       "Rural/images_png/1366.png");
    // Predictions into a subdirectory of a dataset's masks (scanned, and said, ever after).
    const test::CommandResult into_masks =
        test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --device cpu --input " +
                       val + "/Rural/images_png --out " + val + "/Urban/masks/predicted");
    EXPECT_EQ(into_masks.status, 2) << into_masks.output;
    EXPECT_MESSAGE_HAS(into_masks.output, "would lie in the mask directory");
    EXPECT_FALSE(fs::exists(val + "/Urban/masks/predicted"));
    // --input a dataset's masks: predicted as asked, and said.
    const test::CommandResult masks =
        test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --device cpu --input " +
                       val + "/Urban/masks --out " + root + "/masks_predicted");
    EXPECT_EQ(masks.status, 0) << masks.output;
    EXPECT_MESSAGE_HAS(masks.output, ": its masks are predicted as if they were images");
    const test::CommandResult flat = test::run_pfce(predict + " --out " + root + "/flat");
    EXPECT_EQ(flat.status, 2) << flat.output;  // no image directly in Val/
    EXPECT_MESSAGE_HAS(flat.output, "3 subdirectories are not read (e.g. " + val + "/Rural/)");
    EXPECT_MESSAGE_HAS(flat.output, "--recursive reads its subdirectories too");
}
