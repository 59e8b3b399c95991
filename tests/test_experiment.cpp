// Experiment suites end to end: a tiny suite (16 synthetic 64x64 images, one epoch, a tiny U-Net)
// runs through the real `pfce run`; every report file exists, numbers parse, pictures decode with
// the expected sizes, a failing experiment is reported while the others run, finished experiments
// are skipped on a rerun and rerun with --force. Suite files: unknown keys and values are errors
// naming the key and the file; precedence of [train] layers.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "data/dataset.hpp"
#include "data/image_io.hpp"
#include "data/picture_text.hpp"
#include "host/experiment/experiment_run.hpp"
#include "host/experiment/picture_grid.hpp"
#include "host/experiment/suite.hpp"
#include "host/experiment/suite_data.hpp"
#include "host/experiment/text_file.hpp"
#include "test_util.hpp"

namespace pfce {
namespace {

namespace fs = std::filesystem;

void write_file(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
}

const char* kLinkedFile = R"(
[experiment]
id = "tiny-linked"
description = "sparse points + linking"
report_figure = "val \"IoU\" 0.7890, test 0.8344"

[labels]
kind = "linked"
points = 500
radius = 6

[optimizer]
lr = 1e-3

[run]
best_metric = "val_loss"
evaluate = "best"
)";

const char* kTinySuite = R"(
[suite]
name = "tiny"
description = "two experiments and one that fails"
experiments = [
  { id = "tiny-dense", labels = { kind = "dense" }, run = { evaluate = "last" } },
  "tiny-linked.toml",
  { id = "tiny-broken", labels = { kind = "sparse", points = [5, 5] } },
]
grid_images = 2

[data]
source = "synthetic"
synthetic_count = 16
synthetic_size = 64
synthetic_seed = 3
train_frac = 0.75   # 12 / 2 / 2 images
val_frac = 0.125
crop_size = 32      # windows of 32 for the test images and the grid (overlap 8, not 128)

[model]
width = 4
depth = 2

[run]
epochs = 1
batch_size = 4
)";

// An experiment's directory in OUT holding what pfce did not write (a folder made by hand with a
// user's grid.png, a foreign result.json, a link out of OUT) is refused before anything is written
// or trained, --force or not (hostile-user probe: the user's grid.png was overwritten).
TEST(ExperimentRun, AnExperimentDirectoryOfOtherFilesIsRefused) {
    const std::string dir = test::temp_dir("experiment_dir_users");
    write_file(dir + "/tiny-linked.toml", kLinkedFile);
    write_file(dir + "/tiny.toml", kTinySuite);
    const std::string out = dir + "/out", exp = out + "/tiny-dense";
    fs::create_directories(exp);
    write_file(out + "/.pfce-output", "run of suite \"tiny\"\n");  // OUT is the suite's own
    write_file(exp + "/grid.png", "MY OWN PICTURE");
    write_file(exp + "/notes.txt", "mine");
    const std::string run =
        "run " + dir + "/tiny.toml --device cpu --out " + out + " --only tiny-dense";
    for (const char* force : {"", " --force"}) {
        const test::CommandResult r = test::run_pfce(run + force);
        EXPECT_EQ(r.status, 2) << r.output;
        EXPECT_MESSAGE_HAS(r.output, exp + " holds files pfce did not write (notes.txt)");
    }
    EXPECT_EQ(read_text_file(exp + "/grid.png"), "MY OWN PICTURE");
    EXPECT_FALSE(fs::exists(exp + "/result.json"));
    fs::remove(exp + "/notes.txt");
    write_file(exp + "/result.json", "{\"mine\": true}");
    const test::CommandResult foreign = test::run_pfce(run);
    EXPECT_EQ(foreign.status, 2) << foreign.output;
    EXPECT_MESSAGE_HAS(foreign.output, exp + "/result.json is not a result pfce wrote");
    EXPECT_EQ(read_text_file(exp + "/result.json"), "{\"mine\": true}");
    fs::remove_all(exp);
    fs::create_directories(dir + "/elsewhere");
    fs::create_directory_symlink(dir + "/elsewhere", exp);
    const test::CommandResult linked = test::run_pfce(run);
    EXPECT_EQ(linked.status, 2) << linked.output;
    EXPECT_MESSAGE_HAS(linked.output, exp + " is a link, not the directory pfce keeps");
    EXPECT_TRUE(fs::is_empty(dir + "/elsewhere"));
}

