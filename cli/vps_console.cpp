// cli/vps_console: `berth vps console NAME` — the VPS's /dev/console, Ctrl-] detaches.
#include <unistd.h>

#include <iostream>

#include "cli/vps.hpp"

namespace berth::cli {

void addVpsConsole(CLI::App& group, Context& ctx) {
    static std::string name;
    auto* sub = group.add_subcommand(
        "console", "attach to a VPS's console (its log since boot, then live; Ctrl-] detaches)");
    sub->add_option("name", name, "VPS name")->required();
    sub->callback([&ctx] {
        ctx.action = [&ctx]() -> Result<int> {
            ASSIGN_OR_RETURN(vps::Context v, vpsContext(ctx));
            ASSIGN_OR_RETURN(vps::ConsoleAttach a, vps::openConsole(v, name));
            std::cerr << "Connected to the console of VPS " << name << " (Ctrl-] detaches)\r\n"
                      << std::flush;
            ASSIGN_OR_RETURN(vps::ConsoleEnd end, vps::relayConsole(a));
            if (end == vps::ConsoleEnd::Closed)
                std::cerr << "\r\nThe console of VPS " << name
                          << " closed (the VPS stopped or its console holder exited)\r\n";
            else
                std::cerr << "\r\nDetached from the console of VPS " << name << "\r\n";
            return 0;
        };
    });
}

}  // namespace berth::cli
