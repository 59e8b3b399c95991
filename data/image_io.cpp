// Image file entry points: the format is told by the file's magic bytes (not its name), decoded
// samples become RgbImage / LabelMap here, and every writer goes through a temporary file that is
// renamed into place, so readers never see half a file.
#include "data/image_io.hpp"

#include "core/file_io.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <type_traits>
#include <vector>

#include "core/error.hpp"
#include "data/image_io_detail.hpp"

namespace pfce {
namespace detail {

Window resolve_window(const std::string& path, Window win, int width, int height,
                      std::int64_t max_pixels) {
    if (win.w < 0) win = Window{0, 0, width, height};
    if (win.x0 < 0 || win.y0 < 0 || win.w <= 0 || win.h <= 0 || win.x0 + win.w > width ||
        win.y0 + win.h > height)
        PFCE_THROW(InputError, path, ": window ", win.w, "x", win.h, " at (", win.x0, ",", win.y0,
                   ") does not lie inside the ", width, "x", height, " image");
    const std::int64_t pixels = static_cast<std::int64_t>(win.w) * win.h;
    if (max_pixels > 0 && pixels > max_pixels) {
        if (win.w == width && win.h == height)
            PFCE_THROW(InputError, path, " is ", width, "x", height, " = ", pixels,
                       " pixels, above the limit of ", max_pixels,
                       " pixels (raise the limit, e.g. --max-pixels, to read it)");
        PFCE_THROW(InputError, path, ": a ", win.w, "x", win.h, " window = ", pixels,
                   " pixels is above the limit of ", max_pixels, " pixels");
    }
    return win;
}

int exif_orientation(const unsigned char* p, std::size_t n) {
    if (n < 8) return 1;
    const bool le = p[0] == 'I' && p[1] == 'I';
    if (!le && !(p[0] == 'M' && p[1] == 'M')) return 1;
    auto u16 = [&](std::size_t o) -> unsigned {
        return le ? p[o] | (p[o + 1] << 8) : (p[o] << 8) | p[o + 1];
    };
    auto u32 = [&](std::size_t o) -> std::size_t {
        return le ? u16(o) | (std::size_t{u16(o + 2)} << 16)
                  : (std::size_t{u16(o)} << 16) | u16(o + 2);
    };
    if (u16(2) != 42) return 1;
    const std::size_t ifd = u32(4);
    if (ifd > n || n - ifd < 2) return 1;
    const unsigned entries = u16(ifd);
    for (unsigned i = 0; i < entries; ++i) {
        const std::size_t e = ifd + 2 + 12 * std::size_t{i};
        if (e + 12 > n) break;
        if (u16(e) != 0x0112) continue;
        // SHORT as the standard says; LONG from some writers.
        if (u16(e + 2) == 3) return static_cast<int>(u16(e + 8));
        if (u16(e + 2) == 4) return static_cast<int>(std::min<std::size_t>(u32(e + 8), 65535));
        return 1;
    }
    return 1;
}

[[noreturn]] void refuse_orientation(const std::string& path, const char* how, int orientation) {
    static const char* const kShown[] = {"",
                                         "as stored",
                                         "mirrored left to right",
                                         "rotated 180 degrees",
                                         "mirrored top to bottom",
                                         "transposed (mirrored along the main diagonal)",
                                         "rotated 90 degrees clockwise",
                                         "transversed (mirrored along the other diagonal)",
                                         "rotated 90 degrees counter-clockwise"};
    const char* shown = orientation >= 1 && orientation <= 8 ? kShown[orientation] : "turned";
    PFCE_THROW(InputError, path, ": ", how, " Orientation ", orientation, " (viewers show it ",
               shown,
               "): pfce reads the stored pixels, so image and mask would line up only if the mask "
               "follows the stored pixels, and nothing says which; store the pixels upright "
               "(e.g. convert IN -auto-orient OUT), or, if the mask follows the stored pixels, set "
               "the tag to 1 (expected Orientation 1 or none)");
}

void drop_opaque_alpha(const std::uint8_t* with_alpha, int bands, DecodedSamples& d) {
    const std::size_t n = static_cast<std::size_t>(d.width) * d.height;
    const int colours = bands - 1;
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t* px = with_alpha + i * bands;
        if (px[colours] != 255) {
            d.mark_transparent(i);
            ++d.alpha_transparent;
            d.alpha_partial += px[colours] != 0;
        }
        std::memcpy(&d.samples[i * colours], px, static_cast<std::size_t>(colours));
    }
}

[[noreturn]] void refuse_16_bit_png(const std::string& path) {
    PFCE_THROW(InputError, path,
               ": 16-bit PNG is not read (expected 8-bit RGB, grayscale or palette PNG; 16-bit "
               "images are read as TIFF with data.value_range: gdal_translate IN OUT.tif)");
}

[[noreturn]] void refuse_cmyk_tiff(const std::string& path) {
    PFCE_THROW(InputError, path,
               ": CMYK (photometric interpretation 5) is not supported (expected RGB or "
               "grayscale; convert it, e.g. convert IN -colorspace sRGB OUT.tif)");
}

[[noreturn]] void refuse_wide_palette(const std::string& path) {
    PFCE_THROW(InputError, path,
               ": a palette of more than 8 bits is not supported (expected a palette of 8 bits or "
               "fewer; wider samples as gray, RGB or band stacks)");
}

[[noreturn]] void refuse_transparent(const std::string& path, const DecodedSamples& d, bool image) {
    const std::size_t count = d.transparent;
    const int x = d.first_transparent_x, y = d.first_transparent_y;
    // Most of them partly transparent: an alpha band of measurements (an RGBIR file's infrared
    // tagged as alpha), where filling the pixels would throw the band away.
    std::string measurement;
    if (image && d.alpha_transparent > 0 && d.alpha_partial * 2 > d.alpha_transparent)
        measurement = "; " + std::to_string(d.alpha_partial) +
                      " of them are partly transparent, "
                      "as a band of measurements tagged as alpha would be: if band " +
                      std::to_string(d.channels + 1) +
                      " holds infrared or another measurement, tag it as such (gdal_translate "
                      "-colorinterp_" +
                      std::to_string(d.channels + 1) +
                      " undefined IN OUT.tif) and pick the bands to read with data.bands "
                      "(--bands)";
    PFCE_THROW(InputError, path, ": ", count, count == 1 ? " pixel is" : " pixels are",
               " transparent (alpha < 255, a PNG's tRNS colour or palette entry, or 0 "
               "in a TIFF's nodata mask or its .msk file; the first at x=",
               x, ", y=", y,
               "), and a transparent pixel's colour means nothing (expected no transparency, or "
               "an alpha band that is opaque everywhere): in an image, fill them (e.g. convert "
               "IN -background black -alpha remove OUT, or gdal_translate -mask none IN OUT) and "
               "mark them unlabelled in the mask; in a mask, fill them with an ignore colour of "
               "the dataset (mask.ignore_colours), never with a class's colour (black may be "
               "one), so that they read as unlabelled",
               measurement);
}

// GDAL counts an alpha band as the last band; pfce drops it (where opaque), so a pick of it
// would read nothing.
void refuse_a_pick_of_the_alpha_band(const std::string& path, int colour_bands,
                                     const ImageChoice& choice) {
    for (const int b : choice.bands)
        if (b == colour_bands + 1)
            PFCE_THROW(InputError, path, ": data.bands asks for band ", b,
                       ", the file's alpha band, which is not read (an opaque alpha band is "
                       "dropped, its transparent pixels are no data; expected bands 1..",
                       colour_bands,
                       "; if that band holds infrared or another measurement, tag it as such: "
                       "gdal_translate -colorinterp_",
                       b, " undefined IN OUT.tif)");
}

void refuse_packed_samples_not_unsigned(const std::string& path, int stored_bits, int format) {
    if (format == 1) return;
    PFCE_THROW(InputError, path, ": ", sample_kind(stored_bits, format),
               " samples packed bit after bit are not supported (expected packed samples "
               "unsigned; gdal_translate -ot Int16 IN OUT.tif stores them in 16 bits)");
}

void refuse_alpha_of_wide_samples(const std::string& path, int bits, int format) {
    if (format == 1 && bits <= 16) return;
    PFCE_THROW(InputError, path, ": an alpha band in ", sample_kind(bits, format),
               " samples is not read (expected an alpha band in 8- or 16-bit unsigned samples; "
               "mark the pixels without data by a NoData value instead, e.g. gdalwarp "
               "-dstnodata nan rather than -dstalpha)");
}

}  // namespace detail

