// CPU backend: the 2x2 stride-2 transposed convolution (PyTorch ConvTranspose2d, w (Ci,Co,2,2))
// as a oneDNN deconvolution, one cached primitive per (direction, shape, layouts) like conv.cpp:
// on nhwc activations it runs in place, nchw ones are reordered to the layout it picks.
#include "core/op_checks.hpp"
#include "host/cpu/cpu_backend.hpp"
#include "host/cpu/dnnl_plan.hpp"
#include "host/cpu/scratch_slots.hpp"

namespace pfce {

namespace {

using cpu::Operand;
using cpu::Plan;
using cpu::Tag;
using dnnl::memory;

enum class Dir : std::int64_t { forward, backward_data, backward_filter };

constexpr std::int64_t kUpconvFamily = 2;  // plan keys of this file (dnnl_plan.hpp)

struct UpGeom {
    std::int64_t n, ci, h, w, co;  // x (N,Ci,H,W), w (Ci,Co,2,2), y (N,Co,2H,2W)
    Layout small_layout, big_layout;
};

// Checks small x, w, big y and bias (core/op_checks.hpp), then returns the geometry.
UpGeom up_geom(const Tensor& x, const Tensor& w, const Tensor& y, const Tensor& bias) {
    check_upconv2x2_args(x, w, y, bias, DeviceKind::cpu, true);
    return {x.dim(0), x.dim(1), x.dim(2), x.dim(3), w.dim(1), x.layout(), y.layout()};
}

Plan& up_plan(CpuBackend& be, Dir dir, const UpGeom& g, bool bias) {
    cpu::DnnlState& st = be.dnnl();
    const cpu::PlanKey key{kUpconvFamily,
                           static_cast<std::int64_t>(dir),
                           g.n,
                           g.ci,
                           g.h,
                           g.w,
                           g.co,
                           bias ? 1 : 0,
                           static_cast<std::int64_t>(g.small_layout),
                           static_cast<std::int64_t>(g.big_layout)};
    auto it = st.plans.find(key);
    if (it != st.plans.end()) return *it->second;

    // oneDNN's deconvolution weights are (O,I,kh,kw) = (Co,Ci,2,2); ours (Ci,Co,2,2) is its iohw.
    const memory::dims xd{g.n, g.ci, g.h, g.w}, wd{g.co, g.ci, 2, 2},
        yd{g.n, g.co, 2 * g.h, 2 * g.w}, strides{2, 2}, pads{0, 0};
    const memory::desc x_user = cpu::f32_desc(xd, cpu::tag_of(g.small_layout)),
                       y_user = cpu::f32_desc(yd, cpu::tag_of(g.big_layout)),
                       w_user = cpu::f32_desc(wd, Tag::iohw),
                       b_desc = cpu::f32_desc({g.co}, Tag::x);
    const Tag act =
        (g.small_layout == Layout::nhwc || g.big_layout == Layout::nhwc) ? Tag::nhwc : Tag::any;
    const memory::desc x_want = cpu::f32_desc(xd, act), y_want = cpu::f32_desc(yd, act),
                       w_want = cpu::f32_desc(wd, Tag::any);
    const dnnl::primitive_attr attr = cpu::user_scratchpad_attr();
    const dnnl::algorithm alg = dnnl::algorithm::deconvolution_direct;
    const dnnl::prop_kind train = dnnl::prop_kind::forward_training;
    const auto fwd_desc = bias
                              ? dnnl::deconvolution_forward::desc(
                                    train, alg, x_want, w_want, b_desc, y_want, strides, pads, pads)
                              : dnnl::deconvolution_forward::desc(train, alg, x_want, w_want,
                                                                  y_want, strides, pads, pads);
    const dnnl::deconvolution_forward::primitive_desc fwd_pd(fwd_desc, attr, st.ctx.engine);

    auto plan = std::make_unique<Plan>();
    Plan& p = *plan;
    cpu::DnnlContext& ctx = st.ctx;
    switch (dir) {
        case Dir::forward:
            p.arg_a = DNNL_ARG_SRC;
            p.arg_b = DNNL_ARG_WEIGHTS;
            p.arg_out = DNNL_ARG_DST;
            p.arg_bias = DNNL_ARG_BIAS;
            p.a = Operand(ctx, x_user, fwd_pd.src_desc());
            p.b = Operand(ctx, w_user, fwd_pd.weights_desc());
            p.out = Operand(ctx, y_user, fwd_pd.dst_desc());
            p.finish<dnnl::deconvolution_forward>(fwd_pd);
            break;
        case Dir::backward_data: {
            const dnnl::deconvolution_backward_data::desc d(alg, x_want, w_want, y_want, strides,
                                                            pads, pads);
            const dnnl::deconvolution_backward_data::primitive_desc pd(d, attr, ctx.engine, fwd_pd);
            p.arg_a = DNNL_ARG_DIFF_DST;
            p.arg_b = DNNL_ARG_WEIGHTS;
            p.arg_out = DNNL_ARG_DIFF_SRC;
            p.a = Operand(ctx, y_user, pd.diff_dst_desc());
            p.b = Operand(ctx, w_user, pd.weights_desc());
            p.out = Operand(ctx, x_user, pd.diff_src_desc());
            p.finish<dnnl::deconvolution_backward_data>(pd);
            break;
        }
        case Dir::backward_filter: {
            const auto d = bias ? dnnl::deconvolution_backward_weights::desc(
                                      alg, x_want, w_want, b_desc, y_want, strides, pads, pads)
                                : dnnl::deconvolution_backward_weights::desc(
                                      alg, x_want, w_want, y_want, strides, pads, pads);
            const dnnl::deconvolution_backward_weights::primitive_desc pd(d, attr, ctx.engine,
                                                                          fwd_pd);
            p.arg_a = DNNL_ARG_SRC;
            p.arg_b = DNNL_ARG_DIFF_DST;
            p.arg_out = DNNL_ARG_DIFF_WEIGHTS;
            p.arg_bias = DNNL_ARG_DIFF_BIAS;
            p.a = Operand(ctx, x_user, pd.src_desc());
            p.b = Operand(ctx, y_user, pd.diff_dst_desc());
            p.out = Operand(ctx, w_user, pd.diff_weights_desc());
            p.finish<dnnl::deconvolution_backward_weights>(pd);
            break;
        }
    }
    if (bias) p.bias = memory(b_desc, ctx.engine, DNNL_MEMORY_NONE);
    return *st.plans.emplace(key, std::move(plan)).first->second;
}

void run(CpuBackend& be, Plan& p, const void* a, const void* b, void* out, void* bias) {
    cpu::run_plan(be.dnnl().ctx, p, a, b, out, bias,
                  be.scratch(cpu::kDnnlSlot, p.scratch_bytes / sizeof(float) + 1));
}

}  // namespace

void CpuBackend::upconv2x2_forward(const Tensor& x, const Tensor& w, const Tensor& bias,
                                   Tensor& y) {
    const UpGeom g = up_geom(x, w, y, bias);
    // oneDNN takes non-const handles; the bias is only read.
    run(*this, up_plan(*this, Dir::forward, g, !bias.empty()), x.raw(), w.raw(), y.raw(),
        bias.empty() ? nullptr : const_cast<void*>(bias.raw()));
}

void CpuBackend::upconv2x2_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx) {
    const UpGeom g = up_geom(dx, w, dy, Tensor());
    run(*this, up_plan(*this, Dir::backward_data, g, false), dy.raw(), w.raw(), dx.raw(), nullptr);
}

void CpuBackend::upconv2x2_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw,
                                           Tensor& dbias) {
    const UpGeom g = up_geom(x, dw, dy, dbias);
    run(*this, up_plan(*this, Dir::backward_filter, g, !dbias.empty()), x.raw(), dy.raw(), dw.raw(),
        dbias.empty() ? nullptr : dbias.raw());
}

}  // namespace pfce
