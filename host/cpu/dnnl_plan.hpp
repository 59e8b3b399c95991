// oneDNN plumbing of the CPU backend: the engine and stream, the Operand that moves one tensor
// between its own layout and the one a primitive was built for (a cached reorder through scratch,
// or nothing when they agree), and the Plan: one primitive of one shape with its operands, built
// once and cached by key like the cuDNN plans of cuda/; and the (de)convolution plans that conv.cpp
// and upconv.cpp build from it.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "core/tensor.hpp"

namespace pfce::cpu {

using dnnl::memory;
using Tag = memory::format_tag;

// One engine and one in-order stream for every primitive of a CpuBackend.
struct DnnlContext {
    dnnl::engine engine{dnnl::engine::kind::cpu, 0};
    dnnl::stream stream{engine};
};

// An f32 memory descriptor of these dims and layout.
memory::desc f32_desc(const memory::dims& dims, Tag tag);
// The oneDNN tag of a 4-D activation tensor's layout.
inline Tag tag_of(Layout l) {
    return l == Layout::nhwc ? Tag::nhwc : Tag::nchw;
}

// Hands out 64-byte aligned pieces of one scratch buffer; the buffer must hold the sum of the
// rounded() sizes of the pieces taken.
class Arena {
  public:
    explicit Arena(void* base) : base_(static_cast<char*>(base)) {}
    static std::size_t rounded(std::size_t bytes) { return (bytes + 63) / 64 * 64; }
    void* take(std::size_t bytes) {
        if (bytes == 0) return nullptr;
        void* p = base_ + used_;
        used_ += rounded(bytes);
        return p;
    }

  private:
    char* base_;
    std::size_t used_ = 0;
};

// One argument of a primitive. `user` is how our tensor lays it out, `want` what the primitive
// was built for; when they differ the data goes through a scratch buffer of want's size.
class Operand {
  public:
    Operand() = default;
    Operand(DnnlContext& ctx, const memory::desc& user, const memory::desc& want);

    std::size_t scratch_bytes() const { return to_want_ ? want_.get_size() : 0; }

    // An input: the primitive's memory holding `data` (reordered into `scratch` when needed).
    const memory& in(const void* data, void* scratch, dnnl::stream& s);
    // An output: where the primitive writes (the tensor itself or `scratch`); after the primitive
    // ran, finish() moves a scratch result into `data`.
    const memory& out(void* data, void* scratch);
    void finish(void* data, dnnl::stream& s);

  private:
    memory::desc want_;
    memory user_mem_, want_mem_;
    std::optional<dnnl::reorder> to_want_, to_user_;
};

// One operand role of a primitive: the DNNL_ARG_* it is passed as, how our tensor lays it out and
// what the primitive was built for.
struct Role {
    int arg;
    memory::desc user, want;
};

// One primitive of one shape with its three operands in the roles (in_a, in_b -> out), e.g.
// convolution forward (x, w -> y), backward-data (dy, w -> dx), backward-filter (x, dy -> dw),
// and an optional bias (C) in our own layout, read (forward) or written (backward-filter).
struct Plan {
    dnnl::primitive prim;
    int arg_a = 0, arg_b = 0, arg_out = 0, arg_bias = 0;  // DNNL_ARG_* of each role
    Operand a, b, out;
    memory bias;
    memory::desc scratchpad;
    std::size_t scratch_bytes = 0;  // reorder buffers + the primitive's scratchpad

