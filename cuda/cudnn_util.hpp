// cuDNN helpers shared by conv.cu and upconv.cu: descriptors owned by unique_ptr with deleters,
// convolution plans (descriptors + algorithm + workspace size) found once per (device, geometry,
// direction, determinism, precision, tensor layouts and types) and cached, so a warmed-up training
// step creates nothing and allocates nothing, and the calls that run a plan or add and reduce a
// per-channel bias. Precisions (core/op_params.hpp): fp32 runs f32 tensors with CUDNN_FMA_MATH (no
// TF32); tf32 runs them with tensor-op math (TF32 where cuDNN picks it); bf16 runs cuDNN on bf16
// tensors with f32 compute. Layouts: cuDNN convolves in NCHW, or in NHWC (filters KRSC) with the
// "channels_last" variant of the convolutions (CudaContext::conv_channels_last), since cuDNN's
// tensor-core kernels are NHWC-native and transpose NCHW operands themselves otherwise.
// A convolution's x and y (activations) may each be nchw or nhwc (Backend::activation_layout) and
// f32 or bf16 (Backend::activation_dtype); filters are always f32 KCRS. A tensor whose element type
// is not the one the precision convolves in (an f32 tensor at bf16: the network's input, the
// filters; a bf16 one at fp32/tf32) or whose layout is not the one cuDNN convolves in is staged
// into them by one pass (conv_staging.cu: a converting and, where needed, transposing copy, with
// the rounding of core/kernels/precision.hpp) and, when it is the direction's output, converted
// back; every other tensor is convolved in place. So at bf16 with bf16 activations in cuDNN's
// layout only the filters and the f32 tensors at the network's ends are staged: the input image
// into the first convolution, the logits out of the last and their gradient into its backward.
#pragma once

#include <algorithm>
#include <array>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "core/op_params.hpp"
#include "core/tensor.hpp"
#include "cuda/cuda_check.hpp"
#include "cuda/cuda_context.hpp"

namespace pfce::cudnn {

// ---- RAII descriptors ------------------------------------------------------------------------

struct TensorDescDeleter {
    void operator()(cudnnTensorStruct* d) const { cudnnDestroyTensorDescriptor(d); }
};
struct FilterDescDeleter {
    void operator()(cudnnFilterStruct* d) const { cudnnDestroyFilterDescriptor(d); }
};
struct ConvDescDeleter {
    void operator()(cudnnConvolutionStruct* d) const { cudnnDestroyConvolutionDescriptor(d); }
};
using TensorDesc = std::unique_ptr<cudnnTensorStruct, TensorDescDeleter>;
using FilterDesc = std::unique_ptr<cudnnFilterStruct, FilterDescDeleter>;
using ConvDesc = std::unique_ptr<cudnnConvolutionStruct, ConvDescDeleter>;

// The element type of the tensors cuDNN convolves at precision p (f32 memory is f32 at fp32 and
// tf32; bf16 runs on bf16 copies).
inline cudnnDataType_t data_type(Precision p) {
    return p == Precision::bf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
}

// Packed (n,c,h,w) tensor, NCHW in memory unless told (f32 unless told).
inline TensorDesc make_tensor_desc(int n, int c, int h, int w,
                                   cudnnDataType_t type = CUDNN_DATA_FLOAT,
                                   cudnnTensorFormat_t format = CUDNN_TENSOR_NCHW) {
    cudnnTensorDescriptor_t d = nullptr;
    PFCE_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d));
    TensorDesc owned(d);
    PFCE_CUDNN_CHECK(cudnnSetTensor4dDescriptor(d, format, type, n, c, h, w));
    return owned;
}

// (K out, C in, R, S) filter: KCRS in memory (PyTorch's Conv2d weight), or KRSC with NHWC.
inline FilterDesc make_filter_desc(int k, int c, int r, int s, cudnnDataType_t type,
                                   cudnnTensorFormat_t format = CUDNN_TENSOR_NCHW) {
    cudnnFilterDescriptor_t d = nullptr;
    PFCE_CUDNN_CHECK(cudnnCreateFilterDescriptor(&d));
    FilterDesc owned(d);
    PFCE_CUDNN_CHECK(cudnnSetFilter4dDescriptor(d, type, format, k, c, r, s));
    return owned;
}

