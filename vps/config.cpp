#include "vps/config.hpp"

#include "common/json.hpp"
#include "vps/guest_files.hpp"
#include "vps/guest_users.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <limits>
#include <set>

namespace berth::vps {

using json = nlohmann::json;

namespace {

bool nameChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
}

bool validIp(const std::string& s) {
    unsigned char buf[16];
    return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

Status validateCidr(const std::string& s) {
    auto bad = [&](const char* why) { return Error::make("--ip \"", s, "\": ", why); };
    size_t slash = s.find('/');
    std::string addr = s.substr(0, slash);
    unsigned char buf[16];
    int max;
    if (::inet_pton(AF_INET, addr.c_str(), buf) == 1) max = 32;
    else if (::inet_pton(AF_INET6, addr.c_str(), buf) == 1) max = 128;
    else return bad("not an IPv4 or IPv6 address");
    if (slash == std::string::npos) return {};
    std::string p = s.substr(slash + 1);
    if (p.empty() || p.size() > 3) return bad("bad prefix length");
    for (char c : p)
        if (!std::isdigit(static_cast<unsigned char>(c))) return bad("bad prefix length");
    if (std::stoi(p) > max) return bad("prefix length out of range");
    return {};
}

template <typename T>
Status inRange(const char* flag, const std::optional<T>& v, T lo, T hi) {
    if (v && (*v < lo || *v > hi))
        return Error::make(flag, " ", *v, ": must be ", lo, "..", hi);
    return {};
}

}  // namespace

Status validateName(const std::string& name) {
    if (name.empty()) return Error::make("VPS name must not be empty");
    if (name.size() > kMaxNameLength)
        return Error::make("VPS name \"", name.substr(0, 16), "...\" is too long (at most ", kMaxNameLength,
                           " characters)");
    if (name.find('/') != std::string::npos)
        return Error::make("invalid VPS name \"", name, "\": it must not contain \"/\"");
    if (name.find("..") != std::string::npos)
        return Error::make("invalid VPS name \"", name, "\": it must not contain \"..\"");
    if (!std::isalnum(static_cast<unsigned char>(name[0])))
        return Error::make("invalid VPS name \"", name, "\": it must start with a letter or digit");
    for (char c : name)
        if (!nameChar(c)) return Error::make("invalid VPS name \"", name, "\": use [A-Za-z0-9_.-]");
    return {};
}

Result<std::optional<int64_t>> parseSize(const std::string& s) {
    auto bad = [&] {
        return Error::make("invalid size \"", s, "\": expected bytes with an optional K, M, G or T, or \"unlimited\"");
    };
    if (s == "unlimited") return std::optional<int64_t>{};
    size_t i = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) i++;
    if (i == 0 || i > 19) return bad();
    std::string unit;
    for (char c : s.substr(i)) unit += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (unit.size() == 2 && unit[1] == 'B') unit.pop_back();
    if (unit.size() == 3 && unit.substr(1) == "IB") unit.resize(1);
    int shift = 0;
    if (unit.empty() || unit == "B") shift = 0;
    else if (unit == "K") shift = 10;
    else if (unit == "M") shift = 20;
    else if (unit == "G") shift = 30;
    else if (unit == "T") shift = 40;
    else return bad();
    unsigned long long n = std::stoull(s.substr(0, i));
    if (n > (static_cast<unsigned long long>(std::numeric_limits<int64_t>::max()) >> shift))
        return Error::make("invalid size \"", s, "\": too large");
    return std::optional<int64_t>{static_cast<int64_t>(n << shift)};
}

Status validateLimits(const Limits& l) {
    // memory.limit_in_bytes below a few pages cannot even hold an init.
    TRY(inRange<int64_t>("--ram", l.ram, 4 << 20, std::numeric_limits<int64_t>::max() / 2));
    TRY(inRange<int64_t>("--swap", l.swap, 0, std::numeric_limits<int64_t>::max() / 2));
    if (l.swap && !l.ram) return Error::make("--swap needs --ram (the limit is ram + swap, as vzctl's)");
    TRY(inRange("--cpus", l.cpus, 1, 4096));
    TRY(inRange("--cpulimit", l.cpulimit, 1, 409600));
    TRY(inRange("--cpuunits", l.cpuunits, 8, 500000));
    TRY(inRange<int64_t>("--pids", l.pids, 1, 4194304));
    TRY(inRange("--ioweight", l.ioweight, 10, 1000));
    TRY(inRange<int64_t>("--diskspace", l.diskspace, 1 << 20, std::numeric_limits<int64_t>::max() / 2));
    TRY(inRange<int64_t>("--diskinodes", l.diskinodes, 1, std::numeric_limits<int64_t>::max() / 2));
    return {};
}

