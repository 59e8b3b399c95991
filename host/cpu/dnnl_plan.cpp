// oneDNN plumbing of the CPU backend (see dnnl_plan.hpp).
#include "host/cpu/dnnl_plan.hpp"

#include <algorithm>
#include <exception>
#include <unordered_map>

#ifdef _OPENMP
#include <omp.h>
#endif

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

void run_plan(const dnnl::engine& engine, dnnl::stream& stream, Plan& p, const void* a,
              const void* b, void* out, void* bias, void* scratch) {
    Arena arena(scratch);
    void* sa = arena.take(p.a.scratch_bytes());
    void* sb = arena.take(p.b.scratch_bytes());
    void* so = arena.take(p.out.scratch_bytes());
    const memory pad(p.scratchpad, engine, arena.take(p.scratchpad.get_size()));
    std::unordered_map<int, memory> args{{p.arg_a, p.a.in(a, sa, stream)},
                                         {p.arg_b, p.b.in(b, sb, stream)},
                                         {p.arg_out, p.out.out(out, so)},
                                         {DNNL_ARG_SCRATCHPAD, pad}};
    if (bias) {
        p.bias.set_data_handle(bias);
        args.emplace(p.arg_bias, p.bias);
    }
    p.prim.execute(stream, args);
    p.out.finish(out, stream);
    stream.wait();
}

DnnlState::DnnlState() = default;
DnnlState::~DnnlState() = default;

dnnl::primitive_attr user_scratchpad_attr() {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return attr;
}

