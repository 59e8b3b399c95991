// Implementation of the shared test helpers.
#include "tests/test_util.hpp"

#include "core/text.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "core/rng.hpp"
#include "data/synth.hpp"
#include "host/backend/backend_factory.hpp"
#include "host/cpu/cpu_backend.hpp"
#include "host/reference/reference_backend.hpp"

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

namespace {

// After a failed test on a machine with a GPU, prints the cuDNN algorithm and math type chosen for
// every convolution shape and direction in this process (Backend::kernel_choices; the plan cache
// is process-wide, and ctest runs one test a process), so a GPU run's log says what a failed
// convolution check ran on (an algorithm with a larger error, TF32 where fp32 was meant) without
// a second run.
class KernelChoicesOnFailure : public ::testing::EmptyTestEventListener {
    void OnTestEnd(const ::testing::TestInfo& info) override {
        if (!info.result()->Failed() || !cuda_compiled() || cuda_devices() == 0) return;
        try {
            const std::vector<std::string> lines = cuda_backend_or_null()->kernel_choices();
            if (lines.empty()) return;
            std::fprintf(stderr, "cuDNN algorithms chosen in this process (%zu):\n", lines.size());
            for (const std::string& l : lines) std::fprintf(stderr, "  %s\n", l.c_str());
        } catch (const std::exception& e) {
            std::fprintf(stderr, "cuDNN algorithms: not listed (%s)\n", e.what());
        }
    }
};

// Registered when the test helpers are linked in, i.e. in every test binary (gtest_main's main()
// runs after static initialization; gtest owns the listener).
const bool kKernelChoicesListener = [] {
    ::testing::UnitTest::GetInstance()->listeners().Append(new KernelChoicesOnFailure);
    return true;
}();

}  // namespace

std::unique_ptr<Backend> reference_backend() {
    return std::make_unique<ReferenceBackend>();
}

Tensor to_host(Backend& b, const Tensor& t) {
    Tensor h = Tensor::host(t.shape(), t.dtype());
    if (t.layout() != Layout::nchw) h.set_layout(t.layout());
    if (t.device() == DeviceKind::cpu) {
        if (t.bytes()) std::memcpy(h.raw(), t.raw(), t.bytes());
    } else {
        b.copy(h, t);
    }
    return h;
}

std::vector<double> to_double(const Tensor& host) {
    const float* p = host.data<float>();
    return std::vector<double>(p, p + host.numel());
}

Tensor to_layout(const Tensor& host, Layout layout) {
    if (host.empty()) return Tensor();
    Tensor out = Tensor::host(host.shape(), host.dtype());
    if (host.shape().rank != 4) {
        std::memcpy(out.raw(), host.raw(), host.bytes());
        return out;
    }
    out.set_layout(layout);
    const std::int64_t n = host.dim(0), c = host.dim(1), hw = host.dim(2) * host.dim(3);
    // Offset of (i, ch, k) (k the pixel within the image) in either layout.
    auto at = [&](Layout l, std::int64_t i, std::int64_t ch, std::int64_t k) {
        return l == Layout::nchw ? (i * c + ch) * hw + k : (i * hw + k) * c + ch;
    };
    const float* src = host.data<float>();
    float* dst = out.data<float>();
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t ch = 0; ch < c; ++ch)
            for (std::int64_t k = 0; k < hw; ++k)
                dst[at(layout, i, ch, k)] = src[at(host.layout(), i, ch, k)];
    return out;
}

Tensor to_host_nchw(Backend& b, const Tensor& t) {
    Tensor h = to_host(b, t);
    return h.layout() == Layout::nchw ? std::move(h) : to_layout(h, Layout::nchw);
}

Tensor to_backend(Backend& b, const Tensor& host) {
    Tensor d = b.zeros(host.shape(), host.dtype());
    if (host.layout() != Layout::nchw) d.set_layout(host.layout());
    b.copy(d, host);
    return d;
}

Tensor to_backend(Backend& b, const Tensor& host, Layout layout) {
    if (host.empty() || host.shape().rank != 4 || host.layout() == layout)
        return to_backend(b, host);
    return to_backend(b, to_layout(host, layout));
}

Tensor step_scalars(Backend& b, const std::array<float, kOptimScalarCount>& values) {
    Tensor h = Tensor::host({kOptimScalarCount}, DType::f32);
    for (int i = 0; i < kOptimScalarCount; ++i) h.data<float>()[i] = values[i];
    return to_backend(b, h);
}

Tensor random_f32(Shape s, std::uint64_t seed, float lo, float hi) {
    Tensor t = Tensor::host(s, DType::f32);
    CounterRng rng(seed, 0x7e57);
    float* p = t.data<float>();
    for (std::int64_t i = 0; i < t.numel(); ++i)
        p[i] = lo + static_cast<float>(rng.uniform()) * (hi - lo);
    return t;
}

Tensor random_labels(Shape s, int classes, double unlabelled, std::uint64_t seed) {
    Tensor t = Tensor::host(s, DType::u8);
    CounterRng rng(seed, 1);
    for (std::int64_t i = 0; i < t.numel(); ++i)
        t.data<std::uint8_t>()[i] =
            rng.uniform() < unlabelled
                ? kUnlabelled
                : static_cast<std::uint8_t>(rng.below(static_cast<std::uint32_t>(classes)));
    return t;
}

