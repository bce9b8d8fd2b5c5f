// cli/vps_run: `berth vps` start, stop, restart, suspend, resume.
#include <iostream>
#include <map>

#include "cli/vps.hpp"
#include "common/units.hpp"

namespace berth::cli {
namespace {

struct StopFlags {
    std::string timeout = "60";
    bool fast = false;
    void add(CLI::App* sub) {
        sub->add_option("-t,--timeout", timeout, "seconds (or a duration: 90s, 2m) before SIGKILL")->capture_default_str();
        sub->add_flag("--fast", fast, "kill at once, no shutdown");
    }
    Result<vps::StopOptions> options() const {
        vps::StopOptions o;
        o.fast = fast;
        bool digits = !timeout.empty() && timeout.find_first_not_of("0123456789") == std::string::npos;
        if (digits) {
            if (timeout.size() > 9) return Error::make("--timeout ", timeout, ": too long");
            o.timeout = std::chrono::seconds(std::stoll(timeout));
        } else {
            auto d = units::parseDuration(timeout);
            if (!d) return Error::make("--timeout: ", d.error().message());
            o.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
        }
        return o;
    }
};

// A verb taking NAME and calling one Status function.
void simple(CLI::App& group, Context& ctx, const char* verb, const char* help,
            Status (*fn)(const vps::Context&, const std::string&)) {
    static std::map<std::string, std::string> names;  // stable references, like the verbs' statics
    std::string* name = &names[verb];
    auto* sub = group.add_subcommand(verb, help);
    sub->add_option("name", *name, "VPS name")->required();
    sub->callback([&ctx, name, fn] {
        ctx.action = [&ctx, name, fn]() -> Result<int> {
            ASSIGN_OR_RETURN(vps::Context v, vpsContext(ctx));
            TRY(fn(v, *name));
            return 0;
        };
    });
}

void addVpsStart(CLI::App& group, Context& ctx) {
    static std::string name;
    static bool onboot = false;
    auto* sub = group.add_subcommand("start", "start a VPS; returns when its init runs");
    sub->add_option("name", name, "VPS name");
    sub->add_flag("--onboot", onboot, "start every VPS marked --onboot yes");
    sub->callback([&ctx] {
        ctx.action = [&ctx]() -> Result<int> {
            ASSIGN_OR_RETURN(vps::Context v, vpsContext(ctx));
            if (onboot == !name.empty()) return Error::make("vps start: give a VPS name or --onboot");
            if (onboot) {
                ASSIGN_OR_RETURN(auto started, vps::startOnboot(v));
                for (const auto& n : started) std::cout << "started " << n << "\n";
                return 0;
            }
            TRY(vps::start(v, name));
            return 0;
        };
    });
}

void addVpsStop(CLI::App& group, Context& ctx) {
    static std::string name;
    static StopFlags flags;
    auto* sub = group.add_subcommand("stop", "shut a VPS down: its init's power-off signal, then SIGKILL");
    sub->add_option("name", name, "VPS name")->required();
    flags.add(sub);
    sub->callback([&ctx] {
        ctx.action = [&ctx]() -> Result<int> {
            ASSIGN_OR_RETURN(vps::Context v, vpsContext(ctx));
            ASSIGN_OR_RETURN(vps::StopOptions o, flags.options());
            ASSIGN_OR_RETURN(vps::StopResult r, vps::stop(v, name, o));
            if (r.wasRunning && !r.graceful && !o.fast)
                std::cerr << "berth: VPS " << name << " did not shut down within the timeout; killed\n";
            return 0;
        };
    });
}

void addVpsRestart(CLI::App& group, Context& ctx) {
    static std::string name;
    static StopFlags flags;
    auto* sub = group.add_subcommand("restart", "stop, then start a VPS");
    sub->add_option("name", name, "VPS name")->required();
    flags.add(sub);
    sub->callback([&ctx] {
        ctx.action = [&ctx]() -> Result<int> {
            ASSIGN_OR_RETURN(vps::Context v, vpsContext(ctx));
            ASSIGN_OR_RETURN(vps::StopOptions o, flags.options());
            TRY(vps::restart(v, name, o));
            return 0;
        };
    });
}

// Not for users: what a VPS's console holder runs when the init ends (vps::initExited).
void addVpsInitExited(CLI::App& group, Context& ctx) {
    static std::string name, how;
    static int pid = 0;
    auto* sub = group.add_subcommand("init-exited", "")->group("");  // hidden
    sub->add_option("name", name)->required();
    sub->add_option("pid", pid)->required();
    sub->add_option("how", how)->required();
    sub->callback([&ctx] {
        ctx.action = [&ctx]() -> Result<int> {
            ASSIGN_OR_RETURN(vps::Context v, vpsContext(ctx));
            TRY(vps::initExited(v, name, pid, how));
            return 0;
        };
    });
}

}  // namespace

void addVpsRun(CLI::App& group, Context& ctx) {
    addVpsStart(group, ctx);
    addVpsStop(group, ctx);
    addVpsRestart(group, ctx);
    simple(group, ctx, "suspend", "freeze every process of a VPS", &vps::suspend);
    simple(group, ctx, "resume", "thaw a suspended VPS", &vps::resume);
    addVpsInitExited(group, ctx);
}

}  // namespace berth::cli
