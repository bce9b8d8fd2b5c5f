#include <iostream>

#include "cli/cli.hpp"

namespace berth::cli {

void addPs(CLI::App& app, Context& ctx) {
    static std::string format = "table";
    auto* sub = app.add_subcommand("ps", "list the processes of a container");
    sub->add_option("-f,--format", format, "table or json")->check(CLI::IsMember({"table", "json"}));
    sub->prefix_command();
    sub->callback([&ctx, sub] {
        ctx.action = [&ctx, sub]() -> Result<int> {
            ASSIGN_OR_RETURN(auto idArgs, idAndRest(sub, "ps"));
            auto& [id, rem] = idArgs;
            if (format == "json") {
                ASSIGN_OR_RETURN(auto pids, runtime::processes(ctx.global, id));
                std::cout << nlohmann::json(pids).dump() << "\n";
                return 0;
            }
            ASSIGN_OR_RETURN(std::string table, runtime::processTable(ctx.global, id, rem));
            std::cout << table;
            return 0;
        };
    });
}

}  // namespace berth::cli
