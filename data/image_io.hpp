// Reading and writing image files. TIFF through libtiff (8-bit RGB/RGBA-less, any compression
// libtiff decodes, LZW included), PNG through libpng. Every failure is an InputError naming the file
// and what is wrong (missing, truncated, 16-bit samples, 4 bands, ...). Writers are atomic: they
// write a temporary file beside the target and rename it, so a crash never leaves half a file.
#pragma once

#include <cstdint>
#include <string>

#include "data/image.hpp"

namespace pfce {

struct ImageInfo {
    int width = 0;
    int height = 0;
    int channels = 0;
    int bits_per_sample = 0;
};

// Header only (size, bands, bit depth) without decoding pixels; for limits and validation.
ImageInfo probe_image(const std::string& path);

// 8-bit RGB (grayscale is expanded to RGB). Refuses images above max_pixels (0 = no limit) before
// decoding, naming the file and its size.
RgbImage read_rgb(const std::string& path, std::int64_t max_pixels = 0);
// 8-bit single-channel file (index-valued masks).
LabelMap read_gray(const std::string& path, std::int64_t max_pixels = 0);

void write_png(const std::string& path, const RgbImage& img);
void write_png_gray(const std::string& path, const LabelMap& img);
void write_tiff(const std::string& path, const RgbImage& img);  // LZW-compressed, like Potsdam

// Atomic write helper for any writer: calls write(tmp) then renames tmp -> path.
template <typename Fn> void write_atomically(const std::string& path, Fn&& write);
std::string temp_path_for(const std::string& path);
void commit_temp(const std::string& tmp, const std::string& path);

template <typename Fn> void write_atomically(const std::string& path, Fn&& write) {
    const std::string tmp = temp_path_for(path);
    write(tmp);
    commit_temp(tmp, path);
}

}  // namespace pfce
