// The dataset flags of pfce sample and pfce data, checked as the config checks its [data] keys.
#include "host/cli/dataset_flags.hpp"

namespace pfce::cli {

DatasetOptions DatasetFlags::options() const {
    DatasetOptions o;
    o.kind = kDatasetKinds.parse(kind);
    o.tile_patch = tile_patch;
    o.tile_stride = tile_stride;
    o.max_pixels = max_pixels;
    o.tile_image = tile_image;
    o.bands = bands;
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
    app.add_option("--max-pixels", f.max_pixels, "refuse images with more pixels")
        ->capture_default_str();
}

}  // namespace pfce::cli
