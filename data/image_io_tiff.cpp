// TIFF through libtiff: strip- or tile-wise decoding of 8-bit RGB (contiguous or planar), grayscale
// and palette images, and any number of bands when data.bands picks from them, wider, signed or
// floating-point samples scaled to 8 bits by data.value_range, with explicit checks of the sample
// layout so unsupported files (16-bit without a range, 4 bands unpicked, ...) are refused by
// name. libtiff's messages are captured per handle into the exception
// instead of being printed to stderr.
#include <tiffio.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "data/image_io_detail.hpp"

namespace pfce::detail {
namespace {

// Collects libtiff errors (and the first warning) for one handle.
struct TiffMessages {
    std::string errors;
    std::string reason;  // the system's, when the first error came from a failed write
    std::string text() const { return reason.empty() ? errors : reason + " (" + errors + ")"; }
};

// libtiff's write errors ("IO error writing tag data") do not say why; the errno of the write that
// failed does (a full disk, a quota, a file-size limit), and is still set when the handler runs.
bool is_storage_errno(int e) {
    return e == ENOSPC || e == EDQUOT || e == EFBIG || e == EIO || e == EROFS;
}

int capture_error(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
    const int err = errno;
    auto* m = static_cast<TiffMessages*>(user);
    if (m->errors.empty() && is_storage_errno(err)) m->reason = std::strerror(err);
    char buf[512];
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    if (!m->errors.empty()) m->errors += "; ";
    if (module && *module) {
        m->errors += module;
        m->errors += ": ";
    }
    m->errors += buf;
    return 1;  // handled: libtiff must not also print it
}

int ignore_warning(TIFF*, void*, const char*, const char*, va_list) {
    return 1;  // unknown tags and similar warnings do not concern us
}

struct TiffCloser {
    void operator()(TIFF* t) const { TIFFClose(t); }
};
using TiffPtr = std::unique_ptr<TIFF, TiffCloser>;

// Opens `path` with handlers that capture messages into `msgs` (which must outlive the handle).
// GeoTIFF's tags, as libgeotiff's xtiff.c declares them, and GDAL's NoData value, as GDAL
// declares it: registered with every TIFF libtiff opens, so they are read and written like any
// other tag (-1 = variable count, passed as a uint16).
const TIFFFieldInfo kGeoTiffFields[] = {
    {33550, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1, const_cast<char*>("ModelPixelScaleTag")},
    {33922, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1, const_cast<char*>("ModelTiepointTag")},
    {34264, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1, const_cast<char*>("ModelTransformationTag")},
    {34735, -1, -1, TIFF_SHORT, FIELD_CUSTOM, 1, 1, const_cast<char*>("GeoKeyDirectoryTag")},
    {34736, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1, const_cast<char*>("GeoDoubleParamsTag")},
    {34737, -1, -1, TIFF_ASCII, FIELD_CUSTOM, 1, 0, const_cast<char*>("GeoASCIIParamsTag")},
    {TIFFTAG_GDAL_NODATA, -1, -1, TIFF_ASCII, FIELD_CUSTOM, 1, 0,
     const_cast<char*>("GDALNoDataValue")},
    // GDAL's metadata (XML): among others, each band's colour interpretation where the TIFF tags
    // cannot say it (band_interpretations).
    {TIFFTAG_GDAL_METADATA, -1, -1, TIFF_ASCII, FIELD_CUSTOM, 1, 0,
     const_cast<char*>("GDALMetadata")},
    // A camera model GDAL writes into the TIFF itself (92 doubles), as it reads _RPC.TXT or .RPB
    // beside it: read so that predict carries it. (libtiff adds a field only where it has none of
    // that tag, so a libtiff that knows it keeps its own.)
    {kTiffTagRpcCoefficients, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1,
     const_cast<char*>("RPCCoefficientTag")},
};
TIFFExtendProc g_parent_extender = nullptr;

void geotiff_extender(TIFF* t) {
    TIFFMergeFieldInfo(t, kGeoTiffFields, sizeof kGeoTiffFields / sizeof kGeoTiffFields[0]);
    if (g_parent_extender) g_parent_extender(t);
}

TiffPtr open_tiff(const std::string& path, const char* mode, TiffMessages& msgs) {
    static const bool registered = [] {
        g_parent_extender = TIFFSetTagExtender(geotiff_extender);
        return true;
    }();
    (void)registered;
    TIFFOpenOptions* opts = TIFFOpenOptionsAlloc();
    TIFFOpenOptionsSetErrorHandlerExtR(opts, capture_error, &msgs);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, ignore_warning, &msgs);
    errno = 0;
    TIFF* t = TIFFOpenExt(path.c_str(), mode, opts);
    const int open_errno = errno;
    TIFFOpenOptionsFree(opts);
    if (!t) {
        if (mode[0] == 'r') {
            if (FILE* f = std::fopen(path.c_str(), "rb")) {
                std::fclose(f);
                PFCE_THROW(InputError, path,
                           ": truncated or corrupt TIFF, its header cannot be read (",
                           msgs.errors.empty() ? "libtiff could not parse it" : msgs.text(), ")");
            }
            PFCE_THROW(InputError, "cannot open ", path, ": ", std::strerror(errno));
        }
        // The system's reason where there is one: libtiff's message repeats the path, cut at 512
        // bytes, so a long path lost it ("File name too long").
        PFCE_THROW(SystemError, "cannot create ", path, ": ",
                   open_errno != 0       ? std::string(std::strerror(open_errno))
                   : msgs.errors.empty() ? std::string("libtiff could not create it")
                                         : msgs.text());
    }
    return TiffPtr(t);
}

struct TiffLayout {
    std::uint32_t width = 0, height = 0;
    std::uint16_t spp = 1, bps = 1, photometric = 0, planar = PLANARCONFIG_CONTIG, format = 1;
    std::uint16_t orientation = ORIENTATION_TOPLEFT;
    bool alpha = false;  // the last band is alpha (ExtraSamples), dropped where opaque
    int colour_bands() const { return spp - (alpha ? 1 : 0); }
    // 9- to 15-bit samples (GDAL's NBITS=12, say, packed bit after bit) are read as the 16-bit
    // values they are, as GDAL reads them: data.value_range scales them as 16-bit ones.
    bool packed_wide() const { return bps > 8 && bps < 16; }
    int decoded_bits() const { return packed_wide() ? 16 : bps; }
    // Bytes a decoded sample takes: 1 (8 bits or fewer), 2, 4 or 8, in the host's order.
    int sample_bytes() const { return decoded_bits() <= 8 ? 1 : decoded_bits() / 8; }
    // Samples data.value_range scales to 8 bits: wider than 8 bits, signed or floating point.
    bool ranged() const { return decoded_bits() > 8 || format != SAMPLEFORMAT_UINT; }
    bool tiled = false;
    const char* lossy = "";  // a compression that may change values: its name
};

// A decoded sample of `l` (l.sample_bytes() bytes at `p`, in the host's order) as a number.
double sample_value(const std::uint8_t* p, const TiffLayout& l) {
    auto as = [p](auto v) {
        std::memcpy(&v, p, sizeof v);
        return static_cast<double>(v);
    };
    switch (l.format) {
        case SAMPLEFORMAT_INT:
            return l.sample_bytes() == 1   ? as(std::int8_t{})
                   : l.sample_bytes() == 2 ? as(std::int16_t{})
                                           : as(std::int32_t{});
        case SAMPLEFORMAT_IEEEFP:
            return l.sample_bytes() == 4 ? as(float{}) : as(double{});
        default:
            return l.sample_bytes() == 1   ? as(std::uint8_t{})
                   : l.sample_bytes() == 2 ? as(std::uint16_t{})
                                           : as(std::uint32_t{});
    }
}

// Moves to the first full-resolution page: a file may begin with a thumbnail or a transparency
// mask (NewSubfileType bit 0 or 2: a reduced-resolution or mask page), which is not the image.
void select_full_resolution_page(TIFF* t, const std::string& path) {
    for (;;) {
        std::uint32_t subfile = 0;
        TIFFGetFieldDefaulted(t, TIFFTAG_SUBFILETYPE, &subfile);
        if ((subfile & (FILETYPE_REDUCEDIMAGE | FILETYPE_MASK)) == 0) return;
        if (!TIFFReadDirectory(t))
            PFCE_THROW(InputError, path,
                       ": TIFF holds only reduced-resolution or mask pages (NewSubfileType ",
                       subfile, "; expected a full-resolution page)");
    }
}

// A file is read at its first full-resolution page. Reduced-resolution and mask pages (a GeoTIFF's
// overviews) go with it; but a second full-resolution page as large, or larger, is something else:
// a stack of bands or masks saved page by page, or a thumbnail stored first unmarked (then predict
// wrote a thumbnail-sized mask). Said once per process, naming the file and the page.
void note_other_full_pages(TIFF* t, const std::string& path, std::uint32_t width,
                           std::uint32_t height) {
    static std::atomic<bool> told{false};
    if (told.load(std::memory_order_relaxed)) return;
    const tdir_t pages = TIFFNumberOfDirectories(t);
    bool first_full = true;
    for (tdir_t k = 0; k < pages && TIFFSetDirectory(t, k); ++k) {
        std::uint32_t subfile = 0, w = 0, h = 0;
        TIFFGetFieldDefaulted(t, TIFFTAG_SUBFILETYPE, &subfile);
        if (subfile & (FILETYPE_REDUCEDIMAGE | FILETYPE_MASK)) continue;
        if (first_full) {  // the page read
            first_full = false;
            continue;
        }
        TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
        TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
        if (static_cast<std::uint64_t>(w) * h < static_cast<std::uint64_t>(width) * height)
            continue;
        if (told.exchange(true)) return;
        log_warn(path, " has ", pages, " pages; only its first full-resolution page (", width, "x",
                 height, ") is read, but page ", k + 1, " is ", w, "x", h,
                 w * static_cast<std::uint64_t>(h) > static_cast<std::uint64_t>(width) * height
                     ? " (larger: a thumbnail stored first?)"
                     : " as well (a stack of bands or masks saved page by page?)",
                 ". Save the page meant as a file of its own (e.g. tiffsplit, or gdal_translate "
                 "-b); said once");
        return;
    }
}

// The colour interpretation GDAL records per band (0-based sample -> "Undefined", "Alpha", ...)
// in its metadata tag, where the TIFF tags cannot say it: GDAL writes 4 bands of 8 bits as RGB +
// alpha (ExtraSamples) whatever they hold, and records them as its users made them, e.g. four
// "Undefined" bands after gdalbuildvrt -separate. GDAL reads the record over the tags; so does
// pfce.
std::map<int, std::string> band_interpretations(TIFF* t) {
    std::map<int, std::string> out;
    const char* xml = nullptr;
    if (!TIFFGetField(t, TIFFTAG_GDAL_METADATA, &xml) || xml == nullptr) return out;
    static const std::regex item(
        R"re(<Item\s+name="COLORINTERP"\s+sample="([0-9]{1,5})"\s+role="colorinterp"\s*>\s*([A-Za-z0-9_]+)\s*</Item>)re");
    const std::string text(xml);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), item);
         it != std::sregex_iterator(); ++it) {
        std::string v = (*it)[2].str();
        for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out[std::stoi((*it)[1].str())] = v;
    }
    return out;
}

