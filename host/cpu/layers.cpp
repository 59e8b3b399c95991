// CPU backend: the small U-Net ops: ReLU, 2x2 max-pool, channel concat, reflect pad, crop and
// per-pixel argmax. Plain loops over (N,C) planes with OpenMP; the tie and index rules are
// core/kernels/layers.hpp, shared with cuda/layers.cu.
#include <algorithm>
#include <cstring>

#include "core/kernels/layers.hpp"
#include "core/op_checks.hpp"
#include "host/cpu/cpu_backend.hpp"

namespace pfce {

void CpuBackend::relu_forward(const Tensor& x, Tensor& y) {
    check_relu_forward_args(x, y, DeviceKind::cpu);
    const float* px = x.data<float>();
    float* py = y.data<float>();
    const std::int64_t n = x.numel();
#pragma omp parallel for simd schedule(static)
    for (std::int64_t i = 0; i < n; ++i) py[i] = px[i] > 0.0f ? px[i] : 0.0f;
}

void CpuBackend::relu_backward(const Tensor& y, const Tensor& dy, Tensor& dx) {
    check_relu_backward_args(y, dy, dx, DeviceKind::cpu);
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

void CpuBackend::maxpool2x2_forward(const Tensor& x, Tensor& y) {
    check_maxpool2x2_forward_args(x, y, DeviceKind::cpu);
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
    check_maxpool2x2_backward_args(x, y, dy, dx, DeviceKind::cpu);
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

void CpuBackend::concat_channels(const Tensor& a, const Tensor& b, Tensor& y) {
    check_concat_channels_args(a, b, y, DeviceKind::cpu);
    const std::int64_t n = a.dim(0), sa = a.dim(1) * a.dim(2) * a.dim(3);
    const std::int64_t sb = b.dim(1) * b.dim(2) * b.dim(3);
    const float* pa = a.data<float>();
    const float* pb = b.data<float>();
    float* py = y.data<float>();
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) {
        // y[i] = [a[i] (Ca,H,W); b[i] (Cb,H,W)]
        std::memcpy(py + i * (sa + sb), pa + i * sa, sizeof(float) * static_cast<std::size_t>(sa));
        std::memcpy(py + i * (sa + sb) + sa, pb + i * sb,
                    sizeof(float) * static_cast<std::size_t>(sb));
    }
}

void CpuBackend::concat_channels_backward(const Tensor& dy, Tensor& da, Tensor& db) {
    check_concat_channels_backward_args(dy, da, db, DeviceKind::cpu);
    const std::int64_t n = da.dim(0), sa = da.dim(1) * da.dim(2) * da.dim(3);
    const std::int64_t sb = db.dim(1) * db.dim(2) * db.dim(3);
    const float* pdy = dy.data<float>();
    float* pa = da.data<float>();
    float* pb = db.data<float>();
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) {
        std::memcpy(pa + i * sa, pdy + i * (sa + sb), sizeof(float) * static_cast<std::size_t>(sa));
        std::memcpy(pb + i * sb, pdy + i * (sa + sb) + sa,
                    sizeof(float) * static_cast<std::size_t>(sb));
    }
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

void CpuBackend::crop(const Tensor& x, Tensor& y, int top, int left) {
    check_crop_args(x, y, top, left, DeviceKind::cpu);
    const std::int64_t planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3);
    const std::int64_t h2 = y.dim(2), w2 = y.dim(3);
    const float* px = x.data<float>();
    float* py = y.data<float>();
#pragma omp parallel for schedule(static)
    for (std::int64_t p = 0; p < planes; ++p)
        for (std::int64_t i = 0; i < h2; ++i)
            std::memcpy(py + (p * h2 + i) * w2, px + (p * h + top + i) * w + left,
                        sizeof(float) * static_cast<std::size_t>(w2));
}

void CpuBackend::crop_backward(const Tensor& dy, Tensor& dx, int top, int left) {
    check_crop_backward_args(dy, dx, top, left, DeviceKind::cpu);
    const std::int64_t planes = dx.dim(0) * dx.dim(1), h = dx.dim(2), w = dx.dim(3);
    const std::int64_t h2 = dy.dim(2), w2 = dy.dim(3);
    const float* pdy = dy.data<float>();
    float* pdx = dx.data<float>();
#pragma omp parallel for schedule(static)
    for (std::int64_t p = 0; p < planes; ++p) {
        float* dxp = pdx + p * h * w;
        std::fill_n(dxp, h * w, 0.0f);
        for (std::int64_t i = 0; i < h2; ++i)
            std::memcpy(dxp + (top + i) * w + left, pdy + (p * h2 + i) * w2,
                        sizeof(float) * static_cast<std::size_t>(w2));
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
