// The NoData value an image's .aux.xml gives (GDAL's way for a PNG or JPEG chip), as predict,
// training and evaluation all read it: one definition, so that what predict leaves without a class
// is what eval leaves unscored (the sidecar was predict's alone: probe).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "data/georef_sidecar.hpp"
#include "data/image_io.hpp"

namespace pfce {

// Marks the pixels of `img` (read from `image` through `choice`) that hold `sidecars.no_data` in
// every band as no data in `nodata` (width*height; made where empty and needed), beside those
// read_rgb_with_nodata found. It is a stored sample, so it is compared where the image is read as
// stored (8-bit RGB or gray, its own colours); else (a palette's index, 1-bit gray scaled, bands
// picked) it is said not to be used: every time, or once where `said` is given.
// `what_happens`: how the command treats such pixels then ("predicted as data").
void mark_sidecar_no_data(const std::string& image, const SidecarGeoref& sidecars,
                          const RgbImage& img, const ImageChoice& choice,
                          std::vector<std::uint8_t>& nodata, const char* what_happens,
                          std::atomic<bool>* said = nullptr);

}  // namespace pfce
