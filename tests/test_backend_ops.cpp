// The op harness (after ggml's test-backend-ops): every op of the Backend catalogue x every backend
// this build and machine have x a list of shapes, compared with the reference backend
// (host/reference): |got - ref| <= atol + rtol |ref| for f32 outputs, u8 and i32 outputs exact.
// To add an op: give it an entry in op_table() (a test fails until it has one); to add a backend:
// one line in backend_kinds(). Either way every check runs for it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/kernels/optim.hpp"
#include "core/rng.hpp"
#include "host/cpu/cpu_backend.hpp"
#include "host/reference/reference_backend.hpp"
#include "tests/activation_adapter.hpp"
#include "tests/test_util.hpp"

#ifdef PFCE_HAVE_CUDA
#include "cuda/cuda_backend.hpp"
#include "cuda/device_info.hpp"
#endif

using namespace pfce;
using pfce::test::random_f32;

namespace {

// ---- the pieces of a table entry ------------------------------------------------------------

struct Tolerance {
    double atol = 0.0, rtol = 0.0;
};
constexpr Tolerance kExact{0.0, 0.0};

// A host copy of one output of an op, named for the failure message.
struct Output {
    std::string name;
    Tensor value;
};
using Outputs = std::vector<Output>;
// Outputs of one case (Tensor moves, so no initializer list).
template <typename... O>
Outputs outputs(O&&... o) {
    Outputs v;
    (v.push_back(std::forward<O>(o)), ...);
    return v;
}

// One setting of an op: makes its inputs (the same ones on every call: they come from fixed
// seeds), runs the op on the given backend and returns the outputs.
struct OpCase {
    std::string label;
    std::function<Outputs(Backend&)> run;
};

struct OpEntry {
    std::string op;  // the Backend method it checks
    Tolerance tol;   // for f32 outputs of a backend computing in f32
    // For a backend whose convolutions may round their factors to TF32 (cuDNN with tensor-op
    // math, as on CUDA); `tol` when unset.
    std::optional<Tolerance> tf32;
    std::vector<OpCase> cases;
    // Set on a second entry of the same method run with other parameters (its name is op_variant).
    std::string variant = {};

