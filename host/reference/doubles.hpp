// The reference backend computes in double: f32 tensors are widened on the way in (exactly) and
// rounded once on the way out.
#pragma once

#include <vector>

#include "core/tensor.hpp"

namespace pfce::reference {

// A double copy of an f32 tensor (empty for an empty tensor).
inline std::vector<double> doubles(const Tensor& t) {
    std::vector<double> v(static_cast<std::size_t>(t.empty() ? 0 : t.numel()));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = t.data<float>()[i];
    return v;
}

// t <- v, each value rounded to f32.
inline void store(const std::vector<double>& v, Tensor& t) {
    for (std::size_t i = 0; i < v.size(); ++i) t.data<float>()[i] = static_cast<float>(v[i]);
}

// The address of v's values, or null for an empty v (an optional bias or gradient).
inline double* data_or_null(std::vector<double>& v) {
    return v.empty() ? nullptr : v.data();
}
inline const double* data_or_null(const std::vector<double>& v) {
    return v.empty() ? nullptr : v.data();
}

}  // namespace pfce::reference
