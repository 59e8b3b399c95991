// RPC camera models (data/rpc_model): each of GDAL's forms reads to the tag's order, a partial
// one is said and skipped, GDAL's order of places holds per format, and the .aux.xml form pfce
// writes reads back to the same doubles.
#include <gtest/gtest.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/image_io.hpp"
#include "data/rpc_model.hpp"
#include "tests/raw_tiff.hpp"
#include "tests/test_util.hpp"

using namespace pfce;
namespace fs = std::filesystem;

namespace {

// 92 values, most not exact in decimal (0.1 steps).
std::vector<double> model(double shift = 0) {
    std::vector<double> v(kRpcTagValues);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = shift + 0.1 * static_cast<double>(i) - 1.3;
    return v;
}

// DigitalGlobe's NAME.RPB, lists in parentheses over several lines, as GDAL writes them.
std::string rpb(const std::vector<double>& v) {
    const char* const singles[] = {"errBias",   "errRand",    "lineOffset",   "sampOffset",
                                   "latOffset", "longOffset", "heightOffset", "lineScale",
                                   "sampScale", "latScale",   "longScale",    "heightScale"};
    const char* const lists[] = {"lineNumCoef", "lineDenCoef", "sampNumCoef", "sampDenCoef"};
    std::string t =
        "satId = \"QB02\";\nbandId = \"P\";\nSpecId = \"RPC00B\";\nBEGIN_GROUP = IMAGE\n";
    std::size_t i = 0;
    for (const char* k : singles)
        t += std::string("\t") + k + " = " + test::shortest_decimal(v[i++]) + ";\n";
    for (const char* k : lists) {
        t += std::string("\t") + k + " = (\n";
        for (int c = 0; c < 20; ++c)
            t += "\t\t\t" + test::shortest_decimal(v[i++]) + (c < 19 ? ",\n" : ");\n");
    }
    return t + "END_GROUP = IMAGE\nEND;\n";
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
}

}  // namespace

