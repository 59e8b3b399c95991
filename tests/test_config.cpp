// The one config: every key has a TOML key, a JSON field and a command-line flag (from one table);
// files, checkpoints and flags round-trip; nonsense values are refused naming file, key, value and
// expectation; resuming compares only what changes a run's result.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <tuple>

#include "core/build_info.hpp"
#include "core/error.hpp"
#include "core/source_version.hpp"
#include "host/train/config.hpp"
#include "host/train/config_sources.hpp"
#include "host/train/optimizer.hpp"
#include "tests/test_util.hpp"

using namespace pfce;
namespace fs = std::filesystem;

namespace {

std::string write(const std::string& dir, const std::string& name, const std::string& text) {
    const std::string p = dir + "/" + name;
    std::ofstream(p) << text;
    return p;
}

}  // namespace

TEST(Config, EveryKeyHasOneFlagOneSectionAndHelp) {
    std::set<std::string> flags, dotted;
    std::set<std::string> sections(config_sections().begin(), config_sections().end());
    for (const ConfigKey& k : config_keys()) {
        EXPECT_TRUE(sections.count(k.section)) << k.dotted();
        EXPECT_TRUE(flags.insert(k.flag).second) << "flag " << k.flag << " used twice";
        EXPECT_TRUE(dotted.insert(k.dotted()).second) << k.dotted();
        EXPECT_EQ(k.flag.rfind("--", 0), 0u) << k.flag;
        EXPECT_FALSE(k.help.empty()) << k.dotted();
        EXPECT_TRUE(k.get && k.set) << k.dotted();
        if (k.type == KeyType::choice) {
            EXPECT_FALSE(k.choices.empty()) << k.dotted();
        }
    }
    // Every key appears in `pfce train --help`.
    const test::CommandResult help = test::run_pfce("train --help");
    ASSERT_EQ(help.status, 0) << help.output;
    for (const ConfigKey& k : config_keys()) EXPECT_MESSAGE_HAS(help.output, k.flag + " ");
}

// --help-all shows every command's options, also those of a command's own subcommands (data
// synth, stats, preview), which CLI11 listed by name only (a documentation audit).
TEST(Config, HelpAllShowsNestedCommandsOptions) {
    const test::CommandResult all = test::run_pfce("--help-all");
    ASSERT_EQ(all.status, 0) << all.output;
    for (const std::string command : {"synth", "stats", "preview", "train", "predict"})
        EXPECT_MESSAGE_HAS(all.output, command + "\n");
    EXPECT_MESSAGE_HAS(all.output, "--count INT=100");     // data synth
    EXPECT_MESSAGE_HAS(all.output, "--panel INT=300");     // data preview
    EXPECT_MESSAGE_HAS(all.output, "DIR TEXT REQUIRED");   // data stats
    EXPECT_MESSAGE_HAS(all.output, "--points-per-class");  // sample
    const test::CommandResult version = test::run_pfce("--version");
    EXPECT_EQ(version.status, 0) << version.output;
    EXPECT_MESSAGE_HAS(version.output, "pfce 0.");
    // The commit of the sources it was built from (a clone here; none in an unpacked archive),
    // as checkpoints and results record it.
    EXPECT_MESSAGE_HAS(version.output, "pfce " + pfce_version_text() + ", ");
    EXPECT_MESSAGE_HAS(pfce_version_text(), std::string(source_commit()).empty()
                                                ? " (sources not under git)"
                                                : " (commit " + std::string(source_commit()) + ")");
    // In a clone, the commit is the clone's HEAD (not an enclosing repository's, nor stale).
    if (FILE* git = ::popen(
            ("git -C '" + std::string(PFCE_SOURCE_ROOT) + "' rev-parse --short=12 HEAD 2>/dev/null")
                .c_str(),
            "r")) {
        char head[64] = {};
        const bool read = std::fgets(head, sizeof head, git) != nullptr;
        if (::pclose(git) == 0 && read) {
            std::string h = head;
            h.erase(h.find_last_not_of("\n") + 1);
            EXPECT_EQ(std::string(source_commit()).substr(0, h.size()), h);
        }
    }
}

TEST(Config, SectionedFilesJsonAndTomlTextRoundTrip) {
    const std::string dir = test::temp_dir("config");
    const std::string p =
        write(dir, "good.toml",
              "[run]\nepochs = 3\nseed = \"18446744073709551615\"\n[optimizer]\nlr = 0.002\n"
              "name = \"adamw\"\n[loss]\nalpha = [1, 2.5]\n[data]\naugment = false\n"
              "[schedule]\nname = \"plateau\"\nplateau_factor = 0.5\n[labels]\npoints = [5, 6]\n");
    const Config c = load_config_file(p);
    EXPECT_EQ(c.run.epochs, 3);
    EXPECT_EQ(c.run.seed, 18446744073709551615ull);
    EXPECT_DOUBLE_EQ(c.optimizer.lr, 0.002);
    EXPECT_EQ(c.optimizer.name, "adamw");
    EXPECT_EQ(c.loss.alpha, (std::vector<double>{1.0, 2.5}));
    EXPECT_FALSE(c.data.augment);
    EXPECT_EQ(c.labels.points, (std::vector<int>{5, 6}));
    EXPECT_EQ(c.run.step_graph, std::nullopt);  // unset: auto
    // run.step_graph takes true, false and "auto" (any case), and writes back what it read.
    for (const auto& [text, want] :
         std::vector<std::pair<std::string, std::optional<bool>>>{{"true", true},
                                                                  {"false", false},
                                                                  {"\"auto\"", std::nullopt},
                                                                  {"\"Auto\"", std::nullopt}}) {
        const Config g =
            load_config_file(write(dir, "graph.toml", "[run]\nstep_graph = " + text + "\n"));
        EXPECT_EQ(g.run.step_graph, want) << text;
        EXPECT_EQ(to_json(load_config_file(write(dir, "graph_again.toml", to_toml_text(g)))),
                  to_json(g));
    }
    // Checkpoint JSON and the TOML a user can start from both come back equal.
    EXPECT_EQ(to_json(config_from_json(to_json(c), "json")), to_json(c));
    const std::string again = write(dir, "again.toml", to_toml_text(c));
    EXPECT_EQ(to_json(load_config_file(again)), to_json(c));
    // The flat [train] table of older files and checkpoints still reads.
    const Config old = load_config_file(
        write(dir, "old.toml", "[train]\nlr = 0.01\nfocal_gamma = 1\nwidth = 8\n"));
    EXPECT_DOUBLE_EQ(old.optimizer.lr, 0.01);
    EXPECT_DOUBLE_EQ(old.loss.gamma, 1.0);
    EXPECT_EQ(old.model.width, 8);
    // One key in both forms: whichever came last won without a word (hostile probe); refused.
    const std::string both = write(dir, "both.toml", "[train]\nlr = 0.5\n[optimizer]\nlr = 0.01\n");
    try {
        load_config_file(both);
        ADD_FAILURE() << "a key set in [train] and [optimizer] was taken";
    } catch (const InputError& e) {
        EXPECT_MESSAGE_HAS(std::string(e.what()),
                           both + ": optimizer.lr is set twice: as \"lr\" in [train]");
    }
    const Config from_flat =
        config_from_json({{"lr", 0.3}, {"epochs", 4}, {"optimizer", "sgd"}}, "old checkpoint");
    EXPECT_DOUBLE_EQ(from_flat.optimizer.lr, 0.3);
    EXPECT_EQ(from_flat.optimizer.name, "sgd");
}

