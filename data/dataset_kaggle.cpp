// Potsdam Kaggle patches: Images/Image_N.(tif|png|jpg) paired with Labels/Label_N.(tif|png),
// ordered by N as a number, labels in the ISPRS palette. Every image needs its label and vice
// versa.
#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>

#include "core/error.hpp"
#include "core/log.hpp"
#include "data/dataset_detail.hpp"
#include "data/image_io.hpp"

namespace fs = std::filesystem;

namespace pfce {
namespace {

// Sample numbers as digit strings without leading zeros (any length: no integer overflow),
// ordered as numbers.
struct NumberLess {
    bool operator()(const std::string& a, const std::string& b) const {
        return a.size() != b.size() ? a.size() < b.size() : a < b;
    }
};
using Numbered = std::map<std::string, fs::path, NumberLess>;

// N -> file for every "<prefix>N.<ext>" in dir; two files for one N are an error.
Numbered numbered_files(const fs::path& dir, const std::string& prefix) {
    Numbered out;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return out;
    const std::regex pattern(prefix + "([0-9]+)\\.(tif|tiff|png|jpg|jpeg)", std::regex::icase);
    std::vector<std::string> left_out;  // image files not named as the layout's: said
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        std::smatch m;
        if (!std::regex_match(name, m, pattern)) {
            if (!name.empty() && name[0] != '.' &&
                (detail::is_image_extension(e.path()) || is_unread_image_name(name)))
                left_out.push_back(name);  // a browser's "Image_5 (1).tif", a .bmp
            else if (!name.empty() && name[0] != '.')
                log_debug("kaggle: ignoring ", e.path().string());
            continue;
        }
        detail::check_file_entry(e);
        std::string n = m[1].str();
        n.erase(0, std::min(n.find_first_not_of('0'), n.size() - 1));
        detail::add_sample_file(out, n, e.path());
    }
    detail::warn_of_files_left_out(
        dir.string(), std::move(left_out), "image",
        "a Potsdam Kaggle directory reads " + prefix +
            (prefix == "Label_" ? "N.tif or .png (N a number) alone (a mask is never "
                                  "JPEG: lossy, it changes label values)"
                                : "N.tif, .png or .jpg (N a number) alone") +
            "; rename a file to read it");
    return out;
}

}  // namespace

void DatasetBuilder::scan_kaggle(Dataset& ds, const fs::path& dir) {
    const fs::path images_dir = dir / "Images", labels_dir = dir / "Labels";
    std::error_code ec;
    if (!fs::is_directory(labels_dir, ec))
        PFCE_THROW(InputError, "Kaggle dataset ", dir.string(),
                   " has Images/ but no Labels/ directory (", labels_dir.string(), " is missing)");
    const auto images = numbered_files(images_dir, "Image_");
    const auto labels = numbered_files(labels_dir, "Label_");
    if (images.empty())
        PFCE_THROW(InputError, "empty dataset: no Image_N.tif, .png or .jpg files in ",
                   images_dir.string(), " (dataset root ", ds.root_, ")");
    for (const auto& [n, path] : labels)
        if (!images.count(n))
            PFCE_THROW(MissingPartnerFile, "missing partner file: ", path.string(),
                       " has no image ",
                       (images_dir / ("Image_" + n + path.extension().string())).string(),
                       detail::unread_partner_hint(images_dir, "Image_" + n, false));

    ds.palette_ = potsdam_palette();
    ds.samples_.reserve(images.size());
    for (const auto& [n, path] : images) {
        auto l = labels.find(n);
        if (l == labels.end())
            PFCE_THROW(MissingPartnerFile, "missing partner file: ", path.string(),
                       " has no label ",
                       (labels_dir / ("Label_" + n + path.extension().string())).string(),
                       detail::unread_partner_hint(labels_dir, "Label_" + n, true));
        SampleRef s;
        s.id = "Image_" + n;
        s.image_path = path.string();
        s.mask_path = l->second.string();
        ds.samples_.push_back(std::move(s));
    }
    detail::check_all_pairs(ds.samples_, ds.opts_);
}

}  // namespace pfce
