// Datasets unlike ours, for tests: a generic (dataset.toml) layout whose palette gives class 0 the
// colour black, whose ignore colour is grey (155,155,155), optionally index-encoded masks (with or
// without colours), JPEG images and images of different sizes. Real drone and land-cover sets look
// like this; the synthetic Potsdam-like set and the Potsdam palette never do.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <stb/stb_image_write.h>

#include "core/rng.hpp"
#include "data/image.hpp"
#include "data/image_io.hpp"
#include "data/palette.hpp"

namespace pfce::test {

struct ForeignSpec {
    bool index_masks = false;   // masks hold class indices (ignore value 200) instead of colours
    bool index_colours = true;  // index masks: dataset.toml names the class colours
    // Index masks: each class's pixel value (mask.values; 255 may be one); empty = 0, 1, 2, 3.
    std::vector<int> index_values;
    bool jpeg = false;  // images as .jpg (lossy, as DeepGlobe ships them)
    std::vector<std::pair<int, int>> sizes = {{40, 32}, {40, 32}, {40, 32}, {40, 32},
                                              {40, 32}, {40, 32}, {40, 32}, {40, 32}};
};

inline const std::vector<std::string>& foreign_class_names() {
    static const std::vector<std::string> n = {"background", "road", "building", "tree"};
    return n;
}
inline const std::vector<Rgb>& foreign_colours() {
    static const std::vector<Rgb> c = {{0, 0, 0}, {128, 64, 128}, {70, 70, 70}, {107, 142, 35}};
    return c;
}
constexpr Rgb kForeignIgnoreColour = {155, 155, 155};
constexpr std::uint8_t kForeignIgnoreIndex = 200;

// Dense labels of sample k: background everywhere, a road band, a building block, a tree disc and a
// few ignored pixels; every class present.
inline LabelMap foreign_labels(int w, int h, int k) {
    LabelMap m(w, h, 0);
    CounterRng rng(1234, static_cast<std::uint32_t>(k));
    const int road_y = h / 4 + static_cast<int>(rng.below(static_cast<std::uint32_t>(h / 4 + 1)));
    const int bx = static_cast<int>(rng.below(static_cast<std::uint32_t>(w / 2))), by = h / 2;
    const int tx = w / 4 + static_cast<int>(rng.below(static_cast<std::uint32_t>(w / 2))),
              ty = h / 5;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            std::uint8_t v = 0;
            if (y >= road_y && y < road_y + 4) v = 1;
            if (x >= bx && x < bx + w / 3 && y >= by && y < by + h / 3) v = 2;
            if ((x - tx) * (x - tx) + (y - ty) * (y - ty) <= 16) v = 3;
            if (rng.below(50) == 0) v = 255;
            m.at(y, x) = v;
        }
    return m;
}

inline RgbImage foreign_image(const LabelMap& labels, int k) {
    RgbImage img(labels.width, labels.height);
    CounterRng rng(99, static_cast<std::uint32_t>(k));
    for (int y = 0; y < labels.height; ++y)
        for (int x = 0; x < labels.width; ++x) {
            const std::uint8_t l = labels.at(y, x);
            const Rgb base = l == 255 ? Rgb{90, 90, 90}
                                      : Rgb{static_cast<std::uint8_t>(30 + 60 * l),
                                            static_cast<std::uint8_t>(200 - 40 * l),
                                            static_cast<std::uint8_t>(60 + 30 * l)};
            for (int c = 0; c < 3; ++c)
                img.at(y, x)[c] = static_cast<std::uint8_t>(base[c] + rng.below(16));
        }
    return img;
}

struct ForeignDataset {
    std::string root;
    std::vector<std::string> ids;  // in the dataset's (natural) order
    std::vector<LabelMap> dense;   // what the dataset's masks mean (255 = unlabelled)
};

// Test data only: pfce reads JPEG but never writes it (labels must never be lossy).
inline void write_jpeg_for_test(const std::string& path, const RgbImage& img) {
    if (!stbi_write_jpg(path.c_str(), img.width, img.height, 3, img.pixels.data(), 90))
        throw std::runtime_error("cannot write " + path);
}

inline ForeignDataset write_foreign_dataset(const std::string& root, const ForeignSpec& spec) {
    namespace fs = std::filesystem;
    fs::create_directories(root + "/images");
    fs::create_directories(root + "/masks");
    std::ofstream toml(root + "/dataset.toml");
    toml << "[classes]\nnames = [\"background\", \"road\", \"building\", \"tree\"]\n[mask]\n";
    const bool colours = !spec.index_masks || spec.index_colours;
    if (spec.index_masks) {
        toml << "encoding = \"index\"\nignore = [" << int(kForeignIgnoreIndex) << "]\n";
        if (!spec.index_values.empty()) {
            toml << "values = [";
            for (std::size_t c = 0; c < spec.index_values.size(); ++c)
                toml << (c ? ", " : "") << spec.index_values[c];
            toml << "]\n";
        }
    } else
        toml << "encoding = \"palette\"\nignore_colours = [[155, 155, 155]]\n";
    if (colours) toml << "colours = [[0, 0, 0], [128, 64, 128], [70, 70, 70], [107, 142, 35]]\n";
    toml.close();

    ForeignDataset ds;
    ds.root = root;
    for (std::size_t k = 0; k < spec.sizes.size(); ++k) {
        const std::string id = "tile_" + std::to_string(k);
        const LabelMap dense =
            foreign_labels(spec.sizes[k].first, spec.sizes[k].second, static_cast<int>(k));
        const RgbImage img = foreign_image(dense, static_cast<int>(k));
        if (spec.jpeg)
            write_jpeg_for_test(root + "/images/" + id + ".jpg", img);
        else
            write_png(root + "/images/" + id + ".png", img);
        if (spec.index_masks) {
            LabelMap raw = dense;
            for (auto& v : raw.labels)
                v = v == 255                    ? kForeignIgnoreIndex
                    : spec.index_values.empty() ? v
                                                : static_cast<std::uint8_t>(spec.index_values[v]);
            write_png_gray(root + "/masks/" + id + ".png", raw);
        } else {
            Palette p;
            for (std::size_t c = 0; c < foreign_colours().size(); ++c)
                p.classes.push_back({foreign_class_names()[c], foreign_colours()[c]});
            RgbImage colour = p.encode(dense);  // 255 -> black; repaint as the ignore colour
            for (std::size_t i = 0; i < dense.labels.size(); ++i)
                if (dense.labels[i] == 255)
                    for (int c = 0; c < 3; ++c) colour.pixels[3 * i + c] = kForeignIgnoreColour[c];
            write_png(root + "/masks/" + id + ".png", colour);
        }
        ds.ids.push_back(id);
        ds.dense.push_back(dense);
    }
    return ds;
}

}  // namespace pfce::test
