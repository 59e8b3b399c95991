// `pfce sample`: sparse point labels (DESIGN §2) from a dataset's dense masks into a mask directory
// of palette PNGs (pixel value = label, 255 unlabelled) plus masks.json. Works in chunks (read +
// sample + write in parallel) so datasets larger than memory stream through; prints images, points,
// labelled fraction and time.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "core/log.hpp"
#include "data/dataset.hpp"
#include "data/mask_dir.hpp"
#include "data/sparse_sampler.hpp"
#include "host/cli/cli_checks.hpp"
#include "host/cli/command_registry.hpp"

namespace fs = std::filesystem;

namespace pfce::cli {
namespace {

struct SampleFlags {
    std::string data, out, kind = "auto", per_class;
    int points = 500;
    std::uint64_t seed = 0;
    bool scale_by_area = false, force = false;
    int tile_patch = 300, tile_stride = 300;
    std::int64_t max_pixels = 100'000'000;
};

// Keeps freed image buffers in the process instead of returning them to the kernel: with glibc's
// defaults every decoded image (270 KB at 300x300) is a fresh mmap, and the page faults cost more
// than decoding and sampling together (measured 2.5x on bench_data). Process-wide, so only
// commands and benchmarks that stream thousands of images set it.
void keep_freed_memory() {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

std::vector<int> parse_point_list(const std::string& text) {
    std::vector<int> out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
        std::size_t used = 0;
        int v = 0;
        try {
            v = std::stoi(item, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used == 0 || used != item.size())
            PFCE_THROW(InputError, "--points-per-class ", text, ": \"", item,
                       "\" is not an integer; expected a comma-separated list like 500,500,700");
        out.push_back(v);
    }
    if (out.empty()) PFCE_THROW(InputError, "--points-per-class is empty");
    return out;
}

void run_sample(const SampleFlags& f) {
    keep_freed_memory();
    const auto start = std::chrono::steady_clock::now();
    DatasetOptions dopts;
    dopts.kind = parse_dataset_kind(f.kind);
    dopts.tile_patch = f.tile_patch;
    dopts.tile_stride = f.tile_stride;
    dopts.max_pixels = f.max_pixels;
    const Dataset ds = Dataset::open(f.data, dopts);

    SamplerOptions so;
    so.points = f.per_class.empty() ? std::vector<int>{f.points} : parse_point_list(f.per_class);
    so.scale_by_area = f.scale_by_area;
    so.seed = f.seed;
    validate_sampler_options(so);
    if (so.points.size() > 1 && static_cast<int>(so.points.size()) != ds.palette().num_classes())
        PFCE_THROW(InputError, "--points-per-class gives ", so.points.size(), " counts but ",
                   f.data, " has ", ds.palette().num_classes(), " classes");

    prepare_mask_dir(f.out, f.force);

    const std::size_t n = ds.size();
    std::vector<std::string> ids(n);
    for (std::size_t i = 0; i < n; ++i) ids[i] = ds.sample(i).id;
    std::int64_t kept = 0, pixels = 0;
    std::vector<std::int64_t> per_class(
        static_cast<std::size_t>(std::max(ds.palette().num_classes(), 1)), 0);
    auto last_log = start;
    const std::size_t chunk = 256;  // bounds memory: masks of one chunk at a time
    for (std::size_t first = 0; first < n; first += chunk) {
        const long count = static_cast<long>(std::min(chunk, n - first));
        std::exception_ptr error;
        std::int64_t chunk_kept = 0, chunk_pixels = 0;
        std::vector<std::int64_t> chunk_class(per_class.size(), 0);
#pragma omp parallel for schedule(dynamic, 2) reduction(+ : chunk_kept, chunk_pixels)
        for (long k = 0; k < count; ++k) {
            try {
                const std::size_t i = first + static_cast<std::size_t>(k);
                const LabelMap sparse = sample_sparse(ds.read_mask(i), so, ids[i]);
                std::vector<std::int64_t> local(chunk_class.size(), 0);
                for (std::uint8_t l : sparse.labels) {
                    if (l == 255) continue;
                    ++chunk_kept;
                    if (l < local.size()) ++local[l];
                }
                chunk_pixels += static_cast<std::int64_t>(sparse.labels.size());
                write_mask_png(f.out, ids[i], sparse, ds.palette());
#pragma omp critical(pfce_sample_counts)
                for (std::size_t c = 0; c < local.size(); ++c) chunk_class[c] += local[c];
            } catch (...) {
#pragma omp critical(pfce_sample_error)
                if (!error) error = std::current_exception();
            }
        }
        if (error) std::rethrow_exception(error);
        kept += chunk_kept;
        pixels += chunk_pixels;
        for (std::size_t c = 0; c < per_class.size(); ++c) per_class[c] += chunk_class[c];
        const auto now = std::chrono::steady_clock::now();
        if (now - last_log > std::chrono::seconds(3)) {
            log_info("sample: ", first + static_cast<std::size_t>(count), "/", n, " images");
            last_log = now;
        }
    }

    nlohmann::json meta = {{"kind", "sparse"},
                           {"source", fs::absolute(f.data).lexically_normal().string()},
                           {"dataset_kind", f.kind},
                           {"tile_patch", f.tile_patch},
                           {"tile_stride", f.tile_stride},
                           {"points", so.points.size() == 1 ? nlohmann::json(so.points[0])
                                                            : nlohmann::json(so.points)},
                           {"scale_by_area", so.scale_by_area},
                           {"seed", so.seed},
                           {"labelled_pixels", kept},
                           {"pixels", pixels}};
    write_mask_json(f.out, ids, meta, ds.palette());

    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("sampled %zu images from %s into %s\n", n, f.data.c_str(), f.out.c_str());
    std::printf("points:            %lld (", static_cast<long long>(kept));
    for (std::size_t c = 0; c < per_class.size(); ++c)
        std::printf("%s%s %lld", c ? ", " : "",
                    c < static_cast<std::size_t>(ds.palette().num_classes())
                        ? ds.palette().classes[c].name.c_str()
                        : "?",
                    static_cast<long long>(per_class[c]));
    std::printf(")\n");
    std::printf("labelled fraction: %.4f%% of %lld pixels\n",
                pixels > 0 ? 100.0 * kept / pixels : 0.0, static_cast<long long>(pixels));
    std::printf("time:              %.2f s (%.0f images/s)\n", secs, n / std::max(secs, 1e-9));
}

const bool registered = register_command(
    "sample",
    "sparse point labels: keep min(N, n_c) pixels of every class present in each dense mask",
    [](CLI::App& sub) {
        auto f = std::make_shared<SampleFlags>();
        sub.add_option("--data", f->data, "dataset root (Kaggle patches, tiles or generic)")
            ->required();
        sub.add_option("--out", f->out, "mask directory to write (<id>.png + masks.json)")
            ->required();
        sub.add_option("--points", f->points,
                       "points per class and image (at 300x300 with --scale-by-area)")
            ->capture_default_str();
        sub.add_option("--points-per-class", f->per_class,
                       "per-class counts instead, e.g. 500,500,500,500,500,500");
        sub.add_option("--seed", f->seed, "sampling seed")
            ->check(non_negative_integer())
            ->capture_default_str();
        sub.add_flag("--scale-by-area", f->scale_by_area,
                     "scale the counts by H*W/90000 (round, at least 1)");
        sub.add_option("--kind", f->kind, "dataset kind: auto, kaggle, tiles or generic")
            ->capture_default_str();
        sub.add_option("--tile-patch", f->tile_patch, "tiles: patch size")->capture_default_str();
        sub.add_option("--tile-stride", f->tile_stride, "tiles: stride between patches")
            ->capture_default_str();
        sub.add_option("--max-pixels", f->max_pixels, "refuse images with more pixels")
            ->capture_default_str();
        sub.add_flag("--force", f->force, "replace an existing mask directory");
        sub.callback([f] { run_sample(*f); });
    });

}  // namespace
}  // namespace pfce::cli
