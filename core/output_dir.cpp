// claim_output_dir: the marker check that keeps pfce's writers out of directories they do not own.
#include "core/output_dir.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/file_io.hpp"

namespace pfce {
namespace fs = std::filesystem;
namespace {

constexpr const char* kMarker = ".pfce-output";

std::string read_marker(const fs::path& p) {
    if (!special_file_kind(p.string()).empty()) return {};  // no marker pfce wrote; never waits
    std::ifstream in(p);
    std::string kind;
    std::getline(in, kind);
    return kind;
}

std::vector<std::string> listed_entries(const fs::path& d, const std::string& dir) {
    std::error_code ec;
    std::vector<std::string> entries;
    for (const auto& e : fs::directory_iterator(d, ec)) {
        const std::string name = e.path().filename();
        if (!is_temp_name(name)) entries.push_back(name);  // a temporary says nothing of the owner
    }
    if (ec) PFCE_THROW(InputError, "cannot list ", dir, ": ", ec.message());
    return entries;
}

// A kind of output as one directory of it is named: "a mask directory", "a run of suite "x"", "a
// synthetic dataset" (messages said "not a masks", "the output of run of suite").
std::string one_of_kind(const std::string& kind) {
    return kind == "masks" ? std::string("a mask directory") : "a " + kind;
}

// What the existing directory `dir` holds for output of `kind`: InputError for anything else.
// Without the marker, ours_complete means a completion file from before the marker, and fresh an
// empty directory (temporaries aside).
OutputDirState classify(const std::string& dir, const std::string& kind,
                        const std::string& completion_file, const std::string& flag) {
    std::error_code ec;
    const fs::path d(dir);
    const std::vector<std::string> entries = listed_entries(d, dir);
    const bool complete = fs::exists(d / completion_file, ec);
    if (fs::exists(d / kMarker, ec)) {
        const std::string have = read_marker(d / kMarker);
        // An empty marker (cut short, or emptied) names no kind: said as such, not "pfce's , ".
        if (have.empty())
            PFCE_THROW(InputError, flag, " ", dir, " holds an empty ", kMarker,
                       " (pfce's marker of what it wrote there, damaged): not ", one_of_kind(kind),
                       " it can tell is its own; choose another directory, or remove it");
        if (have != kind)
            PFCE_THROW(InputError, flag, " ", dir, " holds pfce's ", have, ", not ",
                       one_of_kind(kind), "; choose another directory");
        return complete ? OutputDirState::ours_complete : OutputDirState::ours_incomplete;
    }
    if (complete) return OutputDirState::ours_complete;
    if (!entries.empty()) {
        std::string some;
        for (std::size_t i = 0; i < entries.size() && i < 3; ++i)
            some += (i ? ", " : "") + entries[i];
        // Another command's output is named as such: a run's own files were said as "files pfce
        // did not write" (probe).
        const bool run = std::any_of(entries.begin(), entries.end(), [](const std::string& e) {
            return e == "last.ckpt" || e == "best.ckpt" || e == "metrics.jsonl";
        });
        PFCE_THROW(InputError, flag, " ", dir, " already holds other files than pfce's ", kind,
                   " (", some, entries.size() > 3 ? ", ..." : "", "; ", entries.size(),
                   entries.size() == 1 ? " entry" : " entries",
                   run ? "; a training run's directory" : "", "). pfce writes its ", kind,
                   " only into a new or empty directory or one holding its own ", kind, " (",
                   completion_file, "); choose another directory. --force does not change this.");
    }
    return OutputDirState::fresh;
}

}  // namespace

OutputDirState check_output_dir(const std::string& dir, const std::string& kind,
                                const std::string& completion_file, const std::string& flag) {
    std::error_code ec;
    if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
        PFCE_THROW(InputError, flag, " ", dir, " is a file, not a directory");
    if (!fs::exists(dir, ec)) return OutputDirState::fresh;
    return classify(dir, kind, completion_file, flag);
}

std::string output_dir_kind(const std::string& dir) {
    std::error_code ec;
    const fs::path marker = fs::path(dir) / kMarker;
    return fs::is_regular_file(marker, ec) ? read_marker(marker) : std::string();
}

MadeDirectories::~MadeDirectories() {
    std::error_code ec;
    if (keep_) return;
    std::vector<fs::path> held;  // in another command's use, with the directories above them
    for (auto it = made_.rbegin(); it != made_.rend(); ++it) {
        const bool above_held = std::any_of(held.begin(), held.end(), [&](const fs::path& h) {
            const std::string a = it->string(), b = h.string();
            return b.size() > a.size() && b.compare(0, a.size(), a) == 0 && b[a.size()] == '/';
        });
        if (above_held) continue;
        // Made by another command at the same moment too, and in its use now: left (removing it,
        // still empty, pulled it from under that command). A probe that fails leaves it too: a
        // destructor must not throw.
        bool in_use = true;
        try {
            in_use = locked_by_another_process(it->string());
        } catch (...) {
        }
        if (in_use) {
            held.push_back(*it);
            continue;
        }
        fs::remove(*it, ec);
    }
}

void MadeDirectories::create(const fs::path& dir, std::error_code& ec) {
    std::vector<fs::path> missing;
    for (fs::path p = dir; !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
        missing.push_back(p);
        if (p == p.parent_path()) break;
    }
    fs::create_directories(dir, ec);
    // Never the throwing overloads: a path this user cannot search (a parent without x for it)
    // is a reason for the caller to say, not "filesystem error: status: Permission denied".
    std::error_code status;
    for (auto it = missing.rbegin(); it != missing.rend(); ++it)
        if (fs::is_directory(*it, status)) made_.push_back(*it);
}

PfceOutputAbove pfce_output_above(const std::string& path) {
    std::error_code ec;
    // "runs/s/" and "." name the directory itself: lexically_normal keeps the trailing slash, whose
    // parent_path is the directory, not the one above (a rerun into runs/s/ found its own marker).
    auto itself = [](fs::path p) {
        while (!p.empty() && p.filename().empty() && p != p.parent_path()) p = p.parent_path();
        return p;
    };
    const fs::path given = itself(fs::absolute(path, ec).lexically_normal());
    for (const fs::path& start : {given, itself(fs::weakly_canonical(given, ec))})
        for (fs::path p = start.parent_path(); !p.empty(); p = p.parent_path()) {
            if (fs::is_regular_file(p / kMarker, ec)) return {p.string(), read_marker(p / kMarker)};
            if (p == p.parent_path()) break;
        }
    return {};
}

void refuse_output_inside_pfce_output(const std::string& given, const std::string& out,
                                      const std::string& what) {
    if (const PfceOutputAbove above = pfce_output_above(out); !above.dir.empty())
        PFCE_THROW(InputError, given, " lies inside ", above.dir, ", ",
                   above.kind.empty() ? std::string("another pfce command's output")
                                      : one_of_kind(above.kind) + " that pfce wrote",
                   ", which that command's next run would refuse as files it did not write; "
                   "write ",
                   what, " elsewhere (--force does not change this)");
}

std::string cannot_create_dir_reason(const std::string& dir, const std::error_code& failure) {
    // A loop, or a link to nothing, at the directory itself or above it: create_directories
    // says only "File exists" for a link to nothing on the way.
    fs::path target = fs::path(dir).lexically_normal();
    if (!target.has_filename()) target = target.parent_path();  // "link/" is the link
    for (fs::path p = target; !p.empty(); p = p.parent_path()) {
        std::error_code ec;
        if (fs::is_symlink(fs::symlink_status(p, ec)))
            if (const std::string why = missing_reason(p.string()); !why.empty())
                return (p == target ? "it " : p.string() + ", on its path, ") + why +
                       ": mend the link, or choose another path";
        if (p == p.parent_path()) break;
    }
    return "cannot create this directory: " + failure.message();
}

const char* output_dir_marker_name() {
    return kMarker;
}

OutputDirClaim claim_output_dir(const std::string& dir, const std::string& kind,
                                const std::string& completion_file, const std::string& flag) {
    std::error_code ec;
    const fs::path d(dir);
    const fs::path marker = d / kMarker;
    if (fs::exists(d, ec) && !fs::is_directory(d, ec))
        PFCE_THROW(InputError, flag, " ", dir, " is a file, not a directory");
    // The directories made here go again if the claim fails (a full disk at the marker, a name
    // too long for it): it left them empty before.
    MadeDirectories made_dirs;
    if (!fs::exists(d, ec)) {
        std::error_code made;  // the reason create_directories failed, not a later call's
        made_dirs.create(d, made);
        if (!fs::is_directory(d, ec))
            PFCE_THROW(InputError, flag, " ", dir, ": ",
                       cannot_create_dir_reason(dir, made ? made : ec));
    }
    // A directory pfce may not write into (a read-only file system, no permission) is a bad
    // --out, refused as one (status 2) as a directory it cannot create is: it failed at its first
    // file as "creating .../.pfce-output failed" (status 1), or later still where it was pfce's.
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
        const int err = errno;
        PFCE_THROW(InputError, flag, " ", dir, ": cannot write into it (", std::strerror(err),
                   "): choose a directory you can write");
    }
    DirLock lock = lock_output_dir(dir, flag);  // before reading: another writer may be at work
    const bool had_marker = fs::exists(marker, ec);
    const OutputDirState state = classify(dir, kind, completion_file, flag);
    if (had_marker) {
        remove_stale_temps(dir, true);  // left by an earlier writer that was killed
        made_dirs.kept();
        return {state, std::move(lock)};
    }
    if (state == OutputDirState::ours_complete) {
        // made by a pfce from before the marker: its completion file says it is ours
        write_file_atomically(marker.string(), kind + "\n");
        remove_stale_temps(dir, true);
        made_dirs.kept();
        return {OutputDirState::ours_complete, std::move(lock)};
    }
    remove_stale_temps(dir);  // only temporaries: a killed writer's (its marker's)
    write_file_atomically(marker.string(), kind + "\n");
    made_dirs.kept();
    return {OutputDirState::fresh, std::move(lock)};
}

}  // namespace pfce
