// The host half of the multi-tensor launches (core/kernels/multi_tensor.hpp): the plan that splits
// a model's tensors into chunks and launches, and the lookup a block does to find its tensor. The
// kernels themselves (cuda/optim_multi.cu) are tested against the CPU in test_optim.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "core/kernels/multi_tensor.hpp"

namespace pfce {
namespace {

using kernels::MultiTensorLaunch;
using kernels::plan_multi_tensor;

// Every element of every non-empty tensor is covered by exactly one block, in list order, each
// block a chunk of at most `chunk` elements, no launch over `max_tensors` tensors, the block
// offsets contiguous: checked by walking every block through the device-side lookup.
void expect_exact_cover(const std::vector<long long>& sizes, long long chunk, int max_tensors) {
    const std::vector<MultiTensorLaunch> plan = plan_multi_tensor(sizes, chunk, max_tensors);
    std::vector<long long> covered(sizes.size(), 0);
    long long next_offset = 0;
    int last_tensor = -1;
    for (const MultiTensorLaunch& l : plan) {
        ASSERT_GE(l.table.count, 1);
        ASSERT_LE(l.table.count, max_tensors);
        ASSERT_EQ(static_cast<int>(l.tensors.size()), l.table.count);
        EXPECT_EQ(l.block_offset, next_offset);
        EXPECT_EQ(l.table.first_block[0], 0);
        const long long blocks = l.table.first_block[l.table.count];
        for (long long b = 0; b < blocks; ++b) {
            const int t = kernels::multi_tensor_owner(l.table, b);
            ASSERT_GE(t, 0);
            ASSERT_LT(t, l.table.count);
            const int tensor = l.tensors[t];
            ASSERT_GE(tensor, last_tensor) << "tensors in list order";
            last_tensor = tensor;
            const long long begin = (b - l.table.first_block[t]) * chunk;
            const long long end = std::min(begin + chunk, l.table.numel[t]);
            EXPECT_EQ(l.table.numel[t], sizes[tensor]);
            EXPECT_EQ(begin, covered[tensor]) << "chunks of a tensor are consecutive";
            ASSERT_GT(end, begin) << "no empty block";
            covered[tensor] = end;
        }
        next_offset += blocks;
    }
    EXPECT_EQ(kernels::multi_tensor_blocks(plan), next_offset);
    for (std::size_t i = 0; i < sizes.size(); ++i)
        EXPECT_EQ(covered[i], sizes[i]) << "tensor " << i << " covered";
}

TEST(MultiTensorPlan, CoversEveryElementOnceInOrder) {
    expect_exact_cover({1, 16, 0, 16383, 16384, 16385, 100003, 0}, 16384, 64);
    expect_exact_cover({5, 0, 0, 9, 1}, 4, 2);  // several launches of two tensors
    std::vector<long long> many;
    for (int i = 0; i < 200; ++i) many.push_back((i * 7919) % 40000);
    expect_exact_cover(many, kernels::kMultiTensorChunk, kernels::kMaxTensorsPerLaunch);
    expect_exact_cover(many, 1, 3);  // one element per block
}

TEST(MultiTensorPlan, EmptyListsAndEmptyTensorsPlanNothing) {
    EXPECT_TRUE(plan_multi_tensor(std::vector<long long>{}).empty());
    EXPECT_TRUE(plan_multi_tensor(std::vector<long long>{0, 0}).empty());
    EXPECT_EQ(kernels::multi_tensor_blocks({}), 0);
}

TEST(MultiTensorPlan, DependsOnSizesOnly) {
    // The norm's summation order is the plan's block order: the same sizes, the same plan.
    const std::vector<long long> sizes = {3, 70000, 1, 0, 16384};
    const auto a = plan_multi_tensor(sizes), b = plan_multi_tensor(sizes);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].tensors, b[i].tensors);
        EXPECT_EQ(a[i].block_offset, b[i].block_offset);
        for (int t = 0; t <= a[i].table.count; ++t)
            EXPECT_EQ(a[i].table.first_block[t], b[i].table.first_block[t]);
    }
    // 70000 elements = 5 chunks of 16384 (4 full and 4464), then one each for 1 and 16384.
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].table.first_block[1], 1);
    EXPECT_EQ(a[0].table.first_block[2], 6);
    EXPECT_EQ(a[0].table.first_block[4], 8);
}

TEST(MultiTensorPlan, OwnerLookupAtTheBoundaries) {
    kernels::MultiTensorTable t;
    t.count = 3;
    const long long first[] = {0, 1, 4, 5};
    for (int i = 0; i < 4; ++i) t.first_block[i] = first[i];
    const int want[] = {0, 1, 1, 1, 2};
    for (long long b = 0; b < 5; ++b) EXPECT_EQ(kernels::multi_tensor_owner(t, b), want[b]) << b;
    t.count = 1;
    t.first_block[1] = 9;
    for (long long b = 0; b < 9; ++b) EXPECT_EQ(kernels::multi_tensor_owner(t, b), 0);
}

}  // namespace
}  // namespace pfce
