// Shared benchmark plumbing: wall-clock timing with warm-up and repeats, machine facts, running a
// peer script, and JSON results written atomically to the path given with --json (stdout
// otherwise).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/build_info.hpp"
#include "host/backend/backend_factory.hpp"

namespace pfce::bench {

struct Timing {
    double median_s = 0, min_s = 0, mean_s = 0;
    int repeats = 0;
};

// Runs fn `warmup` times untimed, then `repeats` times; `sync` (e.g. backend.synchronize) is called
// before each clock read so asynchronous device work is counted.
// Min, median and mean of measured times (seconds), for benchmarks that time their own loops.
inline Timing summarize(std::vector<double> t) {
    std::sort(t.begin(), t.end());
    Timing r;
    r.repeats = static_cast<int>(t.size());
    r.min_s = t.front();
    r.median_s = t[t.size() / 2];
    double s = 0;
    for (double v : t) s += v;
    r.mean_s = s / static_cast<double>(t.size());
    return r;
}

inline Timing time_it(
    const std::function<void()>& fn, int warmup, int repeats,
    const std::function<void()>& sync = [] {}) {
    for (int i = 0; i < warmup; ++i) fn();
    sync();
    std::vector<double> t;
    for (int i = 0; i < repeats; ++i) {
        auto a = std::chrono::steady_clock::now();
        fn();
        sync();
        t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
    }
    return summarize(std::move(t));
}

inline nlohmann::json to_json(const Timing& t) {
    return {
        {"median_s", t.median_s}, {"min_s", t.min_s}, {"mean_s", t.mean_s}, {"repeats", t.repeats}};
}

inline nlohmann::json machine_json() {
    return {{"pfce_version", PFCE_VERSION},
            {"cuda_built", cuda_compiled()},
            {"cuda_devices", cuda_device_lines()},
            {"hardware_threads", std::thread::hardware_concurrency()},
            {"compiler", PFCE_COMPILER}};
}

// The interpreter for peer scripts: `given` (--python) if set, else $PFCE_PYTHON, else the first of
// /usr/bin/python3 (Debian's, which carries python3-torch/scipy) and python3 that imports
// `modules`.
inline std::string peer_python(const std::string& given, const std::string& modules = "numpy") {
    if (!given.empty()) return given;
    if (const char* env = std::getenv("PFCE_PYTHON")) return env;
    for (const char* py : {"/usr/bin/python3", "python3"}) {
        const std::string probe = std::string(py) + " -c 'import " + modules + "' > /dev/null 2>&1";
        if (std::system(probe.c_str()) == 0) return py;
    }
    return "python3";
}

// Runs a peer script's command line `cmd` (which writes its results to `json_path`) and returns
// those results, with "command" added, or {"error", "command"} when it fails. `who` prefixes the
// line that shows the command. The results file is removed.
inline nlohmann::json run_peer_command(const char* who, const std::string& cmd,
                                       const std::filesystem::path& json_path) {
    std::fprintf(stderr, "%s: peer: %s\n", who, cmd.c_str());
    const int rc = std::system(cmd.c_str());
    if (rc != 0 || !std::filesystem::exists(json_path))
        return {{"error", "peer exited with status " + std::to_string(rc)}, {"command", cmd}};
    nlohmann::json j;
    {
        std::ifstream f(json_path);
        j = nlohmann::json::parse(f);
    }
    std::filesystem::remove(json_path);
    j["command"] = cmd;
    return j;
}

// Writes j to `path` (temp + rename) or prints it when path is empty.
inline void write_json(const nlohmann::json& j, const std::string& path) {
    if (path.empty()) {
        std::printf("%s\n", j.dump(2).c_str());
        return;
    }
    const std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp);
        f << j.dump(2) << "\n";
        if (!f) throw std::runtime_error("cannot write " + tmp);
    }
    std::filesystem::rename(tmp, path);
    std::fprintf(stderr, "wrote %s\n", path.c_str());
}

}  // namespace pfce::bench
