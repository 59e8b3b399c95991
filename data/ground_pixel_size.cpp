#include "data/ground_pixel_size.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/text.hpp"
#include "data/georef.hpp"
#include "data/georef_sidecar.hpp"
#include "data/image_io.hpp"

namespace pfce {

std::optional<GroundPixelSize> ground_pixel_size(const std::string& image) {
    const std::string ext = ascii_lower(std::filesystem::path(image).extension().string());
    const GeoReference tags =
        ext == ".tif" || ext == ".tiff" ? read_georeference(image) : GeoReference{};
    const std::optional<PlacedGrid> placed = pixel_grid_as_gdal_reads(image, tags);
    if (!placed || !(placed->grid.sx != 0) || !(placed->grid.sy != 0)) return std::nullopt;
    return GroundPixelSize{std::abs(placed->grid.sx), std::abs(placed->grid.sy),
                           crs_as_gdal_reads(image, tags).epsg};
}

namespace {

bool in_metres(int epsg) {
    return (epsg >= 32601 && epsg <= 32660) ||  // WGS 84 / UTM north
           (epsg >= 32701 && epsg <= 32760) ||  // WGS 84 / UTM south
           (epsg >= 25828 && epsg <= 25838) ||  // ETRS89 / UTM (Potsdam: 25833 and 32633)
           (epsg >= 31466 && epsg <= 31469) ||  // DHDN / Gauss-Krüger
           epsg == 3857 || epsg == 2154 ||      // Web Mercator, Lambert-93
           epsg == 27700 || epsg == 28992 ||    // British National Grid, Amersfoort / RD New
           epsg == 3035 || epsg == 2056;        // ETRS89-LAEA, Swiss LV95
}

}  // namespace

bool pixel_sizes_compare(int epsg_a, int epsg_b) {
    if (epsg_a == 0 || epsg_b == 0) return false;
    return epsg_a == epsg_b || (in_metres(epsg_a) && in_metres(epsg_b));
}

nlohmann::json common_ground_pixel_size(const std::vector<std::string>& images) {
    if (images.empty()) return nullptr;
    const std::size_t n = std::min<std::size_t>(images.size(), 64);
    std::optional<GroundPixelSize> first;
    for (std::size_t k = 0; k < n; ++k) {
        const std::optional<GroundPixelSize> p = ground_pixel_size(images[k * images.size() / n]);
        if (!p) return nullptr;
        if (!first) {
            first = p;
            continue;
        }
        const auto close = [](double a, double b) { return std::abs(a - b) <= 0.01 * b; };
        if (p->epsg != first->epsg || !close(p->x, first->x) || !close(p->y, first->y))
            return nullptr;
    }
    return {{"x", first->x}, {"y", first->y}, {"epsg", first->epsg}, {"images", n}};
}

std::optional<double> zoom_for(const GroundPixelSize& input, const nlohmann::json& trained) {
    if (!trained.is_object() || !trained.contains("x") || !trained["x"].is_number() ||
        !trained.contains("y") || !trained["y"].is_number() || !trained.contains("epsg") ||
        !trained["epsg"].is_number_integer())
        return std::nullopt;
    const double tx = trained["x"].get<double>(), ty = trained["y"].get<double>();
    if (!(tx > 0) || !(ty > 0) || !pixel_sizes_compare(input.epsg, trained["epsg"].get<int>()))
        return std::nullopt;
    // One factor for both axes: the mean of the two ratios (pixels are square in nearly all).
    return 0.5 * (input.x / tx + input.y / ty);
}

}  // namespace pfce
