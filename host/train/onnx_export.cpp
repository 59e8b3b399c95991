// The U-Net of models/unet.cpp written as ONNX nodes, layer for layer in the order forward runs
// them. Field numbers are those of onnx/onnx.proto (ModelProto, GraphProto, NodeProto, ...).
#include "host/train/onnx_export.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/protobuf_wire.hpp"
#include "core/source_version.hpp"
#include "core/text.hpp"
#include "data/ground_pixel_size.hpp"
#include "host/train/evaluate.hpp"

namespace pfce {

namespace {

static_assert(std::endian::native == std::endian::little,
              "TensorProto.raw_data is little-endian: these bytes are copied as they lie");

using proto::Message;

constexpr int kFloat = 1, kInt64 = 7;  // TensorProto.DataType
// AttributeProto.AttributeType
constexpr int kAttrFloat = 1, kAttrInt = 2, kAttrString = 3, kAttrInts = 7;
// protobuf refuses to parse a message of 2 GiB or more; the weights take nearly all of it.
constexpr std::uint64_t kMaxModelBytes = (std::uint64_t{1} << 31) - (std::uint64_t{1} << 20);

Message attr_ints(const std::string& name, std::initializer_list<std::int64_t> values) {
    Message a;
    a.bytes(1, name);
    for (const std::int64_t v : values) a.varint(8, v);
    a.varint(20, kAttrInts);
    return a;
}
Message attr_int(const std::string& name, std::int64_t value) {
    Message a;
    a.bytes(1, name).varint(3, value).varint(20, kAttrInt);
    return a;
}
Message attr_float(const std::string& name, float value) {
    Message a;
    a.bytes(1, name).float32(2, value).varint(20, kAttrFloat);
    return a;
}
Message attr_string(const std::string& name, const std::string& value) {
    Message a;
    a.bytes(1, name).bytes(4, value).varint(20, kAttrString);
    return a;
}

// A dimension of a graph input or output: its size, or where that is 0, the name of a size the
// runtime takes from what it is given ("batch", "height").
struct Dim {
    std::int64_t value;
    const char* name;
};

// A float32 tensor's ValueInfoProto.
Message tensor_value_info(const std::string& name, std::initializer_list<Dim> dims) {
    Message shape;
    for (const Dim& d : dims) {
        Message dim;
        if (d.value > 0)
            dim.varint(1, d.value);
        else
            dim.bytes(2, d.name);
        shape.message(1, dim);
    }
    Message tensor, type, info;
    tensor.varint(1, kFloat).message(2, shape);
    type.message(1, tensor);
    info.bytes(1, name).message(2, type);
    return info;
}

// The graph as it is built: nodes in order, named outputs, initializers.
class GraphWriter {
  public:
    GraphWriter(const Checkpoint& ck, const std::string& source) : ck_(ck), source_(source) {}

    // Appends a node; returns the name of its (single) output: `output`, or one made up.
    std::string node(const std::string& op, std::initializer_list<std::string> inputs,
                     std::initializer_list<Message> attributes = {}, std::string output = {}) {
        const std::string out =
            output.empty() ? op + "_" + std::to_string(nodes_.size()) : std::move(output);
        Message n;
        for (const std::string& in : inputs) n.bytes(1, in);
        n.bytes(2, out).bytes(3, out).bytes(4, op);
        for (const Message& a : attributes) n.message(5, a);
        nodes_.push_back(std::move(n));
        return out;
    }

