// The container's own session keyring, as runc makes it. The kernel's keyrings are not
// namespaced: without one, a container's processes share the session keyring of whoever started
// them (a shim, containerd, a login session) with every other container started so, and can
// read and add keys there. `create --no-new-keyring` keeps the inherited one (runc's flag).
#include <linux/keyctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "runtime/security/security.hpp"

namespace berth::runtime::security {
namespace {

// KEY_USR_SEARCH / KEY_OTH_SEARCH of linux/key.h (not a uapi header).
constexpr uint32_t kUserSearch = 0x00080000;
constexpr uint32_t kOtherSearch = 0x00000008;

long keyctl(int op, unsigned long a2, unsigned long a3 = 0, unsigned long a4 = 0) {
    return ::syscall(SYS_keyctl, op, a2, a3, a4, 0UL);
}

}  // namespace

std::string sessionKeyringName(const std::string& containerId) { return "_ses." + containerId; }

Result<uint32_t> searchableKeyringPerm(std::string_view describe, bool userNamespace) {
    // KEYCTL_DESCRIBE: "type;uid;gid;perm;description", perm in hex.
    size_t at = 0;
    for (int field = 0; field < 3; field++) {
        at = describe.find(';', at);
        if (at == std::string_view::npos) return Error::make("keyring description without a perm field: ", describe);
        at++;
    }
    size_t end = describe.find(';', at);
    std::string hex(describe.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at));
    if (hex.empty() || hex.size() > 8 || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
        return Error::make("keyring description with a bad perm field: ", describe);
    uint32_t perm = static_cast<uint32_t>(std::stoul(hex, nullptr, 16));
    // Processes exec'd later must find it to join it: the owner's uid may search it — or, in a
    // user namespace (whose ids the keyring's owner need not share), anyone.
    return perm | (userNamespace ? kOtherSearch : kUserSearch);
}

Status joinNewSessionKeyring(const std::string& containerId, bool userNamespace) {
    std::string name = sessionKeyringName(containerId);
    long key = keyctl(KEYCTL_JOIN_SESSION_KEYRING, reinterpret_cast<unsigned long>(name.c_str()));
    if (key < 0) {
        if (errno == ENOSYS) return {};  // a kernel without keyrings: nothing is shared either
        return Error::fromErrno("join session keyring ", name);
    }
    char desc[512];
    long n = keyctl(KEYCTL_DESCRIBE, static_cast<unsigned long>(key), reinterpret_cast<unsigned long>(desc),
                    sizeof desc);
    if (n < 0) return Error::fromErrno("describe session keyring ", name);
    size_t len = static_cast<size_t>(n) < sizeof desc ? static_cast<size_t>(n) : sizeof desc;
    while (len > 0 && desc[len - 1] == '\0') len--;
    ASSIGN_OR_RETURN(uint32_t perm, searchableKeyringPerm(std::string_view(desc, len), userNamespace));
    if (keyctl(KEYCTL_SETPERM, static_cast<unsigned long>(key), perm) < 0)
        return Error::fromErrno("set the permissions of session keyring ", name);
    return {};
}

Status joinContainerKeyring(const std::string& containerId) {
    std::string name = sessionKeyringName(containerId);
    if (keyctl(KEYCTL_JOIN_SESSION_KEYRING, reinterpret_cast<unsigned long>(name.c_str())) < 0 && errno != ENOSYS)
        return Error::fromErrno("join session keyring ", name);
    return {};
}

}  // namespace berth::runtime::security
