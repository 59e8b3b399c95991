// `pfce run`: runs a suite end to end. Makes the synthetic data if the suite needs it, reads the
// dataset once, then for each experiment samples (cached), links (cached), trains, evaluates the
// chosen checkpoint on the test split against dense truth and draws its picture grid, logging every
// stage. OUT/<id>/result.json marks an experiment finished: it is skipped on the next run unless
// --force. One failing experiment is recorded and reported; the others still run. The report is
// written at the end from every finished experiment. An interrupted run continues where it
// stopped: the interrupted experiment's training resumes from its last checkpoint.
#pragma once

#include <string>
#include <vector>

#include "host/experiment/suite.hpp"

namespace pfce {

struct RunOptions {
    std::string out_dir;    // empty: runs/<suite name>
    std::string data_path;  // dataset root (dataset suites) or where synthetic data goes
    std::string device = "auto";
    bool force = false;  // rerun finished experiments (and replace results of other settings)
    std::vector<std::string>
        only;      // run only these experiment ids (others still reported if finished)
    int tty = -1;  // progress display for training: -1 detect, 0 plain lines, 1 bar
};

struct RunSummary {
    int ran = 0, skipped = 0, failed = 0;
    // Finished earlier with other settings or data and not rerun without --force: their results
    // are shown marked stale. Not failures, but the suite's results are not current either.
    std::vector<std::string> not_rerun;  // their ids, for the --only that reruns them
    // Stopped by a stop request (core/stop_signal: Ctrl-C, SIGTERM) between stages or inside a
    // training, which saved its checkpoint; the same command continues where it stopped.
    bool interrupted = false;
    std::string out_dir, report_md, report_html;
};

RunSummary run_suite(const Suite& suite, const RunOptions& opts);

// Why results recorded with fingerprint `was` (experiment_fingerprint) are not those of `now`
// ("" when they are): other settings, or the same settings on other data (a dataset suite's data
// identity; results of an older pfce record none, and are taken on their settings alone).
std::string stale_reason(nlohmann::json was, nlohmann::json now);

// "N ran, N skipped, [N not rerun (...), ]N failed": what a suite run did, for its log and output.
std::string run_counts(const RunSummary& s);

// The default OUT of a suite: runs/<suite name>.
std::string default_out_dir(const Suite& suite);

}  // namespace pfce