// The layout of the file's first full-resolution page, where `t` is left; a page shown turned
// (Orientation other than 1) is refused.
TiffLayout read_layout(TIFF* t, const std::string& path) {
    select_full_resolution_page(t, path);
    TiffLayout l;
    TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &l.width);
    TIFFGetField(t, TIFFTAG_IMAGELENGTH, &l.height);
    TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &l.spp);
    TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &l.bps);
    TIFFGetFieldDefaulted(t, TIFFTAG_PLANARCONFIG, &l.planar);
    TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLEFORMAT, &l.format);
    TIFFGetFieldDefaulted(t, TIFFTAG_ORIENTATION, &l.orientation);
    std::uint16_t extra = 0;
    std::uint16_t* extra_kinds = nullptr;
    // GDAL tags every band beyond the colour ones (an RGBIR orthophoto's infrared: unspecified)
    // and puts an alpha band last, e.g. {unspecified, alpha} after gdalwarp -dstalpha on RGBIR.
    // Only a last alpha band is read as one; an alpha band elsewhere is refused, since reading
    // it as data would use transparent pixels' colours.
    // A band GDAL's own record interprets (band_interpretations) is alpha where it says so.
    const std::map<int, std::string> interpreted = band_interpretations(t);
    if (TIFFGetField(t, TIFFTAG_EXTRASAMPLES, &extra, &extra_kinds) && extra >= 1 &&
        extra <= l.spp && l.spp >= 2) {
        auto is_alpha = [&](std::uint16_t k) {
            if (const auto it = interpreted.find(l.spp - extra + k); it != interpreted.end())
                return it->second == "alpha";
            return extra_kinds[k] == EXTRASAMPLE_ASSOCALPHA ||
                   extra_kinds[k] == EXTRASAMPLE_UNASSALPHA;
        };
        l.alpha = is_alpha(static_cast<std::uint16_t>(extra - 1));
        for (std::uint16_t k = 0; k + 1 < extra; ++k) {
            if (!is_alpha(k)) continue;
            const int band = l.spp - extra + k + 1;
            std::string order;  // the gdal_translate bands that put this one last
            for (int b = 1; b <= l.spp; ++b)
                if (b != band) order += "-b " + std::to_string(b) + " ";
            PFCE_THROW(InputError, path, ": band ", band, " of ", l.spp,
                       " is tagged as alpha (ExtraSamples, or GDAL's record of the bands) but is "
                       "not the last band (expected an "
                       "alpha band last, as GDAL writes it: gdal_translate ",
                       order, "-b ", band, " IN OUT.tif moves it last)");
        }
    }
    if (!TIFFGetField(t, TIFFTAG_PHOTOMETRIC, &l.photometric))
        l.photometric = l.spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
    // Bands tagged a gray stack (gdal_translate -co PHOTOMETRIC=MINISBLACK) that GDAL's record
    // calls red, green and blue: RGB, as GDAL reads them (before, refused as "a stack of 3 gray
    // bands" while GDAL showed colour).
    const auto role = [&](int sample) {
        const auto it = interpreted.find(sample);
        return it == interpreted.end() ? std::string() : it->second;
    };
    if (l.photometric == PHOTOMETRIC_MINISBLACK && l.spp >= 3 && role(0) == "red" &&
        role(1) == "green" && role(2) == "blue")
        l.photometric = PHOTOMETRIC_RGB;
    // JPEG-compressed YCbCr (how many orthophoto GeoTIFFs are stored): the JPEG codec converts to
    // RGB as it decodes when asked, as GDAL asks it, so such a file reads as any RGB one.
    std::uint16_t compression = COMPRESSION_NONE;
    TIFFGetFieldDefaulted(t, TIFFTAG_COMPRESSION, &compression);
    if (compression == COMPRESSION_JPEG || compression == COMPRESSION_OJPEG) l.lossy = "JPEG";
    if (compression == COMPRESSION_LERC) l.lossy = "LERC";  // lossy with a MAX_Z_ERROR over 0
    if (compression == COMPRESSION_WEBP) l.lossy = "WebP";
    if (compression == COMPRESSION_JXL) l.lossy = "JPEG XL";
    // (libtiff converts only interleaved samples: a planar file keeps Y, Cb, Cr, refused below.)
    if (l.photometric == PHOTOMETRIC_YCBCR && compression == COMPRESSION_JPEG && l.spp == 3 &&
        l.planar == PLANARCONFIG_CONTIG &&
        TIFFSetField(t, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB) == 1)
        l.photometric = PHOTOMETRIC_RGB;
    l.tiled = TIFFIsTiled(t) != 0;
    // Before anything else, the probe's size included: a turned image's would mislead.
    if (l.orientation != ORIENTATION_TOPLEFT) refuse_orientation(path, "TIFF", l.orientation);
    return l;
}

