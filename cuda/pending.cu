// TRANSIENT: ops whose real implementation has not landed yet. Each op family deletes its
// lines here when its file lands; this file must be gone before any issue is resolved.
#include "cuda/cuda_backend.hpp"

namespace pfce {

void CudaBackend::conv2d_forward(const Tensor& , const Tensor& , const Tensor& , Tensor& , const Conv2dParams& ) { PFCE_THROW(Error, "CudaBackend::conv2d_forward is not implemented yet"); }
void CudaBackend::conv2d_backward_data(const Tensor& , const Tensor& , Tensor& , const Conv2dParams& ) { PFCE_THROW(Error, "CudaBackend::conv2d_backward_data is not implemented yet"); }
void CudaBackend::conv2d_backward_filter(const Tensor& , const Tensor& , Tensor& , Tensor& , const Conv2dParams& ) { PFCE_THROW(Error, "CudaBackend::conv2d_backward_filter is not implemented yet"); }
void CudaBackend::upconv2x2_forward(const Tensor& , const Tensor& , const Tensor& , Tensor& ) { PFCE_THROW(Error, "CudaBackend::upconv2x2_forward is not implemented yet"); }
void CudaBackend::upconv2x2_backward_data(const Tensor& , const Tensor& , Tensor& ) { PFCE_THROW(Error, "CudaBackend::upconv2x2_backward_data is not implemented yet"); }
void CudaBackend::upconv2x2_backward_filter(const Tensor& , const Tensor& , Tensor& , Tensor& ) { PFCE_THROW(Error, "CudaBackend::upconv2x2_backward_filter is not implemented yet"); }
void CudaBackend::batchnorm_forward_train(const Tensor& , const Tensor& , const Tensor& , Tensor& , Tensor& , Tensor& , Tensor& , Tensor& , const BatchNormParams& ) { PFCE_THROW(Error, "CudaBackend::batchnorm_forward_train is not implemented yet"); }
void CudaBackend::batchnorm_forward_infer(const Tensor& , const Tensor& , const Tensor& , const Tensor& , const Tensor& , Tensor& , const BatchNormParams& ) { PFCE_THROW(Error, "CudaBackend::batchnorm_forward_infer is not implemented yet"); }
void CudaBackend::batchnorm_backward(const Tensor& , const Tensor& , const Tensor& , const Tensor& , const Tensor& , Tensor& , Tensor& , Tensor& ) { PFCE_THROW(Error, "CudaBackend::batchnorm_backward is not implemented yet"); }
void CudaBackend::relu_forward(const Tensor& , Tensor& ) { PFCE_THROW(Error, "CudaBackend::relu_forward is not implemented yet"); }
void CudaBackend::relu_backward(const Tensor& , const Tensor& , Tensor& ) { PFCE_THROW(Error, "CudaBackend::relu_backward is not implemented yet"); }
void CudaBackend::maxpool2x2_forward(const Tensor& , Tensor& ) { PFCE_THROW(Error, "CudaBackend::maxpool2x2_forward is not implemented yet"); }
void CudaBackend::maxpool2x2_backward(const Tensor& , const Tensor& , const Tensor& , Tensor& ) { PFCE_THROW(Error, "CudaBackend::maxpool2x2_backward is not implemented yet"); }
void CudaBackend::concat_channels(const Tensor& , const Tensor& , Tensor& ) { PFCE_THROW(Error, "CudaBackend::concat_channels is not implemented yet"); }
void CudaBackend::concat_channels_backward(const Tensor& , Tensor& , Tensor& ) { PFCE_THROW(Error, "CudaBackend::concat_channels_backward is not implemented yet"); }
void CudaBackend::reflect_pad(const Tensor& , Tensor& , int , int ) { PFCE_THROW(Error, "CudaBackend::reflect_pad is not implemented yet"); }
void CudaBackend::crop(const Tensor& , Tensor& , int , int ) { PFCE_THROW(Error, "CudaBackend::crop is not implemented yet"); }
void CudaBackend::crop_backward(const Tensor& , Tensor& , int , int ) { PFCE_THROW(Error, "CudaBackend::crop_backward is not implemented yet"); }
void CudaBackend::argmax_channels(const Tensor& , Tensor& ) { PFCE_THROW(Error, "CudaBackend::argmax_channels is not implemented yet"); }

}  // namespace pfce
