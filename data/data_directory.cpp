#include "data/data_directory.hpp"

#include <optional>

#include "data/dataset.hpp"
#include "data/mask_dir.hpp"

namespace pfce {

std::string data_directory_of(const std::filesystem::path& dir, bool itself_masks_ok) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path given = fs::absolute(dir, ec).lexically_normal();
    // "sp/" is sp: its parent_path is sp itself, which then read as a mask directory above it (a
    // probe's `link --in sp --out sp/` was refused as "among the dataset's images or masks").
    if (!given.has_filename()) given = given.parent_path();
    const fs::path d = fs::weakly_canonical(given, ec);
    if (ec || d.empty()) return {};
    // `data` resolved is d or an ancestor of d; where it is the dataset's root itself (its images
    // or masks lie in the root), d alone: a predictions/ folder in that root is fine.
    auto holds = [&](const fs::path& data, const fs::path& root) {
        std::error_code e;
        const fs::path c = fs::weakly_canonical(data, e);
        if (e) return false;
        if (c == fs::weakly_canonical(root, e)) return d == c;
        const fs::path rel = d.lexically_relative(c);
        return !rel.empty() && *rel.begin() != "..";
    };
    for (const fs::path& start : {given, d})
        for (fs::path root = start; !root.empty(); root = root.parent_path()) {
            if (is_mask_directory(root.string()) && !(itself_masks_ok && root == start))
                return "the mask directory " + fs::weakly_canonical(root, ec).string();
            if (const std::optional<GenericLayout> l = generic_layout(root)) {
                if (holds(l->images, root))
                    return "the image directory " + l->images.string() + " of the dataset " +
                           root.string();
                if (holds(l->masks, root))
                    return "the mask directory " + l->masks.string() + " of the dataset " +
                           root.string();
            }
            for (const auto& [mine, other] :
                 {std::pair{"Images", "Labels"}, std::pair{"Labels", "Images"}})
                if (fs::is_directory(root / other, ec) && fs::is_directory(root / mine, ec) &&
                    holds(root / mine, root))
                    return std::string("the ") + mine + "/ of the dataset " + root.string();
            if (root == root.parent_path()) break;
        }
    return {};
}

}  // namespace pfce
