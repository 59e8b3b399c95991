// Kernel variants: the catalogue (what cuda/cuda_backend.cu implements) and run.kernels.
#include "core/op_variants.hpp"

#include <algorithm>

#include "core/backend.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/text.hpp"

namespace pfce {

const std::vector<OpVariantFamily>& cuda_op_variant_families() {
    // The run defaults, from the first H200 run (bench/results/2026-12-04-h200-24455af, U-Net
    // width 32 depth 4, batch 8 of 304x304): the tensor-list ops in one launch per list (+2%
    // images/s); the whole network on nhwc activations convolved channels_last (539 images/s at
    // tf32 against 477 on nchw); at bf16, activations stored in bf16 (727 images/s on nhwc
    // against 479 with f32 storage, 1.4 GB held against 3.2 GB: what PyTorch's autocast with
    // channels_last does). From the H100 run (bench/results/2026-12-06-h100-d23e679), where
    // both passed every GPU test: the focal loss's vec4 pass (1891 GB/s against three_launch's
    // 1692) and batch norm by channel on nhwc (565 images/s at tf32 against 532, 844 against
    // 734 at bf16; bit-identical to per_value).
    static const std::vector<OpVariantFamily> families = {
        {"focal_loss",
         {"three_launch", "single_launch", "vec4", "two_launch"},
         "count, loss and finish launches; or one; or three, 4 pixels a thread; or vec4's "
         "pass after a count of 16 labels a load, its last block finishing",
         "vec4"},
        {"global_grad_norm",
         {"per_tensor", "multi_tensor"},
         "a launch per tensor, or per list",
         "multi_tensor"},
        {"sgd_steps",
         {"per_tensor", "multi_tensor"},
         "a launch per tensor, or per list",
         "multi_tensor"},
        {"adam_steps",
         {"per_tensor", "multi_tensor"},
         "a launch per tensor, or per list",
         "multi_tensor"},
        {"convolution",
         {"nchw", "channels_last"},
         "the memory layout cuDNN convolves in",
         "channels_last"},
        {"activations",
         {"nchw", "nhwc"},
         "the memory layout of a network's inner activations",
         "nhwc"},
        {"activation_storage",
         {"f32", "bf16"},
         "the element type of a network's inner activations at precision bf16",
         "bf16"},
        {"batchnorm_nhwc",
         {"per_value", "by_channel"},
         "batch norm's elementwise passes on nhwc activations: a channel index per value, or "
         "channels fixed per thread, 4 at a time",
         "by_channel"},
    };
    return families;
}

const OpVariantFamily* find_cuda_op_variant_family(const std::string& op) {
    for (const OpVariantFamily& f : cuda_op_variant_families())
        if (f.op == op) return &f;
    return nullptr;
}

namespace {

std::string joined(const std::vector<std::string>& names, const char* sep = ", ") {
    std::string s;
    for (const std::string& n : names) s += (s.empty() ? "" : sep) + n;
    return s;
}

}  // namespace

std::vector<KernelChoice> parse_kernel_choices(const std::string& text) {
    std::vector<KernelChoice> out;
    if (trimmed(text).empty()) return out;
    std::vector<std::string> ops;
    for (const OpVariantFamily& f : cuda_op_variant_families()) ops.push_back(f.op);
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t end = std::min(text.find(',', start), text.size());
        const std::string entry = trimmed(text.substr(start, end - start));
        start = end + 1;
        const std::size_t eq = entry.find('=');
        if (eq == std::string::npos)
            PFCE_THROW(InputError, "entry \"", entry,
                       "\": expected op=variant (ops with variants: ", joined(ops), ")");
        const std::string op = trimmed(entry.substr(0, eq)),
                          variant = trimmed(entry.substr(eq + 1));
        const OpVariantFamily* f = find_cuda_op_variant_family(op);
        if (!f)
            PFCE_THROW(InputError, "entry \"", entry, "\": no op \"", op,
                       "\" has variants (expected one of ", joined(ops), ")");
        if (std::find(f->variants.begin(), f->variants.end(), variant) == f->variants.end())
            PFCE_THROW(InputError, "entry \"", entry, "\": ", op, " has no variant \"", variant,
                       "\" (expected one of ", joined(f->variants), ")");
        for (const KernelChoice& c : out)
            if (c.first == op)
                PFCE_THROW(InputError, op, " is named twice (\"", c.first, "=", c.second,
                           "\" and \"", entry, "\"): expected one variant per op");
        out.emplace_back(op, variant);
    }
    return out;
}

std::string kernel_choices_text(const std::vector<KernelChoice>& choices) {
    std::string s;
    for (const auto& [op, variant] : choices) s += (s.empty() ? "" : ",") + op + "=" + variant;
    return s;
}

std::string run_default_variant(const OpVariantFamily& f, const std::vector<KernelChoice>& wanted) {
    if (f.op == "convolution")
        for (const auto& [op, variant] : wanted)
            if (op == "activations") return variant == "nhwc" ? "channels_last" : "nchw";
    return f.run_default;
}

std::vector<KernelChoice> select_kernels(Backend& b, const std::string& text, bool announce) {
    const std::vector<KernelChoice> wanted = parse_kernel_choices(text);
    std::vector<KernelChoice> selected;
    for (const OpVariantFamily& f : cuda_op_variant_families()) {
        const std::vector<std::string> have = b.op_variants(f.op);
        auto it = std::find_if(wanted.begin(), wanted.end(),
                               [&](const KernelChoice& c) { return c.first == f.op; });
        if (have.empty()) {
            if (it != wanted.end() && announce)
                log_info("run.kernels: ", b.name(), " has one implementation of ", f.op, " (",
                         it->first, "=", it->second, " is for CUDA; ignored)");
            continue;
        }
        // A backend that lacks the catalogue's run default (a test's) runs its first.
        std::string variant = it != wanted.end() ? it->second : run_default_variant(f, wanted);
        if (it == wanted.end() && std::find(have.begin(), have.end(), variant) == have.end())
            variant = have.front();
        b.select_op_variant(f.op, variant);
        selected.emplace_back(f.op, variant);
    }
    return selected;
}

}  // namespace pfce
