// CUDA 2-D batch norm with PyTorch semantics (statistics per channel over (N,H,W); the biased
// variance normalizes, the unbiased one enters running_var; running = (1-m)*running + m*batch),
// in our own kernels: cuDNN's legacy batch-norm API is deprecated in cuDNN 9. Each reduction is
// split over (slice, channel) blocks so small-C layers still fill the GPU, summed in double, then
// finished per channel; scratch comes from the context workspace. On nchw or nhwc activations
// (nhwc: the reductions read channels across a warp), stored as f32 or bf16 (DType::bf16,
// Backend::activation_dtype): the kernels are templated on the element type T, read and write it
// through kernels::load_value/store_value and compute in f32 (sums in double) either way, so bf16
// rounds only where y or dx is stored; the statistics, gamma, beta and their gradients stay f32.
// Mirrors host/cpu/batchnorm.cpp.
// The fused batch norm + ReLU ops are the same kernels with the ReLU applied in the last pass
// (forward) and its mask (y > 0) applied to dy wherever backward reads it.
#include "core/kernels/batchnorm.hpp"
#include "core/kernels/precision.hpp"
#include "core/op_checks.hpp"
#include "cuda/common.cuh"
#include "cuda/cuda_backend.hpp"
#include "cuda/cuda_context.hpp"

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <type_traits>

