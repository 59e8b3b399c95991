// Enums that have names in files and on the command line (optimizer, schedule, dataset kind,
// dtype, log level): one table per enum gives both directions, and an unknown name is an
// InputError listing the names there are. EnumTable (names indexed by value, declared beside the
// enum) for enums whose values are 0..N-1 in order; EnumName pairs for the others.
#pragma once

#include <array>
#include <cctype>
#include <cstddef>
#include <string>

#include "core/error.hpp"

namespace pfce {

// Names are read in any case (`--kind GENERIC`, `name = "ADAM"`), as config choices are.
inline bool same_name(const std::string& text, const char* name) {
    std::size_t i = 0;
    for (; name[i] != '\0'; ++i)
        if (i >= text.size() || std::tolower(static_cast<unsigned char>(text[i])) !=
                                    std::tolower(static_cast<unsigned char>(name[i])))
            return false;
    return i == text.size();
}

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
        if (same_name(text, e.name)) return e.value;
        names += (names.empty() ? "" : ", ") + std::string(e.name);
    }
    PFCE_THROW(InputError, what, ": unknown value \"", text, "\" (expected one of ", names, ")");
}

// names[i] is the name of the enumerator of value i; `what` names the setting in errors unless the
// caller gives a source ("run.toml [optimizer] name").
template <typename E, std::size_t N>
struct EnumTable {
    std::array<const char*, N> names;
    const char* what;

    const char* name(E value) const {
        const auto i = static_cast<std::size_t>(value);
        return i < N ? names[i] : "?";
    }
    E parse(const std::string& text, const std::string& source = {}) const {
        std::string list;
        for (std::size_t i = 0; i < N; ++i) {
            if (same_name(text, names[i])) return static_cast<E>(i);
            list += (list.empty() ? "" : ", ") + std::string(names[i]);
        }
        PFCE_THROW(InputError, source.empty() ? std::string(what) : source, ": unknown value \"",
                   text, "\" (expected one of ", list, ")");
    }
};

}  // namespace pfce