void check_decoded_size(const std::string& path, const std::string& what, std::int64_t w,
                        std::int64_t h, int bands, int bits, std::int64_t max_pixels) {
    const int bytes = bits <= 8 ? 1 : bits / 8;
    const std::int64_t decoded = w * h * bands * bytes;
    if (max_pixels > 0 && (bands > 3 || bytes > 2) && decoded > max_pixels * 16)
        PFCE_THROW(InputError, path, ": ", what, " of ", bands, " bands of ", bits,
                   " bits decodes to ", decoded, " bytes, above the limit of ", max_pixels * 16,
                   " (16 bytes per pixel of max_pixels; raise --max-pixels)");
}

std::string sample_kind(int bits, int format) {
    return std::to_string(bits) + "-bit" +
           (format == 2   ? " signed"
            : format == 3 ? " floating-point"
            : format == 5 ? " complex integer"
            : format == 6 ? " complex floating-point"
            : format != 1 ? " (sample format " + std::to_string(format) + ")"
                          : std::string());
}

void check_sample_type(const std::string& path, int bits_per_sample, int sample_format) {
    // What is read, each through data.value_range but unsigned 8 bits or fewer: unsigned 16 and
    // 32 bits, signed 8, 16 and 32, floating-point 32 and 64 (GDAL's types but complex ones).
    const bool unsigned_ok =
        sample_format == 1 && ((bits_per_sample >= 1 && bits_per_sample <= 8) ||
                               bits_per_sample == 16 || bits_per_sample == 32);
    const bool signed_ok = sample_format == 2 &&
                           (bits_per_sample == 8 || bits_per_sample == 16 || bits_per_sample == 32);
    const bool float_ok = sample_format == 3 && (bits_per_sample == 32 || bits_per_sample == 64);
    if (!unsigned_ok && !signed_ok && !float_ok)
        PFCE_THROW(InputError, path, ": ", sample_kind(bits_per_sample, sample_format),
                   " samples are not supported (expected 8-bit samples, or with data.value_range "
                   "unsigned 16- or 32-bit, signed 8-, 16- or 32-bit, or floating-point 32- or "
                   "64-bit ones; e.g. gdal_translate -ot Float32 IN OUT.tif converts them to "
                   "32-bit floating point",
                   sample_format == 5 || sample_format == 6 ? ", keeping the real part" : "", ")");
}

