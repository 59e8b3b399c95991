// CPU backend: the small U-Net ops: ReLU, 2x2 max-pool, channel concat, reflect pad, crop and
// per-pixel argmax. Plain loops over (N,C) planes with OpenMP, and for the ops that also take
// nhwc activations (ReLU, max-pool, concat) loops over pixels with the channels innermost; the
// tie and index rules are core/kernels/layers.hpp, shared with cuda/layers.cu.
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "core/kernels/layers.hpp"
#include "core/op_checks.hpp"
#include "host/cpu/cpu_backend.hpp"

namespace pfce {

void CpuBackend::relu_forward(const Tensor& x, Tensor& y) {
    check_relu_forward_args(x, y, DeviceKind::cpu, true);
    const float* px = x.data<float>();
    float* py = y.data<float>();
    const std::int64_t n = x.numel();
#pragma omp parallel for simd schedule(static)
    for (std::int64_t i = 0; i < n; ++i) py[i] = px[i] > 0.0f ? px[i] : 0.0f;
}

void CpuBackend::relu_backward(const Tensor& y, const Tensor& dy, Tensor& dx) {
    check_relu_backward_args(y, dy, dx, DeviceKind::cpu, true);
    const float* py = y.data<float>();
    const float* pdy = dy.data<float>();
    float* pdx = dx.data<float>();
    const std::int64_t n = y.numel();
    // Both loads unconditional so the loop vectorizes into a select (no data-dependent branch).
#pragma omp parallel for simd schedule(static)
    for (std::int64_t i = 0; i < n; ++i) {
        const float g = pdy[i];
        pdx[i] = py[i] > 0.0f ? g : 0.0f;
    }
}

namespace {

// nhwc max-pool: x (N,H,W,C) -> y (N,H/2,W/2,C); each output pixel's C values from the four
// pixels of its window, in the window order of kernels::window_max_2x2.
void maxpool_nhwc(const float* x, float* y, std::int64_t n, std::int64_t h, std::int64_t w,
                  std::int64_t c) {
    const std::int64_t ho = h / 2, wo = w / 2;
#pragma omp parallel for collapse(2) schedule(static)
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t oy = 0; oy < ho; ++oy)
            for (std::int64_t ox = 0; ox < wo; ++ox) {
                const float* r0 = x + ((i * h + 2 * oy) * w + 2 * ox) * c;  // (0,0); (0,1) at +c
                const float* r1 = r0 + w * c;                               // (1,0); (1,1) at +c
                float* yo = y + ((i * ho + oy) * wo + ox) * c;
#pragma omp simd
                for (std::int64_t k = 0; k < c; ++k)
                    yo[k] = kernels::max_first(kernels::max_first(r0[k], r0[c + k]),
                                               kernels::max_first(r1[k], r1[c + k]));
            }
}

// Its backward: each window's gradient to the first of its four values equal to the pooled max
// (kernels::window_argmax_2x2: the last one when none is, for a NaN max), 0 to the other three,
// and 0 to a row or column an odd size left unpooled. Selects, so the channel loop vectorizes.
void maxpool_backward_nhwc(const float* x, const float* y, const float* dy, float* dx,
                           std::int64_t n, std::int64_t h, std::int64_t w, std::int64_t c) {
    const std::int64_t ho = h / 2, wo = w / 2;
#pragma omp parallel for collapse(2) schedule(static)
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t iy = 0; iy < h; ++iy) {
            float* row = dx + (i * h + iy) * w * c;
            if (iy >= 2 * ho) {
                std::fill_n(row, w * c, 0.0f);
                continue;
            }
            if (iy % 2 == 1) continue;  // written with the row above
            for (std::int64_t ox = 0; ox < wo; ++ox) {
                const std::int64_t at = ((i * h + iy) * w + 2 * ox) * c;
                const float* a = x + at;
                const float* b = a + c;
                const float* d = a + w * c;
                const float* m = y + ((i * ho + iy / 2) * wo + ox) * c;
                const float* g = dy + ((i * ho + iy / 2) * wo + ox) * c;
                float* da = dx + at;
                float* db = da + c;
                float* dd = da + w * c;
                float* de = dd + c;
#pragma omp simd
                for (std::int64_t k = 0; k < c; ++k) {
                    const bool ta = a[k] == m[k];
                    const bool tb = !ta && b[k] == m[k];
                    const bool td = !ta && !tb && d[k] == m[k];
                    const bool te = !ta && !tb && !td;
                    da[k] = ta ? g[k] : 0.0f;
                    db[k] = tb ? g[k] : 0.0f;
                    dd[k] = td ? g[k] : 0.0f;
                    de[k] = te ? g[k] : 0.0f;
                }
            }
            // An odd last column: its two pixels (this row and the next) were never pooled.
            for (std::int64_t col = 2 * wo; col < w; ++col) {
                std::fill_n(row + col * c, c, 0.0f);
                std::fill_n(row + (w + col) * c, c, 0.0f);
            }
        }
}

}  // namespace

