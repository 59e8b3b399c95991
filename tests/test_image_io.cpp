// Image I/O: byte-exact round trips through our TIFF and PNG writers, layouts written directly with
// libtiff/libpng (planar, tiled, palette, gray), windows, and every refusal naming the file:
// 16-bit, 4 bands, truncated, not an image, missing, over the pixel limit. Also the palette
// decode/encode.
#include <gtest/gtest.h>
#include <png.h>
#include <tiffio.h>

#include <cstdio>
// jpeglib.h needs FILE declared first.
#include <jpeglib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <tuple>

#include "core/error.hpp"
#include "data/dataset.hpp"
#include "data/image_io.hpp"
#include "data/palette.hpp"
#include "tests/raw_tiff.hpp"
#include "tests/test_util.hpp"

using namespace pfce;
namespace fs = std::filesystem;

namespace {

using test::random_gray;
using test::TiffSpec;
using test::write_raw_tiff;

// Expects `fn` to throw InputError whose message contains every string in `parts`.
template <typename Fn>
void expect_input_error(Fn&& fn, const std::vector<std::string>& parts) {
    try {
        fn();
        ADD_FAILURE() << "expected an InputError";
    } catch (const InputError& e) {
        const std::string msg = e.what();
        for (const auto& p : parts)
            EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
    }
}

// PNGs through libpng's simplified API (no setjmp in tests): any format it offers.
void write_simple_png(const std::string& path, int w, int h, png_uint_32 format, const void* data,
                      const void* colormap = nullptr, int colormap_entries = 0) {
    png_image img;
    std::memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = w;
    img.height = h;
    img.format = format;
    img.colormap_entries = colormap_entries;
    ASSERT_TRUE(png_image_write_to_file(&img, path.c_str(), 0, data, 0, colormap)) << img.message;
}

// Expects an image, map or probe result of w x h.
template <typename Img>
void expect_size(const Img& m, int w, int h) {
    EXPECT_EQ(m.width, w);
    EXPECT_EQ(m.height, h);
}

void truncate_file(const std::string& path, double keep) {
    const auto size = fs::file_size(path);
    fs::resize_file(path, static_cast<std::uintmax_t>(size * keep));
}

}  // namespace

TEST(ImageIo, TiffRoundTripIsExact) {
    const std::string dir = test::temp_dir("io_tiff");
    const RgbImage img = test::random_rgb(37, 23, 1);
    write_tiff(dir + "/a.tif", img);
    const RgbImage back = read_rgb(dir + "/a.tif");
    expect_size(back, 37, 23);
    EXPECT_EQ(back.pixels, img.pixels);
    const ImageInfo info = probe_image(dir + "/a.tif");
    expect_size(info, 37, 23);
    EXPECT_EQ(info.channels, 3);
    EXPECT_EQ(info.bits_per_sample, 8);
}

TEST(ImageIo, PngRoundTripIsExact) {
    const std::string dir = test::temp_dir("io_png");
    const RgbImage img = test::random_rgb(41, 17, 2);
    write_png(dir + "/a.png", img);
    EXPECT_EQ(read_rgb(dir + "/a.png").pixels, img.pixels);
    const LabelMap g = random_gray(19, 31, 3);
    write_png_gray(dir + "/g.png", g);
    const LabelMap gb = read_gray(dir + "/g.png");
    expect_size(gb, 19, 31);
    EXPECT_EQ(gb.labels, g.labels);
    // Gray read as RGB is replicated into the three channels.
    const RgbImage as_rgb = read_rgb(dir + "/g.png");
    for (std::size_t i = 0; i < g.labels.size(); ++i)
        for (int c = 0; c < 3; ++c) ASSERT_EQ(as_rgb.pixels[3 * i + c], g.labels[i]);
}

TEST(ImageIo, GrayTiffRoundTripAndRgbRefusedAsIndexMask) {
    const std::string dir = test::temp_dir("io_gray_tiff");
    const LabelMap g = random_gray(33, 9, 4);
    write_tiff_gray(dir + "/g.tif", g);
    EXPECT_EQ(read_gray(dir + "/g.tif").labels, g.labels);
    write_tiff(dir + "/rgb.tif", test::random_rgb(5, 5, 5));
    expect_input_error([&] { read_gray(dir + "/rgb.tif"); }, {dir + "/rgb.tif", "1-band"});
}

// A "min is white" 1-band TIFF is shown inverted (0 is white), but as a mask (index or colour) its
// stored values are the labels, as GDAL and rasterio read them: inverted, a binary mask would swap
// its two classes.
TEST(ImageIo, MinIsWhiteShowsInvertedButAMaskKeepsItsStoredValues) {
    const std::string dir = test::temp_dir("io_min_is_white");
    const std::vector<std::uint8_t> stored = {0, 1, 2, 255, 0, 255};
    TiffSpec s;
    s.width = 3;
    s.height = 2;
    s.spp = 1;
    s.photometric = PHOTOMETRIC_MINISWHITE;
    write_raw_tiff(dir + "/w.tif", s, stored);
    EXPECT_EQ(read_gray(dir + "/w.tif").labels, stored);
    const RgbImage shown = read_rgb(dir + "/w.tif");
    for (std::size_t i = 0; i < stored.size(); ++i)
        EXPECT_EQ(shown.pixels[3 * i], 255 - stored[i]) << i;
    // A colour dataset's gray mask too (foreign-data probe: a 1-bit binary mask swapped its two
    // classes there, while the same mask as a PNG did not).
    const RgbImage mask = read_mask_rgb(dir + "/w.tif");
    for (std::size_t i = 0; i < stored.size(); ++i) EXPECT_EQ(mask.pixels[3 * i], stored[i]) << i;
    s.width = 8;
    s.height = 1;
    s.bps = 1;
    write_raw_tiff(dir + "/w1.tif", s, {0x0f});  // four stored 0s, then four 1s
    const RgbImage one = read_mask_rgb(dir + "/w1.tif");
    for (int x = 0; x < 8; ++x) EXPECT_EQ(one.pixels[3 * x], x < 4 ? 0 : 255) << x;
}

// A file that says viewers show it turned (TIFF Orientation) is refused, naming the tag and what
// a viewer shows, by the probe too (whose size would otherwise be compared as if upright).
TEST(ImageIo, TurnedTiffIsRefusedNamingItsOrientation) {
    const std::string dir = test::temp_dir("io_tiff_orientation");
    const RgbImage img = test::random_rgb(6, 4, 3);
    TiffSpec s;
    s.width = 6;
    s.height = 4;
    s.orientation = ORIENTATION_RIGHTTOP;
    write_raw_tiff(dir + "/r.tif", s, img.pixels);
    for (const auto& read : std::vector<std::function<void()>>{
             [&] { read_rgb(dir + "/r.tif"); }, [&] { probe_image(dir + "/r.tif"); }})
        expect_input_error(read, {dir + "/r.tif", "TIFF Orientation 6",
                                  "rotated 90 degrees clockwise", "-auto-orient"});
    s.orientation = ORIENTATION_TOPLEFT;  // said explicitly: as stored
    write_raw_tiff(dir + "/ok.tif", s, img.pixels);
    EXPECT_EQ(read_rgb(dir + "/ok.tif").pixels, img.pixels);
}

// A TIFF may begin with a thumbnail (a reduced-resolution page): the image is the first
// full-resolution page, not the 2x2 one before it.
TEST(ImageIo, TiffThatBeginsWithAThumbnailReadsItsFullResolutionPage) {
    const std::string dir = test::temp_dir("io_tiff_thumbnail");
    const RgbImage thumb = test::random_rgb(2, 2, 1), full = test::random_rgb(8, 5, 2);
    {
        const std::string path = dir + "/t.tif";
        TIFF* t = TIFFOpen(path.c_str(), "w");
        ASSERT_NE(t, nullptr);
        for (const RgbImage* page : {&thumb, &full}) {
            if (page == &thumb) TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_REDUCEDIMAGE);
            TIFFSetField(t, TIFFTAG_IMAGEWIDTH, page->width);
            TIFFSetField(t, TIFFTAG_IMAGELENGTH, page->height);
            TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3);
            TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
            TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
            TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
            TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, page->height);
            for (int y = 0; y < page->height; ++y)
                ASSERT_GE(
                    TIFFWriteScanline(
                        t, const_cast<std::uint8_t*>(&page->pixels[3 * y * page->width]), y, 0),
                    0);
            ASSERT_TRUE(TIFFWriteDirectory(t));
        }
        TIFFClose(t);
        expect_size(probe_image(path), 8, 5);
        EXPECT_EQ(read_rgb(path).pixels, full.pixels) << path;
    }
}