// Everything we decode is 8-bit unsigned 1 band (gray/palette) or 3 bands (RGB), or 1, 2 or 4 bits
// in 1 band (binary building masks, 16-colour palette labels), or any number of bands that
// `choice.bands` picks from, and wider, signed or floating-point samples (check_sample_type) where
// `choice` gives their range; say exactly why anything else is refused.
void check_supported(const std::string& path, const TiffLayout& l, const ImageChoice& choice) {
    const std::vector<int>& bands = choice.bands;
    if (l.width == 0 || l.height == 0)
        PFCE_THROW(InputError, path, ": TIFF has an empty image (", l.width, "x", l.height, ")");
    if (l.width > (1u << 30) || l.height > (1u << 30))
        PFCE_THROW(InputError, path, ": TIFF size ", l.width, "x", l.height, " is not supported");
    // Signed and floating-point samples are read through data.value_range
    // (check_sample_layout); a palette or an alpha band only of unsigned 8 or 16 bits.
    if (l.format != SAMPLEFORMAT_UINT && l.format != SAMPLEFORMAT_INT &&
        l.format != SAMPLEFORMAT_IEEEFP)
        PFCE_THROW(InputError, path, ": sample format ", l.format,
                   l.format == SAMPLEFORMAT_COMPLEXINT || l.format == SAMPLEFORMAT_COMPLEXIEEEFP
                       ? " (complex numbers)"
                       : "",
                   " is not supported (expected unsigned, signed or floating-point samples; "
                   "gdal_translate -ot Float32 IN OUT.tif keeps the real part)");
    // CMYK before the count of its bands: four ink bands are no RGB + infrared to pick from.
    if (l.photometric == PHOTOMETRIC_SEPARATED) refuse_cmyk_tiff(path);
    if (l.alpha) refuse_a_pick_of_the_alpha_band(path, l.colour_bands(), choice);
    if (l.packed_wide()) refuse_packed_samples_not_unsigned(path, l.bps, l.format);
    if (l.alpha) refuse_alpha_of_wide_samples(path, l.decoded_bits(), l.format);
    if ((l.decoded_bits() > 8 || l.format != SAMPLEFORMAT_UINT) &&
        l.photometric == PHOTOMETRIC_PALETTE)
        refuse_wide_palette(path);
    check_sample_layout(path, l.decoded_bits(), l.colour_bands(), choice, l.format);
    const bool sub_byte = l.spp == 1 && (l.bps == 1 || l.bps == 2 || l.bps == 4);
    if (l.bps != 8 && l.decoded_bits() != 16 && l.bps != 32 && l.bps != 64 && !sub_byte)
        PFCE_THROW(InputError, path, ": ", l.bps, "-bit TIFF samples in ", l.spp,
                   " bands are not supported (expected 8 bits per sample, 1, 2 or 4 in one "
                   "band, or 9 to 16 with data.value_range; e.g. gdal_translate -ot UInt16 -scale "
                   "IN OUT.tif converts them to 16)");
    // Picked bands are taken as stored, so only interpretations whose samples are the bands
    // themselves (RGB, or GDAL's "minisblack" for a stack of bands) qualify; YCbCr or CMYK
    // samples are not bands a user could name.
    if (!bands.empty() && l.colour_bands() > 1 && l.photometric != PHOTOMETRIC_RGB &&
        l.photometric != PHOTOMETRIC_MINISBLACK)
        PFCE_THROW(InputError, path, ": photometric interpretation ", l.photometric, " in ",
                   l.colour_bands(),
                   " bands cannot be picked from by data.bands (expected RGB or minisblack bands, "
                   "e.g. gdal_translate -co PHOTOMETRIC=MINISBLACK IN OUT)");
    if (l.colour_bands() == 3 && l.photometric != PHOTOMETRIC_RGB && bands.empty())
        PFCE_THROW(
            InputError, path, ": 3-band photometric interpretation ", l.photometric,
            l.photometric == PHOTOMETRIC_MINISBLACK
                ? std::string(" (a stack of 3 gray bands") +
                      (l.ranged() ? ", GDAL's default for bands of other than 8-bit unsigned "
                                    "samples"
                                  : "") +
                      ") is not read as RGB without a choice (expected RGB). Where bands "
                      "1, 2, 3 are red, green and blue, tag them so: gdal_translate -co "
                      "PHOTOMETRIC=RGB IN OUT.tif (an image to predict with a model trained on "
                      "RGB, or a colour mask); or train on them as they are, picked with "
                      "data.bands (--bands 1,2,3)"
                : " is not supported (expected RGB, or JPEG-compressed YCbCr; other YCbCr "
                  "and CIELab files must be converted)");
    if (l.colour_bands() == 1 && l.photometric != PHOTOMETRIC_MINISBLACK &&
        l.photometric != PHOTOMETRIC_MINISWHITE && l.photometric != PHOTOMETRIC_PALETTE)
        PFCE_THROW(InputError, path, ": 1-band photometric interpretation ", l.photometric,
                   " is not supported (expected grayscale or palette)");
}

[[noreturn]] void decode_failed(const std::string& path, const TiffMessages& msgs,
                                const char* what) {
    PFCE_THROW(InputError, path, ": truncated or corrupt TIFF (", what, " failed",
               msgs.errors.empty() ? std::string() : ": " + msgs.text(), ")");
}

// A block (strip or tile) of byte count 0 was never written: GDAL writes such "sparse" files with
// SPARSE_OK=TRUE and reads the missing blocks as nodata or 0, a value nothing in the file gives.
// Refused by name rather than decoded as "corrupt".
void refuse_unwritten_block(TIFF* t, const std::string& path, std::uint32_t block, bool tiled,
                            std::uint32_t x, std::uint32_t y) {
    int err = 0;
    if (TIFFGetStrileByteCountWithErr(t, block, &err) != 0 || err != 0) return;
    PFCE_THROW(InputError, path, ": a sparse TIFF: its ", tiled ? "tile" : "strip", " at (x=", x,
               ", y=", y, ") was never written, so its pixels have no value (expected every ",
               tiled ? "tile" : "strip",
               " written; rewrite it with them, e.g. gdal_translate IN OUT, which fills them "
               "with nodata or 0)");
}

// Packed samples (1, 2 or 4 bits, or 9 to 15: a stream of bits, the first sample in the high
// bits, each row starting on a byte) of `rows` rows of `samples` samples each, widened in place of
// `block`'s packed rows: to one byte each, or to two in the host's order (as libtiff gives 16-bit
// ones). 8- and 16-bit blocks are left as they are.
void unpack_rows(std::vector<std::uint8_t>& block, int bps, std::size_t packed_row_bytes,
                 std::size_t samples, int rows) {
    if (bps == 8 || bps == 16 || bps == 32 || bps == 64) return;
    const std::size_t out_bytes = bps < 8 ? 1 : 2;
    std::vector<std::uint8_t> wide(samples * rows * out_bytes);
    for (int y = 0; y < rows; ++y) {
        const std::uint8_t* src = block.data() + y * packed_row_bytes;
        std::uint8_t* dst = wide.data() + static_cast<std::size_t>(y) * samples * out_bytes;
        const std::uint32_t mask = (1u << bps) - 1;
        for (std::size_t x = 0, bit = 0; x < samples; ++x, bit += static_cast<std::size_t>(bps)) {
            // The three bytes from the sample's first hold all of its at most 15 bits.
            std::uint32_t bytes = 0;
            for (std::size_t k = bit >> 3; k < (bit >> 3) + 3; ++k)
                bytes = (bytes << 8) | (k < packed_row_bytes ? src[k] : 0u);
            const std::uint32_t v = (bytes >> (24 - (bit & 7) - bps)) & mask;
            if (out_bytes == 1) {
                dst[x] = static_cast<std::uint8_t>(v);
            } else {
                const auto v16 = static_cast<std::uint16_t>(v);
                std::memcpy(dst + 2 * x, &v16, 2);
            }
        }
    }
    block.swap(wide);
}

