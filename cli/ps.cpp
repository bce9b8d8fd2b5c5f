#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli/cli.hpp"

namespace berth::cli {
namespace {

// Run `ps ARGS` and keep the header plus the lines whose PID column is one of ours, as runc.
Result<int> printPs(const std::vector<pid_t>& pids, const std::vector<std::string>& psArgs) {
    std::string cmd = "ps";
    for (auto& a : psArgs.empty() ? std::vector<std::string>{"-ef"} : psArgs) {
        std::string q = "'";
        for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
        cmd += " " + q + "'";
    }
    FILE* f = ::popen(cmd.c_str(), "r");
    if (!f) return Error::fromErrno("run ps");
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    int rc = ::pclose(f);
    if (rc != 0) return Error::make("ps ", cmd.substr(3), " failed: ", out);
    std::istringstream in(out);
    std::string header;
    std::getline(in, header);
    std::istringstream hs(header);
    std::string col;
    int pidCol = -1;
    for (int i = 0; hs >> col; i++)
        if (col == "PID") pidCol = i;
    if (pidCol < 0) return Error::make("ps output has no PID column");
    std::cout << header << "\n";
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::string field;
        for (int i = 0; i <= pidCol && ls >> field; i++) {}
        pid_t p = static_cast<pid_t>(std::atol(field.c_str()));
        if (std::find(pids.begin(), pids.end(), p) != pids.end()) std::cout << line << "\n";
    }
    return 0;
}

}  // namespace

void addPs(CLI::App& app, Context& ctx) {
    static std::string format = "table";
    static std::vector<std::string> rest;
    auto* sub = app.add_subcommand("ps", "list the processes of a container");
    sub->add_option("-f,--format", format, "table or json")->check(CLI::IsMember({"table", "json"}));
    sub->prefix_command();
    sub->callback([&ctx, sub] {
        ctx.action = [&ctx, sub]() -> Result<int> {
            auto rem = sub->remaining();
            if (!rem.empty() && rem.front() == "--") rem.erase(rem.begin());
            if (rem.empty()) return Error::make("ps: a container id is required");
            std::string id = rem.front();
            rem.erase(rem.begin());
            if (!rem.empty() && rem.front() == "--") rem.erase(rem.begin());
            ASSIGN_OR_RETURN(auto pids, runtime::processes(ctx.global, id));
            if (format == "json") {
                std::cout << nlohmann::json(pids).dump() << "\n";
                return 0;
            }
            return printPs(pids, rem);
        };
    });
}

}  // namespace berth::cli