// Each text form reads to the same doubles as the tag holds.
TEST(RpcModel, EachOfGdalsFormsReadsToTheTagsOrder) {
    const std::string dir = test::temp_dir("rpc_forms");
    const std::vector<double> v = model();
    write_png(dir + "/a.png", RgbImage(4, 2));
    write_text(dir + "/a_RPC.TXT", test::rpc_txt(v));
    RpcModel m = rpc_as_gdal_reads(dir + "/a.png", {});
    EXPECT_EQ(m.values, v);
    EXPECT_EQ(m.source, dir + "/a_RPC.TXT");

    write_png(dir + "/b.png", RgbImage(4, 2));
    write_text(dir + "/b.RPB", rpb(v));
    m = rpc_as_gdal_reads(dir + "/b.png", {});
    EXPECT_EQ(m.values, v);
    EXPECT_EQ(m.source, dir + "/b.RPB");

    // pfce's own .aux.xml form, inside a document with other metadata (a band's, the SRS).
    write_png(dir + "/c.png", RgbImage(4, 2));
    write_text(dir + "/c.png.aux.xml",
               "<PAMDataset>\n  <SRS>EPSG:4326</SRS>\n  <Metadata>\n    <MDI "
               "key=\"AREA_OR_POINT\">Area</MDI>\n  </Metadata>\n" +
                   pam_rpc_metadata(v) + "</PAMDataset>\n");
    m = rpc_as_gdal_reads(dir + "/c.png", {});
    EXPECT_EQ(m.values, v);
    EXPECT_EQ(m.source, "the RPC metadata of " + dir + "/c.png.aux.xml");

    // A TIFF's tag, as read_georeference reads it.
    test::write_raw_tiff(dir + "/d.tif", {.width = 4, .height = 2, .rpc = v},
                         std::vector<std::uint8_t>(3 * 4 * 2, 7));
    const GeoReference tags = read_georeference(dir + "/d.tif");
    EXPECT_EQ(tags.rpc_coefficients, v);
    EXPECT_TRUE(tags.empty());  // a camera model is no grid on the map
    m = rpc_as_gdal_reads(dir + "/d.tif", tags);
    EXPECT_EQ(m.values, v);
    EXPECT_EQ(m.source, "the RPCCoefficientTag of " + dir + "/d.tif");

    // No model anywhere: none, and nothing said.
    write_png(dir + "/e.png", RgbImage(4, 2));
    testing::internal::CaptureStderr();
    EXPECT_TRUE(rpc_as_gdal_reads(dir + "/e.png", {}).values.empty());
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

// The error estimates are optional (GDAL writes -1, unknown, into the tag); every other field is
// not: a model missing one, with a list of 19 numbers or a word for a number is said, naming the
// file and what is wrong, and the next place is read, as GDAL reads it.
TEST(RpcModel, APartialModelIsSaidAndTheNextPlaceRead) {
    const std::string dir = test::temp_dir("rpc_partial");
    std::vector<double> v = model();
    write_png(dir + "/a.png", RgbImage(4, 2));
    std::string t = test::rpc_txt(v);
    t = t.substr(t.find("LINE_OFF"));  // no ERR_BIAS, ERR_RAND
    write_text(dir + "/a_RPC.TXT", t);
    std::vector<double> expected = v;
    expected[0] = expected[1] = -1;
    EXPECT_EQ(rpc_as_gdal_reads(dir + "/a.png", {}).values, expected);

    const auto said = [&](const std::string& text, const std::string& message) {
        write_text(dir + "/a_RPC.TXT", text);
        testing::internal::CaptureStderr();
        EXPECT_TRUE(rpc_as_gdal_reads(dir + "/a.png", {}).values.empty());
        EXPECT_MESSAGE_HAS(testing::internal::GetCapturedStderr(),
                           dir + "/a_RPC.TXT: not a whole RPC camera model (" + message);
    };
    std::string no_7 = test::rpc_txt(v);
    const std::size_t at = no_7.find("SAMP_DEN_COEFF_7:");
    no_7.erase(at, no_7.find('\n', at) + 1 - at);
    said(no_7, "no SAMP_DEN_COEFF_7");
    std::string word = test::rpc_txt(v);
    word[word.find("LAT_OFF: ") + 9] = 'x';  // (its first digit)
    said(word, "LAT_OFF is 'x");

    // An .RPB of 19 coefficients; then the .aux.xml beside the same PNG, read first for a PNG.
    write_png(dir + "/b.png", RgbImage(4, 2));
    std::string short_list = rpb(v);
    const std::size_t cut = short_list.find("sampDenCoef");
    const std::size_t comma = short_list.find(",\n", cut);
    short_list.erase(comma, short_list.find(",\n", comma + 1) - comma);
    write_text(dir + "/b.RPB", short_list);
    testing::internal::CaptureStderr();
    EXPECT_TRUE(rpc_as_gdal_reads(dir + "/b.png", {}).values.empty());
    EXPECT_MESSAGE_HAS(testing::internal::GetCapturedStderr(),
                       "b.RPB: not a whole RPC camera model (SAMP_DEN_COEFF has 19 numbers, not "
                       "20; GDAL does not read it either): not carried to the prediction of " +
                           dir + "/b.png");
    const std::vector<double> w = model(5);
    write_text(dir + "/b.png.aux.xml", "<PAMDataset>\n" + pam_rpc_metadata(w) + "</PAMDataset>\n");
    EXPECT_EQ(rpc_as_gdal_reads(dir + "/b.png", {}).values, w);
}

// GDAL's order of places: beside a TIFF, an .RPB, then an _RPC.TXT, then the tag, then the
// .aux.xml (checked with gdalinfo 3.6: a sidecar over the tag, the tag over the .aux.xml); a PNG's
// .aux.xml before any sidecar (GDAL reads none beside a PNG).
TEST(RpcModel, PlacesAreReadInGdalsOrderForTheFormat) {
    const std::string dir = test::temp_dir("rpc_order");
    const std::vector<double> a = model(1), b = model(2), c = model(3), d = model(4);
    test::write_raw_tiff(dir + "/s.tif", {.width = 4, .height = 2, .rpc = c},
                         std::vector<std::uint8_t>(3 * 4 * 2, 7));
    const GeoReference tags = read_georeference(dir + "/s.tif");
    write_text(dir + "/s.tif.aux.xml", "<PAMDataset>\n" + pam_rpc_metadata(d) + "</PAMDataset>\n");
    EXPECT_EQ(rpc_as_gdal_reads(dir + "/s.tif", tags).values, c);
    EXPECT_EQ(rpc_as_gdal_reads(dir + "/s.tif", {}).values, d);  // no tag: the .aux.xml
    write_text(dir + "/s_RPC.TXT", test::rpc_txt(b));
    EXPECT_EQ(rpc_as_gdal_reads(dir + "/s.tif", tags).values, b);
    write_text(dir + "/s.RPB", rpb(a));
    EXPECT_EQ(rpc_as_gdal_reads(dir + "/s.tif", tags).values, a);

    write_png(dir + "/p.png", RgbImage(4, 2));
    write_text(dir + "/p.RPB", rpb(a));
    EXPECT_EQ(rpc_as_gdal_reads(dir + "/p.png", {}).values, a);
    write_text(dir + "/p.png.aux.xml", "<PAMDataset>\n" + pam_rpc_metadata(d) + "</PAMDataset>\n");
    EXPECT_EQ(rpc_as_gdal_reads(dir + "/p.png", {}).values, d);
}

// The .aux.xml form: GDAL's keys, one line each, lists of 20 space-separated numbers, each in its
// shortest exact form (so it reads back bit for bit), and no negative zero.
TEST(RpcModel, PamMetadataIsGdalsFormInShortestExactNumbers) {
    std::vector<double> v = model();
    v[2] = -0.0;
    v[3] = 1.0 / 3.0;
    const std::string xml = pam_rpc_metadata(v);
    EXPECT_EQ(xml.rfind("  <Metadata domain=\"RPC\">\n    <MDI key=\"ERR_BIAS\">-1.3</MDI>\n", 0),
              0u)
        << xml;
    EXPECT_MESSAGE_HAS(xml, "<MDI key=\"LINE_OFF\">0</MDI>");
    EXPECT_MESSAGE_HAS(xml, "<MDI key=\"SAMP_OFF\">0.3333333333333333</MDI>");
    EXPECT_MESSAGE_HAS(xml,
                       "<MDI key=\"LINE_NUM_COEFF\">-0.09999999999999987 0 0.10000000000000009 ");
    EXPECT_EQ(xml.substr(xml.size() - 21), "</MDI>\n  </Metadata>\n");
    const std::string dir = test::temp_dir("rpc_pam_exact");
    write_png(dir + "/a.png", RgbImage(4, 2));
    write_text(dir + "/a.png.aux.xml", "<PAMDataset>\n" + xml + "</PAMDataset>\n");
    v[2] = 0.0;
    EXPECT_EQ(rpc_as_gdal_reads(dir + "/a.png", {}).values, v);
}