// An RGB or gray PNG whose tRNS chunk names a transparent colour (GIS exports mark nodata so): as
// an image its pixels of that colour have no meaningful colour and are refused, naming the first;
// as an index mask the stored values are the labels.
TEST(ImageIo, PngTransparentColourIsRefusedInImagesNotInMasks) {
    const std::string dir = test::temp_dir("io_png_trns");
    auto write = [](const std::string& path, int color_type, const std::vector<std::uint8_t>& px,
                    png_color_16 trans) {
        std::FILE* f = std::fopen(path.c_str(), "wb");
        ASSERT_NE(f, nullptr);
        png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
        png_infop info = png_create_info_struct(png);
        png_init_io(png, f);
        png_set_IHDR(png, info, 4, 3, 8, color_type, PNG_INTERLACE_NONE,
                     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        png_set_tRNS(png, info, nullptr, 0, &trans);
        png_write_info(png, info);
        const int channels = color_type == PNG_COLOR_TYPE_RGB ? 3 : 1;
        for (int y = 0; y < 3; ++y)
            png_write_row(
                png, const_cast<std::uint8_t*>(&px[static_cast<std::size_t>(y) * 4 * channels]));
        png_write_end(png, nullptr);
        png_destroy_write_struct(&png, &info);
        std::fclose(f);
    };
    RgbImage rgb = test::random_rgb(4, 3, 9);
    for (std::size_t i = 0; i < rgb.pixels.size(); ++i) rgb.pixels[i] |= 1;  // none is (10,20,30)
    rgb.pixels[3 * (1 * 4 + 2)] = 10;
    rgb.pixels[3 * (1 * 4 + 2) + 1] = 20;
    rgb.pixels[3 * (1 * 4 + 2) + 2] = 30;
    png_color_16 trans{};
    trans.red = 10;
    trans.green = 20;
    trans.blue = 30;
    write(dir + "/rgb.png", PNG_COLOR_TYPE_RGB, rgb.pixels, trans);
    expect_input_error([&] { read_rgb(dir + "/rgb.png"); },
                       {dir + "/rgb.png", "1 pixel is transparent", "x=2, y=1"});
    const std::vector<std::uint8_t> gray = {0, 1, 2, 0, 1, 1, 2, 2, 0, 1, 2, 1};
    png_color_16 zero{};
    write(dir + "/gray.png", PNG_COLOR_TYPE_GRAY, gray, zero);
    EXPECT_EQ(read_gray(dir + "/gray.png").labels, gray);
    expect_input_error([&] { read_rgb(dir + "/gray.png"); }, {"3 pixels are transparent"});
    // A palette PNG's tRNS gives entries an alpha: those below 255 are transparent (before, a
    // palette image's were read as their colour without a word).
    LabelMap idx(4, 3);
    idx.labels = gray;
    std::vector<Rgb> colours(256, Rgb{0, 0, 0});
    colours[1] = Rgb{200, 10, 10};
    colours[2] = Rgb{10, 200, 10};
    std::vector<std::uint8_t> alpha(256, 255);
    alpha[2] = 0;
    write_png_indexed(dir + "/pal.png", idx, colours, alpha);
    EXPECT_EQ(read_gray(dir + "/pal.png").labels, gray);
    expect_input_error([&] { read_rgb(dir + "/pal.png"); },
                       {dir + "/pal.png", "4 pixels are transparent", "x=2, y=0"});
    alpha[2] = 255;
    write_png_indexed(dir + "/opaque.png", idx, colours, alpha);
    EXPECT_EQ(read_rgb(dir + "/opaque.png").at(0, 1)[0], 200);
    EXPECT_TRUE(probe_image(dir + "/opaque.png").palette);  // `data stats` says so
    EXPECT_FALSE(probe_image(dir + "/gray.png").palette);
}

// A PNG's eXIf chunk may say the image is shown turned, as a JPEG's EXIF does: refused naming it
// (before, read as stored without a word); Orientation 1 reads.
TEST(ImageIo, PngExifOrientationIsRefusedNamingIt) {
    const std::string dir = test::temp_dir("io_png_exif");
    auto write = [](const std::string& path, std::uint8_t orientation) {
        // Little-endian TIFF header, IFD0 at 8 with one entry: Orientation (274), SHORT, 1 value.
        std::vector<std::uint8_t> exif = {'I',         'I',  42,   0, 8, 0, 0, 0, 1,
                                          0,           0x12, 0x01, 3, 0, 1, 0, 0, 0,
                                          orientation, 0,    0,    0, 0, 0, 0, 0};
        std::FILE* f = std::fopen(path.c_str(), "wb");
        ASSERT_NE(f, nullptr);
        png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
        png_infop info = png_create_info_struct(png);
        png_init_io(png, f);
        png_set_IHDR(png, info, 4, 2, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        png_set_eXIf_1(png, info, static_cast<png_uint_32>(exif.size()), exif.data());
        png_write_info(png, info);
        std::uint8_t row[4] = {1, 2, 3, 4};
        for (int y = 0; y < 2; ++y) png_write_row(png, row);
        png_write_end(png, nullptr);
        png_destroy_write_struct(&png, &info);
        std::fclose(f);
    };
    write(dir + "/turned.png", 6);
    expect_input_error([&] { read_rgb(dir + "/turned.png"); },
                       {dir + "/turned.png", "PNG eXIf Orientation 6"});
    write(dir + "/upright.png", 1);
    EXPECT_EQ(read_gray(dir + "/upright.png").labels,
              (std::vector<std::uint8_t>{1, 2, 3, 4, 1, 2, 3, 4}));
}

// libjpeg decodes a damaged arithmetic-coded scan without a warning, so such files are refused by
// name rather than read as they may be.
TEST(ImageIo, ArithmeticCodedJpegIsRefusedNamingWhy) {
    const std::string dir = test::temp_dir("io_jpeg_arith");
    const RgbImage img = test::random_rgb(16, 8, 4);
    const std::string path = dir + "/a.jpg";
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    jpeg_compress_struct c{};
    jpeg_error_mgr err{};
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = 16;
    c.image_height = 8;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    c.arith_code = TRUE;
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = const_cast<JSAMPLE*>(&img.pixels[3 * 16 * c.next_scanline]);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    std::fclose(f);
    for (const auto& read :
         std::vector<std::function<void()>>{[&] { read_rgb(path); }, [&] { probe_image(path); }})
        expect_input_error(read, {path, "arithmetic-coded JPEG", "re-encode"});
}

// The samples of `values`, each stored as a T, in bytes as write_raw_tiff takes them.
template <typename T>
std::vector<std::uint8_t> stored_as(const std::vector<double>& values) {
    std::vector<std::uint8_t> bytes(values.size() * sizeof(T));
    for (std::size_t i = 0; i < values.size(); ++i) {
        const T v = static_cast<T>(values[i]);
        std::memcpy(&bytes[i * sizeof(T)], &v, sizeof(T));
    }
    return bytes;
}

// Signed and floating-point samples (reflectance as float32 0..1, backscatter in dB, a DEM as
// int16) and unsigned 32-bit ones are read through data.value_range as 16-bit ones are: lo as 0,
// hi as 255, linearly, clipped, each type by its own sign and width. NaN in a band the model sees
// is a pixel without data (predict leaves it out, training leaves it unlabelled), and so is a pixel
// whose every band holds the GDAL NoData value, as the type holds it. Without a range such a file
// is refused by name, header and read alike; types GDAL has but pfce does not read (complex
// numbers, 16-bit floats) are refused by name.
TEST(ImageIo, SignedAndFloatingPointSamplesReadThroughTheValueRange) {
    const std::string dir = test::temp_dir("io_tiff_sample_format");
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const std::vector<double> values = {0, 0.3, 0.15, -0.1, nan, 1.0, 0.075, 0.3};
    TiffSpec gray{.width = 4, .height = 2, .spp = 1, .bps = 32};
    gray.photometric = PHOTOMETRIC_MINISBLACK;
    gray.sample_format = SAMPLEFORMAT_IEEEFP;
    const std::string f32 = dir + "/reflectance.tif";
    write_raw_tiff(f32, gray, stored_as<float>(values));
    const ImageInfo info = probe_image(f32);
    EXPECT_EQ(info.sample_format, SAMPLEFORMAT_IEEEFP);
    EXPECT_EQ(info.bits_per_sample, 32);
    EXPECT_TRUE(info.needs_value_range());
    for (const auto& refused : {std::function<void()>([&] { read_rgb(f32); }),
                                std::function<void()>([&] { check_image_layout(f32, info); })})
        expect_input_error(refused, {f32, "32-bit floating-point samples, and nothing says",
                                     "--value-range 0,0.3"});
    ImageChoice reflectance{.range_lo = 0, .range_hi = 0.3};
    check_image_layout(f32, info, reflectance);
    std::vector<std::uint8_t> nodata;
    const RgbImage img = read_rgb_with_nodata(f32, nodata, 0, reflectance);
    const std::vector<int> want = {0, 255, 128, 0, -1, 255, 64, 255};  // -1: no data
    ASSERT_EQ(nodata.size(), values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
        EXPECT_EQ(nodata[i], want[i] < 0 ? 1 : 0) << i;
        if (want[i] >= 0) {
            EXPECT_EQ(img.pixels[3 * i], want[i]) << i;
        }
    }
    // Every other type, each read as its own: -1 in a signed one is below 0, not 65535; a range
    // of negative values (dB) reads as any other.
    struct Case {
        int format, bits;
        std::vector<std::uint8_t> bytes;
        double lo, hi;  // data.value_range
        std::vector<int> want;
    };
    const std::vector<double> db = {-25, 0, -12.5, -30, 5, -20, -1, -24};  // -12 as an integer
    const std::vector<double> counts = {1000, 11000, 0, -1, 6000, 1000, 3500, 8500};
    const std::vector<Case> cases = {
        {SAMPLEFORMAT_IEEEFP,
         64,
         stored_as<double>(db),
         -25,
         0,
         {0, 255, 128, 0, 255, 51, 245, 10}},
        {SAMPLEFORMAT_INT,
         16,
         stored_as<std::int16_t>(counts),
         1000,
         11000,
         {0, 255, 0, 0, 128, 0, 64, 191}},
        {SAMPLEFORMAT_INT,
         32,
         stored_as<std::int32_t>(db),
         -25,
         0,
         {0, 255, 133, 0, 255, 51, 245, 10}},
        {SAMPLEFORMAT_INT,
         8,
         stored_as<std::int8_t>(db),
         -25,
         0,
         {0, 255, 133, 0, 255, 51, 245, 10}},
        {SAMPLEFORMAT_UINT,
         32,
         stored_as<std::uint32_t>({1000, 11000, 0, 4e9, 6000, 1000, 3500, 8500}),
         1000,
         11000,
         {0, 255, 0, 255, 128, 0, 64, 191}}};
    for (const Case& c : cases) {
        const std::string path =
            dir + "/t" + std::to_string(c.format) + "_" + std::to_string(c.bits) + ".tif";
        SCOPED_TRACE(path);
        TiffSpec s = gray;
        s.bps = c.bits;
        s.sample_format = c.format;
        write_raw_tiff(path, s, c.bytes);
        expect_input_error([&] { read_rgb(path); }, {path, "samples, and nothing says"});
        const RgbImage r = read_rgb(path, 0, {.range_lo = c.lo, .range_hi = c.hi});
        for (std::size_t i = 0; i < c.want.size(); ++i) EXPECT_EQ(r.pixels[3 * i], c.want[i]) << i;
    }

    // RGB + infrared as float, strips and planar tiles alike: NaN in a band the model sees is no
    // data, NaN in one it does not see is not; the NoData value counts where every band holds it.
    const int w = 5, h = 3, bands = 4;
    std::vector<double> rgbi(static_cast<std::size_t>(w) * h * bands);
    for (std::size_t i = 0; i < rgbi.size(); ++i) rgbi[i] = 0.01 * static_cast<double>(i % 30);
    for (int b = 0; b < bands; ++b)
        rgbi[static_cast<std::size_t>(1 * bands + b)] = -9999;  // pixel 1
    rgbi[static_cast<std::size_t>(2 * bands + 0)] = -9999;      // pixel 2: one band only
    rgbi[static_cast<std::size_t>(3 * bands + 3)] = nan;        // pixel 3: infrared, not seen
    rgbi[static_cast<std::size_t>(4 * bands + 1)] = nan;        // pixel 4: green, seen
    TiffSpec s{.width = w, .height = h, .spp = bands, .bps = 32};
    s.extra = EXTRASAMPLE_UNSPECIFIED;
    s.sample_format = SAMPLEFORMAT_IEEEFP;
    write_raw_tiff(dir + "/rgbi_strips.tif", s, stored_as<float>(rgbi), nullptr, "-9999");
    s.planar = PLANARCONFIG_SEPARATE;
    s.tile = 16;
    write_raw_tiff(dir + "/rgbi_tiles.tif", s, stored_as<float>(rgbi), nullptr, "-9999");
    ImageChoice rgb{.bands = {1, 2, 3}, .range_lo = 0, .range_hi = 0.29};
    for (const char* f : {"rgbi_strips", "rgbi_tiles"}) {
        SCOPED_TRACE(f);
        const std::string path = dir + "/" + f + ".tif";
        EXPECT_TRUE(probe_image(path).no_data_value);
        std::vector<std::uint8_t> nd;
        const RgbImage r = read_rgb_with_nodata(path, nd, 0, rgb);
        ASSERT_EQ(nd.size(), static_cast<std::size_t>(w * h));
        for (int p = 0; p < w * h; ++p) EXPECT_EQ(nd[p], p == 1 || p == 4 ? 1 : 0) << p;
        EXPECT_EQ(r.at(0, 2)[0], 0);  // -9999 in one band: clipped, a value
        for (int p : {0, 3, 5, 14})
            for (int k = 0; k < 3; ++k) {
                const double v = static_cast<float>(rgbi[static_cast<std::size_t>(p * bands + k)]);
                EXPECT_EQ(r.pixels[3 * p + k],
                          std::lround(std::clamp(v * 255.0 / 0.29, 0.0, 255.0)))
                    << p << "," << k;
            }
    }

    // Types pfce does not read, by name: a 16-bit float, complex numbers.
    TiffSpec half = gray;
    half.bps = 16;
    write_raw_tiff(dir + "/half.tif", half, stored_as<std::uint16_t>({0, 0, 0, 0, 0, 0, 0, 0}));
    {
        TIFF* t = TIFFOpen((dir + "/half.tif").c_str(), "r+");
        ASSERT_NE(t, nullptr);
        TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_IEEEFP);
        TIFFRewriteDirectory(t);
        TIFFClose(t);
    }
    expect_input_error([&] { read_rgb(dir + "/half.tif", 0, reflectance); },
                       {"half.tif", "16-bit floating-point samples are not supported"});
    TiffSpec complex = gray;
    complex.bps = 64;
    complex.sample_format = SAMPLEFORMAT_COMPLEXIEEEFP;
    write_raw_tiff(dir + "/complex.tif", complex, stored_as<double>(values));
    expect_input_error([&] { read_rgb(dir + "/complex.tif", 0, reflectance); },
                       {"complex.tif", "(complex numbers) is not supported"});
    // Never a mask: labels are 8-bit unsigned.
    expect_input_error([&] { refuse_wide_mask_samples(f32, info); },
                       {f32, "32-bit floating-point mask samples"});
}

// 1-band TIFFs of 1, 2 or 4 bits (binary building masks; ImageMagick's -type Palette writes the
// six ISPRS colours as a 4-bit palette): widened to a byte per pixel, as the PNG reader does: a
// mask keeps the stored values, an image scales gray to 0..255 and a palette gives its colours.
// Rows of 13 pixels do not end on a byte; strips of 2 rows and 16x16 tiles both read.
TEST(ImageIo, SubByteTiffMasksReadTheirStoredValues) {
    const std::string dir = test::temp_dir("io_tiff_sub_byte");
    const int w = 13, h = 5;
    for (const int bits : {1, 2, 4})
        for (const bool palette : {false, true})
            for (const bool tiled : {false, true}) {
                const std::string path = dir + "/m" + std::to_string(bits) + (palette ? "p" : "g") +
                                         (tiled ? "t" : "s") + ".tif";
                std::vector<std::uint8_t> values(static_cast<std::size_t>(w) * h);
                for (std::size_t i = 0; i < values.size(); ++i)
                    values[i] = static_cast<std::uint8_t>((i * 7 + i / w) % (1u << bits));
                const int per_byte = 8 / bits;
                auto packed_row = [&](int y, int width) {
                    std::vector<std::uint8_t> row(
                        static_cast<std::size_t>((width + per_byte - 1) / per_byte));
                    for (int x = 0; x < std::min(width, w); ++x)
                        row[x / per_byte] |=
                            static_cast<std::uint8_t>(values[static_cast<std::size_t>(y) * w + x]
                                                      << (8 - bits * (x % per_byte + 1)));
                    return row;
                };
                std::vector<std::uint16_t> cmap(3 * (1u << bits));
                for (std::size_t i = 0; i < cmap.size(); ++i)
                    cmap[i] = static_cast<std::uint16_t>((i * 40503u) & 0xff00u);
                TIFF* t = TIFFOpen(path.c_str(), "w");
                ASSERT_NE(t, nullptr);
                TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
                TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
                TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
                TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, bits);
                TIFFSetField(t, TIFFTAG_PHOTOMETRIC,
                             palette ? PHOTOMETRIC_PALETTE : PHOTOMETRIC_MINISBLACK);
                const std::size_t n = 1u << bits;
                if (palette)
                    TIFFSetField(t, TIFFTAG_COLORMAP, cmap.data(), cmap.data() + n,
                                 cmap.data() + 2 * n);
                if (tiled) {
                    TIFFSetField(t, TIFFTAG_TILEWIDTH, 16);
                    TIFFSetField(t, TIFFTAG_TILELENGTH, 16);
                    std::vector<std::uint8_t> tile;
                    for (int y = 0; y < 16; ++y) {
                        const std::vector<std::uint8_t> row =
                            y < h ? packed_row(y, 16) : std::vector<std::uint8_t>(16 / per_byte);
                        tile.insert(tile.end(), row.begin(), row.end());
                    }
                    ASSERT_GE(TIFFWriteTile(t, tile.data(), 0, 0, 0, 0), 0);
                } else {
                    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 2);
                    for (int y = 0; y < h; ++y) {
                        std::vector<std::uint8_t> row = packed_row(y, w);
                        ASSERT_GE(TIFFWriteScanline(t, row.data(), y, 0), 0);
                    }
                }
                TIFFClose(t);

                SCOPED_TRACE(path);
                EXPECT_EQ(read_gray(path).labels, values);
                const RgbImage rgb = read_rgb(path);
                for (std::size_t i = 0; i < values.size(); ++i) {
                    const int want =
                        palette ? cmap[values[i]] >> 8 : values[i] * 255 / ((1 << bits) - 1);
                    ASSERT_EQ(rgb.pixels[3 * i], want) << i;
                }
            }
}

