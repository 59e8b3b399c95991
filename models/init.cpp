// He normal initialization: host draws from the Philox stream of (seed, tensor), one copy to the
// device.
#include "models/init.hpp"

#include <cmath>

#include "core/rng.hpp"

namespace pfce {

namespace {
constexpr std::uint32_t kHeInitStream = 0x4e1u;  // keeps init draws apart from other uses of a seed
}

void he_normal_init(Backend& b, Tensor& w, std::int64_t fan_in, std::uint64_t seed,
                    std::uint32_t stream) {
    PFCE_CHECK_SHAPE(fan_in > 0 && w.dtype() == DType::f32, "fan_in ", fan_in, " for ",
                     w.describe());
    Tensor h = Tensor::host(w.shape(), DType::f32);
    CounterRng rng(seed, kHeInitStream, stream);
    const double std_dev = std::sqrt(2.0 / static_cast<double>(fan_in));
    float* p = h.data<float>();
    for (std::int64_t i = 0; i < h.numel(); ++i) p[i] = static_cast<float>(std_dev * rng.normal());
    b.copy(w, h);
}

}  // namespace pfce
