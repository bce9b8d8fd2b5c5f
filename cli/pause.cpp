#include "cli/cli.hpp"

namespace berth::cli {

void addPause(CLI::App& app, Context& ctx) {
    static std::string pauseId, resumeId;
    auto* p = app.add_subcommand("pause", "suspend every process of a container");
    p->add_option("id", pauseId, "container id")->required();
    p->callback([&ctx] { ctx.action = statusAction([&ctx] { return runtime::pause(ctx.global, pauseId); }); });
    auto* r = app.add_subcommand("resume", "resume a paused container");
    r->add_option("id", resumeId, "container id")->required();
    r->callback([&ctx] { ctx.action = statusAction([&ctx] { return runtime::resume(ctx.global, resumeId); }); });
}

}  // namespace berth::cli
