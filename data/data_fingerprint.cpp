// Dataset fingerprints: FNV-1a over file stamps and ids (see data_fingerprint.hpp).
#include "data/data_fingerprint.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "core/file_io.hpp"
#include "core/hash.hpp"
#include "data/mask_dir.hpp"

namespace pfce {
namespace fs = std::filesystem;

namespace {

template <typename T>
void hash_value(std::uint64_t& h, const T& v) {
    h = fnv1a64(&v, sizeof(v), h);
}
void hash_text(std::uint64_t& h, const std::string& s) {
    hash_value(h, s.size());
    h = fnv1a64(s.data(), s.size(), h);
}

// Which file each sample comes from (relative to the root, so ./D, D and /abs/D are the same
// data), its window, and that file's size and modification time (cheap to read for thousands of
// files; a rewritten or replaced file moves them). Tiles of one file stamp it once.
void hash_file_stamp(std::uint64_t& h, const std::string& file) {
    std::error_code ec;
    const auto size = fs::file_size(file, ec);
    hash_value(h, ec ? std::uintmax_t{0} : size);
    const auto when = fs::last_write_time(file, ec);
    hash_value(h,
               ec ? std::int64_t{0} : static_cast<std::int64_t>(when.time_since_epoch().count()));
}

void hash_sample_files(std::uint64_t& h, const Dataset& ds, std::string SampleRef::*path) {
    // Kaggle patches given as D or as D/patches are one dataset: paths from D either way (before,
    // eval --data D/patches said a run's files had changed when nothing had).
    // Absolute, so --data . from inside D/patches is D/patches too (relative paths to an absolute
    // base are the same as to the relative spelling of it).
    std::error_code ec;
    fs::path base = fs::absolute(ds.root(), ec).lexically_normal();
    if (base.filename().empty()) base = base.parent_path();
    if (ds.kind() == DatasetKind::kaggle && base.filename() == "patches") base = base.parent_path();
    std::string last;
    for (std::size_t i = 0; i < ds.size(); ++i) {
        const SampleRef& r = ds.sample(i);
        const std::string& file = r.*path;
        hash_text(
            h, fs::absolute(file, ec).lexically_normal().lexically_relative(base).generic_string());
        hash_value(h, std::array<int, 4>{r.x0, r.y0, r.width, r.height});
        if (file.empty() || file == last) continue;
        last = file;
        hash_file_stamp(h, file);
    }
}

// dataset.toml's text without its [image] table: how the images are read (bands, value range) is
// no part of what the masks mean, and a run or mask directory records it apart (data.bands); an
// [image] table added or edited made every result and mask directory of the data "of other label
// files" (walkthrough). A file without one is hashed as it always was, so records of earlier
// pfce still match.
std::string without_image_table(const std::string& text) {
    std::vector<std::string> kept;
    bool skipping = false, top_level = true;
    const auto blank = [](const std::string& l) {
        return l.find_first_not_of(" \t\r\n") == std::string::npos;
    };
    const auto comment = [](const std::string& l) {
        const std::size_t f = l.find_first_not_of(" \t");
        return f != std::string::npos && l[f] == '#';
    };
    for (std::size_t at = 0; at < text.size();) {
        const std::size_t end = std::min(text.find('\n', at), text.size());
        const std::string line = text.substr(at, end + 1 - at);
        at = end + 1;
        const std::size_t first = line.find_first_not_of(" \t");
        if (first != std::string::npos && line[first] == '[') {
            // A table header ([image], [ "image" ], [[...]]); array values inside [image] hold
            // numbers, so a line of its own starting with '[' is the next table. The skipped
            // block runs to it, the blank lines before it included.
            std::string name = line.substr(first + 1, line.find(']', first) - first - 1);
            name.erase(0, name.find_first_not_of(" \t\"'"));
            name.erase(name.find_last_not_of(" \t\"'") + 1);
            skipping = name == "image";
            top_level = false;
            if (skipping) {
                // Comments right above the header, set apart from what precedes them by a blank
                // line, were added with it (a comment ending the table before stays).
                std::size_t c = kept.size();
                while (c > 0 && comment(kept[c - 1])) --c;
                if (c == 0 || blank(kept[c - 1])) kept.resize(c);
                continue;
            }
        } else if (top_level && first != std::string::npos) {
            // image = { bands = [...] } or image.bands = [...], before any table.
            std::string key = line.substr(first);
            if (!key.empty() && (key[0] == '"' || key[0] == '\'')) key.erase(0, 1);
            if (key.rfind("image", 0) == 0 && key.size() > 5 &&
                std::string(".= \t\"'").find(key[5]) != std::string::npos)
                continue;
        }
        if (!skipping) kept.push_back(line);
    }
    // A table appended at the end came with the blank lines that set it apart.
    if (skipping)
        while (!kept.empty() && blank(kept.back())) kept.pop_back();
    std::string out;
    for (const std::string& l : kept) out += l;
    return out;
}

}  // namespace

std::string dense_labels_fingerprint(const Dataset& ds) {
    std::uint64_t h = fnv1a64("pfce dense labels 1", 19);
    // What a mask's colours or values mean: the classes and unlabelled colours, and the dataset's
    // description (its encoding and ignore values, whatever the reader took from it).
    const Palette& pal = ds.palette();
    for (const ClassInfo& c : pal.classes) {
        hash_text(h, c.name);
        hash_value(h, c.colour);
    }
    for (const Rgb& u : pal.unlabelled_colours) hash_value(h, u);
    std::error_code ec;
    const fs::path described = fs::path(ds.root()) / "dataset.toml";
    if (fs::is_regular_file(described, ec))
        hash_text(h, without_image_table(read_whole_file(described.string())));
    hash_sample_files(h, ds, &SampleRef::mask_path);
    return hex64(h);
}

std::string images_fingerprint(const Dataset& ds) {
    std::uint64_t h = fnv1a64("pfce images 1", 13);
    hash_sample_files(h, ds, &SampleRef::image_path);
    return hex64(h);
}

std::string mask_files_fingerprint(const std::string& dir, const std::vector<std::string>& ids) {
    std::uint64_t h = fnv1a64("pfce mask files 1", 17);
    for (const std::string& id : ids) {
        hash_text(h, id);
        hash_file_stamp(h, mask_png_path(dir, id));
    }
    return hex64(h);
}

std::vector<std::string> class_encodings(const Dataset& ds) {
    auto colour = [](const Rgb& c) {
        return "colour (" + std::to_string(c[0]) + ", " + std::to_string(c[1]) + ", " +
               std::to_string(c[2]) + ")";
    };
    const Palette& pal = ds.palette();
    std::vector<std::string> out;
    for (std::size_t c = 0; c < pal.classes.size(); ++c)
        out.push_back(pal.classes[c].name + " = " +
                      (ds.index_masks()
                           ? "value " + std::to_string(
                                            c < ds.index_values().size() ? ds.index_values()[c] : c)
                           : colour(pal.classes[c].colour)));
    return out;
}

std::string class_encoding_change(const nlohmann::json& was, const nlohmann::json& now) {
    auto list = [](const nlohmann::json& j) {
        std::vector<std::string> out;
        for (const auto& e : j)
            if (e.is_string()) out.push_back(e.get<std::string>());
        return out;
    };
    if (!was.is_array() || !now.is_array()) return {};
    const std::vector<std::string> a = list(was), b = list(now);
    if (a == b) return {};
    auto missing_from = [](const std::vector<std::string>& x, const std::vector<std::string>& y) {
        std::string out;
        for (const std::string& e : x)
            if (std::find(y.begin(), y.end(), e) == y.end()) out += (out.empty() ? "" : ", ") + e;
        return out;
    };
    const std::string gone = missing_from(a, b), added = missing_from(b, a);
    if (gone.empty() && added.empty()) return "the classes' order changed";
    return (gone.empty() ? "" : gone + " then") + (gone.empty() || added.empty() ? "" : "; ") +
           (added.empty() ? "" : added + " now");
}

nlohmann::json data_identity(const Dataset& ds) {
    std::uint64_t h = fnv1a64("pfce sample ids 1", 17);
    for (std::size_t i = 0; i < ds.size(); ++i) hash_text(h, ds.sample(i).id);
    return {{"samples", ds.size()},
            {"ids", hex64(h)},
            {"images", images_fingerprint(ds)},
            {"dense_labels", dense_labels_fingerprint(ds)},
            {"class_encodings", class_encodings(ds)}};
}

nlohmann::json recorded_data_identity(const nlohmann::json& meta) {
    if (!meta.is_object()) return nullptr;
    const auto data = meta.find("data");
    if (data == meta.end() || !data->is_object()) return nullptr;
    return data->value("identity", nlohmann::json());
}

std::string data_identity_change(const nlohmann::json& was, const nlohmann::json& now) {
    if (!was.is_object() || !now.is_object()) return {};
    auto differs = [&](const char* key) {
        return was.contains(key) && now.contains(key) && was[key] != now[key];
    };
    if (differs("samples"))
        return "it had " + std::to_string(was["samples"].get<std::size_t>()) + " samples, now " +
               std::to_string(now["samples"].get<std::size_t>());
    if (differs("ids")) return "its samples have other ids";
    if (differs("class_encodings"))
        return "its masks encode the classes otherwise (" +
               class_encoding_change(was["class_encodings"], now["class_encodings"]) + ")";
    if (differs("images") && differs("dense_labels"))
        return "its image and label files changed (or were touched)";
    if (differs("images")) return "its image files changed (or were touched)";
    if (differs("dense_labels")) return "its label files changed (or were touched)";
    return {};
}

std::vector<FileWrittenAfter> files_written_after(const Dataset& ds,
                                                  std::filesystem::file_time_type since,
                                                  bool masks) {
    namespace fs = std::filesystem;
    std::vector<FileWrittenAfter> out;
    std::set<std::string> seen;  // a tile's windows share one file
    for (std::size_t i = 0; i < ds.size(); ++i) {
        const SampleRef& sr = ds.sample(i);
        const std::string& file = masks ? sr.mask_path : sr.image_path;
        if (file.empty() || !seen.insert(file).second) continue;
        std::error_code ec;
        const auto when = fs::last_write_time(file, ec);
        if (ec || when <= since) continue;
        out.push_back({fs::path(file).lexically_relative(ds.root()).generic_string(), sr.id});
    }
    return out;
}

}  // namespace pfce
