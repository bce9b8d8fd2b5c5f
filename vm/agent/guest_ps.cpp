// `ps` in the guest: the container's processes (its cgroup's) read from the guest's /proc, with
// pids as the container's PID namespace numbers them and users from the container's passwd.
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <map>
#include <optional>

#include "common/fs.hpp"
#include "common/unique_fd.hpp"
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

namespace {

// At most `cap` bytes of the file `name` under the directory fd (no symlink followed, no wait on
// a FIFO): the files read here are procfs's, but the path to them is the tenant's to change.
std::optional<std::string> readCapped(int dir, const char* name, size_t cap) {
    UniqueFd fd(::openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd) return std::nullopt;
    std::string out;
    char buf[4096];
    while (out.size() < cap) {
        ssize_t n = ::read(fd.get(), buf, std::min(sizeof buf, cap - out.size()));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

}  // namespace

// The container's /proc for the host's FUSE copy of it (vm/proc_view.hpp): read through a
// container process's root, where the container's own procfs renders every process of its PID
// namespace with that namespace's numbers (pid, ppid, NSpid...) — what psgo reads in a native
// container. The container's /proc must be a procfs (a tenant may have put anything there: a
// symlink to the guest's own /proc, a FIFO, /dev/zero), each file is read to a cap, and the
// reply stays under the frame's limit as encoded (a NUL is 6 bytes of JSON).
Result<nlohmann::json> guestProcView(const std::vector<pid_t>& pids) {
    constexpr size_t kMaxEncoded = wire::proto::kMaxPayload - 64 * 1024;
    constexpr size_t kMaxProcs = 4096;
    wire::ProcSnapshot snap;
    UniqueFd base;
    for (pid_t p : pids) {
        UniqueFd d(::open(strCat("/proc/", p, "/root/proc").c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        struct statfs sf;
        if (!d || ::fstatfs(d.get(), &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC) continue;
        if (auto st = readCapped(d.get(), "stat", 64 * 1024)) snap.btime = wire::btimeOf(*st);
        char link[64];
        ssize_t n = ::readlink(strCat("/proc/", p, "/ns/pid").c_str(), link, sizeof link - 1);
        if (n > 0) snap.pidNs.assign(link, static_cast<size_t>(n));
        base = std::move(d);
        break;
    }
    std::vector<pid_t> nsPids;
    int listFd = base ? ::dup(base.get()) : -1;
    if (DIR* d = listFd >= 0 ? ::fdopendir(listFd) : nullptr) {
        while (struct dirent* e = ::readdir(d)) {
            char* end = nullptr;
            long v = std::strtol(e->d_name, &end, 10);
            if (*e->d_name && *end == '\0' && v > 0 && v < INT_MAX) nsPids.push_back(static_cast<pid_t>(v));
        }
        ::closedir(d);
    } else if (listFd >= 0) {
        ::close(listFd);
    }
    std::sort(nsPids.begin(), nsPids.end());
    size_t encoded = 256;
    for (pid_t p : nsPids) {
        if (snap.procs.size() >= kMaxProcs) break;
        UniqueFd dir(::openat(base.get(), std::to_string(p).c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!dir) continue;  // exited meanwhile
        auto stat = readCapped(dir.get(), "stat", 4096);
        auto status = readCapped(dir.get(), "status", 16 * 1024);
        if (!stat || !status) continue;
        auto cmdline = readCapped(dir.get(), "cmdline", 64 * 1024);
        wire::ProcFiles f{p, *stat, *status, cmdline ? *cmdline : ""};
        wire::ProcSnapshot one;
        one.procs.push_back(f);
        encoded += wire::procSnapshotToJson(one).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).size();
        if (encoded > kMaxEncoded) break;
        snap.procs.push_back(std::move(f));
    }
    return nlohmann::json{{"proc", wire::procSnapshotToJson(snap)}};
}

}  // namespace berth::vm::agent
