// CUDA kernels for the small U-Net ops: ReLU, 2x2 max-pool, channel concat (strided copies),
// reflect pad, crop and per-pixel argmax. ReLU, max-pool and concat also take nhwc activations
// (Backend::activation_layout), as the CPU backend does, and activations stored as bf16
// (DType::bf16, Backend::activation_dtype): their kernels are templated on the element type T and
// compare in f32 (kernels::load_value), and what they store is a value they read (or 0), so a bf16
// store (kernels::store_value) gives it back unchanged. Each result is exactly the CPU backend's
// (host/cpu/layers.cpp): no arithmetic beyond comparisons and copies, the same tie rules
// (core/kernels/layers.hpp, shared) and the same shape checks. Reflect pad, crop and argmax see
// only the network's f32 input and logits, so they stay f32.
#include "core/kernels/layers.hpp"
#include "core/kernels/precision.hpp"
#include "core/op_checks.hpp"
#include "cuda/common.cuh"
#include "cuda/cuda_backend.hpp"
#include "cuda/cuda_context.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <type_traits>

namespace pfce {

namespace {

constexpr int kThreads = 256;

// ---- kernels ----------------------------------------------------------------------------------

// The plane kernels run f(p, k) for every pixel k of every (n,c) plane p of a (planes, n_pixels)
// layout: blockIdx.y walks the planes and blockIdx.x one plane's pixels, both grid-stride, so any
// size works with any grid.
template <typename F>
__device__ void for_each_plane_pixel(long long planes, int n_pixels, F f) {
    for (long long p = blockIdx.y; p < planes; p += gridDim.y)
        for (int k = blockIdx.x * blockDim.x + threadIdx.x; k < n_pixels;
             k += gridDim.x * blockDim.x)
            f(p, k);
}

// Elementwise, so y may be x (no __restrict__).
template <typename T>
__global__ void relu_forward_kernel(const T* x, T* y, long long n) {
    for (long long i = blockIdx.x * 1LL * blockDim.x + threadIdx.x; i < n;
         i += 1LL * gridDim.x * blockDim.x) {
        const float v = kernels::load_value(x + i);  // x may be y: read before write
        kernels::store_value(y + i, v > 0.0f ? v : 0.0f);
    }
}

// Elementwise, so dx may alias dy (no __restrict__).
template <typename T>
__global__ void relu_backward_kernel(const T* y, const T* dy, T* dx, long long n) {
    for (long long i = blockIdx.x * 1LL * blockDim.x + threadIdx.x; i < n;
         i += 1LL * gridDim.x * blockDim.x)
        kernels::store_value(
            dx + i, kernels::load_value(y + i) > 0.0f ? kernels::load_value(dy + i) : 0.0f);
}

// The four values of a 2x2 window as f32, in the order (0,0), (0,1), (1,0), (1,1): r0 is its
// first value, its second column `step` elements after the first (1 in an nchw plane, C in an nhwc
// image), its second row `row` after the first (W, or W*C). The shared tie rules
// (core/kernels/layers.hpp) then run on this copy as on an f32 plane, whatever x's storage.
struct Window2x2 {
    float v[4];

    template <typename T>
    __device__ Window2x2(const T* r0, long long step, long long row)
        : v{kernels::load_value(r0), kernels::load_value(r0 + step), kernels::load_value(r0 + row),
            kernels::load_value(r0 + row + step)} {}

