// Misuse that used to give wrong results without a word, or messages that named nothing (issue:
// hostile-user probe): stale splits in eval, masks of another dataset, other class names, resume
// refusing harmless differences, finished runs, best.ckpt without validation, Ctrl-C/SIGTERM in
// `pfce run` and `pfce predict`, non-UTF-8 paths, and the messages for odd inputs (split lists).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>

#include <nlohmann/json.hpp>

#include "data/dataset.hpp"
#include "data/image_io.hpp"
#include "host/train/checkpoint.hpp"
#include "host/train/trainer.hpp"
#include "tests/foreign_dataset.hpp"
#include "tests/json_output.hpp"
#include "tests/test_util.hpp"

using namespace pfce;
namespace fs = std::filesystem;

namespace {

const std::string kTiny = " --epochs 1 --batch-size 4 --width 4 --depth 1 --device cpu";

test::ForeignDataset dataset(const std::string& root, test::ForeignSpec spec = {}) {
    return test::write_foreign_dataset(root, spec);
}

std::string file_text(const std::string& p) {
    std::ifstream f(p);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

int json_int(const std::string& text, const std::string& key) {
    std::smatch m;
    if (!std::regex_search(text, m, std::regex("\"" + key + "\": ([0-9]+)"))) return -1;
    return std::stoi(m[1].str());
}

// Runs `cmd` in the background with its output in `log`, sends SIGTERM once `logged` appears there
// (after `settle` more seconds), and appends "rc=<exit status>" to the log; returns the log.
std::string terminate_once_logged(const std::string& cmd, const std::string& log,
                                  const std::string& logged, const char* settle = "0") {
    const std::string script = "bash -c '" + cmd + " > " + log + " 2>&1 & pid=$!; " +
                               "for i in $(seq 1500); do grep -q \"" + logged + "\" " + log +
                               " && break; sleep 0.02; done; sleep " + settle +
                               "; kill -TERM $pid; wait $pid; echo rc=$? >> " + log + "'";
    EXPECT_EQ(std::system(script.c_str()), 0);
    return file_text(log);
}

// `eval` (its command up to the checkpoint) of A against B, of A and of B alone, as JSON: each
// model's numbers in the comparison are those of its own eval, the difference A's mIoU minus B's.
struct AgainstEvals {
    nlohmann::json both, only_a, only_b;
};
AgainstEvals expect_against_is_each_models_eval(const std::string& eval, const std::string& a,
                                                const std::string& b) {
    auto json_of = [&](const std::string& args) {
        const test::CommandResult r = test::run_pfce(eval + args + " --json -q");
        EXPECT_EQ(r.status, 0) << r.output;
        return test::json_in_output(r.output);
    };
    AgainstEvals e{json_of(a + " --against " + b), json_of(a), json_of(b)};
    EXPECT_EQ(e.both["miou"], e.only_a["miou"]);
    EXPECT_EQ(e.both["confusion"], e.only_a["confusion"]);
    EXPECT_EQ(e.both["against"]["metrics"]["miou"], e.only_b["miou"]);
    EXPECT_EQ(e.both["against"]["metrics"]["confusion"], e.only_b["confusion"]);
    EXPECT_NEAR(e.both["against"]["miou_difference"].get<double>(),
                e.only_a["miou"].get<double>() - e.only_b["miou"].get<double>(), 1e-12);
    return e;
}

}  // namespace

TEST(CliMisuse, EvalTestsTheRunsOwnSplitAfterImagesAreAdded) {
    const std::string root = test::temp_dir("misuse_split");
    test::ForeignSpec spec;
    spec.sizes.assign(10, {40, 32});
    const auto fd = dataset(root + "/data", spec);
    const std::string run = root + "/run";
    ASSERT_EQ(test::run_pfce("train --data " + fd.root + " --out " + run + kTiny).status, 0);
    const std::string eval = "eval --checkpoint " + run + "/last.ckpt --split test --json -q";
    const test::CommandResult before = test::run_pfce(eval);
    ASSERT_EQ(before.status, 0) << before.output;
    // Ten more images: a split redrawn over 20 samples would test other (training) images.
    test::ForeignSpec more = spec;
    const auto extra = dataset(root + "/extra", more);
    for (std::size_t i = 0; i < extra.ids.size(); ++i) {
        fs::copy_file(extra.root + "/images/" + extra.ids[i] + ".png",
                      fd.root + "/images/new_" + extra.ids[i] + ".png");
        fs::copy_file(extra.root + "/masks/" + extra.ids[i] + ".png",
                      fd.root + "/masks/new_" + extra.ids[i] + ".png");
    }
    const test::CommandResult after = test::run_pfce(eval);
    ASSERT_EQ(after.status, 0) << after.output;
    EXPECT_EQ(json_int(after.output, "images"), json_int(before.output, "images"));
    EXPECT_EQ(json_int(after.output, "pixels"), json_int(before.output, "pixels"));
}

// A run of two images trains on both (val 0, test 0): eval of either empty split offers only a
// split that holds images (each offered the other empty one: a researcher's walkthrough).
TEST(CliMisuse, EvalOfAnEmptySplitOffersOnlySplitsWithImages) {
    const std::string root = test::temp_dir("misuse_empty_split");
    test::ForeignSpec spec;
    spec.sizes.assign(2, {40, 32});
    const auto fd = dataset(root + "/data", spec);
    const std::string run = root + "/run";
    ASSERT_EQ(test::run_pfce("train --data " + fd.root + " --out " + run + kTiny).status, 0);
    for (const std::string split : {"test", "val"}) {
        const test::CommandResult r =
            test::run_pfce("eval --checkpoint " + run + "/last.ckpt --split " + split);
        EXPECT_EQ(r.status, 2) << r.output;
        EXPECT_MESSAGE_HAS(r.output, "split \"" + split + "\" of " + fd.root +
                                         " is empty (a dataset too small to hold one): evaluate "
                                         "--split train or all");
    }
}

TEST(CliMisuse, LabelsMustBelongToTheDataAndClassesToTheCheckpoint) {
    const std::string root = test::temp_dir("misuse_labels");
    const auto a = dataset(root + "/a");
    const auto b = dataset(root + "/b");  // same ids, another dataset
    ASSERT_EQ(
        test::run_pfce("sample --data " + a.root + " --points 5 --out " + root + "/sa").status, 0);
    const test::CommandResult t = test::run_pfce("train --data " + b.root + " --labels " + root +
                                                 "/sa --out " + root + "/run" + kTiny);
    EXPECT_EQ(t.status, 2) << t.output;
    EXPECT_MESSAGE_HAS(t.output, "were made from");
    // Linking them against the other dataset (its dense masks for purity, its colours for
    // edge-aware linking) is refused too, before anything is written.
    const test::CommandResult l = test::run_pfce("link --in " + root + "/sa --out " + root +
                                                 "/la --data " + b.root + " --device cpu");
    EXPECT_EQ(l.status, 2) << l.output;
    EXPECT_MESSAGE_HAS(l.output, "were sampled from");
    EXPECT_FALSE(fs::exists(root + "/la/masks.json"));
    // Previewed beside the other dataset: refused as well, and never with advice to resample that
    // dataset over the masks (--force).
    const test::CommandResult p = test::run_pfce("data preview " + b.root + " --masks " + root +
                                                 "/sa --out " + root + "/p.png");
    EXPECT_EQ(p.status, 2) << p.output;
    EXPECT_MESSAGE_HAS(p.output, "were made from");
    EXPECT_EQ(p.output.find("--force"), std::string::npos) << p.output;
    EXPECT_FALSE(fs::exists(root + "/p.png"));
    // Eval of a checkpoint on a dataset of other classes names both lists.
    ASSERT_EQ(test::run_pfce("train --data " + a.root + " --out " + root + "/ra" + kTiny).status,
              0);
    std::ofstream(b.root + "/dataset.toml")
        << "[classes]\nnames = [\"soil\", \"road\", \"roof\", \"tree\"]\n[mask]\n"
           "encoding = \"palette\"\nignore_colours = [[155, 155, 155]]\n"
           "colours = [[0, 0, 0], [128, 64, 128], [70, 70, 70], [107, 142, 35]]\n";
    const test::CommandResult e =
        test::run_pfce("eval --checkpoint " + root + "/ra/last.ckpt --data " + b.root);
    EXPECT_EQ(e.status, 2) << e.output;
    EXPECT_MESSAGE_HAS(e.output, "soil");
    EXPECT_MESSAGE_HAS(e.output, "background");
}

// data stats --json: the counts a script or a paper's table takes (a researcher parsed the
// printed table): every class's pixels and fraction, which add up with the unlabelled ones to
// all pixels; for masks, fractions of the labelled pixels.
TEST(CliMisuse, DataStatsAsJson) {
    const std::string root = test::temp_dir("misuse_stats_json");
    const auto a = dataset(root + "/a");
    auto json_of = [](const test::CommandResult& r) {
        EXPECT_EQ(r.status, 0) << r.output;
        return test::json_in_output(r.output);
    };
    const nlohmann::json d = json_of(test::run_pfce("data stats -q --json " + a.root));
    EXPECT_EQ(d["dataset"], a.root);
    EXPECT_EQ(d["count"], a.ids.size());
    EXPECT_EQ(d["fraction_of"], "all pixels");
    ASSERT_EQ(d["classes"].size(), test::foreign_class_names().size());
    std::int64_t sum = d["unlabelled_pixels"].get<std::int64_t>();
    for (std::size_t k = 0; k < d["classes"].size(); ++k) {
        EXPECT_EQ(d["classes"][k]["name"], test::foreign_class_names()[k]);
        sum += d["classes"][k]["pixels"].get<std::int64_t>();
    }
    EXPECT_EQ(sum, d["pixels"].get<std::int64_t>());
    EXPECT_EQ(d["sizes"]["40x32"], a.ids.size());
    ASSERT_EQ(
        test::run_pfce("sample --data " + a.root + " --points 5 --out " + root + "/sa").status, 0);
    const nlohmann::json m = json_of(test::run_pfce("data stats -q --json " + root + "/sa"));
    EXPECT_EQ(m["kind"], "sparse");
    EXPECT_EQ(m["fraction_of"], "labelled pixels");
    std::int64_t labelled = 0;
    double fractions = 0;
    for (const auto& c : m["classes"]) {
        labelled += c["pixels"].get<std::int64_t>();
        fractions += c["fraction"].get<double>();
    }
    EXPECT_EQ(labelled, m["labelled_pixels"].get<std::int64_t>());
    EXPECT_NEAR(fractions, 1.0, 1e-9);
}

// Masks whose dataset moved: stats counts them with the classes masks.json records (saying so),
// preview of the masks alone says how to preview them beside the dataset at its new place, which
// works.
TEST(CliMisuse, MasksWhoseDatasetMovedSayHowToGoOn) {
    const std::string root = test::temp_dir("misuse_masks_moved");
    const auto a = dataset(root + "/a");
    ASSERT_EQ(
        test::run_pfce("sample --data " + a.root + " --points 5 --out " + root + "/sa").status, 0);
    fs::rename(a.root, root + "/moved");
    const test::CommandResult stats = test::run_pfce("data stats " + root + "/sa");
    EXPECT_EQ(stats.status, 0) << stats.output;
    EXPECT_MESSAGE_HAS(stats.output, "which no longer exists: counting the masks with the classes");
    EXPECT_EQ(stats.output.find("changed after it was written"), std::string::npos) << stats.output;
    // A mask changed since it was written is said, as link and preview say it (stats said
    // nothing, though it is the command to check data with).
    std::string touched;
    for (const auto& f : fs::directory_iterator(root + "/sa"))
        if (f.path().extension() == ".png" && touched.empty()) touched = f.path().string();
    ASSERT_FALSE(touched.empty());
    fs::last_write_time(touched, fs::last_write_time(touched) + std::chrono::seconds(10));
    EXPECT_MESSAGE_HAS(test::run_pfce("data stats " + root + "/sa").output,
                       "its mask " + touched + " changed after it was written");
    const test::CommandResult alone =
        test::run_pfce("data preview " + root + "/sa --out " + root + "/p.png");
    EXPECT_EQ(alone.status, 2) << alone.output;
    EXPECT_MESSAGE_HAS(alone.output, "pfce data preview NEW_PLACE --masks " + root + "/sa");
    const test::CommandResult beside = test::run_pfce("data preview " + root + "/moved --masks " +
                                                      root + "/sa --out " + root + "/p.png");
    EXPECT_EQ(beside.status, 0) << beside.output;
    EXPECT_TRUE(fs::exists(root + "/p.png"));
    // Edge-aware linking needs the images: the path masks.json names is said to be its, with how
    // to go on (it said only "dataset root ... is not a directory", a path nobody typed).
    const test::CommandResult edge = test::run_pfce("link --in " + root + "/sa --out " + root +
                                                    "/ln --max-color-step 50 --device cpu");
    EXPECT_EQ(edge.status, 2) << edge.output;
    EXPECT_MESSAGE_HAS(edge.output, "edge-aware linking needs the images of the dataset " + root +
                                        "/sa/masks.json names (\"source\"), " + a.root);
    EXPECT_MESSAGE_HAS(edge.output,
                       "pfce link --in " + root + "/sa --out " + root + "/ln --data NEW_PLACE");
    EXPECT_FALSE(fs::exists(root + "/ln"));
    EXPECT_EQ(test::run_pfce("link --in " + root + "/sa --out " + root +
                             "/ln --max-color-step 50 --device cpu --data " + root + "/moved")
                  .status,
              0);
    // Beside another dataset named alike (the same ids, other files): refused, and never with
    // advice to sample it over these masks.
    const auto b = dataset(root + "/b");
    for (const std::string& cmd :
         {"data preview " + b.root + " --masks " + root + "/sa --out " + root + "/q.png",
          "train --data " + b.root + " --labels " + root + "/sa --out " + root + "/run" + kTiny}) {
        const test::CommandResult r = test::run_pfce(cmd);
        EXPECT_EQ(r.status, 2) << cmd << "\n" << r.output;
        EXPECT_MESSAGE_HAS(r.output, "they may be masks of another dataset");
        EXPECT_EQ(r.output.find("--force"), std::string::npos) << r.output;
    }
}

// Masks sampled from a dataset that was written again since (other images under the same names)
// were trained, linked, evaluated and previewed without a word. Each now warns, naming the mask
// directory, the dataset and the command that samples them again; before the change, not.
TEST(CliMisuse, MasksOfADatasetThatChangedSinceAreWarnedAbout) {
    const std::string root = test::temp_dir("misuse_changed_labels");
    const std::string d = root + "/d5", s = root + "/s5";
    const std::string changed = "have changed or been touched since";
    ASSERT_EQ(test::run_pfce("data synth --out " + d + " --count 10 --size 32").status, 0);
    ASSERT_EQ(test::run_pfce("sample --data " + d + " --out " + s + " --points 40").status, 0);
    const test::CommandResult same =
        test::run_pfce("train --data " + d + " --labels " + s + " --out " + root + "/r0" + kTiny);
    ASSERT_EQ(same.status, 0) << same.output;
    EXPECT_EQ(same.output.find(changed), std::string::npos) << same.output;

    ASSERT_EQ(
        test::run_pfce("data synth --out " + d + " --count 10 --size 32 --seed 1 --force").status,
        0);
    const std::string again = "pfce sample --data " + d + " --points 40 --seed 0 --out " + s;
    for (const std::string& cmd :
         {"train --data " + d + " --labels " + s + " --out " + root + "/r1" + kTiny,
          "link --in " + s + " --out " + root + "/l5 --device cpu",
          "eval --checkpoint " + root + "/r0/last.ckpt --labels " + s + " --split all --device cpu",
          "data preview " + d + " --masks " + s + " --out " + root + "/p.png",
          "data preview " + s + " --out " + root + "/q.png"}) {
        const test::CommandResult r = test::run_pfce(cmd);
        EXPECT_EQ(r.status, 0) << cmd << "\n" << r.output;
        EXPECT_MESSAGE_HAS(r.output, "warn: the masks in " + s);
        EXPECT_MESSAGE_HAS(r.output, changed);
        EXPECT_MESSAGE_HAS(r.output, again);
    }
    // The linked masks keep the record of the sparse ones they were linked from.
    const test::CommandResult linked = test::run_pfce("train --data " + d + " --labels " + root +
                                                      "/l5 --out " + root + "/r2" + kTiny);
    EXPECT_EQ(linked.status, 0) << linked.output;
    EXPECT_MESSAGE_HAS(linked.output, "warn: the masks in " + root + "/l5");
    EXPECT_MESSAGE_HAS(linked.output, "then pfce link --in");
}

// Class colours swapped in dataset.toml after the masks were sampled and the model trained (the
// names unchanged): the dense masks now mean other classes than the points and the model. Before,
// only the warning about files "changed or touched" was said (link scored a purity of 0.11); now
// train --labels, link and eval (also given the same dataset by --data) refuse, naming the class
// and both colours. An index dataset's
// colours only show it: changing them refuses nothing, changing its values does.
TEST(CliMisuse, MasksAndModelsOfRecolouredClassesAreRefused) {
    const std::string root = test::temp_dir("misuse_recoloured");
    const auto fd = dataset(root + "/data");
    const std::string sp = root + "/sp", run = root + "/run";
    ASSERT_EQ(test::run_pfce("sample --data " + fd.root + " --points 5 --out " + sp).status, 0);
    ASSERT_EQ(test::run_pfce("train --data " + fd.root + " --out " + run + kTiny).status, 0);
    const std::string toml = fd.root + "/dataset.toml";
    std::string text = file_text(toml);
    text.replace(text.find("[128, 64, 128], [70, 70, 70]"), 28, "[70, 70, 70], [128, 64, 128]");
    std::ofstream(toml) << text;
    const std::string why =
        "road = colour (128, 64, 128), building = colour (70, 70, 70) then; "
        "road = colour (70, 70, 70), building = colour (128, 64, 128) now";
    for (const std::string& cmd :
         {"train --data " + fd.root + " --labels " + sp + " --out " + root + "/r1" + kTiny,
          "link --in " + sp + " --out " + root + "/l1 --device cpu",
          "eval --checkpoint " + run + "/last.ckpt --device cpu",
          // The run's own dataset named by --data, spelt otherwise: refused too (it was scored,
          // with a warning, as if another dataset).
          "eval --checkpoint " + run + "/last.ckpt --device cpu --data " + fd.root + "/",
          "eval --checkpoint " + run + "/last.ckpt --device cpu --data " + fd.root + "/../data"}) {
        const test::CommandResult r = test::run_pfce(cmd);
        EXPECT_EQ(r.status, 2) << cmd << "\n" << r.output;
        EXPECT_MESSAGE_HAS(r.output, why);
    }
    EXPECT_FALSE(fs::exists(root + "/r1"));
    EXPECT_FALSE(fs::exists(root + "/l1"));
    // Another dataset of the same class names may encode them otherwise (here: the masks as
    // they were, under the colours as they were): eval --data compares the names only.
    std::string back = file_text(toml);
    back.replace(back.find("[70, 70, 70], [128, 64, 128]"), 28, "[128, 64, 128], [70, 70, 70]");
    std::ofstream(toml) << back;
    const test::ForeignDataset copy = dataset(root + "/copy");
    std::ofstream(copy.root + "/dataset.toml") << text;  // the swapped colours
    const test::CommandResult other =
        test::run_pfce("eval --checkpoint " + run + "/last.ckpt --device cpu --data " + copy.root);
    EXPECT_EQ(other.status, 0) << other.output;
    // Ignore colours added or reordered change no class: the masks are still trained on.
    std::string more = file_text(toml);
    more.replace(more.find("[[155, 155, 155]]"), 17, "[[1, 2, 3], [155, 155, 155]]");
    std::ofstream(toml) << more;
    const test::CommandResult ignore = test::run_pfce("train --data " + fd.root + " --labels " +
                                                      sp + " --out " + root + "/r2" + kTiny);
    EXPECT_EQ(ignore.status, 0) << ignore.output;

    test::ForeignSpec index;
    index.index_masks = true;
    const auto fi = dataset(root + "/index", index);
    const std::string isp = root + "/isp";
    ASSERT_EQ(test::run_pfce("sample --data " + fi.root + " --points 5 --out " + isp).status, 0);
    std::string itext = file_text(fi.root + "/dataset.toml");
    itext.replace(itext.find("[128, 64, 128], [70, 70, 70]"), 28, "[70, 70, 70], [128, 64, 128]");
    std::ofstream(fi.root + "/dataset.toml") << itext;
    const std::string link = "link --in " + isp + " --device cpu --out " + root + "/il";
    EXPECT_EQ(test::run_pfce(link + "1").status, 0);
    std::ofstream(fi.root + "/dataset.toml", std::ios::app) << "values = [0, 2, 1, 3]\n";
    const test::CommandResult values = test::run_pfce(link + "2");
    EXPECT_EQ(values.status, 2) << values.output;
    EXPECT_MESSAGE_HAS(values.output, "road = value 1, building = value 2 then");
}

// Training on a mask directory asks for nothing else: a label kind, point count or seed that is
// not the directory's is refused, naming both, instead of silently training on what is there.
TEST(CliMisuse, LabelSettingsThatContradictTheMaskDirectoryAreRefused) {
    const std::string root = test::temp_dir("misuse_label_settings");
    const auto fd = dataset(root + "/data");
    ASSERT_EQ(test::run_pfce("sample --data " + fd.root +
                             " --points 7 --seed 2 --no-scale-by-area --out " + root + "/sp")
                  .status,
              0);
    const std::string train = "train --data " + fd.root + " --labels " + root + "/sp" + kTiny;
    struct Case {
        const char* flags;
        std::vector<const char*> mentions;
    };
    const std::vector<Case> refused = {
        {" --label-kind linked", {"labels.kind = linked", "sparse masks"}},
        {" --points 9", {"labels.points = [9]", "[7]"}},
        {" --label-seed 5", {"labels.seed = 5", "= 2"}},
        // Typed at the defaults' values, which adopting the directory's settings would not see.
        {" --label-kind dense --points 500", {"--label-kind dense", "labels.kind = \"sparse\""}},
        {" --points 500", {"--points 500", "labels.points = [7]"}},
    };
    int k = 0;
    for (const Case& c : refused) {
        const test::CommandResult t =
            test::run_pfce(train + c.flags + " --out " + root + "/r" + std::to_string(k++));
        EXPECT_EQ(t.status, 2) << c.flags << "\n" << t.output;
        for (const char* m : c.mentions) EXPECT_MESSAGE_HAS(t.output, m);
    }
    // What agrees with the directory (or is left at its default) trains, and the run records the
    // directory's settings, not the defaults it never used.
    const test::CommandResult ok =
        test::run_pfce(train + " --label-kind sparse --points 7 --out " + root + "/ok");
    EXPECT_EQ(ok.status, 0) << ok.output;
    const nlohmann::json labels = read_checkpoint(root + "/ok/last.ckpt").meta["config"]["labels"];
    EXPECT_EQ(labels["kind"], "sparse");
    EXPECT_EQ(labels["points"], nlohmann::json::array({7}));
    EXPECT_EQ(labels["seed"], 2);
    EXPECT_EQ(labels["scale_by_area"], false);  // the directory's, not the config's default
}

// A run started with relative paths records them absolute: evaluated (or resumed) from another
// directory, it reads the data it trained on, not another dataset under the same relative name.
TEST(CliMisuse, ARunFindsItsOwnDataFromAnotherDirectory) {
    const std::string root = test::temp_dir("misuse_relative");
    dataset(root + "/a/d1");
    test::ForeignSpec three;
    three.sizes = {{40, 32}, {40, 32}, {40, 32}};
    dataset(root + "/b/d1", three);
    const fs::path here = fs::current_path();
    fs::current_path(root + "/a");
    const test::CommandResult t = test::run_pfce("train --data d1 --out run" + kTiny);
    fs::current_path(root + "/b");
    const test::CommandResult e =
        test::run_pfce("eval --checkpoint " + root + "/a/run/last.ckpt --split all --json -q");
    fs::current_path(here);
    ASSERT_EQ(t.status, 0) << t.output;
    ASSERT_EQ(e.status, 0) << e.output;
    EXPECT_EQ(json_int(e.output, "images"), 8) << e.output;
    // The ids scored, for a paper's list of its test set (a walkthrough found them nowhere).
    const nlohmann::json scored = test::json_in_output(e.output);
    EXPECT_EQ(scored["ids"].size(), 8u);
    EXPECT_EQ(scored["ids"][0], "tile_0");
    const nlohmann::json data = read_checkpoint(root + "/a/run/last.ckpt").meta["config"]["data"];
    EXPECT_TRUE(fs::path(data["root"].get<std::string>()).is_absolute()) << data.dump();
}

// A run's mask directory made again with other settings (pfce sample --force) since the run
// began: the resume says the directory changed, not that settings nobody typed "differ", and it
// does not suggest the command that just failed (a hostile-user probe).
TEST(CliMisuse, ResumeOnAMaskDirectoryMadeAgainSaysSo) {
    const std::string root = test::temp_dir("misuse_resume_resampled");
    const auto fd = dataset(root + "/data");
    for (const char* points : {"", " --points 50"}) {
        SCOPED_TRACE(points);
        const std::string masks = root + "/masks" + (*points ? "50" : "");
        const std::string run = root + "/run" + (*points ? "50" : "");
        ASSERT_EQ(test::run_pfce("sample --data " + fd.root + " --out " + masks + points).status,
                  0);
        ASSERT_EQ(test::run_pfce("train --data " + fd.root + " --labels " + masks + " --out " +
                                 run + kTiny)
                      .status,
                  0);
        ASSERT_EQ(
            test::run_pfce("sample --data " + fd.root + " --out " + masks + " --points 80 --force")
                .status,
            0);
        const test::CommandResult r = test::run_pfce("train --resume --epochs 2 --out " + run);
        EXPECT_EQ(r.status, 2) << r.output;
        EXPECT_MESSAGE_HAS(r.output, masks);
        EXPECT_MESSAGE_HAS(r.output, "made again since the run began");
        EXPECT_MESSAGE_HAS(r.output, *points ? "[50]" : "[500]");
        EXPECT_MESSAGE_HAS(r.output, "[80]");
        EXPECT_EQ(r.output.find("resume with the run's settings"), std::string::npos) << r.output;
    }
    // A setting typed beside --resume is said as typed, not as the directory "made again" (a
    // checkpoint probe got the two values the wrong way round).
    const std::string masks = root + "/masks_typed", run = root + "/run_typed";
    ASSERT_EQ(
        test::run_pfce("sample --data " + fd.root + " --out " + masks + " --points 50").status, 0);
    ASSERT_EQ(
        test::run_pfce("train --data " + fd.root + " --labels " + masks + " --out " + run + kTiny)
            .status,
        0);
    const test::CommandResult typed =
        test::run_pfce("train --resume --epochs 2 --points 80 --out " + run);
    EXPECT_EQ(typed.status, 2) << typed.output;
    EXPECT_MESSAGE_HAS(typed.output,
                       "labels.points = [80] was given, but the masks the run "
                       "trains on (labels.dir " +
                           masks + ") were made with points = [50]");
}

// Training takes full batches only (fixed shapes): the samples that leaves out of each epoch are
// said (a probe found 3 of 7 sitting out with nothing in the log saying so).
TEST(CliMisuse, TheSamplesFullBatchesLeaveOutAreSaid) {
    const std::string root = test::temp_dir("misuse_full_batches");
    ASSERT_EQ(test::run_pfce("data synth --count 6 --size 64 --out " + root + "/d").status, 0);
    const std::string train = "train --data " + root +
                              "/d --epochs 1 --width 4 --depth 1 "
                              "--device cpu --force --out " +
                              root + "/run --batch-size ";
    const test::CommandResult two = test::run_pfce(train + "2");
    ASSERT_EQ(two.status, 0) << two.output;
    EXPECT_MESSAGE_HAS(two.output, "5 train / ");
    EXPECT_MESSAGE_HAS(two.output,
                       "full batches only: 1 of the 5 training samples sits out each epoch");
    const test::CommandResult three = test::run_pfce(train + "3");
    ASSERT_EQ(three.status, 0) << three.output;
    EXPECT_MESSAGE_HAS(three.output, "2 of the 5 training samples sit out each epoch");
    const test::CommandResult five = test::run_pfce(train + "5");
    ASSERT_EQ(five.status, 0) << five.output;
    EXPECT_EQ(five.output.find("full batches only"), std::string::npos) << five.output;
    // Several crops of each image an epoch: 5 images x 3 crops = 15, 3 batches of 4 and 3 left.
    const test::CommandResult crops =
        test::run_pfce(train + "4 --crop-size 32 --crops-per-image 3");
    ASSERT_EQ(crops.status, 0) << crops.output;
    EXPECT_MESSAGE_HAS(crops.output, "3 batches of 4 per epoch, crops of 32 (3 an image)");
    EXPECT_MESSAGE_HAS(crops.output,
                       "full batches only: 3 of the 15 training crops sit out each epoch");
    // A batch larger than the 5 images, within their 15 crops.
    const test::CommandResult larger =
        test::run_pfce(train + "8 --crop-size 32 --crops-per-image 3");
    ASSERT_EQ(larger.status, 0) << larger.output;
    EXPECT_MESSAGE_HAS(larger.output, "1 batch of 8 per epoch, crops of 32 (3 an image)");
}

// Point counts are per 300x300, scaled by each image's area: what the first image keeps is said,
// and warned of where classes typed apart get one count (1,2,..,6 on 64x64 images kept 1 each).
TEST(CliMisuse, PointCountsScaledTogetherAreSaid) {
    const std::string root = test::temp_dir("misuse_scaled_points");
    ASSERT_EQ(test::run_pfce("data synth --count 4 --size 64 --out " + root + "/d").status, 0);
    const std::string sample = "sample --data " + root + "/d --force --out " + root + "/m ";
    const test::CommandResult merged = test::run_pfce(sample + "--points-per-class 1,2,3,4,5,6");
    ASSERT_EQ(merged.status, 0) << merged.output;
    EXPECT_MESSAGE_HAS(merged.output,
                       "--points-per-class 1,2,3,4,5,6 is per 300x300: scaled by the area of "
                       "64x64 (the first image) it keeps 1/1/1/1/1/1");
    const test::CommandResult apart =
        test::run_pfce(sample + "--points-per-class 100,200,300,400,500,600");
    ASSERT_EQ(apart.status, 0) << apart.output;
    EXPECT_MESSAGE_HAS(apart.output, "scaled by each image's area: 5/9/14/18/23/27 at 64x64");
    EXPECT_EQ(apart.output.find("typed apart"), std::string::npos) << apart.output;
    const test::CommandResult typed =
        test::run_pfce(sample + "--points-per-class 1,2,3,4,5,6 --scale-by-area false");
    ASSERT_EQ(typed.status, 0) << typed.output;
    EXPECT_EQ(typed.output.find("scaled by"), std::string::npos) << typed.output;
}

TEST(CliMisuse, ResumeAllowsWhatDoesNotChangeTheResultAndNamesWhatDoes) {
    const std::string root = test::temp_dir("misuse_resume");
    const auto fd = dataset(root + "/data");
    const std::string run = root + "/run";
    ASSERT_EQ(test::run_pfce("train --data " + fd.root + " --out " + run + kTiny).status, 0);
    // Finished: says so, trains nothing.
    const test::CommandResult done = test::run_pfce("train --resume --out " + run);
    EXPECT_EQ(done.status, 0) << done.output;
    EXPECT_MESSAGE_HAS(done.output, "nothing to do");
    // A mistyped --out is said to be missing (it was said to hold no last.ckpt); a directory
    // without a run still holds no last.ckpt.
    const test::CommandResult typo = test::run_pfce("train --resume --out " + root + "/rnu");
    EXPECT_EQ(typo.status, 2) << typo.output;
    EXPECT_MESSAGE_HAS(typo.output, "nothing to resume in " + root + "/rnu: it does not exist");
    EXPECT_FALSE(fs::exists(root + "/rnu"));
    const test::CommandResult empty = test::run_pfce("train --resume --out " + fd.root);
    EXPECT_EQ(empty.status, 2) << empty.output;
    EXPECT_MESSAGE_HAS(empty.output, "nothing to resume in " + fd.root + ": it holds no last.ckpt");
    // Another spelling of the data path, a trailing slash, a moved run and more epochs: allowed.
    fs::rename(run, root + "/moved");
    const test::CommandResult more =
        test::run_pfce("train --resume --out " + root + "/moved/ --data " + root +
                       "/./data/ --epochs 2 --device cpu");
    EXPECT_EQ(more.status, 0) << more.output;
    EXPECT_MESSAGE_HAS(more.output, "trained 2 epochs");
    // A setting that changes the result is named.
    const test::CommandResult lr =
        test::run_pfce("train --resume --out " + root + "/moved --epochs 3 --lr 0.5");
    EXPECT_EQ(lr.status, 2) << lr.output;
    EXPECT_MESSAGE_HAS(lr.output, "optimizer.lr");
    // "auto" is fp32 on a CPU: the same arithmetic typed out resumes (it was refused as a change);
    // another arithmetic is named.
    const test::CommandResult fp32 =
        test::run_pfce("train --resume --out " + root + "/moved --epochs 2 --precision fp32");
    EXPECT_EQ(fp32.status, 0) << fp32.output;
    const test::CommandResult bf16 =
        test::run_pfce("train --resume --out " + root + "/moved --epochs 3 --precision bf16");
    EXPECT_EQ(bf16.status, 2) << bf16.output;
    EXPECT_MESSAGE_HAS(bf16.output, "run.precision");
    // Keys said to have no effect (sgd's momentum in an adam run, a plateau's patience on a
    // constant schedule, tile windows on a dataset of patches, a dense run's points) are no change
    // either: a shared config carrying them was refused after the warning that they do nothing.
    const test::CommandResult no_effect = test::run_pfce(
        "train --resume --out " + root +
        "/moved --epochs 2 --momentum 0.5 --plateau-patience 4 --tile-patch 200 --points 7");
    EXPECT_EQ(no_effect.status, 0) << no_effect.output;
    EXPECT_MESSAGE_HAS(no_effect.output, "optimizer.momentum = 0.5 has no effect");
    const test::CommandResult sgd =
        test::run_pfce("train --resume --out " + root + "/moved --epochs 2 --optimizer sgd");
    EXPECT_EQ(sgd.status, 2) << sgd.output;
    EXPECT_MESSAGE_HAS(sgd.output, "optimizer.name");
    // A finished run whose metrics.jsonl lost its last line, or the whole file: the last epoch's
    // numbers are said to be lost (a hostile-user probe got epoch 1's, or zeros, as the last).
    const std::string metrics = root + "/moved/metrics.jsonl";
    std::string first;
    std::getline(std::ifstream(metrics), first);
    std::ofstream(metrics) << first << "\n";
    const test::CommandResult cut = test::run_pfce("train --resume --out " + root + "/moved");
    EXPECT_EQ(cut.status, 0) << cut.output;
    EXPECT_MESSAGE_HAS(cut.output, "ends at epoch 1");
    EXPECT_MESSAGE_HAS(cut.output, "numbers of epoch 2");
    EXPECT_EQ(cut.output.find("train loss"), std::string::npos) << cut.output;
    fs::remove(metrics);
    const test::CommandResult gone = test::run_pfce("train --resume --out " + root + "/moved");
    EXPECT_EQ(gone.status, 0) << gone.output;
    EXPECT_MESSAGE_HAS(gone.output, "is missing or empty");
    EXPECT_EQ(gone.output.find("train loss"), std::string::npos) << gone.output;
}

// Resuming reads the data again: a dataset that gained images (a moved split) is refused, since
// the run would train on other images and test on some it trained on; the same ids in other files
// are said (the record holds file times, not pixels), and the run goes on.
TEST(CliMisuse, ResumeRefusesAnotherSplitAndNamesChangedFiles) {
    const std::string root = test::temp_dir("misuse_resume_data");
    const std::string data = root + "/data", run = root + "/run";
    test::write_synthetic(data, 12, 64, 0);
    ASSERT_EQ(test::run_pfce("train --data " + data + " --out " + run + kTiny).status, 0);

    auto replace_data = [&](int count, std::uint64_t seed) {
        fs::remove_all(data);
        test::write_synthetic(data, count, 64, seed);
    };
    const std::string resume = "train --resume --out " + run + " --epochs 2 --device cpu";

    replace_data(20, 1);
    const test::CommandResult grown = test::run_pfce(resume);
    EXPECT_EQ(grown.status, 2) << grown.output;
    EXPECT_MESSAGE_HAS(grown.output, "changed since the run began: its split is now 16/2/2");
    EXPECT_MESSAGE_HAS(grown.output, "start over with --force");

    replace_data(12, 2);
    const test::CommandResult other = test::run_pfce(resume);
    EXPECT_EQ(other.status, 0) << other.output;
    EXPECT_MESSAGE_HAS(other.output, "image and label files changed (or were touched)");
    EXPECT_MESSAGE_HAS(other.output, "trained 2 epochs");
    // eval scores the files as they are, and says when they are not those the run trained on.
    EXPECT_EQ(
        test::run_pfce("eval --checkpoint " + run + "/last.ckpt").output.find("not as it was"),
        std::string::npos);
    replace_data(12, 3);
    const test::CommandResult eval = test::run_pfce("eval --checkpoint " + run + "/last.ckpt");
    EXPECT_EQ(eval.status, 0) << eval.output;
    EXPECT_MESSAGE_HAS(eval.output, "is not as it was when " + run + "/last.ckpt was trained");
    // Images of one size within the window go through whole, in batches: said, as windows are
    // (nothing was).
    EXPECT_MESSAGE_HAS(
        eval.output,
        "scored each image whole, in batches (all 64x64, within the 512x512 window)\n");
    EXPECT_MESSAGE_HAS(eval.output, "(written after the checkpoint: ");
    // One mask written since the checkpoint: named (a walkthrough's edited mask went unnamed).
    fs::copy_file(run + "/last.ckpt", root + "/copy.ckpt");
    {
        const Dataset ds = Dataset::open(data);
        const std::string mask = ds.sample(3).mask_path;
        fs::last_write_time(mask,
                            fs::last_write_time(root + "/copy.ckpt") + std::chrono::minutes(1));
        const test::CommandResult one =
            test::run_pfce("eval --checkpoint " + root + "/copy.ckpt --data " + data);
        EXPECT_EQ(one.status, 0) << one.output;
        EXPECT_MESSAGE_HAS(one.output,
                           "its image and label files changed (or were touched) (written after "
                           "the checkpoint: " +
                               fs::path(mask).lexically_relative(ds.root()).generic_string() + ")");
    }

    // The dataset moved (a faster disk): resumed with --data at its new place, the same samples,
    // while one of other samples is refused beside the key; without --data the message says how.
    const std::string moved = root + "/moved-data";
    fs::rename(data, moved);
    const test::CommandResult lost = test::run_pfce(resume + " --epochs 3");
    EXPECT_EQ(lost.status, 2) << lost.output;
    EXPECT_MESSAGE_HAS(
        lost.output, "its dataset " + data + " no longer exists; if it moved, resume with --data");
    const test::CommandResult there = test::run_pfce(resume + " --epochs 3 --data " + moved);
    EXPECT_EQ(there.status, 0) << there.output;
    // Its files were replaced above (said below the line): not "the same samples".
    EXPECT_MESSAGE_HAS(there.output,
                       "the run's dataset (the same sample ids, its files changed or touched), "
                       "moved from " +
                           data);
    EXPECT_MESSAGE_HAS(there.output, "trained 3 epochs");
    test::write_synthetic(root + "/bigger", 20, 64, 0);
    const test::CommandResult bigger =
        test::run_pfce(resume + " --epochs 4 --data " + root + "/bigger");
    EXPECT_EQ(bigger.status, 2) << bigger.output;
    EXPECT_MESSAGE_HAS(bigger.output, "(not the run's data moved: it had 12 samples, now 20)");
    // Said as settings that differ: it was blamed on a mask directory (with no name) the run has
    // none of.
    EXPECT_MESSAGE_HAS(bigger.output, "these settings differ from the run's own");
    EXPECT_EQ(bigger.output.find("mask directory"), std::string::npos) << bigger.output;
    // Another dataset named alike (the same ids, other files) while the run's data is still there.
    test::write_synthetic(root + "/alike", 12, 64, 7);
    const test::CommandResult alike =
        test::run_pfce(resume + " --epochs 4 --data " + root + "/alike");
    EXPECT_EQ(alike.status, 2) << alike.output;
    EXPECT_MESSAGE_HAS(alike.output, "while the run's data is still at " + moved);
}

// A run's mask directory moved away from where it trained: the resume says to give its new place
// (it said only that the stored labels.dir does not exist), and --labels at the new place
// resumes; the dataset's info line says whether its files are the same (reproducibility probe).
TEST(CliMisuse, ResumeSaysWhereMovedLabelsAreGiven) {
    const std::string root = test::temp_dir("misuse_resume_labels_moved");
    const std::string data = root + "/data", run = root + "/run";
    test::write_synthetic(data, 8, 64, 0);
    ASSERT_EQ(test::run_pfce("sample --data " + data + " --out " + root + "/sparse").status, 0);
    ASSERT_EQ(test::run_pfce("train --data " + data + " --labels " + root + "/sparse --out " + run +
                             kTiny)
                  .status,
              0);
    fs::rename(root + "/sparse", root + "/kept");
    const std::string resume = "train --resume --out " + run + " --device cpu --epochs 2";
    const test::CommandResult lost = test::run_pfce(resume);
    EXPECT_EQ(lost.status, 2) << lost.output;
    EXPECT_MESSAGE_HAS(lost.output, "its labels (labels.dir) " + root +
                                        "/sparse no longer exist; if they moved, resume with "
                                        "--labels NEW_PLACE");
    const test::CommandResult there = test::run_pfce(resume + " --labels " + root + "/kept");
    EXPECT_EQ(there.status, 0) << there.output;
    EXPECT_MESSAGE_HAS(there.output, "trained 2 epochs");
}

// A run's own sparse masks (OUT/labels/sparse) changed by hand: a resume makes them again, as its
// seed makes them, and says so (they were replaced without a word; reproducibility probe).
TEST(CliMisuse, ResumeSaysItSamplesTheRunsChangedMasksAgain) {
    const std::string root = test::temp_dir("misuse_resume_own_masks");
    const std::string data = root + "/data", run = root + "/run";
    test::write_synthetic(data, 8, 64, 0);
    const std::string train =
        "train --data " + data + " --out " + run + " --label-kind sparse --points 50" + kTiny;
    ASSERT_EQ(test::run_pfce(train).status, 0);
    const std::string mask = run + "/labels/sparse/Image_3.png";
    const std::string made = file_text(mask);
    fs::remove(mask);
    const test::CommandResult again = test::run_pfce(train + " --resume --epochs 2");
    EXPECT_EQ(again.status, 0) << again.output;
    EXPECT_MESSAGE_HAS(again.output, "labels: " + run +
                                         "/labels/sparse held the masks of these "
                                         "settings, but ");
    EXPECT_MESSAGE_HAS(again.output, "sampled again (the seed makes the same masks");
    EXPECT_EQ(file_text(mask), made);
    // Its linked masks likewise.
    const std::string linked_run = root + "/linked-run";
    const std::string linked = "train --data " + data + " --out " + linked_run +
                               " --label-kind linked --points 50 --radius 10" + kTiny;
    ASSERT_EQ(test::run_pfce(linked).status, 0);
    const std::string linked_mask = linked_run + "/labels/linked/Image_2.png";
    const std::string linked_made = file_text(linked_mask);
    fs::remove(linked_mask);
    const test::CommandResult relinked = test::run_pfce(linked + " --resume --epochs 2");
    EXPECT_EQ(relinked.status, 0) << relinked.output;
    EXPECT_MESSAGE_HAS(
        relinked.output,
        "labels: " + linked_run + "/labels/linked held the masks of these settings, but ");
    EXPECT_MESSAGE_HAS(relinked.output, "linked again (the same points link the same way");
    EXPECT_EQ(file_text(linked_mask), linked_made);
}

// A dataset moved whole, with its split lists and mask directory inside: --data NEW_PLACE alone
// resumes the run, reading the lists and masks at their place in the new one. A list of other ids
// given at the new place is still refused (the split's ids are compared, not the file's path), and
// so is a mask directory made with other settings.
TEST(CliMisuse, ResumeOnAMovedDatasetFollowsItsSplitListsAndMasks) {
    const std::string root = test::temp_dir("misuse_resume_lists");
    const std::string data = root + "/data", run = root + "/run";
    test::write_synthetic(data, 10, 64, 0);
    fs::create_directories(data + "/splits");
    std::ofstream(data + "/splits/train.txt") << "Image_0\nImage_1\nImage_2\nImage_3\nImage_4\n";
    std::ofstream(data + "/splits/val.txt") << "Image_5\nImage_6\n";
    std::ofstream(data + "/splits/test.txt") << "Image_7\nImage_8\nImage_9\n";
    ASSERT_EQ(test::run_pfce("sample --data " + data + " --out " + data + "/sparse").status, 0);
    const std::string lists = " --train-list " + data + "/splits/train.txt --val-list " + data +
                              "/splits/val.txt --test-list " + data + "/splits/test.txt";
    const test::CommandResult first = test::run_pfce("train --data " + data + " --labels " + data +
                                                     "/sparse" + lists + " --out " + run + kTiny);
    ASSERT_EQ(first.status, 0) << first.output;

    const std::string moved = root + "/moved";
    fs::rename(data, moved);
    const std::string resume = "train --resume --out " + run + " --device cpu --data " + moved;
    const test::CommandResult there = test::run_pfce(resume + " --epochs 2");
    EXPECT_EQ(there.status, 0) << there.output;
    EXPECT_MESSAGE_HAS(there.output, "data.train_list moved with the dataset: " + data +
                                         "/splits/train.txt -> " + moved + "/splits/train.txt");
    EXPECT_MESSAGE_HAS(there.output, "labels.dir moved with the dataset: " + data + "/sparse -> " +
                                         moved + "/sparse");
    EXPECT_MESSAGE_HAS(there.output, "trained 2 epochs");

    // The same list kept elsewhere is the same run.
    fs::copy_file(moved + "/splits/train.txt", root + "/train-copy.txt");
    const test::CommandResult copy =
        test::run_pfce(resume + " --epochs 3 --train-list " + root + "/train-copy.txt");
    EXPECT_EQ(copy.status, 0) << copy.output;
    EXPECT_MESSAGE_HAS(copy.output, "trained 3 epochs");
    // Another training list (one image fewer) is another run.
    std::ofstream(moved + "/splits/other.txt") << "Image_0\nImage_1\nImage_2\nImage_3\n";
    const test::CommandResult other =
        test::run_pfce(resume + " --epochs 4 --train-list " + moved + "/splits/other.txt");
    EXPECT_EQ(other.status, 2) << other.output;
    EXPECT_MESSAGE_HAS(other.output, "changed since the run began: its split is now 4/2/3");
    // The masks copied elsewhere are the run's; masks of other points are other labels, and so
    // is a copy with one mask replaced (the same settings, other pixels).
    fs::copy(moved + "/sparse", root + "/sparse-copy", fs::copy_options::recursive);
    const test::CommandResult copied =
        test::run_pfce(resume + " --epochs 4 --labels " + root + "/sparse-copy");
    EXPECT_EQ(copied.status, 0) << copied.output;
    EXPECT_MESSAGE_HAS(copied.output, "trained 4 epochs");
    ASSERT_EQ(test::run_pfce("sample --data " + moved + " --points 30 --out " + root + "/sparse30")
                  .status,
              0);
    const test::CommandResult masks =
        test::run_pfce(resume + " --epochs 5 --labels " + root + "/sparse30");
    EXPECT_EQ(masks.status, 2) << masks.output;
    EXPECT_MESSAGE_HAS(masks.output, "labels.points: [500] -> [30]");
    EXPECT_MESSAGE_HAS(masks.output, "(not the run's masks: their labelled pixels differ");
    fs::copy(root + "/sparse-copy", root + "/sparse-edit", fs::copy_options::recursive);
    fs::copy_file(root + "/sparse30/Image_0.png", root + "/sparse-edit/Image_0.png",
                  fs::copy_options::overwrite_existing);
    const test::CommandResult edited =
        test::run_pfce(resume + " --epochs 5 --labels " + root + "/sparse-edit");
    EXPECT_EQ(edited.status, 2) << edited.output;
    EXPECT_MESSAGE_HAS(edited.output, "(not the run's masks: their labelled pixels differ");
    // The run's own masks edited in place: resumed, and said.
    fs::copy_file(root + "/sparse30/Image_0.png", root + "/sparse-copy/Image_0.png",
                  fs::copy_options::overwrite_existing);
    const test::CommandResult in_place = test::run_pfce(resume + " --epochs 5");
    EXPECT_EQ(in_place.status, 0) << in_place.output;
    EXPECT_MESSAGE_HAS(in_place.output, "on labels that changed since the run began");
}

TEST(CliMisuse, BestCheckpointWithoutValidationFollowsTheTrainingLoss) {
    const std::string root = test::temp_dir("misuse_best");
    const auto fd = dataset(root + "/data");
    const test::CommandResult r = test::run_pfce("train --data " + fd.root + " --out " + root +
                                                 "/run --val-frac 0 " + "--best val_miou" + kTiny);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_MESSAGE_HAS(r.output, "train_loss");
    EXPECT_TRUE(fs::exists(root + "/run/best.ckpt"));
}

TEST(CliMisuse, SigtermStopsTrainAndRunCleanlyAndTheSameCommandContinues) {
    const std::string root = test::temp_dir("misuse_signal");
    std::ofstream(root + "/s.toml") << R"([suite]
name = "sig"
experiments = [{ id = "long", labels = { kind = "sparse", points = [500] } }]
grid_images = 1
[data]
source = "synthetic"
synthetic_count = 24
synthetic_size = 32
[model]
width = 4
depth = 1
[run]
epochs = 40
batch_size = 2
)";
    const std::string cmd =
        test::pfce_binary() + " run " + root + "/s.toml --device cpu --out " + root + "/out";
    // SIGTERM once training has started; the run saves, says how to continue, exits 130.
    const std::string log = terminate_once_logged(cmd, root + "/log", "training U-Net", "0.3");
    EXPECT_MESSAGE_HAS(log, "rc=130");
    EXPECT_MESSAGE_HAS(log, "run the same command again");
    EXPECT_TRUE(fs::exists(root + "/out/long/train/last.ckpt")) << log;
    EXPECT_FALSE(fs::exists(root + "/out/long/result.json"));
    // The report written on the way out says the experiment was interrupted and continues, not
    // just leaves it out (nor calls it "not run", as it did).
    EXPECT_MESSAGE_HAS(file_text(root + "/out/results.json"), "\"complete\": false");
    EXPECT_MESSAGE_HAS(file_text(root + "/out/report.md"),
                       "its labels and its training so far are saved; run the same command again");
    // Its settings edited (more epochs): the interrupted training is kept, not started over
    // without --force (it was, with an info line), and the exit says not everything ran.
    const std::string ckpt = file_text(root + "/out/long/train/last.ckpt");
    std::string edited = file_text(root + "/s.toml");
    edited.replace(edited.find("epochs = 40"), 11, "epochs = 41");
    std::ofstream(root + "/s41.toml") << edited;
    const test::CommandResult changed =
        test::run_pfce("run " + root + "/s41.toml --device cpu --out " + root + "/out");
    EXPECT_EQ(changed.status, 1) << changed.output;
    EXPECT_MESSAGE_HAS(changed.output,
                       "holds an interrupted training made with other settings "
                       "(run.epochs: 40 -> 41); restore them to continue it");
    EXPECT_EQ(file_text(root + "/out/long/train/last.ckpt"), ckpt);
    EXPECT_FALSE(fs::exists(root + "/out/long/result.json"));
    // The same command continues the interrupted training, also from a copy of the run
    // directory (its sparse labels and synthetic data elsewhere, in files of new times, the
    // original still there): it was kept as "other settings (labels.dir ...)", data.root too.
    fs::copy(root + "/out", root + "/copy", fs::copy_options::recursive);
    const test::CommandResult again =
        test::run_pfce("run " + root + "/s.toml --device cpu --out " + root + "/copy");
    EXPECT_EQ(again.status, 0) << again.output;
    EXPECT_MESSAGE_HAS(again.output, "resuming");
    EXPECT_TRUE(fs::exists(root + "/copy/long/result.json"));
    // Its wall time covers both sessions, and the report says so.
    const std::string result = file_text(root + "/copy/long/result.json");
    EXPECT_EQ(json_int(result, "sessions"), 2) << result;
    EXPECT_MESSAGE_HAS(result, "\"resumed\": true");
    EXPECT_MESSAGE_HAS(file_text(root + "/copy/report.md"), "(2 sessions)");
    EXPECT_FALSE(fs::exists(root + "/copy/long/sessions.json"));
    // And in place.
    const test::CommandResult in_place =
        test::run_pfce("run " + root + "/s.toml --device cpu --out " + root + "/out");
    EXPECT_EQ(in_place.status, 0) << in_place.output;
    EXPECT_MESSAGE_HAS(in_place.output, "resuming");
}

