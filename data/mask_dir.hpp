// A directory of label masks derived from a dataset (sparse samples, linked masks): one PNG per
// sample, <sample id>.png, plus masks.json recording what made them (source dataset root, points,
// seed, radius, ...) and the classes, so `pfce link --in DIR` and experiments can find the images
// and dense masks they came from.
//
// Format 2 (current): each PNG is an 8-bit palette image whose pixel value IS the label (class
// index, 255 = unlabelled); its palette holds the class colours and makes 255 transparent, so a
// viewer shows the class colours while every label, for every dataset palette, is stored exactly.
// Format 1 (older pfce): colour PNGs with unlabelled pixels black. Read only where black is no
// class colour (then unambiguous); refused otherwise, with the command that regenerates them.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dir_lock.hpp"

#include "core/file_io.hpp"
#include "data/georef_sidecar.hpp"
#include "data/image.hpp"
#include "data/palette.hpp"

namespace pfce {

struct MaskDir {
    std::string dir;
    nlohmann::json meta;             // masks.json without "ids" and the format keys
    std::vector<std::string> ids;    // sample ids, in dataset order
    int format = 2;                  // 1: colour PNGs, unlabelled black; 2: palette PNGs of labels
    std::optional<Palette> palette;  // the classes recorded at writing (format 2)
};

// A mask directory being written: holds its lock, writes the masks and masks.json, and undoes
// what a failure left. Made by prepare_mask_dir; write() each mask, then finish() writes masks.json
// last. Destroyed unfinished (an error, a bad mask found halfway):
// - into a directory that was new or empty, what it wrote is removed (the masks of `ids`, the
//   marker, temporaries; never another file, even one put there meanwhile), and a directory that
//   did not exist with it once empty (and the parents made for it), so a failed command leaves no
//   half-written output behind;
// - replacing a complete mask directory (--force), the new masks were temporaries beside the old
//   ones until finish(): they are removed, and the old masks and masks.json stay as they were;
// - a directory that held pfce's incomplete masks stays that: the same command writes it again.
class MaskDirWriting {
  public:
    MaskDirWriting(DirLock lock, std::string dir, std::vector<std::string> ids,
                   bool undo_on_failure, bool existed, bool replacing,
                   std::vector<std::string> made_parents = {});
    MaskDirWriting(MaskDirWriting&& other) noexcept;
    MaskDirWriting(const MaskDirWriting&) = delete;
    MaskDirWriting& operator=(const MaskDirWriting&) = delete;
    MaskDirWriting& operator=(MaskDirWriting&&) = delete;
    ~MaskDirWriting();

    const std::vector<std::string>& ids() const { return ids_; }
    // Writes the mask of ids()[k], atomically, with `place` (its image's place on the map, as
    // window_place gives it) beside it as a PNG's sidecars (<id>.pgw, .prj, .png.aux.xml), so a
    // GIS lays the points over their image; distinct k may be written from several threads.
    // InputError for a value that is neither a class index of `palette` nor 255.
    void write(std::size_t k, const LabelMap& mask, const Palette& palette,
               const SidecarGeoref& place = {});
    // Puts the masks in place (replacing: masks.json goes first, so a crash between reads as
    // incomplete), then writes masks.json (`meta`, the ids, the classes) last. Every mask must have
    // been written. Commands hold core/stop_signal's handlers meanwhile, so Ctrl-C cannot cut the
    // renames short: it is seen between masks, where unwinding undoes the writing.
    void finish(const nlohmann::json& meta, const Palette& palette);
    // Replacing: the masks of the directory's earlier ids that this writing has none of (a dataset
    // that lost samples since), removed by finish() before masks.json is written, so the directory
    // holds what its record lists.
    void drop_at_finish(std::vector<std::string> earlier_ids);

  private:
    void remove_other_places() const;