    void floats(const std::string& name, std::initializer_list<std::int64_t> dims,
                const std::vector<float>& values) {
        add_owned(name, dims, kFloat, values.data(), values.size() * sizeof(float));
    }
    void int64s(const std::string& name, const std::vector<std::int64_t>& values) {
        add_owned(name, {static_cast<std::int64_t>(values.size())}, kInt64, values.data(),
                  values.size() * sizeof(std::int64_t));
    }
    // The checkpoint's "param.<name>" or "buffer.<name>", under <name>, its shape as stored.
    std::string weight(const std::string& kind, const std::string& name) {
        const Tensor* t = ck_.find(kind + "." + name);
        if (!t || t->dtype() != DType::f32)
            PFCE_THROW(InputError, "checkpoint ", source_, ": no f32 tensor \"", kind, ".", name,
                       "\" (the U-Net its metadata describes needs it)");
        Initializer& i = initializers_.emplace_back();
        for (int d = 0; d < t->shape().rank; ++d) i.head.varint(1, t->dim(d));
        i.head.varint(2, kFloat).bytes(8, name);
        i.data = std::string_view(static_cast<const char*>(t->raw()), t->bytes());
        return name;
    }

    // [3x3 conv -> batch norm -> ReLU] x 2 of DoubleConv `name` (models/layers.cpp).
    std::string double_conv(const std::string& name, std::string x) {
        for (const char* i : {"1", "2"}) {
            const std::string conv = name + ".conv" + i, bn = name + ".bn" + i;
            x = node("Conv", {x, weight("param", conv + ".weight")},
                     {attr_ints("kernel_shape", {3, 3}), attr_ints("pads", {1, 1, 1, 1})});
            x = node(
                "BatchNormalization",
                {x, weight("param", bn + ".weight"), weight("param", bn + ".bias"),
                 weight("buffer", bn + ".running_mean"), weight("buffer", bn + ".running_var")},
                {attr_float("epsilon", BatchNormParams{}.eps)});
            x = node("Relu", {x});
        }
        return x;
    }

    // The GraphProto as field `field` of `out`, written in place: the weights are copied once,
    // from the checkpoint into the model's bytes.
    void write_graph(Message& out, int field, const std::string& name, const Message& input,
                     const Message& output) const {
        std::uint64_t size = Message::field_size(2, name.size()) +
                             Message::field_size(11, input.size()) +
                             Message::field_size(12, output.size());
        for (const Message& n : nodes_) size += Message::field_size(1, n.size());
        for (const Initializer& i : initializers_) size += Message::field_size(5, i.size());
        out.reserve(out.size() + static_cast<std::size_t>(size) + 16);
        out.begin_bytes(field, size);
        for (const Message& n : nodes_) out.message(1, n);
        out.bytes(2, name);
        for (const Initializer& i : initializers_) {
            out.begin_bytes(5, i.size()).append(i.head.data());
            out.begin_bytes(9, i.data.size()).append(i.data);
        }
        out.message(11, input).message(12, output);
    }

  private:
    // A TensorProto: its dims, type and name, then raw_data, which is the checkpoint's tensor (or
    // a small array of the graph's own).
    struct Initializer {
        Message head;
        std::string_view data;
        std::uint64_t size() const { return head.size() + Message::field_size(9, data.size()); }
    };
    void add_owned(const std::string& name, std::initializer_list<std::int64_t> dims, int type,
                   const void* data, std::size_t bytes) {
        Initializer& i = initializers_.emplace_back();
        for (const std::int64_t d : dims) i.head.varint(1, d);
        i.head.varint(2, type).bytes(8, name);
        i.data = owned_.emplace_back(static_cast<const char*>(data), bytes);
    }