TEST(CliMisuse, MessagesNameTheFileAndTheValue) {
    const std::string root = test::temp_dir("misuse_messages");
    const auto fd = dataset(root + "/data");
    // A non-UTF-8 directory name is refused before any work.
    const std::string odd = root + "/data\xff";
    fs::create_directories(odd);
    fs::copy(fd.root, odd, fs::copy_options::recursive);
    const test::CommandResult u =
        test::run_pfce("train --data '" + odd + "' --out " + root + "/u" + kTiny);
    EXPECT_EQ(u.status, 2) << u.output;
    EXPECT_MESSAGE_HAS(u.output, "UTF-8");
    // --max-pixels 0 is no silent "no limit".
    const test::CommandResult mp = test::run_pfce("data stats " + fd.root + " --max-pixels 0");
    EXPECT_EQ(mp.status, 2) << mp.output;
    EXPECT_MESSAGE_HAS(mp.output, "data.max_pixels = 0");
    // The dataset flags of sample and data are their config keys' flags, read as train reads them:
    // a trailing comma is an empty item (it once read "1," as one band), any case for choices.
    const test::CommandResult tc = test::run_pfce("data stats " + fd.root + " --bands 1,");
    EXPECT_EQ(tc.status, 2) << tc.output;
    EXPECT_MESSAGE_HAS(tc.output,
                       "--bands 1,: expected a comma-separated list without an empty item");
    const test::CommandResult kc = test::run_pfce("data stats " + fd.root + " --kind GENERIC");
    EXPECT_EQ(kc.status, 0) << kc.output;
    // A mask directory opens its images as its masks.json says; a flag typed otherwise is refused
    // (it was overruled without a word), the same one is fine.
    const std::string bgr = root + "/bgr";
    ASSERT_EQ(test::run_pfce("sample --data " + fd.root + " --points 5 --bands 3,2,1 --out " + bgr)
                  .status,
              0);
    const test::CommandResult other =
        test::run_pfce("data preview " + bgr + " --bands 1 --out " + root + "/p1.png");
    EXPECT_EQ(other.status, 2) << other.output;
    EXPECT_MESSAGE_HAS(other.output, "--bands [1]: the masks in");
    // Masks made without --bands record none: a --bands typed beside them is refused as well (it
    // was taken without a word, by data stats and preview alike).
    const std::string plain = root + "/plain";
    ASSERT_EQ(test::run_pfce("sample --data " + fd.root + " --points 5 --out " + plain).status, 0);
    const test::CommandResult typed = test::run_pfce("data stats " + plain + " --bands 3,2,1");
    EXPECT_EQ(typed.status, 2) << typed.output;
    EXPECT_MESSAGE_HAS(typed.output, "--bands [3,2,1]: the masks in " + plain +
                                         " were made from images read with their files' own "
                                         "colours (no --bands)");
    EXPECT_FALSE(fs::exists(root + "/p1.png"));
    const test::CommandResult banded =
        test::run_pfce("data preview " + bgr + " --bands 3,2,1 --out " + root + "/p2.png");
    EXPECT_EQ(banded.status, 0) << banded.output;
    // The image column says which bands it shows (a false-colour view read as "image").
    EXPECT_MESSAGE_HAS(banded.output, " of image (bands 3,2,1) | mask | sparse mask");
    // The dataset previewed beside those masks (--masks) reads its images as they were made:
    // the same sheet as previewing the mask directory itself, and another --bands is refused.
    ASSERT_EQ(
        test::run_pfce("data preview " + fd.root + " --masks " + bgr + " --out " + root + "/p3.png")
            .status,
        0);
    EXPECT_EQ(file_text(root + "/p3.png"), file_text(root + "/p2.png"));
    const test::CommandResult beside = test::run_pfce("data preview " + fd.root + " --masks " +
                                                      bgr + " --bands 1 --out " + root + "/p4.png");
    EXPECT_EQ(beside.status, 2) << beside.output;
    EXPECT_MESSAGE_HAS(beside.output, "--bands [1]: the masks in");
    const test::CommandResult lm = test::run_pfce("link --in " + bgr + " --out " + root +
                                                  "/l --radius 5 --device cpu --max-pixels 0");
    EXPECT_EQ(lm.status, 2) << lm.output;
    EXPECT_MESSAGE_HAS(lm.output, "--max-pixels 0: expected a limit >= 1");
    // focal alpha of the wrong length names the classes.
    const test::CommandResult al = test::run_pfce("train --data " + fd.root + " --out " + root +
                                                  "/al --focal-alpha 1,2" + kTiny);
    EXPECT_EQ(al.status, 2) << al.output;
    EXPECT_MESSAGE_HAS(al.output, "background, road, building, tree");
    EXPECT_MESSAGE_HAS(al.output, "command line: loss.alpha");
    // ... and is refused before labels are drawn, naming the file that set it, not the flags
    // beside it (errors once said "FILE + command line" for any key).
    const std::string cfg = root + "/alpha.toml";
    std::ofstream(cfg) << "[loss]\nalpha = [1, 2, 3]\n[labels]\nkind = \"sparse\"\n";
    const test::CommandResult af = test::run_pfce("train --config " + cfg + " --data " + fd.root +
                                                  " --out " + root + "/af" + kTiny);
    EXPECT_EQ(af.status, 2) << af.output;
    EXPECT_MESSAGE_HAS(af.output, cfg + ": loss.alpha = [1.0,2.0,3.0]: expected 4 weights");
    EXPECT_FALSE(fs::exists(root + "/af"));
    const test::CommandResult pp = test::run_pfce("sample --data " + fd.root + " --out " + root +
                                                  "/pp --points-per-class 5,5");
    EXPECT_EQ(pp.status, 2) << pp.output;
    EXPECT_MESSAGE_HAS(pp.output, "--points-per-class: labels.points = [5,5]: expected 4 counts");
    EXPECT_FALSE(fs::exists(root + "/pp"));
    // --points names itself (it said "sampler: point count 0"), and takes a list as train's does.
    const test::CommandResult zero =
        test::run_pfce("sample --data " + fd.root + " --out " + root + "/pp --points 0");
    EXPECT_EQ(zero.status, 2) << zero.output;
    EXPECT_MESSAGE_HAS(zero.output, "--points: labels.points = 0: expected a count >= 1");
    // In a list, the list as given and which count is wrong (it said "labels.points = 0").
    const test::CommandResult zero_in_list =
        test::run_pfce("sample --data " + fd.root + " --out " + root + "/pp --points 5,0,5,5");
    EXPECT_EQ(zero_in_list.status, 2) << zero_in_list.output;
    EXPECT_MESSAGE_HAS(zero_in_list.output,
                       "--points: labels.points = [5,0,5,5]: expected every "
                       "count >= 1 (count 2 of 4 is 0)");
    const test::CommandResult comma =
        test::run_pfce("sample --data " + fd.root + " --out " + root + "/pp --points 500,");
    EXPECT_EQ(comma.status, 2) << comma.output;
    EXPECT_MESSAGE_HAS(comma.output,
                       "--points 500,: expected a comma-separated list without an "
                       "empty item (a comma too many)");
    EXPECT_FALSE(fs::exists(root + "/pp"));
    // One parser for both commands' lists: train says the same of it, and of a count out of range.
    const test::CommandResult train_comma = test::run_pfce("train --points 500, --print-config");
    EXPECT_EQ(train_comma.status, 2) << train_comma.output;
    EXPECT_MESSAGE_HAS(train_comma.output, "--points 500,: expected a comma-separated list");
    const test::CommandResult huge = test::run_pfce("sample --data " + fd.root + " --out " + root +
                                                    "/pp --points-per-class 99999999999");
    EXPECT_EQ(huge.status, 2) << huge.output;
    EXPECT_MESSAGE_HAS(huge.output,
                       "command line (--points-per-class): key \"labels.points\" = "
                       "[99999999999]: expected an integer in int range");
    const test::CommandResult list =
        test::run_pfce("sample --data " + fd.root + " --out " + root + "/pp --points 1,2,3,4");
    EXPECT_EQ(list.status, 0) << list.output;
    EXPECT_EQ(nlohmann::json::parse(std::ifstream(root + "/pp/masks.json"))["sample"]["points"],
              nlohmann::json({1, 2, 3, 4}));
    // A dangling link among the images names the link.
    fs::create_symlink(root + "/gone.png", fd.root + "/images/tile_9.png");
    const test::CommandResult ln = test::run_pfce("data stats " + fd.root);
    EXPECT_EQ(ln.status, 2) << ln.output;
    EXPECT_MESSAGE_HAS(ln.output, "tile_9.png is a symbolic link");
    fs::remove(fd.root + "/images/tile_9.png");
    // Pixel data cut short after a sound header is found by stats, which decodes everything.
    const std::string victim = fd.root + "/images/tile_3.png";
    const auto size = fs::file_size(victim);
    fs::resize_file(victim, size - 200);
    const test::CommandResult tr = test::run_pfce("data stats " + fd.root);
    EXPECT_EQ(tr.status, 2) << tr.output;
    EXPECT_MESSAGE_HAS(tr.output, "tile_3.png");
    // A path that is not there names the file or the flag that set it.
    std::ofstream(root + "/gone.toml") << "[data]\nroot = \"" << root << "/gone\"\n";
    const test::CommandResult gone =
        test::run_pfce("train --config " + root + "/gone.toml --out " + root + "/g" + kTiny);
    EXPECT_EQ(gone.status, 2) << gone.output;
    EXPECT_MESSAGE_HAS(gone.output, root + "/gone.toml: data.root = \"" + root +
                                        "/gone\" does not exist (expected the dataset's "
                                        "directory)");
    const test::CommandResult no_labels = test::run_pfce(
        "train --data " + fd.root + " --labels " + root + "/nolabels --out " + root + "/g" + kTiny);
    EXPECT_MESSAGE_HAS(no_labels.output, "--labels " + root + "/nolabels does not exist");
    // A device a config file asks for and this machine lacks names the file's key, not a flag
    // that was never typed.
    std::ofstream(root + "/dev.toml") << "[run]\ndevice = \"cuda:9\"\n";
    const test::CommandResult dev =
        test::run_pfce("train --config " + root + "/dev.toml --data " + fd.root + " --out " + root +
                       "/d --epochs 1 --batch-size 4 --width 4 --depth 1");
    EXPECT_EQ(dev.status, 2) << dev.output;
    EXPECT_MESSAGE_HAS(dev.output, root + "/dev.toml: run.device cuda:9: ");
    EXPECT_FALSE(fs::exists(root + "/d"));
}

