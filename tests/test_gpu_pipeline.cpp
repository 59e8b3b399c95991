// The pipeline on CUDA against the CPU: two trainer steps (loader workers, copies, forward, loss,
// backward, optimizer), a run resumed on the GPU, evaluate and predict, and the linking driver
// over mixed sizes (library and `pfce link`). Every test skips without a CUDA device.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/op_variants.hpp"
#include "data/linking.hpp"
#include "host/cpu/cpu_backend.hpp"
#include "host/train/evaluate.hpp"
#include "host/train/sliding_window.hpp"
#include "tests/bf16_storage_twin.hpp"
#include "tests/trainer_fixtures.hpp"

namespace pfce {
namespace {

using namespace test;

// sqrt(sum (a - b)^2) and sqrt(sum b^2) of two host f32 tensors.
struct Distance {
    double diff = 0, norm = 0;
};
Distance distance(const Tensor& a, const Tensor& b) {
    Distance d;
    for (std::int64_t i = 0; i < a.numel(); ++i) {
        const double x = a.data<float>()[i], y = b.data<float>()[i];
        d.diff += (x - y) * (x - y);
        d.norm += y * y;
    }
    d.diff = std::sqrt(d.diff);
    d.norm = std::sqrt(d.norm);
    return d;
}

// Host copies of every parameter and buffer of a checkpoint's model, by name.
std::map<std::string, Tensor> model_tensors(const std::string& ckpt) {
    auto cpu = cpu_backend();
    TrainedModel m = load_trained_model(*cpu, ckpt);
    std::map<std::string, Tensor> out;
    for (Parameter* p : m.net->parameters()) out[p->name] = to_host(*cpu, p->value);
    for (Buffer* b : m.net->buffers()) out[b->name] = to_host(*cpu, b->value);
    return out;
}

Config sgd_config(const std::string& out) {
    Config c = small_config(out);
    c.model.width = 16;
    c.model.depth = 3;
    c.optimizer.name = "sgd";
    c.optimizer.lr = 0.05;
    c.data.augment = false;
    c.run.epochs = 1;
    return c;
}

// How far each parameter and running statistic moved in a run: its value in the run's last
// checkpoint minus its value in a freshly built model of the same seed, by name.
std::map<std::string, Tensor> moves(const TrainResult& r, const UNetConfig& uc,
                                    std::uint64_t seed) {
    auto cpu = cpu_backend();
    UNet init(*cpu, uc, seed);
    std::map<std::string, Tensor> start;
    for (Parameter* p : init.parameters()) start[p->name] = to_host(*cpu, p->value);
    for (Buffer* b : init.buffers()) start[b->name] = to_host(*cpu, b->value);
    std::map<std::string, Tensor> out = model_tensors(r.last_checkpoint);
    for (auto& [name, t] : out) {
        EXPECT_TRUE(start.count(name)) << name;
        for (std::int64_t i = 0; i < t.numel(); ++i)
            t.data<float>()[i] -= start.at(name).data<float>()[i];
    }
    return out;
}

// |a - b| / |b| for each tensor of two runs' moves, and over all of them together ("*").
std::map<std::string, double> relative_distances(const std::map<std::string, Tensor>& a,
                                                 const std::map<std::string, Tensor>& b) {
    std::map<std::string, double> out;
    double diff = 0, norm = 0;
    for (const auto& [name, tb] : b) {
        EXPECT_TRUE(a.count(name)) << name;
        if (!a.count(name)) continue;
        const Distance d = distance(a.at(name), tb);
        out[name] = d.norm > 0 ? d.diff / d.norm : d.diff;
        diff += d.diff * d.diff;
        norm += d.norm * d.norm;
    }
    out["*"] = std::sqrt(diff / std::max(norm, 1e-300));
    return out;
}

// The run under test (`got`) against a reference run (`ref`), given another correct run of the
// reference (`again`) that measures how far correct runs drift apart: every tensor's move, and all
// of them together, within three times that drift plus `margin` of the reference's move. Returns
// the distance over all tensors.
double expect_within_drift(const TrainResult& ref, const TrainResult& again, const TrainResult& got,
                           const Config& c, double margin, const char* again_is) {
    const UNetConfig uc{3, 6, c.model.depth, c.model.width};
    const auto mr = moves(ref, uc, c.run.seed), ma = moves(again, uc, c.run.seed),
               mg = moves(got, uc, c.run.seed);
    const auto drift = relative_distances(ma, mr), off = relative_distances(mg, mr);
    for (const auto& [name, d] : off) {
        SCOPED_TRACE(name);
        if (name != "*") {
            EXPECT_GT(distance(mr.at(name), mg.at(name)).norm, 0.0) << "did not move";
        }
        EXPECT_LE(d, 3 * drift.at(name) + margin) << again_is << drift.at(name) << " apart";
    }
    return off.at("*");
}

// Two steps (one epoch of two batches of 2 at 128x128) on the GPU with run.kernels `kernels` and
// on the CPU from the same initial weights, both at precision fp32, or with `bf16_storage` at bf16
// with the GPU storing its activations in bf16 and the CPU being its twin
// (tests/bf16_storage_twin.hpp). Momentum 0, so a step is exactly lr times a gradient.
// The losses must agree closely. What each parameter moved need not: a batch-norm weight's
// gradient is a sum that cancels, and two steps amplify differences in summation order (measured
// on the CPU: its nhwc and nchw runs at fp32 move parameters up to 4% apart, 3% over all; twins
// at bf16, where each order difference may flip a rounding, up to 65% and 50%). So the spread of
// two correct runs is measured, the CPU's in both layouts, and the GPU must stay within three
// times it (plus 5% of the move, for cuDNN's own algorithms, Winograd's among them) from the CPU,
// tensor by tensor and over all: a step that left out or mis-scaled a gradient is off by 100% of
// its parameters' move, or of all of them. The ops' numerics are checked tightly op by op.
void check_two_steps_match_cpu(const std::string& kernels, bool bf16_storage = false) {
    SCOPED_TRACE(kernels);
    PFCE_REQUIRE_GPU(gpu);
    auto cpu_in = [&](Layout layout) -> std::unique_ptr<Backend> {
        if (bf16_storage) return std::make_unique<Bf16StorageTwin<CpuBackend>>(layout);
        return std::make_unique<CpuBackend>(layout);
    };
    const TrainInputs in = synthetic_inputs(4, 128, true);
    const std::string root = temp_dir("train_gpu");
    Config c = sgd_config(root + "/cpu");
    c.optimizer.momentum = 0;
    c.run.precision = bf16_storage ? "bf16" : "fp32";
    const TrainOptions o = quiet_options();
    const TrainResult rc = train_unet(*cpu_in(Layout::nhwc), c, in, o);
    c.run.out = root + "/cpu_nchw";
    const TrainResult rn = train_unet(*cpu_in(Layout::nchw), c, in, o);
    c.run.out = root + "/gpu";
    c.run.kernels = kernels;
    const TrainResult rg = train_unet(*gpu, c, in, o);
    ASSERT_EQ(rc.steps, 2);
    ASSERT_EQ(rg.steps, 2);
    // The losses within 1%, or three times the CPU's two layouts' distance where that is more: at
    // bf16 the twins' validation losses were 1% apart on the H200's first run (1.8142 and
    // 1.8330), and the GPU's nhwc run 1.3% from one of them.
    auto loss_tolerance = [](double want, double again) {
        return std::max(1e-2 * std::fabs(want), 3 * std::fabs(again - want));
    };
    EXPECT_NEAR(rg.train_loss, rc.train_loss, loss_tolerance(rc.train_loss, rn.train_loss));
    EXPECT_NEAR(rg.val.loss, rc.val.loss, loss_tolerance(rc.val.loss, rn.val.loss));
    expect_within_drift(rc, rn, rg, c, 0.05, "the CPU's two layouts are ");
}

// The reference kernels (nchw, a launch per tensor).
TEST(TrainGpu, TwoStepsMatchCpu) {
    check_two_steps_match_cpu(kReferenceKernels);
}

// The run defaults: the whole network in NHWC on the GPU (every op of the U-Net on nhwc
// activations, cuDNN convolving channels_last), multi-tensor launches; and nhwc with cuDNN NCHW.
TEST(TrainGpu, TwoStepsOnNhwcActivationsMatchCpu) {
    check_two_steps_match_cpu("");
    check_two_steps_match_cpu("activations=nhwc,convolution=nchw");
}

// ... with the activations and their gradients stored in bf16, against the CPU twin, in both
// layouts (the run default at bf16, and nchw): every op of the U-Net on bf16 tensors, and the
// convolutions mixing them with the f32 image and logits.
TEST(TrainGpu, TwoStepsWithBf16ActivationsMatchTheTwin) {
    check_two_steps_match_cpu("activations=nchw,convolution=nchw,activation_storage=bf16", true);
    check_two_steps_match_cpu("", true);
}

// Two epochs of SGD with momentum and clipping on the GPU, once straight through (root/full) and
// once interrupted mid-epoch 2 and resumed (root/part).
struct StraightAndResumed {
    Config config;
    TrainResult full, rest;
};
StraightAndResumed train_straight_and_resumed(Backend& gpu, const std::string& root,
                                              bool deterministic) {
    const TrainInputs in = synthetic_inputs(4, 64, true);
    const TrainOptions o = quiet_options();
    StraightAndResumed r;
    Config& c = r.config;
    c = sgd_config(root + "/full");
    c.optimizer.momentum = 0.9;
    c.run.epochs = 2;
    c.optimizer.clip = 1.0;
    c.run.deterministic = deterministic;
    r.full = train_unet(gpu, c, in, o);
    c.run.out = root + "/part";
    train_interrupted_after(gpu, c, in, o, 3);  // mid-epoch 2
    r.rest = resume_training(gpu, c, in, o, 4);
    return r;
}

// An interrupted run resumed on the GPU ends where the uninterrupted one does. cuDNN may pick
// non-deterministic algorithms, so the two agree within rounding rather than bit for bit (the CPU
// test asserts bit-identity), and four steps amplify rounding (check_two_steps_match_cpu): the
// uninterrupted run is made twice, and the resumed one must be within three times their spread
// (plus 1% of the move) of it, tensor by tensor and over all; a resume that lost the momentum or
// the step count would be off by a sizeable fraction of the distance the weights moved.
TEST(TrainGpu, InterruptedAndResumedRunMatchesUninterrupted) {
    PFCE_REQUIRE_GPU(gpu);
    const std::string root = temp_dir("train_gpu_resume");
    const auto [c, full, rest] = train_straight_and_resumed(*gpu, root, false);
    ASSERT_EQ(full.steps, 4);
    EXPECT_EQ(read_metrics(rest.metrics_path).size(), 2u);
    Config again_config = c;
    again_config.run.out = root + "/again";
    const TrainResult again =
        train_unet(*gpu, again_config, synthetic_inputs(4, 64, true), quiet_options());
    const double off =
        expect_within_drift(full, again, rest, c, 1e-2, "two uninterrupted runs are ");
    RecordProperty("bit_identical", off == 0 ? "yes" : "no");
}

// With run.deterministic, cuDNN may use only deterministic algorithms: an interrupted and resumed
// run then ends on exactly the bits of the uninterrupted one, and the checkpoint records the
// algorithm chosen for every convolution shape and direction, each flagged deterministic. The
// record lists every plan of the device in this process (cuda/cudnn_util.hpp conv_plan_choices),
// so where earlier tests ran in the same process (the binary run whole, not one test a process as
// under ctest) it also holds their plans, searched without the requirement and perhaps
// non-deterministic: only the lines of plans searched under it ("deterministic required") are
// this run's, and there must be some.
TEST(TrainGpu, DeterministicResumeIsBitIdenticalAndRecordsItsAlgorithms) {
    PFCE_REQUIRE_GPU(gpu);
    const auto r = train_straight_and_resumed(*gpu, temp_dir("train_gpu_deterministic"), true);
    const auto ta = model_tensors(r.full.last_checkpoint),
               tb = model_tensors(r.rest.last_checkpoint);
    for (const auto& [name, a] : ta) {
        const Tensor& b = tb.at(name);
        ASSERT_EQ(a.bytes(), b.bytes()) << name;
        EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.bytes()), 0) << name << " differs";
    }
    const Checkpoint ck = read_checkpoint(r.full.last_checkpoint);
    ASSERT_TRUE(ck.meta.contains("kernels"));
    const auto& kernels = ck.meta.at("kernels");
    ASSERT_FALSE(kernels.empty()) << "no cuDNN algorithm recorded";
    int required = 0;
    for (const auto& line : kernels) {
        const std::string s = line.get<std::string>();
        if (s.find("(deterministic required)") == std::string::npos) continue;
        ++required;
        EXPECT_NE(s.find(", deterministic"), std::string::npos) << s;
    }
    EXPECT_GT(required, 0) << "no plan was searched with run.deterministic";
}

