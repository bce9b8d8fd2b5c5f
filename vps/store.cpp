#include "vps/store.hpp"

#include "common/json.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "common/fs.hpp"

namespace berth::vps {

using json = nlohmann::json;

namespace {

std::string pick(const std::string& flag, const char* env, const char* def) {
    if (!flag.empty()) return flag;
    const char* e = std::getenv(env);
    return e && *e ? e : def;
}

Status fsyncDir(const std::string& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return Error::fromErrno("open ", dir);
    if (::fsync(fd.get()) < 0) return Error::fromErrno("fsync ", dir);
    return {};
}

}  // namespace

Result<IdPool> parseIdPool(const std::string& s) {
    auto bad = [&] { return Error::make("id pool \"", s, "\": expected START:COUNT (COUNT ranges of 65536 ids)"); };
    size_t colon = s.find(':');
    if (colon == std::string::npos) return bad();
    IdPool p;
    try {
        size_t used = 0;
        unsigned long long start = std::stoull(s.substr(0, colon), &used);
        if (used != colon) return bad();
        std::string cs = s.substr(colon + 1);
        unsigned long long count = std::stoull(cs, &used);
        if (used != cs.size()) return bad();
        if (start == 0 || count == 0) return Error::make("id pool \"", s, "\": START and COUNT must be positive");
        if (start + count * kRangeSize > 0xFFFFFFFFull)
            return Error::make("id pool \"", s, "\": reaches beyond the 32-bit id space");
        p.start = static_cast<uint32_t>(start);
        p.ranges = static_cast<uint32_t>(count);
    } catch (...) {
        return bad();
    }
    return p;
}

Result<Paths> resolvePaths(const std::string& configFlag, const std::string& dataFlag, const std::string& poolFlag) {
    Paths p;
    p.configDir = pick(configFlag, "BERTH_VPS_CONFIG", kDefaultConfigDir);
    p.dataDir = pick(dataFlag, "BERTH_VPS_DATA", kDefaultDataDir);
    std::string pool = pick(poolFlag, "BERTH_VPS_IDPOOL", "");
    if (!pool.empty()) {
        ASSIGN_OR_RETURN(p.pool, parseIdPool(pool));
    }
    for (auto* d : {&p.configDir, &p.dataDir}) {
        if (d->empty() || (*d)[0] != '/') return Error::make("VPS directory \"", *d, "\" must be an absolute path");
        *d = fs::cleanPath(*d);
    }
    return p;
}

Result<uint32_t> pickRange(const IdPool& pool, const std::vector<uint32_t>& used) {
    for (uint32_t i = 0; i < pool.ranges; i++) {
        uint32_t base = pool.start + i * kRangeSize;
        if (std::find(used.begin(), used.end(), base) == used.end()) return base;
    }
    return Error(ENOSPC, strCat("the VPS id pool is exhausted (", pool.ranges, " ranges of ", kRangeSize,
                                " ids from ", pool.start, " are all in use)"))
        .hideErrno();
}

Result<UniqueFd> ConfigStore::lock() const {
    TRY_CTX(fs::mkdirAll(p_.configDir, 0700), "VPS config dir");
    std::string path = p_.configDir + "/.lock";
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) return Error::fromErrno("open ", path);
    while (::flock(fd.get(), LOCK_EX) < 0)
        if (errno != EINTR) return Error::fromErrno("flock ", path);
    return fd;
}

bool ConfigStore::exists(const std::string& name) const { return fs::exists(configPath(name)); }

Result<Config> ConfigStore::load(const std::string& name) const {
    TRY(validateName(name));
    std::string path = configPath(name);
    if (!fs::exists(path)) return Error(ENOENT, strCat("VPS \"", name, "\" does not exist")).hideErrno();
    ASSIGN_OR_RETURN(std::string text, fs::readFile(path));
    ASSIGN_OR_RETURN(Config c, parseConfig(text, path));
    if (c.name != name) return Error::make(path, ": name \"", c.name, "\" does not match the file name");
    return c;
}

Status ConfigStore::save(const Config& c) const {
    TRY(validate(c));
    TRY_CTX(fs::mkdirAll(p_.configDir, 0700), "VPS config dir");
    // 0600: the file may hold a pending --userpasswd.
    TRY(fs::writeFileAtomic(configPath(c.name), toJson(c).dump(2) + "\n", 0600));
    return fsyncDir(p_.configDir);
}

Status ConfigStore::remove(const std::string& name) const {
    std::string path = configPath(name);
    if (::unlink(path.c_str()) < 0 && errno != ENOENT) return Error::fromErrno("remove ", path);
    return fsyncDir(p_.configDir);
}

Result<std::vector<std::string>> ConfigStore::names() const {
    std::vector<std::string> out;
    if (!fs::exists(p_.configDir)) return out;
    ASSIGN_OR_RETURN(auto entries, fs::listDir(p_.configDir));
    for (const auto& e : entries) {
        if (e.size() <= 5 || e.substr(e.size() - 5) != ".json") continue;
        std::string n = e.substr(0, e.size() - 5);
        if (validateName(n)) out.push_back(n);
    }
    std::sort(out.begin(), out.end());
    return out;
}

Result<std::map<std::string, uint32_t>> ConfigStore::ranges() const {
    std::map<std::string, uint32_t> r;
    std::string path = p_.configDir + "/.idranges.json";
    if (!fs::exists(path)) return r;
    ASSIGN_OR_RETURN(std::string text, fs::readFile(path));
    ASSIGN_OR_RETURN(json j, parseJson(text, path));
    try {
        r = j.get<std::map<std::string, uint32_t>>();
    } catch (const json::exception&) {
        return Error::make(path, ": not a JSON object of VPS name → id base");
    }
    return r;
}

Status ConfigStore::saveRanges(const std::map<std::string, uint32_t>& r) const {
    TRY_CTX(fs::mkdirAll(p_.configDir, 0700), "VPS config dir");
    TRY(fs::writeFileAtomic(p_.configDir + "/.idranges.json", json(r).dump(2) + "\n", 0600));
    return fsyncDir(p_.configDir);
}

Result<uint32_t> ConfigStore::allocateRange(const std::string& name) const {
    ASSIGN_OR_RETURN(auto r, ranges());
    // A record without a config is left by a create that died before writing it: reclaim it.
    for (auto it = r.begin(); it != r.end();) it = (it->first != name && !exists(it->first)) ? r.erase(it) : std::next(it);
    if (auto it = r.find(name); it != r.end()) return it->second;
    std::vector<uint32_t> used;
    for (const auto& [n, base] : r) used.push_back(base);
    ASSIGN_OR_RETURN(uint32_t base, pickRange(p_.pool, used));
    r[name] = base;
    TRY(saveRanges(r));
    return base;
}

Status ConfigStore::freeRange(const std::string& name) const {
    ASSIGN_OR_RETURN(auto r, ranges());
    if (r.erase(name) == 0) return {};
    return saveRanges(r);
}

}  // namespace berth::vps
