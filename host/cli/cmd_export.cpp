// `pfce export`: a checkpoint's U-Net as an ONNX model (host/train/onnx_export), for ONNX Runtime,
// OpenCV, TensorRT or QGIS's Deepness plugin. The tile side defaults to the run's window, so the
// model sees what `pfce predict` shows it.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "core/file_io.hpp"
#include "core/text.hpp"
#include "host/cli/cli_checks.hpp"
#include "host/cli/command_registry.hpp"
#include "host/cpu/cpu_backend.hpp"
#include "host/train/evaluate.hpp"
#include "host/train/onnx_export.hpp"
#include "host/train/sliding_window.hpp"

namespace pfce::cli {
namespace {

namespace fs = std::filesystem;

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
    if (a.batch < 0)
        PFCE_THROW(InputError, "--batch ", a.batch,
                   ": expected 0 (any batch size) or the one batch size the model takes");
    refuse_unreachable_out(a.out, "--out");
    if (!lower_ext_is(a.out, {".onnx"}))
        PFCE_THROW(InputError, "--out ", a.out, ": expected a .onnx file (what export writes)");
    require_input("--checkpoint", a.checkpoint, false, "a checkpoint file, RUN/last.ckpt");
    refuse_output_among_data("--out " + a.out, a.out, "the model");
    check_output_file(a.out, a.force, {a.checkpoint});

    // The weights as stored, and the model they make (its metadata checked, its weights finite),
    // on the CPU: nothing runs, so no device is chosen (or said).
    CpuBackend backend;
    const TrainedModel m = load_trained_model(backend, a.checkpoint);
    const Checkpoint ck = read_checkpoint(a.checkpoint);
    const int depth = m.net->config().depth;
    opt.tile = a.tile_given ? a.tile : eval_options(m.config).window;
    // A side predict's --window could be (at least 16 pixels, and one the U-Net can pad).
    if (a.tile_given && (a.tile < 16 || a.tile > 65536 || !unet_side_fits(a.tile, depth)))
        PFCE_THROW(InputError, "--tile ", a.tile, ": expected a side of ",
                   std::max(16, smallest_unet_side(depth)), "..65536 pixels (the depth-", depth,
                   " U-Net of ", a.checkpoint, ")");
    check_window_fits_unet(opt.tile, a.tile_given, depth, a.checkpoint);
    opt.overlap = default_overlap(opt.tile);
    opt.batch = a.batch;
    opt.logits = a.logits;
    opt.checkpoint = a.checkpoint;
    const std::string model = unet_onnx_model(m, ck, opt);

    if (const fs::path parent = fs::path(a.out).parent_path(); !parent.empty())
        fs::create_directories(parent);
    write_file_atomically(a.out, model);

    const UNetConfig& uc = m.net->config();
    const std::string n = a.batch > 0 ? std::to_string(a.batch) : "batch";
    const std::string side = std::to_string(opt.tile);
    std::printf("wrote %s (%s): the U-Net of %s (depth %d, base width %d), ONNX opset %d\n",
                a.out.c_str(), format_bytes(static_cast<double>(model.size())).c_str(),
                a.checkpoint.c_str(), depth, uc.base_width, kOnnxOpset);
    std::printf("  input  image: float32 (%s, %d, %s, %s), the pixel values%s\n", n.c_str(),
                uc.in_channels, side.c_str(), side.c_str(),
                opt.input_scale == OnnxInputScale::unit ? " / 255 (0..1)" : " (0..255)");
    std::printf("  output %s: float32 (%s, %d, %s, %s)%s\n", a.logits ? "logits" : "probabilities",
                n.c_str(), uc.num_classes, side.c_str(), side.c_str(),
                a.logits ? "" : ", the softmax over the classes");
    std::string classes;
    for (std::size_t c = 0; c < m.class_names.size(); ++c)
        classes += (c ? ", " : "") + std::to_string(c) + " " + m.class_names[c];
    std::printf("  classes: %s\n", classes.c_str());
    if (!m.config.data.bands.empty() || !m.config.data.value_range.empty())
        std::printf(
            "  the run read its images through data.bands / data.value_range: feed the model the "
            "same bands, 16-bit values mapped to 0..255 the same way (recorded in the model's "
            "metadata)\n");
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
                       "the model's input side in pixels (default: the run's predict window); "
                       "any side, padded inside the model as pfce pads it")
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
