// Report rendering from hand-made results (no training): charts, picture grids, result JSON round
// trips, and the report files (Markdown, offline HTML, JSON, CSV) with their content.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/source_version.hpp"
#include "core/text.hpp"
#include "data/image_io.hpp"
#include "data/palette.hpp"
#include "host/experiment/confusion_chart.hpp"
#include "host/experiment/experiment_settings.hpp"
#include "host/experiment/picture_grid.hpp"
#include "host/experiment/report.hpp"
#include "host/experiment/results.hpp"
#include "host/experiment/run_curves.hpp"
#include "host/experiment/svg_chart.hpp"
#include "host/experiment/text_file.hpp"
#include "host/train/image_scores.hpp"
#include "test_util.hpp"

namespace pfce {
namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

int count(const std::string& s, const std::string& needle) {
    int n = 0;
    for (std::size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
    return n;
}

// Every opening tag is closed (self-closing or matched) in order: enough for "well-formed-looking".
// Scanned by hand: std::regex recurses per character and a data URI overflows its stack.
::testing::AssertionResult balanced_tags(const std::string& xml) {
    std::vector<std::string> stack;
    auto is_alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
    auto is_alnum = [&](char c) { return is_alpha(c) || (c >= '0' && c <= '9'); };
    for (std::size_t at = xml.find('<'); at != std::string::npos; at = xml.find('<', at + 1)) {
        std::size_t p = at + 1;
        const bool closing = p < xml.size() && xml[p] == '/';
        if (closing) ++p;
        if (p >= xml.size() || !is_alpha(xml[p])) continue;  // <!DOCTYPE>, <?xml?>, text
        const std::size_t name_end = [&] {
            std::size_t q = p;
            while (q < xml.size() && is_alnum(xml[q])) ++q;
            return q;
        }();
        const std::size_t close = xml.find('>', name_end);
        if (close == std::string::npos) return ::testing::AssertionFailure() << "tag never ends";
        const std::string name = xml.substr(p, name_end - p);
        if (xml[close - 1] == '/') continue;  // self-closing
        if (closing) {
            if (stack.empty() || stack.back() != name)
                return ::testing::AssertionFailure() << "unexpected </" << name << ">";
            stack.pop_back();
        } else {
            stack.push_back(name);
        }
    }
    if (!stack.empty())
        return ::testing::AssertionFailure() << "<" << stack.back() << "> never closed";
    return ::testing::AssertionSuccess();
}

TEST(Base64, Rfc4648Vectors) {
    EXPECT_EQ(base64_encode(""), "");
    EXPECT_EQ(base64_encode("f"), "Zg==");
    EXPECT_EQ(base64_encode("fo"), "Zm8=");
    EXPECT_EQ(base64_encode("foo"), "Zm9v");
    EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
    EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
    EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
    EXPECT_EQ(base64_encode(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(SvgChart, NiceTicksCoverTheRangeWithRoundSteps) {
    for (auto [lo, hi] : std::vector<std::pair<double, double>>{
             {0, 1}, {0.0123, 0.087}, {1, 10}, {-3, 250}, {5, 5}}) {
        const auto t = nice_ticks(lo, hi, 6);
        ASSERT_GE(t.size(), 2u) << lo << ".." << hi;
        EXPECT_LE(t.front(), lo + 1e-12);
        EXPECT_GE(t.back(), hi - 1e-12);
        const double step = t[1] - t[0];
        const double mant = step / std::pow(10.0, std::floor(std::log10(step) + 1e-9));
        EXPECT_TRUE(std::fabs(mant - 1) < 1e-6 || std::fabs(mant - 2) < 1e-6 ||
                    std::fabs(mant - 5) < 1e-6)
            << "step " << step;
        EXPECT_LE(t.size(), 12u);
    }
}

TEST(SvgChart, SeriesLegendAxesAndGaps) {
    ChartSpec spec;
    spec.title = "Loss <&>";
    spec.x_label = "epoch";
    spec.y_label = "loss";
    spec.series.push_back({"dense", {1, 2, 3, 4}, {1.0, 0.5, kNaN, 0.2}, {}, {}});
    spec.series.push_back({"e1-700", {1}, {0.9}, {}, {}});
    const std::string svg = render_line_chart_svg(spec);
    EXPECT_EQ(svg.rfind("<svg", 0), 0u);
    EXPECT_NE(svg.find("</svg>"), std::string::npos);
    EXPECT_TRUE(balanced_tags(svg));
    EXPECT_NE(svg.find("Loss &lt;&amp;&gt;"), std::string::npos);  // escaped title
    EXPECT_NE(svg.find(">dense</text>"), std::string::npos);       // legend entries
    EXPECT_NE(svg.find(">e1-700</text>"), std::string::npos);
    EXPECT_EQ(count(svg, "<polyline"), 3);  // dense split at the NaN into two runs, plus e1-700's
    EXPECT_EQ(count(svg, "<circle"), 4);    // one marker per finite point
    EXPECT_NE(svg.find(">epoch</text>"), std::string::npos);
    EXPECT_EQ(svg.find("nan"), std::string::npos);
}

TEST(SvgChart, EmptyChartSaysNoData) {
    ChartSpec spec;
    spec.title = "nothing";
    const std::string svg = render_line_chart_svg(spec);
    EXPECT_TRUE(balanced_tags(svg));
    EXPECT_NE(svg.find("no data"), std::string::npos);
}

GridRow make_row(int w, int h, std::uint8_t seed) {
    GridRow r;
    r.image = RgbImage(w, h);
    for (std::size_t i = 0; i < r.image.pixels.size(); ++i)
        r.image.pixels[i] = static_cast<std::uint8_t>(i * 7 + seed);
    r.dense = LabelMap(w, h, 0);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            r.dense.at(y, x) = static_cast<std::uint8_t>((x / 8 + y / 8 + seed) % 6);
    r.sparse = LabelMap(w, h);
    r.sparse.at(h / 2, w / 2) = 1;
    r.train = r.sparse;
    r.prediction = LabelMap(w, h, 3);
    return r;
}

TEST(PictureGrid, SizeAndPanelContents) {
    const Palette& pal = potsdam_palette();
    const int w = 64, h = 48;
    const int s = grid_zoom_for(w, h).up;
    EXPECT_EQ(s, 2);  // small images are enlarged
    EXPECT_EQ(grid_zoom_for(w, h).down, 1);
    EXPECT_EQ(grid_zoom_for(300, 300).up, 1);
    EXPECT_EQ(grid_zoom_for(300, 300).down, 1);
    std::vector<GridRow> rows = {make_row(w, h, 0), make_row(w, h, 1)};
    const RgbImage g = compose_picture_grid(rows, pal);
    int gw = 0, gh = 0;
    grid_size({{w, h}, {w, h}}, gw, gh);
    EXPECT_EQ(g.width, gw);
    EXPECT_EQ(g.height, gh);
    EXPECT_EQ(gw, 5 * w * s + 6 * kGridGap);
    EXPECT_EQ(gh, 2 * h * s + 3 * kGridGap);
    // Row 1, image panel, pixel (5,9) enlarged.
    const int y0 = kGridGap + (h * s + kGridGap);
    for (int c = 0; c < 3; ++c)
        EXPECT_EQ(g.at(y0 + 5 * s, kGridGap + 9 * s)[c], rows[1].image.at(5, 9)[c]);
    // Row 0, dense panel: palette colour of the class.
    const Rgb want = pal.classes[rows[0].dense.at(20, 30)].colour;
    const std::uint8_t* got =
        g.at(kGridGap + 20 * s + 1, kGridGap + (w * s + kGridGap) + 30 * s + 1);
    EXPECT_EQ(got[0], want[0]);
    EXPECT_EQ(got[1], want[1]);
    EXPECT_EQ(got[2], want[2]);
    // Gaps are white.
    EXPECT_EQ(g.at(0, 0)[0], 255);
    EXPECT_EQ(g.at(g.height - 1, g.width - 1)[2], 255);
    // Prediction panel is class 3 (tree, green).
    const std::uint8_t* p = g.at(kGridGap + 3, kGridGap + 4 * (w * s + kGridGap) + 3);
    EXPECT_EQ(p[0], 0);
    EXPECT_EQ(p[1], 255);
    EXPECT_EQ(p[2], 0);
}

// Each row's prediction panel names its own mIoU: against a brute-force count here, and drawn
// as a black caption box at the panel's bottom left.
TEST(PictureGrid, ThePredictionPanelNamesItsImagesMiou) {
    LabelMap truth(4, 2, 0), pred(4, 2, 0);
    truth.at(1, 0) = truth.at(1, 1) = 1;  // class 0: 6 pixels, class 1: 2 pixels
    truth.at(1, 3) = 255;                 // unlabelled: not scored
    pred.at(1, 1) = 1;                    // class 1 found once, taken for 0 once
    pred.at(1, 3) = 2;                    // a class at an unlabelled pixel: not scored
    // IoU(0) = 5 / (5 + 1) , IoU(1) = 1 / (1 + 1); class 2 in neither scored pixel: left out.
    EXPECT_EQ(prediction_score(truth, pred, 6, 5), "mIoU " + format_fixed((5.0 / 6 + 0.5) / 2, 4));
    EXPECT_EQ(prediction_score(LabelMap(4, 2, 255), pred, 6, 5), "mIoU n/a");

    const Palette& pal = potsdam_palette();
    const int w = 64, h = 48, s = grid_zoom_for(w, h).up;
    GridRow row = make_row(w, h, 0);
    const RgbImage plain = compose_picture_grid({row}, pal);
    const std::uint8_t* before = plain.at(kGridGap + h * s - 1, kGridGap + 4 * (w * s + kGridGap));
    EXPECT_EQ(before[1], 255);  // tree green where the caption will be
    row.score = "mIoU 0.1234";
    const RgbImage g = compose_picture_grid({row}, pal);
    const std::uint8_t* box = g.at(kGridGap + h * s - 1, kGridGap + 4 * (w * s + kGridGap));
    EXPECT_EQ(box[0], 0);
    EXPECT_EQ(box[1], 0);  // the caption's black box
    EXPECT_EQ(box[2], 0);
}

TEST(PictureGrid, PointsAreEnlargedDiscs) {
    const Palette& pal = potsdam_palette();
    LabelMap m(20, 20);
    m.at(10, 10) = 4;  // car: yellow
    const RgbImage img = draw_points(m, pal, 2);
    int lit = 0;
    for (int y = 0; y < 20; ++y)
        for (int x = 0; x < 20; ++x)
            lit += img.at(y, x)[0] == 255 && img.at(y, x)[1] == 255 ? 1 : 0;
    EXPECT_EQ(lit, 13);  // lattice points with dx^2+dy^2 <= 4
    EXPECT_EQ(img.at(0, 0)[0], 0);
}

// A sparse experiment's training labels are its points: drawn as the same discs as the points
// column (pixel for pixel the column was all but blank: walkthrough); a linked experiment's are
// its masks as they are.
TEST(PictureGrid, ASparseExperimentsTrainingLabelsAreDrawnAsPoints) {
    const Palette& pal = potsdam_palette();
    const int w = 64, h = 48;
    GridRow row = make_row(w, h, 0);  // one point, class 1, at the centre; train = sparse
    const int s = grid_zoom_for(w, h).up;
    const auto lit = [&](const RgbImage& g, int column) {
        const Rgb c = pal.classes[1].colour;
        int n = 0;
        for (int y = 0; y < h * s; ++y)
            for (int x = 0; x < w * s; ++x) {
                const std::uint8_t* p =
                    g.at(kGridGap + y, kGridGap + column * (w * s + kGridGap) + x);
                n += p[0] == c[0] && p[1] == c[1] && p[2] == c[2];
            }
        return n;
    };
    const RgbImage g = compose_picture_grid({row}, pal);
    EXPECT_GT(lit(g, 2), s * s);         // the points column: a disc
    EXPECT_EQ(lit(g, 3), lit(g, 2));     // the training labels: the same disc
    row.train.at(h / 2, w / 2 + 1) = 1;  // linked: a segment beside the point
    const RgbImage linked = compose_picture_grid({row}, pal);
    EXPECT_EQ(lit(linked, 3), 2 * s * s);  // as they are
}

// A dense experiment's third panel is its mask as it is: discs around every pixel grew the
// classes over each other (a probe counted 3500 of 16384 pixels of another class).
TEST(PictureGrid, ADenseExperimentsMaskIsNotDrawnAsPoints) {
    const Palette& pal = potsdam_palette();
    const int w = 64, h = 48;
    GridRow row = make_row(w, h, 0);
    row.sparse = row.dense;
    row.sparse_are_points = false;
    const RgbImage g = compose_picture_grid({row}, pal);
    const int s = grid_zoom_for(w, h).up, x0 = kGridGap + 2 * (w * s + kGridGap);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const Rgb want = pal.classes[row.dense.at(y, x)].colour;
            const std::uint8_t* got = g.at(kGridGap + y * s, x0 + x * s);
            ASSERT_TRUE(got[0] == want[0] && got[1] == want[1] && got[2] == want[2])
                << x << "," << y;
        }
}

// Test images of a real dataset differ in size (it threw "grid row 1 image is 72x100, expected
// 40x48" after training and failed every experiment of such a suite).
TEST(PictureGrid, RowsOfDifferentSizesKeepTheirProportions) {
    const Palette& pal = potsdam_palette();
    std::vector<GridRow> rows = {make_row(40, 48, 0), make_row(72, 100, 1)};
    const GridZoom z = grid_zoom_for(72, 100);  // the largest image decides: 160 / 100 = 1
    EXPECT_EQ(z.up, 1);
    const RgbImage g = compose_picture_grid(rows, pal);
    EXPECT_EQ(g.width, 5 * 72 + 6 * kGridGap);
    EXPECT_EQ(g.height, 48 + 100 + 3 * kGridGap);
    // Row 1's prediction panel (class 3, green) at its bottom-right pixel.
    const int y1 = kGridGap + 48 + kGridGap;
    const std::uint8_t* p = g.at(y1 + 99, kGridGap + 4 * (72 + kGridGap) + 71);
    EXPECT_EQ(p[0], 0);
    EXPECT_EQ(p[1], 255);
    // Row 0's panels are narrower than the column: white beside them, and its image in place.
    EXPECT_EQ(g.at(kGridGap + 10, kGridGap + 50)[0], 255);
    for (int c = 0; c < 3; ++c)
        EXPECT_EQ(g.at(kGridGap + 47, kGridGap + 39)[c], rows[0].image.at(47, 39)[c]);
}

// A large tile is reduced (a 6000x6000 one would make a 30000-pixel-wide picture), by one integer
// factor and nearest neighbour, so label panels keep pure class colours.
TEST(PictureGrid, LargeImagesAreReduced) {
    const GridZoom z = grid_zoom_for(6000, 6000);
    EXPECT_EQ(z.up, 1);
    EXPECT_EQ(z.down, 13);  // ceil(6000 / 480)
    EXPECT_EQ(z.shown(6000), 461);
    EXPECT_EQ(grid_zoom_for(480, 200).down, 1);
    EXPECT_EQ(grid_zoom_for(481, 200).down, 2);
    const Palette& pal = potsdam_palette();
    std::vector<GridRow> rows = {make_row(1000, 500, 0)};
    // Training labels of single pixels off the sampled grid: each still shows in its block.
    rows[0].train = LabelMap(1000, 500);
    rows[0].train.at(301, 602) = 4;  // car: yellow, in block (100, 200)
    const RgbImage g = compose_picture_grid(rows, pal);
    EXPECT_EQ(g.width, 5 * 333 + 6 * kGridGap);
    EXPECT_EQ(g.height, 166 + 2 * kGridGap);
    // The dense panel's pixel (y, x) shows the truth at (3y, 3x), in a class colour.
    const Rgb want = pal.classes[rows[0].dense.at(3 * 100, 3 * 200)].colour;
    const std::uint8_t* got = g.at(kGridGap + 100, kGridGap + (333 + kGridGap) + 200);
    EXPECT_EQ(got[0], want[0]);
    EXPECT_EQ(got[1], want[1]);
    EXPECT_EQ(got[2], want[2]);
    const std::uint8_t* point = g.at(kGridGap + 100, kGridGap + 3 * (333 + kGridGap) + 200);
    EXPECT_EQ(point[0], 255);
    EXPECT_EQ(point[1], 255);
    EXPECT_EQ(point[2], 0);
    // A dense map as the points (a dense experiment's row): its discs are drawn on the reduced
    // map (at 3000 px, a disc of radius 50 around each of 9M pixels took many minutes).
    std::vector<GridRow> big = {make_row(3000, 3000, 1)};
    big[0].sparse = big[0].dense;
    const RgbImage large = compose_picture_grid(big, pal);
    EXPECT_EQ(large.width, 5 * 428 + 6 * kGridGap);  // down ceil(3000 / 480) = 7
}

TEST(PictureGrid, MismatchedMaskIsRefused) {
    std::vector<GridRow> rows = {make_row(32, 32, 0)};
    rows[0].prediction = LabelMap(16, 16, 0);
    EXPECT_THROW(compose_picture_grid(rows, potsdam_palette()), ShapeError);
}

ExperimentResult make_result(const std::string& id, double miou, int epochs) {
    ExperimentResult r;
    r.id = id;
    r.description = "hand-made " + id;
    r.labels = id == "dense" ? "dense" : "sparse 700/class";
    r.labelled_fraction_sparse = 0.0078;
    r.labelled_fraction = id == "dense" ? 1.0 : 0.0078;
    r.link_purity = id == "e4-500-linked" ? 0.995 : kNaN;
    for (int e = 1; e <= epochs; ++e)
        r.epochs.push_back({.epoch = e,
                            .train_loss = 1.0 / e,
                            .val_loss = 1.2 / e,
                            .val_loss_dense = 1.5 / e,
                            .val_miou = miou * e / epochs,
                            .lr = 1e-3,
                            .seconds = 2.0});  // no CRF term
    r.selected_epoch = epochs;
    r.final_train_loss = 1.0 / epochs;
    r.val_loss = 1.2 / epochs;
    r.val_loss_dense = 1.5 / epochs;
    r.val_miou = miou;
    std::vector<std::int64_t> conf(36, 0);
    for (int c = 0; c < 6; ++c) conf[static_cast<std::size_t>(c * 6 + c)] = 100;
    conf[1] = static_cast<std::int64_t>(100 * (1 - miou));
    r.test = metrics_from_confusion(conf, 6, kPotsdamClutter);
    r.test.miou = miou;
    r.test_miou_ci95 = {miou - 0.05, miou + 0.05};
    for (const auto& c : potsdam_palette().classes) r.class_names.push_back(c.name);
    r.wall_seconds = 75;
    r.stage_seconds = {{"train", 70.0}, {"test", 5.0}};
    r.device = "cpu";
    return r;
}

TEST(Results, JsonRoundTripKeepsNaNAsNull) {
    ExperimentResult r = make_result("e4-500-linked", 0.8, 3);
    r.link_purity = kNaN;
    r.report_figure = "val \"IoU\" 0.7890, test 0.8344";
    const nlohmann::json j = to_json(r);
    EXPECT_TRUE(j["link_purity"].is_null());
    const ExperimentResult back = result_from_json(nlohmann::json::parse(j.dump()), "mem");
    EXPECT_EQ(back.id, r.id);
    EXPECT_TRUE(std::isnan(back.link_purity));
    EXPECT_EQ(back.report_figure, r.report_figure);
    ASSERT_EQ(back.epochs.size(), 3u);
    EXPECT_DOUBLE_EQ(back.epochs[2].val_loss_dense, r.epochs[2].val_loss_dense);
    EXPECT_DOUBLE_EQ(back.test.miou, r.test.miou);
    ASSERT_EQ(back.test.iou.size(), 6u);
    EXPECT_DOUBLE_EQ(back.test.iou[1], r.test.iou[1]);
    EXPECT_EQ(back.class_names, r.class_names);
    EXPECT_DOUBLE_EQ(back.stage_seconds.at("train"), 70.0);
}

TEST(Results, MissingFieldNamesTheSource) {
    nlohmann::json j = to_json(make_result("dense", 0.9, 1));
    j.erase("test");
    try {
        result_from_json(j, "/x/result.json");
        FAIL() << "expected InputError";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("/x/result.json"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("test"), std::string::npos);
    }
}

// A result.json pfce wrote reads back as written, sealed by its checksum; one edited since, or
// of no object at all (an array: it crashed a suite before its checksum was looked for), is an
// InputError naming the file, which pfce run takes as unreadable and runs again.
TEST(Results, ReadBackSealedAndRefusedWhereEditedOrNoObject) {
    const std::string dir = test::temp_dir("results_sealed");
    const std::string path = dir + "/result.json";
    write_result(path, make_result("dense", 0.9, 1));
    EXPECT_DOUBLE_EQ(read_result(path).test.miou, make_result("dense", 0.9, 1).test.miou);
    nlohmann::json j = nlohmann::json::parse(read_text_file(path));
    ASSERT_TRUE(j.contains("checksum"));
    j["test"]["miou"] = 0.99;
    write_text_atomically(path, j.dump(2));
    EXPECT_MESSAGE_HAS(test::input_error_message([&] { (void)read_result(path); }),
                       path + ": edited since pfce wrote it");
    j.erase("checksum");  // as an older pfce wrote it: read
    write_text_atomically(path, j.dump(2));
    EXPECT_DOUBLE_EQ(read_result(path).test.miou, 0.99);
    for (const char* text : {"[1, 2]", "null", "\"x\"", "7"}) {
        write_text_atomically(path, text);
        EXPECT_MESSAGE_HAS(test::input_error_message([&] { (void)read_result(path); }), path)
            << text;
    }
}

ReportInput make_report_input() {
    ReportInput in;
    in.title = "hand-made";
    in.description = "results written by hand";
    in.suite_file = "experiments/none.toml";
    in.data_summary = "none";
    in.device = "cpu";
    in.generated_at = "2026-01-01T00:00:00Z";
    in.clutter_class = kPotsdamClutter;
    in.results.push_back(make_result("dense", 0.90, 3));
    in.results.push_back(make_result("e1-700", 0.50, 3));
    in.results.push_back(make_result("e2-2100", 0.60, 3));
    in.results.back().report_figure = "train 0.0545 / val 0.2350 loss";
    in.results.push_back(make_result("e4-500-linked", 0.85, 3));
    in.results.back().report_figure = "val \"IoU\" 0.7890, test 0.8344";
    ExperimentResult failed;
    failed.id = "e5-500-edge";
    failed.status = "failed";
    failed.error = "something broke <badly> in a&lt;b & c";
    in.results.push_back(failed);
    return in;
}

// pfce run --force removes an experiment's result before its rerun: results.json says first that
// the suite is not complete and that experiment not current (a run killed then left a record of a
// finished suite whose result files were gone: interruption probe). The documents stay pfce's.
TEST(Report, AResultBeingRerunIsMarkedInResultsJsonFirst) {
    const std::string dir = test::temp_dir("report_being_rerun");
    mark_result_being_rerun(dir, "dense");  // no report yet: nothing written
    EXPECT_FALSE(file_exists(dir + "/results.json"));
    ReportInput in = make_report_input();
    in.results.pop_back();  // the failed one
    write_report(dir, in);
    ASSERT_EQ(nlohmann::json::parse(read_text_file(dir + "/results.json"))["complete"], true);
    mark_result_being_rerun(dir, "e1-700");
    const nlohmann::json j = nlohmann::json::parse(read_text_file(dir + "/results.json"));
    EXPECT_EQ(j["complete"], false);
    ASSERT_EQ(j["not_run"].size(), 1u);
    EXPECT_EQ(j["not_run"][0]["id"], "e1-700");
    EXPECT_MESSAGE_HAS(j["not_run"][0]["reason"].get<std::string>(),
                       "being run again by pfce run --force");
    for (const nlohmann::json& e : j["experiments"])
        EXPECT_EQ(e["current"], e["id"] != "e1-700") << e["id"];
    EXPECT_TRUE(edited_report_files(dir).empty());
}

// A document a person edited is theirs: found by its hash in results.json, kept by a rewrite
// (the new one beside it) unless replacing is asked for. Nothing edited, nothing found.
TEST(Report, EditedDocumentsAreFoundAndKept) {
    const std::string dir = test::temp_dir("report_edited");
    const ReportInput in = make_report_input();
    write_report(dir, in);
    EXPECT_TRUE(edited_report_files(dir).empty());
    write_report(dir, in);  // the same report again: nothing edited
    EXPECT_TRUE(edited_report_files(dir).empty());
    EXPECT_FALSE(file_exists(dir + "/report.md.new"));
    const std::string mine = read_text_file(dir + "/report.md") + "\nMY NOTES\n";
    write_text_atomically(dir + "/report.md", mine);
    ASSERT_EQ(edited_report_files(dir), std::vector<std::string>{dir + "/report.md"});
    write_report(dir, in);
    EXPECT_EQ(read_text_file(dir + "/report.md"), mine);
    EXPECT_EQ(read_text_file(dir + "/report.md.new"), render_report_markdown(in));
    EXPECT_EQ(edited_report_files(dir), std::vector<std::string>{dir + "/report.md"});
    // --force agreed to replace the edit as it was when the run began: an edit made during the
    // run is kept all the same (a hostile-user probe lost one), the new report beside it.
    const ReportFileHashes seen_at_start = edited_report_hashes(dir);
    ASSERT_EQ(seen_at_start.size(), 1u);
    const std::string later = mine + "MORE NOTES, DURING THE RUN\n";
    write_text_atomically(dir + "/report.md", later);
    std::filesystem::remove(dir + "/report.md.new");
    const std::map<std::string, std::string> written = write_report(dir, in, seen_at_start);
    EXPECT_EQ(written.at("report.md"), dir + "/report.md.new");  // where the new one went
    EXPECT_EQ(written.at("report.html"), dir + "/report.html");
    EXPECT_EQ(read_text_file(dir + "/report.md"), later);
    EXPECT_EQ(read_text_file(dir + "/report.md.new"), render_report_markdown(in));
    write_text_atomically(dir + "/report.md", mine);
    write_report(dir, in, edited_report_hashes(dir));
    EXPECT_EQ(read_text_file(dir + "/report.md"), render_report_markdown(in));
    EXPECT_TRUE(edited_report_files(dir).empty());
    // The report.md.new of the run before is stale once report.md is written again (it stayed, an
    // older report beside the newest).
    EXPECT_FALSE(file_exists(dir + "/report.md.new"));
    // So once the edited report is moved away as told; a report.md.new someone edited stays.
    write_text_atomically(dir + "/report.md", mine);
    write_report(dir, in);
    ASSERT_TRUE(file_exists(dir + "/report.md.new"));
    std::filesystem::rename(dir + "/report.md", dir + "/mine.md");
    ReportInput next = in;
    next.results.front().report_figure = "the next run's figure";
    write_report(dir, next);
    EXPECT_EQ(read_text_file(dir + "/report.md"), render_report_markdown(next));
    EXPECT_FALSE(file_exists(dir + "/report.md.new"));
    write_text_atomically(dir + "/report.md", mine);
    write_report(dir, in);
    write_text_atomically(dir + "/report.md.new", "MY NOTES IN THE NEW ONE\n");
    std::filesystem::remove(dir + "/report.md");
    write_report(dir, in);
    EXPECT_EQ(read_text_file(dir + "/report.md.new"), "MY NOTES IN THE NEW ONE\n");
    std::filesystem::remove(dir + "/report.md.new");
    write_report(dir, in);
    // A copy someone made of the last report under that name is theirs: pfce did not write it.
    const std::string last = read_text_file(dir + "/report.md");
    write_text_atomically(dir + "/report.md.new", last);
    write_report(dir, next);
    EXPECT_EQ(read_text_file(dir + "/report.md.new"), last);
    std::filesystem::remove(dir + "/report.md.new");
    write_report(dir, in);
    // A rewrite cut short between its renames (kill -9): results.json new, report.md still the
    // report pfce wrote before. pfce's own text, not an edit (hostile-user probe: the next run
    // refused, and its advice, --force, would have trained every experiment again).
    const std::string old_report = read_text_file(dir + "/report.md");
    ReportInput changed = in;
    changed.results.front().report_figure = "another figure";
    write_report(dir, changed);
    ASSERT_NE(read_text_file(dir + "/report.md"), old_report);
    write_text_atomically(dir + "/report.md", old_report);
    EXPECT_TRUE(edited_report_files(dir).empty());
    write_text_atomically(dir + "/report.md", old_report + "AN EDIT\n");  // an edit still is one
    EXPECT_EQ(edited_report_files(dir), std::vector<std::string>{dir + "/report.md"});
    // A results.json without the record (an older pfce's) finds nothing.
    write_text_atomically(dir + "/results.json", "{}\n");
    write_text_atomically(dir + "/report.md", mine);
    EXPECT_TRUE(edited_report_files(dir).empty());
}

// "test mIoU w/o clutter" only where the dataset has a clutter class: without one it was a
// column of dashes in every report (walkthrough).
TEST(Report, TheMiouWithoutClutterOnlyWhereThereIsClutter) {
    ReportInput in = make_report_input();
    EXPECT_MESSAGE_HAS(render_report_markdown(in),
                       "| test mIoU | test mIoU w/o clutter | test OA |");
    in.clutter_class = -1;
    const std::string md = render_report_markdown(in);
    EXPECT_MESSAGE_HAS(md, "| test mIoU | test OA |");
    EXPECT_EQ(md.find("w/o clutter"), std::string::npos);
}

// The legend names what the best checkpoints follow, as the experiments' run.best_metric says (it
// said "best validation loss" of a suite keeping the highest mIoU: walkthrough).
TEST(Report, TheLegendSaysWhatTheBestCheckpointFollows) {
    ReportInput in = make_report_input();
    EXPECT_MESSAGE_HAS(render_report_markdown(in), "(lowest validation loss where");
    for (ExperimentResult& r : in.results)
        r.config = {{"run.best_metric", "val_miou"}, {"run.evaluate", "best"}};
    std::string md = render_report_markdown(in);
    EXPECT_MESSAGE_HAS(md, "(highest validation mIoU where");
    EXPECT_EQ(md.find("validation loss where"), std::string::npos);
    in.results[1].config["run.best_metric"] = "val_loss";
    EXPECT_MESSAGE_HAS(render_report_markdown(in),
                       "(lowest validation loss or highest validation mIoU, by its "
                       "run.best_metric where");
    // One that tests its last epoch follows nothing.
    in.results[1].config["run.evaluate"] = "last";
    EXPECT_MESSAGE_HAS(render_report_markdown(in), "(highest validation mIoU where");
    // One class's IoU, by its name.
    in.results[0].config["run.best_metric"] = "val_iou:building";
    EXPECT_MESSAGE_HAS(render_report_markdown(in),
                       "(highest validation mIoU or highest validation IoU of building, by its "
                       "run.best_metric where");
    // A failed experiment followed nothing.
    in.results[0].status = "failed";
    EXPECT_MESSAGE_HAS(render_report_markdown(in), "(highest validation mIoU where");
}

// Losses of another focal γ or other training labels are on other scales: a caveat under the
// curves where the experiments differ so, none where they do not (walkthrough).
TEST(Report, CurvesOfLossesOnOtherScalesCarryACaveat) {
    ReportInput in = make_report_input();
    for (auto& r : in.results) r.config = {{"loss.gamma", 2.0}, {"labels.kind", "sparse"}};
    EXPECT_EQ(render_report_markdown(in).find("losses are on other scales"), std::string::npos);
    in.results[1].config["loss.gamma"] = 0.0;
    std::string md = render_report_markdown(in);
    EXPECT_MESSAGE_HAS(md,
                       "The experiments' losses are on other scales (another focal γ: 0 is "
                       "plain cross-entropy");
    EXPECT_EQ(md.find("or the validation loss on dense masks"), std::string::npos);
    in.results[1].config["loss.gamma"] = 2.0;
    in.results[2].config["labels.kind"] = "linked";
    md = render_report_markdown(in);
    EXPECT_MESSAGE_HAS(md,
                       "(other training labels, on which the training and validation losses "
                       "are taken): compare them within an experiment, and across experiments "
                       "by the validation mIoU or the validation loss on dense masks.");
}

TEST(Report, WritesEveryFileWithTheSameNumbers) {
    const std::string dir = test::temp_dir("report_files");
    ReportInput in = make_report_input();
    // A grid picture for one experiment, referenced relative to OUT.
    std::filesystem::create_directories(dir + "/dense");
    std::vector<GridRow> rows = {make_row(32, 32, 0)};
    const RgbImage grid = compose_picture_grid(rows, potsdam_palette());
    write_png(dir + "/dense/grid.png", grid);
    in.results[0].grid_png = "dense/grid.png";

    write_report(dir, in);
    for (const char* f : {"report.md", "report.html", "results.json", "results.csv",
                          "train_loss.svg", "val_loss.svg", "val_loss_dense.svg", "val_miou.svg"})
        EXPECT_TRUE(file_exists(dir + "/" + f)) << f;
    // Headers aligned as their columns: words left, numbers right (walkthrough).
    EXPECT_MESSAGE_HAS(read_text_file(dir + "/report.html"),
                       "<th class=\"text\">experiment</th><th class=\"text\">labels</th>"
                       "<th>labelled fraction</th>");
    for (const auto& f : report_chart_files(in)) {
        const std::string svg = read_text_file(dir + "/" + f);
        EXPECT_TRUE(balanced_tags(svg)) << f;
        EXPECT_NE(svg.find(">e2-2100</text>"), std::string::npos) << f;
        EXPECT_EQ(svg.find(">e5-500-edge</text>"), std::string::npos) << f;  // failed: no curve
    }

    // results.json parses, numbers are numbers.
    const auto j = nlohmann::json::parse(read_text_file(dir + "/results.json"));
    ASSERT_EQ(j["experiments"].size(), 5u);
    EXPECT_DOUBLE_EQ(j["experiments"][1]["test"]["miou"].get<double>(), 0.5);
    EXPECT_TRUE(j["experiments"][1]["link_purity"].is_null());
    EXPECT_EQ(j["experiments"][4]["status"], "failed");

    // CSV: header + one line per experiment, all with the header's column count.
    const std::string csv = read_text_file(dir + "/results.csv");
    std::vector<std::string> lines;
    for (std::size_t p = 0, q; (q = csv.find('\n', p)) != std::string::npos; p = q + 1)
        lines.push_back(csv.substr(p, q - p));
    ASSERT_EQ(lines.size(), 6u);
    const int cols = count(lines[0], ",");
    // ... description, settings, group, seed, then each class's IoU interval
    EXPECT_EQ(cols, 14 + 6 + 6 + 6 + 2 + 2 + 12);
    for (const auto& l : lines) EXPECT_EQ(count(l, ","), cols) << l;
    EXPECT_NE(lines[0].find("iou_impervious"), std::string::npos) << lines[0];
    EXPECT_EQ(lines[2].rfind("e1-700,ok,true,", 0), 0u);
    EXPECT_NE(lines[2].find(",0.5,"), std::string::npos);
    // Each value under its own header (wall_seconds held the interval's lower bound once).
    auto cells = [](const std::string& line) {
        std::vector<std::string> c;
        std::stringstream row_text(line);
        for (std::string f; std::getline(row_text, f, ',');) c.push_back(f);
        if (!line.empty() && line.back() == ',') c.emplace_back();
        return c;
    };
    const std::vector<std::string> header = cells(lines[0]), e1 = cells(lines[2]);
    ASSERT_EQ(header.size(), e1.size()) << lines[2];
    auto cell = [&](const std::string& name) {
        const auto at = std::find(header.begin(), header.end(), name);
        return at == header.end() ? std::string("(no column)")
                                  : e1[static_cast<std::size_t>(at - header.begin())];
    };
    const auto& e1_json = j["experiments"][1];
    EXPECT_EQ(std::stod(cell("wall_seconds")), e1_json["wall_seconds"].get<double>());
    EXPECT_EQ(cell("selected_epoch"), std::to_string(e1_json["selected_epoch"].get<int>()));
    EXPECT_EQ(cell("test_miou"), "0.5");
    EXPECT_EQ(cell("test_miou_ci95_lo"), "0.45");
    EXPECT_EQ(cell("test_miou_ci95_hi"), "0.55");
    // The failed experiment measured nothing: empty cells after id, status, current and labels,
    // never 0 (up to wall_seconds, which it spent; then its description and settings).
    EXPECT_EQ(lines[5].rfind("e5-500-edge,failed,", 0), 0u) << lines[5];
    std::vector<std::string> fields;
    std::stringstream row(lines[5]);
    for (std::string f; std::getline(row, f, ',');) fields.push_back(f);
    const std::size_t wall = static_cast<std::size_t>(
        std::find(header.begin(), header.end(), "wall_seconds") - header.begin());
    for (std::size_t k = 4; k < wall; ++k)
        EXPECT_EQ(fields[k], "") << "column " << k << " of " << lines[5];

    // Markdown: the table, the report's figures beside ours with the caveat, charts, pictures,
    // failures, the ordering check.
    const std::string md = read_text_file(dir + "/report.md");
    EXPECT_NE(md.find("| e1-700 | sparse 700/class |"), std::string::npos);
    EXPECT_NE(md.find("0.5000"), std::string::npos);
    EXPECT_NE(md.find("train 0.0545 / val 0.2350 loss"), std::string::npos);
    EXPECT_NE(md.find("not comparable"), std::string::npos);
    EXPECT_NE(md.find("impervious"), std::string::npos);
    EXPECT_NE(md.find("![Validation mIoU (dense truth)](val_miou.svg)"), std::string::npos);
    EXPECT_NE(md.find("](dense/grid.png)"), std::string::npos);
    // Escaped: a renderer would take <badly> for a tag and drop it.
    // An '&' that starts an entity name is escaped too ("a&lt;b" would show as "a<b"), others not.
    EXPECT_NE(md.find("e5-500-edge** failed: something broke &lt;badly> in a&amp;lt;b & c"),
              std::string::npos);
    EXPECT_NE(
        md.find(
            "dense (0.9000) ≥ e4-500-linked (0.8500) ≥ e2-2100 (0.6000) ≥ e1-700 (0.5000) — holds"),
        std::string::npos);
    EXPECT_NE(md.find("94.4% of the dense upper bound"), std::string::npos);

    // HTML: well formed, self-contained (every src is a data URI), grid PNG inlined and decodable.
    const std::string html = read_text_file(dir + "/report.html");
    EXPECT_TRUE(balanced_tags(html.substr(html.find("<html"))));
    EXPECT_NE(html.find("something broke &lt;badly&gt; in a&amp;lt;b &amp; c"), std::string::npos);
    int n_src = 0;  // (std::regex recurses per character: a long data URI overflows its stack)
    for (std::size_t at = html.find("src=\""); at != std::string::npos;
         at = html.find("src=\"", at + 1)) {
        EXPECT_EQ(html.compare(at + 5, 5, "data:"), 0)
            << "external reference " << html.substr(at + 5, 80);
        ++n_src;
    }
    // Four charts (no experiment has the CRF term), the confusion matrices and one picture.
    EXPECT_EQ(n_src, 4 + 1 + 1);
    const std::string png_b64 = base64_encode(read_text_file(dir + "/dense/grid.png"));
    EXPECT_NE(html.find("data:image/png;base64," + png_b64), std::string::npos);
}

// A result shown from an earlier run with other settings (listed in not_run) is marked as such in
// every table, in results.csv (current = false) and in results.json; the others are current.
TEST(Report, StaleResultsAreMarkedInTheTablesCsvAndJson) {
    ReportInput in = make_report_input();
    in.not_run.emplace_back("e1-700", "not rerun: OUT holds its results made with other settings");
    in.not_run.emplace_back("e9-missing", "not selected by --only and not run before");

    const std::string csv = render_results_csv(in);
    EXPECT_EQ(csv.rfind("id,status,current,", 0), 0u) << csv;
    EXPECT_NE(csv.find("\ne1-700,ok,false,"), std::string::npos) << csv;
    EXPECT_NE(csv.find("\ndense,ok,true,"), std::string::npos) << csv;
    EXPECT_NE(csv.find("\ne5-500-edge,failed,true,"), std::string::npos) << csv;

    const std::string md = render_report_markdown(in);
    EXPECT_NE(md.find("| e1-700 (stale) | sparse 700/class |"), std::string::npos) << md;
    EXPECT_NE(md.find("| dense | dense |"), std::string::npos) << md;
    EXPECT_NE(md.find("**(stale)**: results of an earlier run with other settings"),
              std::string::npos)
        << md;
    const std::string html = render_report_html(in, test::temp_dir("report_stale"));
    EXPECT_NE(html.find("<td class=\"id\">e1-700 (stale)</td>"), std::string::npos);
    // ... and in the summary lines that compare results (a stale dense against a current e4
    // read "e4 reaches 299% of the dense upper bound" without a mark).
    EXPECT_MESSAGE_HAS(md, "e2-2100 (0.6000) ≥ e1-700 (stale) (0.5000)");
    ReportInput dense_stale = make_report_input();
    dense_stale.not_run.emplace_back("dense", "not rerun: other settings");
    EXPECT_MESSAGE_HAS(render_report_markdown(dense_stale),
                       "e4-500-linked reaches 94.4% of the dense (stale) upper bound's test mIoU.");

    // Nothing finished (the one experiment failed): no per-class table (it was one of no class
    // columns).
    ReportInput none_ok = make_report_input();
    none_ok.results = {none_ok.results.back()};
    ASSERT_EQ(none_ok.results[0].status, "failed");
    EXPECT_EQ(render_report_markdown(none_ok).find("Per-class IoU"), std::string::npos);
    EXPECT_EQ(render_report_html(none_ok, test::temp_dir("report_none_ok")).find("Per-class IoU"),
              std::string::npos);
    EXPECT_MESSAGE_HAS(render_report_markdown(make_report_input()), "### Per-class IoU (test)");

    // A suite's own "dense" that trains on points is no upper bound (it was called one), and is
    // left out of the order the report implies; results that record no settings are taken on
    // their id.
    ReportInput dense_points = make_report_input();
    dense_points.results[0].config = {{"labels.kind", "sparse"}};
    ASSERT_EQ(dense_points.results[0].id, "dense");
    const std::string points_md = render_report_markdown(dense_points);
    EXPECT_EQ(points_md.find("upper bound"), std::string::npos) << points_md;
    EXPECT_MESSAGE_HAS(points_md, "Test mIoU order the report implies: e4-500-linked (0.8500)");
    dense_points.results[0].config = {{"labels.kind", "dense"}};
    EXPECT_MESSAGE_HAS(render_report_markdown(dense_points), "of the dense upper bound");

    const auto j = render_results_json(in);
    EXPECT_EQ(j["experiments"][1]["id"], "e1-700");
    EXPECT_EQ(j["experiments"][1]["current"], false);
    EXPECT_EQ(j["experiments"][0]["current"], true);

    // Nothing stale: no mark, no legend note.
    const std::string plain = render_report_markdown(make_report_input());
    EXPECT_EQ(plain.find("(stale)"), std::string::npos);
}

// The CRF term's chart is written (and shown) only when an experiment has the term; a chart an
// earlier report wrote is removed when no experiment has it any more.
TEST(Report, TheCrfChartOnlyWhenAnExperimentHasTheTerm) {
    const std::string dir = test::temp_dir("report_crf_chart");
    ReportInput in = make_report_input();
    write_report(dir, in);
    EXPECT_FALSE(file_exists(dir + "/train_crf_loss.svg"));
    EXPECT_TRUE(file_exists(dir + "/train_loss.svg"));
    EXPECT_EQ(read_text_file(dir + "/report.md").find("train_crf_loss.svg"), std::string::npos);
    EXPECT_EQ(read_text_file(dir + "/report.html").find("train_crf_loss.svg"), std::string::npos);

    for (auto& e : in.results[3].epochs) e.train_crf_loss = 0.25;
    write_report(dir, in);
    ASSERT_TRUE(file_exists(dir + "/train_crf_loss.svg"));
    EXPECT_NE(read_text_file(dir + "/train_crf_loss.svg").find(">e4-500-linked</text>"),
              std::string::npos);
    EXPECT_NE(read_text_file(dir + "/report.md").find("(train_crf_loss.svg)"), std::string::npos);

    write_report(dir, make_report_input());
    EXPECT_FALSE(file_exists(dir + "/train_crf_loss.svg"));
}

// Each cell is its row's share: whole percent, "<1" for a sliver, nothing for none; a class absent
// from the truth is a grey row that says so, not a row of zeros; names are escaped, counts in
// tooltips. A matrix of the wrong size is refused naming its panel.
// The caption is two short lines inside its panel (one long line ran under the next panel's
// caption and off a single panel's canvas), and a long title widens its panel.
TEST(ConfusionChart, CaptionAndTitleStayInsideTheirPanel) {
    ConfusionPanel p;
    p.class_names = {"a", "b"};
    p.confusion = {3, 1, 0, 4};
    p.title = "x";
    const std::string narrow = render_confusion_svg({p}, 1);
    EXPECT_MESSAGE_HAS(narrow, ">rows: truth; columns: predicted; % of each row (blank: none)<");
    EXPECT_MESSAGE_HAS(narrow, ">a grey row: no pixel of the class in the truth<");
    EXPECT_MESSAGE_HAS(narrow, "width=\"320\"");  // the 300 a panel takes at least, + margins
    p.title = std::string(60, 't');
    EXPECT_MESSAGE_HAS(render_confusion_svg({p}, 1), "width=\"520\"");  // 60 * 8 + 20 + 20
}

TEST(ConfusionChart, CellsAreSharesOfTheirRow) {
    const std::vector<std::string> names = {"road", "a<b", "car and a name far too long"};
    const std::vector<std::int64_t> m = {900, 100, 0,  // road: 90% right, 10% taken for a<b
                                         0,   0,   0,  // a<b: no pixels in the truth
                                         1,   0,   999};
    // 1 of 200 (0.5%, which printf rounds to an even 0) and 199 of 200: neither reads as exact.
    const std::vector<std::int64_t> halves = {199, 1, 0, 0, 0, 0, 0, 0, 200};
    const std::string svg = render_confusion_svg(
        {{"e1: mIoU 0.500", names, m}, {"e2", names, m}, {"e3", names, halves}});
    EXPECT_TRUE(balanced_tags(svg));
    EXPECT_MESSAGE_HAS(svg, ">e1: mIoU 0.500</text>");
    EXPECT_MESSAGE_HAS(svg, ">90</text>");
    EXPECT_MESSAGE_HAS(svg, ">10</text>");
    EXPECT_MESSAGE_HAS(svg, ">&lt;1</text>");   // 1 car pixel of 1000 taken for a road
    EXPECT_MESSAGE_HAS(svg, ">&gt;99</text>");  // 999 of 1000: not all of the row
    EXPECT_MESSAGE_HAS(svg, ">100</text>");     // 200 of 200
    EXPECT_MESSAGE_HAS(svg, "<title>truth road, predicted a&lt;b: 1 pixel, 0.50% of road");
    EXPECT_MESSAGE_HAS(svg, ">car and a name far to\u2026</text>");  // the axes cut long names
    EXPECT_MESSAGE_HAS(svg, "predicted car and a name far too long:");
    EXPECT_MESSAGE_HAS(svg, "<title>no pixels of a&lt;b in the test split</title>");
    EXPECT_MESSAGE_HAS(svg, "<title>truth road, predicted a&lt;b: 100 pixels, 10.00% of road");
    EXPECT_EQ(svg.find("a<b"), std::string::npos);
    EXPECT_EQ(svg.find(">0</text>"), std::string::npos);  // no share is printed as 0
    const std::string msg = [&] {
        try {
            render_confusion_svg({{"short", names, {1, 2, 3}}});
        } catch (const ShapeError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    }();
    EXPECT_MESSAGE_HAS(msg, "confusion matrix of \"short\" has 3 entries for 3 classes");
}

// Results keep their test confusion matrix (rows = truth) through result.json; the report shows
// the matrices of the experiments that recorded one (an older pfce's results did not), and a chart
// an earlier report wrote is removed when none has one. A malformed matrix names the file.
TEST(Report, ConfusionMatricesOfTheExperimentsThatRecordedOne) {
    const std::string dir = test::temp_dir("report_confusion");
    ReportInput in = make_report_input();
    for (auto& r : in.results) r.test.confusion.clear();  // as an older pfce wrote them
    const ReportInput older = in;
    std::vector<std::int64_t> m(36, 0);
    for (std::size_t c = 0; c < 6; ++c) m[c * 6 + c] = 100 + static_cast<std::int64_t>(c);
    m[1] = 50;  // impervious taken for building
    in.results[3].test.confusion = m;
    in.results[3].test.pixels = 50 + 6 * 100 + 15;
    in.results[3].class_names[1] = "roof";  // its own classes, whoever is first
    const ExperimentResult back = result_from_json(to_json(in.results[3]), "mem");
    EXPECT_EQ(back.test.confusion, m);
    EXPECT_EQ(to_json(in.results[3])["test"]["confusion"][0][1], 50);

    write_report(dir, in);
    const std::string svg = read_text_file(dir + "/test_confusion.svg");
    EXPECT_MESSAGE_HAS(svg, ">e4-500-linked: mIoU 0.850</text>");
    EXPECT_EQ(svg.find(">e1-700"), std::string::npos);  // recorded none
    EXPECT_MESSAGE_HAS(svg, ">33</text>");              // 50 of 150
    EXPECT_MESSAGE_HAS(svg, ">roof</text>");
    EXPECT_MESSAGE_HAS(read_text_file(dir + "/report.md"),
                       "![Confusion matrices (test)](test_confusion.svg)");
    EXPECT_MESSAGE_HAS(read_text_file(dir + "/report.html"),
                       "data:image/svg+xml;base64," + base64_encode(svg));

    write_report(dir, older);
    EXPECT_FALSE(file_exists(dir + "/test_confusion.svg"));
    EXPECT_EQ(read_text_file(dir + "/report.md").find("Confusion"), std::string::npos);

    nlohmann::json j = to_json(in.results[3]);
    j["test"]["confusion"][0][1] = 51;  // one pixel more than were scored
    EXPECT_MESSAGE_HAS(test::input_error_message([&] { result_from_json(j, "/x/result.json"); }),
                       "field \"test.confusion\" adds up to more than the 665 pixels scored");
    j["test"]["confusion"][0][1] = 49;
    EXPECT_MESSAGE_HAS(test::input_error_message([&] { result_from_json(j, "/x/result.json"); }),
                       "field \"test.confusion\" adds up to 664, not the 665 pixels scored");
    j["test"]["confusion"][2] = {1, 2};
    const std::string msg = [&] {
        try {
            result_from_json(j, "/x/result.json");
        } catch (const InputError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    }();
    EXPECT_MESSAGE_HAS(msg,
                       "/x/result.json: field \"test.confusion\" row 2 is [1,2]; expected 6 "
                       "rows of 6 pixel counts");
}

// Each class's IoU interval (from the mIoU's bootstrap draws) beside its IoU in the per-class
// table, with a caption, and at the end of results.csv; none where a class was in too few test
// images (null in result.json) or the result predates them.
TEST(Report, PerClassIntervalsAreShownWhereRecorded) {
    auto fixed4 = [](double v) {
        char b[32];
        std::snprintf(b, sizeof b, "%.4f", v);
        return std::string(b);
    };
    ReportInput in = make_report_input();
    EXPECT_EQ(render_report_markdown(in).find("In brackets each class's"), std::string::npos);
    ExperimentResult& r = in.results[1];
    const std::size_t C = r.class_names.size();
    r.test_iou_ci95_lo.assign(C, 0.25);
    r.test_iou_ci95_hi.assign(C, 0.75);
    r.test_iou_ci95_lo[4] = r.test_iou_ci95_hi[4] = kNaN;  // car: in too few test images
    const std::string md = render_report_markdown(in);
    const std::string row = "| " + r.id + " | " + fixed4(r.test.iou[0]) + " [0.250, 0.750] |";
    EXPECT_MESSAGE_HAS(md, row);
    EXPECT_MESSAGE_HAS(md, " | " + fixed4(r.test.iou[4]) + " | ");  // car: its IoU alone
    EXPECT_MESSAGE_HAS(md, "In brackets each class's 95% bootstrap interval over the test images");
    EXPECT_MESSAGE_HAS(render_report_html(in, test::temp_dir("report_class_ci")),
                       fixed4(r.test.iou[0]) + " [0.250, 0.750]</td>");
    // The CSV: two columns a class after the others (their places kept), empty where none.
    const std::string csv = render_results_csv(in);
    const std::string header = csv.substr(0, csv.find('\n'));
    EXPECT_MESSAGE_HAS(header,
                       ",group,seed,iou_impervious surfaces_ci95_lo,"
                       "iou_impervious surfaces_ci95_hi,iou_building_ci95_lo,");
    const std::size_t at = csv.find("\n" + r.id + ",");
    ASSERT_NE(at, std::string::npos) << csv;
    const std::string line = csv.substr(at + 1, csv.find('\n', at + 1) - at - 1);
    const std::string tail = ",0.25,0.75,0.25,0.75,0.25,0.75,0.25,0.75,,,0.25,0.75";
    ASSERT_GT(line.size(), tail.size());
    EXPECT_EQ(line.substr(line.size() - tail.size()), tail) << line;
    const std::size_t first = csv.find("\n" + in.results[0].id + ",");  // none recorded
    const std::string none = csv.substr(first + 1, csv.find('\n', first + 1) - first - 1);
    EXPECT_EQ(none.substr(none.size() - 13), ",,,,,,,,,,,,,") << none;
}

// Experiments with other class lists (a dataset that gained a class between runs): the per-class
// table and CSV have a column for every class any of them names, and each number sits under its
// own class's name, not under the first experiment's name at the same index.
TEST(Report, PerClassColumnsFollowEachExperimentsOwnClasses) {
    ReportInput in = make_report_input();
    ExperimentResult& r = in.results[2];
    r.class_names.insert(r.class_names.begin(), "water");
    r.test.iou.insert(r.test.iou.begin(), 0.125);
    r.test.f1.insert(r.test.f1.begin(), 0.25);
    r.test.iou[1] = 0.5;  // impervious surfaces, now its second class

    auto split = [](const std::string& s, char sep) {
        std::vector<std::string> parts(1);
        for (char c : s) {
            if (c == sep)
                parts.emplace_back();
            else
                parts.back().push_back(c);
        }
        return parts;
    };
    std::vector<std::vector<std::string>> rows;
    for (const auto& line : split(render_results_csv(in), '\n'))
        if (!line.empty()) rows.push_back(split(line, ','));
    auto column = [&](const std::string& name) {
        const auto it = std::find(rows[0].begin(), rows[0].end(), name);
        EXPECT_NE(it, rows[0].end()) << name;
        return static_cast<std::size_t>(it - rows[0].begin());
    };
    const std::size_t water = column("iou_water"), impervious = column("iou_impervious surfaces");
    EXPECT_EQ(column("iou_clutter") + 1, water);  // after the first experiment's classes
    EXPECT_EQ(rows[3][water], "0.125");
    EXPECT_EQ(rows[3][impervious], "0.5");
    EXPECT_EQ(rows[3][column("f1_water")], "0.25");
    EXPECT_EQ(rows[1][water], "");  // dense has no such class: empty, never 0
    EXPECT_FALSE(rows[1][impervious].empty());

    const std::string md = render_report_markdown(in);
    EXPECT_MESSAGE_HAS(md, "| clutter | water |");
    EXPECT_MESSAGE_HAS(md, "| e2-2100 | 0.5000 |");
}

// The wall time of an experiment that took several sessions (interrupted, then continued) is the
// sum, said so; one resumed without a record of the earlier sessions says it is the last only.
TEST(Report, WallTimeSaysWhenItSpansSessions) {
    ReportInput in = make_report_input();
    in.results[0].sessions = 2;
    in.results[0].resumed = true;
    in.results[1].resumed = true;
    const std::string md = render_report_markdown(in);
    EXPECT_NE(md.find("1m 15s (2 sessions) |"), std::string::npos) << md;
    EXPECT_NE(md.find("1m 15s (resumed: the last session only) |"), std::string::npos) << md;
    const auto back = result_from_json(to_json(in.results[0]), "mem");
    EXPECT_EQ(back.sessions, 2);
    EXPECT_TRUE(back.resumed);
}

// An interval over fewer than 10 test images carries its n and the legend says why (it
// understates the uncertainty however narrow); one of 10 or more, or unrecorded, none.
TEST(Report, AnIntervalOfFewTestImagesSaysSo) {
    ReportInput in = make_report_input();
    std::string md = render_report_markdown(in);
    EXPECT_MESSAGE_HAS(md, "| 0.5000 [0.450, 0.550] |");
    EXPECT_EQ(md.find("followed by its n"), std::string::npos);
    in.results[1].test_miou_ci95_units = 3;
    in.results[2].test_miou_ci95_units = 10;
    md = render_report_markdown(in);
    EXPECT_MESSAGE_HAS(md, "| 0.5000 [0.450, 0.550] (n=3) |");
    EXPECT_MESSAGE_HAS(md, "| 0.6000 [0.550, 0.650] |");
    EXPECT_MESSAGE_HAS(md,
                       "An interval followed by its n was drawn from fewer than 10 test "
                       "images (tiles)");
    const ExperimentResult back =
        result_from_json(nlohmann::json::parse(to_json(in.results[1]).dump()), "mem");
    EXPECT_EQ(back.test_miou_ci95_units, 3);
}

// Which pfce made the results: each build once (a suite continued after an update holds two), an
// older result's as not recorded; results.json names the build that wrote it.
TEST(Report, NamesThePfceBuildsOfItsResults) {
    ReportInput in = make_report_input();
    for (auto& r : in.results) r.pfce = "0.1.0 (commit aaaa)";
    in.results[2].pfce = "0.1.0 (commit bbbb)";
    in.results[3].pfce.clear();
    EXPECT_MESSAGE_HAS(render_report_markdown(in),
                       "- pfce: 0.1.0 (commit aaaa); 0.1.0 (commit bbbb); not recorded (an older "
                       "pfce)\n");
    EXPECT_EQ(render_results_json(in)["pfce"], pfce_version_text());
    const ExperimentResult back =
        result_from_json(nlohmann::json::parse(to_json(in.results[2]).dump()), "mem");
    EXPECT_EQ(back.pfce, "0.1.0 (commit bbbb)");
}

// Experiments tested on the same images are compared pairwise: row minus column, * where the
// paired interval excludes 0, n/a where the images differ; results.json lists each pair. Units
// travel through result.json.
TEST(Report, PairedDifferencesOfExperimentsOnTheSameImages) {
    ReportInput in = make_report_input();
    EXPECT_EQ(render_report_markdown(in).find("Paired differences"), std::string::npos);
    // 12 images of 6 classes: dense right on all, e1 wrong on 30% of class 1 everywhere, e2 the
    // same as e1 but on one image a pixel better, e4 on other images.
    for (std::size_t r = 0; r < 4; ++r)
        for (int k = 0; k < 12; ++k) {
            std::vector<std::int64_t> c(36, 0);
            for (int t = 0; t < 6; ++t) c[static_cast<std::size_t>(t * 7)] = 100 + k;
            if (r == 1 || r == 2) {
                c[7] -= 30;
                c[6] += 30;  // class 1 taken for class 0
            }
            if (r == 2 && k == 0) {
                ++c[7];
                --c[6];
            }
            in.results[r].test_units.push_back(
                {(r == 3 ? "other_" : "tile_") + std::to_string(k), c});
        }
    const std::string md = render_report_markdown(in);
    EXPECT_MESSAGE_HAS(md,
                       "### Paired differences of the test mIoU\n\n| row − column | dense | "
                       "e1-700 | e2-2100 |\n|---|---:|---:|---:|\n");
    EXPECT_MESSAGE_HAS(md, "| dense | — | +0.");
    EXPECT_MESSAGE_HAS(md, "| dense | — | +0.084*† | +0.084*† |");  // beyond chance, of 3 too
    EXPECT_MESSAGE_HAS(
        md, "; † marks those that still hold after Holm's correction over all 3 (2 pairs;");
    EXPECT_MESSAGE_HAS(md, "| e1-700 | -0.");
    // e2 better than e1 by one pixel of one image: a difference the images could make, no *.
    const std::string e1_row = md.substr(md.find("| e1-700 | -0."));
    EXPECT_MESSAGE_HAS(e1_row.substr(0, e1_row.find('\n')), " | — | -0.000 |");
    // Two experiments that score alike: 0.000 both ways, not +0.000 and -0.000 (suite probe).
    MiouDifference none{};
    EXPECT_EQ(difference_cell(1.0, none), "0.000");
    EXPECT_EQ(difference_cell(-1.0, none), "0.000");
    // From fewer than 6 images no difference is marked, however its draws fall (2 images whose
    // differences share a sign put every draw on that side: a walkthrough's *† from 2 images).
    const MiouDifference two{.diff = 0.02, .lo = 0.01, .hi = 0.03, .units = 2};
    EXPECT_EQ(difference_cell(1.0, two), "+0.020");
    MiouDifference six = two;
    six.units = 6;
    EXPECT_EQ(difference_cell(1.0, six), "+0.020*");
    std::vector<std::vector<std::int64_t>> a2, b2;
    for (int k = 0; k < 2; ++k) {
        a2.push_back({90, 10, 0, 100});
        b2.push_back({80, 20, 0, 100});
    }
    const MiouDifference drawn = paired_bootstrap_miou_difference(a2, b2, 2, -1, 200);
    EXPECT_GT(drawn.lo, 0.0) << "every draw on one side";
    EXPECT_EQ(drawn.p, 1.0) << "but 2 images tell nothing from chance";
    EXPECT_MESSAGE_HAS(md, "Row minus column: the difference of the test mIoUs");
    EXPECT_EQ(md.find("| e4-500-linked | n/a"), std::string::npos);  // in no pair: not shown
    const nlohmann::json j = render_results_json(in);
    ASSERT_EQ(j["paired_differences"].size(), 3u);  // dense-e1, dense-e2, e1-e2
    EXPECT_EQ(j["paired_differences"][0]["a"], "dense");
    EXPECT_EQ(j["paired_differences"][0]["b"], "e1-700");
    EXPECT_GT(j["paired_differences"][0]["ci95"][0].get<double>(), 0.0);
    EXPECT_EQ(j["paired_differences"][0]["units"], 12);
    EXPECT_EQ(j["paired_differences"][0]["resamples"], 1000);  // 3 pairs: 1000 are enough
    EXPECT_LT(j["paired_differences"][0]["p"].get<double>(), 0.05 / 3);
    EXPECT_EQ(j["paired_differences"][0]["holds_after_holm"], true);
    EXPECT_GT(j["paired_differences"][2]["p"].get<double>(), 0.05);  // e1 - e2: one pixel
    EXPECT_EQ(j["paired_differences"][2]["holds_after_holm"], false);
    // Many pairs ask for more draws: Holm's strictest step, 0.05 / 36, is below 2 / 1001.
    EXPECT_EQ(family_resamples(36), 7200);
    EXPECT_LT(2.0 / (family_resamples(36) + 1), 0.05 / 36);
    const ExperimentResult back =
        result_from_json(nlohmann::json::parse(to_json(in.results[1]).dump()), "mem");
    ASSERT_EQ(back.test_units.size(), 12u);
    EXPECT_EQ(back.test_units[3].id, "tile_3");
    EXPECT_EQ(back.test_units[3].confusion, in.results[1].test_units[3].confusion);
    nlohmann::json bad = to_json(in.results[1]);
    bad["test_units"][2]["confusion"] = {1, 2, 3};
    EXPECT_MESSAGE_HAS(test::input_error_message([&] { result_from_json(bad, "/r.json"); }),
                       "/r.json: field \"test_units\" unit 2 holds 3 counts");
}

TEST(Report, OrderingNoteSaysWhenTheOrderBreaks) {
    ReportInput in = make_report_input();
    in.results[1].test.miou = 0.7;  // e1 above e2
    const std::string md = render_report_markdown(in);
    EXPECT_NE(md.find("e2-2100 (0.6000) < e1-700 (0.7000) — does not hold"), std::string::npos)
        << md;
}

// Class names with a comma, a quote or a '|' (a foreign dataset's probe): the CSV header quoted
// only the name ("iou_"a, b"" read as two fields, so every later column shifted onto the wrong
// class), and a '|' split the Markdown table's cell. Each header is now one quoted field; a '|'
// is escaped. The pictures' caption names the colour unlabelled pixels are shown in.
TEST(Report, ClassNamesWithCommasQuotesAndBarsKeepTheirColumns) {
    ReportInput in = make_report_input();
    for (auto& r : in.results) {
        if (r.class_names.size() < 2) continue;  // a failed experiment names none
        r.class_names[0] = "bg, other";
        r.class_names[1] = "road \"x\" | co";
    }
    const std::string csv = render_results_csv(in);
    const std::string header = csv.substr(0, csv.find('\n'));
    EXPECT_MESSAGE_HAS(header, ",\"iou_bg, other\",\"iou_road \"\"x\"\" | co\",");
    EXPECT_MESSAGE_HAS(header, ",\"f1_bg, other\",");
    // A CSV reader's field count: commas outside quotes.
    auto fields = [](const std::string& line) {
        std::size_t n = 1;
        bool quoted = false;
        for (char c : line) {
            if (c == '"') quoted = !quoted;
            if (c == ',' && !quoted) ++n;
        }
        return n;
    };
    const std::string first_row =
        csv.substr(csv.find('\n') + 1, csv.find('\n', csv.find('\n') + 1) - csv.find('\n') - 1);
    EXPECT_EQ(fields(header), fields(first_row));
    // No experiment drew pictures (suite.grid_images = 0): no section, no caption (a probe found
    // the heading and its legend over nothing).
    std::string md = render_report_markdown(in);
    EXPECT_MESSAGE_HAS(md, "| road \"x\" \\| co |");
    EXPECT_EQ(md.find("## Pictures"), std::string::npos) << md;
    EXPECT_EQ(render_report_html(in, "").find("<h2>Pictures</h2>"), std::string::npos);
    in.results[0].grid_png = "dense/grid.png";
    md = render_report_markdown(in);
    EXPECT_MESSAGE_HAS(md, "## Pictures");
    EXPECT_MESSAGE_HAS(md, "Black = unlabelled.");
    in.unlabelled_colour = {155, 155, 155};
    EXPECT_MESSAGE_HAS(render_report_markdown(in), "The colour (155, 155, 155) = unlabelled.");
}

// The suite's name and description are user text like the experiments': escaped in Markdown (an
// unclosed "<!--" hid the rest of the report on GitHub), and the title and a picture heading stay
// on their lines (suite probe, review).
TEST(Report, TheSuitesDescriptionAndHeadingsAreText) {
    ReportInput in = make_report_input();
    in.title = "k <!-- x\n# y";
    in.description = "<!-- draft: compare radii";
    in.results[0].grid_png = "dense/grid.png";
    in.results[0].description = "two\nlines <b>";
    const std::string md = render_report_markdown(in);
    EXPECT_EQ(md.rfind("# pfce report: k &lt;!-- x # y\n\n&lt;!-- draft: compare radii\n\n", 0), 0u)
        << md;
    EXPECT_EQ(md.find("<!--"), std::string::npos) << md;
    EXPECT_MESSAGE_HAS(md, "### dense — two lines &lt;b>\n");
}

// Two experiments with the same labels, one tuned and one not, read as one row twice (a
// researcher's probe: e2 and e3 both "sparse 2100/class"). The report lists each experiment's
// description and the settings by which it differs from most of the suite; settings that have no
// effect in an experiment (plateau settings under a constant schedule, CRF settings with the term
// off) and those the labels column names are left out; a tie is shown at every experiment.
TEST(Report, ExperimentsTableSaysWhatSetsEachApart) {
    ReportInput in = make_report_input();
    auto fingerprint = [](double lr, const char* schedule, double factor, double crf, int radius) {
        return nlohmann::json{{"optimizer.lr", lr},
                              {"schedule.name", schedule},
                              {"schedule.plateau_factor", factor},
                              {"loss.crf_weight", crf},
                              {"loss.crf_radius", radius},
                              {"labels.points", {700}},
                              {"labels.kind", "sparse"}};
    };
    in.results[0].config = fingerprint(1e-3, "plateau", 0.5, 0.0, 5);
    in.results[1].config = fingerprint(1e-4, "constant", 0.1, 0.0, 5);
    in.results[2].config = fingerprint(1e-3, "plateau", 0.5, 0.1, 3);
    in.results[3].config = fingerprint(1e-3, "plateau", 0.5, 0.2, 7);
    in.results[3].config["labels.points"] = {500};  // the labels column says it
    const auto settings = distinguishing_settings(in.results);
    ASSERT_EQ(settings.size(), in.results.size());
    EXPECT_TRUE(settings[0].empty());
    EXPECT_EQ(settings[1],
              (std::vector<std::string>{"optimizer.lr = 0.0001", "schedule.name = \"constant\""}));
    // Two CRF experiments of different radii and weights: a tie, said at both.
    EXPECT_EQ(settings[2],
              (std::vector<std::string>{"loss.crf_radius = 3", "loss.crf_weight = 0.1"}));
    EXPECT_EQ(settings[3],
              (std::vector<std::string>{"loss.crf_radius = 7", "loss.crf_weight = 0.2"}));
    EXPECT_TRUE(settings[4].empty());  // failed before it recorded a config
    // A key only one experiment has (its own split list, fingerprinted by a hash of its ids) tells
    // it apart, said without the hash's length.
    in.results[0].config["data.test_list ids"] = "9f3a1234abcdef01";
    EXPECT_EQ(distinguishing_settings(in.results)[0],
              (std::vector<std::string>{"data.test_list = its own list (ids 9f3a1234)"}));
    in.results[0].config.erase("data.test_list ids");

    const std::string md = render_report_markdown(in);
    EXPECT_MESSAGE_HAS(md,
                       "## Experiments\n\n| experiment | description | labels | other "
                       "settings that differ (labels aside) |\n|---|---|---|---|\n");
    EXPECT_MESSAGE_HAS(md,
                       "| e1-700 | hand-made e1-700 | sparse 700/class | optimizer.lr = "
                       "0.0001, schedule.name = \"constant\" |");
    EXPECT_MESSAGE_HAS(md, "| dense | hand-made dense | dense | — |");
    EXPECT_LT(md.find("## Experiments"), md.find("## Results"));
    EXPECT_MESSAGE_HAS(render_report_html(in, ""), "<h2>Experiments</h2>");
    // Per-class IoU: the class columns are numbers, aligned right.
    EXPECT_MESSAGE_HAS(md,
                       "| experiment | impervious surfaces | building | low vegetation | tree "
                       "| car | clutter |\n|---|---:|");
    const std::string csv = render_results_csv(in);
    EXPECT_MESSAGE_HAS(csv.substr(0, csv.find('\n')), ",description,settings_that_differ");
    EXPECT_MESSAGE_HAS(csv,
                       ",hand-made e1-700,\"optimizer.lr = 0.0001; schedule.name = "
                       "\"\"constant\"\"\",,,");  // no group, no seed: a suite without seeds
    EXPECT_EQ(render_results_json(in)["experiments"][1]["settings_that_differ"].size(), 2u);
    // The pictures' headings name what each is, not only its labels.
    in.results[1].grid_png = "e1-700/grid.png";
    EXPECT_MESSAGE_HAS(render_report_markdown(in), "### e1-700 — hand-made e1-700\n");
}

// The technical report's figures and their caveat only where an experiment has a figure to
// compare: a user's own suite on Potsdam's classes got the caveat about PIL over no table.
TEST(Report, TheTechnicalReportsSectionOnlyBesideItsFigures) {
    ReportInput in = make_report_input();
    EXPECT_MESSAGE_HAS(render_report_markdown(in), "## The technical report's figures beside ours");
    for (auto& r : in.results) r.report_figure.clear();
    EXPECT_EQ(render_report_markdown(in).find("technical report's figures"), std::string::npos);
    EXPECT_EQ(render_report_html(in, "").find("technical report's figures"), std::string::npos);
}

// A run's curves (OUT/curves.svg): three charts nested in one picture, each series drawn only
// where some epoch has its value (no validation: no val series; the CRF term only where trained
// with it), lines that are no epoch's left out, the title escaped, the marker that makes the file
// the run's own within the first bytes.
TEST(RunCurves, ThreeChartsOfTheEpochsMeasured) {
    std::vector<nlohmann::json> lines = {
        {{"epoch", 1},
         {"lr", 0.001},
         {"train_loss", 1.5},
         {"val_loss", 1.6},
         {"val_loss_dense", 1.7},
         {"val_miou", 0.2},
         {"val_oa", 0.5},
         {"val_mean_f1", 0.3},
         {"best", true}},
        nlohmann::json("not an epoch"),
        {{"epoch", 2},
         {"lr", 0.0005},
         {"train_loss", 1.1},
         {"val_loss", nullptr},
         {"val_loss_dense", 1.2},
         {"val_miou", 0.3},
         {"val_oa", 0.6},
         {"val_mean_f1", 0.4}},
    };
    const std::string svg = render_run_curves_svg(lines, "run <a&b>", "sparse 50/class, adam");
    EXPECT_EQ(svg.rfind("<svg ", 0), 0u);
    EXPECT_LT(svg.find(kRunCurvesMarker), 256u);
    EXPECT_NE(svg.find("run &lt;a&amp;b&gt;"), std::string::npos);
    auto count = [&](const std::string& what) {
        std::size_t n = 0;
        for (std::size_t at = svg.find(what); at != std::string::npos; at = svg.find(what, at + 1))
            ++n;
        return n;
    };
    EXPECT_EQ(count("<svg "), 4u);  // the picture and its three charts
    EXPECT_EQ(count("</svg>"), 4u);
    for (const char* name : {">train (labels)<", ">val (labels)<", ">val (dense)<", ">mIoU<",
                             ">overall accuracy<", ">mean F1<"})
        EXPECT_EQ(count(name), 1u) << name;
    EXPECT_EQ(count(">lr<"), 2u);  // the axis and the series
    EXPECT_EQ(count(">train CRF term<"), 0u);
    EXPECT_EQ(count(">mIoU w/o clutter<"), 0u);  // no epoch has it
    EXPECT_NE(svg.find(">sparse 50/class, adam<"), std::string::npos);
    EXPECT_EQ(svg.find("textLength"), std::string::npos);  // a short subtitle as it is
    // A subtitle wider than the picture is squeezed to fit, not clipped at both ends.
    const std::string long_subtitle(200, 'x');
    EXPECT_NE(render_run_curves_svg(lines, "t", long_subtitle)
                  .find("font-size=\"12\" fill=\"#444444\" textLength=\"740\" "
                        "lengthAdjust=\"spacingAndGlyphs\">" +
                        long_subtitle + "<"),
              std::string::npos);
    // Two epochs of 7 series (val_loss once), and the best checkpoint's epoch (the last marked).
    EXPECT_EQ(count("<circle "), 2u * 7u - 1u + 1u);
    EXPECT_EQ(count(">best.ckpt<"), 1u);
    // An lr over more than a decade is drawn as log10 (1e-4 and 1e-5 read as 0 when linear).
    lines[2]["lr"] = 0.00001;
    const std::string wide = render_run_curves_svg(lines, "step decay");
    EXPECT_NE(wide.find(">log10(lr)<"), std::string::npos);
    EXPECT_NE(wide.find(">lr (log10)<"), std::string::npos);
    EXPECT_EQ(svg.find("log10"), std::string::npos);
    // No epoch at all (a run begun): the charts say so.
    EXPECT_EQ(render_run_curves_svg({}, "new").find("<circle"), std::string::npos);
    EXPECT_NE(render_run_curves_svg({}, "new").find(">no data<"), std::string::npos);
    // Epochs without validation: the middle chart says why it is empty, and the best checkpoint
    // is marked on the training loss (what chose it).
    std::vector<nlohmann::json> unvalidated = {
        {{"epoch", 1}, {"lr", 0.001}, {"train_loss", 1.5}, {"best", true}}};
    const std::string bare = render_run_curves_svg(unvalidated, "no val");
    EXPECT_NE(bare.find("(no validation: best.ckpt follows the training loss)"), std::string::npos);
    EXPECT_NE(bare.find(">best.ckpt<"), std::string::npos);
    EXPECT_EQ(svg.find("no validation"), std::string::npos);
    // A validation loss without an mIoU (images without dense masks, validated on their points):
    // best.ckpt follows that loss, marked on it.
    std::vector<nlohmann::json> points_only = {{{"epoch", 1},
                                                {"lr", 0.001},
                                                {"train_loss", 1.5},
                                                {"val_loss", 1.25},
                                                {"val_miou", nullptr},
                                                {"best", true}}};
    const std::string maskless = render_run_curves_svg(points_only, "points");
    EXPECT_NE(
        maskless.find("(no dense mask labels a pixel: best.ckpt follows the validation loss)"),
        std::string::npos);
    EXPECT_EQ(maskless.find("no validation:"), std::string::npos);
    EXPECT_EQ(maskless.find(">best.ckpt<"), maskless.rfind(">best.ckpt<"));
}

}  // namespace

}  // namespace pfce
