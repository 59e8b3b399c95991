// Segmentation metrics from a hand-made confusion matrix, the confusion op's refusal of classes
// out of range, and the CUDA confusion kernel against the CPU backend. The op against the
// reference on many shapes is in the op harness (test_backend_ops.cpp).
#include <cmath>
#include <cstring>
#include <vector>

#include "core/rng.hpp"
#include "core/text.hpp"
#include "host/train/image_scores.hpp"
#include "host/train/metrics.hpp"
#include "tests/test_util.hpp"

namespace pfce {
namespace {

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t from = 0;
    for (std::size_t nl; (nl = text.find('\n', from)) != std::string::npos; from = nl + 1)
        lines.push_back(text.substr(from, nl - from));
    return lines;
}

TEST(Metrics, FromHandMadeConfusion) {
    // 3 classes, rows = truth, columns = prediction:
    //   truth 0: 8 right, 2 as class 1
    //   truth 1: 1 as class 0, 6 right, 3 as class 2
    //   truth 2: 0, 0, 10 right
    const std::vector<std::int64_t> c = {8, 2, 0, 1, 6, 3, 0, 0, 10};
    const SegMetrics m = metrics_from_confusion(c, 3, /*clutter_class=*/2);
    EXPECT_EQ(m.pixels, 30);
    // IoU = TP / (TP + FP + FN): class 0: 8/(8+1+2), class 1: 6/(6+2+4), class 2: 10/(10+3+0).
    EXPECT_DOUBLE_EQ(m.iou[0], 8.0 / 11.0);
    EXPECT_DOUBLE_EQ(m.iou[1], 6.0 / 12.0);
    EXPECT_DOUBLE_EQ(m.iou[2], 10.0 / 13.0);
    EXPECT_DOUBLE_EQ(m.miou, (8.0 / 11 + 0.5 + 10.0 / 13) / 3);
    EXPECT_DOUBLE_EQ(m.miou_no_clutter, (8.0 / 11 + 0.5) / 2);
    EXPECT_DOUBLE_EQ(m.oa, 24.0 / 30.0);
    // F1 = 2TP / (2TP + FP + FN).
    EXPECT_DOUBLE_EQ(m.f1[0], 16.0 / 19.0);
    EXPECT_DOUBLE_EQ(m.f1[1], 12.0 / 18.0);
    EXPECT_DOUBLE_EQ(m.f1[2], 20.0 / 23.0);
    EXPECT_DOUBLE_EQ(m.mean_f1, (16.0 / 19 + 12.0 / 18 + 20.0 / 23) / 3);
    const auto j = to_json(m, {"a", "b", "c"});
    EXPECT_DOUBLE_EQ(j["iou"][1].get<double>(), 0.5);
    EXPECT_EQ(j["classes"][2], "c");
}

// eval --per-image's CSV: a row per image in order, undefined values as empty cells (a class
// absent from an image, an image of no labelled pixel), names with separators quoted; the line of
// lowest mIoU leaves unscored images out and keeps the split's order among ties.
TEST(Metrics, PerImageScoresCsv) {
    const std::vector<std::string> ids = {"a", "tile, \"north\"", "empty", "d"};
    const std::vector<std::vector<std::int64_t>> confusions = {
        {8, 2, 0, 1, 6, 3, 0, 0, 10},  // every class
        {4, 0, 0, 0, 4, 0, 0, 0, 0},   // no class 2: its IoU undefined; mIoU 1
        {0, 0, 0, 0, 0, 0, 0, 0, 0},   // no labelled pixel
        {0, 4, 0, 0, 0, 0, 0, 0, 0},   // all wrong: mIoU 0
    };
    const std::vector<ImageScore> scores = image_scores(ids, confusions, 3, /*clutter=*/2);
    ASSERT_EQ(scores.size(), 4u);
    EXPECT_DOUBLE_EQ(scores[0].metrics.miou, (8.0 / 11 + 0.5 + 10.0 / 13) / 3);
    const std::string csv = image_scores_csv(scores, {"low veg", "car", "x,y"}, 2);
    const std::vector<std::string> lines = split_lines(csv);
    ASSERT_EQ(lines.size(), 5u) << csv;
    EXPECT_EQ(lines[0],
              "id,pixels,oa,miou,miou_no_clutter,mean_f1,iou_low veg,iou_car,\"iou_x,y\",f1_low "
              "veg,f1_car,\"f1_x,y\",tp_low veg,tp_car,\"tp_x,y\",fp_low veg,fp_car,\"fp_x,y\","
              "fn_low veg,fn_car,\"fn_x,y\"");
    EXPECT_EQ(lines[1].substr(0, 33), "a,30,0.800000,0.665501,0.613636,0");
    // The counts: true positives on the diagonal, false positives down a column, false negatives
    // along a row; they sum over the rows to the split's.
    EXPECT_MESSAGE_HAS(lines[1], ",8,6,10,1,2,3,2,4,0");
    EXPECT_EQ(lines[2],
              "\"tile, \"\"north\"\"\",8,1.000000,1.000000,1.000000,1.000000,1.000000,1.000000,,"
              "1.000000,1.000000,,4,4,0,0,0,0,0,0,0");
    EXPECT_EQ(lines[3], "empty,0,,,,,,,,,,,0,0,0,0,0,0,0,0,0");
    EXPECT_EQ(lines[4].substr(0, 24), "d,4,0.000000,0.000000,0.");
    EXPECT_MESSAGE_HAS(lines[4], ",0,0,0,0,4,0,4,0,0");
    EXPECT_EQ(lowest_miou(scores, 5), "d 0.0000, a 0.6655, \"tile, \"\"north\"\"\" 1.0000");
    EXPECT_EQ(lowest_miou_order(scores, 2), (std::vector<std::size_t>{3, 0}));
    EXPECT_EQ(lowest_miou(scores, 1), "d 0.0000");
    // Without a clutter class there is no miou_no_clutter column.
    EXPECT_EQ(split_lines(image_scores_csv(scores, {"a", "b", "c"}, -1))[0],
              "id,pixels,oa,miou,mean_f1,iou_a,iou_b,iou_c,f1_a,f1_b,f1_c,tp_a,tp_b,tp_c,fp_a,fp_b,"
              "fp_c,fn_a,fn_b,fn_c");
}

// eval --bootstrap: the interval is the same every time (a fixed seed), a point where every image
// scores alike, around the split's mIoU otherwise, and narrower from 64 images than from 4 of the
// same kind; images that label nothing are not drawn, and fewer than 2 that do are refused.
TEST(Metrics, BootstrapIntervalOfTheMiou) {
    auto image = [](std::uint32_t k) {  // 3 classes, right 60..90% of the time
        CounterRng rng(7, k);
        std::vector<std::int64_t> c(9, 0);
        for (int t = 0; t < 3; ++t) {
            const std::int64_t n = 100 + rng.below(50), right = n * (6 + rng.below(4)) / 10;
            c[static_cast<std::size_t>(t * 3 + t)] = right;
            c[static_cast<std::size_t>(t * 3 + (t + 1) % 3)] = n - right;
        }
        return c;
    };
    std::vector<std::vector<std::int64_t>> many, few;
    for (std::uint32_t k = 0; k < 64; ++k) many.push_back(image(k));
    for (std::uint32_t k = 0; k < 4; ++k) few.push_back(image(k));
    few.push_back(std::vector<std::int64_t>(9, 0));  // an image of no labelled pixel
    const MiouInterval wide = bootstrap_miou(few, 3, -1, 1000);
    const MiouInterval narrow = bootstrap_miou(many, 3, -1, 1000);
    EXPECT_EQ(wide.images, 4u);
    EXPECT_EQ(narrow.images, 64u);
    EXPECT_EQ(narrow.resamples, 1000);
    std::vector<std::int64_t> all(9, 0);
    for (const auto& c : many)
        for (std::size_t i = 0; i < 9; ++i) all[i] += c[i];
    const double miou = metrics_from_confusion(all, 3).miou;
    EXPECT_LT(narrow.lo, miou);
    EXPECT_GT(narrow.hi, miou);
    EXPECT_LT(narrow.hi - narrow.lo, wide.hi - wide.lo);
    const MiouInterval again = bootstrap_miou(many, 3, -1, 1000);
    EXPECT_EQ(again.lo, narrow.lo);
    EXPECT_EQ(again.hi, narrow.hi);
    const std::vector<std::vector<std::int64_t>> alike(5, many[0]);
    const MiouInterval point = bootstrap_miou(alike, 3, -1, 200);
    EXPECT_DOUBLE_EQ(point.lo, metrics_from_confusion(many[0], 3).miou);
    EXPECT_DOUBLE_EQ(point.hi, point.lo);
    // Each class's IoU from the same draws: a point where every image is alike, around the
    // class's split IoU otherwise.
    ASSERT_EQ(point.class_lo.size(), 3u);
    const SegMetrics one = metrics_from_confusion(many[0], 3);
    const SegMetrics whole = metrics_from_confusion(all, 3);
    for (std::size_t c = 0; c < 3; ++c) {
        EXPECT_DOUBLE_EQ(point.class_lo[c], one.iou[c]);
        EXPECT_DOUBLE_EQ(point.class_hi[c], one.iou[c]);
        EXPECT_LT(narrow.class_lo[c], whole.iou[c]);
        EXPECT_GT(narrow.class_hi[c], whole.iou[c]);
    }
    // A class of one image in 64 is missing from about 37% of the draws: no interval; one of 5
    // images from under 1%: an interval.
    std::vector<std::vector<std::int64_t>> rare(64, std::vector<std::int64_t>(9, 0));
    for (auto& c : rare) c[0] = 100;                   // class 0 everywhere
    rare[5][4] = 10;                                   // class 1 in one image only
    for (int k = 10; k < 15; ++k) rare[k][8] = 5 + k;  // class 2 in five
    const MiouInterval r = bootstrap_miou(rare, 3, -1, 1000);
    EXPECT_FALSE(std::isnan(r.class_lo[0]));
    EXPECT_TRUE(std::isnan(r.class_lo[1]));
    EXPECT_TRUE(std::isnan(r.class_hi[1]));
    EXPECT_FALSE(std::isnan(r.class_lo[2]));
    EXPECT_MESSAGE_HAS(test::input_error_message([&] {
                           bootstrap_miou({many[0], std::vector<std::int64_t>(9, 0)}, 3, -1, 1000);
                       }),
                       "needs at least 2 images that label a pixel (1 here)");
    // A paired difference: none between a model and itself (every draw alike), one whose interval
    // excludes 0 where one model is better on every image, though a little; the same every time.
    const MiouDifference self = paired_bootstrap_miou_difference(many, many, 3, -1, 500);
    EXPECT_EQ(self.diff, 0.0);
    EXPECT_EQ(self.lo, 0.0);
    EXPECT_EQ(self.hi, 0.0);
    EXPECT_EQ(self.units, 64u);
    std::vector<std::vector<std::int64_t>> better = many;
    for (auto& c : better) {  // one pixel of each class moved from wrong to right
        for (int t = 0; t < 3; ++t) {
            const auto wrong = static_cast<std::size_t>(t * 3 + (t + 1) % 3);
            if (c[wrong] > 0) {
                --c[wrong];
                ++c[static_cast<std::size_t>(t * 3 + t)];
            }
        }
    }
    const MiouDifference up = paired_bootstrap_miou_difference(better, many, 3, -1, 500);
    EXPECT_GT(up.diff, 0.0);
    EXPECT_GT(up.lo, 0.0) << up.lo << " " << up.hi;
    EXPECT_GE(up.hi, up.diff);
    // Unpaired, the two intervals overlap: only pairing tells this difference from chance.
    EXPECT_LT(bootstrap_miou(better, 3, -1, 500).lo, bootstrap_miou(many, 3, -1, 500).hi);
    const MiouDifference again_up = paired_bootstrap_miou_difference(better, many, 3, -1, 500);
    EXPECT_EQ(again_up.lo, up.lo);
    const MiouDifference down = paired_bootstrap_miou_difference(many, better, 3, -1, 500);
    EXPECT_DOUBLE_EQ(down.diff, -up.diff);
    EXPECT_LT(down.hi, 0.0);
    EXPECT_MESSAGE_HAS(
        test::input_error_message([&] { paired_bootstrap_miou_difference(many, few, 3, -1, 500); }),
        "a paired comparison needs the same images: 64 and 5");
    // One class's IoU: better on each class, so on class 1 alone too; the same class of a model
    // against itself differs by nothing.
    const auto total = [](const std::vector<std::vector<std::int64_t>>& units) {
        std::vector<std::int64_t> t(9, 0);
        for (const auto& u : units)
            for (std::size_t i = 0; i < 9; ++i) t[i] += u[i];
        return t;
    };
    const MiouDifference class_up = paired_bootstrap_miou_difference(better, many, 3, -1, 500, 1);
    const double iou1_better = metrics_from_confusion(total(better), 3, -1).iou[1];
    const double iou1_many = metrics_from_confusion(total(many), 3, -1).iou[1];
    EXPECT_DOUBLE_EQ(class_up.diff, iou1_better - iou1_many);
    EXPECT_GT(class_up.lo, 0.0) << class_up.lo << " " << class_up.hi;
    EXPECT_NE(class_up.lo, up.lo);  // not the mIoU's interval
    EXPECT_EQ(paired_bootstrap_miou_difference(many, many, 3, -1, 500, 2).hi, 0.0);
    // A class in one image of 64 is in about 63% of the draws: an interval of those; in none, no
    // IoU to compare at all.
    EXPECT_EQ(paired_bootstrap_miou_difference(rare, rare, 3, -1, 500, 1).hi, 0.0);
    std::vector<std::vector<std::int64_t>> without = rare;
    without[5][4] = 0;
    EXPECT_MESSAGE_HAS(test::input_error_message([&] {
                           paired_bootstrap_miou_difference(without, without, 3, -1, 500, 1);
                       }),
                       "no image scored labels or predicts the class");
    // A tiles dataset's windows are summed by tile, named in the order of the sums (what the
    // report pairs two experiments' units by).
    std::vector<std::string> tiles;
    const auto by_tile =
        confusions_by_tile({"t3@300_0", "t2@0_0", "t3@0_0"}, {many[0], many[1], many[2]}, &tiles);
    ASSERT_EQ(by_tile.size(), 2u);
    ASSERT_EQ(tiles.size(), 2u);
    EXPECT_EQ(by_tile[0], many[1]);  // the tile named first holds the one window
    EXPECT_EQ(tiles, (std::vector<std::string>{"t2", "t3"}));
    // Fewer than 10 units: a caveat to print beside it; from 10 none.
    EXPECT_MESSAGE_HAS(few_bootstrap_units_note(wide.images, "images"),
                       "drawn from only 4 images: a bootstrap of fewer than 10 understates");
    EXPECT_EQ(few_bootstrap_units_note(10, "images"), "");
}

TEST(Metrics, AbsentClassIsLeftOutOfTheMeans) {
    // Class 1 appears neither in truth nor in predictions: IoU 0/0 -> NaN, not counted.
    const std::vector<std::int64_t> c = {5, 0, 1, 0, 0, 0, 1, 0, 3};
    const SegMetrics m = metrics_from_confusion(c, 3);
    EXPECT_TRUE(std::isnan(m.iou[1]));
    EXPECT_DOUBLE_EQ(m.miou, (5.0 / 7 + 3.0 / 5) / 2);
    // No clutter class: no mean without it (it was the mIoU again, a second measurement in JSON).
    EXPECT_TRUE(std::isnan(m.miou_no_clutter));
    EXPECT_TRUE(to_json(m)["miou_no_clutter"].is_null());
    EXPECT_TRUE(to_json(m)["iou"][1].is_null());
    // The table says so, instead of "nan" beside a mean that silently skips it.
    const std::string table = format_metrics_table(m, {"road", "car", "tree"}, -1);
    EXPECT_EQ(table.find("nan"), std::string::npos) << table;
    EXPECT_NE(table.find("(absent)"), std::string::npos) << table;
    EXPECT_NE(
        table.find("over the 2 classes in the truth or the predictions; absent from both: car"),
        std::string::npos)
        << table;
    // Names that are not ASCII keep the columns: each row's IoU ends at the header's "IoU".
    const std::string wide = format_metrics_table(m, {"Straße 道路", "car", "tree"}, -1);
    const auto column_of = [](const std::string& line, const std::string& what) {
        return display_width(line.substr(0, line.find(what) + what.size()));
    };
    const std::size_t header_end = column_of(wide.substr(0, wide.find('\n')), "IoU");
    const std::size_t row = wide.find("Straße");
    EXPECT_EQ(column_of(wide.substr(row, wide.find('\n', row) - row), "0.7143"), header_end)
        << wide;
    // A class the truth lacks but the predictions have scores 0 in the means, which is said.
    const SegMetrics predicted_only = metrics_from_confusion({5, 1, 0, 0}, 2);
    EXPECT_DOUBLE_EQ(predicted_only.iou[1], 0.0);
    EXPECT_MESSAGE_HAS(
        format_metrics_table(predicted_only, {"road", "car"}, -1),
        "(absent from the truth but predicted, so IoU 0 in the means: car (1 pixel))");
    EXPECT_EQ(table.find("absent from the truth but"), std::string::npos) << table;
    // A class present in truth but never predicted counts as 0.
    const SegMetrics z = metrics_from_confusion({4, 0, 2, 0}, 2);
    EXPECT_DOUBLE_EQ(z.iou[1], 0.0);
    EXPECT_DOUBLE_EQ(z.miou, (4.0 / 6 + 0.0) / 2);
}

TEST(Metrics, ConfusionAccumulatesAndRefusesClassesOutOfRange) {
    auto b = test::cpu_backend();
    const int C = 6;
    Tensor pred = test::random_labels({2, 37, 41}, C, 0.0, 1);
    Tensor truth = test::random_labels({2, 37, 41}, C, 0.3, 2);
    Tensor once = Tensor::host({C, C}, DType::i32), twice = Tensor::host({C, C}, DType::i32);
    b->confusion_accumulate(pred, truth, once);
    b->confusion_accumulate(pred, truth, twice);
    b->confusion_accumulate(pred, truth, twice);  // accumulates
    for (int k = 0; k < C * C; ++k)
        EXPECT_EQ(twice.data<std::int32_t>()[k], 2 * once.data<std::int32_t>()[k]);
    // An out-of-range class is a caller bug, reported rather than counted.
    truth.data<std::uint8_t>()[5] = 7;
    EXPECT_THROW(b->confusion_accumulate(pred, truth, twice), ShapeError);
}

TEST(MetricsGpu, ConfusionMatchesCpu) {
    PFCE_REQUIRE_GPU(gpu);
    auto cpu = test::cpu_backend();
    for (int C : {2, 6, 32}) {
        // Sizes from tiny to several blocks' worth of pixels per block.
        for (Shape s : {Shape{1, 3, 5}, Shape{3, 300, 300}, Shape{8, 304, 304}}) {
            Tensor pred = test::random_labels(s, C, 0.0, 10 + C);
            Tensor truth = test::random_labels(s, C, 0.25, 20 + C);
            Tensor hc = Tensor::host({C, C}, DType::i32);
            cpu->confusion_accumulate(pred, truth, hc);
            Tensor dp = test::to_backend(*gpu, pred), dt = test::to_backend(*gpu, truth);
            Tensor dc = gpu->zeros({C, C}, DType::i32);
            gpu->confusion_accumulate(dp, dt, dc);
            Tensor got = test::to_host(*gpu, dc);
            ASSERT_EQ(0, std::memcmp(hc.raw(), got.raw(), hc.bytes()))
                << "C " << C << " shape " << s.str();
        }
    }
}

}  // namespace
}  // namespace pfce
