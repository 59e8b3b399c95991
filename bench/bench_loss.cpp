// bench_loss: the fused partial focal loss, forward + backward, on the shapes. Reports
// time, effective bandwidth (logits read + dlogits written + labels read), the bandwidth of a copy
// of the logits measured in the same run (CUDA: device to device; CPU: memcpy on the loss's
// threads and on one, alternating with the loss) and the ratio to it, and with --peer
// the speedup over PyTorch eager (bench/peers/focal_torch.py) on the same device and thread count.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#ifdef PFCE_HAVE_CUDA
#include <cuda_runtime.h>

#include "cuda/cuda_backend.hpp"
#include "cuda/cuda_context.hpp"
#endif

#include "bench/bench_common.hpp"
#include "core/rng.hpp"

using namespace pfce;

namespace {

struct Options {
    std::string json, device = "auto", peer, python;
    std::string shapes = "16,6,512,512;32,6,304,304";
    int repeats = 10, warmup = 2, peer_repeats = 3, calls = 20;
    float gamma = 2.0f, unlabelled = 0.0f;
};

std::vector<Shape> parse_shapes(const std::string& text) {
    std::vector<Shape> out;
    std::stringstream all(text);
    std::string one;
    while (std::getline(all, one, ';')) {
        std::int64_t d[4];
        char sep;
        std::stringstream s(one);
        std::string rest;
        // Strictly four positive numbers: "1x2x4x4garbage" read as (1,2,4,4), a 0 timed nothing
        // (and said "ratio -nan"), and a product past 2^63 wrapped before the allocation.
        if (!(s >> d[0] >> sep >> d[1] >> sep >> d[2] >> sep >> d[3]) || (s >> rest))
            PFCE_THROW(InputError, "--shapes: '", one, "' is not N,C,H,W");
        double values = 1;
        for (std::int64_t v : d) {
            if (v < 1) PFCE_THROW(InputError, "--shapes: '", one, "': every size must be >= 1");
            values *= static_cast<double>(v);
        }
        if (values > 9.2e18 / 4)
            PFCE_THROW(InputError, "--shapes: '", one, "' holds more values than memory can");
        out.push_back(Shape{d[0], d[1], d[2], d[3]});
    }
    if (out.empty()) PFCE_THROW(InputError, "--shapes: no shape given (expected N,C,H,W;...)");
    return out;
}

std::string shapes_arg(const std::vector<Shape>& shapes) {
    std::string s;
    for (const Shape& sh : shapes) {
        if (!s.empty()) s += ";";
        s += std::to_string(sh[0]) + "," + std::to_string(sh[1]) + "," + std::to_string(sh[2]) +
             "," + std::to_string(sh[3]);
    }
    return s;
}

int threads_in_use() {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

// Logits uniform in [-3,3), labels uniform over the classes, a fraction set to 255.
void fill_inputs(Tensor& logits, Tensor& labels, float unlabelled, std::uint64_t seed) {
    CounterRng rz(seed, 1), ry(seed, 2);
    float* z = logits.data<float>();
    for (std::int64_t i = 0; i < logits.numel(); ++i)
        z[i] = static_cast<float>(rz.uniform() * 6.0 - 3.0);
    const auto c = static_cast<std::uint32_t>(logits.dim(1));
    std::uint8_t* y = labels.data<std::uint8_t>();
    for (std::int64_t i = 0; i < labels.numel(); ++i)
        y[i] = ry.uniform() < unlabelled ? kUnlabelled : static_cast<std::uint8_t>(ry.below(c));
}

#ifdef PFCE_HAVE_CUDA
// Median over `repeats` event pairs of the time per call of fn, each pair around `calls`
// back-to-back calls on `stream` (so launch gaps count as they do in a training step, and a
// kernel of a few microseconds is not timed against the event's own resolution), after `warmup`
// untimed calls.
double cuda_median_s(cudaStream_t stream, const std::function<void()>& fn, int warmup, int repeats,
                     int calls) {
    for (int i = 0; i < warmup; ++i) fn();
    cudaEvent_t a, b;
    cudaEventCreate(&a);
    cudaEventCreate(&b);
    std::vector<double> t;
    for (int i = 0; i < repeats; ++i) {
        cudaEventRecord(a, stream);
        for (int k = 0; k < calls; ++k) fn();
        cudaEventRecord(b, stream);
        cudaEventSynchronize(b);
        float ms = 0;
        cudaEventElapsedTime(&ms, a, b);
        t.push_back(ms * 1e-3 / calls);
    }
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}
#endif

// Runs the peer script; returns its JSON or an object with "error".
nlohmann::json run_peer(const Options& o, const std::vector<Shape>& shapes, bool cuda,
                        int threads) {
    namespace fs = std::filesystem;
    const fs::path out =
        fs::temp_directory_path() / ("pfce_focal_peer_" + std::to_string(::getpid()) + ".json");
    const std::string python = bench::peer_python(o.python, "torch");
    const std::string cmd = python + " '" + o.peer + "' --device " + (cuda ? "cuda" : "cpu") +
                            " --threads " + std::to_string(threads) + " --shapes '" +
                            shapes_arg(shapes) + "' --gamma " + std::to_string(o.gamma) +
                            " --unlabelled " + std::to_string(o.unlabelled) + " --repeats " +
                            std::to_string(o.peer_repeats) + " --json '" + out.string() + "'";
    return bench::run_peer_command("bench_loss", cmd, out);
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{"bench_loss: fused partial focal loss, forward + backward"};
    app.add_option("--json", o.json, "write results here (default: stdout)");
    app.add_option("--device", o.device, "auto | cpu | cuda[:N]")->capture_default_str();
    app.add_option("--repeats", o.repeats, "timed runs per shape")
        ->capture_default_str()
        ->check(bench::at_least(1));
    app.add_option("--warmup", o.warmup, "untimed runs per shape")
        ->capture_default_str()
        ->check(bench::at_least(0));
    app.add_option("--calls", o.calls, "CUDA: back-to-back calls timed by one event pair")
        ->capture_default_str()
        ->check(bench::at_least(1));
    app.add_option("--shapes", o.shapes, "N,C,H,W;...")->capture_default_str();
    app.add_option("--gamma", o.gamma, "focal gamma")->capture_default_str();
    app.add_option("--unlabelled", o.unlabelled, "fraction of pixels labelled 255")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1.0));
    app.add_option("--peer", o.peer,
                   "run this peer script (bench/peers/focal_torch.py) and report the speedup");
    app.add_option("--peer-repeats", o.peer_repeats, "timed runs per shape for the peer")
        ->capture_default_str()
        ->check(bench::at_least(1));
    app.add_option("--python", o.python,
                   "interpreter for the peer (default /usr/bin/python3 if present)");
    CLI11_PARSE(app, argc, argv);

