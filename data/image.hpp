// In-memory images and label maps as the data layer passes them around (host only, row-major).
// Tensors are made from these by the batch loader; nothing here knows about backends.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pfce {

// Interleaved 8-bit RGB, row-major: pixel (y,x) channel c at (y*width + x)*3 + c.
struct RgbImage {
    int width = 0;
    int height = 0;
    std::vector<std::uint8_t> pixels;

    RgbImage() = default;
    RgbImage(int w, int h) : width(w), height(h), pixels(static_cast<std::size_t>(w) * h * 3, 0) {}
    std::uint8_t* at(int y, int x) {
        return &pixels[(static_cast<std::size_t>(y) * width + x) * 3];
    }
    const std::uint8_t* at(int y, int x) const {
        return &pixels[(static_cast<std::size_t>(y) * width + x) * 3];
    }
};

// Class index per pixel, 255 = unlabelled.
struct LabelMap {
    int width = 0;
    int height = 0;
    std::vector<std::uint8_t> labels;

    LabelMap() = default;
    LabelMap(int w, int h, std::uint8_t fill = 255)
        : width(w), height(h), labels(static_cast<std::size_t>(w) * h, fill) {}
    std::uint8_t& at(int y, int x) { return labels[static_cast<std::size_t>(y) * width + x]; }
    std::uint8_t at(int y, int x) const { return labels[static_cast<std::size_t>(y) * width + x]; }
};

}  // namespace pfce
