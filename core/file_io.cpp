// Atomic whole-file writes with every system call checked, and the output-file guard.
#include "core/file_io.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "core/error.hpp"

#ifdef __linux__
#include <linux/fs.h>  // FS_IOC_GETFLAGS, FS_IMMUTABLE_FL, FS_APPEND_FL
#endif

namespace pfce {
namespace fs = std::filesystem;

std::string temp_path_for(const std::string& path) {
    static std::atomic<unsigned> counter{0};
    const fs::path p(path);
    // A staged temporary written atomically (StagedFiles::stage's path given to write_png) gets a
    // temporary named after the file both stand for, not a temporary of a temporary: that was 20
    // bytes longer still, so names 11 bytes under the limit this check states were refused, by
    // a message that named the staged temporary.
    const fs::path target(target_of_temp(path));
    const std::string base = target.filename().string();
    std::string name = ".";
    name += base;
    name += ".tmp";
    name += std::to_string(::getpid());
    name += '_';
    name += std::to_string(counter.fetch_add(1));
    // A file name of up to 255 bytes is legal, but its temporary is some 20 bytes longer: said as
    // what it is (it failed as "cannot create .NAME.tmp...: File name too long"), against the
    // longest temporary any process makes, so the limit said does not move with the PID (a probe
    // was told 244 bytes, then refused at 244 by a process whose PID had one digit more).
    if (base.size() > kMaxNameWrittenAtomically && base.size() <= 255)
        PFCE_THROW(InputError, target.string(), ": its name is ", base.size(),
                   " bytes, and pfce writes it through a temporary named .NAME.tmpPID_N, up to ",
                   255 - kMaxNameWrittenAtomically,
                   " bytes longer, past the 255 a file name may have: expected a name of at most ",
                   kMaxNameWrittenAtomically, " bytes");
    return (p.parent_path() / name).string();
}

std::string missing_reason(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) return {};
    const int err = errno;
    if (err == ELOOP) return "is a loop of symbolic links";
    if (err != ENOENT) return std::string("cannot be reached: ") + std::strerror(err);
    std::error_code ec;
    if (fs::is_symlink(fs::symlink_status(path, ec))) {
        // Where it points from the link's own directory: a relative target read from the working
        // directory would name another place.
        fs::path target = fs::read_symlink(path, ec);
        if (target.is_relative())
            target = (fs::path(path).parent_path() / target).lexically_normal();
        return "is a symbolic link to " + target.string() + ", which does not exist";
    }
    return "does not exist";
}

std::string target_of_temp(const std::string& path) {
    fs::path p(path);
    std::string name = p.filename().string();
    while (is_temp_name(name)) name = name.substr(1, name.rfind(".tmp") - 1);
    return (p.parent_path() / name).string();
}

std::string naming_target(std::string message, const std::string& tmp) {
    const std::string target = target_of_temp(tmp);
    for (std::size_t at = message.find(tmp); at != std::string::npos;
         at = message.find(tmp, at + target.size()))
        message.replace(at, tmp.size(), target);
    return message;
}

bool is_temp_name(const std::string& name, long* pid) {
    const std::size_t tmp = name.rfind(".tmp");
    if (name.size() < 2 || name[0] != '.' || tmp == std::string::npos || tmp < 2) return false;
    const std::size_t under = name.find('_', tmp + 4);
    if (under == std::string::npos || under == tmp + 4 || under + 1 == name.size()) return false;
    auto digits = [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i)
            if (name[i] < '0' || name[i] > '9') return false;
        return e - b <= 18;
    };
    if (!digits(tmp + 4, under) || !digits(under + 1, name.size())) return false;
    if (pid) *pid = std::stol(name.substr(tmp + 4, under - tmp - 4));
    return true;
}

