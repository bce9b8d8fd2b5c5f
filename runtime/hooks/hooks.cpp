#include "runtime/hooks/hooks.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "common/log.hpp"
#include "common/unique_fd.hpp"

namespace berth::runtime::hooks {
namespace {

std::vector<char*> cStrings(const std::vector<std::string>& v) {
    std::vector<char*> out;
    for (auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
    out.push_back(nullptr);
    return out;
}

// Feed `input` to the hook's stdin and wait for it to exit, all within timeoutMs (<0: no limit).
// The write is non-blocking inside the same poll, so a hook that never reads its stdin cannot
// hold us past its timeout. Returns the wait status.
Result<int> feedAndWait(pid_t pid, UniqueFd wr, const std::string& input, int timeoutMs) {
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd) return Error::fromErrno("pidfd_open");
    ::fcntl(wr.get(), F_SETFL, ::fcntl(wr.get(), F_GETFL) | O_NONBLOCK);
    size_t off = 0;
    if (input.empty()) wr.reset();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    for (;;) {
        int wait = -1;
        if (timeoutMs >= 0) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            wait = static_cast<int>(std::max<int64_t>(0, left.count()));
        }
        struct pollfd p[2] = {{pidfd.get(), POLLIN, 0}, {wr ? wr.get() : -1, POLLOUT, 0}};
        int r = ::poll(p, 2, wait);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return Error::fromErrno("poll");
        if (r == 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
            return Error(ETIMEDOUT, strCat("timed out after ", timeoutMs / 1000, "s")).hideErrno();
        }
        if (p[1].revents) {
            ssize_t n = ::write(wr.get(), input.data() + off, input.size() - off);
            if (n > 0) off += static_cast<size_t>(n);
            // Done, or the hook closed its stdin (EPIPE; SIGPIPE is ignored): stop feeding.
            if (off == input.size() || (n < 0 && errno != EAGAIN && errno != EINTR)) wr.reset();
        }
        if (p[0].revents) break;
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return Error::fromErrno("waitpid");
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
    auto st = feedAndWait(pid, std::move(wr), stateJson, h.timeout ? *h.timeout * 1000 : -1);
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

}  // namespace berth::runtime::hooks
