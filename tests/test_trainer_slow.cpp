// Long trainer runs (ctest label "slow"): the 64x64 overfit of issue 5 with its full step budget.
#include "tests/trainer_fixtures.hpp"

namespace pfce {
namespace {

TEST(TrainerSlow, SmallUNetOverfitsOneImageWithDenseLabels) {
    test::check_overfit(64, 150);
}

}  // namespace
}  // namespace pfce
