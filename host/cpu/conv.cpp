// CPU backend: 2-D convolution (square kernel, stride 1, zero padding) through oneDNN: one
// primitive per (direction, shape, layouts), built on first use and cached (dnnl_plan.hpp). On
// nhwc activations the primitive runs on them in place; on nchw ones it picks its own blocked
// layout and the activations are reordered on the way in and out. Weights are reordered from
// (Co,Ci,k,k) every call: they are small next to the activations.
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

// Plan keys of this file start with this, then the direction (dnnl_plan.hpp).
constexpr std::int64_t kConvFamily = 1;

struct ConvGeom {
    std::int64_t n, ci, h, w;  // input (N,Ci,H,W)
    std::int64_t co, k, pad;   // filter (Co,Ci,k,k)
    std::int64_t ho, wo;       // output (N,Co,Ho,Wo)
    Layout x_layout, y_layout;
};

// Geometry of x (N,Ci,H,W) * w (Co,Ci,k,k) -> y once check_conv2d_args (core/op_checks.hpp) has
// accepted them.
ConvGeom conv_geom(const Tensor& x, const Tensor& w, const Tensor& y, int pad) {
    ConvGeom g{x.dim(0), x.dim(1), x.dim(2), x.dim(3),   w.dim(0),  w.dim(2),
               pad,      0,        0,        x.layout(), y.layout()};
    g.ho = g.h + 2 * g.pad - g.k + 1;
    g.wo = g.w + 2 * g.pad - g.k + 1;
    return g;
}

Plan& conv_plan(CpuBackend& be, Dir dir, const ConvGeom& g, bool bias) {
    cpu::DnnlState& st = be.dnnl();
    const cpu::PlanKey key{kConvFamily,
                           static_cast<std::int64_t>(dir),
                           g.n,
                           g.ci,
                           g.h,
                           g.w,
                           g.co,
                           g.k,
                           g.pad,
                           bias ? 1 : 0,
                           static_cast<std::int64_t>(g.x_layout),
                           static_cast<std::int64_t>(g.y_layout)};
    auto it = st.plans.find(key);
    if (it != st.plans.end()) return *it->second;

    const memory::dims xd{g.n, g.ci, g.h, g.w}, wd{g.co, g.ci, g.k, g.k}, yd{g.n, g.co, g.ho, g.wo},
        strides{1, 1}, pads{g.pad, g.pad};
    const memory::desc x_user = cpu::f32_desc(xd, cpu::tag_of(g.x_layout)),
                       y_user = cpu::f32_desc(yd, cpu::tag_of(g.y_layout)),
                       w_user = cpu::f32_desc(wd, Tag::oihw),
                       b_desc = cpu::f32_desc({g.co}, Tag::x);
    // Activations in nhwc when either side is (mixed layouts get slow reference kernels), else in
    // the layout oneDNN picks; weights always as it picks.
    const Tag act =
        (g.x_layout == Layout::nhwc || g.y_layout == Layout::nhwc) ? Tag::nhwc : Tag::any;
    const memory::desc x_want = cpu::f32_desc(xd, act), y_want = cpu::f32_desc(yd, act),
                       w_want = cpu::f32_desc(wd, Tag::any);
    const dnnl::primitive_attr attr = cpu::user_scratchpad_attr();
    const dnnl::algorithm alg = dnnl::algorithm::convolution_direct;
    const dnnl::prop_kind train = dnnl::prop_kind::forward_training;
    const auto fwd_desc = bias ? dnnl::convolution_forward::desc(train, alg, x_want, w_want, b_desc,
                                                                 y_want, strides, pads, pads)
                               : dnnl::convolution_forward::desc(train, alg, x_want, w_want, y_want,
                                                                 strides, pads, pads);
    const dnnl::convolution_forward::primitive_desc fwd_pd(fwd_desc, attr, st.ctx.engine);

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
            p.finish<dnnl::convolution_forward>(fwd_pd);
            break;
        case Dir::backward_data: {
            const dnnl::convolution_backward_data::desc d(alg, x_want, w_want, y_want, strides,
                                                          pads, pads);
            const dnnl::convolution_backward_data::primitive_desc pd(d, attr, ctx.engine, fwd_pd);
            p.arg_a = DNNL_ARG_DIFF_DST;
            p.arg_b = DNNL_ARG_WEIGHTS;
            p.arg_out = DNNL_ARG_DIFF_SRC;
            p.a = Operand(ctx, y_user, pd.diff_dst_desc());
            p.b = Operand(ctx, w_user, pd.weights_desc());
            p.out = Operand(ctx, x_user, pd.diff_src_desc());
            p.finish<dnnl::convolution_backward_data>(pd);
            break;
        }
        case Dir::backward_filter: {
            const auto d = bias ? dnnl::convolution_backward_weights::desc(
                                      alg, x_want, w_want, b_desc, y_want, strides, pads, pads)
                                : dnnl::convolution_backward_weights::desc(
                                      alg, x_want, w_want, y_want, strides, pads, pads);
            const dnnl::convolution_backward_weights::primitive_desc pd(d, attr, ctx.engine,
                                                                        fwd_pd);
            p.arg_a = DNNL_ARG_SRC;
            p.arg_b = DNNL_ARG_DIFF_DST;
            p.arg_out = DNNL_ARG_DIFF_WEIGHTS;
            p.arg_bias = DNNL_ARG_DIFF_BIAS;
            p.a = Operand(ctx, x_user, pd.src_desc());
            p.b = Operand(ctx, y_user, pd.diff_dst_desc());
            p.out = Operand(ctx, w_user, pd.diff_weights_desc());
            p.finish<dnnl::convolution_backward_weights>(pd);
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

void CpuBackend::conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y,
                                const Conv2dParams& p) {
    check_conv2d_args(x, w, y, bias, p, DeviceKind::cpu, true);
    Plan& plan = conv_plan(*this, Dir::forward, conv_geom(x, w, y, p.pad), !bias.empty());
    // oneDNN takes non-const handles; the bias is only read.
    run(*this, plan, x.raw(), w.raw(), y.raw(),
        bias.empty() ? nullptr : const_cast<void*>(bias.raw()));
}

void CpuBackend::conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx,
                                      const Conv2dParams& p) {
    check_conv2d_args(dx, w, dy, Tensor(), p, DeviceKind::cpu, true);
    Plan& plan = conv_plan(*this, Dir::backward_data, conv_geom(dx, w, dy, p.pad), false);
    run(*this, plan, dy.raw(), w.raw(), dx.raw(), nullptr);
}

void CpuBackend::conv2d_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw,
                                        Tensor& dbias, const Conv2dParams& p) {
    check_conv2d_args(x, dw, dy, dbias, p, DeviceKind::cpu, true);
    Plan& plan =
        conv_plan(*this, Dir::backward_filter, conv_geom(x, dw, dy, p.pad), !dbias.empty());
    run(*this, plan, x.raw(), dy.raw(), dw.raw(), dbias.empty() ? nullptr : dbias.raw());
}

}  // namespace pfce
