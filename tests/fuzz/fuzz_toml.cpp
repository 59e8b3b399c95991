// Fuzz target for the TOML readers: config files (every section through the key table, then
// validation) and suite files (with inline experiment tables).
#include <cstdint>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "core/error.hpp"
#include "host/experiment/suite.hpp"
#include "host/train/config.hpp"
#include "tests/fuzz/fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const toml::table root = toml::parse(std::string_view(text), std::string_view("fuzz.toml"));
        pfce::Config c;
        pfce::apply_toml_sections(c, root, "fuzz.toml", {});
        pfce::validate(c, "fuzz.toml");
        (void)pfce::to_toml_text(c);
        (void)pfce::config_from_json(pfce::to_json(c), "fuzz json");
    } catch (const toml::parse_error&) {
    } catch (const pfce::Error&) {
    }
    try {
        (void)pfce::parse_suite(text, "/nonexistent/fuzz-suite.toml");
    } catch (const pfce::Error&) {
    }
    return 0;
}

std::vector<std::string> fuzz_seeds() {
    return {
        pfce::to_toml_text(pfce::Config{}),
        "[train]\nlr = 0.01\nfocal_alpha = [1, 2.5]\nseed = 3\n",
        "[suite]\nname = \"s\"\nexperiments = [{ id = \"a\", labels = { kind = \"sparse\", "
        "points = [5, 6] }, run = { epochs = 2 } }]\n[data]\nsource = \"synthetic\"\n"
        "[override.optimizer]\nlr = 0.5\n",
        // A suite with seeds: each experiment once per seed, ids <id>-s<seed>.
        "[suite]\nseeds = [0, 7]\nexperiments = [{ id = \"a\" }, { id = \"b\", labels = { "
        "kind = \"dense\" } }]\n[data]\nsource = \"synthetic\"\n",
    };
}
