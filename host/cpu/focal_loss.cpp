// CPU backend: the fused partial focal loss (DESIGN §2), forward and backward in one pass over the
// logits. Pixels are walked in fixed chunks so the per-channel loops run over contiguous memory
// (they vectorize), and the loss is summed per chunk in double and then in chunk order, so the
// result does not depend on the number of threads. Per-pixel formulas: focal_loss_reference.hpp.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "host/cpu/cpu_backend.hpp"
#include "host/cpu/focal_loss_reference.hpp"

namespace pfce {

namespace {

constexpr std::int64_t kChunk = 256;  // pixels per work item; C*kChunk floats of scratch

void check_focal_args(const Tensor& logits, const Tensor& labels, const FocalLossParams& p,
                      const Tensor& loss, const Tensor& dlogits, DeviceKind dev) {
    PFCE_CHECK_SHAPE(logits.device() == dev && labels.device() == dev && loss.device() == dev,
                     "focal_loss tensors on the backend's device: ", logits.describe(), " ",
                     labels.describe(), " ", loss.describe());
    PFCE_CHECK_SHAPE(logits.dtype() == DType::f32 && logits.shape().rank == 4,
                     "logits (N,C,H,W) f32, got ", logits.describe());
    const std::int64_t c = logits.dim(1);
    PFCE_CHECK_SHAPE(c >= 1 && c <= kMaxClasses, "1 <= C <= ", kMaxClasses, ", got ", logits.describe());
    PFCE_CHECK_SHAPE(labels.dtype() == DType::u8 &&
                         labels.shape() == Shape({logits.dim(0), logits.dim(2), logits.dim(3)}),
                     "labels (N,H,W) u8 matching ", logits.describe(), ", got ", labels.describe());
    PFCE_CHECK_SHAPE(loss.dtype() == DType::f32 && loss.numel() == 1 && !loss.empty(),
                     "loss (1) f32, got ", loss.describe());
    PFCE_CHECK_SHAPE(dlogits.empty() || (dlogits.dtype() == DType::f32 &&
                                         dlogits.shape() == logits.shape() && dlogits.device() == dev),
                     "dlogits empty or like ", logits.describe(), ", got ", dlogits.describe());
    PFCE_CHECK_SHAPE(p.alpha.empty() || static_cast<std::int64_t>(p.alpha.size()) == c,
                     "alpha has ", p.alpha.size(), " entries for C = ", c);
    if (!(std::isfinite(p.gamma) && p.gamma >= 0.0f))
        PFCE_THROW(InputError, "focal loss gamma must be finite and >= 0, got ", p.gamma);
    for (float a : p.alpha)
        if (!(std::isfinite(a) && a >= 0.0f))
            PFCE_THROW(InputError, "focal loss alpha must be finite and >= 0, got ", a);
}

}  // namespace

void CpuBackend::focal_loss(const Tensor& logits, const Tensor& labels, const FocalLossParams& p,
                            Tensor& loss, Tensor& dlogits) {
    check_focal_args(logits, labels, p, loss, dlogits, DeviceKind::cpu);
    const std::int64_t n = logits.dim(0), hw = logits.dim(2) * logits.dim(3);
    const int c = static_cast<int>(logits.dim(1));
    const float* z_all = logits.data<float>();     // (N,C,H,W)
    const std::uint8_t* y_all = labels.data<std::uint8_t>();  // (N,H,W)
    float* dz_all = dlogits.empty() ? nullptr : dlogits.data<float>();

    std::array<float, kMaxClasses> alpha{};
    for (int k = 0; k < c; ++k) alpha[static_cast<std::size_t>(k)] = p.alpha.empty() ? 1.0f : p.alpha[static_cast<std::size_t>(k)];

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
    double norm = 0.0;
    for (int k = 0; k < c; ++k)
        norm += static_cast<double>(counts[static_cast<std::size_t>(k)]) *
                (p.normalize == LossNormalize::alpha ? static_cast<double>(alpha[static_cast<std::size_t>(k)]) : 1.0);
    const float inv_norm = norm > 0.0 ? static_cast<float>(1.0 / norm) : 0.0f;
    const float gamma = p.gamma;

    const std::int64_t chunks_per_image = (hw + kChunk - 1) / kChunk;
    const std::int64_t chunks = n * chunks_per_image;
    std::vector<double> partial(static_cast<std::size_t>(chunks), 0.0);

#pragma omp parallel
    {
        std::vector<float> e(static_cast<std::size_t>(c * kChunk));  // (C, chunk) exp(z - max)
        std::array<float, kChunk> m, s_other, ey, cy, w;
#pragma omp for schedule(static)
        for (std::int64_t ch = 0; ch < chunks; ++ch) {
            const std::int64_t img = ch / chunks_per_image;
            const std::int64_t j0 = (ch % chunks_per_image) * kChunk;
            const std::int64_t len = std::min(kChunk, hw - j0);
            const float* z = z_all + img * c * hw + j0;  // channel k at z[k*hw + j]
            const std::uint8_t* y = y_all + img * hw + j0;

            for (std::int64_t j = 0; j < len; ++j) m[j] = z[j];
            for (int k = 1; k < c; ++k)
                for (std::int64_t j = 0; j < len; ++j) m[j] = std::max(m[j], z[k * hw + j]);
            for (std::int64_t j = 0; j < len; ++j) s_other[j] = ey[j] = 0.0f;
            for (int k = 0; k < c; ++k) {
                float* ek = e.data() + k * kChunk;
                for (std::int64_t j = 0; j < len; ++j) {
                    const float v = std::exp(z[k * hw + j] - m[j]);
                    ek[j] = v;
                    const bool is_y = y[j] == k;
                    ey[j] += is_y ? v : 0.0f;
                    s_other[j] += is_y ? 0.0f : v;
                }
            }
            // Per pixel: loss and the two gradient factors (0 for unlabelled pixels).
            double sum = 0.0;
            for (std::int64_t j = 0; j < len; ++j) {
                const int yj = y[j];
                if (yj >= c) {
                    cy[j] = w[j] = 0.0f;
                    continue;
                }
                const float s = ey[j] + s_other[j];
                const float u = s_other[j] / s, q = ey[j] / s;
                const float logq = focal_log_q(z[yj * hw + j] - m[j], s, u);
                const FocalPixel<float> t = focal_pixel_terms(u, q, logq, gamma, alpha[static_cast<std::size_t>(yj)]);
                sum += static_cast<double>(t.loss);
                cy[j] = t.coef * u * inv_norm;   // dz_y
                w[j] = t.coef * inv_norm / s;    // dz_k = -w * e_k for k != y
            }
            partial[static_cast<std::size_t>(ch)] = sum;
            if (dz_all) {
                float* dz = dz_all + img * c * hw + j0;
                for (int k = 0; k < c; ++k) {
                    const float* ek = e.data() + k * kChunk;
                    for (std::int64_t j = 0; j < len; ++j)
                        dz[k * hw + j] = y[j] == k ? cy[j] : 0.0f - w[j] * ek[j];  // +0 when unlabelled
                }
            }
        }
    }
    double total = 0.0;
    for (double v : partial) total += v;  // fixed order: independent of the thread count
    loss.data<float>()[0] = static_cast<float>(total * (norm > 0.0 ? 1.0 / norm : 0.0));
}

}  // namespace pfce
