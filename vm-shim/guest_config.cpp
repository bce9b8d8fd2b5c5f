#include "vm-shim/guest_config.hpp"

#include "common/json.hpp"

namespace berth::vm {

std::string toJson(const GuestProcess& p) {
    nlohmann::json j = {{"process", spec::processToJson(p.process)},
                        {"seccomp", p.seccomp},
                        {"hostname", p.hostname},
                        {"maskedPaths", p.maskedPaths},
                        {"readonlyPaths", p.readonlyPaths},
                        {"readonlyRoot", p.readonlyRoot},
                        {"dropLostFound", p.dropLostFound},
                        {"mounts", toJson(p.mounts)}};
    return j.dump();
}

Result<GuestProcess> guestProcessFromJson(const std::string& text) {
    // nlohmann throws on type mismatches: the edge where that becomes an Error.
    ASSIGN_OR_RETURN(nlohmann::json j, parseJson(text, "guest config"));
    try {
        GuestProcess p;
        ASSIGN_OR_RETURN(p.process, spec::parseProcess(j.at("process").dump(), "guest config"));
        p.seccomp = j.value("seccomp", nlohmann::json());
        if (!p.seccomp.is_null() && !p.seccomp.is_object())
            return Error(EINVAL, "guest config: seccomp must be an object");
        p.hostname = j.value("hostname", std::string());
        p.maskedPaths = j.value("maskedPaths", std::vector<std::string>{});
        p.readonlyPaths = j.value("readonlyPaths", std::vector<std::string>{});
        p.readonlyRoot = j.value("readonlyRoot", false);
        p.dropLostFound = j.value("dropLostFound", false);
        ASSIGN_OR_RETURN(p.mounts, guestMountsFromJson(j.value("mounts", nlohmann::json())));
        return p;
    } catch (const std::exception& e) {
        return Error(EINVAL, strCat("guest config: ", e.what()));
    }
}

}  // namespace berth::vm
