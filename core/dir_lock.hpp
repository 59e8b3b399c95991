// One writer per output directory. Two pfce commands writing one directory at once (a suite run
// twice, `train --force` while the run still trains) would delete or mix each other's files; each
// writer holds an exclusive advisory lock on the directory itself (flock on its descriptor, so no
// lock file is left in a user's directory) until the process exits.
#pragma once

#include <string>

namespace pfce {

// Locks `dir` (which must exist) for the rest of this process; a second call for the same
// directory in this process does nothing. InputError naming `flag` and `dir` when another process
// holds the lock. Where the file system cannot lock (some network file systems), it goes on
// unlocked: the lock protects against a mistake, it is not needed for correct output.
void lock_output_dir(const std::string& dir, const std::string& flag = "--out");

}  // namespace pfce
