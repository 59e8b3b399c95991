// The reference's arithmetic ops as plain loops on raw arrays, templated on the number type so the
// tests can check them against finite differences in double; ReferenceBackend runs them in double.
// Layouts are the Backend's (core/backend.hpp): NCHW, filters (Co,Ci,k,k), transposed-convolution
// filters (Ci,Co,2,2). Outputs are overwritten, never accumulated into.
#pragma once

#include <cstdint>
#include <vector>

#include "core/op_params.hpp"

namespace pfce::reference {

// ---- partial focal loss (DESIGN §2)
// -------------------------------------------------------------- logits (N,C,H*W), labels (N,H*W)
// (any value >= C, 255 included, is unlabelled), alpha size C or empty (= 1). Returns the loss;
// writes dL/dlogits when dlogits is not null.
template <typename T>
T focal_loss(const T* logits, const std::uint8_t* labels, std::int64_t n, int c, std::int64_t hw,
             const FocalLossParams& p, T* dlogits);

// ---- local-window CRF (Potts) loss (core/backend.hpp crf_loss) ---------------------------------
// logits (N,C,H,W), rgb (N,3,H,W) u8. Returns the loss; writes dL/dlogits when dlogits is not
// null. Written from the definition: cell means, every ordered pair (i, j) of the window summed
// as k_ij (1 - P_i . P_j), and each pair's derivative added to both of its cells.
template <typename T>
T crf_loss(const T* logits, const std::uint8_t* rgb, std::int64_t n, int c, int h, int w,
           const CrfLossParams& p, T* dlogits);

// ---- bias gradient of the convolutions ----
// dbias[c] = sum over images and the plane of dy (N,C,plane), in double.
template <typename T>
void bias_backward(const T* dy, std::int64_t n, std::int64_t c, std::int64_t plane, T* dbias) {
    for (std::int64_t ch = 0; ch < c; ++ch) {
        double sum = 0.0;
        for (std::int64_t i = 0; i < n; ++i)
            for (std::int64_t k = 0; k < plane; ++k)
                sum += static_cast<double>(dy[(i * c + ch) * plane + k]);
        dbias[ch] = static_cast<T>(sum);
    }
}

// ---- convolution
// --------------------------------------------------------------------------------- x (N,Ci,H,W), w
// (Co,Ci,K,K), y (N,Co,Ho,Wo), stride 1, zero padding `pad` on every side.
struct ConvShape {
    std::int64_t n, ci, h, w, co, k, pad;
    std::int64_t ho() const { return h + 2 * pad - k + 1; }
    std::int64_t wo() const { return w + 2 * pad - k + 1; }
};
// y = x * w + bias (bias may be null).
template <typename T>
void conv2d_forward(const T* x, const T* w, const T* bias, T* y, const ConvShape& s);
// dx = dL/dx for upstream gradient dy.
template <typename T>
void conv2d_backward_data(const T* dy, const T* w, T* dx, const ConvShape& s);
// dw = dL/dw, dbias = dL/dbias (dbias may be null).
template <typename T>
void conv2d_backward_filter(const T* x, const T* dy, T* dw, T* dbias, const ConvShape& s);

// ---- 2x2 stride-2 transposed convolution -------------------------------------------------------
// x (N,Ci,H,W), w (Ci,Co,2,2), y (N,Co,2H,2W).
struct UpconvShape {
    std::int64_t n, ci, h, w, co;
};
template <typename T>
void upconv2x2_forward(const T* x, const T* w, const T* bias, T* y, const UpconvShape& s);
template <typename T>
void upconv2x2_backward_data(const T* dy, const T* w, T* dx, const UpconvShape& s);
template <typename T>
void upconv2x2_backward_filter(const T* x, const T* dy, T* dw, T* dbias, const UpconvShape& s);

// ---- batch norm over (N,H,W) per channel (PyTorch semantics) ----------------------------------
// x (N,C,HW). Training normalizes with the batch's biased variance, puts the unbiased one into
// running_var, running = (1-momentum)*running + momentum*batch, and saves mean and 1/std.
struct BnShape {
    std::int64_t n, c, hw;
};
template <typename T>
void batchnorm_forward_train(const T* x, const T* gamma, const T* beta, T* running_mean,
                             T* running_var, T* y, T* save_mean, T* save_invstd, const BnShape& s,
                             double momentum, double eps);
template <typename T>
void batchnorm_forward_infer(const T* x, const T* gamma, const T* beta, const T* running_mean,
                             const T* running_var, T* y, const BnShape& s, double eps);
// Gradients of batchnorm_forward_train's y with respect to x, gamma and beta, from its saved mean
// and 1/std.
template <typename T>
void batchnorm_backward(const T* x, const T* dy, const T* gamma, const T* save_mean,
                        const T* save_invstd, T* dx, T* dgamma, T* dbeta, const BnShape& s);

// ---- proximity linking (DESIGN §2)
// ----------------------------------------------------------------- A segment between two
// same-class labelled pixels, (y0,x0) the row-major smaller end.
struct LinkSegment {
    int cls, y0, x0, y1, x1;
};
// Every unordered pair of same-class labelled pixels of an (H,W) label map with dx²+dy² <= r²,
// found by checking all pairs. Labels must be < kMaxClasses or 255.
std::vector<LinkSegment> link_segments(const std::uint8_t* labels, int height, int width,
                                       int radius);

}  // namespace pfce::reference
