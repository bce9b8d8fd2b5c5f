#include "vm/host_tsc.hpp"

#include <cpuid.h>
#include <time.h>
#include <x86intrin.h>

#include <sstream>

#include "common/fs.hpp"
#include "common/log.hpp"

namespace berth::vm::tsc_detail {

bool plausibleKhz(uint64_t khz) { return khz >= 100000 && khz <= 10000000; }

uint32_t khzFromLeaf15(uint32_t eax, uint32_t ebx, uint32_t ecx) {
    if (!eax || !ebx || !ecx) return 0;
    uint64_t khz = uint64_t{ecx} * ebx / eax / 1000;
    return plausibleKhz(khz) ? static_cast<uint32_t>(khz) : 0;
}

std::optional<uint32_t> khzFromCache(const std::string& text, const std::string& bootId) {
    std::istringstream in(text);
    std::string id;
    uint64_t khz = 0;
    if (!(in >> id >> khz) || bootId.empty() || id != bootId || !plausibleKhz(khz)) return std::nullopt;
    return static_cast<uint32_t>(khz);
}

}  // namespace berth::vm::tsc_detail

namespace berth::vm {

namespace {

uint32_t fromSysfs() {
    auto t = fs::readFile("/sys/devices/system/cpu/cpu0/tsc_freq_khz");
    if (!t) return 0;
    try {
        uint64_t khz = std::stoull(fs::trim(*t));
        return tsc_detail::plausibleKhz(khz) ? static_cast<uint32_t>(khz) : 0;
    } catch (const std::exception&) {
        return 0;
    }
}

uint32_t fromCpuid() {
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, nullptr) >= 0x15) {
        __cpuid(0x15, a, b, c, d);
        if (uint32_t khz = tsc_detail::khzFromLeaf15(a, b, c)) return khz;
    }
    __cpuid(1, a, b, c, d);
    if (!(c & (1u << 31))) return 0;  // no hypervisor: no hypervisor leaves
    __cpuid(0x40000000, a, b, c, d);
    if (a < 0x40000010) return 0;
    __cpuid(0x40000010, a, b, c, d);  // VMware's timing leaf (EAX: TSC kHz), which others copy
    return tsc_detail::plausibleKhz(a) ? a : 0;
}

uint64_t monoRawNs() {
    struct timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000 + static_cast<uint64_t>(ts.tv_nsec);
}

// TSC ticks over ≥ 20 ms of CLOCK_MONOTONIC_RAW; each end pairs a TSC read with the clock read
// closest to it (the tighter of two brackets), so a preemption costs accuracy only at the ends.
uint32_t measure() {
    auto pair = [](uint64_t& ns, uint64_t& tsc) {
        uint64_t best = ~0ull;
        for (int i = 0; i < 5; i++) {
            uint64_t t0 = __rdtsc(), n = monoRawNs(), t1 = __rdtsc();
            if (t1 - t0 < best) best = t1 - t0, ns = n, tsc = t0 + (t1 - t0) / 2;
        }
    };
    uint64_t n0 = 0, c0 = 0, n1 = 0, c1 = 0;
    pair(n0, c0);
    struct timespec nap = {0, 20000000};
    ::nanosleep(&nap, nullptr);
    pair(n1, c1);
    if (n1 <= n0 || c1 <= c0) return 0;
    uint64_t khz = (c1 - c0) * 1000000 / (n1 - n0);
    return tsc_detail::plausibleKhz(khz) ? static_cast<uint32_t>(khz) : 0;
}

}  // namespace

TscRate hostTscKhz(const std::string& cacheRoot) {
    if (uint32_t khz = fromSysfs()) return {khz, "sysfs tsc_freq_khz"};
    if (uint32_t khz = fromCpuid()) return {khz, "CPUID"};
    auto bootText = fs::readFile("/proc/sys/kernel/random/boot_id");
    std::string bootId = bootText ? fs::trim(*bootText) : "";
    std::string cache = cacheRoot + "/host-tsc";
    if (auto text = fs::readFile(cache))
        if (auto khz = tsc_detail::khzFromCache(*text, bootId)) return {*khz, "measured (cached)"};
    uint32_t khz = measure();
    if (!khz) return {};
    if (!bootId.empty() && fs::mkdirAll(cacheRoot, 0700)) (void)fs::writeFileAtomic(cache, strCat(bootId, " ", khz, "\n"), 0600);
    return {khz, "measured"};
}

}  // namespace berth::vm
