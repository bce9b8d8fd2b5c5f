#include <grp.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "runtime/security/security.hpp"
#include "runtime/spec/names.hpp"

namespace berth::runtime::security {
namespace {

// The name's number (runtime/spec/names' table, the one berth has); -1 if unknown or beyond
// what this kernel has.
int capabilityNumber(const std::string& name) {
    std::optional<int> v = spec::capabilityNumber(name);
    if (!v || *v > static_cast<int>(cap_max_bits()) - 1) return -1;
    return *v;
}

std::vector<cap_value_t> toValues(const std::vector<std::string>& names) {
    std::vector<cap_value_t> out;
    for (auto& n : names) {
        int v = capabilityNumber(n);
        if (v >= 0) out.push_back(static_cast<cap_value_t>(v));
    }
    return out;
}

bool contains(const std::vector<cap_value_t>& v, cap_value_t c) {
    return std::find(v.begin(), v.end(), c) != v.end();
}

// After capset refused the sets: name the first capability the kernel cannot grant. A new
// permitted (and so effective) set must be within the one we hold, a new inheritable one within
// ours plus the bounding set; what the host's bounding set lacks (CAP_SYS_RESOURCE on some
// hosts) we never hold.
Error explainRefusal(const spec::Capabilities& caps, int err) {
    cap_t held = cap_get_proc();
    auto lacks = [&](cap_value_t c, bool inheritable) {
        cap_flag_value_t p = CAP_CLEAR, i = CAP_CLEAR;
        if (held) {
            cap_get_flag(held, c, CAP_PERMITTED, &p);
            cap_get_flag(held, c, CAP_INHERITABLE, &i);
        }
        if (!inheritable) return p != CAP_SET;
        return i != CAP_SET && ::prctl(PR_CAPBSET_READ, c, 0, 0, 0) != 1;
    };
    std::string found;
    for (auto [names, set] : {std::pair{&caps.effective, "effective"}, std::pair{&caps.permitted, "permitted"},
                              std::pair{&caps.inheritable, "inheritable"}}) {
        for (auto& n : *names) {
            int v = capabilityNumber(n);
            bool inheritable = std::string(set) == "inheritable";
            if (v < 0 || !lacks(static_cast<cap_value_t>(v), inheritable)) continue;
            found = strCat("process.capabilities.", set, ": ", n, " cannot be granted: ",
                           inheritable ? "it is not in the bounding set"
                                       : "the runtime does not hold it (not in this host's bounding set)");
            break;
        }
        if (!found.empty()) break;
    }
    if (held) cap_free(held);
    if (found.empty()) return Error(err, "set process capabilities");
    return Error(err, found);
}

}  // namespace

Status dropBoundingSet(const std::vector<std::string>& bounding) {
    auto keep = toValues(bounding);
    int last = static_cast<int>(cap_max_bits()) - 1;
    for (int c = 0; c <= last; c++) {
        if (contains(keep, c)) continue;
        if (::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
            return Error::fromErrno("drop capability ", c, " from the bounding set");
    }
    return {};
}

Status applyCapabilities(const spec::Capabilities& caps) {
    cap_t state = cap_init();
    if (!state) return Error::fromErrno("cap_init");
    auto setFlag = [&](const std::vector<std::string>& names, cap_flag_t flag) -> Status {
        auto values = toValues(names);
        if (values.empty()) return {};
        if (cap_set_flag(state, flag, static_cast<int>(values.size()), values.data(), CAP_SET) < 0)
            return Error::fromErrno("cap_set_flag");
        return {};
    };
    Status st = setFlag(caps.effective, CAP_EFFECTIVE);
    if (st) st = setFlag(caps.permitted, CAP_PERMITTED);
    if (st) st = setFlag(caps.inheritable, CAP_INHERITABLE);
    if (st && cap_set_proc(state) < 0) st = explainRefusal(caps, errno);
    cap_free(state);
    TRY(st);
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return Error::fromErrno("clear ambient capabilities");
    for (auto c : toValues(caps.ambient)) {
        // runc ignores ambient caps the kernel refuses (not in permitted+inheritable).
        ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0);
    }
    return {};
}

Status switchUser(const spec::User& user) {
    std::vector<gid_t> groups(user.additionalGids.begin(), user.additionalGids.end());
    if (::setgroups(groups.size(), groups.data()) < 0) {
        // In a user namespace with setgroups denied, only an empty list is impossible too.
        if (!(errno == EPERM && groups.empty())) return Error::fromErrno("setgroups");
    }
    if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return Error::fromErrno("prctl(PR_SET_KEEPCAPS)");
    if (::setresgid(user.gid, user.gid, user.gid) < 0) return Error::fromErrno("setresgid ", user.gid);
    if (::setresuid(user.uid, user.uid, user.uid) < 0) return Error::fromErrno("setresuid ", user.uid);
    if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return Error::fromErrno("prctl(PR_SET_KEEPCAPS)");
    return {};
}

Status setNoNewPrivileges() {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return Error::fromErrno("set no_new_privs");
    return {};
}

}  // namespace berth::runtime::security