// Copies the part of a decoded block (strip or tile) that overlaps the window into `out`.
// block: bw x bh at (bx, by), `bands` interleaved samples per pixel, plane `plane` of `channels`;
// each sample `sample_bytes` bytes (2 for 16-bit, in the host's order as libtiff returns them).
void copy_block(const std::uint8_t* block, int bx, int by, int bw, int bh, int bands, int plane,
                const Window& win, int channels, int sample_bytes, std::uint8_t* out) {
    const int x_lo = std::max(bx, win.x0), x_hi = std::min(bx + bw, win.x0 + win.w);
    const int y_lo = std::max(by, win.y0), y_hi = std::min(by + bh, win.y0 + win.h);
    const std::size_t src_px = static_cast<std::size_t>(bands) * sample_bytes;
    const std::size_t dst_px = static_cast<std::size_t>(channels) * sample_bytes;
    for (int y = y_lo; y < y_hi; ++y) {
        const std::uint8_t* src =
            block + (static_cast<std::size_t>(y - by) * bw + (x_lo - bx)) * src_px;
        std::uint8_t* dst =
            out + (static_cast<std::size_t>(y - win.y0) * win.w + (x_lo - win.x0)) * dst_px +
            static_cast<std::size_t>(plane) * sample_bytes;
        if (bands == channels && plane == 0) {
            std::memcpy(dst, src, static_cast<std::size_t>(x_hi - x_lo) * src_px);
        } else {
            for (int x = x_lo; x < x_hi; ++x, src += src_px, dst += dst_px)
                std::memcpy(dst, src, static_cast<std::size_t>(sample_bytes));
        }
    }
}

// Samples wider than 8 bits, signed or floating point, to 8 bits: lo reads as 0, hi as 255,
// linearly between, clipped outside (as gdal_translate -scale lo hi 0 255 does); NaN as 0 (its
// pixel is without data). 16-bit ones through one table for all 65536 values.
std::vector<std::uint8_t> narrow_samples(const std::uint8_t* wide, std::size_t count,
                                         const TiffLayout& l, double lo, double hi) {
    auto scaled = [lo, hi](double v) {
        if (std::isnan(v)) return std::uint8_t{0};
        const double t = (v - lo) * 255.0 / (hi - lo);
        return static_cast<std::uint8_t>(std::lround(std::clamp(t, 0.0, 255.0)));
    };
    std::vector<std::uint8_t> out(count);
    if (l.format == SAMPLEFORMAT_UINT && l.sample_bytes() == 2) {
        std::vector<std::uint8_t> table(65536);
        for (std::size_t v = 0; v < table.size(); ++v) table[v] = scaled(static_cast<double>(v));
        for (std::size_t i = 0; i < count; ++i) {
            std::uint16_t v;
            std::memcpy(&v, wide + 2 * i, 2);
            out[i] = table[v];
        }
        return out;
    }
    const std::size_t bytes = static_cast<std::size_t>(l.sample_bytes());
    for (std::size_t i = 0; i < count; ++i) out[i] = scaled(sample_value(wide + i * bytes, l));
    return out;
}

// A data.value_range that does not fit the samples ruins them silently: most of them clipped to
// one end (0..1000 on 12-bit data), or all of them in a few dark levels (0..65535 on 12-bit data)
// or light ones (-9999..0.4 on reflectance).
// Said once per process, naming the file, its samples' extent and a range that fits. Only the
// bands the model sees count (`bands`, 0-based, of `spp` interleaved), and only pixels with data
// (not the file's NoData value, nor transparent).
void warn_if_value_range_misfits(const std::string& path, const std::uint8_t* wide,
                                 const TiffLayout& l, const std::vector<int>& bands,
                                 const DecodedSamples& d, double lo, double hi) {
    static std::atomic<bool> told{false};
    if (told.load()) return;
    const std::size_t pixels = static_cast<std::size_t>(d.width) * d.height;
    const std::size_t bytes = static_cast<std::size_t>(l.sample_bytes());
    auto at = [&](std::size_t p, int b) {
        return sample_value(wide + (p * static_cast<std::size_t>(l.spp) + b) * bytes, l);
    };
    // The finite samples of the seen bands of the pixels with data, each given to `f`.
    auto each_sample = [&](auto&& f) {
        for (std::size_t p = 0; p < pixels; ++p) {
            if (!d.no_data_value_at.empty() && d.no_data_value_at[p]) continue;
            if (!d.transparent_at.empty() && d.transparent_at[p]) continue;
            for (const int b : bands)
                if (const double v = at(p, b); std::isfinite(v)) f(v);  // NaN is no data
        }
    };
    double least = std::numeric_limits<double>::infinity(), most = -least;
    std::int64_t below = 0, above = 0, counted = 0, at_least = 0, at_most = 0;
    each_sample([&](double v) {
        if (v < least) at_least = 0;
        if (v > most) at_most = 0;
        least = std::min(least, v);
        most = std::max(most, v);
        at_least += v == least;
        at_most += v == most;
        below += v < lo;
        above += v > hi;
        ++counted;
    });
    if (counted == 0 || most <= least) return;  // nothing, or a fill: no extent to fit
    const double span = hi - lo;                // finite: the range was checked so
    auto level_of = [&](double v) { return (v - lo) * 255.0 / span; };
    const double outside = static_cast<double>(below + above) / static_cast<double>(counted);
    const bool clipped = outside > 0.1;
    // A fill outside the range: the least value below it, or the most above it, holding nine in
    // ten of the samples outside (-9999 where the scene has none, without a NoData tag). The
    // range that fits is the other samples'.
    const bool fill_low = clipped && least < lo && at_least * 10 >= 9 * (below + above);
    const bool fill_high = clipped && !fill_low && most > hi && at_most * 10 >= 9 * (below + above);
    // A fill inside a range stretched over it: a negative least value, held by 1% of the samples
    // or more, below samples that are never negative (-9999..0.4 over reflectance).
    const bool fill_inside = !clipped && lo < 0 && least < 0 && at_least * 100 >= counted;
    const double fill = fill_high ? most : least;
    double others_lo = least, others_hi = most;
    if (fill_low || fill_high || fill_inside) {
        others_lo = std::numeric_limits<double>::infinity();
        others_hi = -others_lo;
        each_sample([&](double v) {
            if (v == fill) return;
            others_lo = std::min(others_lo, v);
            others_hi = std::max(others_hi, v);
        });
    }
    const bool has_others = others_lo <= others_hi;
    const bool fill_outside = (fill_low || fill_high) && has_others;
    // Dark: a range at least 16 times the smallest power of two that holds the samples (12-bit
    // data read as 0..65535, reflectance 0..1 read as 0..10000) that reads them all as 16 or
    // less, not a dim scene in a fitting range (dark water in 0..10000); or samples never above 0
    // read so by a range reaching above 0. White, its twin: samples never below 0 (but a fill
    // inside the range) read above 239 by a range starting below 0. Flat: all of them in fewer
    // than two levels by a range over 64 times their size (reflectance read by -100..100 is
    // gray), not an even tile in a fitting range (calm water of 12-bit data in 0..4095).
    double holds = 1;
    while (holds < most + 1.0) holds *= 2;
    const double top = level_of(most), bottom = level_of(least);
    const double base = fill_inside && has_others ? others_lo : least;
    const bool dark = top < 16.5 && (hi + 1 >= 16 * holds || (hi > 0 && most <= 0));
    const bool white = lo < 0 && base >= 0 && level_of(base) > 239.5;
    const bool flat = top - bottom < 2 && span > 64 * std::max(std::fabs(least), std::fabs(most));
    if ((!clipped && !dark && !white && !flat) || told.exchange(true)) return;
    // What the warning shows: whole numbers as they are (a 32-bit count too), others in 7
    // significant digits (a float32's; a bound off by a digit there reads as the same level).
    auto number_text = [](double v) {
        return v == std::floor(v) && std::fabs(v) < 1e15 ? format_shortest(v)
                                                         : format_significant(v, 7);
    };
    const std::string range = format_shortest(lo) + "," + format_shortest(hi);
    auto level = [](double t) { return std::to_string(std::lround(std::clamp(t, 0.0, 255.0))); };
    const bool fill_said = fill_outside || (white && fill_inside && has_others);
    const double fits_lo = fill_said ? others_lo : least;
    const double fits_hi = fill_said ? others_hi : most;
    // A NoData tag marks a pixel whose every band holds it: the advice only where the fill is so.
    bool fill_in_every_band = true;
    if (fill_said)
        for (std::size_t p = 0; p < pixels && fill_in_every_band; ++p) {
            if (!d.no_data_value_at.empty() && d.no_data_value_at[p]) continue;
            if (!d.transparent_at.empty() && d.transparent_at[p]) continue;
            bool any = false, all = true;
            for (int b = 0; b < l.colour_bands(); ++b) {
                const bool is_fill = at(p, b) == fill;
                any = any || is_fill;
                all = all && is_fill;
            }
            fill_in_every_band = !any || all;
        }
    const std::string tag_advice =
        fill_in_every_band
            ? ": a fill where the scene has no data? Tag it as the file's NoData value "
              "(gdal_edit.py -a_nodata " +
                  number_text(fill) + " FILE) and those pixels have no data, as predict leaves them"
            : ", in some of a pixel's bands only (a NoData value marks a pixel whose every band "
              "holds it: set them to NaN where the scene has no data)";
    std::string what;
    if (clipped) {
        char share[32];
        std::snprintf(share, sizeof share, "%.1f%%", 100.0 * outside);
        what = std::string(share) + " of its samples lie outside data.value_range " + range +
               " and read as " +
               (below > 0 && above > 0 ? "0 (black) below it and 255 (white) above it"
                : above > 0            ? "255 (white) alike"
                                       : "0 (black) alike");
        if (fill_outside)
            what += ", nearly all of them " + number_text(fill) + tag_advice +
                    "; a range stretched over it would squeeze the rest into a few levels";
    } else if (dark) {
        what = "its samples reach only " + number_text(most) + ", which data.value_range " + range +
               " reads as " + level(top) +
               " of 255: the images are nearly black, their detail in a few levels";
    } else if (white) {
        what = (fill_said ? "its samples other than " + number_text(fill) + " (" +
                                std::to_string(at_least) + " of them" + tag_advice + ") start at "
                          : std::string("its samples start at ")) +
               number_text(base) + ", which data.value_range " + range + " reads as " +
               level(level_of(base)) +
               " of 255: the images are nearly white, their detail in a few levels";
    } else {
        what = "its samples span " + number_text(least) + ".." + number_text(most) +
               ", which data.value_range " + range + " reads as " + level(bottom) + ".." +
               level(top) + " of 255: the images are one flat colour, their detail lost";
    }
    log_warn(path, ": ", what, " (its ", sample_kind(l.bps, l.format), " samples span ",
             number_text(least), "..", number_text(most),
             fits_lo != least || fits_hi != most
                 ? "; the others " + number_text(fits_lo) + ".." + number_text(fits_hi)
                 : std::string(),
             "; a range that fits them keeps them apart: data.value_range = [",
             number_text(fits_lo), ", ", number_text(fits_hi), "], --value-range ",
             number_text(fits_lo), ",", number_text(fits_hi),
             " when training, or value_range under [image] in a generic dataset's dataset.toml; "
             "the same range must serve every image of the dataset)");
}

