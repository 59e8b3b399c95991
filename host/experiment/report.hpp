// The suite report in OUT/: report.md (tables, the test confusion matrices, the technical report's
// figures beside ours with the DESIGN §7 caveat, curves, pictures), report.html (the same, readable
// offline: charts and pictures inlined as base64 data URIs), results.json, results.csv, and the SVG
// charts. Everything is rendered from ExperimentResults, so it can be re-rendered without training.
#pragma once

#include <array>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "host/experiment/paired_differences.hpp"
#include "host/experiment/results.hpp"
#include "host/experiment/seed_groups.hpp"

namespace pfce {

struct ReportInput {
    std::string title;        // suite name
    std::string description;  // suite description
    std::string suite_file;
    std::string data_summary;  // "synthetic, 160 images of 96x96 (seed 0), split 128/16/16"
    std::string device;
    std::string generated_at;               // UTC timestamp
    std::vector<ExperimentResult> results;  // suite order; failed experiments included
    int clutter_class = -1;                 // left out of "mIoU without clutter"
    // The colour the picture grids show unlabelled pixels in (Palette::display_unlabelled): black
    // unless a class is black or the dataset has an ignore colour.
    std::array<std::uint8_t, 3> unlabelled_colour{0, 0, 0};
    // Whether the data has Potsdam's six classes, which the technical report's figures are of;
    // other data gets no comparison with them (their caveat speaks of Potsdam's classes).
    bool potsdam_classes = true;
    // Experiments of the suite this report lacks or shows from an earlier run, each with why:
    // not run yet (the run was interrupted first), or refused (OUT holds results of that id made
    // with other settings, which the report shows instead). A result whose id is listed here is
    // stale: its rows are marked, results.csv says current=false, results.json "current": false.
    std::vector<std::pair<std::string, std::string>> not_run;  // id, reason
    // The paired differences of the test mIoU (paired_differences.hpp), drawn once by write_report
    // for its three documents; null: each render draws them (seconds for thousands of images).
    std::shared_ptr<const std::vector<PairedDifference>> paired;
    // The same over seeds (seed_groups.hpp), between the experiments of a suite run with seeds.
    std::shared_ptr<const std::vector<SeededDifference>> paired_seeds;
};

// Every chart file a report may have (relative to OUT), in order.
std::vector<std::string> report_chart_files();
// The chart files write_report produces for `in`: the CRF term's only when an experiment has it.
std::vector<std::string> report_chart_files(const ReportInput& in);

std::string render_report_markdown(const ReportInput& in);

// A paired difference's cell, row minus column (`sign` -1 for its mirror): "+0.153*", with * where
// its interval excludes 0 and † where it holds after Holm's correction over the table's pairs;
// "0.000" where there is no difference at all.
std::string difference_cell(double sign, const MiouDifference& d);
// Pictures and charts are read from out_dir and inlined; a missing picture is shown as a note.
std::string render_report_html(const ReportInput& in, const std::string& out_dir);
std::string render_results_csv(const ReportInput& in);
nlohmann::json render_results_json(const ReportInput& in);
std::string render_chart(const ReportInput& in, const std::string& chart_file);

// Writes every report file into out_dir, each atomically: charts first, report.html last.
// results.json records a hash of each document a person may edit (report.md, report.html,
// results.csv) under "report_files", for edited_report_files, and the hashes of those it replaces
// under "report_files_before": results.json goes in first, then each document, so a write cut
// short between two renames leaves documents that are old or new, neither read as an edit. A
// document edited since it was written is kept and the
// new one written as NAME.new, unless `replaceable` holds it with its content as it is now (what
// --force saw, and so agreed to replace, when the run began: an edit made during the run is kept).
// Returns where each document went: its name ("report.md") -> the path written (NAME.new beside
// an edited one).
using ReportFileHashes = std::map<std::string, std::string>;  // path -> hash of its content
std::map<std::string, std::string> write_report(const std::string& out_dir, const ReportInput& in,
                                                const ReportFileHashes& replaceable = {});

// The report documents in out_dir that differ from what write_report last wrote there (a person
// edited them): a rerun, which rewrites them, refuses without --force. Those there while
// results.json, which records what pfce wrote, is missing or unreadable count too (whether they
// were edited cannot be told: a probe's edited report was replaced without a word). Empty when
// there are none, or the record is of a pfce before it kept one.
std::vector<std::string> edited_report_files(const std::string& out_dir);
// Whether out_dir, a suite's output directory (its marker says so), has documents of a report
// but no readable results.json (edited_report_files then names them all).
bool report_without_record(const std::string& out_dir);
// The edited documents (edited_report_files) with the hashes of their content now: what a run
// with --force may replace at its end.
ReportFileHashes edited_report_hashes(const std::string& out_dir);
// What results.json in out_dir records under "report_files" (document name -> hash), an empty
// object when there is none.
nlohmann::json recorded_report_hashes(const std::string& out_dir);
// Before pfce run --force removes experiment `id`'s earlier result: results.json in out_dir (where
// there is one) says the suite is not complete, the experiment not current and why, so that a run
// killed before the report is written again does not leave a record of a finished suite whose
// result files are gone (interruption probe). Written atomically; nothing where there is none.
void mark_result_being_rerun(const std::string& out_dir, const std::string& id);

}  // namespace pfce
