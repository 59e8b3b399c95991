// The Backend interface: the catalogue of every numeric op pfce runs. host/cpu/X.cpp and cuda/X.cu
// implement op family X under the same method names; everything above core/ sees only this class.
// Conventions: images NCHW f32, label maps (N,H,W) u8 with 255 = unlabelled. Outputs are passed in
// already allocated with the right shape (ops check shapes and throw ShapeError). Ops are enqueued
// in order on the backend's stream; only copy() to host and synchronize() wait for the device.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/op_params.hpp"
#include "core/tensor.hpp"

namespace pfce {

// A recorded sequence of ops that runs again as one unit (Backend::capture_graph; on CUDA a CUDA
// graph): the same kernels on the same buffers with the same arguments. Whatever changes from one
// replay to the next must therefore be read by the kernels from device tensors the caller writes
// before replaying (the training step's batch, learning rate and bias corrections).
class OpGraph {
  public:
    virtual ~OpGraph() = default;
    virtual void replay() = 0;                 // enqueued on the backend's stream, like any op
    virtual std::string describe() const = 0;  // "CUDA graph of 212 nodes"
};

// What capture_graph made: a graph, or none and why.
struct GraphCapture {
    std::unique_ptr<OpGraph> graph;
    std::string failure;     // empty when graph is set
    bool allocated = false;  // the failure: the body allocated (run it once more, then retry)
};

class Backend {
  public:
    virtual ~Backend() = default;

    virtual DeviceKind device() const = 0;
    virtual std::string name() const = 0;  // "cpu (8 OpenMP threads)", "cuda:0 NVIDIA H100 ..."
    // The layout a network's activations run fastest in on this backend (core/tensor.hpp): models
    // allocate their inner activations and gradients so; inputs and logits stay nchw. The ops
    // that accept nhwc (convolutions, batch norm, ReLU, max-pool, concat) do so on the CPU and
    // CUDA backends (CPU: nhwc by default; CUDA: nchw unless its "activations" variant is nhwc);
    // every other op, and the reference backend, wants nchw.
    virtual Layout activation_layout() const { return Layout::nchw; }
    // The element type of those activations and their gradients: f32, or bf16 (DType::bf16) on
    // CUDA at precision bf16 with its "activation_storage" variant bf16, which halves their memory
    // and traffic (PyTorch's bf16 autocast keeps them so too). Every op on them then computes in
    // f32 and rounds where it stores (core/kernels/precision.hpp store_value); weights, gradients
    // of weights, batch-norm statistics, the network's input and its logits stay f32.
    virtual DType activation_dtype() const { return DType::f32; }

    // ---- kernel variants ------------------------------------------------------------------------
    // An op may have several implementations of the same semantics (a new kernel kept beside the
    // one it may replace until a benchmark on the target hardware picks). Tests run every variant
    // against the reference; benchmarks time each. Names of op `op`'s variants, the default first;
    // empty when the op has one implementation. `op` is a method's name, or a family's: CUDA's
    // "convolution" covers every direction of conv2d and upconv2x2 (its variants are the memory
    // layout cuDNN convolves in), and its "activations" every op on a network's inner activations
    // (the layout activation_layout() gives models built after the selection).
    virtual std::vector<std::string> op_variants(const std::string& op) const {
        (void)op;
        return {};
    }
    // Makes `variant` (one of op_variants(op)) the implementation of `op` on this backend.
    virtual void select_op_variant(const std::string& op, const std::string& variant);

