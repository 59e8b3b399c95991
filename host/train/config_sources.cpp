#include "host/train/config_sources.hpp"

#include <algorithm>

namespace pfce {

void record_key_sources(const toml::table& root, const std::string& source,
                        const std::set<std::string>& others, KeySources& where) {
    for (const auto& [k, node] : root) {
        const std::string section(k.str());
        const toml::table* t = node.as_table();
        if (others.count(section) || !t) continue;
        for (const auto& [key, value] : *t) {
            (void)value;
            const std::string name(key.str());
            if (section != "train") {
                where[section + "." + name] = source;
                continue;
            }
            for (const ConfigKey& ck : config_keys())  // the flat [train] table of older files
                if (ck.legacy == name) where[ck.dotted()] = source;
        }
    }
}

std::string sources_of(const KeySources& where, const std::vector<std::string>& keys,
                       const std::string& fallback) {
    std::vector<std::string> names;
    for (const auto& k : keys) {
        const auto it = where.find(k);
        if (it != where.end() && std::find(names.begin(), names.end(), it->second) == names.end())
            names.push_back(it->second);
    }
    std::string out;
    for (const auto& n : names) {
        if (!out.empty()) out += " + ";
        out += n;
    }
    return out.empty() ? fallback : out;
}

ConfigKeySources key_sources(const KeySources& where, const std::string& fallback) {
    return [&where, fallback](const std::vector<std::string>& keys) {
        return sources_of(where, keys, fallback);
    };
}

}  // namespace pfce
