// In-memory images and label maps as the data layer passes them around (host only, row-major).
// Tensors are made from these by the batch loader; nothing here knows about backends.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pfce {

// The most channels a model input has: data.bands picks at most this many bands of a file.
inline constexpr int kMaxImageChannels = 8;

// How many of a file's bands data.bands may pick: one (copied to three channels, as a gray image
// is read), or three to kMaxImageChannels, each a channel of the model's input. Two are refused:
// every image has the three channels a picture shows.
inline bool image_channel_count_fits(int picked) {
    return picked == 1 || (picked >= 3 && picked <= kMaxImageChannels);
}
inline constexpr const char* kImageChannelCounts =
    "one band (copied to three channels) or three to eight, one per input channel";
// The channels an image read through `picked` bands has (none picked: the file's RGB or gray).
inline int image_channels_of_bands(int picked) {
    return picked <= 1 ? 3 : picked;
}

// Interleaved 8-bit samples, row-major: pixel (y,x) channel c at (y*width + x)*channels + c. Three
// channels (RGB) unless data.bands picks more bands of a file (RGB + near infrared as four, say):
// then the model sees all of them, and the first three are what a picture shows and what the
// colour-based parts read (the CRF term, edge-aware linking, overlays).
struct RgbImage {
    int width = 0;
    int height = 0;
    int channels = 3;
    std::vector<std::uint8_t> pixels;

    RgbImage() = default;
    RgbImage(int w, int h, int c = 3)
        : width(w), height(h), channels(c), pixels(static_cast<std::size_t>(w) * h * c, 0) {}
    std::uint8_t* at(int y, int x) {
        return &pixels[(static_cast<std::size_t>(y) * width + x) * channels];
    }
    const std::uint8_t* at(int y, int x) const {
        return &pixels[(static_cast<std::size_t>(y) * width + x) * channels];
    }
};

// The three channels a picture shows of `img` (its first three: RGB, or the first three bands
// data.bands picks), interleaved as an image of three channels.
inline RgbImage colour_channels(const RgbImage& img) {
    if (img.channels == 3) return img;
    RgbImage out(img.width, img.height);
    const std::size_t n = static_cast<std::size_t>(img.width) * img.height;
    const auto stride = static_cast<std::size_t>(img.channels);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t c = 0; c < 3; ++c) out.pixels[3 * i + c] = img.pixels[i * stride + c];
    return out;
}

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
