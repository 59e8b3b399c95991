// Mask directories: <id>.png palette PNGs of labels plus masks.json, written last so that a
// directory holding masks.json is complete. masks.json = the caller's meta + "ids" in dataset order
// + "format"/"format_version" + "classes" (name and display colour of each class index).
#include "data/mask_dir.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/log.hpp"
#include "core/output_dir.hpp"
#include "core/parallel.hpp"
#include "core/text.hpp"
#include "data/data_fingerprint.hpp"
#include "data/image_io.hpp"
#include "data/record_checksum.hpp"

namespace pfce {
namespace fs = std::filesystem;
namespace {

constexpr const char* kMetaFile = "masks.json";
constexpr const char* kFormatName = "pfce-label-png";
constexpr int kFormatVersion = 2;

void make_dir(const std::string& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (!fs::is_directory(dir))
        PFCE_THROW(SystemError, "cannot create mask directory ", dir, ": ",
                   ec ? ec.message() : std::string("not a directory"));
}

// Ids become file names: refuse what would escape the directory or not name a file.
void check_id(const std::string& dir, const std::string& id) {
    if (id.empty() || id == "." || id == ".." || id.find('/') != std::string::npos ||
        id.find('\\') != std::string::npos || id.find('\0') != std::string::npos)
        PFCE_THROW(InputError, dir, ": sample id \"", id, "\" cannot be a mask file name");
    // Its longest file, the place's .aux.xml, goes through a temporary of a longer name.
    if (const std::string aux = id + ".png.aux.xml"; aux.size() > kMaxNameWrittenAtomically)
        PFCE_THROW(InputError, dir, ": sample id \"", id, "\" is too long for a mask's files (",
                   aux, ": ", aux.size(), " bytes, past the ", kMaxNameWrittenAtomically,
                   " pfce can write through a temporary)");
}

bool same_colour(const Rgb& a, const Rgb& b) {
    return a[0] == b[0] && a[1] == b[1] && a[2] == b[2];
}

std::string class_list(const std::vector<ClassInfo>& classes) {
    std::string s;
    for (const ClassInfo& c : classes) s += (s.empty() ? "" : ", ") + c.name;
    return s;
}

void check_labels(const LabelMap& m, int num_classes, const std::string& what) {
    for (std::size_t p = 0; p < m.labels.size(); ++p) {
        const std::uint8_t v = m.labels[p];
        if (v != 255 && v >= num_classes)
            PFCE_THROW(InputError, what, ": value ", static_cast<int>(v),
                       " at pixel (x=", p % m.width, ", y=", p / m.width,
                       ") is neither a class index (0..", num_classes - 1,
                       ") nor 255 (unlabelled)");
    }
}

nlohmann::json classes_json(const Palette& p) {
    nlohmann::json a = nlohmann::json::array();
    for (const ClassInfo& c : p.classes)
        a.push_back({{"name", c.name}, {"colour", {c.colour[0], c.colour[1], c.colour[2]}}});
    return a;
}

Palette palette_from_json(const nlohmann::json& a, const std::string& path) {
    if (!a.is_array() || a.empty() || a.size() > 32)
        PFCE_THROW(InputError, path,
                   ": \"classes\" must be a list of 1..32 {name, colour} entries");
    Palette p;
    for (const auto& c : a) {
        if (!c.is_object() || !c.contains("name") || !c["name"].is_string() ||
            !c.contains("colour") || !c["colour"].is_array() || c["colour"].size() != 3)
            PFCE_THROW(InputError, path, ": bad entry in \"classes\": ", c.dump(),
                       " (expected {\"name\": \"...\", \"colour\": [r, g, b]})");
        Rgb rgb{};
        for (int k = 0; k < 3; ++k) {
            const auto& v = c["colour"][k];
            if (!v.is_number_integer() || v.get<int>() < 0 || v.get<int>() > 255)
                PFCE_THROW(InputError, path, ": bad colour in \"classes\": ", c.dump());
            rgb[k] = static_cast<std::uint8_t>(v.get<int>());
        }
        p.classes.push_back({c["name"].get<std::string>(), rgb});
    }
    return p;
}

void write_mask_png(const std::string& path, const std::string& dir, const std::string& id,
                    const LabelMap& mask, const Palette& palette) {
    check_labels(mask, palette.num_classes(), "mask " + id + " for " + dir);
    make_dir(dir);
    // Unlabelled in the dataset's ignore colour, for viewers that ignore transparency.
    const std::vector<Rgb> colours = palette.file_colours({}, palette.display_unlabelled());
    std::vector<std::uint8_t> alpha(256, 255);
    alpha[255] = 0;  // unlabelled is transparent where the viewer honours it
    // Said in the file: its values are class indices, so a dataset whose masks give classes other
    // values (mask.values) refuses it as a mask of its own rather than read other classes.
    write_png_indexed(path, mask, colours, alpha,
                      "class indices 0.." + std::to_string(palette.num_classes() - 1) +
                          ", 255 unlabelled (pfce sample/link; the classes are in masks.json)");
}

void write_mask_json(const std::string& dir, const std::vector<std::string>& ids,
                     const nlohmann::json& meta, const Palette& palette) {
    make_dir(dir);
    nlohmann::json j = meta.is_object() ? meta : nlohmann::json::object();
    j["format"] = kFormatName;
    j["format_version"] = kFormatVersion;
    j["classes"] = classes_json(palette);
    j["unlabelled"] = 255;
    j["ids"] = ids;
    // The mask files as written (sizes and times): a reuse checks that none was replaced, touched
    // or removed since (mask_files_change).
    j["files"] = mask_files_fingerprint(dir, ids);
    // An edited record (points, seed, radius, kind, ids) made runs record settings they never
    // trained on, and --force "reuse" masks made otherwise (hostile-user probe).
    seal_record(j);
    const std::string path = (fs::path(dir) / kMetaFile).string();
    write_file_atomically(path, j.dump(2) + "\n");
}

// A mask PNG's values as labels. pfce wrote value = class index (255 unlabelled) with each class's
// colour at its index; an editor that saved the picture again may have renumbered the palette (the
// picture unchanged), and a value read as written would then be another class. So a value whose
// palette colour is not its class's reads as the class of that colour (or unlabelled, by the
// display colour); a colour of neither is refused. 255 stays unlabelled (an older pfce wrote other
// colours there), as do values of a gray PNG, which has no colours.
LabelMap labels_by_palette_colour(LabelMap m, const std::vector<Rgb>& colormap,
                                  const Palette& written, const std::string& path) {
    if (colormap.empty()) return m;
    const int n = written.num_classes();
    // Every class's colour still at its index: the palette is as pfce wrote it, so a value that
    // is no class is an error (check_labels), not whatever colour pfce's unused entries have
    // (black, class 0's colour in some datasets: a stray value 7 read as that class).
    // pfce writes all 256 entries, those of no class one fill colour: a palette compacted by a
    // tool (unlabelled moved from 255 to a low index) is read by colour below.
    bool as_written = colormap.size() == 256;
    for (int k = 0; k < n && as_written; ++k)
        as_written = same_colour(colormap[static_cast<std::size_t>(k)], written.classes[k].colour);
    for (std::size_t k = static_cast<std::size_t>(n) + 1; k < 255 && as_written; ++k)
        as_written = same_colour(colormap[k], colormap[static_cast<std::size_t>(n)]);
    if (as_written) return m;
    std::array<std::int64_t, 256> count{};
    for (std::uint8_t v : m.labels) ++count[v];
    std::array<std::uint8_t, 256> label{};
    bool renumbered = false;
    const Rgb unlabelled = written.display_unlabelled();
    for (int v = 0; v < 255; ++v) {
        label[v] = static_cast<std::uint8_t>(v);
        if (count[v] == 0 || v >= static_cast<int>(colormap.size())) continue;
        const Rgb& c = colormap[v];
        if (v < n && same_colour(c, written.classes[v].colour)) continue;
        int of = -1;
        for (int k = 0; k < n; ++k)
            if (same_colour(c, written.classes[k].colour)) of = k;
        if (of < 0 && same_colour(c, unlabelled)) of = 255;
        if (of < 0 && v >= n) continue;  // neither: check_labels refuses the value
        if (of < 0)
            PFCE_THROW(InputError, path, ": ", count[v], " pixels have value ", v,
                       ", which pfce wrote as class '", written.classes[v].name,
                       "', but the file's palette gives it the colour (", int(c[0]), ", ",
                       int(c[1]), ", ", int(c[2]),
                       "), of no class (nor unlabelled's): its palette was changed since. pfce "
                       "reads a value by its colour where the two differ; give the value a "
                       "class's colour, or make the masks again");
        label[v] = static_cast<std::uint8_t>(of);
        renumbered = renumbered || of != v;
    }
    label[255] = 255;
    if (renumbered)
        for (std::uint8_t& v : m.labels) v = label[v];
    return m;
}

// Removes the sidecars of the mask `png` other than `kept` (a place no longer its image's, or one
// a writing cut short left); true if it removed one. Compared as files, not names: on a file
// system that ignores case (exFAT, NTFS, SMB) the candidate id.PGW is the id.pgw just written.
bool remove_sidecars_but(const std::string& png, const std::vector<std::string>& kept) {
    bool removed = false;
    for (const std::string& p : georef_sidecar_candidates(png)) {
        std::error_code ec;
        if (!fs::exists(p, ec)) continue;
        if (std::any_of(kept.begin(), kept.end(), [&](const std::string& k) {
                std::error_code e;
                return fs::equivalent(p, k, e);
            }))
            continue;
        fs::remove(p, ec);
        if (ec) PFCE_THROW(SystemError, "cannot remove ", p, ": ", ec.message());
        removed = true;
    }
    return removed;
}

}  // namespace

std::string mask_png_path(const std::string& dir, const std::string& id) {
    return (fs::path(dir) / (id + ".png")).string();
}

std::string mask_files_change(const MaskDir& md) {
    const auto recorded = md.meta.find("files");
    if (recorded == md.meta.end()) return {};  // written before the record: taken as it is
    std::error_code ec;
    for (const std::string& id : md.ids)
        if (const std::string path = mask_png_path(md.dir, id); !fs::is_regular_file(path, ec))
            return "its mask " + path + " is missing";
    if (*recorded == mask_files_fingerprint(md.dir, md.ids)) return {};
    // Masks are written before masks.json: one modified after it is one that changed (a copy
    // that keeps its old time, cp -p, only moves the size, and is not named). All of them after
    // it is a directory copied or touched whole (cp -r gives every file the copy's time).
    std::error_code meta_ec;
    const auto written = fs::last_write_time(fs::path(md.dir) / kMetaFile, meta_ec);
    std::vector<std::string> newer;
    for (const std::string& id : md.ids) {
        const std::string path = mask_png_path(md.dir, id);
        std::error_code file_ec;
        if (!meta_ec && fs::last_write_time(path, file_ec) > written && !file_ec)
            newer.push_back(path);
    }
    if (!newer.empty() && newer.size() < md.ids.size())
        return "its mask " + newer[0] +
               (newer.size() > 1 ? " (and " + std::to_string(newer.size() - 1) + " more)" : "") +
               " changed after it was written";
    if (!newer.empty())
        return "its masks were all modified after its masks.json (a copy of the directory, or "
               "touched)";
    return "a mask file there changed (or was touched) since it was written";
}

void warn_if_mask_files_changed(const MaskDir& md) {
    // Checked once per directory: the train and validation samples both read them, and the check
    // stats every mask.
    static std::mutex checked_mutex;
    static std::set<std::string> checked;
    {
        std::lock_guard<std::mutex> lock(checked_mutex);
        if (!checked.insert(md.dir).second) return;
    }
    const std::string change = mask_files_change(md);
    if (!change.empty())
        log_warn(
            "the masks in ", md.dir, ": ", change,
            "; read as they are now, which their masks.json (how they were made) may no "
            "longer describe: make them again (pfce sample or pfce link) unless the change was "
            "yours");
    // Linked masks join their input's points: an input sampled again, imported again or edited
    // since leaves them joining other points (link says so when asked to reuse them; train read
    // them without a word). An input that moved or is gone is no change to say.
    const nlohmann::json link = md.meta.value("link", nlohmann::json());
    if (!change.empty() || !link.is_object() || !link.contains("in_dir") ||
        !link["in_dir"].is_string())
        return;
    const std::string in = link["in_dir"].get<std::string>();
    std::error_code ec;
    if (!fs::is_regular_file(fs::path(in) / kMetaFile, ec)) return;
    try {
        const MaskDir input = open_mask_dir(in);
        const bool remade = link.contains("in_meta") && link["in_meta"] != input.meta;
        const bool edited =
            !remade && link.contains("in_masks") && link["in_masks"].is_string() &&
            link["in_masks"].get<std::string>() != mask_files_fingerprint(in, input.ids);
        if (remade || edited)
            log_warn("the masks in ", md.dir, " were linked from ", in, ", whose masks ",
                     remade ? "were made again since (its masks.json changed)"
                            : "changed since (a mask replaced or touched)",
                     ": they join other points than those there now; link them again (pfce link "
                     "--in ",
                     in, " --out ", md.dir, " --force) unless the change was yours");
    } catch (const InputError&) {
        // An input that no longer reads as a mask directory: nothing to compare with.
    }
}

MaskDirWriting::MaskDirWriting(DirLock lock, std::string dir, std::vector<std::string> ids,
                               bool undo_on_failure, bool existed, bool replacing,
                               std::vector<std::string> made_parents)
    : lock_(std::move(lock)),
      dir_(std::move(dir)),
      ids_(std::move(ids)),
      made_parents_(std::move(made_parents)),
      undo_(undo_on_failure),
      existed_(existed),
      replacing_(replacing) {
    // Each new mask is a temporary of its target's (".<id>.png.tmpPID_N"): one a killed writer
    // left is removed by the next command as stale, and never read as a mask.
    if (replacing_)
        for (const std::string& id : ids_) {
            staged_.push_back(temp_path_for(mask_png_path(dir_, id)));
            staged_places_.push_back(std::make_unique<StagedFiles>());
        }
    places_.resize(ids_.size());
}

MaskDirWriting::MaskDirWriting(MaskDirWriting&& other) noexcept
    : lock_(std::move(other.lock_)),
      dir_(std::move(other.dir_)),
      ids_(std::move(other.ids_)),
      staged_(std::move(other.staged_)),
      staged_places_(std::move(other.staged_places_)),
      places_(std::move(other.places_)),
      made_parents_(std::move(other.made_parents_)),
      dropped_(std::move(other.dropped_)),
      undo_(std::exchange(other.undo_, false)),
      existed_(other.existed_),
      replacing_(std::exchange(other.replacing_, false)) {}

MaskDirWriting::~MaskDirWriting() {
    std::error_code ec;
    for (const std::string& tmp : staged_) fs::remove(tmp, ec);  // empty once finished
    if (!undo_) return;
    try {  // a destructor: what cannot be undone (no memory, an unreadable directory) stays
        std::set<std::string> ours = {output_dir_marker_name(), kMetaFile};
        for (const std::string& id : ids_) {
            ours.insert(id + ".png");
            for (const std::string& p : georef_sidecar_candidates(mask_png_path(dir_, id)))
                ours.insert(fs::path(p).filename().string());  // its place, as written
        }
        for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
            const std::string name = it->path().filename().string();
            if (ours.count(name) || is_temp_name(name)) fs::remove(it->path(), ec);
        }
        if (!existed_) {
            fs::remove(dir_, ec);  // only once empty: a file put there meanwhile stays
            for (auto it = made_parents_.rbegin(); it != made_parents_.rend(); ++it)
                fs::remove(*it, ec);
        }
    } catch (...) {
    }
}

