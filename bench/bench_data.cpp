// bench_data: read + sample Kaggle-size images (issue 3). Generates the synthetic dataset in the
// Kaggle layout (or reuses --data), then times, with all OpenMP threads: reading image + label and
// sampling N points per class (like the report's loader), reading labels + sampling only (what
// `pfce sample` needs), and sampling alone. Also times the generator on one core. Runs the peer
// (bench/peers/data_seed.py: PIL + numpy, as the report did) on the same files and prints the
// ratio.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <sys/resource.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include "bench/bench_common.hpp"
#include "core/stop_signal.hpp"
#include "data/dataset.hpp"
#include "data/sparse_sampler.hpp"
#include "data/synth.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace fs = std::filesystem;
using namespace pfce;

namespace {

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

int threads() {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

// One pass over the dataset; returns labelled pixels kept (so nothing is optimized away).
std::int64_t read_and_sample(const Dataset& ds, const SamplerOptions& so, bool read_images) {
    std::int64_t kept = 0;
    const long n = static_cast<long>(ds.size());
#pragma omp parallel for schedule(dynamic, 4) reduction(+ : kept)
    for (long i = 0; i < n; ++i) {
        const auto k = static_cast<std::size_t>(i);
        if (read_images) kept += ds.read_image(k).width <= 0;  // decode it, count nothing
        const LabelMap sparse = sample_sparse(ds.read_mask(k), so, ds.sample(k).id);
        for (std::uint8_t l : sparse.labels) kept += l != 255;
    }
    return kept;
}

// CPU seconds used by this process (all threads): on a shared machine, images per CPU second
// compare implementations fairly where wall-clock rates depend on who else is running.
double process_cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

// time_it plus the CPU seconds one pass took on average.
bench::Timing timed(const std::function<void()>& fn, int warmup, int repeats,
                    double& cpu_per_pass) {
    const double c0 = process_cpu_seconds();
    const bench::Timing t = bench::time_it(fn, warmup, repeats);
    cpu_per_pass = (process_cpu_seconds() - c0) / (warmup + repeats);
    return t;
}

// The benchmark itself, after its options are read (below main).
int run(const std::string& json_path, const std::string& peer, std::string data_dir,
        const std::string& python, int count, int size, int points, int repeats, bool keep);

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"bench_data: read + sample Kaggle-size images vs the report's PIL/numpy loader"};
    std::string json_path, peer, data_dir, python;
    int count = 2400, size = 300, points = 500, repeats = 3;
    bool keep = false;
    app.add_option("--json", json_path, "write results here (stdout otherwise)");
    app.add_option("--peer", peer, "peer script (bench/peers/data_seed.py); empty: no peer");
    app.add_option("--data", data_dir,
                   "reuse this Kaggle-layout dataset instead of generating one");
    app.add_option("--count", count, "synthetic images to generate")
        ->capture_default_str()
        ->check(bench::at_least(1));
    app.add_option("--size", size, "synthetic image size")
        ->capture_default_str()
        ->check(CLI::Range(16, 4096));
    app.add_option("--points", points, "points per class and image")
        ->capture_default_str()
        ->check(bench::at_least(1));
    app.add_option("--repeats", repeats, "timed repeats")
        ->capture_default_str()
        ->check(bench::at_least(1));
    app.add_option("--python", python, "Python with PIL and numpy for the peer (default: found)");
    app.add_flag("--keep", keep, "keep the generated dataset (its path is said and recorded)");
    CLI11_PARSE(app, argc, argv);
    keep_freed_memory();
    bench::remove_scratch_of_dead_runs("pfce_bench_data_");
    bench::remove_scratch_of_dead_runs("pfce_data_peer_");
    return bench::run_main("bench_data", [&] {
        return run(json_path, peer, data_dir, python, count, size, points, repeats, keep);
    });
}

