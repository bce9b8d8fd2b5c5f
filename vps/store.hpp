// vps/store: where VPSes live on the host — the config dir (one NAME.json each, the source of
// truth), the per-VPS data dir (upper dir, rootfs mount point, bundle), the lock that
// serialises changes, and the id pool (65536-id ranges recorded so no two VPSes share one).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "vps/config.hpp"

namespace berth::vps {

inline constexpr const char* kDefaultConfigDir = "/etc/berth/vps";
inline constexpr const char* kDefaultDataDir = "/var/lib/berth/vps";
inline constexpr uint32_t kDefaultPoolStart = 1000000;
inline constexpr uint32_t kDefaultPoolRanges = 1000;
inline constexpr uint32_t kRangeSize = 65536;

struct IdPool {
    uint32_t start = kDefaultPoolStart;
    uint32_t ranges = kDefaultPoolRanges;  // of kRangeSize ids each
};
// "START:COUNT" (COUNT ranges of 65536 ids from START).
Result<IdPool> parseIdPool(const std::string& s);

// Where things are: flags win, then $BERTH_VPS_CONFIG / $BERTH_VPS_DATA / $BERTH_VPS_IDPOOL,
// then the defaults.
struct Paths {
    std::string configDir;
    std::string dataDir;
    IdPool pool;
};
Result<Paths> resolvePaths(const std::string& configFlag, const std::string& dataFlag, const std::string& poolFlag);

// The smallest free range base in the pool, given the bases in use; an error when exhausted.
Result<uint32_t> pickRange(const IdPool& pool, const std::vector<uint32_t>& used);

class ConfigStore {
public:
    explicit ConfigStore(Paths p) : p_(std::move(p)) {}
    const Paths& paths() const { return p_; }

    std::string configPath(const std::string& name) const { return p_.configDir + "/" + name + ".json"; }
    std::string dataPath(const std::string& name) const { return p_.dataDir + "/" + name; }

    // The exclusive lock for changes to any VPS (create, set, destroy, start, stop).
    Result<UniqueFd> lock() const;
    bool exists(const std::string& name) const;
    Result<Config> load(const std::string& name) const;
    Status save(const Config& c) const;  // temp + fsync + rename + fsync of the dir
    Status remove(const std::string& name) const;
    // Names with a config file, sorted.
    Result<std::vector<std::string>> names() const;

    // Id ranges: the record (.idranges.json, NAME → base) is written under lock().
    Result<uint32_t> allocateRange(const std::string& name) const;
    Status freeRange(const std::string& name) const;
    Result<std::map<std::string, uint32_t>> ranges() const;

private:
    Status saveRanges(const std::map<std::string, uint32_t>& r) const;
    Paths p_;
};

}  // namespace berth::vps
