// The QEMU backend: qemu-system-x86_64 -M microvm started directly (no libvirt), and the probe
// boot that tells whether this host's KVM can run the guest kernel (PVM here cannot).
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/unique_fd.hpp"
#include "vm/host_tsc.hpp"
#include "vm/vmm.hpp"

namespace berth::vm {
namespace {

constexpr int kAgentFdInVmm = 3;
constexpr int kFirstTapFdInVmm = 4;  // the NICs' tap fds follow the agent channel

// In the forked VMM, before exec: `fds` moved to first, first+1, ... — each copied above them
// all first, so no dup2 overwrites one not placed yet. The rest is closed.
void placeFdsInChild(const std::vector<int>& fds, int first) {
    std::vector<int> high;
    for (int fd : fds) high.push_back(::fcntl(fd, F_DUPFD, first + static_cast<int>(fds.size()) + 16));
    for (size_t i = 0; i < high.size(); i++) ::dup2(high[i], first + static_cast<int>(i));
    ::syscall(SYS_close_range, first + static_cast<unsigned>(fds.size()), ~0u, 0);
}

class Qemu : public Vmm {
public:
    const char* name() const override { return "qemu"; }

    Result<pid_t> start(const wire::QemuConfig& c, int agentFd, const std::string& vmmLog) override {
        wire::QemuConfig cfg = c;
        cfg.agentFd = agentFd >= 0 ? kAgentFdInVmm : -1;
        UniqueFd noAgent(agentFd >= 0 ? -1 : ::open("/dev/null", O_RDONLY | O_CLOEXEC));  // holds fd 3's place
        std::vector<int> placed = {agentFd >= 0 ? agentFd : noAgent.get()};
        for (size_t i = 0; i < cfg.nics.size(); i++) {
            placed.push_back(cfg.nics[i].tapFd);
            cfg.nics[i].tapFd = kFirstTapFdInVmm + static_cast<int>(i);
        }
        if (cfg.qmpFd >= 0) {  // the balloon's QMP channel follows the taps
            placed.push_back(cfg.qmpFd);
            cfg.qmpFd = kFirstTapFdInVmm + static_cast<int>(cfg.nics.size());
        }
        auto args = wire::qemuArgv(cfg);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        UniqueFd log(::open(vmmLog.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
        if (!log) return Error::fromErrno("open ", vmmLog);
        pid_t parent = ::getpid();
        pid_t pid = ::fork();
        if (pid < 0) return Error::fromErrno("fork the VMM");
        if (pid == 0) {
            // Own session: a terminal's ^C goes to berth, which decides what the guest gets.
            ::setsid();
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(1);
            sigset_t none;
            sigemptyset(&none);
            ::sigprocmask(SIG_SETMASK, &none, nullptr);
            int devnull = ::open("/dev/null", O_RDONLY);
            ::dup2(devnull, 0);
            ::dup2(log.get(), 1);
            ::dup2(log.get(), 2);
            placeFdsInChild(placed, kAgentFdInVmm);
            ::execvp(argv[0], argv.data());
            std::string msg = strCat("exec ", argv[0], ": ", std::strerror(errno), "\n");
            (void)!::write(2, msg.data(), msg.size());
            ::_exit(127);
        }
        return pid;
    }
};

// Boot the probe VM under KVM; true when the agent printed its line within the time limit.
bool probeKvm(const BootArtifacts& a, std::string& why) {
    std::string console = a.cacheDir + strCat("/kvm-probe.", ::getpid(), ".console");
    wire::QemuConfig c;
    c.accel = wire::Accel::Kvm;
    c.kernel = a.kernel.image;
    c.initrd = a.initramfs;
    wire::CmdlineOptions o{wire::RootfsMode::Initramfs, true, false};
    o.tscKhz = hostTscKhz(std::filesystem::path(a.cacheDir).parent_path()).khz;
    c.cmdline = wire::kernelCmdline(o);
    c.res = {wire::kMinGuestMiB, 1};
    c.consoleLog = console;
    auto pid = makeQemu()->start(c, -1, console + ".vmm");
    if (!pid) {
        why = pid.error().what();
        return false;
    }
    bool ok = false;
    int status;
    for (int i = 0; i < 200; i++) {  // 10 s: a good boot takes well under one
        if (::waitpid(*pid, &status, WNOHANG) == *pid) {
            *pid = -1;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (*pid > 0) {
        ::kill(*pid, SIGKILL);
        ::waitpid(*pid, &status, 0);
    }
    auto text = fs::readFile(console);
    ok = text && text->find("berth-agent: probe ok") != std::string::npos;
    auto vmmText = fs::readFile(console + ".vmm");
    if (!ok) {
        // The first line says it ("failed to set MSR ..." under PVM); the rest is an assertion.
        std::string tail = vmmText ? fs::trim(*vmmText) : "";
        tail = tail.substr(0, std::min(tail.find('\n'), size_t{200}));
        why = tail.empty() ? "the guest did not reach the agent under KVM" : tail;
    }
    ::unlink(console.c_str());
    ::unlink((console + ".vmm").c_str());
    return ok;
}

}  // namespace

std::unique_ptr<Vmm> makeQemu() { return std::make_unique<Qemu>(); }

AccelChoice chooseAccel(const BootArtifacts& a) {
    if (const char* f = std::getenv("BERTH_VM_ACCEL"); f && *f) {
        std::string v = f;
        return {v == "kvm" ? wire::Accel::Kvm : wire::Accel::Tcg, "BERTH_VM_ACCEL=" + v};
    }
    UniqueFd kvm(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
    if (!kvm) return {wire::Accel::Tcg, "/dev/kvm cannot be opened"};
    std::string cache = a.cacheDir + "/kvm-probe";
    if (auto cached = fs::readFile(cache)) {
        auto lines = fs::split(*cached, '\n');
        bool usable = !lines.empty() && lines[0] == "usable";
        return {usable ? wire::Accel::Kvm : wire::Accel::Tcg,
                strCat("cached KVM probe: ", lines.size() > 1 ? lines[1] : lines[0])};
    }
    std::string why;
    bool usable = probeKvm(a, why);
    (void)fs::writeFileAtomic(cache, usable ? "usable\nKVM boots this kernel\n" : "unusable\n" + why + "\n", 0600);
    return {usable ? wire::Accel::Kvm : wire::Accel::Tcg, usable ? "KVM probe passed" : "KVM probe failed: " + why};
}

}  // namespace berth::vm
