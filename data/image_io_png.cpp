// PNG through libpng's classic API: 8-bit (or smaller) RGB, grayscale and palette images are read
// without any gamma or colour conversion (label colours must come back exactly); 16-bit and alpha
// images are refused by name. libpng reports errors by longjmp: each setjmp lives in a small
// function holding only plain pointers, and the message is kept for the exception.
#include <png.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "data/image_io_detail.hpp"

namespace pfce::detail {
namespace {

struct PngMessages {
    char error[256] = {0};
};

void on_error(png_structp png, png_const_charp msg) {
    auto* m = static_cast<PngMessages*>(png_get_error_ptr(png));
    std::snprintf(m->error, sizeof m->error, "%s", msg);
    png_longjmp(png, 1);
}
void on_warning(png_structp, png_const_charp) {
}  // e.g. bad CRCs in ancillary chunks: harmless here

struct FileCloser {
    FILE* f = nullptr;
    ~FileCloser() {
        if (f) std::fclose(f);
    }
};

struct PngReadState {
    png_structp png = nullptr;
    png_infop info = nullptr;
    PngMessages msgs;
    ~PngReadState() {
        if (png) png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
    }
};

struct PngHeader {
    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    std::string labels;  // the "pfce-labels" text chunk before the image data, if any
};

// Phase 1 (may longjmp): signature, chunks up to the image data.
bool read_header_guarded(png_structp png, png_infop info, FILE* f, PngHeader* h) {
    if (setjmp(png_jmpbuf(png))) return false;
    png_init_io(png, f);
    png_set_user_limits(png, 1u << 30, 1u << 30);
    png_read_info(png, info);
    png_get_IHDR(png, info, &h->width, &h->height, &h->bit_depth, &h->color_type, &h->interlace,
                 nullptr, nullptr);
    png_textp texts = nullptr;
    const int n = png_get_text(png, info, &texts, nullptr);
    for (int i = 0; i < n; ++i)
        if (texts[i].key && std::strcmp(texts[i].key, kLabelsTextKey) == 0 && texts[i].text)
            h->labels = texts[i].text;
    return true;
}

// Phase 2 (may longjmp): rows 0..nrows-1 into `rows` (all rows when interlaced, which needs them).
// Samples keep their raw values: sub-byte gray and palette indices are unpacked, not scaled.
bool read_rows_guarded(png_structp png, png_infop info, png_bytepp rows, png_uint_32 nrows,
                       bool interlaced) {
    if (setjmp(png_jmpbuf(png))) return false;
    png_set_packing(png);
    if (interlaced) png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (interlaced) {
        png_read_image(png, rows);
    } else {
        for (png_uint_32 y = 0; y < nrows; ++y) png_read_row(png, rows[y], nullptr);
    }
    return true;
}

// Phase (may longjmp): the palette of a palette image.
bool read_palette_guarded(png_structp png, png_infop info, png_colorp* pal, int* n) {
    if (setjmp(png_jmpbuf(png))) return false;
    *n = 0;
    png_get_PLTE(png, info, pal, n);
    return true;
}

FILE* open_for_read(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) PFCE_THROW(InputError, "cannot open ", path, ": ", std::strerror(errno));
    return f;
}

void open_png(const std::string& path, FileCloser& file, PngReadState& st, PngHeader& h) {
    file.f = open_for_read(path);
    st.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &st.msgs, on_error, on_warning);
    if (!st.png) PFCE_THROW(SystemError, "png_create_read_struct failed for ", path);
    st.info = png_create_info_struct(st.png);
    if (!st.info) PFCE_THROW(SystemError, "png_create_info_struct failed for ", path);
    if (!read_header_guarded(st.png, st.info, file.f, &h))
        PFCE_THROW(InputError, path, ": truncated or corrupt PNG, its header cannot be read (",
                   st.msgs.error, ")");
    // An eXIf chunk before the pixels may say the image is shown turned, as a JPEG's EXIF does.
    png_uint_32 exif_size = 0;
    png_bytep exif = nullptr;
    if (png_get_eXIf_1(st.png, st.info, &exif_size, &exif) != 0 && exif) {
        const int orientation = detail::exif_orientation(exif, exif_size);
        // 0 and values past 8 are not orientations: read as stored.
        if (orientation >= 2 && orientation <= 8) refuse_orientation(path, "PNG eXIf", orientation);
    }
}

int png_channels(int color_type) {
    switch (color_type) {
        case PNG_COLOR_TYPE_GRAY:
        case PNG_COLOR_TYPE_PALETTE:
            return 1;
        case PNG_COLOR_TYPE_GRAY_ALPHA:
            return 2;
        case PNG_COLOR_TYPE_RGB:
            return 3;
        default:
            return 4;
    }
}

}  // namespace

