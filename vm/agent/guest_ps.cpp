// `ps` in the guest: the container's processes (its cgroup's) read from the guest's /proc, with
// pids as the container's PID namespace numbers them and users from the container's passwd.
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <map>

#include "common/fs.hpp"
#include "vm/agent/guest_ops.hpp"
#include "vm/wire/guest_ops.hpp"

namespace berth::vm::agent {

Result<nlohmann::json> guestPs(const std::vector<pid_t>& pids) {
    long hz = std::max(1L, ::sysconf(_SC_CLK_TCK));
    double uptime = 0;
    if (auto t = fs::readFile("/proc/uptime")) uptime = std::atof(t->c_str());
    auto passwd = fs::readFile("/rootfs/etc/passwd");
    std::map<pid_t, pid_t> nsPid;  // guest pid -> the container's
    std::vector<std::pair<pid_t, wire::ProcStat>> stats;
    std::vector<wire::PsRow> rows;
    for (pid_t p : pids) {
        std::string dir = strCat("/proc/", p);
        auto stat = fs::readFile(dir + "/stat");
        auto status = fs::readFile(dir + "/status");
        if (!stat || !status) continue;  // exited meanwhile
        auto st = wire::parseProcStat(*stat);
        if (!st) continue;
        wire::PsRow r;
        r.pid = wire::innermostPid(*status);
        r.uid = wire::realUid(*status);
        if (passwd) r.user = wire::userFromPasswd(*passwd, r.uid);
        r.tty = wire::ttyName(st->ttyNr);
        double age = uptime - static_cast<double>(st->startTime) / static_cast<double>(hz);
        r.ageSec = age > 0 ? static_cast<uint64_t>(age) : 0;
        uint64_t cpuTicks = st->utime + st->stime;
        r.cpuSec = cpuTicks / static_cast<uint64_t>(hz);
        double ageTicks = age * static_cast<double>(hz);
        r.cpuPercent = ageTicks > 0 ? static_cast<unsigned>(std::min(99.0, 100.0 * static_cast<double>(cpuTicks) / ageTicks)) : 0;
        auto cmdline = fs::readFile(dir + "/cmdline");
        r.cmd = wire::commandLine(cmdline ? *cmdline : "", st->comm);
        nsPid[p] = r.pid;
        stats.push_back({p, *st});
        rows.push_back(std::move(r));
    }
    // A parent outside the container (the agent, for the workload and each exec) shows as 0.
    for (size_t i = 0; i < rows.size(); i++) {
        auto it = nsPid.find(stats[i].second.ppid);
        rows[i].ppid = it == nsPid.end() ? 0 : it->second;
    }
    std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.pid < b.pid; });
    return nlohmann::json{{"processes", wire::psRowsToJson(rows)}};
}

// The container's /proc for the host's FUSE copy of it (vm/proc_view.hpp): read through a
// container process's root, where the container's own procfs renders every process of its PID
// namespace with that namespace's numbers (pid, ppid, NSpid...) — what psgo reads in a native
// container. At most ~768 KiB of files (a frame carries 1 MiB).
Result<nlohmann::json> guestProcView(const std::vector<pid_t>& pids) {
    constexpr size_t kMaxBytes = 768 * 1024;
    wire::ProcSnapshot snap;
    std::string base;
    for (pid_t p : pids) {
        std::string b = strCat("/proc/", p, "/root/proc");
        if (auto st = fs::readFile(b + "/stat")) {
            base = b;
            snap.btime = wire::btimeOf(*st);
            char link[64];
            ssize_t n = ::readlink(strCat("/proc/", p, "/ns/pid").c_str(), link, sizeof link - 1);
            if (n > 0) snap.pidNs.assign(link, static_cast<size_t>(n));
            break;
        }
    }
    std::vector<pid_t> nsPids;
    if (DIR* d = base.empty() ? nullptr : ::opendir(base.c_str())) {
        while (struct dirent* e = ::readdir(d)) {
            char* end = nullptr;
            long v = std::strtol(e->d_name, &end, 10);
            if (*e->d_name && *end == '\0' && v > 0 && v < INT_MAX) nsPids.push_back(static_cast<pid_t>(v));
        }
        ::closedir(d);
    }
    std::sort(nsPids.begin(), nsPids.end());
    size_t bytes = 0;
    for (pid_t p : nsPids) {
        std::string dir = strCat(base, "/", p);
        auto stat = fs::readFile(dir + "/stat");
        auto status = fs::readFile(dir + "/status");
        if (!stat || !status) continue;  // exited meanwhile
        auto cmdline = fs::readFile(dir + "/cmdline");
        wire::ProcFiles f{p, *stat, *status, cmdline ? *cmdline : ""};
        bytes += f.stat.size() + f.status.size() + f.cmdline.size() + 64;
        if (bytes > kMaxBytes) break;
        snap.procs.push_back(std::move(f));
    }
    return nlohmann::json{{"proc", wire::procSnapshotToJson(snap)}};
}

}  // namespace berth::vm::agent
