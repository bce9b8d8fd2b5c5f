// vps/host_net_conf: parsing network.conf.
#include "vps/host_net_conf.hpp"

#include <cctype>
#include <cstdlib>
#include <sstream>

#include "common/fs.hpp"

namespace berth::vps {
namespace {

std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t\r");
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

std::vector<std::string> words(const std::string& s) {
    std::istringstream in(s);
    std::vector<std::string> out;
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

Status setKey(HostNetworkConf& c, const std::string& key, const std::string& value) {
    if (key == "BRIDGE") {
        if (value.size() >= 16 || value.find_first_of("/: \t") != std::string::npos)
            return Error::make("BRIDGE \"", value, "\": not an interface name (1..15 characters, no / or :)");
        c.bridge = value;
    } else if (key == "BRIDGE_ADDRESSES") {
        ASSIGN_OR_RETURN(c.bridgeAddresses, parseIpPrefixes(words(value)));
    } else if (key == "GATEWAY") {
        TRY(gatewaysByFamily(words(value), "GATEWAY", c.gateway4, c.gateway6));
    } else if (key == "MTU") {
        char* end = nullptr;
        unsigned long v = value.empty() ? 0 : std::strtoul(value.c_str(), &end, 10);
        if (!value.empty() && (*end || v < 576 || v > 65535))
            return Error::make("MTU \"", value, "\": must be 576..65535");
        c.mtu = static_cast<uint32_t>(v);
    } else {
        return Error::make("unknown key \"", key, "\" (BRIDGE, BRIDGE_ADDRESSES, GATEWAY, MTU)");
    }
    return {};
}

}  // namespace

Status gatewaysByFamily(const std::vector<std::string>& texts, const std::string& what,
                        std::optional<IpAddress>& v4, std::optional<IpAddress>& v6) {
    v4.reset();
    v6.reset();
    for (const auto& t : texts) {
        auto a = parseIpAddress(t);
        if (!a) return Error::make(what, " \"", t, "\": not an IPv4 or IPv6 address");
        auto& slot = a->family == AF_INET ? v4 : v6;
        if (slot)
            return Error::make(what, ": two ", a->family == AF_INET ? "IPv4" : "IPv6",
                               " gateways (", slot->str(), ", ", t, "); give one per family");
        slot = *a;
    }
    return {};
}

Result<HostNetworkConf> parseHostNetworkConf(const std::string& text, const std::string& source) {
    HostNetworkConf c;
    std::istringstream in(text);
    int lineNo = 0;
    for (std::string line; std::getline(in, line);) {
        lineNo++;
        line = trim(line);
        if (line.empty() || line[0] == '#') continue;
        auto eq = line.find('=');
        auto bad = [&](const std::string& why) {
            return Error(EINVAL, strCat(source, ":", lineNo, ": ", why)).hideErrno();
        };
        if (eq == std::string::npos || eq == 0) return bad("expected KEY=value");
        std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
        if (value.size() >= 2 && (value[0] == '"' || value[0] == '\'')) {
            if (value.back() != value[0]) return bad("unterminated quote");
            value = value.substr(1, value.size() - 2);
        }
        auto st = setKey(c, key, trim(value));
        if (!st) return bad(st.error().message());
    }
    return c;
}

Result<HostNetworkConf> loadHostNetworkConf(const std::string& configDir) {
    std::string path = fs::joinPath(configDir, kHostNetworkConfFile);
    HostNetworkConf c;
    if (fs::exists(path)) {
        ASSIGN_OR_RETURN(std::string text, fs::readFile(path));
        ASSIGN_OR_RETURN(c, parseHostNetworkConf(text, path));
    }
    if (const char* b = std::getenv("BERTH_VPS_BRIDGE"); b && *b) c.bridge = b;
    return c;
}

}  // namespace berth::vps
