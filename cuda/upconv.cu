// CUDA 2x2 stride-2 transposed convolution through cuDNN. A transposed convolution is the
// backward-data of the convolution that maps the big (N,Co,2H,2W) tensor to the small (N,Ci,H,W)
// one with filter (Ci,Co,2,2) -- exactly PyTorch's ConvTranspose2d weight layout -- so forward is
// cudnnConvolutionBackwardData, backward-data is cudnnConvolutionForward and backward-filter is
// cudnnConvolutionBackwardFilter with the roles of input and output-gradient swapped (as PyTorch
// does). Plans come from the shared cache in cuda/cudnn_util.hpp. Mirrors host/cpu/upconv.cpp.
#include "core/op_checks.hpp"
#include "cuda/cuda_backend.hpp"
#include "cuda/cuda_context.hpp"
#include "cuda/cudnn_util.hpp"

namespace pfce {

namespace {

// Checks small, w, big and bias (core/op_checks.hpp) and returns the geometry of the convolution
// big -> small: input (N,Co,2H,2W), filter (Ci,Co,2,2), stride 2, no padding.
cudnn::ConvGeometry upconv_geometry(const Tensor& small, const Tensor& w, const Tensor& big,
                                    const Tensor& bias) {
    check_upconv2x2_args(small, w, big, bias, DeviceKind::cuda, {true, true});  // any mix
    return cudnn::geometry(big, cudnn::as_int(small.dim(1), small), 2, 0, 2);
}

}  // namespace

void CudaBackend::upconv2x2_forward(const Tensor& x, const Tensor& w, const Tensor& bias,
                                    Tensor& y) {
    const cudnn::ConvGeometry g = upconv_geometry(x, w, y, bias);
    if (y.numel() == 0) return;
    // y (big) is the "input gradient" written by backward-data; x (small) is its "output gradient".
    const cudnn::ConvPlan& plan = cudnn::run_convolution(
        *ctx_, g, cudnn::ConvDirection::backward_data, cudnn::conv_tensors(y, w, x));
    cudnn::add_bias(*ctx_, plan.bias_in, bias, plan.x_f32, y);
}

void CudaBackend::upconv2x2_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx) {
    const cudnn::ConvGeometry g = upconv_geometry(dx, w, dy, Tensor());
    if (dx.numel() == 0) return;
    // dx (small) = the forward convolution of dy (big).
    cudnn::run_convolution(*ctx_, g, cudnn::ConvDirection::forward, cudnn::conv_tensors(dy, w, dx));
}

void CudaBackend::upconv2x2_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw,
                                            Tensor& dbias) {
    const cudnn::ConvGeometry g = upconv_geometry(x, dw, dy, dbias);
    if (cudnn::no_filter_gradient_to_run(*ctx_, dy, dw, dbias)) return;
    // dw[ci,co,a,b] = sum x[n,ci,i,j] dy[n,co,2i+a,2j+b]: the filter gradient of the convolution
    // big -> small, with dy as its input and x as its output gradient.
    cudnn::run_convolution(*ctx_, g, cudnn::ConvDirection::backward_filter,
                           cudnn::conv_tensors(dy, dw, x));
    cudnn::bias_gradient(*ctx_, dy, dbias);
}

}  // namespace pfce
