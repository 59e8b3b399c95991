// A TIFF written tag by tag with libtiff, for layouts and tags pfce's own writers do not produce
// (planar, tiled, 16-bit, alpha, palette, Orientation, reduced-resolution pages, GDAL NoData,
// RPC coefficients).
#pragma once

#include <tiffio.h>

#include <cstdint>
#include <string>
#include <vector>

namespace pfce::test {

// A TIFF written field by field, for layouts our writer does not produce.
struct TiffSpec {
    int width = 0, height = 0, spp = 3, bps = 8;
    int photometric = PHOTOMETRIC_RGB;
    int planar = PLANARCONFIG_CONTIG;
    int tile = 0;  // >0: tiled with tile x tile tiles
    int rows_per_strip = 3;
    int orientation = 0;                 // >0: an Orientation tag with this value
    int extra = EXTRASAMPLE_UNASSALPHA;  // what a 4th band is (ExtraSamples)
    std::uint32_t subfile = 0;           // NewSubfileType (bit 0: a reduced-resolution page)
    std::vector<std::uint16_t> extra_samples = {};  // non-empty: the ExtraSamples tag as given
    std::vector<double> rpc = {};    // non-empty: GDAL's RPCCoefficientTag (50844) with these
    std::string gdal_metadata = {};  // non-empty: GDAL's metadata tag (42112), this XML
    int sample_format = SAMPLEFORMAT_UINT;  // SampleFormat (written where not unsigned)
};

// `samples`: width*height*spp samples of bps/8 bytes, interleaved (bps < 8: packed rows, each
// starting on a byte, first pixel in the high bits; bps 9 to 15: 16-bit samples, packed on
// writing); `cmap`: 3 * 2^bps entries for a
// palette (red, then green, then blue); `no_data`: GDAL's NoData tag (42113) with this text. A
// failure is a test failure (gtest's EXPECT; the file is closed, incomplete).
void write_raw_tiff(const std::string& path, const TiffSpec& s,
                    const std::vector<std::uint8_t>& samples,
                    const std::vector<std::uint16_t>* cmap = nullptr,
                    const char* no_data = nullptr);

}  // namespace pfce::test
