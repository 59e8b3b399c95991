// Exceptions that carry where they were raised (file:line) and what failed, so the CLI can print
// one clear message. Macros here only build the message; control flow stays visible at the call.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace pfce {

// Base of every error pfce throws on purpose. `where` is "file:line".
class Error : public std::runtime_error {
  public:
    Error(const std::string& what, const char* file, int line)
        : std::runtime_error(what), where_(std::string(file) + ":" + std::to_string(line)) {}
    const std::string& where() const { return where_; }

  private:
    std::string where_;
};

// Bad user input: a file, a flag, a config value. The message names the file/key and the value.
class InputError : public Error {
    using Error::Error;
};

// A shape, dtype or device that an op cannot accept: a programming error in a caller.
class ShapeError : public Error {
    using Error::Error;
};

// A failing call into a library or driver (CUDA, cuDNN, libtiff, file system).
class SystemError : public Error {
    using Error::Error;
};

// Training diverged (NaN/Inf loss) or another numeric condition the run cannot continue from.
class NumericError : public Error {
    using Error::Error;
};

namespace detail {
template <typename... Args>
std::string concat(const Args&... args) {
    std::ostringstream os;
    (os << ... << args);
    return os.str();
}
}  // namespace detail

}  // namespace pfce

// Throw TYPE with a message streamed from the arguments, tagged with file:line.
#define PFCE_THROW(TYPE, ...) throw TYPE(::pfce::detail::concat(__VA_ARGS__), __FILE__, __LINE__)

// Precondition check for op entry points: shapes, dtypes, devices.
#define PFCE_CHECK_SHAPE(cond, ...)                                                            \
    do {                                                                                       \
        if (!(cond)) PFCE_THROW(::pfce::ShapeError, "check failed: " #cond ": ", __VA_ARGS__); \
    } while (0)
