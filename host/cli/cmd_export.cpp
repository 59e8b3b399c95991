// `pfce export`: a checkpoint's U-Net as an ONNX model (host/train/onnx_export), for ONNX Runtime,
// OpenCV, TensorRT or QGIS's Deepness plugin. The tile side defaults to the run's window, so the
// model sees what `pfce predict` shows it.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "core/file_io.hpp"
#include "core/stop_signal.hpp"
#include "core/text.hpp"
#include "host/cli/cli_checks.hpp"
#include "host/cli/command_registry.hpp"
#include "host/cli/stopped.hpp"
#include "host/cpu/cpu_backend.hpp"
#include "host/train/evaluate.hpp"
#include "host/train/onnx_export.hpp"
#include "host/train/sliding_window.hpp"
#include "host/train/train_data.hpp"

namespace pfce::cli {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxTile = 16384;  // 4 GB of float32 RGB input a tile: beyond any runtime's use
constexpr int kMaxBatch = 4096;

struct ExportArgs {
    std::string checkpoint, out, input_scale = "unit";
    int tile = 0, batch = 0;
    bool tile_given = false, logits = false, force = false;
};

void run_export(const ExportArgs& a) {
    OnnxExportOptions opt;
    if (a.input_scale == "unit")
        opt.input_scale = OnnxInputScale::unit;
    else if (a.input_scale == "raw")
        opt.input_scale = OnnxInputScale::raw;
    else
        PFCE_THROW(InputError, "--input-scale ", a.input_scale,
                   ": expected unit (pixel values / 255) or raw (pixel values, 0..255)");
    if (a.batch < 0 || a.batch > kMaxBatch)
        PFCE_THROW(InputError, "--batch ", a.batch,
                   ": expected 0 (any batch size) or the one "
                   "batch size the model takes, 1..",
                   kMaxBatch);
    refuse_unreachable_out(a.out, "--out");
    if (!lower_ext_is(a.out, {".onnx"}))
        PFCE_THROW(InputError, "--out ", a.out, ": expected a .onnx file (what export writes)");
    require_input("--checkpoint", a.checkpoint, false, "a checkpoint file, RUN/last.ckpt");
    refuse_output_among_data("--out " + a.out, a.out, "the model");
    check_output_file(a.out, a.force, {a.checkpoint});
    const StopSignals stop_signals;  // Ctrl-C before the write: nothing written
    const LateStopSaid late(a.out + " is written whole");
    remove_stale_temps_of(a.out);  // a killed export's half-written model

    // The checkpoint read once (a run restarting beside it may replace it meanwhile): the model it
    // makes (metadata checked, weights finite), on the CPU, as nothing runs; then its weights.
    const Checkpoint ck = read_checkpoint(a.checkpoint);
    // Weights of a run stopped before its first step are random: a model to hand on is refused
    // (predict and eval only warn: their results say so on the spot; a model file would not).
    if (const TrainingProgress p = training_progress(ck.meta); p.known && p.global_step == 0)
        PFCE_THROW(InputError, "checkpoint ", a.checkpoint,
                   " holds untrained weights (epoch 0, optimizer step 0: written at the start of "
                   "a run that stopped before its first step); resume the run (pfce train "
                   "--resume) or export a checkpoint of a later epoch");
    CpuBackend backend;
    TrainedModel m = load_trained_model(backend, ck, a.checkpoint);
    const UNetConfig uc = m.net->config();
    m.net.reset();  // its weights checked; the model's bytes are made from the checkpoint's
    const int depth = uc.depth;
    const int smallest = std::max(16, smallest_unet_side(depth));
    opt.tile = a.tile_given ? a.tile : eval_options(m.config).window;
    // A side predict's --window could be (at least 16 pixels, and one the U-Net can pad), or 0:
    // any height and width that are multiples of 2^depth.
    const bool any_size = a.tile_given && a.tile == 0;
    if (!any_size &&
        (opt.tile < smallest || opt.tile > kMaxTile || !unet_side_fits(opt.tile, depth)))
        PFCE_THROW(InputError, a.tile_given ? "--tile " : "the run's window ", opt.tile,
                   ": expected a side of ", smallest, "..", kMaxTile, " pixels for the depth-",
                   depth, " U-Net of ", a.checkpoint, ", or 0 for any multiple of ", 1 << depth,
                   a.tile_given ? "" : " (pass --tile)");
    opt.overlap = any_size ? 0 : default_overlap(opt.tile);
    opt.batch = a.batch;
    opt.logits = a.logits;
    opt.checkpoint = a.checkpoint;
    const std::string model = unet_onnx_model(m, uc, ck, opt);

    if (stop_requested()) {
        std::printf("interrupted before %s was written; nothing written\n", a.out.c_str());
        throw CLI::RuntimeError(130);
    }
    if (const fs::path parent = fs::path(a.out).parent_path(); !parent.empty())
        fs::create_directories(parent);
    // Without --force, a file another export wrote there meanwhile is an error, never replaced
    // (two exports to one name both said "wrote" it: interruption probe).
    StagedFiles staged;
    write_file_atomically(staged.stage(a.out), model);
    try {
        staged.commit(a.force);
    } catch (const InputError& e) {
        PFCE_THROW(InputError, e.what(), "; pass --force to replace it");
    }

    const std::string n = a.batch > 0 ? std::to_string(a.batch) : "batch";
    const std::string height = any_size ? "height" : std::to_string(opt.tile);
    const std::string width = any_size ? "width" : std::to_string(opt.tile);
    std::printf("wrote %s (%s): the U-Net of %s (depth %d, base width %d), ONNX opset %d\n",
                a.out.c_str(), format_bytes(static_cast<double>(model.size())).c_str(),
                a.checkpoint.c_str(), depth, uc.base_width, kOnnxOpset);
    std::printf("  input  image: float32 (%s, %d, %s, %s), the pixel values%s\n", n.c_str(),
                uc.in_channels, height.c_str(), width.c_str(),
                opt.input_scale == OnnxInputScale::unit ? " / 255 (0..1)" : " (0..255)");
    std::printf("  output %s: float32 (%s, %d, %s, %s)%s\n", a.logits ? "logits" : "probabilities",
                n.c_str(), uc.num_classes, height.c_str(), width.c_str(),
                a.logits ? "" : ", the softmax over the classes");
    if (any_size)
        std::printf("  of any height and width that are multiples of %d (the model pads nothing)\n",
                    1 << depth);
    std::string classes;
    for (std::size_t c = 0; c < m.class_names.size(); ++c)
        classes += (c ? ", " : "") + std::to_string(c) + " " + m.class_names[c];
    std::printf("  classes: %s\n", classes.c_str());
    // The model's outputs are channels, numbered from 0; a run whose masks give the classes other
    // values (LoveDA's 1..7, 0/255 building masks) has pfce predict write those, while Deepness
    // writes the channel's number: a 0 that this dataset reads as no data (walkthrough).
    bool other_values = false;
    std::string values;
    for (std::size_t c = 0; c < m.mask_values.size(); ++c) {
        other_values = other_values || m.mask_values[c] != static_cast<int>(c);
        values += (c ? ", " : "") + m.class_names[c] + " " + std::to_string(m.mask_values[c]);
    }
    if (other_values)
        std::printf(
            "  these are the output channels' numbers, not the values the dataset's masks give "
            "the classes (%s, recorded as pfce_mask_values), which pfce predict writes: a tool "
            "that writes the channel's number (QGIS's Deepness) writes other values\n",
            values.c_str());
    if (!m.config.data.bands.empty() || !m.config.data.value_range.empty())
        std::printf(
            "  the run read its images through data.bands / data.value_range: feed the model the "
            "same bands, sample values mapped to 0..255 the same way (recorded in the model's "
            "metadata)\n");
    if (!m.config.data.value_range.empty() && opt.input_scale == OnnxInputScale::unit &&
        !opt.logits)
        std::printf(
            "  QGIS's Deepness feeds a layer's 8-bit values / 255, not sample values mapped by "
            "data.value_range as this run read them: the model carries none of its keys\n");
    else if (any_size)
        std::printf(
            "  QGIS's Deepness runs square tiles of one size: this model carries none of its keys "
            "(export with --tile S for it)\n");
    else if (!deepness_reads(m, opt))
        std::printf(
            "  QGIS's Deepness feeds pixel values / 255 and reads probabilities: this model "
            "carries none of its keys (export without --input-scale raw and --logits for it)\n");
    else if (!training_pixel_cm(m))
        std::printf(
            "  the training images had no grid in ground metres, so the model names no "
            "resolution: set Deepness's resolution (cm/px) to that of the imagery it trained on, "
            "or it resamples the layer to its own default\n");
    // pfce reads a gray image as three equal channels: a one-band layer goes to all three inputs.
    if (const TrainedImageKinds kinds =
            trained_image_kinds(m.meta.value("data", nlohmann::json::object()));
        kinds.known && kinds.gray && !kinds.colour && uc.in_channels == 3)
        std::printf(
            "  the run trained on gray images, which pfce reads as three equal channels: feed a "
            "one-band image to all three inputs (in Deepness, map its band to channels 0, 1 and "
            "2)\n");
    if (m.config.run.precision == "bf16")
        std::printf(
            "  the run trained and predicts at bf16; the ONNX model computes in fp32, so its "
            "scores differ from pfce's by bf16 rounding\n");
}

const bool registered = register_command(
    "export", "a checkpoint's U-Net as an ONNX model (ONNX Runtime, OpenCV, QGIS Deepness)",
    [](CLI::App& sub) {
        auto a = std::make_shared<ExportArgs>();
        sub.add_option("--checkpoint", a->checkpoint, "checkpoint file (RUN/last.ckpt)")
            ->required();
        sub.add_option("--out", a->out, "ONNX file to write (.onnx)")->required();
        sub.add_option("--tile", a->tile,
                       "the model's input side in pixels, 16..16384 (default: the run's "
                       "predict window); any side the U-Net takes, padded inside the model as "
                       "pfce pads it; 0: any height and width that are multiples of 2^depth "
                       "(not for QGIS Deepness, which needs one tile size)")
            ->each([a](const std::string&) { a->tile_given = true; });
        sub.add_option("--batch", a->batch,
                       "images per call the model takes (0: any number, a dynamic batch)");
        sub.add_option("--input-scale", a->input_scale,
                       "what the input holds: unit (pixel values / 255, as QGIS Deepness feeds "
                       "it) or raw (pixel values 0..255)");
        sub.add_flag("--logits", a->logits,
                     "output the logits, not the class probabilities (their softmax)");
        sub.add_flag("--force", a->force, "replace an existing --out file");
        sub.callback([a] { run_export(*a); });
    });

}  // namespace
}  // namespace pfce::cli
