#include "cli/cli.hpp"

namespace berth::cli {

void addSpec(CLI::App& app, Context& ctx) {
    static std::string bundle = ".";
    static bool rootless = false;
    auto* sub = app.add_subcommand("spec", "write a default config.json into the bundle");
    sub->add_option("-b,--bundle", bundle, "bundle directory");
    sub->add_flag("--rootless", rootless, "a config for a rootless container");
    sub->callback([&ctx] {
        ctx.action = statusAction([] { return runtime::writeDefaultSpec(bundle, rootless); });
    });
}

void addFeatures(CLI::App& app, Context& ctx) {
    auto* sub = app.add_subcommand("features", "print the runtime-spec features berth implements");
    sub->callback([&ctx] {
        ctx.action = []() -> Result<int> {
            printJson(runtime::features());
            return 0;
        };
    });
}

}  // namespace berth::cli
