// Reference small U-Net ops, element by element with every index spelled out: ReLU, 2x2 max-pool
// (floor; the gradient goes to the first maximum of each window in row-major order), channel
// concat, numpy-'reflect' padding, crop, and per-pixel argmax (first maximum wins). No arithmetic
// beyond comparisons and copies, so every backend must match these bit for bit.
#include "core/op_checks.hpp"
#include "host/reference/reference_backend.hpp"

namespace pfce {

namespace {

// Element (i, c, y, x) of an (N,C,H,W) tensor t.
float& at(Tensor& t, std::int64_t i, std::int64_t c, std::int64_t y, std::int64_t x) {
    return t.data<float>()[((i * t.dim(1) + c) * t.dim(2) + y) * t.dim(3) + x];
}
float at(const Tensor& t, std::int64_t i, std::int64_t c, std::int64_t y, std::int64_t x) {
    return t.data<float>()[((i * t.dim(1) + c) * t.dim(2) + y) * t.dim(3) + x];
}

// Calls f(i, c, r, q) for every element (i, c, r, q) of an (N,C,H,W) tensor t, in memory order.
template <typename F>
void for_each_element(const Tensor& t, F f) {
    for (std::int64_t i = 0; i < t.dim(0); ++i)
        for (std::int64_t c = 0; c < t.dim(1); ++c)
            for (std::int64_t r = 0; r < t.dim(2); ++r)
                for (std::int64_t q = 0; q < t.dim(3); ++q) f(i, c, r, q);
}

// Source index along a side of length n of output index o, for the input placed at offset off
// and mirrored at both ends without repeating the edge: ... 2 1 [0 1 2 ... n-1] n-2 n-3 ...
std::int64_t mirrored(std::int64_t o, std::int64_t off, std::int64_t n) {
    std::int64_t t = o - off;
    if (t < 0) t = -t;
    if (t > n - 1) t = 2 * (n - 1) - t;
    return t;
}

}  // namespace

void ReferenceBackend::relu_forward(const Tensor& x, Tensor& y) {
    check_relu_forward_args(x, y, DeviceKind::cpu);
    for (std::int64_t i = 0; i < x.numel(); ++i) {
        const float v = x.data<float>()[i];  // x may be y
        y.data<float>()[i] = v > 0.0f ? v : 0.0f;
    }
}

void ReferenceBackend::relu_backward(const Tensor& y, const Tensor& dy, Tensor& dx) {
    check_relu_backward_args(y, dy, dx, DeviceKind::cpu);
    for (std::int64_t i = 0; i < y.numel(); ++i)
        dx.data<float>()[i] = y.data<float>()[i] > 0.0f ? dy.data<float>()[i] : 0.0f;
}

void ReferenceBackend::maxpool2x2_forward(const Tensor& x, Tensor& y) {
    check_maxpool2x2_forward_args(x, y, DeviceKind::cpu);
    for_each_element(y, [&](std::int64_t i, std::int64_t c, std::int64_t oy, std::int64_t ox) {
        float m = at(x, i, c, 2 * oy, 2 * ox);  // window (0,0)
        for (int a = 0; a < 2; ++a)
            for (int b = 0; b < 2; ++b)
                if (at(x, i, c, 2 * oy + a, 2 * ox + b) > m)
                    m = at(x, i, c, 2 * oy + a, 2 * ox + b);
        at(y, i, c, oy, ox) = m;
    });
}

void ReferenceBackend::maxpool2x2_backward(const Tensor& x, const Tensor& y, const Tensor& dy,
                                           Tensor& dx) {
    check_maxpool2x2_backward_args(x, y, dy, dx, DeviceKind::cpu);
    for (std::int64_t k = 0; k < dx.numel(); ++k) dx.data<float>()[k] = 0.0f;  // odd edges too
    for_each_element(y, [&](std::int64_t i, std::int64_t c, std::int64_t oy, std::int64_t ox) {
        // The first window element (row-major) equal to the max; the last one when none is (a
        // NaN max).
        int wa = 1, wb = 1;
        bool found = false;
        for (int a = 0; a < 2 && !found; ++a)
            for (int b = 0; b < 2 && !found; ++b)
                if (at(x, i, c, 2 * oy + a, 2 * ox + b) == at(y, i, c, oy, ox)) {
                    wa = a;
                    wb = b;
                    found = true;
                }
        at(dx, i, c, 2 * oy + wa, 2 * ox + wb) = at(dy, i, c, oy, ox);
    });
}

// y[i] = [a[i]; b[i]] along channels.
void ReferenceBackend::concat_channels(const Tensor& a, const Tensor& b, Tensor& y) {
    check_concat_channels_args(a, b, y, DeviceKind::cpu);
    const std::int64_t ca = a.dim(1);
    for_each_element(y, [&](std::int64_t i, std::int64_t c, std::int64_t r, std::int64_t q) {
        at(y, i, c, r, q) = c < ca ? at(a, i, c, r, q) : at(b, i, c - ca, r, q);
    });
}

void ReferenceBackend::concat_channels_backward(const Tensor& dy, Tensor& da, Tensor& db) {
    check_concat_channels_backward_args(dy, da, db, DeviceKind::cpu);
    const std::int64_t ca = da.dim(1);
    for_each_element(dy, [&](std::int64_t i, std::int64_t c, std::int64_t r, std::int64_t q) {
        (c < ca ? at(da, i, c, r, q) : at(db, i, c - ca, r, q)) = at(dy, i, c, r, q);
    });
}

void ReferenceBackend::reflect_pad(const Tensor& x, Tensor& y, int top, int left) {
    check_reflect_pad_args(x, y, top, left, DeviceKind::cpu);
    for_each_element(y, [&](std::int64_t i, std::int64_t c, std::int64_t r, std::int64_t q) {
        at(y, i, c, r, q) = at(x, i, c, mirrored(r, top, x.dim(2)), mirrored(q, left, x.dim(3)));
    });
}

void ReferenceBackend::crop(const Tensor& x, Tensor& y, int top, int left) {
    check_crop_args(x, y, top, left, DeviceKind::cpu);
    for_each_element(y, [&](std::int64_t i, std::int64_t c, std::int64_t r, std::int64_t q) {
        at(y, i, c, r, q) = at(x, i, c, top + r, left + q);
    });
}

void ReferenceBackend::crop_backward(const Tensor& dy, Tensor& dx, int top, int left) {
    check_crop_backward_args(dy, dx, top, left, DeviceKind::cpu);
    for_each_element(dx, [&](std::int64_t i, std::int64_t c, std::int64_t r, std::int64_t q) {
        const bool inside = r >= top && r < top + dy.dim(2) && q >= left && q < left + dy.dim(3);
        at(dx, i, c, r, q) = inside ? at(dy, i, c, r - top, q - left) : 0.0f;
    });
}

void ReferenceBackend::argmax_channels(const Tensor& logits, Tensor& pred) {
    check_argmax_channels_args(logits, pred, DeviceKind::cpu);
    for (std::int64_t i = 0; i < logits.dim(0); ++i)
        for (std::int64_t r = 0; r < logits.dim(2); ++r)
            for (std::int64_t q = 0; q < logits.dim(3); ++q) {
                std::int64_t best = 0;
                for (std::int64_t c = 1; c < logits.dim(1); ++c)
                    if (at(logits, i, c, r, q) > at(logits, i, best, r, q)) best = c;
                pred.data<std::uint8_t>()[(i * pred.dim(1) + r) * pred.dim(2) + q] =
                    static_cast<std::uint8_t>(best);
            }
}

}  // namespace pfce
