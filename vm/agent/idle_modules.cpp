#include "vm/agent/idle_modules.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <thread>
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

void loadAtIdlePriority() {
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
            return;
        }
    }
    timing::mark("idle.modules");
}

}  // namespace

Status startIdleModuleLoad(const std::string& listFile) {
    ASSIGN_OR_RETURN(std::string list, fs::readFile(listFile));
    IdleLoad& l = idleLoad();
    for (auto& name : fs::split(list, '\n'))
        if (!fs::trim(name).empty()) l.paths.push_back("/lib/modules/" + fs::trim(name));
    try {
        std::thread(loadAtIdlePriority).detach();
    } catch (const std::system_error& e) {
        return Error(e.code().value(), strCat("start the module loader for ", listFile, ": ", e.what())).hideErrno();
    }
    return {};
}

std::string idleModuleLoadError() {
    IdleLoad& l = idleLoad();
    int at = l.failedAt.load();
    if (at < 0) return "";
    return strCat("finit_module ", l.paths[static_cast<size_t>(at)], ": ", std::strerror(l.err.load()));
}

}  // namespace berth::vm::agent