Status validateHostnameOption(const std::string& h) {
    if (h.empty()) return {};  // the template's own
    TRY_CTX(validateHostname(h), "--hostname");
    return {};
}

Status validateNetwork(const Network& n) {
    std::set<std::string> seen;
    for (const auto& ip : n.ips) {
        TRY(validateCidr(ip));
        if (!seen.insert(ip.substr(0, ip.find('/'))).second)
            return Error::make("--ip \"", ip, "\": given twice");
    }
    for (const auto& ns : n.nameservers)
        if (!validIp(ns)) return Error::make("--nameserver \"", ns, "\": not an IPv4 or IPv6 address");
    for (const auto& d : n.searchdomains) {
        auto st = validateDomain(d);
        if (!st) return Error::make("--searchdomain \"", d, "\": not a domain name");
    }
    return {};
}

Status validateUserPasswd(const std::string& s) {
    auto up = parseUserPassword(s);
    if (!up) return std::move(up).error();
    return {};
}

Status validate(const Config& c) {
    if (c.version != kConfigVersion)
        return Error::make("version ", c.version, " is not supported (this berth reads version ", kConfigVersion, ")");
    TRY(validateName(c.name));
    if (c.templateName.empty()) return Error::make("template: missing");
    TRY(validateHostnameOption(c.hostname));
    TRY(validateLimits(c.limits));
    TRY(validateNetwork(c.network));
    if (c.init.path.empty() || c.init.path[0] != '/') return Error::make("init.path: must be an absolute path");
    if (c.init.stopSignal.empty()) return Error::make("init.stopSignal: missing");
    if (c.ids.size == 0 || c.ids.base == 0) return Error::make("idmap: missing or zero");
    if (uint64_t{c.ids.base} + c.ids.size > (uint64_t{1} << 32) - 1)
        return Error::make("idmap: range beyond the 32-bit id space");
    return {};
}

namespace {

template <typename T>
void putOpt(nlohmann::ordered_json& j, const char* key, const std::optional<T>& v) {
    if (v) j[key] = *v;
}

}  // namespace

nlohmann::ordered_json toJson(const Config& c) {
    using ojson = nlohmann::ordered_json;
    ojson limits = ojson::object();
    putOpt(limits, "ram", c.limits.ram);
    putOpt(limits, "swap", c.limits.swap);
    putOpt(limits, "cpus", c.limits.cpus);
    putOpt(limits, "cpulimit", c.limits.cpulimit);
    putOpt(limits, "cpuunits", c.limits.cpuunits);
    putOpt(limits, "pids", c.limits.pids);
    putOpt(limits, "ioweight", c.limits.ioweight);
    putOpt(limits, "diskspace", c.limits.diskspace);
    putOpt(limits, "diskinodes", c.limits.diskinodes);
    return ojson{
        {"version", c.version},
        {"name", c.name},
        {"template", {{"name", c.templateName}, {"digest", c.templateDigest}}},
        {"hostname", c.hostname},
        {"onboot", c.onboot},
        {"limits", limits},
        {"network",
         {{"ips", c.network.ips}, {"nameservers", c.network.nameservers}, {"searchdomains", c.network.searchdomains}}},
        {"init", {{"path", c.init.path}, {"kind", c.init.kind}, {"stopSignal", c.init.stopSignal}}},
        {"idmap", {{"base", c.ids.base}, {"size", c.ids.size}}},
    };
}

namespace {

// Strict reading: an unknown key is a hand-edit typo, a wrong type an error naming the key.
struct Reader {
    const json& obj;
    std::string path;

    Status onlyKeys(std::initializer_list<const char*> keys) const {
        if (!obj.is_object()) return Error::make(path.empty() ? "document" : path, ": expected an object");
        for (auto it = obj.begin(); it != obj.end(); ++it) {
            bool known = false;
            for (const char* k : keys) known |= it.key() == k;
            if (!known) return Error::make(at(it.key()), ": unknown field");
        }
        return {};
    }
    std::string at(const std::string& k) const { return path.empty() ? k : path + "." + k; }

