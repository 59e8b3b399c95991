// polygonize_mask: hand-drawn cases with their rings written out, then random masks (many
// regions touching at corners) against a brute-force oracle: each pixel's centre lies inside
// exactly its own region's polygon (in its outer ring, in none of its holes) and in no other.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "data/polygonize.hpp"
#include "data/polygons_geojson.hpp"

namespace pfce {
namespace {

LabelMap mask_of(const std::vector<std::string>& rows) {  // '.' is 0, digits their value
    LabelMap m(static_cast<int>(rows[0].size()), static_cast<int>(rows.size()), 0);
    for (int y = 0; y < m.height; ++y)
        for (int x = 0; x < m.width; ++x) {
            const char c = rows[static_cast<std::size_t>(y)][static_cast<std::size_t>(x)];
            m.at(y, x) = c == '.' ? 0 : c == 'n' ? 255 : static_cast<std::uint8_t>(c - '0');
        }
    return m;
}

// Even-odd scanline fill of `ring` (corners on whole numbers) into `count` (a pixel whose centre
// it encloses gets `sign`) and `value_sum` (`sign` * `value`): each row's crossings with the
// ring's vertical edges, pixels between the first and second, the third and fourth, ...
void fill_ring(const RingCorners& ring, int width, int sign, int value, std::vector<int>& count,
               std::vector<int>& value_sum) {
    std::map<int, std::vector<int>> crossings;  // row -> x of the vertical edges across it
    for (std::size_t i = 0; i < ring.size(); ++i) {
        const auto& a = ring[i];
        const auto& b = ring[(i + 1) % ring.size()];
        if (a[0] != b[0]) continue;
        for (int y = std::min(a[1], b[1]); y < std::max(a[1], b[1]); ++y)
            crossings[y].push_back(a[0]);
    }
    for (auto& [y, xs] : crossings) {
        std::sort(xs.begin(), xs.end());
        ASSERT_EQ(xs.size() % 2, 0u);
        for (std::size_t k = 0; k + 1 < xs.size(); k += 2)
            for (int x = xs[k]; x < xs[k + 1]; ++x) {
                count[static_cast<std::size_t>(y) * width + x] += sign;
                value_sum[static_cast<std::size_t>(y) * width + x] += sign * value;
            }
    }
}

// What every ring must be: at least 4 corners, each edge axis-parallel with a turn at every corner
// (no corner midway along a straight edge), no corner twice; outer rings of positive area, holes
// of negative; and the mask rasterized back from the regions is `m` (skip pixels in none).
void expect_polygons_are_the_mask(const LabelMap& m, int skip,
                                  const std::vector<MaskRegion>& regions) {
    std::int64_t area = 0;
    for (const MaskRegion& r : regions) {
        ASSERT_EQ(r.outer.size(), 1u) << "region of value " << int{r.value} << " at " << r.first;
        std::int64_t twice = 0;
        for (const RingCorners* ring : {&r.outer[0]}) twice += twice_signed_area(*ring);
        for (const RingCorners& h : r.holes) {
            EXPECT_LT(twice_signed_area(h), 0);
            twice += twice_signed_area(h);
        }
        EXPECT_GT(twice_signed_area(r.outer[0]), 0);
        EXPECT_EQ(twice, 2 * r.pixels) << "region at " << r.first;
        area += r.pixels;
        std::vector<const RingCorners*> rings = {&r.outer[0]};
        for (const RingCorners& h : r.holes) rings.push_back(&h);
        for (const RingCorners* ring : rings) {
            ASSERT_GE(ring->size(), 4u);
            std::set<std::pair<int, int>> seen;
            for (std::size_t i = 0; i < ring->size(); ++i) {
                const auto& a = (*ring)[(i + ring->size() - 1) % ring->size()];
                const auto& b = (*ring)[i];
                const auto& c = (*ring)[(i + 1) % ring->size()];
                EXPECT_TRUE(seen.insert({b[0], b[1]}).second) << "a corner twice in a ring";
                EXPECT_TRUE((a[0] == b[0]) != (a[1] == b[1])) << "an edge not axis-parallel";
                EXPECT_FALSE((a[0] == b[0] && b[0] == c[0]) || (a[1] == b[1] && b[1] == c[1]))
                    << "a corner midway along an edge";
            }
        }
    }
    std::vector<int> count(m.labels.size(), 0), value_sum(m.labels.size(), 0);
    for (const MaskRegion& r : regions) {
        fill_ring(r.outer[0], m.width, 1, r.value, count, value_sum);
        for (const RingCorners& h : r.holes) fill_ring(h, m.width, -1, r.value, count, value_sum);
    }
    std::int64_t kept = 0;
    for (int y = 0; y < m.height; ++y)
        for (int x = 0; x < m.width; ++x) {
            const std::size_t i = static_cast<std::size_t>(y) * m.width + x;
            const bool skipped = m.labels[i] == skip;
            kept += !skipped;
            ASSERT_EQ(count[i], skipped ? 0 : 1) << "regions over pixel " << x << "," << y;
            if (!skipped) ASSERT_EQ(value_sum[i], m.labels[i]) << "pixel " << x << "," << y;
        }
    EXPECT_EQ(area, kept);
}

TEST(Polygonize, APixelABlockAndARingWithItsHole) {
    const std::vector<MaskRegion> one = polygonize_mask(mask_of({"1"}), -1);
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(one[0].outer[0], (RingCorners{{1, 0}, {1, 1}, {0, 1}, {0, 0}}));
    const LabelMap ring = mask_of({"....", ".222", ".2.2", ".222"});
    const std::vector<MaskRegion> r = polygonize_mask(ring, -1);
    ASSERT_EQ(r.size(), 3u);  // the outside, the ring, the pixel inside it
    EXPECT_EQ(r[1].value, 2);
    EXPECT_EQ(r[1].pixels, 8);
    EXPECT_EQ(r[1].outer[0], (RingCorners{{4, 1}, {4, 4}, {1, 4}, {1, 1}}));
    ASSERT_EQ(r[1].holes.size(), 1u);
    EXPECT_EQ(r[1].holes[0], (RingCorners{{2, 2}, {2, 3}, {3, 3}, {3, 2}}));
    EXPECT_EQ(r[2].pixels, 1);
    EXPECT_EQ(r[0].pixels, 7);
    expect_polygons_are_the_mask(ring, -1, r);
}

// Pixels of one value meeting only at a corner are two regions (4-connected, as gdal_polygonize's
// default); a region that closes on itself at a corner is an outer ring and a hole meeting it
// there (a ring through one corner twice is no simple ring).
TEST(Polygonize, CornersJoinNothingAndASelfTouchingRegionHasAHoleMeetingItsOutline) {
    const LabelMap diagonal = mask_of({"1.", ".1"});
    const std::vector<MaskRegion> d = polygonize_mask(diagonal, -1);
    ASSERT_EQ(d.size(), 4u);
    for (const MaskRegion& r : d) EXPECT_EQ(r.pixels, 1);
    expect_polygons_are_the_mask(diagonal, -1, d);
    const LabelMap hook = mask_of({"111.", "1.1.", "11.1", "..11"});
    const std::vector<MaskRegion> h = polygonize_mask(hook, -1);
    // (2,1) and (3,2), (1,2) and (2,3) meet at corners only: the hook (7 pixels) and the tail
    // (3 pixels) are two regions.
    std::map<std::int64_t, const MaskRegion*> by_first;
    for (const MaskRegion& r : h) by_first[r.first] = &r;
    EXPECT_EQ(by_first.at(0)->pixels, 7);
    expect_polygons_are_the_mask(hook, -1, h);
    const LabelMap pocket = mask_of({"1111", "1..1", "1.11", "11.."});
    // The pocket of 0s at (1,1), (2,1), (1,2) meets the 0s outside only at the corner (2, 3),
    // where the 1s (2,2) and (1,3) meet too: a hole of the 1s touching their outline there.
    const std::vector<MaskRegion> p = polygonize_mask(pocket, -1);
    const MaskRegion& ones =
        *std::find_if(p.begin(), p.end(), [](const MaskRegion& r) { return r.value == 1; });
    EXPECT_EQ(ones.pixels, 11);
    ASSERT_EQ(ones.holes.size(), 1u);
    expect_polygons_are_the_mask(pocket, -1, p);
}

TEST(Polygonize, PixelsWithoutDataAreInNoRegionAndTheConfidenceIsSummed) {
    const LabelMap m = mask_of({"nn11", "n.11", "..n."});
    std::vector<std::uint8_t> confidence(m.labels.size());
    for (std::size_t i = 0; i < confidence.size(); ++i)
        confidence[i] = static_cast<std::uint8_t>(i);
    const std::vector<MaskRegion> r = polygonize_mask(m, 255, confidence);
    expect_polygons_are_the_mask(m, 255, r);
    ASSERT_EQ(r.size(), 3u);  // the 1s, the 0s at the left, the 0 at the right
    EXPECT_EQ(r[0].value, 1);
    EXPECT_EQ(r[0].confidence_sum, 2u + 3 + 6 + 7);
    EXPECT_EQ(r[1].confidence_sum, 5u + 8 + 9);
    EXPECT_EQ(r[2].confidence_sum, 11u);
}

// Random masks of two to four values, blobs and noise (many regions, holes, corners shared by
// two regions of a value), some with pixels without data: the rasterization oracle above.
TEST(Polygonize, RandomMasksRasterizeBackToThemselves) {
    CounterRng rng(2026, 0);
    for (int k = 0; k < 300; ++k) {
        const bool large = k % 50 == 49;  // thousands of regions
        const int w = large ? 150 : 1 + static_cast<int>(rng.next_u32() % 24);
        const int h = large ? 110 : 1 + static_cast<int>(rng.next_u32() % 18);
        const int values = 2 + static_cast<int>(rng.next_u32() % 3);
        LabelMap m(w, h, 0);
        const bool blobs = k % 2 == 0;
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                const std::uint32_t u = rng.next_u32();
                m.at(y, x) =
                    static_cast<std::uint8_t>(blobs && x > 0 && u % 3 != 0   ? m.at(y, x - 1)
                                              : blobs && y > 0 && u % 3 == 0 ? m.at(y - 1, x)
                                                                             : (u >> 8) % values);
            }
        const int skip = k % 3 == 0 ? 1 : -1;
        SCOPED_TRACE("mask " + std::to_string(k) + " (" + std::to_string(w) + "x" +
                     std::to_string(h) + ")");
        expect_polygons_are_the_mask(m, skip, polygonize_mask(m, skip));
        if (HasFailure()) return;
    }
}

// Twice the signed area of a GeoJSON ring (closed: its last point the first) on the map, y up:
// positive when it runs counter-clockwise.
double twice_map_area(const nlohmann::json& ring) {
    double sum = 0;
    for (std::size_t i = 0; i + 1 < ring.size(); ++i)
        sum += ring[i][0].get<double>() * ring[i + 1][1].get<double>() -
               ring[i + 1][0].get<double>() * ring[i][1].get<double>();
    return sum;
}

// The GeoJSON of a ring of 2s around a 0 (on a 0.5 m grid in EPSG:25832, then without a grid):
// a feature a region with its class, value, pixels, area and mean confidence; rings closed,
// outer counter-clockwise and holes clockwise on the map (RFC 7946), corners where the grid puts
// them; without a grid x is the column and y minus the row; the CRS named where its code is known.
TEST(Polygonize, GeoJsonPlacesTheRingsOnTheMapAndNamesTheClasses) {
    const LabelMap ring = mask_of({"....", ".222", ".2.2", ".222"});
    std::vector<std::uint8_t> confidence(16, 255);
    confidence[5] = 0;  // (1,1), of the 2s: their mean is 7/8 of 255
    PolygonLayer layer;
    layer.name = "a \"tile\"";
    layer.class_names = {"background", "unused", "road \"A\""};
    layer.class_of_value.fill(-1);
    layer.class_of_value[0] = 0;
    layer.class_of_value[2] = 2;
    layer.transform = GeoTransform{366000, 0.5, 0, 5808000, 0, -0.5};
    layer.epsg = 25832;
    layer.confidence = true;
    const nlohmann::json j =
        nlohmann::json::parse(polygons_geojson(polygonize_mask(ring, -1, confidence), layer));
    EXPECT_EQ(j["type"], "FeatureCollection");
    EXPECT_EQ(j["name"], "a \"tile\"");
    EXPECT_EQ(j["crs"]["properties"]["name"], "urn:ogc:def:crs:EPSG::25832");
    ASSERT_EQ(j["features"].size(), 3u);
    const nlohmann::json& road = j["features"][1];
    EXPECT_EQ(road["properties"]["class"], "road \"A\"");
    EXPECT_EQ(road["properties"]["value"], 2);
    EXPECT_EQ(road["properties"]["pixels"], 8);
    EXPECT_DOUBLE_EQ(road["properties"]["area"].get<double>(), 2.0);
    EXPECT_DOUBLE_EQ(road["properties"]["confidence"].get<double>(), 0.875);
    EXPECT_EQ(road["geometry"]["type"], "Polygon");
    const nlohmann::json& rings = road["geometry"]["coordinates"];
    ASSERT_EQ(rings.size(), 2u);
    for (const nlohmann::json& r : rings) EXPECT_EQ(r.front(), r.back());
    EXPECT_NEAR(twice_map_area(rings[0]), 2 * 9 * 0.25, 1e-6);   // 3x3 pixels, counter-clockwise
    EXPECT_NEAR(twice_map_area(rings[1]), -2 * 1 * 0.25, 1e-6);  // the hole, clockwise
    std::set<std::pair<double, double>> corners;
    for (const nlohmann::json& p : rings[0])
        corners.insert({p[0].get<double>(), p[1].get<double>()});
    EXPECT_EQ(
        corners,
        (std::set<std::pair<double, double>>{
            {366000.5, 5807999.5}, {366002, 5807999.5}, {366002, 5807998}, {366000.5, 5807998}}));
    // A CRS of no EPSG code (an ESRI .prj): its text, which GDAL reads as it reads the .prj.
    layer.epsg = 0;
    layer.crs_text = "PROJCS[\"ETRS_1989_UTM_Zone_32N\",GEOGCS[\"GCS_ETRS_1989\"]]";
    EXPECT_EQ(nlohmann::json::parse(
                  polygons_geojson(polygonize_mask(ring, -1), layer))["crs"]["properties"]["name"],
              layer.crs_text);
    // Without a grid: column and minus the row, no area, and a local CRS that says so (without
    // one, GDAL reads a GeoJSON's coordinates as WGS 84 degrees). A name that is no UTF-8 (a
    // Latin-1 file name) is written with U+FFFD in its place.
    layer.transform.reset();
    layer.crs_text.clear();
    layer.name = "l\xe9gende";
    const nlohmann::json plain =
        nlohmann::json::parse(polygons_geojson(polygonize_mask(ring, -1, confidence), layer));
    EXPECT_EQ(plain["crs"]["properties"]["name"].get<std::string>().rfind(
                  "LOCAL_CS[\"pixels of the image (x column, y -row)\"", 0),
              0u);
    EXPECT_EQ(plain["name"], "l\xef\xbf\xbdgende");
    EXPECT_FALSE(plain["features"][1]["properties"].contains("area"));
    corners.clear();
    for (const nlohmann::json& p : plain["features"][1]["geometry"]["coordinates"][0])
        corners.insert({p[0].get<double>(), p[1].get<double>()});
    EXPECT_EQ(corners, (std::set<std::pair<double, double>>{{1, -1}, {4, -1}, {4, -4}, {1, -4}}));
    EXPECT_GT(twice_map_area(plain["features"][1]["geometry"]["coordinates"][0]), 0);
}

}  // namespace
}  // namespace pfce