TEST(ImageIo, PlanarTiledAndStripLayoutsDecodeAlike) {
    const std::string dir = test::temp_dir("io_layouts");
    const RgbImage img = test::random_rgb(37, 29, 6);
    TiffSpec s{.width = 37, .height = 29};
    write_raw_tiff(dir + "/contig.tif", s, img.pixels);
    s.planar = PLANARCONFIG_SEPARATE;
    write_raw_tiff(dir + "/planar.tif", s, img.pixels);
    s.tile = 16;
    write_raw_tiff(dir + "/planar_tiled.tif", s, img.pixels);
    s.planar = PLANARCONFIG_CONTIG;
    write_raw_tiff(dir + "/tiled.tif", s, img.pixels);
    for (const char* f : {"contig", "planar", "planar_tiled", "tiled"}) {
        SCOPED_TRACE(f);
        const std::string path = dir + "/" + f + ".tif";
        EXPECT_EQ(read_rgb(path).pixels, img.pixels);
        // A window crossing strip/tile borders equals the same crop of the whole image.
        const RgbImage w = read_rgb_window(path, 5, 7, 20, 17);
        ASSERT_EQ(w.width, 20);
        ASSERT_EQ(w.height, 17);
        for (int y = 0; y < 17; ++y)
            for (int x = 0; x < 20; ++x)
                for (int c = 0; c < 3; ++c)
                    ASSERT_EQ(w.at(y, x)[c], img.at(y + 7, x + 5)[c]) << x << "," << y;
    }
    expect_input_error([&] { read_rgb_window(dir + "/tiled.tif", 30, 0, 10, 5); },
                       {"tiled.tif", "inside"});
}

TEST(ImageIo, PaletteFilesExpandToRgbAndKeepIndicesAsGray) {
    const std::string dir = test::temp_dir("io_palette");
    const int w = 13, h = 11;
    std::vector<std::uint8_t> idx(w * h);
    for (int i = 0; i < w * h; ++i) idx[i] = static_cast<std::uint8_t>(i % 4);
    const std::uint8_t colours[4][3] = {{255, 255, 255}, {0, 0, 255}, {0, 255, 255}, {255, 0, 0}};
    // TIFF colour maps are 16-bit.
    std::vector<std::uint16_t> cmap(768, 0);
    for (int k = 0; k < 4; ++k)
        for (int c = 0; c < 3; ++c)
            cmap[c * 256 + k] = static_cast<std::uint16_t>(colours[k][c] * 257);
    const TiffSpec s{.width = w, .height = h, .spp = 1, .photometric = PHOTOMETRIC_PALETTE};
    write_raw_tiff(dir + "/p.tif", s, idx, &cmap);
    write_simple_png(dir + "/p.png", w, h, PNG_FORMAT_RGB_COLORMAP, idx.data(), colours, 4);
    for (const char* f : {"/p.tif", "/p.png"}) {
        SCOPED_TRACE(f);
        const RgbImage rgb = read_rgb(dir + f);
        for (int i = 0; i < w * h; ++i)
            for (int c = 0; c < 3; ++c) ASSERT_EQ(rgb.pixels[3 * i + c], colours[idx[i]][c]);
    }
    EXPECT_EQ(read_gray(dir + "/p.tif").labels, idx);
}

// A palette PNG with an index past its palette (no colour: the PNG specification calls it an
// error) is refused naming the pixel when read as colours, not decoded as black, which may be a
// class.
TEST(ImageIo, PaletteIndexPastThePaletteIsRefused) {
    const std::string dir = test::temp_dir("io_palette_short");
    const int w = 5, h = 4;
    std::vector<std::uint8_t> idx(w * h, 1);
    idx[2 * w + 3] = 3;  // pixel (3, 2)
    const std::uint8_t colours[3][3] = {{0, 0, 0}, {255, 0, 0}, {255, 255, 255}};
    write_simple_png(dir + "/p.png", w, h, PNG_FORMAT_RGB_COLORMAP, idx.data(), colours, 3);
    expect_input_error([&] { read_rgb(dir + "/p.png"); },
                       {dir + "/p.png", "pixel (x=3, y=2)", "palette index 3", "only 3 colours"});
    // Read as index values (an index mask), the index is just a value.
    EXPECT_EQ(read_gray(dir + "/p.png").labels[2 * w + 3], 3);
    idx[2 * w + 3] = 2;  // in range: read as ever
    write_simple_png(dir + "/q.png", w, h, PNG_FORMAT_RGB_COLORMAP, idx.data(), colours, 3);
    EXPECT_EQ(read_rgb(dir + "/q.png").pixels[3 * (2 * w + 3)], 255);
}

// A sparse TIFF (GDAL's SPARSE_OK: blocks never written, byte count 0) is refused naming the
// block, not called "truncated or corrupt"; its written blocks alone read fine.
TEST(ImageIo, SparseTiffIsRefusedNamingTheUnwrittenTile) {
    const std::string path = test::temp_dir("io_sparse_tiff") + "/s.tif";
    TIFF* t = TIFFOpen(path.c_str(), "w");
    ASSERT_NE(t, nullptr);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 32);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, 16);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
    TIFFSetField(t, TIFFTAG_TILEWIDTH, 16);
    TIFFSetField(t, TIFFTAG_TILELENGTH, 16);
    std::vector<std::uint8_t> tile(16 * 16 * 3, 77);
    ASSERT_GE(TIFFWriteTile(t, tile.data(), 0, 0, 0, 0), 0);  // the tile at x=16 never written
    TIFFClose(t);
    EXPECT_EQ(read_rgb_window(path, 0, 0, 16, 16).pixels, tile);
    expect_input_error([&] { read_rgb(path); }, {path, "sparse TIFF", "tile at (x=16, y=0)"});
}

// A GeoTIFF's GDAL NoData value (tag 42113, as gdal_translate -a_nodata writes it): predict's
// reader marks the pixels whose every band holds it, 8- or 16-bit (compared before scaling), so an
// orthophoto's outside of the survey gets no class. read_rgb (training, eval) reads them as
// stored: 0 is also a black that masks may label. A value no sample can hold marks nothing.
TEST(ImageIo, TiffNoDataValuePixelsAreNoDataForPredictOnly) {
    const std::string dir = test::temp_dir("io_tiff_nodata_value");
    const int w = 4, h = 2;
    auto write = [&](const std::string& path, int bits, const char* nodata,
                     const std::vector<std::uint16_t>& samples) {
        TiffSpec s;
        s.width = w;
        s.height = h;
        s.bps = bits;
        s.rows_per_strip = h;
        std::vector<std::uint8_t> bytes(samples.size() * static_cast<std::size_t>(bits / 8));
        for (std::size_t i = 0; i < samples.size(); ++i)
            if (bits == 16)
                std::memcpy(&bytes[2 * i], &samples[i], 2);
            else
                bytes[i] = static_cast<std::uint8_t>(samples[i]);
        write_raw_tiff(path, s, bytes, nullptr, nodata);
    };
    // Pixel 0 is 0 in every band (no data), pixel 1 in two of three (a dark colour), the rest lit.
    std::vector<std::uint16_t> samples = {0, 0, 0, 0, 0, 7};
    for (int i = 2; i < w * h; ++i) samples.insert(samples.end(), {90, 80, 70});
    write(dir + "/a.tif", 8, "0", samples);
    std::vector<std::uint8_t> nodata;
    const RgbImage img = read_rgb_with_nodata(dir + "/a.tif", nodata);
    std::vector<std::uint8_t> expected(w * h, 0);
    expected[0] = 1;
    EXPECT_EQ(nodata, expected);
    EXPECT_EQ(read_rgb(dir + "/a.tif").pixels, img.pixels);  // training reads them as stored
    // 16-bit, compared as stored (before data.value_range scales them).
    for (auto& v : samples) v = static_cast<std::uint16_t>(v == 0 ? 0 : v * 100);
    samples[0] = samples[1] = samples[2] = 9999;
    write(dir + "/b.tif", 16, "9999", samples);
    ImageChoice range;
    range.range_lo = 0;
    range.range_hi = 10000;
    read_rgb_with_nodata(dir + "/b.tif", nodata, 0, range);
    EXPECT_EQ(nodata, expected);
    write(dir + "/c.tif", 8, "-9999", samples);  // what a float product writes: no 8-bit sample
    read_rgb_with_nodata(dir + "/c.tif", nodata);
    EXPECT_TRUE(nodata.empty());
}

// A malformed NoData tag is read as GDAL reads it (its leading number: "9999abc" is 9999), so the
// pixels GDAL and QGIS show as no data are no data here too (it marked none), and said once.
TEST(ImageIo, AMalformedTiffNoDataValueIsReadAsGdalReadsIt) {
    const std::string dir = test::temp_dir("io_tiff_nodata_malformed");
    const int w = 2, h = 1;
    const std::vector<std::uint8_t> samples = {7, 7, 7, 90, 80, 70};
    TiffSpec s;
    s.width = w;
    s.height = h;
    s.rows_per_strip = h;
    write_raw_tiff(dir + "/a.tif", s, samples, nullptr, "7abc");
    testing::internal::CaptureStderr();
    std::vector<std::uint8_t> nodata;
    read_rgb_with_nodata(dir + "/a.tif", nodata);
    read_rgb_with_nodata(dir + "/a.tif", nodata);  // said once: not again
    const std::string logged = testing::internal::GetCapturedStderr();
    EXPECT_EQ(nodata, (std::vector<std::uint8_t>{1, 0}));
    EXPECT_MESSAGE_HAS(logged, dir +
                                   "/a.tif: its GDAL NoData tag is \"7abc\", not a number: "
                                   "read as 7, as GDAL reads it");
    EXPECT_EQ(logged.find("NoData tag", logged.find("NoData tag") + 1), std::string::npos)
        << logged;
    // An empty tag is none to GDAL (it read as 0, and every black pixel lost its class); a decimal
    // comma is a point to GDAL ("7,5" matched 7).
    write_raw_tiff(dir + "/empty.tif", s, samples, nullptr, "");
    read_rgb_with_nodata(dir + "/empty.tif", nodata);
    EXPECT_TRUE(nodata.empty());
    write_raw_tiff(dir + "/comma.tif", s, samples, nullptr, "7,5");
    read_rgb_with_nodata(dir + "/comma.tif", nodata);
    EXPECT_TRUE(nodata.empty());
}

// A data.value_range that does not fit the 16-bit samples is said, once per process, naming the
// file, the samples' extent and a range that fits (foreign-data probe: 0,65535 on 12-bit data read
// every image as 0..16, and 0,1000 clipped three quarters of the samples, without a word).
// The value-range warning is said once per process: set when a test of this binary has said it, so
// a later one in the same process (the binary run whole, not test by test as ctest does) skips
// saying why instead of failing.
static bool value_range_warning_said = false;

TEST(ImageIo, AValueRangeThatDoesNotFitThe16BitSamplesIsSaid) {
    const std::string dir = test::temp_dir("io_16_bit_range_fit");
    const int w = 8, h = 8;
    std::vector<std::uint16_t> wide;
    for (int i = 0; i < w * h * 3; ++i) wide.push_back(static_cast<std::uint16_t>(100 + 20 * i));
    std::vector<std::uint8_t> bytes(wide.size() * 2);
    std::memcpy(bytes.data(), wide.data(), bytes.size());
    write_raw_tiff(dir + "/a.tif", {.width = w, .height = h, .bps = 16}, bytes);
    const std::string most = std::to_string(100 + 20 * (w * h * 3 - 1));
    testing::internal::CaptureStderr();
    read_rgb(dir + "/a.tif", 0, {.range_lo = 0, .range_hi = 5000});  // fits: nothing said
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
    testing::internal::CaptureStderr();
    read_rgb(dir + "/a.tif", 0, {.range_lo = 0, .range_hi = 65535});
    read_rgb(dir + "/a.tif", 0, {.range_lo = 0, .range_hi = 1000});  // said once: not again
    const std::string logged = testing::internal::GetCapturedStderr();
    value_range_warning_said = true;
    EXPECT_MESSAGE_HAS(logged, dir + "/a.tif: its samples reach only " + most +
                                   ", which data.value_range 0,65535 reads as");
    EXPECT_MESSAGE_HAS(logged, "--value-range 100," + most);
    EXPECT_EQ(logged.find("outside"), std::string::npos) << logged;
}

// Only the bands the model sees count: a band left out by data.bands (a QA or elevation band far
// above the range) is no misfit of the range. A separate process from the test above (ctest runs
// each test alone), since the warning is said once per process.
TEST(ImageIo, AValueRangeIsJudgedOnThePickedBandsOnly) {
    if (value_range_warning_said)
        GTEST_SKIP() << "the value-range warning, said once per process, was said by a test "
                        "before this one in this process (ctest runs each test alone)";
    const std::string dir = test::temp_dir("io_16_bit_range_picked");
    const int w = 8, h = 8;
    std::vector<std::uint16_t> wide;
    for (int i = 0; i < w * h; ++i)
        wide.insert(wide.end(), {std::uint16_t(100 + 40 * i), std::uint16_t(200 + 30 * i),
                                 std::uint16_t(300 + 20 * i), 60000});
    std::vector<std::uint8_t> bytes(wide.size() * 2);
    std::memcpy(bytes.data(), wide.data(), bytes.size());
    write_raw_tiff(dir + "/a.tif",
                   {.width = w, .height = h, .spp = 4, .bps = 16, .extra = EXTRASAMPLE_UNSPECIFIED},
                   bytes);
    testing::internal::CaptureStderr();
    read_rgb(dir + "/a.tif", 0, {.bands = {1, 2, 3}, .range_lo = 0, .range_hi = 3000});
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
    testing::internal::CaptureStderr();
    read_rgb(dir + "/a.tif", 0, {.bands = {4, 1, 2}, .range_lo = 0, .range_hi = 3000});
    EXPECT_MESSAGE_HAS(testing::internal::GetCapturedStderr(), "lie outside data.value_range");
}

