// Config checks: every value against its range or names, the rules that tie keys together, and
// the comparison that decides whether a run may be resumed with the config it is given.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <sstream>
#include <string_view>
#include <type_traits>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/op_variants.hpp"
#include "core/text.hpp"
#include "data/image.hpp"
#include "data/linking.hpp"
#include "host/backend/backend_factory.hpp"
#include "host/train/config.hpp"
#include "models/unet.hpp"

namespace pfce {
namespace {

// `key` = `value` is wrong; `also` names the key a rule ties it to, whose source is named too.
template <typename V>
[[noreturn]] void bad(const ConfigKeySources& source, const char* key, const V& value,
                      const std::string& expected, const char* also = nullptr) {
    std::ostringstream os;
    os << value;
    if constexpr (std::is_floating_point_v<V>) {
        // 1.0000001 must not read "1" beside "expected 1e-30..1": as many digits as tell it apart.
        // strtod, not stod: a subnormal value (1e-310) reads back with ERANGE, which stod throws.
        for (int digits = 7; digits <= 17 && std::strtod(os.str().c_str(), nullptr) != value;
             ++digits) {
            os.str("");
            os << std::setprecision(digits) << value;
        }
    }
    std::vector<std::string> keys = {key};
    if (also) keys.emplace_back(also);
    PFCE_THROW(InputError, source(keys), ": ", key, " = ", os.str(), ": expected ", expected);
}

// run.best_metric and schedule.plateau_metric: a validation metric, or one class's IoU (the class
// is the dataset's to know: validate_for_classes and the trainer check it is one).
void check_metric_name(const ConfigKeySources& source, const char* key, const std::string& metric,
                       const char* how) {
    if (metric != "val_loss" && metric != "val_miou" &&
        !(metric.rfind(kBestIouPrefix, 0) == 0 &&
          metric.size() > std::string_view(kBestIouPrefix).size()))
        bad(source, key, "\"" + metric + "\"",
            std::string("the metric ") + how +
                ": val_loss, val_miou, or val_iou:CLASS (one class's validation IoU, the class "
                "by its name)");
}

// A bound as written in a message: 1, 10, 0.5.
std::string format_number(double x) {
    std::ostringstream os;
    os << x;
    return os.str();
}

}  // namespace

void validate(const Config& c, const std::string& source) {
    validate(c, [&source](const std::vector<std::string>&) { return source; });
}

void validate(const Config& c, const ConfigKeySources& source) {
    // A path of spaces only names a directory " " nobody meant (`--out " "` trained into it).
    for (const ConfigKey& k : config_keys()) {
        if (!k.is_path) continue;
        const nlohmann::json v = k.get(c);
        const std::string p = v.is_string() ? v.get<std::string>() : std::string();
        if (!p.empty() && is_blank(p))
            bad(source, k.dotted().c_str(), "\"" + p + "\"",
                "a path, not spaces (leave the key out, or \"\", for none)");
    }
    const DataSettings& d = c.data;
    if (d.tile_patch < 16) bad(source, "data.tile_patch", d.tile_patch, ">= 16");
    if (d.tile_stride < 1) bad(source, "data.tile_stride", d.tile_stride, ">= 1");
    if (!d.bands.empty() && !image_channel_count_fits(static_cast<int>(d.bands.size())))
        bad(source, "data.bands", nlohmann::json(d.bands).dump(),
            std::string(kImageChannelCounts) + ", or none (the images' RGB or gray)");
    for (const int b : d.bands)
        if (b < 1 || b > 255) bad(source, "data.bands", b, "band numbers 1..255 (1 is the first)");
    // A band picked twice is two equal input channels: a typo for another band (1,2,3,3 for
    // 1,2,3,4), never a reason. Three picks of one band are gray, as one pick is; a run stored
    // with such bands (before this rule) resumes as it trained.
    const bool gray = d.bands.size() == 3 && d.bands[0] == d.bands[1] && d.bands[1] == d.bands[2];
    const bool stored = source({"data.bands"}).rfind(kStoredConfigSource, 0) == 0;
    for (std::size_t i = 0; i < d.bands.size() && !gray && !stored; ++i)
        if (std::count(d.bands.begin(), d.bands.begin() + static_cast<std::ptrdiff_t>(i),
                       d.bands[i]) > 0)
            bad(source, "data.bands", nlohmann::json(d.bands).dump(),
                detail::concat("each band once (band ", d.bands[i],
                               " is picked twice: two equal input channels teach the model "
                               "nothing the first did not), or one band for gray"));
    // Any finite range: signed samples (dB, a DEM) have negative ones, reflectance as float 0..1.
    if (!d.value_range.empty() &&
        (d.value_range.size() != 2 || !std::isfinite(d.value_range[0]) ||
         !std::isfinite(d.value_range[1]) || !(d.value_range[0] < d.value_range[1]) ||
         !std::isfinite(d.value_range[1] - d.value_range[0])))
        bad(source, "data.value_range",
            d.value_range.size() == 2 ? "[" + format_number(d.value_range[0]) + ", " +
                                            format_number(d.value_range[1]) + "]"
                                      : std::to_string(d.value_range.size()) + " values",
            "[lo, hi] with lo < hi, both and hi - lo finite (the values of 16-bit, signed or "
            "floating-point "
            "samples read as 0 and 255), or [] for 8-bit images");
    if (d.max_pixels < 1)
        bad(source, "data.max_pixels", d.max_pixels, ">= 1 (a limit; there is no 'no limit')");
    if (d.synthetic_count < 3) bad(source, "data.synthetic_count", d.synthetic_count, ">= 3");
    if (d.synthetic_size < 16 || d.synthetic_size > 8192)
        bad(source, "data.synthetic_size", d.synthetic_size, "16..8192");
    if (!(d.train_frac > 0 && d.train_frac <= 1))
        bad(source, "data.train_frac", d.train_frac, "in (0, 1]");
    if (!(d.val_frac >= 0 && d.val_frac < 1)) bad(source, "data.val_frac", d.val_frac, "in [0, 1)");
    if (d.train_frac + d.val_frac > 1.0 + 1e-12)
        bad(source, "data.val_frac", d.val_frac,
            detail::concat("at most 1 - train_frac = ", 1 - d.train_frac), "data.train_frac");
    if (d.max_samples < 0) bad(source, "data.max_samples", d.max_samples, ">= 0 (0 = all)");
    // Tiles are drawn only where samples are windows of tiles: refused here, before a synthetic
    // set is generated for nothing.
    if (d.split_by == "tile" && d.train_list.empty()) {
        if (d.source == "synthetic")
            bad(source, "data.split_by", "\"tile\"",
                "\"sample\" with data.source = \"synthetic\" (its images are whole patches, not "
                "windows of tiles)",
                "data.source");
        if (d.kind == "kaggle" || d.kind == "generic")
            bad(source, "data.split_by", "\"tile\"",
                "\"sample\" with data.kind = \"" + d.kind +
                    "\" (its samples are whole images, not windows of tiles)",
                "data.kind");
    }
    if (d.crop_size != 0 && (d.crop_size < 16 || d.crop_size > 8192))
        bad(source, "data.crop_size", d.crop_size, "0 (whole images) or 16..8192");
    if (d.crops_per_image < 1 || d.crops_per_image > 4096)
        bad(source, "data.crops_per_image", d.crops_per_image, "1..4096");
    if (d.crops_per_image > 1 && d.crop_size == 0)
        bad(source, "data.crops_per_image", d.crops_per_image,
            "1 with whole images (data.crop_size = 0: each image would be seen that many times "
            "alike); give data.crop_size too",
            "data.crop_size");
    if (d.train_list.empty() && (!d.val_list.empty() || !d.test_list.empty()))
        bad(source, "data.train_list", "\"\"",
            "a file too when val_list or test_list is given (lists split the data: the training "
            "samples are listed too; a val or test list may be left out)",
            d.val_list.empty() ? "data.test_list" : "data.val_list");

    const LabelSettings& l = c.labels;
    if (l.points.empty() || l.points.size() > static_cast<std::size_t>(kMaxClasses))
        bad(source, "labels.points", l.points.size(),
            "one value or one per class (at most " + std::to_string(kMaxClasses) + ")");
    for (std::size_t k = 0; k < l.points.size(); ++k) {
        if (l.points[k] >= 1) continue;
        if (l.points.size() == 1) bad(source, "labels.points", l.points[k], "a count >= 1");
        std::string list;  // the whole list, as written, and which of its counts is wrong
        for (std::size_t j = 0; j < l.points.size(); ++j) {
            list += j ? ',' : '[';  // appended apart: GCC 12 warns falsely on "[" + std::string&&
            list += std::to_string(l.points[j]);
        }
        list += ']';
        bad(source, "labels.points", list,
            detail::concat("every count >= 1 (count ", k + 1, " of ", l.points.size(), " is ",
                           l.points[k],
                           "): sampling never removes a class present in an image; for a class "
                           "nobody annotated, import annotations without it (pfce sample --from)"));
    }
    if (l.radius < 0 || l.radius > kMaxUsefulLinkRadius)
        bad(source, "labels.radius", l.radius,
            "0.." + std::to_string(kMaxUsefulLinkRadius) +
                " pixels (a distance between two points of one image; " +
                std::to_string(kMaxUsefulLinkRadius) +
                " already spans a 6000x6000 Potsdam tile's diagonal)");
    if (!(l.max_color_step >= 0 || l.max_color_step == -1))
        bad(source, "labels.max_color_step", l.max_color_step, ">= 0, or -1 (off)");

    if (c.model.width < 1 || c.model.width > 1024)
        bad(source, "model.width", c.model.width, "1..1024");
    if (c.model.depth < 1 || c.model.depth > 8) bad(source, "model.depth", c.model.depth, "1..8");
    // The bottom level has width * 2^depth channels (models/unet.hpp): refused here, not after the
    // data are read and the model is built.
    if ((static_cast<std::int64_t>(c.model.width) << c.model.depth) > kMaxUNetChannels)
        bad(source, "model.width", c.model.width,
            "at most " + std::to_string(kMaxUNetChannels >> c.model.depth) +
                " at model.depth = " + std::to_string(c.model.depth) +
                " (the U-Net's bottom level has width x 2^depth channels, at most " +
                std::to_string(kMaxUNetChannels) + ")",
            "model.depth");
    // A crop is one training image: reflect padding to a multiple of 2^depth needs each side long
    // enough (models/unet.hpp). Refused here, not after the labels are drawn and the model built.
    if (d.crop_size != 0 && !unet_side_fits(d.crop_size, c.model.depth))
        bad(source, "data.crop_size", d.crop_size,
            "at least " + std::to_string(smallest_unet_side(c.model.depth)) +
                " pixels for a U-Net of model.depth = " + std::to_string(c.model.depth) +
                " (or a smaller depth)",
            "model.depth");

    // Past 10, (1 - p)^gamma is below 1e-3 for every pixel the network gets 50% right: the loss
    // and its gradient vanish and the run trains nothing.
    if (!(c.loss.gamma >= 0 && c.loss.gamma <= 10))
        bad(source, "loss.gamma", c.loss.gamma, "0..10 (0 = cross-entropy; the paper uses 2)");
    // The weights are relative; past 1000 times another class's a weight only overflows float
    // losses (3e38 is inf) while saying nothing a smaller ratio cannot.
    // Below 1e-30 a weight is 0 in float: every class at such a weight trains on nothing.
    for (double a : c.loss.alpha)
        if (!(a == 0 || (a >= kMinClassWeight && a <= kMaxClassWeight)))
            bad(source, "loss.alpha", a,
                "every weight 0 or in " + format_number(kMinClassWeight) + ".." +
                    format_number(kMaxClassWeight) + " (weights are relative)");
    if (!c.loss.alpha.empty() &&
        std::none_of(c.loss.alpha.begin(), c.loss.alpha.end(), [](double a) { return a > 0; }))
        bad(source, "loss.alpha", "all 0",
            "at least one weight > 0 (with every weight 0 no pixel counts)");
    if (c.loss.alpha.size() > static_cast<std::size_t>(kMaxClasses))
        bad(source, "loss.alpha", c.loss.alpha.size(), "one weight per class");
    const LossSettings& lo = c.loss;
    if (!(lo.crf_weight >= 0 && lo.crf_weight <= kMaxCrfWeight))
        bad(source, "loss.crf_weight", lo.crf_weight,
            "0..10 (0 = no CRF term; the shipped experiments use 0.1, and at 0.3 the term already "
            "outweighs 500 points per class)");
    if (lo.crf_radius < 1 || lo.crf_radius > kMaxCrfRadius)
        bad(source, "loss.crf_radius", lo.crf_radius,
            "1.." + std::to_string(kMaxCrfRadius) + " cells");
    // The kernel divides by 2 sigma^2 in float: below 0.01 or above 1e4 that is 0 or inf, not a
    // narrower or flatter kernel (0.01 already gives every other pixel a weight of 0).
    if (!(lo.crf_sigma_xy >= kMinCrfSigma && lo.crf_sigma_xy <= kMaxCrfSigma))
        bad(source, "loss.crf_sigma_xy", lo.crf_sigma_xy,
            format_number(kMinCrfSigma) + ".." + format_number(kMaxCrfSigma) + " pixels");
    if (!(lo.crf_sigma_rgb >= kMinCrfSigma && lo.crf_sigma_rgb <= kMaxCrfSigma))
        bad(source, "loss.crf_sigma_rgb", lo.crf_sigma_rgb,
            format_number(kMinCrfSigma) + ".." + format_number(kMaxCrfSigma) +
                " (0-255 colour units)");
    if (lo.crf_downsample < 1 || lo.crf_downsample > kMaxCrfDownsample)
        bad(source, "loss.crf_downsample", lo.crf_downsample,
            "1.." + std::to_string(kMaxCrfDownsample) + " pixels per cell side");
    if (lo.crf_warmup < 0 || lo.crf_warmup > kMaxEpochs)
        bad(source, "loss.crf_warmup", lo.crf_warmup,
            "0.." + std::to_string(kMaxEpochs) + " epochs (0 = full weight from the start)");

    const OptimizerSettings& o = c.optimizer;
    // Adam's step moves each weight by about lr whatever its gradient: past 1 every step throws
    // the weights (initialised at a few tenths) far away. SGD's step is lr times the gradient,
    // which can be small, so it gets more room; past 10 it only trains on nonsense.
    const bool sgd = o.name == "sgd";
    const double max_lr = sgd ? kMaxSgdLr : kMaxAdamLr;
    // Below kMinLr no step moves a float weight of useful size: the run would train nothing.
    if (!(o.lr >= kMinLr && o.lr <= max_lr))
        bad(source, "optimizer.lr", o.lr,
            "in [" + format_number(kMinLr) + ", " + format_number(max_lr) + "] for " + o.name +
                (sgd ? " (usual: 1e-3..1e-1)" : " (usual: 1e-4..1e-2)"));
    if (!(o.weight_decay >= 0)) bad(source, "optimizer.weight_decay", o.weight_decay, ">= 0");
    // Adam's L2 decay adds weight_decay * w to every gradient, which the normalised step then
    // bounds: 100 only shrinks the weights, but far past it the term overflows float (1e300 made
    // the loss NaN), so 1000 is the bound.
    if ((o.name == "adam" || o.name == "adam_l2") && o.weight_decay > kMaxAdamWeightDecay)
        bad(source, "optimizer.weight_decay", o.weight_decay,
            "at most " + format_number(kMaxAdamWeightDecay) + " for " + o.name +
                " (its decay term already outweighs any loss gradient; usual: 1e-5..1e-2)");
    // SGD's and AdamW's decay multiply every decayed weight by 1 - lr * weight_decay each step: at
    // 1 or more that zeroes or flips the weights.
    if ((sgd || o.name == "adamw") && o.lr * o.weight_decay >= 1)
        bad(source, "optimizer.weight_decay", o.weight_decay,
            "below 1 / optimizer.lr = " + format_number(1 / o.lr) + " for " + o.name +
                " (each step multiplies the weights by 1 - lr * weight_decay)");
    // The optimizer holds these in float, where a value just under 1 (0.99999999) is 1: the
    // largest float below 1 is 0.99999994, and that is the bound (beta2 = 0.99999999 passed as
    // below 1, and the first step divided by 1 - beta2 = 0: "training diverged ... lower the lr").
    const auto below_one_in_float = [](double v) { return v >= 0 && static_cast<float>(v) < 1.0f; };
    const std::string in_float = "in [0, 1) and at most 0.99999994, the largest float below 1";
    if (!below_one_in_float(o.momentum)) bad(source, "optimizer.momentum", o.momentum, in_float);
    if (!below_one_in_float(o.beta1))
        bad(source, "optimizer.beta1", o.beta1,
            in_float + " (at 1 the first moment never moves and the bias correction divides by 0)");
    if (!below_one_in_float(o.beta2))
        bad(source, "optimizer.beta2", o.beta2,
            in_float + " (at 1 the bias correction divides by 0)");
    // eps is added to sqrt(v) in float: below 1e-30 it rounds towards 0 (a division by ~0 for a
    // weight without gradient), above 1 Adam's step is lr * m / eps, a vanishing SGD.
    if (!(o.eps >= kMinAdamEps && o.eps <= 1))
        bad(source, "optimizer.eps", o.eps, format_number(kMinAdamEps) + "..1 (usual: 1e-8)");
    // A sanity floor: the gradient's global norm clipped to c leaves each weight a gradient of
    // about c / sqrt(weights), under Adam's eps (1e-8) for a U-Net of a million weights already
    // at c ~ 1e-5, and SGD's step is lr times it: far below usual values (0.5..10), the run trains
    // nothing (--clip 1e-30 moved the loss from 1.554 to 1.550 in 4 epochs).
    if (!(o.clip == 0 || o.clip >= kMinClip))
        bad(source, "optimizer.clip", o.clip,
            "0 (off) or at least " + format_number(kMinClip) +
                " (the largest gradient norm a step keeps; usual: 0.5..10)");

    const ScheduleSettings& s = c.schedule;
    if (s.step_size < 1) bad(source, "schedule.step_size", s.step_size, ">= 1");
    // A step schedule lowers the lr: a factor above 1 raises it every step_size epochs without
    // bound (the divergence test uses 1e36 to force an overflow, past this check).
    if (!(s.step_gamma > 0 && s.step_gamma <= 1))
        bad(source, "schedule.step_gamma", s.step_gamma,
            "(0, 1] (the factor the step schedule multiplies the lr by every step_size epochs)");
    if (s.warmup_epochs < 0) bad(source, "schedule.warmup_epochs", s.warmup_epochs, ">= 0");
    if (c.run.epochs < 1 || c.run.epochs > kMaxEpochs)  // before warmup's rule
        bad(source, "run.epochs", c.run.epochs, "1.." + std::to_string(kMaxEpochs));
    // Only cosine warms up: under another schedule the key is said to do nothing (config_unused),
    // as a warmup within the run is (3 epochs of a 1-epoch constant run were refused, 0.5 said).
    if (s.name == "cosine" && s.warmup_epochs > c.run.epochs)
        bad(source, "schedule.warmup_epochs", s.warmup_epochs,
            "at most run.epochs = " + std::to_string(c.run.epochs), "run.epochs");
    if (s.min_lr < 0) bad(source, "schedule.min_lr", s.min_lr, ">= 0");
    if ((s.name == "cosine" || s.name == "plateau") && s.min_lr >= o.lr)
        bad(source, "schedule.min_lr", s.min_lr,
            detail::concat("below optimizer.lr = ", o.lr, " (the floor of a decaying lr)"),
            "optimizer.lr");
    if (!(s.plateau_factor > 0 && s.plateau_factor < 1))
        bad(source, "schedule.plateau_factor", s.plateau_factor, "in (0, 1)");
    if (s.plateau_patience < 0)
        bad(source, "schedule.plateau_patience", s.plateau_patience, ">= 0");
    // Relative: an epoch improves on the best when below best * (1 - threshold). At 1 or above no
    // loss ever does, and the lr fell every patience + 1 epochs while the model improved.
    if (!(s.plateau_threshold >= 0 && s.plateau_threshold < 1))
        bad(source, "schedule.plateau_threshold", s.plateau_threshold,
            "in [0, 1) (the relative improvement that counts: 0.01 is 1%)");
    if (s.plateau_cooldown < 0)
        bad(source, "schedule.plateau_cooldown", s.plateau_cooldown, ">= 0");
    check_metric_name(source, "schedule.plateau_metric", s.plateau_metric, "watched");

    const RunSettings& r = c.run;
    if (r.batch_size < 1 || r.batch_size > kMaxBatchSize)
        bad(source, "run.batch_size", r.batch_size,
            "1.." + std::to_string(kMaxBatchSize) + " images");
    if (r.log_every < 1) bad(source, "run.log_every", r.log_every, ">= 1");
    if (r.prefetch < 0 || r.prefetch > 64) bad(source, "run.prefetch", r.prefetch, "0..64");
    const std::string& dev = r.device;
    if (!read_device_name(dev)) bad(source, "run.device", dev, "auto, cpu, cuda or cuda:N");
    if (r.out.empty()) bad(source, "run.out", "\"\"", "a directory");
    check_metric_name(source, "run.best_metric", r.best_metric, "followed");
    std::vector<KernelChoice> kernels;
    try {
        kernels = parse_kernel_choices(r.kernels);
    } catch (const InputError& e) {
        PFCE_THROW(InputError, source({"run.kernels"}), ": run.kernels = \"", r.kernels,
                   "\": ", e.what());
    }
    // bf16 storage of the activations is half of the bf16 precision: at fp32 or tf32 it would
    // round every activation to 8 bits while the convolutions keep 24 or 11, which nobody means.
    const bool bf16_storage =
        std::find(kernels.begin(), kernels.end(), KernelChoice{"activation_storage", "bf16"}) !=
        kernels.end();
    if (bf16_storage && r.precision != "bf16")
        PFCE_THROW(InputError, source({"run.kernels", "run.precision"}), ": run.kernels = \"",
                   r.kernels,
                   "\" stores activations in bf16, which needs run.precision = \"bf16\" (got \"",
                   r.precision, "\")");
    // Paths are recorded in JSON (checkpoints, masks.json), which holds UTF-8 only: refuse others
    // now rather than after an epoch of training.
    for (const ConfigKey& k : config_keys())
        if (k.is_path && !is_valid_utf8(k.get(c).get<std::string>()))
            bad(source, k.dotted().c_str(), "(a path with bytes that are not UTF-8)",
                "a path that is valid UTF-8 (rename the file or directory)");
}

void validate_for_classes(const Config& c, const std::vector<std::string>& class_names,
                          const std::string& dataset, const ConfigKeySources& source) {
    const std::size_t C = class_names.size();
    std::string names;
    for (const std::string& n : class_names) names += (names.empty() ? "" : ", ") + n;
    const std::string classes =
        "dataset " + dataset + " has " + std::to_string(C) + " classes (" + names + ")";
    // A mask directory given as labels.dir brings its own points; dense runs draw none.
    const bool draws_points = c.labels.dir.empty() && c.labels.kind != "dense";
    if (draws_points && c.labels.points.size() > 1 && c.labels.points.size() != C)
        bad(source, "labels.points", nlohmann::json(c.labels.points).dump(),
            std::to_string(C) +
                " counts, one per class in the dataset's order, or one count for "
                "every class: " +
                classes);
    if (!c.loss.alpha_auto && !c.loss.alpha.empty() && c.loss.alpha.size() != C)
        bad(source, "loss.alpha", nlohmann::json(c.loss.alpha).dump(),
            std::to_string(C) +
                " weights, one per class in the dataset's order (or none, or "
                "\"auto\"): " +
                classes);
    // A schedule other than plateau ignores plateau_metric (config_unused says so).
    for (const auto& [key, metric] :
         {std::pair{"run.best_metric", c.run.best_metric},
          std::pair{"schedule.plateau_metric",
                    c.schedule.name == "plateau" ? c.schedule.plateau_metric : std::string()}}) {
        if (metric.rfind(kBestIouPrefix, 0) != 0) continue;
        const std::string name = metric.substr(std::string_view(kBestIouPrefix).size());
        if (std::find(class_names.begin(), class_names.end(), name) == class_names.end()) {
            const std::string near = nearest_name(name, class_names);
            bad(source, key, "\"" + metric + "\"",
                "val_iou: and one of the dataset's classes: " + classes +
                    (near.empty() ? std::string() : "; did you mean val_iou:" + near + "?"));
        }
    }
}

void make_paths_absolute(Config& c) {
    for (const ConfigKey& k : config_keys())
        if (k.is_path) {
            const std::string p = k.get(c).get<std::string>();
            if (!p.empty()) k.set(c, resolved_path(p));
        }
}

std::vector<std::string> differing_result_keys(const Config& stored, const Config& given) {
    std::vector<std::string> out;
    for (const ConfigKey& k : config_keys()) {
        if (!k.affects_result) continue;
        nlohmann::json a = k.get(stored), b = k.get(given);
        if (k.dotted() == "run.epochs") {
            if (b.get<int>() >= a.get<int>()) continue;  // a longer schedule is allowed
        } else if (k.is_path) {
            a = resolved_path(a.get<std::string>());
            b = resolved_path(b.get<std::string>());
        }
        if (a != b) out.push_back(k.dotted() + ": " + a.dump() + " -> " + b.dump());
    }
    return out;
}

}  // namespace pfce