void MaskDirWriting::write(std::size_t k, const LabelMap& mask, const Palette& palette,
                           const SidecarGeoref& place) {
    const std::string& id = ids_.at(k);
    const std::string png = mask_png_path(dir_, id);
    write_mask_png(replacing_ ? staged_[k] : png, dir_, id, mask, palette);
    write_sidecar_georef(place, png, replacing_ ? staged_places_[k].get() : nullptr);
    places_[k] = sidecar_paths(place, png);
}

void MaskDirWriting::remove_other_places() const {
    // A mask's sidecars of an earlier writing that this one did not write (its image lost its
    // place, or a writing cut short wrote other ones): they would place the new mask.
    for (std::size_t k = 0; k < ids_.size(); ++k)
        remove_sidecars_but(mask_png_path(dir_, ids_[k]), places_[k]);
    for (const std::string& id : dropped_) remove_sidecars_but(mask_png_path(dir_, id), {});
}

void MaskDirWriting::drop_at_finish(std::vector<std::string> earlier_ids) {
    const std::set<std::string> now(ids_.begin(), ids_.end());
    dropped_.clear();
    for (std::string& id : earlier_ids)
        if (!now.count(id)) dropped_.push_back(std::move(id));
}

void MaskDirWriting::finish(const nlohmann::json& meta, const Palette& palette) {
    if (replacing_) {
        const std::string json = (fs::path(dir_) / kMetaFile).string();
        std::error_code ec;
        fs::remove(json, ec);
        if (ec) PFCE_THROW(SystemError, "cannot remove ", json, ": ", ec.message());
        for (std::size_t k = 0; k < ids_.size(); ++k) {
            const std::string path = mask_png_path(dir_, ids_[k]);
            if (std::rename(staged_[k].c_str(), path.c_str()) != 0)
                PFCE_THROW(SystemError, "cannot rename ", staged_[k], " to ", path, ": ",
                           std::strerror(errno));
            staged_[k].clear();
            staged_places_[k]->commit(/*replace=*/true);
        }
        staged_.clear();
        for (const std::string& id : dropped_) {
            const std::string path = mask_png_path(dir_, id);
            fs::remove(path, ec);
            if (ec) PFCE_THROW(SystemError, "cannot remove ", path, ": ", ec.message());
        }
    }
    remove_other_places();
    write_mask_json(dir_, ids_, meta, palette);
    undo_ = false;
}