// The memory layout cuDNN convolves in (the tensors themselves may be either).
inline cudnnTensorFormat_t conv_format(const CudaContext& ctx) {
    return ctx.conv_channels_last ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
}
inline cudnnTensorFormat_t tensor_format(bool nhwc) {
    return nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
}

// The math type a precision allows: fp32 only FMA kernels (no TF32, as PyTorch with allow_tf32
// off); tf32 and bf16 tensor cores (TF32 for f32 tensors, as PyTorch's default for convolutions).
inline cudnnMathType_t math_type(Precision p) {
    return p == Precision::fp32 ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH;
}

// Cross-correlation (what deep-learning "convolution" means, and PyTorch's mode), f32 compute at
// every precision (bf16 tensors accumulate in f32, like PyTorch's bf16 autocast).
inline ConvDesc make_conv_desc(int pad, int stride, Precision p) {
    cudnnConvolutionDescriptor_t d = nullptr;
    PFCE_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&d));
    ConvDesc owned(d);
    PFCE_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(d, pad, pad, stride, stride, 1, 1,
                                                     CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    PFCE_CUDNN_CHECK(cudnnSetConvolutionMathType(d, math_type(p)));
    return owned;
}

// ---- convolution plans -----------------------------------------------------------------------

// A convolution in cuDNN's terms: input x (n,c,h,w), filter (k,c,r,r), output y (n,k,ho,wo).
// (A transposed convolution is the backward-data of such a convolution; see upconv.cu.)
struct ConvGeometry {
    int n = 0, c = 0, h = 0, w = 0;  // input
    int k = 0, r = 0;                // output channels, square kernel size
    int pad = 0, stride = 1;
    int out_h() const { return (h + 2 * pad - r) / stride + 1; }
    int out_w() const { return (w + 2 * pad - r) / stride + 1; }
};

enum class ConvDirection { forward, backward_data, backward_filter };

struct ConvPlan {
    TensorDesc x, y;  // in the data type and layout cuDNN convolves (data_type, conv_format)
    // The tensors themselves as f32 in their layouts, for cudnnAddTensor on f32 tensors (a bf16
    // tensor's bias add and every bias gradient are our own kernels, which need no descriptor).
    TensorDesc x_f32, y_f32;
    // Per-channel bias shapes for cudnnAddTensor: (1,k,1,1) for a convolution's output; (1,c,1,1)
    // for a transposed convolution, whose output is the input side.
    TensorDesc bias_out, bias_in;
    FilterDesc w;  // in the data type cuDNN convolves
    ConvDesc conv;
    int algo = 0;  // a cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t, per the direction
    std::size_t workspace = 0;
    // What the search chose, for a run's metadata (CudaBackend::kernel_choices).
    bool algo_deterministic = false;
    cudnnMathType_t math = CUDNN_DEFAULT_MATH;
};

// The buffers a plan search may run on, in the plan's data type. The search times real runs, so it
// writes the direction's output (y, x for backward_data, w for backward_filter), which the caller
// overwrites right after.
struct ConvBuffers {
    void* x;
    void* w;
    void* y;
};

// The tensors of a convolution (x, w, y as in ConvBuffers), the layouts of x and y (w is always
// KCRS) and their element types (w is always f32): what run_convolution takes (conv_tensors makes
// it).
struct ConvTensors {
    ConvBuffers data;
    bool x_nhwc = false, y_nhwc = false;
    bool x_bf16 = false, y_bf16 = false;
};

// Largest workspace an algorithm may use; bounds the (grow-only) context workspace.
constexpr std::size_t kMaxConvWorkspace = std::size_t(512) << 20;

namespace detail {

// Picks the fastest algorithm the way PyTorch's cudnn.benchmark does: heuristics name the
// candidates and their workspace needs, cudnnFind*Ex times them once in the context workspace.
// Runs once per shape (the first step); it may synchronize and grow the workspace then.
// With `deterministic`, only algorithms cuDNN flags CUDNN_DETERMINISTIC qualify (the same inputs
// then give the same bits; some backward algorithms sum with atomics in a varying order). With
// `no_tensor_ops` (fp32), none that reports a tensor-op math type.
template <typename Perf>
const Perf* pick(const Perf* perf, int count, std::size_t limit, bool deterministic,
                 bool no_tensor_ops) {
    for (int i = 0; i < count; ++i)
        if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= limit &&
            (!deterministic || perf[i].determinism == CUDNN_DETERMINISTIC) &&
            // Never one that may convert fp32 tensors to fp16 (overflow past 65504; not TF32).
            perf[i].mathType != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION &&
            (!no_tensor_ops || perf[i].mathType == CUDNN_FMA_MATH ||
             perf[i].mathType == CUDNN_DEFAULT_MATH))
            return &perf[i];
    return nullptr;
}

