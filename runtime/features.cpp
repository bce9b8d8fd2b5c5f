// `spec` and `features`: the default bundle config, and what this build implements.
#include <fcntl.h>
#include <seccomp.h>
#include <sys/capability.h>
#include <unistd.h>

#include <cctype>

#include "common/fs.hpp"
#include "common/unique_fd.hpp"
#include "runtime/runtime.hpp"
#include "runtime/spec/spec.hpp"

namespace berth::runtime {

Status writeDefaultSpec(const std::string& bundleDir, bool rootless) {
    std::string path = fs::joinPath(bundleDir, "config.json");
    if (fs::exists(path)) return Error(EEXIST, strCat("File ", path, " exists. Remove it first"));
    std::string text = spec::defaultSpecText(rootless);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) return Error::fromErrno("create ", path);
    UniqueFd guard(fd);
    if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        return Error::fromErrno("write ", path);
    return {};
}

nlohmann::json features() {
    nlohmann::json caps = nlohmann::json::array();
    for (int c = 0; c < static_cast<int>(cap_max_bits()); c++) {
        char* name = cap_to_name(c);
        if (!name) continue;
        std::string n = name;
        cap_free(name);
        if (n.rfind("cap_", 0) != 0) continue;
        for (auto& ch : n) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        caps.push_back(n);
    }
    const struct scmp_version* v = seccomp_version();
    return {
        {"ociVersionMin", "1.0.0"},
        {"ociVersionMax", spec::kSpecVersion},
        {"hooks", {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}},
        {"mountOptions",
         {"async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "mand", "noatime",
          "nodev", "nodiratime", "noexec", "nomand", "norelatime", "nostrictatime", "nosuid", "private",
          "rbind", "relatime", "remount", "ro", "rprivate", "rshared", "rslave", "runbindable", "rw",
          "shared", "slave", "strictatime", "suid", "sync", "unbindable", "rro", "rrw", "rnosuid",
          "rsuid", "rnodev", "rdev", "rnoexec", "rexec", "rnoatime", "ratime", "rnodiratime",
          "rdiratime", "rrelatime", "rnorelatime", "rstrictatime", "rnostrictatime", "idmap", "ridmap"}},
        {"linux",
         {{"namespaces", {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"}},
          {"capabilities", caps},
          {"cgroup", {{"v1", true}, {"v2", true}, {"systemd", true}, {"systemdUser", false}, {"rdma", true}}},
          {"seccomp",
           {{"enabled", true},
            {"actions", {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                         "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE",
                         "SCMP_ACT_TRAP"}},
            {"operators", {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                           "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"}},
            {"archs", {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"}},
            {"knownFlags", {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                                "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"}},
            {"supportedFlags", {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                                "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"}}}},
          {"apparmor", {{"enabled", true}}},
          {"selinux", {{"enabled", false}}},
          {"intelRdt", {{"enabled", false}}},
          {"mountExtensions", {{"idmap", {{"enabled", true}}}}}}},
        {"annotations",
         {{"io.github.seccomp.libseccomp.version",
           strCat(v->major, ".", v->minor, ".", v->micro)}}},
    };
}

}  // namespace berth::runtime
