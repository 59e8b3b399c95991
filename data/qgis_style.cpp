#include "data/qgis_style.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/text.hpp"

namespace pfce {
namespace {

constexpr const char* kMarker = "<!-- pfce predict:";

std::string hex_colour(const std::array<std::uint8_t, 3>& c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "#%02x%02x%02x", c[0], c[1], c[2]);
    return buf;
}

std::string entry(int value, const std::string& colour, int alpha, const std::string& label) {
    return "        <paletteEntry value=\"" + std::to_string(value) + "\" color=\"" + colour +
           "\" alpha=\"" + std::to_string(alpha) + "\" label=\"" + xml_escape(label) + "\"/>\n";
}

}  // namespace

std::string qgis_paletted_style(const std::vector<StyledClass>& classes, int no_data_value,
                                const std::string& made_by) {
    // "--" may not appear inside an XML comment.
    std::string source;
    for (const char c : made_by)
        if (!(c == '-' && !source.empty() && source.back() == '-')) source += c;
    std::string o = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n";
    o += std::string(kMarker) + " the classes of " + xml_escape(source) + " -->\n";
    o += "<qgis version=\"3.28.0\" styleCategories=\"Symbology\">\n";
    o += "  <pipe>\n";
    o += "    <rasterrenderer type=\"paletted\" band=\"1\" opacity=\"1\" alphaBand=\"-1\" "
         "nodataColor=\"\">\n";
    o += "      <rasterTransparency/>\n";
    o += "      <colorPalette>\n";
    for (const StyledClass& c : classes) o += entry(c.value, hex_colour(c.colour), 255, c.name);
    if (no_data_value >= 0) o += entry(no_data_value, "#000000", 0, "no data");
    o += "      </colorPalette>\n";
    o += "    </rasterrenderer>\n";
    o += "  </pipe>\n";
    o += "</qgis>\n";
    return o;
}

bool is_pfce_qgis_style(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) return false;  // a FIFO would block
    std::ifstream f(path);
    std::string head(512, '\0');
    f.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(f.gcount()));
    return head.find(kMarker) != std::string::npos;
}

std::string qgis_style_path(const std::string& mask) {
    const std::filesystem::path p(mask);
    return (p.parent_path() / (p.stem().string() + ".qml")).string();
}

}  // namespace pfce
