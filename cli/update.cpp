#include "cli/cli.hpp"
#include "common/units.hpp"

namespace berth::cli {
namespace {

// CLI11 keeps strings; sizes and numbers are parsed here so a bad one names its flag.
struct Raw {
    std::string blkioWeight, cpuPeriod, cpuQuota, cpuShares, cpuRtPeriod, cpuRtRuntime, cpuIdle,
        memory, memoryReservation, memorySwap, kernelMemory, kernelMemoryTcp, pidsLimit;
    std::string cpusetCpus, cpusetMems, l3, memBw;
};

Status number(const std::string& flag, const std::string& text, std::optional<int64_t>& out, bool bytes) {
    if (text.empty()) return {};
    if (bytes) {
        auto v = units::parseBytes(text);
        if (!v) return Error(v.error()).context(flag);
        out = *v;
        return {};
    }
    try {
        size_t used = 0;
        long long v = std::stoll(text, &used);
        if (used != text.size()) throw std::invalid_argument(text);
        out = v;
    } catch (...) {
        return Error::make(flag, ": \"", text, "\" is not an integer");
    }
    return {};
}

}  // namespace

void addUpdate(CLI::App& app, Context& ctx) {
    static runtime::UpdateOptions o;
    static Raw raw;
    auto* sub = app.add_subcommand("update", "update the resource limits of a container");
    sub->add_option("id", o.id, "container id")->required();
    sub->add_option("-r,--resources", o.resourcesFile, "linux.resources JSON file, or - for stdin");
    sub->add_option("--blkio-weight", raw.blkioWeight, "block IO weight, 10 to 1000");
    sub->add_option("--cpu-period", raw.cpuPeriod, "CPU CFS period (usecs)");
    sub->add_option("--cpu-quota", raw.cpuQuota, "CPU CFS quota (usecs) per period");
    sub->add_option("--cpu-share", raw.cpuShares, "CPU shares (relative weight)");
    sub->add_option("--cpu-rt-period", raw.cpuRtPeriod, "CPU realtime period (usecs)");
    sub->add_option("--cpu-rt-runtime", raw.cpuRtRuntime, "CPU realtime runtime (usecs) per period");
    sub->add_option("--cpu-idle", raw.cpuIdle, "1: SCHED_IDLE for the cgroup, 0: default");
    sub->add_option("--cpuset-cpus", raw.cpusetCpus, "CPUs to use");
    sub->add_option("--cpuset-mems", raw.cpusetMems, "memory nodes to use");
    sub->add_option("--memory", raw.memory, "memory limit (bytes, or with k/m/g)");
    sub->add_option("--memory-reservation", raw.memoryReservation, "memory soft limit");
    sub->add_option("--memory-swap", raw.memorySwap, "memory plus swap limit; -1 for unlimited");
    sub->add_option("--kernel-memory", raw.kernelMemory, "obsolete kernel memory limit");
    sub->add_option("--kernel-memory-tcp", raw.kernelMemoryTcp, "obsolete kernel TCP memory limit");
    sub->add_option("--pids-limit", raw.pidsLimit, "maximum number of processes");
    sub->add_option("--l3-cache-schema", raw.l3, "Intel RDT L3 cache schema (not supported)");
    sub->add_option("--mem-bw-schema", raw.memBw, "Intel RDT memory bandwidth schema (not supported)");
    sub->callback([&ctx] {
        ctx.action = [&ctx]() -> Result<int> {
            TRY(number("--blkio-weight", raw.blkioWeight, o.blkioWeight, false));
            TRY(number("--cpu-period", raw.cpuPeriod, o.cpuPeriod, false));
            TRY(number("--cpu-quota", raw.cpuQuota, o.cpuQuota, false));
            TRY(number("--cpu-share", raw.cpuShares, o.cpuShares, false));
            TRY(number("--cpu-rt-period", raw.cpuRtPeriod, o.cpuRtPeriod, false));
            TRY(number("--cpu-rt-runtime", raw.cpuRtRuntime, o.cpuRtRuntime, false));
            TRY(number("--cpu-idle", raw.cpuIdle, o.cpuIdle, false));
            TRY(number("--memory", raw.memory, o.memory, true));
            TRY(number("--memory-reservation", raw.memoryReservation, o.memoryReservation, true));
            TRY(number("--memory-swap", raw.memorySwap, o.memorySwap, true));
            TRY(number("--kernel-memory", raw.kernelMemory, o.kernelMemory, true));
            TRY(number("--kernel-memory-tcp", raw.kernelMemoryTcp, o.kernelMemoryTcp, true));
            TRY(number("--pids-limit", raw.pidsLimit, o.pidsLimit, false));
            if (!raw.cpusetCpus.empty()) o.cpusetCpus = raw.cpusetCpus;
            if (!raw.cpusetMems.empty()) o.cpusetMems = raw.cpusetMems;
            if (!raw.l3.empty()) o.l3CacheSchema = raw.l3;
            if (!raw.memBw.empty()) o.memBwSchema = raw.memBw;
            TRY(runtime::update(ctx.global, o));
            return 0;
        };
    });
}

}  // namespace berth::cli