namespace {

int run(const std::string& json_path, const std::string& peer, std::string data_dir,
        const std::string& python, int count, int size, int points, int repeats, bool keep) {
    bench::check_json_path(json_path);
    // Ctrl-C / SIGTERM stop at the next phase, and the generated dataset goes with the unwinding
    // (a stopped run left hundreds of megabytes in /tmp); a second signal ends it at once.
    const StopSignals stop;
    const auto check_stop = [] {
        if (stop_requested()) throw StopRequested();
    };
    if (!data_dir.empty() && !fs::is_directory(data_dir))
        throw std::invalid_argument("--data " + data_dir + " is no directory");

    nlohmann::json out = {
        {"benchmark", "data"}, {"machine", bench::machine_json()}, {"threads", threads()}};

    // The generator on one core (CPU time, so other load on the machine does not count).
    {
        const int n = 100;
        const std::clock_t c0 = std::clock();
        const auto t0 = std::chrono::steady_clock::now();
        std::size_t sink = 0;
        for (int k = 0; k < n; ++k)
            sink += synthesize_scene(300, 1, static_cast<std::uint32_t>(k)).image.pixels[0];
        const double cpu = double(std::clock() - c0) / CLOCKS_PER_SEC;
        const double wall =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        out["synth_one_core"] = {{"images", n},
                                 {"size", 300},
                                 {"images_per_cpu_s", n / cpu},
                                 {"images_per_wall_s", n / wall},
                                 {"sink", sink}};
        std::fprintf(stderr,
                     "synth: %.0f images/s per core (CPU time), %.0f images/s wall, 300x300\n",
                     n / cpu, n / wall);
    }

    // The generated dataset goes when the run ends, however it ends (an error too), unless kept.
    struct Generated {
        std::string dir;
        bool keep = false;
        ~Generated() {
            std::error_code ec;
            if (!dir.empty() && !keep) fs::remove_all(dir, ec);
        }
    } generated{{}, keep};
    if (data_dir.empty()) {
        data_dir = (fs::temp_directory_path() / ("pfce_bench_data_" + std::to_string(::getpid())))
                       .string();
        generated.dir = data_dir;
        SynthOptions so;
        so.out_dir = data_dir;
        so.count = count;
        so.size = size;
        so.seed = 0;
        const auto t0 = std::chrono::steady_clock::now();
        write_synthetic_dataset(so);
        const double s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        out["synth_write"] = {
            {"images", count}, {"size", size}, {"seconds", s}, {"images_per_s", count / s}};
        std::fprintf(
            stderr,
            "synth: wrote %d %dx%d images (TIFF, LZW) in %.2f s = %.0f images/s, %d threads\n",
            count, size, size, s, count / s, threads());
    }

    check_stop();
    const Dataset ds = Dataset::open(data_dir);
    SamplerOptions so;
    so.points = {points};
    so.seed = 0;
    std::int64_t kept_full = 0, kept_masks = 0;
    double cpu_full = 0, cpu_masks = 0, cpu_sampling = 0;
    const bench::Timing full =
        timed([&] { kept_full = read_and_sample(ds, so, true); }, 1, repeats, cpu_full);
    check_stop();
    const bench::Timing masks =
        timed([&] { kept_masks = read_and_sample(ds, so, false); }, 0, repeats, cpu_masks);
    std::vector<LabelMap> dense(ds.size());
    std::vector<std::string> ids(ds.size());
    for (std::size_t i = 0; i < ds.size(); ++i) {
        dense[i] = ds.read_mask(i);
        ids[i] = ds.sample(i).id;
    }
    check_stop();
    const bench::Timing sampling =
        timed([&] { sample_sparse_all(dense, ids, so); }, 1, repeats, cpu_sampling);
    const double n = static_cast<double>(ds.size());
    const double ours = n / full.median_s;
    out["images"] = ds.size();
    out["points"] = points;
    out["labelled_pixels"] = kept_full;
    out["read_image_label_sample"] = bench::to_json(full);
    out["read_image_label_sample"]["images_per_s"] = ours;
    out["read_image_label_sample"]["images_per_cpu_s"] = n / cpu_full;
    out["read_label_sample"] = bench::to_json(masks);
    out["read_label_sample"]["images_per_s"] = n / masks.median_s;
    out["read_label_sample"]["images_per_cpu_s"] = n / cpu_masks;
    out["sample_only"] = bench::to_json(sampling);
    out["sample_only"]["images_per_s"] = n / sampling.median_s;
    out["sample_only"]["images_per_cpu_s"] = n / cpu_sampling;
    // The report on stderr, as the other benchmarks write it: stdout is the JSON without --json.
    std::fprintf(stderr,
                 "bench_data: %zu images, %d points/class, %d threads (rates: wall clock | per CPU "
                 "second)\n",
                 ds.size(), points, threads());
    std::fprintf(stderr, "  read image + label + sample: %8.0f | %8.0f images/s\n", ours,
                 n / cpu_full);
    std::fprintf(stderr,
                 "  read label + sample:         %8.0f | %8.0f images/s  (what pfce sample does)\n",
                 n / masks.median_s, n / cpu_masks);
    std::fprintf(stderr, "  sample only (in memory):     %8.0f | %8.0f images/s\n",
                 n / sampling.median_s, n / cpu_sampling);
    if (kept_masks != kept_full)
        std::fprintf(stderr, "  warning: passes kept %lld vs %lld points\n",
                     static_cast<long long>(kept_masks), static_cast<long long>(kept_full));

    check_stop();
    if (!peer.empty()) {
        const std::string py = bench::peer_python(python, "PIL, numpy");
        // Beside no one's files: the dataset given with --data is the user's.
        const fs::path peer_json =
            fs::temp_directory_path() / ("pfce_data_peer_" + std::to_string(::getpid()) + ".json");
        const std::string cmd = py + " '" + peer + "' --data '" + data_dir + "' --points " +
                                std::to_string(points) + " --json '" + peer_json.string() + "'";
        const nlohmann::json pj = bench::run_peer_command("bench_data", cmd, peer_json);
        if (!pj.contains("error") && pj.value("images_per_s", nlohmann::json()).is_number()) {
            const double theirs = pj.at("images_per_s").get<double>();
            const double theirs_cpu = pj.value("images_per_cpu_s", theirs);
            out["peer"] = pj;
            out["ratio_vs_peer"] = ours / theirs;
            out["ratio_vs_peer_label_only"] = (n / masks.median_s) / theirs;
            out["ratio_vs_peer_per_cpu_s"] = (n / cpu_full) / theirs_cpu;
            std::fprintf(stderr, "  peer (%s): %8.1f | %8.1f images/s (one Python process)\n",
                         peer.c_str(), theirs, theirs_cpu);
            std::fprintf(
                stderr,
                "  ratio (wall, all threads vs peer): %.1fx (image + label), %.1fx (label only, as "
                "pfce sample)\n",
                ours / theirs, (n / masks.median_s) / theirs);
            std::fprintf(
                stderr,
                "  ratio (per CPU second):            %.1fx (image + label), %.1fx (label only)\n",
                (n / cpu_full) / theirs_cpu, (n / cpu_masks) / theirs_cpu);
        } else {
            out["peer_error"] = pj.value("error", std::string("peer results hold no images_per_s"));
            out["peer"] = pj;
        }
    }
    check_stop();  // during the peer, whose Python the signal stopped
    if (!generated.dir.empty() && keep) {
        std::ofstream(fs::path(generated.dir) / bench::kKeptMarker) << "kept by --keep\n";
        out["kept_data"] = generated.dir;
        std::fprintf(stderr, "bench_data: the generated dataset is kept in %s\n",
                     generated.dir.c_str());
    }
    bench::write_json(out, json_path);
    return 0;
}

}  // namespace
