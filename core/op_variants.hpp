// The catalogue of kernel variants (Backend::op_variants): for each family of interchangeable
// kernels, its name and its variants, the default first. CUDA has them (a new kernel kept beside
// the one it may replace until a GPU benchmark picks); the CPU backends have none. Written once
// here so a config can be checked without a device and the CUDA backend lists exactly these.
//
// A run picks variants with run.kernels, "op=variant" entries separated by commas
// ("activations=nhwc,convolution=channels_last"); every family it does not name runs its default.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace pfce {

class Backend;

struct OpVariantFamily {
    std::string op;                     // a Backend method's name, or a family's
    std::vector<std::string> variants;  // the default first
    std::string about;                  // what the variants differ in, for help text
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

// Selects on `b` the variant `text` (a run.kernels value) names for each family b has variants
// of, and the default for every other one of b's families, so a backend shared by several runs
// carries no choice from one run to the next. A named family `b` has no variants of (every family
// on the CPU) is left out, with one line saying so when `announce`. Returns what was selected.
std::vector<KernelChoice> select_kernels(Backend& b, const std::string& text, bool announce);

}  // namespace pfce