template <typename Perf>
std::size_t candidates_workspace(const Perf* perf, int count) {
    std::size_t ws = 0;
    for (int i = 0; i < count; ++i)
        if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= kMaxConvWorkspace)
            ws = std::max(ws, perf[i].memory);
    return ws;
}

// The search of one direction, given its three cuDNN queries: heuristics(max, &n, perf) lists
// candidates, find(max, &n, perf, workspace, limit) times them (returning its status: a search
// that fails as a whole falls back to the heuristics' order), size(algo, &bytes) sizes the
// chosen one's workspace. `direction` names it in the error when none can run. `max_count` is
// what cudnnGet*AlgorithmMaxCount says the queries may return (at least the enum's count: a
// library may list an algorithm once per math type, and a list cut short could drop the only
// deterministic one).
//
// `prefer_deterministic`: take a deterministic algorithm when there is one, else any (unlike
// ctx.deterministic, which requires one). For cuDNN's NCHW bf16 filter gradient: on the H200
// (cuDNN 9.19, 2026-12-04) its non-deterministic algorithm 0 gave a bf16 filter gradient that
// differed from one f32 sum rounded once in up to 36% of the elements (within a bf16 spacing),
// enough to move a training step's loss by 0.7% where the twins' own layouts differ by 0.01%:
// what partial sums added into the bf16 output with atomics would do. The channels_last path,
// also algorithm 0, matched.
template <typename Perf, typename Heuristics, typename Find, typename Size>
void search(CudaContext& ctx, ConvPlan& p, const char* direction, int max_count,
            Heuristics heuristics, Find find, Size size, bool prefer_deterministic = false) {
    std::vector<Perf> heur(static_cast<std::size_t>(max_count)),
        found(static_cast<std::size_t>(max_count));
    int nh = 0, nf = 0;
    heuristics(max_count, &nh, heur.data());
    const std::size_t limit = candidates_workspace(heur.data(), nh);
    const cudnnStatus_t found_status =
        find(max_count, &nf, found.data(), ctx.workspace(limit), limit);
    if (found_status != CUDNN_STATUS_SUCCESS) {
        nf = 0;
        (void)cudaGetLastError();  // what the failed search left must not fail the next launch
        log_warn("cuDNN: the timed ", direction, " convolution search failed (",
                 cudnnGetErrorString(found_status), "); taking the heuristics' choice");
    }
    const bool fp32 = ctx.precision == Precision::fp32;
    const Perf* best = nullptr;
    if (prefer_deterministic && !ctx.deterministic) {
        best = pick(found.data(), nf, limit, true, fp32);
        if (!best) best = pick(heur.data(), nh, limit, true, fp32);
    }
    if (!best) {
        if (prefer_deterministic && !ctx.deterministic)
            // Said once per plan (shape): the result then differs from its CPU twin as the H200's
            // did, and the tests that compare them should not fail without a reason in the log.
            log_warn("cuDNN has no deterministic ", direction, " algorithm at precision ",
                     kPrecisions.name(ctx.precision),
                     " for this shape; taking any (its bf16 sums may differ from the CPU twin's)");
        best = pick(found.data(), nf, limit, ctx.deterministic, fp32);
    }
    if (!best) best = pick(heur.data(), nh, limit, ctx.deterministic, fp32);
    if (!best)
        PFCE_THROW(
            SystemError, "cuDNN has no ", ctx.deterministic ? "deterministic " : "", direction,
            " convolution algorithm for this shape at precision ", kPrecisions.name(ctx.precision),
            ctx.deterministic ? " (run.deterministic = true; set it false to allow any)" : "",
            found_status != CUDNN_STATUS_SUCCESS
                ? std::string("; its timed search failed: ") + cudnnGetErrorString(found_status)
                : std::string());
    // The chosen algorithm's math type, except that fp32 stays FMA-only (what PyTorch does with
    // allow_tf32 off: on Ampere and later, the default math type would permit TF32).
    const cudnnMathType_t math = fp32 ? CUDNN_FMA_MATH : best->mathType;
    PFCE_CUDNN_CHECK(cudnnSetConvolutionMathType(p.conv.get(), math));
    std::size_t need = 0;
    size(best->algo, &need);
    p.algo = static_cast<int>(best->algo);
    p.workspace = std::max(need, best->memory);
    p.algo_deterministic = best->determinism == CUDNN_DETERMINISTIC;
    p.math = math;
    log_debug("cuDNN ", direction, " convolution: algorithm ", p.algo,
              best >= found.data() && best < found.data() + nf
                  ? " (timed " + std::to_string(best->time) + " ms)"
                  : std::string(" (heuristics)"),
              ", math type ", static_cast<int>(math), p.algo_deterministic ? ", deterministic" : "",
              ", workspace ", p.workspace, " bytes");
}