TEST(Config, FlagTextIsCheckedAsStrictlyAsFiles) {
    Config c;
    apply_flag_text(c, *find_config_key("loss.gamma"), "0.5");
    apply_flag_text(c, *find_config_key("labels.points"), "500,500,700");
    apply_flag_text(c, *find_config_key("data.augment"), "false");
    apply_flag_text(c, *find_config_key("run.seed"), "18446744073709551615");
    EXPECT_DOUBLE_EQ(c.loss.gamma, 0.5);
    EXPECT_EQ(c.labels.points, (std::vector<int>{500, 500, 700}));
    EXPECT_FALSE(c.data.augment);
    EXPECT_EQ(c.run.seed, 18446744073709551615ull);
    // One past 2^64 - 1 is too large, not "no integer" (a hostile probe was told the latter).
    try {
        apply_flag_text(c, *find_config_key("run.seed"), "18446744073709551616");
        ADD_FAILURE() << "2^64 was taken as a seed";
    } catch (const InputError& e) {
        EXPECT_MESSAGE_HAS(std::string(e.what()), "at most 18446744073709551615 (2^64 - 1)");
    }
    for (const auto& [key, text] :
         std::vector<std::pair<std::string, std::string>>{{"run.seed", "-1"},
                                                          {"run.epochs", "ten"},
                                                          {"optimizer.lr", "1e-3x"},
                                                          {"optimizer.clip", "nan"},
                                                          // reads as 0: not the value typed
                                                          {"optimizer.lr", "1e-400"},
                                                          {"optimizer.lr", "1e-310"},
                                                          // C's hex float and a leading space:
                                                          // strtod read both
                                                          {"optimizer.lr", "0x1p-10"},
                                                          {"optimizer.lr", " 0.1"},
                                                          {"optimizer.name", "adamx"},
                                                          {"data.augment", "maybe"},
                                                          {"labels.points", "5,x"}}) {
        const std::string msg =
            test::input_error_message([&] { apply_flag_text(c, *find_config_key(key), text); });
        EXPECT_MESSAGE_HAS(msg, find_config_key(key)->flag);
        EXPECT_MESSAGE_HAS(msg, text);
    }
}

// What `pfce ARGS --print-config` resolves (the command must succeed).
static std::string printed_config(const std::string& args) {
    const test::CommandResult r = test::run_pfce(args + " --print-config");
    EXPECT_EQ(r.status, 0) << args << "\n" << r.output;
    return r.output;
}

// A true/false key reads as a switch on the command line: alone it means true, a value or `=value`
// still sets it, `--no-` negates it, and a switch never swallows the flag after it.
TEST(Config, SwitchesWorkAloneWithAValueAndNegated) {
    const std::string dir = test::temp_dir("config_switches");
    auto shown = [&](const std::string& flags) {
        return printed_config("train --out " + dir + "/r " + flags);
    };
    EXPECT_MESSAGE_HAS(shown("--deterministic --epochs 7"), "deterministic = true");
    EXPECT_MESSAGE_HAS(shown("--deterministic --epochs 7"), "epochs = 7");
    EXPECT_MESSAGE_HAS(shown("--deterministic false"), "deterministic = false");
    EXPECT_MESSAGE_HAS(shown("--deterministic=false"), "deterministic = false");
    EXPECT_MESSAGE_HAS(shown("--no-augment"), "augment = false");
    EXPECT_MESSAGE_HAS(shown("--no-scale-by-area"), "scale_by_area = false");
    EXPECT_MESSAGE_HAS(shown("--scale-by-area off"), "scale_by_area = false");
    EXPECT_MESSAGE_HAS(shown("--augment FALSE"), "augment = false");
    // The last of two values wins, as for every flag; a switch and its negation together are an
    // error, not a silent pick.
    EXPECT_MESSAGE_HAS(shown("--step-graph --step-graph false"), "step_graph = false");
    // run.step_graph is a switch that may also be auto, its default.
    EXPECT_MESSAGE_HAS(shown(""), "step_graph = \"auto\"");
    EXPECT_MESSAGE_HAS(shown("--step-graph"), "step_graph = true");
    EXPECT_MESSAGE_HAS(shown("--no-step-graph"), "step_graph = false");
    EXPECT_MESSAGE_HAS(shown("--step-graph false --step-graph AUTO"), "step_graph = \"auto\"");
    const test::CommandResult maybe =
        test::run_pfce("train --out " + dir + "/r --step-graph maybe --print-config");
    EXPECT_NE(maybe.status, 0);
    EXPECT_MESSAGE_HAS(maybe.output, "maybe");
    EXPECT_MESSAGE_HAS(maybe.output, "true, false or auto");
    const test::CommandResult both =
        test::run_pfce("train --out " + dir + "/r --augment --no-augment --print-config");
    EXPECT_NE(both.status, 0);
    EXPECT_MESSAGE_HAS(both.output, "--no-augment");
    const test::CommandResult odd =
        test::run_pfce("train --out " + dir + "/r --no-augment=false --print-config");
    EXPECT_NE(odd.status, 0) << odd.output;
    const test::CommandResult bad =
        test::run_pfce("train --out " + dir + "/r --deterministic maybe --print-config");
    EXPECT_NE(bad.status, 0);
    EXPECT_MESSAGE_HAS(bad.output, "--deterministic maybe: expected true or false");
}

