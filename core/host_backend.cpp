// Host-memory backends: the memory methods they share (see host_backend.hpp).
#include "core/host_backend.hpp"

#include "core/kernels/precision.hpp"

namespace pfce {

DeviceKind HostBackend::device() const {
    return DeviceKind::cpu;
}

Tensor HostBackend::zeros(Shape shape, DType dtype) {
    return Tensor::host(shape, dtype);
}

Tensor HostBackend::host_staging(Shape shape, DType dtype) {
    return Tensor::host(shape, dtype);
}

void HostBackend::copy(Tensor& dst, const Tensor& src) {
    copy_host(dst, src);
}

void HostBackend::fill(Tensor& t, float value) {
    fill_host(t, value);
}

void HostBackend::synchronize() {}

// ---- convolution precision -----------------------------------------------------------------

namespace {

// Calls fn(e, c) for every element e of a 4-D activation t, in memory order, with its channel c.
template <typename Fn>
void for_each_with_channel(const Tensor& t, Fn fn) {
    const std::int64_t c_count = t.dim(1), hw = t.dim(2) * t.dim(3);
    std::int64_t e = 0;
    if (t.layout() == Layout::nhwc) {
        for (std::int64_t q = 0; q < t.dim(0) * hw; ++q)
            for (std::int64_t c = 0; c < c_count; ++c) fn(e++, c);
    } else {
        for (std::int64_t plane = 0; plane < t.dim(0) * c_count; ++plane)
            for (std::int64_t p = 0; p < hw; ++p) fn(e++, plane % c_count);
    }
}

}  // namespace

const Tensor& HostBackend::conv_operand(int slot, const Tensor& t) {
    if (precision_ == Precision::fp32) return t;
    Tensor& buf = rounded_[slot];
    if (buf.empty() || buf.numel() < t.numel()) buf = Tensor::host({t.numel()}, DType::f32);
    Tensor& view = operand_[slot];
    view = Tensor::borrow(buf, t.shape(), t.layout());
    round_values(t.data<float>(), view.data<float>(), t.numel(), false);
    return view;
}

void HostBackend::round_values(const float* src, float* dst, std::int64_t n, bool result) const {
    if (result)
        for (std::int64_t i = 0; i < n; ++i) dst[i] = kernels::round_result(precision_, src[i]);
    else
        for (std::int64_t i = 0; i < n; ++i) dst[i] = kernels::round_operand(precision_, src[i]);
}

const Tensor& HostBackend::fused_bias(const Tensor& bias) const {
    return precision_ == Precision::fp32 ? bias : none_;
}

Tensor& HostBackend::fused_bias(Tensor& dbias) {
    return precision_ == Precision::fp32 ? dbias : none_;
}

void HostBackend::finish_output(Tensor& out, const Tensor& bias) const {
    if (precision_ == Precision::fp32) return;
    float* y = out.data<float>();
    round_values(y, y, out.numel(), true);
    if (bias.empty()) return;
    const float* b = bias.data<float>();
    for_each_with_channel(out, [&](std::int64_t e, std::int64_t c) { y[e] += b[c]; });
}

void HostBackend::finish_filter_gradient(Tensor& dw, const Tensor& dy, Tensor& dbias) const {
    if (precision_ == Precision::fp32) return;
    round_values(dw.data<float>(), dw.data<float>(), dw.numel(), true);
    if (dbias.empty()) return;
    sums_.assign(static_cast<std::size_t>(dbias.numel()),
                 0.0);  // grow-only: no steady-state allocation
    const float* d = dy.data<float>();
    for_each_with_channel(
        dy, [&](std::int64_t e, std::int64_t c) { sums_[static_cast<std::size_t>(c)] += d[e]; });
    for (std::int64_t c = 0; c < dbias.numel(); ++c)
        dbias.data<float>()[c] = static_cast<float>(sums_[static_cast<std::size_t>(c)]);
}

}  // namespace pfce
