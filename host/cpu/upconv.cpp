// CPU backend: the 2x2 stride-2 transposed convolution (PyTorch ConvTranspose2d, w (Ci,Co,2,2))
// as a oneDNN deconvolution, one cached primitive per (direction, shape, layouts) like conv.cpp:
// on nhwc activations it runs in place, nchw ones are reordered to the layout it picks.
#include "core/op_checks.hpp"
#include "host/cpu/cpu_backend.hpp"
#include "host/cpu/dnnl_plan.hpp"

namespace pfce {

namespace {

using cpu::ConvDir;

// Checks small x (N,Ci,H,W), w (Ci,Co,2,2), big y (N,Co,2H,2W) and bias (core/op_checks.hpp),
// then returns their deconvolution. oneDNN's deconvolution weights are (O,I,kh,kw) =
// (Co,Ci,2,2): ours are its iohw.
cpu::ConvSpec up_spec(const Tensor& x, const Tensor& w, const Tensor& y, const Tensor& bias) {
    check_upconv2x2_args(x, w, y, bias, DeviceKind::cpu, true);
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

void CpuBackend::upconv2x2_forward(const Tensor& x, const Tensor& w, const Tensor& bias,
                                   Tensor& y) {
    cpu::Plan& plan = cpu::conv_plan(dnnl(), ConvDir::forward, up_spec(x, w, y, bias));
    // oneDNN takes non-const handles; the bias is only read.
    run_dnnl(plan, x.raw(), w.raw(), y.raw(),
             bias.empty() ? nullptr : const_cast<void*>(bias.raw()));
}

void CpuBackend::upconv2x2_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx) {
    cpu::Plan& plan = cpu::conv_plan(dnnl(), ConvDir::backward_data, up_spec(dx, w, dy, Tensor()));
    run_dnnl(plan, dy.raw(), w.raw(), dx.raw(), nullptr);
}

void CpuBackend::upconv2x2_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw,
                                           Tensor& dbias) {
    cpu::Plan& plan = cpu::conv_plan(dnnl(), ConvDir::backward_filter, up_spec(x, dw, dy, dbias));
    run_dnnl(plan, x.raw(), dy.raw(), dw.raw(), dbias.empty() ? nullptr : dbias.raw());
}

}  // namespace pfce
