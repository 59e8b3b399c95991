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

namespace {

memory::dims dims(const std::array<std::int64_t, 4>& d) {
    return {d[0], d[1], d[2], d[3]};
}

// conv_plan for one family: Fwd, BwdData and BwdWeights are oneDNN's convolution_* or
// deconvolution_* primitives, whose descriptors take the same arguments.
template <typename Fwd, typename BwdData, typename BwdWeights>
std::unique_ptr<Plan> make_conv_plan(DnnlContext& ctx, ConvDir dir, const ConvSpec& s) {
    const memory::dims xd = dims(s.x), wd = dims(s.w), yd = dims(s.y), st{s.stride, s.stride},
                       pad{s.pad, s.pad};
    const memory::desc x_user = f32_desc(xd, tag_of(s.x_layout)),
                       y_user = f32_desc(yd, tag_of(s.y_layout)), w_user = f32_desc(wd, s.w_tag),
                       b_desc = f32_desc({s.y[1]}, Tag::x);
    const Tag act =
        (s.x_layout == Layout::nhwc || s.y_layout == Layout::nhwc) ? Tag::nhwc : Tag::any;
    const memory::desc x_want = f32_desc(xd, act), y_want = f32_desc(yd, act),
                       w_want = f32_desc(wd, Tag::any);
    const dnnl::primitive_attr attr = user_scratchpad_attr();
    const dnnl::prop_kind train = dnnl::prop_kind::forward_training;
    const auto fwd_desc =
        s.bias ? typename Fwd::desc(train, s.alg, x_want, w_want, b_desc, y_want, st, pad, pad)
               : typename Fwd::desc(train, s.alg, x_want, w_want, y_want, st, pad, pad);
    const typename Fwd::primitive_desc fwd_pd(fwd_desc, attr, ctx.engine);

    auto plan = std::make_unique<Plan>();
    Plan& p = *plan;
    switch (dir) {
        case ConvDir::forward:
            p.arg_bias = DNNL_ARG_BIAS;
            p.make<Fwd>(ctx, fwd_pd, {DNNL_ARG_SRC, x_user, fwd_pd.src_desc()},
                        {DNNL_ARG_WEIGHTS, w_user, fwd_pd.weights_desc()},
                        {DNNL_ARG_DST, y_user, fwd_pd.dst_desc()});
            break;
        case ConvDir::backward_data: {
            const typename BwdData::desc d(s.alg, x_want, w_want, y_want, st, pad, pad);
            const typename BwdData::primitive_desc pd(d, attr, ctx.engine, fwd_pd);
            p.make<BwdData>(ctx, pd, {DNNL_ARG_DIFF_DST, y_user, pd.diff_dst_desc()},
                            {DNNL_ARG_WEIGHTS, w_user, pd.weights_desc()},
                            {DNNL_ARG_DIFF_SRC, x_user, pd.diff_src_desc()});
            break;
        }
        case ConvDir::backward_filter: {
            const auto d =
                s.bias
                    ? typename BwdWeights::desc(s.alg, x_want, w_want, b_desc, y_want, st, pad, pad)
                    : typename BwdWeights::desc(s.alg, x_want, w_want, y_want, st, pad, pad);
            const typename BwdWeights::primitive_desc pd(d, attr, ctx.engine, fwd_pd);
            p.arg_bias = DNNL_ARG_DIFF_BIAS;
            p.make<BwdWeights>(ctx, pd, {DNNL_ARG_SRC, x_user, pd.src_desc()},
                               {DNNL_ARG_DIFF_DST, y_user, pd.diff_dst_desc()},
                               {DNNL_ARG_DIFF_WEIGHTS, w_user, pd.diff_weights_desc()});
            break;
        }
    }
    if (s.bias) p.bias = memory(b_desc, ctx.engine, DNNL_MEMORY_NONE);
    return plan;
}

}  // namespace

Plan& conv_plan(DnnlState& st, ConvDir dir, const ConvSpec& s) {
    const bool deconv = s.alg == dnnl::algorithm::deconvolution_direct;
    const PlanKey key{deconv ? 2 : 1,
                      static_cast<std::int64_t>(dir),
                      s.x[0],
                      s.x[1],
                      s.x[2],
                      s.x[3],
                      s.w[0],
                      s.w[2],
                      s.w[3],
                      s.stride,
                      s.pad,
                      s.bias ? 1 : 0,
                      static_cast<std::int64_t>(s.x_layout),
                      static_cast<std::int64_t>(s.y_layout)};
    auto it = st.plans.find(key);
    if (it != st.plans.end()) return *it->second;
    auto plan = deconv
                    ? make_conv_plan<dnnl::deconvolution_forward, dnnl::deconvolution_backward_data,
                                     dnnl::deconvolution_backward_weights>(st.ctx, dir, s)
                    : make_conv_plan<dnnl::convolution_forward, dnnl::convolution_backward_data,
                                     dnnl::convolution_backward_weights>(st.ctx, dir, s);
    return *st.plans.emplace(key, std::move(plan)).first->second;
}

}  // namespace pfce::cpu