void check_sample_layout(const std::string& path, int bits_per_sample, int channels,
                         const ImageChoice& choice, int sample_format) {
    const std::vector<int>& bands = choice.bands;
    const std::string kind = sample_kind(bits_per_sample, sample_format);
    check_sample_type(path, bits_per_sample, sample_format);
    const bool ranged = bits_per_sample > 8 || sample_format != 1;
    if (ranged && !choice.has_value_range())
        PFCE_THROW(
            InputError, path, ": ", kind,
            " samples, and nothing says which values are black and white (expected "
            "8-bit unsigned samples, or give data.value_range: --value-range 0,10000 reads 0 as 0 "
            "and 10000 and above as 255, e.g. for Sentinel-2 reflectance stored as counts, "
            "--value-range 0,0.3 for reflectance stored as 0..1, --value-range -25,0 for "
            "backscatter in dB; gdalinfo -stats FILE shows the values a file holds; "
            "value_range = [0, 10000] under [image] in a generic dataset's dataset.toml gives "
            "every command the range)");
    // One scale for the whole dataset: 8-bit images beside 16-bit ones would be read on two.
    if (choice.has_value_range() && !ranged)
        PFCE_THROW(InputError, path, ": ", bits_per_sample,
                   "-bit samples, but data.value_range says how to read wider, signed or "
                   "floating-point ones (expected such samples in every image, or no "
                   "data.value_range for 8-bit images)");
    if (!bands.empty()) {
        if (!image_channel_count_fits(static_cast<int>(bands.size())))
            PFCE_THROW(InputError, path, ": data.bands gives ", bands.size(), " bands (expected ",
                       kImageChannelCounts, ")");
        if (channels > 255)
            PFCE_THROW(InputError, path, ": ", channels,
                       " bands are not read (expected at most 255)");
        for (const int b : bands)
            if (b < 1 || b > channels)
                PFCE_THROW(InputError, path, ": data.bands asks for band ", b,
                           ", but the file has ", channels, channels == 1 ? " band" : " bands",
                           " (expected bands 1..", channels, ")");
        return;
    }
    const std::string pick =
        " or pick the bands the model sees with data.bands, three to eight (--bands 1,2,3,4 "
        "gives it all four of RGB + infrared, --bands 4,1,2 makes IR-R-G of them, or bands = [4, "
        "1, 2] "
        "under [image] in a generic dataset's dataset.toml for every command; predict reads the "
        "bands its model was trained with)";
    if (channels == 4)
        PFCE_THROW(InputError, path,
                   ": 4 bands that are not RGB + alpha (RGB + near infrared, or a 4th band the "
                   "file does not call alpha) are not supported without a choice (expected 3-band "
                   "RGB or 1-band grayscale, either with an opaque alpha band or none;",
                   pick, ")");
    if (channels != 1 && channels != 3)
        PFCE_THROW(InputError, path, ": ", channels,
                   " bands are not supported without a choice (expected 3-band RGB or 1-band "
                   "grayscale;",
                   pick, ")");
}

