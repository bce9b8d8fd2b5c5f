// tests/integration/tools/rootfs_probe: a root-only driver for namespaces/mount — builds a
// container filesystem from runc's default mounts in fresh namespaces and execs a command in it.
//
// Build (from the repo root, after building berth_namespaces in build-mount/):
//   g++ -std=c++20 -I. tests/integration/tools/rootfs_probe.cpp
//       build-mount/namespaces/libberth_namespaces.a build-mount/common/libberth_common.a
//       -o /tmp/rootfs_probe
// Run:  /tmp/rootfs_probe --rootfs DIR [--userns] [--no-netns] [--no-pivot] [--rw-root]
//         [--propagation P] [--bind SRC:DST[:opt,...]] [--mount TYPE:SRC:DST[:opt,...]]
//         [--device TYPE:MAJOR:MINOR:PATH] [--cgroupns] [--readonly PATH] [--masked PATH]
//         [--drop DEST]
//         -- CMD ARGS...
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "namespaces/mount.hpp"

using namespace berth;
using namespace berth::namespaces;

namespace {

struct Args {
    RootfsConfig cfg;
    bool userns = false;
    std::vector<std::string> cmd;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr, "rootfs_probe: %s\n", why);
    std::exit(2);
}

std::vector<std::string> splitOpts(const std::vector<std::string>& parts, size_t from) {
    if (parts.size() <= from) return {};
    return fs::split(parts[from], ',');
}

void addDefaults(RootfsConfig& c) {
    c.readonly = true;
    c.mounts = {
        {"/proc", "proc", "proc", {}},
        {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}},
        {"/dev/pts",
         "devpts",
         "devpts",
         {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
        {"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
        {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}},
        {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}},
        {"/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}},
    };
    c.maskedPaths = {"/proc/acpi",        "/proc/asound",        "/proc/kcore",
                     "/proc/keys",        "/proc/latency_stats", "/proc/timer_list",
                     "/proc/timer_stats", "/proc/sched_debug",   "/sys/firmware",
                     "/proc/scsi"};
    c.readonlyPaths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
}

// The v1 hierarchies this process is in, from /proc/self/cgroup (hybrid hosts).
CgroupView hostCgroups() {
    CgroupView v;
    auto text = fs::readFile("/proc/self/cgroup");
    if (!text.ok()) return v;
    for (const auto& line : fs::split(*text, '\n')) {
        auto f = fs::split(line, ':');
        if (f.size() < 3 || f[1].empty()) continue;
        std::string name = f[1].rfind("name=", 0) == 0 ? f[1].substr(5) : f[1];
        std::string host = fs::joinPath("/sys/fs/cgroup/" + name, f[2]);
        if (!fs::exists(host)) continue;
        v.v1.push_back({name, host, f[1]});
    }
    return v;
}

Args parse(int argc, char** argv) {
    Args a;
    addDefaults(a.cfg);
    a.cfg.cgroups = hostCgroups();
    bool cgroupns = false;
    for (int i = 1; i < argc; ++i) {
        std::string s = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) usage(("missing value for " + s).c_str());
            return argv[++i];
        };
        if (s == "--") {
            for (++i; i < argc; ++i) a.cmd.push_back(argv[i]);
            break;
        } else if (s == "--rootfs")
            a.cfg.rootfs = next();
        else if (s == "--userns")
            a.userns = a.cfg.userNamespace = true;
        else if (s == "--no-netns")
            a.cfg.netNamespace = false;
        else if (s == "--no-pivot")
            a.cfg.noPivot = true;
        else if (s == "--rw-root")
            a.cfg.readonly = false;
        else if (s == "--cgroupns")
            cgroupns = true;
        else if (s == "--propagation")
            a.cfg.rootfsPropagation = next();
        else if (s == "--bind") {
            auto p = fs::split(next(), ':');
            if (p.size() < 2) usage("--bind SRC:DST[:opts]");
            auto opts = splitOpts(p, 2);
            if (opts.empty()) opts = {"rbind"};
            a.cfg.mounts.push_back({p[1], "bind", p[0], opts});
        } else if (s == "--mount") {
            auto p = fs::split(next(), ':');
            if (p.size() < 3) usage("--mount TYPE:SRC:DST[:opts]");
            a.cfg.mounts.push_back({p[2], p[0], p[1], splitOpts(p, 3)});
        } else if (s == "--drop") {
            std::string dest = next();
            std::erase_if(a.cfg.mounts, [&](const MountEntry& m) { return m.destination == dest; });
        } else if (s == "--readonly") {
            a.cfg.readonlyPaths.push_back(next());
        } else if (s == "--masked") {
            a.cfg.maskedPaths.push_back(next());
        } else if (s == "--device") {
            auto p = fs::split(next(), ':');
            if (p.size() != 4) usage("--device TYPE:MAJOR:MINOR:PATH");
            a.cfg.devices.push_back(
                {p[0][0], p[3], std::stoll(p[1]), std::stoll(p[2]), 0666, 0, 0});
        } else
            usage(("unknown argument " + s).c_str());
    }
    a.cfg.cgroups.cgroupNamespace = cgroupns;
    if (a.cfg.rootfs.empty() || a.cmd.empty()) usage("need --rootfs and -- CMD");
    return a;
}

