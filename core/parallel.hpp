// Data-parallel loops over independent items, and the OpenMP team size they run with.
#pragma once

#include <atomic>
#include <cstddef>
#include <exception>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace pfce {

// One OpenMP loop over independent items that carries an exception out of the parallel region
// (an exception may not cross it), so data-parallel I/O (decoding, sampling, writing) fails with
// the error of the item that failed. Items are independent: each writes only its own slot.
// With several bad items, the one rethrown is the failure of the lowest index, whatever the
// threads' timing (items past a failure are skipped, those before it still run), so the same bad
// dataset names the same file on every run and on any number of threads.
template <typename Fn>
void parallel_for(std::size_t n, Fn&& fn, int chunk = 1) {
    std::exception_ptr error;
    const long count = static_cast<long>(n);
    std::atomic<long> first_bad{count};
#pragma omp parallel for schedule(dynamic, chunk)
    for (long i = 0; i < count; ++i) {
        if (i > first_bad.load(std::memory_order_relaxed)) continue;
        try {
            fn(static_cast<std::size_t>(i));
        } catch (...) {
#pragma omp critical(pfce_parallel_for_error)
            if (i < first_bad.load(std::memory_order_relaxed)) {
                error = std::current_exception();
                first_bad.store(i, std::memory_order_relaxed);
            }
        }
    }
    if (error) std::rethrow_exception(error);
}

// The OpenMP team size of the calling thread. pfce caps it at the CPUs it may use (host/cli/main),
// but that setting is the thread's own: a thread started later begins from OMP_NUM_THREADS again
// (a team of 64 on 2 CPUs), so work handed to one carries the count and sets it there.
inline int openmp_threads() {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}
// Whether the caller runs inside an active OpenMP parallel region: a region opened there would
// nest (a team of threads x threads where nesting is enabled, one thread where it is not).
inline bool in_openmp_parallel() {
#ifdef _OPENMP
    return omp_in_parallel() != 0;
#else
    return false;
#endif
}
inline void use_openmp_threads(int n) {
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

}  // namespace pfce
