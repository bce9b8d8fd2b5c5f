// berth's entry point: global flags as runc takes them, one subcommand per verb, and the one
// place where an error becomes a line on stderr (and in --log) and an exit code.
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <unistd.h>

#include <iostream>

#include "cli/cli.hpp"
#include "common/log.hpp"
#include "runtime/handler.hpp"
#include "runtime/spec/spec.hpp"
#include "vm-shim/vm_handler.hpp"

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
                         berth::spec::kSpecVersion, "\nlibseccomp: ", v->major, ".", v->minor, ".",
                         v->micro);
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
    cli::Context ctx;
    // The handlers berth ships; the runtime only knows them through its registry.
    runtime::registerHandler(vm::makeHandler());
    std::string argv0 = argc > 0 ? argv[0] : "berth";
    if (argv0.substr(argv0.rfind('/') + 1) == "berth-vm") ctx.global.handler = vm::kHandlerName;
    CLI::App app{"berth: an OCI container runtime", "berth"};
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
    cli::addCreate(app, ctx);
    cli::addStart(app, ctx);
    cli::addRun(app, ctx);
    cli::addState(app, ctx);
    cli::addKill(app, ctx);
    cli::addDelete(app, ctx);
    cli::addList(app, ctx);
    cli::addPs(app, ctx);
    cli::addExec(app, ctx);
    cli::addSpec(app, ctx);
    cli::addFeatures(app, ctx);
    cli::addPause(app, ctx);
    cli::addUpdate(app, ctx);
    cli::addEvents(app, ctx);
    cli::addImage(app, ctx);
    cli::addBundle(app, ctx);
    cli::addVps(app, ctx);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        (void)log::configure(logPath, logFormat == "json" ? log::Format::Json : log::Format::Text, debug);
        reportError(std::string(e.what()) + " (see berth --help)");
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
    if (!ctx.action) {
        std::cout << app.help() << std::flush;
        return 1;
    }
    Result<int> r = ctx.action();
    if (!r) {
        reportError(r.error().what());
        return 1;
    }
    return *r;
}