// loss.alpha = "auto" and the CRF term's keys go through files, checkpoint JSON and flags alike;
// "auto" stays "auto" (the trainer resolves it), and unresolved it cannot become loss parameters.
TEST(Config, AlphaAutoAndCrfKeysRoundTrip) {
    const std::string dir = test::temp_dir("config_crf");
    const Config c = load_config_file(
        write(dir, "crf.toml",
              "[loss]\nalpha = \"auto\"\ncrf_weight = 0.02\ncrf_radius = 3\ncrf_sigma_xy = 4\n"
              "crf_sigma_rgb = 20\ncrf_downsample = 2\ncrf_warmup = 4\n"));
    EXPECT_TRUE(c.loss.alpha_auto);
    EXPECT_TRUE(c.loss.alpha.empty());
    EXPECT_EQ(to_json(c)["loss"]["alpha"], "auto");
    EXPECT_EQ(to_json(config_from_json(to_json(c), "json")), to_json(c));
    EXPECT_EQ(to_json(load_config_file(write(dir, "again.toml", to_toml_text(c)))), to_json(c));
    const CrfLossParams p = crf_params(c);
    EXPECT_FLOAT_EQ(p.weight, 0.02f);
    EXPECT_EQ(p.radius, 3);
    EXPECT_FLOAT_EQ(p.sigma_xy, 4.0f);
    EXPECT_FLOAT_EQ(p.sigma_rgb, 20.0f);
    EXPECT_EQ(p.downsample, 2);
    // The weight ramps over crf_warmup epochs: epoch e (from 0) at lambda * (e + 1) / 4, then
    // lambda; without a warm-up it is lambda from the first epoch.
    EXPECT_EQ(c.loss.crf_warmup, 4);
    for (const auto& [epoch, weight] : std::vector<std::pair<int, double>>{
             {0, 0.005}, {1, 0.01}, {2, 0.015}, {3, 0.02}, {4, 0.02}, {99, 0.02}})
        EXPECT_DOUBLE_EQ(crf_weight_at(c.loss, epoch), weight) << epoch;
    LossSettings no_ramp = c.loss;
    no_ramp.crf_warmup = 0;
    EXPECT_DOUBLE_EQ(crf_weight_at(no_ramp, 0), 0.02);
    EXPECT_MESSAGE_HAS(test::input_error_message([&] { focal_params(c); }), "auto");

    Config f;
    apply_flag_text(f, *find_config_key("loss.alpha"), "auto");
    EXPECT_TRUE(f.loss.alpha_auto);
    apply_flag_text(f, *find_config_key("loss.alpha"), "1,2");  // a list replaces "auto"
    EXPECT_FALSE(f.loss.alpha_auto);
    EXPECT_EQ(f.loss.alpha, (std::vector<double>{1.0, 2.0}));
    apply_flag_text(f, *find_config_key("loss.crf_weight"), "0.5");
    EXPECT_DOUBLE_EQ(f.loss.crf_weight, 0.5);
    const std::string msg = test::input_error_message(
        [&] { apply_flag_text(f, *find_config_key("loss.alpha"), "autox"); });
    EXPECT_MESSAGE_HAS(msg, "--focal-alpha");
    EXPECT_MESSAGE_HAS(msg, "autox");
    EXPECT_EQ(Config().loss.crf_weight, 0.0);  // the term is off unless asked for
}

// data.bands is empty by default (the images' own RGB or gray) and stays empty through TOML and
// checkpoint JSON; a choice and the tile image set round-trip like any key.
TEST(Config, BandsAndTileImageRoundTrip) {
    const std::string dir = test::temp_dir("config_bands");
    Config c;
    EXPECT_TRUE(c.data.bands.empty());
    EXPECT_EQ(to_json(load_config_file(write(dir, "default.toml", to_toml_text(c)))), to_json(c));
    apply_flag_text(c, *find_config_key("data.bands"), "4,1,2");
    apply_flag_text(c, *find_config_key("data.tile_image"), "RGBIR");
    EXPECT_EQ(c.data.bands, (std::vector<int>{4, 1, 2}));
    const Config back = load_config_file(write(dir, "rgbir.toml", to_toml_text(c)));
    EXPECT_EQ(back.data.bands, (std::vector<int>{4, 1, 2}));
    EXPECT_EQ(back.data.tile_image, "RGBIR");
    EXPECT_EQ(to_json(config_from_json(to_json(c), "json")), to_json(c));
    EXPECT_TRUE(
        load_config_file(write(dir, "rgb.toml", "[data]\nbands = []\n")).data.bands.empty());
    // Three picks of one band are gray, as one pick is: not a band picked twice by mistake. A
    // run stored with a band picked twice (before that was refused) resumes as it trained.
    EXPECT_NO_THROW(
        validate(load_config_file(write(dir, "gray.toml", "[data]\nbands = [2, 2, 2]\n")), "x"));
    Config twice;
    twice.data.bands = {1, 2, 3, 3};
    EXPECT_THROW(validate(twice, "x"), InputError);
    EXPECT_NO_THROW(validate(twice, [](const std::vector<std::string>&) {
        return std::string(kStoredConfigSource) + "run";
    }));
    apply_flag_text(c, *find_config_key("data.value_range"), "0,10000");
    EXPECT_EQ(load_config_file(write(dir, "wide.toml", to_toml_text(c))).data.value_range,
              (std::vector<double>{0, 10000}));
    // run.best_metric's names in any case, as a choice; the class after the colon as typed.
    for (const auto& [typed, read] :
         {std::pair{"VAL_MIOU", "val_miou"}, std::pair{"Val_Loss", "val_loss"},
          std::pair{"VAL_IOU:Building", "val_iou:Building"}}) {
        Config b;
        apply_flag_text(b, *find_config_key("run.best_metric"), typed);
        EXPECT_EQ(b.run.best_metric, read);
        apply_flag_text(b, *find_config_key("schedule.plateau_metric"), typed);
        EXPECT_EQ(b.schedule.plateau_metric, read);
    }
    // Signed and floating-point samples: backscatter in dB, reflectance as 0..1.
    for (const auto& [text, want] : {std::pair{"-25,0", std::vector<double>{-25, 0}},
                                     std::pair{"0,0.3", std::vector<double>{0, 0.3}}}) {
        Config f;
        apply_flag_text(f, *find_config_key("data.value_range"), text);
        EXPECT_NO_THROW(validate(f, "x")) << text;
        EXPECT_EQ(load_config_file(write(dir, "float.toml", to_toml_text(f))).data.value_range,
                  want);
    }
}

