// The container's cgroup in the guest: berth's cgroup2 manager (cgroups/v2) on the guest kernel's
// cgroup2, which both Debian kernels build in with the memory, cpu, cpuset and pids controllers.
// Guest RAM is sized at boot (memory.limit + kGuestOverheadMiB): the cgroup enforces the limit
// inside it, and an update may move it anywhere below what the RAM was sized for.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>

#include "cgroups/v2/manager.hpp"
#include "common/fs.hpp"
#include "common/unique_fd.hpp"
#include "vm/agent/agent.hpp"
#include "vm/agent/guest_ops.hpp"
#include "vm/wire/guest_ops.hpp"

namespace berth::vm::agent {
namespace {

constexpr const char* kCgroupRoot = "/sys/fs/cgroup";
// The VM's one container (a pod VM would key them by container id).
constexpr const char* kContainerCgroup = "/sys/fs/cgroup/berth/container";

struct GuestCgroup {
    std::unique_ptr<cgroups::Manager> manager;
    uint64_t memoryCeiling = 0;
};

GuestCgroup& guestCgroup() {
    static GuestCgroup g;
    return g;
}

}  // namespace

Status setupGuestCgroup(const nlohmann::json& resources) {
    ::mkdir(kCgroupRoot, 0755);
    if (::mount("cgroup2", kCgroupRoot, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0 && errno != EBUSY)
        return Error::fromErrno("mount cgroup2 on ", kCgroupRoot, " in the guest");
    ASSIGN_OR_RETURN(auto m, cgroups::v2::newManager(kCgroupRoot, kContainerCgroup));
    TRY_CTX(m->create(), "the container's cgroup in the guest");
    TRY_CTX(m->apply(wire::guestResources(resources, true)), "the container's limits in the guest");
    guestCgroup().manager = std::move(m);
    guestCgroup().memoryCeiling = wire::guestMemoryCeiling(resources);
    return {};
}

Status enterContainerCgroup(pid_t workload) {
    if (!guestCgroup().manager) return {};
    TRY_CTX(fs::writeFile(std::string(kContainerCgroup) + "/cgroup.procs", "0"), "join the container's cgroup");
    if (workload == 0) {
        if (::unshare(CLONE_NEWCGROUP) < 0) return Error::fromErrno("unshare the cgroup namespace");
        return {};
    }
    UniqueFd ns(::open(strCat("/proc/", workload, "/ns/cgroup").c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns || ::setns(ns.get(), CLONE_NEWCGROUP) < 0) return Error::fromErrno("join the workload's cgroup namespace");
    return {};
}

Status mountContainerCgroup() {
    const std::string dst = "/rootfs/sys/fs/cgroup";
    if (!guestCgroup().manager || !fs::exists(dst)) return {};
    if (::mount("cgroup2", dst.c_str(), "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, nullptr) < 0)
        return Error::fromErrno("mount the container's cgroup on /sys/fs/cgroup");
    return {};
}

namespace {

Result<nlohmann::json> guestStats() {
    ASSIGN_OR_RETURN(cgroups::Stats s, guestCgroup().manager->stats());
    return nlohmann::json{{"stats", cgroups::toJson(s)}, {"oomKills", s.memory.oomKills}};
}

Result<nlohmann::json> guestUpdate(const nlohmann::json& req) {
    nlohmann::json r = wire::guestResources(req.value("resources", nlohmann::json::object()), false);
    TRY(wire::checkMemoryLimit(r, guestCgroup().memoryCeiling));
    TRY(guestCgroup().manager->apply(r));
    return nlohmann::json::object();
}

Result<std::vector<pid_t>> containerPids() {
    if (!guestCgroup().manager) return std::vector<pid_t>{};
    return guestCgroup().manager->pids();
}

}  // namespace

void answerOps(int port, const wire::proto::Frame& f) {
    auto id = wire::proto::splitExecId(f);
    if (!id) {  // no id to answer under: the host's request times out
        say("refused a request: " + id.error().message());
        return;
    }
    auto req = wire::parseOpsPayload(f);
    Result<nlohmann::json> body = Error(ENOENT, "the container has no cgroup in the guest");
    if (!req) {
        body = req.error();
    } else if (f.type == wire::proto::Type::PsRequest) {
        auto pids = containerPids();
        body = pids ? guestPs(*pids) : Result<nlohmann::json>(pids.error());
    } else if (guestCgroup().manager && f.type == wire::proto::Type::StatsRequest) {
        body = guestStats();
    } else if (guestCgroup().manager && f.type == wire::proto::Type::UpdateRequest) {
        body = guestUpdate(req->second);
    }
    nlohmann::json reply = body ? *body : nlohmann::json{{"error", body.error().what()}};
    (void)wire::proto::writeFrame(port, wire::proto::Type::OpsReply, wire::opsPayload(id->first, reply));
}

}  // namespace berth::vm::agent
