// Memory estimates of host/train/memory_estimate.hpp, and the machine's memory from /proc/meminfo.
#include "host/train/memory_estimate.hpp"

#include <fstream>
#include <sstream>
#include <string>

namespace pfce {

double training_step_bytes(std::int64_t pixels_per_image, int batch, int width) {
    return static_cast<double>(pixels_per_image) * batch * (100.0 * width + 100.0);
}

double parameter_state_bytes(std::int64_t parameters, const std::string& optimizer) {
    const double copies = optimizer == "sgd" ? 3.0 : 4.0;
    return static_cast<double>(parameters) * 4.0 * copies;
}

double inference_bytes(std::int64_t pixels_per_window, int batch, int width) {
    return static_cast<double>(pixels_per_window) * batch * (28.0 * width + 60.0);
}

MachineMemory machine_memory() {
    MachineMemory m;
    std::ifstream in("/proc/meminfo");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string key;
        double kb = 0;
        if (!(fields >> key >> kb)) continue;
        if (key == "MemTotal:") m.total = kb * 1024;
        if (key == "MemAvailable:") m.available = kb * 1024;
        if (key == "SwapTotal:") m.swap = kb * 1024;
    }
    return m;
}

}  // namespace pfce
