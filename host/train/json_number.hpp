// NaN <-> null in JSON (JSON has no NaN): metrics that were not measured (no validation split, a
// failed experiment) are written as null and read back as NaN, in metrics.jsonl and results.json.
#pragma once

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

namespace pfce {

inline nlohmann::json json_number(double x) {
    return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json();
}

inline double number_from_json(const nlohmann::json& j) {
    return j.is_number() ? j.get<double>() : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace pfce
