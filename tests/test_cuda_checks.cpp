// The checks that make a GPU run trustworthy: a failed launch names its kernel, a device without
// code for it is refused with its sm_XY and the compiled list, worker threads allocate on the
// backend's device, and every device line says which code it runs. The first two need no GPU.
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "core/build_info.hpp"
#include "host/backend/backend_factory.hpp"
#include "tests/test_util.hpp"

#ifdef PFCE_HAVE_CUDA
#include "cuda/cuda_backend.hpp"
#include "cuda/cuda_check.hpp"
#include "cuda/cuda_context.hpp"
#include "cuda/device_info.hpp"
#endif

using namespace pfce;

namespace {

#ifdef PFCE_HAVE_CUDA

// Any failed runtime call leaves its error for cudaGetLastError, as a failed launch does: an
// impossible allocation fails on a GPU (out of memory) and without one (no device) alike.
TEST(CudaChecks, FailedLaunchNamesTheKernelAndTheCaller) {
    void* p = nullptr;
    ASSERT_NE(cudaMalloc(&p, std::size_t(1) << 62), cudaSuccess);
    try {
        PFCE_CUDA_CHECK_LAUNCH("pretend_kernel");
        FAIL() << "no error after a failed call";
    } catch (const SystemError& e) {
        EXPECT_MESSAGE_HAS(std::string(e.what()), "kernel pretend_kernel: cuda");
        EXPECT_MESSAGE_HAS(e.where(), "test_cuda_checks.cpp");
    }
    // Without a driver every call keeps failing; with a device the error was consumed.
    if (cuda_devices() > 0) {
        EXPECT_NO_THROW(PFCE_CUDA_CHECK_LAUNCH("after_the_error"));
    }
}

TEST(CudaChecks, UnsupportedDeviceMessageNamesItsArchAndTheCompiledList) {
    const std::string msg = unsupported_device_message(1, "Some GPU", 7, 5);
    EXPECT_MESSAGE_HAS(msg, "cuda:1 Some GPU is sm_75");
    EXPECT_MESSAGE_HAS(msg, "CMAKE_CUDA_ARCHITECTURES " PFCE_CUDA_ARCHITECTURES);
    EXPECT_MESSAGE_HAS(msg, "-DCMAKE_CUDA_ARCHITECTURES=75");
    EXPECT_MESSAGE_HAS(compiled_cuda_archs_text(), "sm_");
}

TEST(CudaChecksGpu, EveryDeviceLineSaysWhichCodeItRuns) {
    PFCE_REQUIRE_GPU(gpu);
    const auto lines = cuda_device_lines();
    ASSERT_FALSE(lines.empty());
    for (const std::string& l : lines) EXPECT_MESSAGE_HAS(l, "runs kernels built for sm_");
}

// A tensor larger than the GPU: the error says it is GPU memory, how much is free and what to
// lower (the memory check before training judges host memory only), and the backend goes on.
TEST(CudaChecksGpu, AnAllocationLargerThanTheGpuSaysWhatToLowerAndTheBackendGoesOn) {
    PFCE_REQUIRE_GPU(gpu);
    try {
        Tensor huge = gpu->zeros({std::int64_t{1} << 20, std::int64_t{1} << 20, 64}, DType::f32);
        FAIL() << "a 281 TB tensor was allocated";
    } catch (const SystemError& e) {
        const std::string msg = e.what();
        EXPECT_MESSAGE_HAS(msg, "out of GPU memory: 281.5 TB more could not be allocated");
        EXPECT_MESSAGE_HAS(msg, " free of ");
        EXPECT_MESSAGE_HAS(msg, "lower the batch size");
        EXPECT_MESSAGE_HAS(msg, "--precision bf16");
    }
    Tensor small = gpu->zeros({4}, DType::f32);
    Tensor back = Tensor::host({4}, DType::f32);
    back.data<float>()[0] = 1.0f;
    gpu->copy(back, small);
    gpu->synchronize();
    EXPECT_EQ(back.data<float>()[0], 0.0f);
}

// The batch loader's workers allocate pinned staging memory; on a thread of its own the runtime's
// current device is 0 until set, so cuda:1 would also open GPU 0. (With one GPU the last device
// is 0 and this only checks the mechanism.)
TEST(CudaChecksGpu, WorkerThreadsUseTheBackendsDevice) {
    PFCE_REQUIRE_GPU(gpu);
    const int last = cuda_devices() - 1;
    auto b = make_backend(DeviceChoice::cuda, last);
    int seen = -1;
    std::thread worker([&] {
        Tensor t = b->host_staging({4, 4}, DType::f32);
        cudaGetDevice(&seen);
    });
    worker.join();
    EXPECT_EQ(seen, last);
}

#else

TEST(CudaChecks, NotBuilt) {
    EXPECT_FALSE(cuda_compiled());
    EXPECT_MESSAGE_HAS(cuda_unavailable_reason(), "without CUDA");
}

#endif

}  // namespace
