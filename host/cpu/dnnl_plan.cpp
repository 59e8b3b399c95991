// oneDNN plumbing of the CPU backend (see dnnl_plan.hpp).
#include "host/cpu/dnnl_plan.hpp"

#include <unordered_map>

namespace pfce::cpu {

memory::desc f32_desc(const memory::dims& dims, Tag tag) {
    return memory::desc(dims, memory::data_type::f32, tag);
}

Operand::Operand(DnnlContext& ctx, const memory::desc& user, const memory::desc& want)
    : want_(want),
      user_mem_(user, ctx.engine, DNNL_MEMORY_NONE),
      want_mem_(want, ctx.engine, DNNL_MEMORY_NONE) {
    if (user != want) {
        to_want_ = dnnl::reorder(user_mem_, want_mem_);
        to_user_ = dnnl::reorder(want_mem_, user_mem_);
    }
}

const memory& Operand::in(const void* data, void* scratch, dnnl::stream& s) {
    // oneDNN takes a non-const handle; an input is only read.
    user_mem_.set_data_handle(const_cast<void*>(data));
    if (!to_want_) return user_mem_;
    want_mem_.set_data_handle(scratch);
    to_want_->execute(s, user_mem_, want_mem_);
    return want_mem_;
}

const memory& Operand::out(void* data, void* scratch) {
    user_mem_.set_data_handle(data);
    if (!to_want_) return user_mem_;
    want_mem_.set_data_handle(scratch);
    return want_mem_;
}

void Operand::finish(void* data, dnnl::stream& s) {
    if (!to_user_) return;
    user_mem_.set_data_handle(data);
    to_user_->execute(s, want_mem_, user_mem_);
}

void run_plan(DnnlContext& ctx, Plan& p, const void* a, const void* b, void* out, void* bias,
              void* scratch) {
    Arena arena(scratch);
    void* sa = arena.take(p.a.scratch_bytes());
    void* sb = arena.take(p.b.scratch_bytes());
    void* so = arena.take(p.out.scratch_bytes());
    const memory pad(p.scratchpad, ctx.engine, arena.take(p.scratchpad.get_size()));
    std::unordered_map<int, memory> args{{p.arg_a, p.a.in(a, sa, ctx.stream)},
                                         {p.arg_b, p.b.in(b, sb, ctx.stream)},
                                         {p.arg_out, p.out.out(out, so)},
                                         {DNNL_ARG_SCRATCHPAD, pad}};
    if (bias) {
        p.bias.set_data_handle(bias);
        args.emplace(p.arg_bias, p.bias);
    }
    p.prim.execute(ctx.stream, args);
    p.out.finish(out, ctx.stream);
    ctx.stream.wait();
}

dnnl::primitive_attr user_scratchpad_attr() {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return attr;
}

}  // namespace pfce::cpu
