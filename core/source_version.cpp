#include "core/source_version.hpp"

#include "core/build_info.hpp"

namespace pfce {

std::string pfce_version_text() {
    const std::string commit = source_commit();
    std::string text = PFCE_VERSION;
    text += commit.empty() ? std::string(" (sources not under git)") : " (commit " + commit + ")";
    return text;
}

}  // namespace pfce