std::size_t update_mask_places(const MaskDir& md,
                               const std::function<SidecarGeoref(std::size_t)>& place_of) {
    std::size_t changed = 0;
    for (std::size_t k = 0; k < md.ids.size(); ++k) {
        const std::string png = mask_png_path(md.dir, md.ids[k]);
        bool any = false;
        std::vector<std::string> wanted;
        for (const auto& [path, text] : sidecar_files(place_of(k), png)) {
            wanted.push_back(path);
            std::error_code ec;
            if (fs::is_regular_file(path, ec) && read_whole_file(path) == text) continue;
            write_file_atomically(path, text);
            any = true;
        }
        changed += remove_sidecars_but(png, wanted) || any;
    }
    return changed;
}

bool is_mask_directory(const std::string& dir) {
    std::error_code ec;
    if (!fs::is_regular_file(fs::path(dir) / kMetaFile, ec)) return output_dir_kind(dir) == "masks";
    try {
        (void)open_mask_dir(dir);
        return true;
    } catch (const InputError&) {
        return output_dir_kind(dir) == "masks";  // one whose writing was cut short
    }
}

std::string mask_directory_above(const std::string& dir) {
    std::error_code ec;
    fs::path given = fs::absolute(dir, ec).lexically_normal();
    if (!given.has_filename()) given = given.parent_path();  // "sp/sub/" is sp/sub
    // As given and through links: a link into a mask directory leads there all the same.
    for (const fs::path& start : {given, fs::weakly_canonical(given, ec)})
        for (fs::path p = start.parent_path(); !p.empty(); p = p.parent_path()) {
            if (is_mask_directory(p.string())) return p.string();
            if (p == p.parent_path()) break;
        }
    return {};
}