    const Checkpoint& ck_;
    std::string source_;
    std::vector<Message> nodes_;
    std::deque<Initializer> initializers_;
    std::deque<std::string> owned_;  // a deque: the views into its strings stay valid
};

Message metadata(const std::string& key, const std::string& value) {
    Message m;
    m.bytes(1, key).bytes(2, value);
    return m;
}

// Text for a field protobuf declares a string (UTF-8): a file name of other bytes would make the
// model unreadable to a strict parser, so each byte that is not UTF-8 becomes '?'.
std::string as_utf8(const std::string& s) {
    if (is_valid_utf8(s)) return s;
    std::string out;
    for (std::size_t i = 0; i < s.size();) {
        std::size_t n = 1;
        while (n <= 4 && i + n <= s.size() && !is_valid_utf8(std::string_view(s).substr(i, n))) ++n;
        if (n <= 4 && i + n <= s.size()) {
            out.append(s, i, n);
            i += n;
        } else {
            out += '?';
            ++i;
        }
    }
    return out;
}

// The keys QGIS's Deepness plugin reads (its values JSON) where the model is one it can run as
// is (pixel values / 255 in, probabilities out), then pfce's own.
std::vector<Message> model_metadata(const TrainedModel& m, const OnnxExportOptions& opt,
                                    const UNetConfig& uc) {
    std::vector<Message> out;
    const bool unit = opt.input_scale == OnnxInputScale::unit;
    if (deepness_reads(m, opt)) {
        nlohmann::json names = nlohmann::json::object();
        for (std::size_t c = 0; c < m.class_names.size(); ++c)
            names[std::to_string(c)] = as_utf8(m.class_names[c]);
        out.push_back(metadata("model_type", nlohmann::json("Segmentor").dump()));
        out.push_back(metadata("class_names", names.dump()));
        // Deepness's documentation says tiles_size, its code reads tile_size: both.
        out.push_back(metadata("tiles_size", std::to_string(opt.tile)));
        out.push_back(metadata("tile_size", std::to_string(opt.tile)));
        out.push_back(metadata("tiles_overlap", std::to_string(static_cast<int>(
                                                    std::lround(100.0 * opt.overlap / opt.tile)))));
        // Deepness by default gives class 0 to a pixel whose top probability is below 0.5 and
        // median-filters the map: pfce's class is the argmax, unfiltered.
        out.push_back(metadata("seg_thresh", "0"));
        out.push_back(metadata("seg_small_segment", "0"));
        if (const std::optional<double> cm = training_pixel_cm(m))
            out.push_back(metadata("resolution", format_shortest(*cm)));
    }
    out.push_back(metadata(
        "pfce_input",
        std::string("float32 (N, ") + std::to_string(uc.in_channels) +
            ", H, W): the image's pixel values" + (unit ? " divided by 255 (0..1)" : " (0..255)") +
            (opt.tile == 0 ? ", H and W multiples of " + std::to_string(1 << uc.depth)
                           : std::string()) +
            (m.config.data.value_range.empty()
                 ? std::string()
                 : ", sample values (16-bit, signed or floating-point) first mapped to 0..255 by "
                   "pfce's data.value_range")));
    out.push_back(metadata("pfce_output", opt.logits
                                              ? "logits (N, K, H, W)"
                                              : "class probabilities (N, K, H, W), softmax"));
    out.push_back(metadata("pfce_version", pfce_version_text()));
    if (!opt.checkpoint.empty())
        out.push_back(metadata("pfce_checkpoint",
                               as_utf8(std::filesystem::path(opt.checkpoint).filename().string())));
    if (const TrainingProgress p = training_progress(m.meta); p.known) {
        nlohmann::json training = {{"epoch", p.epoch}, {"step", p.global_step}};
        if (p.batch > 0) training["batch"] = p.batch;  // saved within epoch `epoch` + 1
        out.push_back(metadata("pfce_training", training.dump()));
    }
    out.push_back(metadata("pfce_class_colours", nlohmann::json(m.class_colours).dump()));
    if (!m.mask_values.empty())
        out.push_back(metadata("pfce_mask_values", nlohmann::json(m.mask_values).dump()));
    if (!m.config.data.bands.empty())
        out.push_back(metadata("pfce_bands", nlohmann::json(m.config.data.bands).dump()));
    if (!m.config.data.value_range.empty())
        out.push_back(
            metadata("pfce_value_range", nlohmann::json(m.config.data.value_range).dump()));
    out.push_back(metadata("pfce_unet", nlohmann::json{{"depth", uc.depth},
                                                       {"base_width", uc.base_width},
                                                       {"in_channels", uc.in_channels},
                                                       {"num_classes", uc.num_classes}}
                                            .dump()));
    out.push_back(metadata("pfce_precision", m.config.run.precision));
    return out;
}

}  // namespace

std::optional<double> training_pixel_cm(const TrainedModel& m) {
    const nlohmann::json data =
        m.meta.is_object() ? m.meta.value("data", nlohmann::json()) : nullptr;
    if (!data.is_object()) return std::nullopt;
    const nlohmann::json px = data.value("ground_pixel_size", nlohmann::json());
    // load_trained_model checked its fields' types (check_data_description).
    if (!px.is_object() || !epsg_in_metres(px.at("epsg").get<int>())) return std::nullopt;
    return 50.0 * (px.at("x").get<double>() + px.at("y").get<double>());
}

std::string unet_onnx_model(const TrainedModel& m, const UNetConfig& uc, const Checkpoint& ck,
                            const OnnxExportOptions& opt) {
    const std::string& source = opt.checkpoint;
    const bool any_size = opt.tile == 0;
    if (!any_size && (opt.tile < 1 || opt.tile > 65536 || !unet_side_fits(opt.tile, uc.depth)))
        PFCE_THROW(InputError, "tile ", opt.tile, ": a depth-", uc.depth,
                   " U-Net needs a side of at least ", smallest_unet_side(uc.depth),
                   " pixels (and at most 65536), or 0 for any multiple of ", 1 << uc.depth);
    if (opt.batch < 0)
        PFCE_THROW(InputError, "batch ", opt.batch, ": expected 0 (dynamic) or more");
    // The weights' size is known before anything is built (a model past the limit was refused
    // only after a minute and 9 GB of copies).
    std::uint64_t weights = 0;
    for (const NamedTensor& t : ck.tensors)
        if (t.name.rfind("param.", 0) == 0 || t.name.rfind("buffer.", 0) == 0)
            weights += t.value.bytes();
    if (weights > kMaxModelBytes)
        PFCE_THROW(InputError, "checkpoint ", source, ": its weights take ",
                   format_bytes(static_cast<double>(weights)),
                   ", more than an ONNX model in one file holds (2 GiB)");
    if (!any_size && (opt.overlap < 0 || opt.overlap >= opt.tile))
        PFCE_THROW(InputError, "overlap ", opt.overlap, ": expected 0..", opt.tile - 1,
                   " pixels (below the tile's side)");

    GraphWriter g(ck, source);
    const std::int64_t C = uc.in_channels, K = uc.num_classes, S = opt.tile;
    // The channel statistics, (v - mean) / std as normalize_image applies them (pixel values / 255
    // on a unit input: mean / 255 and 255 / std), as a batch norm of variance 1: runtimes fuse it
    // or run it per channel, where a Sub and a Mul by (1, C, 1, 1) constants broadcast over the
    // batch (OpenCV 4.6 computed a batch of 3 wrong, its first image right).
    const bool unit_input = opt.input_scale == OnnxInputScale::unit;
    std::vector<float> mean(static_cast<std::size_t>(C)), scale(static_cast<std::size_t>(C)),
        shift(static_cast<std::size_t>(C), 0.0f);
    for (std::int64_t c = 0; c < C; ++c) {
        const auto i = static_cast<std::size_t>(c);
        mean[i] = unit_input ? m.stats.mean[c] / 255.0f : m.stats.mean[c];
        scale[i] = (unit_input ? 255.0f : 1.0f) / m.stats.std[c];
    }
    constexpr float kEps = 1e-5f;  // cuDNN's smallest: ONNX Runtime on CUDA passes it on
    g.floats("input_mean", {C}, mean);
    g.floats("input_scale", {C}, scale);
    g.floats("input_shift", {C}, shift);
    g.floats("input_variance", {C}, std::vector<float>(static_cast<std::size_t>(C), 1.0f - kEps));
    std::string x = g.node("BatchNormalization",
                           {"image", "input_scale", "input_shift", "input_mean", "input_variance"},
                           {attr_float("epsilon", kEps)});

    // Reflect padding to a multiple of 2^depth, centred (none for a model of any size, whose
    // sides must be multiples: the pads would depend on them) (the odd row or column at the bottom
    // or right), and the crop back, as UNet::forward does.
    const std::int64_t unit = std::int64_t{1} << uc.depth;
    const std::int64_t padded = any_size ? 0 : (S + unit - 1) / unit * unit;
    const std::int64_t before = (padded - S) / 2, after = padded - S - before;
    if (padded != S) {
        g.int64s("pads", {0, 0, before, before, 0, 0, after, after});
        x = g.node("Pad", {x, "pads"}, {attr_string("mode", "reflect")});
    }
    std::vector<std::string> skips;
    for (int l = 0; l < uc.depth; ++l) {
        skips.push_back(g.double_conv("down" + std::to_string(l), x));
        x = g.node("MaxPool", {skips.back()},
                   {attr_ints("kernel_shape", {2, 2}), attr_ints("strides", {2, 2})});
    }
    x = g.double_conv("bottom", x);
    for (int l = uc.depth - 1; l >= 0; --l) {
        const std::string up = "up" + std::to_string(l);
        x = g.node(
            "ConvTranspose",
            {x, g.weight("param", up + ".upconv.weight"), g.weight("param", up + ".upconv.bias")},
            {attr_ints("kernel_shape", {2, 2}), attr_ints("strides", {2, 2})});
        x = g.node("Concat", {skips[static_cast<std::size_t>(l)], x}, {attr_int("axis", 1)});
        x = g.double_conv(up, x);
    }
    // The head's logits (cropped back), or their softmax over the classes, as the graph's output.
    const std::string out = opt.logits ? "logits" : "probabilities";
    const bool cropped = padded != S;
    x = g.node("Conv", {x, g.weight("param", "head.weight"), g.weight("param", "head.bias")},
               {attr_ints("kernel_shape", {1, 1})}, opt.logits && !cropped ? out : "");
    if (cropped) {
        g.int64s("crop_starts", {before, before});
        g.int64s("crop_ends", {before + S, before + S});
        g.int64s("crop_axes", {2, 3});
        x = g.node("Slice", {x, "crop_starts", "crop_ends", "crop_axes"}, {},
                   opt.logits ? out : "");
    }
    if (!opt.logits) x = g.node("Softmax", {x}, {attr_int("axis", 1)}, out);

    const std::int64_t N = opt.batch;
    Message model;
    model.varint(1, kOnnxIrVersion);
    model.bytes(2, "pfce").bytes(3, pfce_version_text());
    // The checkpoint by its file name, as pfce_checkpoint (not the directories it lay in).
    const std::string file = source.empty()
                                 ? std::string("a checkpoint")
                                 : as_utf8(std::filesystem::path(source).filename().string());
    const std::string tiles = any_size
                                  ? "images whose sides are multiples of " + std::to_string(unit)
                                  : "tiles of " + std::to_string(S) + "x" + std::to_string(S);
    model.bytes(6, "pfce U-Net (depth " + std::to_string(uc.depth) + ", base width " +
                       std::to_string(uc.base_width) + ") of " + file + ", " + std::to_string(K) +
                       " classes, " + tiles);
    Message opset;
    opset.bytes(1, "").varint(2, kOnnxOpset);
    model.message(8, opset);
    for (const Message& kv : model_metadata(m, opt, uc)) model.message(14, kv);
    // The graph last (protobuf's fields may come in any order): the buffer it reserves is the
    // model's whole, so the weights are copied into it once and never moved again.
    g.write_graph(model, 7, "pfce_unet",
                  tensor_value_info("image", {{N, "batch"}, {C, ""}, {S, "height"}, {S, "width"}}),
                  tensor_value_info(out, {{N, "batch"}, {K, ""}, {S, "height"}, {S, "width"}}));
    return std::move(model).release();
}

}  // namespace pfce
