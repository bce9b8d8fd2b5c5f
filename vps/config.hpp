// vps/config: the VPS model — one versioned JSON document per VPS (name, template, limits,
// network and guest set-up fields, id range) with its parser, validator and serializer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace berth::vps {

inline constexpr int kConfigVersion = 1;
inline constexpr size_t kMaxNameLength = 63;  // a DNS label, as hostnames and Incus names

// The limits a user sets (create/set flags). Unset = no limit / the kernel's default.
struct Limits {
    std::optional<int64_t> ram;        // bytes (memory.limit)
    std::optional<int64_t> swap;       // bytes of swap on top of ram (vzctl's --swap)
    std::optional<int> cpus;           // visible CPUs
    std::optional<int> cpulimit;       // % of one CPU; 150 = 1.5 CPUs
    std::optional<int> cpuunits;       // vzctl weight 8..500000 (default 1000)
    std::optional<int64_t> pids;       // max processes
    std::optional<int> ioweight;       // block I/O weight 10..1000
    std::optional<int64_t> diskspace;  // bytes: the VPS's disk image (vps/quota)
    std::optional<int64_t> diskinodes;
};

// The network fields (vps/network, vps/guest_files). --userpasswd is applied at once and never
// stored (vps/guest_users), as vzctl does.
struct Network {
    std::vector<std::string> ips;  // CIDR, IPv4 or IPv6
    std::vector<std::string> nameservers;
    std::vector<std::string> searchdomains;
};

// How the template boots: its init and the signal that init takes as "power off".
struct InitInfo {
    std::string path = "/sbin/init";
    std::string kind;        // "busybox", "systemd", "sysvinit" (anything else)
    std::string stopSignal;  // "SIGUSR2", "SIGRTMIN+4", "SIGPWR"
};

// One VPS's id range on the host: root inside is uid/gid `base` outside.
struct IdRange {
    uint32_t base = 0;
    uint32_t size = 0;
};

struct Config {
    int version = kConfigVersion;
    std::string name;
    std::string templateName;    // as given to create
    std::string templateDigest;  // the manifest it was made from (pinned)
    std::string hostname;
    bool onboot = false;
    Limits limits;
    Network network;
    InitInfo init;
    IdRange ids;
};

// A VPS name: 1..63 of [A-Za-z0-9_.-], starting with a letter or digit (so never ".", "..",
// a hidden file or an option), no "/".
Status validateName(const std::string& name);
// vzctl sizes: a number of bytes with an optional K, M, G or T (binary, either case; "KB",
// "MiB" too), or "unlimited".
Result<std::optional<int64_t>> parseSize(const std::string& s);
Status validateLimits(const Limits& l);
Status validateNetwork(const Network& n);
Status validateUserPasswd(const std::string& s);
// Empty (keep the template's) or a valid hostname (vps/guest_files.hpp has the rules).
Status validateHostnameOption(const std::string& h);

Status validate(const Config& c);
// Keys in a fixed, readable order (version first) for the file an admin may read.
nlohmann::ordered_json toJson(const Config& c);
// Parse and validate; errors name the field.
Result<Config> fromJson(const nlohmann::json& j);
// Text → Config; `source` (a file name) heads every error.
Result<Config> parseConfig(const std::string& text, const std::string& source);

}  // namespace berth::vps