// A fill value without a NoData tag (-9999 where float reflectance has no scene) lies outside any
// range that fits the data: said as a fill, with the tag as the way out and the range of the
// other samples, never a range stretched over the fill (which read every sample with data as 255).
// A separate process from the tests above (ctest runs each test alone): said once per process.
TEST(ImageIo, AFillValueOutsideTheRangeIsSaidAsAFillToTag) {
    if (value_range_warning_said)
        GTEST_SKIP() << "the value-range warning, said once per process, was said by a test "
                        "before this one in this process (ctest runs each test alone)";
    const std::string dir = test::temp_dir("io_float_fill");
    const int w = 8, h = 8;
    std::vector<float> v;
    for (int i = 0; i < w * h; ++i) v.push_back(i < 24 ? -9999.0f : 0.02f + 0.004f * i);
    std::vector<std::uint8_t> bytes(v.size() * 4);
    std::memcpy(bytes.data(), v.data(), bytes.size());
    TiffSpec s{.width = w, .height = h, .spp = 1, .bps = 32};
    s.photometric = PHOTOMETRIC_MINISBLACK;
    s.sample_format = SAMPLEFORMAT_IEEEFP;
    write_raw_tiff(dir + "/fill.tif", s, bytes);
    testing::internal::CaptureStderr();
    read_rgb(dir + "/fill.tif", 0, {.range_lo = 0, .range_hi = 0.4});
    const std::string logged = testing::internal::GetCapturedStderr();
    EXPECT_MESSAGE_HAS(logged, "37.5% of its samples lie outside data.value_range 0,0.4");
    EXPECT_MESSAGE_HAS(logged, "nearly all of them -9999: a fill");
    EXPECT_MESSAGE_HAS(logged, "gdal_edit.py -a_nodata -9999 FILE");
    EXPECT_MESSAGE_HAS(logged, "--value-range 0.116,0.272");
}

// Its twin for a range that starts far below samples that are never negative (the fill's range,
// -9999..0.4, given by hand): every sample reads near white, said.
TEST(ImageIo, ARangeFarBelowTheSamplesIsSaidAsNearlyWhite) {
    if (value_range_warning_said)
        GTEST_SKIP() << "the value-range warning, said once per process, was said by a test "
                        "before this one in this process (ctest runs each test alone)";
    const std::string dir = test::temp_dir("io_float_white");
    const int w = 8, h = 8;
    std::vector<float> v;
    for (int i = 0; i < w * h; ++i) v.push_back(0.02f + 0.004f * i);
    std::vector<std::uint8_t> bytes(v.size() * 4);
    std::memcpy(bytes.data(), v.data(), bytes.size());
    TiffSpec s{.width = w, .height = h, .spp = 1, .bps = 32};
    s.photometric = PHOTOMETRIC_MINISBLACK;
    s.sample_format = SAMPLEFORMAT_IEEEFP;
    write_raw_tiff(dir + "/white.tif", s, bytes);
    testing::internal::CaptureStderr();
    read_rgb(dir + "/white.tif", 0, {.range_lo = 0, .range_hi = 0.4});  // fits: nothing said
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
    testing::internal::CaptureStderr();
    read_rgb(dir + "/white.tif", 0, {.range_lo = -9999, .range_hi = 0.4});
    EXPECT_MESSAGE_HAS(testing::internal::GetCapturedStderr(),
                       "its samples start at 0.02, which data.value_range -9999,0.4 reads as 255 "
                       "of 255: the images are nearly white");
}

// Header checks refuse what decoding would, before anything is written: an alpha band in
// floating-point samples (gdalwarp -dstalpha of float data), signed samples packed in 12 bits
// (unpacked as unsigned, their sign would be lost), complex samples by name.
TEST(ImageIo, WideSampleLayoutsAreRefusedFromTheHeaderAsByTheDecoder) {
    const std::string dir = test::temp_dir("io_wide_headers");
    const ImageChoice range{.range_lo = 0, .range_hi = 1};
    TiffSpec rgba{.width = 4, .height = 2, .spp = 4, .bps = 32};
    rgba.sample_format = SAMPLEFORMAT_IEEEFP;
    write_raw_tiff(dir + "/rgba.tif", rgba, std::vector<std::uint8_t>(4 * 2 * 4 * 4, 0));
    const ImageChoice rgb_range{.bands = {1, 2, 3}, .range_lo = 0, .range_hi = 1};
    for (const ImageChoice& c : {range, rgb_range})
        for (const auto& refused :
             {std::function<void()>([&] {
                  check_image_layout(dir + "/rgba.tif", probe_image(dir + "/rgba.tif"), c);
              }),
              std::function<void()>([&] { read_rgb(dir + "/rgba.tif", 0, c); })})
            expect_input_error(
                refused,
                {"rgba.tif", "an alpha band in 32-bit floating-point samples", "-dstnodata nan"});
    TiffSpec packed{.width = 4, .height = 2, .spp = 1, .bps = 12};
    packed.photometric = PHOTOMETRIC_MINISBLACK;
    packed.sample_format = SAMPLEFORMAT_INT;
    write_raw_tiff(dir + "/packed.tif", packed, std::vector<std::uint8_t>(4 * 2 * 2, 0xff));
    for (const auto& refused :
         {std::function<void()>([&] {
              check_image_layout(dir + "/packed.tif", probe_image(dir + "/packed.tif"), range);
          }),
          std::function<void()>([&] { read_rgb(dir + "/packed.tif", 0, range); })})
        expect_input_error(refused, {"packed.tif", "12-bit signed samples packed bit after bit"});
    TiffSpec complex{.width = 4, .height = 2, .spp = 1, .bps = 64};
    complex.photometric = PHOTOMETRIC_MINISBLACK;
    complex.sample_format = SAMPLEFORMAT_COMPLEXIEEEFP;
    write_raw_tiff(dir + "/complex.tif", complex, std::vector<std::uint8_t>(4 * 2 * 8, 0));
    expect_input_error(
        [&] { check_image_layout(dir + "/complex.tif", probe_image(dir + "/complex.tif"), range); },
        {"complex.tif", "64-bit complex floating-point samples are not supported",
         "keeping the real part"});
}

// Float and int16 TIFFs as GDAL writes them: DEFLATE with the floating-point predictor (3) or the
// horizontal one (2), in strips of 2 rows, little- and big-endian ("MM": libtiff swaps the bytes),
// read whole and through windows that cross strips;
// NaN in band 4, picked first, is no data; int16's NoData value -9999 counts as the type holds it.
TEST(ImageIo, WideSamplesReadAcrossPredictorsByteOrdersAndWindows) {
    const std::string dir = test::temp_dir("io_wide_codecs");
    const int w = 7, h = 9, bands = 4;
    auto value = [](int x, int y, int b) { return 0.01 * (x + 3 * y) + 0.05 * b; };
    for (const bool big_endian : {false, true}) {
        for (const bool is_float : {true, false}) {
            const std::string path =
                dir + "/" + (is_float ? "f" : "i") + (big_endian ? "mm" : "ii") + ".tif";
            SCOPED_TRACE(path);
            TIFF* t = TIFFOpen(path.c_str(), big_endian ? "wb" : "wl");
            ASSERT_NE(t, nullptr);
            const int bytes = is_float ? 4 : 2;
            TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
            TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
            TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, bands);
            TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8 * bytes);
            TIFFSetField(t, TIFFTAG_SAMPLEFORMAT,
                         is_float ? SAMPLEFORMAT_IEEEFP : SAMPLEFORMAT_INT);
            TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
            TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
            std::uint16_t extra[3] = {EXTRASAMPLE_UNSPECIFIED, EXTRASAMPLE_UNSPECIFIED,
                                      EXTRASAMPLE_UNSPECIFIED};
            TIFFSetField(t, TIFFTAG_EXTRASAMPLES, 3, extra);
            TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE);
            // Debian 12's libtiff (4.5) gets a big-endian file of the floating-point predictor
            // wrong, GDAL there as much as pfce: its little-endian files (GDAL's default) only.
            TIFFSetField(t, TIFFTAG_PREDICTOR,
                         !is_float    ? PREDICTOR_HORIZONTAL
                         : big_endian ? PREDICTOR_NONE
                                      : PREDICTOR_FLOATINGPOINT);
            TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 2);
            for (int y = 0; y < h; ++y) {
                std::vector<std::uint8_t> row(static_cast<std::size_t>(w) * bands * bytes);
                for (int x = 0; x < w; ++x)
                    for (int b = 0; b < bands; ++b) {
                        std::uint8_t* at = &row[(static_cast<std::size_t>(x) * bands + b) * bytes];
                        if (is_float) {
                            float f = static_cast<float>(value(x, y, b));
                            if (b == 3 && x == 2 && y == 4)
                                f = std::numeric_limits<float>::quiet_NaN();
                            std::memcpy(at, &f, 4);
                        } else {
                            std::int16_t i =
                                static_cast<std::int16_t>(std::lround(1000 * value(x, y, b)) - 200);
                            if (x == 5 && y == 6) i = -9999;  // every band: no data
                            std::memcpy(at, &i, 2);
                        }
                    }
                ASSERT_GE(TIFFWriteScanline(t, row.data(), static_cast<std::uint32_t>(y), 0), 0);
            }
            if (!is_float) {
                static TIFFFieldInfo field = {
                    TIFFTAG_GDAL_NODATA, -1, -1, TIFF_ASCII,
                    FIELD_CUSTOM,        1,  0,  const_cast<char*>("GDALNoDataValue")};
                if (!TIFFFindField(t, TIFFTAG_GDAL_NODATA, TIFF_ANY))
                    TIFFMergeFieldInfo(t, &field, 1);
                ASSERT_TRUE(TIFFSetField(t, TIFFTAG_GDAL_NODATA, "-9999"));
            }
            TIFFClose(t);
            const ImageChoice c{.bands = {4, 1, 2},
                                .range_lo = is_float ? 0.0 : -200.0,
                                .range_hi = is_float ? 0.5 : 300.0};
            std::vector<std::uint8_t> nodata;
            const RgbImage img = read_rgb_with_nodata(path, nodata, 0, c);
            ASSERT_EQ(nodata.size(), static_cast<std::size_t>(w * h));
            for (int y = 0; y < h; ++y)
                for (int x = 0; x < w; ++x) {
                    const bool none = is_float ? (x == 2 && y == 4) : (x == 5 && y == 6);
                    ASSERT_EQ(nodata[static_cast<std::size_t>(y) * w + x], none ? 1 : 0)
                        << x << "," << y;
                    if (none) continue;
                    for (int k = 0; k < 3; ++k) {
                        const int b = c.bands[k] - 1;
                        const double v =
                            is_float
                                ? static_cast<double>(static_cast<float>(value(x, y, b)))
                                : static_cast<double>(std::lround(1000 * value(x, y, b)) - 200);
                        const double want = (v - c.range_lo) * 255.0 / (c.range_hi - c.range_lo);
                        ASSERT_EQ(img.at(y, x)[k], std::lround(std::clamp(want, 0.0, 255.0)))
                            << x << "," << y << "," << k;
                    }
                }
            // A window across strips reads what the whole image holds there.
            const RgbImage win = read_rgb_window(path, 1, 3, 5, 5, 0, c);
            for (int y = 0; y < 5; ++y)
                for (int x = 0; x < 5; ++x)
                    for (int k = 0; k < 3; ++k)
                        if (!nodata[static_cast<std::size_t>(y + 3) * w + x + 1]) {
                            ASSERT_EQ(win.at(y, x)[k], img.at(y + 3, x + 1)[k]) << x << "," << y;
                        }
        }
    }
}

// GDAL's internal nodata mask (a later page of NewSubfileType "mask", 1 bit, 0 = no value): its
// pixels are transparent, as alpha ones are: refused, naming the first; a page of another size is
// not this image's mask. Before, they were read as their colour without a word.
TEST(ImageIo, TiffNodataMaskPixelsAreRefusedAsTransparent) {
    const std::string dir = test::temp_dir("io_tiff_nodata_mask");
    const int w = 12, h = 5;
    auto write = [&](const std::string& path, int mask_w, bool hole) {
        TIFF* t = TIFFOpen(path.c_str(), "w");
        ASSERT_NE(t, nullptr);
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3);
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
        TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, h);
        std::vector<std::uint8_t> rgb(3 * w * h, 90);
        ASSERT_GE(TIFFWriteEncodedStrip(t, 0, rgb.data(), static_cast<tmsize_t>(rgb.size())), 0);
        ASSERT_TRUE(TIFFWriteDirectory(t));
        TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_MASK);
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, mask_w);
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 1);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MASK);
        TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE);
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, h);
        const int row = (mask_w + 7) / 8;
        std::vector<std::uint8_t> bits(static_cast<std::size_t>(row) * h, 0xff);
        if (hole) bits[static_cast<std::size_t>(2 * row + 1)] = 0xf3;  // x = 12, 13 of row 2
        if (hole && mask_w == w) bits[static_cast<std::size_t>(2 * row + 1)] = 0x3f;  // x 8, 9
        ASSERT_GE(TIFFWriteEncodedStrip(t, 0, bits.data(), static_cast<tmsize_t>(bits.size())), 0);
        TIFFClose(t);
    };
    write(dir + "/masked.tif", w, true);
    expect_input_error(
        [&] { read_rgb(dir + "/masked.tif"); },
        {dir + "/masked.tif", "2 pixels are transparent", "nodata mask", "x=8, y=2"});
    EXPECT_EQ(read_rgb_window(dir + "/masked.tif", 0, 0, 8, 5).width, 8);  // outside the hole
    write(dir + "/valid.tif", w, false);
    EXPECT_EQ(read_rgb(dir + "/valid.tif").pixels, std::vector<std::uint8_t>(3 * w * h, 90));
    write(dir + "/other.tif", 16, true);
    EXPECT_EQ(read_rgb(dir + "/other.tif").width, w);
}

