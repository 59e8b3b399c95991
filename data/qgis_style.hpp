// A QGIS layer style (.qml) for a class mask: QGIS applies <name>.qml when it opens <name>.tif or
// <name>.png, so a predicted mask shows each class by its name and colour in the layer list and
// legend (a palette alone shows only the pixel values). A paletted renderer, one entry a class.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace pfce {

struct StyledClass {
    int value = 0;  // the pixel value the mask holds for the class
    std::string name;
    std::array<std::uint8_t, 3> colour{};
};

// The .qml text: every class, and `no_data_value` (if >= 0) as a transparent entry named "no data"
// (pixels predict gives no class). `made_by` is said in a comment that marks the file as pfce's.
std::string qgis_paletted_style(const std::vector<StyledClass>& classes, int no_data_value,
                                const std::string& made_by);

// Whether `path` is a regular file pfce wrote with qgis_paletted_style (its marker comment).
bool is_pfce_qgis_style(const std::string& path);

// <stem>.qml beside a mask <stem>.png|.tif: the name QGIS looks for.
std::string qgis_style_path(const std::string& mask);

}  // namespace pfce
