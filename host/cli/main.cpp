// The `pfce` command: parses the subcommand and turns any pfce::Error into one clear message and a
// non-zero exit (2 for bad input, 3 for work done in part, 1 for everything else).
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <new>
#include <regex>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/build_info.hpp"
#include "core/log.hpp"
#include "core/source_version.hpp"
#include "core/stop_signal.hpp"
#include "host/cli/command_registry.hpp"
#include "host/cli/empty_values.hpp"

namespace {

// More OpenMP threads than the machine has only wait on each other: OMP_NUM_THREADS=20000 made a
// 0.2 s training take minutes, and 100000 crashed inside the OpenMP runtime. Such a count is
// capped at the CPUs the process may use, saying so; the CPU results are the same bits on any
// count.
void cap_openmp_threads() {
#ifdef _OPENMP
    // The CPUs this process may run on (taskset, a container's cpuset), else the machine's.
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    const int hardware = sched_getaffinity(0, sizeof allowed, &allowed) == 0
                             ? CPU_COUNT(&allowed)
                             : static_cast<int>(std::thread::hardware_concurrency());
    const int asked = omp_get_max_threads();
    // A value OpenMP cannot read (0, -1, abc, empty) is dropped by it with a line of its own that
    // names no consequence: say what is used instead. (It takes a list, 4,2, for nested levels.)
    if (const char* env = std::getenv("OMP_NUM_THREADS");
        env &&
        !std::regex_match(env, std::regex(R"(\s*\+?0*[1-9][0-9]*(\s*,\s*\+?0*[1-9][0-9]*)*\s*)")))
        pfce::log_warn("OMP_NUM_THREADS=\"", env,
                       "\" is not a positive count of threads: OpenMP ignores it and uses ", asked);
    if (hardware <= 0 || asked <= hardware) return;
    omp_set_num_threads(hardware);
    // The variable as written: a count past 2^32 reaches OpenMP wrapped (99999999999 became
    // 1215752191), a number the user never typed.
    const char* env = std::getenv("OMP_NUM_THREADS");
    pfce::log_warn("OpenMP asks for ",
                   env ? "OMP_NUM_THREADS=" + std::string(env) : std::to_string(asked) + " threads",
                   ", more threads than the CPUs this process may use (", hardware, "): using ",
                   hardware);
#endif
}

// CLI11 reads integers with strtoll's base 0: "--count 010" made 8 images and "0x10" 16, without
// a word. Integer options take decimal digits only (leading zeros dropped: 010 is 10), after a
// '+' (as every number option takes one) or, for a signed one, a '-'; anything else is refused
// naming the value.
CLI::Validator decimal_integer(bool is_signed) {
    return CLI::Validator(
        [is_signed](std::string& s) -> std::string {
            const std::string expected =
                is_signed ? "expected an integer" : "expected a non-negative integer";
            std::size_t start = 0;
            if (!s.empty() && (s[0] == '+' || (is_signed && s[0] == '-'))) start = 1;
            if (s.size() == start || s.find_first_not_of("0123456789", start) != std::string::npos)
                return expected + ", got \"" + s + "\"";
            const std::size_t first = std::min(s.find_first_not_of('0', start), s.size() - 1);
            s = (start && s[0] == '-' ? "-" : "") + s.substr(first);
            return {};
        },
        "");
}

void read_integers_as_decimal(CLI::App& app) {
    // Config-key flags ("[section]" groups) parse their own text, in decimal (config_flags).
    const auto config_key = [](const std::string& group) { return group.rfind('[', 0) == 0; };
    for (CLI::Option* opt : app.get_options()) {
        if (opt->get_type_size_max() == 0) continue;  // a flag: its value is no number typed
        if (config_key(app.get_group()) || config_key(opt->get_group())) continue;
        const std::string type = opt->get_type_name();
        if (type.rfind("UINT", 0) == 0)
            opt->transform(decimal_integer(false));
        else if (type.rfind("INT", 0) == 0)
            opt->transform(decimal_integer(true));
    }
    for (CLI::App* sub : app.get_subcommands({})) read_integers_as_decimal(*sub);
}

// The deepest subcommand the command line selected (`data synth`): where its options are.
const CLI::App* selected_command(const CLI::App& app) {
    const CLI::App* at = &app;
    for (auto subs = at->get_subcommands(); !subs.empty(); subs = at->get_subcommands())
        at = subs.back();
    return at;
}

// CLI11's "Could not convert: --count = abc" as "--count abc: expected an integer", from the
// option's type; other parse errors as CLI11 words them.
std::string parse_error_message(const CLI::App& app, const CLI::ParseError& e) {
    const std::string what = e.what();
    const std::string prefix = "Could not convert: ";
    const std::size_t eq = what.find(" = ");
    if (!dynamic_cast<const CLI::ConversionError*>(&e) || what.rfind(prefix, 0) != 0 ||
        eq == std::string::npos || eq <= prefix.size())
        return what;
    const std::string name = what.substr(prefix.size(), eq - prefix.size());
    const std::string value = what.substr(eq + 3);
    const CLI::Option* opt = nullptr;
    for (const CLI::App* at = selected_command(app); at && !opt; at = at->get_parent())
        opt = at->get_option_no_throw(name);
    const std::string type = opt ? opt->get_type_name() : std::string();
    std::string expected = "expected a value of type " + (type.empty() ? "TEXT" : type);
    // Integers reach conversion as decimal digits (read_integers_as_decimal): what fails is their
    // size.
    if (type.rfind("UINT", 0) == 0)
        expected = "expected a non-negative integer small enough for this option";
    else if (type.rfind("INT", 0) == 0)
        expected = "expected an integer small enough for this option";
    else if (type.rfind("FLOAT", 0) == 0)
        expected = "expected a number";
    return name + " " + (value.empty() ? "\"\"" : value) + ": " + expected;
}

// --help-all shows every option of every command, also of a command's own subcommands (data
// synth, stats, preview), which CLI11's formatter lists by name only.
class NestedHelpFormatter : public CLI::Formatter {
  public:
    std::string make_expanded(const CLI::App* sub) const override {
        if (sub->get_subcommands({}).empty()) return CLI::Formatter::make_expanded(sub);
        std::stringstream out;
        out << sub->get_display_name(true) << "\n"
            << make_description(sub) << make_positionals(sub)
            << make_groups(sub, CLI::AppFormatMode::Sub)
            << make_subcommands(sub, CLI::AppFormatMode::All);
        // As the base: no blank lines, every line but the name indented.
        std::string text = CLI::detail::find_and_replace(out.str(), "\n\n", "\n");
        text = text.substr(0, text.size() - 1);
        return CLI::detail::find_and_replace(text, "\n", "\n  ") + "\n";
    }
};

// The command that ran ("predict", "data preview"), from what CLI11 parsed.
std::string command_path(const CLI::App& app) {
    std::string path;
    for (const CLI::App* a = &app;;) {
        const auto subs = a->get_subcommands();
        if (subs.empty()) return path;
        a = subs.front();
        path += (path.empty() ? "" : " ") + a->get_name();
    }
}

// What holds less memory in the command that ran out of it: each command's own flags (advice on
// training flags after `pfce predict` named options predict does not have).
std::string out_of_memory_advice(const CLI::App& app) {
    const std::string command = command_path(app);
    if (command == "predict")
        return "an image and its windows are larger than this machine holds; cut the image into "
               "tiles (gdal_retile.py -ps 6000 6000), or lower --zoom, --window or --tta";
    if (command == "eval")
        return "the split's images and their windows are larger than this machine holds; lower "
               "--batch-size, --window or --tta";
    if (command == "link")
        return "the masks held at once are larger than this machine holds; lower --batch (masks "
               "per wave) or --max-pixels";
    if (command == "sample")
        return "the dataset's masks or the point layer are larger than this machine holds; sample "
               "a part of the dataset at a time, or split the point layer (--from-points)";
    if (command == "data stats")
        return "an image of the dataset is larger than this machine holds; lower --max-pixels, "
               "and such an image is refused by name before it is read";
    if (command == "data synth")
        return "a synthetic image is larger than this machine holds; lower --size";
    if (command == "doctor" || command.empty())
        return "this machine has no memory left for pfce; close other programs and try again";
    if (command == "data preview")
        return "the contact sheet is larger than this machine holds; lower --count or --panel";
    if (command == "run")
        return "an experiment's data, a batch or an image is larger than this machine holds; "
               "lower run.batch_size, data.max_pixels or data.max_samples, or train on crops "
               "(data.crop_size), in the suite's [override] table";
    return "the data, a batch or an image is larger than this machine holds; lower "
           "--batch-size, --max-pixels or --max-samples, or train on crops (--crop-size)";
}

int run_pfce(int argc, char** argv) {
    CLI::App app{"pfce: train segmentation models for aerial imagery from sparse point labels"};
    app.formatter(std::make_shared<NestedHelpFormatter>());  // before the commands: they copy it
    app.require_subcommand(1);
    app.fallthrough();  // -q / -v are accepted after the subcommand too
    app.set_help_all_flag("--help-all", "show help for every subcommand");
    // A bug report or a paper's methods names the build (pfce doctor says more of it).
    app.set_version_flag("--version",
                         "pfce " + pfce::pfce_version_text() + ", " + PFCE_BUILD_TYPE + " build");
    bool verbose = false, quiet = false;
    app.add_flag("-v,--verbose", verbose, "log debug messages");
    app.add_flag("-q,--quiet", quiet, "log warnings and errors only");
    app.parse_complete_callback([&] {
        if (verbose) pfce::set_log_level(pfce::LogLevel::debug);
        if (quiet) pfce::set_log_level(pfce::LogLevel::warn);
    });
    pfce::cli::install_commands(app);
    read_integers_as_decimal(app);
    cap_openmp_threads();
    try {
        const std::vector<std::string> args = pfce::cli::checked_arguments(app, argc, argv);
        std::vector<const char*> ptrs{argv[0]};
        for (const std::string& a : args) ptrs.push_back(a.c_str());
        app.parse(static_cast<int>(ptrs.size()), ptrs.data());
    } catch (const CLI::RuntimeError& e) {
        return e.get_exit_code();  // a command's own status (1: failed, 130: interrupted)
    } catch (const pfce::StopRequested&) {
        // Ctrl-C / SIGTERM where the command has no words of its own (a dataset being written
        // for a run): what was being written is incomplete, and the same command goes on.
        std::fprintf(stderr,
                     "pfce: stopped (Ctrl-C / SIGTERM); run the same command again to go on\n");
        return 130;
    } catch (const CLI::ParseError& e) {
        // --help prints and exits 0; every misuse of the command line exits 2, as InputError does
        // (CLI11's own codes, 100 and up, tell a script nothing more), and reads as pfce's other
        // errors do ("Could not convert: --radius = abc" named no expectation).
        if (e.get_exit_code() == 0) return app.exit(e);
        std::fprintf(stderr,
                     "pfce: error: %s\nRun with --help or --help-all for more information.\n",
                     parse_error_message(app, e).c_str());
        return 2;
    } catch (const pfce::InputError& e) {
        std::fprintf(stderr, "pfce: error: %s\n", e.what());
        return 2;
    } catch (const pfce::cli::PartlyDone& e) {
        std::fprintf(stderr, "pfce: error: %s\n", e.what());
        return pfce::cli::kExitPartlyDone;
    } catch (const pfce::ShapeError& e) {
        // A caller broke an op's contract: pfce's bug, so where it happened is part of the report.
        std::fprintf(stderr, "pfce: internal error: %s\n  (at %s)\n", e.what(), e.where().c_str());
        return 1;
    } catch (const pfce::Error& e) {
        // A library, the file system or the numbers failed: the message says what; the source
        // line only with --verbose.
        std::fprintf(stderr, "pfce: error: %s\n", e.what());
        if (verbose) std::fprintf(stderr, "  (at %s)\n", e.where().c_str());
        return 1;
    } catch (const std::filesystem::filesystem_error& e) {
        // A path the system would not take where no check of pfce's said more: "filesystem
        // error: status: Too many levels of symbolic links [out/loop]" reads as the path, the
        // reason and the call. A path given that cannot be one (a loop, a name too long, a file
        // where a directory must be, no permission) is the caller's to fix, as an InputError.
        std::string where = e.path1().string();
        if (!e.path2().empty()) where += " -> " + e.path2().string();
        std::string call = e.what();  // "filesystem error: OPERATION: REASON [PATHS]"
        const std::string prefix = "filesystem error: ";
        call = call.rfind(prefix, 0) == 0 ? call.substr(prefix.size()) : call;
        call = call.substr(0, call.find(':'));
        std::fprintf(stderr, "pfce: error: %s: %s (%s)\n", where.c_str(),
                     e.code().message().c_str(), call.c_str());
        const int v = e.code().value();
        const bool callers = e.code().category() == std::generic_category() ||
                             e.code().category() == std::system_category();
        return callers && (v == ELOOP || v == ENAMETOOLONG || v == ENOTDIR || v == EACCES ||
                           v == EROFS || v == EEXIST || v == EISDIR || v == ENOENT)
                   ? 2
                   : 1;
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "pfce: error: out of memory (std::bad_alloc): %s\n",
                     out_of_memory_advice(app).c_str());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pfce: error: %s\n", e.what());
        return 1;
    }
    return 0;
}

}  // namespace

