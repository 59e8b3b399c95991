// A trained U-Net as an ONNX model (opset 13), so it runs where pfce does not: ONNX Runtime,
// OpenCV, TensorRT, QGIS through the Deepness plugin. The model takes float32 (N, C, S, S) images
// and gives (N, K, S, S) class probabilities (or logits); the channel statistics, the reflect
// padding of a tile whose side is no multiple of 2^depth and the crop back are inside the graph, so
// a pixel's scores are those `pfce predict` computes for a window of that size (fp32; a bf16 run's
// model computes in fp32 here). The metadata names the classes and the tile (the keys Deepness
// reads).
#pragma once

#include <optional>
#include <string>

#include "host/train/checkpoint.hpp"
#include "host/train/trained_model.hpp"

namespace pfce {

// What the exported model's input holds.
enum class OnnxInputScale {
    unit,  // pixel values / 255 (0..1: Deepness, torchvision's ToTensor)
    raw,   // pixel values as pfce reads them (0..255)
};

struct OnnxExportOptions {
    int tile = 512;       // S: the input's height and width; 0: any multiples of 2^depth
    int batch = 0;        // N: 0 leaves it dynamic ("batch")
    bool logits = false;  // the head's logits instead of their softmax over the classes
    int overlap = 128;    // pixels neighbouring tiles share (Deepness's tiles_overlap, in percent)
    OnnxInputScale input_scale = OnnxInputScale::unit;
    std::string checkpoint;  // recorded in the metadata (its file name)
};

// Whether QGIS's Deepness runs the model as exported: it feeds the layer's 8-bit values / 255 and
// reads probabilities of square tiles of one size. A raw-input, logits or any-size model carries
// none of its keys, nor one of a run that mapped 16-bit values to 8 bits its own way
// (data.value_range), which Deepness would not.
inline bool deepness_reads(const TrainedModel& m, const OnnxExportOptions& o) {
    return o.tile > 0 && o.input_scale == OnnxInputScale::unit && !o.logits &&
           m.config.data.value_range.empty();
}

// Centimetres a pixel of the training images on the ground (the mean of x and y), where the
// checkpoint records one grid in ground metres for them (data/ground_pixel_size); else nullopt.
std::optional<double> training_pixel_cm(const TrainedModel& m);

inline constexpr int kOnnxOpset = 13;
inline constexpr int kOnnxIrVersion = 7;  // what opset 13 came with: read by ONNX >= 1.8

// The serialized ModelProto of the U-Net `uc` (the network `m` was built as; `m` may have released
// it, as only its description is read here) with the weights of `ck`, the checkpoint `m` was
// loaded from. InputError naming the tile when a depth-d U-Net cannot take it, or the checkpoint
// when its weights pass protobuf's 2 GiB limit (said before anything is built).
std::string unet_onnx_model(const TrainedModel& m, const UNetConfig& uc, const Checkpoint& ck,
                            const OnnxExportOptions& opt);

}  // namespace pfce