    DirLock lock_;
    std::string dir_;
    std::vector<std::string> ids_;
    std::vector<std::string> staged_;  // replacing: each mask's temporary until finish()
    // replacing: each mask's sidecars, temporaries until finish() (one set a mask: written from
    // several threads)
    std::vector<std::unique_ptr<StagedFiles>> staged_places_;
    std::vector<std::vector<std::string>> places_;  // the sidecars written for each mask
    std::vector<std::string> made_parents_;  // directories above dir_ made for it, deepest last
    std::vector<std::string> dropped_;       // replacing: earlier ids without a new mask
    bool undo_, existed_, replacing_;
};

// Whether `dir` is a mask directory of pfce sample or link: its masks.json reads as theirs (a
// COCO or Label Studio masks.json of a user's project is none), or pfce marked it as one and its
// writing was cut short.
bool is_mask_directory(const std::string& dir);
// The mask directory (is_mask_directory) that `dir` lies strictly below, as given or
// through links; "" when none.
std::string mask_directory_above(const std::string& dir);
// InputError when `dir`, an output directory given as `given` ("--out X"), lies below a mask
// directory (a folder there is scanned with its masks): README's "no command writes into a mask
// directory, or a folder below one". prepare_mask_dir checks it; so does train's run directory.
void refuse_output_below_mask_directory(const std::string& dir, const std::string& given);

// Makes `dir` ready to receive masks (and refuses one below a mask directory) (core/output_dir): it
// must be new, empty, or pfce's own mask directory; anything else is refused, with or without
// `force`. A complete mask directory is replaced only with `force` (InputError naming --force
// otherwise), and stays complete and unchanged until the new masks are all written. `ids`: the
// masks it will write. Keep the returned writing while writing the masks (another pfce writing the
// directory meanwhile is refused).
[[nodiscard]] MaskDirWriting prepare_mask_dir(const std::string& dir, bool force,
                                              const std::vector<std::string>& ids);

// Writes dir/<id>.png for each mask and dir/masks.json last, so a directory with masks.json is
// complete. Calls prepare_mask_dir(dir, true): the caller decides about replacing.
void write_mask_dir(const std::string& dir, const std::vector<std::string>& ids,
                    const std::vector<LabelMap>& masks, const Palette& palette,
                    const nlohmann::json& meta);
std::string mask_png_path(const std::string& dir, const std::string& id);
// "" when md's mask files are as its masks.json recorded them (or it records nothing of them);
// else what changed: a mask missing, or a file replaced or touched since it was written. What a
// reuse of a mask directory (sample, link, a suite's cache) checks first.
std::string mask_files_change(const MaskDir& md);
// What a reader of md's masks (train, eval, link) says of a mask_files_change, once per directory:
// a warning, not a refusal, since a copy without its times or a hand-corrected mask is a change
// too; reused as it stands, a replaced mask (another image's) would train silently.
void warn_if_mask_files_changed(const MaskDir& md);
// Puts md's masks where place_of(k) (the place of md.ids[k]'s image, window_place) says, where
// their sidecars say otherwise (its image was georeferenced again since): each changed sidecar
// written again, atomically, and one no longer wanted removed. The number of masks changed. A
// reuse of the masks (sample of the same settings) calls it: the masks are the same, their place
// is the images' now.
std::size_t update_mask_places(const MaskDir& md,
                               const std::function<SidecarGeoref(std::size_t)>& place_of);

// Reads masks.json (InputError naming the file if missing, malformed or of an unknown format, or
// edited since pfce wrote it: its checksum, unless `check_record` is false, which only replacing
// the directory's masks may ask, to know which masks it held).
MaskDir open_mask_dir(const std::string& dir, bool check_record = true);
// Reads one mask. `palette` is the dataset's: its class names must equal those recorded in
// masks.json (InputError naming both otherwise). Every value must be a class index or 255.
LabelMap read_mask_png(const MaskDir& md, const std::string& id, const Palette& palette);
// InputError unless `mask`, md's mask of sample `id`, has the size of the raster it labels
// (`what`: "image" or "dense mask", at `path`, width x height): its labels would fall on other
// pixels. Names both files and the likely cause: `tiles` (a Potsdam tiles dataset, cut into
// patches by settings) patches cut otherwise than when the masks were made, else a file replaced
// since then, with the command that makes the masks again.
void check_mask_fits(const MaskDir& md, const std::string& id, const LabelMap& mask,
                     const std::string& what, const std::string& path, int width, int height,
                     bool tiles);
// InputError unless the classes recorded in `md` are those of `palette` (same names, same order).
void check_mask_dir_classes(const MaskDir& md, const Palette& palette, const std::string& dataset);

}  // namespace pfce