void refuse_output_below_mask_directory(const std::string& dir, const std::string& given) {
    if (const std::string above = mask_directory_above(dir); !above.empty())
        PFCE_THROW(InputError, given, " lies inside the mask directory ", above, " (its ",
                   kMetaFile,
                   "): what is written there would lie among its masks, and every "
                   "reader of that directory scans it; choose a directory outside it "
                   "(--force does not change this)");
}

MaskDirWriting prepare_mask_dir(const std::string& dir, bool force,
                                const std::vector<std::string>& ids) {
    for (const std::string& id : ids) check_id(dir, id);  // before anything is claimed
    refuse_output_below_mask_directory(dir, dir);
    std::error_code ec;
    const bool existed = fs::exists(dir, ec);
    std::vector<std::string> made_parents;  // what claiming it will make above it, top first
    for (fs::path p = fs::path(dir).parent_path(); !p.empty() && !fs::exists(p, ec);
         p = p.parent_path()) {
        made_parents.insert(made_parents.begin(), p.string());
        if (p == p.parent_path()) break;
    }
    OutputDirClaim claim = claim_output_dir(dir, "masks", kMetaFile);
    // Only a directory this command starts from nothing is undone: it holds nothing but ours.
    // Not where this process already held the lock (a mask directory claimed twice on its way).
    const bool fresh = claim.state == OutputDirState::fresh && claim.lock.owns();
    // Said: its masks vanish and come back (a probe saw it done without a word).
    if (claim.state == OutputDirState::ours_incomplete)
        log_info(dir, ": the masks a stopped pfce left incomplete there are written again");
    if (claim.state != OutputDirState::ours_complete)
        return MaskDirWriting(std::move(claim.lock), dir, ids, fresh, existed, false,
                              std::move(made_parents));
    if (!force)
        PFCE_THROW(InputError, dir, " already holds masks (", (fs::path(dir) / kMetaFile).string(),
                   "); pass --force to replace them");
    MaskDirWriting writing(std::move(claim.lock), dir, ids, false, existed, true);
    try {
        // An edited record's ids too: the masks it lists go unless written again.
        const MaskDir earlier = open_mask_dir(dir, /*check_record=*/false);
        for (const std::string& id : earlier.ids) check_id(dir, id);  // no path out of dir
        writing.drop_at_finish(earlier.ids);
    } catch (const InputError&) {
        // A record that cannot be read names no masks to drop: the others stay, unlisted.
    }
    return writing;
}