// A flag typed with an empty value is a value: it clears a list a config file set, and where
// nothing can be empty it is refused instead of being dropped without a word. Choices are read in
// any case and stored as the table spells them.
TEST(Config, EmptyFlagsClearListsOrAreRefusedAndChoicesTakeAnyCase) {
    const std::string dir = test::temp_dir("config_empty_flags");
    const std::string cfg =
        write(dir, "wide.toml", "[data]\nbands = [4, 1, 2]\nvalue_range = [0, 10000]\n");
    auto shown = [&](const std::string& flags) {
        return printed_config("train --config " + cfg + " --out " + dir + "/r " + flags);
    };
    EXPECT_MESSAGE_HAS(shown(""), "bands = [4,1,2]");
    EXPECT_MESSAGE_HAS(shown("--bands \"\""), "bands = []");
    EXPECT_MESSAGE_HAS(shown("--value-range \"\""), "value_range = []");
    EXPECT_MESSAGE_HAS(shown("--value-range \"\""), "bands = [4,1,2]");
    EXPECT_MESSAGE_HAS(shown("--tile-image irrg"), "tile_image = \"IRRG\"");
    EXPECT_MESSAGE_HAS(shown("--tile-labels Eroded"), "tile_labels = \"eroded\"");
    EXPECT_MESSAGE_HAS(shown("--optimizer AdamW"), "name = \"adamw\"");
    for (const char* flag : {"--epochs", "--lr", "--seed", "--points", "--optimizer"}) {
        const test::CommandResult r =
            test::run_pfce("train --out " + dir + "/r " + flag + " \"\" --print-config");
        EXPECT_NE(r.status, 0) << flag << " \"\" was taken:\n" << r.output;
        EXPECT_MESSAGE_HAS(r.output, flag);
    }
    Config c;
    apply_flag_text(c, *find_config_key("data.tile_image"), "rgbir");
    EXPECT_EQ(c.data.tile_image, "RGBIR");
    // A value that cannot be seen in a message is quoted; a trailing comma is an empty item,
    // refused as a leading one is (it once dropped silently: "1," read as one band).
    auto refusal = [&](const char* key, const char* text) {
        try {
            apply_flag_text(c, *find_config_key(key), text);
        } catch (const InputError& e) {
            return std::string(e.what());
        }
        ADD_FAILURE() << key << " took \"" << text << "\"";
        return std::string();
    };
    EXPECT_MESSAGE_HAS(refusal("run.epochs", ""), "--epochs \"\": expected an integer");
    EXPECT_MESSAGE_HAS(refusal("run.epochs", "3 "), "--epochs \"3 \": expected");
    EXPECT_MESSAGE_HAS(refusal("data.bands", "1,"), "--bands 1,: expected");
    EXPECT_MESSAGE_HAS(refusal("data.value_range", "0,10000,"), "--value-range 0,10000,");
    EXPECT_MESSAGE_HAS(refusal("loss.alpha", "1,2,"), "--focal-alpha 1,2,");
    // Enum names read anywhere (pfce sample --kind GENERIC) take any case too.
    EXPECT_EQ(kOptimizerKinds.parse("AdamW"), OptimizerKind::adamw);
    EXPECT_THROW(kOptimizerKinds.parse("adamw2"), InputError);  // neither longer
    EXPECT_THROW(kOptimizerKinds.parse("ada"), InputError);     // nor shorter
    apply_flag_text(c, *find_config_key("loss.alpha"), "AUTO");
    EXPECT_TRUE(c.loss.alpha_auto);
    EXPECT_TRUE(
        load_config_file(write(dir, "auto.toml", "[loss]\nalpha = \"Auto\"\n")).loss.alpha_auto);
    // A band list of the wrong length shows the list, not its length.
    apply_flag_text(c, *find_config_key("data.bands"), "1,2");
    try {
        validate(c, "command line");
        ADD_FAILURE() << "two bands were taken";
    } catch (const InputError& e) {
        EXPECT_MESSAGE_HAS(
            std::string(e.what()),
            "data.bands = [1,2]: expected one band (copied to three channels) or three to eight");
    }
}

