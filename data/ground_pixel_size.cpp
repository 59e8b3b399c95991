#include "data/ground_pixel_size.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "data/georef.hpp"
#include "data/georef_sidecar.hpp"
#include "data/image_io.hpp"

namespace pfce {

std::optional<GroundPixelSize> ground_pixel_size(const std::string& image,
                                                 const GeoReference* given) {
    // Advice, never a refusal: a grid without a size (damaged, degenerate) has none here, and
    // what reads the image for its own purpose says what is wrong with it (refusing it here
    // stopped training and prediction on images they took before). A rotated or south-up grid's
    // pixels have their size all the same (the lengths of its steps): a probe's south-up
    // training images recorded none, and predict said nothing of 0.6 m imagery for a 0.3 m model.
    try {
        const std::string ext = ascii_lower(std::filesystem::path(image).extension().string());
        const GeoReference tags = given                             ? *given
                                  : ext == ".tif" || ext == ".tiff" ? read_georeference(image)
                                                                    : GeoReference{};
        const std::optional<PlacedTransform> placed = geotransform_as_gdal_reads(image, tags);
        if (!placed) return std::nullopt;
        const PixelSides s = pixel_sides(placed->transform);
        if (!std::isfinite(s.x) || !std::isfinite(s.y) || s.x == 0 || s.y == 0) return std::nullopt;
        return GroundPixelSize{s.x, s.y, crs_as_gdal_reads(image, tags).epsg};
    } catch (const InputError&) {
        return std::nullopt;
    }
}

// Ground metres. Not Web Mercator (3857): its unit is a metre over cos(latitude), 1.64 of them at
// Potsdam, so it compares only with itself.
bool epsg_in_metres(int epsg) {
    return (epsg >= 32601 && epsg <= 32660) ||  // WGS 84 / UTM north
           (epsg >= 32701 && epsg <= 32760) ||  // WGS 84 / UTM south
           (epsg >= 25828 && epsg <= 25838) ||  // ETRS89 / UTM (Potsdam: 25833 and 32633)
           (epsg >= 31466 && epsg <= 31469) ||  // DHDN / Gauss-Krüger
           epsg == 2154 ||                      // Lambert-93
           epsg == 27700 || epsg == 28992 ||    // British National Grid, Amersfoort / RD New
           epsg == 3035 || epsg == 2056;        // ETRS89-LAEA, Swiss LV95
}

bool pixel_sizes_compare(int epsg_a, int epsg_b) {
    if (epsg_a == 0 || epsg_b == 0) return false;
    return epsg_a == epsg_b || (epsg_in_metres(epsg_a) && epsg_in_metres(epsg_b));
}

nlohmann::json common_ground_pixel_size(const std::vector<std::string>& images, bool say_mixed) {
    if (images.empty()) return nullptr;
    const std::size_t n = std::min<std::size_t>(images.size(), 64);
    std::optional<GroundPixelSize> first;
    for (std::size_t k = 0; k < n; ++k) {
        const std::string& image = images[k * images.size() / n];
        const std::optional<GroundPixelSize> p = ground_pixel_size(image);
        if (!p) return nullptr;
        if (!first) {
            first = p;
            continue;
        }
        const auto close = [](double a, double b) { return std::abs(a - b) <= 0.01 * b; };
        // Two CRSs in ground metres compare (UTM zones of WGS 84 and of ETRS89: Potsdam's tiles
        // come in both), as predict compares an input with the record (a probe's 0.3 m training
        // images in 32633 and 25833 recorded no size).
        const bool same_units = p->epsg == first->epsg || pixel_sizes_compare(p->epsg, first->epsg);
        if (!same_units || !close(p->x, first->x) || !close(p->y, first->y)) {
            // Several scales may be meant (a dataset of two surveys); one by mistake (a 10 cm
            // survey among 5 cm ones) teaches a car two lengths. Said, not refused.
            const auto said = [](const GroundPixelSize& g) {
                return format_significant(g.x, 3) + " x " + format_significant(g.y, 3) +
                       (g.epsg ? " (EPSG:" + std::to_string(g.epsg) + ")" : std::string());
            };
            if (say_mixed)
                log_info("training images have pixels of different ground sizes: ", said(*first),
                         " in ", images.front(), ", ", said(*p), " in ", image,
                         "; none is recorded in the checkpoint, so predict cannot say when an "
                         "input's differ (resample them to one size with gdalwarp -tr where that "
                         "was not meant)");
            return nullptr;
        }
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

std::string ScaleMismatch::remedy(const std::string& flag) const {
    // Pixels of another shape than the training images' (0.1 x 0.05 against 0.05 x 0.05): one
    // factor for both axes leaves one of them off by more than a quarter.
    if (std::max(std::abs(std::log(zoom_x / zoom)), std::abs(std::log(zoom_y / zoom))) >
        std::log(1.25))
        return "no one " + flag + " shows both axes the scale learnt (x needs " +
               format_significant(zoom_x, 2) + ", y " + format_significant(zoom_y, 2) +
               "): resample the imagery to the training images' pixel shape first (gdalwarp -tr)";
    if (zoom >= kMinZoom && zoom <= kMaxZoom)
        return flag + " " + format_significant(zoom, 2) + " shows it the scale it learnt";
    return "the scales differ " + format_significant(zoom, 3) + " times, past what " + flag +
           " takes (" + format_significant(kMinZoom, 3) + ".." + format_significant(kMaxZoom, 3) +
           "): resample the imagery first (gdalwarp -tr), or use a model trained nearer its "
           "pixel size";
}

std::optional<ScaleMismatch> scale_mismatch(const GroundPixelSize& px, double zoom,
                                            const nlohmann::json& trained,
                                            const std::string& checkpoint) {
    const std::optional<double> wanted = zoom_for(px, trained);
    if (!wanted) return std::nullopt;
    const double zx = px.x / trained["x"].get<double>(), zy = px.y / trained["y"].get<double>();
    // Within a quarter either way along both axes: close enough to the scale learnt.
    if (std::max(std::abs(std::log(zx / zoom)), std::abs(std::log(zy / zoom))) <= std::log(1.25))
        return std::nullopt;
    return ScaleMismatch{*wanted, zx, zy,
                         "pixels of " + format_significant(px.x, 3) + " x " +
                             format_significant(px.y, 3) + " map units, but " + checkpoint +
                             " was trained on pixels of " +
                             format_significant(trained["x"].get<double>(), 3) + " x " +
                             format_significant(trained["y"].get<double>(), 3)};
}

}  // namespace pfce
