// Device code every cuda/*.cu shares: block reductions (a warp-shuffle tree and a shared-memory
// halving tree, each a fixed summation order so results are deterministic) and launch(), which
// launches a kernel on a stream and checks the launch under the kernel's name.
#pragma once

#include <cuda_runtime.h>

#include <cmath>
#include <utility>

#include "core/bf16.hpp"
#include "core/tensor.hpp"
#include "cuda/cuda_check.hpp"

namespace pfce {

// Sum of v over a warp in a fixed tree order (shuffle down); valid in lane 0.
template <typename T>
__device__ T warp_sum(T v) {
    for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
    return v;
}

// Sum of v over the block (a multiple of 32 threads, at most 1024): each warp by warp_sum, then
// warp 0 over the warps' sums in warp order. Valid in thread 0. Every thread of the block must
// call it; it may be called several times in one kernel.
template <typename T>
__device__ T block_sum_warps(T v) {
    __shared__ T warp_sums[32];
    __syncthreads();  // a previous call may still be reading warp_sums
    v = warp_sum(v);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    if (lane == 0) warp_sums[warp] = v;
    __syncthreads();
    v = T(0);
    if (warp == 0) {
        v = lane < static_cast<int>(blockDim.x >> 5) ? warp_sums[lane] : T(0);
        v = warp_sum(v);
    }
    return v;
}

// Sum of v over a block of exactly kThreads (a power of two) threads by halving a shared array
// (kThreads doubles, one per thread, owned by the caller); valid in every thread. Two calls in a
// row need two arrays.
template <int kThreads>
__device__ double block_sum_tree(double v, double* shared) {
    shared[threadIdx.x] = v;
    __syncthreads();
    for (int half = kThreads / 2; half > 0; half >>= 1) {
        if (static_cast<int>(threadIdx.x) < half) shared[threadIdx.x] += shared[threadIdx.x + half];
        __syncthreads();
    }
    return shared[0];
}

// The C (<= CMAX) logits of one pixel, channel k at z[k * stride], into e[k]; returns their max
// (the shift of a stable softmax).
template <int CMAX>
__device__ __forceinline__ float load_pixel_logits(const float* z, long long stride, int c,
                                                   float (&e)[CMAX]) {
    float m = -INFINITY;
#pragma unroll
    for (int k = 0; k < CMAX; ++k)
        if (k < c) {
            e[k] = z[k * stride];
            m = fmaxf(m, e[k]);
        }
    return m;
}

// kernel<<<grid, block, 0, stream>>>(args...), then the launch check under `name`, the kernel's
// own name (so a failure says which kernel).
template <typename... Params, typename... Args>
void launch([[maybe_unused]] const char* name, void (*kernel)(Params...), dim3 grid, dim3 block,
            cudaStream_t stream, Args&&... args) {
    kernel<<<grid, block, 0, stream>>>(std::forward<Args>(args)...);
    PFCE_CUDA_CHECK_LAUNCH(name);
}

// Runs f with a null pointer of the element type of activation dtype `t` (float for f32, Bf16 for
// bf16): the dispatch of the ops templated on their activations' storage, f(decltype) picking the
// kernel instance. ShapeError for any other dtype (the entry checks have refused it already).
template <typename F>
void with_activation_type(DType t, F&& f) {
    if (t == DType::bf16)
        f(static_cast<Bf16*>(nullptr));
    else if (t == DType::f32)
        f(static_cast<float*>(nullptr));
    else
        PFCE_THROW(ShapeError, "activations must be f32 or bf16, got ", dtype_name(t));
}

// t's data as the element type T (f32 or bf16), for the kernels templated on it.
template <typename T>
T* activation_data(Tensor& t) {
    return t.data<T>();
}
template <typename T>
const T* activation_data(const Tensor& t) {
    return t.data<T>();
}

}  // namespace pfce
