#include <iostream>

#include "cli/cli.hpp"
#include "cli/json_order.hpp"
#include "common/units.hpp"

namespace berth::cli {

void addEvents(CLI::App& app, Context& ctx) {
    static runtime::EventsOptions o;
    static std::string interval = "5s";
    auto* sub = app.add_subcommand("events", "print a container's resource usage and OOM events");
    sub->add_option("id", o.id, "container id")->required();
    sub->add_flag("--stats", o.stats, "print the statistics once and exit");
    sub->add_option("--interval", interval, "time between stats events (Go duration, e.g. 5s)")
        ->capture_default_str();
    sub->callback([&ctx] {
        ctx.action = [&ctx]() -> Result<int> {
            auto d = units::parseDuration(interval);
            if (!d) return Error(d.error()).context("--interval");
            o.interval = *d;
            TRY(runtime::events(ctx.global, o, [](const nlohmann::json& e) {
                // One line per event in runc's field order, flushed for pipes.
                std::cout << inRuncOrder(e, JsonShape::Event).dump() << std::endl;
            }));
            return 0;
        };
    });
}

}  // namespace berth::cli
