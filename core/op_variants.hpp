// The catalogue of kernel variants (Backend::op_variants): for each family of interchangeable
// kernels, its name and its variants, the reference kernel first (what a CUDA backend starts on,
// and what the GPU tests compare each other variant with). CUDA has them (a new kernel kept beside
// the one it may replace); the CPU backends have none. Written once here so a config can be
// checked without a device and the CUDA backend lists exactly these.
//
// A run picks variants with run.kernels, "op=variant" entries separated by commas
// ("activations=nchw,focal_loss=single_launch"); every family it does not name runs its run
// default, the variant a GPU benchmark measured fastest among those that pass every GPU test
// (bench/results/2026-12-04-h200-24455af and 2026-12-06-h100-d23e679).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace pfce {

class Backend;

struct OpVariantFamily {
    std::string op;                     // a Backend method's name, or a family's
    std::vector<std::string> variants;  // the reference kernel first
    std::string about;                  // what the variants differ in, for help text
    std::string run_default;            // what a run takes when run.kernels does not name it
};

// Every family of CUDA's kernel variants.
const std::vector<OpVariantFamily>& cuda_op_variant_families();
// The family of `op`, or null.
const OpVariantFamily* find_cuda_op_variant_family(const std::string& op);

// The entries of a run.kernels value in order, each checked against the catalogue: InputError
// naming the entry and what was expected for a malformed entry, an op with no variants, a variant
// the op does not have, or an op named twice (the caller names the key and the file). "" gives
// none.
using KernelChoice = std::pair<std::string, std::string>;  // op, variant
std::vector<KernelChoice> parse_kernel_choices(const std::string& text);

// "op=variant,..." of the choices (the inverse of parse_kernel_choices).
std::string kernel_choices_text(const std::vector<KernelChoice>& choices);

// The variant a run takes for family `f` when run.kernels does not name it, given what it names
// (`wanted`): f.run_default, except that the layout cuDNN convolves in follows the activations'
// layout when only that is named (nchw activations convolved channels_last would pay a copy each
// way).
std::string run_default_variant(const OpVariantFamily& f, const std::vector<KernelChoice>& wanted);

// Selects on `b` the variant `text` (a run.kernels value) names for each family b has variants
// of, and the run default for every other one of b's families, so a backend shared by several runs
// carries no choice from one run to the next. A named family `b` has no variants of (every family
// on the CPU) is left out, with one line saying so when `announce`. Returns what was selected.
std::vector<KernelChoice> select_kernels(Backend& b, const std::string& text, bool announce);

}  // namespace pfce