// An orthophoto larger than the run's data.max_pixels (a memory guard set for its chips) is
// predicted with --max-pixels, which the refusal names; before, it named a flag predict did not
// take, and the only way round was to train again. eval takes it too.
TEST(CliMisuse, PredictAndEvalTakeTheirOwnPixelLimit) {
    const std::string root = test::temp_dir("misuse_max_pixels");
    const auto fd = dataset(root + "/data");
    ASSERT_EQ(test::run_pfce("train --data " + fd.root + " --out " + root +
                             "/run --max-pixels 1280" + kTiny)
                  .status,
              0);
    write_png(root + "/big.png", test::random_rgb(48, 48, 1));
    const std::string predict = "predict --checkpoint " + root + "/run/last.ckpt --input " + root +
                                "/big.png --device cpu --out " + root + "/pred.png";
    const test::CommandResult refused = test::run_pfce(predict);
    EXPECT_EQ(refused.status, 2) << refused.output;
    EXPECT_MESSAGE_HAS(refused.output,
                       "big.png is 48x48 = 2304 pixels, above the limit of 1280 "
                       "(the run's data.max_pixels): raise it with --max-pixels");
    // The memory it would take is the image's own: one window no larger than the image (it cited
    // four 512x512 windows for a 48x48 image).
    EXPECT_MESSAGE_HAS(refused.output, "the activations of 1 window of 48x48, about");
    EXPECT_FALSE(fs::exists(root + "/pred.png"));
    EXPECT_MESSAGE_HAS(test::run_pfce(predict + " --max-pixels 0").output,
                       "--max-pixels 0: expected a limit >= 1");
    EXPECT_EQ(test::run_pfce(predict + " --max-pixels 2304").status, 0);
    EXPECT_TRUE(fs::exists(root + "/pred.png"));
    const test::CommandResult ev = test::run_pfce("eval --checkpoint " + root +
                                                  "/run/last.ckpt --device cpu --max-pixels 100");
    EXPECT_EQ(ev.status, 2) << ev.output;
    EXPECT_MESSAGE_HAS(ev.output, "above the limit of 100");

    // A line a file: a newline in an image's name is shown as \n (it broke the line in two).
    fs::create_directories(root + "/in");
    write_png(root + "/in/a\nb.png", test::random_rgb(16, 16, 2));
    const test::CommandResult nl =
        test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --device cpu --input " +
                       root + "/in --out " + root + "/out");
    EXPECT_EQ(nl.status, 0) << nl.output;
    EXPECT_MESSAGE_HAS(nl.output, root + "/in/a\\nb.png -> " + root + "/out/a\\nb.png (16x16");

    // A mask name whose overlay's name is too long for its temporary is refused before anything
    // is read or written, with the limit on the name the user gives (it named the overlay's own).
    write_png(root + "/small.png", test::random_rgb(16, 16, 3));
    const std::string mask = root + "/" + std::string(230, 'm') + ".png";
    const test::CommandResult long_name =
        test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --device cpu --input " +
                       root + "/small.png --out " + mask);
    EXPECT_EQ(long_name.status, 2) << long_name.output;
    EXPECT_MESSAGE_HAS(long_name.output,
                       "_overlay.png beside it: a name of 242 bytes, past the "
                       "236 pfce can write");
    EXPECT_MESSAGE_HAS(long_name.output, "expected a mask name of at most 228 bytes");
    // The longest companion sets the limit (the overlay's, past it too, named one that the
    // probabilities' name then refused again).
    const test::CommandResult longer =
        test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --device cpu --input " +
                       root + "/small.png --probabilities --confidence --out " + mask);
    EXPECT_EQ(longer.status, 2) << longer.output;
    EXPECT_MESSAGE_HAS(longer.output, "_probabilities.tif beside it: a name of 248 bytes");
    EXPECT_MESSAGE_HAS(longer.output, "expected a mask name of at most 222 bytes");
    EXPECT_FALSE(fs::exists(mask));
}

// A config-key flag given twice was taken at its last value by train without a word (`--data d1
// --data d3` trained on d3): the last still wins, as scripts append their overrides, and it is
// said.
TEST(CliMisuse, ARepeatedConfigFlagIsSaidNamingItsValues) {
    const test::CommandResult r = test::run_pfce("train --epochs 2 --epochs 1 --print-config");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_MESSAGE_HAS(r.output, "--epochs is given 2 times (2, then 1): the last one is taken");
    EXPECT_MESSAGE_HAS(r.output, "epochs = 1\n");
    EXPECT_MESSAGE_HAS(test::run_pfce("data stats /nowhere --kind generic --kind auto").output,
                       "--kind is given 2 times (generic, then auto)");
    EXPECT_MESSAGE_HAS(
        test::run_pfce("train --deterministic --deterministic false --print-config").output,
        "--deterministic is given 2 times (alone, then false)");
    // Every other option of one value too (CLI11 said "At Most 1 required but received 2").
    const test::CommandResult split =
        test::run_pfce("eval --checkpoint /nowhere.ckpt --split val --split=test");
    EXPECT_MESSAGE_HAS(split.output,
                       "--split is given 2 times (val, then test): the last one is "
                       "taken");
    EXPECT_MESSAGE_HAS(split.output, "/nowhere.ckpt");  // and the command goes on to its work
    const test::CommandResult count = test::run_pfce("data synth --count 3 --count 4 --out " +
                                                     test::temp_dir("misuse_repeat") + "/s");
    EXPECT_EQ(count.status, 0) << count.output;
    EXPECT_MESSAGE_HAS(count.output, "wrote 4 synthetic");
}

// A directory given as the suite was "no such suite file"; fractions that leave no test sample
// were taken without a word, and eval --split test found nothing to score only later.
TEST(CliMisuse, ADirectoryForASuiteAndAnEmptyTestSplitAreSaid) {
    const std::string root = test::temp_dir("misuse_small_things");
    const auto fd = dataset(root + "/data");
    const test::CommandResult dir = test::run_pfce("run " + fd.root);
    EXPECT_EQ(dir.status, 2) << dir.output;
    EXPECT_MESSAGE_HAS(dir.output, fd.root + " is a directory: expected a suite file");
    const test::CommandResult all =
        test::run_pfce("train --data " + fd.root + " --out " + root +
                       "/run --train-frac 0.75 --val-frac 0.25" + kTiny);
    EXPECT_EQ(all.status, 0) << all.output;
    EXPECT_MESSAGE_HAS(all.output, "of 8 samples leave no test sample");
    EXPECT_EQ(all.output.find("training images are gray"), std::string::npos) << all.output;
    // Gray images among colour ones (often one band of a stack read by mistake) are said.
    RgbImage gray = read_rgb(fd.root + "/images/tile_0.png");
    for (std::size_t i = 0; i < gray.pixels.size(); i += 3)
        gray.pixels[i + 1] = gray.pixels[i + 2] = gray.pixels[i];
    write_png(fd.root + "/images/tile_0.png", gray);
    const test::CommandResult mixed = test::run_pfce("train --data " + fd.root + " --out " + root +
                                                     "/mixed --train-frac 1 --val-frac 0" + kTiny);
    EXPECT_EQ(mixed.status, 0) << mixed.output;
    EXPECT_MESSAGE_HAS(mixed.output,
                       "1 of the 8 training images are gray (e.g. sample tile_0) and the others "
                       "in colour (e.g. tile_1)");
    EXPECT_EQ(all.output.find("in every training image"), std::string::npos) << all.output;
    // data stats, which decodes them all, says the mix too (it described the first header alone).
    const test::CommandResult stats = test::run_pfce("data stats " + fd.root);
    EXPECT_EQ(stats.status, 0) << stats.output;
    EXPECT_MESSAGE_HAS(stats.output,
                       "1 of the 8 images are gray (equal red, green and blue), the "
                       "others colour");
    // eval of the colour model on them scores them, saying so (as predict says of its inputs).
    const test::CommandResult scored =
        test::run_pfce("eval --checkpoint " + root + "/run/last.ckpt --split all --device cpu");
    EXPECT_EQ(scored.status, 0) << scored.output;
    EXPECT_MESSAGE_HAS(scored.output, "1 of the 8 images scored are gray but " + root +
                                          "/run/last.ckpt was trained on colour images");
    // A channel that never varies (an empty band) trains nothing and misleads predictions: said.
    for (const auto& e : fs::directory_iterator(fd.root + "/images")) {
        RgbImage img = read_rgb(e.path().string());
        for (std::size_t i = 0; i < img.pixels.size(); i += 3) img.pixels[i + 2] = 0;
        write_png(e.path().string(), img);
    }
    const test::CommandResult flat = test::run_pfce("train --data " + fd.root + " --out " + root +
                                                    "/flat --train-frac 1 --val-frac 0" + kTiny);
    EXPECT_EQ(flat.status, 0) << flat.output;
    EXPECT_MESSAGE_HAS(flat.output,
                       "a channel holds the same value in every training image (channel 3 (blue) "
                       "= 0): the model learns nothing from it");
    // Through data.bands the channels are named by the band each one is.
    const test::CommandResult picked =
        test::run_pfce("train --data " + fd.root + " --bands 3,1,2 --out " + root +
                       "/picked --train-frac 1 --val-frac 0" + kTiny);
    EXPECT_EQ(picked.status, 0) << picked.output;
    EXPECT_MESSAGE_HAS(picked.output,
                       "a channel holds the same value in every training image (channel 1 (band 3) "
                       "= 0)");
    // Predicting images where that channel varies is said (it was predicted without a word).
    RgbImage lit = test::random_rgb(40, 32, 5);
    write_png(root + "/lit.png", lit);
    int lo = 255, hi = 0;
    for (std::size_t i = 2; i < lit.pixels.size(); i += 3) {
        lo = std::min<int>(lo, lit.pixels[i]);
        hi = std::max<int>(hi, lit.pixels[i]);
    }
    const test::CommandResult pred =
        test::run_pfce("predict --checkpoint " + root + "/flat/last.ckpt --input " + root +
                       "/lit.png --out " + root + "/lit_pred.png --device cpu");
    EXPECT_EQ(pred.status, 0) << pred.output;
    EXPECT_MESSAGE_HAS(pred.output, root + "/lit.png: channel 3 (blue) holds " +
                                        std::to_string(lo) + ".." + std::to_string(hi) +
                                        " here, but was 0 in every training image of " + root +
                                        "/flat/last.ckpt: the model learnt nothing from that "
                                        "channel");
    const test::CommandResult same =
        test::run_pfce("predict --checkpoint " + root + "/flat/last.ckpt --input " + fd.root +
                       "/images --out " + root + "/same_pred --device cpu");
    EXPECT_EQ(same.status, 0) << same.output;
    EXPECT_EQ(same.output.find("in every training image of"), std::string::npos) << same.output;
}

// A path the system refuses where no check of pfce's said more (a symbolic-link loop, a name too
// long) was a raw "filesystem error: status: ..." with status 1: now the path, the reason and
// status 2, as for any input error.
// An existing --out on a read-only file system is a bad --out (status 2, as one that cannot be
// made): sample, link, run and data synth failed with "creating .../.pfce-output failed" and
// status 1 (hostile-user probe). Needs a tmpfs mount (root); skipped where none can be made.
TEST(CliMisuse, AnOutputDirectoryOnAReadOnlyFileSystemIsRefusedAsInput) {
    const std::string root = test::temp_dir("misuse_read_only");
    const std::string ro = root + "/ro";
    fs::create_directories(ro);
    if (test::run_command("mount -t tmpfs -o size=1m tmpfs '" + ro + "' 2>/dev/null").status != 0)
        GTEST_SKIP() << "no tmpfs mount here (needs root)";
    struct Unmount {
        std::string dir;
        ~Unmount() { (void)test::run_command("umount '" + dir + "' 2>/dev/null"); }
    } unmount{ro};
    fs::create_directories(ro + "/synth");
    fs::create_directories(ro + "/masks");
    fs::create_directories(ro + "/run");
    const auto fd = dataset(root + "/data");
    // pfce's own directory there too (it failed later, at its files, with status 1).
    ASSERT_EQ(
        test::run_pfce("sample --data " + fd.root + " --points 5 --out " + ro + "/done").status, 0);
    ASSERT_EQ(test::run_command("mount -o remount,ro '" + ro + "'").status, 0);
    ASSERT_EQ(
        test::run_pfce("sample --data " + fd.root + " --points 5 --out " + root + "/sp").status, 0);
    for (const std::string& cmd :
         {"data synth --out " + ro + "/synth --count 3 --size 32",
          "sample --data " + fd.root + " --points 5 --out " + ro + "/masks",
          "link --in " + root + "/sp --out " + ro + "/masks --device cpu",
          "sample --data " + fd.root + " --points 6 --out " + ro + "/done --force",
          "train --data " + fd.root + " --out " + ro + "/run" + kTiny}) {
        const test::CommandResult r = test::run_pfce(cmd);
        EXPECT_EQ(r.status, 2) << cmd << "\n" << r.output;
        EXPECT_MESSAGE_HAS(r.output, "Read-only file system");
    }
}

TEST(CliMisuse, APathTheSystemRefusesIsNamedWithItsReason) {
    const std::string root = test::temp_dir("misuse_fs_paths");
    fs::create_symlink(root + "/loop2", root + "/loop1");
    fs::create_symlink(root + "/loop1", root + "/loop2");
    const test::CommandResult loop =
        test::run_pfce("train --data " + root + " --out " + root + "/loop1/run" + kTiny);
    EXPECT_EQ(loop.status, 2) << loop.output;
    EXPECT_MESSAGE_HAS(loop.output,
                       "pfce: error: " + root + "/loop1: Too many levels of symbolic links");
    EXPECT_EQ(loop.output.find("filesystem error"), std::string::npos) << loop.output;
    // A loop or a dangling link given as an input read "does not exist" (hostile-user probe).
    const std::string l1 = root + "/loop1";
    fs::create_symlink(root + "/nowhere", root + "/dangling");
    const std::vector<std::pair<std::string, std::string>> inputs = {
        {"train --data " + l1 + " --out " + root + "/r" + kTiny,
         "dataset root " + l1 + " is not a directory (it is a loop of symbolic links)"},
        {"train --config " + l1, l1 + " is a loop of symbolic links"},
        {"run " + l1, "suite file " + l1 + " is a loop of symbolic links"},
        {"link --in " + l1 + " --out " + root + "/x",
         "--in " + l1 + " is a loop of symbolic links (expected the --out of pfce sample)"},
        {"data stats " + root + "/dangling",
         "(it is a symbolic link to " + root + "/nowhere, which does not exist)"}};
    for (const auto& [args, said] : inputs) {
        const test::CommandResult r = test::run_pfce(args);
        EXPECT_EQ(r.status, 2) << args << "\n" << r.output;
        EXPECT_MESSAGE_HAS(r.output, said);
    }
    // An output file whose directory cannot be made names --out and the reason, before any image
    // is read; the directories preview made for a sheet it then failed to write are removed.
    const auto fd = dataset(root + "/data");
    std::ofstream(root + "/afile") << "x";
    const test::CommandResult in_file =
        test::run_pfce("data preview " + fd.root + " --out " + root + "/afile/p.png");
    EXPECT_EQ(in_file.status, 2) << in_file.output;
    EXPECT_MESSAGE_HAS(in_file.output, "--out " + root + "/afile/p.png: " + root +
                                           "/afile: cannot create this directory: Not a directory");
    const test::ForeignDataset broken = test::write_foreign_dataset(root + "/broken", {});
    {  // its second image's header reads, its pixels do not: preview fails on it, after mkdir
        const std::string png = broken.root + "/images/tile_1.png";
        std::string bytes = file_text(png);
        ASSERT_NE(bytes.find("IDAT"), std::string::npos);
        bytes.resize(bytes.find("IDAT") + 24);
        std::ofstream(png, std::ios::binary | std::ios::trunc) << bytes;
    }
    const test::CommandResult bad_image =
        test::run_pfce("data preview " + broken.root + " --out " + root + "/made/sub/p.png");
    EXPECT_NE(bad_image.status, 0) << bad_image.output;
    EXPECT_MESSAGE_HAS(bad_image.output, "tile_1.png: truncated or corrupt PNG (");
    EXPECT_FALSE(fs::exists(root + "/made")) << bad_image.output;
    // A config from a pipe (toml++ would seek it, and it was read twice).
    std::string piped = "printf '[run]\\nepochs = 3\\n' | \"";
    piped += test::pfce_binary() + "\" train --config /dev/stdin --print-config 2>&1";
    const test::CommandResult pipe = test::run_command(piped);
    EXPECT_EQ(pipe.status, 0) << pipe.output;
    EXPECT_MESSAGE_HAS(pipe.output, "epochs = 3\n");
}

// Settings that were taken quietly and meant something else (second hostile-user probe).
TEST(CliMisuse, QuietlyTakenSettingsAreRefusedNamingTheValue) {
    const std::string root = test::temp_dir("misuse_quiet");
    const auto fd = dataset(root + "/data");
    // --points beside --points-per-class used to be ignored.
    const test::CommandResult pp = test::run_pfce("sample --data " + fd.root + " --out " + root +
                                                  "/s --points 5 --points-per-class 1,2,3,4");
    EXPECT_NE(pp.status, 0) << pp.output;
    EXPECT_MESSAGE_HAS(pp.output, "--points");
    EXPECT_FALSE(fs::exists(root + "/s"));
    // Two classes of one name could not be told apart in any metric.
    std::string toml = file_text(fd.root + "/dataset.toml");
    toml.replace(toml.find("\"tree\""), 6, "\"road\"");
    std::ofstream(fd.root + "/dataset.toml") << toml;
    const test::CommandResult dup = test::run_pfce("data stats " + fd.root);
    EXPECT_EQ(dup.status, 2) << dup.output;
    EXPECT_MESSAGE_HAS(dup.output, "class name \"road\" appears twice");
    // Nor two apart only in case ("Clutter" beside "clutter": clutter is found in any case).
    toml.replace(toml.find("\"road\"", toml.find("\"road\"") + 1), 6, "\"Road\"");
    std::ofstream(fd.root + "/dataset.toml") << toml;
    const test::CommandResult cased = test::run_pfce("data stats " + fd.root);
    EXPECT_EQ(cased.status, 2) << cased.output;
    EXPECT_MESSAGE_HAS(cased.output,
                       "class name \"Road\" appears twice in classes.names (as "
                       "\"road\": names apart only in case)");
    // A suite's name becomes runs/<name>: a path there would write elsewhere.
    std::ofstream(root + "/suite.toml") << "[suite]\nname = \"../x\"\nexperiments = []\n";
    const test::CommandResult su = test::run_pfce("run " + root + "/suite.toml --device cpu");
    EXPECT_EQ(su.status, 2) << su.output;
    EXPECT_MESSAGE_HAS(su.output, "name = \"../x\"");
}

