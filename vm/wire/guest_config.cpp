#include "vm/wire/guest_config.hpp"

#include "common/json.hpp"

namespace berth::vm::wire {
namespace {

nlohmann::json nicsToJson(const std::vector<GuestNic>& nics) {
    nlohmann::json out = nlohmann::json::array();
    for (auto& n : nics) {
        nlohmann::json routes = nlohmann::json::array();
        for (auto& r : n.routes) routes.push_back({{"dst", r.dst}, {"gateway", r.gateway}});
        out.push_back({{"name", n.name}, {"mac", n.mac}, {"mtu", n.mtu}, {"addresses", n.addresses}, {"routes", routes}});
    }
    return out;
}

std::vector<GuestNic> nicsFromJson(const nlohmann::json& j) {  // throws on type mismatches
    std::vector<GuestNic> out;
    if (j.is_null()) return out;
    for (auto& n : j) {
        GuestNic nic;
        nic.name = n.at("name").get<std::string>();
        nic.mac = n.at("mac").get<std::string>();
        nic.mtu = n.value("mtu", 1500);
        nic.addresses = n.value("addresses", std::vector<std::string>{});
        for (auto& r : n.value("routes", nlohmann::json::array()))
            nic.routes.push_back({r.at("dst").get<std::string>(), r.value("gateway", std::string())});
        out.push_back(std::move(nic));
    }
    return out;
}

}  // namespace

std::string toJson(const GuestProcess& p) {
    nlohmann::json j = {{"process", runtime::spec::processToJson(p.process)},
                        {"seccomp", p.seccomp},
                        {"hostname", p.hostname},
                        {"maskedPaths", p.maskedPaths},
                        {"readonlyPaths", p.readonlyPaths},
                        {"readonlyRoot", p.readonlyRoot},
                        {"dropLostFound", p.dropLostFound},
                        {"nics", nicsToJson(p.nics)},
                        {"mounts", toJson(p.mounts)},
                        {"member", p.member},
                        {"sandboxPidNs", p.sandboxPidNs},
                        {"keyring", p.keyring},
                        {"filesystems", toJson(p.filesystems)},
                        {"devices", toJson(p.devices)},
                        {"sysctl", p.sysctl}};
    if (!p.resources.is_null()) j["resources"] = p.resources;
    return j.dump();
}

Result<GuestProcess> guestProcessFromJson(const std::string& text) {
    // nlohmann throws on type mismatches: the edge where that becomes an Error.
    ASSIGN_OR_RETURN(nlohmann::json j, parseJson(text, "guest config"));
    try {
        GuestProcess p;
        ASSIGN_OR_RETURN(p.process, runtime::spec::parseProcessValue(j.at("process"), "guest config"));
        p.seccomp = j.value("seccomp", nlohmann::json());
        if (!p.seccomp.is_null() && !p.seccomp.is_object())
            return Error(EINVAL, "guest config: seccomp must be an object");
        p.hostname = j.value("hostname", std::string());
        p.maskedPaths = j.value("maskedPaths", std::vector<std::string>{});
        p.readonlyPaths = j.value("readonlyPaths", std::vector<std::string>{});
        p.readonlyRoot = j.value("readonlyRoot", false);
        p.dropLostFound = j.value("dropLostFound", false);
        p.nics = nicsFromJson(j.value("nics", nlohmann::json()));
        ASSIGN_OR_RETURN(p.mounts, guestMountsFromJson(j.value("mounts", nlohmann::json())));
        ASSIGN_OR_RETURN(p.filesystems, guestFsMountsFromJson(j.value("filesystems", nlohmann::json())));
        ASSIGN_OR_RETURN(p.devices, guestDevicesFromJson(j.value("devices", nlohmann::json())));
        p.sysctl = j.value("sysctl", std::map<std::string, std::string>{});
        p.resources = j.value("resources", nlohmann::json());
        p.member = j.value("member", std::string());
        p.sandboxPidNs = j.value("sandboxPidNs", false);
        p.keyring = j.value("keyring", std::string());
        if (p.member.find('/') != std::string::npos || p.member == "." || p.member == "..")
            return Error(EINVAL, strCat("guest config: member \"", p.member, "\" is not a directory name"));
        return p;
    } catch (const std::exception& e) {
        return Error(EINVAL, strCat("guest config: ", e.what()));
    }
}

}  // namespace berth::vm::wire
