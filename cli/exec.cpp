#include "cli/cli.hpp"

namespace berth::cli {

void addExec(CLI::App& app, Context& ctx) {
    static runtime::ExecOptions o;
    auto* sub = app.add_subcommand("exec", "run a process in a running container");
    sub->add_option("-p,--process", o.processFile, "process.json describing the process");
    sub->add_flag("-t,--tty", o.tty, "allocate a pseudo-TTY");
    sub->add_flag("-d,--detach", o.detach, "detach from the process");
    sub->add_option("--pid-file", o.pidFile, "file to write the process pid to");
    sub->add_option("--console-socket", o.consoleSocket, "unix socket that receives the pty master");
    sub->add_option("-e,--env", o.env, "set an environment variable KEY=VALUE")->allow_extra_args(false);
    sub->add_option("--cwd", o.cwd, "current working directory in the container");
    sub->add_option("-u,--user", o.user, "uid[:gid]");
    sub->add_option("-g,--additional-gids", o.additionalGids, "additional gids")->allow_extra_args(false);
    sub->add_option("-c,--cap", o.caps, "add a capability")->allow_extra_args(false);
    sub->add_flag("--no-new-privs", o.noNewPrivs, "set no_new_privs");
    sub->add_option("-a,--apparmor", o.apparmor, "AppArmor profile");
    sub->add_option("--preserve-fds", o.preserveFds, "pass N extra fds to the process");
    static std::string label;
    sub->add_option("--process-label", label, "SELinux label (accepted; SELinux is not supported)");
    sub->add_option("--cgroup", o.subCgroups,
                    "run the process in an existing sub-cgroup: [CONTROLLER[,CONTROLLER...]:]PATH (repeatable)")
        ->allow_extra_args(false);
    sub->add_flag("--ignore-paused", o.ignorePaused, "allow exec in a paused container (the process stays frozen until resume)");
    sub->prefix_command();
    sub->callback([&ctx, sub] {
        ctx.preserveFds = o.preserveFds;
        ctx.action = [&ctx, sub]() -> Result<int> {
            ASSIGN_OR_RETURN(auto idArgs, idAndRest(sub, "exec"));
            o.id = idArgs.first;
            o.args = idArgs.second;
            // From here on a failure is exec's own, not the command line's: runc exits 255.
            ctx.failureCode = 255;
            return runtime::exec(ctx.global, o);
        };
    });
}

}  // namespace berth::cli
