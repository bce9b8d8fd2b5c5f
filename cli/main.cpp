// berth's entry point: global flags as runc takes them, one subcommand per verb, and the one
// place where an error becomes a line on stderr (and in --log) and an exit code.
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>
#include <set>

#include "cli/cli.hpp"
#include "cli/help.hpp"
#include "common/log.hpp"
#include "runtime/handler.hpp"
#include "runtime/spec/spec.hpp"
#include "vm/vm_handler.hpp"
#include "vps/console_holder.hpp"

#include "berth_version.h"  // generated at build time (cmake/version.cmake)
#ifndef BERTH_VERSION
#define BERTH_VERSION "0.0.0"
#endif
#ifndef BERTH_COMMIT
#define BERTH_COMMIT "unknown"
#endif

namespace {

std::string versionText() {
    const struct scmp_version* v = seccomp_version();
    return berth::strCat("berth version ", BERTH_VERSION, "\ncommit: ", BERTH_COMMIT, "\nspec: ",
                         berth::runtime::spec::kSpecVersion, "\nlibseccomp: ", v->major, ".", v->minor, ".",
                         v->micro);
}

// The deepest subcommand the command line chose (the app itself when none).
const CLI::App* chosenCommand(const CLI::App& app) {
    const CLI::App* cur = &app;
    for (;;) {
        auto subs = cur->get_subcommands();
        if (subs.empty()) return cur;
        cur = subs.front();
    }
}

// "berth foo" or "berth image foo -h": a word where a command of a command group belongs. CLI11
// keeps it as a left-over argument (and -h would print the group's help): runc's "No help topic"
// error instead, with exit status 1.
std::string unknownCommand(const CLI::App& app) {
    const CLI::App* cmd = chosenCommand(app);
    if (cmd->get_subcommands([](const CLI::App*) { return true; }).empty()) return "";
    auto rest = cmd->remaining();
    if (rest.empty() || rest.front().empty() || rest.front()[0] == '-') return "";
    std::string path = cmd->get_name();
    for (const CLI::App* p = cmd->get_parent(); p; p = p->get_parent()) path = p->get_name() + " " + path;
    return berth::strCat("unknown command \"", rest.front(), "\" (see ", path, " --help)");
}

// runc's `help [COMMAND...]` (and `h`): the same as `COMMAND... --help`.
std::vector<std::string> expandHelpCommand(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    static const std::set<std::string> withValue = {"--root", "--log", "--log-format", "--store", "--criu"};
    for (size_t i = 0; i < args.size(); i++) {
        if (withValue.count(args[i])) {
            i++;
            continue;
        }
        if (!args[i].empty() && args[i][0] == '-') continue;
        if (args[i] == "help" || args[i] == "h") {
            args.erase(args.begin() + static_cast<long>(i));
            args.push_back("--help");
        }
        break;
    }
    std::reverse(args.begin(), args.end());  // CLI11 takes them last-first
    return args;
}

using AddVerb = void (*)(CLI::App&, berth::cli::Context&);

// Every verb, in --help's order. Several functions add two verbs (addRun adds run; addPause
// adds pause and resume): each appears once per name.
const std::pair<const char*, AddVerb> kVerbs[] = {
    {"create", berth::cli::addCreate},   {"start", berth::cli::addStart},
    {"run", berth::cli::addRun},         {"state", berth::cli::addState},
    {"kill", berth::cli::addKill},       {"delete", berth::cli::addDelete},
    {"list", berth::cli::addList},       {"ps", berth::cli::addPs},
    {"exec", berth::cli::addExec},       {"spec", berth::cli::addSpec},
    {"features", berth::cli::addFeatures}, {"pause", berth::cli::addPause},
    {"resume", berth::cli::addPause},    {"update", berth::cli::addUpdate},
    {"events", berth::cli::addEvents},   {"image", berth::cli::addImage},
    {"bundle", berth::cli::addBundle},   {"vps", berth::cli::addVps},
    {"__cli-tree", berth::cli::addCliTree},
};

// Adds the subcommands to app. Building CLI11's tree of every verb (the vps and image groups
// hold most of its ~400 options) was two thirds of the instructions of a `berth state` (2.8 of
// 4.3 million, callgrind, bench/README.md): when args (last-first, as the parser takes them)
// name a known verb, only that verb is added. Anything else — no verb, --help alone, a word
// that is no verb — gets the whole tree, so help and "unknown command" read as before.
void addVerbs(CLI::App& app, berth::cli::Context& ctx, const std::vector<std::string>& args) {
    static const std::set<std::string> withValue = {"--root", "--log", "--log-format", "--store",
                                                    "--criu", "--rootless"};
    for (size_t i = args.size(); i-- > 0;) {
        const std::string& a = args[i];
        if (withValue.count(a)) {
            if (i-- == 0) break;
            continue;
        }
        if (!a.empty() && a[0] == '-') continue;
        for (const auto& [name, add] : kVerbs) {
            if (a != name) continue;
            // __cli-tree prints every verb: it needs them all.
            if (a != "__cli-tree") {
                add(app, ctx);
                return;
            }
        }
        break;
    }
    // `berth --version` (podman and containerd ask it often): no verb is needed to answer.
    bool version = false, help = false;
    for (const std::string& a : args) {
        version = version || a == "-v" || a == "--version";
        help = help || a == "-h" || a == "--help";
    }
    if (version && !help && std::none_of(args.begin(), args.end(), [](const std::string& a) {
            return !a.empty() && a[0] != '-';
        }))
        return;
    AddVerb last = nullptr;
    for (const auto& [name, add] : kVerbs) {
        if (add != last) add(app, ctx);
        last = add;
    }
}

void reportError(const std::string& msg) {
    // The log (podman reads it) gets the line in the requested format; a human gets stderr.
    if (berth::log::fd() >= 0) berth::log::error(msg);
    std::string line = "berth: " + msg + "\n";
    ssize_t r = ::write(STDERR_FILENO, line.data(), line.size());
    (void)r;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace berth;
    // A hook or client that closes its end early must give EPIPE, not kill berth mid-create.
    // (Every child berth starts resets SIGPIPE before its execve.)
    ::signal(SIGPIPE, SIG_IGN);
    std::string argv0 = argc > 0 ? argv[0] : "berth";
    // A VPS's console holder when berth-console is not installed next to berth (vps/console).
    if (argv0.substr(argv0.rfind('/') + 1) == vps::kConsoleHolderName) return vps::consoleHolderMain(argc, argv);
    cli::Context ctx;
    // The handlers berth ships; the runtime only knows them through its registry.
    runtime::registerHandler(vm::makeHandler());
    if (argv0.substr(argv0.rfind('/') + 1) == "berth-vm") ctx.global.handler = vm::kHandlerName;
    CLI::App app{"an OCI container runtime", "berth"};
    app.formatter(cli::helpFormatter());  // subcommands made below inherit it
    app.require_subcommand(0, 1);
    std::string logPath, logFormat = "text";
    bool debug = false, showVersion = false;
    app.add_option("--root", ctx.global.root, "directory for container state")->capture_default_str();
    app.add_option("--log", logPath, "log file (default stderr)");
    app.add_option("--log-format", logFormat, "text or json")->check(CLI::IsMember({"text", "json"}));
    app.add_flag("--debug", debug, "log debug messages");
    app.add_option("--store", ctx.global.store, "image store (default $BERTH_STORE or /var/lib/berth)");
    app.add_flag("--systemd-cgroup", ctx.global.systemdCgroup, "cgroupsPath is slice:prefix:name");
    static std::string rootless = "auto";
    static std::string criu;
    app.add_option("--rootless", rootless,
                   "true, false or auto (not root, or root of a user namespace): without cgroup permissions, no cgroup")
        ->capture_default_str();
    app.add_option("--criu", criu, "accepted for runc compatibility");
    app.add_flag("-v,--version", showVersion, "print the version");
    // The parser gets a copy; argv itself (what ps shows) loses any --userpasswd password.
    std::vector<std::string> args = expandHelpCommand(argc, argv);
    addVerbs(app, ctx, args);
    cli::hideSecretArgs(argc, argv);
    try {
        app.parse(args);
    } catch (const CLI::CallForHelp& e) {
        if (std::string unknown = unknownCommand(app); !unknown.empty()) {
            reportError(unknown);
            return 1;
        }
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        (void)log::configure(logPath, logFormat == "json" ? log::Format::Json : log::Format::Text, debug);
        std::string unknown = unknownCommand(app);
        reportError(unknown.empty() ? std::string(e.what()) + " (see berth --help)" : unknown);
        return 1;
    }
    if (showVersion) {
        std::cout << versionText() << std::endl;
        return 0;
    }
    // Before the log file or anything else is opened: a preserved fd the caller does not hold
    // would otherwise be one of berth's own (a state lock, the log) handed to the container.
    if (ctx.preserveFds < 0) {
        reportError("--preserve-fds must not be negative");
        return 1;
    }
    for (int fd = 3; fd < 3 + ctx.preserveFds; fd++) {
        if (::fcntl(fd, F_GETFD) < 0) {
            reportError(strCat("--preserve-fds ", ctx.preserveFds, ": fd ", fd, " is not open"));
            return 1;
        }
    }
    Status st = log::configure(logPath, logFormat == "json" ? log::Format::Json : log::Format::Text, debug);
    if (!st) {
        reportError(st.error().what());
        return 1;
    }
    if (auto r = runtime::resolveRootless(rootless)) {
        ctx.global.rootless = *r;
    } else {
        reportError(r.error().what());
        return 1;
    }
    if (app.count("--root") == 0) ctx.global.root = runtime::defaultStateRoot();
    if (!ctx.action) {  // `berth` alone, or a command group alone: its help, as runc
        std::cout << chosenCommand(app)->help() << std::flush;
        return 0;
    }
    std::string command;
    for (const CLI::App* c = chosenCommand(app); c->get_parent(); c = c->get_parent())
        command = c->get_name() + (command.empty() ? "" : " " + command);
    log::debug(command, ": starting (berth ", BERTH_VERSION, ", root ", ctx.global.root, ")");
    Result<int> r = ctx.action();
    if (!r) {
        log::debug(command, ": failed, exit status ", ctx.failureCode);
        reportError(r.error().what());
        return ctx.failureCode;
    }
    log::debug(command, ": done, exit status ", *r);
    return *r;
}
