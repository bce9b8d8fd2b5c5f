#include "cli/help.hpp"

#include <map>
#include <sstream>

namespace berth::cli {
namespace {

// Usage lines CLI11 cannot derive: verbs that take the rest of the command line themselves.
const std::map<std::string, std::string>& usageArgs() {
    static const std::map<std::string, std::string> m = {
        {"berth exec", "<container-id> <command> [args...]  || -p process.json <container-id>"},
        {"berth ps", "<container-id> [ps options]"},
        {"berth vps exec", "<name> <command> [args...]"},
    };
    return m;
}

std::string commandPath(const CLI::App* app) {
    std::string path = app->get_name();
    for (const CLI::App* p = app->get_parent(); p; p = p->get_parent()) path = p->get_name() + " " + path;
    return path;
}

std::vector<const CLI::App*> visibleSubcommands(const CLI::App* app) {
    std::vector<const CLI::App*> out;
    for (const CLI::App* s : app->get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); }))
        out.push_back(s);
    return out;
}

// "--name value, -n value" for an option, "--name, -n" for a flag.
std::string optionNames(const CLI::Option* o) {
    bool flag = o->get_expected_max() == 0;  // add_flag sets expected(0)
    std::string out;
    auto add = [&](const std::string& n) {
        if (!out.empty()) out += ", ";
        out += n + (flag ? "" : " value");
    };
    for (auto& l : o->get_lnames()) add("--" + l);
    for (auto& s : o->get_snames()) add("-" + s);
    return out;
}

std::string optionDesc(const CLI::Option* o) {
    std::string d = o->get_description();
    std::string def = o->get_default_str();
    if (!def.empty() && o->get_expected_max() != 0) d += " (default: \"" + def + "\")";
    return d;
}

// Two columns as urfave's tabwriter: "   NAME<pad>DESC", the pad fitting the longest name.
std::string table(const std::vector<std::pair<std::string, std::string>>& rows) {
    size_t w = 0;
    for (auto& [n, d] : rows) w = std::max(w, n.size());
    std::string out;
    for (auto& [n, d] : rows) {
        std::string line = "   " + n;
        if (!d.empty()) line += std::string(w - n.size() + 2, ' ') + d;
        out += line + "\n";
    }
    return out;
}

std::string usageLine(const CLI::App* app) {
    std::string path = commandPath(app);
    if (!app->get_parent()) return path + " [global options] command [command options] [arguments...]";
    std::string line = path;
    if (!visibleSubcommands(app).empty()) return line + " command [command options] [arguments...]";
    line += " [command options]";
    if (auto it = usageArgs().find(path); it != usageArgs().end()) return line + " " + it->second;
    for (const CLI::Option* o : app->get_options([](const CLI::Option* o) { return o->get_positional(); })) {
        std::string n = "<" + o->get_name() + ">";
        if (o->get_expected_max() > 1) n += "...";
        line += " " + (o->get_required() ? n : "[" + n + "]");
    }
    return line;
}

class RuncFormatter : public CLI::FormatterBase {
public:
    std::string make_help(const CLI::App* app, std::string, CLI::AppFormatMode) const override {
        std::ostringstream out;
        std::string path = commandPath(app);
        out << "NAME:\n   " << path << " - " << app->get_description() << "\n\n";
        out << "USAGE:\n   " << usageLine(app) << "\n";
        auto subs = visibleSubcommands(app);
        if (!subs.empty()) {
            std::vector<std::pair<std::string, std::string>> rows;
            for (auto* s : subs) rows.emplace_back(s->get_name(), s->get_description());
            out << "\nCOMMANDS:\n" << table(rows);
        }
        std::vector<std::pair<std::string, std::string>> rows;
        const CLI::Option* help = nullptr;
        for (const CLI::Option* o : app->get_options([](const CLI::Option* o) { return o->nonpositional(); })) {
            if (o->get_group().empty()) continue;  // hidden
            if (o == app->get_help_ptr()) {
                help = o;
                continue;
            }
            rows.emplace_back(optionNames(o), optionDesc(o));
        }
        if (help) rows.emplace_back("--help, -h", "show help");
        if (!rows.empty()) out << "\n" << (app->get_parent() ? "OPTIONS:" : "GLOBAL OPTIONS:") << "\n" << table(rows);
        return out.str();
    }
};

}  // namespace

std::shared_ptr<CLI::FormatterBase> helpFormatter() { return std::make_shared<RuncFormatter>(); }

}  // namespace berth::cli
