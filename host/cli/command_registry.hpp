// Subcommands register themselves here (one file per command, host/cli/cmd_*.cpp), so adding a
// command never edits main.cpp. Each registration adds a CLI11 subcommand and its callback.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace pfce::cli {

// `setup` adds options to `sub` and sets its callback; the callback throws on failure.
using CommandSetup = std::function<void(CLI::App& sub)>;

bool register_command(const std::string& name, const std::string& description, CommandSetup setup);
void install_commands(CLI::App& app);  // adds every registered command, sorted by name

}  // namespace pfce::cli
