// Implementation of tests/raw_tiff.hpp.
#include "tests/raw_tiff.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

namespace pfce::test {

void write_raw_tiff(const std::string& path, const TiffSpec& s,
                    const std::vector<std::uint8_t>& samples,
                    const std::vector<std::uint16_t>* cmap, const char* no_data) {
    TIFF* t = TIFFOpen(path.c_str(), "w");
    ASSERT_NE(t, nullptr);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, s.width);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, s.height);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, s.spp);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, s.bps);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, s.photometric);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, s.planar);
    TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_NONE);
    if (s.sample_format != SAMPLEFORMAT_UINT)
        TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, s.sample_format);
    if (s.orientation > 0) TIFFSetField(t, TIFFTAG_ORIENTATION, s.orientation);
    if (s.subfile != 0) TIFFSetField(t, TIFFTAG_SUBFILETYPE, s.subfile);
    if (!s.extra_samples.empty()) {
        TIFFSetField(t, TIFFTAG_EXTRASAMPLES, static_cast<std::uint16_t>(s.extra_samples.size()),
                     s.extra_samples.data());
    } else if (s.spp == 4) {
        std::uint16_t extra = static_cast<std::uint16_t>(s.extra);
        TIFFSetField(t, TIFFTAG_EXTRASAMPLES, 1, &extra);
    } else if (s.spp == 2 || s.spp > 4) {  // bands past the colours: unspecified, as GDAL's
        const int colours = s.photometric == PHOTOMETRIC_RGB ? 3 : 1;
        std::vector<std::uint16_t> extra(static_cast<std::size_t>(s.spp - colours),
                                         EXTRASAMPLE_UNSPECIFIED);
        TIFFSetField(t, TIFFTAG_EXTRASAMPLES, static_cast<std::uint16_t>(extra.size()),
                     extra.data());
    }
    if (no_data) {
        // GDAL's tag, as pfce's reader registers it (libtiff does not know it).
        static TIFFFieldInfo field = {
            TIFFTAG_GDAL_NODATA, -1, -1, TIFF_ASCII,
            FIELD_CUSTOM,        1,  0,  const_cast<char*>("GDALNoDataValue")};
        if (!TIFFFindField(t, TIFFTAG_GDAL_NODATA, TIFF_ANY)) TIFFMergeFieldInfo(t, &field, 1);
        EXPECT_TRUE(TIFFSetField(t, TIFFTAG_GDAL_NODATA, no_data));
    }
    if (!s.rpc.empty()) {
        // GDAL's camera model tag, registered as GDAL does (libtiff may not know it).
        constexpr ttag_t kRpc = 50844;
        static TIFFFieldInfo field = {kRpc,         -1, -1, TIFF_DOUBLE,
                                      FIELD_CUSTOM, 1,  1,  const_cast<char*>("RPCCoefficientTag")};
        if (!TIFFFindField(t, kRpc, TIFF_ANY)) TIFFMergeFieldInfo(t, &field, 1);
        EXPECT_TRUE(TIFFSetField(t, kRpc, static_cast<std::uint16_t>(s.rpc.size()), s.rpc.data()));
    }
    if (!s.gdal_metadata.empty()) {
        static TIFFFieldInfo field = {
            TIFFTAG_GDAL_METADATA, -1, -1, TIFF_ASCII,
            FIELD_CUSTOM,          1,  0,  const_cast<char*>("GDALMetadata")};
        if (!TIFFFindField(t, TIFFTAG_GDAL_METADATA, TIFF_ANY)) TIFFMergeFieldInfo(t, &field, 1);
        EXPECT_TRUE(TIFFSetField(t, TIFFTAG_GDAL_METADATA, s.gdal_metadata.c_str()));
    }
    if (cmap)
        TIFFSetField(t, TIFFTAG_COLORMAP, cmap->data(), cmap->data() + cmap->size() / 3,
                     cmap->data() + 2 * cmap->size() / 3);
    // 9- to 15-bit samples are given as 16-bit ones and packed here, row by row (a tile's rows
    // too), the first sample in the high bits, as GDAL writes NBITS=12.
    const bool packed_wide = s.bps > 8 && s.bps < 16;
    const int bytes = packed_wide ? 2 : s.bps / 8;
    auto packed = [&](const std::vector<std::uint8_t>& rows, std::size_t samples_per_row) {
        if (!packed_wide) return rows;
        const std::size_t n_rows = rows.size() / (2 * samples_per_row);
        const std::size_t row_bytes = (samples_per_row * s.bps + 7) / 8;
        std::vector<std::uint8_t> out(n_rows * row_bytes, 0);
        for (std::size_t r = 0; r < n_rows; ++r)
            for (std::size_t i = 0; i < samples_per_row; ++i) {
                std::uint16_t v;
                std::memcpy(&v, &rows[2 * (r * samples_per_row + i)], 2);
                for (int k = 0; k < s.bps; ++k) {
                    const std::size_t bit = i * s.bps + k;
                    if ((v >> (s.bps - 1 - k)) & 1)
                        out[r * row_bytes + bit / 8] |=
                            static_cast<std::uint8_t>(0x80 >> (bit % 8));
                }
            }
        return out;
    };
    const bool separate = s.planar == PLANARCONFIG_SEPARATE;
    auto sample = [&](int x, int y, int c) -> const std::uint8_t* {
        return &samples[((static_cast<std::size_t>(y) * s.width + x) * s.spp + c) * bytes];
    };
    if (s.tile > 0) {
        TIFFSetField(t, TIFFTAG_TILEWIDTH, s.tile);
        TIFFSetField(t, TIFFTAG_TILELENGTH, s.tile);
        for (int p = 0; p < (separate ? s.spp : 1); ++p)
            for (int ty = 0; ty < s.height; ty += s.tile)
                for (int tx = 0; tx < s.width; tx += s.tile) {
                    const int bands = separate ? 1 : s.spp;
                    std::vector<std::uint8_t> buf(
                        static_cast<std::size_t>(s.tile) * s.tile * bands * bytes, 0);
                    for (int y = ty; y < std::min(ty + s.tile, s.height); ++y)
                        for (int x = tx; x < std::min(tx + s.tile, s.width); ++x)
                            for (int c = 0; c < bands; ++c)
                                std::memcpy(
                                    &buf[(((y - ty) * s.tile + (x - tx)) * bands + c) * bytes],
                                    sample(x, y, separate ? p : c), bytes);
                    buf = packed(buf, static_cast<std::size_t>(s.tile) * bands);
                    EXPECT_GE(
                        TIFFWriteTile(t, buf.data(), tx, ty, 0, static_cast<std::uint16_t>(p)), 0);
                }
    } else if (s.bps < 8) {  // 1-, 2- or 4-bit samples, given packed row by row
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, s.rows_per_strip);
        const std::size_t row_bytes = (static_cast<std::size_t>(s.width) * s.spp * s.bps + 7) / 8;
        for (int y = 0; y < s.height; ++y) {
            std::vector<std::uint8_t> row(samples.begin() + y * row_bytes,
                                          samples.begin() + (y + 1) * row_bytes);
            EXPECT_GE(TIFFWriteScanline(t, row.data(), y, 0), 0);
        }
    } else {
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, s.rows_per_strip);
        for (int p = 0; p < (separate ? s.spp : 1); ++p)
            for (int y = 0; y < s.height; ++y) {
                const int bands = separate ? 1 : s.spp;
                std::vector<std::uint8_t> row(static_cast<std::size_t>(s.width) * bands * bytes);
                for (int x = 0; x < s.width; ++x)
                    for (int c = 0; c < bands; ++c)
                        std::memcpy(&row[(x * bands + c) * bytes], sample(x, y, separate ? p : c),
                                    bytes);
                row = packed(row, static_cast<std::size_t>(s.width) * bands);
                EXPECT_GE(TIFFWriteScanline(t, row.data(), y, static_cast<std::uint16_t>(p)), 0);
            }
    }
    TIFFClose(t);
}

}  // namespace pfce::test
