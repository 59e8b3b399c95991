// The layers' pool of short-lived buffers (see buffer_pool.hpp).
#include "models/buffer_pool.hpp"

#include <utility>

namespace pfce {

BufferPool::Lease::Lease(Lease&& o) noexcept
    : pool_(std::exchange(o.pool_, nullptr)), block_(o.block_), view_(std::move(o.view_)) {}

BufferPool::Lease& BufferPool::Lease::operator=(Lease&& o) noexcept {
    if (this != &o) {
        reset();
        pool_ = std::exchange(o.pool_, nullptr);
        block_ = o.block_;
        view_ = std::move(o.view_);
    }
    return *this;
}

void BufferPool::Lease::reset() {
    if (!pool_) return;
    pool_->blocks_[block_].used = false;
    pool_ = nullptr;
    view_ = Tensor();
}

BufferPool::Lease BufferPool::acquire(const Shape& shape, Layout layout, DType dtype) {
    // In f32 elements (the blocks' unit), rounded up: a bf16 request of n needs ceil(n/2).
    const std::int64_t need =
        (shape.numel() * static_cast<std::int64_t>(dtype_size(dtype)) + 3) / 4;
    std::size_t fit = blocks_.size(), largest = blocks_.size();
    for (std::size_t i = 0; i < blocks_.size(); ++i) {
        if (blocks_[i].used) continue;
        const std::int64_t have = blocks_[i].mem.numel();
        if (have >= need && (fit == blocks_.size() || have < blocks_[fit].mem.numel())) fit = i;
        if (largest == blocks_.size() || have > blocks_[largest].mem.numel()) largest = i;
    }
    if (fit == blocks_.size()) {
        // Nothing free is big enough: grow the largest free block (its old size is then never
        // needed again by a request it could hold) or add one.
        fit = largest;
        if (fit == blocks_.size()) {
            blocks_.emplace_back();
            fit = blocks_.size() - 1;
        }
        blocks_[fit].mem = Tensor();  // free before allocating: the peak holds one of the two
        blocks_[fit].mem = b_.zeros({std::max<std::int64_t>(need, 1)}, DType::f32);
    }
    Lease l;
    l.pool_ = this;
    l.block_ = fit;
    l.view_ = Tensor::borrow(blocks_[fit].mem, shape, layout, dtype);
    blocks_[fit].used = true;
    return l;
}

std::size_t BufferPool::bytes() const {
    std::size_t n = 0;
    for (const Block& b : blocks_) n += b.mem.bytes();
    return n;
}

}  // namespace pfce
