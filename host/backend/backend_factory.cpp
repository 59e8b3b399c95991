// Backend selection. CUDA pieces are behind PFCE_HAVE_CUDA so a CPU-only build links without them.
#include "host/backend/backend_factory.hpp"

#include "core/enum_names.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "host/cpu/cpu_backend.hpp"

#ifdef PFCE_HAVE_CUDA
#include "cuda/cuda_backend.hpp"
#include "cuda/device_info.hpp"
#endif

namespace pfce {

std::optional<DeviceName> read_device_name(const std::string& text) {
    if (same_name(text, "auto")) return DeviceName{DeviceChoice::automatic, 0};
    if (same_name(text, "cpu")) return DeviceName{DeviceChoice::cpu, 0};
    if (same_name(text, "cuda")) return DeviceName{DeviceChoice::cuda, 0};
    if (text.size() < 6 || !same_name(text.substr(0, 5), "cuda:") || text.size() > 5 + 4 ||
        text.find_first_not_of("0123456789", 5) != std::string::npos)
        return std::nullopt;
    return DeviceName{DeviceChoice::cuda, std::stoi(text.substr(5))};
}

static DeviceName parse_device_name(const std::string& text, const std::string& name = "--device") {
    if (const auto d = read_device_name(text)) return *d;
    PFCE_THROW(InputError, name, " ", quoted_if_unseen(text),
               ": expected auto, cpu, cuda or cuda:N (N a device number)");
}

DeviceChoice parse_device_choice(const std::string& text) {
    return parse_device_name(text).choice;
}

bool cuda_compiled() {
#ifdef PFCE_HAVE_CUDA
    return true;
#else
    return false;
#endif
}

int cuda_devices() {
#ifdef PFCE_HAVE_CUDA
    return cuda_device_count();
#else
    return 0;
#endif
}

std::string cuda_unavailable_reason() {
#ifdef PFCE_HAVE_CUDA
    return cuda_unavailable_reason_text();
#else
    return "this pfce was built without CUDA (PFCE_CUDA=OFF or no toolkit found)";
#endif
}

std::vector<std::string> cuda_device_lines() {
#ifdef PFCE_HAVE_CUDA
    return describe_cuda_devices();
#else
    return {};
#endif
}

std::string cudnn_version_string() {
#ifdef PFCE_HAVE_CUDA
    return cudnn_version_text();
#else
    return "not built";
#endif
}

std::string cuda_runtime_version_string() {
#ifdef PFCE_HAVE_CUDA
    return cuda_runtime_version_text();
#else
    return "not built";
#endif
}

// `typed`: the device as the user wrote it, for the messages ("" where a DeviceChoice came in);
// `name`: what set it.
static void check_cuda_choice(int cuda_ordinal, int n, const std::string& typed = "",
                              const std::string& name = "--device") {
    std::string shown = typed;
    if (shown.empty()) {
        shown = "cuda";
        if (cuda_ordinal > 0) shown.append(":").append(std::to_string(cuda_ordinal));
    }
    if (!cuda_compiled())
        PFCE_THROW(InputError, name, " ", shown,
                   ": this pfce was built without CUDA (PFCE_CUDA=OFF); "
                   "use --device cpu or rebuild with the CUDA toolkit");
    if (n == 0)
        PFCE_THROW(InputError, name, " ", shown, ": no CUDA device is usable (",
                   cuda_unavailable_reason(), "); use --device cpu or --device auto");
    if (cuda_ordinal < 0 || cuda_ordinal >= n)
        PFCE_THROW(InputError, name, " ", shown, ": only ", n, " device(s) present");
}

void check_device(const std::string& choice_text) {
    const DeviceName d = parse_device_name(choice_text);
    if (d.choice == DeviceChoice::cuda) check_cuda_choice(d.ordinal, cuda_devices(), choice_text);
}

std::unique_ptr<Backend> make_backend(DeviceChoice choice, int cuda_ordinal) {
    if (choice == DeviceChoice::cpu) {
        auto b = std::make_unique<CpuBackend>();
        log_info("device: ", b->name(), " (asked for cpu)");
        return b;
    }
    const int n = cuda_devices();
    if (choice == DeviceChoice::cuda) check_cuda_choice(cuda_ordinal, n);
#ifdef PFCE_HAVE_CUDA
    if (n > 0) {
        auto b = std::make_unique<CudaBackend>(cuda_ordinal);
        log_info(
            "device: ", b->name(),
            choice == DeviceChoice::automatic ? " (auto: CUDA device found)" : " (asked for cuda)");
        return b;
    }
#endif
    auto b = std::make_unique<CpuBackend>();
    log_info("device: ", b->name(),
             " (auto: ", cuda_compiled() ? "no CUDA device visible" : "built without CUDA", ")");
    return b;
}

std::unique_ptr<Backend> make_backend(const std::string& choice_text, const std::string& name) {
    const DeviceName d = parse_device_name(choice_text, name);
    // Checked here first so the messages show the device as typed (Cuda:0) and what set it.
    if (d.choice == DeviceChoice::cuda)
        check_cuda_choice(d.ordinal, cuda_devices(), choice_text, name);
    return make_backend(d.choice, d.ordinal);
}

}  // namespace pfce
