// The guest side of the spec's non-bind mounts (vm/wire/guest_mounts): each filesystem mounted
// by the guest kernel at its destination in the rootfs, in spec order, with the spec's options
// read by berth's namespaces library as on the native path. Destinations are resolved inside
// the rootfs (namespaces::RootDir): a symlink in the image cannot send a mount out of it.
#include <sys/mount.h>

#include "common/fs.hpp"
#include "namespaces/mount.hpp"
#include "namespaces/rootfs_path.hpp"
#include "vm/agent/agent.hpp"

namespace berth::vm::agent {
namespace {

bool hasData(const std::string& data, const std::string& key) {
    for (const auto& o : fs::split(data, ','))
        if (o == key || o.rfind(key + "=", 0) == 0) return true;
    return false;
}

// What the guest needs on top of the spec's options: a devpts of the container's own whose ptmx
// the agent can open (the workload's pty comes from it), and a /dev/shm anyone may write to.
std::string dataFor(const wire::GuestFsMount& m, std::string data) {
    auto add = [&](const std::string& opt) {
        if (!hasData(data, opt.substr(0, opt.find('=')))) data += (data.empty() ? "" : ",") + opt;
    };
    if (m.type == "devpts") {
        add("newinstance");
        add("ptmxmode=0666");
    }
    if (m.type == "tmpfs" && m.destination == "/dev/shm") add("mode=1777");
    return data;
}

}  // namespace

Status mountFilesystems(const std::vector<wire::GuestFsMount>& mounts, const std::string& rootfs) {
    if (mounts.empty()) return {};
    ASSIGN_OR_RETURN(namespaces::RootDir root, namespaces::RootDir::open(rootfs));
    for (const auto& m : mounts) {
        namespaces::MountOptions o = namespaces::parseMountOptions(m.options);
        auto at = root.resolve(m.destination, namespaces::Create::Directory);
        if (!at) return std::move(at.error().context("mount ", m.type, " on ", m.destination));
        std::string target = strCat("/proc/self/fd/", at->get());
        std::string data = dataFor(m, o.data);
        if (::mount(m.source.c_str(), target.c_str(), m.type.c_str(), o.flags, data.empty() ? nullptr : data.c_str()) < 0)
            return Error::fromErrno("mount ", m.type, " on ", m.destination, data.empty() ? "" : " (" + data + ")");
        for (unsigned long p : o.propagationSteps)
            if (::mount(nullptr, target.c_str(), nullptr, p, nullptr) < 0)
                return Error::fromErrno("set the propagation of ", m.destination);
    }
    return {};
}

}  // namespace berth::vm::agent
