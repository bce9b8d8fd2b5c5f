#include "vm/wire/guest_ops.hpp"

#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <optional>
#include <set>
#include <sstream>

#include "common/fs.hpp"
#include "common/json.hpp"
#include "vm/wire/boot_config.hpp"

namespace berth::vm::wire {
namespace {
using nlohmann::json;

// The value of "Key:\t..." in /proc/PID/status, "" when absent.
std::string statusField(const std::string& status, const std::string& key) {
    std::istringstream in(status);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(key + ":", 0) == 0) return fs::trim(line.substr(key.size() + 1));
    return "";
}

// ps's TIME: [DD-]HH:MM:SS.
std::string cpuTime(uint64_t sec) {
    char buf[32];
    uint64_t days = sec / 86400, h = sec / 3600 % 24, m = sec / 60 % 60, s = sec % 60;
    if (days) std::snprintf(buf, sizeof buf, "%llu-%02llu:%02llu:%02llu", (unsigned long long)days, (unsigned long long)h,
                            (unsigned long long)m, (unsigned long long)s);
    else std::snprintf(buf, sizeof buf, "%02llu:%02llu:%02llu", (unsigned long long)h, (unsigned long long)m, (unsigned long long)s);
    return buf;
}

// ps's STIME: HH:MM when it started today (local time), else MonDD, else the year.
std::string startTime(time_t start, time_t now) {
    struct tm st {}, nw {};
    ::localtime_r(&start, &st);
    ::localtime_r(&now, &nw);
    char buf[16];
    const char* fmt = st.tm_year != nw.tm_year ? "%Y" : st.tm_yday != nw.tm_yday ? "%b%d" : "%H:%M";
    std::strftime(buf, sizeof buf, fmt, &st);
    return buf;
}

}  // namespace