    template <typename T>
    Status get(const char* key, T& out, bool required = false) const {
        auto it = obj.find(key);
        if (it == obj.end()) {
            if (required) return Error::make(at(key), ": missing");
            return {};
        }
        try {
            out = it->get<T>();
        } catch (const json::exception&) {
            return Error::make(at(key), ": wrong type");
        }
        return {};
    }
    template <typename T>
    Status opt(const char* key, std::optional<T>& out) const {
        if (!obj.contains(key)) return {};
        T v{};
        TRY(get(key, v));
        out = v;
        return {};
    }
    Result<Reader> sub(const char* key) const {
        auto it = obj.find(key);
        if (it == obj.end() || !it->is_object()) return Error::make(at(key), ": missing or not an object");
        return Reader{*it, at(key)};
    }
};

Status readLimits(const Reader& r, Limits& l) {
    TRY(r.onlyKeys({"ram", "swap", "cpus", "cpulimit", "cpuunits", "pids", "ioweight", "diskspace", "diskinodes"}));
    TRY(r.opt("ram", l.ram));
    TRY(r.opt("swap", l.swap));
    TRY(r.opt("cpus", l.cpus));
    TRY(r.opt("cpulimit", l.cpulimit));
    TRY(r.opt("cpuunits", l.cpuunits));
    TRY(r.opt("pids", l.pids));
    TRY(r.opt("ioweight", l.ioweight));
    TRY(r.opt("diskspace", l.diskspace));
    TRY(r.opt("diskinodes", l.diskinodes));
    return {};
}

Status readConfig(const json& j, Config& c) {
    Reader r{j, ""};
    TRY(r.onlyKeys({"version", "name", "template", "hostname", "onboot", "limits", "network", "userpasswd",
                    "init", "idmap"}));
    TRY(r.get("version", c.version, true));
    if (c.version != kConfigVersion)
        return Error::make("version ", c.version, " is not supported (this berth reads version ", kConfigVersion, ")");
    TRY(r.get("name", c.name, true));
    ASSIGN_OR_RETURN(Reader t, r.sub("template"));
    TRY(t.onlyKeys({"name", "digest"}));
    TRY(t.get("name", c.templateName, true));
    TRY(t.get("digest", c.templateDigest, true));
    TRY(r.get("hostname", c.hostname));
    TRY(r.get("onboot", c.onboot));
    ASSIGN_OR_RETURN(Reader l, r.sub("limits"));
    TRY(readLimits(l, c.limits));
    ASSIGN_OR_RETURN(Reader n, r.sub("network"));
    TRY(n.onlyKeys({"ips", "nameservers", "searchdomains"}));
    TRY(n.get("ips", c.network.ips));
    TRY(n.get("nameservers", c.network.nameservers));
    TRY(n.get("searchdomains", c.network.searchdomains));
    // An older berth kept pending --userpasswd entries here: accepted, dropped, never written back.
    std::vector<std::string> oldPasswords;
    TRY(r.get("userpasswd", oldPasswords));
    ASSIGN_OR_RETURN(Reader i, r.sub("init"));
    TRY(i.onlyKeys({"path", "kind", "stopSignal"}));
    TRY(i.get("path", c.init.path, true));
    TRY(i.get("kind", c.init.kind));
    TRY(i.get("stopSignal", c.init.stopSignal, true));
    ASSIGN_OR_RETURN(Reader m, r.sub("idmap"));
    TRY(m.onlyKeys({"base", "size"}));
    TRY(m.get("base", c.ids.base, true));
    TRY(m.get("size", c.ids.size, true));
    return {};
}

}  // namespace

Result<Config> fromJson(const json& j) {
    Config c;
    TRY(readConfig(j, c));
    TRY(validate(c));
    return c;
}

Result<Config> parseConfig(const std::string& text, const std::string& source) {
    ASSIGN_OR_RETURN(json j, parseJson(text, source));
    auto c = fromJson(j);
    if (!c) return Error::make(source, ": ", c.error().message());
    return c;
}

}  // namespace berth::vps