// A 16-bit alpha band narrowed to what drop_opaque_alpha reads: 255 opaque, 0 transparent, 128
// between. Opaque is 65535, or 255 where no sample of the window exceeds 255 (GDAL writes either,
// by its DST_ALPHA_MAX); in a file of `bits` 9 to 15, the largest such a sample holds.
void narrow_16_bit_alpha(const std::uint8_t* wide, int spp, int bits,
                         std::vector<std::uint8_t>& narrow) {
    const std::size_t pixels = narrow.size() / static_cast<std::size_t>(spp);
    auto alpha = [&](std::size_t p) {
        std::uint16_t v;
        std::memcpy(&v, wide + 2 * (p * static_cast<std::size_t>(spp) + spp - 1), 2);
        return v;
    };
    std::uint16_t most = 0;
    for (std::size_t p = 0; p < pixels; ++p) most = std::max(most, alpha(p));
    const auto opaque = static_cast<std::uint16_t>(bits < 16    ? (1 << bits) - 1
                                                   : most > 255 ? 65535
                                                                : 255);
    for (std::size_t p = 0; p < pixels; ++p) {
        const std::uint16_t a = alpha(p);
        narrow[p * static_cast<std::size_t>(spp) + spp - 1] = a == opaque ? 255 : a == 0 ? 0 : 128;
    }
}

void read_strips(TIFF* t, const std::string& path, const TiffMessages& msgs, const TiffLayout& l,
                 const Window& win, std::uint8_t* out) {
    const int sample_bytes = l.sample_bytes();
    std::uint32_t rps = 0;
    TIFFGetFieldDefaulted(t, TIFFTAG_ROWSPERSTRIP, &rps);
    if (rps == 0 || rps > l.height) rps = l.height;
    const bool separate = l.planar == PLANARCONFIG_SEPARATE && l.spp > 1;
    const int bands = separate ? 1 : l.spp;
    const int planes = separate ? l.spp : 1;
    const tmsize_t strip_bytes = TIFFStripSize(t);
    if (strip_bytes <= 0) decode_failed(path, msgs, "TIFFStripSize");
    const std::size_t row_bytes = static_cast<std::size_t>(TIFFScanlineSize(t));
    std::vector<std::uint8_t> buf;
    const std::uint32_t first = static_cast<std::uint32_t>(win.y0) / rps;
    const std::uint32_t last = static_cast<std::uint32_t>(win.y0 + win.h - 1) / rps;
    for (int p = 0; p < planes; ++p) {
        for (std::uint32_t s = first; s <= last; ++s) {
            const std::uint32_t row0 = s * rps;
            const std::uint32_t rows = std::min(rps, l.height - row0);
            const tmsize_t need = static_cast<tmsize_t>(rows * row_bytes);
            buf.resize(static_cast<std::size_t>(strip_bytes));
            const std::uint32_t strip = TIFFComputeStrip(t, row0, static_cast<std::uint16_t>(p));
            refuse_unwritten_block(t, path, strip, false, 0, row0);
            const tmsize_t got = TIFFReadEncodedStrip(t, strip, buf.data(), need);
            if (got < need) decode_failed(path, msgs, "reading a strip");
            unpack_rows(buf, l.bps, row_bytes, static_cast<std::size_t>(l.width) * bands,
                        static_cast<int>(rows));
            copy_block(buf.data(), 0, static_cast<int>(row0), static_cast<int>(l.width),
                       static_cast<int>(rows), bands, p, win, l.spp, sample_bytes, out);
        }
    }
}

void read_tiles(TIFF* t, const std::string& path, const TiffMessages& msgs, const TiffLayout& l,
                const Window& win, std::uint8_t* out) {
    const int sample_bytes = l.sample_bytes();
    std::uint32_t tw = 0, th = 0;
    TIFFGetField(t, TIFFTAG_TILEWIDTH, &tw);
    TIFFGetField(t, TIFFTAG_TILELENGTH, &th);
    if (tw == 0 || th == 0) decode_failed(path, msgs, "reading the tile size");
    const bool separate = l.planar == PLANARCONFIG_SEPARATE && l.spp > 1;
    const int bands = separate ? 1 : l.spp;
    const int planes = separate ? l.spp : 1;
    const tmsize_t tile_bytes = TIFFTileSize(t);
    if (tile_bytes <= 0) decode_failed(path, msgs, "TIFFTileSize");
    const std::size_t row_bytes = static_cast<std::size_t>(TIFFTileRowSize(t));
    std::vector<std::uint8_t> buf;
    const tmsize_t need = static_cast<tmsize_t>(th * row_bytes);
    for (int p = 0; p < planes; ++p) {
        for (std::uint32_t ty = win.y0 / th * th; ty < static_cast<std::uint32_t>(win.y0 + win.h);
             ty += th) {
            for (std::uint32_t tx = win.x0 / tw * tw;
                 tx < static_cast<std::uint32_t>(win.x0 + win.w); tx += tw) {
                buf.resize(static_cast<std::size_t>(tile_bytes));
                const std::uint32_t tile =
                    TIFFComputeTile(t, tx, ty, 0, static_cast<std::uint16_t>(p));
                refuse_unwritten_block(t, path, tile, true, tx, ty);
                const tmsize_t got = TIFFReadEncodedTile(t, tile, buf.data(), need);
                if (got < need) decode_failed(path, msgs, "reading a tile");
                unpack_rows(buf, l.bps, row_bytes, static_cast<std::size_t>(tw) * bands,
                            static_cast<int>(th));
                // Tiles are always full-size in the file; the window clips what lies past the edge.
                copy_block(buf.data(), static_cast<int>(tx), static_cast<int>(ty),
                           static_cast<int>(tw), static_cast<int>(th), bands, p, win, l.spp,
                           sample_bytes, out);
            }
        }
    }
}

