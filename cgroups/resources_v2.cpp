// linux.resources → cgroup2 knobs.
#include "cgroups/resources.hpp"

namespace berth::cgroups {

Result<std::vector<KnobWrite>> v2Knobs(const nlohmann::json&) {
    return Error::make("linux.resources: cgroup v2 is not supported by this build yet");
}

uint64_t cpuSharesToWeight(uint64_t shares) {
    if (shares == 0) return 0;
    return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t blkioWeightToIoWeight(uint64_t weight) {
    if (weight == 0) return 0;
    return 1 + (weight - 10) * 9999 / 990;
}

}  // namespace berth::cgroups
