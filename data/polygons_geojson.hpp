// A mask's regions (polygonize_mask) as a GeoJSON FeatureCollection: a feature a region, its
// class by name, pixel value, area and mean confidence, its rings on the map where the image lies
// on one. GIS tools read it as a polygon layer (footprints, areas per class, regions to filter by
// size or confidence), laid over the image and its mask.
#pragma once

#include <array>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "data/georef.hpp"
#include "data/polygonize.hpp"

namespace pfce {

struct PolygonLayer {
    std::string name;                           // the collection's "name" (the mask's stem)
    std::vector<std::string> class_names;       // by class index
    std::array<int, 256> class_of_value = [] {  // the class a pixel value is, -1 for none
        std::array<int, 256> none;
        none.fill(-1);
        return none;
    }();
    // Pixel corners onto the map (GDAL's geotransform: rotated or sheared grids too); without
    // one, x = column and y = -row, where QGIS shows an image without georeference.
    std::optional<GeoTransform> transform;
    // The CRS the file names in its legacy "crs" member, which GDAL (and so QGIS) reads: an EPSG
    // code, else a CRS's text (WKT, an ESRI .prj's too). With neither, an engineering CRS that
    // says what the coordinates are: without one GDAL takes them for WGS 84 degrees (RFC 7946).
    int epsg = 0;
    std::string crs_text;
    bool confidence = false;  // each region's mean confidence (confidence_sum / pixels / 255)
};

// The FeatureCollection, a feature a line, in the regions' order: properties "class", "value",
// "pixels", "area" (pixels times the pixel's area, in the CRS's units, 10 digits, where there is a
// grid) and "confidence" (0..1, 3 decimals, when `layer.confidence`); geometry a Polygon, its rings
// closed, the outer counter-clockwise and holes clockwise on the map (RFC 7946), coordinates to 15
// significant digits.
std::string polygons_geojson(const std::vector<MaskRegion>& regions, const PolygonLayer& layer);
// Whether `path` is a file polygons_geojson wrote (its first bytes): an earlier prediction's.
bool is_pfce_polygons_file(const std::string& path);

// The same, written to `os` a megabyte at a time, `between` called after each (a caller's stop:
// a noisy prediction's regions are gigabytes of text).
void write_polygons_geojson(std::ostream& os, const std::vector<MaskRegion>& regions,
                            const PolygonLayer& layer, const std::function<void()>& between = {});

}  // namespace pfce
