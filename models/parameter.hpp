// Trainable parameters and persistent buffers of a model, as the optimizer and the checkpoint
// code see them: named tensors on the model's backend.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace pfce {

struct Parameter {
    std::string name;  // "enc0.conv1.weight"
    Tensor value;
    Tensor grad;        // same shape; written (not accumulated) by each backward pass
    bool decay = true;  // weight decay applies (conv weights); false for biases and BN gamma/beta
};

// Non-trainable state saved in checkpoints (batch-norm running statistics).
struct Buffer {
    std::string name;  // "enc0.bn1.running_mean"
    Tensor value;
};

}  // namespace pfce