void write_mask_dir(const std::string& dir, const std::vector<std::string>& ids,
                    const std::vector<LabelMap>& masks, const Palette& palette,
                    const nlohmann::json& meta) {
    if (ids.size() != masks.size())
        PFCE_THROW(InputError, dir, ": ", masks.size(), " masks but ", ids.size(), " ids");
    MaskDirWriting writing = prepare_mask_dir(dir, true, ids);
    parallel_for(
        ids.size(), [&](std::size_t k) { writing.write(k, masks[k], palette); }, 4);
    writing.finish(meta, palette);
}

MaskDir open_mask_dir(const std::string& dir, bool check_record) {
    const std::string path = (fs::path(dir) / kMetaFile).string();
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        PFCE_THROW(InputError, "mask directory ", dir,
                   fs::exists(dir, ec) ? " is not a directory" : " " + missing_reason(dir),
                   " (expected the --out of pfce sample or pfce link)");
    refuse_special_file(path, "the masks.json pfce sample or pfce link writes");
    if (fs::is_directory(path, ec))  // read, it threw the stream's "Is a directory", naming nothing
        PFCE_THROW(
            InputError, path,
            " is a directory (expected the masks.json file pfce sample or pfce link writes)");
    std::ifstream f(path);
    if (!f) {
        // pfce marks a mask directory first and writes masks.json last: with the mark, its
        // writing was cut short; without it, it is some other folder (a dataset's dense masks?).
        if (output_dir_kind(dir) == "masks")
            PFCE_THROW(InputError, path, ": missing; ", dir,
                       " is a mask directory whose writing did not finish (it was stopped or "
                       "killed; masks.json is written last): run the command that made it again");
        PFCE_THROW(InputError, dir,
                   " is not a mask directory: it holds no masks.json (expected the --out of pfce "
                   "sample or pfce link; a dataset's own dense masks are read with the dataset, "
                   "by --data alone)");
    }
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(f);
    } catch (const nlohmann::json::exception& e) {
        PFCE_THROW(InputError, path, ": not valid JSON: ", e.what());
    }
    if (!j.is_object() || !j.contains("ids") || !j["ids"].is_array())
        PFCE_THROW(InputError, path, ": expected an object with an \"ids\" array");
    if (check_record && record_edited(j))
        PFCE_THROW(InputError, path,
                   edited_record_message(
                       "train, link, eval and a reuse of these masks go by what it records of how "
                       "they were made (settings, kind, ids)",
                       "Make the masks again with the command that made them and --force (pfce "
                       "sample or pfce link) rather than edit the record"));
    MaskDir md;
    md.dir = dir;
    for (const auto& v : j["ids"]) {
        if (!v.is_string()) PFCE_THROW(InputError, path, ": \"ids\" holds a non-string ", v.dump());
        md.ids.push_back(v.get<std::string>());
    }
    if (!j.contains("format")) {
        md.format = 1;  // older pfce: colour PNGs, unlabelled black
    } else {
        const nlohmann::json& fmt = j["format"];
        const nlohmann::json ver = j.value("format_version", nlohmann::json());
        if (!fmt.is_string() || fmt.get<std::string>() != kFormatName || !ver.is_number_integer())
            PFCE_THROW(InputError, path, ": unknown mask format ", fmt.dump(), " version ",
                       ver.dump(), " (expected \"", kFormatName, "\" version ", kFormatVersion,
                       ")");
        if (ver.get<int>() != kFormatVersion)
            PFCE_THROW(InputError, path, ": mask format version ", ver.get<int>(),
                       " (this pfce reads version ", kFormatVersion, "); it was written by ",
                       ver.get<int>() > kFormatVersion ? "a newer" : "an older", " pfce");
        if (!j.contains("classes")) PFCE_THROW(InputError, path, ": no \"classes\" list");
        md.palette = palette_from_json(j["classes"], path);
        md.format = kFormatVersion;
    }
    for (const char* k :
         {"ids", "format", "format_version", "classes", "unlabelled", kRecordChecksumKey})
        j.erase(k);
    md.meta = std::move(j);
    return md;
}

