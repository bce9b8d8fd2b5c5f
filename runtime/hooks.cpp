#include "runtime/hooks.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "common/log.hpp"
#include "common/unique_fd.hpp"

namespace berth::hooks {
namespace {

std::vector<char*> cStrings(const std::vector<std::string>& v) {
    std::vector<char*> out;
    for (auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
    out.push_back(nullptr);
    return out;
}

// Wait for pid until the deadline (ms; <0 = forever). Returns the wait status, or an Error.
Result<int> waitWithTimeout(pid_t pid, int timeoutMs) {
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (pidfd && timeoutMs >= 0) {
        struct pollfd p = {pidfd.get(), POLLIN, 0};
        int r;
        do r = ::poll(&p, 1, timeoutMs);
        while (r < 0 && errno == EINTR);
        if (r == 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
            return Error(ETIMEDOUT, strCat("timed out after ", timeoutMs / 1000, "s")).hideErrno();
        }
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return Error::fromErrno("waitpid");
    }
    return status;
}

Status runOne(const spec::Hook& h, const std::string& stateJson, const char* phase) {
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) < 0) return Error::fromErrno("pipe");
    UniqueFd rd(pipefd[0]), wr(pipefd[1]);
    std::vector<std::string> args = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
    auto argv = cStrings(args);
    auto envp = cStrings(h.env);
    pid_t pid = ::fork();
    if (pid < 0) return Error::fromErrno("fork");
    if (pid == 0) {
        ::dup2(rd.get(), STDIN_FILENO);
        sigset_t all;
        sigemptyset(&all);
        ::sigprocmask(SIG_SETMASK, &all, nullptr);
        ::signal(SIGPIPE, SIG_DFL);
        ::execve(h.path.c_str(), argv.data(), envp.data());
        _exit(127);
    }
    rd.reset();
    // A hook that does not read stdin must not make us fail or block: ignore EPIPE.
    size_t off = 0;
    while (off < stateJson.size()) {
        ssize_t n = ::write(wr.get(), stateJson.data() + off, stateJson.size() - off);
        if (n <= 0) break;
        off += static_cast<size_t>(n);
    }
    wr.reset();
    auto st = waitWithTimeout(pid, h.timeout ? *h.timeout * 1000 : -1);
    if (!st) return st.error().context(phase, " hook ", h.path);
    int status = *st;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return Error::make(phase, " hook ", h.path, ": could not be executed");
    if (WIFEXITED(status))
        return Error::make(phase, " hook ", h.path, " exited with status ", WEXITSTATUS(status));
    return Error::make(phase, " hook ", h.path, " killed by signal ", WTERMSIG(status));
}

}  // namespace

Status run(const std::vector<spec::Hook>& hooks, const std::string& stateJson, const char* phase) {
    for (auto& h : hooks) {
        log::debug("running ", phase, " hook ", h.path);
        TRY(runOne(h, stateJson, phase));
    }
    return {};
}

void runAllLogging(const std::vector<spec::Hook>& hooks, const std::string& stateJson,
                   const char* phase) {
    for (auto& h : hooks) {
        Status st = runOne(h, stateJson, phase);
        if (!st) log::warn(st.error().what());
    }
}

}  // namespace berth::hooks
