// make_sparse_masks: read + sample + write in parallel chunks, masks.json (with the settings that
// make the directory reusable and the label counts) written last.
#include "data/sparse_masks.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "core/error.hpp"
#include "core/parallel.hpp"
#include "data/mask_dir.hpp"

namespace pfce {
namespace fs = std::filesystem;

nlohmann::json sparse_mask_settings(const Dataset& ds, const SamplerOptions& so) {
    std::error_code ec;
    const fs::path root = fs::weakly_canonical(fs::absolute(ds.root()), ec);
    return {{"source", ec ? ds.root() : root.string()},
            {"dataset_kind", kDatasetKinds.name(ds.kind())},
            {"tile_patch", ds.options().tile_patch},
            {"tile_stride", ds.options().tile_stride},
            {"points", so.points},
            {"scale_by_area", so.scale_by_area},
            {"seed", so.seed}};
}

MaskStageResult make_sparse_masks(const Dataset& ds, const SamplerOptions& so,
                                  const std::string& dir, bool force,
                                  const std::function<void(std::size_t, std::size_t)>& progress) {
    const auto start = std::chrono::steady_clock::now();
    validate_sampler_options(so);
    const int C = ds.palette().num_classes();
    if (so.points.size() > 1 && static_cast<int>(so.points.size()) != C)
        PFCE_THROW(InputError, "points per class: ", so.points.size(), " counts given but ",
                   ds.root(), " has ", C, " classes");
    const nlohmann::json settings = sparse_mask_settings(ds, so);
    const std::size_t n = ds.size();
    std::vector<std::string> ids(n);
    for (std::size_t i = 0; i < n; ++i) ids[i] = ds.sample(i).id;

    MaskStageResult r;
    r.dir = dir;
    r.per_class.assign(static_cast<std::size_t>(C), 0);
    if (fs::exists(fs::path(dir) / "masks.json")) {
        const MaskDir md = open_mask_dir(dir);
        if (md.format == 2 && md.meta.value("sample", nlohmann::json()) == settings &&
            md.ids == ids) {
            r.reused = true;
            r.labelled = md.meta.value("labelled_pixels", std::int64_t{0});
            r.pixels = md.meta.value("pixels", std::int64_t{0});
            const auto pc = md.meta.value("per_class", std::vector<std::int64_t>{});
            if (pc.size() == r.per_class.size()) r.per_class = pc;
            return r;
        }
    }
    prepare_mask_dir(dir, force);

    const std::size_t chunk = 256;  // bounds memory: the masks of one chunk at a time
    for (std::size_t first = 0; first < n; first += chunk) {
        const std::size_t count = std::min(chunk, n - first);
        std::vector<std::vector<std::int64_t>> counts(count);
        parallel_for(
            count,
            [&](std::size_t k) {
                const std::size_t i = first + k;
                const LabelMap sparse = sample_sparse(ds.read_mask(i), so, ids[i]);
                counts[k].assign(static_cast<std::size_t>(C) + 1, 0);
                for (std::uint8_t l : sparse.labels) ++counts[k][l == 255 ? C : l];
                write_mask_png(dir, ids[i], sparse, ds.palette());
            },
            2);
        for (const auto& c : counts) {
            for (int k = 0; k < C; ++k) {
                r.per_class[static_cast<std::size_t>(k)] += c[static_cast<std::size_t>(k)];
                r.labelled += c[static_cast<std::size_t>(k)];
                r.pixels += c[static_cast<std::size_t>(k)];
            }
            r.pixels += c[static_cast<std::size_t>(C)];
        }
        if (progress) progress(first + count, n);
    }
    nlohmann::json meta = {{"kind", "sparse"},   {"source", settings["source"]},
                           {"sample", settings}, {"labelled_pixels", r.labelled},
                           {"pixels", r.pixels}, {"per_class", r.per_class}};
    write_mask_json(dir, ids, meta, ds.palette());
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

}  // namespace pfce
