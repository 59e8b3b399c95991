#include "data/sidecar_no_data.hpp"

#include "core/log.hpp"

namespace pfce {

void mark_sidecar_no_data(const std::string& image, const SidecarGeoref& sidecars,
                          const RgbImage& img, const ImageChoice& choice,
                          std::vector<std::uint8_t>& nodata, const char* what_happens,
                          std::atomic<bool>* said) {
    if (sidecars.no_data < 0) return;
    const ImageInfo info = probe_image(image);
    if (choice.has_value_range() || !choice.bands.empty() || info.palette ||
        info.bits_per_sample != 8) {
        if (!said || !said->exchange(true))
            log_warn(sidecars.aux_file, ": NoDataValue ", sidecars.no_data,
                     " is not used: it is a stored sample, and ", image,
                     info.palette ? " is a palette image (read as its colours)"
                     : info.bits_per_sample != 8
                         ? " has samples of other than 8 bits"
                         : " is read through data.bands or data.value_range",
                     "; its pixels are ", what_happens);
        return;
    }
    const auto v = static_cast<std::uint8_t>(sidecars.no_data);
    const std::size_t n = img.pixels.size() / 3;
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t* p = &img.pixels[3 * i];
        if (p[0] != v || p[1] != v || p[2] != v) continue;
        if (nodata.empty()) nodata.assign(n, 0);
        nodata[i] = 1;
    }
}

}  // namespace pfce
