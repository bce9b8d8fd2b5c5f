#include "runtime/container.hpp"

#include <unistd.h>

#include "common/clock.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "images/bundle.hpp"
#include "runtime/handler.hpp"
#include "runtime/hooks/hooks.hpp"

namespace berth::runtime {
namespace {

namespaces::CgroupView cgroupViewFor(const spec::Spec& s, const cgroups::Manager* cg) {
    namespaces::CgroupView v;
    v.cgroupNamespace = s.linux->findNamespace("cgroup") != nullptr;
    if (!cg) return v;
    auto paths = cg->paths();
    const auto& layout = cg->layout();
    v.unified = layout.layout == cgroups::Layout::Unified;
    for (auto& h : layout.hierarchies) {
        auto it = paths.find(h.mountPoint);
        if (it == paths.end()) continue;
        if (h.v2) {
            if (v.unified) v.v2HostPath = it->second;
            continue;  // hybrid: containers see the v1 hierarchies, as with runc
        }
        std::string name = h.mountPoint.substr(h.mountPoint.rfind('/') + 1);
        std::string opts;
        for (auto& c : h.controllers) opts += (opts.empty() ? "" : ",") + c;
        v.v1.push_back({name, it->second, opts});
        if (h.controllers.size() > 1)
            for (auto& c : h.controllers)
                if (c != name) v.symlinks.push_back({c, name});
    }
    return v;
}

std::vector<namespaces::IdMap> toIdMaps(const std::vector<spec::IdMapping>& m) {
    std::vector<namespaces::IdMap> out;
    for (auto& x : m) out.push_back({x.containerID, x.hostID, x.size});
    return out;
}

}  // namespace

namespaces::RootfsConfig rootfsConfigFor(const spec::Spec& s, const std::string& bundle,
                                         const cgroups::Manager* cg, bool noPivot) {
    namespaces::RootfsConfig r;
    r.rootfs = s.root.path;
    r.readonly = s.root.readonly;
    const spec::Linux& lx = *s.linux;
    r.rootfsPropagation = lx.rootfsPropagation;
    const bool newUserns = lx.findNamespace("user") && lx.findNamespace("user")->path.empty();
    for (auto& m : s.mounts) {
        namespaces::MountEntry e{m.destination, m.type, m.source, m.options,
                                 toIdMaps(m.uidMappings), toIdMaps(m.gidMappings)};
        bool bind = m.type == "bind", idmap = false;
        for (auto& o : m.options) {
            if (o == "bind" || o == "rbind") bind = true;
            if (o == "idmap" || o == "ridmap") idmap = true;
        }
        // Relative bind sources are relative to the bundle, as with runc.
        if (bind && !e.source.empty() && e.source[0] != '/') e.source = fs::joinPath(bundle, e.source);
        // idmap/ridmap without mappings take the container's own (runtime-spec 1.2, runc).
        if (idmap && e.uidMappings.empty() && e.gidMappings.empty() && newUserns) {
            e.uidMappings = toIdMaps(lx.uidMappings);
            e.gidMappings = toIdMaps(lx.gidMappings);
        }
        r.mounts.push_back(std::move(e));
    }
    for (auto& d : lx.devices) {
        namespaces::DeviceEntry e;
        e.type = d.type.empty() ? 'c' : d.type[0];
        e.path = d.path;
        e.major = d.major;
        e.minor = d.minor;
        e.fileMode = d.fileMode.value_or(0666);
        e.uid = d.uid.value_or(0);
        e.gid = d.gid.value_or(0);
        r.devices.push_back(e);
    }
    r.userNamespace = lx.findNamespace("user") != nullptr;
    r.netNamespace = lx.findNamespace("network") != nullptr;
    r.mountNamespace = lx.findNamespace("mount") != nullptr;
    r.maskedPaths = lx.maskedPaths;
    r.readonlyPaths = lx.readonlyPaths;
    r.noPivot = noPivot;
    r.mountLabel = lx.mountLabel;
    r.cgroups = cgroupViewFor(s, cg);
    return r;
}

Result<state::ContainerState> newRecord(const CreateOptions& o, const std::string& bundle, const spec::Spec& sp) {
    state::ContainerState st;
    st.id = o.id;
    st.bundle = bundle;
    st.rootfs = sp.root.path;
    st.created = rfc3339Now();
    st.annotations = sp.annotations;
    st.creatorPid = ::getpid();
    st.creatorStartTime = state::processStartTime(st.creatorPid);
    st.imageBundle = o.imageBundle;
    // st.config: createContainer moves the validated document in (not a second read: the file
    // may have changed since it was validated).
    return st;
}

Status destroyContainer(const state::Store& store, const state::ContainerState& s) {
    Status first;
    auto keep = [&](Status st) {
        if (!st && first.ok()) first = std::move(st);
    };
    auto h = handlerOf(s);
    if (h) keep((*h)->destroy({s, store.dir(s.id), store.liveStatus(s)}));
    else keep(std::move(h).error());
    keep(store.remove(s.id));
    // Only the dir run --image made for this very container: the path is derived, not trusted.
    if (!s.imageBundle.empty() && s.imageBundle == imageBundleDir(store.root(), s.id))
        keep(images::removeBundle(s.imageBundle));
    auto hooks = spec::hooksOfConfig(s.config, "state");
    if (hooks && !hooks->poststop.empty())
        hooks::runAllLogging(hooks->poststop, hookStateJson(s, "stopped", 0), "poststop");
    return first;
}

}  // namespace berth::runtime