// A guest process's command line and name are the tenant's bytes, not necessarily UTF-8: invalid
// sequences become U+FFFD (the strict dump would throw, and an exception in PID 1 is a panic).
std::string opsPayload(int32_t id, const json& body) {
    return proto::intPayload(id) + body.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<std::pair<int32_t, json>> parseOpsPayload(const proto::Frame& f) {
    ASSIGN_OR_RETURN(auto idp, proto::splitExecId(f));
    ASSIGN_OR_RETURN(json body, parseJson(idp.second, strCat("agent channel: ", proto::typeName(f.type), " frame")));
    if (!body.is_object()) return Error(EPROTO, strCat("agent channel: ", proto::typeName(f.type), " frame: not a JSON object"));
    return std::make_pair(idp.first, std::move(body));
}

Result<json> opsReplyBody(const json& reply) {
    if (reply.contains("error")) {
        std::string msg = reply["error"].is_string() ? reply["error"].get<std::string>() : reply["error"].dump();
        return Error(EINVAL, msg).hideErrno();
    }
    return reply;
}

json procSnapshotToJson(const ProcSnapshot& s) {
    json a = json::array();
    for (auto& p : s.procs) a.push_back({{"pid", p.pid}, {"stat", p.stat}, {"status", p.status}, {"cmdline", p.cmdline}});
    return {{"btime", s.btime}, {"pidns", s.pidNs}, {"processes", std::move(a)}};
}

Result<ProcSnapshot> procSnapshotFromJson(const json& j) {
    if (!j.is_object()) return Error(EPROTO, "the guest's /proc: not a JSON object").hideErrno();
    ProcSnapshot s;
    if (j.contains("btime") && j["btime"].is_number_unsigned()) s.btime = j["btime"].get<uint64_t>();
    if (j.contains("pidns") && j["pidns"].is_string()) s.pidNs = j["pidns"].get<std::string>();
    if (!j.contains("processes") || !j["processes"].is_array()) return s;
    constexpr size_t kMaxProcs = 4096;  // the agent sends no more (a guest may be hostile)
    for (auto& e : j["processes"]) {
        if (s.procs.size() >= kMaxProcs) break;
        if (!e.is_object() || !e.contains("pid") || !e["pid"].is_number_integer()) continue;
        int64_t pid = e["pid"].get<int64_t>();
        if (pid <= 0 || pid > (1 << 22)) continue;  // outside pid_max: not a pid
        ProcFiles p;
        p.pid = static_cast<pid_t>(pid);
        for (auto [key, field] : {std::pair{"stat", &p.stat}, {"status", &p.status}, {"cmdline", &p.cmdline}})
            if (e.contains(key) && e[key].is_string()) *field = e[key].get<std::string>();
        s.procs.push_back(std::move(p));
    }
    // Sorted by pid, each once (the first kept): the FUSE view looks pids up by bisection.
    std::stable_sort(s.procs.begin(), s.procs.end(), [](const ProcFiles& a, const ProcFiles& b) { return a.pid < b.pid; });
    s.procs.erase(std::unique(s.procs.begin(), s.procs.end(), [](const ProcFiles& a, const ProcFiles& b) { return a.pid == b.pid; }),
                  s.procs.end());
    return s;
}

uint64_t btimeOf(const std::string& procStat) {
    for (auto& line : fs::split(procStat, '\n'))
        if (line.rfind("btime ", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
    return 0;
}

json psRowsToJson(const std::vector<PsRow>& rows) {
    json a = json::array();
    for (auto& r : rows)
        a.push_back({{"pid", r.pid}, {"ppid", r.ppid}, {"uid", r.uid}, {"user", r.user}, {"tty", r.tty},
                     {"age", r.ageSec}, {"cpu", r.cpuSec}, {"c", r.cpuPercent}, {"cmd", r.cmd}});
    return a;
}

Result<std::vector<PsRow>> psRowsFromJson(const json& j) {
    if (!j.is_array()) return Error(EPROTO, "ps reply: \"processes\" is not an array");
    std::vector<PsRow> out;
    try {
        for (auto& r : j) {
            PsRow p;
            p.pid = r.at("pid").get<pid_t>();
            p.ppid = r.value("ppid", 0);
            p.uid = r.value("uid", 0u);
            p.user = r.value("user", std::string());
            p.tty = r.value("tty", std::string("?"));
            p.ageSec = r.value("age", uint64_t{0});
            p.cpuSec = r.value("cpu", uint64_t{0});
            p.cpuPercent = r.value("c", 0u);
            p.cmd = r.value("cmd", std::string());
            out.push_back(std::move(p));
        }
    } catch (const std::exception& e) {
        return Error(EPROTO, strCat("ps reply: ", e.what()));
    }
    return out;
}

std::string psTable(const std::vector<PsRow>& rows, time_t now) {
    char line[512];
    std::snprintf(line, sizeof line, "%-8s %5s %5s %2s %5s %-8s %8s %s\n", "UID", "PID", "PPID", "C", "STIME", "TTY",
                  "TIME", "CMD");
    std::string out = line;
    for (auto& r : rows) {
        // procps prints the uid when the name does not fit the column.
        std::string user = !r.user.empty() && r.user.size() <= 8 ? r.user : std::to_string(r.uid);
        time_t start = now - static_cast<time_t>(r.ageSec);
        std::snprintf(line, sizeof line, "%-8s %5d %5d %2u %5s %-8s %8s ", user.c_str(), r.pid, r.ppid,
                      std::min(r.cpuPercent, 99u), startTime(start, now).c_str(), r.tty.c_str(), cpuTime(r.cpuSec).c_str());
        out += line + r.cmd + "\n";
    }
    return out;
}

Result<ProcStat> parseProcStat(const std::string& text) {
    // "PID (comm) S PPID PGRP SESSION TTY_NR ..."; comm may hold spaces and parentheses: it
    // ends at the last ')'.
    auto open = text.find('('), close = text.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open)
        return Error(EINVAL, "/proc/PID/stat: no (comm)");
    ProcStat s;
    s.comm = text.substr(open + 1, close - open - 1);
    std::istringstream in(text.substr(close + 1));
    std::vector<std::string> f;
    for (std::string w; in >> w;) f.push_back(w);
    // After comm: [0] state, [1] ppid, [4] tty_nr, [11] utime, [12] stime, [19] starttime.
    if (f.size() < 20) return Error(EINVAL, strCat("/proc/PID/stat: ", f.size(), " fields after comm"));
    try {
        s.ppid = static_cast<pid_t>(std::stol(f[1]));
        s.ttyNr = static_cast<int>(std::stol(f[4]));
        s.utime = std::stoull(f[11]);
        s.stime = std::stoull(f[12]);
        s.startTime = std::stoull(f[19]);
    } catch (const std::exception&) {
        return Error(EINVAL, "/proc/PID/stat: a field is not a number");
    }
    return s;
}

pid_t innermostPid(const std::string& status) {
    auto words = fs::split(statusField(status, "NSpid"), '\t');
    std::string last;
    for (auto& w : words)
        if (!fs::trim(w).empty()) last = fs::trim(w);
    if (last.empty()) return -1;
    return static_cast<pid_t>(std::atol(last.c_str()));
}

uint32_t realUid(const std::string& status) {
    return static_cast<uint32_t>(std::strtoul(statusField(status, "Uid").c_str(), nullptr, 10));
}

std::string ttyName(int ttyNr) {
    if (ttyNr == 0) return "?";
    unsigned major = (static_cast<unsigned>(ttyNr) >> 8) & 0xfff;
    unsigned minor = (static_cast<unsigned>(ttyNr) & 0xff) | ((static_cast<unsigned>(ttyNr) >> 12) & 0xfff00);
    if (major >= 136 && major <= 143) return strCat("pts/", (major - 136) * 256 + minor);
    if (major == 4 && minor < 64) return strCat("tty", minor);
    if (major == 4) return strCat("ttyS", minor - 64);
    if (major == 5 && minor == 1) return "console";
    return strCat(major, ":", minor);
}

std::string commandLine(const std::string& raw, const std::string& comm) {
    std::string s = raw;
    while (!s.empty() && s.back() == '\0') s.pop_back();
    if (s.empty()) return "[" + comm + "]";
    for (auto& c : s)
        if (c == '\0') c = ' ';
    return s;
}

std::string userFromPasswd(const std::string& passwd, uint32_t uid) {
    for (auto& line : fs::split(passwd, '\n')) {
        auto f = fs::split(line, ':');
        if (f.size() >= 3 && f[2] == std::to_string(uid)) return f[0];
    }
    return "";
}

json guestResources(const json& resources, bool atCreate) {
    json out = json::object();
    if (!resources.is_object()) return out;
    for (const char* key : {"memory", "cpu", "pids", "unified"})
        if (resources.contains(key) && resources[key].is_object()) out[key] = resources[key];
    if (atCreate && out.contains("cpu")) {
        out["cpu"].erase("cpus");
        out["cpu"].erase("mems");
    }
    if (atCreate && resources.contains("devices") && resources["devices"].is_array()) out["devices"] = resources["devices"];
    return out;
}

namespace {

// "0-3,5" -> {0,1,2,3,5}; nullopt for anything else.
std::optional<std::set<unsigned>> cpuListSet(const std::string& list) {
    std::set<unsigned> out;
    for (auto& part : fs::split(list, ',')) {
        std::string p = fs::trim(part);
        if (p.empty()) continue;
        unsigned lo = 0, hi = 0;
        char dash = 0, extra = 0;
        int n = std::sscanf(p.c_str(), "%u%c%u%c", &lo, &dash, &hi, &extra);
        if (n == 1) hi = lo;
        else if (n != 3 || dash != '-' || hi < lo || hi - lo > 4096) return std::nullopt;
        if (p.find_first_not_of("0123456789-") != std::string::npos) return std::nullopt;
        for (unsigned c = lo; c <= hi; c++) out.insert(c);
    }
    return out;
}

bool fitsIn(const std::string& wanted, const std::string& have) {
    auto w = cpuListSet(wanted), h = cpuListSet(have);
    if (!w || !h || w->empty()) return false;
    return std::includes(h->begin(), h->end(), w->begin(), w->end());
}

}  // namespace

json guestCpusetThatFits(const json& resources, const std::string& guestCpus, const std::string& guestMems) {
    json out = json::object();
    if (!resources.is_object() || !resources.contains("cpu") || !resources["cpu"].is_object()) return out;
    const json& cpu = resources["cpu"];
    for (auto [key, have] : {std::pair{"cpus", &guestCpus}, std::pair{"mems", &guestMems}})
        if (cpu.contains(key) && cpu[key].is_string() && fitsIn(cpu[key].get<std::string>(), *have))
            out["cpu"][key] = cpu[key];
    return out;
}

uint64_t guestMemoryCeiling(const json& bootResources) {
    auto res = resourcesFor(bootResources, 1);
    uint64_t mib = res ? res->memMiB : kDefaultGuestMiB;
    return (mib - kGuestOverheadMiB) << 20;
}

Status checkMemoryLimit(const json& resources, uint64_t ceiling) {
    if (!resources.is_object() || !resources.contains("memory") || !resources["memory"].is_object()) return {};
    const json& m = resources["memory"];
    if (!m.contains("limit") || !m["limit"].is_number_integer()) return {};
    int64_t limit = m["limit"].get<int64_t>();
    // -1 (no limit) leaves the guest's RAM as the bound.
    if (limit <= 0 || static_cast<uint64_t>(limit) <= ceiling) return {};
    return Error(EINVAL, strCat("memory limit ", limit, " bytes is above the ", ceiling >> 20,
                                " MiB this VM's RAM was sized for at boot (guest RAM is fixed; recreate the container "
                                "with a larger limit)")).hideErrno();
}

}  // namespace berth::vm::wire
