// The dataset flags of pfce sample and pfce data, checked as the config checks its [data] keys.
#include "host/cli/dataset_flags.hpp"

#include <cctype>

#include "core/error.hpp"

namespace pfce::cli {

DatasetOptions DatasetFlags::options() const {
    DatasetOptions o;
    o.kind = kDatasetKinds.parse(kind);
    o.tile_patch = tile_patch;
    o.tile_stride = tile_stride;
    o.max_pixels = max_pixels;
    o.tile_image = tile_image;  // any case, as the tiles scan compares it
    for (char& c : o.tile_image) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    o.image.bands = bands;
    if (!value_range.empty()) {
        if (value_range.size() != 2 ||
            !(value_range[0] >= 0 && value_range[0] < value_range[1] && value_range[1] <= 65535))
            PFCE_THROW(InputError,
                       "--value-range: expected LO,HI with 0 <= LO < HI <= 65535 (the "
                       "16-bit values read as 0 and 255)");
        o.image.range_lo = value_range[0];
        o.image.range_hi = value_range[1];
    }
    return o;
}

void add_dataset_flags(CLI::App& app, DatasetFlags& f) {
    app.add_option("--kind", f.kind, "dataset kind: auto, kaggle, tiles or generic")
        ->capture_default_str();
    app.add_option("--tile-patch", f.tile_patch, "tiles: patch size")->capture_default_str();
    app.add_option("--tile-stride", f.tile_stride, "tiles: stride between patches")
        ->capture_default_str();
    app.add_option("--tile-image", f.tile_image,
                   "tiles: which ISPRS image set is read: RGB, IRRG or RGBIR (data.tile_image)")
        ->capture_default_str();
    app.add_option("--bands", f.bands,
                   "the image bands read, 1-based: three (4,1,2 = IR-R-G of RGB + infrared) or "
                   "one (data.bands)")
        ->delimiter(',');
    app.add_option("--value-range", f.value_range,
                   "16-bit images: the values read as 0 and 255, e.g. 0,10000 (data.value_range)")
        ->delimiter(',');
    app.add_option("--max-pixels", f.max_pixels, "refuse images with more pixels")
        ->capture_default_str();
}

}  // namespace pfce::cli
