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

// An option of one value given twice takes the last, as the config-key flags do (checked_arguments
// says so): CLI11 refused it with "At Most 1 required but received 2".
void take_last_of_repeated(CLI::App& app) {
    for (CLI::Option* o : app.get_options())
        if (o->nonpositional() && o->get_expected_max() == 1 &&
            o->get_multi_option_policy() == CLI::MultiOptionPolicy::Throw)
            o->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    for (CLI::App* s : app.get_subcommands([](const CLI::App*) { return true; }))
        take_last_of_repeated(*s);
}

void install_commands(CLI::App& app) {
    for (auto& [name, entry] : registry()) {
        CLI::App* sub = app.add_subcommand(name, entry.description);
        entry.setup(*sub);
        take_last_of_repeated(*sub);
    }
}

}  // namespace pfce::cli