void check_image_layout(const std::string& path, const ImageInfo& info, const ImageChoice& choice) {
    if (info.png && info.bits_per_sample == 16) detail::refuse_16_bit_png(path);
    if (info.alpha) detail::refuse_a_pick_of_the_alpha_band(path, info.channels, choice);
    if (info.cmyk) detail::refuse_cmyk_tiff(path);
    if (info.stored_bits > 8 && info.stored_bits < 16)
        detail::refuse_packed_samples_not_unsigned(path, info.stored_bits, info.sample_format);
    check_sample_type(path, info.bits_per_sample, info.sample_format);
    if (info.palette && info.needs_value_range()) detail::refuse_wide_palette(path);
    if (info.alpha)
        detail::refuse_alpha_of_wide_samples(path, info.bits_per_sample, info.sample_format);
    check_sample_layout(path, info.bits_per_sample, info.channels, choice, info.sample_format);
}

namespace {

enum class Format { tiff, png, jpeg };

Format sniff_format(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        PFCE_THROW(InputError, path, " is a directory (expected an image file)");
    unsigned char magic[8] = {0};
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) PFCE_THROW(InputError, "cannot open ", path, ": ", std::strerror(errno));
    const std::size_t n = std::fread(magic, 1, sizeof magic, f);
    std::fclose(f);
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n == 8 && std::memcmp(magic, png_sig, 8) == 0) return Format::png;
    // "II*\0" / "MM\0*" classic TIFF, "II+\0" / "MM\0+" BigTIFF.
    if (n >= 4 && ((magic[0] == 'I' && magic[1] == 'I' && (magic[2] == 42 || magic[2] == 43) &&
                    magic[3] == 0) ||
                   (magic[0] == 'M' && magic[1] == 'M' && magic[2] == 0 &&
                    (magic[3] == 42 || magic[3] == 43))))
        return Format::tiff;
    if (n >= 3 && magic[0] == 0xFF && magic[1] == 0xD8 && magic[2] == 0xFF) return Format::jpeg;
    if (n == 0) PFCE_THROW(InputError, path, ": empty file (expected a TIFF, PNG or JPEG image)");
    PFCE_THROW(InputError, path, ": not a TIFF, PNG or JPEG file (unrecognized header bytes)");
}