Tensor random_sparse(int n, int h, int w, int classes, int per_image, std::uint64_t seed) {
    Tensor t = Tensor::host({n, h, w}, DType::u8);
    std::uint8_t* p = t.data<std::uint8_t>();
    std::fill(p, p + t.numel(), kUnlabelled);
    for (int i = 0; i < n; ++i) {
        CounterRng rng(seed, static_cast<std::uint32_t>(i));
        std::uint8_t* m = p + static_cast<std::size_t>(i) * h * w;
        auto put = [&](int y, int x) {
            m[y * w + x] = static_cast<std::uint8_t>(rng.below(classes));
        };
        for (int k = 0; k < per_image; ++k) put(rng.below(h), rng.below(w));
        put(0, 0);
        put(0, w - 1);
        put(h - 1, 0);
        put(h - 1, w - 1);
        for (int k = 0; k < 4; ++k) {
            put(0, rng.below(w));
            put(h - 1, rng.below(w));
            put(rng.below(h), 0);
            put(rng.below(h), w - 1);
        }
    }
    return t;
}

Tensor random_rgb(int n, int h, int w, std::uint64_t seed) {
    Tensor t = Tensor::host({n, 3, h, w}, DType::u8);
    std::uint8_t* p = t.data<std::uint8_t>();
    CounterRng rng(seed, 0xc01);
    for (std::int64_t i = 0; i < t.numel(); ++i) {
        const std::int64_t x = i % w, y = (i / w) % h;
        const int base = ((x / 7 + y / 5) % 3) * 60;
        p[i] = static_cast<std::uint8_t>(base + rng.below(30));
    }
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
    // Under the build tree (beside the pfce binary), not /tmp: two checkouts testing at once must
    // not share directories.
    fs::path p = fs::path(PFCE_BINARY).parent_path() / "test-tmp" / name;
    fs::remove_all(p);
    fs::create_directories(p);
    return p.string();
}

long long number_after(const std::string& text, const std::string& pattern) {
    std::smatch m;
    if (!std::regex_search(text, m, std::regex(pattern))) {
        ADD_FAILURE() << "no match for " << pattern << " in:\n" << text;
        return -1;
    }
    return std::stoll(m[1].str());
}

std::string write_synthetic(const std::string& dir, int count, int size, std::uint64_t seed) {
    SynthOptions o;
    o.out_dir = dir;
    o.count = count;
    o.size = size;
    o.seed = seed;
    write_synthetic_dataset(o);
    return dir;
}

RgbImage random_rgb(int w, int h, std::uint64_t seed, std::uint32_t stream) {
    RgbImage img(w, h);
    CounterRng rng(seed, stream);
    for (auto& v : img.pixels) v = static_cast<std::uint8_t>(rng.next_u32());
    return img;
}

LabelMap random_gray(int w, int h, std::uint64_t seed, std::uint32_t stream) {
    LabelMap m(w, h);
    CounterRng rng(seed, stream);
    for (auto& v : m.labels) v = static_cast<std::uint8_t>(rng.next_u32());
    return m;
}

CommandResult run_pfce(const std::string& args) {
    // Appended piecewise: GCC 12 warns (-Wrestrict, falsely) about the one-expression concat.
    std::string cmd = "\"";
    cmd += pfce_binary();
    cmd += "\" ";
    cmd += args;
    cmd += " 2>&1";
    return run_command(cmd);
}

CommandResult run_command(const std::string& cmd) {
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

std::string shortest_decimal(double v) {
    return format_shortest(v);
}

std::string rpc_txt(const std::vector<double>& v) {
    static const char* const singles[] = {"ERR_BIAS",   "ERR_RAND",  "LINE_OFF",   "SAMP_OFF",
                                          "LAT_OFF",    "LONG_OFF",  "HEIGHT_OFF", "LINE_SCALE",
                                          "SAMP_SCALE", "LAT_SCALE", "LONG_SCALE", "HEIGHT_SCALE"};
    static const char* const lists[] = {"LINE_NUM_COEFF", "LINE_DEN_COEFF", "SAMP_NUM_COEFF",
                                        "SAMP_DEN_COEFF"};
    std::string t;
    std::size_t i = 0;
    for (const char* k : singles) {
        const bool offset = i == 2 || i == 3;  // LINE_OFF, SAMP_OFF
        t += std::string(k) + ": " + shortest_decimal(v.at(i++)) + (offset ? " pixels" : "") + "\n";
    }
    for (const char* k : lists)
        for (int c = 1; c <= 20; ++c)
            t += std::string(k) + "_" + std::to_string(c) + ": " + shortest_decimal(v.at(i++)) +
                 "\n";
    return t;
}

void write_header_only_png(const std::string& path, std::uint32_t width, std::uint32_t height,
                           char colour_type) {
    auto be32 = [](std::uint32_t v) {
        return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                           static_cast<char>(v >> 8), static_cast<char>(v)};
    };
    auto chunk = [&](const std::string& type, const std::string& data) {
        std::uint32_t crc = 0xffffffffu;
        for (const char ch : type + data) {
            crc ^= static_cast<std::uint8_t>(ch);
            for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
        }
        return be32(static_cast<std::uint32_t>(data.size())) + type + data + be32(~crc);
    };
    const std::string ihdr =
        be32(width) + be32(height) + std::string("\x08", 1) + colour_type + std::string(3, '\0');
    std::ofstream(path, std::ios::binary)
        << std::string("\x89PNG\r\n\x1a\n", 8) << chunk("IHDR", ihdr)
        << chunk("IDAT", std::string(100, '\0')) << chunk("IEND", "");
}

}  // namespace pfce::test