// A dataset suite whose data does not open, into a new OUT: refused with the dataset's own error,
// and no OUT left behind (hostile-user probe: OUT was made, after a warning about keeping
// finished results that did not exist).
TEST(ExperimentRun, ADatasetThatDoesNotOpenLeavesNoOut) {
    const std::string dir = test::temp_dir("experiment_bad_data");
    write_file(dir + "/s.toml",
               "[suite]\nname = \"s\"\nexperiments = [{ id = \"a\" }]\n[data]\n"
               "source = \"dataset\"\n");
    fs::create_directories(dir + "/empty");
    const test::CommandResult r = test::run_pfce("run " + dir + "/s.toml --device cpu --data " +
                                                 dir + "/empty --out " + dir + "/out");
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_MESSAGE_HAS(r.output, "cannot tell the dataset kind");
    EXPECT_EQ(r.output.find("finished experiments are kept"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(dir + "/out"));
    // Refusals found once OUT is claimed (the synthetic data made, a split list read) leave it as
    // they found it too: gone, or the empty directory it was (OUT stayed, with the data).
    write_file(dir + "/split.toml",
               "[suite]\nname = \"s\"\nexperiments = [{ id = \"a\" }]\n[data]\nsource = "
               "\"synthetic\"\nsynthetic_count = 8\nsynthetic_size = 64\ntrain_frac = 1.0\n"
               "val_frac = 0.0\n[model]\nwidth = 4\ndepth = 2\n");
    fs::create_directories(dir + "/empty-out");
    for (const std::string& out : {dir + "/out", dir + "/empty-out", dir + "/new/deeper/out"}) {
        const test::CommandResult split =
            test::run_pfce("run " + dir + "/split.toml --device cpu --out " + out);
        EXPECT_EQ(split.status, 2) << split.output;
        EXPECT_MESSAGE_HAS(split.output, "8 samples give 8 train / 0 val / 0 test: too few");
    }
    EXPECT_FALSE(fs::exists(dir + "/out"));
    EXPECT_TRUE(fs::is_empty(dir + "/empty-out"));
    EXPECT_FALSE(fs::exists(dir + "/new"));  // the parents made for OUT too
    // An OUT of earlier results keeps them, and loses the synthetic data made for the refused
    // suite (it stayed there, unused).
    write_file(dir + "/good.toml",
               "[suite]\nname = \"s\"\nexperiments = [{ id = \"a\" }]\n[data]\nsource = "
               "\"synthetic\"\nsynthetic_count = 8\nsynthetic_size = 64\n[model]\nwidth = 4\n"
               "depth = 1\n[run]\nepochs = 1\n");
    ASSERT_EQ(
        test::run_pfce("run " + dir + "/good.toml --device cpu --out " + dir + "/kept").status, 0);
    std::string ten = read_text_file(dir + "/split.toml");
    ten.replace(ten.find("synthetic_count = 8"), 19, "synthetic_count = 10");
    write_file(dir + "/ten.toml", ten);
    const test::CommandResult refused_ten =
        test::run_pfce("run " + dir + "/ten.toml --device cpu --force --out " + dir + "/kept");
    EXPECT_EQ(refused_ten.status, 2) << refused_ten.output;
    EXPECT_TRUE(fs::exists(dir + "/kept/a/result.json"));
    EXPECT_TRUE(fs::exists(dir + "/kept/data/synthetic-8x64-s0"));
    EXPECT_FALSE(fs::exists(dir + "/kept/data/synthetic-10x64-s0"));
    write_file(dir + "/list.toml",
               "[suite]\nname = \"s\"\nexperiments = [{ id = \"a\" }]\n"
               "[data]\nsource = \"synthetic\"\nsynthetic_count = 8\n"
               "synthetic_size = 64\ntrain_list = \"" +
                   dir + "/none.txt\"\n");
    const test::CommandResult list =
        test::run_pfce("run " + dir + "/list.toml --device cpu --out " + dir + "/out");
    EXPECT_EQ(list.status, 2) << list.output;
    EXPECT_MESSAGE_HAS(list.output, "none.txt (data.train_list in " + dir + "/list.toml)");
    EXPECT_FALSE(fs::exists(dir + "/out"));
}

// A crop or a depth that does not fit the suite's images is said before the first experiment
// trains (a hostile probe's crop of 200 on 64-pixel images failed only once the experiment before
// it had trained: hours on a real suite).
TEST(ExperimentRun, ExperimentsThatDoNotFitTheImagesAreSaidBeforeAnyTrains) {
    const std::string dir = test::temp_dir("experiment_fit_first");
    write_file(dir + "/s.toml",
               "[suite]\nname = \"s\"\nexperiments = [\n  { id = \"ok\", labels = { kind = "
               "\"dense\" } },\n  { id = \"big-crop\", data = { crop_size = 200 } },\n  { id = "
               "\"deep\", model = { depth = 8 }, data = { crop_size = 128 } },\n]\n[data]\nsource "
               "= \"synthetic\"\n"
               "synthetic_count = 8\nsynthetic_size = 64\ntrain_frac = 0.5\nval_frac = 0.25\n"
               "crop_size = 32\n[model]\nwidth = 4\ndepth = 2\n[run]\nepochs = 1\n"
               "batch_size = 4\n");
    const test::CommandResult r =
        test::run_pfce("run " + dir + "/s.toml --device cpu --out " + dir + "/out");
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_MESSAGE_HAS(r.output, "1 ran, 0 skipped, 2 failed");
    const std::size_t trained = r.output.find("ok] training");
    ASSERT_NE(trained, std::string::npos) << r.output;
    for (const std::string& said :
         {std::string("experiment big-crop cannot run on this data, and fails: data.crop_size 200 "
                      "is more than twice the side of the largest training image"),
          std::string(
              "experiment deep cannot run on this data, and fails: the validation split: ")}) {
        const std::size_t at = r.output.find(said);
        EXPECT_NE(at, std::string::npos) << said << "\n" << r.output;
        EXPECT_LT(at, trained) << said << "\n" << r.output;
    }
}

TEST(ExperimentRun, TinySuiteEndToEndThenSkipsThenForce) {
    const std::string dir = test::temp_dir("experiment_run");
    write_file(dir + "/tiny-linked.toml", kLinkedFile);
    write_file(dir + "/tiny.toml", kTinySuite);
    const std::string out = dir + "/out";

    // First run: two experiments succeed, the broken one (points for 2 of 6 classes) fails, exit 1.
    const test::CommandResult r1 =
        test::run_pfce("run " + dir + "/tiny.toml --device cpu --out " + out);
    EXPECT_EQ(r1.status, 1) << r1.output;
    EXPECT_NE(r1.output.find("2 ran, 0 skipped, 1 failed"), std::string::npos) << r1.output;
    EXPECT_NE(r1.output.find("tiny-broken"), std::string::npos);
    // It is said before the first experiment trains, naming the suite entry that set the points.
    const std::size_t said = r1.output.find("experiment tiny-broken cannot run on this data");
    EXPECT_NE(said, std::string::npos) << r1.output;
    EXPECT_LT(said, r1.output.find("tiny-dense] training")) << r1.output;
    EXPECT_NE(r1.output.find("labels.points = [5,5]: expected 6 counts"), std::string::npos)
        << r1.output;

    for (const char* f :
         {"report.md", "report.html", "results.json", "results.csv", "train_loss.svg",
          "val_loss.svg", "val_loss_dense.svg", "val_miou.svg", "tiny-dense/result.json",
          "tiny-linked/result.json", "tiny-broken/result.json", "tiny-dense/grid.png",
          "tiny-linked/grid.png", "tiny-linked/train/best.ckpt"})
        EXPECT_TRUE(file_exists(out + "/" + f)) << f;

    // results.json: numbers parse and are in range; the failure carries its message.
    const auto j = nlohmann::json::parse(read_text_file(out + "/results.json"));
    ASSERT_EQ(j["experiments"].size(), 3u);
    for (int i = 0; i < 2; ++i) {
        const auto& e = j["experiments"][i];
        EXPECT_EQ(e["status"], "ok") << e.dump();
        for (const char* k : {"final_train_loss", "val_loss", "val_loss_dense", "val_miou",
                              "labelled_fraction", "wall_seconds"})
            EXPECT_TRUE(e[k].is_number()) << e["id"] << " " << k;
        for (const char* k : {"miou", "oa", "mean_f1", "miou_no_clutter"}) {
            ASSERT_TRUE(e["test"][k].is_number()) << e["id"] << " test " << k;
            const double v = e["test"][k].get<double>();
            EXPECT_TRUE(v >= 0 && v <= 1) << k << " " << v;
        }
        EXPECT_EQ(e["test"]["iou"].size(), 6u);
        EXPECT_EQ(e["epochs"].size(), 1u);
        EXPECT_GT(e["test"]["pixels"].get<std::int64_t>(), 0);
    }
    const auto& dense = j["experiments"][0];
    const auto& linked = j["experiments"][1];
    EXPECT_EQ(dense["id"], "tiny-dense");
    EXPECT_NEAR(dense["labelled_fraction"].get<double>(), 1.0,
                1e-9);  // synthetic masks label every pixel
    EXPECT_TRUE(dense["link_purity"].is_null());
    // Linking adds labels: more labelled pixels after than before, purity measured.
    EXPECT_GT(linked["labelled_fraction"].get<double>(),
              linked["labelled_fraction_sparse"].get<double>());
    ASSERT_TRUE(linked["link_purity"].is_number());
    EXPECT_GT(linked["link_purity"].get<double>(), 0.5);
    EXPECT_EQ(linked["labels"], "linked 500/class D=6");
    // The test mIoU's bootstrap interval over the test images, in the JSON and the report.
    for (const auto* e : {&dense, &linked}) {
        ASSERT_EQ((*e)["test_miou_ci95"].size(), 2u) << e->dump();
        EXPECT_LE((*e)["test_miou_ci95"][0].get<double>(), (*e)["test_miou_ci95"][1].get<double>());
    }
    EXPECT_NE(read_text_file(out + "/report.md").find("95% bootstrap interval over the test"),
              std::string::npos);
    EXPECT_EQ(j["experiments"][2]["status"], "failed");
    EXPECT_FALSE(j["experiments"][2]["error"].get<std::string>().empty());
    // A failed experiment measured nothing: null, never a 0 a script would average in.
    EXPECT_TRUE(j["experiments"][2]["test"]["miou"].is_null()) << j["experiments"][2].dump();
    EXPECT_TRUE(j["experiments"][2]["val_miou"].is_null());
    EXPECT_NE(read_text_file(out + "/report.md").find("**tiny-broken** failed: "),
              std::string::npos);

    // Pictures: 2 test rows of 64x64 panels, enlarged, under the columns' titles and over the
    // classes' legend.
    auto titled_height = [](int grid_width, int grid_height) {
        return title_strip_height() + grid_height +
               legend_strip(class_legend(potsdam_palette()), grid_width, Rgb{255, 255, 255}).height;
    };
    int gw = 0, gh = 0;
    grid_size({{64, 64}, {64, 64}}, gw, gh);
    gh = titled_height(gw, gh);
    for (const char* id : {"tiny-dense", "tiny-linked"}) {
        const RgbImage g = read_rgb(out + "/" + id + "/grid.png");
        EXPECT_EQ(g.width, gw) << id;
        EXPECT_EQ(g.height, gh) << id;
    }
    // Charts look like SVG with both successful experiments in the legend.
    for (const char* f : {"train_loss.svg", "val_miou.svg"}) {
        const std::string svg = read_text_file(out + "/" + f);
        EXPECT_EQ(svg.rfind("<svg", 0), 0u) << f;
        EXPECT_NE(svg.find("</svg>"), std::string::npos) << f;
        EXPECT_NE(svg.find(">tiny-dense</text>"), std::string::npos) << f;
        EXPECT_NE(svg.find(">tiny-linked</text>"), std::string::npos) << f;
    }
    const std::string md = read_text_file(out + "/report.md");
    EXPECT_NE(md.find("| tiny-linked | linked 500/class D=6 |"), std::string::npos) << md;
    EXPECT_NE(md.find("val \"IoU\" 0.7890, test 0.8344"), std::string::npos);
    const std::string html = read_text_file(out + "/report.html");
    EXPECT_NE(html.find("data:image/png;base64,"), std::string::npos);
    EXPECT_NE(html.find("data:image/svg+xml;base64,"), std::string::npos);
    const std::string csv = read_text_file(out + "/results.csv");
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4);

    // Second run: the finished experiments are skipped (result files untouched), the failed one is
    // tried again. An edited description and report figure (which change no result) reach the
    // report without a rerun.
    const auto mtime = fs::last_write_time(out + "/tiny-dense/result.json");
    std::string edited = kLinkedFile;
    edited.replace(edited.find("sparse points + linking"), 23, "points, then linked");
    edited.replace(edited.find("test 0.8344"), 11, "test 0.9999");
    write_file(dir + "/tiny-linked.toml", edited);
    const test::CommandResult r2 =
        test::run_pfce("run " + dir + "/tiny.toml --device cpu --out " + out);
    EXPECT_EQ(r2.status, 1) << r2.output;
    EXPECT_NE(r2.output.find("0 ran, 2 skipped, 1 failed"), std::string::npos) << r2.output;
    EXPECT_EQ(fs::last_write_time(out + "/tiny-dense/result.json"), mtime);
    EXPECT_TRUE(file_exists(out + "/report.md"));
    const auto j2 = nlohmann::json::parse(read_text_file(out + "/results.json"));
    EXPECT_EQ(j2["experiments"][1]["description"], "points, then linked");
    EXPECT_EQ(j2["experiments"][1]["current"], true);
    EXPECT_NE(read_text_file(out + "/report.md").find("test 0.9999"), std::string::npos);

    // A new grid_images changes no result: a finished experiment's grid is drawn again from its
    // checkpoint (here with nothing else to run), its results otherwise untouched; one --only
    // leaves out keeps its grid; 0 removes the grids and the report's pictures.
    const auto with_grid = [&](int n) {
        std::string suite = kTinySuite;
        suite.replace(suite.find("grid_images = 2"), 15, "grid_images = " + std::to_string(n));
        write_file(dir + "/tiny.toml", suite);
    };
    // As an older pfce wrote it, without the checksum that tells an edit (the cases below).
    const auto recorded_result = [&](const std::string& id) {
        auto rec = nlohmann::json::parse(read_text_file(out + "/" + id + "/result.json"));
        rec.erase("checksum");
        return rec;
    };
    const double dense_miou = recorded_result("tiny-dense")["test"]["miou"].get<double>();
    with_grid(1);
    const test::CommandResult one_row = test::run_pfce(
        "run " + dir + "/tiny.toml --device cpu --out " + out + " --only tiny-dense");
    EXPECT_EQ(one_row.status, 0) << one_row.output;
    EXPECT_MESSAGE_HAS(one_row.output,
                       "[grid tiny-dense] picture grid drawn again for grid_images = 1 (it was "
                       "drawn for 2)");
    EXPECT_MESSAGE_HAS(one_row.output, "0 ran, 1 skipped, 0 failed");
    int gw1 = 0, gh1 = 0;
    grid_size({{64, 64}}, gw1, gh1);
    gh1 = titled_height(gw1, gh1);
    EXPECT_EQ(read_rgb(out + "/tiny-dense/grid.png").height, gh1);
    EXPECT_EQ(read_rgb(out + "/tiny-linked/grid.png").height, gh);  // not selected: as it was
    EXPECT_EQ(recorded_result("tiny-dense")["grid_images"], 1);
    EXPECT_EQ(recorded_result("tiny-dense")["test"]["miou"].get<double>(), dense_miou);
    const test::CommandResult again = test::run_pfce(
        "run " + dir + "/tiny.toml --device cpu --out " + out + " --only tiny-dense");
    EXPECT_EQ(again.output.find("drawn again"), std::string::npos) << again.output;  // once
    with_grid(0);
    const test::CommandResult no_grid =
        test::run_pfce("run " + dir + "/tiny.toml --device cpu --out " + out);
    EXPECT_EQ(no_grid.status, 1) << no_grid.output;  // tiny-broken fails again
    EXPECT_MESSAGE_HAS(no_grid.output,
                       "[grid tiny-linked] picture grid removed for grid_images = 0");
    for (const char* id : {"tiny-dense", "tiny-linked"}) {
        EXPECT_FALSE(file_exists(out + "/" + id + "/grid.png")) << id;
        EXPECT_EQ(recorded_result(id)["grid_png"], "") << id;
    }
    EXPECT_EQ(read_text_file(out + "/report.md").find("## Pictures"), std::string::npos);
    with_grid(2);  // as the rest of this test expects
    const test::CommandResult two_rows =
        test::run_pfce("run " + dir + "/tiny.toml --device cpu --out " + out);
    EXPECT_MESSAGE_HAS(two_rows.output, "0 ran, 2 skipped, 1 failed");
    for (const char* id : {"tiny-dense", "tiny-linked"})
        EXPECT_EQ(read_rgb(out + "/" + id + "/grid.png").height, gh) << id;
    EXPECT_NE(read_text_file(out + "/report.md").find("## Pictures"), std::string::npos);
    // A result of an older pfce records no count: its grid is kept as it is (every one was drawn
    // again on the first run).
    auto older = recorded_result("tiny-dense");
    older.erase("grid_images");
    write_file(out + "/tiny-dense/result.json", older.dump(2));
    const auto grid_time = fs::last_write_time(out + "/tiny-dense/grid.png");
    const test::CommandResult no_count = test::run_pfce(
        "run " + dir + "/tiny.toml --device cpu --out " + out + " --only tiny-dense");
    EXPECT_EQ(no_count.output.find("drawn again"), std::string::npos) << no_count.output;
    EXPECT_EQ(fs::last_write_time(out + "/tiny-dense/grid.png"), grid_time);
    // A grid that cannot be drawn again (its checkpoints gone) leaves the earlier one, as said.
    older["grid_images"] = 2;
    write_file(out + "/tiny-dense/result.json", older.dump(2));
    fs::rename(out + "/tiny-dense/train", dir + "/train-away");
    with_grid(1);
    const test::CommandResult failed = test::run_pfce(
        "run " + dir + "/tiny.toml --device cpu --out " + out + " --only tiny-dense");
    EXPECT_EQ(failed.status, 0) << failed.output;
    EXPECT_MESSAGE_HAS(failed.output, "picture grid not drawn again (the earlier one is shown)");
    EXPECT_EQ(read_rgb(out + "/tiny-dense/grid.png").height, gh);
    EXPECT_NE(read_text_file(out + "/report.md").find("tiny-dense/grid.png"), std::string::npos);
    fs::rename(dir + "/train-away", out + "/tiny-dense/train");
    with_grid(2);

    // --force with --only reruns just that experiment.
    const test::CommandResult r3 = test::run_pfce("run " + dir + "/tiny.toml --device cpu --out " +
                                                  out + " --force --only tiny-dense");
    EXPECT_EQ(r3.status, 0) << r3.output;
    EXPECT_NE(r3.output.find("1 ran, 0 skipped, 0 failed"), std::string::npos) << r3.output;
    EXPECT_NE(fs::last_write_time(out + "/tiny-dense/result.json"), mtime);
    // The report still lists all three (the others from their earlier results).
    const auto j3 = nlohmann::json::parse(read_text_file(out + "/results.json"));
    EXPECT_EQ(j3["experiments"].size(), 3u);
    EXPECT_EQ(j3["complete"], true);
    EXPECT_EQ(read_text_file(out + "/report.md").find("Incomplete"), std::string::npos);

    // Results of a pfce without keys added since (data.split_by, data.tile_labels) are those of
    // their defaults: kept.
    auto recorded = recorded_result("tiny-dense");
    ASSERT_EQ(recorded["config"]["data.split_by"], "sample");
    ASSERT_EQ(recorded["config"]["data.tile_labels"], "auto");
    recorded["config"].erase("data.split_by");
    recorded["config"].erase("data.tile_labels");
    write_file(out + "/tiny-dense/result.json", recorded.dump(2));
    const test::CommandResult upgraded = test::run_pfce(
        "run " + dir + "/tiny.toml --device cpu --out " + out + " --only tiny-dense");
    EXPECT_EQ(upgraded.status, 0) << upgraded.output;
    EXPECT_MESSAGE_HAS(upgraded.output, "0 ran, 1 skipped, 0 failed");
    // The run directory moved, its synthetic data with it: still its results (every one was
    // "made with other settings (data.root)").
    fs::rename(out, out + "-moved");
    const test::CommandResult moved = test::run_pfce(
        "run " + dir + "/tiny.toml --device cpu --out " + out + "-moved --only tiny-dense");
    EXPECT_EQ(moved.status, 0) << moved.output;
    EXPECT_MESSAGE_HAS(moved.output, "0 ran, 1 skipped, 0 failed");
    fs::rename(out + "-moved", out);
    // Any other key missing is a difference, even where the suite holds its default; a result
    // that records no settings is not taken for current; one whose settings are not an object is
    // unreadable, and is run again.
    const nlohmann::json kept = recorded_result("tiny-dense");
    auto run_dense = [&](const std::function<void(nlohmann::json&)>& edit) {
        auto rec = kept;
        edit(rec["config"]);
        write_file(out + "/tiny-dense/result.json", rec.dump(2));
        return test::run_pfce("run " + dir + "/tiny.toml --device cpu --out " + out +
                              " --only tiny-dense");
    };
    const test::CommandResult no_seed = run_dense([](nlohmann::json& c) { c.erase("run.seed"); });
    EXPECT_EQ(no_seed.status, 1) << no_seed.output;
    EXPECT_MESSAGE_HAS(no_seed.output, "other settings (run.seed)");
    const test::CommandResult unrecorded = run_dense([](nlohmann::json& c) { c = nullptr; });
    EXPECT_EQ(unrecorded.status, 1) << unrecorded.output;
    EXPECT_MESSAGE_HAS(unrecorded.output, "made with settings it does not record");
    const test::CommandResult unreadable = run_dense([](nlohmann::json& c) { c = "x"; });
    EXPECT_EQ(unreadable.status, 0) << unreadable.output;
    EXPECT_MESSAGE_HAS(unreadable.output, "field \"config\" should be an object, got \"x\"");
    EXPECT_MESSAGE_HAS(unreadable.output, "1 ran, 0 skipped, 0 failed");
    // A result edited since pfce wrote it (hostile-user probe: an mIoU of -5, or 0.99 beside its
    // own per-class IoUs, shown in the report as recorded) is told by its checksum and run again.
    auto lie = nlohmann::json::parse(read_text_file(out + "/tiny-dense/result.json"));
    ASSERT_TRUE(lie.contains("checksum"));
    lie["test"]["miou"] = -5;
    write_file(out + "/tiny-dense/result.json", lie.dump(2));
    const test::CommandResult rerun = test::run_pfce(
        "run " + dir + "/tiny.toml --device cpu --out " + out + " --only tiny-dense");
    EXPECT_EQ(rerun.status, 0) << rerun.output;
    EXPECT_MESSAGE_HAS(rerun.output, out + "/tiny-dense/result.json: edited since pfce wrote it");
    EXPECT_MESSAGE_HAS(rerun.output, "1 ran, 0 skipped, 0 failed");
    EXPECT_EQ(read_text_file(out + "/report.md").find("-5.0000"), std::string::npos);

    // Changing an experiment's settings without --force does not overwrite its finished results.
    std::string changed = kTinySuite;
    changed.replace(changed.find("epochs = 1"), 10, "epochs = 2");
    write_file(dir + "/tiny.toml", changed);
    const test::CommandResult r4 = test::run_pfce("run " + dir + "/tiny.toml --device cpu --out " +
                                                  out + " --only tiny-dense");
    EXPECT_EQ(r4.status, 1) << r4.output;
    EXPECT_NE(r4.output.find("other settings (run.epochs)"), std::string::npos) << r4.output;
    EXPECT_MESSAGE_HAS(r4.output,
                       "0 ran, 0 skipped, 1 not rerun (results of other settings or "
                       "data, shown as stale; --force --only tiny-dense reruns them, --force "
                       "alone every experiment), 0 failed");
    EXPECT_MESSAGE_HAS(r4.output,
                       "rerun with --force --only tiny-dense to replace them (--force "
                       "alone reruns every experiment)");
    EXPECT_EQ(nlohmann::json::parse(read_text_file(out + "/tiny-dense/result.json"))["status"],
              "ok");
    // The report keeps showing its results, and says they are not of the current settings.
    const auto j4 = nlohmann::json::parse(read_text_file(out + "/results.json"));
    EXPECT_EQ(j4["complete"], false);
    // tiny-dense (refused), and the two --only left out, shown from results of other settings.
    ASSERT_EQ(j4["not_run"].size(), 3u);
    EXPECT_EQ(j4["not_run"][0]["id"], "tiny-dense");
    EXPECT_NE(j4["not_run"][1]["reason"].get<std::string>().find("not selected by --only"),
              std::string::npos);
    EXPECT_EQ(j4["experiments"][0]["status"], "ok");
    EXPECT_NE(read_text_file(out + "/report.md").find("**Incomplete:**"), std::string::npos);
    // Each row shown from results of other settings says so: results.csv's current column, the
    // report's tables.
    EXPECT_EQ(j4["experiments"][0]["current"], false);
    const std::string csv4 = read_text_file(out + "/results.csv");
    EXPECT_NE(csv4.find("\ntiny-dense,ok,false,"), std::string::npos) << csv4;
    EXPECT_NE(csv4.find("\ntiny-linked,ok,false,"), std::string::npos) << csv4;
    EXPECT_NE(read_text_file(out + "/report.md").find("| tiny-dense (stale) | dense |"),
              std::string::npos);

    // A report a person edited is not rewritten without --force (a rerun with nothing to run
    // replaced it silently); moved away, the rerun goes on.
    write_file(out + "/report.md", read_text_file(out + "/report.md") + "\nMY NOTES\n");
    const test::CommandResult r5 = test::run_pfce("run " + dir + "/tiny.toml --device cpu --out " +
                                                  out + " --only tiny-dense");
    EXPECT_EQ(r5.status, 2) << r5.output;
    EXPECT_MESSAGE_HAS(r5.output, out +
                                      "/report.md was changed since pfce wrote it, and a run "
                                      "rewrites the report: move it elsewhere");
    EXPECT_NE(read_text_file(out + "/report.md").find("MY NOTES"), std::string::npos);
    fs::rename(out + "/report.md", out + "/my-report.md");
    const test::CommandResult r6 = test::run_pfce("run " + dir + "/tiny.toml --device cpu --out " +
                                                  out + " --only tiny-dense");
    EXPECT_EQ(r6.status, 1) << r6.output;  // still refused to rerun with other settings, as r4
    EXPECT_TRUE(file_exists(out + "/report.md"));

    // Without results.json, which records what pfce wrote, an edit cannot be told from pfce's
    // text: refused all the same (a probe's edited report was replaced without a word); --force
    // replaces it, and says so.
    write_file(out + "/report.md", read_text_file(out + "/report.md") + "\nMY NOTES\n");
    fs::remove(out + "/results.json");
    const test::CommandResult r7 = test::run_pfce("run " + dir + "/tiny.toml --device cpu --out " +
                                                  out + " --only tiny-dense");
    EXPECT_EQ(r7.status, 2) << r7.output;
    EXPECT_MESSAGE_HAS(r7.output,
                       "/report.html: the results.json beside them, which records the "
                       "report pfce wrote, is missing or unreadable");
    EXPECT_NE(read_text_file(out + "/report.md").find("MY NOTES"), std::string::npos);
    write_file(out + "/results.json", "{not json");
    EXPECT_EQ(
        test::run_pfce("run " + dir + "/tiny.toml --device cpu --out " + out + " --only tiny-dense")
            .status,
        2);
    EXPECT_NE(read_text_file(out + "/report.md").find("MY NOTES"), std::string::npos);
    const test::CommandResult r8 = test::run_pfce("run " + dir + "/tiny.toml --device cpu --out " +
                                                  out + " --only tiny-dense --force");
    EXPECT_EQ(r8.status, 0) << r8.output;
    EXPECT_MESSAGE_HAS(r8.output, "/report.md: replaced (--force)");
    EXPECT_EQ(read_text_file(out + "/report.md").find("MY NOTES"), std::string::npos);
}

