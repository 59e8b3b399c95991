// What a command that writes a mask directory says when Ctrl-C / SIGTERM stops it (core/
// stop_signal): the writing was undone on the way out (data/mask_dir.hpp), so it names what the
// directory holds now and how to go on. Exits 130, as a stopped train or predict does.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

namespace pfce::cli {

[[noreturn]] inline void stopped_writing_masks(const std::string& dir) {
    std::fflush(stdout);
    std::fprintf(stderr,
                 "pfce: stopped (Ctrl-C / SIGTERM) before the masks of %s were complete: "
                 "complete masks it held are as they were, and a directory this command made "
                 "is removed; run the same command again to make them\n",
                 dir.c_str());
    throw CLI::RuntimeError(130);
}

}  // namespace pfce::cli
