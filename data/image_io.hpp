// Reading and writing image files. TIFF through libtiff (8-bit RGB/RGBA-less, any compression
// libtiff decodes, LZW included), PNG through libpng, JPEG (read only) through libjpeg. Every
// failure is an InputError naming the file and what is wrong (missing, truncated or damaged,
// 16-bit samples without a range, 4 bands no data.bands picks from, shown turned by an Orientation
// tag, ...). Writers are atomic: they write a temporary file beside the target and rename it, so a
// crash never leaves half a file.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "core/file_io.hpp"
#include "data/georef.hpp"
#include "data/image.hpp"
#include "data/palette.hpp"

namespace pfce {

struct ImageInfo {
    int width = 0;
    int height = 0;
    int channels = 0;
    int bits_per_sample = 0;  // as decoded: 9 to 15 stored bits read as 16 (stored_bits)
    // A compression that may change values ("" when none): JPEG, or a TIFF compressed by JPEG,
    // LERC, WebP or JPEG XL (the last three lossy unless written lossless, which the header does
    // not say). No labels are read from such a file.
    std::string lossy;
    // What check_image_layout needs to refuse, from the header, what only decoding would find.
    bool png = false;       // a PNG (whose 16-bit samples are not read)
    bool alpha = false;     // an alpha band besides `channels` (dropped where opaque)
    bool palette = false;   // 1 band of indices into a colour palette (shown as its colours)
    int sample_format = 1;  // TIFF SampleFormat: 1 unsigned, 2 signed, 3 floating point
    bool cmyk = false;      // TIFF ink bands (photometric SEPARATED): not read
    // A PNG's "pfce-labels" text (kLabelsTextKey): what its pixel values are, as pfce wrote them
    // ("" for other files).
    std::string labels = {};
    // A GeoTIFF's georeference (empty for any other file): pairs are checked for one grid.
    GeoReference geo = {};
    int stored_bits = 0;  // as the file stores them, where they differ from bits_per_sample
    // A TIFF's GDAL NoData value that its samples can hold: pixels holding it in every band have
    // no data, which training and evaluation read as stored (predict leaves them out).
    bool no_data_value = false;
    int file_bits() const { return stored_bits > 0 ? stored_bits : bits_per_sample; }
    // Samples that data.value_range scales to 8 bits: wider than 8 bits, signed or floating point.
    bool needs_value_range() const { return bits_per_sample > 8 || sample_format != 1; }
};

// "16-bit", "32-bit floating-point", "16-bit signed": how a message names samples of `bits` bits
// (as decoded) and TIFF SampleFormat `format`.
std::string sample_kind(int bits, int format);

// The PNG text key of pfce's own label PNGs (sample, link): their values are class indices
// (0..C-1, 255 unlabelled) of the masks.json beside them, not a dataset's mask.values.
inline constexpr const char* kLabelsTextKey = "pfce-labels";

// Header only (size, bands, bit depth) without decoding pixels; for limits and validation.
ImageInfo probe_image(const std::string& path);
bool is_jpeg_file(const std::string& path);  // by its header bytes, not its name
// Whether `path` is named as an image of a format pfce does not read (.bmp, .gif, .webp, .jp2,
// .jxl, .vrt, ...), so a command can name it rather than pass it over; sidecars (.tfw, .prj,
// .aux.xml) and other files are not.
bool is_unread_image_name(const std::string& path);
// How a file's samples become the model's 8-bit channels (the config's data.bands and
// data.value_range).
struct ImageChoice {
    // Which bands become the image's channels, 1-based as GDAL counts them: {1, 2, 3, 4} all four
    // of an RGB + infrared tile, {4, 1, 2} its IR-R-G, {1} band 1 copied into three channels
    // (image_channel_count_fits says which counts). Empty: the file's own colours, which must
    // then be RGB or grayscale.
    std::vector<int> bands{};
    // Samples wider than 8 bits, signed or floating point (16-bit counts, reflectance 0..1, SAR
    // backscatter in dB): the values read as 0 and 255 (linearly, clipped). Unset (hi <= lo), such
    // a file is refused: nothing in it says which of its values are black and white.
    double range_lo = 0, range_hi = 0;
    bool has_value_range() const { return range_hi > range_lo; }
};

// Everything we decode has at most 8 bits per sample (PNG grayscale may have 1, 2 or 4), 1 band
// (gray/palette) or 3 bands (RGB), or any number of bands when `choice.bands` picks from them, and
// unsigned 16 or 32 bits, signed 8, 16 or 32, or floating-point 32 or 64 when `choice` gives their
// range (`sample_format` as TIFF's SampleFormat: 1 unsigned, 2 signed, 3 floating point): an
// InputError naming the file says why anything else is refused.
void check_sample_layout(const std::string& path, int bits_per_sample, int channels,
                         const ImageChoice& choice = {}, int sample_format = 1);
// Every band of a file is decoded before data.bands picks from it, so the pixel limit alone does
// not bound the memory of a file of many bands or wide samples: 16 bytes a pixel of `max_pixels`
// do (eight 16-bit bands, four 32-bit ones, two 64-bit ones). An InputError for a w x h window of
// `bands` bands of `bits` bits (as decoded) past it; `what` names the window ("a 100x80 window").
void check_decoded_size(const std::string& path, const std::string& what, std::int64_t w,
                        std::int64_t h, int bands, int bits, std::int64_t max_pixels);
// Its first check alone: a sample type pfce reads at all, with or without a range (complex and
// 16-bit floating-point samples are not), before a command says which range it reads with.
void check_sample_type(const std::string& path, int bits_per_sample, int sample_format);

// check_sample_layout for an image's header, with what it also tells (the sample format, alpha,
// PNG): every refusal a decode would make, made before decoding, so a command can check all of its
// inputs before it writes anything.
void check_image_layout(const std::string& path, const ImageInfo& info,
                        const ImageChoice& choice = {});

// 8-bit RGB (grayscale is expanded to RGB; `choice` picks other bands, as many channels as it
// picks, and scales 16-bit samples).
// Refuses images above max_pixels (0 = no limit) before decoding, naming the file and its size.
RgbImage read_rgb(const std::string& path, std::int64_t max_pixels = 0,
                  const ImageChoice& choice = {});
// As read_rgb, but transparent pixels (alpha < 255, a PNG's tRNS colour or palette entry, 0 in a
// TIFF's nodata mask: outside an orthophoto's survey) are not refused, and pixels whose every band
// holds a GeoTIFF's GDAL NoData value count with them: `nodata` receives 1 for
// each of them (width*height, row-major; empty when there is none) and their colours are as
// stored, meaning nothing. For predict, which leaves them without a label.
// Where read_rgb_with_nodata's no-data pixels came from, as far as predict explains them.
struct NoDataSources {
    std::int64_t alpha = 0;          // transparent by an alpha band
    std::int64_t alpha_partial = 0;  // of those, alpha strictly between 0 and opaque
};
RgbImage read_rgb_with_nodata(const std::string& path, std::vector<std::uint8_t>& nodata,
                              std::int64_t max_pixels = 0, const ImageChoice& choice = {},
                              NoDataSources* sources = nullptr);
// A colour mask: as read_rgb, except that a palette PNG's transparent entries read as their
// palette colours (pfce's own label PNGs make "unlabelled" transparent, in the dataset's
// unlabelled colour, so they read back as masks of it); other transparency is refused as there.
// `marks`, when given, receives the pixels the file says have no label (below); a window
// (w > 0) reads only [x0, x0+w) x [y0, y0+h), as read_rgb_window.
struct MaskMarks {
    // 1 for each pixel of a transparent palette entry; width*height, or empty when there is none.
    std::vector<std::uint8_t> transparent;
    // 1 for each pixel holding the TIFF's GDAL NoData value in every band (a palette's: the
    // index, whatever colour it shows; 8- and 16-bit samples); empty when none does.
    std::vector<std::uint8_t> no_data;
};
RgbImage read_mask_rgb(const std::string& path, std::int64_t max_pixels = 0,
                       MaskMarks* marks = nullptr, int x0 = 0, int y0 = 0, int w = 0, int h = 0,
                       bool alpha_marks = false);
// `alpha_marks` (read_mask_rgb, read_gray): a person's annotations, where a labelling tool leaves
// what nobody drew transparent. Pixels of alpha 0 are then marked (MaskMarks::transparent), not
// refused; partly transparent ones (a soft brush's edge, its colour blended with what lay under
// it) are still refused, said so.
// What a mask file says has no data: a GeoTIFF's GDAL NoData value (tag 42113), which GDAL's
// -a_nodata writes and pfce's own GeoTIFF predictions carry. A mask tool that marks a value so
// means "no label here", but a dataset's settings may also give that value to a class.
struct MaskNoData {
    int value = -1;  // the pixel value (an index, or every band's sample); -1: none
    Rgb colour{};    // how read_mask_rgb reads those pixels: (v, v, v), or a palette's entry v
};
// An 8-bit TIFF's NoData value; none for other files (PNG and JPEG have no such tag).
MaskNoData read_mask_no_data(const std::string& path);
// 8-bit single-channel file (index-valued masks): a palette image's indices. `colormap`, when
// given, receives a palette image's colours (empty for others); `marks`, the pixels that a
// transparent palette entry, a tRNS gray or a TIFF's nodata mask marks (their values are kept).
LabelMap read_gray(const std::string& path, std::int64_t max_pixels = 0,
                   std::vector<Rgb>* colormap = nullptr, MaskMarks* marks = nullptr,
                   bool alpha_marks = false);
// The window [x0, x0+w) x [y0, y0+h) of a file (must lie inside it). TIFF decodes only the strips
// or tiles the window touches; PNG decodes the rows up to the window's end. max_pixels limits w*h.
RgbImage read_rgb_window(const std::string& path, int x0, int y0, int w, int h,
                         std::int64_t max_pixels = 0, const ImageChoice& choice = {});

void write_png(const std::string& path, const RgbImage& img);
// `transparent` (0..255; -1 none): the value a tRNS chunk makes transparent, which GDAL reads as
// the band's NoData (predict's confidence map marks pixels without data so).
void write_png_gray(const std::string& path, const LabelMap& img, int transparent = -1);
// An 8-bit palette PNG whose pixel values are the label values (a viewer shows colours[value]);
// `colours` has 256 entries, `alpha` 256 (0 = transparent) or none; `labels`, when given, is
// written as the kLabelsTextKey text (probe_image's ImageInfo::labels). Read back with read_gray.
void write_png_indexed(const std::string& path, const LabelMap& img,
                       const std::vector<Rgb>& colours, const std::vector<std::uint8_t>& alpha = {},
                       const std::string& labels = "");
// The georeference of a GeoTIFF (empty for any other file, a plain TIFF included), and a TIFF's
// RPCCoefficientTag (rpc_as_gdal_reads finds the camera model's other places).
GeoReference read_georeference(const std::string& path);
// An 8-bit palette TIFF (LZW) whose values are the labels, with `geo`'s GeoTIFF tags when given,
// and GDAL's NoData tag when `no_data` is a value (0..255; -1 = none), so that GIS tools show
// those pixels as no data.
void write_tiff_indexed(const std::string& path, const LabelMap& img,
                        const std::vector<Rgb>& colours, const GeoReference& geo = {},
                        int no_data = -1);
void write_tiff(const std::string& path, const RgbImage& img);  // LZW-compressed, like Potsdam
// LZW, one 8-bit band, with `geo`'s GeoTIFF tags when given, and GDAL's NoData tag when `no_data`
// is a value (0..255; -1 = none).
void write_tiff_gray(const std::string& path, const LabelMap& img, const GeoReference& geo = {},
                     int no_data = -1);
// LZW, one 8-bit band a name of `band_names` (GDAL's band descriptions, which QGIS shows), from
// `planes`, the bands one after another (band b's pixel i at b * width * height + i), with `geo`'s
// GeoTIFF tags when given; `valid`, when given (a byte a pixel, 0 where there is no data), as
// GDAL's internal nodata mask (a GIS shows those pixels as no data).
void write_tiff_bands(const std::string& path, const std::vector<std::uint8_t>& planes, int width,
                      int height, const std::vector<std::string>& band_names,
                      const GeoReference& geo = {}, const std::vector<std::uint8_t>& valid = {});

}  // namespace pfce
