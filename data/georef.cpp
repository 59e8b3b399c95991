// GeoReference::describe: the EPSG code from the GeoKey directory (projected, else geographic)
// and the pixel size and origin from the scale and tie point, for a log line; grid_difference:
// whether two rasters share a pixel grid.
#include "data/georef.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>

namespace pfce {

int epsg_code(const GeoReference& g) {
    // Directory: header (version, revision, minor, count), then (key, location, count, value).
    int epsg = 0;
    for (std::size_t i = 4; i + 3 < g.key_directory.size(); i += 4) {
        const std::uint16_t key = g.key_directory[i], location = g.key_directory[i + 1];
        if (location != 0) continue;  // the value is stored elsewhere
        if (key == 3072 || (key == 2048 && epsg == 0)) epsg = g.key_directory[i + 3];
    }
    return epsg > 0 && epsg < 32767 ? epsg : 0;
}

namespace {

// Pixel (0, 0)'s corner on the map and the pixel size, from the tie point and scale or from the
// affine transformation (row-major 4x4); false when neither is there.
struct Grid {
    double x0 = 0, y0 = 0, sx = 0, sy = 0;
};
bool grid_of(const GeoReference& g, Grid& out) {
    if (g.transformation.size() >= 8) {
        out = {g.transformation[3], g.transformation[7], g.transformation[0], -g.transformation[5]};
        return true;
    }
    if (g.pixel_scale.size() >= 2 && g.tiepoints.size() >= 6) {
        out.sx = g.pixel_scale[0];
        out.sy = g.pixel_scale[1];
        out.x0 = g.tiepoints[3] - g.tiepoints[0] * out.sx;
        out.y0 = g.tiepoints[4] + g.tiepoints[1] * out.sy;
        return true;
    }
    return false;
}

}  // namespace

std::string grid_difference(const GeoReference& a, const GeoReference& b) {
    if (a.empty() || b.empty()) return "";
    const int ea = epsg_code(a), eb = epsg_code(b);
    if (ea && eb && ea != eb)
        return "CRS EPSG:" + std::to_string(ea) + " against EPSG:" + std::to_string(eb);
    Grid ga, gb;
    if (!grid_of(a, ga) || !grid_of(b, gb)) return "";
    auto differ = [](double u, double v) {
        return std::fabs(u - v) > 1e-6 * std::max(std::fabs(u), std::fabs(v));
    };
    std::ostringstream os;
    os.precision(6);
    if (differ(ga.sx, gb.sx) || differ(ga.sy, gb.sy)) {
        os << "pixel " << ga.sx << " x " << ga.sy << " against " << gb.sx << " x " << gb.sy;
        return os.str();
    }
    if (ga.sx == 0 || ga.sy == 0) return "";
    const double dx = (gb.x0 - ga.x0) / ga.sx, dy = (ga.y0 - gb.y0) / ga.sy;
    if (std::fabs(dx) >= 0.5 || std::fabs(dy) >= 0.5) {
        os << "origin " << std::hypot(dx, dy) << " pixels apart (" << dx << ", " << dy << ")";
        return os.str();
    }
    return "";
}

std::string GeoReference::describe() const {
    if (empty()) return "no georeference";
    std::ostringstream os;
    os.precision(12);  // map coordinates need their decimals
    const int epsg = epsg_code(*this);
    os << (epsg ? "EPSG:" + std::to_string(epsg) : std::string("CRS in keys"));
    if (pixel_scale.size() >= 2) os << ", pixel " << pixel_scale[0] << " x " << pixel_scale[1];
    if (tiepoints.size() >= 6) os << ", origin (" << tiepoints[3] << ", " << tiepoints[4] << ")";
    if (!transformation.empty()) os << ", affine transformation";
    return os.str();
}

}  // namespace pfce
