// Train/val/test splits: a Fisher-Yates shuffle driven by the counter-based RNG (so a seed gives
// the same split on every machine) of samples or of a tiles dataset's tiles, or explicit lists of
// sample ids (or tiles). Each part is returned sorted.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/log.hpp"
#include "core/rng.hpp"
#include "core/text.hpp"
#include "data/dataset.hpp"

namespace pfce {

namespace {
constexpr std::uint32_t kSplitStream = 0x53504C54;  // "SPLT": keeps split draws apart from others
}

Split make_split(std::size_t n, std::uint64_t seed, double train_frac, double val_frac) {
    if (!(train_frac >= 0 && val_frac >= 0 && train_frac + val_frac <= 1.0 + 1e-9))
        PFCE_THROW(InputError, "split fractions train ", train_frac, " and val ", val_frac,
                   " must be non-negative and sum to at most 1");
    if (n > 0xFFFFFFFFu) PFCE_THROW(InputError, "cannot split ", n, " samples (at most 2^32)");
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    CounterRng rng(seed, kSplitStream);
    for (std::size_t i = n; i > 1; --i)
        std::swap(order[i - 1], order[rng.below(static_cast<std::uint32_t>(i))]);

    const auto n_train =
        std::min(n, static_cast<std::size_t>(std::llround(train_frac * static_cast<double>(n))));
    const auto n_val = std::min(
        n - n_train, static_cast<std::size_t>(std::llround(val_frac * static_cast<double>(n))));
    Split s;
    s.train.assign(order.begin(), order.begin() + n_train);
    s.val.assign(order.begin() + n_train, order.begin() + n_train + n_val);
    s.test.assign(order.begin() + n_train + n_val, order.end());
    for (auto* part : {&s.train, &s.val, &s.test}) std::sort(part->begin(), part->end());
    return s;
}

Split make_tile_split(const Dataset& ds, std::size_t n, std::uint64_t seed, double train_frac,
                      double val_frac) {
    // Tiles in the order of their first window (the dataset's order, which does not depend on the
    // directory listing), so a seed picks the same tiles on every machine. The tiles of the first
    // n windows are kept whole: a tile cut by max_samples would be a part of a tile.
    std::vector<std::vector<std::size_t>> windows;
    std::map<std::string, std::size_t> tile_index;
    for (std::size_t i = 0; i < ds.size(); ++i) {
        const std::string tile = tile_of(ds.sample(i).id);
        auto it = tile_index.find(tile);
        if (it == tile_index.end()) {
            if (i >= n) continue;
            it = tile_index.emplace(tile, windows.size()).first;
            windows.emplace_back();
        }
        windows[it->second].push_back(i);
    }
    const Split tiles = make_split(windows.size(), seed, train_frac, val_frac);
    Split s;
    for (const auto& [tile_part, part] :
         {std::pair{&tiles.train, &s.train}, std::pair{&tiles.val, &s.val},
          std::pair{&tiles.test, &s.test}}) {
        for (const std::size_t t : *tile_part)
            part->insert(part->end(), windows[t].begin(), windows[t].end());
        std::sort(part->begin(), part->end());
    }
    return s;
}

std::vector<SplitListEntry> read_split_list(const std::string& list, const std::string& key) {
    std::error_code ec;
    if (std::filesystem::is_directory(list, ec))
        PFCE_THROW(InputError, key, " ", list,
                   " is a directory; expected a text file of sample ids, one per line");
    refuse_special_file_but_streams(list, "a text file of sample ids, one per line (" + key + ")");
    std::ifstream in(list);
    if (!in)
        PFCE_THROW(InputError, "cannot open split list ", list, " (", key,
                   "): ", std::strerror(errno));
    std::vector<SplitListEntry> out;
    std::string line;
    for (int line_no = 1; std::getline(in, line); ++line_no) {
        // UTF-16 (Notepad's "Unicode", PowerShell's default for > redirection) would read as ids
        // of NULs and a stray byte-order mark: named for what it is.
        if (line.find('\0') != std::string::npos ||
            (line_no == 1 && (line.rfind("\xFF\xFE", 0) == 0 || line.rfind("\xFE\xFF", 0) == 0)))
            PFCE_THROW(InputError, "split list ", list, " (", key,
                       ") is UTF-16 text (or holds NUL bytes): expected UTF-8 or ASCII, one sample "
                       "id per line; save it as UTF-8 (e.g. iconv -f UTF-16 -t UTF-8 IN > OUT)");
        // A byte-order mark (Windows editors save one) is not part of the first id.
        if (line_no == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
        const auto b = line.find_first_not_of(" \t\r");
        if (b == std::string::npos || line[b] == '#') continue;
        const auto e = line.find_last_not_of(" \t\r");
        out.push_back({line_no, line.substr(b, e - b + 1)});
    }
    if (in.bad()) PFCE_THROW(InputError, "cannot read split list ", list, " (", key, ")");
    return out;
}

std::string tile_of(const std::string& id) {
    return id.substr(0, id.rfind('@'));  // the last '@': a tile's own name may hold one
}

namespace {

// The samples of a dataset by id, and the windows of a tiles dataset by tile: window "T@x_y" is
// one of tile T's, so a list can name a whole tile (the ISPRS splits are lists of tiles).
struct SampleIndex {
    const Dataset& ds;
    std::map<std::string, std::size_t> by_id;
    std::map<std::string, std::vector<std::size_t>> by_group;
    // Each image's file name -> the id (a tile's: the tile) it stands for in a list.
    std::map<std::string, std::string> by_image_name;
    explicit SampleIndex(const Dataset& d) : ds(d) {
        for (std::size_t i = 0; i < ds.size(); ++i) {
            const SampleRef& s = ds.sample(i);
            by_id.emplace(s.id, i);
            const bool tiles = ds.kind() == DatasetKind::tiles;
            if (tiles) by_group[tile_of(s.id)].push_back(i);
            by_image_name.emplace(std::filesystem::path(s.image_path).filename().string(),
                                  tiles ? tile_of(s.id) : s.id);
        }
    }
};

// Whether `id` is TILE@x_y with x and y whole numbers (a window, on this grid or another).
bool window_id_form(const std::string& id) {
    const std::size_t at = id.rfind('@');
    if (at == std::string::npos) return false;
    const std::string xy = id.substr(at + 1);
    const std::size_t sep = xy.find('_');
    auto digits = [](const std::string& t) {
        return !t.empty() && t.find_first_not_of("0123456789") == std::string::npos;
    };
    return sep != std::string::npos && digits(xy.substr(0, sep)) && digits(xy.substr(sep + 1));
}

// Where the windows of `tile` start, for an id naming one of its windows that is not there:
// "tile 'T' has windows at x 0, 300, ..., 5700 and y 0, ... (data.tile_patch 300, ...)", and, for
// a window off that grid, whether the list was cut with another patch or stride.
std::string window_grid(const Dataset& ds, const std::string& id, const std::string& tile,
                        const std::vector<std::size_t>& windows) {
    std::set<int> xs, ys;
    for (const std::size_t i : windows) {
        xs.insert(ds.sample(i).x0);
        ys.insert(ds.sample(i).y0);
    }
    auto starts = [](const std::set<int>& v) {
        std::string out;
        std::size_t k = 0;
        for (const int s : v) {
            if (k < 3 || k + 1 == v.size())
                out += (k ? ", " : "") + std::to_string(s);
            else if (k == 3)
                out += ", ...";
            ++k;
        }
        return out;
    };
    const std::string grid =
        "tile '" + tile + "' has windows at x " + starts(xs) + " and y " + starts(ys) +
        " (data.tile_patch " + std::to_string(ds.options().tile_patch) + ", tile_stride " +
        std::to_string(ds.options().tile_stride) + "; --tile-patch, --tile-stride)";
    return window_id_form(id)
               ? grid + ": was the list made with another patch or stride?"
               : "a window's id is TILE@x_y with x, y where the window starts: " + grid;
}

// An id written as an image's file name, as official lists often are (OpenEarthMap's
// "aachen_1.tif", DeepGlobe's "100694_sat.jpg", a Potsdam tile's "top_potsdam_2_13_RGB.tif"): the
// sample or tile whose image has that name; "" when no image has it. Only ever tried for an id
// that is not itself a sample's or tile's.
std::string id_of_file_name(const SampleIndex& index, const std::string& id) {
    const auto it = index.by_image_name.find(id);
    return it == index.by_image_name.end() ? std::string() : it->second;
}

// A sample's or tile's id that `id` matches once accents are dropped (é written as e + U+0301,
// NFD, in a list made on macOS, where the file is named with é, NFC): "" if none. Only a hint: ids
// match by their bytes, as files pair by them.
std::string accent_twin(const SampleIndex& index, const std::string& id) {
    const std::string folded = fold_accents(id);
    for (const auto& [known, sample] : index.by_id)
        if (known != id && fold_accents(known) == folded) return known;
    for (const auto& [known, windows] : index.by_group)
        if (known != id && fold_accents(known) == folded) return known;
    return {};
}

// The ids of `list` that are not in the dataset, named together (a tiles dataset missing most of
// a split's tiles said so one tile at a time), with what the first one would be.
[[noreturn]] void refuse_unknown(const std::string& list,
                                 const std::vector<std::pair<int, std::string>>& unknown,
                                 const SampleIndex& index) {
    const auto& [line_no, id] = unknown.front();
    std::string more;
    for (std::size_t k = 1; k < unknown.size() && k < 4; ++k)
        more += ", '" + unknown[k].second + "'";
    if (unknown.size() > 4) more += ", ...";
    // An id written as a file name that is not an image's (a label's, a .txt): the id it stands
    // for.
    std::string stem = std::filesystem::path(id).stem().string();
    const bool tiles = index.ds.kind() == DatasetKind::tiles;
    if (tiles && !index.by_group.count(stem) && !index.by_id.count(stem))
        for (const char* suffix : {"_RGB", "_IRRG", "_RGBIR", "_label", "_label_noBoundary"}) {
            const std::string sfx = suffix;
            if (stem.size() > sfx.size() &&
                stem.compare(stem.size() - sfx.size(), sfx.size(), sfx) == 0 &&
                index.by_group.count(stem.substr(0, stem.size() - sfx.size()))) {
                stem.resize(stem.size() - sfx.size());
                break;
            }
        }
    std::string hint;
    const std::vector<std::string>& maskless = index.ds.ids_without_mask();
    if (const std::string& known =
            std::binary_search(maskless.begin(), maskless.end(), id) ? id : stem;
        std::binary_search(maskless.begin(), maskless.end(), known))
        hint = "; '" + known + "' is an image without a mask, left out by [files] " +
               "images_without_mask = \"skip\" in " + index.ds.root() + "/dataset.toml";
    else if (const std::string twin = accent_twin(index, id); !twin.empty())
        hint = "; the dataset's '" + twin +
               "' differs from it only in its accented letters: which accent, or how it is "
               "encoded (Unicode NFC or NFD: names copied from macOS are NFD), which look alike "
               "but are other bytes: write the id as the dataset's file names have it";
    else if (stem != id && (index.by_id.count(stem) || index.by_group.count(stem)))
        hint = tiles ? "; that is a file of tile '" + stem + "': name the tile"
                     : "; ids are file names without their extension: '" + stem + "'";
    else if (tiles && id.find('@') == std::string::npos)
        hint = "; no tile of that name in " + index.ds.root() + " (a tile's name, e.g. '" +
               index.by_group.begin()->first + "', stands for all its windows)";
    else if (const auto g = index.by_group.find(tile_of(id)); tiles && g != index.by_group.end())
        hint = "; " + window_grid(index.ds, id, g->first, g->second);
    else if (tiles)
        hint = "; no tile '" + (window_id_form(id) ? tile_of(id) : id) + "' in " + index.ds.root() +
               " (a window's id is TILE@x_y with x, y where the window starts)";
    else if (index.ds.size() > 0)  // what an id of this dataset looks like ('Image_0', not '0')
        hint = "; its ids are like '" + index.ds.sample(0).id + "'" +
               (index.ds.size() > 1 ? ", '" + index.ds.sample(1).id + "'" : std::string());
    PFCE_THROW(InputError, list, ":", line_no, ": ",
               unknown.size() == 1
                   ? "unknown sample id '" + id + "'"
                   : std::to_string(unknown.size()) + " unknown sample ids: '" + id + "'" + more,
               " (not in the dataset", hint, ")");
}

// Ids in `list` (one per line; blank lines and '#' comments skipped) -> sample indices; a tile's
// name stands for all its windows. `key` is the config key that named it (data.train_list). A
// list given must name at least one sample: an empty split is asked for by leaving the list out,
// not by an empty file.
std::vector<std::size_t> read_list(const std::string& list, const char* key,
                                   const SampleIndex& index,
                                   std::map<std::size_t, std::string>& owner) {
    std::vector<std::size_t> out;
    if (list.empty()) return out;
    std::vector<std::pair<int, std::string>> unknown;  // line, id
    std::size_t file_names = 0;                        // ids written as file names, read as ids
    std::string first_file_name;
    for (const SplitListEntry& entry : read_split_list(list, key)) {
        const int line_no = entry.line;
        std::string id = entry.id;
        if (!index.by_id.count(id) && !index.by_group.count(id))
            if (std::string named_id = id_of_file_name(index, id); !named_id.empty()) {
                if (file_names++ == 0) first_file_name = "'" + id + "' as '" + named_id + "'";
                id = std::move(named_id);
            }
        std::vector<std::size_t> named;
        if (const auto it = index.by_id.find(id); it != index.by_id.end()) {
            named.push_back(it->second);
        } else if (const auto g = index.by_group.find(id); g != index.by_group.end()) {
            named = g->second;
        } else {
            unknown.push_back({line_no, id});  // all of them are named together below
            continue;
        }
        const std::string here = list + ":" + std::to_string(line_no);
        const bool tile = index.by_id.count(id) == 0;
        for (const std::size_t i : named) {
            auto [o, fresh] = owner.emplace(i, here);
            if (!fresh)
                PFCE_THROW(InputError, here, ": ",
                           tile ? "tile '" + id + "': its window '" + index.ds.sample(i).id + "'"
                                : "sample '" + id + "'",
                           " is already listed at ", o->second);
            out.push_back(i);
        }
    }
    if (!unknown.empty()) refuse_unknown(list, unknown, index);
    if (file_names > 0)
        log_info("data: ", list, " names ", file_names == 1 ? "an image" : "images",
                 " by file name: read ", first_file_name,
                 file_names > 1 ? " (and " + std::to_string(file_names - 1) + " more)" : "");
    if (out.empty())
        PFCE_THROW(InputError, key, " ", list,
                   " holds no sample ids; expected one id per line (blank lines and # comments "
                   "are skipped)");
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

Split split_from_lists(const Dataset& ds, const std::string& train_list,
                       const std::string& val_list, const std::string& test_list,
                       const std::array<std::string, 3>& names) {
    const char* flags[] = {"--train-list (data.train_list)", "--val-list (data.val_list)",
                           "--test-list (data.test_list)"};
    const std::string* paths[] = {&train_list, &val_list, &test_list};
    std::pair<const char*, const std::string*> lists[3];
    for (std::size_t k = 0; k < 3; ++k)
        lists[k] = {names[k].empty() ? flags[k] : names[k].c_str(), paths[k]};
    for (std::size_t a = 0; a < 3; ++a)
        for (std::size_t b = a + 1; b < 3; ++b) {
            std::error_code ec;
            if (!lists[a].second->empty() && !lists[b].second->empty() &&
                (*lists[a].second == *lists[b].second ||
                 std::filesystem::equivalent(*lists[a].second, *lists[b].second, ec)))
                PFCE_THROW(InputError, lists[a].first, " and ", lists[b].first,
                           " name the same file, ", *lists[b].second,
                           ": each part of the split needs its own list");
        }
    const SampleIndex index(ds);
    std::map<std::size_t, std::string> owner;
    Split s;
    s.train = read_list(train_list, lists[0].first, index, owner);
    s.val = read_list(val_list, lists[1].first, index, owner);
    s.test = read_list(test_list, lists[2].first, index, owner);
    // Windows of one tile in two parts are the neighbours a split by tile keeps apart.
    for (const auto& [tile, windows] : index.by_group) {
        std::set<std::string> parts;
        for (const std::size_t i : windows)
            if (const auto o = owner.find(i); o != owner.end())
                parts.insert(o->second.substr(0, o->second.rfind(':')));
        if (parts.size() > 1) {
            log_warn("data: tile ", tile, " has windows in ", parts.size(),
                     " of the split's lists; windows of one tile are neighbours (or overlap), so "
                     "scores on the ones held out are optimistic: list whole tiles to split by "
                     "tile");
            break;
        }
    }
    return s;
}

Split split_from_ids(const Dataset& ds, const std::vector<std::string>& train,
                     const std::vector<std::string>& val, const std::vector<std::string>& test,
                     const std::string& source) {
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < ds.size(); ++i) index.emplace(ds.sample(i).id, i);
    auto map_ids = [&](const std::vector<std::string>& ids, const char* part) {
        std::vector<std::size_t> out;
        std::string missing;
        std::size_t n_missing = 0;
        for (const std::string& id : ids) {
            const auto it = index.find(id);
            if (it != index.end()) {
                out.push_back(it->second);
            } else if (++n_missing <= 3) {
                missing += (missing.empty() ? "" : ", ") + id;
            }
        }
        if (n_missing > 0)
            PFCE_THROW(InputError, source, ": ", n_missing, " sample(s) of its ", part,
                       " split are not in ", ds.root(), " (", missing, n_missing > 3 ? ", ..." : "",
                       "): is this the dataset it was trained on?");
        std::sort(out.begin(), out.end());
        return out;
    };
    Split s;
    s.train = map_ids(train, "train");
    s.val = map_ids(val, "validation");
    s.test = map_ids(test, "test");
    return s;
}

}  // namespace pfce
