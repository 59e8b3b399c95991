// JPEG through stb_image (libstb): aerial chips often ship as .jpg (DeepGlobe and many drone sets).
// Decoded whole (JPEG has no random access to windows) and cropped; the size is checked against the
// pixel limit from the header before decoding. Labels are never read from JPEG: lossy compression
// changes label values (check_pair_sizes refuses JPEG masks).
#include <stb/stb_image.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "core/error.hpp"
#include "data/image_io_detail.hpp"

namespace pfce::detail {

ImageInfo probe_jpeg(const std::string& path) {
    int w = 0, h = 0, comp = 0;
    if (!stbi_info(path.c_str(), &w, &h, &comp))
        PFCE_THROW(InputError, path, ": truncated or corrupt JPEG, its header cannot be read (",
                   stbi_failure_reason(), ")");
    return ImageInfo{w, h, comp, 8, true};
}

DecodedSamples read_jpeg(const std::string& path, Window win, std::int64_t max_pixels) {
    const ImageInfo info = probe_jpeg(path);
    if (info.channels != 1 && info.channels != 3)
        PFCE_THROW(InputError, path, ": JPEG with ", info.channels,
                   " components is not supported (expected RGB or grayscale)");
    win = resolve_window(path, win, info.width, info.height, max_pixels);
    int w = 0, h = 0, comp = 0;
    std::unique_ptr<unsigned char, void (*)(void*)> pixels(
        stbi_load(path.c_str(), &w, &h, &comp, 0), stbi_image_free);
    if (!pixels)
        PFCE_THROW(InputError, path, ": truncated or corrupt JPEG (", stbi_failure_reason(), ")");
    if (w != info.width || h != info.height || comp != info.channels)
        PFCE_THROW(InputError, path, ": JPEG header and data disagree");
    DecodedSamples d = window_samples(win, comp);
    const std::size_t row = static_cast<std::size_t>(w) * comp;
    for (int y = 0; y < win.h; ++y)
        std::memcpy(d.samples.data() + static_cast<std::size_t>(y) * win.w * comp,
                    pixels.get() + static_cast<std::size_t>(y + win.y0) * row +
                        static_cast<std::size_t>(win.x0) * comp,
                    static_cast<std::size_t>(win.w) * comp);
    return d;
}

}  // namespace pfce::detail
