// The one place that decides which Backend runs. `--device auto` takes CUDA when this build has it
// and a device answers, and logs the choice; `--device cuda` without one is an error, never a
// silent fallback.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/backend.hpp"

namespace pfce {

enum class DeviceChoice { automatic, cpu, cuda };

// A device name: "auto", "cpu", "cuda" or "cuda:N" (N of 1 to 4 digits), in any case (`--device
// CPU`). The one rule for the command line and run.device in a config; `ordinal` is N, else 0.
struct DeviceName {
    DeviceChoice choice = DeviceChoice::automatic;
    int ordinal = 0;
};
std::optional<DeviceName> read_device_name(const std::string& text);  // nullopt: not a name
DeviceChoice parse_device_choice(const std::string& text);            // InputError when not a name
std::unique_ptr<Backend> make_backend(DeviceChoice choice, int cuda_ordinal = 0);
// `name`: what set the choice, for the messages ("--device", or "FILE: run.device").
std::unique_ptr<Backend> make_backend(const std::string& choice_text,
                                      const std::string& name = "--device");
// The checks of make_backend(choice_text) without making one (InputError for a choice that is not
// one, or cuda where no device is usable): commands run it before they create any output.
void check_device(const std::string& choice_text);

// What this build and machine offer (for `pfce doctor` and GPU-test skipping).
bool cuda_compiled();
int cuda_devices();                            // 0 when not compiled or no device/driver
std::string cuda_unavailable_reason();         // why cuda_devices() is 0; "" when it is not
std::vector<std::string> cuda_device_lines();  // one human-readable line per device
std::string cudnn_version_string();            // "9.19.0" or "not built"
std::string cuda_runtime_version_string();

}  // namespace pfce
