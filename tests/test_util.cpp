// Implementation of the shared test helpers.
#include "tests/test_util.hpp"

#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "core/rng.hpp"
#include "host/backend/backend_factory.hpp"
#include "host/cpu/cpu_backend.hpp"

namespace pfce::test {

std::unique_ptr<Backend> cpu_backend() {
    return std::make_unique<CpuBackend>();
}

std::unique_ptr<Backend> cuda_backend_or_null() {
    if (!cuda_compiled() || cuda_devices() == 0) return nullptr;
    return make_backend(DeviceChoice::cuda, 0);
}

bool gpu_required() {
    const char* v = std::getenv("PFCE_REQUIRE_GPU");
    return v != nullptr && std::strcmp(v, "1") == 0;
}

std::string no_gpu_reason() {
    const std::string why = cuda_unavailable_reason();
    return why.empty() ? "a CUDA device is present" : why;
}

Tensor to_host(Backend& b, const Tensor& t) {
    Tensor h = Tensor::host(t.shape(), t.dtype());
    if (t.device() == DeviceKind::cpu) {
        if (t.bytes()) std::memcpy(h.raw(), t.raw(), t.bytes());
    } else {
        b.copy(h, t);
    }
    return h;
}

Tensor to_backend(Backend& b, const Tensor& host) {
    Tensor d = b.zeros(host.shape(), host.dtype());
    b.copy(d, host);
    return d;
}

Tensor random_f32(Shape s, std::uint64_t seed, float lo, float hi) {
    Tensor t = Tensor::host(s, DType::f32);
    CounterRng rng(seed, 0x7e57);
    float* p = t.data<float>();
    for (std::int64_t i = 0; i < t.numel(); ++i)
        p[i] = lo + static_cast<float>(rng.uniform()) * (hi - lo);
    return t;
}

::testing::AssertionResult all_close(const Tensor& ref, const Tensor& got, double atol,
                                     double rtol) {
    if (ref.shape() != got.shape())
        return ::testing::AssertionFailure()
               << "shape " << ref.shape().str() << " vs " << got.shape().str();
    const float* a = ref.data<float>();
    const float* b = got.data<float>();
    std::int64_t bad = 0, worst_i = -1;
    double worst = 0.0;
    std::ostringstream first;
    for (std::int64_t i = 0; i < ref.numel(); ++i) {
        const double err = std::fabs(static_cast<double>(a[i]) - b[i]);
        const double tol = atol + rtol * std::fabs(static_cast<double>(a[i]));
        if (!(err <= tol)) {  // also catches NaN
            if (bad < 5) first << "\n  [" << i << "] ref " << a[i] << " got " << b[i];
            ++bad;
        }
        if (err > worst || std::isnan(err)) {
            worst = err;
            worst_i = i;
        }
    }
    if (bad == 0) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << bad << " of " << ref.numel() << " elements differ (atol " << atol << ", rtol " << rtol
           << "); worst |err| " << worst << " at " << worst_i << first.str();
}

::testing::AssertionResult all_equal_u8(const Tensor& ref, const Tensor& got) {
    if (ref.shape() != got.shape())
        return ::testing::AssertionFailure()
               << "shape " << ref.shape().str() << " vs " << got.shape().str();
    const std::uint8_t* a = ref.data<std::uint8_t>();
    const std::uint8_t* b = got.data<std::uint8_t>();
    std::int64_t bad = 0;
    std::ostringstream first;
    for (std::int64_t i = 0; i < ref.numel(); ++i)
        if (a[i] != b[i]) {
            if (bad < 5) first << "\n  [" << i << "] ref " << int(a[i]) << " got " << int(b[i]);
            ++bad;
        }
    if (bad == 0) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << bad << " of " << ref.numel() << " bytes differ" << first.str();
}

std::string shared_dir() {
    const char* env = std::getenv("PFCE_SHARED_DIR");
    return env != nullptr && *env != '\0' ? env : PFCE_SHARED_DIR;
}

std::string potsdam_sample_or_empty() {
    const std::string dir = shared_dir() + "/data/potsdam-kaggle-sample";
    return std::filesystem::is_directory(dir + "/patches") ? dir : "";
}
std::string source_dir() {
    return PFCE_SOURCE_DIR;
}
std::string pfce_binary() {
    return PFCE_BINARY;
}

std::string temp_dir(const std::string& tag) {
    namespace fs = std::filesystem;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = tag;
    if (info) name += std::string("_") + info->test_suite_name() + "_" + info->name();
    fs::path p = fs::temp_directory_path() / "pfce-tests" / name;
    fs::remove_all(p);
    fs::create_directories(p);
    return p.string();
}

CommandResult run_pfce(const std::string& args) {
    // Appended piecewise: GCC 12 warns (-Wrestrict, falsely) about the one-expression concat.
    std::string cmd = "\"";
    cmd += pfce_binary();
    cmd += "\" ";
    cmd += args;
    cmd += " 2>&1";
    CommandResult r;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return r;
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
    const int st = pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

}  // namespace pfce::test
