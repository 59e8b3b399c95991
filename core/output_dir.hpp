// The one rule for directories pfce fills (synthetic datasets, mask directories): pfce writes only
// into a new or empty directory, or into one that already holds its own output of the same kind.
// A marker file written first (.pfce-output, naming the kind) recognizes its own output even when
// it was interrupted before its completion file (synthetic.json, masks.json) was written last.
// A directory holding anything else is refused with or without --force: --force may replace
// pfce's own output, never a user's files.
#pragma once

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "core/dir_lock.hpp"

namespace pfce {

enum class OutputDirState {
    fresh,            // did not exist or was empty; now exists with the marker
    ours_incomplete,  // pfce's own, of this kind, interrupted before completion
    ours_complete,    // pfce's own, of this kind, complete (`completion_file` exists)
};

struct OutputDirClaim {
    OutputDirState state;
    DirLock lock;  // keep it while writing: another pfce writing the directory is refused
};

// Creates or checks `dir` for output of `kind` ("synthetic dataset", "masks"), whose completion
// file `completion_file` (a name inside dir) is written last. InputError naming the directory and
// what is in it when it holds anything else; InputError with the system's reason (permission
// denied, read-only file system) when it cannot be created. Temporaries that a killed pfce left
// (file_io.hpp remove_stale_temps) are removed from a directory that is pfce's own, and alone do
// not make a directory someone else's. The directory is locked (dir_lock.hpp) from before it is
// read for as long as the claim's lock is kept: another pfce writing it now is an InputError.
// `flag` names the option that chose the directory.
[[nodiscard]] OutputDirClaim claim_output_dir(const std::string& dir, const std::string& kind,
                                              const std::string& completion_file,
                                              const std::string& flag = "--out");

// The refusals of claim_output_dir without creating, locking or writing anything: a command checks
// a directory it will claim later, after claiming another, so that a refusal leaves no trace.
// Returns fresh for a directory that does not exist.
OutputDirState check_output_dir(const std::string& dir, const std::string& kind,
                                const std::string& completion_file,
                                const std::string& flag = "--out");

// The nearest directory above `path` (never `path` itself), as given or through links, that a
// pfce command filled as its output (a suite's OUT, a synthetic dataset: its .pfce-output marker),
// and the kind the marker names; both empty where there is none. A command that would write
// into one that is not its own refuses: the owner's next run (pfce run OUT, data synth --force)
// refuses the files it did not write, and its --force does not change that.
struct PfceOutputAbove {
    std::string dir, kind;
};
PfceOutputAbove pfce_output_above(const std::string& path);
// InputError when `out`, a directory a command fills with `what` ("its masks", "the run"), given
// as `given` ("--out X"), lies inside what another pfce command filled (pfce_output_above), --force
// or not.
void refuse_output_inside_pfce_output(const std::string& given, const std::string& out,
                                      const std::string& what);

// Why `dir` could not be created, after create_directories failed with `failure`: a symbolic link
// to nothing is said as such ("File exists" named neither the link nor its missing target).
std::string cannot_create_dir_reason(const std::string& dir, const std::error_code& failure);

// Directories a command made for a file it writes, removed again when it ends unless kept(): only
// those still empty (remove leaves any other), the deepest first. A command that fails or is
// stopped before writing leaves no empty directories behind.
class MadeDirectories {
  public:
    MadeDirectories() = default;
    MadeDirectories(const MadeDirectories&) = delete;
    MadeDirectories& operator=(const MadeDirectories&) = delete;
    ~MadeDirectories();
    // std::filesystem::create_directories(dir), remembering each level it makes.
    void create(const std::filesystem::path& dir, std::error_code& ec);
    void kept() { keep_ = true; }

  private:
    std::vector<std::filesystem::path> made_;
    bool keep_ = false;
};

// The marker's file name (".pfce-output").
const char* output_dir_marker_name();

// The kind of pfce output the marker in `dir` names ("synthetic dataset", "masks"), or "" when
// there is no marker. Reads only: readers use it to tell pfce's interrupted output from a user's
// directory (claim_output_dir writes the marker).
std::string output_dir_kind(const std::string& dir);

}  // namespace pfce