// A GPU evaluation against the CPU's: the dense loss within 1e-3, every one of `pixels` counted,
// and at most 1 in 50 predicted differently (ties within rounding; a wrong op moves most).
void expect_evaluations_agree(const EvalResult& ec, const EvalResult& eg, std::int64_t pixels) {
    EXPECT_EQ(eg.images, ec.images);
    EXPECT_NEAR(eg.loss_dense, ec.loss_dense, 1e-3 * std::fabs(ec.loss_dense));
    ASSERT_EQ(eg.confusion.size(), ec.confusion.size());
    std::int64_t total = 0, moved = 0;
    for (std::size_t i = 0; i < ec.confusion.size(); ++i) {
        total += ec.confusion[i];
        moved += std::abs(eg.confusion[i] - ec.confusion[i]);
    }
    EXPECT_EQ(total, pixels);
    EXPECT_LE(moved, total / 25) << "pixels whose prediction differs (counted twice)";
}

// Both backends evaluate one (untrained) U-Net's weights on `in.train` alike: the loss within
// 1e-3, the argmax as expect_evaluations_agree bounds it, the mIoU within 0.02.
void expect_evaluate_alike(Backend& cpu, Backend& gpu, UNet& nc, UNet& ng, const TrainInputs& in) {
    const FocalLossParams loss{2.0f, {}, LossNormalize::labelled};
    EvalOptions eo;
    eo.batch_size = 4;
    const EvalResult ec = evaluate(cpu, nc, in.train, in.stats, loss, kPotsdamClutter, eo);
    const EvalResult eg = evaluate(gpu, ng, in.train, in.stats, loss, kPotsdamClutter, eo);
    EXPECT_NEAR(eg.loss, ec.loss, 1e-3 * std::fabs(ec.loss));
    std::int64_t pixels = 0;
    for (const SampleData& s : in.train)
        pixels += static_cast<std::int64_t>(s.image.width) * s.image.height;
    expect_evaluations_agree(ec, eg, pixels);
    EXPECT_NEAR(eg.metrics.miou, ec.metrics.miou, 2e-2);
}

