// The optimizer the trainer steps: one kind (sgd | adam | adamw | adam_l2) resolved from its name,
// owning the per-parameter state (SGD momentum, Adam m and v) on the model's backend. A step has a
// host part, begin_step (count the step, write its lr and Adam's bias corrections into the
// step-scalars tensor on the device), and a device part, apply (one Backend call for the whole
// model, Backend::sgd_steps / adam_steps, reading those scalars and grad_scale (1) f32 from
// clipping on the device). apply's launches are the same every step, so the forward, backward and
// apply of a step can be captured once as a CUDA graph and replayed after each begin_step.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/backend.hpp"
#include "core/enum_names.hpp"
#include "models/parameter.hpp"

namespace pfce {

// adam: PyTorch's torch.optim.Adam, whose weight_decay is an L2 term added to the gradient (the
// same as adam_l2, the explicit name); adamw: decoupled weight decay (torch.optim.AdamW).
enum class OptimizerKind { sgd, adam, adamw, adam_l2 };
inline constexpr EnumTable<OptimizerKind, 4> kOptimizerKinds{{"sgd", "adam", "adamw", "adam_l2"},
                                                             "optimizer"};

struct OptimizerConfig {
    OptimizerKind kind = OptimizerKind::adam;
    float weight_decay = 0.0f;  // applied only to parameters with Parameter::decay
    float momentum = 0.9f;      // sgd
    float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;  // adam family
};

// A named state tensor, for checkpoints: "optim.m.<param name>", "optim.v.<...>",
// "optim.momentum.<...>".
struct StateRef {
    std::string name;
    Tensor* value;
};

class Optimizer {
  public:
    Optimizer(Backend& backend, std::vector<Parameter*> params, const OptimizerConfig& cfg);

    // The host part of a step: counts it and writes its scalars (lr from the schedule; Adam's
    // bias corrections of the new step count) into step_scalars() with one Backend::copy from a
    // host tensor kept for it (nothing allocated).
    void begin_step(float lr);
    // The device part: one update of every parameter from its grad * grad_scale[0] with the
    // scalars of the last begin_step, read when the update runs. Enqueues backend work only and
    // reads or writes no host state that changes from step to step.
    void apply(const Tensor& grad_scale);
    // begin_step(lr) then apply(grad_scale).
    void step(float lr, const Tensor& grad_scale);

    // The (kOptimScalarCount) f32 tensor on the backend that apply reads (core/op_params.hpp
    // OptimScalar), made once: its memory stays the same for the optimizer's life.
    Tensor& step_scalars() { return scalars_; }

    std::int64_t steps_taken() const { return steps_; }
    void set_steps_taken(std::int64_t s) { steps_ = s; }
    const OptimizerConfig& config() const { return cfg_; }
    std::vector<StateRef> state();

  private:
    Backend& backend_;
    std::vector<Parameter*> params_;
    OptimizerConfig cfg_;
    std::vector<Tensor> m_, v_;       // adam: first/second moments; sgd: m_ is the momentum buffer
    std::vector<SgdSlot> sgd_slots_;  // the whole model's step, built once (sgd or adam)
    std::vector<AdamSlot> adam_slots_;
    SgdParams sgd_params_;  // constant for a run
    AdamParams adam_params_;
    Tensor scalars_host_, scalars_;  // the step scalars: written here, read by the backend there
    std::int64_t steps_ = 0;
};

}  // namespace pfce
