// vps/lxcfs: start/reuse/stop the host's shared lxcfs and the binds into a VPS.
#include "vps/lxcfs.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/atomic_file.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/unique_fd.hpp"
#include "namespaces/mountinfo.hpp"

namespace berth::vps {
namespace {

constexpr int kWaitSteps = 200;  // x 25 ms: how long lxcfs gets to mount, or to exit
constexpr int kGraceSteps = 8;   // x 25 ms: how long a SIGTERM gets before SIGKILL
constexpr const char* kFsType = "fuse.lxcfs";

void nap() {
    timespec ts{0, 25 * 1000 * 1000};
    ::nanosleep(&ts, nullptr);
}

std::string pidFile(const LxcfsConfig& c) {
    return fs::joinPath(c.stateDir, "lxcfs.pid");
}
std::string usersDir(const LxcfsConfig& c) {
    return fs::joinPath(c.stateDir, "users");
}

// Every fuse.lxcfs mount point on the host, ours last if mounted.
Result<std::vector<std::string>> lxcfsMountPoints() {
    ASSIGN_OR_RETURN(auto mounts, namespaces::readMountInfo());
    std::vector<std::string> out;
    for (const auto& m : mounts)
        if (m.fsType == kFsType) out.push_back(m.mountPoint);
    return out;
}

bool isMountedAt(const std::vector<std::string>& points, const std::string& dir) {
    for (const auto& p : points)
        if (p == dir) return true;
    return false;
}

// The pid in berth's pid file when that process is alive and is lxcfs; 0 otherwise.
pid_t ourLxcfsPid(const LxcfsConfig& c) {
    auto text = fs::readFile(pidFile(c));
    if (!text) return 0;
    pid_t pid = static_cast<pid_t>(std::atol(fs::trim(*text).c_str()));
    if (pid <= 0) return 0;
    auto comm = fs::readFile(strCat("/proc/", pid, "/comm"));
    if (!comm || fs::trim(*comm) != "lxcfs") return 0;
    return pid;
}

// Double fork: lxcfs runs in its own session, a child of no berth process (berth's CLI exits).
Status spawnDetached(const LxcfsConfig& c) {
    std::vector<std::string> args = {
        c.binary,    "--foreground", "--enable-loadavg", "--enable-cfs", "--pidfile=" + pidFile(c),
        c.mountPoint};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t child = ::fork();
    if (child < 0) return Error::fromErrno("fork");
    if (child == 0) {
        ::setsid();
        if (::fork() != 0) ::_exit(0);
        int null = ::open("/dev/null", O_RDWR);
        for (int fd = 0; fd < 3; fd++) ::dup2(null, fd);
        ::closefrom(3);
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    return {};
}

Result<std::string> startLxcfs(const LxcfsConfig& c) {
    TRY(fs::mkdirAll(c.mountPoint, 0755));
    TRY(fs::mkdirAll(c.stateDir, 0700));
    ::unlink(pidFile(c).c_str());
    TRY(spawnDetached(c));
    for (int i = 0; i < kWaitSteps; i++) {
        ASSIGN_OR_RETURN(auto points, lxcfsMountPoints());
        if (isMountedAt(points, c.mountPoint) &&
            fs::exists(fs::joinPath(c.mountPoint, "proc/meminfo"))) {
            log::debug("vps lxcfs: started at ", c.mountPoint);
            return c.mountPoint;
        }
        nap();
    }
    (void)stopLxcfs(c);
    return Error(ETIMEDOUT, strCat("lxcfs (", c.binary, ") did not mount ", c.mountPoint,
                                   " (is lxcfs installed? scripts/setup.sh installs it)"));
}

// An exclusive lock on stateDir/lock for the users registry and start/stop.
Result<UniqueFd> lockState(const LxcfsConfig& c) {
    TRY(fs::mkdirAll(c.stateDir, 0700));
    std::string path = fs::joinPath(c.stateDir, "lock");
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) return Error::fromErrno("open ", path);
    if (::flock(fd.get(), LOCK_EX) < 0) return Error::fromErrno("lock ", path);
    return fd;
}

Result<std::string> ensureLocked(const LxcfsConfig& c) {
    ASSIGN_OR_RETURN(auto points, lxcfsMountPoints());
    if (isMountedAt(points, c.mountPoint)) {
        if (ourLxcfsPid(c) || fs::exists(fs::joinPath(c.mountPoint, "proc/meminfo")))
            return c.mountPoint;
        // Our lxcfs died and left its mount behind ("transport endpoint is not connected").
        ::umount2(c.mountPoint.c_str(), MNT_DETACH);
    } else {
        for (const auto& p : points)
            if (fs::exists(fs::joinPath(p, "proc/meminfo"))) return p;
    }
    return startLxcfs(c);
}

Status validUser(const std::string& name) {
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
        return Error(EINVAL, strCat("bad VPS name \"", name, "\" for the lxcfs users"));
    return {};
}

}  // namespace

Result<std::string> ensureLxcfs(const LxcfsConfig& config) {
    ASSIGN_OR_RETURN(UniqueFd lock, lockState(config));
    return ensureLocked(config);
}

Result<std::string> acquireLxcfs(const LxcfsConfig& config, const std::string& vpsName) {
    TRY(validUser(vpsName));
    ASSIGN_OR_RETURN(UniqueFd lock, lockState(config));
    ASSIGN_OR_RETURN(std::string dir, ensureLocked(config));
    TRY(fs::mkdirAll(usersDir(config), 0700));
    TRY(fs::writeFileAtomicIfChanged(fs::joinPath(usersDir(config), vpsName), "", 0600));
    return dir;
}

Status releaseLxcfs(const LxcfsConfig& config, const std::string& vpsName) {
    TRY(validUser(vpsName));
    ASSIGN_OR_RETURN(UniqueFd lock, lockState(config));
    std::string user = fs::joinPath(usersDir(config), vpsName);
    if (::unlink(user.c_str()) < 0 && errno != ENOENT) return Error::fromErrno("remove ", user);
    auto left = fs::listDir(usersDir(config));
    if (left && !left->empty()) return {};
    return stopLxcfs(config);
}

// Gone, or a zombie its reaper has not collected yet (lxcfs is nobody's child of ours).
bool exited(pid_t pid) {
    if (::kill(pid, 0) < 0) return true;
    auto stat = fs::readFile(strCat("/proc/", pid, "/stat"));
    if (!stat) return true;
    auto paren = stat->rfind(')');
    return paren == std::string::npos || paren + 2 >= stat->size() || (*stat)[paren + 2] == 'Z' ||
           (*stat)[paren + 2] == 'X';
}

bool waitExit(pid_t pid, int steps) {
    for (int i = 0; i < steps; i++) {
        if (exited(pid)) return true;
        nap();
    }
    return exited(pid);
}

Status stopLxcfs(const LxcfsConfig& config) {
    pid_t pid = ourLxcfsPid(config);
    if (pid > 0) {
        // Unmounted first, lxcfs's FUSE loop ends at once; its exit path then joins the loadavg
        // thread, which sleeps up to 5 s between samples. Nothing of lxcfs's needs that join
        // (it keeps no state), so after a short grace it is killed.
        ASSIGN_OR_RETURN(auto points, lxcfsMountPoints());
        if (isMountedAt(points, config.mountPoint)) ::umount2(config.mountPoint.c_str(), MNT_DETACH);
        ::kill(pid, SIGTERM);
        if (!waitExit(pid, kGraceSteps)) {
            ::kill(pid, SIGKILL);
            waitExit(pid, kWaitSteps);
        }
    }
    ASSIGN_OR_RETURN(auto points, lxcfsMountPoints());
    // A killed lxcfs leaves its mount behind.
    if (isMountedAt(points, config.mountPoint) &&
        ::umount2(config.mountPoint.c_str(), MNT_DETACH) < 0)
        return Error::fromErrno("unmount ", config.mountPoint);
    ::unlink(pidFile(config).c_str());
    return {};
}

std::vector<LxcfsMount> lxcfsMounts(const std::string& lxcfsDir) {
    static const char* const files[] = {
        "/proc/cpuinfo", "/proc/diskstats", "/proc/loadavg", "/proc/meminfo",
        "/proc/stat",    "/proc/swaps",     "/proc/uptime",  "/sys/devices/system/cpu/online"};
    std::vector<LxcfsMount> out;
    for (const char* f : files) {
        std::string src = lxcfsDir + f;
        if (!fs::exists(src)) continue;
        out.push_back({src, f, {"bind", "nosuid", "nodev", "noexec"}});
    }
    return out;
}

std::string lxcfsMountsJson(const std::vector<LxcfsMount>& mounts) {
    std::string out = "[";
    for (size_t i = 0; i < mounts.size(); i++) {
        const auto& m = mounts[i];
        out += strCat(i ? "," : "", "{\"destination\":\"", log::jsonEscape(m.destination),
                      "\",\"type\":\"bind\",", "\"source\":\"", log::jsonEscape(m.source),
                      "\",\"options\":[");
        for (size_t j = 0; j < m.options.size(); j++)
            out += strCat(j ? "," : "", "\"", log::jsonEscape(m.options[j]), "\"");
        out += "]}";
    }
    return out + "]";
}

}  // namespace berth::vps