// What a suite wrote stays what its report says (hostile-user probe): train may not write into an
// experiment's directory; a mask of its cache replaced or removed is sampled again, not trained
// on or failed on at every rerun; its synthetic data replaced under finished experiments is said,
// and eval of their checkpoints says the data changed.
TEST(ExperimentRun, ASuitesFilesStayWhatItsReportSays) {
    const std::string dir = test::temp_dir("experiment_own_files");
    write_file(dir + "/tiny-linked.toml", kLinkedFile);
    write_file(dir + "/tiny.toml", kTinySuite);
    const std::string out = dir + "/out";
    const std::string run =
        "run " + dir + "/tiny.toml --device cpu --out " + out + " --only tiny-linked";
    ASSERT_EQ(test::run_pfce(run).status, 0);

    const test::CommandResult train =
        test::run_pfce("train --out " + out + "/tiny-linked/train --force --data " + out +
                       "/data --epochs 1 --device cpu");
    EXPECT_EQ(train.status, 2) << train.output;
    EXPECT_MESSAGE_HAS(train.output, "is the training directory of experiment \"tiny-linked\"");
    EXPECT_MESSAGE_HAS(train.output, "--only tiny-linked --force");
    // A user's own run named train beside a result.json of its own (eval --json) is no suite's.
    const std::string mine = dir + "/proj/train";
    const std::string tiny = " --data " + out +
                             "/data/synthetic-16x64-s3 --width 4 --depth 2 "
                             "--batch-size 4 --device cpu";
    ASSERT_EQ(test::run_pfce("train --out " + mine + tiny + " --epochs 1").status, 0);
    write_file(dir + "/proj/result.json", "{\"miou\": 0.5}");
    const test::CommandResult resumed =
        test::run_pfce("train --out " + mine + tiny + " --epochs 2 --resume");
    EXPECT_EQ(resumed.status, 0) << resumed.output;

    std::string cache;
    for (const auto& e : fs::directory_iterator(out + "/cache"))
        if (e.path().filename().string().rfind("sparse-", 0) == 0) cache = e.path().string();
    ASSERT_FALSE(cache.empty());
    std::string mask;
    for (const auto& e : fs::directory_iterator(cache))
        if (e.path().extension() == ".png") mask = e.path().string();
    fs::remove(mask);
    const test::CommandResult redo = test::run_pfce(run + " --force");
    EXPECT_EQ(redo.status, 0) << redo.output;
    EXPECT_TRUE(fs::exists(mask));

    const std::string data = out + "/data/synthetic-16x64-s3";
    ASSERT_EQ(test::run_pfce("data synth --out " + data + " --count 16 --size 64 --seed 4 --force")
                  .status,
              0);
    const test::CommandResult skipped = test::run_pfce(run);
    EXPECT_EQ(skipped.status, 0) << skipped.output;
    EXPECT_MESSAGE_HAS(skipped.output, "holds another synthetic dataset");
    EXPECT_MESSAGE_HAS(skipped.output, "finished experiments are kept");
    const test::CommandResult ev =
        test::run_pfce("eval --checkpoint " + out + "/tiny-linked/train/last.ckpt --device cpu");
    EXPECT_EQ(ev.status, 0) << ev.output;
    EXPECT_MESSAGE_HAS(ev.output, "is not as it was when");
}

