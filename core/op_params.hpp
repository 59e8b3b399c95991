// Parameter structs for the ops of the Backend catalogue. Plain data, shared by both backends,
// by models/ and by the config readers, so a setting means the same thing everywhere.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/enum_names.hpp"

namespace pfce {

class Tensor;

constexpr std::uint8_t kUnlabelled = 255;  // label value that contributes nothing anywhere
constexpr int kMaxClasses = 32;

// Partial focal loss (DESIGN §2). alpha empty = 1 for every class.
enum class LossNormalize { labelled, alpha };
struct FocalLossParams {
    float gamma = 2.0f;
    std::vector<float> alpha;  // per class, size C or empty
    LossNormalize normalize = LossNormalize::labelled;
};

// Local-window CRF (Potts) loss, the "gated CRF loss" of Obukhov et al. 2019 (core/backend.hpp
// crf_loss). The window runs on a grid of `downsample` x `downsample` pixel cells; `radius` counts
// cells, sigma_xy full-resolution pixels, sigma_rgb 0-255 colour units.
constexpr int kMaxCrfRadius = 16;
constexpr int kMaxCrfDownsample = 16;
struct CrfLossParams {
    float weight = 1.0f;      // lambda: loss and gradient are scaled by it
    int radius = 5;           // r: neighbours j with |dy|, |dx| <= r cells, j != i
    float sigma_xy = 5.0f;    // spatial bandwidth, pixels
    float sigma_rgb = 15.0f;  // colour bandwidth, 0-255 units
    int downsample = 1;       // d: side of a cell in pixels (1 = every pixel)
};

// 2-D convolution, square kernel, stride 1, zero padding `pad` on every side (3x3: pad 1; 1x1: pad
// 0).
struct Conv2dParams {
    int pad = 1;
};

// The arithmetic of the convolutions and transposed convolutions (Backend::set_precision,
// run.precision). Tensors are f32 in memory at every precision (except a network's activations on
// a backend that stores them in bf16 at bf16: Backend::activation_dtype); the convolutions round
// at the points core/kernels/precision.hpp defines (bias adds and bias gradients are f32).
//   fp32: f32 factors, f32 accumulation and results (CUDA: CUDNN_FMA_MATH, no TF32).
//   tf32: both factors of every product rounded to TF32 (11 significant bits), f32 accumulation
//         and results (CUDA: tensor-op math, cuDNN's TF32 tensor cores where it picks them).
//   bf16: both factors rounded to bf16 (8 significant bits), f32 accumulation, the result rounded
//         to bf16 (CUDA: cuDNN on bf16 copies with f32 compute, like PyTorch's bf16 autocast).
enum class Precision : std::uint8_t { fp32, tf32, bf16 };
inline constexpr EnumTable<Precision, 3> kPrecisions{{"fp32", "tf32", "bf16"}, "precision"};

// run.precision: "auto" (each device's fast f32 path, what pfce did before there was a setting:
// tf32 on CUDA, fp32 on the CPU) or one of kPrecisions; InputError names anything else.
inline Precision parse_precision(const std::string& name, bool cuda) {
    if (same_name(name, "auto")) return cuda ? Precision::tf32 : Precision::fp32;
    for (std::size_t i = 0; i < kPrecisions.names.size(); ++i)
        if (same_name(name, kPrecisions.names[i])) return static_cast<Precision>(i);
    PFCE_THROW(InputError, "precision: unknown value \"", name,
               "\" (expected one of auto, fp32, tf32, bf16)");
}

struct BatchNormParams {
    float momentum = 0.1f;  // running = (1-momentum)*running + momentum*batch (PyTorch convention)
    float eps = 1e-5f;
    bool relu = false;  // y = max(0, BN(x)) in the same pass (the U-Net's BN is always so followed)
};

// Proximity linking (DESIGN §2).
enum class LinkConflict { unlabelled, lowest };
// Backends keep grid cells and squared distances of this radius in range; larger radii are clamped
// to the image diagonal by the linking driver (same pairs).
constexpr int kMaxLinkRadius = 1 << 16;
struct LinkParams {
    int radius = 20;  // D: pairs with dx^2+dy^2 <= D^2
    LinkConflict conflict = LinkConflict::unlabelled;
    float max_color_step = -1.0f;  // < 0: edge-aware linking off
};
struct LinkStats {
    std::int64_t points = 0;    // labelled pixels in the input
    std::int64_t pairs = 0;     // unordered same-class pairs within D (segments drawn or refused)
    std::int64_t segments = 0;  // segments actually drawn (pairs minus edge-refused)
    std::int64_t labelled_after = 0;
};

// Optimizers. What changes from step to step (the schedule's lr, Adam's bias corrections) is not
// a parameter but is read by the step ops from a small f32 tensor on the backend's device, the
// "step scalars", kOptimScalarCount elements at the indices below: the host writes it before the
// step (host/train/optimizer.hpp), so a step captured once as a CUDA graph replays with each
// step's values instead of the ones it was captured with. kernels::sgd_step_scalars and
// adam_step_scalars (core/kernels/optim.hpp) compute them. The parameters hold what is constant
// for a run.
enum OptimScalar : int {
    kOptimLr = 0,        // the learning rate
    kOptimStepSize = 1,  // Adam: lr / (1 - beta1^t) for step t (1-based)
    kOptimBc2Sqrt = 2,   // Adam: sqrt(1 - beta2^t)
    kOptimScalarCount = 3
};
struct SgdParams {
    float momentum = 0.9f;
    float weight_decay = 0.0f;  // L2, added to the gradient
};
enum class WeightDecayMode { l2, decoupled };  // Adam+L2 vs AdamW
struct AdamParams {
    float beta1 = 0.9f;
    float beta2 = 0.999f;
    float eps = 1e-8f;
    float weight_decay = 0.0f;
    WeightDecayMode decay_mode = WeightDecayMode::decoupled;
};

// One parameter of a whole-model optimizer step (Backend::sgd_steps / adam_steps). The pointers
// are the caller's tensors; momentum_buf is empty for SGD without momentum.
struct SgdSlot {
    Tensor* param = nullptr;
    const Tensor* grad = nullptr;
    Tensor* momentum_buf = nullptr;
    float weight_decay = 0.0f;
};
struct AdamSlot {
    Tensor* param = nullptr;
    const Tensor* grad = nullptr;
    Tensor* m = nullptr;
    Tensor* v = nullptr;
    float weight_decay = 0.0f;
};

}  // namespace pfce
