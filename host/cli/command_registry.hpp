// Subcommands register themselves here (one file per command, host/cli/cmd_*.cpp), so adding a
// command never edits main.cpp. Each registration adds a CLI11 subcommand and its callback.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "core/error.hpp"

namespace pfce::cli {

// pfce's exit statuses, as the README lists them: 0 done, 1 failed, 2 refused (bad input or a
// misused command line), 3 partly done (predict: some inputs could not be read,
// the others' predictions were written), 130 stopped by Ctrl-C / SIGTERM.
constexpr int kExitPartlyDone = 3;

// A command that did part of its work and failed the rest (predict: some inputs unreadable):
// main prints it as any error and exits kExitPartlyDone.
class PartlyDone : public Error {
    using Error::Error;
};

// `setup` adds options to `sub` and sets its callback; the callback throws on failure.
using CommandSetup = std::function<void(CLI::App& sub)>;

bool register_command(const std::string& name, const std::string& description, CommandSetup setup);
void install_commands(CLI::App& app);  // adds every registered command, sorted by name

}  // namespace pfce::cli