    // ---- reproducibility ------------------------------------------------------------------------
    // Only deterministic kernels from now on (run.deterministic): CUDA then takes only cuDNN
    // algorithms flagged deterministic. Our own kernels are deterministic on every backend (fixed
    // reduction trees, integer atomics), and the CPU backend is for a given thread count.
    virtual void set_deterministic(bool on) { (void)on; }
    // The arithmetic of the convolutions and transposed convolutions from now on (run.precision;
    // core/op_params.hpp says what each precision rounds). The CPU backends round at the same
    // points as CUDA (core/kernels/precision.hpp), so a CUDA result has a CPU twin to be tested
    // against. A backend starts at its device's fast f32 path, parse_precision("auto"): tf32 on
    // CUDA (what cuDNN's tensor-op math gives), fp32 on the CPU.
    virtual void set_precision(Precision p) = 0;
    // The kernels chosen at run time, one line each (CUDA: the cuDNN algorithm per convolution
    // shape and direction), recorded in a run's checkpoints; empty where nothing is chosen.
    virtual std::vector<std::string> kernel_choices() const { return {}; }

    // ---- memory -------------------------------------------------------------------------------
    // A zero-filled tensor on this backend's device.
    virtual Tensor zeros(Shape shape, DType dtype) = 0;
    // Host tensor suited for fast transfers to this device (pinned on CUDA; plain on CPU).
    virtual Tensor host_staging(Shape shape, DType dtype) = 0;
    // dst <- src, same shape and dtype, any of host/device on either side. A copy into host memory
    // waits for it to complete, so the host may read dst right after. A copy from host memory has
    // taken what it needs from src when it returns, so the host may overwrite src right after
    // (CUDA stages it in pinned memory and uploads it on a stream of its own, without waiting;
    // a bulk upload over 128 MiB is copied directly and waited for) -- except from host_staging
    // memory, which CUDA reads in place, later: overwrite that only after wait_until_read(src).
    virtual void copy(Tensor& dst, const Tensor& src) = 0;
    // Blocks until every copy enqueued so far from `host_staging` (a host_staging tensor, or part
    // of one) has read it, so the host may refill it. A no-op where copies read it at once (the
    // host backends); cheap when nothing is in flight. Callable from any thread (the batch
    // loader's workers call it before refilling a recycled batch).
    virtual void wait_until_read(const Tensor& host_staging) { (void)host_staging; }
    // Uploads that overlap compute, through a device "landing" tensor the caller keeps (one per
    // stream of uploads, made once). upload_ahead: landing <- host, ordered only after the last
    // take_upload from `landing` (not after the compute enqueued so far, which it overlaps on
    // CUDA); `host` may be refilled once wait_until_read(host) returns (right away if it is not
    // host_staging memory). take_upload: dst <- landing as an op on the compute stream, after that
    // upload; from then on `landing` may receive the next upload_ahead. Ops read dst, never
    // `landing`, so a step's work reads fixed buffers whichever upload it took. The first upload
    // into a landing tensor (or after its shape changed) also waits for the compute before it
    // (its zero fill). Where copies are synchronous (the host backends) both are plain copies.
    virtual void upload_ahead(Tensor& landing, const Tensor& host) { copy(landing, host); }
    virtual void take_upload(Tensor& dst, const Tensor& landing) { copy(dst, landing); }
    virtual void fill(Tensor& t, float value) = 0;  // f32: value; u8/i32: static_cast
    virtual void synchronize() = 0;
    // How many blocks of device or pinned memory this backend has allocated so far: its tensors
    // (zeros, host_staging) and its own scratch (CUDA: the op workspace, the upload staging ring).
    // Tests check that it stops moving once training has warmed up. 0 where nothing counts them
    // (the host backends: a test counts by overriding zeros and host_staging).
    virtual std::uint64_t device_allocations() const { return 0; }
    // Moves whenever a block of device memory may have been allocated or freed (CUDA: every
    // cudaMalloc and cudaFree of the process's backends; elsewhere device_allocations()). An op
    // graph recorded before it moved may hold an address that is no longer the buffer it was.
    virtual std::uint64_t device_memory_moves() const { return device_allocations(); }

