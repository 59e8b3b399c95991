// CUDA 2-D convolution (square kernel, stride 1, zero padding): cuDNN forward, backward-data and
// backward-filter with the algorithm found once per shape (cuda/cudnn_util.hpp), the bias added
// with cudnnAddTensor and reduced with cudnnConvolutionBackwardBias. Mirrors host/cpu/conv.cpp.
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

// x, w, y as check_conv2d_args (core/op_checks.hpp) has accepted them, in cuDNN's terms (which
// need every dimension to fit an int).
cudnn::ConvGeometry conv_geometry(const Tensor& x, const Tensor& w, const Tensor& y,
                                  const Conv2dParams& p, const Tensor& bias) {
    check_conv2d_args(x, w, y, bias, p, DeviceKind::cuda);
    const std::int64_t k = w.dim(2);
    cudnn::ConvGeometry g;
    g.n = as_int(x.dim(0), x);
    g.c = as_int(x.dim(1), x);
    g.h = as_int(x.dim(2), x);
    g.w = as_int(x.dim(3), x);
    g.k = as_int(w.dim(0), w);
    g.r = as_int(k, w);
    g.pad = p.pad;
    g.stride = 1;
    return g;
}

float* mut(const Tensor& t) {
    return const_cast<float*>(t.data<float>());
}  // plan search only

}  // namespace

void CudaBackend::conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y,
                                 const Conv2dParams& p) {
    const cudnn::ConvGeometry g = conv_geometry(x, w, y, p, bias);
    if (y.numel() == 0) return;
    CudaContext& ctx = *ctx_;
    const cudnn::ConvPlan& plan =
        cudnn::conv_plan(ctx, g, cudnn::ConvDirection::forward, {mut(x), mut(w), y.data<float>()});
    void* ws = ctx.workspace(plan.workspace);
    PFCE_CUDNN_CHECK(cudnnConvolutionForward(
        ctx.cudnn, &cudnn::kOne, plan.x.get(), x.data<float>(), plan.w.get(), w.data<float>(),
        plan.conv.get(), static_cast<cudnnConvolutionFwdAlgo_t>(plan.algo), ws, plan.workspace,
        &cudnn::kZero, plan.y.get(), y.data<float>()));
    if (!bias.empty())
        PFCE_CUDNN_CHECK(cudnnAddTensor(ctx.cudnn, &cudnn::kOne, plan.bias_out.get(),
                                        bias.data<float>(), &cudnn::kOne, plan.y.get(),
                                        y.data<float>()));
}

void CudaBackend::conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx,
                                       const Conv2dParams& p) {
    const cudnn::ConvGeometry g = conv_geometry(dx, w, dy, p, Tensor());
    if (dx.numel() == 0) return;
    CudaContext& ctx = *ctx_;
    const cudnn::ConvPlan& plan = cudnn::conv_plan(ctx, g, cudnn::ConvDirection::backward_data,
                                                   {dx.data<float>(), mut(w), mut(dy)});
    void* ws = ctx.workspace(plan.workspace);
    PFCE_CUDNN_CHECK(cudnnConvolutionBackwardData(
        ctx.cudnn, &cudnn::kOne, plan.w.get(), w.data<float>(), plan.y.get(), dy.data<float>(),
        plan.conv.get(), static_cast<cudnnConvolutionBwdDataAlgo_t>(plan.algo), ws, plan.workspace,
        &cudnn::kZero, plan.x.get(), dx.data<float>()));
}

void CudaBackend::conv2d_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw,
                                         Tensor& dbias, const Conv2dParams& p) {
    const cudnn::ConvGeometry g = conv_geometry(x, dw, dy, p, dbias);
    if (dw.numel() == 0) return;
    if (dy.numel() == 0) {  // empty batch: the gradients are exactly zero
        fill(dw, 0.0f);
        if (!dbias.empty()) fill(dbias, 0.0f);
        return;
    }
    CudaContext& ctx = *ctx_;
    const cudnn::ConvPlan& plan = cudnn::conv_plan(ctx, g, cudnn::ConvDirection::backward_filter,
                                                   {mut(x), dw.data<float>(), mut(dy)});
    void* ws = ctx.workspace(plan.workspace);
    PFCE_CUDNN_CHECK(cudnnConvolutionBackwardFilter(
        ctx.cudnn, &cudnn::kOne, plan.x.get(), x.data<float>(), plan.y.get(), dy.data<float>(),
        plan.conv.get(), static_cast<cudnnConvolutionBwdFilterAlgo_t>(plan.algo), ws,
        plan.workspace, &cudnn::kZero, plan.w.get(), dw.data<float>()));
    if (!dbias.empty())
        PFCE_CUDNN_CHECK(cudnnConvolutionBackwardBias(ctx.cudnn, &cudnn::kOne, plan.y.get(),
                                                      dy.data<float>(), &cudnn::kZero,
                                                      plan.bias_out.get(), dbias.data<float>()));
}

}  // namespace pfce