namespace {

// Seconds since the epoch at which process `pid` started, and whether it is a zombie (killed
// but not yet reaped by its parent: a shell that has not waited for it yet). Linux /proc only;
// false where it cannot be read.
bool process_start_and_state(long pid, double* start_s, bool* zombie) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return false;
    const std::size_t close = line.rfind(')');  // the command name may hold spaces and ')'
    if (close == std::string::npos) return false;
    std::istringstream rest(line.substr(close + 1));
    std::string field;
    char state = 0;
    rest >> state;
    // After the state come fields 4..21; field 22 is the start time in clock ticks since boot.
    for (int i = 4; i <= 21 && rest >> field;) ++i;
    unsigned long long ticks = 0;
    if (!(rest >> ticks)) return false;
    std::ifstream boot("/proc/stat");
    double btime = -1;
    for (std::string key; boot >> key;)
        if (key == "btime") {
            boot >> btime;
            break;
        }
    const long hz = ::sysconf(_SC_CLK_TCK);
    if (btime < 0 || hz <= 0) return false;
    *start_s = btime + static_cast<double>(ticks) / static_cast<double>(hz);
    *zombie = state == 'Z' || state == 'X';
    return true;
}

// A temporary whose writer is gone: its PID names no process (or not a valid one), a zombie,
// or a process started after the temporary was last written (the PID was reused).
bool is_stale_temp(const fs::directory_entry& e) {
    long pid = 0;
    std::error_code ec;
    if (!is_temp_name(e.path().filename().string(), &pid) || !e.is_regular_file(ec)) return false;
    if (pid <= 0 || pid > 0x7FFFFFFF) return true;
    if (pid == ::getpid()) return false;  // this process's own, being written
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return true;
    double start_s = 0;
    bool zombie = false;
    if (!process_start_and_state(pid, &start_s, &zombie)) return false;
    if (zombie) return true;
    struct stat st {};
    if (::stat(e.path().c_str(), &st) != 0) return false;
    // btime has whole seconds: a margin of 2 s keeps a writer that started just before. (A
    // --force commit's hard link to the file it replaces keeps that file's older mtime: another
    // command can take it for stale while the commit runs; two --force writers of one name
    // already replace each other's files, README says.)
    return start_s > static_cast<double>(st.st_mtime) + 2.0;
}

std::size_t remove_if_stale(const fs::directory_entry& e) {
    std::error_code ec;
    return is_stale_temp(e) && fs::remove(e.path(), ec) ? 1 : 0;
}

}  // namespace

std::size_t remove_stale_temps(const std::string& dir, bool recursive) {
    std::size_t n = 0;
    std::error_code ec;
    if (recursive) {
        for (auto it = fs::recursive_directory_iterator(dir, ec);
             !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
            n += remove_if_stale(*it);
    } else {
        for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
             it.increment(ec))
            n += remove_if_stale(*it);
    }
    return n;
}

std::size_t remove_stale_temps_if(const std::string& dir,
                                  const std::function<bool(const std::string& name)>& mine) {
    std::size_t n = 0;
    std::error_code ec;
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
         it.increment(ec))
        if (is_temp_name(it->path().filename().string()) &&
            mine(fs::path(target_of_temp(it->path().string())).filename().string()))
            n += remove_if_stale(*it);
    return n;
}

std::size_t remove_stale_temps_of(const std::vector<std::string>& paths,
                                  std::set<std::string>* interrupted) {
    // Each directory listed once, whatever the number of targets in it (listing it once per
    // target made a rerun of predict over thousands of images quadratic).
    std::map<fs::path, std::map<std::string, std::string>> targets;  // dir -> name -> path
    for (const std::string& path : paths) {
        const fs::path p(path);
        targets[p.parent_path().empty() ? fs::path(".") : p.parent_path()].emplace(
            p.filename().string(), path);
    }
    std::size_t n = 0;
    for (const auto& [parent, names] : targets) {
        std::error_code ec;
        for (auto it = fs::directory_iterator(parent, ec); !ec && it != fs::directory_iterator();
             it.increment(ec)) {
            // A target's temporary, or the temporary of one (StagedFiles' temporaries are written
            // atomically themselves): nothing else.
            const std::string name = it->path().filename().string();
            if (!is_temp_name(name)) continue;
            const std::string inner = name.substr(1, name.rfind(".tmp") - 1);
            const std::string target =
                is_temp_name(inner) ? inner.substr(1, inner.rfind(".tmp") - 1) : inner;
            const auto named = names.find(target);
            if (named == names.end() || is_temp_name(target)) continue;
            const std::size_t removed = remove_if_stale(*it);
            if (removed > 0 && interrupted) interrupted->insert(named->second);
            n += removed;
        }
    }
    return n;
}