namespace pfce {

namespace {

constexpr int kThreads = 256;  // power of two: the block reductions (block_sum_tree) halve it

// ---- kernels ----------------------------------------------------------------------------------

// The value each channel's statistics are summed around: its first value (image 0, pixel 0), as
// host/cpu/batchnorm.cpp takes it, so sums of x - shift do not cancel when |mean| >> std.
// shift_stride: hw on nchw, 1 on nhwc.
template <typename T>
__device__ float stats_shift(const T* x, int c, long long shift_stride) {
    return kernels::load_value(x + c * shift_stride);
}

// Block (s, c) sums d and d^2, d = x - shift (in f32, as the CPU), over slice s of channel c: every
// image, pixels s*T+t, step S*T. partial[(c*S + s)*2 + {0,1}] <- the two sums.
template <typename T>
__global__ void bn_partial_stats_kernel(const T* __restrict__ x, int n, int c_count, long long hw,
                                        double* __restrict__ partial) {
    __shared__ double sh_a[kThreads], sh_b[kThreads];
    const int c = blockIdx.y;
    const float sh = stats_shift(x, c, hw);
    const long long step = 1LL * gridDim.x * kThreads;
    double sum = 0.0, sq = 0.0;
    for (int i = 0; i < n; ++i) {
        const T* plane = x + (1LL * i * c_count + c) * hw;  // (H*W) of image i, channel c
        for (long long k = 1LL * blockIdx.x * kThreads + threadIdx.x; k < hw; k += step) {
            const double v = kernels::load_value(plane + k) - sh;
            sum += v;
            sq += v * v;
        }
    }
    sum = block_sum_tree<kThreads>(sum, sh_a);
    sq = block_sum_tree<kThreads>(sq, sh_b);
    if (threadIdx.x == 0) {
        partial[(1LL * c * gridDim.x + blockIdx.x) * 2] = sum;
        partial[(1LL * c * gridDim.x + blockIdx.x) * 2 + 1] = sq;
    }
}

// nhwc: the same sums over x viewed as (pixels, C). Block (s, t) covers channels t*kColTile + tx
// (consecutive threads read consecutive channels: coalesced) and pixels s*kRowLanes + ty, step
// S*kRowLanes; each thread sums in double, then the kRowLanes lanes of a channel are added in lane
// order (a fixed tree, so the bits do not depend on timing). partial as the nchw kernel's.
constexpr int kColTile = 32, kRowLanes = kThreads / kColTile;

// Sums of pair(pixel, c) = {first, second} over this block's pixels of each of its channels, into
// partial[(c*S + s)*2 + {0,1}].
template <typename Pair>
__device__ void nhwc_partial_pair_sums(long long pixels, int c_count, double* __restrict__ partial,
                                       Pair pair) {
    __shared__ double sh[2][kRowLanes][kColTile];
    const int tx = threadIdx.x % kColTile, ty = threadIdx.x / kColTile;
    const int c = blockIdx.y * kColTile + tx;
    double a = 0.0, b = 0.0;
    if (c < c_count)
        for (long long q = 1LL * blockIdx.x * kRowLanes + ty; q < pixels;
             q += 1LL * gridDim.x * kRowLanes) {
            const double2 v = pair(q * c_count + c, c);
            a += v.x;
            b += v.y;
        }
    sh[0][ty][tx] = a;
    sh[1][ty][tx] = b;
    __syncthreads();
    if (ty == 0 && c < c_count) {
        double sa = 0.0, sb = 0.0;
        for (int l = 0; l < kRowLanes; ++l) {
            sa += sh[0][l][tx];
            sb += sh[1][l][tx];
        }
        partial[(1LL * c * gridDim.x + blockIdx.x) * 2] = sa;
        partial[(1LL * c * gridDim.x + blockIdx.x) * 2 + 1] = sb;
    }
}

template <typename T>
__global__ void bn_partial_stats_nhwc_kernel(const T* __restrict__ x, long long pixels, int c_count,
                                             double* __restrict__ partial) {
    // Each thread keeps one channel (threadIdx.x % kColTile of its tile): its shift read once.
    const int c = blockIdx.y * kColTile + threadIdx.x % kColTile;
    const float sh = c < c_count ? stats_shift(x, c, 1) : 0.0f;
    nhwc_partial_pair_sums(pixels, c_count, partial, [&](long long i, int) {
        const double v = kernels::load_value(x + i) - sh;
        return make_double2(v, v * v);
    });
}

// One thread per channel: batch mean and variance from the slices (sums of x - stats_shift, the
// same formulas as host/cpu/batchnorm.cpp), running statistics, saved mean and 1/std, and the
// affine map y = x*scale + shift.
template <typename T>
__global__ void bn_finalize_stats_kernel(const double* __restrict__ partial, int slices,
                                         const T* __restrict__ x, long long shift_stride,
                                         int c_count, long long m, float eps, float momentum,
                                         const float* __restrict__ gamma,
                                         const float* __restrict__ beta, float* running_mean,
                                         float* running_var, float* save_mean, float* save_invstd,
                                         float* scale, float* shift) {
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < c_count; c += gridDim.x * blockDim.x) {
        double sum = 0.0, sq = 0.0;
        for (int s = 0; s < slices; ++s) {
            sum += partial[(1LL * c * slices + s) * 2];
            sq += partial[(1LL * c * slices + s) * 2 + 1];
        }
        const double md = static_cast<double>(m);
        const double d_mean = sum / md;                    // mean of x - shift
        const double dev2 = fmax(sq - sum * d_mean, 0.0);  // sum of squared deviations
        const double mean = stats_shift(x, c, shift_stride) + d_mean;
        const double var = dev2 / md;  // biased: it normalizes
        const double unbiased = m > 1 ? dev2 / static_cast<double>(m - 1) : var;
        const double invstd = kernels::bn_invstd(var, eps);
        save_mean[c] = static_cast<float>(mean);
        save_invstd[c] = static_cast<float>(invstd);
        running_mean[c] = kernels::bn_running_update(running_mean[c], mean, momentum);
        running_var[c] = kernels::bn_running_update(running_var[c], unbiased, momentum);
        const kernels::BnAffine a = kernels::bn_affine(gamma[c], beta[c], mean, invstd);
        scale[c] = a.scale;
        shift[c] = a.shift;
    }
}

// Inference: the affine map from the running statistics.
__global__ void bn_infer_coeffs_kernel(int c_count, float eps, const float* __restrict__ gamma,
                                       const float* __restrict__ beta,
                                       const float* __restrict__ running_mean,
                                       const float* __restrict__ running_var, float* scale,
                                       float* shift) {
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < c_count; c += gridDim.x * blockDim.x) {
        const kernels::BnAffine a =
            kernels::bn_affine(gamma[c], beta[c], running_mean[c],
                               kernels::bn_invstd(static_cast<double>(running_var[c]), eps));
        scale[c] = a.scale;
        shift[c] = a.shift;
    }
}

