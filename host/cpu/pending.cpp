// TRANSIENT: ops whose real implementation has not landed yet. Each op family deletes its
// lines here when its file lands; this file must be gone before any issue is resolved.
#include "host/cpu/cpu_backend.hpp"

namespace pfce {

void CpuBackend::focal_loss(const Tensor& , const Tensor& , const FocalLossParams& , Tensor& , Tensor& ) { PFCE_THROW(Error, "CpuBackend::focal_loss is not implemented yet"); }
void CpuBackend::conv2d_forward(const Tensor& , const Tensor& , const Tensor& , Tensor& , const Conv2dParams& ) { PFCE_THROW(Error, "CpuBackend::conv2d_forward is not implemented yet"); }
void CpuBackend::conv2d_backward_data(const Tensor& , const Tensor& , Tensor& , const Conv2dParams& ) { PFCE_THROW(Error, "CpuBackend::conv2d_backward_data is not implemented yet"); }
void CpuBackend::conv2d_backward_filter(const Tensor& , const Tensor& , Tensor& , Tensor& , const Conv2dParams& ) { PFCE_THROW(Error, "CpuBackend::conv2d_backward_filter is not implemented yet"); }
void CpuBackend::upconv2x2_forward(const Tensor& , const Tensor& , const Tensor& , Tensor& ) { PFCE_THROW(Error, "CpuBackend::upconv2x2_forward is not implemented yet"); }
void CpuBackend::upconv2x2_backward_data(const Tensor& , const Tensor& , Tensor& ) { PFCE_THROW(Error, "CpuBackend::upconv2x2_backward_data is not implemented yet"); }
void CpuBackend::upconv2x2_backward_filter(const Tensor& , const Tensor& , Tensor& , Tensor& ) { PFCE_THROW(Error, "CpuBackend::upconv2x2_backward_filter is not implemented yet"); }
void CpuBackend::batchnorm_forward_train(const Tensor& , const Tensor& , const Tensor& , Tensor& , Tensor& , Tensor& , Tensor& , Tensor& , const BatchNormParams& ) { PFCE_THROW(Error, "CpuBackend::batchnorm_forward_train is not implemented yet"); }
void CpuBackend::batchnorm_forward_infer(const Tensor& , const Tensor& , const Tensor& , const Tensor& , const Tensor& , Tensor& , const BatchNormParams& ) { PFCE_THROW(Error, "CpuBackend::batchnorm_forward_infer is not implemented yet"); }
void CpuBackend::batchnorm_backward(const Tensor& , const Tensor& , const Tensor& , const Tensor& , const Tensor& , Tensor& , Tensor& , Tensor& ) { PFCE_THROW(Error, "CpuBackend::batchnorm_backward is not implemented yet"); }
void CpuBackend::relu_forward(const Tensor& , Tensor& ) { PFCE_THROW(Error, "CpuBackend::relu_forward is not implemented yet"); }
void CpuBackend::relu_backward(const Tensor& , const Tensor& , Tensor& ) { PFCE_THROW(Error, "CpuBackend::relu_backward is not implemented yet"); }
void CpuBackend::maxpool2x2_forward(const Tensor& , Tensor& ) { PFCE_THROW(Error, "CpuBackend::maxpool2x2_forward is not implemented yet"); }
void CpuBackend::maxpool2x2_backward(const Tensor& , const Tensor& , const Tensor& , Tensor& ) { PFCE_THROW(Error, "CpuBackend::maxpool2x2_backward is not implemented yet"); }
void CpuBackend::concat_channels(const Tensor& , const Tensor& , Tensor& ) { PFCE_THROW(Error, "CpuBackend::concat_channels is not implemented yet"); }
void CpuBackend::concat_channels_backward(const Tensor& , Tensor& , Tensor& ) { PFCE_THROW(Error, "CpuBackend::concat_channels_backward is not implemented yet"); }
void CpuBackend::reflect_pad(const Tensor& , Tensor& , int , int ) { PFCE_THROW(Error, "CpuBackend::reflect_pad is not implemented yet"); }
void CpuBackend::crop(const Tensor& , Tensor& , int , int ) { PFCE_THROW(Error, "CpuBackend::crop is not implemented yet"); }
void CpuBackend::crop_backward(const Tensor& , Tensor& , int , int ) { PFCE_THROW(Error, "CpuBackend::crop_backward is not implemented yet"); }
void CpuBackend::argmax_channels(const Tensor& , Tensor& ) { PFCE_THROW(Error, "CpuBackend::argmax_channels is not implemented yet"); }
void CpuBackend::global_grad_norm(std::span<const Tensor* const> , Tensor& ) { PFCE_THROW(Error, "CpuBackend::global_grad_norm is not implemented yet"); }
void CpuBackend::clip_scale(const Tensor& , float , Tensor& ) { PFCE_THROW(Error, "CpuBackend::clip_scale is not implemented yet"); }
void CpuBackend::sgd_step(Tensor& , const Tensor& , Tensor& , const Tensor& , const SgdParams& ) { PFCE_THROW(Error, "CpuBackend::sgd_step is not implemented yet"); }
void CpuBackend::adam_step(Tensor& , const Tensor& , Tensor& , Tensor& , const Tensor& , const AdamParams& ) { PFCE_THROW(Error, "CpuBackend::adam_step is not implemented yet"); }
void CpuBackend::confusion_accumulate(const Tensor& , const Tensor& , Tensor& ) { PFCE_THROW(Error, "CpuBackend::confusion_accumulate is not implemented yet"); }
LinkStats CpuBackend::link(const Tensor& , const Tensor& , const LinkParams& , Tensor& ) { PFCE_THROW(Error, "CpuBackend::link is not implemented yet"); }

}  // namespace pfce
