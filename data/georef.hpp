// The georeference of a GeoTIFF, kept as its GeoTIFF tags verbatim (model pixel scale, tie points,
// model transformation, and the GeoKey directory with its double and ASCII parameters): an output
// on the same pixel grid that carries them lands on the map exactly where its input did, in the
// input's CRS, with no reprojection and no CRS database. Read and written by data/image_io_tiff.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pfce {

struct GeoReference {
    std::vector<double> pixel_scale;           // ModelPixelScaleTag (33550)
    std::vector<double> tiepoints;             // ModelTiepointTag (33922)
    std::vector<double> transformation;        // ModelTransformationTag (34264)
    std::vector<std::uint16_t> key_directory;  // GeoKeyDirectoryTag (34735)
    std::vector<double> double_params;         // GeoDoubleParamsTag (34736)
    std::string ascii_params;                  // GeoAsciiParamsTag (34737)
    // The RPCCoefficientTag's kRpcTagValues values where the TIFF has one (GDAL's order: ERR_BIAS,
    // ERR_RAND, the ten offsets and scales, then the 20 coefficients of the line numerator and
    // denominator and of the sample numerator and denominator): a camera model, not a grid on the
    // map, so empty() ignores it. A TIFF mask copies it (data/rpc_model.hpp reads the others).
    std::vector<double> rpc_coefficients;

    bool empty() const {
        return pixel_scale.empty() && tiepoints.empty() && transformation.empty() &&
               key_directory.empty();
    }
    // "EPSG:32633, pixel 0.05 x 0.05, origin (366000, 5810000)" (what is known), for logs.
    std::string describe() const;
};

// The number of values in a RPCCoefficientTag; GDAL ignores a tag of another count.
inline constexpr std::size_t kRpcTagValues = 92;
// The sidecars GDAL reads RPCs from beside a TIFF, <dir>/<stem><suffix>, in the order it tries
// them (an .RPB before an _RPC.TXT), in the spellings met (GDAL matches any case; probing every
// one would list each image's directory).
inline constexpr const char* kRpcSidecarSuffixes[] = {
    ".RPB", ".rpb", ".Rpb", "_rpc.txt", "_RPC.TXT", "_rpc.TXT", "_RPC.txt", "_Rpc.txt"};

// The EPSG code of a georeference's CRS (projected, else geographic) from its GeoKey directory;
// 0 when the keys define the CRS otherwise (user-defined parameters) or name none.
int epsg_code(const GeoReference& g);

// How the pixel grids of two georeferenced rasters differ ("" when either has no georeference or
// both lie on one grid): their EPSG codes (where both name one), their pixel sizes (beyond one
// part in a million) or their origins (half a pixel apart or more), e.g. "origin 12.5 pixels
// apart". pfce pairs an image's pixels with its mask's by position: a mask on another grid puts
// its labels on the wrong pixels.
std::string grid_difference(const GeoReference& a, const GeoReference& b);

// A north-up pixel grid on the map: the outer corner of pixel (0, 0) (x0, y0) and the pixel size
// (sx east, sy south, both positive); a map point (x, y) lies on pixel (floor((x - x0) / sx),
// floor((y0 - y) / sy)).
struct MapGrid {
    double x0 = 0, y0 = 0, sx = 0, sy = 0;
};
// From GeoTIFF tags: the tie point and scale, or an affine transformation (a PixelIsPoint raster's
// tie point is its pixel's centre). nullopt where the tags place nothing; InputError naming
// `where` for a rotated or sheared grid (no north-up pixels to find a point on).
std::optional<MapGrid> map_grid_of_tags(const GeoReference& g, const std::string& where);
// From a world file's six numbers (A D B E C F: pixel size, rotations, and the centre of pixel
// (0, 0)), as SidecarGeoref::world holds them verbatim.
std::optional<MapGrid> map_grid_of_world(const std::string& six_numbers, const std::string& where);
// From the <GeoTransform> of a PAM .aux.xml (x0, sx, rotation, y0, rotation, -sy).
std::optional<MapGrid> map_grid_of_aux(const std::string& aux_xml, const std::string& where);

// GDAL's six geotransform numbers: pixel corner (c, r) lies at x = t[0] + c t[1] + r t[2],
// y = t[3] + c t[4] + r t[5] (a north-up grid: t[2] = t[4] = 0, t[5] < 0). The same three sources
// as the MapGrids above, rotated and sheared grids too, as GDAL reads them; nothing is checked.
using GeoTransform = std::array<double, 6>;
std::optional<GeoTransform> geotransform_of_tags(const GeoReference& g);
std::optional<GeoTransform> geotransform_of_world(const std::string& six_numbers);
std::optional<GeoTransform> geotransform_of_aux(const std::string& aux_xml);
// A geotransform's north-up grid: nullopt for none; InputError naming `where` for a rotated or
// sheared one, a pixel size of the wrong sign, or numbers that are not finite.
std::optional<MapGrid> north_up_grid(const std::optional<GeoTransform>& t,
                                     const std::string& where);

// grid_difference's pixel size and origin comparison of two north-up grids.
std::string grid_difference(const MapGrid& a, const MapGrid& b);
std::string describe(const MapGrid& g);  // "pixel 0.5 x 0.5, origin (500005, 5800000)"

// The ground size of a pixel along a row and down a column: the lengths of the geotransform's
// steps, so a south-up or rotated pixel of 0.3 m is 0.3 x 0.3 (its terms alone say 0.26 rotated
// 30 degrees, and -0.3 south-up).
struct PixelSides {
    double x = 0, y = 0;
};
PixelSides pixel_sides(const GeoTransform& t);
// The same comparison for any two geotransforms, rotated or south-up too: pixel sizes, then the
// axes' directions (one rotated or flipped against the other), then the origin in the first's
// pixels. "" where they lie on one grid (or either is degenerate).
std::string grid_difference(const GeoTransform& a, const GeoTransform& b);
// "pixel 0.3 x 0.3, origin (x, y)", with ", rotated 30 degrees", ", south-up" or ", sheared"
// where the grid is not north-up.
std::string describe(const GeoTransform& t);

}  // namespace pfce