detail::DecodedSamples decode(const std::string& path, detail::Window win, std::int64_t max_pixels,
                              const ImageChoice& choice = {}) {
    const Format format = sniff_format(path);
    if (format == Format::tiff) return detail::read_tiff(path, win, max_pixels, choice);
    // PNG and JPEG decode 8-bit samples only (a 16-bit PNG is refused by name): a range for 16-bit
    // ones is refused here, as TIFF's check refuses it for an 8-bit TIFF.
    if (choice.has_value_range()) {
        const ImageInfo info =
            format == Format::png ? detail::probe_png(path) : detail::probe_jpeg(path);
        if (info.bits_per_sample != 16)
            check_sample_layout(path, info.bits_per_sample, info.channels, choice);
    }
    return format == Format::png ? detail::read_png(path, win, max_pixels)
                                 : detail::read_jpeg(path, win, max_pixels);
}

RgbImage to_rgb(const std::string& path, const detail::DecodedSamples& d);

// The bands `bands` picks (1-based) of `d` as an image's channels, as stored: one per pick, or
// three copies of one. A 1-band file is read as it is shown (gray scaled, and inverted where
// stored min-is-white; a palette's colours), since band 1 is all a pick can name in it.
RgbImage pick_bands(const std::string& path, const detail::DecodedSamples& d,
                    const std::vector<int>& bands) {
    ImageChoice only_bands;
    only_bands.bands = bands;
    check_sample_layout(path, 8, d.channels, only_bands);
    const int channels = image_channels_of_bands(static_cast<int>(bands.size()));
    if (d.channels == 1) {  // every pick is band 1
        // A palette's one band is its colours, three channels: more picks of it name nothing.
        if (!d.colormap.empty() && channels != 3)
            PFCE_THROW(InputError, path,
                       ": a palette image, whose one band reads as its colours "
                       "(three channels), but data.bands picks it ",
                       bands.size(),
                       " times (expected one or three picks of band 1, or an image of ",
                       bands.size(), " bands)");
        RgbImage gray = to_rgb(path, d);
        if (channels == 3) return gray;
        RgbImage img(d.width, d.height, channels);
        const std::size_t n = static_cast<std::size_t>(d.width) * d.height;
        for (std::size_t i = 0; i < n; ++i)
            std::fill_n(&img.pixels[i * static_cast<std::size_t>(channels)], channels,
                        gray.pixels[3 * i]);
        return img;
    }
    if (d.transparent > 0) detail::refuse_transparent(path, d, true);
    const std::uint8_t* src = d.samples.data();
    const auto stride = static_cast<std::size_t>(d.channels);
    RgbImage img(d.width, d.height, channels);
    const std::size_t n = static_cast<std::size_t>(d.width) * d.height;
    for (int c = 0; c < channels; ++c) {
        const int from = bands[bands.size() == 1 ? 0 : static_cast<std::size_t>(c)] - 1;
        for (std::size_t i = 0; i < n; ++i)
            img.pixels[i * static_cast<std::size_t>(channels) + static_cast<std::size_t>(c)] =
                src[i * stride + static_cast<std::size_t>(from)];
    }
    return img;
}

