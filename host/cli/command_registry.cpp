// Registry of subcommands, filled by static initializers in cmd_*.cpp (compiled into the
// executable itself, so the linker keeps them).
#include "host/cli/command_registry.hpp"

#include <map>

namespace pfce::cli {

namespace {
struct Entry {
    std::string description;
    CommandSetup setup;
};
std::map<std::string, Entry>& registry() {
    static std::map<std::string, Entry> r;
    return r;
}
}  // namespace

bool register_command(const std::string& name, const std::string& description, CommandSetup setup) {
    registry()[name] = Entry{description, std::move(setup)};
    return true;
}

void install_commands(CLI::App& app) {
    for (auto& [name, entry] : registry()) {
        CLI::App* sub = app.add_subcommand(name, entry.description);
        entry.setup(*sub);
    }
}

}  // namespace pfce::cli
