// One OpenMP loop over independent items that carries the first exception out of the parallel
// region (an exception may not cross it), so data-parallel I/O (decoding, sampling, writing) fails
// with the error of the item that failed. Items are independent: each writes only its own slot.
#pragma once

#include <cstddef>
#include <exception>

namespace pfce {

template <typename Fn>
void parallel_for(std::size_t n, Fn&& fn, int chunk = 1) {
    std::exception_ptr error;
    const long count = static_cast<long>(n);
#pragma omp parallel for schedule(dynamic, chunk)
    for (long i = 0; i < count; ++i) {
        try {
            fn(static_cast<std::size_t>(i));
        } catch (...) {
#pragma omp critical(pfce_parallel_for_error)
            if (!error) error = std::current_exception();
        }
    }
    if (error) std::rethrow_exception(error);
}

}  // namespace pfce
