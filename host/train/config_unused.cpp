// Settings given a value (other than their default) that the rest of the config leaves without
// effect: a dense run's point counts, a linking radius without linking, CRF settings with the CRF
// term off, another optimizer's or schedule's parameters. Not errors (a config may carry them for
// a later run), but a user who set one believed it did something: each is said once, at the start.
#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>

#include "core/kernels/crf.hpp"
#include "core/text.hpp"
#include "host/train/config.hpp"

namespace pfce {
namespace {

struct UnusedRule {
    std::vector<std::string> keys;
    // The setting under which these keys do nothing in `c` ("labels.kind = \"dense\""); "" where
    // they are used.
    std::function<std::string(const Config&)> unused_with;
    std::string purpose;  // what they are for
};

std::string quoted(const std::string& s) {
    return "\"" + s + "\"";
}

const std::vector<UnusedRule>& rules() {
    auto when = [](bool unused, const std::string& setting) { return unused ? setting : ""; };
    static const std::vector<UnusedRule> r = {
        {{"labels.points", "labels.scale_by_area", "labels.seed"},
         [=](const Config& c) {
             return when(c.labels.dir.empty() && c.labels.kind == "dense",
                         "labels.kind = \"dense\"");
         },
         "it trains on the dense masks; points are drawn for \"sparse\" and \"linked\""},
        {{"labels.radius", "labels.conflict", "labels.max_color_step"},
         [=](const Config& c) {
             return when(c.labels.dir.empty() && c.labels.kind != "linked",
                         "labels.kind = " + quoted(c.labels.kind));
         },
         "linking settings are for \"linked\""},
        {{"loss.crf_radius", "loss.crf_sigma_xy", "loss.crf_sigma_rgb", "loss.crf_downsample",
          "loss.crf_warmup"},
         [=](const Config& c) { return when(c.loss.crf_weight == 0, "loss.crf_weight = 0"); },
         "the CRF term is off"},
        {{"data.synthetic_count", "data.synthetic_size", "data.synthetic_seed"},
         [=](const Config& c) {
             return when(c.data.source != "synthetic", "data.source = " + quoted(c.data.source));
         },
         "it describes the embedded synthetic dataset, data.source = \"synthetic\""},
        {{"data.tile_patch", "data.tile_stride", "data.tile_image", "data.tile_labels"},
         [=](const Config& c) {
             return c.data.source == "synthetic"
                        ? "data.source = \"synthetic\""
                        : when(c.data.kind == "kaggle" || c.data.kind == "generic",
                               "data.kind = " + quoted(c.data.kind));
         },
         "it is for the original Potsdam tiles, data.kind = \"tiles\""},
        {{"loss.normalize"},
         [=](const Config& c) {
             return when(c.loss.alpha.empty() && !c.loss.alpha_auto, "no loss.alpha");
         },
         "without class weights every labelled pixel weighs 1, so the sum of alphas is the "
         "labelled count"},
        {{"optimizer.momentum"},
         [=](const Config& c) {
             return when(c.optimizer.name != "sgd", "optimizer.name = " + quoted(c.optimizer.name));
         },
         "momentum is sgd's; Adam's is beta1"},
        {{"optimizer.beta1", "optimizer.beta2", "optimizer.eps"},
         [=](const Config& c) {
             return when(c.optimizer.name == "sgd", "optimizer.name = \"sgd\"");
         },
         "it is for adam, adamw and adam_l2"},
        {{"schedule.step_size", "schedule.step_gamma"},
         [=](const Config& c) {
             return when(c.schedule.name != "step", "schedule.name = " + quoted(c.schedule.name));
         },
         "it is for \"step\""},
        {{"schedule.warmup_epochs"},
         [=](const Config& c) {
             return when(c.schedule.name != "cosine", "schedule.name = " + quoted(c.schedule.name));
         },
         "it is for \"cosine\""},
        {{"schedule.min_lr"},
         [=](const Config& c) {
             return when(c.schedule.name != "cosine" && c.schedule.name != "plateau",
                         "schedule.name = " + quoted(c.schedule.name));
         },
         "it is for \"cosine\" and \"plateau\""},
        {{"schedule.plateau_factor", "schedule.plateau_patience", "schedule.plateau_threshold",
          "schedule.plateau_cooldown", "schedule.plateau_metric"},
         [=](const Config& c) {
             return when(c.schedule.name != "plateau",
                         "schedule.name = " + quoted(c.schedule.name));
         },
         "it is for \"plateau\""},
    };
    return r;
}

// A step schedule whose first decay (after step_size epochs) comes after the last epoch.
bool step_schedule_never_steps(const Config& c) {
    return c.schedule.name == "step" && c.schedule.step_size >= c.run.epochs;
}

}  // namespace

std::string zero_colour_step_note(const std::string& name) {
    return name +
           " = 0 keeps only segments whose every pixel has exactly their endpoints' mean colour: "
           "on a photograph almost none, and linking adds next to nothing (expected a step of "
           "tens of 0-255 units, e.g. 40; -1 turns edge-aware linking off)";
}

std::string wide_colour_step_note(const std::string& name, double step) {
    return name + " = " + format_shortest(step) +
           " keeps every segment: no two 0-255 RGB colours are farther apart than 441.7 (255 "
           "sqrt 3), so edge-aware linking does nothing (expected a step of tens, e.g. 40; -1 "
           "turns it off)";
}

std::vector<std::string> keys_without_effect(const Config& c) {
    std::vector<std::string> out;
    for (const UnusedRule& rule : rules())
        if (!rule.unused_with(c).empty()) out.insert(out.end(), rule.keys.begin(), rule.keys.end());
    return out;
}

std::vector<UnusedSetting> unused_settings(const Config& c) {
    static const Config defaults;
    std::vector<UnusedSetting> out;
    for (const UnusedRule& rule : rules()) {
        const std::string setting = rule.unused_with(c);
        if (setting.empty()) continue;
        for (const std::string& key : rule.keys) {
            const ConfigKey* k = find_config_key(key);
            if (k->get(c) == k->get(defaults)) continue;
            out.push_back({key, key + " = " + k->get(c).dump() + " has no effect with " + setting +
                                    " (" + rule.purpose + ")"});
        }
    }
    // A step schedule whose first step comes after the last epoch never lowers the lr.
    if (step_schedule_never_steps(c))
        out.push_back({"schedule.step_size",
                       "schedule.name = \"step\" never lowers the lr: schedule.step_size = " +
                           std::to_string(c.schedule.step_size) +
                           " epochs is not below run.epochs = " + std::to_string(c.run.epochs) +
                           " (the lr is optimizer.lr throughout)"});
    // Linking within 0 pixels joins no two points: "linked" trains on the sparse points as sampled.
    if (c.labels.kind == "linked" && c.labels.dir.empty() && c.labels.radius == 0)
        out.push_back({"labels.radius",
                       "labels.radius = 0 links no two points: labels.kind = \"linked\" trains on "
                       "the sparse points as they are (expected a radius of a few pixels or "
                       "more, e.g. 20)"});
    // A colour step of 0 keeps only segments of one exact colour: on a photograph almost none
    // (the probe's run linked 3.304% -> 3.305% of pixels without a word).
    if (c.labels.kind == "linked" && c.labels.dir.empty() && c.labels.max_color_step == 0)
        out.push_back({"labels.max_color_step", zero_colour_step_note("labels.max_color_step")});
    if (c.labels.kind == "linked" && c.labels.dir.empty() &&
        c.labels.max_color_step >= kWidestColourStep)
        out.push_back({"labels.max_color_step",
                       wide_colour_step_note("labels.max_color_step", c.labels.max_color_step)});
    // The CRF term's nearest neighbours are one cell (crf_downsample px) away: a sigma_xy far
    // below that weighs every pair by about 0, and the term vanishes (sigma_xy 0.01 px trained
    // exactly as without it, its curve at 0.0000).
    if (c.loss.crf_weight > 0) {
        const double cell = c.loss.crf_downsample;
        const double nearest =
            std::exp(-cell * cell / (2 * c.loss.crf_sigma_xy * c.loss.crf_sigma_xy));
        if (nearest < 1e-3) {
            std::ostringstream os;
            os << "loss.crf_sigma_xy = " << c.loss.crf_sigma_xy
               << " px makes the CRF term vanish: the nearest neighbours, one cell of "
               << c.loss.crf_downsample << " px away (loss.crf_downsample), weigh exp(-"
               << format_fixed(cell * cell / (2 * c.loss.crf_sigma_xy * c.loss.crf_sigma_xy), 0)
               << ") = " << nearest << " (expected sigma_xy of at least "
               << format_fixed(0.27 * cell, 2) << " px, about a cell or more)";
            out.push_back({"loss.crf_sigma_xy", os.str()});
        }
    }
    // A training crop of one cell has no neighbours to compare: the term is 0 in every step (a
    // probe's crop of 16 with crf_downsample 16 trained with "crf 0.0000" and not a word).
    if (c.loss.crf_weight > 0 && c.data.crop_size > 0 &&
        kernels::crf_cells(c.data.crop_size, c.loss.crf_downsample) < 2)
        out.push_back({"loss.crf_downsample",
                       "loss.crf_downsample = " + std::to_string(c.loss.crf_downsample) +
                           " makes each training crop of data.crop_size = " +
                           std::to_string(c.data.crop_size) +
                           " px one cell, which has no neighbour: the CRF term is 0 throughout "
                           "(expected a cell of at most half the crop, e.g. crf_downsample = " +
                           std::to_string(std::max(1, c.data.crop_size / 4)) + ")"});
    // A CRF ramp longer than the run never reaches the weight asked for (the probe's warmup of
    // 100 epochs over a 2-epoch run kept the term at 2% of it).
    if (c.loss.crf_weight > 0 && c.loss.crf_warmup > c.run.epochs)
        out.push_back({"loss.crf_warmup",
                       "loss.crf_warmup = " + std::to_string(c.loss.crf_warmup) +
                           " epochs is longer than run.epochs = " + std::to_string(c.run.epochs) +
                           ": the CRF term ends at " +
                           format_fixed(100.0 * c.run.epochs / c.loss.crf_warmup, 0) +
                           "% of loss.crf_weight, never at the weight given (expected a ramp of "
                           "fewer epochs than the run)"});
    // A warmup as long as the run leaves a decaying schedule nothing to decay.
    if (c.schedule.name == "cosine" && c.schedule.warmup_epochs > 0 &&
        c.schedule.warmup_epochs >= c.run.epochs) {
        std::ostringstream os;
        os << "schedule.warmup_epochs = " << c.schedule.warmup_epochs
           << " is the whole run (run.epochs = " << c.run.epochs
           << "): schedule.name = \"cosine\" never acts, the lr only warms up";
        out.push_back({"schedule.warmup_epochs", os.str()});
    }
    // A plateau schedule lowers the lr after more than plateau_patience epochs without
    // improvement on the first (which sets the best): at the end of epoch patience + 2 at the
    // earliest, for the epochs after it.
    if (c.schedule.name == "plateau" && c.schedule.plateau_patience + 3 > c.run.epochs)
        out.push_back({"schedule.plateau_patience",
                       "schedule.name = \"plateau\" cannot lower the lr: with "
                       "schedule.plateau_patience = " +
                           std::to_string(c.schedule.plateau_patience) +
                           " the first decay can follow epoch " +
                           std::to_string(c.schedule.plateau_patience + 2) +
                           ", and run.epochs = " + std::to_string(c.run.epochs) +
                           " has no epoch after it (the lr is optimizer.lr throughout)"});
    // A plateau schedule whose first reduction already takes the lr below kMinLr, with no
    // schedule.min_lr to stop it (the probe's factor 1e-300 trained at lr 1e-303 without a word).
    if (c.schedule.name == "plateau" && c.schedule.plateau_patience + 3 <= c.run.epochs &&
        c.schedule.min_lr < kMinLr && c.optimizer.lr * c.schedule.plateau_factor < kMinLr) {
        std::ostringstream os;
        os << "schedule.plateau_factor = " << c.schedule.plateau_factor << " takes the lr to "
           << c.optimizer.lr * c.schedule.plateau_factor
           << " at its first reduction (optimizer.lr x plateau_factor): below " << kMinLr
           << ", the epochs after it train nothing (expected a factor such as 0.5, or a "
              "schedule.min_lr of at least "
           << kMinLr << ")";
        out.push_back({"schedule.plateau_factor", os.str()});
    }
    // A step schedule that decays the lr below kMinLr (where validate refuses a starting lr: no
    // step moves a float weight) leaves the epochs after that without effect.
    const ScheduleSettings& s = c.schedule;
    if (s.name == "step" && s.step_size >= 1 && s.step_gamma > 0 && s.step_gamma < 1) {
        for (int epoch = 0; epoch < c.run.epochs; epoch += s.step_size) {
            const double lr = c.optimizer.lr * std::pow(s.step_gamma, epoch / s.step_size);
            if (lr >= kMinLr) continue;
            std::ostringstream os;
            os << "schedule.step_gamma = " << s.step_gamma << " takes the lr to " << lr
               << " from epoch " << epoch + 1 << " of " << c.run.epochs
               << " (optimizer.lr x step_gamma every schedule.step_size = " << s.step_size
               << " epochs): below " << kMinLr << ", those epochs train nothing";
            out.push_back({"schedule.step_gamma", os.str()});
            break;
        }
    }
    return out;
}

}  // namespace pfce