TEST(Config, NonsenseSettingsAreRefusedNamingKeyValueAndExpectation) {
    const std::string dir = test::temp_dir("config_bad");
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"[schedule]\nname = \"step\"\nstep_gamma = -1\n", "schedule.step_gamma"},
        {"[schedule]\nname = \"cosine\"\nmin_lr = 0.1\n[optimizer]\nlr = 0.01\n",
         "schedule.min_lr"},
        {"[optimizer]\neps = -1e-8\n", "optimizer.eps"},
        {"[optimizer]\nmomentum = -0.5\n", "optimizer.momentum"},
        {"[schedule]\nname = \"cosine\"\nwarmup_epochs = 20\n[run]\nepochs = 10\n",
         "schedule.warmup_epochs"},
        {"[run]\nprefetch = -1\n", "run.prefetch"},
        {"[optimizer]\nclip = nan\n", "\"optimizer.clip\" = nan"},
        {"[optimizer]\nweight_decay = nan\n", "optimizer.weight_decay"},
        {"[optimizer]\nbeta1 = 1.0\n", "optimizer.beta1"},
        // Below 1, but 1 in float, where the optimizer holds it (the first step divided by 0).
        {"[optimizer]\nbeta2 = 0.99999999\n",
         "optimizer.beta2 = 0.99999999: expected in [0, 1) and at most 0.99999994"},
        {"[optimizer]\nbeta1 = 0.99999999999\n", "optimizer.beta1 = 0.99999999999"},
        {"[optimizer]\nname = \"sgd\"\nmomentum = 0.99999999\n", "optimizer.momentum"},
        {"[data]\nmax_pixels = 0\n", "data.max_pixels"},
        {"[data]\nmax_pixels = -1\n", "data.max_pixels"},
        {"[data]\ncrop_size = 7\n", "data.crop_size"},
        {"[data]\ncrops_per_image = 0\n", "data.crops_per_image = 0: expected 1..4096"},
        // Whole images drawn several times an epoch alike: crops, or one.
        {"[data]\ncrops_per_image = 4\n",
         "data.crops_per_image = 4: expected 1 with whole images (data.crop_size = 0"},
        {"[data]\nbands = [4, 1]\n", "data.bands = [4,1]: expected one band"},
        {"[data]\nbands = [1, 2, 3, 4, 5, 6, 7, 8, 9]\n",
         "data.bands = [1,2,3,4,5,6,7,8,9]: expected one band (copied to three channels) or "
         "three to eight, one per input channel, or none"},
        {"[data]\nbands = [0, 1, 2]\n", "data.bands = 0: expected band numbers 1..255"},
        {"[data]\nbands = [1, 2, 3, 3]\n",
         "data.bands = [1,2,3,3]: expected each band once (band 3 is picked twice"},
        {"[data]\nbands = [2, 2, 1]\n", "data.bands = [2,2,1]: expected each band once"},
        {"[data]\nbands = \"4,1,2\"\n", "data.bands"},
        {"[data]\nbands = 3\n",
         "data.bands\" = 3: expected a list of band numbers such as [4, 1, 2] ([3]: band 3 "
         "alone)"},
        {"[data]\ntile_image = \"rgbi\"\n", "data.tile_image"},
        {"[data]\ntile_labels = \"noBoundary\"\n", "data.tile_labels"},
        {"[data]\nvalue_range = [100]\n", "data.value_range = 1 values"},
        {"[data]\nvalue_range = [5, -5]\n", "data.value_range = [5, -5]"},
        {"[data]\nvalue_range = [-1e308, 1e308]\n", "hi - lo finite"},
        {"[data]\ntrain_frac = 0.9\nval_frac = 0.2\n", "data.val_frac"},
        {"[optimizer]\nlr = inf\n", "optimizer.lr"},
        {"[run]\ndevice = \"gpu\"\n", "run.device"},
        {"[run]\nstep_graph = \"sometimes\"\n",
         "run.step_graph\" = \"sometimes\": expected true, false or \"auto\""},
        {"[run]\nstep_graph = 1\n", "run.step_graph\" = 1: expected true, false or \"auto\""},
        {"[model]\ndepth = 9\n", "model.depth"},
        {"[loss]\nalpha = [1, -2]\n", "loss.alpha"},
        {"[loss]\nalpha = \"automatic\"\n", "loss.alpha"},
        {"[loss]\ncrf_weight = -0.1\n", "loss.crf_weight"},
        {"[loss]\ncrf_radius = 0\n", "loss.crf_radius"},
        {"[loss]\ncrf_radius = 17\n", "loss.crf_radius"},
        {"[loss]\ncrf_sigma_xy = 0\n", "loss.crf_sigma_xy"},
        {"[loss]\ncrf_sigma_rgb = nan\n", "loss.crf_sigma_rgb"},
        {"[loss]\ncrf_downsample = 0\n", "loss.crf_downsample"},
        {"[loss]\ncrf_downsample = 17\n", "loss.crf_downsample"},
        {"[loss]\ncrf_warmup = -1\n", "loss.crf_warmup"},
        {"[loss]\ncrf_warmup = 100001\n", "loss.crf_warmup"},
        {"[optimizer]\nlrr = 0.1\n", "lrr"},
        {"[run]\nepochs = \"ten\"\n", "run.epochs"},
        {"[run]\nkernels = \"convolution=nhwc\"\n", "run.kernels"},
        {"[loss]\ngamma = 1e30\n", "loss.gamma"},
        {"[loss]\nalpha = [0, 0, 0, 0, 0, 0]\n", "loss.alpha"},
        {"[run]\nkernels = \"activations\"\n", "run.kernels"},
        {"[run]\nkernels = \"activation_storage=bf16\"\n", "run.precision"},
        {"[training]\nepochs = 1\n", "training"},
        // Each value as the file wrote it: a NaN in a list once read [1,null,3].
        {"[loss]\nalpha = [1, nan, 3]\n", "\"loss.alpha\" = [1, nan, 3]"},
        // Digits a double cannot hold: refused as written (1e-400 was read, and said, as 0; a
        // subnormal once stopped the message itself: std::stod threw "stod").
        {"[optimizer]\nlr = 1e-310\n", ":2:6: 1e-310 is too small for a double"},
        {"[optimizer]\nlr = 1e-400  # tiny\n", ":2:6: 1e-400 is too small for a double"},
        {"[loss]\nalpha = [1.0, 1e-400]\n", ":2:15: 1e-400 is too small"},
        // A parse error quotes its line, which names the key (the parser's message named none).
        {"[run]\nepochs = 99999999999999999999\n",
         "not representable in 64 bits (in: epochs = 99999999999999999999)"},
        // A crop the U-Net cannot take was refused only after the labels were drawn.
        {"[data]\ncrop_size = 17\n[model]\ndepth = 6\n", "data.crop_size = 17: expected at least"},
        // A U-Net whose bottom level would have over 65536 channels was refused only after the
        // data were read, as "not a valid network", without the limit.
        {"[model]\nwidth = 512\ndepth = 8\n", "model.width = 512: expected at most 256"},
        // A date or a table unquoted was read as the text "<a table or a date>", which a path key
        // took: a run trained into a directory of that name (hostile-user probe).
        {"[run]\nout = 2024-05-01\n",
         "key \"run.out\" (line 2) = 2024-05-01, a TOML date or time: expected a value of the "
         "key's type; a name or path is written in quotes (\"2024-05-01\")"},
        {"[data]\ntrain_list = 07:32:00\n", "key \"data.train_list\" (line 2) = 07:32:00"},
        {"[train]\nout = 1979-05-27T07:32:00Z\n",
         "key \"run.out\" (line 2) = 1979-05-27T07:32:00Z"},
        {"[labels]\ndir = {}\n", "key \"labels.dir\" (line 2) is a TOML table: expected one value"},
        {"[loss]\nalpha = [1, 2024-05-01]\n", "key \"loss.alpha\" (line 2) = 2024-05-01"},
    };
    int k = 0;
    for (const auto& [text, mention] : cases) {
        std::string name = "c";  // appended piece by piece: GCC 12 warns falsely on "c" + string&&
        name += std::to_string(k++);
        name += ".toml";
        const std::string p = write(dir, name, text);
        const std::string msg = test::input_error_message([&] { load_config_file(p); });
        EXPECT_MESSAGE_HAS(msg, p);
        EXPECT_MESSAGE_HAS(msg, mention);
    }
}