// y = x*scale[c] + shift[c], then max(0, y) with relu, rounded once where it is stored (bf16).
// blockIdx.y walks the (n,c) planes, blockIdx.x the pixels of one.
template <typename T>
__global__ void bn_apply_kernel(const T* __restrict__ x, T* __restrict__ y, int c_count,
                                long long planes, long long hw, const float* __restrict__ scale,
                                const float* __restrict__ shift, bool relu) {
    for (long long pl = blockIdx.y; pl < planes; pl += gridDim.y) {
        const int c = static_cast<int>(pl % c_count);
        const float a = scale[c], b = shift[c];
        const T* xp = x + pl * hw;
        T* yp = y + pl * hw;
        for (long long k = 1LL * blockIdx.x * blockDim.x + threadIdx.x; k < hw;
             k += 1LL * gridDim.x * blockDim.x) {
            const float v = kernels::load_value(xp + k) * a + b;
            kernels::store_value(yp + k, relu ? fmaxf(v, 0.0f) : v);
        }
    }
}

// nhwc: the same map, one thread per value (channel i % C).
template <typename T>
__global__ void bn_apply_nhwc_kernel(const T* __restrict__ x, T* __restrict__ y, int c_count,
                                     long long total, const float* __restrict__ scale,
                                     const float* __restrict__ shift, bool relu) {
    for (long long i = 1LL * blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += 1LL * gridDim.x * blockDim.x) {
        const int c = static_cast<int>(i % c_count);
        const float v = kernels::load_value(x + i) * scale[c] + shift[c];
        kernels::store_value(y + i, relu ? fmaxf(v, 0.0f) : v);
    }
}

// ---- nhwc by channel (the "batchnorm_nhwc" variant by_channel) -------------------------------
// The per-value nhwc kernels find each value's channel as i % C: a 64-bit remainder and the
// channel's parameters loaded again per value, tens of instructions where the pass has the
// memory time for about thirty (bf16 storage halves the bytes). Here the grid's stride is a
// multiple of C, so a thread's values keep the channels of its first: their parameters are
// loaded once, and V = 4 consecutive channels go as one 16-byte (f32) or 8-byte (bf16) access
// where C % 4 == 0 and the tensors are aligned. Same arithmetic per value as the per-value
// kernels, so the same bits.

// V consecutive values of T as f32, and stored back rounded as store_value rounds them.
template <int V>
__device__ inline void load_values(const float* __restrict__ p, float (&v)[V]) {
    if constexpr (V == 4) {
        const float4 q = *reinterpret_cast<const float4*>(p);
        v[0] = q.x, v[1] = q.y, v[2] = q.z, v[3] = q.w;
    } else {
        for (int k = 0; k < V; ++k) v[k] = p[k];
    }
}
template <int V>
__device__ inline void load_values(const Bf16* __restrict__ p, float (&v)[V]) {
    if constexpr (V == 4) {  // little-endian: the lower address is the low half
        const uint2 q = *reinterpret_cast<const uint2*>(p);
        v[0] = kernels::bf16_to_float(static_cast<std::uint16_t>(q.x & 0xffffu));
        v[1] = kernels::bf16_to_float(static_cast<std::uint16_t>(q.x >> 16));
        v[2] = kernels::bf16_to_float(static_cast<std::uint16_t>(q.y & 0xffffu));
        v[3] = kernels::bf16_to_float(static_cast<std::uint16_t>(q.y >> 16));
    } else {
        for (int k = 0; k < V; ++k) v[k] = kernels::load_value(p + k);
    }
}
template <int V>
__device__ inline void store_values(float* __restrict__ p, const float (&v)[V]) {
    if constexpr (V == 4)
        *reinterpret_cast<float4*>(p) = make_float4(v[0], v[1], v[2], v[3]);
    else
        for (int k = 0; k < V; ++k) p[k] = v[k];
}
template <int V>
__device__ inline void store_values(Bf16* __restrict__ p, const float (&v)[V]) {
    if constexpr (V == 4) {
        uint2 q;
        q.x = kernels::bf16_bits(v[0]) | (static_cast<unsigned>(kernels::bf16_bits(v[1])) << 16);
        q.y = kernels::bf16_bits(v[2]) | (static_cast<unsigned>(kernels::bf16_bits(v[3])) << 16);
        *reinterpret_cast<uint2*>(p) = q;
    } else {
        for (int k = 0; k < V; ++k) kernels::store_value(p + k, v[k]);
    }
}