// GDAL's NoData value (tag 42113, ASCII, one value for every band) as GDAL reads the text
// (CPLAtofM): its longest leading number, 0 where it has none, so that "7abc" marks the pixels GDAL
// and QGIS show as no data (it marked none); "nan" is NaN. Such a tag is said once per process,
// naming the file, the text and the value read. Empty where the file has none.
std::optional<double> gdal_no_data(TIFF* t) {
    char* tag = nullptr;
    // An empty tag is no NoData value to GDAL (it skips one), not 0.
    if (!TIFFGetField(t, TIFFTAG_GDAL_NODATA, &tag) || !tag || !*tag) return std::nullopt;
    // CPLAtofM takes a decimal comma as a point: "1,5" is 1.5 (which no sample holds), not 1.
    std::string text = tag;
    if (const std::size_t comma = text.find(',');
        comma != std::string::npos && text.find('.') == std::string::npos)
        text[comma] = '.';
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (end == text.c_str()) v = 0;
    while (end && std::isspace(static_cast<unsigned char>(*end))) ++end;
    if (end == text.c_str() || *end != '\0') {
        static std::atomic<bool> told{false};
        if (!told.exchange(true))
            log_warn(TIFFFileName(t), ": its GDAL NoData tag is \"", tag,
                     "\", not a number: read as ", v,
                     ", as GDAL reads it (expected a number such as 0; gdal_edit -a_nodata "
                     "VALUE sets one, -unsetnodata drops it)");
    }
    return v;
}

// The GDAL NoData value of `t` as an unsigned sample of `bits` bits (-1: none, or none such a
// sample can hold: GDAL writes "nan" or "-9999" for other types).
int no_data_of_bits(TIFF* t, int bits) {
    const std::optional<double> v = gdal_no_data(t);
    if (!v || !std::isfinite(*v) || *v != std::floor(*v) || *v < 0 ||
        *v >= static_cast<double>(1u << std::min(bits, 16)))
        return -1;
    return static_cast<int>(*v);
}

// The GDAL NoData value as the samples of `l` hold it (GDAL casts it to the band's type: -9999.5
// is no 16-bit value, 0.1 is the float nearest it); empty where none of them can, or where it is
// NaN (NaN samples are without data anyway).
std::optional<double> no_data_sample(TIFF* t, const TiffLayout& l) {
    if (l.format == SAMPLEFORMAT_UINT && l.decoded_bits() <= 16) {
        // 8- and 16-bit ones (9 to 15 bits decode to 16, a value they can hold)
        if (l.bps < 8) return std::nullopt;
        const int v = no_data_of_bits(t, l.bps);
        return v < 0 ? std::nullopt : std::optional<double>(v);
    }
    const std::optional<double> v = gdal_no_data(t);
    if (!v || std::isnan(*v)) return std::nullopt;
    if (l.format == SAMPLEFORMAT_IEEEFP) {
        if (l.sample_bytes() == 8) return *v;
        // Past float's range the cast is undefined: such a value is an infinity as a float.
        if (std::fabs(*v) > std::numeric_limits<float>::max())
            return std::copysign(std::numeric_limits<double>::infinity(), *v);
        return static_cast<double>(static_cast<float>(*v));
    }
    const int bits = 8 * l.sample_bytes();
    const bool is_signed = l.format == SAMPLEFORMAT_INT;
    const double least = is_signed ? -std::ldexp(1.0, bits - 1) : 0.0;
    const double most = is_signed ? std::ldexp(1.0, bits - 1) - 1 : std::ldexp(1.0, bits) - 1;
    if (!std::isfinite(*v) || *v != std::floor(*v) || *v < least || *v > most) return std::nullopt;
    return *v;
}

// The pixels of the window without data, in `samples` as decoded (interleaved, spp bands of
// l.sample_bytes() bytes, before wider ones are scaled): those whose every colour band holds the
// GDAL NoData value, and those with NaN in a band the model sees (`seen`, 0-based), which no
// scale reads as a colour (QGIS shows them as no data too).
void mark_no_data_values(TIFF* t, const TiffLayout& l, const std::uint8_t* samples,
                         const std::vector<int>& seen, DecodedSamples& d) {
    const std::optional<double> no_data = no_data_sample(t, l);
    const bool floating = l.format == SAMPLEFORMAT_IEEEFP;
    if (!no_data && !floating) return;
    const std::size_t n = static_cast<std::size_t>(d.width) * d.height;
    const int bands = l.colour_bands();
    const std::size_t bytes = static_cast<std::size_t>(l.sample_bytes());
    auto at = [&](std::size_t i, int b) {
        return sample_value(samples + (i * l.spp + static_cast<std::size_t>(b)) * bytes, l);
    };
    for (std::size_t i = 0; i < n; ++i) {
        bool all = no_data.has_value();
        for (int b = 0; b < bands && all; ++b) all = at(i, b) == *no_data;
        bool nan = false;
        if (floating)
            for (std::size_t k = 0; k < seen.size() && !nan; ++k) nan = std::isnan(at(i, seen[k]));
        if (!all && !nan) continue;
        if (d.no_data_value_at.empty()) d.no_data_value_at.assign(n, 0);
        d.no_data_value_at[i] = 1;
        ++d.no_data_values;
    }
}

// Marks the 0s of the current page of `t` in the window as transparent pixels, as alpha would
// be: an image refuses them (to_rgb), index labels keep their values. False, marking nothing, for
// a page that is not a nodata mask of `image` as GDAL writes one: its size, 1 band of 1 or 8
// bits, 0 where a pixel has no value.
bool mark_mask_page_zeros(TIFF* t, const std::string& path, const TiffMessages& msgs,
                          const TiffLayout& image, const Window& win, DecodedSamples& d) {
    TiffLayout m;
    TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &m.width);
    TIFFGetField(t, TIFFTAG_IMAGELENGTH, &m.height);
    TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &m.spp);
    TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &m.bps);
    if (m.width != image.width || m.height != image.height || m.spp != 1 ||
        (m.bps != 1 && m.bps != 8))
        return false;
    m.tiled = TIFFIsTiled(t) != 0;
    std::vector<std::uint8_t> valid(static_cast<std::size_t>(win.w) * win.h);
    if (m.tiled)
        read_tiles(t, path, msgs, m, win, valid.data());
    else
        read_strips(t, path, msgs, m, win, valid.data());
    for (std::size_t i = 0; i < valid.size(); ++i)
        if (valid[i] == 0) d.mark_transparent(i);
    return true;
}

// GDAL's internal nodata mask (GDAL_TIFF_INTERNAL_MASK: how JPEG-YCbCr orthophotos mark what lies
// outside the survey): the page right after the image's (where GDAL and COGs put it), of
// NewSubfileType "mask". One page is looked at, not every overview's, since a tiled dataset
// reads a file once per band of windows. Leaves `t` on that page; false where there is none.
bool count_masked_pixels(TIFF* t, const std::string& path, const TiffMessages& msgs,
                         const TiffLayout& image, const Window& win, DecodedSamples& d) {
    if (!TIFFReadDirectory(t)) return false;
    std::uint32_t subfile = 0;
    TIFFGetFieldDefaulted(t, TIFFTAG_SUBFILETYPE, &subfile);
    if ((subfile & FILETYPE_MASK) == 0 || (subfile & FILETYPE_REDUCEDIMAGE) != 0) return false;
    return mark_mask_page_zeros(t, path, msgs, image, win, d);
}

