// JPEG through libjpeg(-turbo): aerial chips often ship as .jpg (DeepGlobe and many drone sets).
// Decoded row by row down to the window's last row, keeping the window's columns; the size is
// checked against the pixel limit from the header before decoding. libjpeg rather than a
// decoder that fills damaged data silently: its "corrupt JPEG data" warnings (a scan cut short,
// a bad Huffman code) become errors naming the file, so a damaged chip is never trained on as
// grey blocks. Labels are never read from JPEG: lossy compression changes label values
// (check_pair_sizes refuses JPEG masks).
#include <csetjmp>
#include <cstdio>
// jpeglib.h needs FILE and size_t declared first.
#include <jerror.h>
#include <jpeglib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "core/error.hpp"
#include "data/image_io_detail.hpp"

namespace pfce::detail {
namespace {

// libjpeg reports a fatal error through error_exit, which must not return: it jumps back to the
// call that set `jump` (guarded, below), which throws. Warnings that mean the pixels are not the
// file's (damaged entropy data) are kept and turned into an error once decoding ends.
struct JpegErrors {
    jpeg_error_mgr mgr;
    std::jmp_buf jump;
    char fatal[JMSG_LENGTH_MAX] = {};
    char corrupt[JMSG_LENGTH_MAX] = {};  // the first damage warning, empty if none
    int fatal_code = 0;                  // libjpeg's code of `fatal`
    int precision = 0;                   // JERR_BAD_PRECISION: the file's bits per sample
    const JOCTET* begin = nullptr;       // the file's bytes (decoded from memory)
};

bool is_damage(int code) {
    switch (code) {
        case JWRN_BOGUS_PROGRESSION:
        case JWRN_EXTRANEOUS_DATA:
        case JWRN_HIT_MARKER:
        case JWRN_HUFF_BAD_CODE:
        case JWRN_JPEG_EOF:
        case JWRN_MUST_RESYNC:
        case JWRN_NOT_SEQUENTIAL:
            return true;
        default:
            return false;  // metadata (an unknown JFIF revision, a bad ICC profile): pixels are
                           // fine
    }
}

void on_fatal(j_common_ptr c) {
    auto* e = reinterpret_cast<JpegErrors*>(c->err);
    c->err->format_message(c, e->fatal);
    e->fatal_code = c->err->msg_code;
    if (e->fatal_code == JERR_BAD_PRECISION) e->precision = c->err->msg_parm.i[0];
    std::longjmp(e->jump, 1);
}

// Whether the bytes libjpeg skipped before a marker (JWRN_EXTRANEOUS_DATA: their count) are
// padding, 0x00 or 0xFF as some encoders write it, rather than the rest of a scan the decoder lost:
// libjpeg leaves its input just past them when it warns.
bool skipped_padding(j_common_ptr c, const JpegErrors& e) {
    const auto* d = reinterpret_cast<j_decompress_ptr>(c);
    const JOCTET* end = d->src->next_input_byte;
    const long n = c->err->msg_parm.i[0];
    if (!e.begin || n <= 0 || end - e.begin < n) return false;
    for (const JOCTET* p = end - n; p < end; ++p)
        if (*p != 0x00 && *p != 0xFF) return false;
    return true;
}

void on_message(j_common_ptr c, int level) {
    auto* e = reinterpret_cast<JpegErrors*>(c->err);
    const bool padding = c->err->msg_code == JWRN_EXTRANEOUS_DATA && skipped_padding(c, *e);
    if (level == -1 && e->corrupt[0] == '\0' && is_damage(c->err->msg_code) && !padding)
        c->err->format_message(c, e->corrupt);
}

struct JpegReader {
    jpeg_decompress_struct cinfo{};
    JpegErrors err{};
    std::vector<JOCTET> bytes;  // to decode, the whole file: damage checks look back in it
    std::FILE* file = nullptr;  // to probe, the file, read only as far as the header
    bool created = false;
    ~JpegReader() {
        if (created) jpeg_destroy_decompress(&cinfo);
        if (file) std::fclose(file);
    }
};

// A 12-bit JPEG (some camera and medical files) is whole, only not of 8-bit samples: libjpeg
// refuses it at the header (libjpeg-turbo 2) or at the first row (3, which reads the header).
[[noreturn]] void refuse_precision(const std::string& path, int bits) {
    PFCE_THROW(InputError, path, ": JPEG of ", bits,
               "-bit samples is not read (expected 8-bit JPEG; convert it, e.g. gdal_translate "
               "-ot Byte -scale IN OUT.tif, or to a 16-bit TIFF read with data.value_range)");
}

// Runs `body` (libjpeg calls only: a fatal error jumps out of it, past any destructor it would
// need) and throws InputError naming the file if libjpeg gave up.
template <typename Body>
void guarded(JpegReader& r, const std::string& path, Body&& body) {
    if (setjmp(r.err.jump) != 0) {
        if (r.err.fatal_code == JERR_BAD_PRECISION) refuse_precision(path, r.err.precision);
        PFCE_THROW(InputError, path, ": truncated or corrupt JPEG (", r.err.fatal, ")");
    }
    body();
}

// The EXIF Orientation of the APP1 "Exif" block, 1 when there is none (detail::exif_orientation).
int exif_orientation(jpeg_saved_marker_ptr markers) {
    for (jpeg_saved_marker_ptr m = markers; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 14 &&
            std::memcmp(m->data, "Exif\0\0", 6) == 0)
            return detail::exif_orientation(m->data + 6, m->data_length - 6);
    return 1;
}

// Opens `path` and reads its header (the EXIF block kept). To `decode`, the whole file is read
// into memory and the reader is then ready to decode; to probe, only the header is read (every
// pair of a dataset is probed when it opens).
void open_jpeg(JpegReader& r, const std::string& path, bool decode) {
    if (decode) {
        std::ifstream in(path, std::ios::binary);
        if (!in) PFCE_THROW(InputError, "cannot open ", path, ": ", std::strerror(errno));
        r.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        if (in.bad()) PFCE_THROW(InputError, "cannot read ", path, ": ", std::strerror(errno));
        if (r.bytes.empty())
            PFCE_THROW(InputError, path, ": truncated or corrupt JPEG (empty file)");
        r.err.begin = r.bytes.data();
    } else {
        r.file = std::fopen(path.c_str(), "rb");
        if (!r.file) PFCE_THROW(InputError, "cannot open ", path, ": ", std::strerror(errno));
    }
    r.cinfo.err = jpeg_std_error(&r.err.mgr);
    r.err.mgr.error_exit = on_fatal;
    r.err.mgr.emit_message = on_message;
    guarded(r, path, [&] {
        jpeg_create_decompress(&r.cinfo);
        r.created = true;
        if (decode)
            jpeg_mem_src(&r.cinfo, r.bytes.data(), static_cast<unsigned long>(r.bytes.size()));
        else
            jpeg_stdio_src(&r.cinfo, r.file);
        jpeg_save_markers(&r.cinfo, JPEG_APP0 + 1, 0xFFFF);
        jpeg_read_header(&r.cinfo, TRUE);
    });
    // libjpeg's arithmetic decoder reads a damaged scan without a warning: such a file cannot be
    // told from a good one, so it is refused rather than trained on as it may be.
    if (r.cinfo.arith_code)
        PFCE_THROW(InputError, path,
                   ": arithmetic-coded JPEG: damage in it cannot be detected, so it is not read "
                   "(expected Huffman coding, as nearly every JPEG has; re-encode it, e.g. "
                   "jpegtran IN > OUT, or convert IN OUT)");
    if (r.cinfo.data_precision != 8) refuse_precision(path, r.cinfo.data_precision);
    // Two components (gray + alpha is no JPEG colour space) have no RGB to read, whichever bands
    // are picked: refused at the probe, before any advice about bands.
    const int n = r.cinfo.num_components;
    if (n != 1 && n != 3 && n != 4)
        PFCE_THROW(InputError, path, ": JPEG with ", n,
                   " components is not read (expected RGB, grayscale or CMYK JPEG; convert "
                   "it to RGB or grayscale)");
    const int orientation = exif_orientation(r.cinfo.marker_list);
    // 0 and values past 8 are not orientations (some cameras write 0): read as stored.
    if (orientation >= 2 && orientation <= 8) refuse_orientation(path, "EXIF", orientation);
}

}  // namespace

ImageInfo probe_jpeg(const std::string& path) {
    JpegReader r;
    open_jpeg(r, path, /*decode=*/false);
    // CMYK and YCCK decode to RGB (other counts are refused by open_jpeg).
    const int n = r.cinfo.num_components;
    const int channels = n == 4 ? 3 : n;
    return ImageInfo{static_cast<int>(r.cinfo.image_width), static_cast<int>(r.cinfo.image_height),
                     channels, 8, "JPEG"};
}

DecodedSamples read_jpeg(const std::string& path, Window win, std::int64_t max_pixels) {
    JpegReader r;
    open_jpeg(r, path, /*decode=*/true);
    jpeg_decompress_struct& c = r.cinfo;  // 1, 3 or 4 components (open_jpeg)
    win = resolve_window(path, win, static_cast<int>(c.image_width),
                         static_cast<int>(c.image_height), max_pixels);
    const bool cmyk = c.jpeg_color_space == JCS_CMYK || c.jpeg_color_space == JCS_YCCK;
    c.out_color_space = c.num_components == 1 ? JCS_GRAYSCALE : cmyk ? JCS_CMYK : JCS_RGB;
    const int out_channels = c.num_components == 1 ? 1 : 3;
    DecodedSamples d = window_samples(win, out_channels);
    std::vector<JSAMPLE> row(static_cast<std::size_t>(c.image_width) * (cmyk ? 4 : out_channels));
    JSAMPROW rows[1] = {row.data()};
    std::uint8_t* out = d.samples.data();
    // Adobe's CMYK JPEGs store the inks inverted (0 = full ink), as Photoshop writes them.
    const bool inverted = c.saw_Adobe_marker != 0;
    const int x0 = win.x0, w = win.w, y0 = win.y0, y_end = win.y0 + win.h;
    guarded(r, path, [&] {
        jpeg_start_decompress(&c);
        while (static_cast<int>(c.output_scanline) < y_end) {
            const int y = static_cast<int>(c.output_scanline);
            jpeg_read_scanlines(&c, rows, 1);
            if (y < y0) continue;
            std::uint8_t* dst = out + static_cast<std::size_t>(y - y0) * w * out_channels;
            if (!cmyk) {
                std::memcpy(dst, row.data() + static_cast<std::size_t>(x0) * out_channels,
                            static_cast<std::size_t>(w) * out_channels);
                continue;
            }
            for (int x = 0; x < w; ++x) {
                const JSAMPLE* ink = row.data() + 4 * static_cast<std::size_t>(x0 + x);
                const int k = inverted ? ink[3] : 255 - ink[3];
                for (int ch = 0; ch < 3; ++ch) {
                    const int v = inverted ? ink[ch] : 255 - ink[ch];
                    dst[3 * x + ch] = static_cast<std::uint8_t>((v * k + 127) / 255);
                }
            }
        }
        // Through the end of the data when the window reaches the last row (finish reads up to
        // the end marker, so a cut-off file is seen); a window above it needs no more rows.
        if (c.output_scanline == c.output_height)
            jpeg_finish_decompress(&c);
        else
            jpeg_abort_decompress(&c);
    });
    if (r.err.corrupt[0] != '\0')
        PFCE_THROW(InputError, path, ": truncated or corrupt JPEG (", r.err.corrupt, ")");
    return d;
}

}  // namespace pfce::detail
