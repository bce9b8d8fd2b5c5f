// cli/vps_query: `berth vps` status, list, exec, enter.
#include <iostream>

#include "cli/vps.hpp"

namespace berth::cli {
namespace {

void addVpsStatus(CLI::App& group, Context& ctx) {
    static std::string name;
    static bool asJson = false;
    auto* sub = group.add_subcommand("status", "a VPS's state");
    sub->add_option("name", name, "VPS name")->required();
    sub->add_flag("-j,--json", asJson, "as JSON");
    sub->callback([&ctx] {
        ctx.action = [&ctx]() -> Result<int> {
            ASSIGN_OR_RETURN(vps::Context v, vpsContext(ctx));
            ASSIGN_OR_RETURN(vps::VpsStatus s, vps::status(v, name));
            if (asJson) {
                std::cout << vps::toJson(s).dump(2) << "\n";
            } else {
                // vzctl status: "VEID 101 exist mounted running"; "mounted stopped" is a VPS
                // whose init exited on its own, its leftovers not yet taken down.
                std::cout << "VPS " << s.name << " exist " << (s.mounted ? "mounted " : "unmounted ") << s.state
                          << "\n";
            }
            return 0;
        };
    });
}

void addVpsList(CLI::App& group, Context& ctx) {
    static bool all = false, asJson = false, noHeader = false;
    static std::string columns = vps::kDefaultColumns;
    auto* sub = group.add_subcommand("list", "VPSes, as vzlist (running ones; -a all)");
    sub->add_flag("-a,--all", all, "include stopped VPSes");
    sub->add_flag("-j,--json", asJson, "as JSON");
    sub->add_flag("-H,--no-header", noHeader, "no header line");
    sub->add_option("-o,--output", columns, "columns: name,state,nproc,ip,hostname,ramused,ramlimit,pid,template,onboot")
        ->capture_default_str();
    sub->callback([&ctx] {
        ctx.action = [&ctx]() -> Result<int> {
            ASSIGN_OR_RETURN(vps::Context v, vpsContext(ctx));
            ASSIGN_OR_RETURN(auto rows, vps::list(v, all));
            if (asJson) {
                nlohmann::json j = nlohmann::json::array();
                for (const auto& r : rows) j.push_back(vps::toJson(r));
                std::cout << j.dump(2) << "\n";
                return 0;
            }
            ASSIGN_OR_RETURN(std::string table, vps::formatTable(rows, columns));
            if (noHeader) table.erase(0, table.find('\n') + 1);
            std::cout << table;
            return 0;
        };
    });
}

void addVpsExec(CLI::App& group, Context& ctx) {
    static bool tty = false;
    auto* sub = group.add_subcommand("exec", "run a command in a running VPS (its exit status is berth's)");
    sub->add_flag("-t,--tty", tty, "allocate a pseudo-TTY");
    sub->prefix_command();
    sub->callback([&ctx, sub] {
        ctx.action = [&ctx, sub]() -> Result<int> {
            ASSIGN_OR_RETURN(vps::Context v, vpsContext(ctx));
            ASSIGN_OR_RETURN(auto nameArgs, idAndRest(sub, "vps exec"));
            return vps::exec(v, nameArgs.first, nameArgs.second, tty);
        };
    });
}

void addVpsEnter(CLI::App& group, Context& ctx) {
    static std::string name;
    auto* sub = group.add_subcommand("enter", "a root login shell in every namespace of a VPS");
    sub->add_option("name", name, "VPS name")->required();
    sub->callback([&ctx] {
        ctx.action = [&ctx]() -> Result<int> {
            ASSIGN_OR_RETURN(vps::Context v, vpsContext(ctx));
            return vps::enter(v, name);
        };
    });
}

}  // namespace

void addVpsQuery(CLI::App& group, Context& ctx) {
    addVpsStatus(group, ctx);
    addVpsList(group, ctx);
    addVpsExec(group, ctx);
    addVpsEnter(group, ctx);
}

}  // namespace berth::cli
