// cli/vps: the `berth vps` verb group — its own options (where VPS configs, data and ids
// live) and one registration function per verb file.
#pragma once

#include "cli/cli.hpp"
#include "vps/vps.hpp"

namespace berth::cli {

struct GroupOptions {
    std::string configDir, dataDir, idPool;
};
GroupOptions& groupOptions();
// The vps::Context for an action: the global options plus the resolved VPS paths.
Result<vps::Context> vpsContext(const Context& ctx);

void addVpsLifecycle(CLI::App& group, Context& ctx);  // create, set, destroy (cli/vps.cpp)
void addVpsRun(CLI::App& group, Context& ctx);        // start, stop, restart, suspend, resume
void addVpsQuery(CLI::App& group, Context& ctx);      // status, list, exec, enter
void addVpsConsole(CLI::App& group, Context& ctx);    // console (cli/vps_console.cpp)

}  // namespace berth::cli
