// What the backends whose tensors live in host memory (CpuBackend, ReferenceBackend) share: the
// device, allocation, copies and fills of host tensors; nothing to wait for; and the rounding
// points of the convolution precisions (Backend::set_precision), so both round alike.
#pragma once

#include <cstdint>
#include <vector>

#include "core/backend.hpp"

namespace pfce {

class HostBackend : public Backend {
  public:
    DeviceKind device() const override;
    Tensor zeros(Shape shape, DType dtype) override;
    Tensor host_staging(Shape shape, DType dtype) override;
    void copy(Tensor& dst, const Tensor& src) override;
    void fill(Tensor& t, float value) override;
    void synchronize() override;
    void set_precision(Precision p) override { precision_ = p; }

  protected:
    // ---- for the convolution op files: a convolution at precision p runs as
    //   op(conv_operand(0, a), conv_operand(1, b), out, fused_bias(bias)); finish_output(...) or
    //   finish_filter_gradient(...)
    // which at fp32 is the op itself, bias fused; otherwise the factors are rounded, the op runs
    // without a bias, its result is rounded (bf16), and the bias is added or reduced in f32 after.
    Precision precision() const { return precision_; }
    // A factor of the convolution: `t` itself at fp32; else a view of grow-only buffer `slot` (0 or
    // 1) holding t's values rounded to the precision, in t's shape and layout.
    const Tensor& conv_operand(int slot, const Tensor& t);
    // The bias (or bias gradient) the op computes itself: `bias` at fp32, an empty tensor
    // otherwise.
    const Tensor& fused_bias(const Tensor& bias) const;
    Tensor& fused_bias(Tensor& dbias);
    // After a forward or backward-data op: out rounded to the precision's result, then (not at
    // fp32) out += bias per channel, in f32. Nothing at fp32.
    void finish_output(Tensor& out, const Tensor& bias) const;
    // After a filter-gradient op: dw rounded to the precision's result; (not at fp32) dbias, when
    // not empty, <- the per-channel sums of dy in double, from dy's f32 values. Nothing at fp32.
    void finish_filter_gradient(Tensor& dw, const Tensor& dy, Tensor& dbias) const;

    // dst[i] <- src[i] rounded as a factor (result = false) or as a result (true) at the
    // precision, for n values (dst may be src). Each value is rounded alone, so any split gives
    // the same bits: serial here; the CPU backend runs it on its threads.
    virtual void round_values(const float* src, float* dst, std::int64_t n, bool result) const;

  private:
    Precision precision_ = Precision::fp32;
    Tensor rounded_[2], operand_[2], none_;
    mutable std::vector<double> sums_;  // finish_filter_gradient's per-channel sums
};

}  // namespace pfce
