// Shared test helpers: backends, tolerance checks that print the worst error and the first
// mismatches, random tensors, and the GPU skip that prints one clear line without a device.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/backend.hpp"
#include "core/error.hpp"
#include "data/image.hpp"

namespace pfce::test {

std::unique_ptr<Backend> cpu_backend();
// The CUDA backend, or nullptr when this build has no CUDA or no device is visible. A device that
// is present but unusable (no code for its architecture) throws: that is a failure, not a skip.
std::unique_ptr<Backend> cuda_backend_or_null();
// run.kernels naming the reference kernel of every CUDA family (each family's first variant, what
// a CUDA backend starts on): a run's defaults are the measured-fastest variants
// (core/op_variants.hpp), so a GPU test of the reference path names it.
inline constexpr const char* kReferenceKernels =
    "focal_loss=three_launch,global_grad_norm=per_tensor,sgd_steps=per_tensor,"
    "adam_steps=per_tensor,convolution=nchw,activations=nchw,activation_storage=f32,"
    "batchnorm_nhwc=per_value";
// PFCE_REQUIRE_GPU=1 in the environment: a GPU test that would skip fails instead.
bool gpu_required();
std::string no_gpu_reason();  // why cuda_backend_or_null() gives nullptr
// The plain loops every backend is checked against (host/reference).
std::unique_ptr<Backend> reference_backend();

// Host copy of any tensor in its layout (device tensors are copied through `b`).
Tensor to_host(Backend& b, const Tensor& t);
// Host copy of any tensor in nchw (core/tensor.hpp), whatever its layout: its (N,C,H,W) values in
// the order a reference result has them.
Tensor to_host_nchw(Backend& b, const Tensor& t);
// Device copy of a host tensor on backend `b` (a plain copy on the CPU backend); with `layout`, a
// 4-D one holds the same (N,C,H,W) values in that layout.
Tensor to_backend(Backend& b, const Tensor& host);
Tensor to_backend(Backend& b, const Tensor& host, Layout layout);
// An optimizer step's scalars (core/op_params.hpp OptimScalar) as the step-scalars tensor on `b`.
Tensor step_scalars(Backend& b, const std::array<float, kOptimScalarCount>& values);

// A host f32 tensor's elements in double, to compare with the reference's double results.
std::vector<double> to_double(const Tensor& host);

// What a loss op gives back, copied to the host: the loss and dL/dlogits (empty when not asked).
struct LossResult {
    float loss;
    Tensor dlogits;
};

// A host copy of a 4-D f32 host tensor in another layout (core/tensor.hpp), same (N,C,H,W) values.
Tensor to_layout(const Tensor& host, Layout layout);

Tensor random_f32(Shape s, std::uint64_t seed, float lo = -1.0f, float hi = 1.0f);
// Label maps of shape s, u8: a class below `classes`, or 255 with probability `unlabelled`.
Tensor random_labels(Shape s, int classes, double unlabelled, std::uint64_t seed);
// (N,H,W) sparse label maps for linking: about `per_image` labelled pixels of `classes` classes,
// plus the four corners and a few border pixels so a pair search's edge cells are exercised.
Tensor random_sparse(int n, int h, int w, int classes, int per_image, std::uint64_t seed);
// (N,3,H,W) u8 colours: smooth-ish regions with noise, so some segments pass an edge-aware colour
// test and some do not.
Tensor random_rgb(int n, int h, int w, std::uint64_t seed);

// |a-b| <= atol + rtol*|ref| elementwise; on failure reports count, worst error and first few.
::testing::AssertionResult all_close(const Tensor& ref, const Tensor& got, double atol,
                                     double rtol);
::testing::AssertionResult all_equal_u8(const Tensor& ref, const Tensor& got);

// $PFCE_SHARED_DIR, else ../shared beside the source tree (absent beside a fresh clone).
std::string shared_dir();
// The two real Potsdam Kaggle pairs under shared_dir(); "" when they are not there.
std::string potsdam_sample_or_empty();
std::string source_dir();
std::string pfce_binary();                     // the built pfce executable
std::string temp_dir(const std::string& tag);  // fresh empty directory under the build tree's tmp

// Runs the built pfce with `args` (a shell command line tail), capturing stdout and stderr
// together.
struct CommandResult {
    int status = -1;  // exit status, -1 if it did not exit normally
    std::string output;
};
CommandResult run_pfce(const std::string& args);
// Runs a whole shell command line the same way (append "2>&1" to capture stderr too).
CommandResult run_command(const std::string& command_line);

// The message of the E (an error type of core/error.hpp) `fn` throws; a test failure (and "") when
// it throws none.
template <typename E, typename Fn>
std::string error_message(Fn&& fn) {
    try {
        fn();
    } catch (const E& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected an error of the type asked for";
    return "";
}
template <typename Fn>
std::string input_error_message(Fn&& fn) {
    return error_message<InputError>(std::forward<Fn>(fn));
}

// The integer the first group of `pattern` (a regex) captures in `text`; a failure and -1 if none.
long long number_after(const std::string& text, const std::string& pattern);

// Writes a synthetic dataset (data/synth.hpp) of `count` size x size scenes from `seed` into `dir`;
// returns `dir`.
std::string write_synthetic(const std::string& dir, int count, int size, std::uint64_t seed = 0);

// Noise images and maps from the counter RNG (seed, stream): inputs whose content does not matter.
RgbImage random_rgb(int w, int h, std::uint64_t seed, std::uint32_t stream = 1);

// A double in the fewest digits that read back to it (std::to_chars).
std::string shortest_decimal(double v);

// An RPC camera model's 92 values (the RPCCoefficientTag's order) as GeoEye's NAME_RPC.TXT, with
// the units some writers add (LINE_OFF: 16 pixels).
std::string rpc_txt(const std::vector<double>& values);

// A PNG whose header says width x height, 8 bits, of `colour_type` (0 gray, 2 RGB, 3 palette) and
// whose pixel data is 100 zero bytes: sized by a scan as that large, without the bytes (memory
// guards refuse it before reading it).
void write_header_only_png(const std::string& path, std::uint32_t width, std::uint32_t height,
                           char colour_type);
LabelMap random_gray(int w, int h, std::uint64_t seed, std::uint32_t stream = 2);

}  // namespace pfce::test

// Where a GPU test finds no device: it skips with one line, or fails with the reason when the
// environment sets PFCE_REQUIRE_GPU=1 (the GPU check: a run that skipped every GPU test must not
// pass). Returns from the test either way.
#define PFCE_NO_GPU_SKIP_OR_FAIL()                                             \
    do {                                                                       \
        if (::pfce::test::gpu_required())                                      \
            GTEST_FAIL() << "PFCE_REQUIRE_GPU=1 but no GPU is usable: "        \
                         << ::pfce::test::no_gpu_reason();                     \
        GTEST_SKIP() << "GPU test skipped: " << ::pfce::test::no_gpu_reason(); \
    } while (0)

// In a GPU test: PFCE_REQUIRE_GPU(gpu); the CUDA backend, or PFCE_NO_GPU_SKIP_OR_FAIL().
#define PFCE_REQUIRE_GPU(var)                        \
    auto var = ::pfce::test::cuda_backend_or_null(); \
    if (!var) PFCE_NO_GPU_SKIP_OR_FAIL()

// In a test that reads the real Potsdam pairs: PFCE_REQUIRE_POTSDAM_SAMPLE(dir); skips with one
// line when they are not there (a clone without ../shared).
#define PFCE_REQUIRE_POTSDAM_SAMPLE(var)                                  \
    const std::string var = ::pfce::test::potsdam_sample_or_empty();      \
    if (var.empty())                                                      \
    GTEST_SKIP() << "no Potsdam sample at " << ::pfce::test::shared_dir() \
                 << "/data/potsdam-kaggle-sample (set PFCE_SHARED_DIR): test skipped"

// Whether message `msg` contains `part`, each evaluated once: a msg of
// testing::internal::GetCapturedStderr() read twice (once more to print a failure) dereferenced
// the ended capture and crashed the whole test binary.
namespace pfce::test {
template <typename Msg, typename Part>
::testing::AssertionResult message_has(const Msg& msg, const Part& part) {
    if (msg.find(part) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "'" << part << "' not in: " << msg;
}
}  // namespace pfce::test
#define EXPECT_MESSAGE_HAS(msg, part) EXPECT_TRUE(::pfce::test::message_has((msg), (part)))