// OUT belongs to one suite: a directory of a user's files is refused (--force or not) and left as
// it was, and so is another suite's run; the same suite may come back to it.
TEST(ExperimentRun, OutHoldingOtherFilesOrAnotherSuiteIsRefused) {
    const std::string dir = test::temp_dir("experiment_out_guard");
    write_file(dir + "/tiny-linked.toml", kLinkedFile);
    write_file(dir + "/tiny.toml", kTinySuite);
    std::string other = kTinySuite;
    other.replace(other.find("name = \"tiny\""), 13, "name = \"other\"");
    write_file(dir + "/other.toml", other);

    const std::string mine = dir + "/mine";
    fs::create_directories(mine);
    write_file(mine + "/report.md", "my notes\n");
    for (const char* force : {"", " --force"}) {
        const test::CommandResult r =
            test::run_pfce("run " + dir + "/tiny.toml --device cpu --out " + mine + force);
        EXPECT_NE(r.status, 0) << r.output;
        EXPECT_MESSAGE_HAS(r.output, "already holds other files than pfce's run of suite");
        EXPECT_MESSAGE_HAS(r.output, "report.md");
        EXPECT_EQ(read_text_file(mine + "/report.md"), "my notes\n");
    }

    // A mistyped --only claims nothing ...
    const std::string out = dir + "/out";
    const test::CommandResult typo =
        test::run_pfce("run " + dir + "/tiny.toml --device cpu --out " + out + " --only nothing");
    EXPECT_NE(typo.status, 0) << typo.output;
    EXPECT_FALSE(fs::exists(out + "/.pfce-output"));
    // ... a run of suite "tiny" claims its OUT, which suite "other" may not use, while "tiny" may.
    const std::string only = " --device cpu --out " + out + " --only tiny-dense";
    const test::CommandResult claim = test::run_pfce("run " + dir + "/tiny.toml" + only);
    EXPECT_EQ(claim.status, 0) << claim.output;
    // The report says which experiments it lacks: the two --only left out.
    const auto j = nlohmann::json::parse(read_text_file(out + "/results.json"));
    EXPECT_EQ(j["complete"], false);
    EXPECT_EQ(j["not_run"].size(), 2u);
    const test::CommandResult r2 = test::run_pfce("run " + dir + "/other.toml" + only);
    EXPECT_NE(r2.status, 0);
    EXPECT_MESSAGE_HAS(r2.output, "holds pfce's run of suite \"tiny\"");
    const test::CommandResult r3 = test::run_pfce("run " + dir + "/tiny.toml" + only);
    EXPECT_EQ(r3.status, 0) << r3.output;
    EXPECT_MESSAGE_HAS(r3.output, "skipped");
}

// A dataset suite's results belong to the data they were made on: after the dataset at --data is
// replaced (same ids, other files), a finished experiment is not taken for a result on it (not
// rerun, exit 1, the report incomplete) until --force reruns it; an interrupted one is kept so
// too (not resumed on other data, nor started over), as one given more epochs is. Unchanged data
// is skipped as before.
TEST(ExperimentRun, ResultsOfChangedDataOrALongerScheduleAreNotTakenForCurrent) {
    const std::string dir = test::temp_dir("experiment_changed_data");
    write_file(dir + "/a.toml", "[experiment]\nid = \"a\"\n[labels]\nkind = \"dense\"\n");
    write_file(dir + "/s.toml", R"([suite]
name = "s"
experiments = ["a.toml"]
grid_images = 0
[data]
source = "dataset"
train_frac = 0.6
val_frac = 0.2
[model]
width = 4
depth = 2
[run]
epochs = 1
batch_size = 4
)");
    const std::string data = dir + "/ds", out = dir + "/out";
    test::write_synthetic(data, 10, 64, 1);
    const std::string run = "run " + dir + "/s.toml --device cpu --data " + data + " --out " + out;
    ASSERT_EQ(test::run_pfce(run).status, 0);
    const test::CommandResult same = test::run_pfce(run);
    EXPECT_EQ(same.status, 0) << same.output;
    EXPECT_MESSAGE_HAS(same.output, "1 skipped");

    fs::remove_all(data);
    test::write_synthetic(data, 10, 64, 2);  // the same ids, other images and labels
    const test::CommandResult changed = test::run_pfce(run);
    EXPECT_EQ(changed.status, 1) << changed.output;
    EXPECT_MESSAGE_HAS(changed.output, "made with other data");
    EXPECT_NE(read_text_file(out + "/report.md").find("**Incomplete:**"), std::string::npos);
    const test::CommandResult forced = test::run_pfce(run + " --force");
    EXPECT_EQ(forced.status, 0) << forced.output;
    EXPECT_MESSAGE_HAS(forced.output, "1 ran");
    EXPECT_MESSAGE_HAS(test::run_pfce(run).output, "1 skipped");
    // One test image's mask edited (or touched) since: named, as a test image's, with the way to
    // score against it without training again (a walkthrough's mended test mask named no file).
    const auto result = nlohmann::json::parse(read_text_file(out + "/a/result.json"));
    const std::string tested = result["test_units"][0]["id"].get<std::string>();
    const Dataset ds = Dataset::open(data);
    std::string mask;
    for (std::size_t i = 0; i < ds.size(); ++i)
        if (ds.sample(i).id == tested) mask = ds.sample(i).mask_path;
    ASSERT_FALSE(mask.empty()) << tested;
    fs::last_write_time(mask,
                        fs::last_write_time(out + "/a/result.json") + std::chrono::minutes(1));
    const test::CommandResult edited = test::run_pfce(run);
    EXPECT_EQ(edited.status, 1) << edited.output;
    EXPECT_MESSAGE_HAS(edited.output, "; newer than these results: ");
    EXPECT_MESSAGE_HAS(edited.output, fs::path(mask).filename().string() +
                                          " (a test image's). Only test masks: the trainings "
                                          "would be the same");
    EXPECT_MESSAGE_HAS(edited.output,
                       "pfce eval --checkpoint " + out + "/a/train/last.ckpt --split test");
    // A copy of the data elsewhere (cp -r: new times) is said as other data, with where it was,
    // not as "other settings (data.root)" (walkthrough).
    fs::copy(data, data + "-copy", fs::copy_options::recursive);
    const test::CommandResult copied =
        test::run_pfce("run " + dir + "/s.toml --device cpu --data " + data + "-copy --out " + out);
    EXPECT_EQ(copied.status, 1) << copied.output;
    EXPECT_MESSAGE_HAS(copied.output, "made with other data (" +
                                          fs::weakly_canonical(data).string() + " then, " +
                                          fs::weakly_canonical(data + "-copy").string() +
                                          " now; its image and label files changed");
    // --data over a suite's own [data] root is said (a walkthrough's went without a word).
    {
        std::string rooted = read_text_file(dir + "/s.toml");
        rooted.replace(rooted.find("[data]\n"), 7, "[data]\nroot = \"" + data + "\"\n");
        write_file(dir + "/rooted.toml", rooted);
        const test::CommandResult instead =
            test::run_pfce("run " + dir + "/rooted.toml --device cpu --data " + data +
                           "-copy --out " + dir + "/rooted-out");
        EXPECT_EQ(instead.status, 0) << instead.output;
        EXPECT_MESSAGE_HAS(instead.output, "data: --data " + data +
                                               "-copy is read instead of the suite's [data] root " +
                                               data + " (" + dir + "/rooted.toml)");
        const test::CommandResult same_root =
            test::run_pfce("run " + dir + "/rooted.toml --device cpu --data " + data + "/ --out " +
                           dir + "/rooted-out2");
        EXPECT_EQ(same_root.output.find("is read instead"), std::string::npos) << same_root.output;
    }
    // The data moved away: the report is remade from the results, which are said to go unchecked.
    fs::rename(data, data + ".away");
    const test::CommandResult away = test::run_pfce(run);
    EXPECT_EQ(away.status, 0) << away.output;
    EXPECT_MESSAGE_HAS(away.output, "cannot be read");
    EXPECT_MESSAGE_HAS(away.output, "kept on their settings alone, unchecked against the data");
    fs::rename(data + ".away", data);

    // Interrupted (its result gone, its checkpoint kept), then the data changes: kept, not
    // started over without --force (it was, its epochs lost, with an info line), until --force.
    fs::remove(out + "/a/result.json");
    fs::remove_all(data);
    test::write_synthetic(data, 10, 64, 3);
    const std::string trained = read_text_file(out + "/a/train/last.ckpt");
    const test::CommandResult kept = test::run_pfce(run);
    EXPECT_EQ(kept.status, 1) << kept.output;
    EXPECT_MESSAGE_HAS(kept.output, "holds an interrupted training made on other data (the data:");
    EXPECT_MESSAGE_HAS(kept.output, "rerun with --force --only a to start it over");
    EXPECT_EQ(read_text_file(out + "/a/train/last.ckpt"), trained);
    EXPECT_FALSE(fs::exists(out + "/a/result.json"));
    const test::CommandResult restarted = test::run_pfce(run + " --force --only a");
    EXPECT_EQ(restarted.status, 0) << restarted.output;
    EXPECT_MESSAGE_HAS(restarted.output, "1 ran");

    // Interrupted, then given more epochs: not resumed (`train --resume --epochs` may lengthen a
    // run, but a cosine or plateau schedule then differs from a run of that length), and not
    // started over without --force either: kept, as finished results of other settings are (it
    // was started over, its epochs lost, with an info line).
    fs::remove(out + "/a/result.json");
    const std::string ckpt = read_text_file(out + "/a/train/last.ckpt");
    std::string longer = read_text_file(dir + "/s.toml");
    longer.replace(longer.find("epochs = 1"), 10, "epochs = 2");
    write_file(dir + "/s.toml", longer);
    const test::CommandResult lengthened = test::run_pfce(run);
    EXPECT_EQ(lengthened.status, 1) << lengthened.output;
    EXPECT_MESSAGE_HAS(lengthened.output, "run.epochs: 1 -> 2");
    EXPECT_MESSAGE_HAS(lengthened.output, "rerun with --force --only a to start it over");
    EXPECT_EQ(read_text_file(out + "/a/train/last.ckpt"), ckpt);
    const test::CommandResult started_over = test::run_pfce(run + " --force --only a");
    EXPECT_EQ(started_over.status, 0) << started_over.output;
    EXPECT_TRUE(fs::exists(out + "/a/result.json"));
}

