// Validators shared by the subcommands' options, so a value CLI11 would silently wrap or accept
// (a negative seed parsed into an unsigned 64-bit integer) is refused with the option named.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace pfce::cli {

// Digits only: "0" .. "18446744073709551615". CLI11 parses "-1" into a uint64 as 2^64-1.
inline const CLI::Validator& non_negative_integer() {
    static const CLI::Validator v(
        [](std::string& s) -> std::string {
            if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos)
                return "expected a non-negative integer, got \"" + s + "\"";
            return {};
        },
        "UINT");
    return v;
}

}  // namespace pfce::cli