std::size_t remove_stale_temps_of(const std::string& path) {
    return remove_stale_temps_of(std::vector<std::string>{path});
}

namespace {

// fsync before rename: after a crash the target is the old file or the complete new one.
void flush_file(const std::string& tmp, const std::string& path) {
    const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
        const int err = errno;
        if (fd >= 0) ::close(fd);
        PFCE_THROW(SystemError, "cannot write ", path, ": flushing ", tmp,
                   " failed: ", std::strerror(err));
    }
    ::close(fd);
}

}  // namespace

void commit_temp(const std::string& tmp, const std::string& path) {
    try {
        flush_file(tmp, path);
    } catch (...) {
        std::remove(tmp.c_str());
        throw;
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        std::remove(tmp.c_str());
        PFCE_THROW(SystemError, "cannot rename ", tmp, " to ", path, ": ", std::strerror(err));
    }
}

namespace {

// The rename itself is durable only once the directory is flushed: after a power loss, a completion
// file (masks.json, synthetic.json, a checkpoint) renamed but not flushed could be missing, or the
// old one. Best effort: some file systems refuse fsync on a directory, which changes nothing here.
void sync_parent_directory(const std::string& path) {
    const fs::path parent = fs::path(path).parent_path();
    const int fd =
        ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

}  // namespace

StagedFiles::~StagedFiles() {
    for (const auto& [path, tmp] : staged_) std::remove(tmp.c_str());
}

std::string StagedFiles::stage(const std::string& path) {
    staged_.emplace_back(path, temp_path_for(path));
    return staged_.back().second;
}

namespace {

// rename(from, to) unless `to` exists, atomically where the file system can (renameat2's
// RENAME_NOREPLACE; link + unlink, which refuses an existing name too, where it cannot). errno
// EEXIST when `to` exists.
int rename_no_replace(const std::string& from, const std::string& to) {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
    if (errno != EINVAL && errno != ENOSYS) return -1;
    if (::link(from.c_str(), to.c_str()) != 0) return -1;
    ::unlink(from.c_str());
    return 0;
}

}  // namespace

void StagedFiles::commit(bool replace) {
    std::vector<struct stat> written(staged_.size());  // each temporary's identity
    for (std::size_t k = 0; k < staged_.size(); ++k) {
        const auto& [path, tmp] = staged_[k];
        flush_file(tmp, path);
        if (::stat(tmp.c_str(), &written[k]) != 0)
            PFCE_THROW(SystemError, "cannot write ", path, ": ", tmp,
                       " is gone: ", std::strerror(errno));
    }
    struct Done {
        std::string path, aside;  // aside: the old file's hard link ("" when there was none)
        dev_t dev;
        ino_t ino;  // of the file renamed into place: undone only while it is still that one
    };
    std::vector<Done> done;
    auto undo = [&] {
        for (auto it = done.rbegin(); it != done.rend(); ++it) {
            struct stat now {};
            const bool ours = ::stat(it->path.c_str(), &now) == 0 && now.st_dev == it->dev &&
                              now.st_ino == it->ino;
            if (!ours) {  // another command has written it since: its file stays
                if (!it->aside.empty()) std::remove(it->aside.c_str());
            } else if (it->aside.empty()) {
                std::remove(it->path.c_str());
            } else {
                std::rename(it->aside.c_str(), it->path.c_str());
            }
        }
    };
    for (std::size_t k = 0; k < staged_.size(); ++k) {
        const auto& [path, tmp] = staged_[k];
        std::string aside;
        if (replace && ::access(path.c_str(), F_OK) == 0) {
            aside = temp_path_for(path);
            if (::link(path.c_str(), aside.c_str()) != 0) aside.clear();  // cannot keep it: go on
        }
        const int rc =
            replace ? std::rename(tmp.c_str(), path.c_str()) : rename_no_replace(tmp, path);
        if (rc != 0) {
            const int err = errno;
            if (!aside.empty()) std::remove(aside.c_str());
            undo();
            if (err == EEXIST)
                PFCE_THROW(InputError, path,
                           " appeared while it was being written (another command wrote it); "
                           "it is left as that command wrote it");
            PFCE_THROW(SystemError, "cannot rename ", tmp, " to ", path, ": ", std::strerror(err));
        }
        done.push_back({path, aside, written[k].st_dev, written[k].st_ino});
    }
    // Dropped files go last, each renamed aside (no copy, no hard link, which some file systems
    // lack) until all are gone, so a failure puts them and the renamed ones back.
    std::vector<std::pair<std::string, std::string>> removed;  // (path, where it was put aside)
    for (const std::string& path : dropped_) {
        const std::string aside = temp_path_for(path);
        if (std::rename(path.c_str(), aside.c_str()) != 0) {
            if (errno == ENOENT) continue;  // gone already
            const int err = errno;
            for (const auto& [p, a] : removed) std::rename(a.c_str(), p.c_str());
            undo();
            PFCE_THROW(SystemError, "cannot remove ", path, ": ", std::strerror(err));
        }
        removed.emplace_back(path, aside);
    }
    for (const auto& [p, a] : removed) std::remove(a.c_str());
    for (const Done& d : done)
        if (!d.aside.empty()) std::remove(d.aside.c_str());
    staged_.clear();
    dropped_.clear();
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
    // A staged temporary written this way (a report's documents) is named as the file it stands
    // for: "cannot write report.html", not ".report.html.tmp5691_62".
    const std::string named = target_of_temp(path);
    write_atomically(path, [&](const std::string& tmp) {
        const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
            PFCE_THROW(SystemError, "cannot write ", named, ": creating ", tmp,
                       " failed: ", std::strerror(errno));
        std::size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) {
                const int err = w < 0 ? errno : EIO;
                ::close(fd);
                PFCE_THROW(SystemError, "cannot write ", named, " (", bytes.size(),
                           " bytes): ", std::strerror(err));
            }
            done += static_cast<std::size_t>(w);
        }
        if (::close(fd) != 0)
            PFCE_THROW(SystemError, "cannot write ", named, ": ", std::strerror(errno));
    });
    sync_parent_directory(path);
}

