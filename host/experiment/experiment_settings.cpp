#include "host/experiment/experiment_settings.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "host/experiment/suite.hpp"
#include "host/train/config.hpp"

namespace pfce {
namespace {

// describe_labels (host/train/config_io.cpp) writes these into the labels column.
const std::set<std::string> kInLabelsColumn = {"labels.kind", "labels.points", "labels.radius",
                                               "labels.max_color_step", "labels.conflict"};

}  // namespace

Config config_of_fingerprint(const nlohmann::json& fingerprint) {
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

std::vector<std::vector<std::string>> distinguishing_settings(
    const std::vector<ExperimentResult>& results) {
    // Per experiment: its recorded settings that have an effect there, as compact JSON text.
    std::vector<std::map<std::string, std::string>> effective(results.size());
    std::set<std::string> keys;
    for (std::size_t i = 0; i < results.size(); ++i) {
        const nlohmann::json& fp = results[i].config;
        if (!fp.is_object()) continue;
        const std::vector<std::string> idle = keys_without_effect(config_of_fingerprint(fp));
        for (const auto& [key, value] : fp.items()) {
            if (kInLabelsColumn.count(key) ||
                std::find(idle.begin(), idle.end(), key) != idle.end())
                continue;
            // A run of a suite with seeds: its seed is in its id (<id>-s<seed>), and every run
            // has one of its own, so the column would list it on every row.
            if (!results[i].group.empty() && (key == "run.seed" || key == "labels.seed")) continue;
            // The starting weights' checksum: model.init_from says which they are.
            if (key == kInitFromChecksumKey) continue;
            // A split list is fingerprinted by a hash of its ids: said as its own list, which a
            // reader can tell apart without the hash.
            const bool list = key.size() > 4 && key.compare(key.size() - 4, 4, " ids") == 0;
            effective[i][list ? key.substr(0, key.size() - 4) : key] =
                list ? "its own list (ids " + value.get<std::string>().substr(0, 8) + ")"
                     : value.dump();
            keys.insert(list ? key.substr(0, key.size() - 4) : key);
        }
    }
    std::vector<std::vector<std::string>> out(results.size());
    // A key some experiments lack (no split list; no data.root) is a value of its own there: one
    // experiment with a list among many without is told apart by it.
    const std::string kAbsent = "(none)";
    for (const std::string& key : keys) {
        std::map<std::string, int> count;
        for (std::size_t i = 0; i < results.size(); ++i)
            if (results[i].config.is_object()) {
                const auto it = effective[i].find(key);
                const bool idle = it == effective[i].end() && results[i].config.contains(key);
                if (!idle) ++count[it == effective[i].end() ? kAbsent : it->second];
            }
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
        for (std::size_t i = 0; i < results.size(); ++i) {
            if (!results[i].config.is_object()) continue;
            const auto it = effective[i].find(key);
            if (it == effective[i].end() && results[i].config.contains(key)) continue;  // idle
            const std::string& v = it == effective[i].end() ? kAbsent : it->second;
            if (at_top > 1 || v != mode) out[i].push_back(key + " = " + v);
        }
    }
    return out;
}

}  // namespace pfce