    // The primitive made from pd with its three roles, and the scratch a run needs.
    template <typename Prim, typename Pd>
    void make(DnnlContext& ctx, const Pd& pd, const Role& ra, const Role& rb, const Role& rout) {
        arg_a = ra.arg;
        arg_b = rb.arg;
        arg_out = rout.arg;
        a = Operand(ctx, ra.user, ra.want);
        b = Operand(ctx, rb.user, rb.want);
        out = Operand(ctx, rout.user, rout.want);
        prim = Prim(pd);
        scratchpad = pd.scratchpad_desc();
        scratch_bytes = Arena::rounded(a.scratch_bytes()) + Arena::rounded(b.scratch_bytes()) +
                        Arena::rounded(out.scratch_bytes()) + Arena::rounded(scratchpad.get_size());
    }
};

// Runs a plan on the stream and waits: out <- op(a, b), with the bias read or written when
// non-null. `scratch` holds plan.scratch_bytes.
void run_plan(const dnnl::engine& engine, dnnl::stream& stream, Plan& plan, const void* a,
              const void* b, void* out, void* bias, void* scratch);
inline void run_plan(DnnlContext& ctx, Plan& plan, const void* a, const void* b, void* out,
                     void* bias, void* scratch) {
    run_plan(ctx.engine, ctx.stream, plan, a, b, out, bias, scratch);
}

// Plans keyed by up to 16 integers: the op family and direction first, then shape and layouts.
using PlanKey = std::array<std::int64_t, 16>;

struct FilterTiles;

// Everything oneDNN a CpuBackend keeps.
struct DnnlState {
    DnnlContext ctx;
    std::map<PlanKey, std::unique_ptr<Plan>> plans;
    std::map<PlanKey, std::unique_ptr<FilterTiles>> filter_plans;
    DnnlState();
    ~DnnlState();
};

// primitive_attr for plans whose scratchpad we pass in (so a warm step allocates nothing).
dnnl::primitive_attr user_scratchpad_attr();

// ---- (de)convolution plans: conv.cpp and upconv.cpp ----

// The three directions of a (de)convolution: forward (x, w -> y), backward-data (dy, w -> dx) and
// backward-filter (x, dy -> dw, with the bias gradient when the spec has a bias).
enum class ConvDir : std::int64_t { forward, backward_data, backward_filter };

// One (de)convolution of one shape, with dims in oneDNN's order: plain arrays, so that looking up
// a built plan allocates nothing.
struct ConvSpec {
    dnnl::algorithm alg;                  // convolution_direct or deconvolution_direct
    std::array<std::int64_t, 4> x, w, y;  // x and y (N,C,H,W), w (O,I,k,k)
    std::int64_t stride, pad;             // the same on both axes and both sides
    Layout x_layout, y_layout;
    Tag w_tag;  // our weight layout: oihw for (Co,Ci,k,k), iohw for the deconvolution's (Ci,Co,k,k)
    bool bias;
};

// The plan of one direction of spec, built on first use and cached in st. Activations run in nhwc
// when either side is (mixed layouts get slow reference kernels), else in the layout oneDNN picks;
// weights always as it picks. The backward-filter direction goes through filter_tiles instead.
Plan& conv_plan(DnnlState& st, ConvDir dir, const ConvSpec& spec);

// ---- the backward-filter in fixed tiles: the same bits on any thread count ----
//
// oneDNN's parallel backward-filter splits each weight's sum over the batch and the pixels between
// the threads, so its last bits change with the thread count, and a training run drifts with them
// (by several mIoU points after a few epochs of the synthetic suite). Here the work is cut into
// fixed tiles, a function of the shape alone: blocks of kFilterTileChannels output channels, and
// where those are fewer than kFilterTargetTiles, chunks of the batch too. Each tile is a primitive
// built for one thread; the tiles run in parallel; a chunk after the first writes its partial
// gradient aside, and the partials are added to the first chunk's in chunk order. Every weight's
// (and bias's) sum is then made in one order whatever the thread count, and a U-Net's first
// levels, with few output channels, still have enough tiles for the cores.
inline constexpr std::int64_t kFilterTileChannels = 16;
inline constexpr std::int64_t kFilterTargetTiles = 16;

// One tile: output channels [first, first + the plan's count) of the images [image, image + the
// plan's batch) of the filter gradient, into dw itself (chunk 0) or partial chunk - 1.
struct FilterTile {
    std::int64_t first = 0, image = 0;
    int chunk = 0;
    std::unique_ptr<Plan> plan;  // the chunk's x, the tile's channels of its dy -> rows of dw
    dnnl::stream stream;         // its own, since tiles run concurrently
    std::size_t scratch_offset = 0;
};

struct FilterTiles {
    std::vector<FilterTile> tiles;
    int chunks = 1;                           // of the batch
    std::int64_t x_image = 0, dy_image = 0;   // floats of one image of x and of dy
    std::int64_t dw_size = 0, bias_size = 0;  // floats of dw and of the bias gradient (0: none)
    std::size_t partials_offset = 0;  // in scratch: chunks - 1 partial dw, then partial biases
    std::size_t scratch_bytes = 0;    // every tile's scratch side by side, then the partials
};

// The backward-filter tiles of spec (a backward_filter spec, as conv_plan takes), built on first
// use and cached in st.
FilterTiles& filter_tiles(DnnlState& st, const ConvSpec& spec);

// dw (and the bias gradient when non-null) <- the filter gradient of x and dy, tile by tile on the
// OpenMP threads. `scratch` holds tiles.scratch_bytes.
void run_filter_tiles(DnnlContext& ctx, FilterTiles& tiles, const void* x, const void* dy, void* dw,
                      void* bias, void* scratch);

}  // namespace pfce::cpu
