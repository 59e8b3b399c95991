#include "host/cli/empty_values.hpp"

#include <string>
#include <vector>

#include "core/error.hpp"

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

std::string command_line_name(const std::vector<const CLI::App*>& chain) {
    std::string name = "pfce";
    for (std::size_t i = 1; i < chain.size(); ++i) name += " " + chain[i]->get_name();
    return name;
}

[[noreturn]] void refuse(const std::string& what, const CLI::Option& opt) {
    const bool is_switch = opt.get_expected_min() == 0;
    const std::string type = opt.get_type_name();
    PFCE_THROW(InputError, what, ": an empty value; expected ",
               is_switch ? "true or false, or the switch alone (" + opt.get_name() + ")"
                         : (type.empty() || type == "TEXT" ? std::string() : type + ": ") +
                               opt.get_description());
}

}  // namespace

bool is_config_flag_group(const std::string& group) {
    return group.size() > 2 && group.front() == '[' && group.back() == ']';
}

void refuse_empty_values(const CLI::App& app, int argc, const char* const* argv) {
    std::vector<const CLI::App*> chain{&app};
    std::size_t positional = 0;  // positional arguments of the innermost subcommand so far
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--") break;  // what follows is positional, as the user meant it
        if (arg.size() > 2 && arg.compare(0, 2, "--") == 0) {
            const std::size_t eq = arg.find('=');
            const std::string name = arg.substr(0, eq);
            const Found f = find_option(chain, name);
            if (!f.opt) continue;  // CLI11 names an unknown option itself
            const bool is_switch = f.opt->get_expected_min() == 0;
            if (eq != std::string::npos) {
                if (eq + 1 == arg.size() && (is_switch || !f.config)) refuse(arg, *f.opt);
                continue;
            }
            // Values follow: one for a switch given one or a single-value option, more for a
            // list option, as long as they do not look like options.
            const int most = f.opt->get_expected_max();
            for (int taken = 0; taken < most && i + 1 < argc; ++taken) {
                const std::string next = argv[i + 1];
                if (next.empty()) {
                    if (is_switch || !f.config) refuse(name + " \"\"", *f.opt);
                } else if (next[0] == '-' && next.size() > 1) {
                    break;
                } else if (is_switch && named_subcommand(*chain.back(), next)) {
                    break;
                }
                ++i;
            }
            continue;
        }
        if (arg.size() > 1 && arg[0] == '-') continue;  // short flags take no value here
        if (const CLI::App* sub = named_subcommand(*chain.back(), arg)) {
            chain.push_back(sub);
            positional = 0;
            continue;
        }
        if (arg.empty()) {
            std::vector<const CLI::Option*> pos =
                chain.back()->get_options([](const CLI::Option* o) { return o->get_positional(); });
            if (positional < pos.size())
                PFCE_THROW(InputError, command_line_name(chain), ": ", pos[positional]->get_name(),
                           " is empty (\"\"); expected ", pos[positional]->get_description());
            PFCE_THROW(InputError, command_line_name(chain),
                       ": an empty argument (\"\") where none was expected");
        }
        ++positional;
    }
}

}  // namespace pfce::cli
