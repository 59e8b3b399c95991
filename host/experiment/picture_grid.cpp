// Composes the per-experiment picture grid from in-memory images and label maps.
#include "host/experiment/picture_grid.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/text.hpp"
#include "data/picture_text.hpp"
#include "host/train/metrics.hpp"

namespace pfce {

GridZoom grid_zoom_for(int width, int height) {
    constexpr int kSmall = 160, kLarge = 480;
    const int side = std::max(1, std::max(width, height));
    GridZoom z;
    if (side < kSmall) z.up = kSmall / side;
    if (side > kLarge) z.down = (side + kLarge - 1) / kLarge;
    return z;
}

namespace {

GridZoom zoom_of(const std::vector<GridImageSize>& rows) {
    int w = 0, h = 0;
    for (const GridImageSize& r : rows) {
        w = std::max(w, r.width);
        h = std::max(h, r.height);
    }
    return grid_zoom_for(w, h);
}

int column_width(const std::vector<GridImageSize>& rows, const GridZoom& z) {
    int w = 0;
    for (const GridImageSize& r : rows) w = std::max(w, z.shown(r.width));
    return w;
}

}  // namespace

void grid_size(const std::vector<GridImageSize>& rows, int& out_width, int& out_height) {
    const GridZoom z = zoom_of(rows);
    out_width = kGridColumns * column_width(rows, z) + (kGridColumns + 1) * kGridGap;
    out_height = kGridGap;
    for (const GridImageSize& r : rows) out_height += z.shown(r.height) + kGridGap;
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

// Enlarges by z.up (a reduced panel is already at its size: z.down is done by reduce_*).
void blit(RgbImage& dst, const RgbImage& src, int x0, int y0, int up) {
    for (int y = 0; y < src.height * up; ++y)
        for (int x = 0; x < src.width * up; ++x) {
            const std::uint8_t* s = src.at(y / up, x / up);
            std::uint8_t* d = dst.at(y0 + y, x0 + x);
            d[0] = s[0];
            d[1] = s[1];
            d[2] = s[2];
        }
}

// Every down-th pixel: a photo panel needs no more.
RgbImage reduce_image(const RgbImage& src, int down) {
    if (down == 1) return src;
    const GridZoom z{1, down};
    RgbImage out(z.shown(src.width), z.shown(src.height));
    for (int y = 0; y < out.height; ++y)
        for (int x = 0; x < out.width; ++x) {
            const std::uint8_t* s = src.at(y * down, x * down);
            std::copy(s, s + 3, out.at(y, x));
        }
    return out;
}

// One label per block of down x down pixels, never a blend of classes: the block's first pixel,
// or where that is unlabelled, its first labelled one. Sampling one pixel of each block would
// lose single-pixel points and 1-px linked lines (at 6000 px, 168 of every 169 points).
LabelMap reduce_labels(const LabelMap& src, int down) {
    if (down == 1) return src;
    const GridZoom z{1, down};
    LabelMap out(z.shown(src.width), z.shown(src.height), 255);
    for (int y = 0; y < out.height; ++y)
        for (int x = 0; x < out.width; ++x) {
            std::uint8_t& o = out.at(y, x);
            for (int dy = 0; dy < down && o == 255 && y * down + dy < src.height; ++dy)
                for (int dx = 0; dx < down && o == 255 && x * down + dx < src.width; ++dx)
                    o = src.at(y * down + dy, x * down + dx);
        }
    return out;
}

void check_same(const LabelMap& m, const RgbImage& img, const char* what) {
    PFCE_CHECK_SHAPE(m.width == img.width && m.height == img.height, what, " is ", m.width, "x",
                     m.height, " but the image is ", img.width, "x", img.height);
}

}  // namespace

RgbImage compose_picture_grid(const std::vector<GridRow>& rows, const Palette& palette) {
    PFCE_CHECK_SHAPE(!rows.empty(), "a picture grid needs at least one row");
    std::vector<GridImageSize> sizes;
    for (const GridRow& row : rows) sizes.push_back({row.image.width, row.image.height});
    const GridZoom z = zoom_of(sizes);
    const int cw = column_width(sizes, z);
    int gw = 0, gh = 0;
    grid_size(sizes, gw, gh);
    RgbImage grid(gw, gh);
    std::fill(grid.pixels.begin(), grid.pixels.end(), std::uint8_t{255});
    int y0 = kGridGap;
    for (const GridRow& row : rows) {
        check_same(row.dense, row.image, "dense truth");
        check_same(row.sparse, row.image, "sparse mask");
        check_same(row.train, row.image, "training labels");
        check_same(row.prediction, row.image, "prediction");
        // Reduced first, so the points are drawn at the panel's size (a disc around each of a
        // 6000x6000 dense map's pixels took hours) and stay visible.
        const LabelMap points = reduce_labels(row.sparse, z.down);
        // Dots of about 1/60 of the panel side, at least 1 px, before enlarging.
        const int radius = std::max(1, std::max(points.width, points.height) / 60);
        const Rgb none = palette.display_unlabelled();  // black unless a class is black
        // Training labels that are the points themselves (a sparse experiment) are drawn as dots
        // too: pixel for pixel the column was all but blank (walkthrough).
        const bool train_are_points =
            row.sparse_are_points && row.train.labels == row.sparse.labels;
        const RgbImage panels[kGridColumns] = {
            reduce_image(row.image, z.down), palette.encode(reduce_labels(row.dense, z.down), none),
            row.sparse_are_points ? draw_points(points, palette, radius)
                                  : palette.encode(points, none),
            train_are_points ? draw_points(points, palette, radius)
                             : palette.encode(reduce_labels(row.train, z.down), none),
            palette.encode(reduce_labels(row.prediction, z.down), none)};
        for (int c = 0; c < kGridColumns; ++c)
            blit(grid, panels[c], kGridGap + c * (cw + kGridGap), y0, z.up);
        if (!row.id.empty())
            draw_caption(grid, kGridGap, y0, z.shown(row.image.width), z.shown(row.image.height),
                         row.id);
        if (!row.score.empty())
            draw_caption(grid, kGridGap + (kGridColumns - 1) * (cw + kGridGap), y0,
                         z.shown(row.image.width), z.shown(row.image.height), row.score);
        y0 += z.shown(row.image.height) + kGridGap;
    }
    return grid;
}

std::string prediction_score(const LabelMap& truth, const LabelMap& prediction, int num_classes,
                             int clutter_class) {
    PFCE_CHECK_SHAPE(truth.width == prediction.width && truth.height == prediction.height,
                     "prediction is ", prediction.width, "x", prediction.height,
                     " but the truth is ", truth.width, "x", truth.height);
    const auto c = static_cast<std::size_t>(num_classes);
    std::vector<std::int64_t> confusion(c * c, 0);
    bool any = false;
    for (std::size_t i = 0; i < truth.labels.size(); ++i) {
        const std::size_t t = truth.labels[i], p = prediction.labels[i];
        if (t >= c || p >= c) continue;  // unlabelled truth (or no prediction: no data)
        ++confusion[t * c + p];
        any = true;
    }
    if (!any) return "mIoU n/a";
    return "mIoU " +
           format_fixed(metrics_from_confusion(confusion, num_classes, clutter_class).miou, 4);
}

RgbImage titled_picture_grid(const std::vector<GridRow>& rows, const Palette& palette) {
    const RgbImage grid = compose_picture_grid(rows, palette);
    std::vector<GridImageSize> sizes;
    for (const GridRow& row : rows) sizes.push_back({row.image.width, row.image.height});
    const int cw = column_width(sizes, zoom_of(sizes));
    const bool points =
        std::any_of(rows.begin(), rows.end(), [](const GridRow& r) { return r.sparse_are_points; });
    const std::vector<std::string> titles = {"image", "truth", points ? "sparse points" : "labels",
                                             "train labels", "prediction"};
    std::vector<int> lefts, widths;
    for (int c = 0; c < kGridColumns; ++c) {
        lefts.push_back(kGridGap + c * (cw + kGridGap));
        widths.push_back(cw);
    }
    return titled_picture(grid, titles, lefts, widths, class_legend(palette), Rgb{255, 255, 255});
}

}  // namespace pfce