inline void search_forward(CudaContext& ctx, ConvPlan& p, const ConvBuffers& b) {
    int max_count = 0;
    PFCE_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(ctx.cudnn, &max_count));
    search<cudnnConvolutionFwdAlgoPerf_t>(
        ctx, p, "forward", std::max<int>(max_count, CUDNN_CONVOLUTION_FWD_ALGO_COUNT),
        [&](int max, int* n, auto* perf) {
            PFCE_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(
                ctx.cudnn, p.x.get(), p.w.get(), p.conv.get(), p.y.get(), max, n, perf));
        },
        [&](int max, int* n, auto* perf, void* ws, std::size_t limit) {
            return cudnnFindConvolutionForwardAlgorithmEx(ctx.cudnn, p.x.get(), b.x, p.w.get(), b.w,
                                                          p.conv.get(), p.y.get(), b.y, max, n,
                                                          perf, ws, limit);
        },
        [&](cudnnConvolutionFwdAlgo_t algo, std::size_t* bytes) {
            PFCE_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(
                ctx.cudnn, p.x.get(), p.w.get(), p.conv.get(), p.y.get(), algo, bytes));
        });
}

inline void search_backward_data(CudaContext& ctx, ConvPlan& p, const ConvBuffers& b) {
    int max_count = 0;
    PFCE_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(ctx.cudnn, &max_count));
    search<cudnnConvolutionBwdDataAlgoPerf_t>(
        ctx, p, "backward-data", std::max<int>(max_count, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT),
        [&](int max, int* n, auto* perf) {
            PFCE_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(
                ctx.cudnn, p.w.get(), p.y.get(), p.conv.get(), p.x.get(), max, n, perf));
        },
        [&](int max, int* n, auto* perf, void* ws, std::size_t limit) {
            return cudnnFindConvolutionBackwardDataAlgorithmEx(ctx.cudnn, p.w.get(), b.w, p.y.get(),
                                                               b.y, p.conv.get(), p.x.get(), b.x,
                                                               max, n, perf, ws, limit);
        },
        [&](cudnnConvolutionBwdDataAlgo_t algo, std::size_t* bytes) {
            PFCE_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(
                ctx.cudnn, p.w.get(), p.y.get(), p.conv.get(), p.x.get(), algo, bytes));
        });
}

inline void search_backward_filter(CudaContext& ctx, ConvPlan& p, const ConvBuffers& b) {
    int max_count = 0;
    PFCE_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(ctx.cudnn, &max_count));
    search<cudnnConvolutionBwdFilterAlgoPerf_t>(
        ctx, p, "backward-filter",
        std::max<int>(max_count, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT),
        [&](int max, int* n, auto* perf) {
            PFCE_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
                ctx.cudnn, p.x.get(), p.y.get(), p.conv.get(), p.w.get(), max, n, perf));
        },
        [&](int max, int* n, auto* perf, void* ws, std::size_t limit) {
            return cudnnFindConvolutionBackwardFilterAlgorithmEx(
                ctx.cudnn, p.x.get(), b.x, p.y.get(), b.y, p.conv.get(), p.w.get(), b.w, max, n,
                perf, ws, limit);
        },
        [&](cudnnConvolutionBwdFilterAlgo_t algo, std::size_t* bytes) {
            PFCE_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(
                ctx.cudnn, p.x.get(), p.y.get(), p.conv.get(), p.w.get(), algo, bytes));
        },
        ctx.precision == Precision::bf16 && !ctx.conv_channels_last);
}