std::string special_file_kind(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) return {};
    if (S_ISFIFO(st.st_mode)) return "a FIFO (named pipe)";
    if (S_ISSOCK(st.st_mode)) return "a socket";
    return "a device";
}

std::string unreplaceable_attribute(const std::string& path) {
#ifdef FS_IOC_GETFLAGS
    // O_NOFOLLOW: a link is replaced, not its target; O_NONBLOCK: a FIFO does not wait.
    // Only a regular file or a directory: a device's driver is not sent the ioctl (nor opened).
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) return {};
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return {};
    struct stat opened {};
    int flags = 0;  // the kernel reads and writes an int, whatever the macro's type says
    const bool got = ::fstat(fd, &opened) == 0 &&
                     (S_ISREG(opened.st_mode) || S_ISDIR(opened.st_mode)) &&
                     ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
    ::close(fd);
    if (!got) return {};  // a file system without the attributes (tmpfs, NFS)
    if (flags & FS_IMMUTABLE_FL) return kImmutableAttribute;
    if (flags & FS_APPEND_FL) return kAppendOnlyAttribute;
#else
    (void)path;
#endif
    return {};
}

void refuse_special_file(const std::string& path, const std::string& what) {
    const std::string kind = special_file_kind(path);
    if (!kind.empty())
        PFCE_THROW(InputError, path, " is ", kind, ", not a regular file: expected ", what);
}

bool is_open_stream_path(const std::string& path) {
    for (const char* prefix : {"/dev/fd/", "/proc/self/fd/", "/dev/stdin"})
        if (path.rfind(prefix, 0) == 0) return true;
    return false;
}

void refuse_special_file_but_streams(const std::string& path, const std::string& what) {
    if (!is_open_stream_path(path)) refuse_special_file(path, what);
}

