// CPU backend: 2-D convolution (square kernel, stride 1, zero padding) through oneDNN: one
// primitive per (direction, shape, layouts), built on first use and cached (dnnl_plan.hpp). On
// nhwc activations the primitive runs on them in place; on nchw ones it picks its own blocked
// layout and the activations are reordered on the way in and out. Weights are reordered from
// (Co,Ci,k,k) every call: they are small next to the activations.
#include "core/op_checks.hpp"
#include "host/cpu/cpu_backend.hpp"
#include "host/cpu/dnnl_plan.hpp"

namespace pfce {

namespace {

using cpu::ConvDir;

// The convolution x (N,Ci,H,W) * w (Co,Ci,k,k) -> y (N,Co,Ho,Wo) once check_conv2d_args
// (core/op_checks.hpp) has accepted them.
cpu::ConvSpec conv_spec(const Tensor& x, const Tensor& w, const Tensor& y, int pad, bool bias) {
    return {.alg = dnnl::algorithm::convolution_direct,
            .x = {x.dim(0), x.dim(1), x.dim(2), x.dim(3)},
            .w = {w.dim(0), w.dim(1), w.dim(2), w.dim(3)},
            .y = {y.dim(0), y.dim(1), y.dim(2), y.dim(3)},
            .stride = 1,
            .pad = pad,
            .x_layout = x.layout(),
            .y_layout = y.layout(),
            .w_tag = cpu::Tag::oihw,
            .bias = bias};
}

}  // namespace

// At a precision other than fp32 the factors are rounded copies and the bias is added or reduced
// after the op (core/host_backend.hpp).
void CpuBackend::conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y,
                                const Conv2dParams& p) {
    check_conv2d_args(x, w, y, bias, p, DeviceKind::cpu, true);
    const Tensor &rx = conv_operand(0, x), &rw = conv_operand(1, w), &b = fused_bias(bias);
    cpu::Plan& plan =
        cpu::conv_plan(dnnl(), ConvDir::forward, conv_spec(rx, rw, y, p.pad, !b.empty()));
    // oneDNN takes non-const handles; the bias is only read.
    run_dnnl(plan, rx.raw(), rw.raw(), y.raw(), b.empty() ? nullptr : const_cast<void*>(b.raw()));
    finish_output(y, bias);
}

void CpuBackend::conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx,
                                      const Conv2dParams& p) {
    check_conv2d_args(dx, w, dy, Tensor(), p, DeviceKind::cpu, true);
    const Tensor &rdy = conv_operand(0, dy), &rw = conv_operand(1, w);
    cpu::Plan& plan =
        cpu::conv_plan(dnnl(), ConvDir::backward_data, conv_spec(dx, rw, rdy, p.pad, false));
    run_dnnl(plan, rdy.raw(), rw.raw(), dx.raw(), nullptr);
    finish_output(dx, Tensor());
}

void CpuBackend::conv2d_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw,
                                        Tensor& dbias, const Conv2dParams& p) {
    check_conv2d_args(x, dw, dy, dbias, p, DeviceKind::cpu, true);
    const Tensor &rx = conv_operand(0, x), &rdy = conv_operand(1, dy);
    Tensor& db = fused_bias(dbias);
    cpu::FilterTiles& tiles = cpu::filter_tiles(dnnl(), conv_spec(rx, dw, rdy, p.pad, !db.empty()));
    run_filter_tiles(tiles, rx.raw(), rdy.raw(), dw.raw(), db.empty() ? nullptr : db.raw());
    finish_filter_gradient(dw, dy, dbias);
}

}  // namespace pfce
