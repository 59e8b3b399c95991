// pfce export: the ONNX model of a checkpoint. Read back field by field here (a protobuf decoder of
// the test's own: the weights are the checkpoint's, bit for bit; the graph is the U-Net's), and run
// by OpenCV's ONNX importer through tests/onnx_runtime_check.py, which must compute the
// probabilities and logits pfce computes for the same images, padded tiles and batches included.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/file_io.hpp"
#include "core/text.hpp"
#include "host/train/checkpoint.hpp"
#include "host/train/onnx_export.hpp"
#include "host/train/trained_model.hpp"
#include "tests/foreign_dataset.hpp"
#include "tests/test_util.hpp"

namespace pfce {
namespace {

namespace fs = std::filesystem;

// One protobuf message's fields by number, in the order met: varints (and fixed32 bits) and
// length-delimited payloads (strings, bytes, nested messages).
struct Fields {
    std::multimap<int, std::uint64_t> num;
    std::multimap<int, std::string> text;

    std::uint64_t one_num(int f) const {
        EXPECT_EQ(num.count(f), 1u) << "field " << f;
        const auto it = num.find(f);
        return it == num.end() ? 0 : it->second;
    }
    std::string one_text(int f) const {
        EXPECT_EQ(text.count(f), 1u) << "field " << f;
        const auto it = text.find(f);
        return it == text.end() ? std::string() : it->second;
    }
    std::vector<std::string> all_text(int f) const {
        std::vector<std::string> v;
        for (auto [a, b] = text.equal_range(f); a != b; ++a) v.push_back(a->second);
        return v;
    }
    std::vector<std::uint64_t> all_num(int f) const {
        std::vector<std::uint64_t> v;
        for (auto [a, b] = num.equal_range(f); a != b; ++a) v.push_back(a->second);
        return v;
    }
};

Fields decode(std::string_view s) {
    Fields out;
    std::size_t i = 0;
    auto varint = [&] {
        std::uint64_t v = 0;
        for (int shift = 0;; shift += 7) {
            if (i >= s.size() || shift > 63) throw std::runtime_error("bad varint");
            const auto b = static_cast<std::uint8_t>(s[i++]);
            v |= std::uint64_t{b & 0x7fu} << shift;
            if (!(b & 0x80)) return v;
        }
    };
    while (i < s.size()) {
        const std::uint64_t tag = varint();
        const int field = static_cast<int>(tag >> 3);
        switch (tag & 7) {
            case 0:
                out.num.emplace(field, varint());
                break;
            case 5: {
                if (i + 4 > s.size()) throw std::runtime_error("truncated fixed32");
                std::uint32_t bits;
                std::memcpy(&bits, s.data() + i, 4);
                i += 4;
                out.num.emplace(field, bits);
                break;
            }
            case 2: {
                const std::uint64_t n = varint();
                if (n > s.size() - i) throw std::runtime_error("truncated field");
                out.text.emplace(field, std::string(s.substr(i, n)));
                i += n;
                break;
            }
            default:
                throw std::runtime_error("unexpected wire type");
        }
    }
    return out;
}

// A checkpoint of a small U-Net (depth 2, width 4) trained one epoch on a foreign dataset of four
// classes, made once for the tests here.
const std::string& trained_checkpoint() {
    static const std::string path = [] {
        const std::string root = test::temp_dir("onnx_export_run");
        const auto fd = test::write_foreign_dataset(root + "/data", test::ForeignSpec{});
        const test::CommandResult r =
            test::run_pfce("train --data " + fd.root + " --out " + root +
                           "/run --epochs 1 --batch-size 4 --width 4 --depth 2 --device cpu");
        EXPECT_EQ(r.status, 0) << r.output;
        return root + "/run/last.ckpt";
    }();
    return path;
}

std::string read_all(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

// A serialized model's metadata_props (ModelProto field 14), key -> value.
std::map<std::string, std::string> metadata_of(const std::string& model) {
    std::map<std::string, std::string> meta;
    for (const std::string& kv : decode(model).all_text(14)) {
        const Fields f = decode(kv);
        meta[f.one_text(1)] = f.one_text(2);
    }
    return meta;
}

void write_floats(const std::string& path, const std::vector<float>& v) {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(v.data()),
            static_cast<std::streamsize>(v.size() * sizeof(float)));
}

// $PFCE_PYTHON, else the system's Python (where Debian's python3-onnx and python3-opencv go),
// else whichever python3 is first on the PATH.
std::string python() {
    if (const char* p = std::getenv("PFCE_PYTHON"); p && *p) return p;
    return fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

struct RuntimeCase {
    int tile, batch_flag, images;
    bool logits, raw;
    int height = 0, width = 0;  // of the images run; 0: the tile's side
};

// The model of `c` exported, run by OpenCV on `images` random tiles, against what pfce computes
// for them (the logits of forward, their softmax in double).
void expect_runtime_matches(const RuntimeCase& c, const std::string& dir) {
    const std::string model = dir + "/model.onnx";
    std::string flags = " --tile " + std::to_string(c.tile);
    if (c.batch_flag) flags += " --batch " + std::to_string(c.batch_flag);
    if (c.logits) flags += " --logits";
    if (c.raw) flags += " --input-scale raw";
    const test::CommandResult r =
        test::run_pfce("export --checkpoint " + trained_checkpoint() + " --out " + model + flags);
    ASSERT_EQ(r.status, 0) << r.output;

    std::unique_ptr<Backend> b = test::cpu_backend();
    TrainedModel m = load_trained_model(*b, trained_checkpoint());
    const int C = m.net->config().in_channels, K = m.net->config().num_classes;
    const int H = c.height ? c.height : c.tile, W = c.width ? c.width : c.tile;
    const std::size_t plane = static_cast<std::size_t>(H) * W;
    Tensor host = Tensor::host({c.images, C, H, W}, DType::f32);
    std::vector<float> input(static_cast<std::size_t>(c.images) * C * plane);
    for (int i = 0; i < c.images; ++i) {
        const RgbImage img = test::random_rgb(W, H, 7 + static_cast<std::uint64_t>(i));
        const Tensor t = normalize_image(img, m.stats);
        std::memcpy(host.data<float>() + static_cast<std::size_t>(i) * C * plane, t.raw(),
                    t.bytes());
        for (int ch = 0; ch < C; ++ch)
            for (std::size_t p = 0; p < plane; ++p) {
                const float v = img.pixels[p * static_cast<std::size_t>(C) + ch];
                input[(static_cast<std::size_t>(i) * C + ch) * plane + p] = c.raw ? v : v / 255.0f;
            }
    }
    const Tensor logits = test::to_host_nchw(*b, m.net->forward(test::to_backend(*b, host), false));
    std::vector<float> expected(logits.data<float>(), logits.data<float>() + logits.numel());
    if (!c.logits)
        for (int i = 0; i < c.images; ++i)
            for (std::size_t p = 0; p < plane; ++p) {
                float* at = expected.data() + static_cast<std::size_t>(i) * K * plane + p;
                double top = at[0], sum = 0;
                for (int k = 1; k < K; ++k) top = std::max(top, double(at[k * plane]));
                std::vector<double> e(static_cast<std::size_t>(K));
                for (int k = 0; k < K; ++k) sum += e[k] = std::exp(double(at[k * plane]) - top);
                for (int k = 0; k < K; ++k) at[k * plane] = static_cast<float>(e[k] / sum);
            }
    write_floats(dir + "/input.bin", input);
    write_floats(dir + "/expected.bin", expected);
    // OpenCV's convolutions sum in another order (and 3x3 ones by Winograd's transform): logits
    // agree to about 1e-5 of their size, probabilities to about 1e-6.
    const std::string tolerance = c.logits ? "2e-4" : "2e-5";
    const test::CommandResult check = test::run_command(
        python() + " " + test::source_dir() + "/tests/onnx_runtime_check.py " + model + " " + dir +
        "/input.bin " + dir + "/expected.bin " + std::to_string(c.images) + " " +
        std::to_string(C) + " " + std::to_string(H) + " " + std::to_string(W) + " " +
        std::to_string(K) + " " + tolerance + " 2>&1");
    if (check.status == 77) GTEST_SKIP() << check.output;
    EXPECT_EQ(check.status, 0) << check.output;
    std::printf("tile %d, %d image(s) of %dx%d: %s", c.tile, c.images, W, H, check.output.c_str());
}

TEST(OnnxExport, OpenCvComputesPfcesProbabilitiesOnTilesOfAnySide) {
    // 40: a multiple of 2^depth, no padding; 30 and 29 are padded inside the model (29: the odd
    // row and column at the bottom and right), as pfce pads them.
    for (const int tile : {40, 30, 29}) {
        SCOPED_TRACE("tile " + std::to_string(tile));
        expect_runtime_matches({tile, 0, 2, false, false},
                               test::temp_dir("onnx_prob_" + std::to_string(tile)));
        if (HasFatalFailure() || IsSkipped()) return;
    }
}

TEST(OnnxExport, LogitsOfRawPixelsInAFixedBatch) {
    expect_runtime_matches({29, 3, 3, true, true}, test::temp_dir("onnx_logits"));
}

// --tile 0: one model for any height and width that are multiples of 2^depth (4 here), square or
// not, with no padding inside it.
TEST(OnnxExport, AModelOfAnySizeRunsImagesOfSeveralSizes) {
    expect_runtime_matches({0, 0, 2, false, false, 32, 48}, test::temp_dir("onnx_any_32x48"));
    expect_runtime_matches({0, 0, 1, false, false, 20, 20}, test::temp_dir("onnx_any_20"));
    const test::CommandResult r =
        test::run_pfce("export --checkpoint " + trained_checkpoint() + " --out " +
                       test::temp_dir("onnx_any") + "/m.onnx --tile 0");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_MESSAGE_HAS(r.output, "input  image: float32 (batch, 3, height, width)");
    EXPECT_MESSAGE_HAS(r.output, "multiples of 4 (the model pads nothing)");
    EXPECT_MESSAGE_HAS(r.output, "Deepness runs square tiles of one size");
}

TEST(OnnxExport, WeightsAreTheCheckpointsBitForBitInAUNetGraph) {
    const std::string dir = test::temp_dir("onnx_fields");
    const test::CommandResult r = test::run_pfce("export --checkpoint " + trained_checkpoint() +
                                                 " --out " + dir + "/m.onnx --tile 30");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_MESSAGE_HAS(r.output, "input  image: float32 (batch, 3, 30, 30)");
    EXPECT_MESSAGE_HAS(r.output, "0 background, 1 road, 2 building, 3 tree");
    const std::string bytes = read_all(dir + "/m.onnx");
    const Fields model = decode(bytes);
    EXPECT_EQ(model.one_num(1), std::uint64_t(kOnnxIrVersion));
    EXPECT_EQ(model.one_text(2), "pfce");
    const Fields opset = decode(model.one_text(8));
    EXPECT_EQ(opset.one_text(1), "");
    EXPECT_EQ(opset.one_num(2), std::uint64_t(kOnnxOpset));

    std::map<std::string, std::string> meta = metadata_of(bytes);
    EXPECT_EQ(meta["model_type"], "\"Segmentor\"");
    EXPECT_EQ(
        nlohmann::json::parse(meta["class_names"]),
        nlohmann::json({{"0", "background"}, {"1", "road"}, {"2", "building"}, {"3", "tree"}}));
    EXPECT_EQ(meta["tiles_size"], "30");
    EXPECT_EQ(meta["tiles_overlap"], "23");  // the default overlap, 7 of 30 pixels, in percent
    EXPECT_EQ(nlohmann::json::parse(meta["pfce_class_colours"]),
              nlohmann::json({{0, 0, 0}, {128, 64, 128}, {70, 70, 70}, {107, 142, 35}}));
    EXPECT_EQ(meta.count("resolution"), 0u);  // PNG chips have no ground grid
    EXPECT_MESSAGE_HAS(r.output, "set Deepness's resolution");
    // Deepness leaves pixels unsure below 0.5 unclassified and median-filters unless told not to.
    EXPECT_EQ(meta["seg_thresh"], "0");
    EXPECT_EQ(meta["seg_small_segment"], "0");
    const nlohmann::json training = nlohmann::json::parse(meta["pfce_training"]);
    EXPECT_EQ(training.at("epoch"), 1);
    EXPECT_GT(training.at("step").get<int>(), 0);

    const Fields graph = decode(model.one_text(7));
    // Every tensor of the checkpoint is an initializer of its name, its bytes as stored.
    std::map<std::string, Fields> init;
    for (const std::string& t : graph.all_text(5)) {
        Fields f = decode(t);
        init.emplace(f.one_text(8), std::move(f));
    }
    const Checkpoint ck = read_checkpoint(trained_checkpoint());
    int weights = 0;
    for (const NamedTensor& t : ck.tensors) {
        // The model's "param." and "buffer." tensors (not the optimizer's moments).
        const std::string kind = t.name.substr(0, t.name.find('.'));
        if (kind != "param" && kind != "buffer") continue;
        const std::string name = t.name.substr(kind.size() + 1);
        const auto it = init.find(name);
        ASSERT_NE(it, init.end()) << name;
        std::vector<std::uint64_t> dims;
        for (int d = 0; d < t.value.shape().rank; ++d)
            dims.push_back(static_cast<std::uint64_t>(t.value.dim(d)));
        EXPECT_EQ(it->second.all_num(1), dims) << name;
        EXPECT_EQ(it->second.one_num(2), 1u) << name;  // FLOAT
        EXPECT_EQ(it->second.one_text(9),
                  std::string(static_cast<const char*>(t.value.raw()), t.value.bytes()))
            << name;
        ++weights;
    }
    EXPECT_GT(weights, 40);

    // The layers of a depth-2 U-Net, in order, with the reflect padding 30 -> 32 and its crop.
    std::map<std::string, int> ops;
    std::string first, last;
    for (const std::string& n : graph.all_text(1)) {
        const Fields f = decode(n);
        const std::string op = f.one_text(4);
        ++ops[op];
        if (first.empty()) first = op;
        last = op;
        if (op == "Pad") {
            const Fields mode = decode(f.one_text(5));
            EXPECT_EQ(mode.one_text(1), "mode");
            EXPECT_EQ(mode.one_text(4), "reflect");
        }
    }
    EXPECT_EQ(first, "BatchNormalization");  // the channel statistics
    EXPECT_EQ(last, "Softmax");
    EXPECT_EQ(ops["Conv"], 11);  // 2 per level down and up, 2 at the bottom, the head
    EXPECT_EQ(ops["BatchNormalization"], 11);
    EXPECT_EQ(ops["Relu"], 10);
    EXPECT_EQ(ops["MaxPool"], 2);
    EXPECT_EQ(ops["ConvTranspose"], 2);
    EXPECT_EQ(ops["Concat"], 2);
    EXPECT_EQ(ops["Pad"], 1);
    EXPECT_EQ(ops["Slice"], 1);
    std::vector<std::int64_t> pad(8);
    ASSERT_EQ(init.at("pads").one_text(9).size(), sizeof(std::int64_t) * 8);
    std::memcpy(pad.data(), init.at("pads").one_text(9).data(), sizeof(std::int64_t) * 8);
    EXPECT_EQ(pad, (std::vector<std::int64_t>{0, 0, 1, 1, 0, 0, 1, 1}));

    // Input and output: float32 of a dynamic batch.
    const Fields input = decode(graph.one_text(11));
    EXPECT_EQ(input.one_text(1), "image");
    const Fields output = decode(graph.one_text(12));
    EXPECT_EQ(output.one_text(1), "probabilities");
    const Fields shape = decode(decode(decode(output.one_text(2)).one_text(1)).one_text(2));
    const std::vector<std::string> dims = shape.all_text(1);
    ASSERT_EQ(dims.size(), 4u);
    EXPECT_EQ(decode(dims[0]).one_text(2), "batch");
    EXPECT_EQ(decode(dims[1]).one_num(1), 4u);
    EXPECT_EQ(decode(dims[3]).one_num(1), 30u);
}

// Deepness's `resolution` (centimetres a pixel) where the training images' grid was in ground
// metres, and none where it was in degrees (their size on the ground varies with latitude).
TEST(OnnxExport, ResolutionIsSaidForGridsInGroundMetresOnly) {
    std::unique_ptr<Backend> b = test::cpu_backend();
    TrainedModel m = load_trained_model(*b, trained_checkpoint());
    const Checkpoint ck = read_checkpoint(trained_checkpoint());
    OnnxExportOptions opt;
    opt.tile = 64;
    opt.overlap = 16;
    auto resolution = [&](const nlohmann::json& px) {
        m.meta["data"]["ground_pixel_size"] = px;
        const auto meta = metadata_of(unet_onnx_model(m, m.net->config(), ck, opt));
        const auto it = meta.find("resolution");
        return it == meta.end() ? std::string("none") : it->second;
    };
    EXPECT_EQ(resolution({{"x", 0.05}, {"y", 0.05}, {"epsg", 25833}}), "5");
    EXPECT_EQ(resolution({{"x", 0.3}, {"y", 0.2}, {"epsg", 32633}}), "25");
    EXPECT_EQ(resolution({{"x", 1e-6}, {"y", 1e-6}, {"epsg", 4326}}), "none");
    EXPECT_EQ(resolution(nullptr), "none");

    // Through the command, from a checkpoint that records its images' grid as training does.
    const std::string dir = test::temp_dir("onnx_resolution");
    Checkpoint placed = read_checkpoint(trained_checkpoint());
    placed.meta["data"]["ground_pixel_size"] = {
        {"x", 0.05}, {"y", 0.05}, {"epsg", 25833}, {"images", 4}};
    write_checkpoint(dir + "/placed.ckpt", placed);
    const test::CommandResult r =
        test::run_pfce("export --checkpoint " + dir + "/placed.ckpt --out " + dir + "/m.onnx");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_FALSE(test::message_has(r.output, "set Deepness's resolution")) << r.output;
    EXPECT_FALSE(test::message_has(r.output, "output channels' numbers")) << r.output;
    EXPECT_EQ(metadata_of(read_all(dir + "/m.onnx"))["resolution"], "5");
    // Masks that give the classes other values than their numbers (LoveDA's 1..7): the model's
    // channels are numbered from 0, which a tool writing them (Deepness) writes, not those values.
    std::vector<int> values;
    for (std::size_t c = 0; c < m.class_names.size(); ++c)
        values.push_back(static_cast<int>(c) + 1);
    placed.meta["mask_values"] = values;
    write_checkpoint(dir + "/valued.ckpt", placed);
    placed.meta.erase("mask_values");
    const test::CommandResult v =
        test::run_pfce("export --checkpoint " + dir + "/valued.ckpt --out " + dir + "/v.onnx");
    ASSERT_EQ(v.status, 0) << v.output;
    EXPECT_MESSAGE_HAS(v.output,
                       "these are the output channels' numbers, not the values the "
                       "dataset's masks give the classes (" +
                           m.class_names[0] + " 1, " + m.class_names[1] + " 2");
    // A run that read 16-bit images through data.value_range: Deepness would feed it 8-bit values
    // of its own rendering, so the model carries none of its keys, and says so.
    placed.meta["config"]["data"]["value_range"] = {0, 4095};
    write_checkpoint(dir + "/ranged.ckpt", placed);
    const test::CommandResult ranged =
        test::run_pfce("export --checkpoint " + dir + "/ranged.ckpt --out " + dir + "/r.onnx");
    ASSERT_EQ(ranged.status, 0) << ranged.output;
    EXPECT_MESSAGE_HAS(ranged.output, "not sample values mapped by data.value_range");
    EXPECT_EQ(metadata_of(read_all(dir + "/r.onnx")).count("model_type"), 0u);
    // A depth-2 U-Net pads a side to 4 by mirroring: 1 row of 3 is fine, 3 of 1 not.
    opt.tile = 3;
    opt.overlap = 0;
    EXPECT_NO_THROW(unet_onnx_model(m, m.net->config(), ck, opt));
    opt.tile = 1;
    EXPECT_THROW(unet_onnx_model(m, m.net->config(), ck, opt), InputError);
}

// A model Deepness cannot run as exported (raw pixel values in, or logits out) carries none of its
// keys, and says why; a file name of bytes that are not UTF-8 reaches the model's text as '?'.
TEST(OnnxExport, OnlyAModelDeepnessRunsAsIsCarriesItsKeysAndTextIsUtf8) {
    const std::string dir = test::temp_dir("onnx_keys");
    const std::string odd = dir + "/bad\xff" + "name.ckpt";
    fs::copy_file(trained_checkpoint(), odd);
    for (const std::string flags : {" --logits", " --input-scale raw"}) {
        const test::CommandResult r = test::run_pfce("export --checkpoint '" + odd + "' --out " +
                                                     dir + "/m.onnx --force" + flags);
        ASSERT_EQ(r.status, 0) << r.output;
        EXPECT_MESSAGE_HAS(r.output, "carries none of its keys");
        const auto meta = metadata_of(read_all(dir + "/m.onnx"));
        EXPECT_EQ(meta.count("model_type"), 0u) << flags;
        EXPECT_EQ(meta.count("class_names"), 0u) << flags;
        EXPECT_EQ(meta.at("pfce_checkpoint"), "bad?name.ckpt");
        EXPECT_TRUE(is_valid_utf8(decode(read_all(dir + "/m.onnx")).one_text(6)));
    }
}

TEST(OnnxExport, RefusesWhatItCannotWriteAndNeverReplacesWithoutForce) {
    const std::string dir = test::temp_dir("onnx_refusals");
    const std::string base = "export --checkpoint " + trained_checkpoint() + " --out ";
    const std::string out = dir + "/m.onnx";
    ASSERT_EQ(test::run_pfce(base + out).status, 0);
    const std::string before = read_all(out);
    // An existing model is kept without --force, and replaced with it.
    const test::CommandResult again = test::run_pfce(base + out + " --tile 64");
    EXPECT_EQ(again.status, 2) << again.output;
    EXPECT_MESSAGE_HAS(again.output, out);
    EXPECT_MESSAGE_HAS(again.output, "--force");
    EXPECT_EQ(read_all(out), before);
    ASSERT_EQ(test::run_pfce(base + out + " --tile 64 --force").status, 0);
    EXPECT_NE(read_all(out), before);

    struct Bad {
        std::string args, says;
    };
    const std::vector<Bad> bad = {
        {base + dir + "/m.pt", "expected a .onnx file"},
        {base + dir + "/x.onnx --tile 8", "--tile 8"},
        {base + dir + "/x.onnx --batch -1", "--batch -1"},
        {base + dir + "/x.onnx --input-scale percent", "--input-scale percent"},
        {"export --checkpoint " + dir + "/none.ckpt --out " + dir + "/x.onnx", "none.ckpt"},
        {"export --checkpoint " + out + " --out " + dir + "/x.onnx", "not a pfce checkpoint"},
    };
    for (const Bad& b : bad) {
        const test::CommandResult r = test::run_pfce(b.args);
        EXPECT_EQ(r.status, 2) << b.args << "\n" << r.output;
        EXPECT_MESSAGE_HAS(r.output, b.says);
    }
    EXPECT_FALSE(fs::exists(dir + "/x.onnx"));
    EXPECT_FALSE(fs::exists(dir + "/m.pt"));

    // The weights of a run stopped before its first step are random: no model is made of them.
    Checkpoint ck = read_checkpoint(trained_checkpoint());
    ck.meta["state"]["epoch"] = 0;
    ck.meta["state"]["global_step"] = 0;
    write_checkpoint(dir + "/untrained.ckpt", ck);
    const test::CommandResult untrained =
        test::run_pfce("export --checkpoint " + dir + "/untrained.ckpt --out " + dir + "/x.onnx");
    EXPECT_EQ(untrained.status, 2) << untrained.output;
    EXPECT_MESSAGE_HAS(untrained.output, "untrained.ckpt holds untrained weights");
    EXPECT_FALSE(fs::exists(dir + "/x.onnx"));
    // Those of a run interrupted within an epoch are a model: exported, said, and recorded.
    ck.meta["state"]["epoch"] = 1;
    ck.meta["state"]["batch"] = 2;
    ck.meta["state"]["global_step"] = 5;
    write_checkpoint(dir + "/stopped.ckpt", ck);
    const test::CommandResult stopped =
        test::run_pfce("export --checkpoint " + dir + "/stopped.ckpt --out " + dir + "/s.onnx");
    ASSERT_EQ(stopped.status, 0) << stopped.output;
    EXPECT_MESSAGE_HAS(stopped.output,
                       "stopped.ckpt was saved by a run interrupted within epoch 2");
    EXPECT_EQ(nlohmann::json::parse(metadata_of(read_all(dir + "/s.onnx"))["pfce_training"]),
              nlohmann::json({{"epoch", 1}, {"step", 5}, {"batch", 2}}));

    // A killed export's temporary beside the model goes with the next export there.
    const std::string stale = dir + "/.m.onnx.tmp999999999_0";
    { std::ofstream(stale) << "half a model"; }
    ASSERT_EQ(test::run_pfce(base + out + " --force").status, 0);
    EXPECT_FALSE(fs::exists(stale));
}

}  // namespace
}  // namespace pfce
