// Device and library version queries.
#include "cuda/cuda_context.hpp"
#include "cuda/device_info.hpp"

#include <cstdio>

namespace pfce {

std::vector<std::string> describe_cuda_devices() {
    std::vector<std::string> lines;
    const int n = cuda_device_count();
    for (int i = 0; i < n; ++i) {
        cudaDeviceProp p{};
        if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
        char buf[512];
        std::snprintf(buf, sizeof buf, "cuda:%d %s, sm_%d%d, %.1f GiB, %d SMs", i, p.name, p.major,
                      p.minor, static_cast<double>(p.totalGlobalMem) / (1 << 30),
                      p.multiProcessorCount);
        lines.emplace_back(buf);
    }
    return lines;
}

std::string cudnn_version_text() {
    const size_t v = cudnnGetVersion();  // e.g. 91900 for 9.19.0
    return std::to_string(v / 10000) + "." + std::to_string((v % 10000) / 100) + "." +
           std::to_string(v % 100) + " (headers " + std::to_string(CUDNN_MAJOR) + "." +
           std::to_string(CUDNN_MINOR) + "." + std::to_string(CUDNN_PATCHLEVEL) + ")";
}

std::string cuda_runtime_version_text() {
    int rt = 0, drv = 0;
    cudaRuntimeGetVersion(&rt);
    if (cudaDriverGetVersion(&drv) != cudaSuccess) drv = 0;
    cudaGetLastError();
    std::string s = "runtime " + std::to_string(rt / 1000) + "." + std::to_string((rt % 1000) / 10);
    s += drv ? ", driver " + std::to_string(drv / 1000) + "." + std::to_string((drv % 1000) / 10)
             : ", no driver";
    return s;
}

}  // namespace pfce
