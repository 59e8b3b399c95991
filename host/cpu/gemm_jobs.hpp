// How the GEMM-based CPU ops (conv.cpp, upconv.cpp) split their work: into jobs of (image, tile of
// rows), run on OpenMP threads with single-threaded BLAS inside (no oversubscription), or one after
// another with BLAS using every thread when there are fewer jobs than threads. Plus scratch slots
// and the per-thread partial sums of the weight gradients.
#pragma once

#include <cblas.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "host/cpu/cpu_backend.hpp"

namespace pfce::cpu {

inline int max_threads() {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

// CpuBackend::scratch slots: each thread owns one slot per kind, so threads never share a buffer.
constexpr std::size_t kMaxScratchThreads = 256;
inline std::size_t col_slot(int thread) {
    return static_cast<std::size_t>(thread);
}
inline std::size_t partial_slot(int thread) {
    return kMaxScratchThreads + static_cast<std::size_t>(thread);
}
constexpr std::size_t kWeightSlot = 2 * kMaxScratchThreads;

inline int job_threads() {
    return std::clamp(max_threads(), 1, static_cast<int>(kMaxScratchThreads));
}

// Rows per tile so that a tile's im2col matrix (k_rows x rows*width floats) stays near 4 MiB while
// still giving the GEMM at least ~1024 columns.
inline std::int64_t tile_rows(std::int64_t k_rows, std::int64_t rows, std::int64_t width) {
    const std::int64_t target_floats = std::int64_t{1} << 20;
    std::int64_t r = target_floats / std::max<std::int64_t>(1, k_rows * width);
    r = std::max(r, (1024 + width - 1) / width);
    return std::clamp<std::int64_t>(r, 1, std::max<std::int64_t>(rows, 1));
}

// Runs job(j, thread) for j in [0, njobs). thread is in [0, threads): with njobs >= threads the
// jobs are spread over OpenMP threads by a static schedule (job j lands on the same thread every
// time, so per-thread partial sums reduce in a fixed order) and BLAS runs single-threaded inside;
// otherwise the jobs run in order on thread 0 and BLAS itself uses every thread.
template <typename Job>
void run_jobs(std::int64_t njobs, int threads, Job&& job) {
    if (threads > 1 && njobs >= threads) {
        const int blas_threads = openblas_get_num_threads();
        openblas_set_num_threads(1);
#pragma omp parallel for schedule(static) num_threads(threads)
        for (std::int64_t j = 0; j < njobs; ++j) {
#ifdef _OPENMP
            job(j, omp_get_thread_num());
#else
            job(j, 0);
#endif
        }
        openblas_set_num_threads(blas_threads);
    } else {
        for (std::int64_t j = 0; j < njobs; ++j) job(j, 0);
    }
}

// How many thread slots a run_jobs call with these arguments uses.
inline int used_threads(std::int64_t njobs, int threads) {
    return (threads > 1 && njobs >= threads) ? threads : 1;
}

// A weight gradient of n floats summed by `used` threads, each into its own partial (zeroed
// here): with one thread the output itself, else a scratch slot per thread. add_partials then
// adds them in thread order, so the result is the same on every run with the same thread count.
inline std::vector<float*> zeroed_partials(CpuBackend& be, int used, float* out, std::int64_t n) {
    std::vector<float*> partial(static_cast<std::size_t>(used));
    for (int t = 0; t < used; ++t) {
        const auto ts = static_cast<std::size_t>(t);
        partial[ts] = used == 1 ? out : be.scratch(partial_slot(t), static_cast<std::size_t>(n));
        std::fill_n(partial[ts], n, 0.0f);
    }
    return partial;
}

// out <- the sum of the partials in thread order (nothing to do when the one partial is out).
inline void add_partials(const std::vector<float*>& partial, float* out, std::int64_t n) {
    if (partial.size() < 2) return;
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) {
        float s = 0.0f;
        for (const float* p : partial) s += p[i];
        out[i] = s;
    }
}

}  // namespace pfce::cpu
