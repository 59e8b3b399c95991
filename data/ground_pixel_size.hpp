// The ground size of an image's pixels, as GDAL reads its georeference: recorded in a checkpoint
// for its training images, so predict can say when an input's pixels are of another size (a model
// trained at 5 cm sees 10 cm imagery at half the scale it learnt) and which --zoom shows it the
// scale it learnt.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/georef.hpp"

namespace pfce {

struct GroundPixelSize {
    double x = 0, y = 0;  // map units a pixel, both positive
    int epsg = 0;         // the CRS the units are of; 0 where none is named
};

// From the image's GeoTIFF tags, world file or .aux.xml (whichever GDAL reads): the lengths of a
// pixel's sides, rotated or south-up ones too; nullopt where none places it (or its pixels have
// no size: this never throws).
// `tags`: its GeoTIFF tags where the caller read them already (read here otherwise).
std::optional<GroundPixelSize> ground_pixel_size(const std::string& image,
                                                 const GeoReference* tags = nullptr);

// Whether the CRS of an EPSG code is one pfce knows to be in ground metres (UTM zones of WGS 84
// and ETRS89, national grids in metres; not Web Mercator, whose metre stretches with latitude).
bool epsg_in_metres(int epsg);

// Whether sizes in the CRSs of two EPSG codes compare: the same code, or two CRSs in metres that
// pfce knows (UTM zones of WGS 84 and ETRS89, national grids in metres).
bool pixel_sizes_compare(int epsg_a, int epsg_b);

// What the training images have in common, for the checkpoint: {"x", "y", "epsg", "images"} of up
// to 64 of them spread over the list, or null where one has no grid or their sizes differ by more
// than 1% (said, naming two, where `say_mixed`).
nlohmann::json common_ground_pixel_size(const std::vector<std::string>& images,
                                        bool say_mixed = true);

// The --zoom that shows an input of pixel size `input` at the scale of `trained` (a checkpoint's
// record), or nullopt where they do not compare.
std::optional<double> zoom_for(const GroundPixelSize& input, const nlohmann::json& trained);

// predict --zoom's range: past 8 either way a model sees ground features at a scale so far from
// its training images' that a prediction means little (and 8x the side is 64x the memory).
inline constexpr double kMinZoom = 0.125, kMaxZoom = 8.0;

// An image of pixel size `px` seen at `zoom` more than a quarter either way off the scale of
// `trained` (the record of `checkpoint`) along either axis, said alike by predict and eval.
struct ScaleMismatch {
    double zoom = 1;  // the --zoom that shows it the scale learnt (the mean of the axes')
    double zoom_x = 1, zoom_y = 1;  // each axis's own (they differ where pixels are not square)
    std::string sizes;  // "pixels of 0.1 x 0.1 map units, but CKPT was trained on pixels of ..."
    // "FLAG 2 shows it the scale it learnt", or, past --zoom's range, what to do instead.
    std::string remedy(const std::string& flag) const;
};
std::optional<ScaleMismatch> scale_mismatch(const GroundPixelSize& px, double zoom,
                                            const nlohmann::json& trained,
                                            const std::string& checkpoint);

}  // namespace pfce
