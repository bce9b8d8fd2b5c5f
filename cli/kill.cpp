#include "cli/cli.hpp"

namespace berth::cli {

void addKill(CLI::App& app, Context& ctx) {
    static runtime::KillOptions o;
    auto* sub = app.add_subcommand("kill", "send a signal (default SIGTERM) to a container");
    sub->add_option("id", o.id, "container id")->required();
    sub->add_option("signal", o.signal, "signal name or number");
    sub->add_flag("-a,--all", o.all, "signal every process of the container");
    sub->callback([&ctx] { ctx.action = statusAction([&ctx] { return runtime::kill(ctx.global, o); }); });
}

}  // namespace berth::cli
