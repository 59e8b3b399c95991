// Composes the per-experiment picture grid from in-memory images and label maps.
#include "host/experiment/picture_grid.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace pfce {

int grid_scale_for(int width, int height) {
    const int side = std::max(1, std::max(width, height));
    return std::max(1, 160 / side);
}

void grid_size(int rows, int width, int height, int& out_width, int& out_height) {
    const int s = grid_scale_for(width, height);
    out_width = kGridColumns * width * s + (kGridColumns + 1) * kGridGap;
    out_height = rows * height * s + (rows + 1) * kGridGap;
}

RgbImage draw_points(const LabelMap& sparse, const Palette& palette, int radius) {
    // Paint in ascending label order per pixel: the owner of a pixel is the largest label whose
    // disc covers it, independent of the order points are visited.
    LabelMap owner(sparse.width, sparse.height, 255);
    std::vector<bool> covered(sparse.labels.size(), false);
    for (int y = 0; y < sparse.height; ++y)
        for (int x = 0; x < sparse.width; ++x) {
            const std::uint8_t c = sparse.at(y, x);
            if (c == 255 || c >= palette.num_classes()) continue;
            for (int dy = -radius; dy <= radius; ++dy)
                for (int dx = -radius; dx <= radius; ++dx) {
                    if (dx * dx + dy * dy > radius * radius) continue;
                    const int yy = y + dy, xx = x + dx;
                    if (yy < 0 || xx < 0 || yy >= sparse.height || xx >= sparse.width) continue;
                    const std::size_t i = static_cast<std::size_t>(yy) * sparse.width + xx;
                    if (!covered[i] || c > owner.labels[i]) owner.labels[i] = c;
                    covered[i] = true;
                }
        }
    return palette.encode(owner, palette.display_unlabelled());
}

namespace {

void blit(RgbImage& dst, const RgbImage& src, int x0, int y0, int scale) {
    for (int y = 0; y < src.height * scale; ++y)
        for (int x = 0; x < src.width * scale; ++x) {
            const std::uint8_t* s = src.at(y / scale, x / scale);
            std::uint8_t* d = dst.at(y0 + y, x0 + x);
            d[0] = s[0];
            d[1] = s[1];
            d[2] = s[2];
        }
}

void check_same(const LabelMap& m, const RgbImage& img, const char* what) {
    PFCE_CHECK_SHAPE(m.width == img.width && m.height == img.height, what, " is ", m.width, "x",
                     m.height, " but the image is ", img.width, "x", img.height);
}

}  // namespace

RgbImage compose_picture_grid(const std::vector<GridRow>& rows, const Palette& palette) {
    PFCE_CHECK_SHAPE(!rows.empty(), "a picture grid needs at least one row");
    const int w = rows[0].image.width, h = rows[0].image.height;
    const int s = grid_scale_for(w, h);
    int gw = 0, gh = 0;
    grid_size(static_cast<int>(rows.size()), w, h, gw, gh);
    RgbImage grid(gw, gh);
    std::fill(grid.pixels.begin(), grid.pixels.end(), std::uint8_t{255});
    // Dots of about 1/60 of the image side, at least 1 px, in image pixels before enlargement.
    const int radius = std::max(1, std::max(w, h) / 60);
    for (std::size_t r = 0; r < rows.size(); ++r) {
        const GridRow& row = rows[r];
        PFCE_CHECK_SHAPE(row.image.width == w && row.image.height == h, "grid row ", r,
                         " image is ", row.image.width, "x", row.image.height, ", expected ", w,
                         "x", h);
        check_same(row.dense, row.image, "dense truth");
        check_same(row.sparse, row.image, "sparse mask");
        check_same(row.train, row.image, "training labels");
        check_same(row.prediction, row.image, "prediction");
        const Rgb none = palette.display_unlabelled();  // black unless a class is black
        const RgbImage panels[kGridColumns] = {
            row.image, palette.encode(row.dense, none), draw_points(row.sparse, palette, radius),
            palette.encode(row.train, none), palette.encode(row.prediction, none)};
        const int y0 = kGridGap + static_cast<int>(r) * (h * s + kGridGap);
        for (int c = 0; c < kGridColumns; ++c)
            blit(grid, panels[c], kGridGap + c * (w * s + kGridGap), y0, s);
    }
    return grid;
}

}  // namespace pfce