    std::string name() const { return variant.empty() ? op : op + "_" + variant; }
};

// ---- helpers for the cases ------------------------------------------------------------------

Tensor up(Backend& b, const Tensor& host) {
    return test::to_backend(b, host);
}

// An output the op must overwrite entirely, filled with garbage (NaN for f32).
Tensor garbage(Backend& b, Shape s, DType dtype = DType::f32) {
    Tensor t = b.zeros(s, dtype);
    b.fill(t, dtype == DType::f32 ? std::nanf("") : 171.0f);
    return t;
}

Output down(Backend& b, const char* name, const Tensor& t) {
    return {name, test::to_host(b, t)};
}

// Values on a coarse grid (many exact ties and zeros) for the tie rules of the routing ops.
Tensor coarse(Shape s, std::uint64_t seed) {
    Tensor t = Tensor::host(s, DType::f32);
    CounterRng rng(seed, 0xc0a25e);
    for (std::int64_t i = 0; i < t.numel(); ++i)
        t.data<float>()[i] = -1.0f + 0.5f * static_cast<float>(rng.below(5));
    return t;
}

std::string dims(const Shape& s) {
    std::ostringstream out;
    for (int i = 0; i < s.rank; ++i) out << (i ? "x" : "") << s[i];
    return out.str();
}

// A host copy of a host tensor.
Tensor copy_of(const Tensor& t) {
    Tensor c = Tensor::host(t.shape(), t.dtype());
    std::memcpy(c.raw(), t.raw(), t.bytes());
    return c;
}

// One OpCase per element of `list`, labelled by `label` and run by `run(backend, element)`.
template <typename Case, typename Label, typename Run>
std::vector<OpCase> cases_of(const std::vector<Case>& list, Label label, Run run) {
    std::vector<OpCase> out;
    for (const Case& c : list)
        out.push_back({label(c), [c, run](Backend& b) -> Outputs { return run(b, c); }});
    return out;
}

// Flat sizes for elementwise ops: one element, around a block of 256 threads, and beyond the
// CUDA grid caps of the reductions (1024 blocks of 256), so grid-stride loops and tails run.
const std::vector<Shape> kFlat = {{1}, {255}, {257}, {3, 5, 7, 11}, {(1 << 18) + 3}};

// (N,C,H,W) shapes for the plane ops: odd sides, one pixel, more planes than a grid's y limit
// (65535), planes wider than 1024 blocks of 256 threads, and U-Net activations.
const std::vector<Shape> kPlanes = {{1, 1, 1, 1},       {2, 3, 7, 9},    {1, 66000, 2, 3},
                                    {1, 1, 1030, 1030}, {2, 32, 76, 76}, {3, 5, 5, 4}};

// ---- convolution and transposed convolution -----------------------------------------------

struct ConvCase {
    std::int64_t n, ci, h, w, co, k, pad;
    bool bias;
    std::int64_t ho() const { return h + 2 * pad - k + 1; }
    std::int64_t wo() const { return w + 2 * pad - k + 1; }
};
const std::vector<ConvCase> kConvCases = {
    {2, 3, 7, 9, 4, 3, 1, true},         // small, odd sides
    {1, 2, 6, 5, 3, 3, 0, false},        // no padding
    {3, 5, 4, 6, 2, 1, 0, true},         // 1x1: the CPU's plain-GEMM path
    {1, 1, 1, 1, 1, 3, 1, true},         // one pixel, one channel
    {5, 4, 9, 8, 6, 3, 1, false},        // more images than threads
    {2, 64, 61, 64, 8, 3, 1, true},      // images split into CPU row tiles, the last one partial
    {2, 32, 64, 64, 32, 3, 1, true},     // U-Net first level (F = 32)
    {1, 128, 19, 19, 128, 3, 1, false},  // U-Net bottleneck of a 304x304 input, depth 4
    {2, 32, 76, 76, 6, 1, 0, true},      // the 1x1 logits layer
};
std::string conv_label(const ConvCase& c) {
    return dims({c.n, c.ci, c.h, c.w}) + " co" + std::to_string(c.co) + " k" + std::to_string(c.k) +
           " pad" + std::to_string(c.pad) + (c.bias ? " bias" : "");
}

// Inputs at the scale training sees them: x in [-1,1], weights He-like (|w| <= 1/sqrt(fan-in)),
// upstream gradients divided by sqrt(number of output pixels), so every output is O(1).
struct ConvInputs {
    Tensor x, w, bias, dy;
};
ConvInputs conv_inputs(const ConvCase& c) {
    const float wmax = 1.0f / std::sqrt(static_cast<float>(c.ci * c.k * c.k));
    const float gmax = 1.0f / std::sqrt(static_cast<float>(c.n * c.ho() * c.wo()));
    return {random_f32({c.n, c.ci, c.h, c.w}, 1),
            random_f32({c.co, c.ci, c.k, c.k}, 2, -wmax, wmax), random_f32({c.co}, 3),
            random_f32({c.n, c.co, c.ho(), c.wo()}, 4, -gmax, gmax)};
}

struct UpCase {
    std::int64_t n, ci, h, w, co;
};
const std::vector<UpCase> kUpCases = {
    {1, 2, 2, 3, 2},      // small
    {3, 3, 5, 3, 4},      // odd sides
    {1, 1, 1, 1, 1},      // one pixel
    {1, 4, 40, 64, 128},  // Co*4 x W large enough for several CPU row tiles, the last partial
    {3, 4, 40, 64, 128},  // the same over several images
    {2, 64, 38, 38, 32},  // U-Net up-step of a 304x304 input (F = 32)
};
std::string up_label(const UpCase& c) {
    return dims({c.n, c.ci, c.h, c.w}) + " co" + std::to_string(c.co);
}
ConvInputs up_inputs(const UpCase& c) {
    const float wmax = 1.0f / std::sqrt(static_cast<float>(c.ci));
    const float gmax = 1.0f / std::sqrt(static_cast<float>(c.n * 4 * c.h * c.w));
    return {random_f32({c.n, c.ci, c.h, c.w}, 5), random_f32({c.ci, c.co, 2, 2}, 6, -wmax, wmax),
            random_f32({c.co}, 7), random_f32({c.n, c.co, 2 * c.h, 2 * c.w}, 8, -gmax, gmax)};
}

// ---- batch norm ----------------------------------------------------------------------------

const std::vector<Shape> kBnShapes = {{1, 1, 1, 2},   {2, 3, 5, 7},    {4, 1, 300, 300},
                                      {1, 600, 2, 3}, {8, 32, 76, 76}, {2, 64, 38, 38}};
struct BnInputs {
    Tensor x, gamma, beta, running_mean, running_var, dy;
};
BnInputs bn_inputs(const Shape& s) {
    return {
        random_f32(s, 11, -2.0f, 3.0f), random_f32({s[1]}, 12, 0.5f, 2.0f), random_f32({s[1]}, 13),
        random_f32({s[1]}, 14),         random_f32({s[1]}, 15, 0.5f, 2.0f), random_f32(s, 16)};
}

// ---- focal loss ------------------------------------------------------------------------------

struct FocalCase {
    Shape shape;  // logits (N,C,H,W)
    float gamma;
    LossNormalize normalize;
    double unlabelled;  // fraction of pixels without a label (255, or C when C < 255)
    float spread;       // logits uniform in [-spread, spread]; 1e4 saturates every softmax
};
const std::vector<FocalCase> kFocalCases = {
    {{1, 2, 1, 1}, 2.0f, LossNormalize::labelled, 0.0, 6.0f},
    {{2, 4, 3, 5}, 0.0f, LossNormalize::alpha, 0.3, 3.0f},  // cross-entropy
    {{2, 6, 17, 300}, 0.5f, LossNormalize::labelled, 0.4, 5.0f},
    {{2, 6, 17, 300}, 1.0f, LossNormalize::alpha, 0.4, 5.0f},
    {{2, 6, 17, 300}, 5.0f, LossNormalize::labelled, 0.4, 5.0f},
    {{3, 32, 17, 30}, 2.0f, LossNormalize::alpha, 0.3, 6.0f},       // kMaxClasses
    {{2, 6, 64, 300}, 2.0f, LossNormalize::labelled, 0.995, 4.0f},  // sparse point labels
    {{2, 6, 304, 304}, 2.0f, LossNormalize::labelled, 0.3, 6.0f},   // a training batch
    {{1, 2, 1030, 1030}, 2.0f, LossNormalize::alpha, 0.3, 6.0f},    // > 4096 blocks of 256
    {{1, 4, 8, 8}, 2.0f, LossNormalize::alpha, 0.1, 1e4f},          // saturated softmax
    {{2, 3, 4, 5}, 2.0f, LossNormalize::labelled, 1.0, 1.0f},       // nothing labelled
};
std::string focal_label(const FocalCase& c) {
    std::ostringstream s;
    s << dims(c.shape) << " gamma " << c.gamma
      << (c.normalize == LossNormalize::alpha ? " alpha" : " labelled") << " unlabelled "
      << c.unlabelled << " logits +-" << c.spread;
    return s.str();
}

// ---- CRF loss ---------------------------------------------------------------------------------

struct CrfCase {
    Shape shape;  // logits (N,C,H,W)
    int radius, downsample;
    float sigma_xy, sigma_rgb;
    float spread;  // logits uniform in [-spread, spread]
};
const std::vector<CrfCase> kCrfCases = {
    {{1, 2, 1, 1}, 1, 1, 5.0f, 15.0f, 3.0f},       // one pixel: no neighbour, loss 0
    {{2, 4, 7, 9}, 2, 1, 3.0f, 20.0f, 3.0f},       // small, odd sides
    {{2, 6, 17, 30}, 5, 1, 5.0f, 15.0f, 4.0f},     // the default window
    {{2, 6, 17, 30}, 3, 2, 5.0f, 15.0f, 4.0f},     // cells of 2x2, a partial last row
    {{1, 6, 20, 23}, 2, 3, 8.0f, 30.0f, 4.0f},     // cells of 3x3, partial on both sides
    {{3, 32, 9, 10}, 2, 1, 4.0f, 15.0f, 5.0f},     // kMaxClasses
    {{1, 3, 40, 37}, 16, 1, 10.0f, 40.0f, 3.0f},   // kMaxCrfRadius: a CUDA tile beyond 48 KiB
    {{1, 32, 20, 21}, 16, 1, 10.0f, 40.0f, 3.0f},  // ... and one that needs 8x8 tiles
    {{2, 6, 96, 96}, 5, 1, 5.0f, 15.0f, 6.0f},     // a synthetic-small batch
    {{1, 2, 300, 300}, 3, 4, 20.0f, 15.0f, 6.0f},  // a Potsdam patch on a grid of 4x4 cells
    {{2, 3, 5, 6}, 2, 8, 5.0f, 15.0f, 3.0f},       // one cell per image: loss 0
    {{1, 4, 12, 13}, 3, 1, 0.2f, 1e4f, 4.0f},      // spatial kernel below exp(-87): clamped
    {{1, 4, 12, 13}, 3, 1, 1e3f, 1.0f, 1e4f},      // colour-dominated; saturated softmax
};
std::string crf_label(const CrfCase& c) {
    std::ostringstream s;
    s << dims(c.shape) << " r " << c.radius << " d " << c.downsample << " sigma_xy " << c.sigma_xy
      << " sigma_rgb " << c.sigma_rgb << " logits +-" << c.spread;
    return s.str();
}

// ---- linking -----------------------------------------------------------------------------------

struct LinkCase {
    int n, h, w, classes, points, radius;
    float step;  // max_color_step; < 0: edge-aware linking off
    LinkConflict conflict;
};
const std::vector<LinkCase> kLinkCases = {
    {3, 37, 53, 6, 150, 9, -1, LinkConflict::unlabelled},
    {2, 64, 48, 3, 200, 20, -1, LinkConflict::lowest},
    {2, 41, 29, 32, 300, 7, -1, LinkConflict::unlabelled},  // every class
    {2, 50, 50, 4, 120, 12, 40.0f, LinkConflict::unlabelled},
    {2, 23, 31, 2, 60, 100, 25.0f, LinkConflict::lowest},  // D beyond the image: one cell
    {1, 1, 1, 1, 1, 5, -1, LinkConflict::unlabelled},
    {2, 19, 17, 3, 40, 0, -1, LinkConflict::unlabelled},  // D = 0: nothing to draw
    {3, 64, 80, 5, 400, 1, -1, LinkConflict::unlabelled},
    {2, 300, 300, 6, 3000, 20, -1, LinkConflict::unlabelled},  // a Potsdam patch, e4's D
    {2, 300, 300, 6, 3000, 20, 35.0f, LinkConflict::lowest},   // e5: edge-aware
};
std::string link_label(const LinkCase& c) {
    std::ostringstream s;
    s << dims({c.n, c.h, c.w}) << " classes " << c.classes << " points " << c.points << " D "
      << c.radius << " step " << c.step
      << (c.conflict == LinkConflict::lowest ? " lowest" : " unlabelled");
    return s.str();
}

// ---- kinds of entries ---------------------------------------------------------------------------

// An entry whose cases are the shapes of `shapes`, labelled by their dims, with no TF32 tolerance.
template <typename Run>
OpEntry shaped_op(std::string op, Tolerance tol, const std::vector<Shape>& shapes, Run run) {
    return {std::move(op), tol, std::nullopt, cases_of(shapes, dims, run)};
}
// Elementwise ops and optimizers: on the flat sizes.
template <typename Run>
OpEntry flat_op(std::string op, Tolerance tol, Run run) {
    return shaped_op(std::move(op), tol, kFlat, run);
}
// Routing ops: exact, on the (N,C,H,W) planes.
template <typename Run>
OpEntry plane_op(std::string op, Run run) {
    return shaped_op(std::move(op), kExact, kPlanes, run);
}
// Batch norm, plain or with the ReLU fused (p.relu, the entry's variant "relu"): on its shapes,
// run(backend, shape, params). Statistics are summed in float blocks (CPU) or double (CUDA) rather
// than the reference's double, then y = x*scale + shift in float (and a comparison with 0): a few
// ulp of values up to ~5 here.
template <typename Run>
OpEntry bn_op(std::string op, Tolerance tol, bool relu, Run run) {
    BatchNormParams p;
    p.relu = relu;
    OpEntry e = shaped_op(std::move(op), tol, kBnShapes,
                          [p, run](Backend& b, const Shape& s) { return run(b, s, p); });
    if (relu) e.variant = "relu";
    return e;
}
OpEntry bn_forward_train_op(bool relu) {
    return bn_op("batchnorm_forward_train", {1e-5, 1e-5}, relu,
                 [](Backend& b, const Shape& s, const BatchNormParams& p) {
                     const BnInputs in = bn_inputs(s);
                     Tensor rm = up(b, in.running_mean), rv = up(b, in.running_var);
                     Tensor y = garbage(b, s), sm = garbage(b, {s[1]}), si = garbage(b, {s[1]});
                     b.batchnorm_forward_train(up(b, in.x), up(b, in.gamma), up(b, in.beta), rm, rv,
                                               y, sm, si, p);
                     return outputs(down(b, "y", y), down(b, "save_mean", sm),
                                    down(b, "save_invstd", si), down(b, "running_mean", rm),
                                    down(b, "running_var", rv));
                 });
}
OpEntry bn_forward_infer_op(bool relu) {
    return bn_op("batchnorm_forward_infer", {1e-5, 1e-5}, relu,
                 [](Backend& b, const Shape& s, const BatchNormParams& p) {
                     const BnInputs in = bn_inputs(s);
                     Tensor y = garbage(b, s);
                     b.batchnorm_forward_infer(up(b, in.x), up(b, in.gamma), up(b, in.beta),
                                               up(b, in.running_mean), up(b, in.running_var), y, p);
                     return outputs(down(b, "y", y));
                 });
}
OpEntry bn_backward_op(bool relu) {
    return bn_op("batchnorm_backward", {1e-4, 1e-4}, relu,
                 [](Backend& b, const Shape& s, const BatchNormParams& p) {
                     const BnInputs in = bn_inputs(s);
                     // The forward output and saved statistics every backend is given: the
                     // reference's (so every backend masks the same elements).
                     ReferenceBackend ref;
                     Tensor rm = copy_of(in.running_mean), rv = copy_of(in.running_var);
                     Tensor y = Tensor::host(s, DType::f32), sm = Tensor::host({s[1]}, DType::f32),
                            si = Tensor::host({s[1]}, DType::f32);
                     ref.batchnorm_forward_train(in.x, in.gamma, in.beta, rm, rv, y, sm, si, p);
                     Tensor dx = garbage(b, s), dg = garbage(b, {s[1]}), db = garbage(b, {s[1]});
                     const Tensor yb = up(b, y);
                     b.batchnorm_backward(up(b, in.x), p.relu ? &yb : nullptr, up(b, in.dy),
                                          up(b, in.gamma), up(b, sm), up(b, si), dx, dg, db);
                     return outputs(down(b, "dx", dx), down(b, "dgamma", dg), down(b, "dbeta", db));
                 });
}

// The convolutions' tolerances in float and with TF32 factors (the reasons are in the table).
constexpr Tolerance kConvTol{2e-5, 1e-4}, kConvTf32Tol{1e-2, 1e-2};
template <typename Run>
OpEntry conv_op(std::string op, Run run) {
    return {std::move(op), kConvTol, kConvTf32Tol, cases_of(kConvCases, conv_label, run)};
}
template <typename Run>
OpEntry upconv_op(std::string op, Run run) {
    return {std::move(op), kConvTol, kConvTf32Tol, cases_of(kUpCases, up_label, run)};
}

// ---- the table: every op of core/backend.hpp -----------------------------------------------
// An entry: the op, its tolerance (exact unless arithmetic is reordered, with the reason above the
// group), a TF32 tolerance where a backend may use it, and its cases.

const std::vector<OpEntry>& op_table() {
    static const std::vector<OpEntry> table = {
        // ---- elementwise helpers: one IEEE operation per element (or none), so exact.
        flat_op("fill", kExact,
                [](Backend& b, const Shape& s) {
                    Outputs out;
                    for (DType d : {DType::f32, DType::u8, DType::i32}) {
                        Tensor t = b.zeros(s, d);
                        b.fill(t, d == DType::f32 ? -0.3f : 7.0f);
                        out.push_back(down(b, "t", t));
                    }
                    return out;
                }),
        flat_op("add_inplace", kExact,
                [](Backend& b, const Shape& s) {
                    Tensor y = up(b, random_f32(s, 21));
                    b.add_inplace(y, up(b, random_f32(s, 22)));
                    return outputs(down(b, "y", y));
                }),
        flat_op("scale_inplace", kExact,
                [](Backend& b, const Shape& s) {
                    Tensor y = up(b, random_f32(s, 23));
                    b.scale_inplace(y, 0.37f);
                    return outputs(down(b, "y", y));
                }),

        // ---- the partial focal loss: per-pixel exp/log/pow in float on the backends (the CPU's
        // exp is a polynomial of about 1 ulp, CUDA's expf/powf a few ulp), each element of the
        // gradient a product of a few such values: relative errors of about 1e-6 (2e-6 measured
        // on the CPU). The atol, a thousandth of the gradient's scale (1 / labelled pixels), only
        // matters for its smallest elements (small probabilities, q near 1).
        {"focal_loss",
         {1e-9, 1e-5},
         std::nullopt,
         cases_of(kFocalCases, focal_label,
                  [](Backend& b, const FocalCase& c) {
                      const std::int64_t classes = c.shape[1];
                      Tensor labels =
                          test::random_labels({c.shape[0], c.shape[2], c.shape[3]},
                                              static_cast<int>(classes), c.unlabelled, 31);
                      // Every fourth unlabelled pixel is C rather than 255: also unlabelled.
                      for (std::int64_t i = 0; i < labels.numel(); i += 4)
                          if (labels.data<std::uint8_t>()[i] == kUnlabelled)
                              labels.data<std::uint8_t>()[i] = static_cast<std::uint8_t>(classes);
                      FocalLossParams p{c.gamma, {}, c.normalize};
                      for (std::int64_t k = 0; k < classes; ++k)
                          p.alpha.push_back(0.25f + 0.5f * static_cast<float>(k));
                      Tensor z = up(b, random_f32(c.shape, 32, -c.spread, c.spread));
                      Tensor y = up(b, labels);
                      Tensor loss = garbage(b, {1}), dz = garbage(b, c.shape),
                             loss_only = garbage(b, {1});
                      Tensor none;
                      b.focal_loss(z, y, p, loss, dz);
                      b.focal_loss(z, y, p, loss_only, none);  // evaluation: no gradient
                      return outputs(down(b, "loss", loss), down(b, "dlogits", dz),
                                     down(b, "loss without gradient", loss_only));
                  })},

        // ---- the CRF loss: per neighbour one exp (CPU polynomial ~1 ulp, CUDA expf a few ulp) and
        // a product, summed in float over up to 1088 neighbours (r = 16) in a fixed order,
        // against the reference's double. Gradient elements are p_k (g_k - p.g), where g_k and
        // p.g may agree to a few digits, which multiplies their relative error: rtol 1e-4 (the
        // CPU measured 2e-6, 0.02 of it) leaves CUDA's other order and expf room, and still
        // catches a wrong neighbour, cell or factor of 2, which err by O(1). atol 1e-6 only matters
        // for elements near 0 (p_k tiny).
        {"crf_loss",
         {1e-6, 1e-4},
         std::nullopt,
         cases_of(kCrfCases, crf_label,
                  [](Backend& b, const CrfCase& c) {
                      CrfLossParams p;
                      p.radius = c.radius;
                      p.downsample = c.downsample;
                      p.sigma_xy = c.sigma_xy;
                      p.sigma_rgb = c.sigma_rgb;
                      p.weight = 0.7f;
                      const int n = static_cast<int>(c.shape[0]), h = static_cast<int>(c.shape[2]),
                                w = static_cast<int>(c.shape[3]);
                      Tensor z = up(b, random_f32(c.shape, 33, -c.spread, c.spread));
                      Tensor rgb = up(b, test::random_rgb(n, h, w, 34));
                      Tensor loss = garbage(b, {1}), dz = garbage(b, c.shape),
                             loss_only = garbage(b, {1});
                      Tensor none;
                      b.crf_loss(z, rgb, p, loss, dz);
                      b.crf_loss(z, rgb, p, loss_only, none);  // evaluation: no gradient
                      return outputs(down(b, "loss", loss), down(b, "dlogits", dz),
                                     down(b, "loss without gradient", loss_only));
                  })},

        // ---- convolutions: the backends sum in float and in another order (BLAS tiles, cuDNN
        // algorithms) than the reference's double: errors of about 1e-6 on outputs of order 1
        // (the inputs are scaled so). TF32 rounds each factor to 10 mantissa bits (2^-11
        // relative): about 1e-4 on these sums of up to 8192 products, so 1e-2 has room and still
        // catches any wrong index, flip or transposition, which errs by O(1).
        conv_op("conv2d_forward",
                [](Backend& b, const ConvCase& c) {
                    const ConvInputs in = conv_inputs(c);
                    Tensor y = garbage(b, {c.n, c.co, c.ho(), c.wo()});
                    b.conv2d_forward(up(b, in.x), up(b, in.w), c.bias ? up(b, in.bias) : Tensor(),
                                     y, Conv2dParams{static_cast<int>(c.pad)});
                    return outputs(down(b, "y", y));
                }),
        conv_op("conv2d_backward_data",
                [](Backend& b, const ConvCase& c) {
                    const ConvInputs in = conv_inputs(c);
                    Tensor dx = garbage(b, in.x.shape());
                    b.conv2d_backward_data(up(b, in.dy), up(b, in.w), dx,
                                           Conv2dParams{static_cast<int>(c.pad)});
                    return outputs(down(b, "dx", dx));
                }),
        conv_op("conv2d_backward_filter",
                [](Backend& b, const ConvCase& c) {
                    const ConvInputs in = conv_inputs(c);
                    Tensor dw = garbage(b, in.w.shape());
                    Tensor dbias = c.bias ? garbage(b, {c.co}) : Tensor();
                    b.conv2d_backward_filter(up(b, in.x), up(b, in.dy), dw, dbias,
                                             Conv2dParams{static_cast<int>(c.pad)});
                    Outputs out = outputs(down(b, "dw", dw));
                    if (c.bias) out.push_back(down(b, "dbias", dbias));
                    return out;
                }),
        upconv_op("upconv2x2_forward",
                  [](Backend& b, const UpCase& c) {
                      const ConvInputs in = up_inputs(c);
                      Tensor y = garbage(b, in.dy.shape());
                      b.upconv2x2_forward(up(b, in.x), up(b, in.w), up(b, in.bias), y);
                      return outputs(down(b, "y", y));
                  }),
        upconv_op("upconv2x2_backward_data",
                  [](Backend& b, const UpCase& c) {
                      const ConvInputs in = up_inputs(c);
                      Tensor dx = garbage(b, in.x.shape());
                      b.upconv2x2_backward_data(up(b, in.dy), up(b, in.w), dx);
                      return outputs(down(b, "dx", dx));
                  }),
        upconv_op("upconv2x2_backward_filter",
                  [](Backend& b, const UpCase& c) {
                      const ConvInputs in = up_inputs(c);
                      Tensor dw = garbage(b, in.w.shape()), dbias = garbage(b, {c.co});
                      b.upconv2x2_backward_filter(up(b, in.x), up(b, in.dy), dw, dbias);
                      return outputs(down(b, "dw", dw), down(b, "dbias", dbias));
                  }),

        // ---- batch norm, plain and with the ReLU fused (tolerances above the builders).
        bn_forward_train_op(false),
        bn_forward_infer_op(false),
        bn_backward_op(false),
        bn_forward_train_op(true),
        bn_forward_infer_op(true),
        bn_backward_op(true),

        // ---- routing ops: comparisons and copies only, the same tie rules: exact.
        plane_op("relu_forward",
                 [](Backend& b, const Shape& s) {
                     Tensor x = up(b, coarse(s, 41)), y = garbage(b, s);
                     b.relu_forward(x, y);
                     b.relu_forward(x, x);  // in place
                     return outputs(down(b, "y", y), down(b, "x in place", x));
                 }),
        plane_op("relu_backward",
                 [](Backend& b, const Shape& s) {
                     Tensor dx = garbage(b, s);
                     b.relu_backward(up(b, coarse(s, 42)), up(b, random_f32(s, 43)), dx);
                     return outputs(down(b, "dx", dx));
                 }),
        plane_op("maxpool2x2_forward",
                 [](Backend& b, const Shape& s) {
                     Tensor y = garbage(b, {s[0], s[1], s[2] / 2, s[3] / 2});
                     b.maxpool2x2_forward(up(b, coarse(s, 44)), y);
                     return outputs(down(b, "y", y));
                 }),
        plane_op("maxpool2x2_backward",
                 [](Backend& b, const Shape& s) {
                     const Shape pooled{s[0], s[1], s[2] / 2, s[3] / 2};
                     const Tensor x = coarse(s, 45);
                     Tensor y = Tensor::host(pooled, DType::f32);
                     ReferenceBackend().maxpool2x2_forward(x, y);
                     Tensor dx = garbage(b, s);
                     b.maxpool2x2_backward(up(b, x), up(b, y), up(b, random_f32(pooled, 46)), dx);
                     return outputs(down(b, "dx", dx));
                 }),
        plane_op("concat_channels",
                 [](Backend& b, const Shape& s) {
                     const Shape sb{s[0], 2, s[2], s[3]};
                     Tensor y = garbage(b, {s[0], s[1] + 2, s[2], s[3]});
                     b.concat_channels(up(b, random_f32(s, 47)), up(b, random_f32(sb, 48)), y);
                     return outputs(down(b, "y", y));
                 }),
        plane_op("concat_channels_backward",
                 [](Backend& b, const Shape& s) {
                     Tensor da = garbage(b, s), db = garbage(b, {s[0], 2, s[2], s[3]});
                     b.concat_channels_backward(up(b, random_f32({s[0], s[1] + 2, s[2], s[3]}, 49)),
                                                da, db);
                     return outputs(down(b, "da", da), down(b, "db", db));
                 }),
        plane_op("reflect_pad",
                 [](Backend& b, const Shape& s) {
                     // As much padding as each side allows (a pad must be smaller than its side),
                     // and about half of it; bottom and right pads differ from top and left.
                     Outputs out;
                     for (std::int64_t f : {1, 2}) {
                         const std::int64_t top = (s[2] - 1) / f, left = (s[3] - 1) / f;
                         Tensor y = garbage(
                             b, {s[0], s[1], s[2] + top + top / 2, s[3] + left + (left + 1) / 2});
                         b.reflect_pad(up(b, random_f32(s, 50)), y, static_cast<int>(top),
                                       static_cast<int>(left));
                         out.push_back(down(b, "y", y));
                     }
                     return out;
                 }),
        plane_op("crop",
                 [](Backend& b, const Shape& s) {
                     Tensor y = garbage(b, {s[0], s[1], (s[2] + 1) / 2, (s[3] + 2) / 3});
                     b.crop(up(b, random_f32(s, 51)), y, static_cast<int>(s[2] / 2),
                            static_cast<int>(s[3] / 3));
                     return outputs(down(b, "y", y));
                 }),
        plane_op("crop_backward",
                 [](Backend& b, const Shape& s) {
                     Tensor dx = garbage(b, s);
                     b.crop_backward(
                         up(b, random_f32({s[0], s[1], (s[2] + 1) / 2, (s[3] + 2) / 3}, 52)), dx,
                         static_cast<int>(s[2] / 2), static_cast<int>(s[3] / 3));
                     return outputs(down(b, "dx", dx));
                 }),
        plane_op("argmax_channels",
                 [](Backend& b, const Shape& s) {
                     if (s[1] > kMaxClasses) return Outputs{};  // not a logit tensor
                     Tensor pred = garbage(b, {s[0], s[2], s[3]}, DType::u8);
                     b.argmax_channels(up(b, coarse(s, 53)), pred);
                     return outputs(down(b, "pred", pred));
                 }),

        // ---- optimizers: the norm is a sum of squares in double on every backend (1e-6 covers
        // its rounding to float); the steps are a few float operations per element against the
        // reference's double, three steps in a row.
        flat_op("global_grad_norm", {0.0, 1e-6},
                [](Backend& b, const Shape& s) {
                    Tensor g1 = up(b, random_f32(s, 61)), g2 = up(b, random_f32({7}, 62));
                    Tensor empty = b.zeros({0}, DType::f32);
                    const Tensor* grads[] = {&g1, &empty, &g2};
                    Tensor norm = garbage(b, {1});
                    b.global_grad_norm(grads, norm);
                    return outputs(down(b, "norm", norm));
                }),
        {"clip_scale",
         {0.0, 1e-6},
         std::nullopt,
         cases_of(
             std::vector<float>{0.0f, 0.5f, 2.9999f, 3.0f, 1e6f, std::nanf("")},
             [](float n) { return "norm " + std::to_string(n); },
             [](Backend& b, float n) {
                 Outputs out;
                 for (float max_norm : {0.0f, 3.0f}) {
                     Tensor norm = b.zeros({1}, DType::f32), scale = garbage(b, {1});
                     b.fill(norm, n);
                     b.clip_scale(norm, max_norm, scale);
                     out.push_back(down(b, "scale", scale));
                 }
                 return out;
             })},
        flat_op("sgd_step", {1e-6, 1e-5},
                [](Backend& b, const Shape& s) {
                    Outputs out;
                    const std::pair<float, SgdParams> settings[] = {{0.1f, SgdParams{0.9f, 0.01f}},
                                                                    {0.05f, SgdParams{0.0f, 0.0f}},
                                                                    {0.01f, SgdParams{0.9f, 0.0f}}};
                    for (const auto& [lr, p] : settings) {
                        Tensor w = up(b, random_f32(s, 64)), buf = b.zeros(s, DType::f32);
                        Tensor scale = up(b, random_f32({1}, 66, 0.5f, 1.0f));
                        const Tensor scalars = test::step_scalars(b, kernels::sgd_step_scalars(lr));
                        for (std::uint64_t step = 0; step < 3; ++step)
                            b.sgd_step(w, up(b, random_f32(s, 67 + step)), buf, scale, scalars, p);
                        out.push_back(down(b, "param", w));
                        out.push_back(down(b, "momentum", buf));
                    }
                    return out;
                }),
        flat_op("adam_step", {1e-6, 1e-5},
                [](Backend& b, const Shape& s) {
                    Outputs out;
                    for (WeightDecayMode mode : {WeightDecayMode::l2, WeightDecayMode::decoupled}) {
                        Tensor w = up(b, random_f32(s, 71)), m = b.zeros(s, DType::f32),
                               v = b.zeros(s, DType::f32);
                        Tensor scale = up(b, random_f32({1}, 72, 0.5f, 1.0f));
                        AdamParams p;
                        p.weight_decay = 0.01f;
                        p.decay_mode = mode;
                        for (std::int64_t t = 1; t <= 3; ++t)
                            b.adam_step(w, up(b, random_f32(s, 73 + t)), m, v, scale,
                                        test::step_scalars(b, kernels::adam_step_scalars(
                                                                  1e-3f, p.beta1, p.beta2, t)),
                                        p);
                        out.push_back(down(b, "param", w));
                        out.push_back(down(b, "m", m));
                        out.push_back(down(b, "v", v));
                    }
                    return out;
                }),

        // The whole-model steps: the case's shape, a small and an empty tensor, with and without
        // weight decay, three steps (a multi-tensor backend splits them into chunk launches).
        flat_op("sgd_steps", {1e-6, 1e-5},
                [](Backend& b, const Shape& s) {
                    Outputs out;
                    for (const float momentum : {0.9f, 0.0f}) {
                        const Shape shapes[] = {s, {7}, {0}};
                        const float decay[] = {0.01f, 0.0f, 0.01f};
                        std::vector<Tensor> w, buf, g(3);
                        std::vector<SgdSlot> slots;
                        for (int i = 0; i < 3; ++i) {
                            w.push_back(up(b, random_f32(shapes[i], 91 + i)));
                            buf.push_back(b.zeros(shapes[i], DType::f32));
                        }
                        for (int i = 0; i < 3; ++i)
                            slots.push_back(
                                {&w[i], &g[i], momentum != 0 ? &buf[i] : nullptr, decay[i]});
                        Tensor scale = up(b, random_f32({1}, 94, 0.5f, 1.0f));
                        const Tensor scalars =
                            test::step_scalars(b, kernels::sgd_step_scalars(0.1f));
                        for (std::uint64_t step = 0; step < 3; ++step) {
                            for (int i = 0; i < 3; ++i)
                                g[i] = up(b, random_f32(shapes[i], 95 + 3 * step + i));
                            b.sgd_steps(slots, scale, scalars, SgdParams{momentum, 0.5f});
                        }
                        for (int i = 0; i < 2; ++i) {
                            out.push_back(down(b, "param", w[i]));
                            out.push_back(down(b, "momentum", buf[i]));
                        }
                    }
                    return out;
                }),
        flat_op("adam_steps", {1e-6, 1e-5},
                [](Backend& b, const Shape& s) {
                    Outputs out;
                    for (WeightDecayMode mode : {WeightDecayMode::l2, WeightDecayMode::decoupled}) {
                        const Shape shapes[] = {s, {7}, {0}};
                        const float decay[] = {0.01f, 0.0f, 0.01f};
                        std::vector<Tensor> w, m, v, g(3);
                        std::vector<AdamSlot> slots;
                        for (int i = 0; i < 3; ++i) {
                            w.push_back(up(b, random_f32(shapes[i], 101 + i)));
                            m.push_back(b.zeros(shapes[i], DType::f32));
                            v.push_back(b.zeros(shapes[i], DType::f32));
                        }
                        for (int i = 0; i < 3; ++i)
                            slots.push_back({&w[i], &g[i], &m[i], &v[i], decay[i]});
                        Tensor scale = up(b, random_f32({1}, 104, 0.5f, 1.0f));
                        AdamParams p;
                        p.weight_decay = 0.5f;  // not read: every slot has its own
                        p.decay_mode = mode;
                        for (std::int64_t t = 1; t <= 3; ++t) {
                            for (int i = 0; i < 3; ++i)
                                g[i] = up(b, random_f32(shapes[i], 105 + 3 * t + i));
                            b.adam_steps(slots, scale,
                                         test::step_scalars(b, kernels::adam_step_scalars(
                                                                   1e-3f, p.beta1, p.beta2, t)),
                                         p);
                        }
                        for (int i = 0; i < 2; ++i) {
                            out.push_back(down(b, "param", w[i]));
                            out.push_back(down(b, "m", m[i]));
                            out.push_back(down(b, "v", v[i]));
                        }
                    }
                    return out;
                }),

        // ---- metrics and linking: integer counts and labels: exact.
        {"confusion_accumulate", kExact, std::nullopt,
         cases_of(std::vector<Shape>{{1, 3, 5}, {3, 300, 300}, {8, 64, 64}}, dims,
                  [](Backend& b, const Shape& s) {
                      Outputs out;
                      for (int classes : {2, 6, kMaxClasses}) {
                          Tensor pred = up(b, test::random_labels(s, classes, 0.0, 81));
                          Tensor truth = up(b, test::random_labels(s, classes, 0.25, 82));
                          Tensor confusion = b.zeros({classes, classes}, DType::i32);
                          b.fill(confusion, 3.0f);  // accumulates into what is there
                          b.confusion_accumulate(pred, truth, confusion);
                          b.confusion_accumulate(pred, truth, confusion);
                          out.push_back(down(b, "confusion", confusion));
                      }
                      return out;
                  })},
        {"link", kExact, std::nullopt,
         cases_of(kLinkCases, link_label,
                  [](Backend& b, const LinkCase& c) {
                      LinkParams p;
                      p.radius = c.radius;
                      p.max_color_step = c.step;
                      p.conflict = c.conflict;
                      Tensor linked = garbage(b, {c.n, c.h, c.w}, DType::u8);
                      const LinkStats st =
                          b.link(up(b, test::random_sparse(c.n, c.h, c.w, c.classes, c.points, 91)),
                                 up(b, test::random_rgb(c.n, c.h, c.w, 92)), p, linked);
                      Tensor stats = Tensor::host({4}, DType::i32);
                      for (int k = 0; k < 4; ++k)
                          stats.data<std::int32_t>()[k] =
                              static_cast<std::int32_t>(k == 0   ? st.points
                                                        : k == 1 ? st.pairs
                                                        : k == 2 ? st.segments
                                                                 : st.labelled_after);
                      return outputs(down(b, "linked", linked), Output{"stats", std::move(stats)});
                  })},
    };
    return table;
}

// Methods of core/backend.hpp that are not ops: identity and memory, which every case above uses
// to move its inputs and outputs.
const std::set<std::string> kNotOps = {"device", "name", "activation_layout",
                                       // bf16 activations (tests/test_bf16_storage.cpp)
                                       "activation_dtype", "zeros", "host_staging", "copy",
                                       "synchronize",
                                       // overlapped uploads (tests/test_upload.cpp)
                                       "wait_until_read", "upload_ahead", "take_upload",
                                       // kernel-variant selection, not an op (variants of an op
                                       // are tested by that op's own tests)
                                       "op_variants", "select_op_variant",
                                       // reproducibility settings and records, not ops
                                       "set_deterministic", "kernel_choices",
                                       // an allocation count for tests (tests/test_no_alloc.cpp)
                                       "device_allocations", "device_memory_moves",
                                       // convolution precision: tests/test_precision.cpp
                                       "set_precision",
                                       // op graphs (and OpGraph's own methods, declared in the
                                       // same header): tests/test_step_graph.cpp
                                       "capture_graph", "replay", "describe"};

// ---- the backends ------------------------------------------------------------------------------

// A backend on nhwc activations (core/tensor.hpp): each op that takes them gets its 4-D f32
// arguments as nhwc copies and its outputs converted back, so every case of the table checks the
// nhwc paths of the CPU and CUDA backends against the same reference.
template <class Base>
class NhwcBackend final : public test::ActivationAdapter<Base> {
  public:
    template <class... Args>
    explicit NhwcBackend(Args&&... args)
        : test::ActivationAdapter<Base>(std::forward<Args>(args)...) {}
    std::string name() const override { return Base::name() + ", nhwc activations"; }