    // ---- op graphs ----------------------------------------------------------------------------
    // Records the ops `body` enqueues as a graph, WITHOUT running them: the caller replays the
    // graph to run them (this time too). The body may enqueue only ops on buffers that outlive the
    // graph; a body that allocates, frees, copies from or to the host or waits for the device
    // cannot be captured, and nor can a backend without graphs (the CPU ones): then the result
    // holds no graph but the reason, nothing has run, and the caller runs body itself. A graph
    // holds the addresses of the buffers it was recorded on: it must not be replayed once any of
    // them may have been freed or moved, i.e. once device_memory_moves() has moved since.
    virtual GraphCapture capture_graph(const std::function<void()>& body);

    // ---- elementwise helpers (f32) ------------------------------------------------------------
    virtual void add_inplace(Tensor& y, const Tensor& x) = 0;  // y += x
    virtual void scale_inplace(Tensor& y, float s) = 0;        // y *= s

    // ---- partial focal loss (focal_loss.{cpp,cu}) --------------------------------------------
    // logits (N,C,H,W) f32, labels (N,H,W) u8. loss: shape (1) f32, written (not accumulated).
    // dlogits: same shape as logits, or an empty Tensor to skip the gradient (evaluation).
    // Any label >= C (255 included) counts as unlabelled on both backends: no loss, gradient 0.
    // 1 <= C <= kMaxClasses; alpha size C or empty; gamma and alpha finite and >= 0 (InputError).
    virtual void focal_loss(const Tensor& logits, const Tensor& labels, const FocalLossParams& p,
                            Tensor& loss, Tensor& dlogits) = 0;

    // ---- local-window CRF (Potts) loss (crf_loss.{cpp,cu}) --------------------------------------
    // logits (N,C,H,W) f32, rgb (N,3,H,W) u8 (raw colours). The softmax p is averaged over cells of
    // d x d pixels (P_i; partial cells at the right and bottom edges average what they hold), and
    // so are the colours (RGB_i). For every cell i and every other cell j of the grid with
    // |dy|, |dx| <= r: k_ij = exp(-d^2 (dy^2 + dx^2) / 2 sigma_xy^2 - |RGB_i - RGB_j|^2 /
    // 2 sigma_rgb^2), and loss = weight / (N * cells per image) * sum_i sum_j k_ij (1 - P_i . P_j).
    // loss: shape (1) f32, written. dlogits: dL/dlogits (overwritten, through the cell mean and the
    // softmax), or an empty Tensor to skip the gradient. 1 <= C <= kMaxClasses; weight finite >= 0,
    // sigmas finite > 0, 0 <= radius <= kMaxCrfRadius, 1 <= downsample <= kMaxCrfDownsample.
    virtual void crf_loss(const Tensor& logits, const Tensor& rgb, const CrfLossParams& p,
                          Tensor& loss, Tensor& dlogits) = 0;

