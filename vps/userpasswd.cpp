// vps/userpasswd: --userpasswd on create and set — applied to the VPS's files at once, running
// or stopped (its rootfs mounted for the edit), never stored (vzctl does not keep it either).
#include <memory>

#include "vps/guest_users.hpp"
#include "vps/host_setup.hpp"
#include "vps/internal.hpp"

namespace berth::vps {

Status applyUserPasswords(const Config& c, const DataLayout& d,
                          const std::vector<std::string>& lowers,
                          const std::vector<std::string>& entries, bool running) {
    if (entries.empty()) return {};
    auto edit = [&]() -> Status {
        for (const auto& e : entries)
            TRY_CTX(applyUserPassword(d.rootfs(), e, static_cast<uid_t>(c.ids.base)),
                    "--userpasswd");
        return {};
    };
    if (running) return edit();
    // Stopped: the disk quota and the rootfs steps mount what the VPS would see, then undo it.
    std::vector<std::unique_ptr<HostStep>> mounts;
    for (auto& s : hostSteps(c)) {
        std::string n = s->name();
        if (n == "disk quota" || n == "rootfs") mounts.push_back(std::move(s));
    }
    StepContext sc{c, d, lowers};
    nlohmann::json unused;
    size_t prepared = 0;
    ScopeGuard undo([&] {
        while (prepared > 0) (void)mounts[--prepared]->stopped(sc);
    });
    for (auto& s : mounts) {
        prepared++;
        TRY_CTX(s->prepare(sc, unused), "--userpasswd: ", s->name());
    }
    TRY(edit());
    undo.dismiss();
    while (prepared > 0) TRY(mounts[--prepared]->stopped(sc));
    return {};
}

}  // namespace berth::vps
