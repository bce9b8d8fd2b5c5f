// vps/limits: the one place VPS limits (vzctl's units) become OCI linux.resources values and
// runtime::update options — with the conversions unit-tested and the host's gaps refused.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "runtime/runtime.hpp"
#include "vps/config.hpp"

namespace berth::vps {

inline constexpr int64_t kCpuPeriodUs = 100000;

// What the host's cgroups can do, read from the cgroup mount (a temp dir in unit tests).
struct HostCaps {
    std::string onlineCpus = "0";  // "0-1", the cpus this VPS may be given
    bool swapAccounting = false;   // memory.memsw (v1) or memory.swap.max (v2)
    bool ioWeight = false;         // blkio.weight / blkio.bfq.weight (v1) or io.weight (v2)
};
HostCaps detectHostCaps(const std::string& cgroupRoot = "/sys/fs/cgroup",
                        const std::string& onlineFile = "/sys/devices/system/cpu/online");

// vzctl cpuunits (8..500000, default 1000) → cpu.shares (2..262144, default 1024):
// shares = round(units * 1024 / 1000), clamped.
uint64_t cpuunitsToShares(int units);
// cpulimit in % of one CPU → CFS quota per kCpuPeriodUs period: 150 → 150000.
int64_t cpulimitToQuota(int percent);
// The first n CPUs of a cpu list ("0-3,8") as a cpu list; an error when it has fewer.
Result<std::string> firstCpus(const std::string& cpuList, int n);
int countCpus(const std::string& cpuList);

// Refuse what this host cannot enforce (swap without swap accounting, ioweight without a
// weight-capable I/O scheduler, more CPUs than it has).
Status checkHostSupports(const Limits& l, const HostCaps& caps);

// linux.resources for the spec (memory, cpu, pids, blockIO; devices are the runtime's).
Result<nlohmann::json> resourcesFor(const Limits& l, const HostCaps& caps);
// The update that moves a running VPS from `before` to `after` (unset → unlimited).
Result<runtime::UpdateOptions> updateFor(const std::string& id, const Limits& before, const Limits& after,
                                         const HostCaps& caps);

}  // namespace berth::vps
