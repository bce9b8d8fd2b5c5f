// cgroups/stats: a container's resource usage as read from its cgroup, in the shape `runc
// events --stats` prints; plus the pure parsers for the kernel's stat file formats.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace berth::cgroups {

struct CpuUsage {
    uint64_t total = 0, kernel = 0, user = 0;  // nanoseconds
    std::vector<uint64_t> percpu, percpuKernel, percpuUser;
};
struct Throttling {
    uint64_t periods = 0, throttledPeriods = 0, throttledTime = 0;  // throttledTime in ns
};
struct CpuStats {
    CpuUsage usage;
    Throttling throttling;
};
struct CpusetStats {
    bool present = false;
    std::vector<uint16_t> cpus, mems;
    std::map<std::string, int64_t> flags;  // cpu_exclusive, mem_hardwall, ... (v1 only)
};
struct MemoryEntry {
    uint64_t limit = 0, usage = 0, max = 0, failcnt = 0;
};
struct MemoryStats {
    uint64_t cache = 0;
    MemoryEntry usage, swap, kernel, kernelTCP;
    std::map<std::string, uint64_t> raw;  // memory.stat as is
    uint64_t oomKills = 0;                // memory.oom_control oom_kill / memory.events oom_kill
};
struct PidsStats {
    uint64_t current = 0, limit = 0;  // limit 0 = unlimited
};
struct BlkioEntry {
    uint64_t major = 0, minor = 0;
    std::string op;
    uint64_t value = 0;
};
struct BlkioStats {
    std::vector<BlkioEntry> ioServiceBytesRecursive, ioServicedRecursive, ioQueuedRecursive,
        ioServiceTimeRecursive, ioWaitTimeRecursive, ioMergedRecursive, ioTimeRecursive,
        sectorsRecursive;
};
struct HugetlbStats {
    uint64_t usage = 0, max = 0, failcnt = 0;
};
struct Stats {
    CpuStats cpu;
    CpusetStats cpuset;
    MemoryStats memory;
    PidsStats pids;
    BlkioStats blkio;
    std::map<std::string, HugetlbStats> hugetlb;  // page size ("2MB") -> usage
};

// runc's events "data" object.
nlohmann::json toJson(const Stats& s);
// Back from that object (cpu, cpuset, memory, pids; what another kernel's cgroup reports, e.g.
// a VM guest's): missing members read as zero. stats_json.cpp.
Result<Stats> statsFromJson(const nlohmann::json& data);

// "key value" lines (memory.stat, cpu.stat, memory.events, io.stat's inner pairs...).
std::map<std::string, uint64_t> parseFlatKeyed(const std::string& text);
// "0-3,5" -> {0,1,2,3,5}; refuses garbage.
Result<std::vector<uint16_t>> parseCpuList(const std::string& text);
// v1 blkio.*_recursive: "MAJ:MIN Op value" lines; a trailing "Total N" line is skipped.
std::vector<BlkioEntry> parseBlkioV1(const std::string& text);
// v2 io.stat: "MAJ:MIN rbytes=1 wbytes=2 rios=3 wios=4 ..." → runc's v1-shaped entries.
void parseIoStatV2(const std::string& text, BlkioStats& out);
// A knob holding a number or "max" (v2) / a huge v1 "unlimited"; "max" reads as UINT64_MAX.
uint64_t parseKnobValue(const std::string& text);
// hugetlb.<size>.* file name part ("2MB", "1GB") for a page size in bytes.
std::string hugePageSizeName(uint64_t bytes);

}  // namespace berth::cgroups