// Plans are keyed by device as well as shape: descriptors do not depend on a handle, and an
// algorithm chosen on one device is valid for every context on it, so the cache may outlive the
// context that filled it. The mutex only guards the map; plans are immutable once inserted.
using PlanKey = std::array<int, 15>;
struct PlanCache {
    std::mutex mutex;
    std::map<PlanKey, std::unique_ptr<ConvPlan>> plans;
};
inline PlanCache& plan_cache() {
    static PlanCache cache;
    return cache;
}

}  // namespace detail

// The plan for `g` in direction `dir`, searched on first use (on `b`) and cached.
inline const ConvPlan& conv_plan(CudaContext& ctx, const ConvGeometry& g, ConvDirection dir,
                                 const ConvTensors& f, const ConvBuffers& b) {
    const detail::PlanKey key{ctx.device,
                              static_cast<int>(dir),
                              g.n,
                              g.c,
                              g.h,
                              g.w,
                              g.k,
                              g.r,
                              g.pad,
                              g.stride,
                              ctx.deterministic ? 1 : 0,
                              static_cast<int>(ctx.precision),
                              ctx.conv_channels_last ? 1 : 0,
                              (f.x_nhwc ? 1 : 0) | (f.y_nhwc ? 2 : 0),
                              (f.x_bf16 ? 1 : 0) | (f.y_bf16 ? 2 : 0)};
    detail::PlanCache& cache = detail::plan_cache();
    std::lock_guard<std::mutex> lock(cache.mutex);
    auto it = cache.plans.find(key);
    if (it != cache.plans.end()) return *it->second;

    auto p = std::make_unique<ConvPlan>();
    const cudnnDataType_t type = data_type(ctx.precision);
    const cudnnTensorFormat_t format = conv_format(ctx);
    p->x = make_tensor_desc(g.n, g.c, g.h, g.w, type, format);
    p->y = make_tensor_desc(g.n, g.k, g.out_h(), g.out_w(), type, format);
    p->x_f32 = make_tensor_desc(g.n, g.c, g.h, g.w, CUDNN_DATA_FLOAT, tensor_format(f.x_nhwc));
    p->y_f32 =
        make_tensor_desc(g.n, g.k, g.out_h(), g.out_w(), CUDNN_DATA_FLOAT, tensor_format(f.y_nhwc));
    p->bias_out = make_tensor_desc(1, g.k, 1, 1);
    p->bias_in = make_tensor_desc(1, g.c, 1, 1);
    p->w = make_filter_desc(g.k, g.c, g.r, g.r, type, format);
    p->conv = make_conv_desc(g.pad, g.stride, ctx.precision);
    switch (dir) {
        case ConvDirection::forward:
            detail::search_forward(ctx, *p, b);
            break;
        case ConvDirection::backward_data:
            detail::search_backward_data(ctx, *p, b);
            break;
        case ConvDirection::backward_filter:
            detail::search_backward_filter(ctx, *p, b);
            break;
    }
    return *cache.plans.emplace(key, std::move(p)).first->second;
}

inline const char* math_name(cudnnMathType_t m) {
    switch (m) {
        case CUDNN_TENSOR_OP_MATH:
        case CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION:
            return "tensor-op";
        case CUDNN_FMA_MATH:
            return "fma";
        default:
            return "default";
    }
}

