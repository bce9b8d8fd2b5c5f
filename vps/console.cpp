// vps/console: the console host step — the pty for the init, the holder that keeps its master.
#include "vps/console.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <vector>

#include "common/unix_socket.hpp"
#include "common/fd_passing.hpp"
#include "common/fs.hpp"

namespace berth::vps {
namespace {

constexpr const char kMasterSocket[] = "console-master.sock";

// Data dir → the master socket path of a console step prepared in this process.
std::map<std::string, std::string>& masterSockets() {
    static std::map<std::string, std::string> m;
    return m;
}

int pidfdOpen(pid_t pid) {
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

// A unix socket bound at DIR/NAME through /proc/self/fd/DIRFD (no sun_path limit on DIR),
// mode 0600 from the start (umask around bind).
Result<UniqueFd> bindIn(int dirFd, const char* name, int type, std::string* path) {
    UniqueFd s(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
    if (!s) return Error::fromErrno("socket");
    ::unlinkat(dirFd, name, 0);
    UnixAddress a = unixAddressAt(dirFd, name);
    mode_t old = ::umask(0177);
    int r = ::bind(s.get(), reinterpret_cast<const sockaddr*>(&a.addr), a.len);
    ::umask(old);
    if (r < 0) return Error::fromErrno("bind ", name);
    if (::listen(s.get(), 4) < 0) return Error::fromErrno("listen ", name);
    if (path) *path = a.addr.sun_path;
    return s;
}

// The holder-to-be of each VPS whose start runs in this process (runUnderHolder): the socket
// its fds go over, by data dir.
struct PendingHolder {
    UniqueFd control;
    pid_t pid = 0;
};
std::map<std::string, PendingHolder>& pendingHolders() {
    static std::map<std::string, PendingHolder> m;
    return m;
}

// In the holder-to-be, once its fds came: they become 3, 4 and 5, stdio /dev/null, and it
// turns into berth-console (a subreaper keeps that across execve).
[[noreturn]] void execHolder(const std::string& exe, char** argv, std::vector<UniqueFd>& fds) {
    int hi[3];
    for (int i = 0; i < 3; i++) hi[i] = ::fcntl(fds[static_cast<size_t>(i)].get(), F_DUPFD, 10);
    int null = ::open("/dev/null", O_RDWR);
    for (int i = 0; i < 3; i++) ::dup2(null, i);
    for (int i = 0; i < 3; i++) ::dup2(hi[i], 3 + i);
    ::close_range(6, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(exe.c_str(), argv);
    ::execv("/proc/self/exe", argv);
    ::_exit(127);
}

// The holder-to-be: a subreaper in its own session whose child C runs `fn` (the runtime's
// create and start); the init C makes is reparented here when C exits, so the holder is the
// init's parent and learns how it ended (a reboot inside is a SIGHUP death in a PID
// namespace, a power-off a SIGINT one). Then it waits for its fds.
[[noreturn]] void holderToBe(const std::string& exe, char** argv, int control, int resultW,
                             const std::function<Status()>& fn) {
    ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    pid_t c = ::fork();
    if (c == 0) {
        ::close(control);
        Status st = fn();
        std::string msg = st ? std::string("ok") : "!" + std::string(st.error().what());
        (void)!::write(resultW, msg.data(), msg.size());
        ::_exit(st ? 0 : 1);
    }
    ::close(resultW);
    while (c > 0 && ::waitpid(c, nullptr, 0) < 0 && errno == EINTR) {
    }
    char tag;
    auto fds = recvFds(control, &tag, 1, 3);
    if (!fds || fds->size() != 3) ::_exit(0);  // the start failed (or berth died): no holder
    execHolder(exe, argv, *fds);
}

bool isHolder(pid_t pid) {
    auto comm = fs::readFile(strCat("/proc/", pid, "/comm"));
    return comm && comm->rfind(kConsoleHolderName, 0) == 0;
}

class ConsoleStep : public HostStep {
  public:
    const char* name() const override { return "console"; }

    Status prepare(const StepContext& c, nlohmann::json& spec) override {
        dir_ = c.data.dir;
        dirFd_.reset(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!dirFd_) return Error::fromErrno("open ", dir_);
        // A new boot, a new log.
        ::unlinkat(dirFd_.get(), kConsoleOldLog, 0);
        UniqueFd log(::openat(dirFd_.get(), kConsoleLog,
                              O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
        if (!log) return Error::fromErrno("create ", dir_, "/", kConsoleLog);
        std::string path;
        ASSIGN_OR_RETURN(recv_, bindIn(dirFd_.get(), kMasterSocket, SOCK_STREAM, &path));
        masterSockets()[dir_] = path;
        spec["process"]["terminal"] = true;
        return {};
    }

    Status started(const StepContext&, pid_t initPid) override {
        masterSockets().erase(dir_);
        if (!recv_) return {};
        UniqueFd conn(::accept4(recv_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (!conn) return Error::fromErrno("console: no pty master from the runtime");
        int fl = ::fcntl(conn.get(), F_GETFL);
        ::fcntl(conn.get(), F_SETFL, fl & ~O_NONBLOCK);
        struct timeval tv {
            10, 0
        };
        ::setsockopt(conn.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ASSIGN_OR_RETURN(UniqueFd master, recvFd(conn.get()));
        recv_.reset();
        ::unlinkat(dirFd_.get(), kMasterSocket, 0);
        UniqueFd pidfd(pidfdOpen(initPid));
        if (!pidfd) return Error::fromErrno("pidfd_open of the init (", initPid, ")");
        ASSIGN_OR_RETURN(UniqueFd listen,
                         bindIn(dirFd_.get(), kConsoleSocket, SOCK_SEQPACKET, nullptr));
        auto it = pendingHolders().find(dir_);
        if (it == pendingHolders().end())
            return Error::make("console: the VPS's init was not started under its holder");
        PendingHolder h = std::move(it->second);
        pendingHolders().erase(it);
        TRY(fs::writeFileAtomic(dir_ + "/" + kConsolePid, std::to_string(h.pid), 0600));
        return sendFds(h.control.get(), {master.get(), listen.get(), pidfd.get()}, "h", "the console holder's fds");
    }

    Status stopped(const StepContext& c) override {
        const std::string& dir = c.data.dir;
        masterSockets().erase(dir);
        pendingHolders().erase(dir);  // a holder-to-be that got no fds exits
        recv_.reset();
        auto text = fs::readFile(dir + "/" + kConsolePid);
        pid_t pid = text ? static_cast<pid_t>(std::strtol(text->c_str(), nullptr, 10)) : 0;
        UniqueFd pidfd(pid > 0 ? pidfdOpen(pid) : -1);
        if (pidfd && isHolder(pid)) {
            // It exits by itself once the init is gone (after saving the last output): give it
            // a moment, then kill it.
            struct pollfd p {
                pidfd.get(), POLLIN, 0
            };
            if (::poll(&p, 1, 2000) == 0) {
                ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
                ::poll(&p, 1, 5000);
            }
        }
        for (const char* f : {kConsoleSocket, kMasterSocket, kConsolePid})
            if (::unlink((dir + "/" + f).c_str()) < 0 && errno != ENOENT)
                return Error::fromErrno("remove ", dir, "/", f);
        return {};
    }

  private:
    std::string dir_;
    UniqueFd dirFd_, recv_;
};

}  // namespace

std::unique_ptr<HostStep> makeConsoleStep() {
    return std::make_unique<ConsoleStep>();
}

std::string consoleMasterSocket(const DataLayout& d) {
    auto it = masterSockets().find(d.dir);
    return it == masterSockets().end() ? "" : it->second;
}

Status runUnderHolder(const DataLayout& d, const std::vector<std::string>& onInitExit,
                      const std::function<Status()>& fn) {
    std::string exe = consoleHolderPath();
    std::vector<std::string> args = {kConsoleHolderName, d.dir};
    if (!onInitExit.empty()) {
        args.push_back(kConsoleOnExitFlag);
        args.insert(args.end(), onInitExit.begin(), onInitExit.end());
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int sp[2], rp[2], pp[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) return Error::fromErrno("socketpair");
    UniqueFd control(sp[0]), theirs(sp[1]);
    if (::pipe2(rp, O_CLOEXEC) < 0) return Error::fromErrno("pipe");
    UniqueFd resultR(rp[0]), resultW(rp[1]);
    if (::pipe2(pp, O_CLOEXEC) < 0) return Error::fromErrno("pipe");
    UniqueFd pidR(pp[0]), pidW(pp[1]);
    // Double fork: the holder is in its own session and a child of no berth process.
    pid_t mid = ::fork();
    if (mid < 0) return Error::fromErrno("fork the console holder");
    if (mid == 0) {
        ::setsid();
        pid_t holder = ::fork();
        if (holder != 0) {
            (void)!::write(pidW.get(), &holder, sizeof holder);
            ::_exit(holder < 0 ? 1 : 0);
        }
        ::close(control.get());
        ::close(resultR.get());
        ::close(pidR.get());
        ::close(pidW.get());
        holderToBe(exe, argv.data(), theirs.get(), resultW.get(), fn);
    }
    theirs.reset();
    resultW.reset();
    pidW.reset();
    while (::waitpid(mid, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_t holder = -1;
    if (::read(pidR.get(), &holder, sizeof holder) != sizeof holder || holder <= 0)
        return Error::make("fork the console holder: failed");
    std::string result = fs::readUntilEof(resultR.get());
    if (result == "ok") {
        pendingHolders()[d.dir] = PendingHolder{std::move(control), holder};
        return {};
    }
    if (result.size() > 1 && result[0] == '!') return Error::make(result.substr(1));
    return Error::make("the process running the runtime's create died");
}

std::string consoleHolderPath() {
    char buf[4096];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n > 0) {
        std::string self(buf, static_cast<size_t>(n));
        std::string next = self.substr(0, self.rfind('/') + 1) + kConsoleHolderName;
        if (::access(next.c_str(), X_OK) == 0) return next;
    }
    return "/proc/self/exe";
}

}  // namespace berth::vps
