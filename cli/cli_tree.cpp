// `berth __cli-tree` (hidden): every verb and every option the CLI accepts, one per line, for the
// tools generated from the CLI itself — the man pages' drift test and the shell completions
// (dist/completion/). Nothing here runs a container.
#include <iostream>

#include "cli/cli.hpp"

namespace berth::cli {

namespace {

std::string oneLine(std::string s) {
    for (char& c : s)
        if (c == '\n' || c == '\t') c = ' ';
    return s;
}

// Lines, tab-separated:
//   cmd  PATH  DESCRIPTION                        a verb ("" is berth itself, "image ls" a sub-verb)
//   opt  PATH  NAMES  flag|value  shown|hidden  DESCRIPTION    NAMES: -d,--detach
//   arg  PATH  NAME                               a positional argument, in order
void printTree(const CLI::App& app, const std::string& path, std::ostream& out) {
    out << "cmd\t" << path << "\t" << oneLine(app.get_description()) << "\n";
    for (const CLI::Option* opt : app.get_options({})) {
        if (opt->get_positional() && !opt->nonpositional()) {
            out << "arg\t" << path << "\t" << opt->get_name() << "\n";
            continue;
        }
        std::string names;
        for (const auto& s : opt->get_snames()) names += (names.empty() ? "-" : ",-") + s;
        for (const auto& l : opt->get_lnames()) names += (names.empty() ? "--" : ",--") + l;
        if (names.empty()) continue;
        out << "opt\t" << path << "\t" << names << "\t" << (opt->get_expected_max() == 0 ? "flag" : "value")
            << "\t" << (opt->get_group().empty() ? "hidden" : "shown") << "\t" << oneLine(opt->get_description())
            << "\n";
    }
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
        if (sub->get_name().rfind("__", 0) == 0) continue;
        printTree(*sub, path.empty() ? sub->get_name() : path + " " + sub->get_name(), out);
    }
}

}  // namespace

void addCliTree(CLI::App& app, Context& ctx) {
    auto* sub = app.add_subcommand("__cli-tree", "");
    sub->group("");  // hidden from --help
    sub->callback([&app, &ctx] {
        ctx.action = [&app]() -> Result<int> {
            printTree(app, "", std::cout);
            std::cout << std::flush;
            return 0;
        };
    });
}

}  // namespace berth::cli
