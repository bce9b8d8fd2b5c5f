// The container's session keyring in the guest, as the native path makes it (runtime/security/
// keyring.cpp, runc's): the workload gets a new one named _ses.<container id> and an exec'd
// process joins it. Keyrings are not namespaced: without one, a pod's containers would share the
// agent's session keyring with each other.
#include "runtime/security/security.hpp"
#include "vm/agent/agent.hpp"

namespace berth::vm::agent {

Status joinGuestKeyring(const wire::GuestProcess& g, bool workload) {
    if (g.keyring.empty()) return {};  // --no-new-keyring: the agent's stays
    if (workload) return runtime::security::joinNewSessionKeyring(g.keyring, false);
    return runtime::security::joinContainerKeyring(g.keyring);
}

}  // namespace berth::vm::agent
