// runtime/security: what limits a container process's power — capabilities (libcap), rlimits,
// the user/group switch, no_new_privs and seccomp filters (libseccomp). Child-side code.
#pragma once

#include <sys/resource.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "runtime/spec/spec.hpp"

namespace berth::runtime::security {

Status applyRlimits(const std::vector<spec::Rlimit>& limits);

// Drop every capability not in `bounding` from the bounding set.
Status dropBoundingSet(const std::vector<std::string>& bounding);
// Set effective/permitted/inheritable, then raise ambient (after the user switch).
Status applyCapabilities(const spec::Capabilities& caps);

// setgroups/setresgid/setresuid, keeping capabilities across the uid change so
// applyCapabilities decides what is left.
Status switchUser(const spec::User& user);

Status setNoNewPrivileges();

// Session keyrings (keyring.cpp): a new one named sessionKeyringName(id) for the container's
// init (create), which its exec'd processes join by name later (exec), as runc does.
std::string sessionKeyringName(const std::string& containerId);
// KEYCTL_DESCRIBE's text -> its perm with search for the owner's uid (or others in a user namespace).
Result<uint32_t> searchableKeyringPerm(std::string_view describe, bool userNamespace);
Status joinNewSessionKeyring(const std::string& containerId, bool userNamespace);
Status joinContainerKeyring(const std::string& containerId);

// linux.personality → the execution domain (PER_LINUX, PER_LINUX32); none when absent.
Result<std::optional<unsigned long>> personalityFor(const nlohmann::json& personality);
Status applyPersonality(unsigned long domain);
Status applyScheduler(const spec::Scheduler& s);
Status applyIoPriority(const spec::IoPriority& io);
// `list` is a validated CPU list ("0-3,7"); pid 0 is the caller.
Status setCpuAffinity(pid_t pid, const std::string& list);

// Compile linux.seccomp into a BPF program (not loaded), so a bad profile fails early.
class SeccompFilter {
public:
    SeccompFilter() = default;
    SeccompFilter(const SeccompFilter&) = delete;
    SeccompFilter& operator=(const SeccompFilter&) = delete;
    SeccompFilter(SeccompFilter&& o) noexcept { *this = std::move(o); }
    SeccompFilter& operator=(SeccompFilter&& o) noexcept {
        std::swap(ctx_, o.ctx_);
        std::swap(loaded_, o.loaded_);
        std::swap(notify_, o.notify_);
        std::swap(listenerPath_, o.listenerPath_);
        std::swap(listenerMetadata_, o.listenerMetadata_);
        std::swap(waitKillableRecv_, o.waitKillableRecv_);
        std::swap(listenerFd_, o.listenerFd_);
        std::swap(enosysAbove_, o.enosysAbove_);
        return *this;
    }
    ~SeccompFilter();
    static Result<SeccompFilter> compile(const nlohmann::json& seccomp);
    bool empty() const { return ctx_ == nullptr; }
    Status load();  // install into the calling thread (once; later calls do nothing)
    // SCMP_ACT_NOTIFY: the filter is loaded early (before "ready") and its listener fd goes to
    // the agent at listenerPath, with the container state, as runc does.
    bool notifies() const { return notify_; }
    bool waitKillableRecv() const { return waitKillableRecv_; }
    Result<UniqueFd> loadForNotify();
    const std::string& listenerPath() const { return listenerPath_; }
    const std::string& listenerMetadata() const { return listenerMetadata_; }

private:
    void* ctx_ = nullptr;  // scmp_filter_ctx
    bool loaded_ = false;
    bool notify_ = false;
    // SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (with a listener): load() calls seccomp(2) itself
    // and keeps the listener fd here for loadForNotify.
    bool waitKillableRecv_ = false;
    int listenerFd_ = -1;
    std::string listenerPath_, listenerMetadata_;
    // (audit arch, highest syscall number the profile names for it): higher numbers get ENOSYS
    // from a stub put in front of libseccomp's program (see seccomp.cpp). Empty: no stub.
    std::vector<std::pair<uint32_t, int>> enosysAbove_;
};

// Hand a seccomp listener fd to the agent at `path`: one message holding runtime-spec's
// ContainerProcessState JSON, with the fd attached (SCM_RIGHTS).
Status sendToSeccompAgent(const SeccompFilter& filter, int listenerFd, pid_t pid,
                          const std::string& stateJson);

}  // namespace berth::runtime::security
