// Point labels a user digitised as points rather than painted into masks (`pfce sample
// --from-points FILE`): a GeoJSON layer of Point features in the images' map coordinates (as QGIS
// exports a point layer drawn over the orthophotos), each with its class name in a property; or a
// CSV of pixel positions per sample (id, x, y, class: what a labelling tool exports for images
// without a georeference). Each point labels the pixel it falls on, in every image it falls on,
// and they are written as a mask directory that train, eval --labels, link and preview take as
// they take sampled points.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "data/imported_masks.hpp"

namespace pfce {

// A point as the file gives it: map (GeoJSON) or pixel (CSV, with its sample id) coordinates, its
// class name, and where in the file it is ("feature 12", "line 40") for messages.
struct LabelPoint {
    double x = 0, y = 0;
    std::string sample;  // CSV: the sample id; GeoJSON: empty (found by position)
    std::string class_name;
    std::string where;
};

struct PointFile {
    std::vector<LabelPoint> points;
    bool map_coordinates = false;  // GeoJSON: on the map; CSV: pixels of one sample each
    int epsg = 0;                  // GeoJSON "crs" member's EPSG code; 0 where it names none
    bool crs_given = false;        // a "crs" member was there (else RFC 7946: WGS 84 lon/lat)
};

// Reads FILE (.geojson / .json, or .csv), the class of each point from `class_field`; InputError
// naming the file, the feature or line, and the value for anything it cannot read.
PointFile read_label_points(const std::string& file, const std::string& class_field);

struct PointImportResult {
    MaskStageResult masks;
    std::size_t points = 0;               // in the file
    std::size_t placed = 0;               // on at least one image
    std::size_t outside = 0;              // on none
    std::size_t duplicates = 0;           // points on a pixel already labelled with their class
    std::size_t on_no_data = 0;           // placements on pixels without data, left out
    std::vector<std::string> unlabelled;  // samples no point falls on
    std::int64_t annotated_pixels = 0;    // pixels of the images points fall on
};

// Writes mask directory `out` from the points in `file`. Refused (InputError, before anything is
// written): a class name the dataset lacks, two points of other classes on one pixel, a point on
// no image at all, images without a georeference for map points (or a CRS other than the file's),
// a CSV id naming no sample, a tiles dataset, an `out` among the data or already holding masks
// (without `force`).
PointImportResult import_points(
    const Dataset& ds, const std::string& file, const std::string& class_field,
    const std::string& out, bool force,
    const std::function<void(std::size_t done, std::size_t n)>& progress = {});

}  // namespace pfce