void CpuBackend::maxpool2x2_forward(const Tensor& x, Tensor& y) {
    check_maxpool2x2_forward_args(x, y, DeviceKind::cpu, true);
    if (x.layout() == Layout::nhwc) {
        maxpool_nhwc(x.data<float>(), y.data<float>(), x.dim(0), x.dim(2), x.dim(3), x.dim(1));
        return;
    }
    const std::int64_t planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3);
    const std::int64_t ho = h / 2, wo = w / 2;
    const float* px = x.data<float>();
    float* py = y.data<float>();
#pragma omp parallel for schedule(static)
    for (std::int64_t p = 0; p < planes; ++p) {
        const float* xp = px + p * h * w;  // (H,W)
        float* yp = py + p * ho * wo;      // (H/2,W/2)
        for (std::int64_t i = 0; i < ho; ++i) {
            const float* r0 = xp + 2 * i * w;
            const float* r1 = r0 + w;
            for (std::int64_t j = 0; j < wo; ++j)
                yp[i * wo + j] = kernels::window_max_2x2(r0 + 2 * j, r1 + 2 * j);
        }
    }
}

void CpuBackend::maxpool2x2_backward(const Tensor& x, const Tensor& y, const Tensor& dy,
                                     Tensor& dx) {
    check_maxpool2x2_backward_args(x, y, dy, dx, DeviceKind::cpu, true);
    if (x.layout() == Layout::nhwc) {
        maxpool_backward_nhwc(x.data<float>(), y.data<float>(), dy.data<float>(), dx.data<float>(),
                              x.dim(0), x.dim(2), x.dim(3), x.dim(1));
        return;
    }
    const std::int64_t planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3);
    const std::int64_t ho = h / 2, wo = w / 2;
    const float* px = x.data<float>();
    const float* py = y.data<float>();
    const float* pdy = dy.data<float>();
    float* pdx = dx.data<float>();
#pragma omp parallel for schedule(static)
    for (std::int64_t p = 0; p < planes; ++p) {
        const float* xp = px + p * h * w;
        float* dxp = pdx + p * h * w;
        // Rows/columns left over by an odd size were never pooled: their gradient is 0.
        std::fill_n(dxp, h * w, 0.0f);
        for (std::int64_t i = 0; i < ho; ++i)
            for (std::int64_t j = 0; j < wo; ++j) {
                const float m = py[p * ho * wo + i * wo + j];
                dxp[kernels::window_argmax_2x2(xp, 2 * i * w + 2 * j, w, m)] =
                    pdy[p * ho * wo + i * wo + j];
            }
    }
}

namespace {

// The concat's rows: with n items, each [a (sa values); b (sb values)] in `joined`. nchw: an item
// is an image, [a (Ca,H,W); b (Cb,H,W)]; nhwc: a pixel, [a (Ca); b (Cb)]. Join copies a and b into
// joined; split copies joined back out (the backward).
struct ConcatRows {
    std::int64_t n, sa, sb;
};
ConcatRows concat_rows(const Tensor& a, const Tensor& b) {
    const bool nhwc = a.layout() == Layout::nhwc;
    const std::int64_t n = nhwc ? a.dim(0) * a.dim(2) * a.dim(3) : a.dim(0);
    return {n, a.numel() / std::max<std::int64_t>(n, 1), b.numel() / std::max<std::int64_t>(n, 1)};
}
// Join when the parts are read (const) and `joined` written; split (the backward) the other way.
template <typename Part, typename Joined>
void copy_concat_rows(const ConcatRows& r, Part* a, Part* b, Joined* joined) {
    constexpr bool join = std::is_const_v<Part>;
    static_assert(join != std::is_const_v<Joined>, "one side is read, the other written");
    const auto bytes = [](std::int64_t v) { return sizeof(float) * static_cast<std::size_t>(v); };
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < r.n; ++i) {
        Joined* row = joined + i * (r.sa + r.sb);
        if constexpr (join) {
            std::memcpy(row, a + i * r.sa, bytes(r.sa));
            std::memcpy(row + r.sa, b + i * r.sb, bytes(r.sb));
        } else {
            std::memcpy(a + i * r.sa, row, bytes(r.sa));
            std::memcpy(b + i * r.sb, row + r.sa, bytes(r.sb));
        }
    }
}

}  // namespace

