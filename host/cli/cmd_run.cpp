// `pfce run SUITE.toml`: the whole pipeline of DESIGN §1 for every experiment of a suite (data,
// sampling, linking, training, testing) and the report in OUT/ (report.md, report.html,
// results.json, results.csv, SVG curves, PNG picture grids). Finished experiments are skipped
// unless --force.
#include <algorithm>
#include <cstdio>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/stop_signal.hpp"
#include "core/text.hpp"
#include "host/cli/command_registry.hpp"
#include "host/cli/stopped.hpp"
#include "host/experiment/runner.hpp"
#include "host/experiment/suite.hpp"

namespace pfce::cli {
namespace {

struct RunArgs {
    std::string suite = "synthetic-small";
    std::string data, device = "auto", out, only, seeds;
    bool force = false;
    bool seeds_given = false;  // --seeds "" is an empty list (refused), not no list
};

// --only's ids, trimmed of spaces ("a, b"); an empty item ("a,", ",") is refused: --only ","
// selected nothing, which meant every experiment.
std::vector<std::string> split_ids(const std::string& text) {
    std::vector<std::string> ids = comma_items(text);
    for (const std::string& id : ids)
        if (id.empty())
            PFCE_THROW(InputError, "--only ", quoted_if_unseen(text),
                       ": an empty experiment id; expected ids separated by commas (e.g. "
                       "--only e1-700,e3-2100-tuned)");
    return ids;
}

void run_run(const RunArgs& a) {
    RunOptions opts;
    if (!a.only.empty()) opts.only = split_ids(a.only);  // a flag's error before the file's
    std::optional<std::vector<std::int64_t>> seeds;
    if (a.seeds_given) seeds = parse_seed_list(a.seeds, "--seeds");
    const Suite suite = load_suite(a.suite, seeds);
    opts.out_dir = a.out;
    opts.data_path = a.data;
    opts.device = a.device;
    opts.force = a.force;
    const StopSignals stop_signals;  // Ctrl-C / SIGTERM: the runner stops at the next stage
    const LateStopSaid late("every experiment had finished, and the report is written");
    const RunSummary s = run_suite(suite, opts);
    std::printf("%s\nreport: %s\n        %s\n", run_counts(s).c_str(), s.report_md.c_str(),
                s.report_html.c_str());
    if (s.interrupted) {
        // Not "the same command" under --force, which would start every experiment over.
        std::printf(a.force ? "interrupted: run it again without --force to continue where it "
                              "stopped (--force starts every experiment over)\n"
                            : "interrupted: run the same command again to continue where it "
                              "stopped\n");
        throw CLI::RuntimeError(130);
    }
    // Stale results not rerun leave the suite without current results: a script must notice.
    if (s.failed > 0 || !s.not_rerun.empty()) throw CLI::RuntimeError(1);
}

const bool registered = register_command(
    "run", "run an experiment suite end to end and write its report", [](CLI::App& sub) {
        auto a = std::make_shared<RunArgs>();
        sub.add_option("suite", a->suite,
                       "suite file, or the name of a suite in experiments/ (synthetic-small, "
                       "synthetic, potsdam, potsdam-isprs, gpu-check)")
            ->capture_default_str();
        sub.add_option(
            "--data", a->data,
            "dataset root for suites that read one (Potsdam Kaggle patches, tiles, generic); for "
            "synthetic suites, where the generated data goes (default OUT/data/...). Never OUT "
            "or inside it (but OUT/data/NAME), never a directory holding OUT; pfce run never "
            "replaces a synthetic dataset given here (pfce data synth --force does)");
        sub.add_option("--device", a->device, "auto | cpu | cuda[:N]")->capture_default_str();
        sub.add_option("--out", a->out, "output directory (default runs/<suite name>)");
        sub.add_flag("--force", a->force,
                     "rerun experiments already finished in OUT (and replace the suite's own "
                     "synthetic data in OUT/data/ when it is of other settings or damaged; never "
                     "a dataset given by --data elsewhere)");
        sub.add_option("--only", a->only,
                       "run only these experiment ids (comma-separated; with seeds, an "
                       "experiment's id selects all its seeds, <id>-s<seed> one)");
        sub.add_option_function<std::string>(
            "--seeds",
            [a](const std::string& v) {
                a->seeds = v;
                a->seeds_given = true;
            },
            "run every experiment once per seed (comma-separated, e.g. 0,1,2; replaces "
            "the suite's [suite] seeds): ids become <id>-s<seed>, run.seed and "
            "labels.seed take the seed, and the report adds mean and spread over seeds");
        sub.callback([a] { run_run(*a); });
    });

}  // namespace
}  // namespace pfce::cli
