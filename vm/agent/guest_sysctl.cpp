// Kernel knobs in the guest. linux.sysctl: the workload shares the guest's network and IPC namespaces (the
// agent's), so the spec's net.*, kernel.shm*/msg*/sem and fs.mqueue.* keys are written in the
// guest's /proc/sys before the workload starts, as the native init writes them in its own
// namespaces. A key the guest kernel lacks fails the create with the key and the kernel named.
// process.oomScoreAdj (the kubelet sets it for every container by QoS class): written for the
// process itself before it execs, as the native parent writes it for the container's init.
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

Status applyOomScoreAdj(const runtime::spec::Process& p) {
    if (!p.oomScoreAdj) return {};
    TRY_CTX(fs::writeFileOnFs("/proc/self/oom_score_adj", std::to_string(*p.oomScoreAdj), PROC_SUPER_MAGIC, "procfs"),
            "set oom_score_adj");
    return {};
}

}  // namespace berth::vm::agent
