// Files written so that a reader, or a crash, sees either the old file or the whole new one, never
// part of one (a temporary beside the target, flushed to disk, then renamed over it), and the
// checks that keep a command from replacing a file it did not make. Every writer in pfce goes
// through these, so a full disk fails one way everywhere: an error naming the file, the target
// untouched and no temporary left behind.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdio>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace pfce {

// A unique temporary name in the directory of `path` (rename is atomic only within a file system;
// pid + counter keep concurrent writers, threads or processes, apart). InputError for a name over
// kMaxNameWrittenAtomically bytes.
std::string temp_path_for(const std::string& path);
// The longest file name written through a temporary: 255 less ".", ".tmp", a PID of up to 7
// digits (Linux's pid_max is at most 4194304), "_" and a counter of up to 6.
inline constexpr std::size_t kMaxNameWrittenAtomically = 255 - (1 + 4 + 7 + 1 + 6);
// Whether `name` (a file name, no directory) is one temp_path_for makes: ".NAME.tmpPID_N". `pid`
// receives its PID.
bool is_temp_name(const std::string& name, long* pid = nullptr);
// Removes the temporaries of temp_path_for (".NAME.tmpPID_N") that a process no longer running
// left in `dir` (and below it when `recursive`): a writer killed mid-write (SIGKILL, power loss)
// cannot remove its own. Nothing else is touched: not a file of another name, not the temporary of
// a live process (kill(PID, 0) does not fail with ESRCH), not a directory. Returns how many.
std::size_t remove_stale_temps(const std::string& dir, bool recursive = false);
// The same in `dir` alone, for the temporaries whose target's name `mine` accepts (a run
// directory's: a user's own temporary-like file is not the command's to remove).
std::size_t remove_stale_temps_if(const std::string& dir,
                                  const std::function<bool(const std::string& name)>& mine);
// The same for the temporaries of one target file `path` only (".<its name>.tmpPID_N" beside it,
// and the temporary of one of those).
std::size_t remove_stale_temps_of(const std::string& path);
// The same for many targets, each directory listed once. `interrupted`, where given, receives each
// target (as listed in `paths`) that had a stale temporary: its writer was killed while writing
// it, or while putting it in place beside its companions.
std::size_t remove_stale_temps_of(const std::vector<std::string>& paths,
                                  std::set<std::string>* interrupted = nullptr);
// Flushes `tmp` to disk and renames it over `path`; removes `tmp` and throws SystemError on
// failure.
void commit_temp(const std::string& tmp, const std::string& path);

// The file a temporary of temp_path_for stands for, in its directory: ".NAME.tmpPID_N" -> "NAME",
// a temporary's temporary too; any other path as it is. What an error should name: the user's file.
std::string target_of_temp(const std::string& path);
// `message` with every `tmp` in it replaced by the file it stands for.
std::string naming_target(std::string message, const std::string& tmp);

// Why `path` names nothing to open, as a message's end: "does not exist", "is a symbolic link to
// T, which does not exist", "is a loop of symbolic links" or the system's reason; "" when it names
// something. (std::filesystem::exists says only false for a loop.)
std::string missing_reason(const std::string& path);

// Atomic write for writers that need a path (libtiff, libpng): calls write(tmp), then commits it.
// A throwing writer leaves no temporary behind; its SystemError names the file, not the temporary
// (a full disk said "writing .p.png.tmp25022_0 failed").
template <typename Fn>
void write_atomically(const std::string& path, Fn&& write) {
    const std::string tmp = temp_path_for(path);
    try {
        write(tmp);
    } catch (const SystemError& e) {
        std::remove(tmp.c_str());
        throw SystemError(naming_target(e.what(), tmp), __FILE__, __LINE__);
    } catch (...) {
        std::remove(tmp.c_str());
        throw;
    }
    commit_temp(tmp, path);
}

