#include "host/experiment/experiment_settings.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "host/train/config.hpp"

namespace pfce {
namespace {

// describe_labels (host/train/config_io.cpp) writes these into the labels column.
const std::set<std::string> kInLabelsColumn = {"labels.kind", "labels.points", "labels.radius",
                                               "labels.max_color_step", "labels.conflict"};

// The config an experiment ran with, as far as its recorded fingerprint says (the keys a result
// depends on; the rest stay at their defaults, which only decides what has an effect).
Config config_of(const nlohmann::json& fingerprint) {
    Config c;
    for (const auto& [key, value] : fingerprint.items()) {
        const ConfigKey* k = find_config_key(key);
        if (!k) continue;
        try {
            k->set(c, value);
        } catch (...) {
            // A value an older pfce recorded in another form: it only decides what has effect.
        }
    }
    return c;
}

}  // namespace

std::vector<std::vector<std::string>> distinguishing_settings(
    const std::vector<ExperimentResult>& results) {
    // Per experiment: its recorded settings that have an effect there, as compact JSON text.
    std::vector<std::map<std::string, std::string>> effective(results.size());
    std::set<std::string> keys;
    for (std::size_t i = 0; i < results.size(); ++i) {
        const nlohmann::json& fp = results[i].config;
        if (!fp.is_object()) continue;
        const std::vector<std::string> idle = keys_without_effect(config_of(fp));
        for (const auto& [key, value] : fp.items()) {
            if (kInLabelsColumn.count(key) ||
                std::find(idle.begin(), idle.end(), key) != idle.end())
                continue;
            effective[i][key] = value.dump();
            keys.insert(key);
        }
    }
    std::vector<std::vector<std::string>> out(results.size());
    for (const std::string& key : keys) {
        std::map<std::string, int> count;
        for (const auto& e : effective)
            if (auto it = e.find(key); it != e.end()) ++count[it->second];
        if (count.size() < 2) continue;  // one value wherever it has an effect
        int top = 0, at_top = 0;
        std::string mode;
        for (const auto& [value, n] : count) {
            if (n > top) {
                top = n;
                at_top = 1;
                mode = value;
            } else if (n == top) {
                ++at_top;
            }
        }
        for (std::size_t i = 0; i < results.size(); ++i)
            if (auto it = effective[i].find(key);
                it != effective[i].end() && (at_top > 1 || it->second != mode))
                out[i].push_back(key + " = " + it->second);
    }
    return out;
}

}  // namespace pfce
