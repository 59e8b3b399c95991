// A checksum a JSON record pfce writes carries of itself (masks.json, a suite's result.json):
// commands go by what such a record says (how masks were made, what an experiment scored), so a
// hand edit made them say what the files are not. The checksum tells an edit; records of an older
// pfce have none and are read as before.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace pfce {

// The key a sealed record holds its checksum under.
inline constexpr const char* kRecordChecksumKey = "checksum";

// Adds the checksum of `record` (an object; every key but the checksum's) to it.
void seal_record(nlohmann::json& record);

// Whether `record` holds a checksum that its other keys no longer match (false without one).
bool record_edited(const nlohmann::json& record);

// The sentence an edited record's refusal says after its path: what the record was for (`used`,
// e.g. "train, link and eval go by how it says the masks were made") and the way out.
std::string edited_record_message(const std::string& used, const std::string& remedy);

}  // namespace pfce