RgbImage to_rgb(const std::string& path, const detail::DecodedSamples& d) {
    if (d.transparent > 0) detail::refuse_transparent(path, d, true);
    RgbImage img(d.width, d.height);
    const std::size_t n = static_cast<std::size_t>(d.width) * d.height;
    if (d.channels == 3) {
        img.pixels = d.samples;
    } else if (!d.colormap.empty()) {
        for (std::size_t i = 0; i < n; ++i) {
            // An index past the palette has no colour (the PNG specification calls it an
            // error); as black it would become whichever class or ignore colour black is. (Read
            // as index values, read_gray, it is just a value.)
            if (d.samples[i] >= d.colormap.size())
                PFCE_THROW(InputError, path, ": pixel (x=", d.x0 + static_cast<int>(i % d.width),
                           ", y=", d.y0 + static_cast<int>(i / d.width), ") has palette index ",
                           static_cast<int>(d.samples[i]), " but the palette has only ",
                           d.colormap.size(), " colours (expected an index below ",
                           d.colormap.size(), ")");
            const Rgb& c = d.colormap[d.samples[i]];
            img.pixels[3 * i] = c[0];
            img.pixels[3 * i + 1] = c[1];
            img.pixels[3 * i + 2] = c[2];
        }
    } else {
        const int maxv = (1 << d.gray_bits) - 1;  // sub-byte gray scales to the full 0..255 range
        for (std::size_t i = 0; i < n; ++i) {
            const int stored = d.min_is_white ? maxv - d.samples[i] : d.samples[i];
            const auto v = static_cast<std::uint8_t>(stored * 255 / maxv);
            img.pixels[3 * i] = img.pixels[3 * i + 1] = img.pixels[3 * i + 2] = v;
        }
    }
    return img;
}

LabelMap to_gray(const std::string& path, detail::DecodedSamples&& d) {
    // tRNS and nodata-mask transparency leave a label its value (pfce's own masks make
    // "unlabelled" transparent); a label under alpha < 255 is refused, as it always was.
    if (d.alpha_transparent > 0) detail::refuse_transparent(path, d, false);
    if (d.channels != 1)
        PFCE_THROW(InputError, path,
                   ": expected a 1-band mask (grayscale or palette indices), got ", d.channels,
                   " bands (RGB); colour masks need a palette encoding");
    LabelMap m;
    m.width = d.width;
    m.height = d.height;
    m.labels = std::move(d.samples);
    return m;
}

void check_writable(const std::string& path, int width, int height, std::size_t size,
                    int channels) {
    if (width <= 0 || height <= 0 || size != static_cast<std::size_t>(width) * height * channels)
        PFCE_THROW(ShapeError, "cannot write ", path, ": image ", width, "x", height, " with ",
                   size, " bytes (expected ", channels, " per pixel)");
}

const std::vector<std::uint8_t>& samples_of(const RgbImage& img) {
    return img.pixels;
}
const std::vector<std::uint8_t>& samples_of(const LabelMap& img) {
    return img.labels;
}

// Checks the image's buffer, then writes it through `write_file(tmp, samples, width, height,
// channels)` to a temporary file renamed over `path` (never a half-written image).
template <typename Image, typename WriteFile>
void write_image(const std::string& path, const Image& img, WriteFile&& write_file) {
    const int channels = std::is_same_v<Image, RgbImage> ? 3 : 1;
    const std::vector<std::uint8_t>& samples = samples_of(img);
    check_writable(path, img.width, img.height, samples.size(), channels);
    write_atomically(path, [&](const std::string& tmp) {
        write_file(tmp, samples.data(), img.width, img.height, channels);
    });
}

}  // namespace

ImageInfo probe_image(const std::string& path) {
    switch (sniff_format(path)) {
        case Format::png:
            return detail::probe_png(path);
        case Format::jpeg:
            return detail::probe_jpeg(path);
        case Format::tiff:
            break;
    }
    return detail::probe_tiff(path);
}

bool is_jpeg_file(const std::string& path) {
    return sniff_format(path) == Format::jpeg;
}

RgbImage read_rgb(const std::string& path, std::int64_t max_pixels, const ImageChoice& choice) {
    const detail::DecodedSamples d = decode(path, detail::Window{}, max_pixels, choice);
    return choice.bands.empty() ? to_rgb(path, d) : pick_bands(path, d, choice.bands);
}