// GDAL's external nodata mask, IMAGE.msk (gdal_translate -mask and CreateMaskBand write it unless
// GDAL_TIFF_INTERNAL_MASK is set): read as the internal one. It was ignored, and predict labelled
// the pixels it masks (real-data probe). A .msk of another size is said and not read.
TEST(ImageIo, TiffExternalNodataMaskIsRead) {
    const std::string dir = test::temp_dir("io_tiff_msk");
    const int w = 12, h = 5;
    auto write_gray = [](const std::string& path, int width, int height, int bands,
                         const std::vector<std::uint8_t>& samples) {
        TIFF* t = TIFFOpen(path.c_str(), "w");
        ASSERT_NE(t, nullptr);
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, width);
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, height);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, bands);
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
        TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, bands == 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, height);
        ASSERT_GE(TIFFWriteEncodedStrip(t, 0, const_cast<std::uint8_t*>(samples.data()),
                                        static_cast<tmsize_t>(samples.size())),
                  0);
        TIFFClose(t);
    };
    const std::string image = dir + "/ortho.tif";
    write_gray(image, w, h, 3, std::vector<std::uint8_t>(3 * w * h, 90));
    std::vector<std::uint8_t> valid(w * h, 255);
    valid[2 * w + 8] = valid[2 * w + 9] = 0;
    write_gray(image + ".msk", w, h, 1, valid);
    expect_input_error([&] { read_rgb(image); },
                       {image, "2 pixels are transparent", "nodata mask", "x=8, y=2"});
    std::vector<std::uint8_t> nodata;
    read_rgb_with_nodata(image, nodata);
    ASSERT_EQ(nodata.size(), static_cast<std::size_t>(w * h));
    for (int i = 0; i < w * h; ++i)
        EXPECT_EQ(nodata[i], i == 2 * w + 8 || i == 2 * w + 9 ? 1 : 0) << i;
    EXPECT_EQ(read_rgb_window(image, 0, 0, 8, 5).width, 8);  // outside the hole
    // Another size: not this image's mask, said once, the image read whole.
    write_gray(image + ".msk", w + 4, h, 1, std::vector<std::uint8_t>((w + 4) * h, 0));
    testing::internal::CaptureStderr();
    EXPECT_EQ(read_rgb(image).pixels, std::vector<std::uint8_t>(3 * w * h, 90));
    EXPECT_MESSAGE_HAS(testing::internal::GetCapturedStderr(),
                       image + ".msk is not read as the nodata mask of " + image + ": it is 16x5");
}

// JPEG-compressed YCbCr TIFFs (common for orthophotos) read as RGB, strips and tiles alike,
// within JPEG's loss of a smooth image.
TEST(ImageIo, JpegYCbCrTiffReadsAsRgb) {
    const std::string dir = test::temp_dir("io_jpeg_tiff");
    const int w = 40, h = 32;
    RgbImage img(w, h);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            std::uint8_t* p = &img.pixels[3 * (y * w + x)];
            p[0] = static_cast<std::uint8_t>(40 + 4 * x);
            p[1] = static_cast<std::uint8_t>(60 + 5 * y);
            p[2] = static_cast<std::uint8_t>(200 - 2 * x - y);
        }
    for (const bool tiled : {false, true}) {
        SCOPED_TRACE(tiled ? "tiled" : "strips");
        const std::string path = dir + (tiled ? "/t.tif" : "/s.tif");
        TIFF* t = TIFFOpen(path.c_str(), "w");
        ASSERT_NE(t, nullptr);
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3);
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
        TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
        TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_JPEG);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_YCBCR);
        TIFFSetField(t, TIFFTAG_JPEGQUALITY, 95);
        TIFFSetField(t, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);  // we hand libtiff RGB
        if (tiled) {
            TIFFSetField(t, TIFFTAG_TILEWIDTH, 16);
            TIFFSetField(t, TIFFTAG_TILELENGTH, 16);
            std::vector<std::uint8_t> tile(16 * 16 * 3);
            for (int ty = 0; ty < h; ty += 16)
                for (int tx = 0; tx < w; tx += 16) {
                    for (int y = 0; y < 16; ++y)
                        for (int x = 0; x < 16; ++x)
                            for (int c = 0; c < 3; ++c)
                                tile[3 * (y * 16 + x) + c] =
                                    img.pixels[3 * (std::min(ty + y, h - 1) * w +
                                                    std::min(tx + x, w - 1)) +
                                               c];
                    ASSERT_GE(TIFFWriteTile(t, tile.data(), tx, ty, 0, 0), 0);
                }
        } else {
            TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 16);
            for (int y = 0; y < h; ++y)
                ASSERT_EQ(TIFFWriteScanline(t, &img.pixels[3 * y * w], y, 0), 1);
        }
        TIFFClose(t);
        const RgbImage back = read_rgb(path);
        ASSERT_EQ(back.width, w);
        ASSERT_EQ(back.height, h);
        double diff = 0;
        for (std::size_t i = 0; i < img.pixels.size(); ++i)
            diff += std::abs(int(back.pixels[i]) - int(img.pixels[i]));
        EXPECT_LT(diff / img.pixels.size(), 4.0);    // JPEG at quality 95 on a smooth image
        EXPECT_EQ(probe_image(path).lossy, "JPEG");  // so a dataset refuses it as a mask
    }
}

// 16-bit imagery (Sentinel-2, WorldView, SpaceNet GeoTIFFs) reads only with data.value_range, the
// values that become 0 and 255 (linear, clipped, as gdal_translate -scale): nothing in the file
// says which of its values are black and white. Every TIFF layout scales alike, bands pick after
// scaling, and a mask or an 8-bit image beside a range is refused, as is a 16-bit PNG.
TEST(ImageIo, SixteenBitReadsOnlyWithARangeAndScalesByIt) {
    const std::string dir = test::temp_dir("io_16bit");
    const int w = 21, h = 13, bands = 4;
    std::vector<std::uint16_t> v(static_cast<std::size_t>(w) * h * bands);
    for (std::size_t i = 0; i < v.size(); ++i)
        v[i] = static_cast<std::uint16_t>((i * 7919) % 12000);  // past the range's top, too
    std::vector<std::uint8_t> bytes(v.size() * 2);
    std::memcpy(bytes.data(), v.data(), bytes.size());
    auto scaled = [&](int x, int y, int b) {  // gdal_translate -scale 1000 11000 0 255
        const double t =
            (v[(static_cast<std::size_t>(y) * w + x) * bands + b - 1] - 1000.0) * 255.0 / 10000.0;
        return static_cast<int>(std::lround(std::clamp(t, 0.0, 255.0)));
    };
    TiffSpec s{.width = w, .height = h, .spp = bands, .bps = 16};
    s.extra = EXTRASAMPLE_UNSPECIFIED;
    write_raw_tiff(dir + "/strips.tif", s, bytes);
    s.planar = PLANARCONFIG_SEPARATE;
    s.tile = 16;
    write_raw_tiff(dir + "/planar_tiles.tif", s, bytes);
    ImageChoice c;
    c.bands = {4, 1, 2};
    c.range_lo = 1000;
    c.range_hi = 11000;
    for (const char* f : {"strips", "planar_tiles"}) {
        SCOPED_TRACE(f);
        const std::string path = dir + "/" + f + ".tif";
        expect_input_error(
            [&] {
                read_rgb(path, 0, {{4, 1, 2}});
            },
            {path, "16-bit samples, and nothing says", "--value-range"});
        const RgbImage img = read_rgb(path, 0, c);
        const RgbImage win = read_rgb_window(path, 3, 2, 15, 9, 0, c);
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x)
                for (int k = 0; k < 3; ++k) {
                    ASSERT_EQ(img.at(y, x)[k], scaled(x, y, c.bands[k])) << x << "," << y;
                    if (x >= 3 && x < 18 && y >= 2 && y < 11) {
                        ASSERT_EQ(win.at(y - 2, x - 3)[k], img.at(y, x)[k]);
                    }
                }
    }
    // The ends land on 0 and 255 exactly; a gray file reads its one band.
    std::vector<std::uint16_t> ends = {1000, 11000, 0, 65535, 6000, 1000};
    std::vector<std::uint8_t> ends_bytes(ends.size() * 2);
    std::memcpy(ends_bytes.data(), ends.data(), ends_bytes.size());
    write_raw_tiff(
        dir + "/gray.tif",
        {.width = 3, .height = 2, .spp = 1, .bps = 16, .photometric = PHOTOMETRIC_MINISBLACK},
        ends_bytes);
    ImageChoice range_only;
    range_only.range_lo = 1000;
    range_only.range_hi = 11000;
    const RgbImage g = read_rgb(dir + "/gray.tif", 0, range_only);
    const std::vector<int> want = {0, 255, 0, 255, 128, 0};
    for (int i = 0; i < 6; ++i) EXPECT_EQ(g.pixels[3 * i], want[i]) << i;
    // Never a mask: label values are 8-bit.
    expect_input_error([&] { read_gray(dir + "/gray.tif"); }, {"gray.tif", "16-bit"});
    // One scale for a dataset: an 8-bit image beside a range is refused.
    write_png(dir + "/eight.png", test::random_rgb(4, 4, 1));
    expect_input_error([&] { read_rgb(dir + "/eight.png", 0, range_only); },
                       {"eight.png", "8-bit samples, but data.value_range"});
    // 16-bit PNG is not read, with or without a range.
    std::vector<std::uint16_t> gray16(8 * 4, 1000);
    write_simple_png(dir + "/deep.png", 8, 4, PNG_FORMAT_LINEAR_Y, gray16.data());
    expect_input_error([&] { read_gray(dir + "/deep.png"); }, {dir + "/deep.png", "16-bit"});
    expect_input_error([&] { read_rgb(dir + "/deep.png", 0, range_only); },
                       {dir + "/deep.png", "16-bit PNG is not read"});
    // The header check (datasets, predict) refuses all of it before any decoding.
    expect_input_error(
        [&] { check_image_layout(dir + "/deep.png", probe_image(dir + "/deep.png"), range_only); },
        {"16-bit PNG is not read"});
    TiffSpec signed16{
        .width = 3, .height = 2, .spp = 1, .bps = 16, .photometric = PHOTOMETRIC_MINISBLACK};
    write_raw_tiff(dir + "/signed.tif", signed16, ends_bytes);
    {
        TIFF* t = TIFFOpen((dir + "/signed.tif").c_str(), "r+");
        ASSERT_NE(t, nullptr);
        TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_INT);
        TIFFRewriteDirectory(t);
        TIFFClose(t);
    }
    // Signed samples are read as signed: 65535 is -1, below the range.
    const RgbImage s16 = read_rgb(dir + "/signed.tif", 0, range_only);
    const std::vector<int> want_signed = {0, 255, 0, 0, 128, 0};
    for (int i = 0; i < 6; ++i) EXPECT_EQ(s16.pixels[3 * i], want_signed[i]) << i;
}

