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

#include <climits>

namespace pfce {

namespace {

int as_int(std::int64_t v, const Tensor& t) {
    PFCE_CHECK_SHAPE(v >= 0 && v <= INT_MAX, "dimension too large for cuDNN: ", t.describe());
    return static_cast<int>(v);
}

// Checks small, w, big and bias (core/op_checks.hpp) and returns the geometry of the convolution
// big -> small: input (N,Co,2H,2W), filter (Ci,Co,2,2), stride 2, no padding.
cudnn::ConvGeometry upconv_geometry(const Tensor& small, const Tensor& w, const Tensor& big,
                                    const Tensor& bias) {
    check_upconv2x2_args(small, w, big, bias, DeviceKind::cuda);
    cudnn::ConvGeometry g;
    g.n = as_int(big.dim(0), big);
    g.c = as_int(big.dim(1), big);
    g.h = as_int(big.dim(2), big);
    g.w = as_int(big.dim(3), big);
    g.k = as_int(small.dim(1), small);
    g.r = 2;
    g.pad = 0;
    g.stride = 2;
    return g;
}

float* mut(const Tensor& t) {
    return const_cast<float*>(t.data<float>());
}  // plan search only

}  // namespace

void CudaBackend::upconv2x2_forward(const Tensor& x, const Tensor& w, const Tensor& bias,
                                    Tensor& y) {
    const cudnn::ConvGeometry g = upconv_geometry(x, w, y, bias);
    if (y.numel() == 0) return;
    CudaContext& ctx = *ctx_;
    // y (big) is the "input gradient" written by backward-data; x (small) is its "output gradient".
    const cudnn::ConvPlan& plan = cudnn::conv_plan(ctx, g, cudnn::ConvDirection::backward_data,
                                                   {y.data<float>(), mut(w), mut(x)});
    void* ws = ctx.workspace(plan.workspace);
    PFCE_CUDNN_CHECK(cudnnConvolutionBackwardData(
        ctx.cudnn, &cudnn::kOne, plan.w.get(), w.data<float>(), plan.y.get(), x.data<float>(),
        plan.conv.get(), static_cast<cudnnConvolutionBwdDataAlgo_t>(plan.algo), ws, plan.workspace,
        &cudnn::kZero, plan.x.get(), y.data<float>()));
    if (!bias.empty())
        PFCE_CUDNN_CHECK(cudnnAddTensor(ctx.cudnn, &cudnn::kOne, plan.bias_in.get(),
                                        bias.data<float>(), &cudnn::kOne, plan.x.get(),
                                        y.data<float>()));
}

void CudaBackend::upconv2x2_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx) {
    const cudnn::ConvGeometry g = upconv_geometry(dx, w, dy, Tensor());
    if (dx.numel() == 0) return;
    CudaContext& ctx = *ctx_;
    // dx (small) = the forward convolution of dy (big).
    const cudnn::ConvPlan& plan = cudnn::conv_plan(ctx, g, cudnn::ConvDirection::forward,
                                                   {mut(dy), mut(w), dx.data<float>()});
    void* ws = ctx.workspace(plan.workspace);
    PFCE_CUDNN_CHECK(cudnnConvolutionForward(
        ctx.cudnn, &cudnn::kOne, plan.x.get(), dy.data<float>(), plan.w.get(), w.data<float>(),
        plan.conv.get(), static_cast<cudnnConvolutionFwdAlgo_t>(plan.algo), ws, plan.workspace,
        &cudnn::kZero, plan.y.get(), dx.data<float>()));
}

void CudaBackend::upconv2x2_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw,
                                            Tensor& dbias) {
    const cudnn::ConvGeometry g = upconv_geometry(x, dw, dy, dbias);
    if (dw.numel() == 0) return;
    if (dy.numel() == 0) {  // empty batch: the gradients are exactly zero
        fill(dw, 0.0f);
        if (!dbias.empty()) fill(dbias, 0.0f);
        return;
    }
    CudaContext& ctx = *ctx_;
    // dw[ci,co,a,b] = sum x[n,ci,i,j] dy[n,co,2i+a,2j+b]: the filter gradient of the convolution
    // big -> small, with dy as its input and x as its output gradient.
    const cudnn::ConvPlan& plan = cudnn::conv_plan(ctx, g, cudnn::ConvDirection::backward_filter,
                                                   {mut(dy), dw.data<float>(), mut(x)});
    void* ws = ctx.workspace(plan.workspace);
    PFCE_CUDNN_CHECK(cudnnConvolutionBackwardFilter(
        ctx.cudnn, &cudnn::kOne, plan.x.get(), dy.data<float>(), plan.y.get(), x.data<float>(),
        plan.conv.get(), static_cast<cudnnConvolutionBwdFilterAlgo_t>(plan.algo), ws,
        plan.workspace, &cudnn::kZero, plan.w.get(), dw.data<float>()));
    if (!dbias.empty())
        PFCE_CUDNN_CHECK(cudnnConvolutionBackwardBias(ctx.cudnn, &cudnn::kOne, plan.x.get(),
                                                      dy.data<float>(), &cudnn::kZero,
                                                      plan.bias_in.get(), dbias.data<float>()));
}

}  // namespace pfce
