#include "vm/agent/idle_modules.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <vector>

#include "common/fs.hpp"
#include "vm/agent/timing.hpp"

namespace berth::vm::agent {
namespace {

// Written before the thread starts, then only read by it; it lives as long as the process.
struct IdleLoad {
    std::vector<std::string> paths;
    std::atomic<int> failedAt{-1};  // index into paths
    std::atomic<int> err{0};
};
IdleLoad& idleLoad() {
    static IdleLoad l;
    return l;
}

// Never returns: a returning thread frees its malloc cache at exit, under the arena's lock, and at
// idle priority it can be preempted holding it — a workload cloned then (clone3, which runs no
// fork handlers) would wait for that lock forever at its first malloc.
[[noreturn]] void loadAtIdlePriority() {
    IdleLoad& l = idleLoad();
    struct sched_param none{};
    (void)::sched_setscheduler(0, SCHED_IDLE, &none);  // 0: this thread only
    for (size_t i = 0; i < l.paths.size(); i++) {
        int fd = ::open(l.paths[i].c_str(), O_RDONLY | O_CLOEXEC);
        bool ok = fd >= 0 && (::syscall(SYS_finit_module, fd, "", 0) == 0 || errno == EEXIST);
        int e = errno;
        if (fd >= 0) ::close(fd);
        if (!ok) {
            l.err = e;
            l.failedAt = static_cast<int>(i);
            // On the console too (console.log), for a failure after Prepared: a stack buffer,
            // no allocation.
            char line[512];
            int n = std::snprintf(line, sizeof line, "berth-agent: finit_module %s: %s\n", l.paths[i].c_str(), std::strerror(e));
            if (n > 0) (void)!::write(STDERR_FILENO, line, std::min(static_cast<size_t>(n), sizeof line - 1));
            break;
        }
    }
    timing::mark("idle.modules");
    for (;;) ::pause();  // every signal blocked: sleeps until the power-off
}

void* threadMain(void*) { loadAtIdlePriority(); }

}  // namespace

Status startIdleModuleLoad(const std::string& listFile) {
    ASSIGN_OR_RETURN(std::string list, fs::readFile(listFile));
    IdleLoad& l = idleLoad();
    for (auto& name : fs::split(list, '\n'))
        if (!fs::trim(name).empty()) l.paths.push_back("/lib/modules/" + fs::trim(name));
    // Started with every signal blocked, so it never takes one meant for PID 1 (SIGCHLD goes to
    // the workload loop's signalfd, which only works while no thread accepts it).
    sigset_t all, old;
    ::sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    ::pthread_attr_init(&attr);
    ::pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    ::pthread_attr_setstacksize(&attr, 64 << 10);
    pthread_t t;
    int err = ::pthread_create(&t, &attr, threadMain, nullptr);
    ::pthread_attr_destroy(&attr);
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (err != 0) return Error(err, strCat("start the loader of ", listFile));
    return {};
}

std::string idleModuleLoadError() {
    IdleLoad& l = idleLoad();
    int at = l.failedAt.load();
    if (at < 0) return "";
    return strCat("finit_module ", l.paths[static_cast<size_t>(at)], ": ", std::strerror(l.err.load()));
}

}  // namespace berth::vm::agent
