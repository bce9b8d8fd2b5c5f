// vps/console: the console host step — the pty for the init, the holder that keeps its master.
#include "vps/console.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>

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

// The holder as its own session, not a child of berth: fork, setsid, fork, exec with the
// master, the attach socket and the init's pidfd as fds 3, 4, 5. Returns the holder's pid.
Result<pid_t> spawnHolder(const std::string& dir, int master, int listen, int pidfd) {
    std::string exe = consoleHolderPath();
    const char* argv[] = {kConsoleHolderName, dir.c_str(), nullptr};
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return Error::fromErrno("pipe");
    UniqueFd rd(p[0]), wr(p[1]);
    pid_t mid = ::fork();
    if (mid < 0) return Error::fromErrno("fork the console holder");
    if (mid == 0) {
        ::setsid();
        pid_t holder = ::fork();
        if (holder != 0) {
            (void)!::write(wr.get(), &holder, sizeof holder);
            ::_exit(holder < 0 ? 1 : 0);
        }
        int hi[3] = {::fcntl(master, F_DUPFD, 10), ::fcntl(listen, F_DUPFD, 10),
                     ::fcntl(pidfd, F_DUPFD, 10)};
        int null = ::open("/dev/null", O_RDWR);
        for (int i = 0; i < 3; i++) ::dup2(null, i);
        for (int i = 0; i < 3; i++) ::dup2(hi[i], 3 + i);
        ::close_range(6, ~0U, 0);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execv(exe.c_str(), const_cast<char**>(argv));
        ::execv("/proc/self/exe", const_cast<char**>(argv));
        ::_exit(127);
    }
    wr.reset();
    int st = 0;
    ::waitpid(mid, &st, 0);
    pid_t holder = -1;
    if (::read(rd.get(), &holder, sizeof holder) != sizeof holder || holder <= 0)
        return Error::make("fork the console holder: failed");
    return holder;
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
        ASSIGN_OR_RETURN(pid_t holder, spawnHolder(dir_, master.get(), listen.get(), pidfd.get()));
        return fs::writeFileAtomic(dir_ + "/" + kConsolePid, std::to_string(holder), 0600);
    }

    Status stopped(const StepContext& c) override {
        const std::string& dir = c.data.dir;
        masterSockets().erase(dir);
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
