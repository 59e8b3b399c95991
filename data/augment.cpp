// The per-sample augmentation draw: one CounterRng stream per (epoch, sample index) under a seed
// tagged for augmentation, so it never shares draws with the shuffle or the sampler.
#include "data/augment.hpp"

#include "core/rng.hpp"

namespace pfce {

D4Transform augmentation_for(std::uint64_t seed, int epoch, std::uint64_t index, bool square) {
    CounterRng rng(seed ^ 0x4155474D454E5421ull /* "AUGMENT!" */, static_cast<std::uint32_t>(epoch),
                   static_cast<std::uint32_t>(index));
    D4Transform tr;
    tr.t = square ? static_cast<int>(rng.below(8)) : 2 * static_cast<int>(rng.below(4));
    return tr;
}

}  // namespace pfce