ImageInfo probe_png(const std::string& path) {
    FileCloser file;
    PngReadState st;
    PngHeader h;
    open_png(path, file, st, h);
    // An alpha band is not counted: it is dropped where it is opaque (drop_opaque_alpha).
    const bool alpha = (h.color_type & PNG_COLOR_MASK_ALPHA) != 0;
    ImageInfo info{static_cast<int>(h.width), static_cast<int>(h.height),
                   png_channels(h.color_type) - (alpha ? 1 : 0), h.bit_depth, ""};
    info.png = true;
    info.alpha = alpha;
    info.palette = h.color_type == PNG_COLOR_TYPE_PALETTE;
    info.labels = h.labels;
    return info;
}

DecodedSamples read_png(const std::string& path, Window win, std::int64_t max_pixels) {
    FileCloser file;
    PngReadState st;
    PngHeader h;
    open_png(path, file, st, h);
    if (h.bit_depth == 16) refuse_16_bit_png(path);
    win = resolve_window(path, win, static_cast<int>(h.width), static_cast<int>(h.height),
                         max_pixels);

    const bool alpha = (h.color_type & PNG_COLOR_MASK_ALPHA) != 0;  // RGBA, gray + alpha
    const int bands = png_channels(h.color_type);
    DecodedSamples d = window_samples(win, bands - (alpha ? 1 : 0));
    if (h.color_type == PNG_COLOR_TYPE_PALETTE) {
        png_colorp pal = nullptr;
        int n = 0;
        if (!read_palette_guarded(st.png, st.info, &pal, &n))
            PFCE_THROW(InputError, path, ": corrupt PNG palette (", st.msgs.error, ")");
        d.colormap.assign(static_cast<std::size_t>(std::clamp(n, 0, 256)), Rgb{0, 0, 0});
        for (int i = 0; i < n && i < 256; ++i)
            d.colormap[i] = Rgb{pal[i].red, pal[i].green, pal[i].blue};
    }
    // libpng decodes whole rows in order: stop after the window's last row (interlaced images need
    // all).
    if (h.color_type == PNG_COLOR_TYPE_GRAY) d.gray_bits = h.bit_depth;
    const bool interlaced = h.interlace != PNG_INTERLACE_NONE;
    const png_uint_32 nrows = interlaced ? h.height : static_cast<png_uint_32>(win.y0 + win.h);
    const std::size_t row_bytes = static_cast<std::size_t>(h.width) * bands;
    std::vector<std::uint8_t> buf(row_bytes * nrows);
    std::vector<png_bytep> rows(nrows);
    for (png_uint_32 y = 0; y < nrows; ++y) rows[y] = buf.data() + y * row_bytes;
    if (!read_rows_guarded(st.png, st.info, rows.data(), nrows, interlaced))
        PFCE_THROW(InputError, path, ": truncated or corrupt PNG (", st.msgs.error, ")");
    // The window's pixels, all bands, packed; then without the alpha band.
    std::vector<std::uint8_t> window(static_cast<std::size_t>(win.w) * win.h * bands);
    for (int y = 0; y < win.h; ++y)
        std::memcpy(window.data() + static_cast<std::size_t>(y) * win.w * bands,
                    buf.data() + static_cast<std::size_t>(y + win.y0) * row_bytes +
                        static_cast<std::size_t>(win.x0) * bands,
                    static_cast<std::size_t>(win.w) * bands);
    if (alpha)
        drop_opaque_alpha(window.data(), bands, d);
    else
        d.samples = std::move(window);
    // A tRNS chunk makes pixels transparent: in an RGB or gray PNG those of one colour (GIS
    // exports mark nodata so), in a palette PNG those whose entry has alpha < 255. They are
    // counted; read as labels (read_gray: pfce's own masks make "unlabelled" transparent) their
    // values stand, read as colours they are refused.
    png_bytep trans_alpha = nullptr;
    int num_trans = 0;
    png_color_16p trans = nullptr;
    const bool palette = h.color_type == PNG_COLOR_TYPE_PALETTE;
    if ((h.color_type == PNG_COLOR_TYPE_RGB || h.color_type == PNG_COLOR_TYPE_GRAY || palette) &&
        png_get_tRNS(st.png, st.info, &trans_alpha, &num_trans, &trans) != 0 &&
        (palette ? trans_alpha != nullptr : trans != nullptr)) {
        const bool rgb = h.color_type == PNG_COLOR_TYPE_RGB;
        const std::size_t n = static_cast<std::size_t>(win.w) * win.h;
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint8_t* px = d.samples.data() + i * d.channels;
            const bool hit =
                palette ? px[0] < num_trans && trans_alpha[px[0]] < 255
                : rgb   ? px[0] == trans->red && px[1] == trans->green && px[2] == trans->blue
                        : px[0] == trans->gray;
            if (!hit) continue;
            if (palette) ++d.palette_transparent;
            if (palette && trans_alpha[px[0]] > 0) ++d.palette_partial;
            d.mark_transparent(i);
        }
    }
    return d;
}

