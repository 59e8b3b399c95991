#include "data/polygons_geojson.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include <nlohmann/json.hpp>

namespace pfce {

namespace {

// A JSON string of `text`; bytes that are no UTF-8 (a Latin-1 file name) become U+FFFD.
std::string json_string(const std::string& text) {
    return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// As printf's %.<digits>g (to_chars: a noisy prediction has millions of corners).
void append_number(std::string& out, double v, int digits = 15) {
    char buf[40];
    const auto [end, ec] =
        std::to_chars(buf, buf + sizeof buf, v == 0 ? 0.0 : v, std::chars_format::general, digits);
    out.append(buf, static_cast<std::size_t>(end - buf));  // never -0 (v == 0 above)
}

}  // namespace

void write_polygons_geojson(std::ostream& os, const std::vector<MaskRegion>& regions,
                            const PolygonLayer& layer, const std::function<void()>& between) {
    const GeoTransform t = layer.transform.value_or(GeoTransform{0, 1, 0, 0, 0, -1});
    // A pixel's area on the map, signed: below 0 where the map is a mirror image of the pixels'
    // grid (north up, rows running south), which turns the rings' sense: they are reversed then.
    const double det = t[1] * t[5] - t[2] * t[4];
    const bool mirrored = det < 0;
    std::vector<std::string> names;  // JSON strings, escaped once
    for (const std::string& n : layer.class_names) names.push_back(json_string(n));
    std::string out = "{\"type\":\"FeatureCollection\",\"name\":" + json_string(layer.name);
    const std::string crs =
        layer.epsg > 0            ? "urn:ogc:def:crs:EPSG::" + std::to_string(layer.epsg)
        : !layer.crs_text.empty() ? layer.crs_text
        : !layer.transform
            ? "LOCAL_CS[\"pixels of the image (x column, y -row)\",UNIT[\"pixel\",1],"
              "AXIS[\"X\",EAST],AXIS[\"Y\",NORTH]]"
            : "LOCAL_CS[\"map coordinates of a CRS the image does not name\","
              "UNIT[\"unknown\",1],AXIS[\"X\",EAST],AXIS[\"Y\",NORTH]]";
    out += ",\"crs\":{\"type\":\"name\",\"properties\":{\"name\":" + json_string(crs) + "}}";
    out += ",\"features\":[\n";
    // Written a megabyte at a time, not held whole: also within a feature (a speckled
    // prediction's largest region holds most of the others as its holes).
    const auto flush_if_full = [&] {
        if (out.size() < (1u << 20)) return;
        os.write(out.data(), static_cast<std::streamsize>(out.size()));
        out.clear();
        if (between) between();
    };
    const auto ring_text = [&](const RingCorners& ring) {
        flush_if_full();
        out += '[';
        const std::size_t n = ring.size();
        for (std::size_t k = 0; k <= n; ++k) {  // closed: the first corner again
            const auto& p = ring[mirrored ? (n - k % n) % n : k % n];
            out += k ? ",[" : "[";
            append_number(out, t[0] + p[0] * t[1] + p[1] * t[2]);
            out += ',';
            append_number(out, t[3] + p[0] * t[4] + p[1] * t[5]);
            out += ']';
        }
        out += ']';
    };
    bool first = true;
    for (const MaskRegion& r : regions) {
        out += first ? "" : ",\n";
        first = false;
        flush_if_full();
        const int c = layer.class_of_value[r.value];
        out += "{\"type\":\"Feature\",\"properties\":{\"class\":";
        out += c >= 0 && static_cast<std::size_t>(c) < names.size() ? names[c] : "null";
        out += ",\"value\":" + std::to_string(int{r.value}) +
               ",\"pixels\":" + std::to_string(r.pixels);
        if (layer.transform) {
            out += ",\"area\":";
            // To 10 digits: a pixel size of 0.0999999999985 (gdal_translate -a_ullr) is 0.1.
            append_number(out, static_cast<double>(r.pixels) * std::fabs(det), 10);
        }
        if (layer.confidence) {
            char buf[16];
            std::snprintf(buf, sizeof buf, "%.3f",
                          static_cast<double>(r.confidence_sum) /
                              (255.0 * static_cast<double>(std::max<std::int64_t>(r.pixels, 1))));
            out += ",\"confidence\":";
            out += buf;
        }
        // One outer ring a region: polygonize_mask makes no other (its tests hold it to that).
        if (r.outer.size() != 1)
            throw std::logic_error("polygons_geojson: a region of " +
                                   std::to_string(r.outer.size()) + " outer rings");
        out += "},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[";
        ring_text(r.outer[0]);
        for (const RingCorners& h : r.holes) {
            out += ',';
            ring_text(h);
        }
        out += "]}}";
    }
    out += "\n]}\n";
    os.write(out.data(), static_cast<std::streamsize>(out.size()));
}

bool is_pfce_polygons_file(const std::string& path) {
    static constexpr std::string_view kStart = "{\"type\":\"FeatureCollection\",\"name\":";
    std::ifstream in(path, std::ios::binary);
    std::string head(kStart.size(), '\0');
    return in.read(head.data(), static_cast<std::streamsize>(head.size())) && head == kStart;
}

std::string polygons_geojson(const std::vector<MaskRegion>& regions, const PolygonLayer& layer) {
    std::ostringstream os;
    write_polygons_geojson(os, regions, layer);
    return os.str();
}

}  // namespace pfce
