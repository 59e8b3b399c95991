// Buffers the layers borrow for values that die young: the gradients of activations (each is dead
// once the layer before it has consumed it) and the transposed convolution's output (dead once the
// concat has copied it). A Lease is a view (Tensor::borrow) on one block of the pool, handed back
// when the Lease dies. A request takes the smallest free block that holds it, else replaces the
// largest free block with one that does, else adds a block. Blocks are kept across calls, so a
// warm training step allocates nothing and the pool holds about the most the network has alive at
// once, not the sum over its layers.
#pragma once

#include <cstddef>
#include <vector>

#include "core/backend.hpp"

namespace pfce {

class BufferPool {
  public:
    explicit BufferPool(Backend& b) : b_(b) {}
    BufferPool(const BufferPool&) = delete;
    BufferPool& operator=(const BufferPool&) = delete;

    // A borrowed tensor (f32, or bf16 activations); its contents are whatever the block last held
    // (callers overwrite it).
    class Lease {
      public:
        Lease() = default;
        Lease(Lease&& o) noexcept;
        Lease& operator=(Lease&& o) noexcept;
        ~Lease() { reset(); }
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;

        bool empty() const { return pool_ == nullptr; }
        Tensor& operator*() { return view_; }
        Tensor* operator->() { return &view_; }
        void reset();  // hands the block back (nothing when empty)

      private:
        friend class BufferPool;
        BufferPool* pool_ = nullptr;
        std::size_t block_ = 0;
        Tensor view_;
    };

    Lease acquire(const Shape& shape, Layout layout = Layout::nchw, DType dtype = DType::f32);
    std::size_t bytes() const;  // held by all blocks
    std::size_t blocks() const { return blocks_.size(); }

  private:
    struct Block {
        Tensor mem;  // 1-D f32; sized and lent by bytes, so one block serves either dtype
        bool used = false;
    };
    Backend& b_;
    std::vector<Block> blocks_;
};

using Lease = BufferPool::Lease;

}  // namespace pfce