void CpuBackend::concat_channels(const Tensor& a, const Tensor& b, Tensor& y) {
    check_concat_channels_args(a, b, y, DeviceKind::cpu, true);
    copy_concat_rows(concat_rows(a, b), a.data<float>(), b.data<float>(), y.data<float>());
}

void CpuBackend::concat_channels_backward(const Tensor& dy, Tensor& da, Tensor& db) {
    check_concat_channels_backward_args(dy, da, db, DeviceKind::cpu, true);
    copy_concat_rows(concat_rows(da, db), da.data<float>(), db.data<float>(), dy.data<float>());
}

void CpuBackend::reflect_pad(const Tensor& x, Tensor& y, int top, int left) {
    check_reflect_pad_args(x, y, top, left, DeviceKind::cpu);
    const std::int64_t h = x.dim(2), w = x.dim(3), h2 = y.dim(2), w2 = y.dim(3);
    const std::int64_t planes = x.dim(0) * x.dim(1);
    const float* px = x.data<float>();
    float* py = y.data<float>();
#pragma omp parallel for schedule(static)
    for (std::int64_t p = 0; p < planes; ++p) {
        const float* xp = px + p * h * w;
        float* yp = py + p * h2 * w2;
        for (std::int64_t i = 0; i < h2; ++i) {
            const float* xr = xp + kernels::reflect_index<std::int64_t>(i, top, h) * w;
            float* yr = yp + i * w2;
            for (std::int64_t j = 0; j < w2; ++j)
                yr[j] = xr[kernels::reflect_index<std::int64_t>(j, left, w)];
        }
    }
}

namespace {

// The rows a crop copies between a big (N,C,H,W) tensor and its (N,C,H2,W2) window at (top,
// left): row i of plane p of the window starts at small(p, i) in the crop and at big(p, i) in the
// big tensor.
struct CropRows {
    std::int64_t planes, h, w, h2, w2, top, left;
    CropRows(const Tensor& big_t, const Tensor& small_t, int top_, int left_)
        : planes(big_t.dim(0) * big_t.dim(1)),
          h(big_t.dim(2)),
          w(big_t.dim(3)),
          h2(small_t.dim(2)),
          w2(small_t.dim(3)),
          top(top_),
          left(left_) {}
    std::int64_t big(std::int64_t p, std::int64_t i) const { return (p * h + top + i) * w + left; }
    std::int64_t small(std::int64_t p, std::int64_t i) const { return (p * h2 + i) * w2; }
    std::size_t row_bytes() const { return sizeof(float) * static_cast<std::size_t>(w2); }
};

}  // namespace

void CpuBackend::crop(const Tensor& x, Tensor& y, int top, int left) {
    check_crop_args(x, y, top, left, DeviceKind::cpu);
    const CropRows g{x, y, top, left};
    const float* px = x.data<float>();
    float* py = y.data<float>();
#pragma omp parallel for schedule(static)
    for (std::int64_t p = 0; p < g.planes; ++p)
        for (std::int64_t i = 0; i < g.h2; ++i)
            std::memcpy(py + g.small(p, i), px + g.big(p, i), g.row_bytes());
}

void CpuBackend::crop_backward(const Tensor& dy, Tensor& dx, int top, int left) {
    check_crop_backward_args(dy, dx, top, left, DeviceKind::cpu);
    const CropRows g{dx, dy, top, left};
    const float* pdy = dy.data<float>();
    float* pdx = dx.data<float>();
#pragma omp parallel for schedule(static)
    for (std::int64_t p = 0; p < g.planes; ++p) {
        std::fill_n(pdx + p * g.h * g.w, g.h * g.w, 0.0f);
        for (std::int64_t i = 0; i < g.h2; ++i)
            std::memcpy(pdx + g.big(p, i), pdy + g.small(p, i), g.row_bytes());
    }
}

void CpuBackend::argmax_channels(const Tensor& logits, Tensor& pred) {
    check_argmax_channels_args(logits, pred, DeviceKind::cpu);
    const std::int64_t n = logits.dim(0), c = logits.dim(1), hw = logits.dim(2) * logits.dim(3);
    const float* pl = logits.data<float>();
    std::uint8_t* pp = pred.data<std::uint8_t>();
    // Over every pixel of every image (prediction often runs one image at a time).
#pragma omp parallel for collapse(2) schedule(static)
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t k = 0; k < hw; ++k) {
            const float* lk = pl + i * c * hw + k;  // lk[ch * hw]: channel ch of this pixel
            pp[i * hw + k] =
                static_cast<std::uint8_t>(kernels::argmax_channel(lk, hw, static_cast<int>(c)));
        }
}

}  // namespace pfce
