// Fuzz target for the image readers (built three times: PFCE_FUZZ_FORMAT tiff, png or jpeg picks
// the seeds; every reader sees every input, since the format is told by the bytes): read_rgb,
// read_gray, probe_image, read_georeference, a window read, and both with bands picked and 16-bit
// samples scaled.
#include <cstdint>
#include <string>
#include <vector>

#include <stb/stb_image_write.h>

#include "core/error.hpp"
#include "data/image_io.hpp"
#include "tests/fuzz/fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string path = pfce::fuzz::scratch_file(data, size, ".img");
    constexpr std::int64_t kLimit = 1 << 22;  // a fuzzed header may claim any size
    try {
        (void)pfce::probe_image(path);
    } catch (const pfce::Error&) {
    }
    try {
        (void)pfce::read_rgb(path, kLimit);
    } catch (const pfce::Error&) {
    }
    try {
        (void)pfce::read_gray(path, kLimit);
    } catch (const pfce::Error&) {
    }
    try {
        (void)pfce::read_georeference(path);
    } catch (const pfce::Error&) {
    }
    try {
        (void)pfce::read_rgb_window(path, 1, 1, 3, 2, kLimit);
    } catch (const pfce::Error&) {
    }
    // The data.bands and data.value_range paths: any number of bands, 16-bit samples scaled.
    pfce::ImageChoice picks;
    picks.bands = {3, 1, 2};
    pfce::ImageChoice wide;
    wide.bands = {2};
    wide.range_lo = 100;
    wide.range_hi = 4000;
    for (const pfce::ImageChoice& c : {picks, wide}) {
        try {
            (void)pfce::read_rgb(path, kLimit, c);
        } catch (const pfce::Error&) {
        }
        try {
            (void)pfce::read_rgb_window(path, 1, 1, 3, 2, kLimit, c);
        } catch (const pfce::Error&) {
        }
    }
    return 0;
}

std::vector<std::string> fuzz_seeds() {
    using namespace pfce;
    const std::string dir = "/tmp/pfce-fuzz-seeds-" + std::to_string(::getpid());
    std::vector<std::string> seeds;
    RgbImage rgb(7, 5);
    for (std::size_t i = 0; i < rgb.pixels.size(); ++i)
        rgb.pixels[i] = static_cast<std::uint8_t>(i * 37);
    LabelMap lab(7, 5, 1);
    lab.at(2, 3) = 255;
    std::vector<Rgb> colours(256, Rgb{1, 2, 3});
    [[maybe_unused]] auto add = [&](const std::string& p) {
        seeds.push_back(fuzz::file_bytes(p));
        std::remove(p.c_str());
    };
#if PFCE_FUZZ_FORMAT_TIFF
    write_tiff(dir + "a.tif", rgb);
    add(dir + "a.tif");
    write_tiff_gray(dir + "b.tif", lab);
    add(dir + "b.tif");
    GeoReference g;
    g.pixel_scale = {0.5, 0.5, 0};
    g.tiepoints = {0, 0, 0, 1000, 2000, 0};
    g.key_directory = {1, 1, 0, 1, 3072, 0, 1, 25832};
    write_tiff_indexed(dir + "c.tif", lab, colours, g);
    add(dir + "c.tif");
#elif PFCE_FUZZ_FORMAT_PNG
    write_png(dir + "a.png", rgb);
    add(dir + "a.png");
    write_png_gray(dir + "b.png", lab);
    add(dir + "b.png");
    write_png_indexed(dir + "c.png", lab, colours, std::vector<std::uint8_t>(256, 255));
    add(dir + "c.png");
#else
    for (int channels : {3, 1}) {  // colour and grey baseline JPEGs, written to memory
        std::string bytes;
        stbi_write_jpg_to_func(
            [](void* ctx, void* p, int n) {
                static_cast<std::string*>(ctx)->append(static_cast<const char*>(p),
                                                       static_cast<std::size_t>(n));
            },
            &bytes, rgb.width, rgb.height, channels, rgb.pixels.data(), 90);
        seeds.push_back(bytes);
    }
#endif
    return seeds;
}
