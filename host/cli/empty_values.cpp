#include "host/cli/empty_values.hpp"

#include <map>
#include <utility>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/text.hpp"

namespace pfce::cli {
namespace {

struct Found {
    const CLI::Option* opt = nullptr;
    bool config = false;
};

// `name` among the options of `app` and of its option groups (unnamed subcommands).
Found find_in(const CLI::App& app, const std::string& name) {
    for (const CLI::Option* o : app.get_options())
        if (!o->get_positional() && o->check_name(name))
            return {o, is_config_flag_group(o->get_group())};
    for (const CLI::App* g :
         app.get_subcommands([](const CLI::App* s) { return s->get_name().empty(); })) {
        const Found f = find_in(*g, name);
        if (f.opt) return {f.opt, f.config || is_config_flag_group(g->get_group())};
    }
    return {};
}

// The innermost subcommand first: options of parents are accepted after a subcommand.
Found find_option(const std::vector<const CLI::App*>& chain, const std::string& name) {
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        const Found f = find_in(**it, name);
        if (f.opt) return f;
    }
    return {};
}

const CLI::App* named_subcommand(const CLI::App& app, const std::string& name) {
    for (const CLI::App* s :
         app.get_subcommands([](const CLI::App* s) { return !s->get_name().empty(); }))
        if (s->check_name(name)) return s;
    return nullptr;
}

bool looks_like_option(const std::string& word) {
    return word.size() > 1 && word[0] == '-';
}

std::string shown(const std::string& word) {
    return "\"" + word + "\"";
}

// `what` ("--data \"\"", "--force=") gives `opt` the blank `value`.
[[noreturn]] void refuse(const std::string& what, const std::string& value,
                         const CLI::Option& opt) {
    const std::string name = opt.get_name();
    if (opt.get_expected_max() == 0)  // a pure flag such as --no-augment or --force
        PFCE_THROW(InputError, what, ": ", name, " takes no value (give it alone)");
    if (opt.get_expected_min() == 0)
        PFCE_THROW(InputError, what, ": ", value.empty() ? "an empty" : "a blank", " value; ", name,
                   " takes true or false, or nothing (alone it means true)");
    // CLI11 writes a checked type as TEXT:FILE or UINT:UINT: the last part says the most.
    std::string type = opt.get_type_name();
    type = type.substr(type.rfind(':') + 1);
    PFCE_THROW(InputError, what, ": ", value.empty() ? "an empty" : "a blank", " value; ", name,
               " takes ", type.empty() ? std::string("a value") : type, " (", opt.get_description(),
               ")");
}

// The innermost subcommand's positional arguments, counted as they come, and "" refused by name.
struct Positionals {
    const std::vector<const CLI::App*>& chain;
    std::size_t seen = 0;
    std::vector<const CLI::Option*> expected() const {
        return chain.back()->get_options([](const CLI::Option* o) { return o->get_positional(); });
    }
    // Whether `arg` is one the command takes: one past them (a mistyped subcommand, `pfce dta
    // stats`) is CLI11's to name, with what follows it.
    bool take(const std::string& arg) {
        const std::vector<const CLI::Option*> pos = expected();
        if (!is_blank(arg) && seen >= pos.size()) return false;
        if (is_blank(arg)) {
            std::string command = "pfce";
            for (std::size_t i = 1; i < chain.size(); ++i) command += " " + chain[i]->get_name();
            if (seen < pos.size())
                PFCE_THROW(InputError, command, ": ", pos[seen]->get_name(),
                           arg.empty() ? " is empty (" : " is blank (", shown(arg), "); expected ",
                           pos[seen]->get_description());
            PFCE_THROW(InputError, command, ": a blank argument (", shown(arg),
                       ") where none was expected");
        }
        ++seen;
        return true;
    }
};

}  // namespace

bool is_config_flag_group(const std::string& group) {
    return group.size() > 2 && group.front() == '[' && group.back() == ']';
}

