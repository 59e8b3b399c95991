#include "core/backend.hpp"

#include "core/error.hpp"

namespace pfce {

void Backend::select_op_variant(const std::string& op, const std::string& variant) {
    std::string names;
    for (const std::string& v : op_variants(op)) names += (names.empty() ? "" : ", ") + v;
    if (names.empty())
        PFCE_THROW(InputError, name(), ": op \"", op, "\" has one implementation, no variant \"",
                   variant, "\"");
    PFCE_THROW(InputError, name(), ": op \"", op, "\" has no variant \"", variant,
               "\" (expected one of ", names, ")");
}

}  // namespace pfce