// Values of the right type and sign that only train on nonsense (hostile-user probe: lr = 1e9
// trained to a loss of 9.5e8 with exit 0; epochs = 1e9, labels.radius = 100000 and
// batch_size = 1e8 were taken): refused naming the file, the key, the value and the bound, which
// depends on the optimizer for the lr. The bounds themselves are accepted.
TEST(Config, AbsurdValuesAreRefusedNamingTheirBound) {
    const std::string dir = test::temp_dir("config_absurd");
    const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
        {"[optimizer]\nlr = 1e9\n", "optimizer.lr = 1e+09", "[1e-10, 1] for adam"},
        {"[optimizer]\nname = \"adamw\"\nlr = 1.5\n", "optimizer.lr = 1.5", "[1e-10, 1] for adamw"},
        {"[optimizer]\nname = \"sgd\"\nlr = 11\n", "optimizer.lr = 11", "[1e-10, 10] for sgd"},
        // Values that float arithmetic turns into 0 or inf: refused by their key, not by a kernel.
        {"[optimizer]\nlr = 1e-300\n", "optimizer.lr = 1e-300", "[1e-10, 1] for adam"},
        {"[optimizer]\nweight_decay = 1e300\n", "optimizer.weight_decay = 1e+300",
         "at most 1000 for adam"},
        {"[optimizer]\neps = 1e-300\n", "optimizer.eps = 1e-300", "1e-30..1 (usual: 1e-8)"},
        {"[optimizer]\neps = 1e300\n", "optimizer.eps = 1e+300", "1e-30..1"},
        {"[loss]\nalpha = [1e39, 1]\n", "loss.alpha = 1e+39", "every weight 0 or in 1e-30..1000"},
        {"[loss]\nalpha = [1e-300, 1]\n", "loss.alpha = 1e-300",
         "every weight 0 or in 1e-30..1000"},
        {"[optimizer]\neps = 1.0000001\n", "optimizer.eps = 1.0000001", "1e-30..1"},
        {"[loss]\ncrf_sigma_xy = 1e-300\n", "loss.crf_sigma_xy = 1e-300", "0.01..10000 pixels"},
        {"[loss]\ncrf_sigma_rgb = 1e39\n", "loss.crf_sigma_rgb = 1e+39", "0.01..10000 (0-255"},
        {"[optimizer]\nname = \"adamw\"\nlr = 0.1\nweight_decay = 10\n",
         "optimizer.weight_decay = 10", "below 1 / optimizer.lr = 10"},
        {"[run]\nepochs = 1000000000\n", "run.epochs = 1000000000", "1..100000"},
        {"[labels]\nradius = 100000\n", "labels.radius = 100000", "0..10000 pixels"},
        {"[run]\nbatch_size = 100000000\n", "run.batch_size = 100000000", "1..65535"},
        {"[loss]\ncrf_weight = 1000\n", "loss.crf_weight = 1000", "0..10 (0 = no CRF term"},
        {"[schedule]\nname = \"step\"\nstep_gamma = 10\n", "schedule.step_gamma = 10", "(0, 1]"},
        // A gradient clipped to 1e-30 moves no weight (the hostile-user probe trained 4 epochs).
        {"[optimizer]\nclip = 1e-30\n", "optimizer.clip = 1e-30", "0 (off) or at least 1e-06"},
        {"[optimizer]\nclip = -1\n", "optimizer.clip = -1", "0 (off) or at least 1e-06"},
        // A NUL cuts a path short in every system call: all of a run's outputs went into one file.
        {"[run]\nout = \"runs/a\\u0000b\"\n", "run.out", "a string without a NUL character"},
        {"[data]\nroot = \"data\\u0000junk\"\n", "data.root", "without a NUL character"},
        // No loss is below best * (1 - 1): the lr fell every epoch while the model improved.
        {"[schedule]\nname = \"plateau\"\nplateau_threshold = 1\n",
         "schedule.plateau_threshold = 1",
         "in [0, 1) (the relative improvement that counts: 0.01 is 1%)"},
    };
    int k = 0;
    for (const auto& [text, value, bound] : cases) {
        std::string name = "bad";  // piece by piece, as above (GCC 12)
        name += std::to_string(k++);
        name += ".toml";
        const std::string p = write(dir, name, text);
        const std::string msg = test::input_error_message([&] { load_config_file(p); });
        EXPECT_MESSAGE_HAS(msg, p);
        EXPECT_MESSAGE_HAS(msg, value);
        EXPECT_MESSAGE_HAS(msg, bound);
    }
    const Config edge = load_config_file(
        write(dir, "edge.toml",
              "[optimizer]\nname = \"sgd\"\nlr = 10\nweight_decay = 0.09\n[run]\nepochs = "
              "100000\nbatch_size = 65535\n[labels]\nradius = 10000\n[loss]\ncrf_weight = 10\n"
              "[schedule]\nstep_gamma = 1\n"));
    EXPECT_NO_THROW(load_config_file(
        write(dir, "edge2.toml",
              "[optimizer]\nlr = 1e-10\neps = 1e-30\n[loss]\nalpha = [1000, 0]\ncrf_sigma_xy = "
              "0.01\ncrf_sigma_rgb = 10000\n")));
    EXPECT_EQ(edge.run.epochs, 100000);
    EXPECT_NO_THROW(
        load_config_file(write(dir, "adam.toml", "[optimizer]\nlr = 1\nweight_decay = 100\n")))
        << "Adam's L2 decay goes through the normalised step: no lr * weight_decay rule";
    // The same checks stand behind the flags (pfce train --lr 1e9).
    Config f;
    apply_flag_text(f, *find_config_key("optimizer.lr"), "1e9");
    EXPECT_MESSAGE_HAS(test::input_error_message([&] { validate(f, "command line"); }),
                       "optimizer.lr");
}

