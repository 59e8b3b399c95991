// Optimizer: name resolution and the per-parameter step loop.
#include "host/train/optimizer.hpp"

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
}

void Optimizer::step(float lr, const Tensor& grad_scale) {
    ++steps_;
    if (cfg_.kind == OptimizerKind::sgd) {
        SgdParams sp;
        sp.lr = lr;
        sp.momentum = cfg_.momentum;
        backend_.sgd_steps(sgd_slots_, grad_scale, sp);
    } else {
        AdamParams ap;
        ap.lr = lr;
        ap.beta1 = cfg_.beta1;
        ap.beta2 = cfg_.beta2;
        ap.eps = cfg_.eps;
        ap.decay_mode =
            cfg_.kind == OptimizerKind::adamw ? WeightDecayMode::decoupled : WeightDecayMode::l2;
        ap.step = steps_;
        backend_.adam_steps(adam_slots_, grad_scale, ap);
    }
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