RgbImage read_rgb_with_nodata(const std::string& path, std::vector<std::uint8_t>& nodata,
                              std::int64_t max_pixels, const ImageChoice& choice,
                              NoDataSources* sources) {
    detail::DecodedSamples d = decode(path, detail::Window{}, max_pixels, choice);
    if (sources) {
        sources->alpha = static_cast<std::int64_t>(d.alpha_transparent);
        sources->alpha_partial = static_cast<std::int64_t>(d.alpha_partial);
    }
    nodata = std::move(d.transparent_at);
    if (!d.no_data_value_at.empty()) {  // a GeoTIFF's NoData value, as predict leaves it
        if (nodata.empty()) nodata.assign(d.no_data_value_at.size(), 0);
        for (std::size_t i = 0; i < nodata.size(); ++i) nodata[i] |= d.no_data_value_at[i];
    }
    d.transparent = 0;
    return choice.bands.empty() ? to_rgb(path, d) : pick_bands(path, d, choice.bands);
}

bool is_unread_image_name(const std::string& path) {
    std::string ext = std::filesystem::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (const char* e : {".bmp", ".gif", ".webp", ".jp2", ".j2k", ".jpx", ".jxl", ".vrt", ".img",
                          ".ecw", ".sid", ".heic", ".pgm", ".ppm", ".pnm", ".tga"})
        if (ext == e) return true;
    return false;
}

MaskNoData read_mask_no_data(const std::string& path) {
    return sniff_format(path) == Format::tiff ? detail::read_tiff_mask_no_data(path) : MaskNoData{};
}

namespace {

// alpha_marks: an annotation's alpha band may only say "drawn" (255) or "not drawn" (0).
void refuse_partly_transparent_annotation(const std::string& path,
                                          const detail::DecodedSamples& d) {
    // An alpha band's, or a palette entry's (pngquant and indexed exports keep soft edges so).
    const std::size_t partial = d.alpha_partial + d.palette_partial;
    if (partial == 0) return;
    PFCE_THROW(InputError, path, ": ", partial, partial == 1 ? " pixel is" : " pixels are",
               " partly transparent (alpha between 1 and 254), as a soft brush's edge is: its "
               "colour is blended with what lay under it, so it names no class. In annotations "
               "only fully transparent pixels (alpha 0) read as unlabelled: draw with a "
               "hard-edged pencil, or make the alpha all or nothing (convert IN -channel A "
               "-threshold 50% +channel OUT)");
}

}  // namespace

RgbImage read_mask_rgb(const std::string& path, std::int64_t max_pixels, MaskMarks* marks, int x0,
                       int y0, int w, int h, bool alpha_marks) {
    detail::DecodedSamples d =
        decode(path, w > 0 ? detail::Window{x0, y0, w, h} : detail::Window{}, max_pixels);
    if (alpha_marks) refuse_partly_transparent_annotation(path, d);
    // Entries keep their colours, and so do an annotation's pixels of alpha 0 (marked below).
    const bool entries_only =
        d.transparent == d.palette_transparent || (alpha_marks && marks != nullptr);
    if (entries_only) d.transparent = 0;
    // A mask means its stored values, as GDAL reads it: a "min is white" binary mask shown
    // inverted would swap its two classes (read_gray keeps them too).
    d.min_is_white = false;
    RgbImage img = to_rgb(path, d);
    if (marks) {
        marks->transparent.clear();
        if (entries_only && (d.palette_transparent > 0 || alpha_marks))
            marks->transparent = std::move(d.transparent_at);
        marks->no_data = std::move(d.no_data_value_at);
    }
    return img;
}

