// CPU backend: the fused partial focal loss (DESIGN §2), forward and backward in one pass over the
// logits. Pixels are walked in fixed chunks (NCHW: each channel's chunk is contiguous), and every
// per-pixel step, exp and log included, is a loop over the chunk's pixels that the compiler
// vectorizes with the machine's widest units (PFCE_NATIVE). The loss is summed per chunk in double
// and then in chunk order, so the result does not depend on the number of threads. For C = 6 one
// loop does all of a pixel's steps. Chunks without a labelled pixel only write zeros. A large
// gradient is written with non-temporal stores, as a large memcpy is: it is not read back before
// the loss returns, and a normal store would first read every line it writes. Per-pixel formulas:
// core/kernels/focal.hpp, shared with cuda/focal_loss.cu; the plain loop this file is tested
// against is host/reference/focal_loss.cpp.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define PFCE_FOCAL_STREAM 1
#endif

#include "core/kernels/focal.hpp"
#include "core/op_checks.hpp"
#include "host/cpu/cpu_backend.hpp"
#include "host/cpu/fast_exp.hpp"

namespace pfce {

namespace {

// Pixels per work item (C*kChunk floats of scratch). Fixed, so the summation order is too.
constexpr std::int64_t kChunk = 512;
// Gradients bigger than this are written with non-temporal stores (beyond any core's caches).
constexpr std::size_t kStreamBytes = std::size_t{16} << 20;

// dst[0, n) = src[0, n), with streaming stores where dst is aligned to the vector width.
void store_row(float* dst, const float* src, std::int64_t n, bool stream) {
#ifdef PFCE_FOCAL_STREAM
    if (stream) {
#if defined(__AVX512F__)
        constexpr std::int64_t kVec = 16;
#elif defined(__AVX__)
        constexpr std::int64_t kVec = 8;
#else
        constexpr std::int64_t kVec = 4;
#endif
        std::int64_t j = 0;
        for (; j < n && (reinterpret_cast<std::uintptr_t>(dst + j) % (kVec * 4)) != 0; ++j)
            dst[j] = src[j];
        for (; j + kVec <= n; j += kVec) {
#if defined(__AVX512F__)
            _mm512_stream_ps(dst + j, _mm512_loadu_ps(src + j));
#elif defined(__AVX__)
            _mm256_stream_ps(dst + j, _mm256_loadu_ps(src + j));
#else
            _mm_stream_ps(dst + j, _mm_loadu_ps(src + j));
#endif
        }
        for (; j < n; ++j) dst[j] = src[j];
        return;
    }
#endif
    (void)stream;
    std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(float));
}

void stream_fence() {
#ifdef PFCE_FOCAL_STREAM
    _mm_sfence();
#endif
}

// kernels::focal_log_q with one vectorizable log: log1p(-u) in Goldberg's form -u log(w) / (w - 1),
// w = 1 - u (exactly -u when w rounds to 1), when u < 0.5, else the log-softmax form zy_m - log s.
// Both sides are computed and selected (no branch), the log's argument chosen first: one log.
inline float log_q(float zy_m, float s, float u) {
    const bool near1 = u < 0.5f;
    const float w = 1.0f - u;
    const float d = w - 1.0f;
    const float lg = cpu::log_normal(near1 ? w : s);
    const float scaled = -u * (lg / d);
    const float log1m = d == 0.0f ? -u : scaled;
    return near1 ? log1m : zy_m - lg;
}

// Per-thread scratch for one chunk; every array holds kChunk pixels.
struct ChunkScratch {
    std::vector<float> e;  // (C, kChunk): exp(z_k - max), clamped below at exp(-87) = 0
    alignas(64) std::array<float, kChunk> m, zy, ey, so, poison, pw, a, cy, w, row;
    alignas(64) std::array<std::int32_t, kChunk> lab;  // labels widened so selects vectorize
};

// A chunk with no labelled pixel: its gradient rows (dz null: none) are zero, nothing is read.
void zero_gradient_rows(float* dz, std::int64_t hw, std::int64_t len, int c, bool stream,
                        ChunkScratch& sc) {
    if (!dz) return;
    std::fill(sc.row.begin(), sc.row.end(), 0.0f);
    for (int k = 0; k < c; ++k) store_row(dz + k * hw, sc.row.data(), len, stream);
}

// The next chunk's logits, requested now so their loads overlap this chunk's arithmetic (a full
// chunk only: a short one is the image's last).
inline void prefetch_next_chunk(const float* z, std::int64_t hw, std::int64_t len, int c) {
#ifdef PFCE_FOCAL_STREAM
    if (len == kChunk)
        for (int k = 0; k < c; ++k)
            for (std::int64_t j = 0; j < kChunk; j += 16)
                _mm_prefetch(reinterpret_cast<const char*>(z + k * hw + kChunk + j), _MM_HINT_T0);
#else
    (void)z, (void)hw, (void)len, (void)c;
#endif
}

// One chunk: len pixels of one image starting at z (channel k at z[k*hw + j]), labels y, gradient
// written at dz (same layout; null: none). G: the gamma the per-pixel power is specialised for
// (kernels::focal_pow_gamma), kAnyGamma calls std::pow. Returns the chunk's loss sum.
template <int G>
double focal_chunk(const float* z, const std::uint8_t* y, float* dz, std::int64_t hw,
                   std::int64_t len, int c, const float* alpha256, float gamma, float inv_norm,
                   bool stream, ChunkScratch& sc) {
    std::int32_t* const lab = sc.lab.data();
    std::int64_t labelled = 0;
#pragma omp simd reduction(+ : labelled)
    for (std::int64_t j = 0; j < len; ++j) {
        lab[j] = y[j];
        labelled += lab[j] < c;
    }
    if (labelled == 0) {  // common with sparse point labels: nothing to read
        zero_gradient_rows(dz, hw, len, c, stream, sc);
        return 0.0;
    }
    prefetch_next_chunk(z, hw, len, c);
    float* const m = sc.m.data();
    float* const zy = sc.zy.data();
    float* const ey = sc.ey.data();
    float* const so = sc.so.data();
    float* const poison = sc.poison.data();
#pragma omp simd
    for (std::int64_t j = 0; j < len; ++j) {
        m[j] = z[j];
        zy[j] = ey[j] = so[j] = 0.0f;
        // 0, or NaN when a logit of the pixel is not finite: added to labelled pixels' loss so a
        // diverged network still shows a NaN loss (the selects below would hide it).
        poison[j] = 0.0f;
    }
    for (int k = 1; k < c; ++k) {
        const float* zk = z + k * hw;
#pragma omp simd
        for (std::int64_t j = 0; j < len; ++j) m[j] = zk[j] > m[j] ? zk[j] : m[j];
    }
    for (int k = 0; k < c; ++k) {
        const float* zk = z + k * hw;
        float* ek = sc.e.data() + k * kChunk;
#pragma omp simd
        for (std::int64_t j = 0; j < len; ++j) {
            poison[j] += zk[j] * 0.0f;
            const float x = zk[j] - m[j];
            const bool is_y = lab[j] == k;
            zy[j] = is_y ? x : zy[j];
            const float ex = cpu::exp_clamped(x > -87.0f ? x : -87.0f);
            ek[j] = ex;
            ey[j] += is_y ? ex : 0.0f;
            so[j] += is_y ? 0.0f : ex;
        }
    }
    // Per pixel: loss and the two gradient factors (0 for unlabelled pixels). u = 1 - q is the
    // sum of the other classes' probabilities; log q is log1p(-u) when q is near 1, the
    // log-softmax form when q is small (kernels::focal_log_q).
    float* const a = sc.a.data();
    float* const pw = sc.pw.data();
    float* const cy = sc.cy.data();
    float* const w = sc.w.data();
    for (std::int64_t j = 0; j < len; ++j) a[j] = alpha256[lab[j]];  // 0 for unlabelled pixels
    if constexpr (G == kernels::kAnyGamma) {
        for (std::int64_t j = 0; j < len; ++j)
            pw[j] = gamma == 0.0f ? 1.0f : std::pow(so[j] / (ey[j] + so[j]), gamma);
    }
    double sum = 0.0;
#pragma omp simd reduction(+ : sum)
    for (std::int64_t j = 0; j < len; ++j) {
        const bool labelled_j = lab[j] < c;
        const float s = ey[j] + so[j];
        const float u = so[j] / s, q = ey[j] / s;
        const float logq = log_q(zy[j], s, u);
        const float p = G == kernels::kAnyGamma ? pw[j] : kernels::focal_pow_gamma<G>(u, gamma);
        const kernels::FocalPixel<float> t =
            kernels::focal_pixel_terms_pw(u, q, logq, gamma, a[j], p);
        const double loss_j = static_cast<double>(t.loss + poison[j]);
        sum += labelled_j ? loss_j : 0.0;
        const kernels::FocalGrad g = kernels::focal_grad_factors(t.coef, u, s, inv_norm);
        cy[j] = labelled_j ? g.dz_y : 0.0f;
        w[j] = labelled_j ? g.w : 0.0f;  // dz_k = -w * e_k for k != y
    }
    if (dz) {
        float* const row = sc.row.data();
        for (int k = 0; k < c; ++k) {
            const float* ek = sc.e.data() + k * kChunk;
#pragma omp simd
            for (std::int64_t j = 0; j < len; ++j) {
                // A blend, not a branch, so it vectorizes; exact since one weight is 0.
                const float is_y = lab[j] == k ? 1.0f : 0.0f;
                row[j] = is_y * cy[j] - (1.0f - is_y) * (w[j] * ek[j]);
            }
            store_row(dz + k * hw, row, len, stream);
        }
    }
    return sum;
}

// focal_chunk for a class count C known when compiled (the common small ones): one loop over the
// chunk's pixels does everything for a pixel (its C logits, exps and gradients stay in registers),
// instead of a pass per step through scratch arrays. Same float expressions in the same order as
// focal_chunk, so the same bits.
template <int G, int C>
double focal_chunk_fixed(const float* z, const std::uint8_t* y, float* dz, std::int64_t hw,
                         std::int64_t len, int, const float* alpha256, float gamma, float inv_norm,
                         bool stream, ChunkScratch& sc) {
    static_assert(G != kernels::kAnyGamma, "the per-pixel power must not call std::pow here");
    std::int64_t labelled = 0;
#pragma omp simd reduction(+ : labelled)
    for (std::int64_t j = 0; j < len; ++j) labelled += y[j] < C;
    if (labelled == 0) {
        zero_gradient_rows(dz, hw, len, C, stream, sc);
        return 0.0;
    }
    prefetch_next_chunk(z, hw, len, C);
    float alpha[C];
    for (int k = 0; k < C; ++k) alpha[k] = alpha256[k];
    float* const rows = sc.e.data();  // (C, kChunk): the gradient rows before they are stored
    const bool want_grad = dz != nullptr;
    double sum = 0.0;
#pragma omp simd reduction(+ : sum)
    for (std::int64_t j = 0; j < len; ++j) {
        const int yj = y[j];
        float zv[C];
#pragma GCC unroll 32
        for (int k = 0; k < C; ++k) zv[k] = z[k * hw + j];
        float m = zv[0];
        // 0, or NaN when a logit of the pixel is not finite (see focal_chunk).
        float poison = 0.0f;
#pragma GCC unroll 32
        for (int k = 1; k < C; ++k) m = zv[k] > m ? zv[k] : m;
        float ev[C];
        float zy = 0.0f, ey = 0.0f, so = 0.0f, a = 0.0f;
#pragma GCC unroll 32
        for (int k = 0; k < C; ++k) {
            poison += zv[k] * 0.0f;
            const float x = zv[k] - m;
            const bool is_y = yj == k;
            zy = is_y ? x : zy;
            a = is_y ? alpha[k] : a;
            const float ex = cpu::exp_clamped(x > -87.0f ? x : -87.0f);
            ev[k] = ex;
            ey += is_y ? ex : 0.0f;
            so += is_y ? 0.0f : ex;
        }
        const bool labelled_j = yj < C;
        const float s = ey + so;
        const float u = so / s, q = ey / s;
        const float logq = log_q(zy, s, u);
        const kernels::FocalPixel<float> t = kernels::focal_pixel_terms_pw(
            u, q, logq, gamma, a, kernels::focal_pow_gamma<G>(u, gamma));
        const double loss_j = static_cast<double>(t.loss + poison);
        sum += labelled_j ? loss_j : 0.0;
        if (want_grad) {
            const kernels::FocalGrad g = kernels::focal_grad_factors(t.coef, u, s, inv_norm);
            const float cy = labelled_j ? g.dz_y : 0.0f;
            const float w = labelled_j ? g.w : 0.0f;
#pragma GCC unroll 32
            for (int k = 0; k < C; ++k) {
                const float is_y = yj == k ? 1.0f : 0.0f;
                rows[k * kChunk + j] = is_y * cy - (1.0f - is_y) * (w * ev[k]);
            }
        }
    }
    if (want_grad)
        for (int k = 0; k < C; ++k) store_row(dz + k * hw, rows + k * kChunk, len, stream);
    return sum;
}

}  // namespace

