// `pfce predict`: the colour-coded class mask of one image (OUT.png), and the mask blended over the
// image (OUT_overlay.png), both written atomically.
#include <cstdio>
#include <filesystem>
#include <string>

#include "data/image_io.hpp"
#include "host/backend/backend_factory.hpp"
#include "host/cli/command_registry.hpp"
#include "host/train/evaluate.hpp"
#include "host/train/sliding_window.hpp"
#include "host/train/trained_model.hpp"

namespace pfce::cli {
namespace {

struct PredictArgs {
    std::string checkpoint, input, out, device = "auto";
    double alpha = 0.5;
    bool force = false;
};

void run_predict(const PredictArgs& a) {
    if (!(a.alpha >= 0 && a.alpha <= 1))
        PFCE_THROW(InputError, "--alpha ", a.alpha, ": expected 0..1");
    const std::filesystem::path out(a.out);
    const std::string overlay_path =
        (out.parent_path() / (out.stem().string() + "_overlay" + out.extension().string()))
            .string();
    for (const std::string& p : {a.out, overlay_path})
        check_output_file(p, a.force, {a.input, a.checkpoint});
    auto backend = make_backend(a.device);
    TrainedModel m = load_trained_model(*backend, a.checkpoint);
    const RgbImage img = read_rgb(a.input, 100'000'000);
    SlidingWindow sw;
    sw.window = eval_options(m.config).window;
    const LabelMap pred = predict_sliding(*backend, *m.net, img, m.stats, sw);
    RgbImage mask(img.width, img.height), overlay(img.width, img.height);
    std::vector<std::int64_t> counts(m.class_colours.size(), 0);
    for (std::size_t i = 0; i < pred.labels.size(); ++i) {
        const std::size_t c = pred.labels[i];
        const auto& colour = m.class_colours.at(c);
        ++counts[c];
        for (int k = 0; k < 3; ++k) {
            mask.pixels[i * 3 + k] = colour[static_cast<std::size_t>(k)];
            overlay.pixels[i * 3 + k] =
                static_cast<std::uint8_t>((1.0 - a.alpha) * img.pixels[i * 3 + k] +
                                          a.alpha * colour[static_cast<std::size_t>(k)] + 0.5);
        }
    }
    write_png(a.out, mask);
    write_png(overlay_path, overlay);
    std::printf("%s -> %s, %s (%dx%d)\n", a.input.c_str(), a.out.c_str(), overlay_path.c_str(),
                img.width, img.height);
    for (std::size_t c = 0; c < counts.size(); ++c)
        std::printf(
            "  %-20s %6.2f%%\n", m.class_names[c].c_str(),
            100.0 * static_cast<double>(counts[c]) / static_cast<double>(pred.labels.size()));
}

const bool registered = register_command(
    "predict", "colour-coded prediction of one image, plus an overlay on the image",
    [](CLI::App& sub) {
        auto a = std::make_shared<PredictArgs>();
        sub.add_option("--checkpoint", a->checkpoint, "checkpoint file")->required();
        sub.add_option("--input", a->input, "image (TIFF or PNG)")->required();
        sub.add_option("--out", a->out,
                       "output PNG; the overlay goes to <stem>_overlay.png beside it")
            ->required();
        sub.add_option("--alpha", a->alpha, "overlay opacity of the mask")->capture_default_str();
        sub.add_option("--device", a->device, "auto | cpu | cuda[:N]")->capture_default_str();
        sub.add_flag("--force", a->force, "replace existing output files (never the input)");
        sub.callback([a] { run_predict(*a); });
    });

}  // namespace
}  // namespace pfce::cli