// This thread's place in a by-channel pass over `total` values of C channels, V at a time: its
// first group of V values, the stride (a multiple of C / V groups) and its first channel; false
// for a thread past the last whole multiple (it idles).
struct ChannelStride {
    long long first, step;
    int c0;
};
template <int V>
__device__ inline bool channel_stride(int c_count, ChannelStride& s) {
    const long long groups = c_count / V;  // per pixel
    s.step = 1LL * gridDim.x * blockDim.x / groups * groups;
    s.first = 1LL * blockIdx.x * blockDim.x + threadIdx.x;
    if (s.first >= s.step) return false;
    s.c0 = static_cast<int>(s.first % groups) * V;
    return true;
}

// bn_apply_nhwc_kernel by channel.
template <typename T, int V>
__global__ void bn_apply_nhwc_by_channel_kernel(const T* __restrict__ x, T* __restrict__ y,
                                                int c_count, long long total,
                                                const float* __restrict__ scale,
                                                const float* __restrict__ shift, bool relu) {
    ChannelStride s;
    if (!channel_stride<V>(c_count, s)) return;
    float a[V], b[V];
    for (int k = 0; k < V; ++k) a[k] = scale[s.c0 + k], b[k] = shift[s.c0 + k];
    for (long long g = s.first; g * V < total; g += s.step) {
        float v[V];
        load_values<V>(x + g * V, v);
        for (int k = 0; k < V; ++k) {
            v[k] = v[k] * a[k] + b[k];
            if (relu) v[k] = fmaxf(v[k], 0.0f);
        }
        store_values<V>(y + g * V, v);
    }
}

// bn_backward_apply_nhwc_kernel by channel: dx = a * (g - mean_dy - (x - mean) * k), g = dy
// masked by y > 0 where y is given.
template <typename T, int V>
__global__ void bn_backward_apply_nhwc_by_channel_kernel(
    const T* __restrict__ x, const T* __restrict__ dy, const T* __restrict__ y, T* __restrict__ dx,
    int c_count, long long total, const float* __restrict__ save_mean,
    const float* __restrict__ coef_a, const float* __restrict__ coef_mean_dy,
    const float* __restrict__ coef_k) {
    ChannelStride s;
    if (!channel_stride<V>(c_count, s)) return;
    float a[V], mdy[V], kk[V], mean[V];
    for (int k = 0; k < V; ++k) {
        a[k] = coef_a[s.c0 + k];
        mdy[k] = coef_mean_dy[s.c0 + k];
        kk[k] = coef_k[s.c0 + k];
        mean[k] = save_mean[s.c0 + k];
    }
    for (long long g = s.first; g * V < total; g += s.step) {
        float xv[V], d[V], m[V];
        load_values<V>(x + g * V, xv);
        load_values<V>(dy + g * V, d);
        if (y) {
            load_values<V>(y + g * V, m);
            for (int k = 0; k < V; ++k)
                if (!(m[k] > 0.0f)) d[k] = 0.0f;
        }
        for (int k = 0; k < V; ++k) d[k] = a[k] * (d[k] - mdy[k] - (xv[k] - mean[k]) * kk[k]);
        store_values<V>(dx + g * V, d);
    }
}

// The gradient arriving at the batch norm's output, as f32: dy, or with a fused ReLU (y its
// output, else null) dy where y > 0 and 0 elsewhere.
template <typename T>
__device__ inline float bn_grad_in(const T* __restrict__ dy, const T* __restrict__ y, long long i) {
    return (y == nullptr || kernels::load_value(y + i) > 0.0f) ? kernels::load_value(dy + i) : 0.0f;
}

// Block (s, c) sums g and g*(x - mean) over slice s of channel c, g = bn_grad_in.
template <typename T>
__global__ void bn_partial_grad_kernel(const T* __restrict__ x, const T* __restrict__ dy,
                                       const T* __restrict__ y, const float* __restrict__ save_mean,
                                       int n, int c_count, long long hw,
                                       double* __restrict__ partial) {
    __shared__ double sh_a[kThreads], sh_b[kThreads];
    const int c = blockIdx.y;
    const float mean = save_mean[c];
    const long long step = 1LL * gridDim.x * kThreads;
    double sdy = 0.0, sdyx = 0.0;
    for (int i = 0; i < n; ++i) {
        const long long off = (1LL * i * c_count + c) * hw;
        for (long long k = 1LL * blockIdx.x * kThreads + threadIdx.x; k < hw; k += step) {
            const double d = bn_grad_in(dy, y, off + k);
            sdy += d;
            sdyx += d * (static_cast<double>(kernels::load_value(x + off + k)) - mean);
        }
    }
    sdy = block_sum_tree<kThreads>(sdy, sh_a);
    sdyx = block_sum_tree<kThreads>(sdyx, sh_b);
    if (threadIdx.x == 0) {
        partial[(1LL * c * gridDim.x + blockIdx.x) * 2] = sdy;
        partial[(1LL * c * gridDim.x + blockIdx.x) * 2 + 1] = sdyx;
    }
}

