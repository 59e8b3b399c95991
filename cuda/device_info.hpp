// Facts about the CUDA installation and devices, for `pfce doctor`, test skipping and the refusal
// of a GPU this binary has no code for. Every query is safe to call when no driver or device is
// present.
#pragma once

#include <string>
#include <vector>

struct cudaDeviceProp;

namespace pfce {

int cuda_device_count() noexcept;  // defined in cuda_backend.cu
std::vector<std::string> describe_cuda_devices();
std::string cudnn_version_text();
std::string cuda_runtime_version_text();

// Why no device is usable ("" when one is): cudaGetDeviceCount's error name and text, or a count
// of 0.
std::string cuda_unavailable_reason_text();

// The architectures this binary's kernels were compiled for, e.g. "sm_90 (CMAKE_CUDA_ARCHITECTURES
// 90)".
std::string compiled_cuda_archs_text();

// The message for a device of compute capability major.minor that no kernel image of this binary
// can run on (pure formatting, so it is testable without a GPU).
std::string unsupported_device_message(int ordinal, const std::string& name, int major, int minor);

// Throws SystemError with unsupported_device_message when the current device (set by the caller)
// can run none of this binary's kernels: neither matching machine code nor PTX to JIT-compile.
void require_compiled_for_device(int ordinal, const cudaDeviceProp& props);

}  // namespace pfce