// An experiment trained from another's checkpoint (model.init_from) is of those weights: when the
// other reruns, it is no longer current (a probe's was skipped as current), and its result records
// the checkpoint it started from; one starting from its own output fails alone.
TEST(ExperimentRun, AnExperimentTrainedFromAnothersCheckpointIsStaleOnceThatReruns) {
    const std::string dir = test::temp_dir("experiment_init_from_chain");
    const std::string data = dir + "/ds", out = dir + "/out";
    write_file(dir + "/s.toml", R"([suite]
name = "s"
experiments = [
  { id = "a", labels = { kind = "dense" } },
  { id = "b", labels = { kind = "dense" }, model = { init_from = ")" +
                                    out +
                                    R"(/a/train/last.ckpt" }, optimizer = { lr = 1e-4 } },
]
grid_images = 0
[data]
source = "dataset"
train_frac = 0.6
val_frac = 0.2
[model]
width = 4
depth = 2
[run]
epochs = 1
batch_size = 4
)");
    test::write_synthetic(data, 10, 64, 1);
    const std::string run = "run " + dir + "/s.toml --device cpu --data " + data + " --out " + out;
    const test::CommandResult first = test::run_pfce(run);
    ASSERT_EQ(first.status, 0) << first.output;
    EXPECT_MESSAGE_HAS(first.output, "2 ran");
    EXPECT_MESSAGE_HAS(test::run_pfce(run).output, "2 skipped");

    // a trained again (a's weights are the same bit for bit when nothing changed: b stays
    // current): b's result is of weights that are gone, said in this run and the next.
    EXPECT_EQ(test::run_pfce(run + " --force --only a").status, 0);
    EXPECT_MESSAGE_HAS(test::run_pfce(run).output, "2 skipped");
    std::string other_a = read_text_file(dir + "/s.toml");
    other_a.replace(other_a.find("{ id = \"a\", labels = { kind = \"dense\" } }"), 41,
                    "{ id = \"a\", labels = { kind = \"dense\" }, optimizer = { lr = 2e-3 } }");
    write_file(dir + "/s.toml", other_a);
    // b is not selected: marked in the report as such experiments are, not counted.
    const test::CommandResult again = test::run_pfce(run + " --force --only a");
    EXPECT_EQ(again.status, 0) << again.output;
    EXPECT_MESSAGE_HAS(read_text_file(out + "/report.md"),
                       "not selected by --only: shown from an earlier run trained from " + out +
                           "/a/train/last.ckpt (model.init_from) as it was before this run wrote "
                           "it again");
    EXPECT_MESSAGE_HAS(again.output,
                       "b: not selected by --only: shown from an earlier run "
                       "trained from");  // said, not only in the report
    const test::CommandResult next = test::run_pfce(run);
    EXPECT_EQ(next.status, 1) << next.output;
    EXPECT_MESSAGE_HAS(next.output,
                       "made with other starting weights (the checkpoint "
                       "model.init_from names has been written again since)");
    const test::CommandResult mended = test::run_pfce(run + " --force --only b");
    EXPECT_EQ(mended.status, 0) << mended.output;
    const test::CommandResult current = test::run_pfce(run);
    EXPECT_EQ(current.status, 0) << current.output;
    EXPECT_MESSAGE_HAS(current.output, "2 skipped");
    // a trained otherwise, then as it was: its weights are b's starting ones again, and b is
    // current in that run's report (it was marked from the state before the run).
    std::string lr3 = read_text_file(dir + "/s.toml");
    lr3.replace(lr3.find("lr = 2e-3"), 9, "lr = 3e-3");
    write_file(dir + "/s.toml", lr3);
    ASSERT_EQ(test::run_pfce(run + " --force --only a").status, 0);
    lr3.replace(lr3.find("lr = 3e-3"), 9, "lr = 2e-3");
    write_file(dir + "/s.toml", lr3);
    const test::CommandResult restored = test::run_pfce(run + " --force --only a");
    EXPECT_EQ(restored.status, 0) << restored.output;
    EXPECT_EQ(read_text_file(out + "/report.md").find("not selected by --only"), std::string::npos);
    EXPECT_MESSAGE_HAS(test::run_pfce(run).output, "2 skipped");

    // Listed before the experiment that writes its weights while that one is to run: it would
    // train from the old ones (or none), so it fails up front, the other runs.
    std::string b_first = read_text_file(dir + "/s.toml");
    const std::size_t a_at = b_first.find("  { id = \"a\"");
    const std::size_t a_end = b_first.find('\n', a_at) + 1;
    const std::string a_line = b_first.substr(a_at, a_end - a_at);
    b_first.erase(a_at, a_end - a_at);
    b_first.insert(b_first.find("]\ngrid_images"), a_line);
    b_first.replace(b_first.find("lr = 2e-3"), 9, "lr = 3e-3");
    write_file(dir + "/s.toml", b_first);
    const test::CommandResult before = test::run_pfce(run + " --force");
    EXPECT_EQ(before.status, 1) << before.output;
    EXPECT_MESSAGE_HAS(before.output, "experiment b cannot run, and fails: model.init_from " + out +
                                          "/a/train/last.ckpt is experiment a's, which the suite "
                                          "lists (and trains) after b: list b after a");
    EXPECT_MESSAGE_HAS(before.output, "1 ran, 0 skipped, 1 failed");
    // With seeds, each seed's run of a has its own checkpoint, which one init_from cannot follow.
    const test::CommandResult seeds = test::run_pfce(run + " --force --seeds 0,1");
    EXPECT_EQ(seeds.status, 1) << seeds.output;
    EXPECT_MESSAGE_HAS(seeds.output, "experiment b-s0 cannot run, and fails: model.init_from " +
                                         out + "/a/train/last.ckpt lies in " + out +
                                         ", and the suite runs every experiment once per seed");
    EXPECT_MESSAGE_HAS(seeds.output, "2 ran, 0 skipped, 2 failed");

    // An experiment starting from its own checkpoint would start from other weights each time.
    std::string self = read_text_file(dir + "/s.toml");
    self.replace(self.find("/a/train/last.ckpt"), 18, "/b/train/last.ckpt");
    write_file(dir + "/s.toml", self);
    const test::CommandResult own = test::run_pfce(run + " --force --only b");
    EXPECT_EQ(own.status, 1) << own.output;
    EXPECT_MESSAGE_HAS(own.output,
                       "lies in --out " + out + "/b/train, whose checkpoints this run replaces");
}

// An experiment of "sparse" points that keep most of what the dense masks label is said to be close
// to a dense one, as pfce train says it (a probe's 100% "sparse" went without a word).
TEST(ExperimentRun, SparsePointsThatKeepMostPixelsAreSaid) {
    const std::string dir = test::temp_dir("experiment_sparse_is_dense");
    write_file(dir + "/s.toml", R"([suite]
name = "s"
experiments = [{ id = "all", labels = { kind = "sparse", points = 1000000 } }]
grid_images = 0
[data]
source = "synthetic"
synthetic_count = 8
synthetic_size = 64
[model]
width = 4
depth = 1
[run]
epochs = 1
batch_size = 4
)");
    const test::CommandResult r =
        test::run_pfce("run " + dir + "/s.toml --device cpu --out " + dir + "/out");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_MESSAGE_HAS(r.output,
                       "labels.points = [1000000] keeps 100% of the pixels the dense "
                       "masks label: these are no sparse labels, the experiment is "
                       "close to a dense one");
}

// The checkpoint a result is of, as a stale result's hint names it: best.ckpt where an earlier
// epoch was selected (a walkthrough's evaluate = "best" suite was told to score last.ckpt, another
// model).
TEST(ExperimentRun, TheTestedCheckpointIsTheSelectedEpochs) {
    ExperimentResult r;
    EXPECT_EQ(tested_checkpoint("out", "a", r), "out/a/train/last.ckpt");  // no epochs recorded
    r.epochs.resize(3);
    for (int e = 0; e < 3; ++e) r.epochs[e].epoch = e + 1;
    r.selected_epoch = 2;
    EXPECT_EQ(tested_checkpoint("out", "a", r), "out/a/train/best.ckpt");
    r.selected_epoch = 3;
    EXPECT_EQ(tested_checkpoint("out", "a", r), "out/a/train/last.ckpt");
}

// A dataset suite's [data] root that is not there names the suite file, and for a relative path the
// directory it was read from (the working directory, not the suite's: it named neither).
TEST(ExperimentRun, AMissingDataRootNamesTheSuiteAndWhereARelativePathIsRead) {
    const std::string dir = test::temp_dir("experiment_missing_root");
    write_file(dir + "/s.toml",
               "[suite]\nname = \"s\"\nexperiments = [{ id = \"a\", labels = "
               "{ kind = \"dense\" } }]\n[data]\nsource = \"dataset\"\nroot = "
               "\"no_such_data\"\n");
    const test::CommandResult r =
        test::run_pfce("run " + dir + "/s.toml --device cpu --out " + dir + "/out");
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_MESSAGE_HAS(r.output, dir + "/s.toml: [data] root no_such_data does not exist");
    EXPECT_MESSAGE_HAS(r.output, "a relative path is read from the working directory, ");
    EXPECT_FALSE(fs::exists(dir + "/out"));
}

// The shipped e6/e7/e8 files run (one epoch, a tiny U-Net): the CRF experiments log the CRF term
// per epoch beside the focal loss, the report plots it for them alone and compares each with its
// control. One experiment also takes loss.alpha = "auto".
TEST(ExperimentRun, CrfExperimentsRunAndReportBothLossTerms) {
    const std::string dir = test::temp_dir("experiment_crf");
    const std::string ex = test::source_dir() + "/experiments/";
    write_file(dir + "/crf.toml", R"(
[suite]
name = "tiny-crf"
experiments = [")" + ex + R"(e4-500-linked.toml", ")" +
                                      ex + R"(e6-500-tuned.toml", ")" + ex +
                                      R"(e7-500-crf.toml", ")" + ex + R"(e8-500-linked-crf.toml",
  { id = "tiny-auto", labels = { kind = "sparse", points = 500 }, loss = { alpha = "auto" } },
]
grid_images = 1

[data]
source = "synthetic"
synthetic_count = 12
synthetic_size = 48
synthetic_seed = 5
train_frac = 0.5
val_frac = 0.25

[model]
width = 4
depth = 2

[override.run]
epochs = 1
batch_size = 3
)");
    const std::string out = dir + "/out";
    const test::CommandResult r =
        test::run_pfce("run " + dir + "/crf.toml --device cpu --out " + out);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("5 ran, 0 skipped, 0 failed"), std::string::npos) << r.output;
    const auto j = nlohmann::json::parse(read_text_file(out + "/results.json"));
    ASSERT_EQ(j["experiments"].size(), 5u);
    for (const auto& e : j["experiments"]) {
        ASSERT_EQ(e["status"], "ok") << e.dump();
        const bool crf = e["id"] == "e7-500-crf" || e["id"] == "e8-500-linked-crf";
        const auto& crf_loss = e["epochs"][0]["train_crf_loss"];
        if (crf) {
            ASSERT_TRUE(crf_loss.is_number()) << e["id"];
            EXPECT_GT(crf_loss.get<double>(), 0.0) << e["id"];
        } else {
            EXPECT_TRUE(crf_loss.is_null()) << e["id"];
        }
    }
    EXPECT_NE(r.output.find("loss.alpha = auto (inverse square-root label frequency)"),
              std::string::npos)
        << r.output;
    const std::string metrics = read_text_file(out + "/e7-500-crf/train/metrics.jsonl");
    EXPECT_NE(metrics.find("\"train_crf_loss\""), std::string::npos) << metrics;
    const std::string svg = read_text_file(out + "/train_crf_loss.svg");
    EXPECT_NE(svg.find(">e7-500-crf</text>"), std::string::npos);
    EXPECT_NE(svg.find(">e8-500-linked-crf</text>"), std::string::npos);
    EXPECT_EQ(svg.find(">e6-500-tuned</text>"), std::string::npos);  // no CRF term, no curve
    const std::string md = read_text_file(out + "/report.md");
    EXPECT_NE(md.find("The CRF term: e7-500-crf − e6-500-tuned"), std::string::npos) << md;
    EXPECT_NE(md.find("The CRF term: e8-500-linked-crf − e4-500-linked"), std::string::npos) << md;
    EXPECT_NE(md.find("train_crf_loss.svg"), std::string::npos) << md;
    // Run again, everything skipped: the report keeps its description of the data and the split.
    const test::CommandResult again =
        test::run_pfce("run " + dir + "/crf.toml --device cpu --out " + out);
    ASSERT_EQ(again.status, 0) << again.output;
    EXPECT_MESSAGE_HAS(again.output, "0 ran, 5 skipped, 0 failed");
    const auto j2 = nlohmann::json::parse(read_text_file(out + "/results.json"));
    EXPECT_EQ(j2["data"], j["data"]);
    EXPECT_MESSAGE_HAS(j2["data"].get<std::string>(), "split 6/3/3 (train/val/test, seed 0)");
    // Where the data lies, absolute: the report outlives the directory the run was started in.
    EXPECT_MESSAGE_HAS(
        j2["data"].get<std::string>(),
        " at " + fs::absolute(out).lexically_normal().string() + "/data/synthetic-12x48-s5; split");
}

