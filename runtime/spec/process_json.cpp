// spec::Process back to its OCI JSON — what the VM path sends to the guest agent, which parses
// it with the same parseProcess (so host and guest read one process the same way).
#include "runtime/spec/spec.hpp"

namespace berth::runtime::spec {

nlohmann::json processToJson(const Process& p) {
    nlohmann::json j;
    j["terminal"] = p.terminal;
    if (p.consoleSize) j["consoleSize"] = {{"height", p.consoleSize->height}, {"width", p.consoleSize->width}};
    nlohmann::json user = {{"uid", p.user.uid}, {"gid", p.user.gid}};
    if (p.user.umask) user["umask"] = *p.user.umask;
    if (!p.user.additionalGids.empty()) user["additionalGids"] = p.user.additionalGids;
    if (!p.user.username.empty()) user["username"] = p.user.username;
    j["user"] = user;
    j["args"] = p.args;
    if (!p.commandLine.empty()) j["commandLine"] = p.commandLine;
    j["env"] = p.env;
    j["cwd"] = p.cwd;
    if (p.capabilities) {
        const Capabilities& c = *p.capabilities;
        j["capabilities"] = {{"bounding", c.bounding},
                             {"effective", c.effective},
                             {"inheritable", c.inheritable},
                             {"permitted", c.permitted},
                             {"ambient", c.ambient}};
    }
    if (!p.rlimits.empty()) {
        nlohmann::json rl = nlohmann::json::array();
        for (auto& r : p.rlimits) rl.push_back({{"type", r.type}, {"hard", r.hard}, {"soft", r.soft}});
        j["rlimits"] = rl;
    }
    j["noNewPrivileges"] = p.noNewPrivileges;
    if (!p.apparmorProfile.empty()) j["apparmorProfile"] = p.apparmorProfile;
    if (p.oomScoreAdj) j["oomScoreAdj"] = *p.oomScoreAdj;
    if (!p.selinuxLabel.empty()) j["selinuxLabel"] = p.selinuxLabel;
    if (p.ioPriority) j["ioPriority"] = {{"class", p.ioPriority->ioClass}, {"priority", p.ioPriority->priority}};
    if (p.scheduler) {
        const Scheduler& s = *p.scheduler;
        nlohmann::json sj = {{"policy", s.policy}};
        if (s.nice) sj["nice"] = s.nice;
        if (s.priority) sj["priority"] = s.priority;
        if (!s.flags.empty()) sj["flags"] = s.flags;
        if (s.runtime) sj["runtime"] = s.runtime;
        if (s.deadline) sj["deadline"] = s.deadline;
        if (s.period) sj["period"] = s.period;
        j["scheduler"] = sj;
    }
    if (p.execCPUAffinity) {
        nlohmann::json a = nlohmann::json::object();
        if (!p.execCPUAffinity->initial.empty()) a["initial"] = p.execCPUAffinity->initial;
        if (!p.execCPUAffinity->final.empty()) a["final"] = p.execCPUAffinity->final;
        j["execCPUAffinity"] = a;
    }
    return j;
}

}  // namespace berth::runtime::spec
