// Reference partial focal loss (DESIGN §2): one pixel at a time, softmax with std::exp after
// subtracting the max, the per-pixel terms of core/kernels/focal.hpp (the formulas both backends
// evaluate), sums in T. Checked against central finite differences in double by the tests.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/kernels/focal.hpp"
#include "core/op_checks.hpp"
#include "host/reference/doubles.hpp"
#include "host/reference/reference_backend.hpp"
#include "host/reference/reference_ops.hpp"

namespace pfce {

using reference::Doubles;
namespace reference {

template <typename T>
T focal_loss(const T* logits, const std::uint8_t* labels, std::int64_t n, int c, std::int64_t hw,
             const FocalLossParams& p, T* dlogits) {
    auto alpha_of = [&](int k) {
        return p.alpha.empty() ? T(1) : T(p.alpha[static_cast<std::size_t>(k)]);
    };
    // Normalizer: number of labelled pixels, or the sum of their class weights.
    T norm = 0;
    for (std::int64_t i = 0; i < n * hw; ++i)
        if (labels[i] < c) norm += p.normalize == LossNormalize::alpha ? alpha_of(labels[i]) : T(1);
    const T inv_norm = norm > T(0) ? T(1) / norm : T(0);

    T total = 0;
    std::vector<T> e(static_cast<std::size_t>(c));
    for (std::int64_t img = 0; img < n; ++img) {
        const T* z = logits + img * c * hw;  // (C,H*W)
        T* dz = dlogits ? dlogits + img * c * hw : nullptr;
        for (std::int64_t j = 0; j < hw; ++j) {
            const int y = labels[img * hw + j];
            if (y >= c) {  // unlabelled: no loss, gradient exactly 0
                if (dz)
                    for (int k = 0; k < c; ++k) dz[k * hw + j] = T(0);
                continue;
            }
            T m = z[j];
            for (int k = 1; k < c; ++k) m = std::max(m, z[k * hw + j]);
            T s_other = 0;
            for (int k = 0; k < c; ++k) {
                e[static_cast<std::size_t>(k)] = std::exp(z[k * hw + j] - m);
                if (k != y) s_other += e[static_cast<std::size_t>(k)];
            }
            const T ey = e[static_cast<std::size_t>(y)];
            const T s = ey + s_other;
            const T u = s_other / s, q = ey / s;  // u = 1 - q without cancellation
            const T logq = kernels::focal_log_q(z[y * hw + j] - m, s, u);
            const kernels::FocalPixel<T> t =
                kernels::focal_pixel_terms(u, q, logq, T(p.gamma), alpha_of(y));
            total += t.loss;
            if (dz)  // dl/dz_k = coef (delta_ky - p_k)
                for (int k = 0; k < c; ++k)
                    dz[k * hw + j] =
                        k == y ? t.coef * u * inv_norm
                               : -t.coef * (e[static_cast<std::size_t>(k)] / s) * inv_norm;
        }
    }
    return total * inv_norm;
}

template float focal_loss<float>(const float*, const std::uint8_t*, std::int64_t, int, std::int64_t,
                                 const FocalLossParams&, float*);
template double focal_loss<double>(const double*, const std::uint8_t*, std::int64_t, int,
                                   std::int64_t, const FocalLossParams&, double*);

}  // namespace reference

void ReferenceBackend::focal_loss(const Tensor& logits, const Tensor& labels,
                                  const FocalLossParams& p, Tensor& loss, Tensor& dlogits) {
    check_focal_loss_args(logits, labels, p, loss, dlogits, DeviceKind::cpu);
    Doubles dz(dlogits);  // none when dlogits is empty: no gradient
    loss.data<float>()[0] = static_cast<float>(reference::focal_loss<double>(
        Doubles(logits).data(), labels.data<std::uint8_t>(), logits.dim(0),
        static_cast<int>(logits.dim(1)), logits.dim(2) * logits.dim(3), p, dz.data()));
    dz.store(dlogits);
}

}  // namespace pfce
