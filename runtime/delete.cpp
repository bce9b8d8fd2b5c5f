// delete: remove a stopped (or, with --force, any) container: processes, cgroup, state, and
// then poststop hooks. Also cleans a container left half-created by a killed runtime.
#include "runtime/container.hpp"
#include "common/fs.hpp"

namespace berth::runtime {

Status remove(const GlobalOptions& g, const DeleteOptions& o) {
    state::Store store(g.root);
    auto lock = store.lock(o.id);
    if (!lock) {
        // As runc: forcing the delete of a container that is already gone is not an error
        // (podman and containerd call `delete --force` after a container may have been removed).
        if (o.force && lock.error().err() == ENOENT && state::validateId(o.id).ok()) return {};
        return std::move(lock).error();
    }
    auto st = store.loadWithHooksOnly(o.id);
    if (!st) {
        // The directory exists but its record was never written or is unreadable: a runtime
        // died before saving anything we could act on.
        if (!o.force) return std::move(st).error().context("delete (use --force to remove it)");
        return store.remove(o.id);
    }
    auto live = store.liveStatus(*st);
    using CS = state::ContainerStatus;
    if (!o.force && (live == CS::Running || live == CS::Paused || live == CS::Creating))
        return Error::make("cannot delete container \"", o.id, "\" that is not stopped: ",
                           state::statusName(live));
    return destroyContainer(store, *st);
}

}  // namespace berth::runtime
