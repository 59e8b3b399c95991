// The U-Net of DESIGN §4, written once against the Backend interface: depth L levels of
// [3x3 conv -> BN -> ReLU] x 2 with 2x2 max-pool down and 2x2 stride-2 transposed conv up, skip
// concatenation, a 1x1 conv to C logits. Inputs whose sides are not multiples of 2^L are
// reflect-padded and the logits cropped back. Activations are cached by input shape, so a training
// step allocates nothing after the first.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/backend.hpp"
#include "models/parameter.hpp"

namespace pfce {

struct UNetConfig {
    int in_channels = 3;
    int num_classes = 6;
    int depth = 4;        // number of down-sampling steps
    int base_width = 32;  // channels at level 0; doubles per level
};

// The most channels a level may have: the bottom level has base_width * 2^depth of them.
inline constexpr int kMaxUNetChannels = 1 << 16;

// The parameter elements of the U-Net `cfg` describes, without building it (what
// UNet::parameter_count() gives): for memory estimates before anything is allocated.
std::int64_t unet_parameter_count(const UNetConfig& cfg);

// Whether an image side can be reflect-padded to the multiple of 2^depth the U-Net needs (each pad
// must be shorter than the side it mirrors), and the shortest side that can: what commands check
// every input against before they write anything.
bool unet_side_fits(std::int64_t side, int depth);
int smallest_unet_side(int depth);
// The deepest U-Net (depth 1..8) that takes a side of `side` pixels; 0 if none does (a side of one
// pixel has nothing to mirror).
int deepest_unet_for_side(std::int64_t side);

class UNet {
  public:
    UNet(Backend& backend, const UNetConfig& cfg, std::uint64_t seed);  // He initialization
    ~UNet();
    UNet(const UNet&) = delete;
    UNet& operator=(const UNet&) = delete;

    const UNetConfig& config() const { return cfg_; }
    Backend& backend() { return backend_; }

    // x (N,in_channels,H,W) f32 on the backend's device -> logits (N,num_classes,H,W), owned by the
    // model and valid until the next forward. training: batch statistics (and running-stat
    // updates) vs running statistics. Not training, in a network that has not trained (predict,
    // eval), the activations live in the network's buffer pool only while a later layer needs them;
    // one that has trained keeps every layer's output for backward, and its inference writes there
    // (no allocation after the first step, validation included).
    const Tensor& forward(const Tensor& x, bool training);
    // This network trains in this process: inference writes into the layers' outputs from the
    // first call, as after a training forward (what a trainer says before it validates).
    void will_train();
    // dlogits same shape as the logits of the last forward(training=true); writes every grad.
    void backward(const Tensor& dlogits);

    std::vector<Parameter*> parameters();
    std::vector<Buffer*> buffers();
    std::int64_t parameter_count() const;
    // Bytes the network's buffer pool holds: the gradients of a training step, and inference's
    // activations (for memory estimates and their tests).
    std::size_t buffer_pool_bytes() const;

  private:
    // forward(training=false) of `in` (x, reflect-padded where it had to be).
    const Tensor& infer(const Tensor& in, const Tensor& x);
    const Tensor& cropped(const Tensor& full, const Tensor& x);
    struct Impl;
    Backend& backend_;
    UNetConfig cfg_;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pfce
