// Wall-clock seconds on the steady clock since construction: the stage timings that log lines,
// results and benchmarks report.
#pragma once

#include <chrono>

namespace pfce {

class Stopwatch {
  public:
    Stopwatch() : start_(std::chrono::steady_clock::now()) {}
    double seconds() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }

  private:
    std::chrono::steady_clock::time_point start_;
};

}  // namespace pfce
