// The embedded synthetic dataset: Potsdam-like aerial scenes (roads and sidewalks, buildings with
// roof colours and shadows, lawns, textured tree crowns, cars on roads, clutter) with dense labels
// in the ISPRS palette, deterministic per (seed, index), written in the Kaggle layout so the
// default run goes through the same reader as real data.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "data/image.hpp"

namespace pfce {

struct SynthScene {
    RgbImage image;
    LabelMap labels;  // dense, classes 0..5 (Potsdam indices)
};

// One scene of size x size; depends only on (seed, index).
SynthScene synthesize_scene(int size, std::uint64_t seed, std::uint32_t index);

struct SynthOptions {
    std::string out_dir;  // receives patches/Images/Image_N.tif + patches/Labels/Label_N.tif
    int count = 100;
    int size = 300;
    std::uint64_t seed = 0;
    std::string flag = "--out";  // the option that named out_dir, for messages
};

// InputError naming the value when `opts` cannot make a dataset (no directory, count < 1, size out
// of 16..8192). prepare_synthetic_dataset checks this before it creates anything.
void check_synth_options(const SynthOptions& opts);

// About the bytes the dataset's files will take (the check that refuses a dataset the disk cannot
// hold compares it with the free space): at least what they take, and not far above it.
double synthetic_dataset_bytes(const SynthOptions& opts);
// InputError when a synthetic dataset of about `need` bytes would not fit in the `have` bytes free
// at `where`, or would leave under a tenth of them: the estimate is approximate, and a file system
// filled to the last byte stops every program writing there (a probe was let use 99.9% of it).
void check_synthetic_dataset_space(const SynthOptions& opts, double need, double have,
                                   const std::string& where);

// Writes the dataset (parallel over images, atomic per file); `progress(done, total)` may be empty.
// Low level: writes into opts.out_dir whatever it holds; commands use prepare_synthetic_dataset.
void write_synthetic_dataset(const SynthOptions& opts,
                             const std::function<void(int done, int total)>& progress = {});

// How a synthetic dataset directory is recognised (core/output_dir): the kind its .pfce-output
// marker names (written first) and its completion record, synthetic.json (the settings, written
// last). A directory with the marker but without synthetic.json was interrupted while being
// written.
inline constexpr const char* kSynthOutputKind = "synthetic dataset";
inline constexpr const char* kSynthCompletionFile = "synthetic.json";

// What prepare_synthetic_dataset may do with a directory that already holds a synthetic dataset.
enum class SynthReplace {
    never,            // reuse this very dataset if whole; refuse another one or a damaged one
    other_or_broken,  // also replace another synthetic dataset, or this one when damaged (files
                      // missing or added, or bytes other than its content hash records)
    always,  // write it again even when it is this very dataset (`pfce data synth --force`)
};

// The dataset of `opts` in opts.out_dir, written only where that is safe (core/output_dir): a new
// or empty directory is filled, one already holding this very dataset (synthetic.json equal, and
// every file it implies there and nothing else beside them) is reused, one holding another
// synthetic dataset or a damaged one is replaced only as `replace` allows (InputError naming what
// differs or the missing file and the --force command otherwise), and one holding anything else (a
// real dataset, say) is refused. A dataset interrupted before synthetic.json is written again.
// synthetic.json is written last. Returns true when reused.
bool prepare_synthetic_dataset(const SynthOptions& opts, SynthReplace replace,
                               const std::function<void(int done, int total)>& progress = {});
// The refusals of prepare_synthetic_dataset, without creating or writing anything (a command that
// claims another directory first checks this one before).
void check_synthetic_dataset_dir(const SynthOptions& opts, SynthReplace replace);

}  // namespace pfce