::testing::AssertionResult fails_naming(const std::string& text, const std::string& path,
                                        const std::vector<std::string>& needles) {
    try {
        parse_suite(text, path);
    } catch (const InputError& e) {
        const std::string msg = e.what();
        for (const auto& n : needles)
            if (msg.find(n) == std::string::npos)
                return ::testing::AssertionFailure() << "message lacks \"" << n << "\": " << msg;
        return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "no InputError";
}

const char* kMinimal = R"(
[suite]
experiments = [{ id = "a" }]
)";

TEST(SuiteFile, UnknownKeysAndValuesNameTheKeyAndTheFile) {
    const std::string p = "/x/suite.toml";
    EXPECT_TRUE(fails_naming(std::string(kMinimal) + "[data]\nsizes = 3\n", p, {p, "sizes"}));
    EXPECT_TRUE(fails_naming(std::string(kMinimal) + "[data]\nsource = \"sythetic\"\n", p,
                             {p, "source", "sythetic"}));
    EXPECT_TRUE(fails_naming(std::string(kMinimal) + "[optimizer]\nlearning_rate = 1\n", p,
                             {p, "learning_rate"}));
    EXPECT_TRUE(fails_naming(std::string(kMinimal) + "[train]\nlearning_rate = 1\n", p,
                             {p, "learning_rate"}));  // the flat table of older files
    EXPECT_TRUE(fails_naming(std::string(kMinimal) + "[reprt]\n", p, {p, "reprt"}));
    EXPECT_TRUE(fails_naming(
        "[suite]\nexperiments = [{ id = \"a\", labels = { knd = \"dense\" } }]\n", p, {p, "knd"}));
    EXPECT_TRUE(
        fails_naming("[suite]\nexperiments = [{ id = \"a\", run = { evaluate = \"worst\" } }]\n", p,
                     {p, "evaluate", "worst"}));
    EXPECT_TRUE(
        fails_naming("[suite]\nexperiments = [{ id = \"a\", optimizer = { name = \"adamx\" } }]\n",
                     p, {p, "adamx"}));
    EXPECT_TRUE(fails_naming("[suite]\nexperiments = [{ id = \"a\", run = { out = \"x\" } }]\n", p,
                             {p, "out"}));
    EXPECT_TRUE(fails_naming("[suite]\nexperiments = [{ id = \"a\", data = { root = \"x\" } }]\n",
                             p, {p, "data.root", "suite's [data]"}));
    EXPECT_TRUE(fails_naming(
        "[suite]\nexperiments = [{ id = \"a\", optimizer = { beta1 = 1.0 } }]\n", p, {p, "beta1"}));
    EXPECT_TRUE(fails_naming("[suite]\nexperiments = [{ id = \"a\" }, { id = \"a\" }]\n", p,
                             {p, "duplicate"}));
    EXPECT_TRUE(fails_naming("[suite]\nexperiments = [{ id = \"a/b\" }]\n", p,
                             {p, "experiment id \"a/b\" holds '/' (it names a directory"}));
    EXPECT_TRUE(fails_naming("[suite]\nexperiments = [{ id = \".hidden\" }]\n", p,
                             {p, "\".hidden\" begins with '.'", "the first neither '.' nor '-'"}));
    EXPECT_TRUE(fails_naming("[suite]\nexperiments = [{ id = \"-rf\" }]\n", p,
                             {p, "-rf", "would read as an option"}));
    // Each refusal says what is wrong with that id alone (all ended in the '-' rule).
    const auto alone = [&](const std::string& id, const std::string& wrong) {
        const std::string suite = "[suite]\nexperiments = [{ id = \"" + id + "\" }]\n";
        EXPECT_TRUE(fails_naming(suite, p, {"experiment id \"" + id + "\" " + wrong}));
        EXPECT_FALSE(fails_naming(suite, p, {"would read as an option"})) << id;
    };
    alone("b c", "holds a space");
    alone("b,c", "holds ','");
    alone(std::string(65, 'x'), "is 65 characters long");
    for (const char* name : {".hidden", "-rf", "..", "a/b"})
        EXPECT_TRUE(fails_naming(
            std::string("[suite]\nname = \"") + name + "\"\nexperiments = [{ id = \"a\" }]\n", p,
            {p, name, "expected a plain name"}));
    for (const char* taken : {"data", "cache", "report.md", "val_loss.svg", "report.md.new"})
        EXPECT_TRUE(
            fails_naming(std::string("[suite]\nexperiments = [{ id = \"") + taken + "\" }]\n", p,
                         {p, taken, "choose another id"}));
    EXPECT_TRUE(fails_naming("[suite]\nname = \"x\"\n", p, {p, "experiments"}));
    EXPECT_TRUE(fails_naming("[suite]\nexperiments = [{ id = \"a\", labels = { points = 0 } }]\n",
                             p, {p, "points"}));
    EXPECT_TRUE(fails_naming("[suite\n", p, {p}));

    // An unknown key inside a referenced experiment file names that file.
    const std::string dir = test::temp_dir("suite_keys");
    // One without [experiment] has no id, said so (it was 'experiment id "": expected 1-64 ...').
    write_file(dir + "/noexp.toml", "[labels]\nkind = \"sparse\"\n");
    write_file(dir + "/noexp_suite.toml", "[suite]\nexperiments = [\"noexp.toml\"]\n");
    try {
        load_suite(dir + "/noexp_suite.toml");
        ADD_FAILURE() << "an experiment file without an id was taken";
    } catch (const InputError& e) {
        EXPECT_MESSAGE_HAS(std::string(e.what()),
                           "noexp.toml: no experiment id (or an empty one): an experiment file "
                           "needs an [experiment] table with id");
    }
    write_file(dir + "/e.toml",
               "[experiment]\nid = \"e\"\n[labels]\nkind = \"sparse\"\nradious = 3\n");
    write_file(dir + "/s.toml", "[suite]\nexperiments = [\"e.toml\"]\n");
    try {
        load_suite(dir + "/s.toml");
        FAIL() << "expected InputError";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find(dir + "/e.toml"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("radious"), std::string::npos) << e.what();
    }
    write_file(dir + "/s2.toml", "[suite]\nexperiments = [\"missing.toml\"]\n");
    EXPECT_THROW(load_suite(dir + "/s2.toml"), InputError);
}

// A bad value is blamed on the file that holds it: the suite's own tables, the experiment file, or
// both where a rule ties keys of the two; an experiment file that is not there names the suite's
// entry that lists it.
TEST(SuiteFile, ErrorsNameTheFileTheKeyCameFrom) {
    const std::string dir = test::temp_dir("suite_key_sources");
    write_file(dir + "/e.toml", "[experiment]\nid = \"e\"\n[run]\nepochs = 2\n");
    auto message = [&](const std::string& suite_tables, const std::string& entries) {
        write_file(dir + "/suite.toml",
                   "[suite]\nexperiments = [" + entries + "]\n" + suite_tables);
        try {
            load_suite(dir + "/suite.toml");
        } catch (const InputError& e) {
            return std::string(e.what());
        }
        return std::string("no InputError");
    };
    const std::string suite = dir + "/suite.toml", e = dir + "/e.toml";
    std::string m = message("[data]\nsynthetic_count = 0\n", "\"e.toml\"");
    EXPECT_EQ(m.rfind(suite + ": data.synthetic_count = 0", 0), 0u) << m;
    m = message("[optimizer]\nlr = -1\n", "\"e.toml\"");
    EXPECT_EQ(m.rfind(suite + ": optimizer.lr = -1", 0), 0u) << m;
    m = message("[override.optimizer]\nlr = -1\n", "\"e.toml\"");
    EXPECT_EQ(m.rfind(suite + " [override]: optimizer.lr = -1", 0), 0u) << m;
    // Valid alone, wrong together: warm-up longer than e.toml's epochs.
    m = message("[schedule]\nname = \"cosine\"\nwarmup_epochs = 3\n", "\"e.toml\"");
    EXPECT_EQ(m.rfind(suite + " + " + e + ": schedule.warmup_epochs = 3", 0), 0u) << m;
    // The experiment file's own key, and an inline entry's.
    write_file(dir + "/e.toml", "[experiment]\nid = \"e\"\n[optimizer]\nlr = -2\n");
    m = message("[optimizer]\nlr = 1e-3\n", "\"e.toml\"");
    EXPECT_EQ(m.rfind(e + ": optimizer.lr = -2", 0), 0u) << m;
    m = message("", "{ id = \"i\", model = { depth = 99 } }");
    EXPECT_EQ(m.rfind(suite + " [suite] experiments[1]: model.depth = 99", 0), 0u) << m;
    // A missing experiment file: which entry of which suite lists it.
    write_file(dir + "/e.toml", "[experiment]\nid = \"e\"\n");
    m = message("", "\"e.toml\", \"sub/nope.toml\"");
    EXPECT_NE(m.find(suite + " [suite] experiments[2]"), std::string::npos) << m;
    EXPECT_NE(m.find("sub/nope.toml does not exist"), std::string::npos) << m;
    // A suite listing itself (or another suite): said as such (it was refused for the first key
    // of its [data] an experiment may not set).
    m = message("[data]\nsource = \"synthetic\"\n", "\"e.toml\", \"suite.toml\"");
    EXPECT_NE(m.find(suite + " [suite] experiments[2]: "), std::string::npos) << m;
    EXPECT_NE(m.find("suite.toml is a suite file ([suite]), not an experiment file"),
              std::string::npos)
        << m;
    // A setting that does nothing for an experiment: a warning naming the file that set it.
    write_file(dir + "/e.toml", "[experiment]\nid = \"e\"\n[loss]\ncrf_radius = 3\n");
    write_file(dir + "/suite.toml", "[suite]\nexperiments = [\"e.toml\"]\n");
    const test::CommandResult r = test::run_pfce("run " + suite + " --only nothing");
    EXPECT_MESSAGE_HAS(r.output, "warn: " + e +
                                     ": experiment e: loss.crf_radius = 3 has no effect "
                                     "with loss.crf_weight = 0 (the CRF term is off)");
}