void check_mask_dir_classes(const MaskDir& md, const Palette& palette, const std::string& dataset) {
    if (!md.palette) return;  // format 1 recorded no classes
    bool same = md.palette->classes.size() == palette.classes.size();
    for (std::size_t c = 0; same && c < palette.classes.size(); ++c)
        same = md.palette->classes[c].name == palette.classes[c].name;
    if (!same)
        PFCE_THROW(InputError, "the masks in ", md.dir, " are of classes [",
                   class_list(md.palette->classes), "] but the dataset ", dataset, " has classes [",
                   class_list(palette.classes), "]: they do not belong together");
}

namespace {

// The command that makes md's masks again (its sampling settings as masks.json records them).
std::string remake_command(const MaskDir& md) {
    const nlohmann::json imported = md.meta.value("imported", nlohmann::json());
    if (imported.is_object() && imported.contains("from_points"))
        return "pfce sample --data " + shell_word(md.meta.value("source", std::string("DATA"))) +
               " --from-points " +
               shell_word(imported.value("from_points", std::string("POINTS"))) +
               " --class-field " + shell_word(imported.value("class_field", std::string("class"))) +
               " --out " + shell_word(md.dir) + " --force";
    if (imported.is_object())
        return "pfce sample --data " + shell_word(md.meta.value("source", std::string("DATA"))) +
               " --from " + shell_word(imported.value("from", std::string("ANNOTATIONS"))) +
               " --out " + shell_word(md.dir) + " --force";
    const std::string sample = "pfce sample --data " +
                               shell_word(md.meta.value("source", std::string("DATA"))) +
                               " (with the points and seed it was made with) --out ";
    return md.meta.value("kind", std::string()) == "linked"
               ? sample + "SPARSE, then pfce link --in SPARSE --out " + shell_word(md.dir) +
                     " --force"
               : sample + shell_word(md.dir) + " --force";
}

}  // namespace

