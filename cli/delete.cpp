#include "cli/cli.hpp"

namespace berth::cli {

void addDelete(CLI::App& app, Context& ctx) {
    static runtime::DeleteOptions o;
    auto* sub = app.add_subcommand("delete", "delete a container and everything it holds");
    sub->add_option("id", o.id, "container id")->required();
    sub->add_flag("-f,--force", o.force, "kill the container first if it is running");
    sub->callback([&ctx] { ctx.action = statusAction([&ctx] { return runtime::remove(ctx.global, o); }); });
}

}  // namespace berth::cli
