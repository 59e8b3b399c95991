// Internals shared by the TIFF and PNG halves of image_io: the decoded-samples form both produce
// (1 or 3 interleaved 8-bit bands, plus a colour map for palette images) and the window checks, so
// format code only decodes and image_io.cpp turns samples into RgbImage / LabelMap.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/georef.hpp"
#include "data/image_io.hpp"
#include "data/palette.hpp"

namespace pfce::detail {

// A requested region; w < 0 means "the whole image" (resolved once the header is known).
struct Window {
    int x0 = 0, y0 = 0, w = -1, h = -1;
};

struct DecodedSamples {
    int width = 0, height = 0;          // of the window
    int x0 = 0, y0 = 0;                 // the window's corner in the file (for messages)
    int channels = 0;                   // 1 or 3; any number where ImageChoice picks
    std::vector<std::uint8_t> samples;  // width*height*channels, interleaved
    // Non-empty for palette images (channels == 1, values index it): the file's palette, which
    // may hold fewer than 256 colours (an index past it is an error when read as colours).
    std::vector<Rgb> colormap;
    int gray_bits = 8;  // 1-band non-palette samples hold 0..2^gray_bits-1 (PNG 1/2/4-bit)
    // 1-band TIFF stored "min is white": shown as an image, 0 is white (to_rgb inverts); read as
    // a mask, the stored value is the label (to_gray keeps it, as GDAL and rasterio read it).
    bool min_is_white = false;
    // Pixels a PNG tRNS chunk makes transparent (RGB or gray: one colour; palette: the entries of
    // alpha < 255). Shown as an image they
    // have no meaningful colour (to_rgb refuses them, as refuse_transparent says); read as a mask
    // their stored value is the label.
    std::size_t transparent = 0;
    std::size_t palette_transparent = 0;  // of `transparent`, those of palette entries
    std::size_t palette_partial = 0;      // of those, entries of alpha 1..254 (not 0)
    std::size_t alpha_transparent = 0;    // of `transparent`, those of an alpha band below 255
    // Of `alpha_transparent`, those strictly between transparent and opaque: an alpha band that
    // holds mostly such values is likely a measurement (infrared) tagged as alpha.
    std::size_t alpha_partial = 0;
    int first_transparent_x = 0, first_transparent_y = 0;
    // 1 where a pixel is transparent, for each of width*height (empty while none is): what
    // read_rgb_with_nodata reports.
    std::vector<std::uint8_t> transparent_at;
    // Pixels whose every band holds the TIFF's GDAL NoData value (tag 42113): for predict, which
    // leaves them without a class as it does transparent ones. Not counted in `transparent`:
    // training and evaluation read such a pixel as stored, since a value like 0 is also a colour
    // (a black shadow) that a dataset's masks may label. Empty while none is.
    std::vector<std::uint8_t> no_data_value_at;
    std::size_t no_data_values = 0;

