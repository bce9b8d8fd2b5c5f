#include "vm-shim/guest_config.hpp"

#include <nlohmann/json.hpp>

namespace berth::vm {

std::string toJson(const GuestProcess& p) {
    nlohmann::json rl = nlohmann::json::array();
    for (auto& r : p.rlimits) rl.push_back({{"type", r.type}, {"soft", r.soft}, {"hard", r.hard}});
    nlohmann::json j = {{"args", p.args},       {"env", p.env},
                        {"cwd", p.cwd},         {"uid", p.uid},
                        {"gid", p.gid},         {"additionalGids", p.additionalGids},
                        {"hostname", p.hostname}, {"rlimits", rl},
                        {"readonlyRoot", p.readonlyRoot}, {"noNewPrivileges", p.noNewPrivileges}, {"dropLostFound", p.dropLostFound},
                        {"terminal", p.terminal}, {"rows", p.rows}, {"cols", p.cols}};
    return j.dump();
}

Result<GuestProcess> guestProcessFromJson(const std::string& text) {
    // nlohmann throws on type mismatches: the edge where that becomes an Error.
    try {
        auto j = nlohmann::json::parse(text);
        GuestProcess p;
        p.args = j.at("args").get<std::vector<std::string>>();
        p.env = j.value("env", std::vector<std::string>{});
        p.cwd = j.value("cwd", std::string("/"));
        p.uid = j.value("uid", 0u);
        p.gid = j.value("gid", 0u);
        p.additionalGids = j.value("additionalGids", std::vector<uint32_t>{});
        p.hostname = j.value("hostname", std::string());
        for (auto& r : j.value("rlimits", nlohmann::json::array()))
            p.rlimits.push_back({r.at("type").get<std::string>(), r.at("soft").get<uint64_t>(),
                                 r.at("hard").get<uint64_t>()});
        p.readonlyRoot = j.value("readonlyRoot", false);
        p.noNewPrivileges = j.value("noNewPrivileges", false);
        p.dropLostFound = j.value("dropLostFound", false);
        p.terminal = j.value("terminal", false);
        for (auto [key, field] : {std::pair{"rows", &p.rows}, std::pair{"cols", &p.cols}}) {
            uint32_t v = j.value(key, 0u);
            if (v > 0xffff) return Error(EINVAL, strCat("guest config: ", key, " ", v, " is out of range"));
            *field = static_cast<uint16_t>(v);
        }
        if (p.args.empty()) return Error(EINVAL, "guest config: args must not be empty");
        return p;
    } catch (const std::exception& e) {
        return Error(EINVAL, strCat("guest config: ", e.what()));
    }
}

}  // namespace berth::vm
