// Tensor: an owning, move-only block of memory with a shape (rank 0..4), a dtype and a device.
// Host tensors are allocated here; device tensors are made by a Backend, which hands over a
// deleter, so core/ never links CUDA. Copies between devices are explicit Backend::copy calls.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "core/bf16.hpp"
#include "core/error.hpp"

namespace pfce {

// bf16: the storage of a network's activations and their gradients at precision bf16 where a
// backend keeps them so (Backend::activation_dtype); every other tensor is f32, u8 or i32.
enum class DType : std::uint8_t { f32, u8, i32, bf16 };
enum class DeviceKind : std::uint8_t { cpu, cuda };
// Memory order of a 4-D tensor's (N,C,H,W) elements. Every tensor is nchw unless a backend asks
// for nhwc (channels innermost) for the activations inside a network (Backend::activation_layout):
// the shape still reads (N,C,H,W); only ops that say so accept nhwc.
enum class Layout : std::uint8_t { nchw, nhwc };

std::size_t dtype_size(DType t);
const char* dtype_name(DType t);
const char* device_name(DeviceKind d);
const char* layout_name(Layout l);

template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
    return DType::f32;
}
template <>
constexpr DType dtype_of<std::uint8_t>() {
    return DType::u8;
}
template <>
constexpr DType dtype_of<std::int32_t>() {
    return DType::i32;
}
template <>
constexpr DType dtype_of<Bf16>() {
    return DType::bf16;
}

// Up to 4 dimensions, outermost first: (N,C,H,W) for images, (N,H,W) for label maps.
struct Shape {
    static constexpr int kMaxRank = 4;
    std::array<std::int64_t, kMaxRank> dims{};
    int rank = 0;

    Shape() = default;
    Shape(std::initializer_list<std::int64_t> d);
    std::int64_t operator[](int i) const { return dims[static_cast<std::size_t>(i)]; }
    std::int64_t numel() const;
    bool operator==(const Shape& o) const;
    bool operator!=(const Shape& o) const { return !(*this == o); }
    std::string str() const;  // "(2,6,300,300)"
};

class Tensor {
  public:
    using Deleter = void (*)(void*);

    Tensor() = default;
    // Takes ownership of `data`, freed with `deleter`; a null deleter makes a view that frees
    // nothing (made by borrow(), never by hand). `capacity`: bytes at `data` (at least the
    // shape's; 0 means exactly the shape's).
    Tensor(Shape shape, DType dtype, DeviceKind device, void* data, Deleter deleter,
           std::size_t capacity = 0);
    ~Tensor();
    Tensor(Tensor&& o) noexcept;
    Tensor& operator=(Tensor&& o) noexcept;
    Tensor(const Tensor&) = delete;
    Tensor& operator=(const Tensor&) = delete;

    // Host tensor, 64-byte aligned, zero-filled.
    static Tensor host(Shape shape, DType dtype);
    // A view of the memory of `owner` (same device) as `shape` of `dtype` in `layout`: it owns
    // nothing and must not outlive owner's memory (models/buffer_pool.hpp hands these out).
    // ShapeError when owner's capacity is too small.
    static Tensor borrow(Tensor& owner, Shape shape, Layout layout, DType dtype);
    // ... of owner's own dtype.
    static Tensor borrow(Tensor& owner, Shape shape, Layout layout = Layout::nchw) {
        return borrow(owner, shape, layout, owner.dtype());
    }

    const Shape& shape() const { return shape_; }
    DType dtype() const { return dtype_; }
    DeviceKind device() const { return device_; }
    std::int64_t numel() const { return shape_.numel(); }
    std::size_t bytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype_); }
    // Bytes of the memory behind the tensor: bytes() when it was made, and so after reuse_as() to
    // a smaller shape, more. A view's capacity is its own bytes.
    std::size_t capacity() const { return capacity_; }
    bool empty() const { return data_ == nullptr; }
    std::int64_t dim(int i) const { return shape_[i]; }
    Layout layout() const { return layout_; }
    // Relabels the memory order (the bytes stay): nhwc needs rank 4. Used on fresh tensors.
    void set_layout(Layout l);

    void* raw() { return data_; }
    const void* raw() const { return data_; }
    template <typename T>
    T* data() {
        check_dtype(dtype_of<T>());
        return static_cast<T*>(data_);
    }
    template <typename T>
    const T* data() const {
        check_dtype(dtype_of<T>());
        return static_cast<const T*>(data_);
    }

    // Same memory, new shape with the same element count (e.g. (N,H,W) -> (N,1,H,W)); nchw only.
    void reshape(Shape s);
    // Same memory relabelled as `shape`, `dtype`, `layout`, which must fit in capacity()
    // (ShapeError otherwise); the bytes are left as they are. What lets a kept buffer serve a
    // smaller batch (a short last batch, evaluation) and the full one again without reallocating:
    // see ensure_tensor (core/backend.hpp).
    void reuse_as(Shape shape, DType dtype, Layout layout = Layout::nchw);
    std::string describe() const;  // "f32(2,6,300,300)@cpu", "f32(2,16,8,8)nhwc@cpu"

  private:
    void check_dtype(DType want) const;
    void release() noexcept;

    Shape shape_{};
    DType dtype_ = DType::f32;
    DeviceKind device_ = DeviceKind::cpu;
    Layout layout_ = Layout::nchw;
    void* data_ = nullptr;
    Deleter deleter_ = nullptr;
    std::size_t capacity_ = 0;
};

// The memory ops of the host backends (CPU, reference): dst <- src for host tensors of the same
// shape, dtype and layout, and every element of a host tensor <- value (f32: value; bf16: value
// rounded to bf16; u8, i32: static_cast). ShapeError for a device tensor or a mismatch.
void copy_host(Tensor& dst, const Tensor& src);
void fill_host(Tensor& t, float value);

}  // namespace pfce