// Empty values: CLI11 read `--force=` and `--deterministic=` as the switch alone, refused
// `--augment ""` naming a blank argument, took the word after `--out=` as the value (a run
// trained into a directory named --force), and passed "" or " " to other options as a value
// (`eval --data ""` fell back to the trained dataset; `--out " "` made a directory " "). Config-key
// flags still parse their own empty values. Numbers that were sentinels for "the default"
// (`--window 0`, `--overlap -1`, `--batch-size 0`) are refused like any other out-of-range value;
// a device name reads in any case.
TEST(CliMisuse, EmptyValuesAndSentinelsAreRefusedNamingTheFlag) {
    const std::string root = test::temp_dir("misuse_empty");
    struct Case {
        std::string args, message;
    };
    const std::vector<Case> cases = {
        {"train --augment \"\"", "--augment \"\": an empty value; --augment takes true or false"},
        {"train --deterministic=", "--deterministic=: an empty value"},
        {"train --no-augment=", "--no-augment=: --no-augment takes no value"},
        {"train --epochs \"\"", "--epochs \"\": expected"},                // the key's own parser
        {"train --out= --force", "run.out = \"\": expected a directory"},  // not --out --force
        {"train --out \" \"", "run.out = \" \": expected a path, not spaces"},
        {"predict --checkpoint c --input i --out o --force=", "--force=: --force takes no value"},
        {"predict --checkpoint c --input i --out o --force \"\"", "--force \"\": --force takes no"},
        {"predict --checkpoint c --input i --out \" \"", "--out \" \": a blank value; --out takes"},
        {"eval --checkpoint c --data \"\"", "--data \"\": an empty value; --data takes TEXT"},
        {"link --in \"\" --out o", "--in \"\": an empty value"},
        {"run \"\"", "pfce run: suite is empty (\"\")"},
        {"run -- \"\"", "pfce run: suite is empty (\"\")"},
        {"run x --only ,", "--only ,: an empty experiment id"},
        {"data stats \"\" -v", "pfce data stats: DIR is empty (\"\"); expected dataset root"},
        {"predict --checkpoint c --input i --out o --window 0", "--window 0: expected"},
        {"predict --checkpoint c --input i --out o --overlap -1", "--overlap -1: expected >= 0"},
        {"eval --checkpoint c --batch-size 0", "--batch-size 0: expected a positive batch"},
        {"eval --checkpoint c --window 0", "--window 0: expected"},
        {"eval --checkpoint c --overlap -1", "--overlap -1: expected >= 0"},
        {"eval --checkpoint c --device GPU", "--device GPU: expected auto, cpu, cuda or cuda:N"},
        {"eval --checkpoint c --device cuda:1x", "--device cuda:1x: expected"},
        {"eval --checkpoint " + root + "/none.ckpt --device CPU",
         "--checkpoint " + root + "/none.ckpt does not exist (expected a checkpoint file"},
    };
    for (const Case& c : cases) {
        const test::CommandResult r = test::run_pfce(c.args);
        EXPECT_EQ(r.status, 2) << c.args << "\n" << r.output;
        EXPECT_MESSAGE_HAS(r.output, c.message) << c.args;
    }
    EXPECT_FALSE(fs::exists("--force"));
    const test::CommandResult count = test::run_pfce("data synth --out " + root + "/s --count 0");
    EXPECT_EQ(count.status, 2) << count.output;
    EXPECT_MESSAGE_HAS(count.output, "--count 0: expected at least 1 image");
    // An unknown option is named before anything after it is judged.
    const test::CommandResult typo = test::run_pfce("data stats " + root + " --cout 2 \"\"");
    EXPECT_NE(typo.status, 0);
    EXPECT_MESSAGE_HAS(typo.output, "--cout");
    const test::CommandResult command = test::run_pfce("dta stats \"\"");
    EXPECT_NE(command.status, 0);
    EXPECT_MESSAGE_HAS(command.output, "\"dta\" is not a command of pfce; expected one of data, ");
    // A word after a switch is its value; a config-key flag's empty value, as `--key ""` or
    // `--key=`, goes to its parser (an empty list); list items may have spaces around them.
    const test::CommandResult ok = test::run_pfce(
        "train --augment false --bands= --value-range \"\" --focal-alpha \"1, 2,3, 4,5,6\" "
        "--print-config");
    EXPECT_EQ(ok.status, 0) << ok.output;
    EXPECT_MESSAGE_HAS(ok.output, "augment = false");
    EXPECT_MESSAGE_HAS(ok.output, "bands = []");
    EXPECT_MESSAGE_HAS(ok.output, "alpha = [1.0,2.0,3.0,4.0,5.0,6.0]");
}

TEST(CliMisuse, KaggleNumbersOfAnyLengthAndMixedSizesNameTheSamples) {
    const std::string root = test::temp_dir("misuse_kaggle");
    fs::create_directories(root + "/k/patches/Images");
    fs::create_directories(root + "/k/patches/Labels");
    const std::string n20 = "12345678901234567890123";
    LabelMap m(8, 8, 0);
    write_png(root + "/k/patches/Images/Image_" + n20 + ".png", RgbImage(8, 8));
    write_png(root + "/k/patches/Labels/Label_" + n20 + ".png", potsdam_palette().encode(m));
    write_png(root + "/k/patches/Images/Image_7.png", RgbImage(12, 10));
    write_png(root + "/k/patches/Labels/Label_7.png",
              potsdam_palette().encode(LabelMap(12, 10, 1)));
    const test::CommandResult st = test::run_pfce("data stats " + root + "/k");
    EXPECT_EQ(st.status, 0) << st.output;
    EXPECT_MESSAGE_HAS(st.output, "12x10 (1)");
    const test::CommandResult t =
        test::run_pfce("train --data " + root + "/k --train-frac 1 " + "--val-frac 0 --out " +
                       root + "/run" + kTiny + " --batch-size 1");
    EXPECT_EQ(t.status, 2) << t.output;
    EXPECT_MESSAGE_HAS(t.output, "Image_7 is 12x10");
    EXPECT_MESSAGE_HAS(t.output, "Image_" + n20);
    EXPECT_MESSAGE_HAS(t.output, "--crop-size");
}

// A split list must be a file naming samples: an empty one, or a directory, is refused naming it,
// not read as an empty split (a training split "leaving no sample", a silently empty validation).
TEST(CliMisuse, SplitListsThatNameNoSampleAreRefused) {
    const std::string root = test::temp_dir("misuse_lists");
    const auto fd = dataset(root + "/data");
    std::ofstream(root + "/train.txt") << fd.ids[0] << "\n" << fd.ids[1] << "\n";
    std::ofstream(root + "/empty.txt") << "# nothing yet\n\n";
    fs::create_directories(root + "/adir");
    const std::string train = "train --data " + fd.root + kTiny;
    struct Case {
        std::string flags, named, says;
    };
    const std::vector<Case> cases = {
        {" --train-list " + root + "/empty.txt", root + "/empty.txt", "holds no sample ids"},
        {" --train-list " + root + "/adir", root + "/adir", "is a directory"},
        {" --train-list " + root + "/train.txt --val-list " + root + "/empty.txt",
         root + "/empty.txt", "--val-list"},
        {" --train-list " + root + "/train.txt --test-list " + root + "/adir", root + "/adir",
         "--test-list"},
    };
    int k = 0;
    for (const Case& c : cases) {
        const test::CommandResult r =
            test::run_pfce(train + c.flags + " --out " + root + "/r" + std::to_string(k++));
        EXPECT_EQ(r.status, 2) << c.flags << "\n" << r.output;
        EXPECT_MESSAGE_HAS(r.output, c.named);
        EXPECT_MESSAGE_HAS(r.output, c.says);
    }
    // A list set in a config file is named with the file, not as a flag nobody typed (probe).
    std::ofstream(root + "/lists.toml") << "[data]\ntrain_list = \"" << root << "/missing.txt\"\n";
    const test::CommandResult file =
        test::run_pfce(train + " --config " + root + "/lists.toml --out " + root + "/rf");
    EXPECT_EQ(file.status, 2) << file.output;
    EXPECT_MESSAGE_HAS(file.output, "cannot open split list " + root +
                                        "/missing.txt (data.train_list in " + root + "/lists.toml");
    EXPECT_EQ(file.output.find("--train-list"), std::string::npos) << file.output;
}

// Settings that trained on nonsense without a word (hostile-user probe: --lr 1e9 trained to a
// loss of 9.5e8 with exit 0): refused before any output exists, naming the key, the value and the
// bound; pfce link takes no radius a train config refuses. A batch larger than the training split
// is legal but is said as a warning, not only in the start line that -q hides.
TEST(CliMisuse, AbsurdSettingsAreRefusedAndABatchLargerThanTheSplitIsSaid) {
    const std::string root = test::temp_dir("misuse_absurd");
    const auto fd = dataset(root + "/data");
    const std::string train =
        "train --data " + fd.root + " --width 4 --depth 1 --device cpu --out " + root + "/run";
    struct Case {
        std::string flags, says;
    };
    const std::vector<Case> cases = {
        {" --epochs 1 --lr 1e9", "optimizer.lr = 1e+09: expected in [1e-10, 1] for adam"},
        {" --epochs 1 --optimizer sgd --lr 100",
         "optimizer.lr = 100: expected in [1e-10, 10] for sgd"},
        // Values float arithmetic would turn into 0 or inf, named by their key before any kernel.
        {" --epochs 1 --crf-weight 0.1 --crf-sigma-xy 1e-300",
         "loss.crf_sigma_xy = 1e-300: expected 0.01..10000 pixels"},
        {" --epochs 1 --focal-alpha 3e38,1,1,1",
         "loss.alpha = 3e+38: expected every weight 0 or in"},
        {" --epochs 1 --weight-decay 1e300", "optimizer.weight_decay = 1e+300: expected at most"},
        {" --epochs 1000000000", "run.epochs = 1000000000: expected 1..100000"},
        {" --epochs 1 --batch-size 100000000", "run.batch_size = 100000000: expected 1..65535"},
        {" --epochs 1 --radius 100000", "labels.radius = 100000: expected 0..10000"},
    };
    for (const Case& c : cases) {
        const test::CommandResult r = test::run_pfce(train + c.flags);
        EXPECT_EQ(r.status, 2) << c.flags << "\n" << r.output;
        EXPECT_MESSAGE_HAS(r.output, c.says);
        EXPECT_FALSE(fs::exists(root + "/run")) << c.flags;
    }
    fs::create_directories(root + "/sparse");
    const test::CommandResult ln = test::run_pfce("link --in " + root + "/sparse --out " + root +
                                                  "/linked --radius 100000 --device cpu");
    EXPECT_EQ(ln.status, 2) << ln.output;
    EXPECT_MESSAGE_HAS(ln.output, "--radius 100000: expected 0..10000");
    EXPECT_FALSE(fs::exists(root + "/linked"));

    const test::CommandResult big = test::run_pfce(train + " --epochs 1 --batch-size 64");
    EXPECT_EQ(big.status, 0) << big.output;
    EXPECT_MESSAGE_HAS(big.output, "warn: run.batch_size 64 is more than the");
}

// What train checks before it trains: an --out it cannot write into (found at the first
// checkpoint, an epoch later, before), a user's file named like a checkpoint (not a run, so not
// replaced by --force), --resume with --force (continue or start over), and a misused flag exits 2
// like every other refused input.
TEST(CliMisuse, TrainRefusesBeforeTrainingWhatWouldFailOrOverwriteAfter) {
    const std::string root = test::temp_dir("misuse_out_checks");
    const auto fd = dataset(root + "/data");
    const std::string train = "train --data " + fd.root + kTiny;
    const test::CommandResult unwritable = test::run_pfce(train + " --out /proc/pfce-run");
    EXPECT_EQ(unwritable.status, 2) << unwritable.output;
    EXPECT_MESSAGE_HAS(unwritable.output, "--out /proc/pfce-run: cannot write into /proc (");
    // A directory whose files' paths would pass PATH_MAX (it failed after the data was read, as
    // "cannot remove .../last.ckpt: File name too long").
    std::string deep = root;
    while (deep.size() < 4060) deep += "/" + std::string(200, 'd');
    const test::CommandResult too_deep = test::run_pfce(train + " --out " + deep);
    EXPECT_EQ(too_deep.status, 2) << too_deep.output;
    EXPECT_MESSAGE_HAS(too_deep.output,
                       "past the 4095 a path may have: expected a directory "
                       "whose absolute path is at most 4030 bytes");

    fs::create_directories(root + "/mine");
    std::ofstream(root + "/mine/last.ckpt") << "my notes\n";
    const test::CommandResult mine = test::run_pfce(train + " --force --out " + root + "/mine");
    EXPECT_EQ(mine.status, 2) << mine.output;
    EXPECT_MESSAGE_HAS(mine.output, "holds last.ckpt that pfce did not write");
    EXPECT_EQ(file_text(root + "/mine/last.ckpt"), "my notes\n");

    // ... nor beside pfce's own files: a real checkpoint or metrics does not make them a run's.
    fs::create_directories(root + "/mixed");
    std::ofstream(root + "/mixed/metrics.jsonl") << "my measurements\n";
    std::ofstream(root + "/mixed/best.ckpt") << "notes\n";
    ASSERT_EQ(test::run_pfce(train + " --out " + root + "/real").status, 0);
    fs::copy_file(root + "/real/last.ckpt", root + "/mixed/last.ckpt");
    const test::CommandResult mixed = test::run_pfce(train + " --force --out " + root + "/mixed");
    EXPECT_EQ(mixed.status, 2) << mixed.output;
    EXPECT_MESSAGE_HAS(mixed.output, "holds best.ckpt, metrics.jsonl that pfce did not write");
    EXPECT_EQ(file_text(root + "/mixed/metrics.jsonl"), "my measurements\n");
    EXPECT_EQ(file_text(root + "/mixed/best.ckpt"), "notes\n");

    // A checkpoint of the run's own that does not read (empty after a power cut that lost its
    // data, cut short by a full disk), beside its metrics lines and config.toml: --resume names it
    // and the way out, --force starts the run over (it could be neither resumed nor started over).
    std::ofstream(root + "/real/last.ckpt", std::ios::trunc).flush();
    const test::CommandResult damaged = test::run_pfce(train + " --out " + root + "/real");
    EXPECT_EQ(damaged.status, 2) << damaged.output;
    EXPECT_MESSAGE_HAS(damaged.output,
                       "holds a run whose last.ckpt does not read as a checkpoint "
                       "(empty): --force starts the run over");
    const test::CommandResult resumed = test::run_pfce("train --resume --out " + root + "/real");
    EXPECT_EQ(resumed.status, 2) << resumed.output;
    EXPECT_MESSAGE_HAS(resumed.output,
                       "last.ckpt: truncated (0 bytes). The run cannot continue "
                       "from it: --force starts it over in ");
    // Its best.ckpt still reads: a new run from its weights is offered too (only --force was).
    ASSERT_TRUE(is_checkpoint_file(root + "/real/best.ckpt"));
    EXPECT_MESSAGE_HAS(resumed.output, "; its best.ckpt (epoch ");
    EXPECT_MESSAGE_HAS(resumed.output, ") still reads: pfce train --config " + root +
                                           "/real/config.toml --init-from " + root +
                                           "/real/best.ckpt --out NEW_DIR starts a new run from "
                                           "its weights");
    const test::CommandResult over = test::run_pfce(train + " --force --out " + root + "/real");
    EXPECT_EQ(over.status, 0) << over.output;
    EXPECT_TRUE(is_checkpoint_file(root + "/real/last.ckpt"));

    const test::CommandResult both =
        test::run_pfce(train + " --resume --force --out " + root + "/run");
    EXPECT_EQ(both.status, 2) << both.output;
    EXPECT_MESSAGE_HAS(both.output, "--resume excludes --force");
    const test::CommandResult flags = test::run_pfce(train + " --augment --no-augment");
    EXPECT_EQ(flags.status, 2) << flags.output;
    const test::CommandResult missing = test::run_pfce("train --config " + root + "/none.toml");
    EXPECT_EQ(missing.status, 2) << missing.output;
    EXPECT_MESSAGE_HAS(missing.output, root + "/none.toml");
}

// Ctrl-C / SIGTERM stop predict between images: it exits 130, and every mask it wrote has its
// overlay and is whole (no temporary left).
TEST(CliMisuse, SigtermStopsPredictBetweenImages) {
    const std::string root = test::temp_dir("misuse_predict_signal");
    test::ForeignSpec spec;
    spec.sizes.assign(4, {40, 32});
    const auto fd = dataset(root + "/data", spec);
    ASSERT_EQ(test::run_pfce("train --data " + fd.root + " --out " + root + "/run" + kTiny).status,
              0);
    // Many images, each large enough that predicting all of them takes a while.
    const std::string many = root + "/many";
    fs::create_directories(many);
    const RgbImage img = test::random_rgb(512, 512, 3);
    for (int i = 0; i < 60; ++i) write_png(many + "/im_" + std::to_string(i) + ".png", img);
    const std::string out = root + "/pred";
    const std::string cmd = test::pfce_binary() + " predict --checkpoint " + root +
                            "/run/last.ckpt --input " + many + " --out " + out + " --device cpu";
    // SIGTERM once the first image is done.
    const std::string log = terminate_once_logged(cmd, root + "/log", " -> ");
    EXPECT_MESSAGE_HAS(log, "rc=130");
    EXPECT_MESSAGE_HAS(log, "interrupted after");
    int masks = 0;
    for (const auto& e : fs::directory_iterator(out)) {
        const std::string name = e.path().filename().string();
        if (name == ".pfce-predictions") continue;  // the mark of a directory of predictions
        EXPECT_NE(name[0], '.') << "a temporary was left: " << name;
        if (name.find("_overlay") != std::string::npos) continue;
        ++masks;
        EXPECT_TRUE(fs::exists(out + "/" + e.path().stem().string() + "_overlay.png")) << name;
        EXPECT_NO_THROW(read_gray(e.path().string()));
    }
    EXPECT_GE(masks, 1);
    EXPECT_LT(masks, 60) << "predict finished before the signal: the test needs more images";
    // Stopped while --force replaces masks: those not yet replaced are the earlier prediction's,
    // which --skip-existing would keep (the advice named it, and a model's masks were mixed with
    // another's: interruption probe).
    const std::string forced = terminate_once_logged(cmd + " --force", root + "/log_force", " -> ");
    EXPECT_MESSAGE_HAS(forced, "rc=130");
    EXPECT_MESSAGE_HAS(forced,
                       "the others are still the earlier prediction's where there was "
                       "one: predict all again with --force (--skip-existing would keep "
                       "those)");

    // One large image under test-time augmentation (thousands of forward passes): stopped inside
    // it, not after it, and nothing of it written.
    const std::string big = root + "/big.png", big_out = root + "/new/dir/big_pred.png";
    write_png(big, test::random_rgb(1536, 1536, 4));
    const std::string one = test::pfce_binary() + " predict --checkpoint " + root +
                            "/run/last.ckpt --input " + big + " --out " + big_out +
                            " --device cpu --window 32 --tta d4";
    const std::string one_log = terminate_once_logged(one, root + "/log1", "device:", "0.5");
    EXPECT_MESSAGE_HAS(one_log,
                       "interrupted before the first of 1 image(s) was done; nothing written");
    EXPECT_MESSAGE_HAS(one_log, "rc=130");
    EXPECT_FALSE(fs::exists(big_out));
    EXPECT_FALSE(fs::exists(root + "/new")) << "the directories made for it are removed again";
    // A FIFO as --input would block the read for good: refused.
    const std::string fifo = root + "/fifo.png";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    const test::CommandResult f =
        test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --input " + fifo +
                       " --out " + root + "/f.png --device cpu");
    EXPECT_EQ(f.status, 2) << f.output;
    EXPECT_MESSAGE_HAS(f.output, "is not a regular file (a FIFO, socket or device)");
}

// A --force rerun of a suite stopped while it trains an experiment: that experiment's earlier
// result is gone (it was reported, and skipped by the next run, beside checkpoints it no longer
// described), one not reached yet keeps its current result in the report, and the same command
// without --force continues the training where it stopped (suite probe).
TEST(CliMisuse, AStoppedForcedSuiteRerunKeepsNoResultItReplaced) {
    const std::string root = test::temp_dir("misuse_suite_force_stop");
    ASSERT_EQ(test::run_pfce("data synth --out " + root + "/d --count 12 --size 64").status, 0);
    const auto write_suite = [&](int b_epochs) {
        std::ofstream(root + "/s.toml")
            << "[suite]\nname = \"k\"\nexperiments = [{ id = \"a\" }, { id = \"b\", run = { "
               "epochs = "
            << b_epochs
            << " } }, { id = \"c\", labels = { kind = \"sparse\", points = 50 } }]\n[data]\n"
               "source = \"dataset\"\n[model]\nwidth = 4\ndepth = 1\n[run]\nepochs = 1\n"
               "batch_size = 4\n";
    };
    const std::string out = root + "/r";
    const std::string run = test::pfce_binary() + " run " + root + "/s.toml --data " + root +
                            "/d --device cpu --out " + out;
    write_suite(2);
    ASSERT_EQ(test::run_command(run + " 2>&1").status, 0);
    for (const char* id : {"a", "b", "c"})
        ASSERT_TRUE(fs::exists(out + "/" + id + "/result.json")) << id;
    // b now trains for 5000 epochs: its result is stale, and a forced rerun is stopped in it.
    write_suite(5000);
    const std::string c_result = file_text(out + "/c/result.json");
    // A forced rerun reruns a, then is stopped in b, before c.
    const std::string forced =
        terminate_once_logged(run + " --force", root + "/log1", "epoch 3/5000 train");
    EXPECT_MESSAGE_HAS(forced, "rc=130");
    EXPECT_MESSAGE_HAS(forced,
                       "run the same command again without --force (which starts it "
                       "over) to continue where it stopped");
    EXPECT_MESSAGE_HAS(forced,
                       "not reached by this --force run, their earlier results kept: c "
                       "(pfce run with --force --only c reruns them)");
    EXPECT_FALSE(fs::exists(out + "/b/result.json"));
    EXPECT_EQ(file_text(out + "/c/result.json"), c_result);
    const std::string report = file_text(out + "/report.md");
    EXPECT_MESSAGE_HAS(report, "- **b**: interrupted after");
    EXPECT_MESSAGE_HAS(report, "\n| c | sparse 50/class |");
    EXPECT_EQ(report.find("**c**"), std::string::npos) << report;
    // Without --force: a and c are skipped, b resumes where the forced run stopped.
    const std::string again = terminate_once_logged(run, root + "/log2", "resuming");
    EXPECT_MESSAGE_HAS(again, "a: finished earlier");
    EXPECT_MESSAGE_HAS(again, "c: finished earlier");
    EXPECT_MESSAGE_HAS(again, "resuming " + out + "/b/train at epoch ");
    EXPECT_EQ(again.find("resuming " + out + "/b/train at epoch 1,"), std::string::npos) << again;
}

// What a command prints is its result: written to a full disk (/dev/full), --print-config and
// --help ended with status 0 and nothing written (hostile-user probe). Now status 1, said.
TEST(CliMisuse, AnUnwritableStandardOutputIsAnError) {
    if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
    for (const std::string args : {"train --print-config", "--help"}) {
        std::string command = "\"";  // appended to: GCC 12 warns (-Wrestrict) at "\"" + string&&
        command += test::pfce_binary() + "\" " + args + " 2>&1 > /dev/full";
        const test::CommandResult r = test::run_command(command);
        EXPECT_EQ(r.status, 1) << args << ": " << r.output;
        EXPECT_MESSAGE_HAS(r.output, "writing to standard output failed: No space left on device");
    }
    const test::CommandResult fine = test::run_pfce("train --print-config");
    EXPECT_EQ(fine.status, 0) << fine.output;
}

// OMP_NUM_THREADS=100000 crashed every command inside the OpenMP runtime (hostile-user probe):
// a count above the CPUs the process may use is capped, saying so, and the command runs.
TEST(CliMisuse, AnAbsurdOpenMpThreadCountIsCapped) {
    std::string command = "OMP_NUM_THREADS=100000 \"";
    command += test::pfce_binary() + "\" doctor 2>&1";
    const test::CommandResult r = test::run_command(command);
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_MESSAGE_HAS(r.output,
                       "OpenMP asks for OMP_NUM_THREADS=100000, more threads than the "
                       "CPUs this process may use");
    // Past 2^32, as written (OpenMP's own count has wrapped).
    std::string huge = "OMP_NUM_THREADS=99999999999 \"";
    huge += test::pfce_binary() + "\" doctor 2>&1";
    EXPECT_MESSAGE_HAS(test::run_command(huge).output, "OMP_NUM_THREADS=99999999999, more threads");
    // A count OpenMP cannot read is said with what is used instead (libgomp's own line says only
    // "invalid value"); a list for nested levels is no count to refuse.
    std::string bad = "OMP_NUM_THREADS=abc \"";
    bad += test::pfce_binary() + "\" doctor 2>&1";
    const test::CommandResult b = test::run_command(bad);
    EXPECT_EQ(b.status, 0) << b.output;
    EXPECT_MESSAGE_HAS(b.output,
                       "OMP_NUM_THREADS=\"abc\" is not a positive count of threads: "
                       "OpenMP ignores it and uses ");
    std::string nested = "OMP_NUM_THREADS=1,1 \"";
    nested += test::pfce_binary() + "\" doctor 2>&1";
    const test::CommandResult n = test::run_command(nested);
    EXPECT_EQ(n.status, 0) << n.output;
    EXPECT_EQ(n.output.find("OMP_NUM_THREADS="), std::string::npos) << n.output;
}

