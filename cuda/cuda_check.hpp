// Error checks for CUDA runtime, cuDNN and cuBLAS calls: a failing call becomes a SystemError with
// file:line, the expression and the library's own message. *_LOG variants only print, for use in
// destructors where throwing would terminate.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <cstdio>

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

#define PFCE_CUDNN_CHECK(expr)                                                                 \
    do {                                                                                       \
        cudnnStatus_t pfce_st_ = (expr);                                                       \
        if (pfce_st_ != CUDNN_STATUS_SUCCESS)                                                  \
            PFCE_THROW(::pfce::SystemError, #expr " failed: ", cudnnGetErrorString(pfce_st_)); \
    } while (0)

#define PFCE_CUBLAS_CHECK(expr)                                                                  \
    do {                                                                                         \
        cublasStatus_t pfce_st_ = (expr);                                                        \
        if (pfce_st_ != CUBLAS_STATUS_SUCCESS)                                                   \
            PFCE_THROW(::pfce::SystemError, #expr " failed: ", cublasGetStatusString(pfce_st_)); \
    } while (0)

// After a kernel launch: catches bad launch configurations without synchronizing.
#define PFCE_CUDA_CHECK_LAUNCH(name) PFCE_CUDA_CHECK(cudaGetLastError())