namespace {

memory::dims dims(const std::array<std::int64_t, 4>& d) {
    return {d[0], d[1], d[2], d[3]};
}

// Output channels [first, first + count) of a (de)convolution; count 0 = all of them.
struct ChannelSlice {
    std::int64_t first = 0, count = 0;
};

// conv_plan for one family: Fwd, BwdData and BwdWeights are oneDNN's convolution_* or
// deconvolution_* primitives, whose descriptors take the same arguments. With a slice the
// primitive is built for the slice's output channels, and y and w are read and written as that
// slice of the whole tensors (the bias gradient is passed at its first channel).
template <typename Fwd, typename BwdData, typename BwdWeights>
std::unique_ptr<Plan> make_conv_plan(DnnlContext& ctx, ConvDir dir, const ConvSpec& whole,
                                     ChannelSlice slice = {}) {
    ConvSpec s = whole;
    if (slice.count) s.y[1] = s.w[0] = slice.count;
    const memory::dims xd = dims(s.x), wd = dims(s.w), yd = dims(s.y), st{s.stride, s.stride},
                       pad{s.pad, s.pad};
    memory::desc y_user = f32_desc(dims(whole.y), tag_of(s.y_layout)),
                 w_user = f32_desc(dims(whole.w), s.w_tag);
    if (slice.count) {
        y_user = y_user.submemory_desc(yd, {0, slice.first, 0, 0});
        w_user = w_user.submemory_desc(wd, {slice.first, 0, 0, 0});
    }
    const memory::desc x_user = f32_desc(xd, tag_of(s.x_layout)),
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

PlanKey plan_key(ConvDir dir, const ConvSpec& s) {
    const bool deconv = s.alg == dnnl::algorithm::deconvolution_direct;
    return {deconv ? 2 : 1,
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
}

std::unique_ptr<Plan> make_plan(DnnlContext& ctx, ConvDir dir, const ConvSpec& s,
                                ChannelSlice slice = {}) {
    return s.alg == dnnl::algorithm::deconvolution_direct
               ? make_conv_plan<dnnl::deconvolution_forward, dnnl::deconvolution_backward_data,
                                dnnl::deconvolution_backward_weights>(ctx, dir, s, slice)
               : make_conv_plan<dnnl::convolution_forward, dnnl::convolution_backward_data,
                                dnnl::convolution_backward_weights>(ctx, dir, s, slice);
}

// While alive, primitives are built for one thread: oneDNN fixes a primitive's thread split when
// it is built (from omp_get_max_threads), and a tile runs on one thread of our own parallel loop.
class OneThreadBuild {
  public:
#ifdef _OPENMP
    OneThreadBuild() : keep_(omp_get_max_threads()) {
        omp_set_num_threads(1);
    }
    ~OneThreadBuild() {
        omp_set_num_threads(keep_);
    }

  private:
    int keep_;
#endif
};

}  // namespace

Plan& conv_plan(DnnlState& st, ConvDir dir, const ConvSpec& s) {
    const PlanKey key = plan_key(dir, s);
    auto it = st.plans.find(key);
    if (it != st.plans.end()) return *it->second;
    return *st.plans.emplace(key, make_plan(st.ctx, dir, s)).first->second;
}

FilterTiles& filter_tiles(DnnlState& st, const ConvSpec& s) {
    const PlanKey key = plan_key(ConvDir::backward_filter, s);
    auto it = st.filter_plans.find(key);
    if (it != st.filter_plans.end()) return *it->second;
    auto ft = std::make_unique<FilterTiles>();
    const std::int64_t images = s.x[0], outs = s.y[1];
    const std::int64_t blocks = (outs + kFilterTileChannels - 1) / kFilterTileChannels;
    ft->chunks = static_cast<int>(
        std::clamp<std::int64_t>((kFilterTargetTiles + blocks - 1) / blocks, 1, images));
    ft->x_image = s.x[1] * s.x[2] * s.x[3];
    ft->dy_image = s.y[1] * s.y[2] * s.y[3];
    ft->dw_size = s.w[0] * s.w[1] * s.w[2] * s.w[3];
    ft->bias_size = s.bias ? outs : 0;
    const OneThreadBuild one_thread;
    for (int c = 0; c < ft->chunks; ++c) {
        // Chunk c holds images [c * images / chunks, (c + 1) * images / chunks).
        const std::int64_t from = c * images / ft->chunks, to = (c + 1) * images / ft->chunks;
        ConvSpec part = s;
        part.x[0] = part.y[0] = to - from;
        for (std::int64_t first = 0; first < outs; first += kFilterTileChannels) {
            const ChannelSlice slice{first, std::min(kFilterTileChannels, outs - first)};
            FilterTile t{.first = first,
                         .image = from,
                         .chunk = c,
                         .plan = make_plan(st.ctx, ConvDir::backward_filter, part, slice),
                         .stream = dnnl::stream(st.ctx.engine),
                         .scratch_offset = ft->scratch_bytes};
            ft->scratch_bytes += t.plan->scratch_bytes;
            ft->tiles.push_back(std::move(t));
        }
    }
    ft->partials_offset = ft->scratch_bytes;
    ft->scratch_bytes +=
        Arena::rounded(static_cast<std::size_t>(ft->chunks - 1) *
                       static_cast<std::size_t>(ft->dw_size + ft->bias_size) * sizeof(float));
    return *st.filter_plans.emplace(key, std::move(ft)).first->second;
}

void run_filter_tiles(DnnlContext& ctx, FilterTiles& ft, const void* x, const void* dy, void* dw,
                      void* bias, void* scratch) {
    const int n = static_cast<int>(ft.tiles.size());
    float* partials = reinterpret_cast<float*>(static_cast<char*>(scratch) + ft.partials_offset);
    float* partial_biases = partials + (ft.chunks - 1) * ft.dw_size;
    std::exception_ptr failed;
    // Tiles are independent, so any schedule gives the same bits; dynamic evens out a short last
    // tile. oneDNN runs a primitive on one thread inside a parallel region.
#pragma omp parallel for schedule(dynamic, 1) if (n > 1)
    for (int i = 0; i < n; ++i) {
        FilterTile& t = ft.tiles[static_cast<std::size_t>(i)];
        float* out = t.chunk == 0 ? static_cast<float*>(dw) : partials + (t.chunk - 1) * ft.dw_size;
        float* out_bias = !bias          ? nullptr
                          : t.chunk == 0 ? static_cast<float*>(bias)
                                         : partial_biases + (t.chunk - 1) * ft.bias_size;
        try {
            run_plan(ctx.engine, t.stream, *t.plan,
                     static_cast<const float*>(x) + t.image * ft.x_image,
                     static_cast<const float*>(dy) + t.image * ft.dy_image, out,
                     out_bias ? out_bias + t.first : nullptr,
                     static_cast<char*>(scratch) + t.scratch_offset);
        } catch (...) {  // an exception may not leave an OpenMP region
#pragma omp critical(pfce_filter_tiles)
            if (!failed) failed = std::current_exception();
        }
    }
    if (failed) std::rethrow_exception(failed);
    if (ft.chunks == 1) return;
    // The chunks' partial sums added to the first's in chunk order: one order for every weight.
    auto add_partials = [&](float* total, const float* parts, std::int64_t size) {
#pragma omp parallel for schedule(static)
        for (std::int64_t e = 0; e < size; ++e) {
            float v = total[e];
            for (int c = 1; c < ft.chunks; ++c) v += parts[(c - 1) * size + e];
            total[e] = v;
        }
    };
    add_partials(static_cast<float*>(dw), partials, ft.dw_size);
    if (bias) add_partials(static_cast<float*>(bias), partial_biases, ft.bias_size);
}

}  // namespace pfce::cpu
