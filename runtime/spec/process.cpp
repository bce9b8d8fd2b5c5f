// runtime/spec/process: the process section of config.json, also parsed standalone for
// `exec --process FILE`. Mirrors runc's checks (args non-empty, absolute cwd, NAME=VALUE env).
#include <cctype>
#include <set>

#include "runtime/spec/names.hpp"
#include "runtime/spec/sections.hpp"

namespace berth::runtime::spec::detail {

namespace {

Status parseUser(const Ctx& c, const json& v, const std::string& path, User& u) {
    TRY(expectObject(c, v, path));
    // uid/gid are REQUIRED by the spec, but runc (Go zero values) takes a missing one as 0.
    TRY(readInt(c, v, "uid", path, u.uid));
    TRY(readInt(c, v, "gid", path, u.gid));
    TRY(readInt(c, v, "umask", path, u.umask));
    if (u.umask && *u.umask > 0777)
        return fail(c, at(path, "umask"), "must be at most 0777 (511), got ", *u.umask);
    if (const json* g = find(v, "additionalGids")) {
        std::string gp = at(path, "additionalGids");
        TRY(expectArray(c, *g, gp));
        u.additionalGids.resize(g->size());
        for (size_t i = 0; i < g->size(); ++i)
            TRY(asInt(c, (*g)[i], at(gp, i), u.additionalGids[i]));
    }
    return readString(c, v, "username", path, u.username);
}

Status parseArgs(const Ctx& c, const json& v, const std::string& path, Process& p) {
    const json* a = find(v, "args");
    std::string ap = at(path, "args");
    if (!a || !a->is_array() || a->empty())
        return fail(c, ap, "must be a non-empty array of strings");
    TRY(asStringArray(c, *a, ap, p.args));
    // execve(2) cannot even name an empty program.
    if (p.args[0].empty()) return fail(c, at(ap, size_t{0}), "must not be empty");
    return {};
}

// runc refuses these when it sets the environment in the container; refusing at parse time
// points at the entry instead.
Status parseEnv(const Ctx& c, const json& v, const std::string& path, Process& p) {
    TRY(readStringArray(c, v, "env", path, p.env));
    std::string ep = at(path, "env");
    for (size_t i = 0; i < p.env.size(); ++i) {
        const std::string& e = p.env[i];
        size_t eq = e.find('=');
        if (eq == std::string::npos)
            return fail(c, at(ep, i), "must be NAME=VALUE, got ", describe(e));
        if (eq == 0) return fail(c, at(ep, i), "variable name must not be empty");
        if (e.find('\0') != std::string::npos)
            return fail(c, at(ep, i), "must not contain a NUL byte");
    }
    return {};
}

Status parseCwd(const Ctx& c, const json& v, const std::string& path, Process& p) {
    std::string cp = at(path, "cwd");
    TRY(requireString(c, v, "cwd", path, p.cwd));
    if (!isAbsolute(p.cwd)) return fail(c, cp, "must be an absolute path, got ", describe(p.cwd));
    return {};
}

// Unknown names are dropped with a warning, as runc 1.1 does ("ignoring unknown or unavailable
// capabilities"), so a config written for a newer kernel still runs.
Status parseCapabilitySet(const Ctx& c, const json& v, std::string_view key,
                          const std::string& path, std::vector<std::string>& out) {
    std::vector<std::string> names;
    TRY(readStringArray(c, v, key, path, names));
    std::string sp = at(path, key);
    for (size_t i = 0; i < names.size(); ++i) {
        if (capabilityNumber(names[i])) {
            out.push_back(names[i]);
        } else {
            warn(c, at(sp, i), "ignoring unknown capability ", describe(names[i]));
        }
    }
    return {};
}

Status parseCapabilities(const Ctx& c, const json& v, const std::string& path, Capabilities& k) {
    TRY(expectObject(c, v, path));
    TRY(parseCapabilitySet(c, v, "bounding", path, k.bounding));
    TRY(parseCapabilitySet(c, v, "effective", path, k.effective));
    TRY(parseCapabilitySet(c, v, "inheritable", path, k.inheritable));
    TRY(parseCapabilitySet(c, v, "permitted", path, k.permitted));
    return parseCapabilitySet(c, v, "ambient", path, k.ambient);
}

Status parseRlimit(const Ctx& c, const json& v, const std::string& path, Rlimit& r) {
    TRY(expectObject(c, v, path));
    TRY(requireString(c, v, "type", path, r.type));
    if (!r.type.starts_with("RLIMIT_") || !rlimitResource(r.type))
        return fail(c, at(path, "type"), "unknown rlimit type ", describe(r.type));
    TRY(requireInt(c, v, "hard", path, r.hard));
    TRY(requireInt(c, v, "soft", path, r.soft));
    // setrlimit(2) would refuse it later with a bare EINVAL.
    if (r.soft > r.hard)
        return fail(c, path, "soft limit ", r.soft, " exceeds hard limit ", r.hard);
    return {};
}

Status parseRlimits(const Ctx& c, const json& v, const std::string& path, Process& p) {
    TRY(expectArray(c, v, path));
    std::set<std::string> seen;
    p.rlimits.resize(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
        TRY(parseRlimit(c, v[i], at(path, i), p.rlimits[i]));
        // runtime-spec: a type given twice MUST be an error.
        if (!seen.insert(p.rlimits[i].type).second)
            return fail(c, at(at(path, i), "type"), "duplicate rlimit type ",
                        describe(p.rlimits[i].type));
    }
    return {};
}

Status parseConsoleSize(const Ctx& c, const json& v, const std::string& path, ConsoleSize& s) {
    TRY(expectObject(c, v, path));
    TRY(requireInt(c, v, "height", path, s.height));
    return requireInt(c, v, "width", path, s.width);
}

Status parseIoPriority(const Ctx& c, const json& v, const std::string& path, IoPriority& io) {
    TRY(expectObject(c, v, path));
    TRY(requireString(c, v, "class", path, io.ioClass));
    if (!ioPriorityClass(io.ioClass))
        return fail(c, at(path, "class"), "unknown class ", describe(io.ioClass),
                    " (expected IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE)");
    TRY(readInt(c, v, "priority", path, io.priority));
    if (io.priority < 0 || io.priority > 7)
        return fail(c, at(path, "priority"), "must be from 0 to 7, got ", io.priority);
    return {};
}

// The sched_setattr(2) rules runc's validator enforces.
Status checkScheduler(const Ctx& c, const std::string& path, const Scheduler& s) {
    if (s.nice < -20 || s.nice > 19)
        return fail(c, at(path, "nice"), "must be from -20 to 19, got ", s.nice);
    bool realtime = s.policy == "SCHED_FIFO" || s.policy == "SCHED_RR";
    if (s.priority != 0 && !realtime)
        return fail(c, at(path, "priority"), "only SCHED_FIFO and SCHED_RR take a priority");
    if (s.policy != "SCHED_DEADLINE" && (s.runtime || s.deadline || s.period))
        return fail(c, path, "runtime, deadline and period are only for SCHED_DEADLINE");
    return {};
}

Status parseScheduler(const Ctx& c, const json& v, const std::string& path, Scheduler& s) {
    TRY(expectObject(c, v, path));
    TRY(requireString(c, v, "policy", path, s.policy));
    if (!schedulerPolicy(s.policy))
        return fail(c, at(path, "policy"), "unknown scheduler policy ", describe(s.policy));
    TRY(readInt(c, v, "nice", path, s.nice));
    TRY(readInt(c, v, "priority", path, s.priority));
    TRY(readStringArray(c, v, "flags", path, s.flags));
    for (size_t i = 0; i < s.flags.size(); ++i)
        if (!schedulerFlag(s.flags[i]))
            return fail(c, at(at(path, "flags"), i), "unknown scheduler flag ",
                        describe(s.flags[i]));
    TRY(readInt(c, v, "runtime", path, s.runtime));
    TRY(readInt(c, v, "deadline", path, s.deadline));
    TRY(readInt(c, v, "period", path, s.period));
    return checkScheduler(c, path, s);
}

Status checkCpuList(const Ctx& c, const std::string& path, const std::string& list) {
    // "0-3,7": numbers, ranges low-high, comma-separated (what sched_setaffinity's mask takes).
    bool ok = !list.empty();
    size_t i = 0;
    while (ok && i < list.size()) {
        unsigned long lo = 0, hi = 0;
        size_t start = i;
        while (i < list.size() && std::isdigit(static_cast<unsigned char>(list[i]))) i++;
        ok = i > start && i - start < 6;
        if (!ok) break;
        lo = hi = std::stoul(list.substr(start, i - start));
        if (i < list.size() && list[i] == '-') {
            start = ++i;
            while (i < list.size() && std::isdigit(static_cast<unsigned char>(list[i]))) i++;
            ok = i > start && i - start < 6;
            if (!ok) break;
            hi = std::stoul(list.substr(start, i - start));
        }
        ok = lo <= hi && hi < 8192;
        if (ok && i < list.size()) ok = list[i++] == ',' && i < list.size();
    }
    if (!ok) return fail(c, path, "must be a CPU list like \"0-3,7\", got ", describe(list));
    return {};
}

Status parseCpuAffinity(const Ctx& c, const json& v, const std::string& path, CpuAffinity& a) {
    TRY(expectObject(c, v, path));
    TRY(readString(c, v, "initial", path, a.initial));
    TRY(readString(c, v, "final", path, a.final));
    if (!a.initial.empty()) TRY(checkCpuList(c, at(path, "initial"), a.initial));
    if (!a.final.empty()) TRY(checkCpuList(c, at(path, "final"), a.final));
    return {};
}

// The optional sub-objects, each present only when the config names it.
Status parseOptionalParts(const Ctx& c, const json& v, const std::string& path, Process& p) {
    if (const json* s = find(v, "consoleSize"))
        TRY(parseConsoleSize(c, *s, at(path, "consoleSize"), p.consoleSize.emplace()));
    if (const json* k = find(v, "capabilities"))
        TRY(parseCapabilities(c, *k, at(path, "capabilities"), p.capabilities.emplace()));
    if (const json* r = find(v, "rlimits")) TRY(parseRlimits(c, *r, at(path, "rlimits"), p));
    if (const json* io = find(v, "ioPriority"))
        TRY(parseIoPriority(c, *io, at(path, "ioPriority"), p.ioPriority.emplace()));
    if (const json* s = find(v, "scheduler"))
        TRY(parseScheduler(c, *s, at(path, "scheduler"), p.scheduler.emplace()));
    if (const json* a = find(v, "execCPUAffinity"))
        TRY(parseCpuAffinity(c, *a, at(path, "execCPUAffinity"), p.execCPUAffinity.emplace()));
    TRY(readInt(c, v, "oomScoreAdj", path, p.oomScoreAdj));
    if (p.oomScoreAdj && (*p.oomScoreAdj < -1000 || *p.oomScoreAdj > 1000))
        return fail(c, at(path, "oomScoreAdj"), "must be from -1000 to 1000, got ", *p.oomScoreAdj);
    return {};
}

}  // namespace

Result<Process> parseProcessAt(const Ctx& outer, const json& v, const std::string& path) {
    Process p;
    // Warnings land on the Process itself so a standalone parse keeps them too.
    Ctx c{outer.what, &p.warnings};
    TRY(expectObject(c, v, path));
    TRY(readBool(c, v, "terminal", path, p.terminal));
    if (const json* u = find(v, "user")) TRY(parseUser(c, *u, at(path, "user"), p.user));
    TRY(parseArgs(c, v, path, p));
    TRY(readString(c, v, "commandLine", path, p.commandLine));
    TRY(parseEnv(c, v, path, p));
    TRY(parseCwd(c, v, path, p));
    TRY(readBool(c, v, "noNewPrivileges", path, p.noNewPrivileges));
    TRY(readString(c, v, "apparmorProfile", path, p.apparmorProfile));
    TRY(readString(c, v, "selinuxLabel", path, p.selinuxLabel));
    TRY(parseOptionalParts(c, v, path, p));
    return p;
}

}  // namespace berth::runtime::spec::detail

namespace berth::runtime::spec {

Result<Process> parseProcess(const std::string& text, const std::string& what) {
    ASSIGN_OR_RETURN(detail::json j, detail::parseJsonText(text, what));
    return parseProcessValue(j, what);
}

Result<Process> parseProcessValue(const nlohmann::json& value, const std::string& what) {
    detail::Ctx c{what, nullptr};
    if (!value.is_object())
        return detail::fail(c, "", "must be a JSON object, got ", detail::describe(value));
    return detail::parseProcessAt(c, value, "");
}

}  // namespace berth::runtime::spec
