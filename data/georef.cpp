// GeoReference::describe: the EPSG code from the GeoKey directory (projected, else geographic)
// and the pixel size and origin from the scale and tie point, for a log line.
#include "data/georef.hpp"

#include <sstream>

namespace pfce {

std::string GeoReference::describe() const {
    if (empty()) return "no georeference";
    std::ostringstream os;
    os.precision(12);  // map coordinates need their decimals
    // Directory: header (version, revision, minor, count), then (key, location, count, value).
    int epsg = 0;
    for (std::size_t i = 4; i + 3 < key_directory.size(); i += 4) {
        const std::uint16_t key = key_directory[i], location = key_directory[i + 1];
        if (location != 0) continue;  // the value is stored elsewhere
        if (key == 3072 || (key == 2048 && epsg == 0)) epsg = key_directory[i + 3];
    }
    os << (epsg > 0 && epsg < 32767 ? "EPSG:" + std::to_string(epsg) : std::string("CRS in keys"));
    if (pixel_scale.size() >= 2) os << ", pixel " << pixel_scale[0] << " x " << pixel_scale[1];
    if (tiepoints.size() >= 6) os << ", origin (" << tiepoints[3] << ", " << tiepoints[4] << ")";
    if (!transformation.empty()) os << ", affine transformation";
    return os.str();
}

}  // namespace pfce