// 9- to 15-bit samples (GDAL's NBITS=12: 11- and 12-bit sensors stored packed) read as the 16-bit
// values they are, as GDAL reads them: a 12-bit file reads as the same values stored in 16 bits,
// in strips or tiles, interleaved or planar, windowed; its NoData value and an alpha band (opaque
// at 4095) mark no-data pixels as in a 16-bit file. Without data.value_range it is refused as
// 16-bit samples are.
TEST(ImageIo, PackedSamplesOfNineToFifteenBitsReadAsTheValuesTheyAre) {
    const std::string dir = test::temp_dir("io_12bit");
    const int w = 23, h = 13;
    for (const int bits : {12, 11, 9, 15}) {
        SCOPED_TRACE(bits);
        const int top = (1 << bits) - 1;
        std::vector<std::uint16_t> v(static_cast<std::size_t>(w) * h * 4);
        for (std::size_t i = 0; i < v.size(); ++i)
            v[i] = static_cast<std::uint16_t>((i * 7919 + 13) % (top + 1));
        // Transparent pixels in the first two rows only (the window below lies past them).
        for (std::size_t p = 0; p < v.size() / 4; ++p)
            v[4 * p + 3] = p < 2 * w && p % 7 == 0 ? 0 : top;
        v[0] = v[1] = v[2] = 77;  // the NoData value in every colour band of pixel 0
        std::vector<std::uint8_t> bytes(v.size() * 2);
        std::memcpy(bytes.data(), v.data(), bytes.size());
        ImageChoice c;
        c.range_lo = 5;
        c.range_hi = top - 3;
        // The reference: the same values in 16 bits (alpha there opaque at 65535).
        std::vector<std::uint16_t> v16 = v;
        for (std::size_t p = 0; p < v.size() / 4; ++p) v16[4 * p + 3] = v[4 * p + 3] ? 65535 : 0;
        std::vector<std::uint8_t> bytes16(v16.size() * 2);
        std::memcpy(bytes16.data(), v16.data(), bytes16.size());
        const std::string ref = dir + "/ref" + std::to_string(bits) + ".tif";
        write_raw_tiff(ref, {.width = w, .height = h, .spp = 4, .bps = 16}, bytes16, nullptr, "77");
        std::vector<std::uint8_t> ref_nodata;
        const RgbImage want = read_rgb_with_nodata(ref, ref_nodata, 0, c);
        ASSERT_EQ(std::count(ref_nodata.begin(), ref_nodata.end(), 1),
                  (2 * w + 6) / 7);  // pixel 0 both transparent and NoData
        for (const int planar : {PLANARCONFIG_CONTIG, PLANARCONFIG_SEPARATE})
            for (const int tile : {0, 16}) {
                SCOPED_TRACE(std::to_string(planar) + " tile " + std::to_string(tile));
                const std::string path = dir + "/p" + std::to_string(bits) + "_" +
                                         std::to_string(planar) + "_" + std::to_string(tile) +
                                         ".tif";
                TiffSpec s{.width = w, .height = h, .spp = 4, .bps = bits};
                s.planar = planar;
                s.tile = tile;
                write_raw_tiff(path, s, bytes, nullptr, "77");
                ASSERT_FALSE(HasFailure());
                EXPECT_EQ(probe_image(path).bits_per_sample, 16);
                EXPECT_EQ(probe_image(path).file_bits(), bits);
                std::vector<std::uint8_t> nodata;
                const RgbImage got = read_rgb_with_nodata(path, nodata, 0, c);
                ASSERT_EQ(got.pixels, want.pixels);
                ASSERT_EQ(nodata, ref_nodata);
                const RgbImage win = read_rgb_window(path, 3, 2, 15, 9, 0, c);
                for (int y = 2; y < 11; ++y)
                    for (int x = 3; x < 18; ++x)
                        for (int k = 0; k < 3; ++k)
                            ASSERT_EQ(win.at(y - 2, x - 3)[k], want.at(y, x)[k]) << x << "," << y;
                expect_input_error([&] { read_rgb(path); },
                                   {path, "16-bit samples, and nothing says", "--value-range"});
            }
    }
    // The bit order pinned by bytes written as they are (the writer above packs as the reader
    // unpacks, so a mistake in both would pass): 0xABC and 0xDEF are stored AB CD EF.
    {
        TIFF* t = TIFFOpen((dir + "/pinned.tif").c_str(), "w");
        ASSERT_NE(t, nullptr);
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 2u);
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, 1u);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 12);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 1u);
        unsigned char raw[3] = {0xAB, 0xCD, 0xEF};
        ASSERT_EQ(TIFFWriteRawStrip(t, 0, raw, 3), 3);
        TIFFClose(t);
    }
    ImageChoice twelve_bits;
    twelve_bits.range_lo = 0;
    twelve_bits.range_hi = 4095;
    const RgbImage pinned = read_rgb(dir + "/pinned.tif", 0, twelve_bits);
    EXPECT_EQ(pinned.pixels[0], std::lround(0xABC * 255.0 / 4095));
    EXPECT_EQ(pinned.pixels[3], std::lround(0xDEF * 255.0 / 4095));
    // A packed palette is refused as such, not for want of a value range.
    std::vector<std::uint8_t> twelve(4 * 3 * 2, 0);
    const std::vector<std::uint16_t> map(3 * 4096, 0);
    write_raw_tiff(
        dir + "/pal12.tif",
        {.width = 4, .height = 3, .spp = 1, .bps = 12, .photometric = PHOTOMETRIC_PALETTE}, twelve,
        &map);
    expect_input_error([&] { read_rgb(dir + "/pal12.tif"); },
                       {"pal12.tif: a palette of more than 8 bits is not supported"});
}

// Every band is decoded before the picks are taken: a file of many bands is bounded by bytes
// (16 a pixel of the pixel limit), not only by pixels.
TEST(ImageIo, ManyBandsAreBoundedByTheirDecodedBytes) {
    const std::string dir = test::temp_dir("io_many_bands");
    const int w = 10, h = 10, bands = 40;
    TiffSpec s{.width = w, .height = h, .spp = bands, .photometric = PHOTOMETRIC_MINISBLACK};
    write_raw_tiff(dir + "/stack.tif", s, std::vector<std::uint8_t>(w * h * bands, 3));
    ImageChoice c;
    c.bands = {40, 20, 1};
    EXPECT_EQ(read_rgb(dir + "/stack.tif", 1000, c).width, w);  // 4000 bytes <= 16000
    expect_input_error([&] { read_rgb(dir + "/stack.tif", 200, c); },
                       {"stack.tif", "40 bands of 8 bits decodes to 4000 bytes", "--max-pixels"});
    c.bands = {40, 20};
    expect_input_error([&] { read_rgb(dir + "/stack.tif", 0, c); }, {"gives 2 bands"});
    c.bands = {40, 30, 20, 10, 1};  // five channels: the bound is still of the bytes decoded
    EXPECT_EQ(read_rgb(dir + "/stack.tif", 1000, c).channels, 5);
    expect_input_error([&] { read_rgb(dir + "/stack.tif", 200, c); }, {"4000 bytes"});
}

// data.bands of more than three bands gives an image of that many channels, each the band it names
// as stored (strips or planar tiles, whole or in a window, 16-bit scaled by the range), so a model
// sees infrared and an elevation band beside RGB. One band still reads as three copies; two, or
// more than eight, are refused naming the count and what is read.
TEST(ImageIo, MoreThanThreeBandsReadAsOneChannelEach) {
    const std::string dir = test::temp_dir("io_wide_bands");
    const int w = 19, h = 11, bands = 5;
    std::vector<std::uint8_t> v(static_cast<std::size_t>(w) * h * bands);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::uint8_t>((i * 131) % 251);
    auto stored = [&](int x, int y, int b) {
        return v[(static_cast<std::size_t>(y) * w + x) * bands + static_cast<std::size_t>(b - 1)];
    };
    TiffSpec s{.width = w, .height = h, .spp = bands, .photometric = PHOTOMETRIC_MINISBLACK};
    write_raw_tiff(dir + "/strips.tif", s, v);
    s.planar = PLANARCONFIG_SEPARATE;
    s.tile = 16;
    write_raw_tiff(dir + "/planar_tiles.tif", s, v);
    for (const char* f : {"strips", "planar_tiles"}) {
        SCOPED_TRACE(f);
        const std::string path = dir + "/" + f + ".tif";
        for (const std::vector<int>& pick :
             {std::vector<int>{1, 2, 3, 4}, std::vector<int>{5, 4, 3, 2, 1, 1, 2, 3}}) {
            const ImageChoice c{.bands = pick};
            const RgbImage img = read_rgb(path, 0, c);
            const RgbImage win = read_rgb_window(path, 3, 2, 12, 7, 0, c);
            ASSERT_EQ(img.channels, static_cast<int>(pick.size()));
            ASSERT_EQ(win.channels, static_cast<int>(pick.size()));
            ASSERT_EQ(img.pixels.size(), static_cast<std::size_t>(w) * h * pick.size());
            for (int y = 0; y < h; ++y)
                for (int x = 0; x < w; ++x)
                    for (std::size_t k = 0; k < pick.size(); ++k) {
                        ASSERT_EQ(img.at(y, x)[k], stored(x, y, pick[k])) << x << "," << y;
                        if (x >= 3 && x < 15 && y >= 2 && y < 9) {
                            ASSERT_EQ(win.at(y - 2, x - 3)[k], img.at(y, x)[k]);
                        }
                    }
            // What a picture shows of it: the first three, interleaved as RGB.
            const RgbImage shown = colour_channels(img);
            ASSERT_EQ(shown.channels, 3);
            for (int k = 0; k < 3; ++k) EXPECT_EQ(shown.at(4, 7)[k], stored(7, 4, pick[k]));
        }
        const RgbImage one = read_rgb(path, 0, {.bands = {5}});
        ASSERT_EQ(one.channels, 3);
        for (int k = 0; k < 3; ++k) EXPECT_EQ(one.at(6, 2)[k], stored(2, 6, 5));
        expect_input_error(
            [&] {
                read_rgb(path, 0, {.bands = {4, 1}});
            },
            {path, "data.bands gives 2 bands", "three to eight"});
        expect_input_error(
            [&] {
                read_rgb(path, 0, {.bands = {1, 2, 3, 4, 5, 1, 2, 3, 4}});
            },
            {path, "gives 9 bands"});
        expect_input_error(
            [&] {
                read_rgb(path, 0, {.bands = {1, 2, 3, 6}});
            },
            {path, "asks for band 6, but the file has 5 bands"});
    }
    // A gray file's one band, picked four times, is four equal channels.
    write_raw_tiff(dir + "/gray.tif",
                   {.width = 4, .height = 3, .spp = 1, .photometric = PHOTOMETRIC_MINISBLACK},
                   std::vector<std::uint8_t>(12, 77));
    const RgbImage gray4 = read_rgb(dir + "/gray.tif", 0, {.bands = {1, 1, 1, 1}});
    ASSERT_EQ(gray4.channels, 4);
    EXPECT_EQ(gray4.pixels, std::vector<std::uint8_t>(48, 77));
    // A palette image's one band is its colours, three channels: four picks of it are refused.
    std::vector<Rgb> colours(256, Rgb{0, 0, 0});
    colours[1] = {200, 30, 90};
    write_png_indexed(dir + "/palette.png", LabelMap(4, 3, 1), colours);
    EXPECT_EQ(read_rgb(dir + "/palette.png", 0, {.bands = {1, 1, 1}}).pixels[2], 90);
    expect_input_error(
        [&] {
            read_rgb(dir + "/palette.png", 0, {.bands = {1, 1, 1, 1}});
        },
        {"palette.png: a palette image", "picks it 4 times"});
    // 16-bit bands scale by the range before they are picked, each into its own channel.
    std::vector<std::uint16_t> deep(static_cast<std::size_t>(w) * h * 4);
    for (std::size_t i = 0; i < deep.size(); ++i)
        deep[i] = static_cast<std::uint16_t>((i * 977) % 5200);
    std::vector<std::uint8_t> deep_bytes(deep.size() * 2);
    std::memcpy(deep_bytes.data(), deep.data(), deep_bytes.size());
    TiffSpec s16{.width = w, .height = h, .spp = 4, .bps = 16};
    s16.extra = EXTRASAMPLE_UNSPECIFIED;
    write_raw_tiff(dir + "/deep.tif", s16, deep_bytes);
    const RgbImage d =
        read_rgb(dir + "/deep.tif", 0, {.bands = {4, 3, 2, 1}, .range_lo = 0, .range_hi = 5100});
    ASSERT_EQ(d.channels, 4);
    for (int k = 0; k < 4; ++k) {
        const double t =
            deep[(static_cast<std::size_t>(5) * w + 9) * 4 + static_cast<std::size_t>(3 - k)] *
            255.0 / 5100.0;
        EXPECT_EQ(d.at(5, 9)[k], std::lround(std::clamp(t, 0.0, 255.0))) << k;
    }
}

// A 4th band that is not alpha (near infrared: RGBIR orthophotos) is refused: which three bands
// are red, green and blue is not for pfce to guess.
TEST(ImageIo, FourColourBandsAreRefusedNamingTheFile) {
    const std::string dir = test::temp_dir("io_4band");
    TiffSpec s{.width = 6, .height = 5, .spp = 4};
    s.extra = EXTRASAMPLE_UNSPECIFIED;
    write_raw_tiff(dir + "/rgbi.tif", s, std::vector<std::uint8_t>(6 * 5 * 4, 9));
    expect_input_error([&] { read_rgb(dir + "/rgbi.tif"); }, {dir + "/rgbi.tif", "4 bands"});
    const ImageInfo info = probe_image(dir + "/rgbi.tif");  // what a dataset checks pairs with
    expect_input_error(
        [&] { check_sample_layout(dir + "/rgbi.tif", info.bits_per_sample, info.channels); },
        {"4 bands"});
}