// nhwc: the same sums (nhwc_partial_pair_sums).
template <typename T>
__global__ void bn_partial_grad_nhwc_kernel(const T* __restrict__ x, const T* __restrict__ dy,
                                            const T* __restrict__ y,
                                            const float* __restrict__ save_mean, long long pixels,
                                            int c_count, double* __restrict__ partial) {
    nhwc_partial_pair_sums(pixels, c_count, partial, [&](long long i, int c) {
        const double d = bn_grad_in(dy, y, i);
        return make_double2(d,
                            d * (static_cast<double>(kernels::load_value(x + i)) - save_mean[c]));
    });
}

// One thread per channel: dbeta = sum dy, dgamma = sum dy*xhat, and the coefficients of
// dx = a * (dy - mean_dy - (x - mean) * k).
__global__ void bn_finalize_grad_kernel(const double* __restrict__ partial, int slices, int c_count,
                                        long long m, const float* __restrict__ gamma,
                                        const float* __restrict__ save_invstd, float* dgamma,
                                        float* dbeta, float* coef_a, float* coef_mean_dy,
                                        float* coef_k) {
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < c_count; c += gridDim.x * blockDim.x) {
        double sdy = 0.0, sdyx = 0.0;
        for (int s = 0; s < slices; ++s) {
            sdy += partial[(1LL * c * slices + s) * 2];
            sdyx += partial[(1LL * c * slices + s) * 2 + 1];
        }
        const kernels::BnGradCoeffs k =
            kernels::bn_grad_coeffs(sdy, sdyx, gamma[c], save_invstd[c], static_cast<double>(m));
        dbeta[c] = k.dbeta;
        dgamma[c] = k.dgamma;
        coef_a[c] = k.a;
        coef_mean_dy[c] = k.mean_g;
        coef_k[c] = k.k;
    }
}

// dx = a * (g - mean_dy - (x - mean) * k), g = bn_grad_in, rounded once where it is stored (bf16).
template <typename T>
__global__ void bn_backward_apply_kernel(const T* __restrict__ x, const T* __restrict__ dy,
                                         const T* __restrict__ y, T* __restrict__ dx, int c_count,
                                         long long planes, long long hw,
                                         const float* __restrict__ save_mean,
                                         const float* __restrict__ coef_a,
                                         const float* __restrict__ coef_mean_dy,
                                         const float* __restrict__ coef_k) {
    for (long long pl = blockIdx.y; pl < planes; pl += gridDim.y) {
        const int c = static_cast<int>(pl % c_count);
        const float a = coef_a[c], mdy = coef_mean_dy[c], k = coef_k[c], mean = save_mean[c];
        const long long off = pl * hw;
        for (long long i = 1LL * blockIdx.x * blockDim.x + threadIdx.x; i < hw;
             i += 1LL * gridDim.x * blockDim.x)
            kernels::store_value(dx + off + i, a * (bn_grad_in(dy, y, off + i) - mdy -
                                                    (kernels::load_value(x + off + i) - mean) * k));
    }
}

// nhwc: the same, one thread per value (channel i % C).
template <typename T>
__global__ void bn_backward_apply_nhwc_kernel(const T* __restrict__ x, const T* __restrict__ dy,
                                              const T* __restrict__ y, T* __restrict__ dx,
                                              int c_count, long long total,
                                              const float* __restrict__ save_mean,
                                              const float* __restrict__ coef_a,
                                              const float* __restrict__ coef_mean_dy,
                                              const float* __restrict__ coef_k) {
    for (long long i = 1LL * blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += 1LL * gridDim.x * blockDim.x) {
        const int c = static_cast<int>(i % c_count);
        kernels::store_value(dx + i,
                             coef_a[c] * (bn_grad_in(dy, y, i) - coef_mean_dy[c] -
                                          (kernels::load_value(x + i) - save_mean[c]) * coef_k[c]));
    }
}