std::vector<std::string> checked_arguments(const CLI::App& app, int argc, const char* const* argv) {
    std::vector<std::string> out;
    // Options of one value that are not config keys (those say it themselves), as typed: given
    // twice, the last is taken and said, as config flags do (CLI11 said only "At Most 1 required
    // but received 2").
    std::map<const CLI::Option*, std::pair<std::string, std::vector<std::string>>> single;
    auto note = [&](const Found& f, const std::string& name, const std::string& value) {
        if (f.config || f.opt->get_expected_max() != 1) return;
        auto& [typed, values] = single[f.opt];
        if (typed.empty()) typed = name;
        values.push_back(value);
    };
    std::vector<const CLI::App*> chain{&app};
    Positionals positionals{chain};
    bool only_positionals = false;  // after "--"
    int i = 1;
    for (; i < argc; ++i) {
        const std::string arg = argv[i];
        out.push_back(arg);
        if (only_positionals) {
            if (!positionals.take(arg)) break;
            continue;
        }
        if (arg == "--") {
            only_positionals = true;
            continue;
        }
        if (arg.size() > 2 && arg.compare(0, 2, "--") == 0) {
            const std::size_t eq = arg.find('=');
            const std::string name = arg.substr(0, eq);
            const Found f = find_option(chain, name);
            if (!f.opt) break;  // CLI11 names an unknown option first; what follows is its business
            const int least = f.opt->get_expected_min(), most = f.opt->get_expected_max();
            if (eq != std::string::npos) {
                const std::string value = arg.substr(eq + 1);
                note(f, name, value);
                if (!value.empty()) {
                    if (is_blank(value) && (least == 0 || !f.config)) refuse(arg, value, *f.opt);
                    continue;
                }
                if (least == 0 || !f.config) refuse(arg, value, *f.opt);
                // CLI11 would take the next word as the value: the empty one is meant.
                out.back() = name;
                out.push_back("");
                continue;
            }
            // The words CLI11 gives the option: the ones it needs whatever they look like, then
            // (a switch's value, a list's further items) as long as they look like no option.
            // Config-key flags judge their own values; a blank one anywhere else is refused.
            int taken = 0;
            for (; taken < most && i + 1 < argc; ++taken) {
                const std::string next = argv[i + 1];
                if (taken >= least &&
                    (looks_like_option(next) || named_subcommand(*chain.back(), next)))
                    break;
                if (is_blank(next) && (least == 0 || !f.config))
                    refuse(name + " " + shown(next), next, *f.opt);
                out.push_back(next);
                if (taken == 0) note(f, name, next);
                ++i;
            }
            // A blank word right after a flag that takes none (`--force ""`) was meant for it:
            // name the flag rather than a positional.
            if (most == 0 && i + 1 < argc && is_blank(argv[i + 1]))
                refuse(name + " " + shown(argv[i + 1]), argv[i + 1], *f.opt);
            continue;
        }
        if (looks_like_option(arg)) continue;  // short flags (-q, -v) take no value
        if (const CLI::App* sub = named_subcommand(*chain.back(), arg)) {
            chain.push_back(sub);
            positionals.seen = 0;
            continue;
        }
        if (chain.back()->get_require_subcommand_min() > 0 && !is_blank(arg)) {
            // CLI11 says only "A subcommand is required": name the word and the commands.
            std::string names;
            for (const CLI::App* s : chain.back()->get_subcommands(
                     [](const CLI::App* s) { return !s->get_name().empty(); }))
                names += (names.empty() ? "" : ", ") + s->get_name();
            PFCE_THROW(InputError, shown(arg), " is not a command of ",
                       chain.size() == 1 ? std::string("pfce") : "pfce " + chain.back()->get_name(),
                       "; expected one of ", names);
        }
        if (!positionals.take(arg)) break;
    }
    for (int k = i + 1; k < argc; ++k) out.push_back(argv[k]);  // after a break: as given
    for (const auto& [opt, given] : single) {
        const auto& [typed, values] = given;
        if (values.size() < 2) continue;
        std::string listed;
        for (std::size_t k = 0; k < values.size(); ++k)
            listed += (k == 0                   ? ""
                       : k + 1 == values.size() ? ", then "
                                                : ", ") +
                      (is_blank(values[k]) ? shown(values[k]) : values[k]);
        log_warn(typed, " is given ", values.size(), " times (", listed,
                 "): the last one is taken");
    }
    return out;
}

}  // namespace pfce::cli
