// Contact sheet composition: nearest-neighbour scaling (label colours must stay exact), a fixed
// grid, and enlarged dots for sparse masks.
#include "data/contact_sheet.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "data/picture_text.hpp"

namespace pfce {

int sheet_width(int cols, const SheetOptions& opt) {
    return opt.gap + cols * (opt.panel + opt.gap);
}
int sheet_height(int rows, const SheetOptions& opt) {
    return opt.gap + rows * (opt.panel + opt.gap);
}

void panel_size(int img_w, int img_h, int panel, int& out_w, int& out_h) {
    if (img_w >= img_h) {
        out_w = panel;
        out_h = std::max(1, static_cast<int>(static_cast<long long>(img_h) * panel / img_w));
    } else {
        out_h = panel;
        out_w = std::max(1, static_cast<int>(static_cast<long long>(img_w) * panel / img_h));
    }
}

RgbImage resize_nearest(const RgbImage& img, int width, int height) {
    if (width == img.width && height == img.height) return img;
    RgbImage out(width, height);
    for (int y = 0; y < height; ++y) {
        const int sy = static_cast<int>(static_cast<long long>(y) * img.height / height);
        for (int x = 0; x < width; ++x) {
            const int sx = static_cast<int>(static_cast<long long>(x) * img.width / width);
            std::copy_n(img.at(sy, sx), 3, out.at(y, x));
        }
    }
    return out;
}

RgbImage render_sparse(const LabelMap& mask, const Palette& palette, int out_w, int out_h,
                       int radius) {
    RgbImage out(out_w, out_h);
    const Rgb none = palette.display_unlabelled();
    for (std::size_t i = 0; i < out.pixels.size(); i += 3)
        std::copy(none.begin(), none.end(), &out.pixels[i]);
    if (mask.width <= 0 || mask.height <= 0) return out;
    for (int y = 0; y < mask.height; ++y) {
        for (int x = 0; x < mask.width; ++x) {
            const std::uint8_t l = mask.at(y, x);
            if (l == 255) continue;
            if (l >= palette.num_classes())
                PFCE_THROW(InputError, "label ", int(l), " at pixel (x=", x, ", y=", y,
                           ") has no colour in a "
                           "palette of ",
                           palette.num_classes(), " classes");
            const Rgb& c = palette.classes[l].colour;
            // The point's own block of the panel [x0, x1) x [y0, y1) (more than one panel pixel
            // where the image is enlarged), and a dot of `radius` around its centre: drawn at the
            // block's corner, a point of a 20x20 image sat 7 panel pixels up and left of its pixel.
            // Blocks as resize_nearest shows the image: panel pixel X shows pixel X * in / out.
            auto block = [](int v, int panel, int side) {
                return std::min(
                    panel, static_cast<int>((static_cast<long long>(v) * panel + side - 1) / side));
            };
            // A start inside the panel (a downscaled image's pixel may start past its last
            // column), an end at the panel's edge at most (the last pixel's block reaches it).
            const int x0 = std::min(out_w - 1, block(x, out_w, mask.width));
            const int y0 = std::min(out_h - 1, block(y, out_h, mask.height));
            const int x1 = std::max(x0 + 1, block(x + 1, out_w, mask.width));
            const int y1 = std::max(y0 + 1, block(y + 1, out_h, mask.height));
            const int cx = (x0 + x1 - 1) / 2, cy = (y0 + y1 - 1) / 2;
            const int left = std::max(0, std::min(x0, cx - radius));
            const int right = std::min(out_w - 1, std::max(x1 - 1, cx + radius));
            const int top = std::max(0, std::min(y0, cy - radius));
            const int bottom = std::min(out_h - 1, std::max(y1 - 1, cy + radius));
            for (int yy = top; yy <= bottom; ++yy)
                for (int xx = left; xx <= right; ++xx)
                    std::copy(c.begin(), c.end(), out.at(yy, xx));
        }
    }
    return out;
}

RgbImage make_contact_sheet(const std::vector<std::vector<RgbImage>>& rows,
                            const SheetOptions& opt) {
    if (opt.panel <= 0 || opt.gap < 0)
        PFCE_THROW(InputError, "contact sheet panel size must be positive");
    std::size_t cols = 0;
    for (const auto& r : rows) cols = std::max(cols, r.size());
    if (rows.empty() || cols == 0) PFCE_THROW(InputError, "contact sheet: nothing to show");
    RgbImage sheet(sheet_width(static_cast<int>(cols), opt),
                   sheet_height(static_cast<int>(rows.size()), opt));
    std::fill(sheet.pixels.begin(), sheet.pixels.end(), kSheetBackground);
    for (std::size_t r = 0; r < rows.size(); ++r) {
        for (std::size_t c = 0; c < rows[r].size(); ++c) {
            const RgbImage& p = rows[r][c];
            if (p.width <= 0 || p.height <= 0) continue;
            int w = 0, h = 0;
            panel_size(p.width, p.height, opt.panel, w, h);
            const RgbImage scaled = resize_nearest(p, w, h);
            const int ox = opt.gap + static_cast<int>(c) * (opt.panel + opt.gap);
            const int oy = opt.gap + static_cast<int>(r) * (opt.panel + opt.gap);
            for (int y = 0; y < h; ++y)
                std::copy_n(scaled.at(y, 0), static_cast<std::size_t>(w) * 3, sheet.at(oy + y, ox));
            if (c == 0 && r < opt.captions.size())
                draw_caption(sheet, ox, oy, w, h, opt.captions[r]);
        }
    }
    return sheet;
}

}  // namespace pfce
