// Device and library version queries, and the check that this binary carries code for a device:
// the runtime is asked whether a trivial kernel has an image it can load there, which covers
// exact machine code, compatible machine code (sm_80 code on sm_86) and PTX JIT alike.
#include "cuda/cuda_context.hpp"
#include "cuda/device_info.hpp"

#include <cstdio>
#include <sstream>

#include "core/build_info.hpp"
#include "core/log.hpp"

namespace pfce {

namespace {

// Loaded only to ask the runtime whether this binary has an image for the current device.
__global__ void arch_probe_kernel() {}

// Variadic: with several architectures the list expands to "800,900", two macro arguments.
#define PFCE_STRINGIFY_(...) #__VA_ARGS__
#define PFCE_STRINGIFY(...) PFCE_STRINGIFY_(__VA_ARGS__)

// nvcc's list of the virtual architectures it compiled for ("800,900"), as "sm_80, sm_90".
std::string nvcc_arch_list() {
#ifdef __CUDA_ARCH_LIST__
    std::istringstream in(PFCE_STRINGIFY(__CUDA_ARCH_LIST__));
    std::string item, out;
    while (std::getline(in, item, ',')) {
        const int v = std::stoi(item);
        out += (out.empty() ? "" : ", ") + std::string("sm_") + std::to_string(v / 10);
    }
    return out;
#else
    return "";
#endif
}

// 0 when the current device can run this binary's kernels, else the error the runtime gave.
cudaError_t probe_current_device(cudaFuncAttributes* attr) {
    const cudaError_t err = cudaFuncGetAttributes(attr, arch_probe_kernel);
    if (err != cudaSuccess) cudaGetLastError();  // not sticky, but leave nothing behind
    return err;
}

}  // namespace

std::string compiled_cuda_archs_text() {
    const std::string nvcc = nvcc_arch_list();
    return (nvcc.empty() ? std::string("unknown") : nvcc) + " (CMAKE_CUDA_ARCHITECTURES " +
           PFCE_CUDA_ARCHITECTURES + ")";
}

std::string unsupported_device_message(int ordinal, const std::string& name, int major, int minor) {
    std::ostringstream os;
    os << "cuda:" << ordinal << " " << name << " is sm_" << major << minor
       << ", but this pfce has no code for it: compiled for " << compiled_cuda_archs_text()
       << ". Rebuild with -DCMAKE_CUDA_ARCHITECTURES=" << major << minor
       << " (or add it to the list), or use --device cpu";
    return os.str();
}

void require_compiled_for_device(int ordinal, const cudaDeviceProp& props) {
    cudaFuncAttributes attr{};
    const cudaError_t err = probe_current_device(&attr);
    if (err == cudaErrorNoKernelImageForDevice || err == cudaErrorInvalidDeviceFunction ||
        err == cudaErrorInvalidPtx || err == cudaErrorUnsupportedPtxVersion)
        PFCE_THROW(SystemError,
                   unsupported_device_message(ordinal, props.name, props.major, props.minor), " (",
                   cudaGetErrorName(err), ")");
    if (err != cudaSuccess)
        PFCE_THROW(SystemError, "cuda:", ordinal, " ", props.name,
                   ": cannot load this binary's kernels: ", cudaGetErrorName(err), ": ",
                   cudaGetErrorString(err));
    const int cc = props.major * 10 + props.minor;
    if (attr.binaryVersion != cc)
        log_info("cuda:", ordinal, " is sm_", cc, "; it runs kernels built for sm_",
                 attr.binaryVersion, " (compiled for ", compiled_cuda_archs_text(), ")");
}

std::string cuda_unavailable_reason_text() {
    int n = 0;
    const cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
        cudaGetLastError();
        // With no driver at all the runtime says "driver version is insufficient", which sends
        // one looking for a driver upgrade: say there is none (as pfce doctor does).
        int drv = 0;
        if (err == cudaErrorInsufficientDriver &&
            (cudaDriverGetVersion(&drv) != cudaSuccess || drv == 0)) {
            cudaGetLastError();
            return "no NVIDIA driver is installed or loaded: the CUDA runtime finds none, and "
                   "nvidia-smi would list the GPU where there is one";
        }
        return std::string("cudaGetDeviceCount: ") + cudaGetErrorName(err) + ": " +
               cudaGetErrorString(err);
    }
    if (n == 0) return "cudaGetDeviceCount found 0 devices";
    return "";
}

std::vector<std::string> describe_cuda_devices() {
    std::vector<std::string> lines;
    const int n = cuda_device_count();
    int current = 0;
    const bool restore = cudaGetDevice(&current) == cudaSuccess;
    for (int i = 0; i < n; ++i) {
        cudaDeviceProp p{};
        if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
        char buf[512];
        std::snprintf(buf, sizeof buf, "cuda:%d %s, sm_%d%d, %.1f GiB, %d SMs", i, p.name, p.major,
                      p.minor, static_cast<double>(p.totalGlobalMem) / (1 << 30),
                      p.multiProcessorCount);
        std::string line = buf;
        cudaFuncAttributes attr{};
        if (cudaSetDevice(i) == cudaSuccess) {
            const cudaError_t err = probe_current_device(&attr);
            line +=
                err == cudaSuccess
                    ? ", runs kernels built for sm_" + std::to_string(attr.binaryVersion)
                    : std::string(", NO CODE FOR IT in this build (") + cudaGetErrorName(err) + ")";
        }
        lines.push_back(line);
    }
    if (restore) cudaSetDevice(current);
    cudaGetLastError();
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
