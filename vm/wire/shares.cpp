#include "vm/wire/shares.hpp"

#include <sys/stat.h>

#include <algorithm>

#include "common/fs.hpp"

namespace berth::vm::wire {
namespace {

bool hasOption(const runtime::spec::Mount& m, const char* opt) {
    return std::find(m.options.begin(), m.options.end(), opt) != m.options.end();
}

// The guest mounts its own proc, sysfs, devtmpfs, devpts and /dev/shm (podman binds a host
// tmpfs there; shared memory across a 9p share would not be shared memory).
bool guestProvides(const std::string& dst) {
    std::string d = fs::cleanPath(dst);
    for (const char* p : {"/proc", "/sys", "/dev"})
        if (d == p || d.rfind(std::string(p) + "/", 0) == 0) return true;
    return false;
}

}  // namespace

bool isBindMount(const runtime::spec::Mount& m) {
    return m.type == "bind" || hasOption(m, "bind") || hasOption(m, "rbind");
}

Result<SharePlan> planShares(const std::vector<runtime::spec::Mount>& mounts, const std::string& bundle) {
    SharePlan plan;
    for (const auto& m : mounts) {
        if (!isBindMount(m) || guestProvides(m.destination)) continue;
        struct stat st;
        std::string source = m.source.empty() || m.source[0] == '/' ? m.source : fs::joinPath(bundle, m.source);
        if (source.empty() || ::stat(source.c_str(), &st) < 0)
            return Error::fromErrno("bind mount source ", m.source, " (for ", m.destination, ")");
        GuestMount g;
        g.destination = fs::cleanPath(m.destination);
        g.readonly = hasOption(m, "ro");
        for (const auto& o : m.options)
            if (o != "bind" && o != "rbind") g.options.push_back(o);
        std::string dir = fs::cleanPath(source);
        if (S_ISREG(st.st_mode)) {
            g.file = dir.substr(dir.rfind('/') + 1);
            dir = dir.substr(0, dir.rfind('/'));
            if (dir.empty()) dir = std::string(1, '/');  // (= "/" trips g++ 12 -Wrestrict)
        } else if (!S_ISDIR(st.st_mode)) {
            return Error(ENOTSUP, strCat("bind mount source ", m.source, " (for ", m.destination,
                                         "): only directories and regular files reach a VM")).hideErrno();
        }
        auto it = std::find_if(plan.shares.begin(), plan.shares.end(), [&](const Share& s) { return s.hostDir == dir; });
        if (it == plan.shares.end()) {
            plan.shares.push_back({strCat("b", plan.shares.size()), dir, g.readonly});
            it = plan.shares.end() - 1;
        }
        it->readonly = it->readonly && g.readonly;
        g.tag = it->tag;
        plan.mounts.push_back(g);
    }
    return plan;
}

nlohmann::json toJson(const std::vector<GuestMount>& mounts) {
    nlohmann::json a = nlohmann::json::array();
    for (auto& m : mounts) {
        nlohmann::json e = {{"tag", m.tag}, {"file", m.file}, {"destination", m.destination}, {"readonly", m.readonly}};
        if (!m.options.empty()) e["options"] = m.options;
        a.push_back(std::move(e));
    }
    return a;
}

Result<std::vector<GuestMount>> guestMountsFromJson(const nlohmann::json& j) {
    std::vector<GuestMount> out;
    if (j.is_null()) return out;
    if (!j.is_array()) return Error(EINVAL, "guest config: mounts must be an array");
    for (auto& e : j) {
        if (!e.is_object()) return Error(EINVAL, "guest config: a mount must be an object");
        GuestMount m{e.value("tag", std::string()), e.value("file", std::string()),
                     e.value("destination", std::string()), e.value("readonly", false), {}};
        if (auto o = e.find("options"); o != e.end()) {
            if (!o->is_array()) return Error(EINVAL, strCat("guest config: bad mount options ", o->dump()));
            for (const auto& opt : *o) {
                if (!opt.is_string()) return Error(EINVAL, strCat("guest config: bad mount option ", opt.dump()));
                m.options.push_back(opt.get<std::string>());
            }
        }
        // The file name is joined to the share's mount point: no way out of it.
        if (m.tag.empty() || m.destination.empty() || fs::cleanPath(m.destination) != m.destination ||
            m.file.find('/') != std::string::npos || m.file == "." || m.file == "..")
            return Error(EINVAL, strCat("guest config: bad mount ", e.dump()));
        out.push_back(m);
    }
    return out;
}

}  // namespace berth::vm::wire
