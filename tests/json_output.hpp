// The JSON object a pfce command printed after its log lines (`--json` to stdout, captured with
// stderr by test::run_pfce): kept out of test_util.hpp so only the tests that read one compile
// nlohmann/json.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace pfce::test {

// From the output's first '{' to its end, parsed. Where there is no '{' or it does not parse, a
// test failure quoting the output and an empty object (so the caller's checks fail by name, not
// with an out_of_range thrown from substr).
inline nlohmann::json json_in_output(const std::string& output) {
    const std::size_t start = output.find('{');
    if (start == std::string::npos) {
        ADD_FAILURE() << "no JSON object in the output:\n" << output;
        return nlohmann::json::object();
    }
    try {
        return nlohmann::json::parse(output.substr(start));
    } catch (const nlohmann::json::exception& e) {
        ADD_FAILURE() << "the output's JSON does not parse (" << e.what() << "):\n" << output;
        return nlohmann::json::object();
    }
}

}  // namespace pfce::test
