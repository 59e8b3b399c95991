// Error checks for CUDA runtime and cuDNN calls: a failing call becomes a SystemError with
// file:line, the expression and the library's own message. *_LOG variants only print, for use in
// destructors where throwing would terminate. Kernel launches are checked by name, optionally
// waiting for each (PFCE_CUDA_SYNC_CHECK=1) so a fault is pinned on the kernel that made it.
#pragma once

#include <cuda_runtime.h>
#include <cudnn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/error.hpp"

#define PFCE_CUDA_CHECK(expr)                                                                     \
    do {                                                                                          \
        cudaError_t pfce_err_ = (expr);                                                           \
        if (pfce_err_ != cudaSuccess)                                                             \
            PFCE_THROW(::pfce::SystemError, #expr " failed: ", cudaGetErrorName(pfce_err_), ": ", \
                       cudaGetErrorString(pfce_err_));                                            \
    } while (0)

#define PFCE_CUDA_CHECK_LOG(expr)                                                     \
    do {                                                                              \
        cudaError_t pfce_err_ = (expr);                                               \
        if (pfce_err_ != cudaSuccess)                                                 \
            std::fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr, \
                         cudaGetErrorString(pfce_err_));                              \
    } while (0)

// The cuDNN check: a call returning a `Status` other than `ok` throws with the text of
// the call and the library's message for the status (`message(status)`).
#define PFCE_LIBRARY_CHECK_(Status, ok, message, expr, expr_text)                      \
    do {                                                                               \
        Status pfce_st_ = (expr);                                                      \
        if (pfce_st_ != ok)                                                            \
            PFCE_THROW(::pfce::SystemError, expr_text " failed: ", message(pfce_st_)); \
    } while (0)

#define PFCE_CUDNN_CHECK(expr) \
    PFCE_LIBRARY_CHECK_(cudnnStatus_t, CUDNN_STATUS_SUCCESS, cudnnGetErrorString, expr, #expr)

namespace pfce::cuda_detail {

// PFCE_CUDA_SYNC_CHECK=1 makes every checked launch wait for its kernel: a fault that would
// otherwise surface at some later call is then reported at the kernel that caused it. Read once
// per process (the check sits on every launch). Stream capture forbids the wait, so a capturing
// caller must not run in this mode.
inline bool sync_check_enabled() {
    static const bool enabled = [] {
        const char* v = std::getenv("PFCE_CUDA_SYNC_CHECK");
        return v != nullptr && std::strcmp(v, "1") == 0;
    }();
    return enabled;
}

// Errors a launch itself returns (bad grid, no image for this GPU, ...): they belong to this
// kernel. Any other error is sticky and may have been left by an earlier, asynchronous kernel.
inline bool is_launch_error(cudaError_t e) {
    return e == cudaErrorInvalidConfiguration || e == cudaErrorInvalidValue ||
           e == cudaErrorLaunchOutOfResources || e == cudaErrorNoKernelImageForDevice ||
           e == cudaErrorInvalidDeviceFunction || e == cudaErrorInvalidPitchValue ||
           e == cudaErrorInvalidResourceHandle || e == cudaErrorMissingConfiguration;
}

// Set while this thread records a graph (Backend::capture_graph, cuda/graph.cu): launches are
// recorded, not run, so PFCE_CUDA_SYNC_CHECK has nothing to wait for (and stream capture would
// refuse the wait), and an allocation is refused by name (CudaContext::alloc_device).
inline thread_local bool recording_graph = false;
// Device memory a tensor released while this thread recorded a graph: cudaFree there would break
// the capture (and its failure was once only logged, leaking the block), so the free waits here
// until the recording ends, which then fails (the graph could hold the freed address) and frees
// them (cuda/graph.cu).
inline thread_local std::vector<void*> frees_while_recording;

inline void check_launch(const char* kernel, const char* file, int line) {
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) {
        const bool ours = is_launch_error(err) || sync_check_enabled();
        throw SystemError(
            detail::concat("kernel ", kernel, ": ", cudaGetErrorName(err), ": ",
                           cudaGetErrorString(err),
                           ours ? ""
                                : " (reported at this launch; the fault may come from an earlier "
                                  "kernel: rerun with PFCE_CUDA_SYNC_CHECK=1 to find it)"),
            file, line);
    }
    if (!sync_check_enabled() || recording_graph) return;
    err = cudaDeviceSynchronize();
    if (err != cudaSuccess)
        throw SystemError(detail::concat("kernel ", kernel, " failed while running: ",
                                         cudaGetErrorName(err), ": ", cudaGetErrorString(err),
                                         " (PFCE_CUDA_SYNC_CHECK=1: this kernel or a library "
                                         "call queued since the previous checked launch)"),
                          file, line);
}

}  // namespace pfce::cuda_detail

// After a kernel launch: catches bad launch configurations, naming the kernel; with
// PFCE_CUDA_SYNC_CHECK=1 also waits for it and reports a fault it made while running.
#define PFCE_CUDA_CHECK_LAUNCH(name) ::pfce::cuda_detail::check_launch(name, __FILE__, __LINE__)