[[noreturn]] void fail(const char* what, const Error& e) {
    std::fprintf(stderr, "rootfs_probe: %s: %s\n", what, e.what().c_str());
    _exit(125);
}

[[noreturn]] void runContainer(const Args& a) {
    if (Status st = prepareRootfsInChild(a.cfg); !st.ok()) fail("prepare", st.error());
    if (Status st = pivotRootInChild(a.cfg); !st.ok()) fail("pivot", st.error());
    if (Status st = finalizeRootfsInChild(a.cfg); !st.ok()) fail("finalize", st.error());
    std::vector<char*> argv;
    for (const auto& c : a.cmd) argv.push_back(const_cast<char*>(c.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::perror("execv");
    _exit(126);
}

int waitFor(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return 127;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// In the child: optionally a user namespace (the parent writes the maps), then the rest, and a
// second fork so the container process is pid 1 of its pid namespace.
[[noreturn]] void child(const Args& a, int toParent, int fromParent) {
    char c = 0;
    if (a.userns) {
        if (::unshare(CLONE_NEWUSER) < 0) _exit((std::perror("unshare user"), 125));
        if (::write(toParent, "u", 1) != 1 || ::read(fromParent, &c, 1) != 1) _exit(125);
        if (::setresgid(0, 0, 0) < 0 || ::setresuid(0, 0, 0) < 0)
            _exit((std::perror("setres"), 125));
    }
    int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
    if (a.cfg.netNamespace) flags |= CLONE_NEWNET;
    if (a.cfg.cgroups.cgroupNamespace) flags |= CLONE_NEWCGROUP;
    if (::unshare(flags) < 0) _exit((std::perror("unshare"), 125));
    pid_t init = ::fork();
    if (init < 0) _exit(125);
    if (init == 0) runContainer(a);
    _exit(waitFor(init));
}

}  // namespace

int main(int argc, char** argv) {
    Args a = parse(argc, argv);
    (void)log::configure("", log::Format::Text, std::getenv("PROBE_DEBUG") != nullptr);
    int up[2], down[2];
    if (::pipe(up) < 0 || ::pipe(down) < 0) return 125;
    pid_t pid = ::fork();
    if (pid < 0) return 125;
    if (pid == 0) child(a, up[1], down[0]);
    if (a.userns) {
        char c;
        if (::read(up[0], &c, 1) != 1) return waitFor(pid);
        for (const char* map : {"uid_map", "gid_map"}) {
            Status st = fs::writeFile(strCat("/proc/", pid, "/", map), "0 0 4294967295\n");
            if (!st.ok()) fail(map, st.error());
        }
        if (::write(down[1], "g", 1) != 1) return 125;
    }
    return waitFor(pid);
}
