// Which pfce made a file: the version and the commit of the sources it was built from, recorded in
// checkpoints and results and printed by --version, so a number in a paper can be traced to code.
#pragma once

#include <string>

namespace pfce {

// The commit of the sources at build time ("1a2b3c4d5e6f", with "-dirty" when they held
// uncommitted changes); "unknown" for a checkout git would not read; empty when they were not a
// git checkout of their own.
const char* source_commit();

// "0.1.0 (commit 1a2b3c4d5e6f)", or "0.1.0 (sources not under git)".
std::string pfce_version_text();

}  // namespace pfce