// The algorithms chosen so far on `device`, one line per shape and direction, e.g. "conv
// backward_filter n8 c32 304x304 k32 r3 pad1 stride1 bf16: algo 1, tensor-op math, deterministic".
inline std::vector<std::string> conv_plan_choices(int device) {
    static const char* const kDirection[] = {"forward", "backward_data", "backward_filter"};
    detail::PlanCache& cache = detail::plan_cache();
    std::lock_guard<std::mutex> lock(cache.mutex);
    std::vector<std::string> lines;
    for (const auto& [k, p] : cache.plans) {
        if (k[0] != device) continue;
        lines.push_back(
            "conv " + std::string(kDirection[k[1]]) + " n" + std::to_string(k[2]) + " c" +
            std::to_string(k[3]) + " " + std::to_string(k[4]) + "x" + std::to_string(k[5]) + " k" +
            std::to_string(k[6]) + " r" + std::to_string(k[7]) + " pad" + std::to_string(k[8]) +
            " stride" + std::to_string(k[9]) + " " +
            kPrecisions.name(static_cast<Precision>(k[11])) + (k[12] ? " channels_last" : "") +
            ((k[13] & 1) ? " x-nhwc" : "") + ((k[13] & 2) ? " y-nhwc" : "") +
            ((k[14] & 1) ? " x-bf16" : "") + ((k[14] & 2) ? " y-bf16" : "") + ": algo " +
            std::to_string(p->algo) + ", " + math_name(p->math) + " math" +
            (p->algo_deterministic ? ", deterministic" : ", non-deterministic") +
            (k[10] ? " (deterministic required)" : ""));
    }
    return lines;
}

// Scaling factors (f32 for f32 and bf16 data alike) for cuDNN calls that overwrite their output
// (host memory, f32 data).
inline const float kOne = 1.0f;
inline const float kZero = 0.0f;

// A dimension v of t as the int cuDNN takes; ShapeError when it does not fit.
inline int as_int(std::int64_t v, const Tensor& t) {
    PFCE_CHECK_SHAPE(v >= 0 && v <= INT_MAX, "dimension too large for cuDNN: ", t.describe());
    return static_cast<int>(v);
}

// For the filter-gradient passes: true when there is nothing to run, because dw has no element
// or dy has none (an empty batch, which cuDNN cannot run; dw and dbias are then zeroed, exactly
// the gradient).
inline bool no_filter_gradient_to_run(CudaContext& ctx, const Tensor& dy, Tensor& dw,
                                      Tensor& dbias) {
    if (dw.numel() == 0) return true;
    if (dy.numel() != 0) return false;
    PFCE_CUDA_CHECK(cudaMemsetAsync(dw.raw(), 0, dw.bytes(), ctx.stream));
    if (!dbias.empty()) PFCE_CUDA_CHECK(cudaMemsetAsync(dbias.raw(), 0, dbias.bytes(), ctx.stream));
    return true;
}

// The geometry of a convolution of `input` (N,C,H,W) into k channels with an r x r filter, as the
// ints cuDNN takes.
inline ConvGeometry geometry(const Tensor& input, int k, int r, int pad, int stride) {
    ConvGeometry g;
    g.n = as_int(input.dim(0), input);
    g.c = as_int(input.dim(1), input);
    g.h = as_int(input.dim(2), input);
    g.w = as_int(input.dim(3), input);
    g.k = k;
    g.r = r;
    g.pad = pad;
    g.stride = stride;
    return g;
}

// ---- running a convolution ---------------------------------------------------------------------
// Each finds (first call) or reuses the plan of g in its direction and runs it, overwriting the
// output; the plan is returned for its bias descriptors. The plan search runs on the buffers the
// direction runs on and writes only the direction's output, so the inputs are passed const.

// The staged copy of a tensor (f32, or bf16 with tensor_bf16) viewed as (planes, channels, hw),
// NCHW or (tensor_nhwc) (planes, hw, channels): bf16 (with core/kernels/precision.hpp's rounding)
// or f32 as `bf16` says, in the layout staged_nhwc says; and back into the tensor (rounded the same
// way when the tensor is bf16 and the copy f32; exact otherwise). On `stream` (conv_staging.cu).
struct StagedLayout {
    long long planes = 0, channels = 0, hw = 0;
    bool bf16 = false, tensor_nhwc = false, staged_nhwc = false;
    bool tensor_bf16 = false;
};
void stage_copy(const void* src, void* dst, const StagedLayout& l, cudaStream_t stream);
void unstage_copy(const void* src, void* dst, const StagedLayout& l, cudaStream_t stream);

// The bias passes on a tensor (n, c, hw), nchw or nhwc (conv_bias.cu). On bf16, in f32 like
// cuDNN's on f32 tensors: t = round_bf16(t + bias[c]). dbias[c] = the sum of dy's channel c (bf16
// or f32), in double (deterministic: partial sums per slice in a fixed tree, then added in slice
// order; scratch from the context workspace).
void add_bias_bf16(Bf16* t, const float* bias, long long n, long long c, long long hw, bool nhwc,
                   cudaStream_t stream);