    __device__ float max_value() const { return kernels::window_max_2x2(v, v + 2); }
    // Place (0..3, in the order above) of the value that receives the window's gradient, given
    // the pooled max m: the first equal to m, or (1,1) if none is (m NaN).
    __device__ int argmax(float m) const { return kernels::window_argmax_2x2(v, 0, 1, 2, m); }
};

// Place of the value at row r, column s of a plane in its 2x2 window (in Window2x2's order).
__device__ inline int window_place(long long r, long long s) {
    return static_cast<int>((r & 1) * 2 + (s & 1));
}

// y (planes, H/2, W/2) = max over each 2x2 window of x (planes, H, W).
template <typename T>
__global__ void maxpool2x2_forward_kernel(const T* __restrict__ x, T* __restrict__ y,
                                          long long planes, int h, int w) {
    const int ho = h / 2, wo = w / 2;
    for_each_plane_pixel(planes, ho * wo, [&](long long p, int k) {
        const int i = k / wo, j = k - (k / wo) * wo;
        const T* r0 = x + p * h * w + (2 * i) * w + 2 * j;
        kernels::store_value(y + p * ho * wo + k, Window2x2(r0, 1, w).max_value());
    });
}

// One thread per dx element: the gradient of its window goes to the window's first element (in
// order (0,0), (0,1), (1,0), (1,1)) equal to the pooled max, or to (1,1) if none is (NaN); rows
// and columns an odd size leaves out of every window get 0.
template <typename T>
__global__ void maxpool2x2_backward_kernel(const T* __restrict__ x, const T* __restrict__ y,
                                           const T* __restrict__ dy, T* __restrict__ dx,
                                           long long planes, int h, int w) {
    const int ho = h / 2, wo = w / 2;
    for_each_plane_pixel(planes, h * w, [&](long long p, int k) {
        const int r = k / w, s = k - (k / w) * w;  // this element's row and column
        const int i = r / 2, j = s / 2;            // its window
        float g = 0.0f;
        if (i < ho && j < wo) {
            const long long o = p * ho * wo + 1LL * i * wo + j;
            const Window2x2 win(x + p * h * w + (2 * i) * w + 2 * j, 1, w);
            if (win.argmax(kernels::load_value(y + o)) == window_place(r, s))
                g = kernels::load_value(dy + o);
        }
        kernels::store_value(dx + p * h * w + k, g);
    });
}

// nhwc: y (N, H/2, W/2, C) = max over each 2x2 window of x (N, H, W, C), one thread per output
// value, in the window order of the nchw kernel (Window2x2 with the column step C).
template <typename T>
__global__ void maxpool2x2_nhwc_forward_kernel(const T* __restrict__ x, T* __restrict__ y,
                                               long long total, int h, int w, int c) {
    const int ho = h / 2, wo = w / 2;
    const long long row = 1LL * w * c;
    for (long long o = blockIdx.x * 1LL * blockDim.x + threadIdx.x; o < total;
         o += 1LL * gridDim.x * blockDim.x) {
        const long long pix = o / c, ch = o - pix * c;  // output pixel (n, i, j), channel ch
        const long long n = pix / (1LL * ho * wo), k = pix - n * ho * wo;
        const long long i = k / wo, j = k - i * wo;
        const T* r0 = x + ((n * h + 2 * i) * w + 2 * j) * c + ch;
        kernels::store_value(y + o, Window2x2(r0, c, row).max_value());
    }
}

// Its backward, one thread per dx value: the gradient of a window goes to the first of its four
// values equal to the pooled max (Window2x2 with step C, row W*C), 0 elsewhere and on a row or
// column an odd size leaves out of every window.
template <typename T>
__global__ void maxpool2x2_nhwc_backward_kernel(const T* __restrict__ x, const T* __restrict__ y,
                                                const T* __restrict__ dy, T* __restrict__ dx,
                                                long long total, int h, int w, int c) {
    const int ho = h / 2, wo = w / 2;
    for (long long e = blockIdx.x * 1LL * blockDim.x + threadIdx.x; e < total;
         e += 1LL * gridDim.x * blockDim.x) {
        const long long pix = e / c, ch = e - pix * c;  // input pixel (n, r, s), channel ch
        const long long n = pix / (1LL * h * w), k = pix - n * h * w;
        const long long r = k / w, s = k - (k / w) * w;
        const long long i = r / 2, j = s / 2;  // its window
        float g = 0.0f;
        if (i < ho && j < wo) {
            const long long o = ((n * ho + i) * wo + j) * c + ch;
            const Window2x2 win(x + ((n * h + 2 * i) * w + 2 * j) * c + ch, c, 1LL * w * c);
            if (win.argmax(kernels::load_value(y + o)) == window_place(r, s))
                g = kernels::load_value(dy + o);
        }
        kernels::store_value(dx + e, g);
    }
}

// nhwc concat: value e of y (pixels, Ca + Cb) is channel ch of its pixel, which is a's (pixels,
// Ca) when ch < Ca and b's (pixels, Cb) otherwise. Where it is, as an offset into a (in_a) or b.
__device__ inline long long concat_nhwc_source(long long e, int ca, int cb, bool& in_a) {
    const long long pix = e / (ca + cb);
    const int ch = static_cast<int>(e - pix * (ca + cb));
    in_a = ch < ca;
    return in_a ? pix * ca + ch : pix * cb + (ch - ca);
}

// One thread per value of y. The values are copied whole, not loaded and stored: the nchw concat
// is a byte copy (cudaMemcpy2DAsync), so both layouts keep every bit, a bf16 NaN's too.
template <typename T>
__global__ void concat_nhwc_kernel(const T* __restrict__ a, const T* __restrict__ b,
                                   T* __restrict__ y, long long total, int ca, int cb) {
    for (long long e = blockIdx.x * 1LL * blockDim.x + threadIdx.x; e < total;
         e += 1LL * gridDim.x * blockDim.x) {
        bool in_a = false;
        const long long at = concat_nhwc_source(e, ca, cb, in_a);
        y[e] = in_a ? a[at] : b[at];
    }
}

// The backward: dy split back into da and db, one thread per value of dy (copied whole, as above).
template <typename T>
__global__ void concat_nhwc_backward_kernel(const T* __restrict__ dy, T* __restrict__ da,
                                            T* __restrict__ db, long long total, int ca, int cb) {
    for (long long e = blockIdx.x * 1LL * blockDim.x + threadIdx.x; e < total;
         e += 1LL * gridDim.x * blockDim.x) {
        bool in_a = false;
        const long long at = concat_nhwc_source(e, ca, cb, in_a);
        (in_a ? da : db)[at] = dy[e];
    }
}

// y (planes, h2, w2) = x (planes, h, w) placed at (top, left) and mirrored outward.
__global__ void reflect_pad_kernel(const float* __restrict__ x, float* __restrict__ y,
                                   long long planes, int h, int w, int h2, int w2, int top,
                                   int left) {
    for_each_plane_pixel(planes, h2 * w2, [&](long long p, int k) {
        const int i = k / w2, j = k - (k / w2) * w2;
        y[p * h2 * w2 + k] = x[p * h * w + kernels::reflect_index(i, top, h) * w +
                               kernels::reflect_index(j, left, w)];
    });
}

// y (planes, h2, w2) = x (planes, h, w) at rows top.., columns left..
__global__ void crop_kernel(const float* __restrict__ x, float* __restrict__ y, long long planes,
                            int h, int w, int h2, int w2, int top, int left) {
    for_each_plane_pixel(planes, h2 * w2, [&](long long p, int k) {
        const int i = k / w2, j = k - (k / w2) * w2;
        y[p * h2 * w2 + k] = x[p * h * w + (top + i) * w + left + j];
    });
}

// One thread per dx element: dy inside the crop window, 0 outside.
__global__ void crop_backward_kernel(const float* __restrict__ dy, float* __restrict__ dx,
                                     long long planes, int h, int w, int h2, int w2, int top,
                                     int left) {
    for_each_plane_pixel(planes, h * w, [&](long long p, int k) {
        const int i = k / w - top, j = k - (k / w) * w - left;
        dx[p * h * w + k] =
            (i >= 0 && i < h2 && j >= 0 && j < w2) ? dy[p * h2 * w2 + i * w2 + j] : 0.0f;
    });
}

// pred (N, HW) = first channel with the largest logit (strictly greater replaces).
__global__ void argmax_channels_kernel(const float* __restrict__ logits,
                                       std::uint8_t* __restrict__ pred, long long pixels,
                                       long long hw, int c) {
    for (long long q = blockIdx.x * 1LL * blockDim.x + threadIdx.x; q < pixels;
         q += 1LL * gridDim.x * blockDim.x) {
        const long long n = q / hw, k = q - n * hw;
        const float* l = logits + n * c * hw + k;  // channel ch at l[ch*hw]
        pred[q] = static_cast<std::uint8_t>(kernels::argmax_channel(l, hw, c));
    }
}

// ---- launch helpers ---------------------------------------------------------------------------

// A plane of (H,W) pixels must be indexable with int inside the kernels, grid-stride step included.
int plane_side(std::int64_t v, const Tensor& t) {
    PFCE_CHECK_SHAPE(v >= 0 && v <= INT_MAX, "side too large: ", t.describe());
    return static_cast<int>(v);
}
void check_plane(const Tensor& t) {
    PFCE_CHECK_SHAPE(t.dim(2) * t.dim(3) <= INT_MAX / 2, "plane too large: ", t.describe());
}

dim3 plane_grid(long long planes, long long pixels_per_plane) {
    const unsigned gx = grid_for(pixels_per_plane, kThreads, 1024);
    const unsigned gy = static_cast<unsigned>(std::max(1LL, std::min(planes, 65535LL)));
    return dim3(gx, gy);
}

}  // namespace

void CudaBackend::relu_forward(const Tensor& x, Tensor& y) {
    // Elementwise: any layout.
    check_relu_forward_args(x, y, DeviceKind::cuda, ActivationForms(true, true));
    const long long n = x.numel();
    if (n == 0) return;
    with_activation_type(x.dtype(), [&](auto* type) {
        using T = std::remove_pointer_t<decltype(type)>;
        launch("relu_forward_kernel", relu_forward_kernel<T>, grid_for(n), kThreads, ctx_->stream,
               x.data<T>(), y.data<T>(), n);
    });
}

void CudaBackend::relu_backward(const Tensor& y, const Tensor& dy, Tensor& dx) {
    check_relu_backward_args(y, dy, dx, DeviceKind::cuda, ActivationForms(true, true));
    const long long n = y.numel();
    if (n == 0) return;
    with_activation_type(y.dtype(), [&](auto* type) {
        using T = std::remove_pointer_t<decltype(type)>;
        launch("relu_backward_kernel", relu_backward_kernel<T>, grid_for(n), kThreads, ctx_->stream,
               y.data<T>(), dy.data<T>(), dx.data<T>(), n);
    });
}

void CudaBackend::maxpool2x2_forward(const Tensor& x, Tensor& y) {
    check_maxpool2x2_forward_args(x, y, DeviceKind::cuda, ActivationForms(true, true));
    check_plane(x);
    if (y.numel() == 0) return;
    with_activation_type(x.dtype(), [&](auto* type) {
        using T = std::remove_pointer_t<decltype(type)>;
        if (x.layout() == Layout::nhwc) {
            launch("maxpool2x2_nhwc_forward_kernel", maxpool2x2_nhwc_forward_kernel<T>,
                   grid_for(y.numel()), kThreads, ctx_->stream, x.data<T>(), y.data<T>(),
                   static_cast<long long>(y.numel()), plane_side(x.dim(2), x),
                   plane_side(x.dim(3), x), plane_side(x.dim(1), x));
            return;
        }
        const long long planes = x.dim(0) * x.dim(1);
        launch("maxpool2x2_forward_kernel", maxpool2x2_forward_kernel<T>,
               plane_grid(planes, y.dim(2) * y.dim(3)), kThreads, ctx_->stream, x.data<T>(),
               y.data<T>(), planes, plane_side(x.dim(2), x), plane_side(x.dim(3), x));
    });
}

void CudaBackend::maxpool2x2_backward(const Tensor& x, const Tensor& y, const Tensor& dy,
                                      Tensor& dx) {
    check_maxpool2x2_backward_args(x, y, dy, dx, DeviceKind::cuda, ActivationForms(true, true));
    check_plane(x);
    if (dx.numel() == 0) return;
    with_activation_type(x.dtype(), [&](auto* type) {
        using T = std::remove_pointer_t<decltype(type)>;
        if (x.layout() == Layout::nhwc) {
            launch("maxpool2x2_nhwc_backward_kernel", maxpool2x2_nhwc_backward_kernel<T>,
                   grid_for(dx.numel()), kThreads, ctx_->stream, x.data<T>(), y.data<T>(),
                   dy.data<T>(), dx.data<T>(), static_cast<long long>(dx.numel()),
                   plane_side(x.dim(2), x), plane_side(x.dim(3), x), plane_side(x.dim(1), x));
            return;
        }
        const long long planes = x.dim(0) * x.dim(1);
        launch("maxpool2x2_backward_kernel", maxpool2x2_backward_kernel<T>,
               plane_grid(planes, x.dim(2) * x.dim(3)), kThreads, ctx_->stream, x.data<T>(),
               y.data<T>(), dy.data<T>(), dx.data<T>(), planes, plane_side(x.dim(2), x),
               plane_side(x.dim(3), x));
    });
}

// Concat is N strided block copies: image i's a (Ca*H*W values) and b (Cb*H*W) land side by side
// in row i of y viewed as (N, (Ca+Cb)*H*W). cudaMemcpy2DAsync does exactly that on the stream, in
// bytes of the activations' element size (f32 or bf16, one for all three).
void CudaBackend::concat_channels(const Tensor& a, const Tensor& b, Tensor& y) {
    check_concat_channels_args(a, b, y, DeviceKind::cuda, ActivationForms(true, true));
    if (y.layout() == Layout::nhwc) {
        if (y.numel() == 0) return;
        with_activation_type(y.dtype(), [&](auto* type) {
            using T = std::remove_pointer_t<decltype(type)>;
            launch("concat_nhwc_kernel", concat_nhwc_kernel<T>, grid_for(y.numel()), kThreads,
                   ctx_->stream, a.data<T>(), b.data<T>(), y.data<T>(),
                   static_cast<long long>(y.numel()), plane_side(a.dim(1), a),
                   plane_side(b.dim(1), b));
        });
        return;
    }
    const std::size_t n = static_cast<std::size_t>(a.dim(0));
    const std::size_t elem = dtype_size(y.dtype());  // bytes per value: f32 or bf16
    const std::size_t sa = elem * static_cast<std::size_t>(a.dim(1) * a.dim(2) * a.dim(3));
    const std::size_t sb = elem * static_cast<std::size_t>(b.dim(1) * b.dim(2) * b.dim(3));
    char* py = static_cast<char*>(y.raw());
    PFCE_CHECK_SHAPE(sa + sb <= ctx_->props.memPitch,
                     "concat image too large for a 2-D copy: ", y.describe());
    if (n == 0) return;
    if (sa > 0)
        PFCE_CUDA_CHECK(cudaMemcpy2DAsync(py, sa + sb, a.raw(), sa, sa, n, cudaMemcpyDeviceToDevice,
                                          ctx_->stream));
    if (sb > 0)
        PFCE_CUDA_CHECK(cudaMemcpy2DAsync(py + sa, sa + sb, b.raw(), sb, sb, n,
                                          cudaMemcpyDeviceToDevice, ctx_->stream));
}

void CudaBackend::concat_channels_backward(const Tensor& dy, Tensor& da, Tensor& db) {
    check_concat_channels_backward_args(dy, da, db, DeviceKind::cuda, ActivationForms(true, true));
    if (dy.layout() == Layout::nhwc) {
        if (dy.numel() == 0) return;
        with_activation_type(dy.dtype(), [&](auto* type) {
            using T = std::remove_pointer_t<decltype(type)>;
            launch("concat_nhwc_backward_kernel", concat_nhwc_backward_kernel<T>,
                   grid_for(dy.numel()), kThreads, ctx_->stream, dy.data<T>(), da.data<T>(),
                   db.data<T>(), static_cast<long long>(dy.numel()), plane_side(da.dim(1), da),
                   plane_side(db.dim(1), db));
        });
        return;
    }
    const std::size_t n = static_cast<std::size_t>(da.dim(0));
    const std::size_t elem = dtype_size(dy.dtype());  // bytes per value: f32 or bf16
    const std::size_t sa = elem * static_cast<std::size_t>(da.dim(1) * da.dim(2) * da.dim(3));
    const std::size_t sb = elem * static_cast<std::size_t>(db.dim(1) * db.dim(2) * db.dim(3));
    const char* pdy = static_cast<const char*>(dy.raw());
    PFCE_CHECK_SHAPE(sa + sb <= ctx_->props.memPitch,
                     "concat image too large for a 2-D copy: ", dy.describe());
    if (n == 0) return;
    if (sa > 0)
        PFCE_CUDA_CHECK(cudaMemcpy2DAsync(da.raw(), sa, pdy, sa + sb, sa, n,
                                          cudaMemcpyDeviceToDevice, ctx_->stream));
    if (sb > 0)
        PFCE_CUDA_CHECK(cudaMemcpy2DAsync(db.raw(), sb, pdy + sa, sa + sb, sb, n,
                                          cudaMemcpyDeviceToDevice, ctx_->stream));
}

void CudaBackend::reflect_pad(const Tensor& x, Tensor& y, int top, int left) {
    check_reflect_pad_args(x, y, top, left, DeviceKind::cuda);
    const std::int64_t h = x.dim(2), w = x.dim(3), h2 = y.dim(2), w2 = y.dim(3);
    check_plane(x);
    check_plane(y);
    if (y.numel() == 0) return;
    const long long planes = x.dim(0) * x.dim(1);
    launch("reflect_pad_kernel", reflect_pad_kernel, plane_grid(planes, h2 * w2), kThreads,
           ctx_->stream, x.data<float>(), y.data<float>(), planes, plane_side(h, x),
           plane_side(w, x), plane_side(h2, y), plane_side(w2, y), top, left);
}

void CudaBackend::crop(const Tensor& x, Tensor& y, int top, int left) {
    check_crop_args(x, y, top, left, DeviceKind::cuda);
    check_plane(x);
    if (y.numel() == 0) return;
    const long long planes = x.dim(0) * x.dim(1);
    launch("crop_kernel", crop_kernel, plane_grid(planes, y.dim(2) * y.dim(3)), kThreads,
           ctx_->stream, x.data<float>(), y.data<float>(), planes, plane_side(x.dim(2), x),
           plane_side(x.dim(3), x), plane_side(y.dim(2), y), plane_side(y.dim(3), y), top, left);
}

void CudaBackend::crop_backward(const Tensor& dy, Tensor& dx, int top, int left) {
    check_crop_backward_args(dy, dx, top, left, DeviceKind::cuda);
    check_plane(dx);
    if (dx.numel() == 0) return;
    const long long planes = dx.dim(0) * dx.dim(1);
    launch("crop_backward_kernel", crop_backward_kernel, plane_grid(planes, dx.dim(2) * dx.dim(3)),
           kThreads, ctx_->stream, dy.data<float>(), dx.data<float>(), planes,
           plane_side(dx.dim(2), dx), plane_side(dx.dim(3), dx), plane_side(dy.dim(2), dy),
           plane_side(dy.dim(3), dy), top, left);
}

void CudaBackend::argmax_channels(const Tensor& logits, Tensor& pred) {
    check_argmax_channels_args(logits, pred, DeviceKind::cuda);
    const long long pixels = pred.numel();
    if (pixels == 0) return;
    launch("argmax_channels_kernel", argmax_channels_kernel, grid_for(pixels), kThreads,
           ctx_->stream, logits.data<float>(), pred.data<std::uint8_t>(), pixels,
           logits.dim(2) * logits.dim(3), static_cast<int>(logits.dim(1)));
}

}  // namespace pfce