// ---- launch helpers ---------------------------------------------------------------------------

struct BnShape {
    int n, c;
    long long hw;
    bool nhwc;
    long long pixels() const { return 1LL * n * hw; }
    long long values() const { return pixels() * c; }
};

// Dimensions of an x that the entry checks (core/op_checks.hpp) have accepted, plus this backend's
// own limits: N fits an int and C fits a grid's y dimension.
BnShape bn_shape(const Tensor& x) {
    PFCE_CHECK_SHAPE(x.dim(0) <= 0x7fffffff && x.dim(1) >= 1 && x.dim(1) <= 65535,
                     "batch norm channels must be 1..65535: ", x.describe());
    return {static_cast<int>(x.dim(0)), static_cast<int>(x.dim(1)), x.dim(2) * x.dim(3),
            x.layout() == Layout::nhwc};
}

// Slices per channel for the reductions: enough blocks to fill every SM a few times over, but no
// slice narrower than one block's worth of values (nchw: a block per channel sums kThreads
// pixels at a time; nhwc: kColTile channels of kRowLanes pixels, and a slice at least 8 steps).
int slices_for(const CudaContext& ctx, const BnShape& s) {
    const long long channel_blocks = s.nhwc ? (s.c + kColTile - 1) / kColTile : s.c;
    const long long want =
        (4LL * ctx.props.multiProcessorCount + channel_blocks - 1) / channel_blocks;
    const long long per_slice = s.nhwc ? 8LL * kRowLanes : kThreads;
    const long long most = ((s.nhwc ? s.pixels() : s.hw) + per_slice - 1) / per_slice;
    return static_cast<int>(std::max(1LL, std::min({want, most, 1024LL})));
}

// The grid of a reduction pass: (slices, channels) blocks, or (slices, channel tiles) in nhwc.
dim3 reduction_grid(const BnShape& s, int slices) {
    return dim3(slices, s.nhwc ? (s.c + kColTile - 1) / kColTile : s.c);
}

// Workspace of a pass with a reduction: the partial sums, a pair of doubles per (channel, slice),
// then `floats` floats per channel.
struct BnScratch {
    int slices;
    double* partial;
    float* per_channel;
};
BnScratch bn_scratch(CudaContext& ctx, const BnShape& s, int floats) {
    const int slices = slices_for(ctx, s);
    const std::size_t partial_bytes = sizeof(double) * 2 * s.c * slices;
    char* ws = static_cast<char*>(ctx.workspace(partial_bytes + floats * sizeof(float) * s.c));
    return {slices, reinterpret_cast<double*>(ws), reinterpret_cast<float*>(ws + partial_bytes)};
}

dim3 plane_grid(const BnShape& s) {
    const long long planes = 1LL * s.n * s.c;
    const unsigned gx = grid_for(s.hw, kThreads, 1024);
    const unsigned gy = static_cast<unsigned>(std::min(planes, 65535LL));
    return dim3(gx, gy);
}

// Whether the by-channel kernels may take 4 values at a time: whole groups of 4 channels and every
// tensor aligned to 4 values' bytes (a view at an odd offset takes 1 at a time).
template <typename T>
bool by_four(const BnShape& s, std::initializer_list<const void*> tensors) {
    if (s.c % 4 != 0) return false;
    for (const void* p : tensors)
        if (p && reinterpret_cast<std::uintptr_t>(p) % (4 * sizeof(T)) != 0) return false;
    return true;
}

// The grid of a by-channel pass over n groups of V values, `per_pixel` (C / V) a pixel: enough
// blocks to fill every SM (8 of 256 threads each), so each thread walks several groups with its
// channels' parameters loaded once, but never fewer threads than a pixel's groups (channel_stride
// needs a whole pixel's worth, else every thread would idle).
unsigned by_channel_grid(const CudaContext& ctx, long long n, long long per_pixel) {
    const long long fill = 8LL * ctx.props.multiProcessorCount;
    return grid_for(n, kThreads, std::max(fill, (per_pixel + kThreads - 1) / kThreads));
}