void bias_gradient(CudaContext& ctx, const Bf16* dy, float* dbias, long long n, long long c,
                   long long hw, bool nhwc);
void bias_gradient(CudaContext& ctx, const float* dy, float* dbias, long long n, long long c,
                   long long hw, bool nhwc);

namespace detail {

// Which of ConvBuffers' x, w, y (0, 1, 2) direction `dir` writes.
inline int output_index(ConvDirection dir) {
    return dir == ConvDirection::forward ? 2 : dir == ConvDirection::backward_data ? 0 : 1;
}

// A direction's three tensors, in the order of ConvBuffers (x, w, y), as (planes, channels, hw):
// their layouts and the context's staging (bf16 at bf16, NHWC with channels_last).
inline std::array<StagedLayout, 3> staged_layouts(const CudaContext& ctx, const ConvGeometry& g,
                                                  const ConvTensors& f) {
    const bool bf16 = ctx.precision == Precision::bf16, nhwc = ctx.conv_channels_last;
    return {
        StagedLayout{g.n, g.c, static_cast<long long>(g.h) * g.w, bf16, f.x_nhwc, nhwc, f.x_bf16},
        StagedLayout{g.k, g.c, static_cast<long long>(g.r) * g.r, bf16, false, nhwc, false},
        StagedLayout{g.n, g.k, static_cast<long long>(g.out_h()) * g.out_w(), bf16, f.y_nhwc, nhwc,
                     f.y_bf16}};
}

// Whether a tensor is convolved through a staged copy: to convert it to the element type the
// precision convolves in, or to change its layout.
inline bool staged(const StagedLayout& l) {
    return l.bf16 != l.tensor_bf16 || l.tensor_nhwc != l.staged_nhwc;
}

// The buffers direction `dir` runs on: each tensor itself, or (not in the element type or the
// layout cuDNN convolves in) a staged copy in the context's precision scratch, with the
// direction's inputs converted into it (its output, the tensor `dir` writes, is converted back by
// unstage()).
inline ConvBuffers stage(CudaContext& ctx, const ConvGeometry& g, ConvDirection dir,
                         const ConvTensors& f) {
    const std::array<StagedLayout, 3> l = staged_layouts(ctx, g, f);
    const std::array<void*, 3> tensors{f.data.x, f.data.w, f.data.y};
    if (!staged(l[0]) && !staged(l[1]) && !staged(l[2])) return f.data;
    const std::size_t elem = ctx.precision == Precision::bf16 ? 2 : 4;
    std::array<std::size_t, 4> at{};  // byte offsets, each rounded up to 256 bytes
    for (int i = 0; i < 3; ++i)
        at[i + 1] =
            at[i] +
            (staged(l[i])
                 ? (static_cast<std::size_t>(l[i].planes * l[i].channels * l[i].hw) * elem + 255) /
                       256 * 256
                 : 0);
    auto* base = static_cast<char*>(ctx.precision_scratch(at[3]));
    std::array<void*, 3> run{};
    const int output = output_index(dir);
    for (int i = 0; i < 3; ++i) {
        if (!staged(l[i])) {
            run[i] = tensors[i];
            continue;
        }
        run[i] = base + at[i];
        if (i != output) stage_copy(tensors[i], run[i], l[i], ctx.stream);
    }
    return {run[0], run[1], run[2]};
}

// When the output of `dir` was staged: the tensor <- its staged copy in `staged_buffers`.
inline void unstage(CudaContext& ctx, const ConvGeometry& g, ConvDirection dir,
                    const ConvBuffers& staged_buffers, const ConvTensors& f) {
    const std::array<StagedLayout, 3> l = staged_layouts(ctx, g, f);
    const int output = output_index(dir);
    if (!staged(l[output])) return;
    const std::array<void*, 3> from{staged_buffers.x, staged_buffers.w, staged_buffers.y},
        to{f.data.x, f.data.w, f.data.y};
    unstage_copy(from[output], to[output], l[output], ctx.stream);
}

}  // namespace detail