// Two backends' predictions of one image differ in at most one pixel in 50.
void expect_predictions_alike(const LabelMap& pc, const LabelMap& pg) {
    ASSERT_EQ(pc.labels.size(), pg.labels.size());
    std::size_t differ = 0;
    for (std::size_t i = 0; i < pc.labels.size(); ++i) differ += pc.labels[i] != pg.labels[i];
    EXPECT_LE(differ, pc.labels.size() / 50);
}

// evaluate() and predict_labels() on both backends with the same (untrained) weights: losses
// agree, and the argmax differs only where two logits are within rounding of each other, a small
// fraction of pixels (a wrong op would change most of them). Both at fp32: with batch norm in
// inference mode nothing renormalizes the activations, so truncating TF32 factors (which tensor
// cores may do) shrinks the logits layer after layer: measured with a CPU stand-in that truncates,
// the losses move 0.4-1.1% over six weight seeds, 4-11x the 1e-3 bound (rounding as the CPU twin
// does: up to 0.34x). At fp32 even an added error of up to 3e-5 sum|x||w| per convolution kept
// every check below 0.05 of its bound. TF32 is checked op by op (test_nn_ops_gpu.cpp).
TEST(EvalGpu, EvaluateAndPredictMatchCpu) {
    PFCE_REQUIRE_GPU(gpu);
    auto cpu = cpu_backend();
    cpu->set_precision(Precision::fp32);
    gpu->set_precision(Precision::fp32);
    const TrainInputs in = synthetic_inputs(6, 96, true, 0);
    const UNetConfig uc{3, 6, 3, 16};
    UNet nc(*cpu, uc, 11), ng(*gpu, uc, 11);
    expect_evaluate_alike(*cpu, *gpu, nc, ng, in);
    expect_predictions_alike(predict_labels(*cpu, nc, in.train[0].image, in.stats),
                             predict_labels(*gpu, ng, in.train[0].image, in.stats));
}

