// GeoReference::describe: the EPSG code from the GeoKey directory (projected, else geographic)
// and the pixel size and origin from the scale and tie point, for a log line; grid_difference:
// whether two rasters share a pixel grid.
#include "data/georef.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <sstream>
#include <vector>

#include <string>
#include "core/error.hpp"
#include "core/text.hpp"

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
    const std::optional<GeoTransform> ta = geotransform_of_tags(a), tb = geotransform_of_tags(b);
    if (!ta || !tb) return "";
    return grid_difference(*ta, *tb);
}

namespace {

// Two origins (dc, dr) pixels apart: "origin 2.2 pixels apart (1, 2)", "" under half a pixel. To a
// tenth of a pixel, never in exponents (a tile 100 km off is 2000000 pixels, not 2e+06).
std::string origins_apart(double dc, double dr) {
    if (std::fabs(dc) < 0.5 && std::fabs(dr) < 0.5) return "";
    auto tenths = [](double v) {  // + 0.0: -0.04 rounds to -0, said as 0
        return format_significant(std::round(v * 10) / 10 + 0.0, 15);
    };
    const std::string apart = tenths(std::hypot(dc, dr));
    return "origin " + apart + (apart == "1" ? " pixel" : " pixels") + " apart (" + tenths(dc) +
           ", " + tenths(dr) + ")";
}

}  // namespace

std::string grid_difference(const MapGrid& ga, const MapGrid& gb) {
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
    return origins_apart(dx, dy);
}

PixelSides pixel_sides(const GeoTransform& t) {
    return {std::hypot(t[1], t[4]), std::hypot(t[2], t[5])};
}

namespace {

// How a grid's axes lie: "" north-up, else what a message adds.
std::string orientation(const GeoTransform& t) {
    if (t[2] == 0 && t[4] == 0)
        return t[1] > 0 && t[5] < 0 ? ""
               : t[1] > 0           ? ", south-up"
               : t[5] < 0           ? ", east-west mirrored"
                                    : ", rotated 180 degrees";
    const PixelSides s = pixel_sides(t);
    // Orthogonal axes of a right-handed image (rows going down the map at 90 degrees clockwise
    // from the columns): a rotation; anything else shears or mirrors.
    const bool orthogonal = std::fabs(t[1] * t[2] + t[4] * t[5]) <= 1e-9 * s.x * s.y;
    const bool right_handed = t[1] * t[5] - t[2] * t[4] < 0;
    if (!orthogonal || !right_handed) return ", sheared or mirrored";
    const double degrees = std::atan2(t[4], t[1]) * 180.0 / M_PI;
    return ", rotated " + format_significant(std::round(degrees * 10) / 10 + 0.0, 6) + " degrees";
}

}  // namespace

std::string grid_difference(const GeoTransform& a, const GeoTransform& b) {
    const PixelSides sa = pixel_sides(a), sb = pixel_sides(b);
    const double det = a[1] * a[5] - a[2] * a[4];
    if (!(sa.x > 0 && sa.y > 0 && sb.x > 0 && sb.y > 0) || det == 0 || !std::isfinite(det))
        return "";
    if (a[2] == 0 && a[4] == 0 && b[2] == 0 && b[4] == 0 && a[1] > 0 && b[1] > 0 && a[5] < 0 &&
        b[5] < 0)  // both north-up: as ever
        return grid_difference(MapGrid{a[0], a[3], a[1], -a[5]}, MapGrid{b[0], b[3], b[1], -b[5]});
    auto differ = [](double u, double v, double scale) { return std::fabs(u - v) > 1e-6 * scale; };
    std::ostringstream os;
    os.precision(6);
    if (differ(sa.x, sb.x, std::max(sa.x, sb.x)) || differ(sa.y, sb.y, std::max(sa.y, sb.y))) {
        os << "pixel " << sa.x << " x " << sa.y << " against " << sb.x << " x " << sb.y;
        return os.str();
    }
    for (const int k : {1, 2, 4, 5})
        if (differ(a[k], b[k], std::max(sa.x, sa.y))) {
            const std::string
                oa = (orientation(a).empty() ? ", north-up" : orientation(a)).substr(2),
                ob = (orientation(b).empty() ? ", north-up" : orientation(b)).substr(2);
            if (oa != ob) return "pixel axes " + oa + " against " + ob;
            // Alike in words (30.00 and 30.04 degrees, two shears): the terms themselves.
            os << "pixel axes (" << a[1] << ", " << a[2] << ", " << a[4] << ", " << a[5]
               << ") against (" << b[1] << ", " << b[2] << ", " << b[4] << ", " << b[5]
               << ") (GDAL's geotransform terms 1, 2, 4, 5)";
            return os.str();
        }
    // b's origin in a's pixels: the inverse of a's 2x2 step matrix.
    const double dx = b[0] - a[0], dy = b[3] - a[3];
    const double dc = (a[5] * dx - a[2] * dy) / det, dr = (a[1] * dy - a[4] * dx) / det;
    return origins_apart(dc, dr);
}