// Files that belong together (a predicted mask, its overlay and its confidence map), put in place
// together: stage(path) names the temporary to write each to (with any writer, itself atomic or
// not), and commit() renames them all into place once every one is written. Destroyed uncommitted
// (a writer failed: a full disk), it removes the temporaries and the old files stay as they were,
// never a new mask beside an old overlay.
class StagedFiles {
  public:
    StagedFiles() = default;
    StagedFiles(const StagedFiles&) = delete;
    StagedFiles& operator=(const StagedFiles&) = delete;
    ~StagedFiles();
    std::string stage(const std::string& path);
    // Flushes every temporary, then renames each to its file. `replace`: over a file there (kept
    // aside as a hard link until all are in); otherwise a file that appeared there since the caller
    // checked (another command writing the same name) is an InputError, never replaced. A failure
    // puts back what the earlier renames changed, so the files are all new or all as they were;
    // SystemError (InputError for such a file) naming the file.
    void commit(bool replace);
    // Removes `path` in the commit, after the renames (a file that no longer belongs with the new
    // ones, e.g. the old sidecar of a replaced image): a failure to remove it undoes the renames.
    void drop(const std::string& path) { dropped_.push_back(path); }

  private:
    std::vector<std::pair<std::string, std::string>> staged_;  // (path, its temporary)
    std::vector<std::string> dropped_;
};

// Writes `bytes` to `path` atomically; every write, the flush and the close are checked (ENOSPC,
// EFBIG, EIO become a SystemError naming the file), and the temporary is removed on failure. The
// directory is flushed after the rename, so the completion files written this way (masks.json,
// synthetic.json, checkpoints) survive a power loss once this returns.
void write_file_atomically(const std::string& path, std::string_view bytes);

// What a path names when it is no regular file: "a FIFO (named pipe)", "a socket", "a device";
// "" for a regular file, a directory, or nothing (those are each caller's to say).
std::string special_file_kind(const std::string& path);
// Why nothing may replace the file `path` (rename over it, unlink it) though its directory is
// writable, or (a directory) nothing in it: "immutable (chattr +i)" or "append-only (chattr +a)";
// "" when it may be, names nothing, a link or a special file, or its file system keeps no such
// attributes (Linux's inode flags).
inline constexpr const char* kImmutableAttribute = "immutable (chattr +i)";
inline constexpr const char* kAppendOnlyAttribute = "append-only (chattr +a)";
std::string unreplaceable_attribute(const std::string& path);

// InputError "PATH is a FIFO (named pipe), not a regular file: expected WHAT" where
// special_file_kind is not "". Opening a FIFO for reading waits for a writer: one left where pfce
// reads a file of its own (masks.json, a checkpoint) hung the command, and a SIGTERM could not end
// it.
void refuse_special_file(const std::string& path, const std::string& what);

// The whole file; InputError naming it when it cannot be opened or read. Only a regular file,
// unless `streams_too` (a --config given as /dev/stdin or <(...) is a pipe the user fills; a
// named pipe elsewhere, which waited for a writer for ever, is still refused).
std::string read_whole_file(const std::string& path, bool streams_too = false);

// Whether `path` names a stream the shell opened for pfce (/dev/stdin, /dev/fd/N of <(...),
// /proc/self/fd/N): read as such, never waited on for a writer that may not come.
bool is_open_stream_path(const std::string& path);
// refuse_special_file, except for such a stream.
void refuse_special_file_but_streams(const std::string& path, const std::string& what);

// Files by identity (device, inode): a path through any link or spelling is found in one lookup.
// (Comparing each output with every input was quadratic: a --force rerun into a directory of
// 3000 earlier predictions spent 100 s before its first image.)
class FileIdentities {
  public:
    FileIdentities() = default;
    explicit FileIdentities(const std::vector<std::string>& paths) {
        for (const std::string& p : paths) add(p);
    }
    void add(const std::string& path);  // a path that names nothing is left out
    // The path added for the file `path` names, or nullptr.
    const std::string* find(const std::string& path) const;

  private:
    std::map<std::pair<dev_t, ino_t>, std::string> ids_;
};

// Refuses (InputError naming the file and the flag) to write `path` when it exists and `force` is
// false, and always when it is one of `inputs` (the same file, through any path or link): a command
// never replaces its own input.
void check_output_file(const std::string& path, bool force, const FileIdentities& inputs,
                       const std::string& force_flag = "--force");
inline void check_output_file(const std::string& path, bool force,
                              const std::vector<std::string>& inputs,
                              const std::string& force_flag = "--force") {
    check_output_file(path, force, FileIdentities(inputs), force_flag);
}

// True when `path` (existing or not) lies inside directory `dir`, through any links.
bool path_is_inside(const std::string& path, const std::string& dir);

// `p` absolute, through any links, without a trailing slash: two spellings of one path compare
// equal (./D, D/, /abs/D). "" stays ""; a path that cannot be resolved is returned as given.
std::string resolved_path(const std::string& p);

}  // namespace pfce
