// lock_output_dir: flock on the directory's own descriptor, held until exit.
#include "core/dir_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>

#include "core/error.hpp"

namespace pfce {
namespace fs = std::filesystem;

void lock_output_dir(const std::string& dir, const std::string& flag) {
    static std::mutex mutex;
    static std::set<std::string> held;  // canonical paths; their descriptors stay open until exit
    std::error_code ec;
    const fs::path canonical = fs::canonical(dir, ec);
    const std::string key = ec ? fs::absolute(dir).lexically_normal().string() : canonical.string();
    const std::lock_guard<std::mutex> guard(mutex);
    if (held.count(key)) return;  // flock conflicts between two descriptors of one process too
    const int fd = ::open(key.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;  // the caller's own checks name what is wrong with the directory
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        ::close(fd);
        if (err == EWOULDBLOCK)
            PFCE_THROW(InputError, flag, " ", dir,
                       " is being written by another pfce command now (it holds the directory's "
                       "lock); wait until it has finished, or choose another directory");
        return;  // no locks on this file system: go on without one
    }
    held.insert(key);
}

}  // namespace pfce
