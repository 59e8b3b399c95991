// CPU backend: the 2x2 stride-2 transposed convolution (PyTorch ConvTranspose2d, w (Ci,Co,2,2))
// as a oneDNN deconvolution, one cached primitive per (direction, shape, layouts) like conv.cpp:
// on nhwc activations it runs in place, nchw ones are reordered to the layout it picks.
#include "core/op_checks.hpp"
#include "host/cpu/cpu_backend.hpp"
#include "host/cpu/dnnl_plan.hpp"

namespace pfce {

namespace {

using cpu::ConvDir;

// The deconvolution of small x (N,Ci,H,W), w (Ci,Co,2,2) and big y (N,Co,2H,2W), with a bias
// when `bias` is not empty. oneDNN's deconvolution weights are (O,I,kh,kw) = (Co,Ci,2,2): ours are
// its iohw.
cpu::ConvSpec up_spec(const Tensor& x, const Tensor& w, const Tensor& y, const Tensor& bias) {
    return {.alg = dnnl::algorithm::deconvolution_direct,
            .x = {x.dim(0), x.dim(1), x.dim(2), x.dim(3)},
            .w = {w.dim(1), w.dim(0), 2, 2},
            .y = {y.dim(0), y.dim(1), y.dim(2), y.dim(3)},
            .stride = 2,
            .pad = 0,
            .x_layout = x.layout(),
            .y_layout = y.layout(),
            .w_tag = cpu::Tag::iohw,
            .bias = !bias.empty()};
}

}  // namespace

// At a precision other than fp32 the factors are rounded copies and the bias is added or reduced
// after the op (core/host_backend.hpp). Arguments are checked first (core/op_checks.hpp).
void CpuBackend::upconv2x2_forward(const Tensor& x, const Tensor& w, const Tensor& bias,
                                   Tensor& y) {
    check_upconv2x2_args(x, w, y, bias, DeviceKind::cpu, true);
    const Tensor &rx = conv_operand(0, x), &rw = conv_operand(1, w), &b = fused_bias(bias);
    cpu::Plan& plan = cpu::conv_plan(dnnl(), ConvDir::forward, up_spec(rx, rw, y, b));
    // oneDNN takes non-const handles; the bias is only read.
    run_dnnl(plan, rx.raw(), rw.raw(), y.raw(), b.empty() ? nullptr : const_cast<void*>(b.raw()));
    finish_output(y, bias);
}

void CpuBackend::upconv2x2_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx) {
    check_upconv2x2_args(dx, w, dy, Tensor(), DeviceKind::cpu, true);
    const Tensor &rdy = conv_operand(0, dy), &rw = conv_operand(1, w);
    cpu::Plan& plan =
        cpu::conv_plan(dnnl(), ConvDir::backward_data, up_spec(dx, rw, rdy, Tensor()));
    run_dnnl(plan, rdy.raw(), rw.raw(), dx.raw(), nullptr);
    finish_output(dx, Tensor());
}

void CpuBackend::upconv2x2_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw,
                                           Tensor& dbias) {
    check_upconv2x2_args(x, dw, dy, dbias, DeviceKind::cpu, true);
    const Tensor &rx = conv_operand(0, x), &rdy = conv_operand(1, dy);
    Tensor& db = fused_bias(dbias);
    cpu::FilterTiles& tiles = cpu::filter_tiles(dnnl(), up_spec(rx, dw, rdy, db));
    run_filter_tiles(tiles, rx.raw(), rdy.raw(), dw.raw(), db.empty() ? nullptr : db.raw());
    finish_filter_gradient(dw, dy, dbias);
}

}  // namespace pfce