    // ---- convolution (conv.{cpp,cu}) ------------------------------------------------------------
    // x (N,Ci,H,W), w (Co,Ci,k,k), bias (Co) or empty, y (N,Co,H+2p-k+1, W+2p-k+1).
    virtual void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y,
                                const Conv2dParams& p) = 0;
    // dx <- dL/dx (overwritten).
    virtual void conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx,
                                      const Conv2dParams& p) = 0;
    // dw <- dL/dw, dbias <- dL/dbias (overwritten; dbias may be empty).
    virtual void conv2d_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw,
                                        Tensor& dbias, const Conv2dParams& p) = 0;

    // ---- 2x2 stride-2 transposed convolution (upconv.{cpp,cu}) --------------------------------
    // x (N,Ci,H,W), w (Ci,Co,2,2) (PyTorch ConvTranspose2d layout), bias (Co), y (N,Co,2H,2W).
    virtual void upconv2x2_forward(const Tensor& x, const Tensor& w, const Tensor& bias,
                                   Tensor& y) = 0;
    virtual void upconv2x2_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx) = 0;
    virtual void upconv2x2_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw,
                                           Tensor& dbias) = 0;

    // ---- batch norm over (N,H,W) per channel (batchnorm.{cpp,cu}) ------------------------------
    // Training: normalizes with batch statistics, updates running stats, saves mean and 1/std
    // (each (C) f32) for backward. With p.relu both forwards give y = max(0, BN(x)) in one pass
    // (v > 0 ? v : 0, as relu_forward), with the same statistics and saved values.
    virtual void batchnorm_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                         Tensor& running_mean, Tensor& running_var, Tensor& y,
                                         Tensor& save_mean, Tensor& save_invstd,
                                         const BatchNormParams& p) = 0;
    virtual void batchnorm_forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                         const Tensor& running_mean, const Tensor& running_var,
                                         Tensor& y, const BatchNormParams& p) = 0;
    // relu_y: the forward's output when it applied the ReLU (its sign is the mask), else nullptr.
    virtual void batchnorm_backward(const Tensor& x, const Tensor* relu_y, const Tensor& dy,
                                    const Tensor& gamma, const Tensor& save_mean,
                                    const Tensor& save_invstd, Tensor& dx, Tensor& dgamma,
                                    Tensor& dbeta) = 0;

    // ---- activation, pooling, concat, pad/crop (layers.{cpp,cu}) ------------------------------
    virtual void relu_forward(const Tensor& x, Tensor& y) = 0;  // y may be x (in place)
    virtual void relu_backward(const Tensor& y, const Tensor& dy, Tensor& dx) = 0;
    // y (N,C,H/2,W/2) (floor); backward routes dy to the first max of each window (row-major).
    virtual void maxpool2x2_forward(const Tensor& x, Tensor& y) = 0;
    virtual void maxpool2x2_backward(const Tensor& x, const Tensor& y, const Tensor& dy,
                                     Tensor& dx) = 0;
    // y (N,Ca+Cb,H,W) = [a, b] along channels; backward splits dy.
    virtual void concat_channels(const Tensor& a, const Tensor& b, Tensor& y) = 0;
    virtual void concat_channels_backward(const Tensor& dy, Tensor& da, Tensor& db) = 0;
    // Reflect padding (no edge repeat, like numpy 'reflect'): x (N,C,H,W) placed at (top,left)
    // inside y (N,C,H2,W2) and mirrored outward. Needs top,left < H,W.
    virtual void reflect_pad(const Tensor& x, Tensor& y, int top, int left) = 0;
    // y = x[:, :, top:top+H2, left:left+W2]; backward writes dy there and zeros elsewhere.
    virtual void crop(const Tensor& x, Tensor& y, int top, int left) = 0;
    virtual void crop_backward(const Tensor& dy, Tensor& dx, int top, int left) = 0;
    // Per-pixel argmax over channels: logits (N,C,H,W) -> pred (N,H,W) u8 (first max wins).
    virtual void argmax_channels(const Tensor& logits, Tensor& pred) = 0;

    // ---- optimizers and clipping (optim.{cpp,cu}) ---------------------------------------------
    // Global L2 norm of all grads -> norm (1) f32, computed on the device (no host sync).
    virtual void global_grad_norm(std::span<const Tensor* const> grads, Tensor& norm) = 0;
    // grad_scale (1) f32 <- max_norm > 0 ? min(1, max_norm / (norm + 1e-6)) : 1.
    virtual void clip_scale(const Tensor& norm, float max_norm, Tensor& grad_scale) = 0;
    // Steps read the gradient as grad * grad_scale[0] (clipping without a host round trip) and
    // the step's learning rate (and Adam's bias corrections) from step_scalars, (kOptimScalarCount)
    // f32 laid out as core/op_params.hpp OptimScalar: both are read when the step runs on the
    // device, so a captured step replays with the values written for each step.
    virtual void sgd_step(Tensor& param, const Tensor& grad, Tensor& momentum_buf,
                          const Tensor& grad_scale, const Tensor& step_scalars,
                          const SgdParams& p) = 0;
    virtual void adam_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v,
                           const Tensor& grad_scale, const Tensor& step_scalars,
                           const AdamParams& p) = 0;
    // One step of every parameter of a model (the optimizer's call): slot i updates *param from
    // *grad * grad_scale[0] with its own weight decay (p.weight_decay is not read). The base class
    // calls the one-tensor step per slot; CUDA fuses the list into multi-tensor launches
    // (core/kernels/multi_tensor.hpp), so a step is a launch or two instead of one per tensor.
    virtual void sgd_steps(std::span<const SgdSlot> slots, const Tensor& grad_scale,
                           const Tensor& step_scalars, const SgdParams& p);
    virtual void adam_steps(std::span<const AdamSlot> slots, const Tensor& grad_scale,
                            const Tensor& step_scalars, const AdamParams& p);

    // ---- metrics (metrics.{cpp,cu}) -----------------------------------------------------------
    // confusion (C,C) i32 += counts of (truth row, predicted column) over pixels whose truth !=
    // 255.
    virtual void confusion_accumulate(const Tensor& pred, const Tensor& truth,
                                      Tensor& confusion) = 0;

    // ---- proximity linking (link.{cpp,cu}) ----------------------------------------------------
    // sparse (N,H,W) u8 -> linked (N,H,W) u8 as DESIGN §2. rgb (N,3,H,W) u8 is needed only when
    // p.max_color_step >= 0 (may be empty otherwise). Stats are summed over the batch.
    virtual LinkStats link(const Tensor& sparse, const Tensor& rgb, const LinkParams& p,
                           Tensor& linked) = 0;
};