void CpuBackend::focal_loss(const Tensor& logits, const Tensor& labels, const FocalLossParams& p,
                            Tensor& loss, Tensor& dlogits) {
    check_focal_loss_args(logits, labels, p, loss, dlogits, DeviceKind::cpu);
    const std::int64_t n = logits.dim(0), hw = logits.dim(2) * logits.dim(3);
    const int c = static_cast<int>(logits.dim(1));
    const float* z_all = logits.data<float>();                // (N,C,H,W)
    const std::uint8_t* y_all = labels.data<std::uint8_t>();  // (N,H,W)
    float* dz_all = dlogits.empty() ? nullptr : dlogits.data<float>();
    const bool stream = dz_all != nullptr && dlogits.bytes() >= kStreamBytes;

    // Class weights by label value: 0 past the classes, so unlabelled pixels weigh nothing.
    std::array<float, 256> alpha{};
    for (int k = 0; k < c; ++k)
        alpha[static_cast<std::size_t>(k)] =
            p.alpha.empty() ? 1.0f : p.alpha[static_cast<std::size_t>(k)];

    // Normalizer from integer class counts (exact, so any thread split gives the same value),
    // weighted in class order. Four interleaved histograms break the increment chain.
    std::array<std::int64_t, 256> counts{};
    const std::int64_t total_px = n * hw;
#pragma omp parallel
    {
        std::array<std::array<std::uint32_t, 256>, 4> mine{};
        std::array<std::int64_t, 256> wide{};
#pragma omp for schedule(static)
        for (std::int64_t b = 0; b < total_px; b += 65536) {  // blocks keep the uint32s exact
            const std::int64_t e = std::min(total_px, b + 65536);
            std::int64_t i = b;
            for (; i + 4 <= e; i += 4) {
                ++mine[0][y_all[i]];
                ++mine[1][y_all[i + 1]];
                ++mine[2][y_all[i + 2]];
                ++mine[3][y_all[i + 3]];
            }
            for (; i < e; ++i) ++mine[0][y_all[i]];
            for (std::size_t v = 0; v < 256; ++v) {
                wide[v] +=
                    static_cast<std::int64_t>(mine[0][v]) + mine[1][v] + mine[2][v] + mine[3][v];
                mine[0][v] = mine[1][v] = mine[2][v] = mine[3][v] = 0;
            }
        }
#pragma omp critical
        for (std::size_t v = 0; v < wide.size(); ++v) counts[v] += wide[v];
    }
    const double norm = kernels::focal_normalizer(counts.data(), alpha.data(), c,
                                                  p.normalize == LossNormalize::alpha);
    const float inv_norm = kernels::focal_inv_norm(norm);
    const float gamma = p.gamma;

    const std::int64_t chunks_per_image = (hw + kChunk - 1) / kChunk;
    const std::int64_t chunks = n * chunks_per_image;
    std::vector<double> partial(static_cast<std::size_t>(chunks), 0.0);
    auto run = [&](auto chunk_fn) {
#pragma omp parallel
        {
            ChunkScratch sc;
            sc.e.resize(static_cast<std::size_t>(c) * kChunk);
#pragma omp for schedule(static)
            for (std::int64_t ch = 0; ch < chunks; ++ch) {
                const std::int64_t img = ch / chunks_per_image;
                const std::int64_t j0 = (ch % chunks_per_image) * kChunk;
                const std::int64_t len = std::min(kChunk, hw - j0);
                partial[static_cast<std::size_t>(ch)] =
                    chunk_fn(z_all + img * c * hw + j0, y_all + img * hw + j0,
                             dz_all ? dz_all + img * c * hw + j0 : nullptr, hw, len, c,
                             alpha.data(), gamma, inv_norm, stream, sc);
            }
            if (stream) stream_fence();
        }
    };
    if (gamma == 2.0f && c == 6)  // the default focal loss on Potsdam's classes
        run(focal_chunk_fixed<2, 6>);
    else if (gamma == 0.0f && c == 6)
        run(focal_chunk_fixed<0, 6>);
    else if (gamma == 2.0f)
        run(focal_chunk<2>);
    else if (gamma == 0.0f)
        run(focal_chunk<0>);
    else
        run(focal_chunk<kernels::kAnyGamma>);

    double total = 0.0;
    for (double v : partial) total += v;  // fixed order: independent of the thread count
    loss.data<float>()[0] = kernels::focal_mean(total, norm);
}

}  // namespace pfce