// Images of more than three bands (RGB + infrared + an elevation band: data.bands 1,2,3,4,5) on
// both backends: the first convolution takes five channels, the loader's planes and the sliding
// windows carry five; the bounds are those of the test above.
TEST(EvalGpu, FiveChannelInputsMatchCpu) {
    PFCE_REQUIRE_GPU(gpu);
    auto cpu = cpu_backend();
    cpu->set_precision(Precision::fp32);
    gpu->set_precision(Precision::fp32);
    TrainInputs in = synthetic_inputs(4, 96, true, 0);
    std::vector<const RgbImage*> images;
    for (SampleData& s : in.train) {
        RgbImage wide(s.image.width, s.image.height, 5);
        for (int y = 0; y < wide.height; ++y)
            for (int x = 0; x < wide.width; ++x) {
                std::copy_n(s.image.at(y, x), 3, wide.at(y, x));
                wide.at(y, x)[3] = static_cast<std::uint8_t>(255 - s.image.at(y, x)[1]);
                wide.at(y, x)[4] = static_cast<std::uint8_t>((x * 7 + y * 3) & 255);
            }
        s.image = std::move(wide);
        images.push_back(&s.image);
    }
    in.stats = compute_channel_stats(images);
    const UNetConfig uc{5, 6, 3, 16};
    UNet nc(*cpu, uc, 11), ng(*gpu, uc, 11);
    expect_evaluate_alike(*cpu, *gpu, nc, ng, in);
    const SlidingWindow sw{64, 16, 4};
    expect_predictions_alike(predict_sliding(*cpu, nc, in.train[2].image, in.stats, sw),
                             predict_sliding(*gpu, ng, in.train[2].image, in.stats, sw));
}

