#include <iostream>

#include "cli/cli.hpp"
#include "cli/json_order.hpp"

namespace berth::cli {
namespace {

// runc's tabwriter layout: min width 12, padding 3.
void printTable(const std::vector<std::vector<std::string>>& rows) {
    std::vector<size_t> width;
    for (auto& r : rows)
        for (size_t i = 0; i < r.size(); i++) {
            if (width.size() <= i) width.push_back(0);
            width[i] = std::max(width[i], r[i].size());
        }
    for (auto& r : rows) {
        std::string line;
        for (size_t i = 0; i < r.size(); i++) {
            line += r[i];
            if (i + 1 < r.size()) line += std::string(std::max<size_t>(12, width[i] + 3) - r[i].size(), ' ');
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        std::cout << line << "\n";
    }
}

}  // namespace

void addList(CLI::App& app, Context& ctx) {
    static std::string format = "table";
    static bool quiet = false;
    auto* sub = app.add_subcommand("list", "list containers");
    sub->add_option("-f,--format", format, "table or json")->check(CLI::IsMember({"table", "json"}));
    sub->add_flag("-q,--quiet", quiet, "print only the container ids");
    sub->callback([&ctx] {
        ctx.action = [&ctx]() -> Result<int> {
            ASSIGN_OR_RETURN(auto all, runtime::list(ctx.global));
            if (quiet) {
                for (auto& c : all) std::cout << c.st.id << "\n";
            } else if (format == "json") {
                nlohmann::json array = nlohmann::json::array();
                for (auto& c : all) {
                    array.push_back(runtime::state::publicJson(c.st, c.live));
                    array.back()["owner"] = c.owner;
                }
                std::cout << inRuncOrder(array, JsonShape::State).dump() << "\n";
            } else {
                std::vector<std::vector<std::string>> rows = {{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
                rows.reserve(all.size() + 1);
                for (auto& c : all) {
                    pid_t pid = c.live == runtime::state::ContainerStatus::Stopped ? 0 : c.st.pid;
                    rows.push_back({std::move(c.st.id), std::to_string(pid), runtime::state::statusName(c.live),
                                    std::move(c.st.bundle), std::move(c.st.created), std::move(c.owner)});
                }
                printTable(rows);
            }
            return 0;
        };
    });
}

}  // namespace berth::cli
