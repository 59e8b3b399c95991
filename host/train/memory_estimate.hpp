// What a training step or a sliding-window pass holds in host memory on the CPU, from the model's
// width and the pixels it sees, so that a run that cannot fit is refused before it is killed (a
// probe's 4 whole 2000x2000 images at batch 4 passed 10 GB within 22 s, saying nothing).
// Measured on the 2-core VM (oneDNN, depth 3 and 4): a training step holds about 100 bytes per
// pixel per channel of model.width, and 100 more per pixel (inputs, labels, the loss's scratch),
// for each image of the batch: 0.9 kB per pixel at width 8 (2000x2000 at batch 1: 3.64 GB
// measured, 3.6 estimated), 3.3 kB at width 32. Inference keeps no gradients, and only the
// activations a later layer reads (UNet::forward): about 26 bytes per pixel per channel of width
// (predict, 4 windows of 512x512, depth 3: 440 bytes a pixel at width 16, 838 at width 32; 28w + 60
// estimated). Estimates within about 20%, not bounds.
#pragma once

#include <cstdint>
#include <string>

namespace pfce {

double training_step_bytes(std::int64_t pixels_per_image, int batch, int width);
// What a model's `parameters` hold while training, whatever the image size: the weights, their
// gradients and the optimizer's state (two moments for the Adam family, a momentum for SGD), f32.
// Negligible at the usual widths (width 32 depth 4: 7.8M parameters, 124 MB with Adam), not at
// width 128 depth 8 (31.9G parameters, 510 GB).
double parameter_state_bytes(std::int64_t parameters, const std::string& optimizer);
double inference_bytes(std::int64_t pixels_per_window, int batch, int width);

struct MachineMemory {
    double total = 0, available = 0;  // bytes; 0 where /proc/meminfo does not say
    double swap = -1;                 // bytes of swap (SwapTotal); -1 where it does not say
};
MachineMemory machine_memory();

}  // namespace pfce