// Buffers a caller keeps across calls: when its shape, dtype or layout changes, `t` becomes a
// zeroed tensor of the new ones (in `layout`) on `b`. It is grow-only: a new shape that fits in
// the memory `t` already has (Tensor::capacity) relabels it and zeroes it with b.fill, so a batch
// smaller than the largest seen (evaluation's short last batch) and the full batch after it
// allocate nothing; only a larger one reallocates. So a warmed-up loop allocates nothing.
inline void ensure_tensor(Backend& b, Tensor& t, const Shape& shape, DType dtype = DType::f32,
                          Layout layout = Layout::nchw) {
    if (!t.empty() && t.shape() == shape && t.dtype() == dtype && t.layout() == layout) return;
    const std::size_t need = static_cast<std::size_t>(shape.numel()) * dtype_size(dtype);
    if (!t.empty() && t.device() == b.device() && need <= t.capacity()) {
        t.reuse_as(shape, dtype, layout);
        b.fill(t, 0.0f);
        return;
    }
    t = b.zeros(shape, dtype);
    t.set_layout(layout);
}

// `t` as a host tensor of `shape`, grow-only like ensure_tensor: its memory is reused when it has
// room, contents left as they are (the caller overwrites them).
inline void ensure_host_tensor(Tensor& t, const Shape& shape, DType dtype = DType::f32) {
    if (!t.empty() && t.device() == DeviceKind::cpu &&
        static_cast<std::size_t>(shape.numel()) * dtype_size(dtype) <= t.capacity())
        t.reuse_as(shape, dtype);
    else
        t = Tensor::host(shape, dtype);
}

// A host copy of `t` from any device (a host sync when it lives on a device).
inline Tensor host_copy(Backend& b, const Tensor& t) {
    Tensor h = Tensor::host(t.shape(), t.dtype());
    if (t.device() != DeviceKind::cpu)
        b.copy(h, t);
    else if (t.bytes())
        std::memcpy(h.raw(), t.raw(), t.bytes());
    return h;
}

// The value of a one-element f32 tensor on any device (a host sync when it lives on a device).
inline float read_scalar(Backend& b, const Tensor& t) {
    Tensor h = Tensor::host({1}, DType::f32);
    b.copy(h, t);
    return h.data<float>()[0];
}

}  // namespace pfce
