// Process attributes the kernel keeps per task: execution domain (personality), scheduling
// policy (sched_setattr), I/O priority (ioprio_set) and CPU affinity. Applied in the child
// before capabilities are dropped, since RT policies and the RT I/O class need CAP_SYS_NICE
// and CAP_SYS_ADMIN.
#include <sched.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>


#include "common/fs.hpp"
#include "runtime/security/security.hpp"
#include "runtime/spec/names.hpp"

namespace berth::runtime::security {
namespace {
// <linux/sched/types.h> clashes with glibc's sched_param; this is its struct sched_attr (v1).
struct SchedAttr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
};
}  // namespace

Result<std::optional<unsigned long>> personalityFor(const nlohmann::json& p) {
    if (p.is_null()) return std::optional<unsigned long>{};
    const std::string path = "linux.personality";
    if (!p.is_object()) return Error::make(path, ": must be an object");
    auto d = p.find("domain");
    if (d == p.end() || !d->is_string()) return Error::make(path, ".domain: must be a string");
    unsigned long domain;
    if (*d == "LINUX") domain = PER_LINUX;
    else if (*d == "LINUX32") domain = PER_LINUX32;
    else return Error::make(path, ".domain: must be LINUX or LINUX32, got ", d->dump());
    // runtime-spec: "Currently no flag values are supported".
    auto f = p.find("flags");
    if (f != p.end() && !f->is_null() && !(f->is_array() && f->empty()))
        return Error::make(path, ".flags: no personality flags are supported");
    return std::optional<unsigned long>(domain);
}

Status applyPersonality(unsigned long domain) {
    if (::personality(domain) < 0) return Error::fromErrno("personality ", domain);
    return {};
}

Status applyScheduler(const spec::Scheduler& s) {
    SchedAttr attr{};
    attr.size = sizeof attr;
    attr.sched_policy = static_cast<uint32_t>(spec::schedulerPolicy(s.policy).value_or(0));
    attr.sched_nice = s.nice;
    attr.sched_priority = static_cast<uint32_t>(s.priority);
    for (auto& f : s.flags) attr.sched_flags |= spec::schedulerFlag(f).value_or(0);
    attr.sched_runtime = s.runtime;
    attr.sched_deadline = s.deadline;
    attr.sched_period = s.period;
    if (::syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
        return Error::fromErrno("process.scheduler: sched_setattr ", s.policy);
    return {};
}

Status applyIoPriority(const spec::IoPriority& io) {
    constexpr int kWhoProcess = 1, kClassShift = 13;
    int value = (spec::ioPriorityClass(io.ioClass).value_or(0) << kClassShift) | io.priority;
    if (::syscall(SYS_ioprio_set, kWhoProcess, 0, value) < 0)
        return Error::fromErrno("process.ioPriority: ioprio_set ", io.ioClass, " ", io.priority);
    return {};
}

Status setCpuAffinity(pid_t pid, const std::string& list) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (auto& part : fs::split(list, ',')) {
        auto dash = part.find('-');
        unsigned long lo = std::stoul(part.substr(0, dash));
        unsigned long hi = dash == std::string::npos ? lo : std::stoul(part.substr(dash + 1));
        for (unsigned long c = lo; c <= hi && c < CPU_SETSIZE; c++) CPU_SET(c, &set);
    }
    if (::sched_setaffinity(pid, sizeof set, &set) < 0)
        return Error::fromErrno("process.execCPUAffinity: set CPU affinity ", list);
    return {};
}

}  // namespace berth::runtime::security