// Settings the runtime libraries read once, as they are loaded (before main): where one is not set,
// pfce sets it and starts itself again (the same process: exec keeps its id, arguments and
// descriptors), once for all. Where exec fails (no /proc), it goes on as loaded.
//
// OpenBLAS (the pthread build Debian ships) starts a pool of worker threads when it is loaded,
// each reserving buffers (about 128 MB of address space a thread). Nothing in pfce calls BLAS
// (oneDNN and pfce's own loops do the CPU's arithmetic; `pfce doctor` reports the library), but
// under an address-space limit (ulimit -v; a cluster's h_vmem, where a 64-core node reserves 8 GB
// so) a worker loops on the allocation that fails, spinning a core, and exit waits for it: `pfce
// --version` hung under ulimit -v 200000. OPENBLAS_NUM_THREADS=1: no pool.
//
// libgomp's threads spin 300000 times at a barrier before they sleep: on cores other work keeps
// busy, that spinning takes the time the thread they wait for needs. Measured on the project's
// 2-core VM, 3 epochs of CPU training beside one busy process: 25.6 s at width 32 (10.6 s at width
// 16) by default, 18.4 s (4.9 s) at GOMP_SPINCOUNT=10000; alone 10.1 s (2.1 s) either way, where
// OMP_WAIT_POLICY=passive (no spinning) cost 12%. A user's OMP_WAIT_POLICY or GOMP_SPINCOUNT is
// left as it is.
namespace {
void start_with_runtime_defaults(char** argv) {
    bool changed = false;
    if (std::getenv("OPENBLAS_NUM_THREADS") == nullptr)
        changed |= ::setenv("OPENBLAS_NUM_THREADS", "1", 1) == 0;
    if (std::getenv("OMP_WAIT_POLICY") == nullptr && std::getenv("GOMP_SPINCOUNT") == nullptr)
        changed |= ::setenv("GOMP_SPINCOUNT", "10000", 1) == 0;
    if (changed) ::execv("/proc/self/exe", argv);
}
}  // namespace

int main(int argc, char** argv) {
    start_with_runtime_defaults(argv);
    const int status = run_pfce(argc, argv);
    // What a command printed is its result (a report's path, --json, --print-config): a full disk
    // or a closed pipe under it must not end in status 0 with the output cut short.
    // errno names the reason where it is one a write gives (set by the write that failed, which
    // may have been an earlier one than this flush); another value is not this failure's.
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
        const int err = errno;
        const bool reason = err == ENOSPC || err == EPIPE || err == EIO || err == EFBIG ||
                            err == EDQUOT || err == EBADF;
        std::fprintf(stderr, "pfce: error: writing to standard output failed%s%s\n",
                     reason ? ": " : "", reason ? std::strerror(err) : "");
        return status == 0 ? 1 : status;
    }
    return status;
}
