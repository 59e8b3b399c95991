// One writer per output directory. Two pfce commands writing one directory at once (a suite run
// twice, `train --force` while the run still trains) would delete or mix each other's files; each
// writer holds an exclusive advisory lock on the directory itself (flock on its descriptor, so no
// lock file is left in a user's directory) while it writes.
#pragma once

#include <string>

namespace pfce {

// A held lock on a directory, released when destroyed (or when the process ends, however it
// ends). Empty when this process already held the directory's lock where it was taken (a suite
// writing its datasets, or a mask directory claimed twice on its way to being written): the outer
// holder releases it.
class DirLock {
  public:
    DirLock() = default;
    DirLock(DirLock&& other) noexcept;
    DirLock& operator=(DirLock&& other) noexcept;
    DirLock(const DirLock&) = delete;
    DirLock& operator=(const DirLock&) = delete;
    ~DirLock();

    bool owns() const { return fd_ >= 0; }

  private:
    friend DirLock lock_output_dir(const std::string& dir, const std::string& flag);
    friend DirLock lock_dir_for_reading(const std::string& dir, const std::string& flag);
    void release() noexcept;
    int fd_ = -1;
    std::string key_;      // the canonical path, in this process's registry while held
    bool shared_ = false;  // a reader's: key_ is in the registry of this process's readers
};

// Locks `dir` (which must exist) for as long as the returned DirLock lives. InputError naming
// `flag` and `dir` when another process holds the lock. Where the file system cannot lock (some
// network file systems), it goes on unlocked: the lock protects against a mistake, correct output
// does not need it. Empty, too, where this process reads `dir` itself (its shared lock would
// refuse its own writer as "another pfce command"): no other command writes it meanwhile, and
// writing what one reads is the command's own checks' to refuse.
[[nodiscard]] DirLock lock_output_dir(const std::string& dir, const std::string& flag = "--out");

// A shared lock on `dir` for reading what another pfce may replace (a mask directory that
// `sample --force` writes again while a run loads it would give the run some old and some new
// masks): readers share it, a writer waits for none of them but is refused while one reads, and a
// reader is refused while a writer writes (InputError naming `flag` and `dir`). Empty where this
// process writes `dir` itself, or where the file system cannot lock.
[[nodiscard]] DirLock lock_dir_for_reading(const std::string& dir, const std::string& flag);

// Whether another process holds a lock on `dir` now, a writer's or a reader's (false where this
// process writes it, where it cannot be opened or its file system cannot lock). A command that
// made a directory and failed removes it only when not: two trains started at once on a new --out
// both saw it missing, and the one refused its lock removed the other's run from under it.
bool locked_by_another_process(const std::string& dir);

}  // namespace pfce