    try {
        bench::check_json_path(o.json);
        const std::vector<Shape> shapes = parse_shapes(o.shapes);
        std::unique_ptr<Backend> backend = make_backend(o.device);
        const bool cuda = backend->device() == DeviceKind::cuda;
        const int threads = threads_in_use();
        FocalLossParams params;
        params.gamma = o.gamma;

        nlohmann::json out = {{"bench", "loss"},
                              {"machine", bench::machine_json()},
                              {"backend", backend->name()},
                              {"threads", threads},
                              {"gamma", o.gamma},
                              {"alpha", "1 for every class"},
                              {"normalize", "labelled"},
                              {"unlabelled", o.unlabelled},
                              {"bytes_counted", "logits read + dlogits written + labels read"}};
        double copy_gbs = 0.0;
        nlohmann::json cases = nlohmann::json::array();
        std::uint64_t seed = 1;
        for (const Shape& s : shapes) {
            Tensor logits_h = Tensor::host(s, DType::f32);
            Tensor labels_h = Tensor::host({s[0], s[2], s[3]}, DType::u8);
            fill_inputs(logits_h, labels_h, o.unlabelled, seed++);
            Tensor logits = backend->zeros(s, DType::f32);
            Tensor labels = backend->zeros(labels_h.shape(), DType::u8);
            backend->copy(logits, logits_h);
            backend->copy(labels, labels_h);
            Tensor loss = backend->zeros({1}, DType::f32);
            Tensor dlogits = backend->zeros(s, DType::f32);
            auto step = [&] { backend->focal_loss(logits, labels, params, loss, dlogits); };
            const double bytes =
                static_cast<double>(logits.bytes() + dlogits.bytes() + labels.bytes());

            nlohmann::json c = {{"shape", {s[0], s[1], s[2], s[3]}}, {"bytes", bytes}};
            double median_s = 0.0;
#ifdef PFCE_HAVE_CUDA
            if (cuda) {
                cudaStream_t stream = static_cast<CudaBackend&>(*backend).context().stream;
                median_s = bench::time_it(step, 0, 1, [&] {
                               backend->synchronize();
                           }).median_s;  // first touch
                // Every kernel variant of the loss, the default first; the default's time is the
                // case's time (the one compared with the peer), each variant's is reported beside.
                std::vector<std::string> variants = backend->op_variants("focal_loss");
                nlohmann::json by_variant = nlohmann::json::object();
                std::string best;
                double best_s = 0.0;
                for (const std::string& v : variants) {
                    backend->select_op_variant("focal_loss", v);
                    const double t = cuda_median_s(stream, step, o.warmup, o.repeats, o.calls);
                    by_variant[v] = {{"median_s", t}, {"gbs", bytes / t / 1e9}};
                    if (best.empty() || t < best_s) {
                        best = v;
                        best_s = t;
                    }
                }
                if (!variants.empty()) backend->select_op_variant("focal_loss", variants.front());
                median_s = cuda_median_s(stream, step, o.warmup, o.repeats, o.calls);
                // Device-to-device copy of as many bytes as the loss moves (read + write counted).
                Tensor copy_dst = backend->zeros(s, DType::f32);
                const double copy_s = cuda_median_s(
                    stream,
                    [&] {
                        PFCE_CUDA_CHECK(cudaMemcpyAsync(copy_dst.raw(), logits.raw(),
                                                        logits.bytes(), cudaMemcpyDeviceToDevice,
                                                        stream));
                    },
                    o.warmup, o.repeats, o.calls);
                copy_gbs = 2.0 * static_cast<double>(logits.bytes()) / copy_s / 1e9;
                c["copy_gbs"] = copy_gbs;
                c["timing"] = {{"median_s", median_s},
                               {"repeats", o.repeats},
                               {"calls_per_event_pair", o.calls},
                               {"clock", "cudaEvent"}};
                for (auto& [name, v] : by_variant.items())
                    v["ratio_to_copy"] = v["gbs"].get<double>() / copy_gbs;
                c["variants"] = by_variant;
                c["best_variant"] = best;
                for (auto& [name, v] : by_variant.items())
                    std::fprintf(stderr, "bench_loss: %s variant %s: %.3f ms, ratio to copy %.2f\n",
                                 s.str().c_str(), name.c_str(), v["median_s"].get<double>() * 1e3,
                                 v["ratio_to_copy"].get<double>());
            }
#endif
            if (!cuda) {
                // The loss and a memcpy of the logits (as many bytes read and written as the loss
                // moves, within the labels' 2%) alternate, so both see the same machine load: the
                // copy on the loss's thread count (each thread one contiguous slice) and on one
                // thread. Bandwidths count read + write bytes on both sides.
                Tensor copy_dst = Tensor::host(s, DType::f32);
                const auto* src = static_cast<const char*>(logits.raw());
                auto* dst = static_cast<char*>(copy_dst.raw());
                const std::size_t copy_bytes = logits.bytes();
                auto copy_threads = [&] {
#pragma omp parallel num_threads(threads)
                    {
                        int t = 0, nt = 1;
#ifdef _OPENMP
                        t = omp_get_thread_num();
                        nt = omp_get_num_threads();
#endif
                        const std::size_t b = copy_bytes * static_cast<std::size_t>(t) / nt;
                        const std::size_t e = copy_bytes * static_cast<std::size_t>(t + 1) / nt;
                        std::memcpy(dst + b, src + b, e - b);
                    }
                };
                auto copy_one = [&] { std::memcpy(dst, src, copy_bytes); };
                for (int i = 0; i < o.warmup; ++i) {
                    step();
                    copy_threads();
                    copy_one();
                }
                std::vector<double> t_loss, t_copy, t_copy1;
                auto wall = [](const std::function<void()>& fn) {
                    const auto a = std::chrono::steady_clock::now();
                    fn();
                    return std::chrono::duration<double>(std::chrono::steady_clock::now() - a)
                        .count();
                };
                for (int i = 0; i < o.repeats; ++i) {
                    t_loss.push_back(wall(step));
                    t_copy.push_back(wall(copy_threads));
                    t_copy1.push_back(wall(copy_one));
                }
                const bench::Timing t = bench::summarize(t_loss), tc = bench::summarize(t_copy),
                                    tc1 = bench::summarize(t_copy1);
                median_s = t.median_s;
                c["timing"] = bench::to_json(t);
                const double moved = 2.0 * static_cast<double>(copy_bytes);
                copy_gbs = moved / tc.median_s / 1e9;
                const double copy1_gbs = moved / tc1.median_s / 1e9;
                c["copy_bytes"] = copy_bytes;
                c["copy_threads"] = threads;
                c["copy_timing"] = bench::to_json(tc);
                c["copy_gbs"] = copy_gbs;
                c["copy_one_thread_timing"] = bench::to_json(tc1);
                c["copy_one_thread_gbs"] = copy1_gbs;
                c["ratio_to_copy"] = bytes / median_s / 1e9 / copy_gbs;
                c["ratio_to_copy_one_thread"] = bytes / median_s / 1e9 / copy1_gbs;
            }
            Tensor loss_h = Tensor::host({1}, DType::f32);
            backend->copy(loss_h, loss);
            const double gbs = bytes / median_s / 1e9;
            c["gbs"] = gbs;
            c["loss"] = loss_h.data<float>()[0];
            std::fprintf(stderr, "bench_loss: %s on %s: %.3f ms, %.1f GB/s", s.str().c_str(),
                         backend->name().c_str(), median_s * 1e3, gbs);
            if (cuda) c["ratio_to_copy"] = gbs / copy_gbs;
            std::fprintf(stderr, ", copy %.1f GB/s, ratio %.2f", copy_gbs, gbs / copy_gbs);
            if (!cuda)
                std::fprintf(stderr, " (one-thread copy %.1f GB/s, ratio %.2f)",
                             c["copy_one_thread_gbs"].get<double>(),
                             c["ratio_to_copy_one_thread"].get<double>());
            std::fprintf(stderr, "\n");
            cases.push_back(c);
        }

        if (!o.peer.empty()) {
            nlohmann::json peer = run_peer(o, shapes, cuda, threads);
            if (peer.contains("results")) {
                for (std::size_t i = 0; i < cases.size(); ++i) {
                    // By shape, not position: a peer that skipped a shape shifts no other's.
                    const nlohmann::json* mine = nullptr;
                    for (const auto& pr : peer["results"])
                        if (pr.value("shape", nlohmann::json()) == cases[i]["shape"]) mine = &pr;
                    // value(), not the const operator[] (undefined for a missing key): a peer
                    // result without a time or a loss is said, never written as broken JSON.
                    if (!mine || !mine->value("median_s", nlohmann::json()).is_number()) {
                        std::fprintf(stderr, "bench_loss: %s: no peer result\n",
                                     shapes[i].str().c_str());
                        continue;
                    }
                    const double theirs = mine->at("median_s").get<double>();
                    const double ours = cases[i]["timing"]["median_s"].get<double>();
                    cases[i]["peer_median_s"] = theirs;
                    cases[i]["peer_loss"] = mine->value("loss", nlohmann::json());
                    cases[i]["speedup_vs_peer"] = theirs / ours;
                    std::fprintf(
                        stderr,
                        "bench_loss: %s: torch eager %.3f ms, ours %.3f ms, speedup %.2fx\n",
                        shapes[i].str().c_str(), theirs * 1e3, ours * 1e3, theirs / ours);
                }
            }
            out["peer"] = peer;
        }
        out["cases"] = cases;
        bench::write_json(out, o.json);
    } catch (const Error& e) {
        std::fprintf(stderr, "bench_loss: %s (%s)\n", e.what(), e.where().c_str());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_loss: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