// data.bands: three of a file's bands (or one, copied) become the image, 1-based and as stored,
// from RGB + infrared tiles (Potsdam's RGBIR set) and GDAL band stacks in every TIFF layout; an RGB
// or gray file picks from the colours it shows. A band the file lacks names the file and its count.
TEST(ImageIo, BandChoicePicksFromManyBandFiles) {
    const std::string dir = test::temp_dir("io_bands");
    const int w = 23, h = 17;
    auto stack = [&](int bands, unsigned seed) {
        std::vector<std::uint8_t> v(static_cast<std::size_t>(w) * h * bands);
        for (std::size_t i = 0; i < v.size(); ++i)
            v[i] = static_cast<std::uint8_t>((i * 2654435761u + seed) >> 7);
        return v;
    };
    // Band b (1-based) of pixel (x, y) in a `bands`-band stack.
    auto at = [&](const std::vector<std::uint8_t>& v, int bands, int x, int y, int b) {
        return v[(static_cast<std::size_t>(y) * w + x) * bands + (b - 1)];
    };
    auto expect_picked = [&](const RgbImage& img, const std::vector<std::uint8_t>& v, int bands,
                             const std::vector<int>& pick, int x0 = 0, int y0 = 0) {
        for (int y = 0; y < img.height; ++y)
            for (int x = 0; x < img.width; ++x)
                for (int c = 0; c < 3; ++c)
                    ASSERT_EQ(img.at(y, x)[c],
                              at(v, bands, x + x0, y + y0, pick[pick.size() == 1 ? 0 : c]))
                        << x << "," << y << "," << c;
    };
    const std::vector<std::uint8_t> rgbi = stack(4, 1);
    TiffSpec s{.width = w, .height = h, .spp = 4};
    s.extra = EXTRASAMPLE_UNSPECIFIED;
    write_raw_tiff(dir + "/rgbir.tif", s, rgbi);
    s.planar = PLANARCONFIG_SEPARATE;
    s.tile = 16;
    write_raw_tiff(dir + "/rgbir_planar_tiled.tif", s, rgbi);
    for (const char* f : {"rgbir", "rgbir_planar_tiled"}) {
        SCOPED_TRACE(f);
        const std::string path = dir + "/" + f + ".tif";
        expect_picked(read_rgb(path, 0, {{4, 1, 2}}), rgbi, 4, {4, 1, 2});
        expect_picked(read_rgb(path, 0, {{1, 2, 3}}), rgbi, 4, {1, 2, 3});
        expect_picked(read_rgb(path, 0, {{4}}), rgbi, 4, {4});
        expect_picked(read_rgb_window(path, 5, 3, 14, 11, 0, {{3, 4, 4}}), rgbi, 4, {3, 4, 4}, 5,
                      3);
        // Unpicked, four bands stay refused, now pointing at the choice.
        expect_input_error([&] { read_rgb(path); }, {path, "4 bands", "data.bands", "4,1,2"});
        expect_input_error(
            [&] {
                read_rgb(path, 0, {{1, 5, 2}});
            },
            {path, "band 5", "4 bands", "1..4"});
    }
    // A GDAL stack of five gray bands.
    const std::vector<std::uint8_t> five = stack(5, 7);
    TiffSpec g{.width = w, .height = h, .spp = 5, .photometric = PHOTOMETRIC_MINISBLACK};
    write_raw_tiff(dir + "/five.tif", g, five);
    expect_picked(read_rgb(dir + "/five.tif", 0, {{5, 3, 1}}), five, 5, {5, 3, 1});
    const ImageInfo info = probe_image(dir + "/five.tif");
    EXPECT_EQ(info.channels, 5);
    check_sample_layout(dir + "/five.tif", 8, info.channels, {{5, 3, 1}});
    expect_input_error([&] { check_sample_layout(dir + "/five.tif", 8, info.channels); },
                       {"5 bands", "data.bands"});
    // Two bands (gray + near infrared): each pick is its own band, not the pair side by side.
    const std::vector<std::uint8_t> two = stack(2, 11);
    TiffSpec g2{.width = w, .height = h, .spp = 2, .photometric = PHOTOMETRIC_MINISBLACK};
    write_raw_tiff(dir + "/two.tif", g2, two);
    g2.planar = PLANARCONFIG_SEPARATE;
    write_raw_tiff(dir + "/two_planar.tif", g2, two);
    for (const char* f : {"/two.tif", "/two_planar.tif"}) {
        expect_picked(read_rgb(dir + f, 0, {{2}}), two, 2, {2});
        expect_picked(read_rgb(dir + f, 0, {{2, 1, 2}}), two, 2, {2, 1, 2});
    }
    // CMYK samples are not bands a user could name.
    TiffSpec cmyk{.width = w, .height = h, .spp = 4, .photometric = PHOTOMETRIC_SEPARATED};
    write_raw_tiff(dir + "/cmyk.tif", cmyk, rgbi);
    expect_input_error(
        [&] {
            read_rgb(dir + "/cmyk.tif", 0, {{1, 2, 3}});
        },
        {"cmyk.tif", "CMYK (photometric interpretation 5)", "-colorspace sRGB"});
    // Without a pick it is called CMYK too, not "RGB + near infrared" (whose remedy, a pick, is
    // then refused).
    expect_input_error([&] { read_rgb(dir + "/cmyk.tif"); }, {"CMYK"});
    // So is it from its header alone (datasets check every pair's header before decoding; a probe
    // got "4 bands ... pick three with --bands" first).
    expect_input_error(
        [&] { check_image_layout(dir + "/cmyk.tif", probe_image(dir + "/cmyk.tif"), {}); },
        {"CMYK"});
    // RGB and gray files pick from what they show.
    const RgbImage rgb = test::random_rgb(w, h, 3);
    write_png(dir + "/rgb.png", rgb);
    expect_picked(read_rgb(dir + "/rgb.png", 0, {{3, 2, 1}}), rgb.pixels, 3, {3, 2, 1});
    const LabelMap gray = random_gray(w, h, 9);
    write_png_gray(dir + "/gray.png", gray);
    EXPECT_EQ(read_rgb(dir + "/gray.png", 0, {{1}}).pixels, read_rgb(dir + "/gray.png").pixels);
    expect_input_error(
        [&] {
            read_rgb(dir + "/gray.png", 0, {{1, 1, 2}});
        },
        {"gray.png", "band 2", "1 band"});
    // An alpha band is GDAL's last band, but pfce drops it: a pick of it names it so.
    std::vector<std::uint8_t> rgba(static_cast<std::size_t>(w) * h * 4, 255);
    write_simple_png(dir + "/rgba.png", w, h, PNG_FORMAT_RGBA, rgba.data());
    expect_input_error(
        [&] {
            check_image_layout(dir + "/rgba.png", probe_image(dir + "/rgba.png"), {{4, 1, 2}});
        },
        {"rgba.png", "band 4, the file's alpha band"});
    // A choice does not lift the bit-depth rule.
    expect_input_error(
        [&] {
            check_sample_layout(dir + "/x.tif", 16, 4, {{4, 1, 2}});
        },
        {"16-bit"});
}

// An alpha band (RGBA and gray + alpha PNG, TIFF with an alpha ExtraSample, as GIS and image tools
// export them) that is opaque everywhere carries nothing and is dropped; a transparent pixel has no
// meaningful colour, so a file with one is refused, naming how many and the first.
TEST(ImageIo, OpaqueAlphaIsDroppedAndTransparencyRefused) {
    const std::string dir = test::temp_dir("io_alpha");
    const RgbImage rgb = test::random_rgb(6, 5, 8);
    std::vector<std::uint8_t> rgba;
    for (std::size_t i = 0; i < rgb.pixels.size(); i += 3)
        rgba.insert(rgba.end(), {rgb.pixels[i], rgb.pixels[i + 1], rgb.pixels[i + 2], 255});
    write_simple_png(dir + "/rgba.png", 6, 5, PNG_FORMAT_RGBA, rgba.data());
    EXPECT_EQ(read_rgb(dir + "/rgba.png").pixels, rgb.pixels);
    EXPECT_EQ(probe_image(dir + "/rgba.png").channels, 3);
    write_raw_tiff(dir + "/rgba.tif", {.width = 6, .height = 5, .spp = 4}, rgba);
    EXPECT_EQ(read_rgb(dir + "/rgba.tif").pixels, rgb.pixels);
    EXPECT_EQ(probe_image(dir + "/rgba.tif").channels, 3);
    const std::vector<std::uint8_t> ga = {3, 255, 7, 255, 250, 255, 0, 255};
    write_simple_png(dir + "/ga.png", 2, 2, PNG_FORMAT_GA, ga.data());
    EXPECT_EQ(read_gray(dir + "/ga.png").labels, (std::vector<std::uint8_t>{3, 7, 250, 0}));
    // Two transparent pixels, the first at (4, 1).
    rgba[4 * (1 * 6 + 4) + 3] = 0;
    rgba[4 * (3 * 6 + 2) + 3] = 128;
    write_simple_png(dir + "/holes.png", 6, 5, PNG_FORMAT_RGBA, rgba.data());
    write_raw_tiff(dir + "/holes.tif", {.width = 6, .height = 5, .spp = 4}, rgba);
    for (const std::string name : {"/holes.png", "/holes.tif"}) {
        expect_input_error([&] { read_rgb(dir + name); },
                           {dir + name, "2 pixels are transparent", "x=4, y=1", "-alpha remove"});
        // Predict's reading: the transparent pixels are named, the others read as stored.
        std::vector<std::uint8_t> nodata;
        EXPECT_EQ(read_rgb_with_nodata(dir + name, nodata).pixels, rgb.pixels);
        std::vector<std::uint8_t> want(6 * 5, 0);
        want[1 * 6 + 4] = want[3 * 6 + 2] = 1;
        EXPECT_EQ(nodata, want) << name;
    }
    // The holes above: one of two partly transparent, no hint of a measurement band. An "alpha"
    // of mostly partial values (an RGBIR file's infrared tagged as alpha): the refusal says how to
    // retag it rather than only to fill the pixels, which would throw the band away.
    EXPECT_EQ(test::input_error_message([&] { read_rgb(dir + "/holes.tif"); }).find("colorinterp"),
              std::string::npos);
    for (std::size_t i = 3; i < rgba.size(); i += 4)
        rgba[i] = static_cast<std::uint8_t>(20 + i % 200);
    write_raw_tiff(dir + "/infrared.tif", {.width = 6, .height = 5, .spp = 4}, rgba);
    expect_input_error([&] { read_rgb(dir + "/infrared.tif"); },
                       {"30 pixels are transparent", "30 of them are partly transparent",
                        "if band 4 holds infrared", "gdal_translate -colorinterp_4 undefined"});
    // Labels under a transparent alpha are refused as before (tRNS leaves a label its value).
    const std::vector<std::uint8_t> ga_hole = {3, 255, 7, 0, 250, 255, 0, 255};
    write_simple_png(dir + "/ga_hole.png", 2, 2, PNG_FORMAT_GA, ga_hole.data());
    expect_input_error([&] { read_gray(dir + "/ga_hole.png"); }, {"1 pixel is transparent"});
    std::vector<std::uint8_t> none;
    read_rgb_with_nodata(dir + "/rgba.png", none);
    EXPECT_TRUE(none.empty());
}

// RGB + infrared + alpha, as gdalwarp -dstalpha writes an RGBIR orthophoto (ExtraSamples
// {unspecified, alpha}): the last band is alpha, so its transparent pixels are no data and a pick
// of it is refused (foreign-data probe: only a 2- or 4-band file's alpha was seen, so the
// transparent pixels were read as data). An alpha band that is not last is refused, naming it.
TEST(ImageIo, AlphaAfterAnInfraredBandIsAlpha) {
    const std::string dir = test::temp_dir("io_alpha5");
    const int w = 6, h = 5;
    std::vector<std::uint8_t> px;
    for (int i = 0; i < w * h; ++i) {
        const auto v = static_cast<std::uint8_t>(i * 7);
        px.insert(px.end(), {v, static_cast<std::uint8_t>(v + 1), static_cast<std::uint8_t>(v + 2),
                             static_cast<std::uint8_t>(v + 3), 255});
    }
    px[5 * (1 * w + 4) + 4] = 0;  // transparent at (4, 1)
    write_raw_tiff(dir + "/rgbia.tif",
                   {.width = w,
                    .height = h,
                    .spp = 5,
                    .extra_samples = {EXTRASAMPLE_UNSPECIFIED, EXTRASAMPLE_UNASSALPHA}},
                   px);
    EXPECT_EQ(probe_image(dir + "/rgbia.tif").channels, 4);
    const ImageChoice ir = {.bands = {4, 1, 2}};
    std::vector<std::uint8_t> nodata;
    const RgbImage img = read_rgb_with_nodata(dir + "/rgbia.tif", nodata, 0, ir);
    std::vector<std::uint8_t> want(w * h, 0);
    want[1 * w + 4] = 1;
    EXPECT_EQ(nodata, want);
    EXPECT_EQ(img.pixels[0], 3);  // band 4 of pixel 0
    EXPECT_EQ(img.pixels[1], 0);  // band 1
    expect_input_error([&] { read_rgb(dir + "/rgbia.tif", 0, ir); },
                       {"1 pixel is transparent", "x=4, y=1"});
    expect_input_error(
        [&] {
            read_rgb(dir + "/rgbia.tif", 0, {.bands = {5, 5, 5}});
        },
        {"band 5, the file's alpha band", "-colorinterp_5 undefined"});
    // 16 bits (a 16-bit RGBIR orthophoto warped with -dstalpha; it was refused): opaque is 65535,
    // or 255 where the alpha band holds nothing above it, as GDAL writes either.
    for (const std::uint16_t opaque : {std::uint16_t{65535}, std::uint16_t{255}}) {
        std::vector<std::uint16_t> wide;
        for (int i = 0; i < w * h; ++i)
            wide.insert(wide.end(), {std::uint16_t(1000 + i), 2000, 3000, std::uint16_t(4000 + i),
                                     std::uint16_t(i == 1 * w + 4 ? 0 : opaque)});
        std::vector<std::uint8_t> bytes(wide.size() * 2);
        std::memcpy(bytes.data(), wide.data(), bytes.size());
        write_raw_tiff(dir + "/rgbia16.tif",
                       {.width = w,
                        .height = h,
                        .spp = 5,
                        .bps = 16,
                        .extra_samples = {EXTRASAMPLE_UNSPECIFIED, EXTRASAMPLE_UNASSALPHA}},
                       bytes);
        std::vector<std::uint8_t> nodata16;
        const ImageChoice ir16 = {.bands = {4, 1, 2}, .range_lo = 0, .range_hi = 5100};
        const RgbImage img16 = read_rgb_with_nodata(dir + "/rgbia16.tif", nodata16, 0, ir16);
        EXPECT_EQ(nodata16, want) << opaque;
        EXPECT_EQ(img16.pixels[0], 200) << opaque;  // band 4 of pixel 0: 4000 of 5100
    }
    write_raw_tiff(dir + "/alpha4.tif",
                   {.width = w,
                    .height = h,
                    .spp = 5,
                    .extra_samples = {EXTRASAMPLE_ASSOCALPHA, EXTRASAMPLE_UNSPECIFIED}},
                   px);
    expect_input_error([&] { read_rgb(dir + "/alpha4.tif", 0, ir); },
                       {dir + "/alpha4.tif", "band 4 of 5 is tagged as alpha",
                        "-b 1 -b 2 -b 3 -b 5 -b 4 IN OUT.tif"});
}

