// Proximity linking on the GPU (DESIGN §2), batched over all images of a call in one launch
// sequence: count and compact the labelled pixels, key them by (image, class, cell), radix-sort,
// then one thread per point scans the forward half of its 3x3 cells (binary searches in the sorted
// keys), rasterizes its segments into a per-pixel class bitmask with atomicOr, and a resolve kernel
// applies the conflict rule. Mirrors host/cpu/link.cpp and matches it bit for bit: the Bresenham
// walk, the edge-aware colour test and the resolution rule are core/kernels/link.hpp, shared.
#include <thrust/iterator/counting_iterator.h>
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_select.cuh>

#include <cstdint>
#include <limits>

#include "core/kernels/link.hpp"
#include "core/op_checks.hpp"
#include "cuda/common.cuh"
#include "cuda/cuda_backend.hpp"
#include "cuda/cuda_context.hpp"

namespace pfce {
namespace {

constexpr int kThreads = 256;
constexpr int kMinCell = 8;  // same cell floor as the CPU (any cell >= D gives the same pairs)

// Device-side totals for one chunk of images.
struct LinkCounters {
    unsigned long long points;
    unsigned long long pairs;
    unsigned long long segments;
    unsigned long long labelled_after;
    unsigned long long bad_pixel;  // smallest index of a label neither 255 nor < 32; ~0 if none
};

struct LinkGeom {
    int h, w;
    long long hw;
    int s, gx, gy;
    unsigned long long cells;  // gx * gy
    long long r2;
};

// ---- device helpers ----------------------------------------------------------------------------

// Adds v over the block to *dst with one atomic. Every thread of the block must call it.
__device__ void block_add(unsigned long long v, unsigned long long* dst) {
    v = block_sum_warps(v);
    if (threadIdx.x == 0 && v != 0) atomicAdd(dst, v);
}

struct CoverPlot {
    unsigned int* cover;  // this image, (H,W)
    int w;
    unsigned int bit;
    __device__ void operator()(int y, int x) const {
        unsigned int* p = cover + static_cast<long long>(y) * w + x;
        // Segments overlap heavily; bits are only ever set during the kernel, so a read that
        // already shows ours (even a stale one) means the atomic can be skipped.
        if ((*p & bit) == 0) atomicOr(p, bit);
    }
};

__device__ int lower_bound_key(const unsigned long long* keys, int lo, int hi,
                               unsigned long long v) {
    while (lo < hi) {
        const int mid = lo + (hi - lo) / 2;
        if (keys[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

__device__ int upper_bound_key(const unsigned long long* keys, int lo, int hi,
                               unsigned long long v) {
    while (lo < hi) {
        const int mid = lo + (hi - lo) / 2;
        if (keys[mid] <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct IsClassLabel {
    const std::uint8_t* sparse;
    __device__ bool operator()(unsigned int i) const { return sparse[i] < kMaxClasses; }
};

// ---- kernels ----------------------------------------------------------------------------------

__global__ void link_init_counters_kernel(LinkCounters* c) {
    if (blockIdx.x == 0 && threadIdx.x == 0) {
        c->points = c->pairs = c->segments = c->labelled_after = 0;
        c->bad_pixel = ~0ULL;
    }
}

// Counts class labels (< 32) and records the first pixel that is neither a class nor 255.
__global__ void link_count_kernel(const std::uint8_t* sparse, long long n, LinkCounters* c) {
    unsigned long long count = 0;
    for (long long i = blockIdx.x * 1LL * blockDim.x + threadIdx.x; i < n;
         i += 1LL * gridDim.x * blockDim.x) {
        const std::uint8_t v = sparse[i];
        if (v < kMaxClasses)
            ++count;
        else if (v != kUnlabelled)
            atomicMin(&c->bad_pixel, static_cast<unsigned long long>(i));
    }
    block_add(count, &c->points);
}

// key = ((image·32 + class)·gy + cy)·gx + cx for each compacted point (a pixel index).
__global__ void link_keys_kernel(const std::uint8_t* sparse, const unsigned int* pts, int m,
                                 LinkGeom g, unsigned long long* keys) {
    for (long long k = blockIdx.x * 1LL * blockDim.x + threadIdx.x; k < m;
         k += 1LL * gridDim.x * blockDim.x) {
        const long long idx = pts[k];
        const long long img = idx / g.hw;
        const long long rem = idx - img * g.hw;
        const int y = static_cast<int>(rem / g.w),
                  x = static_cast<int>(rem - static_cast<long long>(y) * g.w);
        const unsigned long long grp =
            static_cast<unsigned long long>(img) * kMaxClasses + sparse[idx];
        keys[k] = grp * g.cells + static_cast<unsigned long long>(y / g.s) * g.gx +
                  static_cast<unsigned long long>(x / g.s);
    }
}

// group_end[(image, class)] = one past the last sorted point of that group.
__global__ void link_group_end_kernel(const unsigned long long* keys, int m,
                                      unsigned long long cells, int* group_end) {
    for (long long k = blockIdx.x * 1LL * blockDim.x + threadIdx.x; k < m;
         k += 1LL * gridDim.x * blockDim.x) {
        const unsigned long long grp = keys[k] / cells;
        if (k == m - 1 || keys[k + 1] / cells != grp) group_end[grp] = static_cast<int>(k + 1);
    }
}

// One thread per sorted point: partners in the forward half of the 3x3 cells (own cell after
// itself and the right cell: one sorted run; the three cells below: another), each pair once.
__global__ void link_pairs_kernel(const unsigned long long* keys, const unsigned int* vals, int m,
                                  const int* group_end, LinkGeom g, const std::uint8_t* rgb,
                                  double limit, unsigned int* cover, LinkCounters* c) {
    unsigned long long pairs = 0, segments = 0;
    for (long long kk = blockIdx.x * 1LL * blockDim.x + threadIdx.x; kk < m;
         kk += 1LL * gridDim.x * blockDim.x) {
        const int k = static_cast<int>(kk);
        const unsigned long long key = keys[k];
        const unsigned long long grp = key / g.cells;
        const long long cell = static_cast<long long>(key - grp * g.cells);
        const int cy = static_cast<int>(cell / g.gx),
                  cx = static_cast<int>(cell - static_cast<long long>(cy) * g.gx);
        const long long img = static_cast<long long>(grp / kMaxClasses);
        const unsigned int bit = 1u << static_cast<unsigned int>(grp % kMaxClasses);
        const long long rem = static_cast<long long>(vals[k]) - img * g.hw;
        const int y = static_cast<int>(rem / g.w),
                  x = static_cast<int>(rem - static_cast<long long>(y) * g.w);
        const int ge = group_end[grp];
        const unsigned long long base = grp * g.cells;
        const int right = min(cx + 1, g.gx - 1);

        const int end_a = upper_bound_key(
            keys, k + 1, ge, base + static_cast<unsigned long long>(cy) * g.gx + right);
        int b0 = end_a, b1 = end_a;
        if (cy + 1 < g.gy) {
            const unsigned long long row = base + static_cast<unsigned long long>(cy + 1) * g.gx;
            b0 = lower_bound_key(keys, end_a, ge, row + max(cx - 1, 0));
            b1 = upper_bound_key(keys, b0, ge, row + right);
        }
        for (int run = 0; run < 2; ++run) {
            const int j0 = run == 0 ? k + 1 : b0;
            const int j1 = run == 0 ? end_a : b1;
            for (int j = j0; j < j1; ++j) {
                const long long rj = static_cast<long long>(vals[j]) - img * g.hw;
                const int yj = static_cast<int>(rj / g.w),
                          xj = static_cast<int>(rj - static_cast<long long>(yj) * g.w);
                const long long dx = xj - x, dy = yj - y;
                if (dx * dx + dy * dy > g.r2) continue;
                ++pairs;
                int y0 = y, x0 = x, y1 = yj, x1 = xj;
                if (kernels::point_before(y1, x1, y0, x0)) {
                    y0 = yj;
                    x0 = xj;
                    y1 = y;
                    x1 = x;
                }
                if (rgb != nullptr && !kernels::segment_colour_ok(rgb + img * 3 * g.hw, g.hw, g.w,
                                                                  y0, x0, y1, x1, limit))
                    continue;
                kernels::bresenham(y0, x0, y1, x1, CoverPlot{cover + img * g.hw, g.w, bit});
                ++segments;
            }
        }
    }
    block_add(pairs, &c->pairs);
    block_add(segments, &c->segments);
}

// DESIGN §2 resolution; cover may be null (no segments).
__global__ void link_resolve_kernel(const std::uint8_t* sparse, const unsigned int* cover,
                                    long long n, int lowest, std::uint8_t* out, LinkCounters* c) {
    unsigned long long labelled = 0;
    for (long long i = blockIdx.x * 1LL * blockDim.x + threadIdx.x; i < n;
         i += 1LL * gridDim.x * blockDim.x) {
        const std::uint8_t v =
            kernels::resolve_link_pixel(sparse[i], cover != nullptr ? cover[i] : 0u, lowest != 0);
        out[i] = v;
        labelled += v != kUnlabelled;
    }
    block_add(labelled, &c->labelled_after);
}

// ---- launch helpers -----------------------------------------------------------------------------

unsigned blocks_for(const CudaContext& ctx, long long n, int per_sm) {
    long long b = (n + kThreads - 1) / kThreads;
    const long long cap = static_cast<long long>(ctx.props.multiProcessorCount) * per_sm;
    if (b > cap) b = cap;
    if (b < 1) b = 1;
    return static_cast<unsigned>(b);
}

std::size_t align_up(std::size_t n) {
    return (n + 255) / 256 * 256;
}

LinkCounters read_counters(CudaContext& ctx, const LinkCounters* d) {
    LinkCounters h{};
    PFCE_CUDA_CHECK(cudaMemcpyAsync(&h, d, sizeof(h), cudaMemcpyDeviceToHost, ctx.stream));
    PFCE_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
    return h;
}

}  // namespace

LinkStats CudaBackend::link(const Tensor& sparse, const Tensor& rgb, const LinkParams& p,
                            Tensor& linked) {
    check_link_args(sparse, rgb, p, linked, DeviceKind::cuda);
    const long long n_img = sparse.dim(0);
    const int h = static_cast<int>(sparse.dim(1)), w = static_cast<int>(sparse.dim(2));
    const bool edge_aware = p.max_color_step >= 0.0f;
    LinkStats total;
    const long long hw = static_cast<long long>(h) * w;
    if (n_img == 0 || hw == 0) return total;
    // Point indices are 32-bit within a chunk of whole images.
    constexpr long long kMaxChunkPixels = std::numeric_limits<int>::max();
    PFCE_CHECK_SHAPE(hw <= kMaxChunkPixels, "link: one image of ", h, "x", w,
                     " exceeds 2^31 pixels");
    const long long chunk_images = kMaxChunkPixels / hw;

    CudaContext& ctx = *ctx_;
    LinkGeom g{};
    g.h = h;
    g.w = w;
    g.hw = hw;
    g.s = p.radius > kMinCell ? p.radius : kMinCell;
    g.gx = (w + g.s - 1) / g.s;
    g.gy = (h + g.s - 1) / g.s;
    g.cells = static_cast<unsigned long long>(g.gx) * static_cast<unsigned long long>(g.gy);
    g.r2 = static_cast<long long>(p.radius) * p.radius;
    const double limit = kernels::colour_limit(p.max_color_step);
    const int lowest = p.conflict == LinkConflict::lowest ? 1 : 0;

    for (long long i0 = 0; i0 < n_img; i0 += chunk_images) {
        const long long nc = n_img - i0 < chunk_images ? n_img - i0 : chunk_images;
        const long long n = nc * hw;
        const std::uint8_t* in = sparse.data<std::uint8_t>() + i0 * hw;
        std::uint8_t* out = linked.data<std::uint8_t>() + i0 * hw;
        const std::uint8_t* colours = edge_aware ? rgb.data<std::uint8_t>() + i0 * 3 * hw : nullptr;

        // Phase 1: count the points (sizes every later buffer) and validate the labels.
        auto* d_counters =
            static_cast<LinkCounters*>(ctx.workspace(align_up(sizeof(LinkCounters))));
        launch("link_init_counters_kernel", link_init_counters_kernel, 1, 32, ctx.stream,
               d_counters);
        launch("link_count_kernel", link_count_kernel, blocks_for(ctx, n, 16), kThreads, ctx.stream,
               in, n, d_counters);
        const LinkCounters counted = read_counters(ctx, d_counters);
        if (counted.bad_pixel != ~0ULL) {
            std::uint8_t value = 0;
            PFCE_CUDA_CHECK(cudaMemcpy(&value, in + counted.bad_pixel, 1, cudaMemcpyDeviceToHost));
            const long long img = i0 + static_cast<long long>(counted.bad_pixel) / hw;
            const long long rem = static_cast<long long>(counted.bad_pixel) % hw;
            PFCE_THROW(InputError, "image ", img, " of the batch: pixel (y=", rem / w,
                       ", x=", rem % w, ") has label ", static_cast<int>(value),
                       "; expected a class below ", kMaxClasses, " or 255 (unlabelled)");
        }
        const int m = static_cast<int>(counted.points);
        const bool search = p.radius > 0 && m >= 2;

        // Phase 2: one workspace block for everything else.
        const unsigned long long groups = static_cast<unsigned long long>(nc) * kMaxClasses;
        int end_bit = 1;
        while (end_bit < 64 && (1ULL << end_bit) < groups * g.cells) ++end_bit;
        std::size_t select_bytes = 0, sort_bytes = 0;
        thrust::counting_iterator<unsigned int> first(0u);
        if (search) {
            PFCE_CUDA_CHECK(cub::DeviceSelect::If(
                nullptr, select_bytes, first, static_cast<unsigned int*>(nullptr),
                static_cast<int*>(nullptr), static_cast<int>(n), IsClassLabel{in}, ctx.stream));
            PFCE_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(
                nullptr, sort_bytes, static_cast<const unsigned long long*>(nullptr),
                static_cast<unsigned long long*>(nullptr),
                static_cast<const unsigned int*>(nullptr), static_cast<unsigned int*>(nullptr), m,
                0, end_bit, ctx.stream));
        }
        const std::size_t mm = static_cast<std::size_t>(search ? m : 0);
        const std::size_t off_counters = 0;
        const std::size_t off_cover = off_counters + align_up(sizeof(LinkCounters));
        const std::size_t off_pts =
            off_cover + (search ? align_up(static_cast<std::size_t>(n) * 4) : 0);
        const std::size_t off_keys = off_pts + align_up(mm * 4);
        const std::size_t off_keys_sorted = off_keys + align_up(mm * 8);
        const std::size_t off_vals_sorted = off_keys_sorted + align_up(mm * 8);
        const std::size_t off_group_end = off_vals_sorted + align_up(mm * 4);
        const std::size_t off_num_sel = off_group_end + (search ? align_up(groups * 4) : 0);
        const std::size_t off_temp = off_num_sel + align_up(sizeof(int));
        const std::size_t temp_bytes = select_bytes > sort_bytes ? select_bytes : sort_bytes;
        auto* ws = static_cast<char*>(ctx.workspace(off_temp + align_up(temp_bytes)));
        d_counters = reinterpret_cast<LinkCounters*>(ws + off_counters);
        launch("link_init_counters_kernel", link_init_counters_kernel, 1, 32, ctx.stream,
               d_counters);

        unsigned int* cover = nullptr;
        if (search) {
            cover = reinterpret_cast<unsigned int*>(ws + off_cover);
            auto* pts = reinterpret_cast<unsigned int*>(ws + off_pts);
            auto* keys = reinterpret_cast<unsigned long long*>(ws + off_keys);
            auto* keys_sorted = reinterpret_cast<unsigned long long*>(ws + off_keys_sorted);
            auto* vals_sorted = reinterpret_cast<unsigned int*>(ws + off_vals_sorted);
            auto* group_end = reinterpret_cast<int*>(ws + off_group_end);
            auto* num_sel = reinterpret_cast<int*>(ws + off_num_sel);
            void* temp = ws + off_temp;
            PFCE_CUDA_CHECK(cudaMemsetAsync(cover, 0, static_cast<std::size_t>(n) * 4, ctx.stream));
            PFCE_CUDA_CHECK(cudaMemsetAsync(group_end, 0, groups * 4, ctx.stream));

            // Compaction keeps pixel order, so each image's points stay row-major.
            std::size_t bytes = select_bytes;
            PFCE_CUDA_CHECK(cub::DeviceSelect::If(temp, bytes, first, pts, num_sel,
                                                  static_cast<int>(n), IsClassLabel{in},
                                                  ctx.stream));
            launch("link_keys_kernel", link_keys_kernel, blocks_for(ctx, m, 16), kThreads,
                   ctx.stream, in, pts, m, g, keys);
            bytes = sort_bytes;
            PFCE_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(
                temp, bytes, keys, keys_sorted, pts, vals_sorted, m, 0, end_bit, ctx.stream));
            launch("link_group_end_kernel", link_group_end_kernel, blocks_for(ctx, m, 16), kThreads,
                   ctx.stream, keys_sorted, m, g.cells, group_end);
            launch("link_pairs_kernel", link_pairs_kernel, blocks_for(ctx, m, 32), kThreads,
                   ctx.stream, keys_sorted, vals_sorted, m, group_end, g, colours, limit, cover,
                   d_counters);
        }
        launch("link_resolve_kernel", link_resolve_kernel, blocks_for(ctx, n, 16), kThreads,
               ctx.stream, in, cover, n, lowest, out, d_counters);
        const LinkCounters done = read_counters(ctx, d_counters);
        total.points += static_cast<std::int64_t>(counted.points);
        total.pairs += static_cast<std::int64_t>(done.pairs);
        total.segments += static_cast<std::int64_t>(done.segments);
        total.labelled_after += static_cast<std::int64_t>(done.labelled_after);
    }
    return total;
}

}  // namespace pfce