TEST(SuiteFile, LayersApplyInOrder) {
    const std::string dir = test::temp_dir("suite_layers");
    write_file(
        dir + "/e.toml",
        "[experiment]\nid = \"e\"\ndescription = \"500 points, linked\"\nreport_figure = \"test "
        "0.83\"\n[labels]\nkind = \"linked\"\npoints = 500\nmax_color_step = 40\n"
        "[optimizer]\nlr = 0.01\n[run]\nbatch_size = 32\nepochs = 10\n");
    write_file(dir + "/s.toml", R"(
[suite]
experiments = ["e.toml", { file = "e.toml", id = "e-short", run = { epochs = 2 } },
               { file = "e.toml", id = "e-copy" },
               { file = "e.toml", id = "e-own", labels = { points = 100 }, description = "mine" },
               { file = "e.toml", id = "e-s1", run = { seed = 1 }, labels = { seed = 1 } },
               { file = "e.toml", id = "e-crf", loss = { crf_weight = 0.2 }, labels = { kind = "linked" } }]
[optimizer]
lr = 0.5
[model]
width = 8
[run]
epochs = 7
batch_size = 16
[override.run]
batch_size = 4
)");
    testing::internal::CaptureStderr();
    const Suite s = load_suite(dir + "/s.toml");
    // A default every experiment replaces is said to have no effect, with the table that would
    // set it for all; one an experiment keeps (model.width) is not (error-message audit).
    const std::string said = testing::internal::GetCapturedStderr();
    EXPECT_MESSAGE_HAS(said, dir +
                                 "/s.toml: optimizer.lr = 0.5 has no effect: every experiment "
                                 "sets its own (e: 0.01, e-short: 0.01, e-copy: 0.01, ...); "
                                 "[override.optimizer] lr = 0.5 sets it for all");
    EXPECT_MESSAGE_HAS(said,
                       "run.epochs = 7 has no effect: every experiment sets its own (e: 10, "
                       "e-short: 2, e-copy: 10, ...)");
    EXPECT_EQ(said.find("model.width"), std::string::npos) << said;
    EXPECT_EQ(said.find("run.batch_size"), std::string::npos) << said;  // the suite's [override]
    ASSERT_EQ(s.experiments.size(), 6u);
    const auto& a = s.experiments[0];
    EXPECT_EQ(s.name, "s");
    EXPECT_EQ(a.id, "e");
    EXPECT_DOUBLE_EQ(a.config.optimizer.lr, 0.01);  // file over suite defaults
    EXPECT_EQ(a.config.model.width, 8);             // suite default
    EXPECT_EQ(a.config.run.epochs, 10);             // file
    EXPECT_EQ(a.config.run.batch_size, 4);          // override over file
    EXPECT_EQ(a.config.labels.kind, "linked");
    EXPECT_DOUBLE_EQ(a.config.labels.max_color_step, 40.0);
    EXPECT_EQ(describe_labels(a.config.labels), "linked 500/class D=20 edge 40");
    const auto& b = s.experiments[1];
    EXPECT_EQ(b.id, "e-short");
    EXPECT_EQ(b.config.run.epochs, 2);  // inline entry over everything
    EXPECT_EQ(b.config.run.batch_size, 4);
    EXPECT_NE(experiment_fingerprint(a), experiment_fingerprint(b));
    // A variant (settings of its own) is described by what it changes, with no figure of the
    // technical report; the file's experiment under another id is still it; a variant's own
    // description stands (suite probe: a 100-point variant showed "500 points" and 0.8344).
    EXPECT_EQ(a.description, "500 points, linked");
    EXPECT_EQ(a.report_figure, "test 0.83");
    EXPECT_EQ(b.description, "e with run.epochs = 2");
    EXPECT_EQ(b.report_figure, "");
    EXPECT_EQ(s.experiments[2].description, "500 points, linked");
    EXPECT_EQ(s.experiments[2].report_figure, "test 0.83");
    EXPECT_EQ(s.experiments[3].description, "mine");
    EXPECT_EQ(s.experiments[3].report_figure, "");
    // A replicate with other seeds is the experiment; a value as the settings column shows it
    // (0.2, not 0.20000000000000001), and one equal to the file's (kind) is no change (review).
    EXPECT_EQ(s.experiments[4].description, "500 points, linked");
    EXPECT_EQ(s.experiments[4].report_figure, "test 0.83");
    EXPECT_EQ(s.experiments[5].description, "e with loss.crf_weight = 0.2");
}