// GDAL's external nodata mask, PATH.msk beside the image (what gdal_translate -mask and
// CreateMaskBand write unless GDAL_TIFF_INTERNAL_MASK is set): its first page, read as the
// internal one. It was ignored, and predict labelled the pixels it masks. A .msk that is not a
// mask of this image (another size, one mask per band) is said, once per process, and not read.
void count_external_masked_pixels(const std::string& path, const TiffLayout& image,
                                  const Window& win, DecodedSamples& d) {
    const std::string msk = path + ".msk";
    std::FILE* f = std::fopen(msk.c_str(), "rb");
    if (!f) return;
    std::fclose(f);
    TiffMessages msgs;
    TiffPtr t = open_tiff(msk, "r", msgs);
    if (mark_mask_page_zeros(t.get(), msk, msgs, image, win, d)) return;
    static std::atomic<bool> told{false};
    if (told.exchange(true)) return;
    std::uint32_t w = 0, h = 0;
    std::uint16_t spp = 1, bps = 1;
    TIFFGetField(t.get(), TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(t.get(), TIFFTAG_IMAGELENGTH, &h);
    TIFFGetFieldDefaulted(t.get(), TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetFieldDefaulted(t.get(), TIFFTAG_BITSPERSAMPLE, &bps);
    log_warn(msk, " is not read as the nodata mask of ", path, ": it is ", w, "x", h, ", ", spp,
             " band(s) of ", bps, " bits, expected ", image.width, "x", image.height,
             ", 1 band of 1 or 8 bits (one mask for all bands; said once)");
}

// A palette TIFF's colours, one for each of its 2^bits indices.
std::vector<Rgb> colour_map(TIFF* t, const std::string& path, const TiffLayout& l) {
    std::uint16_t *r = nullptr, *g = nullptr, *b = nullptr;
    if (!TIFFGetField(t, TIFFTAG_COLORMAP, &r, &g, &b))
        PFCE_THROW(InputError, path, ": palette TIFF without a colour map");
    // TIFF colour maps are 16-bit; some writers put 8-bit values in them anyway. A map holds
    // 2^bits entries (16 for a 4-bit palette).
    const int entries = 1 << l.bps;
    bool eight_bit = true;
    for (int i = 0; i < entries; ++i)
        if (r[i] > 255 || g[i] > 255 || b[i] > 255) eight_bit = false;
    std::vector<Rgb> map(static_cast<std::size_t>(entries));
    for (int i = 0; i < entries; ++i) {
        auto cv = [&](std::uint16_t v) {
            return static_cast<std::uint8_t>(eight_bit ? v : v >> 8);
        };
        map[i] = Rgb{cv(r[i]), cv(g[i]), cv(b[i])};
    }
    return map;
}

void get_doubles(TIFF* t, ttag_t tag, std::vector<double>& out) {
    std::uint16_t n = 0;
    double* v = nullptr;
    if (TIFFGetField(t, tag, &n, &v) && v) out.assign(v, v + n);
}

// The GeoTIFF tags of the current page of `t`.
GeoReference geo_tags(TIFF* t) {
    GeoReference g;
    get_doubles(t, 33550, g.pixel_scale);
    get_doubles(t, 33922, g.tiepoints);
    get_doubles(t, 34264, g.transformation);
    get_doubles(t, 34736, g.double_params);
    std::uint16_t n = 0;
    std::uint16_t* keys = nullptr;
    if (TIFFGetField(t, 34735, &n, &keys) && keys) g.key_directory.assign(keys, keys + n);
    char* ascii = nullptr;
    if (TIFFGetField(t, 34737, &ascii) && ascii) g.ascii_params = ascii;
    return g;
}

}  // namespace

ImageInfo probe_tiff(const std::string& path) {
    TiffMessages msgs;
    TiffPtr t = open_tiff(path, "r", msgs);
    const TiffLayout l = read_layout(t.get(), path);
    ImageInfo info{static_cast<int>(std::min<std::uint32_t>(l.width, 1u << 30)),
                   static_cast<int>(std::min<std::uint32_t>(l.height, 1u << 30)), l.colour_bands(),
                   l.decoded_bits(), l.lossy};
    if (l.packed_wide()) info.stored_bits = l.bps;
    info.no_data_value = no_data_sample(t.get(), l).has_value();
    info.alpha = l.alpha;
    info.sample_format = l.format;
    info.palette = l.photometric == PHOTOMETRIC_PALETTE;
    info.cmyk = l.photometric == PHOTOMETRIC_SEPARATED;
    info.geo = geo_tags(t.get());  // the full-resolution page read_layout selected
    return info;
}

MaskNoData read_tiff_mask_no_data(const std::string& path) {
    TiffMessages msgs;
    TiffPtr t = open_tiff(path, "r", msgs);
    const TiffLayout l = read_layout(t.get(), path);
    MaskNoData n;
    // Masks have 8 bits or fewer (a 1-, 2- or 4-bit mask reads as its stored values).
    if (l.bps > 8 || l.format != SAMPLEFORMAT_UINT) return n;
    n.value = no_data_of_bits(t.get(), l.bps);
    if (n.value < 0) return n;
    if (l.photometric == PHOTOMETRIC_PALETTE) {
        n.colour = colour_map(t.get(), path, l)[static_cast<std::size_t>(n.value)];
        return n;
    }
    // Gray scaled to 0..255 (stored values, min-is-white too), as read_mask_rgb reads it.
    const int max = (1 << l.bps) - 1;
    const auto shown = static_cast<std::uint8_t>(n.value * 255 / max);
    n.colour = Rgb{shown, shown, shown};
    return n;
}

DecodedSamples read_tiff(const std::string& path, Window win, std::int64_t max_pixels,
                         const ImageChoice& choice) {
    TiffMessages msgs;
    TiffPtr t = open_tiff(path, "r", msgs);
    const TiffLayout l = read_layout(t.get(), path);
    check_supported(path, l, choice);
    win = resolve_window(path, win, static_cast<int>(l.width), static_cast<int>(l.height),
                         max_pixels);
    check_decoded_size(path, "a " + std::to_string(win.w) + "x" + std::to_string(win.h) + " window",
                       win.w, win.h, l.spp, l.decoded_bits(), max_pixels);
    const int sample_bytes = l.sample_bytes();

    DecodedSamples d = window_samples(win, l.spp);
    // Samples data.value_range scales are decoded beside the 8-bit ones they become.
    const bool wide = l.ranged();
    std::vector<std::uint8_t> wide_samples(wide ? sample_bytes * d.samples.size() : 0);
    std::uint8_t* out = wide ? wide_samples.data() : d.samples.data();
    if (l.tiled)
        read_tiles(t.get(), path, msgs, l, win, out);
    else
        read_strips(t.get(), path, msgs, l, win, out);
    std::vector<int> seen;  // the bands the model sees, 0-based
    if (choice.bands.empty())
        for (int b = 0; b < l.colour_bands(); ++b) seen.push_back(b);
    else
        for (const int b : choice.bands) seen.push_back(b - 1);
    // A palette image's NoData value is an index, compared before the colour map (as GDAL does).
    mark_no_data_values(t.get(), l, out, seen, d);
    if (wide) {
        d.samples = narrow_samples(wide_samples.data(), d.samples.size(), l, choice.range_lo,
                                   choice.range_hi);
        if (l.alpha) narrow_16_bit_alpha(wide_samples.data(), l.spp, l.bps, d.samples);
    }

    if (l.alpha) {  // decoded with its alpha band, which goes (where it is opaque)
        DecodedSamples opaque = window_samples(win, l.colour_bands());
        drop_opaque_alpha(d.samples.data(), l.spp, opaque);
        d.channels = opaque.channels;
        d.samples = std::move(opaque.samples);
        d.transparent = opaque.transparent;
        d.alpha_transparent = opaque.alpha_transparent;
        d.alpha_partial = opaque.alpha_partial;
        d.first_transparent_x = opaque.first_transparent_x;
        d.first_transparent_y = opaque.first_transparent_y;
        d.transparent_at = std::move(opaque.transparent_at);
    }
    d.min_is_white = l.photometric == PHOTOMETRIC_MINISWHITE;
    if (l.photometric != PHOTOMETRIC_PALETTE) d.gray_bits = wide ? 8 : l.bps;
    if (l.photometric == PHOTOMETRIC_PALETTE) d.colormap = colour_map(t.get(), path, l);
    // Moves on from the image's page.
    if (!count_masked_pixels(t.get(), path, msgs, l, win, d))
        count_external_masked_pixels(path, l, win, d);
    if (wide)
        warn_if_value_range_misfits(path, wide_samples.data(), l, seen, d, choice.range_lo,
                                    choice.range_hi);
    note_other_full_pages(t.get(), path, l.width, l.height);
    return d;
}

namespace {

// The GeoTIFF tags of `geo` (none when it is empty) and its RPCCoefficientTag, as
// read_tiff_georeference reads them.
void put_georeference(TIFF* tp, const GeoReference& geo) {
    auto put = [&](ttag_t tag, const std::vector<double>& v) {
        if (!v.empty()) TIFFSetField(tp, tag, static_cast<std::uint16_t>(v.size()), v.data());
    };
    put(33550, geo.pixel_scale);
    put(33922, geo.tiepoints);
    put(34264, geo.transformation);
    put(34736, geo.double_params);
    if (!geo.key_directory.empty())
        TIFFSetField(tp, 34735, static_cast<std::uint16_t>(geo.key_directory.size()),
                     geo.key_directory.data());
    if (!geo.ascii_params.empty()) TIFFSetField(tp, 34737, geo.ascii_params.c_str());
    // The camera model, on the same pixel grid: gdalwarp -rpc orthorectifies the mask as it does
    // its image.
    put(kTiffTagRpcCoefficients, geo.rpc_coefficients);
}

}  // namespace

namespace {

// The fields of a page of 8-bit samples, pixel-interleaved, LZW-compressed, in strips.
void set_8bit_page(TIFF* tp, int width, int height, int channels, std::uint16_t photometric) {
    TIFFSetField(tp, TIFFTAG_IMAGEWIDTH, static_cast<std::uint32_t>(width));
    TIFFSetField(tp, TIFFTAG_IMAGELENGTH, static_cast<std::uint32_t>(height));
    TIFFSetField(tp, TIFFTAG_SAMPLESPERPIXEL, static_cast<std::uint16_t>(channels));
    TIFFSetField(tp, TIFFTAG_BITSPERSAMPLE, static_cast<std::uint16_t>(8));
    TIFFSetField(tp, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(tp, TIFFTAG_PHOTOMETRIC, photometric);
    TIFFSetField(tp, TIFFTAG_COMPRESSION, COMPRESSION_LZW);
    TIFFSetField(tp, TIFFTAG_ROWSPERSTRIP, TIFFDefaultStripSize(tp, 0));
}

}  // namespace

void write_tiff_file(const std::string& path, const std::uint8_t* samples, int width, int height,
                     int channels, const GeoReference& geo, int no_data,
                     const std::vector<std::string>& band_names, const std::uint8_t* valid) {
    TiffMessages msgs;
    TiffPtr t = open_tiff(path, "w", msgs);
    TIFF* tp = t.get();
    const bool rgb = channels == 3 && band_names.empty();
    set_8bit_page(tp, width, height, channels, rgb ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
    if (!rgb && channels > 1) {  // bands past the first of a gray image are "extra" in TIFF terms
        const std::vector<std::uint16_t> extra(static_cast<std::size_t>(channels - 1),
                                               EXTRASAMPLE_UNSPECIFIED);
        TIFFSetField(tp, TIFFTAG_EXTRASAMPLES, static_cast<std::uint16_t>(extra.size()),
                     extra.data());
    }
    // GDAL's band descriptions, which QGIS shows as the bands' names. Escaped twice, as GDAL
    // writes them and reads them back (once escaped, "roads & paths" read as "roads ").
    if (!band_names.empty()) {
        std::string xml = "<GDALMetadata>\n";
        for (std::size_t b = 0; b < band_names.size(); ++b)
            xml += "  <Item name=\"DESCRIPTION\" sample=\"" + std::to_string(b) +
                   "\" role=\"description\">" + xml_escape(xml_escape(band_names[b])) + "</Item>\n";
        xml += "</GDALMetadata>\n";
        TIFFSetField(tp, TIFFTAG_GDAL_METADATA, xml.c_str());
    }
    TIFFSetField(tp, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL);  // smaller files for photographs
    put_georeference(tp, geo);
    if (no_data >= 0 && no_data <= 255)
        TIFFSetField(tp, TIFFTAG_GDAL_NODATA, std::to_string(no_data).c_str());
    const tmsize_t row_bytes = static_cast<tmsize_t>(width) * channels;
    // TIFFWriteScanline takes a non-const buffer (the predictor works in place on a copy of it).
    std::vector<std::uint8_t> row(static_cast<std::size_t>(row_bytes));
    for (int y = 0; y < height; ++y) {
        std::memcpy(row.data(), samples + static_cast<std::size_t>(y) * row_bytes, row.size());
        if (TIFFWriteScanline(tp, row.data(), static_cast<std::uint32_t>(y), 0) < 0)
            PFCE_THROW(SystemError, "writing ", path, " failed: ", msgs.text());
    }
    if (!TIFFWriteDirectory(tp))
        PFCE_THROW(SystemError, "writing ", path, " failed: ", msgs.text());
    if (valid) {
        // GDAL's internal nodata mask (GDAL_TIFF_INTERNAL_MASK): the page after the image's, of
        // NewSubfileType "mask", 0 where there is no data, as count_masked_pixels reads it back.
        TIFFSetField(tp, TIFFTAG_SUBFILETYPE, static_cast<std::uint32_t>(FILETYPE_MASK));
        set_8bit_page(tp, width, height, 1, PHOTOMETRIC_MASK);
        std::vector<std::uint8_t> mask_row(static_cast<std::size_t>(width));
        for (int y = 0; y < height; ++y) {
            for (int x = 0; x < width; ++x)
                mask_row[static_cast<std::size_t>(x)] =
                    valid[static_cast<std::size_t>(y) * width + x] ? 255 : 0;
            if (TIFFWriteScanline(tp, mask_row.data(), static_cast<std::uint32_t>(y), 0) < 0)
                PFCE_THROW(SystemError, "writing ", path, " failed: ", msgs.text());
        }
        if (!TIFFWriteDirectory(tp))
            PFCE_THROW(SystemError, "writing ", path, " failed: ", msgs.text());
    }
    TIFF* raw = t.release();
    TIFFClose(raw);  // flushes; errors here were already reported through the handler
    if (!msgs.errors.empty()) PFCE_THROW(SystemError, "writing ", path, " failed: ", msgs.text());
}

GeoReference read_tiff_georeference(const std::string& path) {
    TiffMessages msgs;
    TiffPtr t = open_tiff(path, "r", msgs);
    select_full_resolution_page(t.get(), path);  // the image's, not a thumbnail's
    GeoReference g = geo_tags(t.get());
    std::vector<double> rpc;
    get_doubles(t.get(), kTiffTagRpcCoefficients, rpc);
    // GDAL reads only a tag of 92 values; another is no camera model to carry.
    if (rpc.size() == kRpcTagValues) g.rpc_coefficients = std::move(rpc);
    return g;
}

void write_tiff_palette_file(const std::string& path, const std::uint8_t* indices, int width,
                             int height, const std::vector<Rgb>& colours, const GeoReference& geo,
                             int no_data) {
    if (colours.size() != 256)
        PFCE_THROW(ShapeError, "cannot write ", path, ": a palette TIFF needs 256 colours");
    TiffMessages msgs;
    TiffPtr t = open_tiff(path, "w", msgs);
    TIFF* tp = t.get();
    set_8bit_page(tp, width, height, 1, PHOTOMETRIC_PALETTE);
    std::vector<std::uint16_t> r(256), g(256), b(256);  // TIFF colour maps are 16-bit
    for (int i = 0; i < 256; ++i) {
        r[i] = static_cast<std::uint16_t>(colours[i][0] * 257);
        g[i] = static_cast<std::uint16_t>(colours[i][1] * 257);
        b[i] = static_cast<std::uint16_t>(colours[i][2] * 257);
    }
    TIFFSetField(tp, TIFFTAG_COLORMAP, r.data(), g.data(), b.data());
    put_georeference(tp, geo);
    if (no_data >= 0 && no_data <= 255)
        TIFFSetField(tp, TIFFTAG_GDAL_NODATA, std::to_string(no_data).c_str());
    std::vector<std::uint8_t> row(static_cast<std::size_t>(width));
    for (int y = 0; y < height; ++y) {
        std::memcpy(row.data(), indices + static_cast<std::size_t>(y) * width, row.size());
        if (TIFFWriteScanline(tp, row.data(), static_cast<std::uint32_t>(y), 0) < 0)
            PFCE_THROW(SystemError, "writing ", path, " failed: ", msgs.text());
    }
    if (!TIFFWriteDirectory(tp))
        PFCE_THROW(SystemError, "writing ", path, " failed: ", msgs.text());
    TIFF* raw = t.release();
    TIFFClose(raw);
    if (!msgs.errors.empty()) PFCE_THROW(SystemError, "writing ", path, " failed: ", msgs.text());
}

}  // namespace pfce::detail
