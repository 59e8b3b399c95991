// Enums that have names in files and on the command line (optimizer, schedule, dataset kind,
// dtype, log level): one table of (value, name) per enum gives both directions, and an unknown name
// is an InputError listing the names there are.
#pragma once

#include <cstddef>
#include <string>

#include "core/error.hpp"

namespace pfce {

template <typename E>
struct EnumName {
    E value;
    const char* name;
};

template <typename E, std::size_t N>
const char* enum_name(E value, const EnumName<E> (&table)[N]) {
    for (const auto& e : table)
        if (e.value == value) return e.name;
    return "?";
}

// `what` names the setting in the error ("schedule", "--device").
template <typename E, std::size_t N>
E parse_enum(const std::string& text, const EnumName<E> (&table)[N], const std::string& what) {
    std::string names;
    for (const auto& e : table) {
        if (text == e.name) return e.value;
        names += (names.empty() ? "" : ", ") + std::string(e.name);
    }
    PFCE_THROW(InputError, what, ": unknown value \"", text, "\" (expected one of ", names, ")");
}

}  // namespace pfce