// From a walk through the docs: the shipped experiment files did not work with train --config
// ("unknown table experiment"); --print-config with --labels printed kind = "dense" for linked
// masks, and that file then trained on them with its kind ignored (the same value as a flag was
// refused); data.tile_* on a dataset that data.kind = "auto" found not to be tiles was taken
// without a word.
TEST(CliMisuse, ExperimentFilesTrainAndPrintedConfigsSayTheirLabels) {
    const std::string root = test::temp_dir("misuse_configs");
    const auto fd = dataset(root + "/data");
    const std::string experiments = test::source_dir() + "/experiments";
    const test::CommandResult e4 =
        test::run_pfce("train --config " + experiments + "/e4-500-linked.toml --data " + fd.root +
                       " --print-config");
    EXPECT_EQ(e4.status, 0) << e4.output;
    EXPECT_MESSAGE_HAS(e4.output,
                       "the experiment file of \"e4-500-linked\": pfce train takes its "
                       "settings over the defaults, not over its suite's");
    EXPECT_MESSAGE_HAS(e4.output, "kind = \"linked\"");
    const test::CommandResult suite =
        test::run_pfce("train --config " + experiments + "/synthetic-small.toml --print-config");
    EXPECT_EQ(suite.status, 2) << suite.output;
    EXPECT_MESSAGE_HAS(suite.output,
                       "synthetic-small.toml is a suite file ([suite]): run it with pfce run");

    const std::string sparse = root + "/sparse", linked = root + "/linked";
    ASSERT_EQ(test::run_pfce("sample --data " + fd.root + " --points 5 --out " + sparse).status, 0);
    ASSERT_EQ(
        test::run_pfce("link --in " + sparse + " --out " + linked + " --radius 7 --device cpu")
            .status,
        0);
    // Linking settings beside masks that are not linked: refused, not recorded as the run's.
    const test::CommandResult unlinked =
        test::run_pfce("train --data " + fd.root + " --labels " + sparse + " --radius 5 --out " +
                       root + "/r5" + kTiny);
    EXPECT_EQ(unlinked.status, 2) << unlinked.output;
    EXPECT_MESSAGE_HAS(unlinked.output, "--radius 5: the masks of labels.dir " + sparse +
                                            " are sparse, not linked, and labels.radius is a "
                                            "linking setting");
    EXPECT_FALSE(fs::exists(root + "/r5"));
    // The file --print-config writes for sparse masks trains as printed: its linking keys at
    // their defaults set nothing (it was refused for the conflict = "unlabelled" it printed).
    std::string print_sparse = "\"";
    print_sparse += test::pfce_binary() + "\" train --data " + fd.root + " --labels " + sparse +
                    " --out " + root + "/r5" + kTiny + " --print-config 2>&1 > " + root +
                    "/sparse.toml";
    ASSERT_EQ(test::run_command(print_sparse).status, 0);
    EXPECT_MESSAGE_HAS(file_text(root + "/sparse.toml"), "conflict = \"unlabelled\"");
    const test::CommandResult sparse_printed =
        test::run_pfce("train --config " + root + "/sparse.toml");
    EXPECT_EQ(sparse_printed.status, 0) << sparse_printed.output;
    fs::remove_all(root + "/r5");
    std::string print = "\"";  // appended to: GCC 12 warns (-Wrestrict) at "\"" + string&&
    print += test::pfce_binary() + "\" train --data " + fd.root + " --labels " + linked +
             " --print-config 2>&1 > " + root + "/printed.toml";
    ASSERT_EQ(test::run_command(print).status, 0);
    const std::string printed = file_text(root + "/printed.toml");
    EXPECT_MESSAGE_HAS(printed, "kind = \"linked\"");
    EXPECT_MESSAGE_HAS(printed, "radius = 7");
    const std::string run = " --out " + root + "/run" + kTiny;
    const test::CommandResult as_printed =
        test::run_pfce("train --config " + root + "/printed.toml" + run);
    EXPECT_EQ(as_printed.status, 0) << as_printed.output;
    std::string dense = printed;
    dense.replace(dense.find("kind = \"linked\""), 15, "kind = \"dense\"");
    std::ofstream(root + "/dense.toml") << dense;
    const test::CommandResult refused =
        test::run_pfce("train --config " + root + "/dense.toml --out " + root + "/run2" + kTiny);
    EXPECT_EQ(refused.status, 2) << refused.output;
    EXPECT_MESSAGE_HAS(refused.output, root +
                                           "/dense.toml: labels.kind = \"dense\", but the masks "
                                           "of labels.dir " +
                                           linked + " were made with labels.kind = \"linked\"");
    // A starting file printed without --labels (every key at its default: kind = "dense",
    // points = [500]) with --labels typed: the masks typed decide (it was refused, so the
    // documented --config my.toml --labels DIR never trained).
    std::string print_start = "\"";
    print_start += test::pfce_binary() + "\" train --data " + fd.root + " --print-config 2>&1 > " +
                   root + "/start.toml";
    ASSERT_EQ(test::run_command(print_start).status, 0);
    const test::CommandResult started =
        test::run_pfce("train --config " + root + "/start.toml --labels " + linked + " --out " +
                       root + "/r8" + kTiny);
    EXPECT_EQ(started.status, 0) << started.output;
    EXPECT_MESSAGE_HAS(started.output, root + "/start.toml: labels.kind, ");
    EXPECT_MESSAGE_HAS(started.output, " (at their defaults) give way to the masks of --labels " +
                                           linked + ", whose masks.json says how they were made");
    EXPECT_MESSAGE_HAS(file_text(root + "/r8/config.toml"), "kind = \"linked\"");
    // A setting away from its default that the masks contradict names its flag, or the
    // file that holds the key (both were "labels.radius = 5", naming neither).
    const test::CommandResult flag =
        test::run_pfce("train --data " + fd.root + " --labels " + linked + " --radius 5 --out " +
                       root + "/r6" + kTiny);
    EXPECT_EQ(flag.status, 2) << flag.output;
    EXPECT_MESSAGE_HAS(flag.output, "labels.radius = 5 (--radius): labels.dir " + linked +
                                        " holds linked masks made with radius = 7 (its "
                                        "masks.json); a mask directory is trained on as it is: "
                                        "drop --radius or make masks with it");
    std::ofstream(root + "/r5.toml") << "[labels]\ndir = \"" + linked + "\"\nradius = 5\n";
    const test::CommandResult file = test::run_pfce("train --config " + root + "/r5.toml --data " +
                                                    fd.root + " --out " + root + "/r7" + kTiny);
    EXPECT_EQ(file.status, 2) << file.output;
    EXPECT_MESSAGE_HAS(file.output, root + "/r5.toml: labels.radius = 5: labels.dir " + linked);
    EXPECT_MESSAGE_HAS(file.output, "drop labels.radius or make masks with it");
    // A switch turned off is named as typed (it said "drop --scale-by-area" to --no-scale-by-area).
    const test::CommandResult off =
        test::run_pfce("train --data " + fd.root + " --labels " + linked +
                       " --no-scale-by-area --out " + root + "/r6" + kTiny);
    EXPECT_EQ(off.status, 2) << off.output;
    EXPECT_MESSAGE_HAS(off.output, "labels.scale_by_area = false (--no-scale-by-area)");
    EXPECT_MESSAGE_HAS(off.output, "drop --no-scale-by-area or make masks with it");
    EXPECT_FALSE(fs::exists(root + "/r6"));
    EXPECT_FALSE(fs::exists(root + "/r7"));

    const test::CommandResult tile = test::run_pfce("train --data " + fd.root + " --out " + root +
                                                    "/tile --tile-patch 200" + kTiny);
    EXPECT_EQ(tile.status, 0) << tile.output;
    EXPECT_MESSAGE_HAS(tile.output, "data.tile_patch = 200 has no effect: " + fd.root +
                                        " is a generic dataset (data.kind = \"auto\" found it)");
}

// link took any negative --max-color-step as off and recorded it; a run on those masks took the
// value into its config, which --resume then refused (labels.max_color_step is >= 0 or -1).
TEST(CliMisuse, LinkTakesTheColourStepsARunCanResumeWith) {
    const std::string root = test::temp_dir("misuse_link_step");
    const auto fd = dataset(root + "/data");
    const std::string sparse = root + "/sparse", linked = root + "/linked";
    ASSERT_EQ(test::run_pfce("sample --data " + fd.root + " --points 5 --out " + sparse).status, 0);
    const test::CommandResult minus2 = test::run_pfce("link --in " + sparse + " --out " + linked +
                                                      " --max-color-step -2 --device cpu");
    EXPECT_EQ(minus2.status, 2) << minus2.output;
    EXPECT_MESSAGE_HAS(minus2.output, "--max-color-step -2: expected a finite number >= 0");
    EXPECT_FALSE(fs::exists(linked));
    // 1e39 is inf as a float (stored as null): refused naming the value typed (it said "inf").
    for (const char* step : {"inf", "1e39", "1e300"}) {
        const test::CommandResult r = test::run_pfce("link --in " + sparse + " --out " + linked +
                                                     " --max-color-step " + step + " --device cpu");
        EXPECT_EQ(r.status, 2) << step << "\n" << r.output;
        EXPECT_MESSAGE_HAS(r.output, std::string("--max-color-step ") + step + ": expected a");
        EXPECT_FALSE(fs::exists(linked)) << step;
    }
    // A step no two colours are apart by keeps every segment: said, as 0 is (probe), and -0 is
    // said as 0.
    const test::CommandResult wide = test::run_pfce("link --in " + sparse + " --out " + root +
                                                    "/wide --max-color-step 1e3 --device cpu");
    EXPECT_EQ(wide.status, 0) << wide.output;
    EXPECT_MESSAGE_HAS(wide.output,
                       "--max-color-step = 1000 keeps every segment: no two 0-255 RGB "
                       "colours are farther apart than 441.7");
    const test::CommandResult minus0 = test::run_pfce("link --in " + sparse + " --out " + root +
                                                      "/zero --max-color-step -0 --device cpu");
    EXPECT_EQ(minus0.status, 0) << minus0.output;
    EXPECT_MESSAGE_HAS(minus0.output, "edge-aware: max colour step 0\n");
    ASSERT_EQ(test::run_pfce("link --in " + sparse + " --out " + linked +
                             " --max-color-step -1 --device cpu")
                  .status,
              0);
    // Masks an older link recorded with -2 (and no checksum): read as off (-1), so the run resumes.
    nlohmann::json record = nlohmann::json::parse(file_text(linked + "/masks.json"));
    record["link"]["max_color_step"] = -2;
    record.erase("checksum");
    std::ofstream(linked + "/masks.json") << record.dump(2);
    const std::string train =
        "train --data " + fd.root + " --labels " + linked + " --out " + root + "/run";
    ASSERT_EQ(test::run_pfce(train + kTiny).status, 0);
    const test::CommandResult resumed =
        test::run_pfce("train --resume --out " + root + "/run --epochs 2");
    EXPECT_EQ(resumed.status, 0) << resumed.output;
    const test::CommandResult printed = test::run_pfce(train + " --print-config");
    EXPECT_MESSAGE_HAS(printed.output, "max_color_step = -1");
}

// --resume --config FILE put the defaults under the file (a file of run.epochs alone was refused
// for model.width, model.depth and run.batch_size, which nobody set), and --resume
// --print-config printed settings that the resume then refused.
TEST(CliMisuse, ResumeTakesAConfigFileOverTheRunsOwnSettings) {
    const std::string root = test::temp_dir("misuse_resume_config");
    const auto fd = dataset(root + "/data");
    const std::string run = root + "/run";
    ASSERT_EQ(test::run_pfce("train --data " + fd.root + " --out " + run + kTiny).status, 0);
    std::ofstream(root + "/more.toml") << "[run]\nepochs = 2\nout = \"" << run << "\"\n";
    const test::CommandResult more =
        test::run_pfce("train --resume --config " + root + "/more.toml");
    EXPECT_EQ(more.status, 0) << more.output;
    const std::string metrics = file_text(run + "/metrics.jsonl");
    EXPECT_EQ(std::count(metrics.begin(), metrics.end(), '\n'), 2) << metrics;
    const test::CommandResult printed =
        test::run_pfce("train --resume --out " + run + " --lr 0.01 --print-config");
    EXPECT_EQ(printed.status, 2) << printed.output;
    EXPECT_MESSAGE_HAS(printed.output, "cannot resume " + run + ": these settings differ");
    const test::CommandResult longer =
        test::run_pfce("train --resume --out " + run + " --epochs 3 --print-config");
    EXPECT_EQ(longer.status, 0) << longer.output;
    EXPECT_MESSAGE_HAS(longer.output, "epochs = 3");
    EXPECT_MESSAGE_HAS(longer.output, "width = 4");
    // run.evaluate has no effect in pfce train (it says so): it does not block a resume.
    const test::CommandResult evaluate =
        test::run_pfce("train --resume --out " + run + " --epochs 3 --evaluate best");
    EXPECT_EQ(evaluate.status, 0) << evaluate.output;
    // Point counts are per 300x300: the log says what was kept at the images' size.
    const test::CommandResult sparse =
        test::run_pfce("train --data " + fd.root + " --label-kind sparse --points 500 --out " +
                       root + "/sparse" + kTiny);
    EXPECT_EQ(sparse.status, 0) << sparse.output;
    EXPECT_MESSAGE_HAS(sparse.output,
                       "sparse 500/class (per 300x300, each image's count scaled by its area: "
                       "7/class at 40x32, the first image's size)");
}

// Class weights of 0 on every class the training labels hold trained nothing (loss 0.0000 every
// epoch, status 0), found only by a class that no training pixel has taking all the weight.
TEST(CliMisuse, ClassWeightsOnNoLabelledClassAreRefused) {
    const std::string root = test::temp_dir("misuse_alpha_unlabelled");
    const auto fd = dataset(root + "/data");
    std::ofstream(fd.root + "/dataset.toml")
        << "[classes]\nnames = [\"background\", \"road\", \"building\", \"tree\", "
           "\"water\"]\n[mask]\nencoding = \"palette\"\nignore_colours = [[155, 155, 155]]\n"
           "colours = [[0, 0, 0], [128, 64, 128], [70, 70, 70], [107, 142, 35], [0, 0, 255]]\n";
    const std::string train = "train --data " + fd.root + " --out " + root + "/run" + kTiny;
    const test::CommandResult none = test::run_pfce(train + " --focal-alpha 0,0,0,0,1");
    EXPECT_EQ(none.status, 2) << none.output;
    EXPECT_MESSAGE_HAS(none.output,
                       "loss.alpha = [0.0,0.0,0.0,0.0,1.0] gives weight 0 to every class labelled "
                       "in the training samples (background, road, building, tree, in the dense "
                       "masks of " +
                           fd.root + ")");
    EXPECT_FALSE(fs::exists(root + "/run"));
    const test::CommandResult one = test::run_pfce(train + " --focal-alpha 0,0,0,1,1");
    EXPECT_EQ(one.status, 0) << one.output;
    // With the CRF term on, every pixel trains whatever the weights: not refused.
    const test::CommandResult crf =
        test::run_pfce("train --data " + fd.root + " --out " + root + "/crf" + kTiny +
                       " --focal-alpha 0,0,0,0,1 --crf-weight 0.1");
    EXPECT_EQ(crf.status, 0) << crf.output;
}

// Taken without a word until a hostile-user probe: suite-only and CUDA-only settings in a CPU
// train, split lists that leave samples untested, a split with nothing to score (NaN metrics,
// status 0), choices in capitals that other flags take, a sample switch given a value, and a
// resume whose longer cosine schedule raises the lr again.
TEST(CliMisuse, SettingsWithoutEffectAndNothingToScoreAreSaid) {
    const std::string root = test::temp_dir("misuse_said");
    const auto fd = dataset(root + "/data");
    {
        RgbImage ignored(40, 32);  // tile_7's mask: every pixel the ignore colour
        for (std::size_t i = 0; i < ignored.pixels.size(); ++i)
            ignored.pixels[i] = test::kForeignIgnoreColour[i % 3];
        write_png(fd.root + "/masks/tile_7.png", ignored);
    }
    std::ofstream(root + "/train.txt") << "tile_0\ntile_1\ntile_2\ntile_3\n";
    std::ofstream(root + "/val.txt") << "tile_4\n";
    std::ofstream(root + "/test.txt") << "tile_7\n";
    const std::string lists =
        " --train-list " + root + "/train.txt --val-list " + root + "/val.txt";
    const test::CommandResult r = test::run_pfce(
        "train --data " + fd.root + " --out " + root + "/run" + lists +
        " --evaluate best --step-graph --schedule plateau --label-kind linked" + kTiny);
    EXPECT_EQ(r.status, 0) << r.output;
    // Said with the sources of the settings that make it so (flags here), not "the defaults" of
    // the patience it is about.
    EXPECT_MESSAGE_HAS(r.output, "warn: command line: schedule.name = \"plateau\" cannot lower");
    // The points sampled, then linked: not "sampled linked" and "linked linked".
    EXPECT_MESSAGE_HAS(r.output, "labels: sampled sparse 500/class");
    EXPECT_MESSAGE_HAS(r.output, "labels: linked 500/class D=20 -> ");
    EXPECT_MESSAGE_HAS(r.output,
                       "no test sample (no data.test_list): the lists name 5 of the 8 "
                       "samples, and the other 3 are used nowhere");
    EXPECT_MESSAGE_HAS(r.output, "run.evaluate = \"best\" has no effect in pfce train");
    EXPECT_MESSAGE_HAS(r.output, "run.step_graph = true has no effect on the CPU backend");
    EXPECT_EQ(test::run_pfce("eval --checkpoint " + root + "/run/last.ckpt --split VAL").status, 0);

    const test::CommandResult empty =
        test::run_pfce("train --data " + fd.root + " --out " + root + "/run2" + lists +
                       " --test-list " + root + "/test.txt" + kTiny);
    EXPECT_EQ(empty.status, 0) << empty.output;
    const test::CommandResult nothing =
        test::run_pfce("eval --checkpoint " + root + "/run2/last.ckpt");
    EXPECT_EQ(nothing.status, 2) << nothing.output;
    EXPECT_MESSAGE_HAS(nothing.output,
                       "(1 image, e.g. tile_7) label no pixel: there is nothing "
                       "to score");
    // Among labelled images, it is said and scores nothing.
    const test::CommandResult all =
        test::run_pfce("eval --checkpoint " + root + "/run2/last.ckpt --split all");
    EXPECT_EQ(all.status, 0) << all.output;
    EXPECT_MESSAGE_HAS(all.output, "8 images (1 of them label no pixel: nothing scored)");

    const std::string sparse = root + "/sparse";
    const test::CommandResult no_scale = test::run_pfce(
        "sample --data " + fd.root + " --points 5 --out " + sparse + " --scale-by-area false");
    EXPECT_EQ(no_scale.status, 0) << no_scale.output;
    EXPECT_EQ(nlohmann::json::parse(file_text(sparse + "/masks.json"))["sample"]["scale_by_area"],
              false);
    // As train's switches: given twice, the last is taken and said; negated, not also given.
    const test::CommandResult twice =
        test::run_pfce("sample --data " + fd.root + " --points 5 --out " + root +
                       "/s3 --scale-by-area false --scale-by-area");
    EXPECT_EQ(twice.status, 0) << twice.output;
    EXPECT_MESSAGE_HAS(twice.output, "--scale-by-area is given 2 times (false, then alone)");
    EXPECT_EQ(test::run_pfce("sample --data " + fd.root + " --points 5 --out " + root +
                             "/s4 --no-scale-by-area --scale-by-area")
                  .status,
              2);
    EXPECT_EQ(test::run_pfce("sample --data " + fd.root + " --points 5 --out " + root +
                             "/s2 --scale-by-area maybe")
                  .status,
              2);
    EXPECT_EQ(test::run_pfce("link --in " + sparse + " --out " + root +
                             "/linked --conflict LOWEST --device cpu")
                  .status,
              0);
    const test::CommandResult png =
        test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --input " + fd.root +
                       "/images --out " + root + "/pred --format PNG --device cpu");
    EXPECT_EQ(png.status, 0) << png.output;
    // A directory of images into a new --out named like an image made a directory "x.tif"; an
    // --out of ".png" alone wrote the hidden file "..png" (foreign-data probe).
    const test::CommandResult into_file =
        test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --input " + fd.root +
                       "/images --out " + root + "/preds.tif --device cpu");
    EXPECT_EQ(into_file.status, 2) << into_file.output;
    EXPECT_MESSAGE_HAS(into_file.output, "/preds.tif names an image file, but --input ");
    EXPECT_MESSAGE_HAS(
        into_file.output,
        "expected a directory for their masks and overlays (e.g. " + root + "/preds/)");
    EXPECT_FALSE(fs::exists(root + "/preds.tif"));
    const test::CommandResult hidden =
        test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --input " + fd.root +
                       "/images/" + fd.ids[0] + ".png --out " + root + "/.png --device cpu");
    EXPECT_EQ(hidden.status, 2) << hidden.output;
    EXPECT_MESSAGE_HAS(hidden.output,
                       "the file name .png is only an extension (it would be a "
                       "hidden file)");

    const std::string cosine = "train --data " + fd.root + " --out " + root +
                               "/cos --schedule cosine --device cpu --batch-size 4 --width 4 "
                               "--depth 1";
    ASSERT_EQ(test::run_pfce(cosine + " --epochs 3").status, 0);
    const test::CommandResult longer = test::run_pfce(cosine + " --epochs 6 --resume");
    EXPECT_EQ(longer.status, 0) << longer.output;
    EXPECT_MESSAGE_HAS(longer.output,
                       "resuming with a longer schedule (3 -> 6 epochs): the cosine "
                       "schedule now spans 6 epochs, so the lr rises from 0.00025 (epoch 3) to "
                       "0.0005 (epoch 4)");
}

// Linking into a directory of other links printed its whole masks.json as one line; reusing links
// made without the dataset told to pass --data when it was passed, then said "wrote".
TEST(CliMisuse, LinkSaysWhichSettingDiffersAndWhatAReuseMeasured) {
    const std::string root = test::temp_dir("misuse_link_words");
    const auto fd = dataset(root + "/data");
    const std::string sparse = root + "/sparse", linked = root + "/linked";
    ASSERT_EQ(test::run_pfce("sample --data " + fd.root + " --points 5 --out " + sparse).status, 0);
    const std::string link = "link --in " + sparse + " --out " + linked + " --device cpu";
    ASSERT_EQ(test::run_pfce(link + " --max-color-step 40").status, 0);
    const test::CommandResult other = test::run_pfce(link);
    EXPECT_EQ(other.status, 2) << other.output;
    EXPECT_MESSAGE_HAS(other.output,
                       "already holds masks made otherwise (max_color_step 40.0 "
                       "there, -1.0 asked); pass --force to replace them");
    // Sampling again into the points with other settings says which (it said only "already
    // holds masks").
    const test::CommandResult resample =
        test::run_pfce("sample --data " + fd.root + " --points 9 --seed 3 --out " + sparse);
    EXPECT_EQ(resample.status, 2) << resample.output;
    EXPECT_MESSAGE_HAS(resample.output,
                       "made otherwise (points [5] there, [9] asked, seed 0 "
                       "there, 3 asked); pass --force to replace them");
    const test::CommandResult into_links =
        test::run_pfce("sample --data " + fd.root + " --points 5 --out " + linked);
    EXPECT_EQ(into_links.status, 2) << into_links.output;
    EXPECT_MESSAGE_HAS(into_links.output, "linked masks, not sampled points");
    // A radius of 0 links nothing: said, as train says it of labels.radius = 0.
    const test::CommandResult zero =
        test::run_pfce("link --in " + sparse + " --out " + root + "/zero --radius 0 --device cpu");
    EXPECT_EQ(zero.status, 0) << zero.output;
    EXPECT_MESSAGE_HAS(zero.output, "--radius 0 links no two points");
    // Into another directory of sampled points: said as such (it was "made otherwise, by another
    // pfce, which recorded no link settings"), and kept.
    const std::string points = root + "/points";
    ASSERT_EQ(test::run_pfce("sample --data " + fd.root + " --points 7 --out " + points).status, 0);
    const test::CommandResult into_points =
        test::run_pfce("link --in " + sparse + " --out " + points + " --device cpu");
    EXPECT_EQ(into_points.status, 2) << into_points.output;
    EXPECT_MESSAGE_HAS(into_points.output,
                       points + " holds the sparse masks of pfce sample (points, not links)");
    const std::string plain = root + "/plain";
    ASSERT_EQ(test::run_pfce("link --in " + sparse + " --out " + plain + " --device cpu").status,
              0);
    const test::CommandResult reused = test::run_pfce("link --in " + sparse + " --out " + plain +
                                                      " --device cpu --data " + fd.root);
    EXPECT_EQ(reused.status, 0) << reused.output;
    EXPECT_MESSAGE_HAS(reused.output, "kept " + plain + " as it was");
}

// From a hostile-user probe: options of commands other than train answered CLI11's "Could not
// convert: --radius = abc", naming no expectation and without pfce's prefix.
TEST(CliMisuse, UnreadableNumbersSayWhatWasExpected) {
    const test::CommandResult radius = test::run_pfce("link --in x --out y --radius abc");
    EXPECT_EQ(radius.status, 2) << radius.output;
    EXPECT_MESSAGE_HAS(radius.output, "pfce: error: --radius: expected an integer, got \"abc\"");
    const test::CommandResult count = test::run_pfce("data synth --out zz --count 99999999999");
    EXPECT_EQ(count.status, 2) << count.output;
    EXPECT_MESSAGE_HAS(count.output,
                       "pfce: error: --count 99999999999: expected an integer small enough");
    const test::CommandResult seed = test::run_pfce("data synth --out zz --seed -1");
    EXPECT_EQ(seed.status, 2) << seed.output;
    EXPECT_MESSAGE_HAS(seed.output, "pfce: error: --seed: expected a non-negative integer");
    // CLI11 read integers as C literals: --count 010 made 8 images, 0x10 16. Decimal only now.
    const test::CommandResult hex = test::run_pfce("data synth --out zz --count 0x10");
    EXPECT_EQ(hex.status, 2) << hex.output;
    EXPECT_MESSAGE_HAS(hex.output, "pfce: error: --count: expected an integer, got \"0x10\"");
    const std::string root = test::temp_dir("misuse_decimal");
    const test::CommandResult ten =
        test::run_pfce("data synth --out " + root + "/d --count 010 --size 32");
    EXPECT_EQ(ten.status, 0) << ten.output;
    EXPECT_MESSAGE_HAS(ten.output, "wrote 10 synthetic 32x32 images");
    // A leading '+' is read by every number option as --lr +1e-3 was (--batch-size +4 and --seed
    // +3 were refused); "+-4" and a lone "+" are not numbers.
    const test::CommandResult plus =
        test::run_pfce("data synth --out " + root + "/p --count +3 --size +32 --seed +5");
    EXPECT_EQ(plus.status, 0) << plus.output;
    EXPECT_MESSAGE_HAS(plus.output, "wrote 3 synthetic 32x32 images");
    const test::CommandResult train_plus =
        test::run_pfce("train --data " + root + "/p --out " + root +
                       "/run --epochs +1 --batch-size +2 --seed +1 --width 4 --depth 1 "
                       "--device cpu --print-config");
    EXPECT_EQ(train_plus.status, 0) << train_plus.output;
    EXPECT_MESSAGE_HAS(train_plus.output, "batch_size = 2");
    EXPECT_MESSAGE_HAS(test::run_pfce("data synth --out zz --count +-3").output,
                       "--count: expected an integer, got \"+-3\"");
    EXPECT_MESSAGE_HAS(test::run_pfce("train --data zz --out zz --batch-size +").output,
                       "--batch-size +: expected an integer");
    EXPECT_MESSAGE_HAS(test::run_pfce("train --data zz --out zz --seed +-1").output,
                       "--seed +-1: expected a non-negative integer");
    const test::CommandResult unknown = test::run_pfce("data synth --out zz --bogus");
    EXPECT_EQ(unknown.status, 2) << unknown.output;
    EXPECT_MESSAGE_HAS(unknown.output,
                       "pfce: error: pfce data synth has no option --bogus; pfce "
                       "data synth --help lists its options");
    EXPECT_FALSE(fs::exists("zz"));
}

namespace {
// `pfce ARGS` refuses its command line (status 2) with `message`.
void says(const std::string& args, const std::string& message) {
    const test::CommandResult r = test::run_pfce(args);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.output;
    EXPECT_MESSAGE_HAS(r.output, message);
}
}  // namespace

// A mistyped option is named, with the one it most likely meant (CLI11 listed the values first,
// "not expected: 1 --epoch", and where the typo was of a required option said only that the
// required one was missing); a word past the command's arguments is named with what was likely
// meant: a shell pattern's files after --input, a .toml for --config (error-message audit).
TEST(CliMisuse, AMistypedOptionIsNamedWithTheOneMeant) {
    const std::string root = test::temp_dir("cli_typo");
    says("train --data zz --epoch 1", "pfce train has no option --epoch (did you mean --epochs?)");
    says("predict --chekpoint c.ckpt --input a.tif --out y.png",
         "pfce predict has no option --chekpoint (did you mean --checkpoint?); pfce predict "
         "--help lists its options");
    says("link --in a --out-dir b --radius 3",
         "pfce link has no option --out-dir (did you mean --out?)");
    says("data synth --out zz --count=3 --sise 32", "(did you mean --size?)");
    says("data stats zz --verbos", "(did you mean --verbose?)");  // pfce's own, after the command
    says("train --data zz --qwertyuiop 3",
         "pfce train has no option --qwertyuiop; pfce train --help");
    says("train -epochs 3 --data zz", "pfce train has no option -epochs (did you mean --epochs?)");
    says("data synth -o zz", "pfce data synth has no option -o");
    says("train --e 3", "pfce train has no option --e; pfce train --help");
    // Help asked for beside a typo is shown, as CLI11 shows it (status 0).
    const test::CommandResult help = test::run_pfce("train --bogus --help");
    EXPECT_EQ(help.status, 0) << help.output;
    EXPECT_MESSAGE_HAS(help.output, "--epochs");
    // An unquoted pattern: the shell gives --input one file and the rest as words of their own.
    for (const char* name : {"a.tif", "b.tif", "c.tif"}) std::ofstream(root + "/" + name) << "x";
    says("predict --checkpoint c.ckpt --input " + root + "/a.tif " + root + "/b.tif " + root +
             "/c.tif --out o",
         "pfce predict: unexpected argument \"" + root +
             "/b.tif\" (and 3 more after it); --input takes one image or one directory");
    says("train my.toml",
         "pfce train: unexpected argument \"my.toml\"; a config file is given with "
         "--config my.toml");
    says("data stats zz yy", "pfce data stats: unexpected argument \"yy\"; pfce data stats --help");
    EXPECT_FALSE(fs::exists("zz"));
}

