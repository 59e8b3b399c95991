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
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <signal.h>
#include <sys/wait.h>

#include <cerrno>

#include <CLI/CLI.hpp>
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
// An integer option's check: at least `lo` ("--repeats 0: expected an integer >= 1"; CLI11's own
// PositiveNumber says "not in range 0.000000 to 1797693134862315708145...").
// Scratch files of a benchmark in the temp directory, named PREFIX<pid>: where an earlier run was
// killed (SIGKILL, a power cut: no destructor ran), its PREFIX<pid> holds a generated dataset of
// up to gigabytes. Removed when no process of that pid is alive; a live one's stays, and so does
// one holding kKeptMarker (a dataset kept on purpose, --keep).
inline constexpr const char* kKeptMarker = ".pfce-bench-kept";
inline void remove_scratch_of_dead_runs(const std::string& prefix) {
    namespace fs = std::filesystem;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(fs::temp_directory_path(ec), ec)) {
        const std::string name = e.path().filename().string();
        if (name.rfind(prefix, 0) != 0) continue;
        std::string pid = name.substr(prefix.size());
        const std::size_t dot = pid.find('.');  // PREFIX<pid>.json
        if (dot != std::string::npos) pid.resize(dot);
        if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos ||
            pid.size() > 9)
            continue;
        if (::kill(static_cast<pid_t>(std::stol(pid)), 0) == 0 || errno != ESRCH) continue;
        if (fs::exists(e.path() / kKeptMarker, ec)) continue;
        std::error_code rm;
        fs::remove_all(e.path(), rm);
        if (!rm)
            std::fprintf(stderr, "removed %s, left by a run that was killed\n", e.path().c_str());
    }
}

inline CLI::Validator at_least(long long lo) {
    return CLI::Validator(
        [lo](std::string& s) -> std::string {
            try {
                std::size_t used = 0;
                const long long v = std::stoll(s, &used);
                if (used == s.size() && v >= lo) return {};
            } catch (const std::exception&) {
            }
            return "expected an integer >= " + std::to_string(lo) + ", got \"" + s + "\"";
        },
        ">= " + std::to_string(lo));
}

// Min, median and mean of measured times (seconds), for benchmarks that time their own loops.
inline Timing summarize(std::vector<double> t) {
    // The options ask for at least one repeat; an empty list is a caller's bug, never a crash.
    if (t.empty()) throw std::invalid_argument("no timed repeats to summarize");
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
    // Said before the peer fails, naming every module asked for (its traceback names the first
    // one the interpreter lacks, which may not be what is missing where the others are).
    std::fprintf(stderr,
                 "bench: no interpreter imports %s (tried /usr/bin/python3, python3; give "
                 "--python or PFCE_PYTHON): the peer will fail\n",
                 modules.c_str());
    std::error_code ec;
    return std::filesystem::exists("/usr/bin/python3", ec) ? "/usr/bin/python3" : "python3";
}

// Runs a peer script's command line `cmd` (which writes its results to `json_path`) and returns
// those results, with "command" added, or {"error", "command"} when it fails. `who` prefixes the
// line that shows the command. The results file is removed.
// How a command std::system ran ended, as words: "exit code 1", "killed by signal 9" (its raw wait
// status, 256 for exit code 1, means nothing to a reader).
inline std::string exit_words(int status) {
    if (status == -1) return "could not be started";
    if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
    return "wait status " + std::to_string(status);
}

// Runs a peer script's command line `cmd` (which writes its results to `json_path`) and returns
// those results, with "command" added, or {"error", "command"} when it fails or writes no JSON
// that reads (a Python NaN, a cut file): said on stderr too, and the results file is removed
// either way. `who` prefixes the lines.
inline nlohmann::json run_peer_command(const char* who, const std::string& cmd,
                                       const std::filesystem::path& json_path) {
    std::fprintf(stderr, "%s: peer: %s\n", who, cmd.c_str());
    const int rc = std::system(cmd.c_str());
    std::string error;
    nlohmann::json j;
    std::error_code ec;
    if (rc != 0) {
        error = "peer failed (" + exit_words(rc) + "; its output is above)";
    } else if (!std::filesystem::exists(json_path, ec)) {
        error = "peer wrote no results (" + json_path.string() + ")";
    } else {
        try {
            std::ifstream f(json_path);
            j = nlohmann::json::parse(f);
            if (!j.is_object()) error = "peer results are not a JSON object";
        } catch (const nlohmann::json::exception& e) {
            error = std::string("peer results do not read as JSON: ") + e.what();
        }
    }
    std::filesystem::remove(json_path, ec);
    if (!error.empty()) {
        std::fprintf(stderr, "%s: %s\n", who, error.c_str());
        return {{"error", error}, {"command", cmd}};
    }
    j["command"] = cmd;
    return j;
}

// Refuses, before any work, a --json path the results could not be written to (its directory
// missing, or a directory itself): found at the end, the run's results were lost.
inline void check_json_path(const std::string& path) {
    if (path.empty()) return;
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path p(path);
    if (fs::is_directory(p, ec))
        throw std::invalid_argument("--json " + path + " is a directory (expected a file name)");
    const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
    if (!fs::is_directory(dir, ec))
        throw std::invalid_argument("--json " + path + ": its directory " + dir.string() +
                                    " does not exist");
}

// A benchmark's main: its errors (std::exception) are said as "who: error: ...", exit 1.
inline int run_main(const char* who, const std::function<int()>& body) {
    try {
        return body();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: error: %s\n", who, e.what());
        return 1;
    }
}

// Writes j to `path` (temp + rename) or prints it when path is empty.
inline void write_json(const nlohmann::json& j, const std::string& path) {
    if (path.empty()) {
        std::printf("%s\n", j.dump(2).c_str());
        return;
    }
    const std::string tmp = path + ".tmp";
    std::error_code ec;
    {
        std::ofstream f(tmp);
        f << j.dump(2) << "\n";
        if (!f) {
            std::filesystem::remove(tmp, ec);
            throw std::runtime_error("cannot write " + path);
        }
    }
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::filesystem::remove(tmp, ec);
        throw std::runtime_error("cannot write " + path + ": " + ec.message());
    }
    std::fprintf(stderr, "wrote %s\n", path.c_str());
}

}  // namespace pfce::bench
