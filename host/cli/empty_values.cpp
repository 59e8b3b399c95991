#include "host/cli/empty_values.hpp"

#include <cctype>
#include <filesystem>
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

// Every --name of `app`'s options and of its option groups.
void add_long_names(const CLI::App& app, std::vector<std::string>& names) {
    for (const CLI::Option* o : app.get_options())
        if (!o->get_positional())
            for (const std::string& n : o->get_lnames()) names.push_back("--" + n);
    for (const CLI::App* g :
         app.get_subcommands([](const CLI::App* s) { return s->get_name().empty(); }))
        add_long_names(*g, names);
}

// "pfce data synth": the command the chain has reached.
std::string command_of(const std::vector<const CLI::App*>& chain) {
    std::string command = "pfce";
    for (std::size_t i = 1; i < chain.size(); ++i) command += " " + chain[i]->get_name();
    return command;
}

// An option no command of the chain has: named with the one it most likely meant (CLI11 said
// "The following arguments were not expected: 1 --epoch", values first; and where a required
// option was the one mistyped, only that the required one was missing).
[[noreturn]] void refuse_unknown_option(const std::vector<const CLI::App*>& chain,
                                        const std::string& name) {
    // Compared without their dashes ("--e" is not two edits from "--lr"), and a single-dash word
    // with the long names too (-epochs meant --epochs).
    std::vector<std::string> names, bare;
    for (const CLI::App* app : chain) add_long_names(*app, names);
    for (const std::string& n : names) bare.push_back(n.substr(2));
    const std::string typed = name.substr(std::min(name.find_first_not_of('-'), name.size()));
    const std::string nearest = typed.empty() ? std::string() : nearest_name(typed, bare);
    const std::string meant = nearest.empty() ? nearest : "--" + nearest;
    const std::string command = command_of(chain);
    PFCE_THROW(InputError, command, " has no option ", name,
               meant.empty() ? std::string() : " (did you mean " + meant + "?)", "; ", command,
               " --help lists its options");
}

// A word after the arguments the command takes (CLI11: "The following arguments were not
// expected"), with what was likely meant: a .toml for --config, several files from a shell
// pattern for --input.
[[noreturn]] void refuse_stray_argument(const std::vector<const CLI::App*>& chain,
                                        const std::string& word, int after) {
    const std::string command = command_of(chain);
    const CLI::App& app = *chain.back();
    const auto has = [&](const std::string& name) { return find_in(app, name).opt != nullptr; };
    std::string hint = command + " --help lists what it takes";
    std::error_code ec;
    const bool toml = word.size() > 5 && word.compare(word.size() - 5, 5, ".toml") == 0;
    if (toml && has("--config"))
        hint = "a config file is given with --config " + word;
    else if (has("--input") && std::filesystem::exists(word, ec))
        hint =
            "--input takes one image or one directory; for several images give their "
            "directory, with --match to pick them by name (quoted, e.g. --match '*.tif', or "
            "the shell expands the pattern into many words)";
    PFCE_THROW(InputError, command, ": unexpected argument ", shown(word),
               after > 0 ? " (and " + std::to_string(after) + " more after it)" : std::string(),
               "; ", hint);
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
    // Whether `arg` is one the command takes (one past them is refused by the caller, naming
    // it).
    bool take(const std::string& arg) {
        const std::vector<const CLI::Option*> pos = expected();
        if (!is_blank(arg) && seen >= pos.size()) return false;
        if (is_blank(arg)) {
            const std::string command = command_of(chain);
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
    // With help asked for, CLI11 shows it before it judges the rest: a typo beside --help is no
    // reason to withhold the help (it was shown before these checks).
    bool help = false;
    for (int k = 1; k < argc && std::string(argv[k]) != "--"; ++k)
        for (const char* h : {"-h", "--help", "--help-all", "--version"})
            help = help || std::string(argv[k]) == h;
    std::vector<const CLI::App*> chain{&app};
    Positionals positionals{chain};
    bool only_positionals = false;  // after "--"
    int i = 1;
    for (; i < argc; ++i) {
        const std::string arg = argv[i];
        out.push_back(arg);
        if (only_positionals) {
            if (!positionals.take(arg) && !help) refuse_stray_argument(chain, arg, argc - i - 1);
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
            if (!f.opt) {
                if (help) continue;
                refuse_unknown_option(chain, name);
            }
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
        if (looks_like_option(arg)) {
            // Short flags (-q, -v, -vq) take no value; a word of them that is no such cluster
            // (-epochs 3) is named, not the value after it. A negative number is a value.
            const bool number = std::isdigit(static_cast<unsigned char>(arg[1])) || arg[1] == '.';
            bool cluster = true;
            for (std::size_t c = 1; c < arg.size() && cluster; ++c)
                cluster = find_option(chain, std::string("-") + arg[c]).opt != nullptr;
            if (!number && !cluster && !help) refuse_unknown_option(chain, arg);
            continue;
        }
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
        if (!positionals.take(arg) && !help) refuse_stray_argument(chain, arg, argc - i - 1);
    }
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