  protected:
    // An nhwc copy on this backend of a 4-D tensor (a plain copy of any other), and the way back
    // into t (nchw).
    Tensor in(const Tensor& t) override {
        if (t.empty()) return Tensor();
        return test::to_backend(*this, test::to_host_nchw(*this, t), Layout::nhwc);
    }
    Tensor for_out(Tensor& t) override { return in(t); }
    void out(Tensor& t, const Tensor& v) override { this->copy(t, test::to_host_nchw(*this, v)); }
};

std::unique_ptr<Backend> nhwc_cpu_backend() {
    return std::make_unique<NhwcBackend<CpuBackend>>(Layout::nhwc);
}

// CUDA with its "activations" variant nhwc and cuDNN convolving NHWC ("channels_last"): the
// configuration whose convolutions stage nothing but filters at fp32 and tf32.
std::unique_ptr<Backend> nhwc_cuda_backend() {
#ifdef PFCE_HAVE_CUDA
    if (cuda_device_count() == 0) return nullptr;  // no driver or no device
    auto b = std::make_unique<NhwcBackend<CudaBackend>>(0);
    b->select_op_variant("activations", "nhwc");
    b->select_op_variant("convolution", "channels_last");
    return b;
#else
    return nullptr;
#endif
}

// The same with batch norm's nhwc passes by channel (the "batchnorm_nhwc" variant not yet run on
// a GPU).
std::unique_ptr<Backend> nhwc_cuda_bn_by_channel_backend() {
    auto b = nhwc_cuda_backend();
    if (b) b->select_op_variant("batchnorm_nhwc", "by_channel");
    return b;
}

struct BackendKind {
    std::string name;
    std::unique_ptr<Backend> (*make)();  // returns null when this build or machine lacks it
    bool tf32;                           // its convolutions may round their factors to TF32
    const char* only_ops = "";           // non-empty: checked on the ops whose names hold it
};
const std::vector<BackendKind>& backend_kinds() {
    static const std::vector<BackendKind> kinds = {
        {"cpu", &test::cpu_backend, false},
        {"cpu_nhwc", &nhwc_cpu_backend, false},
        {"cuda", &test::cuda_backend_or_null, true},
        {"cuda_nhwc", &nhwc_cuda_backend, true},
        {"cuda_nhwc_bn_by_channel", &nhwc_cuda_bn_by_channel_backend, true, "batchnorm"},
    };
    return kinds;
}

// ---- comparing
// -----------------------------------------------------------------------------------

// Largest |got - ref| over a test, and the largest share of the tolerance any element used.
struct Worst {
    double err = 0.0, share = 0.0;
};

::testing::AssertionResult all_equal_i32(const Tensor& ref, const Tensor& got) {
    for (std::int64_t i = 0; i < ref.numel(); ++i)
        if (ref.data<std::int32_t>()[i] != got.data<std::int32_t>()[i])
            return ::testing::AssertionFailure()
                   << "element " << i << ": reference " << ref.data<std::int32_t>()[i] << ", got "
                   << got.data<std::int32_t>()[i];
    return ::testing::AssertionSuccess();
}

::testing::AssertionResult matches(const Output& ref, const Output& got, Tolerance tol,
                                   Worst& worst) {
    if (ref.value.dtype() != got.value.dtype() || ref.value.shape() != got.value.shape())
        return ::testing::AssertionFailure()
               << ref.value.describe() << " vs " << got.value.describe();
    if (ref.value.dtype() == DType::u8) return test::all_equal_u8(ref.value, got.value);
    if (ref.value.dtype() == DType::i32) return all_equal_i32(ref.value, got.value);
    for (std::int64_t i = 0; i < ref.value.numel(); ++i) {
        const double r = ref.value.data<float>()[i], g = got.value.data<float>()[i];
        if (std::isnan(r) && std::isnan(g)) continue;  // NaN where the reference has NaN
        const double err = std::fabs(r - g), allowed = tol.atol + tol.rtol * std::fabs(r);
        worst.err = std::max(worst.err, err);
        worst.share =
            std::max(worst.share, allowed > 0.0 ? err / allowed : (err > 0.0 ? 1e9 : 0.0));
    }
    Tensor ref_masked = copy_of(ref.value), got_masked = copy_of(got.value);
    for (std::int64_t i = 0; i < ref.value.numel(); ++i)
        if (std::isnan(ref.value.data<float>()[i]) && std::isnan(got.value.data<float>()[i]))
            ref_masked.data<float>()[i] = got_masked.data<float>()[i] = 0.0f;
    return test::all_close(ref_masked, got_masked, tol.atol, tol.rtol);
}

// ---- the tests
// ------------------------------------------------------------------------------------

const OpEntry& entry(const std::string& op) {
    for (const OpEntry& e : op_table())
        if (e.name() == op) return e;
    throw std::logic_error("no entry " + op);
}

std::vector<std::string> op_names() {
    std::vector<std::string> names;
    for (const OpEntry& e : op_table()) names.push_back(e.name());
    return names;
}

// Every (op, backend) pair to check: each op on each backend kind that takes it.
std::vector<std::tuple<std::string, std::string>> op_backend_pairs() {
    std::vector<std::tuple<std::string, std::string>> pairs;
    for (const std::string& op : op_names())
        for (const BackendKind& k : backend_kinds())
            if (op.find(k.only_ops) != std::string::npos) pairs.emplace_back(op, k.name);
    return pairs;
}

// Every method core/backend.hpp declares (`virtual <type> name(`), read from the header itself so
// a new one is seen without anyone listing it.
std::set<std::string> backend_methods() {
    std::ifstream in(test::source_dir() + "/core/backend.hpp");
    const std::regex decl(R"(^\s*virtual\s+[^(~]*?\b(\w+)\s*\()");
    std::set<std::string> names;
    std::string line;
    std::smatch m;
    while (std::getline(in, line))
        if (std::regex_search(line, m, decl)) names.insert(m[1]);
    return names;
}

TEST(BackendOps, EveryCatalogueOpHasATableEntry) {
    const std::set<std::string> methods = backend_methods();
    ASSERT_GT(methods.size(), 30u) << "could not read the methods of core/backend.hpp";
    std::set<std::string> entries;
    for (const OpEntry& e : op_table()) {
        EXPECT_TRUE(entries.insert(e.name()).second) << "two entries for " << e.name();
        EXPECT_TRUE(methods.count(e.op)) << "entry " << e.op << " names no Backend method";
    }
    for (const std::string& m : methods) {
        if (kNotOps.count(m)) continue;
        EXPECT_TRUE(entries.count(m))
            << "Backend::" << m << " has no entry in the op table of " << __FILE__;
    }
}

class BackendOpsMatchReference
    : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(BackendOpsMatchReference, OnEveryShape) {
    const auto& [op, backend] = GetParam();
    const BackendKind* kind = nullptr;
    for (const BackendKind& k : backend_kinds())
        if (k.name == backend) kind = &k;
    std::unique_ptr<Backend> b = kind->make();
    if (!b) PFCE_NO_GPU_SKIP_OR_FAIL();  // only the cuda kinds can be missing
    const OpEntry& e = entry(op);
    const Tolerance tol = kind->tf32 && e.tf32 ? *e.tf32 : e.tol;
    ReferenceBackend ref;
    Worst worst;
    const std::vector<OpCase>& cases = e.cases;
    for (const OpCase& c : cases) {
        SCOPED_TRACE(op + " on " + b->name() + ", " + c.label);
        const Outputs want = c.run(ref), got = c.run(*b);
        ASSERT_EQ(want.size(), got.size());
        for (std::size_t i = 0; i < want.size(); ++i)
            EXPECT_TRUE(matches(want[i], got[i], tol, worst)) << "output " << want[i].name;
    }
    std::printf(
        "%s on %s: %zu shapes, worst |err| %.3g, %.3g of the tolerance (atol %g, rtol %g)\n",
        op.c_str(), b->name().c_str(), cases.size(), worst.err, worst.share, tol.atol, tol.rtol);
}

INSTANTIATE_TEST_SUITE_P(Ops, BackendOpsMatchReference, ::testing::ValuesIn(op_backend_pairs()),
                         [](const auto& param_info) {
                             return std::get<0>(param_info.param) + "_" +
                                    std::get<1>(param_info.param);
                         });

}  // namespace
