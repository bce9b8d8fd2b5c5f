// cli: the thin command line — one file per verb registers its flags into an options struct and
// sets the action that calls ONE runtime function; main maps results to exit codes and one line.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "common/error.hpp"
#include "runtime/runtime.hpp"

namespace berth::cli {

struct Context {
    runtime::GlobalOptions global;
    // What the chosen verb does; returns the process exit code.
    std::function<Result<int>()> action;
    // --preserve-fds of the chosen verb: those fds must be the caller's, checked before berth
    // opens anything that could take their numbers.
    int preserveFds = 0;
    // The exit status when the action fails: 1, or 255 for exec's runtime failures (runc's
    // fatalWithCode(err, 255), which containerd's go-runc and conmon read).
    int failureCode = 1;
};

// Each adds one subcommand to app.
void addCreate(CLI::App& app, Context& ctx);
void addStart(CLI::App& app, Context& ctx);
void addRun(CLI::App& app, Context& ctx);
void addState(CLI::App& app, Context& ctx);
void addKill(CLI::App& app, Context& ctx);
void addDelete(CLI::App& app, Context& ctx);
void addList(CLI::App& app, Context& ctx);
void addPs(CLI::App& app, Context& ctx);
void addExec(CLI::App& app, Context& ctx);
void addSpec(CLI::App& app, Context& ctx);
void addFeatures(CLI::App& app, Context& ctx);
void addPause(CLI::App& app, Context& ctx);
void addUpdate(CLI::App& app, Context& ctx);
void addEvents(CLI::App& app, Context& ctx);
void addImage(CLI::App& app, Context& ctx);
void addBundle(CLI::App& app, Context& ctx);
void addVps(CLI::App& app, Context& ctx);  // the `vps` group (cli/vps.cpp)
// Overwrite the PASS of every `--userpasswd USER:PASS` in argv (what ps and /proc/PID/cmdline
// show) with '*'; call on argv after copying it for the parser (cli/vps.cpp).
void hideSecretArgs(int argc, char** argv);
// Hidden `__cli-tree`: every verb and option, for the man page test and shell completion.
void addCliTree(CLI::App& app, Context& ctx);

// Wrap a Status-returning call as an action returning exit code 0.
inline std::function<Result<int>()> statusAction(std::function<Status()> f) {
    return [f]() -> Result<int> {
        Status st = f();
        if (!st) return std::move(st).error();
        return 0;
    };
}

// For verbs that take "ID [ARGS...]" after their flags (exec, ps): the id and the rest, with a
// leading "--" dropped before either.
Result<std::pair<std::string, std::vector<std::string>>> idAndRest(CLI::App* sub, const char* verb);

// Print JSON to stdout the way runc does (indented with two spaces? runc: tab for state).
void printJson(const nlohmann::json& j);

}  // namespace berth::cli
