// Where each config key of a run was set (a file, a suite's table, the command line), so that an
// error about a value names what holds it: not the file a flag overrode, nor an experiment file
// a shared setting was merged into.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "host/train/config.hpp"

namespace pfce {

using KeySources = std::map<std::string, std::string>;  // dotted key -> its source

// Records `source` for every key set in `root`'s section tables (the flat [train] table of older
// files by its legacy names); tables named in `others` are not config sections and are skipped.
void record_key_sources(const toml::table& root, const std::string& source,
                        const std::set<std::string>& others, KeySources& where);

// The sources of `keys` (each named once, in order, joined by " + "), or `fallback` when none
// was recorded.
std::string sources_of(const KeySources& where, const std::vector<std::string>& keys,
                       const std::string& fallback);

// sources_of as the callback validate() takes; `where` must outlive it.
ConfigKeySources key_sources(const KeySources& where, const std::string& fallback);

}  // namespace pfce
