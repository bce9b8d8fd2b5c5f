// The container's cgroup in the guest: berth's cgroup2 manager (cgroups/v2) on the guest kernel's
// cgroup2, which both Debian kernels build in with the memory, cpu, cpuset and pids controllers.
// Guest RAM is sized at boot (memory.limit + kGuestOverheadMiB): the cgroup enforces the limit
// inside it, and an update may move it anywhere below what the RAM was sized for — or, on a VM
// with a balloon, below the ceiling the host gives with the request after moving the balloon.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <memory>

#include "cgroups/resources.hpp"
#include "cgroups/stats.hpp"
#include "cgroups/v2/manager.hpp"
#include "common/fs.hpp"
#include "common/unique_fd.hpp"
#include "vm/agent/agent.hpp"
#include "vm/agent/guest_ops.hpp"
#include "vm/wire/guest_ops.hpp"

namespace berth::vm::agent {
namespace {

constexpr const char* kCgroupRoot = "/sys/fs/cgroup";
constexpr const char* kContainersDir = "/sys/fs/cgroup/berth";

struct GuestCgroup {
    std::string dir;
    std::unique_ptr<cgroups::Manager> manager;
    uint64_t memoryCeiling = 0;
    uint64_t reportedOomKills = 0;  // memory.events oom_kill as last told to the host (Oom frame)
    UniqueFd events;                // memory.events, polled (POLLPRI) and read through this fd
};

// By container id; "" is the VM's one container (cgroup /container; a pod's members berth/<id>).
std::map<std::string, GuestCgroup>& guestCgroups() {
    static std::map<std::string, GuestCgroup> g;
    return g;
}

// The cgroup a request's id names: its own, or the VM's one container, which answers to the id
// the host knows it by.
GuestCgroup* findCgroup(const std::string& id) {
    auto& all = guestCgroups();
    if (auto it = all.find(id); it != all.end()) return &it->second;
    if (all.size() == 1 && all.count("")) return &all.begin()->second;
    return nullptr;
}

}  // namespace

Status setupGuestCgroup(const nlohmann::json& resources, const std::string& id) {
    if (guestCgroups().empty()) {
        ::mkdir(kCgroupRoot, 0755);
        if (::mount("cgroup2", kCgroupRoot, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0 && errno != EBUSY)
            return Error::fromErrno("mount cgroup2 on ", kCgroupRoot, " in the guest");
    }
    // The VM's own container right below the root: one level, so one `subtree_control` write
    // (each waits for an RCU grace period) and one set of controller states fewer than below
    // berth/, where a pod's members go.
    std::string dir = id.empty() ? strCat(kCgroupRoot, "/container") : strCat(kContainersDir, "/", id);
    ASSIGN_OR_RETURN(auto m, cgroups::v2::newManager(kCgroupRoot, dir));
    TRY_CTX(m->create(), "the container's cgroup in the guest");
    TRY_CTX(m->apply(wire::guestResources(resources, true)), "the container's limits in the guest");
    auto effective = [](const char* knob) {
        auto text = fs::readFile(strCat(kCgroupRoot, "/", knob));
        return text ? fs::trim(*text) : std::string();
    };
    nlohmann::json cpuset = wire::guestCpusetThatFits(resources, effective("cpuset.cpus.effective"),
                                                      effective("cpuset.mems.effective"));
    if (!cpuset.empty()) TRY_CTX(m->apply(cpuset), "the container's cpuset in the guest");
    guestCgroups()[id] = GuestCgroup{dir, std::move(m), wire::guestMemoryCeiling(resources)};
    return {};
}

nlohmann::json withGuestDeviceRules(const nlohmann::json& resources, const std::vector<runtime::spec::Device>& devices) {
    std::vector<std::string> paths;
    for (auto& d : devices) paths.push_back(d.path);
    return cgroups::withDefaultDeviceRules(resources, paths);
}

Status setupMemberCgroup(const nlohmann::json& resources, const std::string& id) {
    auto& all = guestCgroups();
    auto sandbox = all.find("");
    uint64_t ceiling = sandbox == all.end() ? 0 : sandbox->second.memoryCeiling;  // the VM's RAM is the sandbox's
    TRY(setupGuestCgroup(resources, id));
    GuestCgroup mine = std::move(all[id]);
    if (ceiling) mine.memoryCeiling = ceiling;
    all.clear();  // this process's copy of PID 1's table: from here its one container is the member
    all[""] = std::move(mine);
    return {};
}

void forgetGuestCgroupFds() {
    for (auto& [id, cg] : guestCgroups()) (void)cg.events.release();
}

void removeGuestCgroups() {
    for (auto& [id, cg] : guestCgroups()) (void)cg.manager->destroy();
    guestCgroups().clear();
}

int openContainerCgroup(const std::string& id) {
    GuestCgroup* cg = findCgroup(id);
    return cg ? ::open(cg->dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
}

Status enterContainerCgroup(pid_t workload, const std::string& id, bool placed) {
    GuestCgroup* cg = findCgroup(id);
    if (!cg) return {};
    if (!placed) TRY_CTX(fs::writeFile(cg->dir + "/cgroup.procs", "0"), "join the container's cgroup");
    if (workload == 0) {
        if (::unshare(CLONE_NEWCGROUP) < 0) return Error::fromErrno("unshare the cgroup namespace");
        return {};
    }
    UniqueFd ns(::open(strCat("/proc/", workload, "/ns/cgroup").c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns || ::setns(ns.get(), CLONE_NEWCGROUP) < 0) return Error::fromErrno("join the workload's cgroup namespace");
    return {};
}

Status mountContainerCgroup(const std::string& rootfs) {
    const std::string dst = rootfs + "/sys/fs/cgroup";
    if (guestCgroups().empty() || !fs::exists(dst)) return {};
    if (::mount("cgroup2", dst.c_str(), "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, nullptr) < 0)
        return Error::fromErrno("mount the container's cgroup on /sys/fs/cgroup");
    return {};
}

namespace {

Result<nlohmann::json> guestStats(GuestCgroup& cg) {
    ASSIGN_OR_RETURN(cgroups::Stats s, cg.manager->stats());
    return nlohmann::json{{"stats", cgroups::toJson(s)}, {"oomKills", s.memory.oomKills}};
}

Result<nlohmann::json> guestUpdate(GuestCgroup& cg, const nlohmann::json& req) {
    nlohmann::json r = wire::guestResources(req.value("resources", nlohmann::json::object()), false);
    // A ballooned VM: the host moved the balloon first and says how far the limit may go now.
    if (req.contains("memoryCeiling") && req["memoryCeiling"].is_number_unsigned())
        cg.memoryCeiling = req["memoryCeiling"].get<uint64_t>();
    TRY(wire::checkMemoryLimit(r, cg.memoryCeiling));
    auto before = fs::readFile(cg.dir + "/memory.max");  // for the host to put back if its balloon fails
    TRY(cg.manager->apply(r));
    return nlohmann::json{{"memoryMaxBefore", before ? fs::trim(*before) : std::string("max")}};
}

// What the request asks of the container it names.
Result<nlohmann::json> answer(wire::proto::Type type, const nlohmann::json& req) {
    std::string id = req.value("container", std::string());
    GuestCgroup* cg = findCgroup(id);
    if (type == wire::proto::Type::PsRequest) {
        bool view = req.value("view", std::string()) == "proc";
        if (!cg) return view ? guestProcView({}) : guestPs({});  // not started: nothing runs yet
        ASSIGN_OR_RETURN(auto pids, cg->manager->pids());
        return view ? guestProcView(pids) : guestPs(pids);
    }
    if (!cg) return Error(ENOENT, strCat("container \"", id, "\" has no cgroup in the guest")).hideErrno();
    if (type == wire::proto::Type::StatsRequest) return guestStats(*cg);
    return guestUpdate(*cg, req);
}

}  // namespace

int oomEventsFd() {
    GuestCgroup* cg = findCgroup("");
    if (!cg) return -1;
    if (!cg->events) cg->events.reset(::open((cg->dir + "/memory.events").c_str(), O_RDONLY | O_CLOEXEC));
    return cg->events.get();
}

void reportOomKills(int port) {
    GuestCgroup* cg = findCgroup("");
    int fd = oomEventsFd();
    if (fd < 0) return;
    // Read through the polled fd from offset 0: that is what re-arms its POLLPRI (kernfs).
    char buf[1024];
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return;
    uint64_t kills = cgroups::parseFlatKeyed(std::string(buf, static_cast<size_t>(n)))["oom_kill"];
    if (kills <= cg->reportedOomKills) return;
    uint64_t fresh = kills - cg->reportedOomKills;
    cg->reportedOomKills = kills;
    (void)wire::proto::writeFrame(port, wire::proto::Type::Oom, wire::proto::intPayload(static_cast<int32_t>(fresh)));
}

void answerOps(int port, const wire::proto::Frame& f) {
    auto id = wire::proto::splitExecId(f);
    if (!id) {  // no id to answer under: the host's request times out
        say("refused a request: " + id.error().message());
        return;
    }
    auto req = wire::parseOpsPayload(f);
    Result<nlohmann::json> body = req ? answer(f.type, req->second) : Result<nlohmann::json>(req.error());
    nlohmann::json reply = body ? *body : nlohmann::json{{"error", body.error().what()}};
    std::string payload = wire::opsPayload(id->first, reply);
    // Over the frame's limit the host would take the channel for corrupt and stop the VM.
    if (payload.size() > wire::proto::kMaxPayload)
        payload = wire::opsPayload(id->first, {{"error", strCat("the reply is too large (", payload.size(), " bytes)")}});
    (void)wire::proto::writeFrame(port, wire::proto::Type::OpsReply, payload);
}

}  // namespace berth::vm::agent
