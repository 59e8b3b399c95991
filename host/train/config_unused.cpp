// Settings given a value (other than their default) that the rest of the config leaves without
// effect: a dense run's point counts, a linking radius without linking, CRF settings with the CRF
// term off, another optimizer's or schedule's parameters. Not errors (a config may carry them for
// a later run), but a user who set one believed it did something: each is said once, at the start.
#include <functional>

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
        {{"loss.crf_radius", "loss.crf_sigma_xy", "loss.crf_sigma_rgb", "loss.crf_downsample"},
         [=](const Config& c) { return when(c.loss.crf_weight == 0, "loss.crf_weight = 0"); },
         "the CRF term is off"},
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

}  // namespace

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
    return out;
}

}  // namespace pfce
