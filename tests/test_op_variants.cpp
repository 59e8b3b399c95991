// Kernel variants chosen by run.kernels (core/op_variants.hpp): the value's syntax and its
// errors, which families a backend selects (a named variant, else the default; none on the CPU),
// and that a run selects them before its model is built, so the model takes the activation layout
// they name. On a GPU: CUDA lists exactly the catalogue, and every variant can be selected.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/op_variants.hpp"
#include "host/cpu/cpu_backend.hpp"
#include "tests/trainer_fixtures.hpp"

namespace pfce {
namespace {

using Choices = std::vector<KernelChoice>;

TEST(KernelChoices, ParseInOrderWithSpacesAndNone) {
    EXPECT_EQ(parse_kernel_choices(""), Choices{});
    EXPECT_EQ(parse_kernel_choices("  "), Choices{});
    EXPECT_EQ(parse_kernel_choices("activations=nhwc, convolution = channels_last"),
              (Choices{{"activations", "nhwc"}, {"convolution", "channels_last"}}));
    const Choices all = {{"adam_steps", "multi_tensor"}, {"focal_loss", "single_launch"}};
    EXPECT_EQ(parse_kernel_choices(kernel_choices_text(all)), all);
}

TEST(KernelChoices, EveryMistakeNamesTheEntryAndTheChoices) {
    struct Case {
        const char* text;
        std::vector<const char*> mentions;
    };
    const std::vector<Case> cases = {
        {"activations", {"\"activations\"", "op=variant", "convolution"}},
        {"foo=bar", {"\"foo=bar\"", "foo", "activations"}},
        {"convolution=nhwc", {"\"convolution=nhwc\"", "nchw, channels_last"}},
        {"activations=nhwc,", {"entry \"\"", "op=variant"}},
        {"activations=nhwc,activations=nchw", {"activations is named twice", "one variant per op"}},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.text);
        const std::string msg = test::input_error_message([&] { parse_kernel_choices(c.text); });
        for (const char* m : c.mentions) EXPECT_MESSAGE_HAS(msg, m);
    }
}

// A CPU backend with two families of variants, like CUDA's: "activations" switches the layout
// models take (nhwc first, the CPU's default), "convolution" only records what was selected.
class VariantCpuBackend final : public CpuBackend {
  public:
    Layout activation_layout() const override { return layout_; }
    std::vector<std::string> op_variants(const std::string& op) const override {
        if (op == "activations") return {"nhwc", "nchw"};
        if (op == "convolution") return {"nchw", "channels_last"};
        return {};
    }
    void select_op_variant(const std::string& op, const std::string& variant) override {
        const std::vector<std::string> names = op_variants(op);
        if (std::find(names.begin(), names.end(), variant) == names.end())
            Backend::select_op_variant(op, variant);  // throws
        selected[op] = variant;
        if (op == "activations") layout_ = variant == "nchw" ? Layout::nchw : Layout::nhwc;
    }
    std::map<std::string, std::string> selected;

