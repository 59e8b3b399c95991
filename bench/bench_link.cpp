// bench_link: proximity linking throughput (DESIGN §2) on synthetic sparse masks — our CPU grid,
// a nanoflann KD-tree radius search feeding the same rasterizer, the GPU path with transfers, and
// the report's link_pixels (bench/peers/link_seed.py) on the same masks. Pair search and
// rasterization are timed apart (one thread, per image), end to end with every core.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <nanoflann.hpp>

#include "bench/bench_common.hpp"
#include "core/log.hpp"
#include "core/parallel.hpp"
#include "data/sparse_sampler.hpp"
#include "data/synth.hpp"
#include "host/cpu/cpu_backend.hpp"
#include "host/cpu/link_grid.hpp"

using namespace pfce;
using namespace pfce::link;
using Clock = std::chrono::steady_clock;

namespace {

double secs(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

// Synthetic scenes -> sparse masks (N,H,W): the same generator and sampler the default run uses.
Tensor make_masks(int count, int size, int points, std::uint64_t seed) {
    Tensor t = Tensor::host({count, size, size}, DType::u8);
    std::uint8_t* p = t.data<std::uint8_t>();
    SamplerOptions so;
    so.points = {points};
    so.seed = seed;
#pragma omp parallel for schedule(dynamic, 4)
    for (int i = 0; i < count; ++i) {
        const SynthScene s = synthesize_scene(size, seed, static_cast<std::uint32_t>(i));
        const LabelMap m = sample_sparse(s.labels, so, "synth_" + std::to_string(i));
        std::memcpy(p + static_cast<std::size_t>(i) * size * size, m.labels.data(),
                    m.labels.size());
    }
    return t;
}

// ---- the KD-tree baseline: nanoflann radius search per class, same rasterizer ----------------

struct ClassCloud {
    const LinkPoint* pts = nullptr;
    std::size_t n = 0;
    std::size_t kdtree_get_point_count() const { return n; }
    double kdtree_get_pt(std::size_t i, std::size_t dim) const {
        return dim == 0 ? pts[i].y : pts[i].x;
    }
    template <class Box>
    bool kdtree_get_bbox(Box&) const {
        return false;
    }
};
using KdTree = nanoflann::KDTreeSingleIndexAdaptor<nanoflann::L2_Simple_Adaptor<double, ClassCloud>,
                                                   ClassCloud, 2, std::uint32_t>;

struct KdScratch {
    std::vector<LinkPoint> sorted;
    std::vector<std::pair<std::uint32_t, double>> hits;
};

// Pairs index into scratch.sorted (points grouped by class, as the KD-trees are built per class).
void find_pairs_kdtree(const std::vector<LinkPoint>& points, int radius,
                       std::vector<LinkPair>& pairs, KdScratch& sc) {
    pairs.clear();
    sc.sorted = points;
    std::stable_sort(sc.sorted.begin(), sc.sorted.end(),
                     [](const LinkPoint& a, const LinkPoint& b) { return a.cls < b.cls; });
    if (radius <= 0) return;
    // nanoflann keeps dist < r: the integer test dist <= D² is dist < D² + 0.5.
    const double r = static_cast<double>(radius) * radius + 0.5;
    nanoflann::SearchParams params(32, 0.0f, false);
    for (std::size_t b = 0; b < sc.sorted.size();) {
        std::size_t e = b;
        while (e < sc.sorted.size() && sc.sorted[e].cls == sc.sorted[b].cls) ++e;
        ClassCloud cloud{sc.sorted.data() + b, e - b};
        KdTree tree(2, cloud, nanoflann::KDTreeSingleIndexAdaptorParams(10));
        for (std::size_t i = 0; i < cloud.n; ++i) {
            const double q[2] = {static_cast<double>(cloud.pts[i].y),
                                 static_cast<double>(cloud.pts[i].x)};
            tree.radiusSearch(q, r, sc.hits, params);
            for (const auto& h : sc.hits)
                if (h.first > i)
                    pairs.push_back({static_cast<std::uint32_t>(b + i),
                                     static_cast<std::uint32_t>(b + h.first)});
        }
        b = e;
    }
}

// ---- one-thread phase timings over every image ------------------------------------------------

struct Phases {
    double collect_s = 0, search_s = 0, raster_s = 0, resolve_s = 0;
    std::int64_t pairs = 0, labelled_after = 0;
    double total() const { return collect_s + search_s + raster_s + resolve_s; }
    nlohmann::json json() const {
        return {{"collect_s", collect_s},
                {"pair_search_s", search_s},
                {"rasterize_s", raster_s},
                {"resolve_s", resolve_s},
                {"total_s", total()},
                {"pairs", pairs},
                {"labelled_after", labelled_after}};
    }
};

template <typename Search>
Phases time_phases(const Tensor& masks, const LinkParams& p, Search&& search) {
    const int n = static_cast<int>(masks.dim(0)), h = static_cast<int>(masks.dim(1)),
              w = static_cast<int>(masks.dim(2));
    const std::size_t plane = static_cast<std::size_t>(h) * w;
    std::vector<LinkPoint> pts;
    std::vector<LinkPair> pairs;
    std::vector<std::uint32_t> cover;
    std::vector<std::uint8_t> out(plane);
    Phases ph;
    for (int i = 0; i < n; ++i) {
        const std::uint8_t* in = masks.data<std::uint8_t>() + i * plane;
        const auto t0 = Clock::now();
        collect_points(in, h, w, pts);
        const auto t1 = Clock::now();
        const std::vector<LinkPoint>& used = search(pts, h, w, p.radius, pairs);
        const auto t2 = Clock::now();
        cover.assign(plane, 0u);
        rasterize_pairs(used.data(), pairs.data(), pairs.size(), h, w, nullptr, -1.0f,
                        cover.data());
        const auto t3 = Clock::now();
        ph.labelled_after += resolve_links(in, cover.data(), static_cast<std::int64_t>(plane),
                                           p.conflict, out.data());
        const auto t4 = Clock::now();
        ph.collect_s += secs(t0, t1);
        ph.search_s += secs(t1, t2);
        ph.raster_s += secs(t2, t3);
        ph.resolve_s += secs(t3, t4);
        ph.pairs += static_cast<std::int64_t>(pairs.size());
    }
    return ph;
}

// The KD-tree pipeline end to end over the batch, OpenMP over images like CpuBackend::link.
void link_kdtree_all(const Tensor& masks, const LinkParams& p, Tensor& out) {
    const int n = static_cast<int>(masks.dim(0)), h = static_cast<int>(masks.dim(1)),
              w = static_cast<int>(masks.dim(2));
    const std::size_t plane = static_cast<std::size_t>(h) * w;
#pragma omp parallel
    {
        std::vector<LinkPoint> pts;
        std::vector<LinkPair> pairs;
        std::vector<std::uint32_t> cover;
        KdScratch sc;
#pragma omp for schedule(dynamic, 4)
        for (int i = 0; i < n; ++i) {
            const std::uint8_t* in = masks.data<std::uint8_t>() + i * plane;
            collect_points(in, h, w, pts);
            find_pairs_kdtree(pts, p.radius, pairs, sc);
            cover.assign(plane, 0u);
            rasterize_pairs(sc.sorted.data(), pairs.data(), pairs.size(), h, w, nullptr, -1.0f,
                            cover.data());
            resolve_links(in, cover.data(), static_cast<std::int64_t>(plane), p.conflict,
                          out.data<std::uint8_t>() + i * plane);
        }
    }
}

// (N,H,W) uint8 as a NumPy .npy file (format 1.0) for the peer script.
void write_npy(const std::string& path, const std::uint8_t* data, std::int64_t n, std::int64_t h,
               std::int64_t w) {
    std::string header = "{'descr': '|u1', 'fortran_order': False, 'shape': (" + std::to_string(n) +
                         ", " + std::to_string(h) + ", " + std::to_string(w) + "), }";
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::ofstream f(path, std::ios::binary);
    const char magic[] = "\x93NUMPY\x01\x00";
    f.write(magic, 8);
    const std::uint16_t len = static_cast<std::uint16_t>(header.size());
    const char len_bytes[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
    f.write(len_bytes, 2);
    f.write(header.data(), static_cast<std::streamsize>(header.size()));
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(n * h * w));
    if (!f) throw std::runtime_error("cannot write " + path);
}

nlohmann::json run_peer(const std::string& python, const std::string& peer, const Tensor& masks,
                        int count, int radius) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("bench_link_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const int n = std::min<int>(count, static_cast<int>(masks.dim(0)));
    const std::string npy = (dir / "masks.npy").string(), out = (dir / "peer.json").string();
    write_npy(npy, masks.data<std::uint8_t>(), n, masks.dim(1), masks.dim(2));
    const std::string cmd = python + " " + peer + " --masks " + npy + " --radius " +
                            std::to_string(radius) + " --json " + out;
    nlohmann::json j = bench::run_peer_command("bench_link", cmd, out);
    fs::remove_all(dir);
    return j;
}

struct Flags {
    std::string json, peer, python;
    int count300 = 2400, count512 = 2400, peer_count = 100, repeats = 3, radius = 20;
    // One tile alone (a Potsdam tile: 6000), linked by every thread and by one: 0 skips.
    int tile = 0, tile_points = 200000;
    // Issue 13's GPU target for the 300x300 set: 2400 masks linked, transfers included, in this.
    double target_s = 0.1;
    std::uint64_t seed = 0;
    bool skip_kdtree = false;
};

nlohmann::json bench_set(const Flags& f, int size, int points, int count) {
    std::fprintf(stderr, "bench_link: making %d masks of %dx%d at %d points/class\n", count, size,
                 size, points);
    const Tensor masks = make_masks(count, size, points, f.seed);
    LinkParams p;
    p.radius = f.radius;
    nlohmann::json r = {
        {"images", count}, {"size", size}, {"points_per_class", points}, {"radius", f.radius}};

    // (a) our CPU grid, end to end on every core, and its phases on one thread.
    CpuBackend cpu;
    Tensor out = Tensor::host(masks.shape(), DType::u8);
    LinkStats st;
    const bench::Timing t_cpu =
        bench::time_it([&] { st = cpu.link(masks, Tensor(), p, out); }, 1, f.repeats);
    r["points"] = st.points;
    r["pairs"] = st.pairs;
    r["coverage_before"] = double(st.points) / double(masks.numel());
    r["coverage_after"] = double(st.labelled_after) / double(masks.numel());
    r["cpu_grid"] = {{"backend", cpu.name()},
                     {"timing", bench::to_json(t_cpu)},
                     {"images_per_s", count / t_cpu.median_s}};
    GridScratch gs;
    const Phases grid =
        time_phases(masks, p,
                    [&](std::vector<LinkPoint>& pts, int h, int w, int radius,
                        std::vector<LinkPair>& pairs) -> const std::vector<LinkPoint>& {
                        find_pairs_grid(pts, h, w, radius, pairs, gs);
                        return pts;
                    });
    r["cpu_grid"]["one_thread"] = grid.json();

    // (b) nanoflann KD-tree search feeding the same rasterizer.
    if (!f.skip_kdtree) {
        KdScratch ks;
        const Phases kd =
            time_phases(masks, p,
                        [&](std::vector<LinkPoint>& pts, int, int, int radius,
                            std::vector<LinkPair>& pairs) -> const std::vector<LinkPoint>& {
                            find_pairs_kdtree(pts, radius, pairs, ks);
                            return ks.sorted;
                        });
        Tensor kd_out = Tensor::host(masks.shape(), DType::u8);
        const bench::Timing t_kd =
            bench::time_it([&] { link_kdtree_all(masks, p, kd_out); }, 1, f.repeats);
        const bool same = std::memcmp(kd_out.raw(), out.raw(), out.bytes()) == 0;
        r["kdtree_nanoflann"] = {{"timing", bench::to_json(t_kd)},
                                 {"images_per_s", count / t_kd.median_s},
                                 {"one_thread", kd.json()},
                                 {"output_equals_grid", same && kd.pairs == grid.pairs}};
        r["search_speedup_vs_nanoflann"] = kd.search_s / grid.search_s;
    }

    // (c) the GPU path, transfers included (pinned staging buffers, as the driver uses).
    if (cuda_devices() > 0) {
        auto gpu = make_backend(DeviceChoice::cuda, 0);
        Tensor h_in = gpu->host_staging(masks.shape(), DType::u8);
        std::memcpy(h_in.raw(), masks.raw(), masks.bytes());
        Tensor h_out = gpu->host_staging(masks.shape(), DType::u8);
        Tensor d_in = gpu->zeros(masks.shape(), DType::u8),
               d_out = gpu->zeros(masks.shape(), DType::u8);
        const bench::Timing t_gpu = bench::time_it(
            [&] {
                gpu->copy(d_in, h_in);
                gpu->link(d_in, Tensor(), p, d_out);
                gpu->copy(h_out, d_out);
            },
            1, f.repeats + 2, [&] { gpu->synchronize(); });
        const bench::Timing t_kernels =
            bench::time_it([&] { gpu->link(d_in, Tensor(), p, d_out); }, 1, f.repeats + 2,
                           [&] { gpu->synchronize(); });
        r["gpu"] = {{"backend", gpu->name()},
                    {"timing_with_transfers", bench::to_json(t_gpu)},
                    {"timing_link_only", bench::to_json(t_kernels)},
                    {"images_per_s", count / t_gpu.median_s},
                    {"output_equals_cpu", std::memcmp(h_out.raw(), out.raw(), out.bytes()) == 0},
                    {"speedup_vs_cpu", t_cpu.median_s / t_gpu.median_s}};
        // The target is for 2400 masks of 300x300; another count scales it per image.
        if (size == 300) {
            const double target = f.target_s * count / 2400.0;
            r["gpu"]["target_s"] = target;
            r["gpu"]["meets_target"] = t_gpu.median_s <= target;
        }
    } else {
        r["gpu"] = "no CUDA device";
    }

    // (d) the report's method on the first peer_count masks.
    if (!f.peer.empty() && f.peer_count > 0) {
        nlohmann::json peer = run_peer(bench::peer_python(f.python, "numpy, scipy"), f.peer, masks,
                                       f.peer_count, f.radius);
        r["peer"] = peer;
        if (peer.contains("ms_per_image")) {
            const double peer_s = peer["ms_per_image"].get<double>() / 1000.0;
            r["cpu_speedup_vs_peer"] = peer_s / (t_cpu.median_s / count);
            r["cpu_one_thread_speedup_vs_peer"] = peer_s / (grid.total() / count);
        }
    }
    return r;
}

// One large mask alone: CpuBackend::link shares it among the threads (strips of rows), against
// the same call on one thread; the outputs must agree.
nlohmann::json bench_tile(const Flags& f) {
    std::fprintf(stderr, "bench_link: making a %dx%d mask at %d points/class\n", f.tile, f.tile,
                 f.tile_points);
    const Tensor mask = make_masks(1, f.tile, f.tile_points, f.seed);
    LinkParams p;
    p.radius = f.radius;
    CpuBackend cpu;
    Tensor shared = Tensor::host(mask.shape(), DType::u8);
    Tensor alone = Tensor::host(mask.shape(), DType::u8);
    LinkStats st;
    const int threads = openmp_threads();
    const bench::Timing t_all =
        bench::time_it([&] { st = cpu.link(mask, Tensor(), p, shared); }, 1, f.repeats);
    use_openmp_threads(1);
    const bench::Timing t_one =
        bench::time_it([&] { cpu.link(mask, Tensor(), p, alone); }, 1, f.repeats);
    use_openmp_threads(threads);
    return {{"size", f.tile},
            {"points_per_class", f.tile_points},
            {"radius", f.radius},
            {"points", st.points},
            {"pairs", st.pairs},
            {"threads", threads},
            {"timing_all_threads", bench::to_json(t_all)},
            {"timing_one_thread", bench::to_json(t_one)},
            {"speedup_threads", t_one.median_s / t_all.median_s},
            {"output_equal", std::memcmp(shared.raw(), alone.raw(), shared.bytes()) == 0}};
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "bench_link: proximity linking throughput (CPU grid, nanoflann, GPU, the report's method)"};
    Flags f;
    app.add_option("--json", f.json, "write results here (stdout otherwise)");
    app.add_option("--peer", f.peer, "bench/peers/link_seed.py (empty: skip the peer)");
    app.add_option(
        "--python", f.python,
        "Python interpreter for the peer (default: $PFCE_PYTHON, else one with numpy and scipy)");
    app.add_option("--count", f.count300, "300x300 masks (500 points/class; 0 skips)")
        ->capture_default_str()
        ->check(bench::at_least(0));
    app.add_option("--count512", f.count512, "512x512 masks (2100 points/class; 0 skips)")
        ->capture_default_str()
        ->check(bench::at_least(0));
    app.add_option("--peer-count", f.peer_count, "masks the peer links (it is slow)")
        ->capture_default_str()
        ->check(bench::at_least(1));
    app.add_option("--repeats", f.repeats, "timed repeats")
        ->capture_default_str()
        ->check(bench::at_least(1));
    // D = 0 links no two points: its timings (and a speedup of two empty runs) would mean nothing.
    app.add_option("--radius", f.radius, "D, pixels")
        ->capture_default_str()
        ->check(CLI::Range(1, 10000));
    app.add_option("--target-s", f.target_s,
                   "GPU target for 2400 300x300 masks, transfers included (scaled per image)")
        ->capture_default_str();
    app.add_option("--seed", f.seed, "scene and sampler seed")
        ->capture_default_str()
        ->check(bench::at_least(0));
    app.add_flag("--skip-kdtree", f.skip_kdtree, "skip the nanoflann baseline");
    app.add_option("--tile", f.tile,
                   "also one mask of this side alone, linked by every thread and by one (6000: a "
                   "Potsdam tile; 0 skips)")
        ->capture_default_str()
        ->check(bench::at_least(0));
    app.add_option("--tile-points", f.tile_points, "--tile's points per class")
        ->capture_default_str()
        ->check(bench::at_least(1));
    CLI11_PARSE(app, argc, argv);
    bench::remove_scratch_of_dead_runs("bench_link_");
    try {
        bench::check_json_path(f.json);
        if (f.count300 == 0 && f.count512 == 0 && f.tile == 0)
            throw std::invalid_argument("--count 0 and --count512 0: nothing to time");
        nlohmann::json j = {{"benchmark", "link"},
                            {"seed", f.seed},
                            {"radius", f.radius},
                            {"machine", bench::machine_json()},
                            {"sets", nlohmann::json::array()}};
        if (f.count300 > 0) j["sets"].push_back(bench_set(f, 300, 500, f.count300));
        if (f.count512 > 0) j["sets"].push_back(bench_set(f, 512, 2100, f.count512));
        if (f.tile > 0) j["tile"] = bench_tile(f);
        bench::write_json(j, f.json);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_link: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