// Test-time augmentation and confidence maps on both backends: the views go through the device as
// host-built batches (transposed views of a non-square window in their own shape), the averaged
// logits come back up for the losses; the agreement bounds are those of the test above.
TEST(EvalGpu, TestTimeAugmentationAndConfidenceMatchCpu) {
    PFCE_REQUIRE_GPU(gpu);
    auto cpu = cpu_backend();
    cpu->set_precision(Precision::fp32);
    gpu->set_precision(Precision::fp32);
    const TrainInputs in = synthetic_inputs(4, 96, true, 0);
    const UNetConfig uc{3, 6, 3, 16};
    UNet nc(*cpu, uc, 11), ng(*gpu, uc, 11);
    const FocalLossParams loss{2.0f, {}, LossNormalize::labelled};
    EvalOptions eo;
    eo.batch_size = 8;  // passes of views of several windows
    eo.window = 64;     // several windows per image
    eo.tta = 8;
    const EvalResult ec = evaluate(*cpu, nc, in.train, in.stats, loss, kPotsdamClutter, eo);
    const EvalResult eg = evaluate(*gpu, ng, in.train, in.stats, loss, kPotsdamClutter, eo);
    expect_evaluations_agree(ec, eg, 4 * 96 * 96);

    // A non-square image smaller than the window on one side: transposed views of their own shape,
    // a pass for each shape holding both windows' four views of it, the device buffer reused as
    // the shapes alternate.
    RgbImage img(96, 40);
    std::copy_n(in.train[1].image.pixels.begin(), img.pixels.size(), img.pixels.begin());
    SlidingWindow sw{64, 16, 8};
    sw.tta = 8;
    LabelMap conf_c, conf_g;
    const LabelMap pc = predict_sliding(*cpu, nc, img, in.stats, sw, &conf_c);
    const LabelMap pg = predict_sliding(*gpu, ng, img, in.stats, sw, &conf_g);
    std::size_t differ = 0, off = 0;
    for (std::size_t i = 0; i < pc.labels.size(); ++i) {
        differ += pc.labels[i] != pg.labels[i];
        off += std::abs(int(conf_c.labels[i]) - int(conf_g.labels[i])) > 2;
    }
    EXPECT_LE(differ, pc.labels.size() / 50);
    EXPECT_LE(off, pc.labels.size() / 50) << "confidences more than 2/255 apart";
}

