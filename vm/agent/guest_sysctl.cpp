// linux.sysctl in the guest: the workload shares the guest's network and IPC namespaces (the
// agent's), so the spec's net.*, kernel.shm*/msg*/sem and fs.mqueue.* keys are written in the
// guest's /proc/sys before the workload starts, as the native init writes them in its own
// namespaces. A key the guest kernel lacks fails the create with the key and the kernel named.
#include <linux/magic.h>
#include <sys/utsname.h>

#include "common/fs.hpp"
#include "vm/agent/agent.hpp"

namespace berth::vm::agent {

Status applySysctls(const std::map<std::string, std::string>& sysctl) {
    for (const auto& [key, value] : sysctl) {
        ASSIGN_OR_RETURN(std::string path, wire::sysctlPath(key));
        Status st = fs::writeFileOnFs("/proc/sys/" + path, value, PROC_SUPER_MAGIC, "procfs");
        if (!st) {
            struct utsname u = {};
            ::uname(&u);
            return std::move(st.error().context("sysctl ", key, " in the guest (kernel ", u.release, ")"));
        }
    }
    return {};
}

}  // namespace berth::vm::agent