std::string describe(const GeoTransform& t) {
    std::ostringstream os;
    os.precision(12);
    const PixelSides s = pixel_sides(t);
    os << "pixel " << format_significant(s.x, 10) << " x " << format_significant(s.y, 10)
       << orientation(t) << ", origin (" << t[0] << ", " << t[3] << ")";
    return os.str();
}

std::string describe(const MapGrid& g) {
    std::ostringstream os;
    os.precision(12);  // map coordinates need their decimals
    os << "pixel " << g.sx << " x " << g.sy << ", origin (" << g.x0 << ", " << g.y0 << ")";
    return os.str();
}

std::string GeoReference::describe() const {
    if (empty()) return "no georeference";
    std::ostringstream os;
    os.precision(12);  // map coordinates need their decimals
    const int epsg = epsg_code(*this);
    os << (epsg                    ? "EPSG:" + std::to_string(epsg)
           : key_directory.empty() ? std::string("no CRS")
                                   : std::string("CRS in keys"));
    // The grid as GDAL reports it (gdalinfo's Origin: the corner of pixel (0, 0), also of a
    // PixelIsPoint raster, whose tie point is that pixel's centre), its pixel size to 10 digits
    // (gdal_translate -a_ullr leaves 0.0999999999985 for 0.1); the tags as stored where they
    // place no north-up grid.
    std::optional<MapGrid> grid;
    try {
        grid = map_grid_of_tags(*this, "");
    } catch (const InputError&) {  // rotated or sheared
    }
    if (grid) {
        os << ", pixel " << format_significant(grid->sx, 10) << " x "
           << format_significant(grid->sy, 10) << ", origin (" << grid->x0 << ", " << grid->y0
           << ")";
    } else if (const std::optional<GeoTransform> t = geotransform_of_tags(*this)) {
        os << ", " << pfce::describe(*t);  // rotated, south-up: its pixels' true size
    } else {
        if (pixel_scale.size() >= 2) os << ", pixel " << pixel_scale[0] << " x " << pixel_scale[1];
        if (tiepoints.size() >= 6)
            os << ", origin (" << tiepoints[3] << ", " << tiepoints[4] << ")";
    }
    return os.str();
}