// Inputs that are not what their flag takes are said with the flag and what it takes
// (error-message audit): a missing --input (it was called "one file" by --match), a quoted shell
// pattern as --input, a decimal comma, a checkpoint or a run directory given as --config, an
// experiment file run as a suite, and a missing path among several of one command.
TEST(CliMisuse, AnInputNotWhatItsFlagTakesIsSaidWithTheFlag) {
    const std::string root = test::temp_dir("cli_input_kind");
    says("predict --checkpoint c.ckpt --input " + root + "/nope --match '*.tif' --out " + root +
             "/o",
         "--input " + root +
             "/nope does not exist (expected an image file or a directory of images)");
    says("predict --checkpoint c.ckpt --input '" + root + "/pin/*.tif' --out " + root + "/o",
         "--input " + root +
             "/pin/*.tif does not exist: --input takes one image or one directory, "
             "not a pattern; give the directory and the pattern to --match (--input " +
             root + "/pin --match '*.tif')");
    says("train --data " + root + " --out " + root + "/r --lr 0,001",
         "--lr 0,001: expected a number with a decimal point, not a comma (0.001)");
    says("train --data " + root + " --out " + root + "/r --lr abc",
         "--lr abc: expected a decimal number (such as 0.001 or 1e-3)");
    std::ofstream(root + "/last.ckpt") << "PFCECKPT" << std::string(8, '\0');
    says("train --config " + root + "/last.ckpt",
         "--config " + root +
             "/last.ckpt is a pfce checkpoint, not a TOML file (a checkpoint is "
             "given to pfce train --resume or --init-from");
    says("run " + root + "/last.ckpt", root + "/last.ckpt is a pfce checkpoint, not a TOML file");
    std::ofstream(root + "/stats.json") << "{\"a\": 1}";
    says("train --config " + root + "/stats.json", "/stats.json is JSON, not TOML");
    fs::create_directories(root + "/run1");
    std::ofstream(root + "/run1/config.toml") << "[run]\n";
    says("train --config " + root + "/run1",
         "--config " + root + "/run1 is a directory (expected a TOML file; " + root +
             "/run1/config.toml is the config of the run there)");
    says("run dense",
         "experiments/dense.toml is an experiment file ([experiment]), not a suite: "
         "train it alone with pfce train --config ");
    says("eval --checkpoint " + root + "/last.ckpt --against " + root + "/other.ckpt",
         "--against " + root +
             "/other.ckpt does not exist (expected a checkpoint file to compare with)");
    // A contact sheet past the rows a PNG may have: refused before any image is read (it failed
    // with libpng's "Invalid IHDR data" after reading them all: scale probe).
    ASSERT_EQ(test::run_pfce("data synth --out " + root + "/many --count 242 --size 16").status, 0);
    says("data preview " + root + "/many --count 242 --panel 4096 --out " + root + "/sheet.png",
         "--count 242: a sheet of 242 rows of 4096-pixel panels would be up to 1002204 pixels "
         "high with its titles and legend, past the 1,000,000 rows a PNG may have; expected at "
         "most 241 rows at --panel 4096");
    EXPECT_FALSE(fs::exists(root + "/sheet.png"));
    says("link --in " + root + "/sparse --out " + root + "/linked",
         "--in " + root + "/sparse does not exist (expected the --out of pfce sample)");
}

// -q is warnings and errors only: training printed its progress and epoch lines all the same.
// An --out set in a config file is named as the file's key, not as a flag never typed; a link to
// nothing as such ("cannot create this directory: File exists").
TEST(CliMisuse, QuietTrainingIsQuietAndOutIsNamedWhereItWasSet) {
    const std::string root = test::temp_dir("misuse_quiet");
    const auto fd = dataset(root + "/data");
    const test::CommandResult q =
        test::run_pfce("-q train --data " + fd.root + " --out " + root + "/run" + kTiny);
    EXPECT_EQ(q.status, 0) << q.output;
    EXPECT_EQ(q.output.find("epoch 1/1"), std::string::npos) << q.output;  // progress lines
    EXPECT_MESSAGE_HAS(q.output, "trained 1 epoch");  // the result, on stdout, stays
    std::ofstream(root + "/c.toml")
        << "[data]\nroot = \"" << fd.root << "\"\n[run]\nout = \"" << fd.root << "/inside\"\n";
    const test::CommandResult in_data =
        test::run_pfce("train --config " + root + "/c.toml" + kTiny);
    EXPECT_EQ(in_data.status, 2) << in_data.output;
    EXPECT_MESSAGE_HAS(in_data.output,
                       "c.toml: run.out " + fd.root + "/inside is inside the dataset root");
    fs::create_directory_symlink(root + "/nowhere", root + "/dangling");
    const test::CommandResult dangling =
        test::run_pfce("sample --data " + fd.root + " --points 5 --out " + root + "/dangling");
    EXPECT_EQ(dangling.status, 2) << dangling.output;
    EXPECT_MESSAGE_HAS(dangling.output, "--out " + root + "/dangling: it is a symbolic link to " +
                                            root + "/nowhere, which does not exist");
    // With a trailing '/', it is the link itself (it was said as on its own path).
    const test::CommandResult slash =
        test::run_pfce("sample --data " + fd.root + " --points 5 --out " + root + "/dangling/");
    EXPECT_EQ(slash.status, 2) << slash.output;
    EXPECT_MESSAGE_HAS(slash.output, "/dangling/: it is a symbolic link to " + root + "/nowhere");
    // Below the link: create_directories said only "File exists".
    const test::CommandResult below =
        test::run_pfce("sample --data " + fd.root + " --points 5 --out " + root + "/dangling/x");
    EXPECT_EQ(below.status, 2) << below.output;
    EXPECT_MESSAGE_HAS(below.output, root + "/dangling, on its path, is a symbolic link to " +
                                         root + "/nowhere, which does not exist");
    fs::create_directory_symlink(root + "/loop", root + "/loop");
    const test::CommandResult loop =
        test::run_pfce("train --data " + fd.root + " --out " + root + "/loop" + kTiny);
    EXPECT_EQ(loop.status, 2) << loop.output;
    EXPECT_MESSAGE_HAS(loop.output, "--out " + root + "/loop: it is a loop of symbolic links");
    // Below the loop, as every command says it (train said "Too many levels of symbolic links").
    const test::CommandResult below_loop =
        test::run_pfce("train --data " + fd.root + " --out " + root + "/loop/x" + kTiny);
    EXPECT_EQ(below_loop.status, 2) << below_loop.output;
    EXPECT_MESSAGE_HAS(below_loop.output,
                       "--out " + root + "/loop/x: it is a loop of symbolic links");
    const test::CommandResult train_dangling =
        test::run_pfce("train --data " + fd.root + " --out " + root + "/dangling" + kTiny);
    EXPECT_EQ(train_dangling.status, 2) << train_dangling.output;
    EXPECT_MESSAGE_HAS(train_dangling.output, "it is a symbolic link to " + root + "/nowhere");
}

// Tile flags on a dataset of patches did nothing: said by sample and data stats/preview as by
// train, and not recorded in masks.json, so the same sampling without them is the same masks (it
// was refused as "made otherwise", and data stats SP --tile-patch 300 as other tile windows).
TEST(CliMisuse, TileFlagsOnADatasetOfPatchesAreSaidToDoNothing) {
    const std::string root = test::temp_dir("misuse_tile_flags");
    const auto fd = dataset(root + "/data");
    const std::string tile_flags = " --tile-patch 50 --tile-stride 20 --tile-image IRRG";
    const test::CommandResult s =
        test::run_pfce("sample --data " + fd.root + " --out " + root + "/sp" + tile_flags);
    ASSERT_EQ(s.status, 0) << s.output;
    EXPECT_MESSAGE_HAS(s.output,
                       "--tile-image IRRG, --tile-patch 50, --tile-stride 20: no "
                       "effect, " +
                           fd.root + " is a generic dataset");
    const std::string record = file_text(root + "/sp/masks.json");
    EXPECT_EQ(record.find("IRRG"), std::string::npos) << record;
    EXPECT_EQ(record.find("\"tile_patch\": 50"), std::string::npos) << record;
    const test::CommandResult again =
        test::run_pfce("sample --data " + fd.root + " --out " + root + "/sp");
    EXPECT_EQ(again.status, 0) << again.output;
    EXPECT_MESSAGE_HAS(again.output, "already holds these masks");
    // A directory an earlier pfce made recorded the flags as typed (and no checksum): the same
    // command reuses it.
    nlohmann::json old_json = nlohmann::json::parse(file_text(root + "/sp/masks.json"));
    old_json.erase("checksum");
    std::string old_record = old_json.dump(2);
    for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
             {"\"tile_patch\": 300", "\"tile_patch\": 50"},
             {"\"tile_stride\": 300", "\"tile_stride\": 20"}}) {
        ASSERT_NE(old_record.find(from), std::string::npos) << old_record;
        old_record.replace(old_record.find(from), from.size(), to);
    }
    std::ofstream(root + "/sp/masks.json") << old_record;
    const test::CommandResult old_dir =
        test::run_pfce("sample --data " + fd.root + " --out " + root + "/sp" + tile_flags);
    EXPECT_EQ(old_dir.status, 0) << old_dir.output;
    EXPECT_MESSAGE_HAS(old_dir.output, "already holds these masks");
    const test::CommandResult stats = test::run_pfce("data stats " + root + "/sp --tile-patch 300");
    EXPECT_EQ(stats.status, 0) << stats.output;
    EXPECT_MESSAGE_HAS(stats.output, "--tile-patch 300: no effect");
    const test::CommandResult preview =
        test::run_pfce("data preview " + fd.root + " --out " + root + "/p.png --tile-patch 50");
    EXPECT_EQ(preview.status, 0) << preview.output;
    EXPECT_MESSAGE_HAS(preview.output, "--tile-patch 50: no effect");
}

// A FIFO (named pipe) where pfce reads a file of its own waited for a writer for ever, and a
// SIGTERM could not end the wait: each is refused by name, at once.
TEST(CliMisuse, AFifoWherePfceReadsItsOwnFileIsRefusedNotWaitedOn) {
    const std::string root = test::temp_dir("misuse_fifo");
    const auto fd = dataset(root + "/data");
    ASSERT_EQ(
        test::run_pfce("sample --data " + fd.root + " --points 5 --out " + root + "/sp").status, 0);
    ASSERT_EQ(test::run_pfce("train --data " + fd.root + " --out " + root + "/run" + kTiny).status,
              0);
    auto fifo = [](const std::string& path) {
        fs::remove(path);
        ASSERT_EQ(::mkfifo(path.c_str(), 0644), 0) << path;
    };
    auto run = [](const std::string& args) {
        std::string line = "timeout 60 \"";  // a hang fails the test, not the suite
        line += test::pfce_binary() + "\" " + args + " 2>&1";
        return test::run_command(line);
    };
    fifo(root + "/sp/masks.json");
    const test::CommandResult stats = run("data stats " + root + "/sp");
    EXPECT_EQ(stats.status, 2) << stats.output;
    EXPECT_MESSAGE_HAS(stats.output, root +
                                         "/sp/masks.json is a FIFO (named pipe), not a regular "
                                         "file: expected the masks.json");
    fifo(root + "/ck.ckpt");
    const test::CommandResult predict = run("predict --checkpoint " + root + "/ck.ckpt --input " +
                                            fd.root + "/images --out " + root + "/p --device cpu");
    EXPECT_EQ(predict.status, 2) << predict.output;
    EXPECT_MESSAGE_HAS(predict.output,
                       root + "/ck.ckpt is a FIFO (named pipe), not a regular file");
    fifo(root + "/run/last.ckpt");
    const test::CommandResult resume = run("train --resume --out " + root + "/run --epochs 2");
    EXPECT_EQ(resume.status, 2) << resume.output;
    EXPECT_MESSAGE_HAS(resume.output, "last.ckpt is a FIFO (named pipe)");
    // A config or split list that is a named pipe (hostile probe: train waited for ever), while
    // one the shell opened (/dev/stdin, <(...)) is read; predict's --out of one image that is a
    // pipe or device (it wrote /dev/null.png and /dev/null_overlay.png into /dev).
    fifo(root + "/cfg.toml");
    const test::CommandResult config =
        run("train --config " + root + "/cfg.toml --out " + root + "/z --print-config");
    EXPECT_EQ(config.status, 2) << config.output;
    EXPECT_MESSAGE_HAS(config.output,
                       root + "/cfg.toml is a FIFO (named pipe), not a regular file");
    const test::CommandResult substituted = test::run_command(
        "bash -c 'timeout 60 \"" + test::pfce_binary() +
        "\" train --config <(printf \"[run]\\nepochs = 3\\n\") --print-config' 2>&1");
    EXPECT_EQ(substituted.status, 0) << substituted.output;
    EXPECT_MESSAGE_HAS(substituted.output, "epochs = 3");
    fifo(root + "/list.txt");
    const test::CommandResult list = run("train --data " + fd.root + " --train-list " + root +
                                         "/list.txt --out " + root + "/z2" + kTiny);
    EXPECT_EQ(list.status, 2) << list.output;
    EXPECT_MESSAGE_HAS(list.output, root + "/list.txt is a FIFO (named pipe), not a regular file");
    fifo(root + "/mask-out");
    const test::CommandResult one =
        run("predict --checkpoint " + root + "/run/best.ckpt --input " + fd.root + "/images/" +
            fd.ids[0] + ".png --out " + root + "/mask-out --device cpu");
    EXPECT_EQ(one.status, 2) << one.output;
    EXPECT_MESSAGE_HAS(one.output,
                       "--out " + root + "/mask-out is a FIFO (named pipe), not a file");
    EXPECT_FALSE(fs::exists(root + "/mask-out.png"));
    EXPECT_FALSE(fs::exists(root + "/mask-out_overlay.png"));
    fifo(fd.root + "/dataset.toml");
    const test::CommandResult toml = run("data stats " + fd.root);
    EXPECT_EQ(toml.status, 2) << toml.output;
    EXPECT_MESSAGE_HAS(toml.output, fd.root + "/dataset.toml is a FIFO (named pipe)");
}

// From a file-system probe: an --out that is a loop of symbolic links is said as such by sample
// and predict too (they said "masks.json: Too many levels of symbolic links (status)"); a mask
// listed in masks.json but gone is said to be missing (it got a hint about colour PNGs); a train
// that fails before its first checkpoint leaves none of the directories it made for OUT.
TEST(CliMisuse, OutputPathsAndMissingMasksAreSaidForWhatTheyAre) {
    const std::string root = test::temp_dir("misuse_fs_paths");
    const auto fd = dataset(root + "/data");
    fs::create_symlink(root + "/loopB", root + "/loopA");
    fs::create_symlink(root + "/loopA", root + "/loopB");
    const test::CommandResult s =
        test::run_pfce("sample --data " + fd.root + " --out " + root + "/loopA --force");
    EXPECT_EQ(s.status, 2) << s.output;
    EXPECT_MESSAGE_HAS(s.output, "--out " + root + "/loopA: it is a loop of symbolic links");
    ASSERT_EQ(test::run_pfce("train --data " + fd.root + " --out " + root + "/run" + kTiny).status,
              0);
    const test::CommandResult p =
        test::run_pfce("predict --checkpoint " + root + "/run/last.ckpt --input " + fd.root +
                       "/images --out " + root + "/loopA --device cpu");
    EXPECT_EQ(p.status, 2) << p.output;
    EXPECT_MESSAGE_HAS(p.output, "--out " + root + "/loopA: it is a loop of symbolic links");

    ASSERT_EQ(
        test::run_pfce("sample --data " + fd.root + " --points 5 --out " + root + "/sp").status, 0);
    std::string gone;
    for (const auto& e : fs::directory_iterator(root + "/sp"))
        if (e.path().extension() == ".png" && gone.empty()) gone = e.path().string();
    ASSERT_FALSE(gone.empty());
    fs::remove(gone);
    const test::CommandResult missing = test::run_pfce("data stats " + root + "/sp");
    EXPECT_NE(missing.status, 0) << missing.output;
    EXPECT_MESSAGE_HAS(missing.output, gone + ", listed in " + root +
                                           "/sp/masks.json, does not exist: the mask directory "
                                           "is incomplete");
    EXPECT_EQ(missing.output.find("saved again in colour"), std::string::npos) << missing.output;

    const test::CommandResult failed = test::run_pfce(
        "train --data " + fd.root + " --crop-size 81 --out " + root + "/new/deeper/run" + kTiny);
    EXPECT_EQ(failed.status, 2) << failed.output;
    EXPECT_FALSE(fs::exists(root + "/new")) << failed.output;
}

// -v logged one line in the whole program until a documentation audit: it now says what each
// step did (loss, learning rate, gradient norm), the dataset read and the checkpoints written.
TEST(CliMisuse, VerboseSaysEachStepTheDataAndTheCheckpoints) {
    const std::string root = test::temp_dir("misuse_verbose");
    const auto fd = dataset(root + "/data");
    const test::CommandResult r =
        test::run_pfce("-v train --data " + fd.root + " --out " + root + "/run --clip 1" + kTiny);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_MESSAGE_HAS(r.output, "debug: dataset " + fd.root + ": generic (dataset.toml)");
    EXPECT_MESSAGE_HAS(r.output, "debug: step 1 (epoch 1, batch 1/");
    EXPECT_MESSAGE_HAS(r.output, "gradient norm ");
    EXPECT_MESSAGE_HAS(r.output, "debug: checkpoint " + root + "/run/best.ckpt: ");
    const test::CommandResult quiet =
        test::run_pfce("train --data " + fd.root + " --out " + root + "/run2" + kTiny);
    ASSERT_EQ(quiet.status, 0) << quiet.output;
    EXPECT_EQ(quiet.output.find("debug:"), std::string::npos) << quiet.output;
}

// A mask of another size than its image, or none for a sample added to the dataset since the masks
// were made: a probe got "sampled with other settings (tiles: ...)" for a generic dataset with
// the very command that failed as the fix, link named no file, and preview called a mask "listed
// in masks.json" that was not. Each names the files and the command that makes the masks again.
TEST(CliMisuse, MasksOfAnotherSizeOrMissingNameTheFilesAndTheRemedy) {
    const std::string root = test::temp_dir("misuse_mask_size");
    test::ForeignSpec spec;
    spec.sizes = {{40, 32}, {48, 40}, {40, 32}, {40, 32}};
    const auto fd = dataset(root + "/data", spec);
    const std::string sparse = root + "/sparse";
    ASSERT_EQ(test::run_pfce("sample --data " + fd.root + " --points 5 --out " + sparse).status, 0);
    fs::copy_file(sparse + "/tile_0.png", sparse + "/tile_1.png",
                  fs::copy_options::overwrite_existing);  // 40x32 where the image is 48x40
    const std::string remedy = "Make them again: pfce sample --data " + fd.root;
    const test::CommandResult preview =
        test::run_pfce("data preview " + sparse + " --out " + root + "/sheet.png");
    EXPECT_EQ(preview.status, 2) << preview.output;
    EXPECT_MESSAGE_HAS(preview.output, "mask " + sparse + "/tile_1.png is 40x32 but its image " +
                                           fd.root + "/images/tile_1.png is 48x40");
    EXPECT_MESSAGE_HAS(preview.output, remedy);
    EXPECT_EQ(preview.output.find("tiles:"), std::string::npos) << preview.output;
    const test::CommandResult link =
        test::run_pfce("link --in " + sparse + " --out " + root + "/linked --radius 5");
    EXPECT_EQ(link.status, 2) << link.output;
    EXPECT_MESSAGE_HAS(link.output, "mask " + sparse + "/tile_1.png is 40x32 but its dense mask " +
                                        fd.root + "/masks/tile_1.png is 48x40");
    EXPECT_MESSAGE_HAS(link.output, remedy);
    EXPECT_FALSE(fs::exists(root + "/linked"));

    ASSERT_EQ(
        test::run_pfce("sample --data " + fd.root + " --points 5 --out " + sparse + " --force")
            .status,
        0);
    for (const char* d : {"/images/", "/masks/"})  // a sample added since
        fs::copy_file(fd.root + d + "tile_0.png", fd.root + d + "tile_9.png");
    const test::CommandResult added = test::run_pfce("data preview " + fd.root + " --masks " +
                                                     sparse + " --out " + root + "/sheet.png");
    EXPECT_EQ(added.status, 2) << added.output;
    EXPECT_MESSAGE_HAS(added.output, sparse + " has no mask for sample tile_9");
    EXPECT_MESSAGE_HAS(added.output, "masks.json does not list it");
    EXPECT_EQ(added.output.find("listed in"), std::string::npos) << added.output;
}

// Finished results, then a mistyped --data or split list: it read as "made with other settings
// (data.root)" and nothing said the path named nothing; and split lists given where the results
// had none read as the same experiment ("finished earlier, skipped").
TEST(CliMisuse, RunSaysAMistypedDataOrListAndSeesListsGiven) {
    const std::string root = test::temp_dir("misuse_run_paths");
    const auto fd = dataset(root + "/data");
    std::ofstream(root + "/s.toml") << "[suite]\nname = \"paths\"\nexperiments = [{ id = \"e\", "
                                       "labels = { kind = \"dense\" } }]\n[model]\nwidth = 4\n"
                                       "depth = 1\n[run]\nepochs = 1\nbatch_size = 4\n";
    const std::string run = "run " + root + "/s.toml --device cpu --out " + root + "/out";
    ASSERT_EQ(test::run_pfce(run + " --data " + fd.root).status, 0);
    const test::CommandResult typo = test::run_pfce(run + " --data " + fd.root + "x");
    EXPECT_EQ(typo.status, 1) << typo.output;
    EXPECT_MESSAGE_HAS(typo.output, "The data now named, " + fd.root + "x, cannot be read");
    EXPECT_MESSAGE_HAS(typo.output, "is it the path you meant?");

    std::ofstream(root + "/train.txt") << "tile_0\ntile_1\ntile_2\ntile_3\ntile_4\n";
    std::ofstream(root + "/val.txt") << "tile_5\n";
    std::ofstream(root + "/test.txt") << "tile_6\ntile_7\n";
    std::string lists = file_text(root + "/s.toml");
    lists +=
        "[data]\ntrain_list = \"train.txt\"\nval_list = \"val.txt\"\ntest_list = \"test.txt\"\n";
    std::ofstream(root + "/s.toml") << lists;
    const test::CommandResult given = test::run_pfce(run + " --data " + fd.root);
    EXPECT_EQ(given.status, 1) << given.output;
    EXPECT_MESSAGE_HAS(given.output,
                       "made with other settings (data.test_list ids, data.train_list ids");
    lists.replace(lists.find("val.txt"), 7, "vel.txt");
    std::ofstream(root + "/s.toml") << lists;
    const test::CommandResult list_typo = test::run_pfce(run + " --data " + fd.root);
    EXPECT_EQ(list_typo.status, 1) << list_typo.output;
    EXPECT_MESSAGE_HAS(list_typo.output,
                       "vel.txt cannot be read (it does not exist): is it the "
                       "file you meant?");
}

// A resume refused for other label settings rewrote the run's own labels (OUT/labels) with the
// settings it then refused, and --print-config printed them as the resume's (a probe): both are
// refused now before any label is sampled.
TEST(CliMisuse, ResumeRefusedForLabelSettingsLeavesTheRunsLabels) {
    const std::string root = test::temp_dir("misuse_resume_labels");
    const auto fd = dataset(root + "/data");
    const std::string base = "train --data " + fd.root + " --out " + root +
                             "/run --label-kind linked --radius 4" + kTiny;
    ASSERT_EQ(test::run_pfce(base + " --points 40").status, 0);
    const std::string masks = root + "/run/labels/sparse/masks.json";
    const std::string before = file_text(masks);
    for (const std::string extra : {" --resume", " --resume --print-config"}) {
        const test::CommandResult r = test::run_pfce(base + " --points 60" + extra);
        EXPECT_EQ(r.status, 2) << r.output;
        EXPECT_MESSAGE_HAS(r.output, "labels.points: [40] -> [60]");
        EXPECT_EQ(file_text(masks), before) << extra;
    }
    const test::CommandResult dense =
        test::run_pfce(base + " --points 40 --label-kind dense --resume");
    EXPECT_EQ(dense.status, 2) << dense.output;
    EXPECT_EQ(file_text(masks), before);
}

// A checkpoint whose weights are not numbers (edited, or damaged and checksummed again) was scored
// and predicted as "100% building" with status 0 (a checkpoint probe): refused, naming the tensor.
TEST(CliMisuse, ACheckpointOfNonFiniteWeightsIsRefused) {
    const std::string root = test::temp_dir("misuse_nan_ckpt");
    const auto fd = dataset(root + "/data");
    ASSERT_EQ(test::run_pfce("train --data " + fd.root + " --out " + root + "/run" + kTiny).status,
              0);
    Checkpoint ck = read_checkpoint(root + "/run/last.ckpt");
    NamedTensor* param = nullptr;
    for (NamedTensor& t : ck.tensors)
        if (t.name.rfind("param.", 0) == 0 && t.value.dtype() == DType::f32) param = &t;
    ASSERT_NE(param, nullptr);
    param->value.data<float>()[0] = std::numeric_limits<float>::quiet_NaN();
    write_checkpoint(root + "/nan.ckpt", ck);
    for (const std::string& command :
         {"eval --checkpoint " + root + "/nan.ckpt --split all",
          "predict --checkpoint " + root + "/nan.ckpt --input " + fd.root +
              "/images/tile_0.png --out " + root + "/pred.png"}) {
        const test::CommandResult r = test::run_pfce(command);
        EXPECT_EQ(r.status, 2) << r.output;
        EXPECT_MESSAGE_HAS(r.output, "its tensor " + param->name + " holds 1 of ");
        EXPECT_MESSAGE_HAS(r.output, "values that are not finite (NaN or infinity)");
    }
    EXPECT_FALSE(fs::exists(root + "/pred.png"));
}