// Runs direction `dir` of g on the tensors f (x, w, y; the direction's output overwritten) at
// the context's precision: forward y <- x * w; backward_data x <- the gradient with respect to x
// from y (dy); backward_filter w <- the gradient with respect to w of the convolution of x, from y.
inline const ConvPlan& run_convolution(CudaContext& ctx, const ConvGeometry& g, ConvDirection dir,
                                       const ConvTensors& f) {
    const ConvBuffers b = detail::stage(ctx, g, dir, f);
    const ConvPlan& p = conv_plan(ctx, g, dir, f, b);
    void* ws = ctx.workspace(p.workspace);
    const std::size_t n = p.workspace;
    cudnnTensorDescriptor_t xd = p.x.get(), yd = p.y.get();
    cudnnFilterDescriptor_t wd = p.w.get();
    cudnnConvolutionDescriptor_t cd = p.conv.get();
    if (dir == ConvDirection::forward)
        PFCE_CUDNN_CHECK(cudnnConvolutionForward(ctx.cudnn, &kOne, xd, b.x, wd, b.w, cd,
                                                 cudnnConvolutionFwdAlgo_t(p.algo), ws, n, &kZero,
                                                 yd, b.y));
    else if (dir == ConvDirection::backward_data)
        PFCE_CUDNN_CHECK(cudnnConvolutionBackwardData(ctx.cudnn, &kOne, wd, b.w, yd, b.y, cd,
                                                      cudnnConvolutionBwdDataAlgo_t(p.algo), ws, n,
                                                      &kZero, xd, b.x));
    else  // backward_filter
        PFCE_CUDNN_CHECK(cudnnConvolutionBackwardFilter(ctx.cudnn, &kOne, xd, b.x, yd, b.y, cd,
                                                        cudnnConvolutionBwdFilterAlgo_t(p.algo), ws,
                                                        n, &kZero, wd, b.w));
    detail::unstage(ctx, g, dir, b, f);
    return p;
}

// The tensors of a convolution as run_convolution takes them: its x, w, y (for a transposed
// convolution, the big tensor is x and the small one y), their layouts and element types. The
// direction's inputs are only read.
inline ConvTensors conv_tensors(const Tensor& x, const Tensor& w, const Tensor& y) {
    return {{const_cast<void*>(x.raw()), const_cast<void*>(w.raw()), const_cast<void*>(y.raw())},
            x.layout() == Layout::nhwc,
            y.layout() == Layout::nhwc,
            x.dtype() == DType::bf16,
            y.dtype() == DType::bf16};
}

// t (an activation; t_desc describes it as f32) += bias (per channel, bias_desc (1,C,1,1)):
// cuDNN's cudnnAddTensor on f32, add_bias_bf16 on bf16. Nothing for an empty bias.
inline void add_bias(CudaContext& ctx, const TensorDesc& bias_desc, const Tensor& bias,
                     const TensorDesc& t_desc, Tensor& t) {
    if (bias.empty()) return;
    if (t.dtype() == DType::bf16) {
        add_bias_bf16(t.data<Bf16>(), bias.data<float>(), t.dim(0), t.dim(1), t.dim(2) * t.dim(3),
                      t.layout() == Layout::nhwc, ctx.stream);
        return;
    }
    PFCE_CUDNN_CHECK(cudnnAddTensor(ctx.cudnn, &kOne, bias_desc.get(), bias.data<float>(), &kOne,
                                    t_desc.get(), t.data<float>()));
}

// dbias <- sum of dy over every axis but the channel, in double (conv_bias.cu; cuDNN's
// cudnnConvolutionBackwardBias is deprecated and documents no channels-last dy). Nothing for an
// empty dbias.
inline void bias_gradient(CudaContext& ctx, const Tensor& dy, Tensor& dbias) {
    if (dbias.empty()) return;
    const long long n = dy.dim(0), c = dy.dim(1), hw = dy.dim(2) * dy.dim(3);
    const bool nhwc = dy.layout() == Layout::nhwc;
    if (dy.dtype() == DType::bf16)
        bias_gradient(ctx, dy.data<Bf16>(), dbias.data<float>(), n, c, hw, nhwc);
    else
        bias_gradient(ctx, dy.data<float>(), dbias.data<float>(), n, c, hw, nhwc);
}

}  // namespace pfce::cudnn
