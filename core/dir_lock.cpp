// lock_output_dir: flock on the directory's own descriptor, and this process's registry of the
// directories it holds (flock refuses a second descriptor of the same process too).
#include "core/dir_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <mutex>
#include <set>
#include <utility>

#include "core/error.hpp"

namespace pfce {
namespace fs = std::filesystem;
namespace {

std::mutex& registry_mutex() {
    static std::mutex m;
    return m;
}

std::set<std::string>& registry() {
    static std::set<std::string> held;
    return held;
}

// The directories this process holds shared locks on, once per lock.
std::multiset<std::string>& readers() {
    static std::multiset<std::string> held;
    return held;
}

}  // namespace

DirLock::DirLock(DirLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      key_(std::move(other.key_)),
      shared_(std::exchange(other.shared_, false)) {}

DirLock& DirLock::operator=(DirLock&& other) noexcept {
    if (this != &other) {
        release();
        fd_ = std::exchange(other.fd_, -1);
        key_ = std::move(other.key_);
        shared_ = std::exchange(other.shared_, false);
    }
    return *this;
}

DirLock::~DirLock() {
    release();
}

void DirLock::release() noexcept {
    if (fd_ < 0) return;
    if (!key_.empty()) {
        const std::lock_guard<std::mutex> guard(registry_mutex());
        if (shared_) {
            if (const auto it = readers().find(key_); it != readers().end()) readers().erase(it);
        } else {
            registry().erase(key_);
        }
    }
    ::close(fd_);  // releases the flock
    fd_ = -1;
}

namespace {

std::string registry_key(const std::string& dir) {
    std::error_code ec;
    const fs::path canonical = fs::canonical(dir, ec);
    return ec ? fs::absolute(dir).lexically_normal().string() : canonical.string();
}

// A descriptor of `dir` (its canonical `key`) holding flock `op`, or -1 where the directory cannot
// be opened (the caller's own checks name why) or its file system cannot lock (go on without).
// InputError naming `flag`, `dir` and `held_by` when another process holds a conflicting lock.
int open_locked(const std::string& key, int op, const std::string& flag, const std::string& dir,
                const char* held_by) {
    const int fd = ::open(key.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    // A few tries over about 50 ms: locked_by_another_process holds the lock for a moment to
    // probe it, which must not refuse a command that locks meanwhile.
    int err = 0;
    for (int attempt = 0; attempt < 5; ++attempt) {
        if (::flock(fd, op | LOCK_NB) == 0) return fd;
        err = errno;
        if (err != EWOULDBLOCK) break;
        ::usleep(10000);
    }
    ::close(fd);
    if (err == EWOULDBLOCK) PFCE_THROW(InputError, flag, " ", dir, held_by);
    return -1;
}

}  // namespace

DirLock lock_output_dir(const std::string& dir, const std::string& flag) {
    const std::string key = registry_key(dir);
    const std::lock_guard<std::mutex> guard(registry_mutex());
    if (registry().count(key)) return {};  // this process holds it already
    if (readers().count(key)) return {};   // this process reads it (see the header)
    DirLock lock;
    lock.fd_ = open_locked(key, LOCK_EX, flag, dir,
                           " is being written or read by another pfce command now (it holds the "
                           "directory's lock); wait until it has finished, or choose another "
                           "directory");
    if (lock.fd_ < 0) return lock;
    registry().insert(key);
    lock.key_ = key;
    return lock;
}

bool locked_by_another_process(const std::string& dir) {
    // (A directory another command made and has not locked yet reads as free: that window, from
    // its mkdir to its flock, is the rest of the race; the command's own lock then fails, and
    // it says so.)
    const std::string key = registry_key(dir);
    const std::lock_guard<std::mutex> guard(registry_mutex());
    if (registry().count(key)) return false;  // this process writes it
    const int fd = ::open(key.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    ::close(fd);  // releases the probe's lock where it got one
    return held;
}

DirLock lock_dir_for_reading(const std::string& dir, const std::string& flag) {
    const std::string key = registry_key(dir);
    const std::lock_guard<std::mutex> guard(registry_mutex());
    if (registry().count(key)) return {};  // this process writes it: nothing else does
    // Not registered: shared locks of one process on several descriptors coexist.
    DirLock lock;
    lock.fd_ = open_locked(key, LOCK_SH, flag, dir,
                           " is being written by another pfce command now (it holds the "
                           "directory's lock); wait until it has finished, then run this again");
    if (lock.fd_ < 0) return lock;
    readers().insert(key);
    lock.key_ = key;
    lock.shared_ = true;
    return lock;
}

}  // namespace pfce
