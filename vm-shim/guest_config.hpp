// vm-shim/guest_config: what the host tells the agent about the workload (the Config frame) —
// the parts of the OCI process and root the guest applies — as JSON both sides parse.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace berth::vm {

struct GuestRlimit {
    std::string type;  // "RLIMIT_NOFILE"
    uint64_t soft = 0, hard = 0;
};

struct GuestProcess {
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string cwd = "/";
    uint32_t uid = 0, gid = 0;
    std::vector<uint32_t> additionalGids;
    std::string hostname;
    std::vector<GuestRlimit> rlimits;
    bool readonlyRoot = false;
    bool noNewPrivileges = false;
    // mkfs.ext4 adds lost+found; the guest removes it when the bundle's rootfs had none.
    bool dropLostFound = false;
    // process.terminal: the guest gives the process a pty (stdout and stderr are one stream)
    // of this size (0: the kernel's default).
    bool terminal = false;
    uint16_t rows = 0, cols = 0;
};

std::string toJson(const GuestProcess& p);
Result<GuestProcess> guestProcessFromJson(const std::string& text);

}  // namespace berth::vm
