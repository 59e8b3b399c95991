// Multi-tensor launches: one kernel launch for an op over a whole list of tensors (a model's
// parameters or gradients) instead of one launch per tensor, as PyTorch's foreach/fused
// optimizers and apex's multi_tensor_apply do. The host splits every tensor into fixed chunks of
// kChunk elements, one CUDA block per chunk, and passes a table of at most kMaxTensors tensors by
// value as the kernel's parameter (no upload, so a step stays capturable in a CUDA graph); a block
// finds its tensor by binary search of the table's block prefix.
//
// The plan is a function of the tensor sizes only, so a reduction over chunks (the gradient norm)
// sums in the same order on every run and every GPU. Host planning and the device lookup are
// plain code tested on the CPU (tests/test_multi_tensor.cpp).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/kernels/hd.hpp"

namespace pfce::kernels {

// Elements per block: large enough that a block's fixed cost is small next to its memory traffic,
// small enough that the ~1M-parameter U-Nets still give every SM a block or more.
constexpr long long kMultiTensorChunk = 16384;
// Tensors per launch. The parameter structs of cuda/optim_multi.cu stay under the classic 4 KiB
// kernel-parameter limit with this many (checked there by static_assert).
constexpr int kMaxTensorsPerLaunch = 64;

// The part of a launch's table every multi-tensor kernel reads: which tensors, how many blocks
// each. first_block[t] is the first block of tensor t (first_block[0] = 0), first_block[count] the
// launch's block count.
struct MultiTensorTable {
    int count = 0;
    long long first_block[kMaxTensorsPerLaunch + 1] = {};
    long long numel[kMaxTensorsPerLaunch] = {};
};

// The tensor of `table` that block `block` (< first_block[count]) works on: the last t with
// first_block[t] <= block. Tensors of the plan are never empty, so the prefix is strictly rising.
PFCE_HD inline int multi_tensor_owner(const MultiTensorTable& table, long long block) {
    int lo = 0, hi = table.count - 1;
    while (lo < hi) {
        const int mid = (lo + hi + 1) / 2;
        if (table.first_block[mid] <= block)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

// One launch of a plan: `tensors` are indices into the caller's list (empty tensors are left
// out: they have nothing to update and add nothing to a sum); `block_offset` is the launch's first
// block counted over the whole plan (where its per-block partial sums go).
struct MultiTensorLaunch {
    MultiTensorTable table;
    std::vector<int> tensors;
    long long block_offset = 0;
};

// Splits tensors of sizes `numel` (in list order) into launches of at most `max_tensors` tensors
// and chunks of `chunk` elements.
inline std::vector<MultiTensorLaunch> plan_multi_tensor(std::span<const long long> numel,
                                                        long long chunk = kMultiTensorChunk,
                                                        int max_tensors = kMaxTensorsPerLaunch) {
    std::vector<MultiTensorLaunch> plan;
    long long offset = 0;
    for (std::size_t i = 0; i < numel.size(); ++i) {
        if (numel[i] <= 0) continue;
        if (plan.empty() || plan.back().table.count == max_tensors) {
            plan.emplace_back();
            plan.back().block_offset = offset;
        }
        MultiTensorLaunch& l = plan.back();
        const int t = l.table.count++;
        l.tensors.push_back(static_cast<int>(i));
        l.table.numel[t] = numel[i];
        const long long blocks = (numel[i] + chunk - 1) / chunk;
        l.table.first_block[t + 1] = l.table.first_block[t] + blocks;
        offset += blocks;
    }
    return plan;
}

// Total blocks of a plan (the number of per-block partial sums a reduction writes).
inline long long multi_tensor_blocks(const std::vector<MultiTensorLaunch>& plan) {
    return plan.empty()
               ? 0
               : plan.back().block_offset + plan.back().table.first_block[plan.back().table.count];
}

}  // namespace pfce::kernels
