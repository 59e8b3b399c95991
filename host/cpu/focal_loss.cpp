// CPU backend: the fused partial focal loss (DESIGN §2), forward and backward in one pass over the
// logits. Pixels are walked in fixed chunks so the per-channel loops run over contiguous memory
// (they vectorize), and the loss is summed per chunk in double and then in chunk order, so the
// result does not depend on the number of threads. Chunks without a labelled pixel only write
// zeros. Per-pixel formulas: core/kernels/focal.hpp, shared with cuda/focal_loss.cu; the plain
// loop this file is tested against is host/reference/focal_loss.cpp.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/kernels/focal.hpp"
#include "core/op_checks.hpp"
#include "host/cpu/cpu_backend.hpp"
#include "host/cpu/fast_exp.hpp"

namespace pfce {

namespace {

constexpr std::int64_t kChunk = 256;  // pixels per work item; C*kChunk floats of scratch

}  // namespace

void CpuBackend::focal_loss(const Tensor& logits, const Tensor& labels, const FocalLossParams& p,
                            Tensor& loss, Tensor& dlogits) {
    check_focal_loss_args(logits, labels, p, loss, dlogits, DeviceKind::cpu);
    const std::int64_t n = logits.dim(0), hw = logits.dim(2) * logits.dim(3);
    const int c = static_cast<int>(logits.dim(1));
    const float* z_all = logits.data<float>();                // (N,C,H,W)
    const std::uint8_t* y_all = labels.data<std::uint8_t>();  // (N,H,W)
    float* dz_all = dlogits.empty() ? nullptr : dlogits.data<float>();

    std::array<float, kMaxClasses> alpha{};
    for (int k = 0; k < c; ++k)
        alpha[static_cast<std::size_t>(k)] =
            p.alpha.empty() ? 1.0f : p.alpha[static_cast<std::size_t>(k)];

    // Normalizer from integer class counts (exact, so any thread split gives the same value),
    // weighted in class order.
    std::array<std::int64_t, 256> counts{};
#pragma omp parallel
    {
        std::array<std::int64_t, 256> mine{};
#pragma omp for schedule(static)
        for (std::int64_t i = 0; i < n * hw; ++i) ++mine[y_all[i]];
#pragma omp critical
        for (std::size_t v = 0; v < mine.size(); ++v) counts[v] += mine[v];
    }
    const double norm = kernels::focal_normalizer(counts.data(), alpha.data(), c,
                                                  p.normalize == LossNormalize::alpha);
    const float inv_norm = kernels::focal_inv_norm(norm);
    const float gamma = p.gamma;

    const std::int64_t chunks_per_image = (hw + kChunk - 1) / kChunk;
    const std::int64_t chunks = n * chunks_per_image;
    std::vector<double> partial(static_cast<std::size_t>(chunks), 0.0);

#pragma omp parallel
    {
        std::vector<float> e(static_cast<std::size_t>(c * kChunk));  // (C, chunk) exp(z - max)
        std::array<float, kChunk> m, s_other, ey, cy, w, poison;
        std::array<std::int32_t, kChunk> lab;  // labels widened so the selects below vectorize
#pragma omp for schedule(static)
        for (std::int64_t ch = 0; ch < chunks; ++ch) {
            const std::int64_t img = ch / chunks_per_image;
            const std::int64_t j0 = (ch % chunks_per_image) * kChunk;
            const std::int64_t len = std::min(kChunk, hw - j0);
            const float* z = z_all + img * c * hw + j0;  // channel k at z[k*hw + j]
            const std::uint8_t* y = y_all + img * hw + j0;

            // Branch-free selects: with random logits and labels, branches would mispredict.
            std::int64_t labelled = 0;
            for (std::int64_t j = 0; j < len; ++j) {
                lab[j] = y[j];
                labelled += lab[j] < c;
            }
            if (labelled == 0) {  // common with sparse point labels: nothing to read
                partial[static_cast<std::size_t>(ch)] = 0.0;
                if (dz_all)
                    for (int k = 0; k < c; ++k)
                        std::memset(dz_all + img * c * hw + j0 + k * hw, 0,
                                    static_cast<std::size_t>(len) * sizeof(float));
                continue;
            }
            for (std::int64_t j = 0; j < len; ++j) m[j] = z[j];
            for (int k = 1; k < c; ++k) {
                const float* zk = z + k * hw;
#pragma omp simd
                for (std::int64_t j = 0; j < len; ++j) m[j] = zk[j] > m[j] ? zk[j] : m[j];
            }
            // 0, or NaN when a logit of the pixel is not finite: added to labelled pixels' loss so
            // a diverged network still shows a NaN loss (the selects above would hide it).
            for (std::int64_t j = 0; j < len; ++j) poison[j] = 0.0f;
            for (int k = 0; k < c; ++k) {
                const float* zk = z + k * hw;
#pragma omp simd
                for (std::int64_t j = 0; j < len; ++j) poison[j] += zk[j] * 0.0f;
            }
            for (std::int64_t j = 0; j < len; ++j) s_other[j] = ey[j] = 0.0f;
            for (int k = 0; k < c; ++k) {
                const float* zk = z + k * hw;
                float* ek = e.data() + k * kChunk;
#pragma omp simd
                for (std::int64_t j = 0; j < len; ++j) {
                    const float x = zk[j] - m[j];
                    ek[j] = x > -87.0f ? x : -87.0f;  // a store of a select: vectorizes
                }
#pragma omp simd
                for (std::int64_t j = 0; j < len; ++j) {
                    ek[j] = cpu::exp_clamped(ek[j]);
                    const float is_y = lab[j] == k ? 1.0f : 0.0f;
                    ey[j] += is_y * ek[j];
                    s_other[j] += (1.0f - is_y) * ek[j];
                }
            }
            // Per pixel: loss and the two gradient factors (0 for unlabelled pixels).
            double sum = 0.0;
            for (std::int64_t j = 0; j < len; ++j) {
                const int yj = lab[j];
                if (yj >= c) {
                    cy[j] = w[j] = 0.0f;
                    continue;
                }
                const float s = ey[j] + s_other[j];
                const float u = s_other[j] / s, q = ey[j] / s;
                const float logq = kernels::focal_log_q(z[yj * hw + j] - m[j], s, u);
                const kernels::FocalPixel<float> t = kernels::focal_pixel_terms(
                    u, q, logq, gamma, alpha[static_cast<std::size_t>(yj)]);
                sum += static_cast<double>(t.loss + poison[j]);
                const kernels::FocalGrad g = kernels::focal_grad_factors(t.coef, u, s, inv_norm);
                cy[j] = g.dz_y;
                w[j] = g.w;  // dz_k = -w * e_k for k != y
            }
            partial[static_cast<std::size_t>(ch)] = sum;
            if (dz_all) {
                float* dz = dz_all + img * c * hw + j0;
                for (int k = 0; k < c; ++k) {
                    const float* ek = e.data() + k * kChunk;
#pragma omp simd
                    for (std::int64_t j = 0; j < len; ++j) {
                        // A blend, not a branch, so it vectorizes; exact since one weight is 0.
                        const float is_y = lab[j] == k ? 1.0f : 0.0f;
                        dz[k * hw + j] = is_y * cy[j] - (1.0f - is_y) * (w[j] * ek[j]);
                    }
                }
            }
        }
    }
    double total = 0.0;
    for (double v : partial) total += v;  // fixed order: independent of the thread count
    loss.data<float>()[0] = static_cast<float>(total * (norm > 0.0 ? 1.0 / norm : 0.0));
}

}  // namespace pfce
