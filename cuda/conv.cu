// CUDA 2-D convolution (square kernel, stride 1, zero padding): cuDNN forward, backward-data and
// backward-filter with the algorithm found once per shape, the bias added with cudnnAddTensor on
// f32 tensors and our own kernel on bf16 ones, its gradient summed by our own kernel (all through
// cuda/cudnn_util.hpp), in f32 at every precision. Mirrors host/cpu/conv.cpp.
#include "core/op_checks.hpp"
#include "cuda/cuda_backend.hpp"
#include "cuda/cuda_context.hpp"
#include "cuda/cudnn_util.hpp"

namespace pfce {

namespace {

// x, w, y as check_conv2d_args (core/op_checks.hpp) has accepted them, in cuDNN's terms (which
// need every dimension to fit an int).
cudnn::ConvGeometry conv_geometry(const Tensor& x, const Tensor& w, const Tensor& y,
                                  const Conv2dParams& p, const Tensor& bias) {
    check_conv2d_args(x, w, y, bias, p, DeviceKind::cuda, {true, true});  // any layout or type mix
    return cudnn::geometry(x, cudnn::as_int(w.dim(0), w), cudnn::as_int(w.dim(2), w), p.pad, 1);
}

}  // namespace

void CudaBackend::conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y,
                                 const Conv2dParams& p) {
    const cudnn::ConvGeometry g = conv_geometry(x, w, y, p, bias);
    if (y.numel() == 0) return;
    const cudnn::ConvPlan& plan = cudnn::run_convolution(*ctx_, g, cudnn::ConvDirection::forward,
                                                         cudnn::conv_tensors(x, w, y));
    cudnn::add_bias(*ctx_, plan.bias_out, bias, plan.y_f32, y);
}

void CudaBackend::conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx,
                                       const Conv2dParams& p) {
    const cudnn::ConvGeometry g = conv_geometry(dx, w, dy, p, Tensor());
    if (dx.numel() == 0) return;
    cudnn::run_convolution(*ctx_, g, cudnn::ConvDirection::backward_data,
                           cudnn::conv_tensors(dx, w, dy));
}

void CudaBackend::conv2d_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw,
                                         Tensor& dbias, const Conv2dParams& p) {
    const cudnn::ConvGeometry g = conv_geometry(x, dw, dy, p, dbias);
    if (cudnn::no_filter_gradient_to_run(*ctx_, dy, dw, dbias)) return;
    cudnn::run_convolution(*ctx_, g, cudnn::ConvDirection::backward_filter,
                           cudnn::conv_tensors(x, dw, dy));
    cudnn::bias_gradient(*ctx_, dy, dbias);
}

void CudaBackend::set_deterministic(bool on) {
    ctx_->deterministic = on;
}

void CudaBackend::set_precision(Precision p) {
    ctx_->precision = p;
}

std::vector<std::string> CudaBackend::kernel_choices() const {
    return cudnn::conv_plan_choices(ctx_->device);
}

}  // namespace pfce