// y = x * scale[c] + shift[c] (then max(0, .) with relu), in x's layout, x and y stored as T.
template <typename T>
void apply_affine(CudaContext& ctx, const BnShape& s, const Tensor& x, Tensor& y,
                  const float* scale, const float* shift, bool relu) {
    if (s.nhwc && ctx.bn_by_channel) {
        if (by_four<T>(s, {x.data<T>(), y.data<T>()}))
            launch("bn_apply_nhwc_by_channel_kernel<4>", bn_apply_nhwc_by_channel_kernel<T, 4>,
                   by_channel_grid(ctx, s.values() / 4, s.c / 4), kThreads, ctx.stream, x.data<T>(),
                   y.data<T>(), s.c, s.values(), scale, shift, relu);
        else
            launch("bn_apply_nhwc_by_channel_kernel<1>", bn_apply_nhwc_by_channel_kernel<T, 1>,
                   by_channel_grid(ctx, s.values(), s.c), kThreads, ctx.stream, x.data<T>(),
                   y.data<T>(), s.c, s.values(), scale, shift, relu);
    } else if (s.nhwc)
        launch("bn_apply_nhwc_kernel", bn_apply_nhwc_kernel<T>, grid_for(s.values()), kThreads,
               ctx.stream, x.data<T>(), y.data<T>(), s.c, s.values(), scale, shift, relu);
    else
        launch("bn_apply_kernel", bn_apply_kernel<T>, plane_grid(s), kThreads, ctx.stream,
               x.data<T>(), y.data<T>(), s.c, 1LL * s.n * s.c, s.hw, scale, shift, relu);
}

}  // namespace

// The three passes of training-mode batch norm; p.relu fuses max(0, .) into the last.
void CudaBackend::batchnorm_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                          Tensor& running_mean, Tensor& running_var, Tensor& y,
                                          Tensor& save_mean, Tensor& save_invstd,
                                          const BatchNormParams& p) {
    CudaContext& ctx = *ctx_;
    check_batchnorm_forward_train_args(x, gamma, beta, running_mean, running_var, y, save_mean,
                                       save_invstd, DeviceKind::cuda, ActivationForms(true, true));
    const BnShape s = bn_shape(x);
    const long long m = 1LL * s.n * s.hw;        // values per channel
    const BnScratch ws = bn_scratch(ctx, s, 2);  // per channel: scale, shift
    const int slices = ws.slices;
    double* partial = ws.partial;
    float* scale = ws.per_channel;
    float* shift = scale + s.c;

    with_activation_type(x.dtype(), [&](auto* type) {
        using T = std::remove_pointer_t<decltype(type)>;
        if (s.nhwc)
            launch("bn_partial_stats_nhwc_kernel", bn_partial_stats_nhwc_kernel<T>,
                   reduction_grid(s, slices), kThreads, ctx.stream, x.data<T>(), s.pixels(), s.c,
                   partial);
        else
            launch("bn_partial_stats_kernel", bn_partial_stats_kernel<T>, reduction_grid(s, slices),
                   kThreads, ctx.stream, x.data<T>(), s.n, s.c, s.hw, partial);
        launch("bn_finalize_stats_kernel", bn_finalize_stats_kernel<T>, grid_for(s.c), 256,
               ctx.stream, partial, slices, x.data<T>(), s.nhwc ? 1LL : s.hw, s.c, m, p.eps,
               p.momentum, gamma.data<float>(), beta.data<float>(), running_mean.data<float>(),
               running_var.data<float>(), save_mean.data<float>(), save_invstd.data<float>(), scale,
               shift);
        apply_affine<T>(ctx, s, x, y, scale, shift, p.relu);
    });
}

void CudaBackend::batchnorm_forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                          const Tensor& running_mean, const Tensor& running_var,
                                          Tensor& y, const BatchNormParams& p) {
    CudaContext& ctx = *ctx_;
    check_batchnorm_forward_infer_args(x, gamma, beta, running_mean, running_var, y,
                                       DeviceKind::cuda, ActivationForms(true, true));
    const BnShape s = bn_shape(x);
    if (x.numel() == 0) return;
    float* scale = static_cast<float*>(ctx.workspace(2 * sizeof(float) * s.c));
    float* shift = scale + s.c;
    launch("bn_infer_coeffs_kernel", bn_infer_coeffs_kernel, grid_for(s.c), 256, ctx.stream, s.c,
           p.eps, gamma.data<float>(), beta.data<float>(), running_mean.data<float>(),
           running_var.data<float>(), scale, shift);
    with_activation_type(x.dtype(), [&](auto* type) {
        using T = std::remove_pointer_t<decltype(type)>;
        apply_affine<T>(ctx, s, x, y, scale, shift, p.relu);
    });
}

