// Mask directories: <id>.png colour masks (unlabelled = black) plus masks.json, written last so that
// a directory holding masks.json is complete. masks.json = the caller's meta + "ids" in dataset order.
#include "data/mask_dir.hpp"

#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "core/error.hpp"
#include "data/image_io.hpp"

namespace pfce {
namespace fs = std::filesystem;
namespace {

constexpr const char* kMetaFile = "masks.json";

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
}

}  // namespace

std::string mask_png_path(const std::string& dir, const std::string& id) {
    return (fs::path(dir) / (id + ".png")).string();
}

void write_mask_png(const std::string& dir, const std::string& id, const LabelMap& mask,
                    const Palette& palette) {
    check_id(dir, id);
    make_dir(dir);
    write_png(mask_png_path(dir, id), palette.encode(mask));
}

void write_mask_json(const std::string& dir, const std::vector<std::string>& ids,
                     const nlohmann::json& meta) {
    make_dir(dir);
    nlohmann::json j = meta.is_object() ? meta : nlohmann::json::object();
    j["ids"] = ids;
    const std::string path = (fs::path(dir) / kMetaFile).string();
    write_atomically(path, [&](const std::string& tmp) {
        std::ofstream f(tmp);
        f << j.dump(2) << "\n";
        f.close();
        if (!f) PFCE_THROW(SystemError, "cannot write ", tmp);
    });
}

void write_mask_dir(const std::string& dir, const std::vector<std::string>& ids,
                    const std::vector<LabelMap>& masks, const Palette& palette,
                    const nlohmann::json& meta) {
    if (ids.size() != masks.size())
        PFCE_THROW(InputError, dir, ": ", masks.size(), " masks but ", ids.size(), " ids");
    for (const std::string& id : ids) check_id(dir, id);
    make_dir(dir);
    std::exception_ptr error;
    const long count = static_cast<long>(ids.size());
#pragma omp parallel for schedule(dynamic, 4)
    for (long i = 0; i < count; ++i) {
        try {
            const auto k = static_cast<std::size_t>(i);
            write_png(mask_png_path(dir, ids[k]), palette.encode(masks[k]));
        } catch (...) {
#pragma omp critical(pfce_mask_dir_error)
            if (!error) error = std::current_exception();
        }
    }
    if (error) std::rethrow_exception(error);
    write_mask_json(dir, ids, meta);
}

MaskDir open_mask_dir(const std::string& dir) {
    const std::string path = (fs::path(dir) / kMetaFile).string();
    std::ifstream f(path);
    if (!f)
        PFCE_THROW(InputError, path, ": missing; ", dir,
                   " is not a complete mask directory (masks.json is written last)");
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(f);
    } catch (const nlohmann::json::exception& e) {
        PFCE_THROW(InputError, path, ": not valid JSON: ", e.what());
    }
    if (!j.is_object() || !j.contains("ids") || !j["ids"].is_array())
        PFCE_THROW(InputError, path, ": expected an object with an \"ids\" array");
    MaskDir md;
    md.dir = dir;
    for (const auto& v : j["ids"]) {
        if (!v.is_string()) PFCE_THROW(InputError, path, ": \"ids\" holds a non-string ", v.dump());
        md.ids.push_back(v.get<std::string>());
    }
    j.erase("ids");
    md.meta = std::move(j);
    return md;
}

LabelMap read_mask_png(const MaskDir& md, const std::string& id, const Palette& palette) {
    check_id(md.dir, id);
    const std::string path = mask_png_path(md.dir, id);
    return palette.decode(read_rgb(path), path);
}

}  // namespace pfce
