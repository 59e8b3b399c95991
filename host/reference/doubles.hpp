// The reference backend computes in double: an f32 tensor's values are widened on the way in
// (exactly) and rounded once on the way out.
#pragma once

#include <vector>

#include "core/tensor.hpp"

namespace pfce::reference {

// The values of an f32 tensor as doubles. Doubles(t).data() may be passed straight to a call: the
// temporary lives until the call returns.
class Doubles {
  public:
    explicit Doubles(const Tensor& t) : v_(static_cast<std::size_t>(t.empty() ? 0 : t.numel())) {
        for (std::size_t i = 0; i < v_.size(); ++i) v_[i] = t.data<float>()[i];
    }
    // The values, or null for an empty tensor (an absent bias or gradient).
    double* data() { return v_.empty() ? nullptr : v_.data(); }
    // t <- the values, each rounded to f32.
    void store(Tensor& t) const {
        for (std::size_t i = 0; i < v_.size(); ++i) t.data<float>()[i] = static_cast<float>(v_[i]);
    }

  private:
    std::vector<double> v_;
};

}  // namespace pfce::reference