LabelMap read_gray(const std::string& path, std::int64_t max_pixels, std::vector<Rgb>* colormap,
                   MaskMarks* marks, bool alpha_marks) {
    detail::DecodedSamples d = decode(path, detail::Window{}, max_pixels);
    if (colormap) *colormap = d.colormap;
    if (alpha_marks && marks) {
        refuse_partly_transparent_annotation(path, d);
        d.alpha_transparent = 0;  // marked below, not refused
    }
    if (marks) {
        marks->transparent =
            d.alpha_transparent == 0 ? d.transparent_at : std::vector<std::uint8_t>{};
        marks->no_data = d.no_data_value_at;
    }
    return to_gray(path, std::move(d));
}

RgbImage read_rgb_window(const std::string& path, int x0, int y0, int w, int h,
                         std::int64_t max_pixels, const ImageChoice& choice) {
    if (w <= 0 || h <= 0) PFCE_THROW(InputError, path, ": empty window ", w, "x", h);
    const detail::DecodedSamples d = decode(path, detail::Window{x0, y0, w, h}, max_pixels, choice);
    return choice.bands.empty() ? to_rgb(path, d) : pick_bands(path, d, choice.bands);
}

void write_png(const std::string& path, const RgbImage& img) {
    write_image(path, img, detail::write_png_file);
}

void write_png_gray(const std::string& path, const LabelMap& img, int transparent) {
    if (transparent < 0) return write_image(path, img, detail::write_png_file);
    write_image(path, img,
                [&](const std::string& tmp, const std::uint8_t* samples, int w, int h, int) {
                    detail::write_png_gray_file(tmp, samples, w, h, transparent);
                });
}

void write_png_indexed(const std::string& path, const LabelMap& img,
                       const std::vector<Rgb>& colours, const std::vector<std::uint8_t>& alpha,
                       const std::string& labels) {
    write_image(path, img,
                [&](const std::string& tmp, const std::uint8_t* samples, int w, int h, int) {
                    detail::write_png_palette_file(tmp, samples, w, h, colours, alpha, labels);
                });
}

GeoReference read_georeference(const std::string& path) {
    return sniff_format(path) == Format::tiff ? detail::read_tiff_georeference(path)
                                              : GeoReference{};
}

void write_tiff_indexed(const std::string& path, const LabelMap& img,
                        const std::vector<Rgb>& colours, const GeoReference& geo, int no_data) {
    write_image(path, img,
                [&](const std::string& tmp, const std::uint8_t* samples, int w, int h, int) {
                    detail::write_tiff_palette_file(tmp, samples, w, h, colours, geo, no_data);
                });
}

void write_tiff(const std::string& path, const RgbImage& img) {
    write_image(path, img,
                [](const std::string& tmp, const std::uint8_t* samples, int w, int h,
                   int channels) { detail::write_tiff_file(tmp, samples, w, h, channels); });
}

void write_tiff_bands(const std::string& path, const std::vector<std::uint8_t>& planes, int width,
                      int height, const std::vector<std::string>& band_names,
                      const GeoReference& geo, const std::vector<std::uint8_t>& valid) {
    const int bands = static_cast<int>(band_names.size());
    check_writable(path, width, height, planes.size(), bands);
    if (!valid.empty()) check_writable(path, width, height, valid.size(), 1);
    // TIFF's contiguous layout (as GDAL writes bands by default): a pixel's bands side by side.
    const std::size_t plane = static_cast<std::size_t>(width) * height;
    std::vector<std::uint8_t> samples(planes.size());
    for (std::size_t b = 0; b < static_cast<std::size_t>(bands); ++b)
        for (std::size_t i = 0; i < plane; ++i) samples[i * bands + b] = planes[b * plane + i];
    write_atomically(path, [&](const std::string& tmp) {
        detail::write_tiff_file(tmp, samples.data(), width, height, bands, geo, -1, band_names,
                                valid.empty() ? nullptr : valid.data());
    });
}

void write_tiff_gray(const std::string& path, const LabelMap& img, const GeoReference& geo,
                     int no_data) {
    write_image(
        path, img,
        [&](const std::string& tmp, const std::uint8_t* samples, int w, int h, int channels) {
            detail::write_tiff_file(tmp, samples, w, h, channels, geo, no_data);
        });
}

}  // namespace pfce