// eval --zoom on both backends: each image resampled for the model, its logits brought back onto
// the masks' pixels on the host and uploaded again, a band at a time, for the focal losses (the
// dense and the training labels'); bands of widths 96 and 37 (n*W a multiple of 4 or not: the
// loss's 4-pixel pass, or its one-pixel fallback), under the run's loss and two_launch. The bounds
// are those of the tests above.
TEST(EvalGpu, ZoomedEvaluationMatchesCpu) {
    PFCE_REQUIRE_GPU(gpu);
    auto cpu = cpu_backend();
    cpu->set_precision(Precision::fp32);
    gpu->set_precision(Precision::fp32);
    TrainInputs in = synthetic_inputs(4, 96, true, 0);
    // One image cut to 37 x 61: bands of an odd width.
    {
        SampleData& s = in.train[3];
        RgbImage img(37, 61);
        LabelMap dense(37, 61), labels(37, 61);
        for (int y = 0; y < 61; ++y)
            for (int x = 0; x < 37; ++x) {
                std::copy_n(s.image.at(y, x), 3, img.at(y, x));
                dense.at(y, x) = s.dense.at(y, x);
                labels.at(y, x) = s.train_labels.at(y, x);
            }
        s.image = std::move(img);
        s.dense = std::move(dense);
        s.train_labels = std::move(labels);
    }
    const UNetConfig uc{3, 6, 3, 16};
    UNet nc(*cpu, uc, 11), ng(*gpu, uc, 11);
    const FocalLossParams loss{2.0f, {}, LossNormalize::labelled};
    std::int64_t pixels = 0;
    for (const SampleData& s : in.train)
        pixels += static_cast<std::int64_t>(s.image.width) * s.image.height;
    for (const char* kernels : {"", "focal_loss=two_launch"}) {
        select_kernels(*gpu, kernels, false);
        for (const double zoom : {2.0, 0.75}) {
            EvalOptions eo;
            eo.batch_size = 4;
            eo.window = 64;
            eo.zoom = zoom;
            const EvalResult ec = evaluate(*cpu, nc, in.train, in.stats, loss, kPotsdamClutter, eo);
            const EvalResult eg = evaluate(*gpu, ng, in.train, in.stats, loss, kPotsdamClutter, eo);
            SCOPED_TRACE(std::string("zoom ") + std::to_string(zoom) + ", kernels \"" + kernels +
                         "\"");
            EXPECT_NEAR(eg.loss, ec.loss, 1e-3 * std::fabs(ec.loss));
            expect_evaluations_agree(ec, eg, pixels);
        }
    }
}