// A setting given a value the rest of the config leaves without effect is named with the setting
// that does so; a default value, or the same key where it is used, says nothing.
TEST(Config, SettingsWithoutEffectAreNamedWithWhatTurnsThemOff) {
    auto messages = [](const Config& c) {
        std::vector<std::string> m;
        for (const auto& u : unused_settings(c)) m.push_back(u.message);
        return m;
    };
    EXPECT_TRUE(messages(Config{}).empty());
    // A warmup longer than the run under a schedule that does not warm up: said to do nothing,
    // as a shorter one is, not refused (it was refused as "at most run.epochs").
    Config constant;
    constant.schedule.warmup_epochs = 3;
    constant.run.epochs = 1;
    EXPECT_NO_THROW(validate(constant, [](const std::vector<std::string>&) { return "f.toml"; }));
    ASSERT_EQ(messages(constant).size(), 1u);
    EXPECT_MESSAGE_HAS(messages(constant)[0], "schedule.warmup_epochs = 3.0 has no effect");

    Config dense;
    dense.labels.points = {700};
    dense.labels.radius = 10;
    dense.loss.crf_sigma_rgb = 20;
    dense.schedule.plateau_patience = 3;
    dense.optimizer.momentum = 0.5;
    EXPECT_EQ(messages(dense),
              (std::vector<std::string>{
                  "labels.points = [700] has no effect with labels.kind = \"dense\" (it trains on "
                  "the dense masks; points are drawn for \"sparse\" and \"linked\")",
                  "labels.radius = 10 has no effect with labels.kind = \"dense\" (linking settings "
                  "are for \"linked\")",
                  "loss.crf_sigma_rgb = 20.0 has no effect with loss.crf_weight = 0 (the CRF term "
                  "is off)",
                  "optimizer.momentum = 0.5 has no effect with optimizer.name = \"adam\" (momentum "
                  "is sgd's; Adam's is beta1)",
                  "schedule.plateau_patience = 3 has no effect with schedule.name = \"constant\" "
                  "(it is for \"plateau\")"}));

    Config used = dense;  // the same values, each where it does something
    used.labels.kind = "linked";
    used.loss.crf_weight = 0.1;
    used.schedule.name = "plateau";
    used.optimizer.name = "sgd";
    EXPECT_TRUE(messages(used).empty());
    used.optimizer.beta2 = 0.99;
    used.schedule.warmup_epochs = 1;
    EXPECT_EQ(unused_settings(used).size(), 2u);
    EXPECT_EQ(unused_settings(used)[0].key, "optimizer.beta2");
    EXPECT_EQ(unused_settings(used)[1].key, "schedule.warmup_epochs");

    Config given_masks = dense;  // a mask directory's settings are its own (masks.json)
    given_masks.labels.dir = "/masks";
    EXPECT_EQ(unused_settings(given_masks).size(), 3u);  // the loss, optimizer and schedule only

    // A plateau schedule that can first decay after epoch patience + 2 (epoch 1 sets the best):
    // a 5-epoch run at patience 3 keeps optimizer.lr throughout, a 6-epoch one may not.
    Config plateau;
    plateau.schedule.name = "plateau";
    plateau.schedule.plateau_patience = 3;
    plateau.run.epochs = 5;
    EXPECT_EQ(messages(plateau),
              std::vector<std::string>{
                  "schedule.name = \"plateau\" cannot lower the lr: with "
                  "schedule.plateau_patience = 3 the first decay can follow epoch 5, and "
                  "run.epochs = 5 has no epoch after it (the lr is optimizer.lr throughout)"});
    plateau.run.epochs = 6;
    EXPECT_TRUE(messages(plateau).empty());

    // A CRF kernel that weighs the nearest neighbours by about 0: the term is off in all but name.
    Config crf;
    crf.loss.crf_weight = 0.1;
    crf.loss.crf_sigma_xy = 0.01;
    ASSERT_EQ(messages(crf).size(), 1u);
    EXPECT_MESSAGE_HAS(messages(crf)[0],
                       "loss.crf_sigma_xy = 0.01 px makes the CRF term vanish: the nearest "
                       "neighbours, one cell of 1 px away (loss.crf_downsample), weigh exp(-5000)");
    crf.loss.crf_sigma_xy = 0.5;
    EXPECT_TRUE(messages(crf).empty());
    crf.loss.crf_downsample = 4;
    EXPECT_EQ(messages(crf).size(), 1u);
    // A crop of one cell: no neighbour to compare, the term 0 throughout.
    Config one_cell;
    one_cell.loss.crf_weight = 0.1;
    one_cell.loss.crf_sigma_xy = 16;
    one_cell.loss.crf_downsample = 16;
    one_cell.data.crop_size = 16;
    ASSERT_EQ(messages(one_cell).size(), 1u);
    EXPECT_MESSAGE_HAS(messages(one_cell)[0],
                       "loss.crf_downsample = 16 makes each training crop of data.crop_size = 16 "
                       "px one cell, which has no neighbour: the CRF term is 0 throughout");
    one_cell.data.crop_size = 17;  // two cells a side
    EXPECT_TRUE(messages(one_cell).empty());

    Config linked;  // linking within 0 pixels: the sparse points as they are
    linked.labels.kind = "linked";
    linked.labels.radius = 0;
    ASSERT_EQ(messages(linked).size(), 1u);
    EXPECT_MESSAGE_HAS(messages(linked)[0], "labels.radius = 0 links no two points");
    linked.labels.radius = 1;
    EXPECT_TRUE(messages(linked).empty());
    linked.labels.max_color_step = 0;  // edge-aware with no colour step: next to nothing linked
    ASSERT_EQ(messages(linked).size(), 1u);
    EXPECT_MESSAGE_HAS(messages(linked)[0], "labels.max_color_step = 0 keeps only segments");
    linked.labels.max_color_step = 40;
    EXPECT_TRUE(messages(linked).empty());

    // A plateau reduction below what moves a weight, with no min_lr to stop it.
    Config flat;
    flat.schedule.name = "plateau";
    flat.run.epochs = 10;
    flat.schedule.plateau_patience = 2;
    flat.schedule.plateau_factor = 1e-300;
    ASSERT_EQ(messages(flat).size(), 1u);
    EXPECT_MESSAGE_HAS(messages(flat)[0], "schedule.plateau_factor = 1e-300 takes the lr to");
    flat.schedule.min_lr = 1e-6;
    EXPECT_TRUE(messages(flat).empty());
    flat.schedule.min_lr = 0;
    flat.schedule.plateau_factor = 0.5;
    EXPECT_TRUE(messages(flat).empty());

    // A step schedule whose decay takes the lr below what moves a weight: the epochs from then on
    // (the hostile-user probe's step_gamma = 1e-300 trained epoch 3 at lr 0 without a word).
    Config decayed;
    decayed.schedule.name = "step";
    decayed.schedule.step_size = 1;
    decayed.schedule.step_gamma = 1e-300;
    decayed.run.epochs = 3;
    EXPECT_EQ(messages(decayed),
              (std::vector<std::string>{
                  "schedule.step_gamma = 1e-300 takes the lr to 1e-303 from epoch 2 of 3 "
                  "(optimizer.lr x step_gamma every schedule.step_size = 1 epochs): below 1e-10, "
                  "those epochs train nothing"}));
    decayed.schedule.step_gamma = 0.1;  // 1e-3 .. 1e-5 over 3 epochs
    EXPECT_TRUE(messages(decayed).empty());
    // A step schedule whose first step is past the last epoch; the data source's and layout's
    // settings of another source or layout; alpha normalisation without weights (hostile-user
    // probe: each was taken without a word).
    Config never;
    never.schedule.name = "step";
    never.schedule.step_size = 5;
    never.run.epochs = 2;
    never.data.synthetic_seed = 5;
    never.data.kind = "kaggle";
    never.data.tile_image = "IRRG";
    never.loss.normalize = "alpha";
    EXPECT_EQ(messages(never),
              (std::vector<std::string>{
                  "data.synthetic_seed = 5 has no effect with data.source = \"dataset\" (it "
                  "describes the embedded synthetic dataset, data.source = \"synthetic\")",
                  "data.tile_image = \"IRRG\" has no effect with data.kind = \"kaggle\" (it is "
                  "for the original Potsdam tiles, data.kind = \"tiles\")",
                  "loss.normalize = \"alpha\" has no effect with no loss.alpha (without class "
                  "weights every labelled pixel weighs 1, so the sum of alphas is the labelled "
                  "count)",
                  "schedule.name = \"step\" never lowers the lr: schedule.step_size = 5 epochs is "
                  "not below run.epochs = 2 (the lr is optimizer.lr throughout)"}));
    never.schedule.step_size = 1;
    never.data.source = "synthetic";
    never.loss.alpha = {1, 2, 1, 1, 1, 1};
    EXPECT_EQ(messages(never),
              (std::vector<std::string>{"data.tile_image = \"IRRG\" has no effect with "
                                        "data.source = \"synthetic\" (it is for the original "
                                        "Potsdam tiles, data.kind = \"tiles\")"}));
    // A CRF ramp past the last epoch, a cosine warmup as long as the run: said (hostile-user
    // probe: both trained without a word).
    Config ramp;
    ramp.run.epochs = 2;
    ramp.loss.crf_weight = 0.1;
    ramp.loss.crf_warmup = 100;
    ramp.schedule.name = "cosine";
    ramp.schedule.warmup_epochs = 2;
    EXPECT_EQ(messages(ramp),
              (std::vector<std::string>{
                  "loss.crf_warmup = 100 epochs is longer than run.epochs = 2: the CRF term ends "
                  "at 2% of loss.crf_weight, never at the weight given (expected a ramp of fewer "
                  "epochs than the run)",
                  "schedule.warmup_epochs = 2 is the whole run (run.epochs = 2): schedule.name = "
                  "\"cosine\" never acts, the lr only warms up"}));
    ramp.loss.crf_warmup = 2;
    ramp.schedule.warmup_epochs = 1;
    EXPECT_TRUE(messages(ramp).empty());
}