  private:
    Layout layout_ = Layout::nhwc;
};

TEST(KernelChoices, SelectNamedVariantsAndDefaultsForTheRest) {
    VariantCpuBackend b;
    // The backend lists its own variants (nhwc first here): named ones, then defaults.
    EXPECT_EQ(select_kernels(b, "activations=nchw,focal_loss=single_launch", false),
              (Choices{{"convolution", "nchw"}, {"activations", "nchw"}}));
    EXPECT_EQ(b.activation_layout(), Layout::nchw);
    // A later run that names nothing gets every run default back, not the last run's choice:
    // nhwc activations convolved channels_last (the catalogue's, which this backend has).
    EXPECT_EQ(select_kernels(b, "", false),
              (Choices{{"convolution", "channels_last"}, {"activations", "nhwc"}}));
    EXPECT_EQ(b.activation_layout(), Layout::nhwc);
    select_kernels(b, "convolution=channels_last", false);
    EXPECT_EQ(b.selected["convolution"], "channels_last");
    EXPECT_EQ(b.selected["activations"], "nhwc");
}

TEST(KernelChoices, TheCpuBackendHasNoneAndIgnoresThem) {
    CpuBackend cpu;
    EXPECT_EQ(select_kernels(cpu, "activations=nchw,convolution=channels_last", true), Choices{});
    EXPECT_EQ(cpu.activation_layout(), Layout::nhwc);
}

// run.kernels is applied before the model is built: on the variant backend, "activations=nchw"
// trains exactly as a CPU backend built with nchw activations, and no choice trains as the nhwc
// one (the two layouts round differently in oneDNN, so the losses tell them apart).
TEST(KernelChoices, ARunSelectsThemBeforeBuildingItsModel) {
    const TrainInputs in = test::synthetic_inputs(4, 32, true);
    const std::string root = test::temp_dir("kernel_choices_run");
    auto run = [&](Backend& b, const std::string& kernels, const std::string& name) {
        Config c = test::small_config(root + "/" + name);
        c.run.epochs = 1;
        c.run.kernels = kernels;
        return train_unet(b, c, in, test::quiet_options());
    };
    CpuBackend nchw(Layout::nchw), nhwc(Layout::nhwc);
    VariantCpuBackend picked, unpicked;
    const TrainResult want_nchw = run(nchw, "", "nchw"), want_nhwc = run(nhwc, "", "nhwc");
    const TrainResult got_nchw = run(picked, "activations=nchw", "picked");
    const TrainResult got_nhwc = run(unpicked, "", "unpicked");
    if (want_nchw.train_loss == want_nhwc.train_loss)  // then the losses cannot tell them apart
        GTEST_SKIP() << "nchw and nhwc round alike on this CPU build: nothing to tell apart";
    EXPECT_EQ(got_nchw.train_loss, want_nchw.train_loss);
    EXPECT_EQ(got_nhwc.train_loss, want_nhwc.train_loss);
    // Recorded in the checkpoint: every family the backend selected, defaults included.
    const Checkpoint ck = read_checkpoint(got_nchw.last_checkpoint);
    EXPECT_EQ(ck.meta.at("kernel_variants"), "convolution=nchw,activations=nchw");
    // And a model loaded from it runs with them again.
    VariantCpuBackend loader;
    select_kernels(loader, "activations=nhwc", false);
    load_trained_model(loader, got_nchw.last_checkpoint);
    EXPECT_EQ(loader.activation_layout(), Layout::nchw);
}

// pfce doctor lists what run.kernels may pick, and a misspelt choice stops `pfce train` before
// anything runs, naming the key, the entry and the choices.
TEST(KernelChoices, DoctorListsThemAndTrainRefusesAMisspeltOne) {
    const test::CommandResult doctor = test::run_pfce("doctor");
    ASSERT_EQ(doctor.status, 0) << doctor.output;
    EXPECT_MESSAGE_HAS(doctor.output, "kernel variants");
    for (const OpVariantFamily& f : cuda_op_variant_families()) {
        EXPECT_MESSAGE_HAS(doctor.output, f.op);
        for (const std::string& v : f.variants) EXPECT_MESSAGE_HAS(doctor.output, v);
    }
    const std::string out = test::temp_dir("kernel_choices_cli") + "/run";
    const test::CommandResult train = test::run_pfce(
        "train --device cpu --epochs 1 --kernels activations=nwhc --out '" + out + "'");
    EXPECT_NE(train.status, 0);
    EXPECT_MESSAGE_HAS(train.output, "run.kernels");
    EXPECT_MESSAGE_HAS(train.output, "activations=nwhc");
    EXPECT_MESSAGE_HAS(train.output, "nchw, nhwc");
    EXPECT_FALSE(std::filesystem::exists(out)) << "a refused run must write nothing";
}

TEST(KernelChoicesGpu, CudaListsTheCatalogueAndSelectsEveryVariant) {
    PFCE_REQUIRE_GPU(gpu);
    for (const OpVariantFamily& f : cuda_op_variant_families()) {
        SCOPED_TRACE(f.op);
        EXPECT_EQ(gpu->op_variants(f.op), f.variants);
        for (const std::string& v : f.variants) EXPECT_NO_THROW(gpu->select_op_variant(f.op, v));
        gpu->select_op_variant(f.op, f.variants.front());
    }
    select_kernels(*gpu, "activations=nchw", false);
    EXPECT_EQ(gpu->activation_layout(), Layout::nchw);
    select_kernels(*gpu, "", false);  // the run default
    EXPECT_EQ(gpu->activation_layout(), Layout::nhwc);
}

// Each family's run default is one of its variants; the convolution layout follows a named
// activations layout, and otherwise takes its own run default.
TEST(KernelChoices, RunDefaultsAreVariantsAndTheConvolutionFollowsTheActivations) {
    for (const OpVariantFamily& f : cuda_op_variant_families()) {
        SCOPED_TRACE(f.op);
        EXPECT_NE(std::find(f.variants.begin(), f.variants.end(), f.run_default), f.variants.end());
        EXPECT_EQ(run_default_variant(f, {}), f.run_default);
    }
    const OpVariantFamily& conv = *find_cuda_op_variant_family("convolution");
    EXPECT_EQ(run_default_variant(conv, {{"activations", "nchw"}}), "nchw");
    EXPECT_EQ(run_default_variant(conv, {{"activations", "nhwc"}}), "channels_last");
    EXPECT_EQ(run_default_variant(conv, {{"focal_loss", "single_launch"}}), conv.run_default);
}

}  // namespace
}  // namespace pfce
