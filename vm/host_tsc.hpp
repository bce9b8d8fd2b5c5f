// vm/host_tsc: the host's TSC frequency, which the guest kernel is told (tsc_early_khz=): under
// TCG the guest's TSC is the host's, so any other number makes the guest's clock run fast or slow.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace berth::vm {

// Where the rate comes from, in order: the kernel's sysfs tsc_freq_khz (where the kernel has
// it), CPUID leaf 0x15 (crystal × ratio, Intel), the hypervisor's timing leaf 0x40000010, else
// the TSC measured against CLOCK_MONOTONIC_RAW for 20 ms — remembered in <cacheRoot>/host-tsc
// for the host's boot (its boot_id), so a create measures at most once per host boot.
struct TscRate {
    uint32_t khz = 0;
    const char* source = "";
};
TscRate hostTscKhz(const std::string& cacheRoot);

}  // namespace berth::vm

namespace berth::vm::tsc_detail {
// CPUID 0x15: EAX denominator, EBX numerator, ECX crystal Hz; 0 when a field is missing.
uint32_t khzFromLeaf15(uint32_t eax, uint32_t ebx, uint32_t ecx);
// The cache file's text ("<boot_id> <khz>\n") → the kHz when it is this boot's and plausible.
std::optional<uint32_t> khzFromCache(const std::string& text, const std::string& bootId);
// A TSC rate a guest kernel can be given: 100 MHz – 10 GHz.
bool plausibleKhz(uint64_t khz);
}  // namespace berth::vm::tsc_detail
