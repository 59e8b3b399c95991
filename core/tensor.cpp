// Tensor bookkeeping and host allocation.
#include "core/tensor.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <utility>

#include "core/enum_names.hpp"
#include "core/kernels/precision.hpp"

namespace pfce {

std::size_t dtype_size(DType t) {
    switch (t) {
        case DType::f32:
            return 4;
        case DType::u8:
            return 1;
        case DType::i32:
            return 4;
        case DType::bf16:
            return 2;
    }
    return 0;
}

const char* dtype_name(DType t) {
    static const EnumName<DType> names[] = {
        {DType::f32, "f32"}, {DType::u8, "u8"}, {DType::i32, "i32"}, {DType::bf16, "bf16"}};
    return enum_name(t, names);
}

const char* device_name(DeviceKind d) {
    return d == DeviceKind::cpu ? "cpu" : "cuda";
}

const char* layout_name(Layout l) {
    return l == Layout::nchw ? "nchw" : "nhwc";
}

Shape::Shape(std::initializer_list<std::int64_t> d) {
    if (d.size() > kMaxRank) PFCE_THROW(ShapeError, "shape rank ", d.size(), " exceeds ", kMaxRank);
    rank = static_cast<int>(d.size());
    std::size_t i = 0;
    for (std::int64_t v : d) {
        if (v < 0) PFCE_THROW(ShapeError, "negative dimension ", v);
        dims[i++] = v;
    }
}

std::int64_t Shape::numel() const {
    std::int64_t n = 1;
    for (int i = 0; i < rank; ++i) n *= dims[static_cast<std::size_t>(i)];
    return n;
}

bool Shape::operator==(const Shape& o) const {
    if (rank != o.rank) return false;
    for (int i = 0; i < rank; ++i)
        if (dims[static_cast<std::size_t>(i)] != o.dims[static_cast<std::size_t>(i)]) return false;
    return true;
}

std::string Shape::str() const {
    std::ostringstream os;
    os << '(';
    for (int i = 0; i < rank; ++i) os << (i ? "," : "") << dims[static_cast<std::size_t>(i)];
    os << ')';
    return os.str();
}

Tensor::Tensor(Shape shape, DType dtype, DeviceKind device, void* data, Deleter deleter,
               std::size_t capacity)
    : shape_(shape), dtype_(dtype), device_(device), data_(data), deleter_(deleter) {
    capacity_ = std::max(capacity, bytes());
}

Tensor::~Tensor() {
    release();
}

Tensor::Tensor(Tensor&& o) noexcept
    : shape_(o.shape_),
      dtype_(o.dtype_),
      device_(o.device_),
      layout_(o.layout_),
      data_(o.data_),
      deleter_(o.deleter_),
      capacity_(o.capacity_) {
    o.data_ = nullptr;
    o.deleter_ = nullptr;
    o.capacity_ = 0;
    o.shape_ = Shape{};
    o.layout_ = Layout::nchw;
}

Tensor& Tensor::operator=(Tensor&& o) noexcept {
    if (this != &o) {
        release();
        shape_ = o.shape_;
        dtype_ = o.dtype_;
        device_ = o.device_;
        layout_ = std::exchange(o.layout_, Layout::nchw);
        data_ = std::exchange(o.data_, nullptr);
        deleter_ = std::exchange(o.deleter_, nullptr);
        capacity_ = std::exchange(o.capacity_, 0);
        o.shape_ = Shape{};
    }
    return *this;
}

void Tensor::release() noexcept {
    if (data_ && deleter_) deleter_(data_);
    data_ = nullptr;
    deleter_ = nullptr;
    capacity_ = 0;
}

Tensor Tensor::borrow(Tensor& owner, Shape shape, Layout layout, DType dtype) {
    PFCE_CHECK_SHAPE(
        !owner.empty() &&
            static_cast<std::size_t>(shape.numel()) * dtype_size(dtype) <= owner.capacity(),
        "cannot borrow ", dtype_name(dtype), shape.str(), " from ", owner.describe());
    Tensor t(shape, dtype, owner.device(), owner.raw(), nullptr);
    t.set_layout(layout);
    return t;
}

static void free_host(void* p) {
    std::free(p);
}

Tensor Tensor::host(Shape shape, DType dtype) {
    std::size_t bytes = static_cast<std::size_t>(shape.numel()) * dtype_size(dtype);
    std::size_t rounded = ((bytes + 63) / 64) * 64;
    if (rounded == 0) rounded = 64;  // keep a valid pointer for empty shapes
    void* p = std::aligned_alloc(64, rounded);
    if (!p)
        PFCE_THROW(SystemError, "out of host memory allocating ", bytes, " bytes for ",
                   shape.str());
    std::memset(p, 0, rounded);
    return Tensor(shape, dtype, DeviceKind::cpu, p, &free_host);
}

void Tensor::set_layout(Layout l) {
    PFCE_CHECK_SHAPE(l == Layout::nchw || shape_.rank == 4, "layout ", layout_name(l), " for ",
                     describe(), ": only 4-D tensors have a channel order");
    layout_ = l;
}

void Tensor::reuse_as(Shape shape, DType dtype, Layout layout) {
    const std::size_t need = static_cast<std::size_t>(shape.numel()) * dtype_size(dtype);
    PFCE_CHECK_SHAPE(!empty() && need <= capacity_, "cannot reuse ", describe(), " (", capacity_,
                     " bytes) as ", dtype_name(dtype), shape.str());
    PFCE_CHECK_SHAPE(layout == Layout::nchw || shape.rank == 4, "layout ", layout_name(layout),
                     " for ", dtype_name(dtype), shape.str(),
                     ": only 4-D tensors have a channel order");
    shape_ = shape;
    dtype_ = dtype;
    layout_ = layout;
}

void Tensor::reshape(Shape s) {
    PFCE_CHECK_SHAPE(layout_ == Layout::nchw, "reshape of ", describe(),
                     ": only an nchw tensor has a plain element order");
    if (s.numel() != shape_.numel())
        PFCE_THROW(ShapeError, "reshape ", shape_.str(), " -> ", s.str(),
                   " changes the element count");
    shape_ = s;
}

std::string Tensor::describe() const {
    return std::string(dtype_name(dtype_)) + shape_.str() +
           (layout_ == Layout::nchw ? "" : layout_name(layout_)) + "@" + device_name(device_);
}

void Tensor::check_dtype(DType want) const {
    if (want != dtype_)
        PFCE_THROW(ShapeError, "tensor ", describe(), " accessed as ", dtype_name(want));
}

void copy_host(Tensor& dst, const Tensor& src) {
    PFCE_CHECK_SHAPE(dst.device() == DeviceKind::cpu && src.device() == DeviceKind::cpu,
                     "a host backend copies host tensors only: ", dst.describe(), " <- ",
                     src.describe());
    PFCE_CHECK_SHAPE(
        dst.shape() == src.shape() && dst.dtype() == src.dtype() && dst.layout() == src.layout(),
        dst.describe(), " <- ", src.describe());
    if (dst.raw() != src.raw() && src.bytes() > 0) std::memcpy(dst.raw(), src.raw(), src.bytes());
}

void fill_host(Tensor& t, float value) {
    PFCE_CHECK_SHAPE(t.device() == DeviceKind::cpu, t.describe());
    const std::int64_t n = t.numel();
    switch (t.dtype()) {
        case DType::f32: {
            float* p = t.data<float>();
            for (std::int64_t i = 0; i < n; ++i) p[i] = value;
            break;
        }
        case DType::u8:
            std::memset(t.raw(), static_cast<std::uint8_t>(value), static_cast<std::size_t>(n));
            break;
        case DType::i32: {
            std::int32_t* p = t.data<std::int32_t>();
            for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<std::int32_t>(value);
            break;
        }
        case DType::bf16: {
            Bf16* p = t.data<Bf16>();
            for (std::int64_t i = 0; i < n; ++i) kernels::store_value(p + i, value);
            break;
        }
    }
}

}  // namespace pfce