    // Counts pixel i of the window (row-major) as transparent.
    void mark_transparent(std::size_t i) {
        if (transparent_at.empty())
            transparent_at.assign(static_cast<std::size_t>(width) * height, 0);
        if (transparent_at[i]) return;  // alpha and a nodata mask may both say so
        transparent_at[i] = 1;
        if (transparent++ == 0) {
            first_transparent_x = x0 + static_cast<int>(i % static_cast<std::size_t>(width));
            first_transparent_y = y0 + static_cast<int>(i / static_cast<std::size_t>(width));
        }
    }
};

// The error for a 16-bit PNG (only 16-bit TIFFs are read, with data.value_range).
[[noreturn]] void refuse_16_bit_png(const std::string& path);
// A CMYK TIFF, named as one before its four bands are counted (they are no RGB + infrared).
[[noreturn]] void refuse_cmyk_tiff(const std::string& path);
// A palette of 9 or more bits (its samples decode to 16): said before any want of a value range,
// which would not make it readable.
[[noreturn]] void refuse_wide_palette(const std::string& path);
// An alpha band is read in unsigned samples of 8 or 16 bits only (`bits` as decoded, `format` as
// TIFF's SampleFormat): an InputError for any other, naming the NoData value as the way instead.
void refuse_alpha_of_wide_samples(const std::string& path, int bits, int format);
// Samples of 9 to 15 bits (`stored_bits`) are unpacked as unsigned values: an InputError for signed
// ones, whose sign would be lost.
void refuse_packed_samples_not_unsigned(const std::string& path, int stored_bits, int format);

// The error for an image with d.transparent transparent pixels, the first at
// (d.first_transparent_x, d.first_transparent_y) of the file.
// `image`: read as an image (else as a mask, whose bands data.bands does not choose).
[[noreturn]] void refuse_transparent(const std::string& path, const DecodedSamples& d, bool image);

// Refuses an image whose file says it is shown rotated or mirrored (TIFF Orientation, JPEG
// EXIF Orientation, tag 274 in both): pfce reads the stored pixels, a viewer (and a labelling tool)
// shows them turned, so a mask may follow either and nothing tells which. `orientation` is the
// tag's value (2..8); `how` names the format ("TIFF", "EXIF").
[[noreturn]] void refuse_orientation(const std::string& path, const char* how, int orientation);
// The Orientation (tag 274 of IFD0) of an EXIF block that starts at its TIFF header ("II*\0" or
// "MM\0*": JPEG's APP1 after "Exif\0\0", PNG's eXIf chunk), 1 when there is none or it cannot be
// read. Bounds-checked: the block is the file's, not to be trusted.
int exif_orientation(const unsigned char* exif, std::size_t size);

// Drops the alpha band of `with_alpha` (`bands` interleaved samples per pixel, alpha last) into
// `d` (bands - 1 per pixel), which holds the window. An alpha band that is opaque everywhere (as
// GIS and image tools often write one) carries nothing; a pixel of alpha < 255 is marked
// transparent (mark_transparent, alpha_transparent): its colour means nothing, so readers of
// colours and labels refuse it, and predict leaves it without a label.
void drop_opaque_alpha(const std::uint8_t* with_alpha, int bands, DecodedSamples& d);

// A data.bands pick of a file's alpha band (band colour_bands + 1, GDAL's last) is refused,
// naming how to tag the band otherwise when it holds a measurement.
void refuse_a_pick_of_the_alpha_band(const std::string& path, int colour_bands,
                                     const ImageChoice& choice);

// The samples of `win` (resolved) with `channels` bands, zeroed: where each reader decodes into.
inline DecodedSamples window_samples(const Window& win, int channels) {
    DecodedSamples d;
    d.width = win.w;
    d.height = win.h;
    d.x0 = win.x0;
    d.y0 = win.y0;
    d.channels = channels;
    d.samples.resize(static_cast<std::size_t>(win.w) * win.h * channels);
    return d;
}

// Resolves a whole-image window, checks it lies inside width x height and respects max_pixels;
// InputError naming the file otherwise.
Window resolve_window(const std::string& path, Window win, int width, int height,
                      std::int64_t max_pixels);

ImageInfo probe_tiff(const std::string& path);
ImageInfo probe_png(const std::string& path);
ImageInfo probe_jpeg(const std::string& path);
// `choice.bands` (non-empty) lets a TIFF of any number of bands through, all decoded; with a range,
// wider, signed or floating-point samples are read and scaled to 8 bits by it.
DecodedSamples read_tiff(const std::string& path, Window win, std::int64_t max_pixels,
                         const ImageChoice& choice);
DecodedSamples read_png(const std::string& path, Window win, std::int64_t max_pixels);
MaskNoData read_tiff_mask_no_data(const std::string& path);
DecodedSamples read_jpeg(const std::string& path, Window win, std::int64_t max_pixels);

// Writers to an exact path (callers wrap them in write_atomically). channels is 1 or 3 (RGB), or
// any count of bands with `band_names` (one a band: GDAL's band descriptions); `geo`'s GeoTIFF
// tags when given; with `valid` (width * height, 0 where there is no data) GDAL's internal nodata
// mask.
void write_tiff_file(const std::string& path, const std::uint8_t* samples, int width, int height,
                     int channels, const GeoReference& geo = {}, int no_data = -1,
                     const std::vector<std::string>& band_names = {},
                     const std::uint8_t* valid = nullptr);
// 1-band palette TIFF with a 256-entry colour map and optional GeoTIFF tags.
void write_tiff_palette_file(const std::string& path, const std::uint8_t* indices, int width,
                             int height, const std::vector<Rgb>& colours, const GeoReference& geo,
                             int no_data = -1);
GeoReference read_tiff_georeference(const std::string& path);
// The TIFF tag GDAL stores RPC coefficients in (RPCCoefficientTag): read_tiff_georeference says so
// in GeoReference::rpc.
inline constexpr unsigned kTiffTagRpcCoefficients = 50844;
void write_png_file(const std::string& path, const std::uint8_t* samples, int width, int height,
                    int channels);
// An 8-bit gray PNG whose pixels of value `transparent` (0..255) a tRNS chunk makes transparent:
// GDAL reads that value as the band's NoData, QGIS shows them as nothing.
void write_png_gray_file(const std::string& path, const std::uint8_t* samples, int width,
                         int height, int transparent);
// An 8-bit palette PNG: `indices` are pixel values, `colours` the 256 PLTE entries, `alpha` 256
// tRNS entries (0 = transparent) or empty for an opaque image.
void write_png_palette_file(const std::string& path, const std::uint8_t* indices, int width,
                            int height, const std::vector<Rgb>& colours,
                            const std::vector<std::uint8_t>& alpha, const std::string& labels = "");

}  // namespace pfce::detail