// Four bands of 8 bits stacked by GDAL (gdalbuildvrt -separate, gdal_translate) are tagged RGB +
// alpha (ExtraSamples) with GDAL's own record of them, four "Undefined" bands, beside: GDAL reads
// the record, and so does pfce (band 4 was read as alpha: refused when picked, and the pixels
// where it was below 255 were no data, a prediction all 255). A record that says alpha is alpha.
TEST(ImageIo, GdalsRecordOfTheBandsOverrulesTheAlphaTag) {
    const std::string dir = test::temp_dir("io_gdal_colorinterp");
    const int w = 6, h = 5;
    std::vector<std::uint8_t> px;
    for (int i = 0; i < w * h; ++i) {
        const auto v = static_cast<std::uint8_t>(i * 7);
        px.insert(px.end(), {v, static_cast<std::uint8_t>(v + 1), static_cast<std::uint8_t>(v + 2),
                             static_cast<std::uint8_t>(100 + i)});  // band 4: no alpha at all
    }
    auto record = [](const char* fourth) {
        std::string xml = "<GDALMetadata>\n";
        for (int b = 0; b < 4; ++b)
            xml += "  <Item name=\"COLORINTERP\" sample=\"" + std::to_string(b) +
                   "\" role=\"colorinterp\">" + (b == 3 ? fourth : "Undefined") + "</Item>\n";
        return xml + "</GDALMetadata>\n";
    };
    write_raw_tiff(dir + "/stack.tif",
                   {.width = w, .height = h, .spp = 4, .gdal_metadata = record("Undefined")}, px);
    EXPECT_EQ(probe_image(dir + "/stack.tif").channels, 4);
    const RgbImage img = read_rgb(dir + "/stack.tif", 0, {.bands = {4, 1, 2}});
    EXPECT_EQ(img.pixels[0], 100);  // band 4 of pixel 0
    EXPECT_EQ(img.pixels[3 * 7], 107);
    expect_input_error([&] { read_rgb(dir + "/stack.tif", 0); },
                       {dir + "/stack.tif", "4 bands that are not RGB + alpha"});
    write_raw_tiff(dir + "/alpha.tif",
                   {.width = w,
                    .height = h,
                    .spp = 4,
                    .extra = EXTRASAMPLE_UNSPECIFIED,
                    .gdal_metadata = record("Alpha")},
                   px);
    EXPECT_EQ(probe_image(dir + "/alpha.tif").channels, 3);
    expect_input_error([&] { read_rgb(dir + "/alpha.tif", 0); },
                       {dir + "/alpha.tif", "pixels are transparent"});
    // Tagged a gray stack (gdal_translate -co PHOTOMETRIC=MINISBLACK) but recorded red, green,
    // blue: RGB, as GDAL reads it (hostile-user probe: refused as "a stack of 3 gray bands").
    std::vector<std::uint8_t> rgb;
    for (std::size_t i = 0; i < px.size(); i += 4)
        rgb.insert(rgb.end(), {px[i], px[i + 1], px[i + 2]});
    const std::string rgb_record =
        "<GDALMetadata>\n  <Item name=\"COLORINTERP\" sample=\"0\" role=\"colorinterp\">Red</Item>"
        "\n  <Item name=\"COLORINTERP\" sample=\"1\" role=\"colorinterp\">Green</Item>"
        "\n  <Item name=\"COLORINTERP\" sample=\"2\" role=\"colorinterp\">Blue</Item>"
        "\n</GDALMetadata>\n";
    write_raw_tiff(dir + "/gray_tagged_rgb.tif",
                   {.width = w,
                    .height = h,
                    .photometric = PHOTOMETRIC_MINISBLACK,
                    .gdal_metadata = rgb_record},
                   rgb);
    EXPECT_EQ(read_rgb(dir + "/gray_tagged_rgb.tif").pixels, rgb);
    // Without the record, a gray stack stays refused without a choice of bands.
    write_raw_tiff(dir + "/gray_stack.tif",
                   {.width = w, .height = h, .photometric = PHOTOMETRIC_MINISBLACK}, rgb);
    expect_input_error([&] { read_rgb(dir + "/gray_stack.tif"); }, {"a stack of 3 gray bands"});
}

TEST(ImageIo, TruncatedFilesAreRefusedNamingTheFile) {
    const std::string dir = test::temp_dir("io_truncated");
    const RgbImage img = test::random_rgb(64, 64, 7);
    // Strip data first, directory last (our writer): cutting the end loses the directory.
    write_tiff(dir + "/a.tif", img);
    truncate_file(dir + "/a.tif", 0.5);
    expect_input_error([&] { read_rgb(dir + "/a.tif"); }, {dir + "/a.tif"});
    // Directory intact, strip data corrupt: the header parses and decoding the strip fails.
    write_tiff(dir + "/c.tif", img);
    {
        TIFF* r = TIFFOpen((dir + "/c.tif").c_str(), "r");
        ASSERT_NE(r, nullptr);
        const std::uint64_t* offsets = nullptr;
        ASSERT_TRUE(TIFFGetField(r, TIFFTAG_STRIPOFFSETS, &offsets));
        const std::uint32_t strips = TIFFNumberOfStrips(r);
        const std::uint64_t last = offsets[strips - 1];
        TIFFClose(r);
        // Garbage over the start of the last strip's LZW data (an impossible first code).
        std::fstream f(dir + "/c.tif", std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(static_cast<std::streamoff>(last));
        const std::string junk(64, '\xff');
        f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
    }
    expect_input_error([&] { read_rgb(dir + "/c.tif"); }, {dir + "/c.tif", "truncated or corrupt"});
    write_png(dir + "/a.png", img);
    truncate_file(dir + "/a.png", 0.5);
    expect_input_error([&] { read_rgb(dir + "/a.png"); }, {dir + "/a.png", "truncated or corrupt"});
}

TEST(ImageIo, NotAnImageAndMissingFilesNameTheFile) {
    const std::string dir = test::temp_dir("io_bad");
    std::ofstream(dir + "/text.tif") << "hello, not a tiff";
    expect_input_error([&] { read_rgb(dir + "/text.tif"); },
                       {dir + "/text.tif", "not a TIFF, PNG or JPEG"});
    expect_input_error([&] { read_rgb(dir + "/absent.tif"); },
                       {dir + "/absent.tif", "cannot open"});
    expect_input_error([&] { probe_image(dir + "/absent.png"); }, {dir + "/absent.png"});
}

TEST(ImageIo, PixelLimitIsCheckedBeforeDecoding) {
    const std::string dir = test::temp_dir("io_limit");
    write_tiff(dir + "/big.tif", test::random_rgb(40, 30, 8));
    write_png(dir + "/big.png", test::random_rgb(40, 30, 8));
    for (const char* f : {"/big.tif", "/big.png"}) {
        expect_input_error([&] { read_rgb(dir + f, 1199); }, {dir + f, "40x30", "limit"});
        EXPECT_NO_THROW(read_rgb(dir + f, 1200));
    }
}

TEST(ImageIo, WritersAreAtomicAndLeaveNoTemporaries) {
    const std::string dir = test::temp_dir("io_atomic");
    write_png(dir + "/x.png", test::random_rgb(8, 8, 9));
    write_tiff(dir + "/x.tif", test::random_rgb(8, 8, 9));
    write_png(dir + "/x.png", test::random_rgb(8, 8, 10));  // overwrite in place
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"x.png", "x.tif"}));
    EXPECT_EQ(read_rgb(dir + "/x.png").pixels, test::random_rgb(8, 8, 10).pixels);
    EXPECT_THROW(write_png(dir + "/no/such/dir/y.png", test::random_rgb(4, 4, 1)), SystemError);
    const std::string tmp = temp_path_for(dir + "/z.png");
    EXPECT_EQ(fs::path(tmp).parent_path(), fs::path(dir));
    EXPECT_NE(tmp, temp_path_for(dir + "/z.png"));
    // A failed write names the user's file, never its temporary (a full disk said "writing
    // .p.png.tmp25022_0 failed"), also when a staged temporary is itself written atomically.
    EXPECT_EQ(target_of_temp(tmp), dir + "/z.png");
    EXPECT_EQ(target_of_temp(temp_path_for(tmp)), dir + "/z.png");
    EXPECT_EQ(target_of_temp(dir + "/.hidden.png"), dir + "/.hidden.png");
    for (const std::string& target :
         {dir + "/no/such/dir/y.png", temp_path_for(dir + "/no/such/dir/staged.png")}) {
        try {
            write_png(target, test::random_rgb(4, 4, 1));
            ADD_FAILURE() << "wrote " << target;
        } catch (const SystemError& e) {
            const std::string msg = e.what();
            EXPECT_MESSAGE_HAS(msg, target_of_temp(target));
            EXPECT_EQ(msg.find(".tmp"), std::string::npos) << msg;
        }
    }
    // So for write_file_atomically given a staged temporary (a report's documents), whose own
    // failure named the staged temporary.
    try {
        write_file_atomically(temp_path_for(dir + "/no/such/dir/report.html"), "x");
        ADD_FAILURE() << "wrote into a missing directory";
    } catch (const SystemError& e) {
        EXPECT_MESSAGE_HAS(std::string(e.what()),
                           "cannot write " + dir + "/no/such/dir/report.html");
        EXPECT_EQ(std::string(e.what()).find(".tmp"), std::string::npos) << e.what();
    }
    // A legal name too long for its temporary is refused as such (it failed as "cannot create
    // .NAME.tmp...: File name too long"); a TIFF path past the limit keeps the system's reason
    // (libtiff's message, cut at 512 bytes, lost it).
    const std::string long_name = dir + "/" + std::string(245, 'a') + ".png";
    // The limit is the one for the longest PID and counter, so it does not move with the PID (a
    // probe was told 244 bytes, then refused at 244 by a process whose PID had one digit more).
    EXPECT_MESSAGE_HAS(
        test::input_error_message([&] { write_png(long_name, test::random_rgb(2, 2, 1)); }),
        "up to 19 bytes longer, past the 255 a file name may have: expected a name of at most "
        "236 bytes");
    // Files that belong together (predict's mask and overlay) are staged, then each written
    // atomically: the limit the message states holds for them too (a temporary of the staged
    // temporary refused names 11 bytes shorter), and a name past it is named, not its temporary.
    const std::size_t limit = kMaxNameWrittenAtomically;
    ASSERT_EQ(limit, 236u);
    {
        StagedFiles staged;
        const std::string at_limit = dir + "/" + std::string(limit - 4, 'c') + ".png";
        write_png(staged.stage(at_limit), test::random_rgb(2, 2, 1));
        staged.commit(false);
        EXPECT_TRUE(fs::exists(at_limit)) << "a name of " << limit << " bytes";
    }
    for (const std::size_t n : {limit + 1, std::size_t{250}}) {
        const std::string past = dir + "/" + std::string(n - 4, 'd') + ".png";
        const std::string msg = test::input_error_message([&] {
            StagedFiles staged;
            write_png(staged.stage(past), test::random_rgb(2, 2, 1));
        });
        EXPECT_MESSAGE_HAS(msg, past + ": its name is " + std::to_string(n) + " bytes");
        EXPECT_EQ(msg.find(".tmp"), msg.find(".tmpPID_N")) << msg;  // no temporary named
    }
    try {
        write_tiff(dir + "/" + std::string(300, 'b') + ".tif", test::random_rgb(2, 2, 1));
        ADD_FAILURE() << "wrote a 304-byte name";
    } catch (const SystemError& e) {
        EXPECT_MESSAGE_HAS(std::string(e.what()), "File name too long");
    }
}

TEST(Palette, PotsdamDecodeEncodeRoundTrip) {
    const Palette& p = potsdam_palette();
    ASSERT_EQ(p.num_classes(), 6);
    EXPECT_EQ(p.classes[0].colour, (Rgb{255, 255, 255}));
    EXPECT_EQ(p.classes[5].colour, (Rgb{255, 0, 0}));
    LabelMap m(7, 5);
    for (int i = 0; i < 35; ++i) m.labels[i] = static_cast<std::uint8_t>(i % 7 == 6 ? 255 : i % 7);
    const RgbImage colours = p.encode(m);
    EXPECT_EQ(colours.at(0, 6)[0], 0);  // unlabelled -> black
    EXPECT_EQ(p.decode(colours, "mem").labels, m.labels);
}

TEST(Palette, UnknownColourNamesFilePixelAndColour) {
    RgbImage img(10, 8);
    std::fill(img.pixels.begin(), img.pixels.end(), 255);
    img.at(6, 3)[0] = 12;
    img.at(6, 3)[1] = 34;
    img.at(6, 3)[2] = 56;
    expect_input_error([&] { potsdam_palette().decode(img, "Label_9.tif"); },
                       {"Label_9.tif", "(12,34,56)", "x=3", "y=6"});
}

TEST(Palette, RealKagglePairsHaveTheKnownClassCounts) {
    PFCE_REQUIRE_POTSDAM_SAMPLE(sample);
    const std::string dir = sample + "/patches/Labels/";
    auto counts = [&](const std::string& f) {
        const LabelMap m = potsdam_palette().decode(read_rgb(dir + f), f);
        std::vector<long> c(7, 0);
        for (std::uint8_t v : m.labels) ++c[v == 255 ? 6 : v];
        return c;
    };
    EXPECT_EQ(counts("Label_0.tif"), (std::vector<long>{29700, 18688, 32256, 9356, 0, 0, 0}));
    EXPECT_EQ(counts("Label_1010.tif"), (std::vector<long>{0, 42166, 40061, 0, 0, 7773, 0}));
}
