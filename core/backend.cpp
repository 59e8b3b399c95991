#include "core/backend.hpp"

#include "core/error.hpp"
#include "core/tensor.hpp"

namespace pfce {

void Backend::select_op_variant(const std::string& op, const std::string& variant) {
    std::string names;
    for (const std::string& v : op_variants(op)) names += (names.empty() ? "" : ", ") + v;
    if (names.empty())
        PFCE_THROW(InputError, name(), ": op \"", op, "\" has one implementation, no variant \"",
                   variant, "\"");
    PFCE_THROW(InputError, name(), ": op \"", op, "\" has no variant \"", variant,
               "\" (expected one of ", names, ")");
}

GraphCapture Backend::capture_graph(const std::function<void()>& body) {
    (void)body;
    return {nullptr, name() + " records no op graphs (they need the cuda backend)"};
}

void Backend::sgd_steps(std::span<const SgdSlot> slots, const Tensor& grad_scale,
                        const Tensor& step_scalars, const SgdParams& p) {
    Tensor none;  // the buffer of a slot without momentum: never read
    for (const SgdSlot& s : slots) {
        SgdParams sp = p;
        sp.weight_decay = s.weight_decay;
        sgd_step(*s.param, *s.grad, s.momentum_buf ? *s.momentum_buf : none, grad_scale,
                 step_scalars, sp);
    }
}

void Backend::adam_steps(std::span<const AdamSlot> slots, const Tensor& grad_scale,
                         const Tensor& step_scalars, const AdamParams& p) {
    for (const AdamSlot& s : slots) {
        AdamParams ap = p;
        ap.weight_decay = s.weight_decay;
        adam_step(*s.param, *s.grad, *s.m, *s.v, grad_scale, step_scalars, ap);
    }
}

}  // namespace pfce
