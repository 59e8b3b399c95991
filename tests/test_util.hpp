// Shared test helpers: backends, tolerance checks that print the worst error and the first
// mismatches, random tensors, and the GPU skip that prints one clear line without a device.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/backend.hpp"

namespace pfce::test {

std::unique_ptr<Backend> cpu_backend();
// The CUDA backend, or nullptr when this build has no CUDA or no device is visible.
std::unique_ptr<Backend> cuda_backend_or_null();
// The plain loops every backend is checked against (host/reference).
std::unique_ptr<Backend> reference_backend();

// Host copy of any tensor (device tensors are copied through `b`).
Tensor to_host(Backend& b, const Tensor& t);
// Device copy of a host tensor on backend `b` (a plain copy on the CPU backend).
Tensor to_backend(Backend& b, const Tensor& host);

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

std::string shared_dir();  // ../shared beside the source tree
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

}  // namespace pfce::test

// In a GPU test: PFCE_REQUIRE_GPU(gpu); skips with one line when no device is present.
#define PFCE_REQUIRE_GPU(var)                        \
    auto var = ::pfce::test::cuda_backend_or_null(); \
    if (!var) GTEST_SKIP() << "no CUDA device (or CUDA not built): GPU test skipped"

#define EXPECT_MESSAGE_HAS(msg, part) \
    EXPECT_NE((msg).find(part), std::string::npos) << "'" << (part) << "' not in: " << (msg)