// The driver stages batches of same-size maps through pinned memory and reuses the device buffers
// while the shape holds: mixed sizes and a small batch make it reallocate and run partial batches.
TEST(LinkDriverGpu, MixedSizesAndBatchesEqualCpu) {
    PFCE_REQUIRE_GPU(gpu);
    auto cpu = cpu_backend();
    std::vector<LabelMap> sparse;
    std::vector<RgbImage> images;
    SamplerOptions so;
    so.points = {400};
    so.scale_by_area = true;
    for (std::uint32_t i = 0; i < 11; ++i) {
        const int size = i % 4 == 3 ? 200 : 96;
        SynthScene s = synthesize_scene(size, 77, i);
        sparse.push_back(sample_sparse(s.labels, so, "img" + std::to_string(i)));
        images.push_back(std::move(s.image));
    }
    for (const float step : {-1.0f, 40.0f}) {
        SCOPED_TRACE(::testing::Message() << "max_color_step " << step);
        LinkParams p;
        p.radius = 20;
        p.max_color_step = step;
        std::vector<LabelMap> lc, lg;
        const LinkStats sc = link_label_maps(*cpu, sparse, images, p, lc, 3);
        const LinkStats sg = link_label_maps(*gpu, sparse, images, p, lg, 3);
        EXPECT_EQ(sg.points, sc.points);
        EXPECT_EQ(sg.pairs, sc.pairs);
        EXPECT_EQ(sg.segments, sc.segments);
        EXPECT_EQ(sg.labelled_after, sc.labelled_after);
        ASSERT_EQ(lg.size(), lc.size());
        for (std::size_t i = 0; i < lc.size(); ++i) {
            EXPECT_EQ(lg[i].width, lc[i].width);
            EXPECT_TRUE(lg[i].labels == lc[i].labels) << "map " << i;
        }
    }
}

std::string file_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// `pfce link --device cuda` writes the same masks as `--device cpu`.
TEST(LinkDriverGpu, LinkCommandOnCudaWritesTheCpuMasks) {
    PFCE_REQUIRE_GPU(gpu);
    const std::string dir = temp_dir("link_cli_gpu");
    const std::string synth = write_synthetic(dir + "/synth", 5, 128);
    const CommandResult s =
        run_pfce("-q sample --data " + synth + " --points 300 --no-scale-by-area --out " + dir +
                 "/sparse");  // 300 per class on 128x128, not 55: many segments to link
    ASSERT_EQ(s.status, 0) << s.output;
    for (const char* dev : {"cpu", "cuda"}) {
        const CommandResult r = run_pfce("-q link --in " + dir + "/sparse --out " + dir + "/" +
                                         dev + " --radius 20 --batch 2 --device " + dev);
        ASSERT_EQ(r.status, 0) << dev << ": " << r.output;
    }
    int compared = 0;
    for (const auto& e : fs::directory_iterator(dir + "/cpu")) {
        if (e.path().extension() != ".png") continue;
        const std::string other = dir + "/cuda/" + e.path().filename().string();
        EXPECT_EQ(file_bytes(e.path().string()), file_bytes(other)) << other;
        ++compared;
    }
    EXPECT_EQ(compared, 5);
}

}  // namespace
}  // namespace pfce