namespace {

struct PngWriteState {
    png_structp png = nullptr;
    png_infop info = nullptr;
    PngMessages msgs;
    ~PngWriteState() {
        if (png) png_destroy_write_struct(&png, info ? &info : nullptr);
    }
};

// For palette images: the 256 PLTE colours and their alpha (tRNS), both owned by the caller.
struct PngPaletteChunks {
    const png_color* colours = nullptr;
    const png_byte* alpha = nullptr;
    const std::string* labels = nullptr;  // a tEXt chunk "pfce-labels" (kLabelsTextKey), or none
    int transparent_gray = -1;            // a gray image's tRNS value (0..255), or none
};

bool write_guarded(png_structp png, png_infop info, FILE* f, png_uint_32 w, png_uint_32 h,
                   int color_type, png_bytepp rows, const PngPaletteChunks& pal) {
    if (setjmp(png_jmpbuf(png))) return false;
    png_init_io(png, f);
    png_set_IHDR(png, info, w, h, 8, color_type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_set_PLTE(png, info, pal.colours, 256);
        if (pal.alpha) png_set_tRNS(png, info, pal.alpha, 256, nullptr);
    }
    if (color_type == PNG_COLOR_TYPE_GRAY && pal.transparent_gray >= 0) {
        png_color_16 gray{};
        gray.gray = static_cast<png_uint_16>(pal.transparent_gray);
        png_set_tRNS(png, info, nullptr, 0, &gray);
    }
    png_text text{};  // before the image data, so a header read (probe_png) finds it
    if (pal.labels) {
        text.compression = PNG_TEXT_COMPRESSION_NONE;
        text.key = const_cast<png_charp>(kLabelsTextKey);
        text.text = const_cast<png_charp>(pal.labels->c_str());
        png_set_text(png, info, &text, 1);
    }
    // Masks and contact sheets are written often; fast deflate keeps them cheap, still lossless.
    png_set_compression_level(png, 3);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, nullptr);
    return true;
}

}  // namespace

namespace {

void write_png_any(const std::string& path, const std::uint8_t* samples, int width, int height,
                   int channels, int color_type, const PngPaletteChunks& pal) {
    FileCloser file;
    file.f = std::fopen(path.c_str(), "wb");
    if (!file.f) PFCE_THROW(SystemError, "cannot create ", path, ": ", std::strerror(errno));
    PngWriteState st;
    st.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &st.msgs, on_error, on_warning);
    if (!st.png) PFCE_THROW(SystemError, "png_create_write_struct failed for ", path);
    st.info = png_create_info_struct(st.png);
    if (!st.info) PFCE_THROW(SystemError, "png_create_info_struct failed for ", path);
    std::vector<png_bytep> rows(static_cast<std::size_t>(height));
    const std::size_t row_bytes = static_cast<std::size_t>(width) * channels;
    for (int y = 0; y < height; ++y) rows[y] = const_cast<png_bytep>(samples + y * row_bytes);
    errno = 0;
    if (!write_guarded(st.png, st.info, file.f, static_cast<png_uint_32>(width),
                       static_cast<png_uint_32>(height), color_type, rows.data(), pal)) {
        // libpng says only "Write Error" when fwrite comes up short; errno says why (a full disk).
        const int err = errno;
        PFCE_THROW(SystemError, "writing ", path, " failed: ",
                   err != 0 ? std::string(std::strerror(err)) + " (libpng: " + st.msgs.error + ")"
                            : st.msgs.error);
    }
    const int rc = std::fclose(file.f);
    file.f = nullptr;
    if (rc != 0) PFCE_THROW(SystemError, "writing ", path, " failed: ", std::strerror(errno));
}

}  // namespace

void write_png_file(const std::string& path, const std::uint8_t* samples, int width, int height,
                    int channels) {
    write_png_any(path, samples, width, height, channels,
                  channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, {});
}

void write_png_gray_file(const std::string& path, const std::uint8_t* samples, int width,
                         int height, int transparent) {
    PngPaletteChunks chunks;
    chunks.transparent_gray = transparent;
    write_png_any(path, samples, width, height, 1, PNG_COLOR_TYPE_GRAY, chunks);
}

void write_png_palette_file(const std::string& path, const std::uint8_t* indices, int width,
                            int height, const std::vector<Rgb>& colours,
                            const std::vector<std::uint8_t>& alpha, const std::string& labels) {
    if (colours.size() != 256 || (!alpha.empty() && alpha.size() != 256))
        PFCE_THROW(ShapeError, "cannot write ", path,
                   ": a palette PNG needs 256 colours (and 256 alphas or none)");
    std::vector<png_color> plte(256);
    for (int i = 0; i < 256; ++i) plte[i] = png_color{colours[i][0], colours[i][1], colours[i][2]};
    write_png_any(
        path, indices, width, height, 1, PNG_COLOR_TYPE_PALETTE,
        {plte.data(), alpha.empty() ? nullptr : alpha.data(), labels.empty() ? nullptr : &labels});
}

}  // namespace pfce::detail
