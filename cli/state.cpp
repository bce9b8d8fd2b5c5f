#include <iostream>

#include "cli/cli.hpp"
#include "cli/json_order.hpp"

namespace berth::cli {

void printJson(const nlohmann::json& j) { std::cout << j.dump(2) << std::endl; }

Result<std::pair<std::string, std::vector<std::string>>> idAndRest(CLI::App* sub, const char* verb) {
    auto rem = sub->remaining();
    if (!rem.empty() && rem.front() == "--") rem.erase(rem.begin());
    if (rem.empty()) return Error::make(verb, ": a container id is required");
    std::string id = rem.front();
    rem.erase(rem.begin());
    if (!rem.empty() && rem.front() == "--") rem.erase(rem.begin());
    return std::make_pair(id, rem);
}

void addState(CLI::App& app, Context& ctx) {
    static std::string id;
    auto* sub = app.add_subcommand("state", "print a container's state as JSON");
    sub->add_option("id", id, "container id")->required();
    sub->callback([&ctx] {
        ctx.action = [&ctx]() -> Result<int> {
            ASSIGN_OR_RETURN(auto j, runtime::queryState(ctx.global, id));
            std::cout << inRuncOrder(j, JsonShape::State).dump(2) << std::endl;
            return 0;
        };
    });
}

}  // namespace berth::cli