// Suite texts go into the report's Markdown, HTML and CSV: a control character (a NUL, an escape
// sequence) is refused, naming the key; line breaks and tabs are text (suite probe).
TEST(SuiteFile, ControlCharactersInItsTextsAreRefused) {
    const std::string dir = test::temp_dir("suite_control");
    write_file(dir + "/e.toml", "[experiment]\nid = \"e\"\n");
    const auto refusal = [&](const std::string& suite) {
        write_file(dir + "/s.toml", suite);
        try {
            (void)load_suite(dir + "/s.toml");
        } catch (const InputError& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    EXPECT_MESSAGE_HAS(refusal("[suite]\ndescription = \"red \\u001b[31m\"\nexperiments = "
                               "[\"e.toml\"]\n"),
                       "key \"description\" holds the control character U+001B at byte 4");
    EXPECT_MESSAGE_HAS(refusal("[suite]\nexperiments = [{ file = \"e.toml\", id = \"x\", "
                               "description = \"a\\u0000b\" }]\n"),
                       "experiments[1]: key \"description\" holds the control character U+0000");
    EXPECT_EQ(refusal("[suite]\ndescription = \"two\\nlines\\tand a tab\"\nexperiments = "
                      "[\"e.toml\"]\n"),
              "accepted");
}

// Experiment ids name directories in OUT: two that differ only in case, or one that is a name
// pfce run keeps in OUT in another case, are one directory on a file system that ignores case
// (macOS, a Windows share), so the second would train into the first's (hostile probe).
TEST(SuiteFile, IdsThatNameOneDirectoryWhereCaseIsIgnoredAreRefused) {
    const std::string dir = test::temp_dir("suite_id_case");
    const std::string file = dir + "/s.toml";
    auto refusal = [&](const std::string& experiments) {
        write_file(
            file, "[suite]\nexperiments = [" + experiments + "]\n[data]\nsource = \"synthetic\"\n");
        return test::input_error_message([&] { load_suite(file); });
    };
    EXPECT_MESSAGE_HAS(refusal(R"({ id = "Abc" }, { id = "abc" })"),
                       "experiment id \"abc\" differs from \"Abc\" only in case");
    EXPECT_MESSAGE_HAS(refusal(R"({ id = "Data" })"),
                       "experiment id \"Data\" is taken: pfce run keeps its own data in OUT");
    EXPECT_MESSAGE_HAS(refusal(R"({ id = "loss.SVG" })"), "ends in .svg");
    write_file(file,
               "[suite]\nexperiments = [{ id = \"abc\" }, { id = \"abd\" }]\n[data]\n"
               "source = \"synthetic\"\n");
    EXPECT_EQ(load_suite(file).experiments.size(), 2u);
}

// A suite's split lists ship with it: a relative one is found beside the suite file (the shipped
// ISPRS suite, found by name, read the lists of whatever directory pfce ran in). What a list
// holds is part of the experiment (its ids, not its path or comments): after an edit, earlier
// results are stale.
TEST(SuiteFile, SplitListsAreFoundBesideTheSuiteAndTheirIdsFingerprinted) {
    const std::string dir = test::temp_dir("suite_lists");
    fs::create_directories(dir + "/splits");
    write_file(dir + "/splits/train.txt", "a\n");
    write_file(dir + "/splits/test.txt", "b\n");
    write_file(dir + "/s.toml", R"(
[suite]
experiments = [{ id = "e" }]
[data]
train_list = "splits/train.txt"
test_list = "splits/test.txt"
)");
    const Suite s = load_suite(dir + "/s.toml");
    EXPECT_EQ(fs::path(s.data.train_list), fs::path(dir) / "splits/train.txt");
    EXPECT_EQ(fs::path(s.experiments[0].config.data.test_list), fs::path(dir) / "splits/test.txt");
    const nlohmann::json before = experiment_fingerprint(s.experiments[0]);
    // The suite named another way (a relative path), a comment or CRLF: the same experiment.
    write_file(dir + "/splits/train.txt", "# training\r\na\r\n");
    const std::string relative = fs::relative(dir + "/s.toml").string();
    EXPECT_EQ(experiment_fingerprint(load_suite(relative).experiments[0]), before) << relative;
    write_file(dir + "/splits/train.txt", "a\nc\n");  // same path, other ids
    const nlohmann::json after = experiment_fingerprint(s.experiments[0]);
    EXPECT_NE(before, after);
    EXPECT_NE(before["data.train_list ids"], after["data.train_list ids"]);
    EXPECT_EQ(before["data.test_list ids"], after["data.test_list ids"]);
    for (const char* f : {"potsdam-isprs.toml"}) {  // found by its path, from any directory
        const Suite shipped = load_suite(test::source_dir() + "/experiments/" + f);
        EXPECT_TRUE(fs::is_regular_file(shipped.data.train_list)) << shipped.data.train_list;
        EXPECT_TRUE(fs::is_regular_file(shipped.data.test_list)) << shipped.data.test_list;
    }
}

// A split list given where finished results had none is a change of settings: a result of this
// pfce records no list ids then, and their absence once made any list added later read as the
// same experiment ("finished earlier, skipped"). Results of a pfce that recorded a list's path
// compare as before where both have a list.
TEST(SuiteFile, SplitListsGivenOrDroppedMakeResultsStale) {
    const std::string dir = test::temp_dir("suite_lists_stale");
    write_file(dir + "/train.txt", "a\n");
    write_file(dir + "/test.txt", "b\n");
    write_file(dir + "/none.toml", "[suite]\nexperiments = [{ id = \"e\" }]\n");
    write_file(dir + "/lists.toml",
               "[suite]\nexperiments = [{ id = \"e\" }]\n[data]\ntrain_list = \"train.txt\"\n"
               "test_list = \"test.txt\"\n");
    const nlohmann::json none =
        experiment_fingerprint(load_suite(dir + "/none.toml").experiments[0]);
    const nlohmann::json lists =
        experiment_fingerprint(load_suite(dir + "/lists.toml").experiments[0]);
    EXPECT_EQ(stale_reason(none, none), "");
    EXPECT_EQ(stale_reason(lists, lists), "");
    EXPECT_MESSAGE_HAS(stale_reason(none, lists), "data.train_list ids");
    EXPECT_MESSAGE_HAS(stale_reason(lists, none), "data.train_list ids");
    // An older pfce's record: the path ("" for none) where this one records the ids.
    nlohmann::json old_none = none, old_lists = lists;
    for (const char* k : {"data.train_list", "data.val_list", "data.test_list"}) {
        old_none[k] = "";
        old_lists.erase(std::string(k) + " ids");
        old_lists[k] = "";
    }
    old_lists["data.train_list"] = dir + "/train.txt";
    old_lists["data.test_list"] = dir + "/test.txt";
    EXPECT_EQ(stale_reason(old_none, none), "");
    EXPECT_EQ(stale_reason(old_lists, lists), "");  // compared on the rest
    EXPECT_MESSAGE_HAS(stale_reason(old_none, lists), "data.train_list ids");
    EXPECT_MESSAGE_HAS(stale_reason(old_lists, none), "data.train_list ids");
}

// A setting that has no effect in the experiment, then and now (pfce says so at the start), is
// no change: a dense experiment's labels.seed, CRF settings with the term off, a plateau's
// patience under a constant schedule made every result stale (suite probe). Where it acts, it is.
TEST(SuiteFile, SettingsWithoutEffectDoNotMakeResultsStale) {
    const std::string dir = test::temp_dir("suite_idle_stale");
    const auto fingerprint = [&](const std::string& experiment) {
        write_file(dir + "/s.toml", "[suite]\nexperiments = [" + experiment + "]\n");
        return experiment_fingerprint(load_suite(dir + "/s.toml").experiments[0]);
    };
    const nlohmann::json dense = fingerprint("{ id = \"e\", labels = { kind = \"dense\" } }");
    EXPECT_EQ(stale_reason(dense, fingerprint("{ id = \"e\", labels = { kind = \"dense\", seed = "
                                              "5 }, loss = { crf_sigma_xy = 9.0 }, schedule = { "
                                              "plateau_patience = 7 } }")),
              "");
    const nlohmann::json sparse = fingerprint("{ id = \"e\", labels = { kind = \"sparse\" } }");
    EXPECT_MESSAGE_HAS(
        stale_reason(sparse,
                     fingerprint("{ id = \"e\", labels = { kind = \"sparse\", seed = 5 } }")),
        "other settings (labels.seed)");
    EXPECT_MESSAGE_HAS(stale_reason(dense, sparse), "labels.kind");
}

TEST(SuiteFile, ShippedSuitesLoad) {
    for (const char* f :
         {"synthetic-small.toml", "synthetic.toml", "potsdam.toml", "potsdam-isprs.toml"}) {
        const Suite s = load_suite(test::source_dir() + "/experiments/" + f);
        ASSERT_EQ(s.experiments.size(), 9u) << f;
        EXPECT_EQ(s.experiments[0].id, "dense");
        EXPECT_EQ(s.experiments[5].id, "e5-500-edge");
        // e6 is e3's training at 500 points, the control; e7 adds the CRF term to it, e8 to e4.
        const Config& e6 = s.experiments[6].config;
        const Config& e7 = s.experiments[7].config;
        const Config& e8 = s.experiments[8].config;
        EXPECT_EQ(s.experiments[6].id, "e6-500-tuned");
        EXPECT_EQ(s.experiments[7].id, "e7-500-crf");
        EXPECT_EQ(s.experiments[8].id, "e8-500-linked-crf");
        EXPECT_EQ(e6.labels.points, std::vector<int>{500});
        EXPECT_EQ(e6.loss.crf_weight, 0.0);
        EXPECT_GT(e7.loss.crf_weight, 0.0);
        EXPECT_GT(e8.loss.crf_weight, 0.0);  // lambda chosen per experiment on validation
        Config e6_crf = e6;                  // e7 = e6 + the CRF term, nothing else
        e6_crf.loss = e7.loss;
        EXPECT_EQ(to_json(e6_crf), to_json(e7)) << f;
        Config e4_crf = s.experiments[4].config;  // e8 = e4 + the same term
        e4_crf.loss = e8.loss;
        EXPECT_EQ(to_json(e4_crf), to_json(e8)) << f;
        const Config& e3 = s.experiments[3].config;
        EXPECT_EQ(e3.schedule.name, "plateau");
        EXPECT_DOUBLE_EQ(e3.schedule.plateau_factor, 0.5);
        EXPECT_EQ(e3.schedule.plateau_patience, 3);
        EXPECT_DOUBLE_EQ(e3.optimizer.clip, 1.0);
        EXPECT_EQ(e3.run.evaluate, "best");
        const Config& e1 = s.experiments[1].config;
        EXPECT_DOUBLE_EQ(e1.optimizer.lr, 1e-4);
        EXPECT_DOUBLE_EQ(e1.optimizer.weight_decay, 0.0);
        EXPECT_EQ(e1.schedule.name, "constant");
        EXPECT_EQ(e1.run.evaluate, "last");
        EXPECT_EQ(e1.labels.points, std::vector<int>{700});
        EXPECT_EQ(s.experiments[4].config.labels.radius, 20);
        EXPECT_GE(s.experiments[5].config.labels.max_color_step, 0.0);
        for (const auto& e : s.experiments)  // nothing set for show
            for (const auto& u : unused_settings(e.config)) ADD_FAILURE() << f << ": " << u.message;
    }
}

// The README's suite example, as printed there, beside the experiment files it names: a user
// copies it first (it once gave only a test list, which every suite refuses).
TEST(SuiteFile, ReadmeExampleLoads) {
    std::ifstream in(test::source_dir() + "/README.md");
    const std::string readme((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
    const std::size_t from = readme.find("[suite]\nname = \"my-suite\"");
    ASSERT_NE(from, std::string::npos) << "the README's suite example moved";
    const std::string example = readme.substr(from, readme.find("```", from) - from);
    const std::string dir = test::temp_dir("readme_suite");
    fs::create_directories(dir + "/splits");
    for (const char* f : {"dense.toml", "e6-500-tuned.toml"})
        fs::copy_file(test::source_dir() + "/experiments/" + f, dir + "/" + f);
    for (const char* list : {"my-train", "my-val", "my-test"})
        write_file(dir + "/splits/" + list + ".txt", std::string(list) + "-sample\n");
    write_file(dir + "/my-suite.toml", example);
    const Suite s = load_suite(dir + "/my-suite.toml");
    ASSERT_EQ(s.experiments.size(), 3u);
    EXPECT_EQ(s.experiments[2].id, "e6-crf-0.2");
    EXPECT_DOUBLE_EQ(s.experiments[2].config.loss.crf_weight, 0.2);
    EXPECT_EQ(s.experiments[0].config.run.epochs, 20);
    EXPECT_EQ(fs::path(s.data.test_list), fs::path(dir) / "splits/my-test.txt");
}

// The end-to-end stage of scripts/gpu_check.sh: a typo must fail here, not on the GPU machine.
// Two experiments of the same settings train the same model, compared at 0 by construction: said,
// naming them (a walkthrough's suite compared three such without a word). An experiment renamed
// leaves its results under the old id, which the suite no longer has: said too, as the reason it
// trains again.
TEST(ExperimentRun, SameSettingsAndResultsOfNoExperimentAreSaid) {
    const std::string dir = test::temp_dir("experiment_same_settings");
    std::string suite = kTinySuite;
    const std::string experiments =
        "experiments = [\n  { id = \"a\", labels = { kind = \"dense\" } },\n"
        "  { id = \"b\", labels = { kind = \"dense\" } },\n]\n";
    const std::size_t from = suite.find("experiments = ["), to = suite.find("]\n", from) + 2;
    suite.replace(from, to - from, experiments);
    write_file(dir + "/s.toml", suite);
    const std::string run = "run " + dir + "/s.toml --device cpu --out " + dir + "/out";
    const test::CommandResult first = test::run_pfce(run);
    ASSERT_EQ(first.status, 0) << first.output;
    EXPECT_MESSAGE_HAS(first.output, "suite tiny: experiments a and b have the same settings");
    std::string renamed = suite;
    const std::string c_differs =
        "experiments = [\n  { id = \"a\", labels = { kind = \"dense\" } },\n"
        "  { id = \"c\", labels = { kind = \"dense\" }, run = { epochs = 2 } },\n]\n";
    renamed.replace(renamed.find(experiments), experiments.size(), c_differs);
    write_file(dir + "/s.toml", renamed);
    const test::CommandResult second = test::run_pfce(run);
    ASSERT_EQ(second.status, 0) << second.output;
    EXPECT_MESSAGE_HAS(second.output, dir +
                                          "/out holds the results of 1 experiment this suite "
                                          "does not have (b; renamed, or removed from the "
                                          "suite)");
    EXPECT_FALSE(test::message_has(second.output, "have the same settings")) << second.output;
}

TEST(SuiteFile, GpuCheckSuiteLoads) {
    const Suite s = load_suite(test::source_dir() + "/experiments/gpu-check.toml");
    ASSERT_EQ(s.experiments.size(), 4u);
    EXPECT_EQ(s.experiments[1].id, "e4-500-linked");
    EXPECT_GT(s.experiments[3].config.loss.crf_weight, 0.0) << "e8 runs the CUDA CRF kernel";
    for (const auto& e : s.experiments) {
        EXPECT_EQ(e.config.run.epochs, 2) << e.id;
        EXPECT_EQ(e.config.run.batch_size, 16) << e.id;
        EXPECT_EQ(e.config.model.depth, 4) << e.id;
        EXPECT_EQ(e.config.model.width, 32) << e.id;
        EXPECT_EQ(e.config.data.synthetic_count, 320) << e.id;
        EXPECT_EQ(e.config.run.step_graph, std::optional<bool>(true))
            << e.id << ": the CUDA graph runs end to end";
        // Two epochs of a smoke test leave the plateau schedule no time to act, as a run says.
        for (const auto& u : unused_settings(e.config))
            if (u.key != "schedule.plateau_patience") ADD_FAILURE() << u.message;
    }
    EXPECT_GE(s.experiments[2].config.labels.max_color_step, 0.0);
}

// The study suites (docs/crf-study.md) are run by hand, rarely: a typo must fail here.
TEST(SuiteFile, StudySuitesLoad) {
    int n = 0;
    for (const auto& f : fs::directory_iterator(test::source_dir() + "/experiments/studies")) {
        if (f.path().extension() != ".toml") continue;
        const Suite s = load_suite(f.path().string());
        EXPECT_FALSE(s.experiments.empty()) << f.path();
        for (const auto& e : s.experiments)
            for (const auto& u : unused_settings(e.config))
                ADD_FAILURE() << f.path() << ": " << u.message;
        ++n;
    }
    EXPECT_GE(n, 3);  // crf-study, potsdam-pair-a, potsdam-pair-b
}

}  // namespace
// A synthetic suite's [data] root says where its set goes, as --data does; --data still wins
// (hostile-user probe: the root was ignored without a word, the set written under OUT/data).
TEST(SuiteFile, ASyntheticSuitesRootIsWhereItsDataGoes) {
    const std::string dir = test::temp_dir("suite_synthetic_root");
    write_file(dir + "/s.toml",
               "[suite]\nexperiments = [{ id = \"a\" }]\n[data]\nsource = \"synthetic\"\n"
               "root = \"" +
                   dir + "/mine\"\n");
    const Suite s = load_suite(dir + "/s.toml");
    RunOptions o;
    EXPECT_EQ(suite_data_settings(s, o, dir + "/out").root, dir + "/mine");
    o.data_path = dir + "/given";
    EXPECT_EQ(suite_data_settings(s, o, dir + "/out").root, dir + "/given");
    write_file(dir + "/s.toml",
               "[suite]\nexperiments = [{ id = \"a\" }]\n[data]\nsource = \"synthetic\"\n");
    EXPECT_EQ(suite_data_settings(load_suite(dir + "/s.toml"), RunOptions{}, dir + "/out")
                  .root.rfind(dir + "/out/data/synthetic-", 0),
              0u);
}

// A dataset.toml's [image] is the reading of a suite's experiments that name none: recorded in
// each one's settings (so its results are of the bands it trained with), an experiment's own bands
// kept; --data's dataset is the one read.
TEST(SuiteFile, ADatasetTomlImageTableIsTheReadingOfExperimentsThatNameNone) {
    const std::string dir = test::temp_dir("suite_image_table");
    fs::create_directories(dir + "/ds");
    write_file(dir + "/ds/dataset.toml",
               "[classes]\nnames = [\"a\", \"b\"]\n[mask]\nencoding = \"index\"\n"
               "[image]\nbands = [4, 1, 2]\nvalue_range = [0, 10000]\n");
    write_file(dir + "/s.toml",
               "[suite]\nexperiments = [{ id = \"a\" }, { id = \"b\", data = { bands = [1, 2, "
               "3] } }]\n[data]\nroot = \"" +
                   dir + "/elsewhere\"\n");
    const Suite given = load_suite(dir + "/s.toml");
    EXPECT_TRUE(with_dataset_image_settings(given, RunOptions{}).data.bands.empty());
    RunOptions o;
    o.data_path = dir + "/ds";
    const Suite s = with_dataset_image_settings(given, o);
    EXPECT_EQ(s.data.root, given.data.root);  // --data stays the runner's to apply
    EXPECT_EQ(s.data.bands, (std::vector<int>{4, 1, 2}));
    EXPECT_EQ(s.data.value_range, (std::vector<double>{0, 10000}));
    ASSERT_EQ(s.experiments.size(), 2u);
    EXPECT_EQ(s.experiments[0].config.data.bands, (std::vector<int>{4, 1, 2}));
    EXPECT_EQ(s.experiments[0].config.data.value_range, (std::vector<double>{0, 10000}));
    EXPECT_EQ(s.experiments[1].config.data.bands, (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(s.experiments[1].config.data.value_range, (std::vector<double>{0, 10000}));
    EXPECT_NE(experiment_fingerprint(s.experiments[0]),
              experiment_fingerprint(given.experiments[0]));
    // Experiments that all name their bands: the suite still reads through band 1, the range
    // taken.
    write_file(dir + "/all.toml",
               "[suite]\nexperiments = [{ id = \"b\", data = { bands = [1, 2, 3] } }]\n");
    const Suite all = with_dataset_image_settings(load_suite(dir + "/all.toml"), o);
    EXPECT_TRUE(all.data.bands.empty());
    EXPECT_EQ(all.data.value_range, (std::vector<double>{0, 10000}));
    EXPECT_EQ(suite_data_settings(all, o, dir + "/out").bands, (std::vector<int>{1}));
}

}  // namespace pfce
