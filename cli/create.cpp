#include "cli/cli.hpp"

namespace berth::cli {

static void addCreateFlags(CLI::App* sub, runtime::CreateOptions& o) {
    sub->add_option("id", o.id, "container id")->required();
    sub->add_option("-b,--bundle", o.bundle, "path to the bundle directory");
    sub->add_option("--console-socket", o.consoleSocket, "unix socket that receives the pty master");
    sub->add_option("--pid-file", o.pidFile, "file to write the init's pid to");
    sub->add_flag("--no-pivot", o.noPivot, "use MS_MOVE+chroot instead of pivot_root");
    sub->add_flag("--no-new-keyring", o.noNewKeyring,
                  "do not give the container a session keyring of its own (it keeps the caller's)");
    sub->add_option("--preserve-fds", o.preserveFds, "pass N extra fds (3..3+N-1) to the container");
}

void addCreate(CLI::App& app, Context& ctx) {
    static runtime::CreateOptions o;
    auto* sub = app.add_subcommand("create", "create a container (its init waits for start)");
    addCreateFlags(sub, o);
    sub->callback([&ctx] {
        ctx.preserveFds = o.preserveFds;
        ctx.action = statusAction([&ctx] { return runtime::create(ctx.global, o); });
    });
}

void addRun(CLI::App& app, Context& ctx) {
    static runtime::RunOptions o;
    auto* sub = app.add_subcommand("run", "create and start a container");
    addCreateFlags(sub, o.create);
    sub->add_flag("-d,--detach", o.detach, "detach from the container's process");
    sub->add_flag("--keep", o.keep, "keep the container's state after it exits");
    sub->add_flag("--no-subreaper", o.noSubreaper, "do not become a subreaper");
    sub->add_option("--image", o.image, "make the bundle from this image (ARGS after -- replace its Cmd)");
    sub->add_option("args", o.args, "with --image: the command to run instead of the image's Cmd");
    sub->callback([&ctx, sub] {
        ctx.preserveFds = o.create.preserveFds;
        bool bundleGiven = sub->count("--bundle") > 0;
        ctx.action = [&ctx, bundleGiven]() -> Result<int> {
            if (!o.args.empty() && o.image.empty())
                return Error::make("run: unexpected arguments (a command needs --image)");
            if (!o.image.empty() && bundleGiven)
                return Error::make("run: --image makes the container's bundle itself; -b/--bundle cannot go with it "
                                   "(make a bundle with `berth bundle IMAGE DIR`, then run -b DIR)");
            return runtime::run(ctx.global, o);
        };
    });
}

void addStart(CLI::App& app, Context& ctx) {
    static std::string id;
    auto* sub = app.add_subcommand("start", "start a created container");
    sub->add_option("id", id, "container id")->required();
    sub->callback([&ctx] { ctx.action = statusAction([&ctx] { return runtime::start(ctx.global, id); }); });
}

}  // namespace berth::cli