// A checkpoint edited into what training never writes (and checksummed again) computed NaN or a
// class that does not exist without a word (a checkpoint probe: a negative running variance, a
// channel deviation of 0, a clutter class of 9 in a 4-class model): refused by every command that
// loads a model, naming the file and what it holds.
TEST(CliMisuse, ACheckpointEditedIntoWhatTrainingNeverWritesIsRefused) {
    const std::string root = test::temp_dir("misuse_edited_ckpt");
    const auto fd = dataset(root + "/data");
    ASSERT_EQ(test::run_pfce("train --data " + fd.root + " --out " + root + "/run" + kTiny).status,
              0);
    struct Edit {
        std::string what, says;
        std::function<void(Checkpoint&)> apply;
    };
    const std::vector<Edit> edits = {
        {"running_variance", "a batch norm's running variance below 0",
         [](Checkpoint& ck) {
             for (NamedTensor& t : ck.tensors)
                 if (t.name == "buffer.down0.bn1.running_var") t.value.data<float>()[1] = -0.5f;
         }},
        {"deviation", "channel 2 of its input statistics has mean",
         [](Checkpoint& ck) { ck.meta["stats"]["std"][1] = 1e-40; }},
        {"data", "its data record is string",
         [](Checkpoint& ck) { ck.meta["data"] = "training images"; }},
        {"pixel_size", "its training images' ground pixel size is",
         [](Checkpoint& ck) {
             ck.meta["data"]["ground_pixel_size"] = {{"x", "0.05"}, {"y", 0.05}, {"epsg", 25833}};
         }},
        {"clutter", "clutter class 9 (expected -1 for none, or a class of 0..3)",
         [](Checkpoint& ck) { ck.meta["clutter_class"] = 9; }},
        {"names", "3 class names and 4 colours for a network of 4 classes",
         [](Checkpoint& ck) { ck.meta["classes"].erase(3); }},
        {"one_class", "a network of 1 classes (expected 2..32, as training makes them)",
         [](Checkpoint& ck) {
             ck.meta["model"]["num_classes"] = 1;
             ck.meta["classes"] = {"building"};
             ck.meta["colours"] = {{0, 0, 255}};
             ck.meta["clutter_class"] = -1;
             ck.meta.erase("mask_values");
             for (NamedTensor& t : ck.tensors)  // the classifier cut to its first class
                 if (t.name.rfind("param.head.", 0) == 0) {
                     Shape shape = t.value.shape();
                     shape.dims[0] = 1;
                     Tensor one = Tensor::host(shape, DType::f32);
                     std::copy_n(t.value.data<float>(), one.numel(), one.data<float>());
                     t.value = std::move(one);
                 }
         }},
    };
    for (const Edit& e : edits) {
        Checkpoint ck = read_checkpoint(root + "/run/last.ckpt");
        e.apply(ck);
        const std::string edited = root + "/" + e.what + ".ckpt";
        write_checkpoint(edited, ck);
        for (const std::string& command :
             {"predict --checkpoint " + edited + " --input " + fd.root +
                  "/images/tile_0.png --out " + root + "/" + e.what + ".png",
              "export --checkpoint " + edited + " --out " + root + "/" + e.what + ".onnx"}) {
            const test::CommandResult r = test::run_pfce(command);
            EXPECT_EQ(r.status, 2) << command << "\n" << r.output;
            EXPECT_MESSAGE_HAS(r.output, edited);
            EXPECT_MESSAGE_HAS(r.output, e.says);
        }
        EXPECT_FALSE(fs::exists(root + "/" + e.what + ".png"));
        EXPECT_FALSE(fs::exists(root + "/" + e.what + ".onnx"));
    }
}

// Fine-tuning (a researcher's walkthrough: no way to start from a trained model): --init-from
// starts a new run from a checkpoint's weights; one of another U-Net or other classes is refused
// before the run directory is made.
TEST(CliMisuse, InitFromStartsFromACheckpointsWeights) {
    const std::string root = test::temp_dir("misuse_init_from");
    const auto fd = dataset(root + "/data");
    ASSERT_EQ(test::run_pfce("train --data " + fd.root + " --out " + root + "/base" + kTiny).status,
              0);
    const std::string base = root + "/base/last.ckpt";
    const test::CommandResult tuned =
        test::run_pfce("train --data " + fd.root + " --out " + root + "/tuned --init-from " + base +
                       " --lr 1e-9" + kTiny);
    ASSERT_EQ(tuned.status, 0) << tuned.output;
    EXPECT_MESSAGE_HAS(tuned.output, "model: the weights of " + base);
    // At lr 1e-9 one epoch of Adam moves no weight by more than about 1e-8 of the base's.
    const Checkpoint a = read_checkpoint(base), b = read_checkpoint(root + "/tuned/last.ckpt");
    std::size_t compared = 0;
    for (const NamedTensor& t : a.tensors) {
        if (t.name.rfind("param.", 0) != 0) continue;
        const Tensor* u = b.find(t.name);
        ASSERT_NE(u, nullptr) << t.name;
        for (std::int64_t i = 0; i < t.value.numel(); ++i)
            ASSERT_NEAR(u->data<float>()[i], t.value.data<float>()[i], 1e-6) << t.name;
        ++compared;
    }
    EXPECT_GT(compared, 0u);
    EXPECT_EQ(b.meta["config"]["model"]["init_from"], fs::absolute(base).string());
    // Another U-Net: refused, and no run directory is left.
    const test::CommandResult wider =
        test::run_pfce("train --data " + fd.root + " --out " + root + "/wider --init-from " + base +
                       kTiny + " --width 8");
    EXPECT_EQ(wider.status, 2) << wider.output;
    EXPECT_MESSAGE_HAS(wider.output,
                       "its U-Net is width 4, depth 1 for 4 classes; this run's is "
                       "width 8, depth 1 for 4 classes");
    EXPECT_FALSE(fs::exists(root + "/wider"));
    const test::CommandResult missing =
        test::run_pfce("train --data " + fd.root + " --out " + root + "/missing --init-from " +
                       root + "/none.ckpt" + kTiny);
    EXPECT_EQ(missing.status, 2) << missing.output;
    EXPECT_MESSAGE_HAS(missing.output, "model.init_from (--init-from): ");
    // From the run's own output, started over: it would replace the weights it starts from, and
    // the same command again start from other ones (a probe's runs drifted). Refused, the
    // checkpoint untouched; a resume does not read them again.
    const std::string before = read_whole_file(base);
    const test::CommandResult self = test::run_pfce("train --data " + fd.root + " --out " + root +
                                                    "/base --force --init-from " + base + kTiny);
    EXPECT_EQ(self.status, 2) << self.output;
    EXPECT_MESSAGE_HAS(self.output, "model.init_from (--init-from) " + base + " lies in --out " +
                                        root +
                                        "/base, whose checkpoints this run replaces: it would "
                                        "start from its own output");
    EXPECT_MESSAGE_HAS(self.output, "copy the checkpoint out of it first (e.g. cp " + base + " " +
                                        root + "/start.ckpt)");
    EXPECT_EQ(read_whole_file(base), before);
    ASSERT_EQ(test::run_pfce("train --data " + fd.root + " --out " + root + "/tuned --init-from " +
                             root + "/tuned/best.ckpt --force --lr 1e-9" + kTiny)
                  .status,
              2);
}

// eval --against: a second run's model scored on the same images, side by side with the first
// (its numbers those of its own eval), and their mIoU difference with a paired interval. Refused
// before any scoring: the checkpoint itself, and a model that trained on the images scored.
TEST(CliMisuse, EvalAgainstAnotherRunComparesOnTheSameImages) {
    const std::string root = test::temp_dir("misuse_against");
    test::ForeignSpec spec;
    spec.sizes.assign(12, {40, 32});
    const auto fd = dataset(root + "/data", spec);
    const std::string a = root + "/a", b = root + "/b", c = root + "/c";
    ASSERT_EQ(test::run_pfce("train --data " + fd.root + " --out " + a + kTiny).status, 0);
    ASSERT_EQ(
        test::run_pfce("train --data " + fd.root + " --out " + b + kTiny + " --seed 1").status, 0);
    const std::string eval = "eval --split all --device cpu --checkpoint ";
    const test::CommandResult cmp =
        test::run_pfce(eval + a + "/last.ckpt --against " + b + "/last.ckpt --bootstrap 300");
    ASSERT_EQ(cmp.status, 0) << cmp.output;
    EXPECT_MESSAGE_HAS(cmp.output, "against " + b + "/last.ckpt (B), on the same images:");
    EXPECT_MESSAGE_HAS(cmp.output, "mIoU this - B interval ");
    EXPECT_MESSAGE_HAS(cmp.output, "(95%: paired bootstrap of 12 images, 300 resamples)\n");
    EXPECT_MESSAGE_HAS(cmp.output, "the difference is ");
    EXPECT_MESSAGE_HAS(cmp.output, "IoU " + test::foreign_class_names()[0]);

    // B's numbers are those of its own eval; the difference is A's mIoU minus B's.
    const AgainstEvals evals =
        expect_against_is_each_models_eval(eval, a + "/last.ckpt", b + "/last.ckpt");
    const nlohmann::json &both = evals.both, &only_b = evals.only_b;
    EXPECT_EQ(both["against"]["bootstrap"]["images"], 12);
    const double lo = both["against"]["miou_difference_ci95"][0].get<double>();
    const double hi = both["against"]["miou_difference_ci95"][1].get<double>();
    EXPECT_LE(lo, both["against"]["miou_difference"].get<double>());
    EXPECT_GE(hi, both["against"]["miou_difference"].get<double>());
    EXPECT_EQ(both["against"]["beyond_chance"], lo > 0 || hi < 0);
    // One class's IoU difference with its own interval (building extraction), and a class the
    // models lack refused before scoring, naming the nearest.
    const std::string name = test::foreign_class_names()[1];
    const test::CommandResult one = test::run_pfce(eval + a + "/last.ckpt --against " + b +
                                                   "/last.ckpt --interval-class " + name);
    ASSERT_EQ(one.status, 0) << one.output;
    EXPECT_MESSAGE_HAS(one.output, "IoU " + name + " this - B interval ");
    const test::CommandResult one_json =
        test::run_pfce(eval + a + "/last.ckpt --against " + b + "/last.ckpt --interval-class " +
                       name + " --json -q");
    ASSERT_EQ(one_json.status, 0) << one_json.output;
    const nlohmann::json k = test::json_in_output(one_json.output)["against"]["iou_difference"];
    EXPECT_EQ(k["class"], name);
    if (k.contains("ci95")) {
        EXPECT_LE(k["ci95"][0].get<double>(), k["difference"].get<double>());
        EXPECT_GE(k["ci95"][1].get<double>(), k["difference"].get<double>());
    } else {
        EXPECT_TRUE(k.contains("no_interval")) << k.dump();
    }
    const test::CommandResult typo = test::run_pfce(eval + a + "/last.ckpt --against " + b +
                                                    "/last.ckpt --interval-class " + name + "x");
    EXPECT_EQ(typo.status, 2) << typo.output;
    EXPECT_MESSAGE_HAS(typo.output,
                       "--interval-class " + name + "x: " + a + "/last.ckpt has no such class");
    EXPECT_MESSAGE_HAS(typo.output, "did you mean " + name + "?");
    EXPECT_EQ(test::run_pfce(eval + a + "/last.ckpt --interval-class " + name).status, 2);

    const test::CommandResult self =
        test::run_pfce(eval + a + "/last.ckpt --against " + root + "/./a/last.ckpt");
    EXPECT_EQ(self.status, 2) << self.output;
    EXPECT_MESSAGE_HAS(self.output, "is --checkpoint itself: compare another checkpoint");
    fs::create_symlink(a + "/last.ckpt", root + "/link.ckpt");
    const test::CommandResult linked =
        test::run_pfce(eval + a + "/last.ckpt --against " + root + "/link.ckpt");
    EXPECT_EQ(linked.status, 2) << linked.output;
    // A run that trained on every image: scored on A's test images it learnt from, refused.
    ASSERT_EQ(test::run_pfce("train --data " + fd.root + " --out " + c + kTiny +
                             " --train-frac 0.9 --val-frac 0.1")
                  .status,
              0);
    const test::CommandResult leak = test::run_pfce("eval --device cpu --checkpoint " + a +
                                                    "/last.ckpt --against " + c + "/last.ckpt");
    EXPECT_EQ(leak.status, 2) << leak.output;
    EXPECT_MESSAGE_HAS(leak.output, "are in the training or validation split of " + c +
                                        "/last.ckpt but not of " + a + "/last.ckpt");
    EXPECT_EQ(leak.output.find("mIoU"), std::string::npos) << leak.output;  // nothing scored
    // Either way round: the images A never trained on but C did flatter C just as well.
    const test::CommandResult flattered =
        test::run_pfce(eval + c + "/last.ckpt --against " + a + "/last.ckpt");
    EXPECT_EQ(flattered.status, 2) << flattered.output;
    EXPECT_MESSAGE_HAS(flattered.output, "are in the training or validation split of " + c +
                                             "/last.ckpt but not of " + a + "/last.ckpt");
    // A model that reads the pixels otherwise (one band as gray): each model reads the images as it
    // was trained, so B scores as it scores alone, and the output says how B read them.
    ASSERT_EQ(test::run_pfce("train --data " + fd.root + " --out " + root + "/gray" + kTiny +
                             " --bands 2")
                  .status,
              0);
    const test::CommandResult gray =
        test::run_pfce(eval + a + "/last.ckpt --against " + root + "/gray/last.ckpt");
    EXPECT_EQ(gray.status, 0) << gray.output;
    EXPECT_MESSAGE_HAS(gray.output,
                       "B read the images as it was trained: data.bands [2] (this one: [1, 2, 3])");
    auto scores_of = [&](const std::string& args) {
        const test::CommandResult r = test::run_pfce(eval + args + " --json -q");
        EXPECT_EQ(r.status, 0) << r.output;
        const nlohmann::json j = test::json_in_output(r.output);
        return j;
    };
    const nlohmann::json scored_together =
        scores_of(a + "/last.ckpt --against " + root + "/gray/last.ckpt");
    const nlohmann::json alone = scores_of(root + "/gray/last.ckpt");
    EXPECT_EQ(scored_together.at("against").at("metrics").at("miou"), alone.at("miou"));
    EXPECT_EQ(scored_together.at("against").at("images_read_otherwise"),
              "data.bands [2] (this one: [1, 2, 3])");
    ASSERT_EQ(test::run_pfce("train --data " + fd.root + " --out " + root + "/rgb" + kTiny +
                             " --bands 1,2,3")
                  .status,
              0);
    EXPECT_EQ(test::run_pfce(eval + a + "/last.ckpt --against " + root + "/rgb/last.ckpt").status,
              0);
    // A model trained on another copy of the data: compared, and said.
    fs::copy(fd.root, root + "/copy", fs::copy_options::recursive);
    ASSERT_EQ(
        test::run_pfce("train --data " + root + "/copy --out " + root + "/other" + kTiny).status,
        0);
    const test::CommandResult copied =
        test::run_pfce(eval + a + "/last.ckpt --against " + root + "/other/last.ckpt");
    EXPECT_EQ(copied.status, 0) << copied.output;
    EXPECT_MESSAGE_HAS(copied.output, "is not the data --against " + root +
                                          "/other/last.ckpt was trained on, or that data has "
                                          "changed since");
    // --bootstrap 0 ("none") cannot hold for the comparison's interval: refused, not ignored.
    const test::CommandResult none =
        test::run_pfce(eval + a + "/last.ckpt --against " + b + "/last.ckpt --bootstrap 0");
    EXPECT_EQ(none.status, 2) << none.output;
    EXPECT_MESSAGE_HAS(none.output, "--bootstrap 0 with --against " + b +
                                        "/last.ckpt: the comparison always draws its paired "
                                        "interval");
    // B's own losses beside the comparison, as its eval prints them.
    EXPECT_MESSAGE_HAS(cmp.output, "B: loss (dense)");
    EXPECT_EQ(both["against"]["loss_dense"], only_b["loss_dense"]);
    // A model trained on gray copies of the images, scored on colour ones: said of it, as
    // of --checkpoint's model.
    fs::copy(fd.root, root + "/gray-copy", fs::copy_options::recursive);
    for (const auto& e : fs::directory_iterator(root + "/gray-copy/images")) {
        RgbImage img = read_rgb(e.path().string());
        for (std::size_t i = 0; i < img.pixels.size(); i += 3)
            img.pixels[i] = img.pixels[i + 1] = img.pixels[i + 2] = img.pixels[i + 1];
        write_png(e.path().string(), img);
    }
    ASSERT_EQ(
        test::run_pfce("train --data " + root + "/gray-copy --out " + root + "/gray-run" + kTiny)
            .status,
        0);
    const test::CommandResult grey =
        test::run_pfce(eval + a + "/last.ckpt --against " + root + "/gray-run/last.ckpt");
    EXPECT_EQ(grey.status, 0) << grey.output;
    EXPECT_MESSAGE_HAS(grey.output, "12 of the 12 images scored are in colour but " + root +
                                        "/gray-run/last.ckpt (--against) was trained on gray");
}

// eval --against on data unlike ours: JPEG chips of several sizes (scored in windows, both models
// through the same ones), index masks whose class values include 255 (never read as unlabelled).
// Each model's numbers are those of its own eval, and the difference their mIoUs'.
TEST(CliMisuse, EvalAgainstOnJpegChipsOfMixedSizesAndIndexMasks) {
    const std::string root = test::temp_dir("misuse_against_jpeg");
    test::ForeignSpec spec;
    spec.jpeg = true;
    spec.index_masks = true;
    spec.index_values = {0, 255, 7, 3};  // "road" is 255
    spec.sizes = {{40, 32}, {56, 40}, {40, 32}, {48, 48}, {40, 32}, {64, 36},
                  {40, 32}, {40, 56}, {36, 40}, {40, 32}, {72, 32}, {40, 40}};
    const auto fd = dataset(root + "/data", spec);
    const std::string a = root + "/a", b = root + "/b";
    for (const auto& [out, seed] : {std::pair{a, 0}, std::pair{b, 1}}) {
        const test::CommandResult r =
            test::run_pfce("train --data " + fd.root + " --out " + out + kTiny +
                           " --crop-size 32 --seed " + std::to_string(seed));
        ASSERT_EQ(r.status, 0) << r.output;
    }
    const std::string eval = "eval --split all --device cpu --window 32 --checkpoint ";
    const nlohmann::json both =
        expect_against_is_each_models_eval(eval, a + "/last.ckpt", b + "/last.ckpt").both;
    EXPECT_EQ(both["window"], 32);  // mixed sizes: windows, the same for both models
    EXPECT_EQ(both["images"], 12);
    // The class valued 255 is scored as a class: its row of the confusion matrix counts pixels.
    std::int64_t road = 0;
    for (const auto& n : both["confusion"][1]) road += n.get<std::int64_t>();
    EXPECT_GT(road, 0);
    const test::CommandResult table =
        test::run_pfce(eval + a + "/last.ckpt --against " + b + "/last.ckpt");
    ASSERT_EQ(table.status, 0) << table.output;
    EXPECT_MESSAGE_HAS(table.output, "against " + b + "/last.ckpt (B), on the same images:");
    EXPECT_MESSAGE_HAS(table.output, "IoU " + test::foreign_class_names()[1]);
}

// eval --per-image FILE: a CSV row per scored image (the split's ids), the images of lowest mIoU
// under the table; an existing file is replaced only with --force, a file among the data never,
// and a refusal comes before any evaluation and leaves the file as it was.
TEST(CliMisuse, EvalPerImageScoresAreWrittenWithoutReplacingFiles) {
    const std::string root = test::temp_dir("misuse_per_image");
    test::ForeignSpec spec;
    spec.sizes.assign(10, {40, 32});
    const auto fd = dataset(root + "/data", spec);
    const std::string run = root + "/run";
    ASSERT_EQ(test::run_pfce("train --data " + fd.root + " --out " + run + kTiny).status, 0);
    const std::string csv = root + "/scores/per image.csv";
    const std::string eval = "eval --checkpoint " + run +
                             "/last.ckpt --split all --device cpu --per-image '" + csv + "'";
    const test::CommandResult made = test::run_pfce(eval);
    ASSERT_EQ(made.status, 0) << made.output;
    EXPECT_MESSAGE_HAS(made.output, "lowest mIoU: ");
    EXPECT_MESSAGE_HAS(made.output, "every image's scores: " + csv);
    const std::string text = file_text(csv);
    EXPECT_EQ(text.rfind("id,pixels,oa,miou,", 0), 0u) << text;
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 11);
    for (const std::string& id : fd.ids) EXPECT_MESSAGE_HAS(text, "\n" + id + ",");

    { std::ofstream(csv) << "my notes\n"; }
    const test::CommandResult again = test::run_pfce(eval);
    EXPECT_EQ(again.status, 2) << again.output;
    EXPECT_MESSAGE_HAS(again.output, csv + " already exists; pass --force to replace it");
    EXPECT_EQ(again.output.find("mIoU"), std::string::npos) << again.output;  // nothing evaluated
    EXPECT_EQ(file_text(csv), "my notes\n");
    // A killed eval's temporaries (no such process) go with the next one that writes the file.
    const std::string stale = root + "/scores/.per image.csv.tmp2147483000_0";
    { std::ofstream(stale) << "half"; }
    const test::CommandResult forced = test::run_pfce(eval + " --force --json");
    ASSERT_EQ(forced.status, 0) << forced.output;
    EXPECT_MESSAGE_HAS(forced.output, "\"per_image\": \"" + csv + "\"");
    EXPECT_EQ(file_text(csv), text);
    EXPECT_FALSE(fs::exists(stale));
    // --confusion draws the split's matrix beside it (the same checks guard it).
    const std::string svg = root + "/scores/confusion.svg";
    const test::CommandResult drawn = test::run_pfce(eval + " --force --confusion " + svg);
    ASSERT_EQ(drawn.status, 0) << drawn.output;
    EXPECT_MESSAGE_HAS(drawn.output, "confusion matrix: " + svg);
    EXPECT_EQ(file_text(svg).rfind("<svg", 0), 0u);
    EXPECT_MESSAGE_HAS(file_text(svg), "run/last.ckpt: all split, 10 images, mIoU ");
    EXPECT_MESSAGE_HAS(file_text(svg), ">" + test::foreign_class_names()[0] + "<");
    const test::CommandResult twice = test::run_pfce(eval + " --force --confusion '" + root +
                                                     "/scores/x.svg' --per-image '" + csv + "'");
    EXPECT_EQ(twice.status, 0) << twice.output;  // --force replaces both
    // A full disk at the files (a file-size limit fails writes as one does) leaves both as they
    // were and the table printed all the same, minutes of scoring not lost; the command fails.
    const std::string svg_before = file_text(root + "/scores/x.svg"), csv_before = file_text(csv);
    const test::CommandResult full =
        test::run_command("trap '' XFSZ; ulimit -f 2; \"" + test::pfce_binary() + "\" " + eval +
                          " --force --confusion '" + root + "/scores/x.svg' 2>&1");
    EXPECT_EQ(full.status, 1) << full.output;
    EXPECT_MESSAGE_HAS(full.output, "lowest mIoU: ");
    EXPECT_MESSAGE_HAS(full.output, "loss (dense)");
    EXPECT_EQ(full.output.find("every image's scores"), std::string::npos) << full.output;
    EXPECT_LT(full.output.find("loss (dense)"), full.output.find("pfce: error: ")) << full.output;
    EXPECT_EQ(file_text(root + "/scores/x.svg"), svg_before);
    EXPECT_EQ(file_text(csv), csv_before);
    for (const auto& e : fs::directory_iterator(root + "/scores"))
        EXPECT_FALSE(is_temp_name(e.path().filename().string())) << e.path();
    const test::CommandResult same =
        test::run_pfce("eval --checkpoint " + run + "/last.ckpt --device cpu --force --confusion " +
                       root + "/x.svg --per-image " + root + "/x.svg");
    EXPECT_EQ(same.status, 2) << same.output;
    EXPECT_MESSAGE_HAS(same.output, "expected a .csv file");
    // A training run's curves are its own, --force or not: replaced by the matrix, a resumed run
    // left them and drew no curves. Also where the run has not drawn them (yet).
    const std::string curves = file_text(run + "/curves.svg");
    for (const std::string& target : {run + "/curves.svg", root + "/other-run/curves.svg"}) {
        if (target != run + "/curves.svg") {
            fs::create_directories(root + "/other-run");
            std::ofstream(root + "/other-run/metrics.jsonl") << "{}\n";
        }
        const test::CommandResult own = test::run_pfce(eval + " --force --confusion " + target);
        EXPECT_EQ(own.status, 2) << own.output;
        EXPECT_MESSAGE_HAS(own.output, target + " is a training run's curves");
        EXPECT_MESSAGE_HAS(own.output, "--force does not change this");
    }
    EXPECT_EQ(file_text(run + "/curves.svg"), curves);
    EXPECT_FALSE(fs::exists(root + "/other-run/curves.svg"));
    // Windows a pixel apart are said with what they cost (a hostile probe saw only an ETA of
    // hours); the overlap of a whole window is refused.
    const std::string windows = "eval --checkpoint " + run + "/last.ckpt --device cpu --window 32";
    const test::CommandResult dense_windows = test::run_pfce(windows + " --overlap 31");
    EXPECT_EQ(dense_windows.status, 0) << dense_windows.output;
    EXPECT_MESSAGE_HAS(dense_windows.output,
                       "--overlap 31 of a 32-pixel window: windows 1 pixel apart predict each "
                       "pixel about 1024 times (576x the work of the default --overlap 8)");
    EXPECT_EQ(test::run_pfce(windows + " --overlap 16").output.find("--overlap 16 of"),
              std::string::npos);
    const test::CommandResult whole = test::run_pfce(windows + " --overlap 32");
    EXPECT_EQ(whole.status, 2) << whole.output;
    EXPECT_MESSAGE_HAS(whole.output, "--overlap 32: expected fewer pixels than the window (32");

    // --bootstrap: the mIoU's interval over the images scored, in the table and the JSON.
    const test::CommandResult boot = test::run_pfce(
        "eval --checkpoint " + run + "/last.ckpt --split all --device cpu --bootstrap 500");
    ASSERT_EQ(boot.status, 0) << boot.output;
    EXPECT_MESSAGE_HAS(boot.output, "(95%: bootstrap of 10 images, 500 resamples)");
    const test::CommandResult boot_json = test::run_pfce(
        "eval --checkpoint " + run + "/last.ckpt --split all --device cpu --bootstrap 500 --json");
    ASSERT_EQ(boot_json.status, 0) << boot_json.output;
    const nlohmann::json bj = test::json_in_output(boot_json.output);
    ASSERT_TRUE(bj.contains("miou_ci95")) << bj.dump();
    EXPECT_LE(bj["miou_ci95"][0].get<double>(), bj["miou_ci95"][1].get<double>());
    EXPECT_EQ(bj["bootstrap"]["images"], 10);
    EXPECT_FALSE(bj["bootstrap"].contains("caveat")) << bj.dump();
    // Each class's IoU has its interval from the same draws (null where too few images have it).
    EXPECT_MESSAGE_HAS(boot.output,
                       "IoU intervals (95%, the same draws):\n  " + test::foreign_class_names()[0]);
    ASSERT_EQ(bj["iou_ci95"].size(), bj["iou"].size()) << bj.dump();
    for (std::size_t c = 0; c < bj["iou_ci95"].size(); ++c) {
        if (bj["iou_ci95"][c].is_null()) continue;
        EXPECT_LE(bj["iou_ci95"][c][0].get<double>(), bj["iou_ci95"][c][1].get<double>());
    }
    // Drawn from fewer than 10 images an interval is said to be too few to trust, however narrow
    // (a researcher read one over 3 test images as a precise score).
    const test::CommandResult boot_few = test::run_pfce(
        "eval --checkpoint " + run + "/last.ckpt --split train --device cpu --bootstrap 500");
    ASSERT_EQ(boot_few.status, 0) << boot_few.output;
    EXPECT_MESSAGE_HAS(boot_few.output, "images, 500 resamples; too few to trust)");
    EXPECT_MESSAGE_HAS(boot_few.output, "the mIoU interval is drawn from only ");
    EXPECT_MESSAGE_HAS(boot_few.output, "understates how far the score moves");
    const test::CommandResult few = test::run_pfce(
        "eval --checkpoint " + run + "/last.ckpt --split all --device cpu --bootstrap 5");
    EXPECT_EQ(few.status, 2) << few.output;
    EXPECT_MESSAGE_HAS(few.output, "--bootstrap 5: expected 100..100000 resamples");
    // Among another dataset's masks (its own data is refused whole: the next test).
    const auto other = dataset(root + "/other");
    const test::CommandResult among =
        test::run_pfce("eval --checkpoint " + run + "/last.ckpt --device cpu --per-image " +
                       other.root + "/masks/scores.csv --force");
    EXPECT_EQ(among.status, 2) << among.output;
    EXPECT_MESSAGE_HAS(among.output, "where it would be read as data");
    EXPECT_FALSE(fs::exists(other.root + "/masks/scores.csv"));
}