namespace {

// A grid whose rotation terms are not 0 has no north-up pixels: refused, naming its source.
std::optional<MapGrid> north_up(MapGrid g, double rotation_a, double rotation_b,
                                const std::string& where) {
    if (rotation_a != 0 || rotation_b != 0)
        PFCE_THROW(InputError, where, " places its pixels on a rotated or sheared grid (terms ",
                   rotation_a, ", ", rotation_b,
                   "): points are found only on north-up images; warp it first (gdalwarp IN "
                   "OUT.tif)");
    if (!std::isfinite(g.x0) || !std::isfinite(g.y0) || !std::isfinite(rotation_a) ||
        !std::isfinite(rotation_b))
        PFCE_THROW(InputError, where, " places pixel (0, 0) at (", g.x0, ", ", g.y0,
                   ") with rotation terms ", rotation_a, ", ", rotation_b,
                   ": expected finite numbers");
    if (!(g.sx > 0 && g.sy > 0 && std::isfinite(g.sx) && std::isfinite(g.sy)))
        PFCE_THROW(InputError, where, " gives the pixel size ", g.sx, " x ", -g.sy,
                   ": expected a positive width and a negative height (north up); warp it "
                   "north-up first (gdalwarp IN OUT.tif)");
    return g;
}

std::vector<double> numbers_in(const std::string& text) {
    std::vector<double> v;
    std::string token;
    std::istringstream in(text);
    for (char c; in.get(c);) {
        if (c == ',' || std::isspace(static_cast<unsigned char>(c))) {
            if (!token.empty()) v.push_back(std::strtod(token.c_str(), nullptr));
            token.clear();
        } else {
            token += c;
        }
    }
    if (!token.empty()) v.push_back(std::strtod(token.c_str(), nullptr));
    return v;
}

}  // namespace

std::optional<GeoTransform> geotransform_of_tags(const GeoReference& g) {
    GeoTransform t;
    if (g.transformation.size() >= 8) {  // row-major 4x4: x = m0 c + m1 r + m3, y = m4 c + ...
        const std::vector<double>& m = g.transformation;
        t = {m[3], m[0], m[1], m[7], m[4], m[5]};
    } else {
        Grid tie;
        if (!grid_of(g, tie)) return std::nullopt;
        t = {tie.x0, tie.sx, 0, tie.y0, 0, -tie.sy};
    }
    // GTRasterTypeGeoKey (1025) = 2, PixelIsPoint: the tie point (or the transformation's
    // origin) is the pixel's centre, as GDAL reads it.
    for (std::size_t i = 4; i + 3 < g.key_directory.size(); i += 4)
        if (g.key_directory[i] == 1025 && g.key_directory[i + 1] == 0 &&
            g.key_directory[i + 3] == 2) {
            t[0] -= (t[1] + t[2]) / 2;
            t[3] -= (t[4] + t[5]) / 2;
        }
    return t;
}

std::optional<GeoTransform> geotransform_of_world(const std::string& six_numbers) {
    const std::vector<double> n = numbers_in(six_numbers);
    if (n.size() != 6) return std::nullopt;
    // A = n[0] (x size), D = n[1], B = n[2] (rotations), E = n[3] (y size, negative), C, F: the
    // centre of pixel (0, 0).
    return GeoTransform{n[4] - (n[0] + n[2]) / 2, n[0], n[2], n[5] - (n[1] + n[3]) / 2, n[1], n[3]};
}

std::optional<GeoTransform> geotransform_of_aux(const std::string& aux_xml) {
    const std::size_t open = aux_xml.find("<GeoTransform>");
    const std::size_t close = aux_xml.find("</GeoTransform>");
    if (open == std::string::npos || close == std::string::npos || close < open)
        return std::nullopt;
    const std::vector<double> n = numbers_in(aux_xml.substr(open + 14, close - open - 14));
    if (n.size() != 6) return std::nullopt;
    return GeoTransform{n[0], n[1], n[2], n[3], n[4], n[5]};
}

std::optional<MapGrid> north_up_grid(const std::optional<GeoTransform>& t,
                                     const std::string& where) {
    if (!t) return std::nullopt;
    return north_up({(*t)[0], (*t)[3], (*t)[1], -(*t)[5]}, (*t)[2], (*t)[4], where);
}

std::optional<MapGrid> map_grid_of_tags(const GeoReference& g, const std::string& where) {
    return north_up_grid(geotransform_of_tags(g), where);
}

std::optional<MapGrid> map_grid_of_world(const std::string& six_numbers, const std::string& where) {
    return north_up_grid(geotransform_of_world(six_numbers), where);
}

std::optional<MapGrid> map_grid_of_aux(const std::string& aux_xml, const std::string& where) {
    return north_up_grid(geotransform_of_aux(aux_xml), where);
}

}  // namespace pfce