TEST(Config, ResumeComparesOnlyWhatChangesTheResult) {
    const std::string dir = test::temp_dir("config_resume");
    fs::create_directories(dir + "/data");
    Config stored;
    stored.data.root = dir + "/data";
    stored.run.out = dir + "/run";
    stored.run.epochs = 5;
    Config given = stored;
    // Another spelling of the same path, another device, more epochs, other logging: same run.
    given.data.root = dir + "/./data/";
    given.run.device = "cpu";
    given.run.epochs = 8;
    given.run.out = dir + "/moved";
    given.run.log_every = 3;
    EXPECT_TRUE(differing_result_keys(stored, given).empty());
    // What changes the result is named, with both values.
    given.optimizer.lr = 0.5;
    given.run.epochs = 4;
    const auto diff = differing_result_keys(stored, given);
    ASSERT_EQ(diff.size(), 2u);
    EXPECT_MESSAGE_HAS(diff[0] + diff[1], "optimizer.lr");
    EXPECT_MESSAGE_HAS(diff[0] + diff[1], "run.epochs");
}

// Counts and weights per class are checked once the dataset's classes are known, naming where the
// value was set (the file, or the flag that overrode it), the dataset and its classes; a list the
// run does not use (dense labels, a mask directory's own points) is not refused.
TEST(Config, ValuesPerClassAreCheckedAgainstTheDatasetNamingTheirSource) {
    const std::vector<std::string> names = {"water", "field", "road"};
    KeySources where = {{"loss.alpha", "a.toml"}, {"labels.points", "command line"}};
    const ConfigKeySources source = key_sources(where, "the defaults");
    Config c;
    c.labels.kind = "sparse";
    c.labels.points = {5, 5};
    std::string msg =
        test::input_error_message([&] { validate_for_classes(c, names, "/data/x", source); });
    EXPECT_MESSAGE_HAS(msg, "command line: labels.points = [5,5]: expected 3 counts");
    EXPECT_MESSAGE_HAS(msg, "dataset /data/x has 3 classes (water, field, road)");
    c.labels.points = {5};
    EXPECT_NO_THROW(validate_for_classes(c, names, "/data/x", source));
    c.labels.points = {5, 6, 7};
    EXPECT_NO_THROW(validate_for_classes(c, names, "/data/x", source));
    c.loss.alpha = {1, 2, 3, 4};
    msg = test::input_error_message([&] { validate_for_classes(c, names, "/data/x", source); });
    EXPECT_MESSAGE_HAS(msg, "a.toml: loss.alpha = [1.0,2.0,3.0,4.0]: expected 3 weights");
    c.loss.alpha_auto = true;
    EXPECT_NO_THROW(validate_for_classes(c, names, "/data/x", source));
    c.loss.alpha_auto = false;
    c.loss.alpha = {};
    c.labels.points = {5, 5};
    c.labels.kind = "dense";  // no points are drawn
    EXPECT_NO_THROW(validate_for_classes(c, names, "/data/x", source));
    c.labels.kind = "linked";
    c.labels.dir = "/masks";  // the masks bring their points
    EXPECT_NO_THROW(validate_for_classes(c, names, "/data/x", source));
    // A key nobody set is blamed on the fallback; two keys on both of their sources, once each.
    EXPECT_EQ(sources_of(where, {"run.epochs"}, "the defaults"), "the defaults");
    EXPECT_EQ(sources_of(where, {"loss.alpha", "labels.points", "loss.alpha"}, "x"),
              "a.toml + command line");
}

// Suite results record every result key; one added later is missing from older results, which are
// current only if the key is marked added_at_old_behaviour (its default does what pfce did before
// it). Every result key not in this list, frozen when the guard was written, must be so marked:
// else upgrading pfce makes every earlier suite result stale (data.tile_labels once did).
TEST(Config, ResultKeysAddedLaterKeepEarlierResultsCurrent) {
    const std::set<std::string> at_first_record = {"data.root",
                                                   "data.kind",
                                                   "data.tile_patch",
                                                   "data.tile_stride",
                                                   "data.tile_image",
                                                   "data.bands",
                                                   "data.value_range",
                                                   "data.source",
                                                   "data.synthetic_count",
                                                   "data.synthetic_size",
                                                   "data.synthetic_seed",
                                                   "data.train_list",
                                                   "data.val_list",
                                                   "data.test_list",
                                                   "data.train_frac",
                                                   "data.val_frac",
                                                   "data.split_seed",
                                                   "data.max_samples",
                                                   "data.crop_size",
                                                   "data.augment",
                                                   "labels.kind",
                                                   "labels.dir",
                                                   "labels.points",
                                                   "labels.scale_by_area",
                                                   "labels.seed",
                                                   "labels.radius",
                                                   "labels.conflict",
                                                   "labels.max_color_step",
                                                   "model.width",
                                                   "model.depth",
                                                   "loss.gamma",
                                                   "loss.alpha",
                                                   "loss.normalize",
                                                   "loss.crf_weight",
                                                   "loss.crf_radius",
                                                   "loss.crf_sigma_xy",
                                                   "loss.crf_sigma_rgb",
                                                   "loss.crf_downsample",
                                                   "loss.crf_warmup",
                                                   "optimizer.name",
                                                   "optimizer.lr",
                                                   "optimizer.weight_decay",
                                                   "optimizer.momentum",
                                                   "optimizer.beta1",
                                                   "optimizer.beta2",
                                                   "optimizer.eps",
                                                   "optimizer.clip",
                                                   "schedule.name",
                                                   "schedule.step_size",
                                                   "schedule.step_gamma",
                                                   "schedule.warmup_epochs",
                                                   "schedule.min_lr",
                                                   "schedule.plateau_factor",
                                                   "schedule.plateau_patience",
                                                   "schedule.plateau_threshold",
                                                   "schedule.plateau_cooldown",
                                                   "schedule.plateau_metric",
                                                   "run.epochs",
                                                   "run.batch_size",
                                                   "run.seed",
                                                   "run.best_metric",
                                                   "run.evaluate",
                                                   "run.deterministic",
                                                   "run.precision"};
    std::string unmarked;
    for (const ConfigKey& k : config_keys())
        if (k.affects_result && !k.added_at_old_behaviour && !at_first_record.count(k.dotted())) {
            unmarked += '"';  // appended apart: GCC 12 warns falsely (-Wrestrict) on "..." + string
            unmarked += k.dotted();
            unmarked += "\", ";
        }
    EXPECT_EQ(unmarked, "") << "result keys added since: mark them added_at_old_behaviour";
}