// eval --per-image refuses what its --force must never replace or where its file would be read:
// a name that is no .csv (a checkpoint, a run's metrics), a FIFO (--force renamed a file over it),
// a place inside the dataset or the --labels directory (not only their images/ and masks/). A
// Ctrl-C / SIGTERM during evaluation exits 130, writes nothing and leaves no directory it made.
TEST(CliMisuse, EvalPerImageRefusesWhatItMustNotReplaceAndStopsCleanly) {
    const std::string root = test::temp_dir("misuse_per_image_refusals");
    test::ForeignSpec spec;
    spec.sizes.assign(6, {40, 32});
    const auto fd = dataset(root + "/data", spec);
    const std::string run = root + "/run";
    ASSERT_EQ(test::run_pfce("train --data " + fd.root + " --out " + run + kTiny).status, 0);
    const std::string eval =
        "eval --checkpoint " + run + "/last.ckpt --device cpu --split all --per-image ";
    const test::CommandResult ckpt = test::run_pfce(eval + run + "/best.ckpt --force");
    EXPECT_EQ(ckpt.status, 2) << ckpt.output;
    EXPECT_MESSAGE_HAS(ckpt.output, "/best.ckpt: expected a .csv file");
    ASSERT_EQ(::mkfifo((root + "/fifo.csv").c_str(), 0644), 0);
    const test::CommandResult fifo = test::run_pfce(eval + root + "/fifo.csv --force");
    EXPECT_EQ(fifo.status, 2) << fifo.output;
    EXPECT_MESSAGE_HAS(fifo.output, "/fifo.csv: it is a FIFO (named pipe), not a regular file");
    EXPECT_TRUE(fs::is_fifo(root + "/fifo.csv"));
    for (const std::string& inside : {fd.root + "/scores.csv", fd.root + "/masks/sub/s.csv"}) {
        const test::CommandResult r = test::run_pfce(eval + inside);
        EXPECT_EQ(r.status, 2) << r.output;
        EXPECT_MESSAGE_HAS(r.output, "which eval reads");
        EXPECT_FALSE(fs::exists(inside));
    }
    EXPECT_FALSE(fs::exists(fd.root + "/masks/sub"));

    // Large images under test-time augmentation in small windows: seconds of evaluation.
    test::ForeignSpec large_spec;
    large_spec.sizes.assign(8, {512, 512});
    const auto large = dataset(root + "/large", large_spec);
    const std::string cmd = test::pfce_binary() + " eval --checkpoint " + run +
                            "/last.ckpt --device cpu --data " + large.root +
                            " --split all --tta d4 --window 32 --per-image " + root +
                            "/new/deeper/scores.csv";
    const std::string log = terminate_once_logged(cmd, root + "/log", "device:", "0.3");
    EXPECT_MESSAGE_HAS(log, "rc=130");
    EXPECT_MESSAGE_HAS(log, "eval stopped (Ctrl-C / SIGTERM) before its end; nothing written");
    EXPECT_FALSE(fs::exists(root + "/new")) << log;
}

// pfce train draws OUT/curves.svg after every epoch (a resumed run's epochs too); --force starts
// its picture over; a curves.svg of the user's own in OUT is left as it is, said once, and does
// not stop the run; pfce's own picture alone does not make OUT someone else's.
TEST(CliMisuse, TrainDrawsItsCurvesAndLeavesAUsersFile) {
    const std::string root = test::temp_dir("misuse_curves");
    const auto fd = dataset(root + "/data");
    const std::string run = root + "/run", curves = run + "/curves.svg";
    const std::string train = "train --data " + fd.root + " --out " + run +
                              " --batch-size 4 --width 4 --depth 1 --device cpu";
    ASSERT_EQ(test::run_pfce(train + " --epochs 1").status, 0);
    auto circles = [&] {
        const std::string svg = file_text(curves);
        std::size_t n = 0;
        for (std::size_t at = svg.find("<circle"); at != std::string::npos;
             at = svg.find("<circle", at + 1))
            ++n;
        return n;
    };
    ASSERT_TRUE(fs::exists(curves));
    EXPECT_NE(file_text(curves).find("pfce train: " + run), std::string::npos);
    const std::size_t one_epoch = circles();  // a point per series, and the best epoch's mark
    EXPECT_GE(one_epoch, 4u);                 // train loss, mIoU, lr at least
    ASSERT_EQ(test::run_pfce(train + " --epochs 2 --resume").status, 0);
    EXPECT_EQ(circles(), 2 * (one_epoch - 1) + 1);
    ASSERT_EQ(test::run_pfce(train + " --epochs 1 --force").status, 0);
    EXPECT_EQ(circles(), one_epoch);
    // Its subtitle names the labels trained on: linked masks of --labels as such from the first
    // epoch (it said "dense from DIR" until a resume drew it again; README probe).
    ASSERT_EQ(
        test::run_pfce("sample --data " + fd.root + " --points 5 --out " + root + "/s").status, 0);
    ASSERT_EQ(test::run_pfce("link --in " + root + "/s --out " + root + "/l --radius 5").status, 0);
    ASSERT_EQ(
        test::run_pfce("train --data " + fd.root + " --labels " + root + "/l --out " + root +
                       "/on-linked --epochs 1 --batch-size 4 --width 4 --depth 1 --device cpu")
            .status,
        0);
    const std::string linked_curves = file_text(root + "/on-linked/curves.svg");
    EXPECT_MESSAGE_HAS(linked_curves, "linked from " + root + "/l");
    EXPECT_EQ(linked_curves.find("dense from"), std::string::npos);

    // A user's own file of that name: left, and said.
    const std::string mine = root + "/mine";
    fs::create_directories(mine);
    { std::ofstream(mine + "/curves.svg") << "<svg>my plot</svg>\n"; }
    const test::CommandResult theirs =
        test::run_pfce("train --data " + fd.root + " --out " + mine + " --epochs 1 --force" +
                       " --batch-size 4 --width 4 --depth 1 --device cpu");
    EXPECT_EQ(theirs.status, 2) << theirs.output;  // a directory of other files: not a run's
    EXPECT_EQ(file_text(mine + "/curves.svg"), "<svg>my plot</svg>\n");
    // pfce's picture alone (the rest of a run removed) is no one else's: the directory is free.
    fs::remove(run + "/last.ckpt");
    fs::remove(run + "/best.ckpt");
    fs::remove(run + "/metrics.jsonl");
    const test::CommandResult again = test::run_pfce(train + " --epochs 1");
    EXPECT_EQ(again.status, 0) << again.output;
    EXPECT_EQ(circles(), one_epoch);
    // A user's file put in place of the picture, beside the run: the run goes on and leaves it.
    fs::copy_file(mine + "/curves.svg", curves, fs::copy_options::overwrite_existing);
    const test::CommandResult resumed = test::run_pfce(train + " --epochs 2 --resume");
    EXPECT_EQ(resumed.status, 0) << resumed.output;
    EXPECT_MESSAGE_HAS(resumed.output, curves + " is not a picture pfce drew: it is left as it is");
    EXPECT_EQ(file_text(curves), "<svg>my plot</svg>\n");
}

// pfce train writes OUT/config.toml, the settings the run trains with: another run started from
// it (--config, another --out) trains the same model; a resume with more epochs writes the new
// count; a user's file of that name beside a run is left as it is and said; pfce's own file alone
// does not make OUT someone else's, and a user's alone does.
TEST(CliMisuse, TrainWritesItsSettingsAsAConfigAnotherRunCanStartFrom) {
    const std::string root = test::temp_dir("misuse_run_config");
    const auto fd = dataset(root + "/data");
    const std::string run = root + "/run", config = run + "/config.toml";
    const std::string train = "train --data " + fd.root + " --out " + run + kTiny +
                              " --label-kind sparse --points 20 --lr 0.003";
    const test::CommandResult first = test::run_pfce(train);
    ASSERT_EQ(first.status, 0) << first.output;
    const std::string text = file_text(config);
    EXPECT_EQ(text.rfind("# pfce run settings, what this run trains with; pfce ", 0), 0u) << text;
    EXPECT_MESSAGE_HAS(text, "#   pfce train --config " + config + " --out NEW_DIR\n");
    EXPECT_MESSAGE_HAS(text, "[optimizer]\n");
    EXPECT_MESSAGE_HAS(text, "lr = 0.003\n");
    EXPECT_MESSAGE_HAS(text, "points = [20]\n");
    EXPECT_MESSAGE_HAS(text, "root = \"" + fd.root + "\"\n");

    // Another run from it: the same settings, the same model (a CPU run is bit-reproducible).
    const std::string copy = root + "/copy";
    const test::CommandResult again = test::run_pfce("train --config " + config + " --out " + copy);
    ASSERT_EQ(again.status, 0) << again.output;
    auto loss = [&](const std::string& dir) {
        const std::string m = file_text(dir + "/metrics.jsonl");
        const std::size_t at = m.find("\"train_loss\":");
        return m.substr(at, m.find(',', at) - at);
    };
    EXPECT_EQ(loss(copy), loss(run));
    std::string expected = text;
    for (std::size_t at; (at = expected.find(run + "/config.toml")) != std::string::npos;)
        expected.replace(at, run.size(), copy);
    expected.replace(expected.find("out = \"" + run + "\""), 8 + run.size(),
                     "out = \"" + copy + "\"");
    // The same but for the paths, and so its last line, the checksum of the rest.
    auto body = [](const std::string& t) { return t.substr(0, t.rfind("# checksum ")); };
    EXPECT_EQ(body(file_text(copy + "/config.toml")), body(expected));

    // A resume with more epochs: the file says the count the run now goes to.
    ASSERT_EQ(test::run_pfce("train --resume --out " + run + " --epochs 2").status, 0);
    const std::string two = file_text(config);
    EXPECT_MESSAGE_HAS(two, "epochs = 2\n");
    // Edited (it changes nothing), then a resume with nothing to do: put back as the run is. Its
    // checksum line gone with the edit (or cut short), whether it was edited cannot be told: the
    // text is kept beside it all the same, and said (a probe's config cut in half was replaced
    // without a word).
    const std::string cut = two.substr(0, two.find("[optimizer]")) + "[optimizer]\nlr = 0.5\n";
    { std::ofstream(config) << cut; }
    const test::CommandResult unsummed =
        test::run_pfce("train --resume --out " + run + " --epochs 2");
    ASSERT_EQ(unsummed.status, 0) << unsummed.output;
    EXPECT_EQ(file_text(config), two);
    EXPECT_MESSAGE_HAS(unsummed.output, config +
                                            " has no checksum line (cut short, or written by "
                                            "an older pfce)");
    EXPECT_EQ(file_text(config + ".edited"), cut);
    fs::remove(config + ".edited");
    // Edited in place, its last line (the checksum of the rest) kept, as sed -i leaves it: the
    // user's text is kept beside it and the edit said (a hostile probe's lr and note were
    // replaced without a word); the copy does not make the directory someone else's.
    EXPECT_EQ(two.substr(two.rfind('\n', two.size() - 2) + 1, 11), "# checksum ") << two;
    std::string edited = two;
    edited.replace(edited.find("lr = 0.003"), 10, "lr = 0.01");
    edited.insert(edited.rfind("# checksum "), "# my note\n");
    { std::ofstream(config) << edited; }
    const test::CommandResult noticed =
        test::run_pfce("train --resume --out " + run + " --epochs 2");
    ASSERT_EQ(noticed.status, 0) << noticed.output;
    EXPECT_MESSAGE_HAS(noticed.output, config + " was edited by hand");
    EXPECT_MESSAGE_HAS(noticed.output, "It is kept in " + config + ".edited");
    EXPECT_EQ(file_text(config), two);
    EXPECT_EQ(file_text(config + ".edited"), edited);
    { std::ofstream(config) << edited; }
    ASSERT_EQ(test::run_pfce("train --resume --out " + run + " --epochs 2").status, 0);
    EXPECT_EQ(file_text(config + ".edited.2"), edited);  // the first copy is not replaced
    EXPECT_EQ(test::run_pfce("train --resume --out " + run + " --epochs 2").output.find("edited"),
              std::string::npos);  // written by pfce again: no edit
    // Paths as a suite gives them (relative to where it ran) are written absolute: from another
    // directory the file names the same data.
    Config relative;
    relative.data.root = "data/here";
    relative.run.out = "runs/x/train";
    const std::string text_of_relative = run_config_text(relative);
    EXPECT_MESSAGE_HAS(text_of_relative,
                       "root = \"" + (fs::current_path() / "data/here").string() + "\"\n");
    EXPECT_MESSAGE_HAS(text_of_relative, "#   pfce train --config " +
                                             (fs::current_path() / "runs/x/train").string() +
                                             "/config.toml --out NEW_DIR\n");
    // A user's file of that name beside the run: left, said, and the run goes on.
    { std::ofstream(config) << "# my notes\n"; }
    const test::CommandResult kept = test::run_pfce("train --resume --out " + run + " --epochs 3");
    EXPECT_EQ(kept.status, 0) << kept.output;
    EXPECT_MESSAGE_HAS(kept.output, config + " is not pfce's");
    EXPECT_EQ(file_text(config), "# my notes\n");
    // A directory of that name is said as one (it was said to have another first line).
    fs::remove(config);
    fs::create_directories(config);
    const test::CommandResult dir = test::run_pfce("train --resume --out " + run + " --epochs 3");
    EXPECT_EQ(dir.status, 0) << dir.output;
    EXPECT_MESSAGE_HAS(dir.output,
                       config + " is a directory, not pfce's settings file: left as it");
    fs::remove(config);
    { std::ofstream(config) << "# my notes\n"; }
    // pfce's file alone (the rest of the run removed) is no one else's: the directory is free;
    // a user's file alone makes it theirs (as any file of theirs does).
    for (const char* f : {"last.ckpt", "best.ckpt", "metrics.jsonl", "curves.svg"})
        fs::remove(copy + "/" + f);
    const test::CommandResult fresh =
        test::run_pfce("train --data " + fd.root + " --out " + copy + kTiny);
    EXPECT_EQ(fresh.status, 0) << fresh.output;
    const std::string mine = root + "/mine";
    fs::create_directories(mine);
    { std::ofstream(mine + "/config.toml") << "# my notes\n"; }
    const test::CommandResult theirs =
        test::run_pfce("train --data " + fd.root + " --out " + mine + kTiny + " --force");
    EXPECT_EQ(theirs.status, 2) << theirs.output;
    EXPECT_MESSAGE_HAS(theirs.output, "already holds files that are not a run's (config.toml");
    EXPECT_EQ(file_text(mine + "/config.toml"), "# my notes\n");
}

// A refused resume names where each changed setting came from: a --config file's value looked
// like the run's own (the probe was told "settings differ" and looked for them on its command
// line).
TEST(CliMisuse, ResumeRefusalNamesWhereEachChangedSettingCameFrom) {
    const std::string root = test::temp_dir("misuse_resume_sources");
    const auto fd = dataset(root + "/data");
    const std::string run = root + "/run";
    ASSERT_EQ(test::run_pfce("train --data " + fd.root + " --out " + run + kTiny).status, 0);
    { std::ofstream(root + "/other.toml") << "[optimizer]\nlr = 0.05\n"; }
    const test::CommandResult r =
        test::run_pfce("train --resume --out " + run + " --epochs 2 --config " + root +
                       "/other.toml --weight-decay 0.1");
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_MESSAGE_HAS(r.output, "optimizer.lr: 0.001 -> 0.05 (set by " + root + "/other.toml)");
    EXPECT_MESSAGE_HAS(r.output, "optimizer.weight_decay: 0.0 -> 0.1 (typed on the command line)");
}

// Another run from a run's config.toml trains on its mask directory as it is now: masks made
// again since with other settings (which the file leaves to the masks, as comments) are said
// (a probe's second run trained on 4x the points without a word; --resume refuses them).
TEST(CliMisuse, ARunFromAConfigTomlSaysItsMasksWereMadeAgainOtherwise) {
    const std::string root = test::temp_dir("misuse_config_masks_again");
    const auto fd = dataset(root + "/data");
    const std::string masks = root + "/masks", run = root + "/run";
    const std::string sample = "sample --data " + fd.root + " --out " + masks + " --points ";
    ASSERT_EQ(test::run_pfce(sample + "5").status, 0);
    ASSERT_EQ(
        test::run_pfce("train --data " + fd.root + " --labels " + masks + " --out " + run + kTiny)
            .status,
        0);
    const std::string again = "train --config " + run + "/config.toml --out ";
    const test::CommandResult same = test::run_pfce(again + root + "/same");
    ASSERT_EQ(same.status, 0) << same.output;
    EXPECT_EQ(same.output.find("now holds masks made with"), std::string::npos) << same.output;
    ASSERT_EQ(test::run_pfce(sample + "9 --force").status, 0);
    const test::CommandResult other = test::run_pfce(again + root + "/other");
    ASSERT_EQ(other.status, 0) << other.output;
    EXPECT_MESSAGE_HAS(other.output, run +
                                         "/config.toml is the settings of a run whose masks were "
                                         "made with points = [5], ");
    EXPECT_MESSAGE_HAS(other.output,
                       "; labels.dir " + masks + " now holds masks made with points = [9], ");
    EXPECT_MESSAGE_HAS(other.output, "this run trains on those");
}

// A hostile probe's findings: commands wrote below an existing mask directory (sample, link,
// train, run), --from took the dataset's own dense masks as "points", entries named as
// annotations that are no file were passed over unnamed, and points typed beside imported
// annotations were recorded as how they were made.
TEST(CliMisuse, NothingIsWrittenBelowAMaskDirectoryAndImportsAreWhatTheySay) {
    const std::string root = test::temp_dir("misuse_below_masks");
    const auto fd = dataset(root + "/data");
    const std::string sp = root + "/sp";
    ASSERT_EQ(test::run_pfce("sample --data " + fd.root + " --points 5 --out " + sp).status, 0);
    const std::string below = "lies inside the mask directory ";
    for (const std::string& cmd :
         {"link --in " + sp + " --out " + sp + "/sub",
          "sample --data " + fd.root + " --points 5 --out " + sp + "/sub/deeper",
          "train --data " + fd.root + " --out " + sp + "/run" + kTiny,
          "run synthetic-small --out " + sp + "/suite"}) {
        const test::CommandResult r = test::run_pfce(cmd);
        EXPECT_EQ(r.status, 2) << cmd << "\n" << r.output;
        EXPECT_MESSAGE_HAS(r.output, below);
        EXPECT_MESSAGE_HAS(r.output, "sp (its masks.json)");
    }
    const test::CommandResult synth =
        test::run_pfce("data synth --out " + sp + "/synth --count 2 --size 32");
    EXPECT_EQ(synth.status, 2) << synth.output;
    EXPECT_MESSAGE_HAS(synth.output, below);
    EXPECT_FALSE(fs::exists(sp + "/sub"));
    EXPECT_FALSE(fs::exists(sp + "/run"));
    EXPECT_FALSE(fs::exists(sp + "/suite"));
    EXPECT_FALSE(fs::exists(sp + "/synth"));
    // A masks.json that is no pfce record (a COCO or Label Studio export in a user's project)
    // makes no mask directory.
    fs::create_directories(root + "/proj");
    std::ofstream(root + "/proj/masks.json") << "{}";
    const test::CommandResult project =
        test::run_pfce("sample --data " + fd.root + " --points 5 --out " + root + "/proj/sp");
    EXPECT_EQ(project.status, 0) << project.output;
    // Beside it, and into itself again with --force: as before. A dataset that does not open
    // (here for --max-pixels) is why no purity is measured, not a --data left out.
    EXPECT_EQ(test::run_pfce("link --in " + sp + " --out " + root + "/lk").status, 0);
    const test::CommandResult small =
        test::run_pfce("link --in " + sp + " --out " + root + "/lk_small --max-pixels 10");
    EXPECT_EQ(small.status, 0) << small.output;
    EXPECT_MESSAGE_HAS(small.output, "purity vs dense:  not measured (its dataset ");
    EXPECT_EQ(small.output.find("pass --data"), std::string::npos) << small.output;
    EXPECT_EQ(
        test::run_pfce("sample --data " + fd.root + " --points 6 --out " + sp + " --force").status,
        0);
    // The links of the points sampled before: train says so (link did; train read them silently).
    const test::CommandResult stale = test::run_pfce("train --data " + fd.root + " --labels " +
                                                     root + "/lk --out " + root + "/stale" + kTiny);
    EXPECT_EQ(stale.status, 0) << stale.output;
    EXPECT_MESSAGE_HAS(stale.output, root + "/lk were linked from ");
    EXPECT_MESSAGE_HAS(stale.output, "were made again since (its masks.json changed)");

    const test::CommandResult own = test::run_pfce("sample --data " + fd.root + " --from " +
                                                   fd.root + "/masks --out " + root + "/own");
    EXPECT_EQ(own.status, 2) << own.output;
    EXPECT_MESSAGE_HAS(own.output, "holds the dense masks of " + fd.root);
    EXPECT_FALSE(fs::exists(root + "/own"));
    // A copy of one is no refusal (it may be a person's dense work), but said: of the pixels of
    // the images annotated, not of all (one of 8 samples was 12%, and passed unsaid).
    fs::create_directory(root + "/copy");
    fs::copy_file(fd.root + "/masks/" + fd.ids[0] + ".png", root + "/copy/" + fd.ids[0] + ".png");
    const test::CommandResult copy = test::run_pfce("sample --data " + fd.root + " --from " + root +
                                                    "/copy --out " + root + "/imp_dense");
    EXPECT_EQ(copy.status, 0) << copy.output;
    EXPECT_MESSAGE_HAS(copy.output,
                       "% of the pixels of the images they annotate: dense masks rather than "
                       "points?");

    fs::create_directory(root + "/ann");
    fs::copy_file(sp + "/" + fd.ids[0] + ".png", root + "/ann/" + fd.ids[0] + ".png");
    fs::create_directory(root + "/ann/" + fd.ids[1] + ".png");
    fs::create_symlink(root + "/nowhere", root + "/ann/" + fd.ids[2] + ".png");
    const test::CommandResult imp = test::run_pfce("sample --data " + fd.root + " --from " + root +
                                                   "/ann --out " + root + "/imp");
    ASSERT_EQ(imp.status, 0) << imp.output;
    EXPECT_MESSAGE_HAS(imp.output, "2 entries named as annotations are no file");
    EXPECT_MESSAGE_HAS(imp.output, fd.ids[1] + ".png, " + fd.ids[2] + ".png");
    EXPECT_EQ(imp.output.find("dense masks rather than points"), std::string::npos) << imp.output;
    // The default typed is typed too (--points 500 would seem to have taken effect).
    for (const std::string& flag :
         {std::string("--points 7"), std::string("--label-seed 3"), std::string("--points 500")}) {
        const test::CommandResult t =
            test::run_pfce("train --data " + fd.root + " --labels " + root + "/imp " + flag +
                           " --out " + root + "/run" + kTiny);
        EXPECT_EQ(t.status, 2) << flag << "\n" << t.output;
        EXPECT_MESSAGE_HAS(t.output, "holds annotations imported from " +
                                         fs::weakly_canonical(root + "/ann").string());
        EXPECT_MESSAGE_HAS(t.output, ": drop " + flag.substr(0, flag.find(' ')));
    }
    EXPECT_EQ(test::run_pfce("train --data " + fd.root + " --labels " + root + "/imp --out " +
                             root + "/run" + kTiny)
                  .status,
              0);
}

// Under a small address-space limit (a cluster's h_vmem) pfce runs and exits: OpenBLAS's thread
// pool, made when the library loads, looped on its failing buffer allocation and exit waited for
// it (`pfce --version` hung). pfce starts itself with OPENBLAS_NUM_THREADS=1 unless it is set.
TEST(CliMisuse, AnAddressSpaceLimitDoesNotHangPfce) {
    const test::CommandResult r =
        test::run_command("ulimit -v 200000; env -u OPENBLAS_NUM_THREADS timeout 60 \"" +
                          test::pfce_binary() + "\" --version 2>&1");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.output.rfind("pfce ", 0), 0u) << r.output;  // the version line
    // A value the user set is kept.
    const test::CommandResult doctor = test::run_command("OPENBLAS_NUM_THREADS=2 timeout 60 \"" +
                                                         test::pfce_binary() + "\" doctor 2>&1");
    EXPECT_MESSAGE_HAS(doctor.output, ", 2 threads (pfce calls no BLAS routine)");
}

// OpenMP's threads spin 10000 times at a barrier before they sleep, not libgomp's 300000, which
// beside another busy process halved CPU training's speed: pfce sets GOMP_SPINCOUNT before libgomp
// reads it (at load, by starting itself again), unless the user set it or OMP_WAIT_POLICY. What
// libgomp read is what it displays under OMP_DISPLAY_ENV (the last display is the process that
// runs the command).
TEST(CliMisuse, OpenMpThreadsSpinBrieflyUnlessTheUserSaysOtherwise) {
    const auto spin_count = [](const std::string& env) {
        const test::CommandResult r = test::run_command(
            "env -u GOMP_SPINCOUNT -u OMP_WAIT_POLICY " + env +
            " OMP_DISPLAY_ENV=verbose timeout 60 \"" + test::pfce_binary() + "\" --version 2>&1");
        EXPECT_EQ(r.status, 0) << r.output;
        const std::string key = "GOMP_SPINCOUNT = '";
        const std::size_t at = r.output.rfind(key);
        if (at == std::string::npos) return std::string("not displayed: ") + r.output;
        return r.output.substr(at + key.size(),
                               r.output.find('\'', at + key.size()) - at - key.size());
    };
    EXPECT_EQ(spin_count(""), "10000");
    EXPECT_EQ(spin_count("GOMP_SPINCOUNT=777"), "777");
    EXPECT_EQ(spin_count("OMP_WAIT_POLICY=passive"), "0");
    EXPECT_EQ(spin_count("OMP_WAIT_POLICY=active"), "30000000000");
}

// Running out of memory is said with the flags of the command that ran (predict was told to lower
// --batch-size and --crop-size, which it does not have). A limit on the address space stands in
// for a small machine: a contact sheet of 8 rows of 4096-pixel panels is 0.8 GB.
TEST(CliMisuse, OutOfMemoryAdviceNamesTheCommandsOwnFlags) {
    const std::string root = test::temp_dir("cli_oom");
    test::write_synthetic(root + "/data", 8, 32, 0);
    const test::CommandResult r = test::run_command(
        "ulimit -v 600000; timeout 120 \"" + test::pfce_binary() + "\" data preview " + root +
        "/data --out " + root + "/sheet.png --count 8 --panel 4096 2>&1");
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_MESSAGE_HAS(r.output,
                       "pfce: error: out of memory (std::bad_alloc): the contact sheet is larger "
                       "than this machine holds; lower --count or --panel");
    EXPECT_EQ(r.output.find("--crop-size"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(root + "/sheet.png"));
}
