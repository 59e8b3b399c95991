// The optimizer the trainer steps: one kind (sgd | adam | adamw | adam_l2) resolved from its name,
// owning the per-parameter state (SGD momentum, Adam m and v) on the model's backend. Each step is
// one Backend call for the whole model (Backend::sgd_steps / adam_steps); lr comes from the
// schedule, grad_scale (1) f32 from clipping.
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

    // One update of every parameter from its grad * grad_scale[0].
    void step(float lr, const Tensor& grad_scale);

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
    std::int64_t steps_ = 0;
};

}  // namespace pfce