void check_mask_fits(const MaskDir& md, const std::string& id, const LabelMap& mask,
                     const std::string& what, const std::string& path, int width, int height,
                     bool tiles) {
    if (mask.width == width && mask.height == height) return;
    PFCE_THROW(
        InputError, "mask ", mask_png_path(md.dir, id), " is ", mask.width, "x", mask.height,
        " but its ", what, " ", path, " is ", width, "x", height,
        ": its labels would fall on other pixels. ",
        tiles ? "The tiles are cut into patches otherwise than when the masks were made "
                "(data.tile_patch, data.tile_stride; masks.json records theirs): read them "
                "with those, or make the masks again: " +
                    remake_command(md)
              : "Was the mask or the " + what +
                    " replaced since the masks were made? Make them again: " + remake_command(md));
}

LabelMap read_mask_png(const MaskDir& md, const std::string& id, const Palette& palette) {
    check_id(md.dir, id);
    const std::string path = mask_png_path(md.dir, id);
    if (md.format == 1) {
        for (const ClassInfo& c : palette.classes)
            if (same_colour(c.colour, Rgb{0, 0, 0}))
                PFCE_THROW(
                    InputError, md.dir,
                    " holds masks of an older pfce that stored unlabelled pixels as "
                    "black, and black is the colour of class '",
                    c.name, "' in this dataset, so unlabelled and '", c.name,
                    "' cannot be told apart. Regenerate the directory: ", remake_command(md));
        Palette old;
        old.classes = palette.classes;
        old.unlabelled_colours = {Rgb{0, 0, 0}};
        return old.decode(read_mask_rgb(path), path);
    }
    check_mask_dir_classes(md, palette, "given");
    // The colours pfce wrote: the recorded classes', and the display colour for unlabelled.
    Palette written = palette;
    if (md.palette) written.classes = md.palette->classes;
    LabelMap m;
    std::vector<Rgb> colormap;
    // A mask gone since masks.json listed it is said as such (it got the colour hint below).
    if (const std::string why = missing_reason(path); !why.empty()) {
        // A sample the dataset gained since the masks were made has none, and is not listed.
        if (std::find(md.ids.begin(), md.ids.end(), id) == md.ids.end())
            PFCE_THROW(InputError, md.dir, " has no mask for sample ", id, " (", path, " ", why,
                       ", and ", md.dir,
                       "/masks.json does not list it: was the sample added to the dataset after "
                       "the masks were made?); make them again: ",
                       remake_command(md));
        PFCE_THROW(InputError, path, ", listed in ", md.dir, "/masks.json, ", why,
                   ": the mask directory is incomplete; make it again: ", remake_command(md));
    }
    try {
        m = read_gray(path, 0, &colormap);
    } catch (const InputError& e) {
        // Not read by colour: a colour PNG need not show unlabelled pixels as pfce did (black
        // there is a class in some datasets), so its colours could change what a pixel means.
        PFCE_THROW(InputError, e.what(), " (", md.dir,
                   " holds 8-bit palette PNGs whose values are labels; ",
                   "was this file replaced, or saved again in colour?)");
    }
    m = labels_by_palette_colour(std::move(m), colormap, written, path);
    check_labels(m, palette.num_classes(), path);
    return m;
}

}  // namespace pfce
