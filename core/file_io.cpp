// Atomic whole-file writes with every system call checked, and the output-file guard.
#include "core/file_io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"

namespace pfce {
namespace fs = std::filesystem;

std::string temp_path_for(const std::string& path) {
    static std::atomic<unsigned> counter{0};
    const fs::path p(path);
    std::string name = ".";
    name += p.filename().string();
    name += ".tmp";
    name += std::to_string(::getpid());
    name += '_';
    name += std::to_string(counter.fetch_add(1));
    return (p.parent_path() / name).string();
}

void commit_temp(const std::string& tmp, const std::string& path) {
    // fsync before rename: after a crash the target is the old file or the complete new one.
    const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
        const int err = errno;
        if (fd >= 0) ::close(fd);
        std::remove(tmp.c_str());
        PFCE_THROW(SystemError, "cannot write ", path, ": flushing ", tmp,
                   " failed: ", std::strerror(err));
    }
    ::close(fd);
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        std::remove(tmp.c_str());
        PFCE_THROW(SystemError, "cannot rename ", tmp, " to ", path, ": ", std::strerror(err));
    }
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
    write_atomically(path, [&](const std::string& tmp) {
        const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
            PFCE_THROW(SystemError, "cannot write ", path, ": creating ", tmp,
                       " failed: ", std::strerror(errno));
        std::size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) {
                const int err = w < 0 ? errno : EIO;
                ::close(fd);
                PFCE_THROW(SystemError, "cannot write ", path, " (", bytes.size(),
                           " bytes): ", std::strerror(err));
            }
            done += static_cast<std::size_t>(w);
        }
        if (::close(fd) != 0)
            PFCE_THROW(SystemError, "cannot write ", path, ": ", std::strerror(errno));
    });
}

std::string read_whole_file(const std::string& path) {
    std::error_code ec;
    if (fs::is_directory(path, ec))
        PFCE_THROW(InputError, path, " is a directory (expected a file)");
    std::ifstream in(path, std::ios::binary);
    if (!in) PFCE_THROW(InputError, "cannot open ", path, ": ", std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) PFCE_THROW(InputError, "cannot read ", path);
    return ss.str();
}

void check_output_file(const std::string& path, bool force, const std::vector<std::string>& inputs,
                       const std::string& force_flag) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return;
    for (const std::string& in : inputs)
        if (!in.empty() && fs::equivalent(path, in, ec))
            PFCE_THROW(InputError, "refusing to write ", path, ": it is the input ", in,
                       " (choose another output name)");
    if (fs::is_directory(path, ec))
        PFCE_THROW(InputError, "cannot write ", path, ": it is a directory");
    if (!force)
        PFCE_THROW(InputError, path, " already exists; pass ", force_flag, " to replace it");
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