std::string read_whole_file(const std::string& path, bool streams_too) {
    std::error_code ec;
    if (fs::is_directory(path, ec))
        PFCE_THROW(InputError, path, " is a directory (expected a file)");
    if (streams_too)
        refuse_special_file_but_streams(path,
                                        "a file (or a pipe the shell opened: /dev/stdin, <(...))");
    else
        refuse_special_file(path, "a file");
    std::ifstream in(path, std::ios::binary);
    if (!in) PFCE_THROW(InputError, "cannot open ", path, ": ", std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) PFCE_THROW(InputError, "cannot read ", path);
    return ss.str();
}

void FileIdentities::add(const std::string& path) {
    struct stat st {};
    if (!path.empty() && ::stat(path.c_str(), &st) == 0)
        ids_.emplace(std::pair{st.st_dev, st.st_ino}, path);
}

const std::string* FileIdentities::find(const std::string& path) const {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return nullptr;
    const auto it = ids_.find({st.st_dev, st.st_ino});
    return it == ids_.end() ? nullptr : &it->second;
}

void check_output_file(const std::string& path, bool force, const FileIdentities& inputs,
                       const std::string& force_flag) {
    std::error_code ec;
    // A directory that cannot take the file (read-only, immutable, not ours) is said now, naming
    // the output, not later as a temporary's name; a missing one is made by the command.
    const fs::path parent =
        fs::path(path).parent_path().empty() ? fs::path(".") : fs::path(path).parent_path();
    if (fs::is_directory(parent, ec) && ::access(parent.c_str(), W_OK) != 0)
        PFCE_THROW(InputError, "cannot write ", path, ": its directory ", parent.string(),
                   " is not writable (", std::strerror(errno), ")");
    // A directory nothing may be renamed or removed in (chattr +a; access() says nothing of it):
    // the temporary a file is written to could not become the file.
    if (const std::string attr = unreplaceable_attribute(parent.string()); !attr.empty())
        PFCE_THROW(InputError, "cannot write ", path, ": its directory ", parent.string(), " is ",
                   attr,
                   ", and a file is written to a temporary renamed into place; clear the "
                   "attribute (chattr -i / -a, as root) or choose another directory");
    // A link whose target is missing is still an entry of the user's: the write would replace it.
    if (fs::is_symlink(fs::symlink_status(path, ec)) && !fs::exists(path, ec)) {
        if (!force)
            PFCE_THROW(InputError, path, " is a link to nothing (",
                       fs::read_symlink(path, ec).string(), "); pass ", force_flag,
                       " to replace the link with the file");
        return;
    }
    if (!fs::exists(path, ec)) return;
    if (const std::string* in = inputs.find(path))
        PFCE_THROW(InputError, "refusing to write ", path, ": it is the input ", *in,
                   " (choose another output name)");
    if (fs::is_directory(path, ec))
        PFCE_THROW(InputError, "cannot write ", path, ": it is a directory");
    // A FIFO or a device is no earlier output: --force would rename a file over it (as root,
    // over /dev/null), so it is refused with or without.
    if (const std::string kind = special_file_kind(path); !kind.empty())
        PFCE_THROW(InputError, "cannot write ", path, ": it is ", kind, ", not a regular file (",
                   force_flag, " does not replace it); choose another output name");
    if (!force)
        PFCE_THROW(InputError, path, " already exists; pass ", force_flag, " to replace it");
    // Refused now, not when the file is written (after a whole image or epoch of work).
    if (const std::string attr = unreplaceable_attribute(path); !attr.empty())
        PFCE_THROW(InputError, "cannot replace ", path, ": it is ", attr,
                   "; clear the attribute (chattr -i / -a, as root) or choose another output name");
}

std::string resolved_path(const std::string& p) {
    if (p.empty()) return p;
    std::error_code ec;
    const auto r = std::filesystem::weakly_canonical(std::filesystem::absolute(p), ec);
    std::string s = ec ? p : r.string();
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s;
}

bool path_is_inside(const std::string& path, const std::string& dir) {
    std::error_code ec;
    const fs::path p = fs::weakly_canonical(fs::absolute(path), ec);
    if (ec) return false;
    const fs::path d = fs::weakly_canonical(fs::absolute(dir), ec);
    if (ec) return false;
    auto di = d.begin(), pi = p.begin();
    for (; di != d.end() && !di->empty(); ++di, ++pi)
        if (pi == p.end() || *pi != *di) return false;
    return true;
}

}  // namespace pfce