// Backward of batch norm, or of batch norm + ReLU when relu_y (the fused forward's output) is
// given.
void CudaBackend::batchnorm_backward(const Tensor& x, const Tensor* relu_y, const Tensor& dy,
                                     const Tensor& gamma, const Tensor& save_mean,
                                     const Tensor& save_invstd, Tensor& dx, Tensor& dgamma,
                                     Tensor& dbeta) {
    check_batchnorm_backward_args(x, relu_y, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta,
                                  DeviceKind::cuda, ActivationForms(true, true));
    CudaContext& ctx = *ctx_;
    const BnShape s = bn_shape(x);
    const long long m = 1LL * s.n * s.hw;
    PFCE_CHECK_SHAPE(m > 0, "empty batch ", x.describe());  // this backend needs a non-empty batch
    const BnScratch ws = bn_scratch(ctx, s, 3);             // per channel: the coefficients of dx
    const int slices = ws.slices;
    double* partial = ws.partial;
    float* coef_a = ws.per_channel;
    float* coef_mean_dy = coef_a + s.c;
    float* coef_k = coef_mean_dy + s.c;

    with_activation_type(x.dtype(), [&](auto* type) {
        using T = std::remove_pointer_t<decltype(type)>;
        const T* y = relu_y ? relu_y->data<T>() : nullptr;  // null: no ReLU mask
        if (s.nhwc)
            launch("bn_partial_grad_nhwc_kernel", bn_partial_grad_nhwc_kernel<T>,
                   reduction_grid(s, slices), kThreads, ctx.stream, x.data<T>(), dy.data<T>(), y,
                   save_mean.data<float>(), s.pixels(), s.c, partial);
        else
            launch("bn_partial_grad_kernel", bn_partial_grad_kernel<T>, reduction_grid(s, slices),
                   kThreads, ctx.stream, x.data<T>(), dy.data<T>(), y, save_mean.data<float>(), s.n,
                   s.c, s.hw, partial);
        launch("bn_finalize_grad_kernel", bn_finalize_grad_kernel, grid_for(s.c), 256, ctx.stream,
               partial, slices, s.c, m, gamma.data<float>(), save_invstd.data<float>(),
               dgamma.data<float>(), dbeta.data<float>(), coef_a, coef_mean_dy, coef_k);
        if (s.nhwc && ctx.bn_by_channel &&
            by_four<T>(s, {x.data<T>(), dy.data<T>(), y, dx.data<T>()}))
            launch("bn_backward_apply_nhwc_by_channel_kernel<4>",
                   bn_backward_apply_nhwc_by_channel_kernel<T, 4>,
                   by_channel_grid(ctx, s.values() / 4, s.c / 4), kThreads, ctx.stream, x.data<T>(),
                   dy.data<T>(), y, dx.data<T>(), s.c, s.values(), save_mean.data<float>(), coef_a,
                   coef_mean_dy, coef_k);
        else if (s.nhwc && ctx.bn_by_channel)
            launch("bn_backward_apply_nhwc_by_channel_kernel<1>",
                   bn_backward_apply_nhwc_by_channel_kernel<T, 1>,
                   by_channel_grid(ctx, s.values(), s.c), kThreads, ctx.stream, x.data<T>(),
                   dy.data<T>(), y, dx.data<T>(), s.c, s.values(), save_mean.data<float>(), coef_a,
                   coef_mean_dy, coef_k);
        else if (s.nhwc)
            launch("bn_backward_apply_nhwc_kernel", bn_backward_apply_nhwc_kernel<T>,
                   grid_for(s.values()), kThreads, ctx.stream, x.data<T>(), dy.data<T>(), y,
                   dx.data<T>(), s.c, s.values(), save_mean.data<float>(), coef_a, coef_mean_dy,
                   coef_k);
        else
            launch("bn_backward_apply_kernel", bn_backward_apply_kernel<T>, plane_grid(s), kThreads,
                   ctx.stream, x.data<T>(), dy.data<T>(), y, dx.data<T>(), s.c, 1LL * s.n * s.c,
                   s.hw, save_mean.data<float>(), coef_a, coef_mean_dy, coef_k);
    });
}

}  // namespace pfce
