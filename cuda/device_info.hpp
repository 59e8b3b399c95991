// Facts about the CUDA installation and devices, for `pfce doctor` and test skipping. Every
// function is safe to call when no driver or device is present.
#pragma once

#include <string>
#include <vector>

namespace pfce {

int cuda_device_count() noexcept;  // defined in cuda_backend.cu
std::vector<std::string> describe_cuda_devices();
std::string cudnn_version_text();
std::string cuda_runtime_version_text();

}  // namespace pfce
