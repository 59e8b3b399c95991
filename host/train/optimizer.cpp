// Optimizer: the per-parameter state, the step scalars and the whole-model step.
#include "host/train/optimizer.hpp"

#include <algorithm>

#include "core/kernels/optim.hpp"

namespace pfce {

Optimizer::Optimizer(Backend& backend, std::vector<Parameter*> params, const OptimizerConfig& cfg)
    : backend_(backend), params_(std::move(params)), cfg_(cfg) {
    const bool sgd = cfg_.kind == OptimizerKind::sgd;
    for (Parameter* p : params_) {
        if (!sgd || cfg_.momentum != 0.0f)
            m_.push_back(backend_.zeros(p->value.shape(), DType::f32));
        else
            m_.emplace_back();
        if (!sgd) v_.push_back(backend_.zeros(p->value.shape(), DType::f32));
    }
    // The slots point into params_, m_ and v_, which keep their tensors for the optimizer's life.
    for (std::size_t i = 0; i < params_.size(); ++i) {
        Parameter& p = *params_[i];
        const float wd = p.decay ? cfg_.weight_decay : 0.0f;
        if (sgd)
            sgd_slots_.push_back({&p.value, &p.grad, m_[i].empty() ? nullptr : &m_[i], wd});
        else
            adam_slots_.push_back({&p.value, &p.grad, &m_[i], &v_[i], wd});
    }
    sgd_params_.momentum = cfg_.momentum;
    adam_params_.beta1 = cfg_.beta1;
    adam_params_.beta2 = cfg_.beta2;
    adam_params_.eps = cfg_.eps;
    adam_params_.decay_mode =
        cfg_.kind == OptimizerKind::adamw ? WeightDecayMode::decoupled : WeightDecayMode::l2;
    scalars_host_ = Tensor::host({kOptimScalarCount}, DType::f32);
    scalars_ = backend_.zeros({kOptimScalarCount}, DType::f32);
}

void Optimizer::begin_step(float lr) {
    ++steps_;
    const kernels::StepScalars s =
        cfg_.kind == OptimizerKind::sgd
            ? kernels::sgd_step_scalars(lr)
            : kernels::adam_step_scalars(lr, cfg_.beta1, cfg_.beta2, steps_);
    std::copy(s.begin(), s.end(), scalars_host_.data<float>());
    backend_.copy(scalars_, scalars_host_);
}

void Optimizer::apply(const Tensor& grad_scale) {
    if (cfg_.kind == OptimizerKind::sgd)
        backend_.sgd_steps(sgd_slots_, grad_scale, scalars_, sgd_params_);
    else
        backend_.adam_steps(adam_slots_, grad_scale, scalars_, adam_params_);
}

void Optimizer::step(float lr, const Tensor& grad_scale) {
    begin_step(lr);
    apply(grad_scale);
}

std::vector<StateRef> Optimizer::state() {
    std::vector<StateRef> out;
    const bool sgd = cfg_.kind == OptimizerKind::sgd;
    for (std::size_t i = 0; i < params_.size(); ++i) {
        const std::string& n = params_[i]->name;
        if (!m_[i].empty()) out.push_back({(sgd ? "optim.momentum." : "optim.m.") + n, &m_[i]});
        if (!sgd) out.push_back({"optim.v." + n, &v_[i]});
    }
    return out;
}

}  // namespace pfce
