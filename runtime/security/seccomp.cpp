// linux.seccomp → a libseccomp filter. Compiled in the child before any privilege is dropped so
// a bad profile fails create, loaded as late as possible before exec.
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "common/fd_passing.hpp"
#include "common/json.hpp"
#include "common/log.hpp"
#include "runtime/security/security.hpp"

namespace berth::runtime::security {
namespace {
using nlohmann::json;

Result<uint32_t> parseAction(const std::string& name, const json& errnoRet, uint32_t defErrno,
                             const std::string& path) {
    uint32_t ret = defErrno;
    if (!errnoRet.is_null()) {
        if (!errnoRet.is_number_unsigned()) return Error::make(path, ".errnoRet: must be an unsigned integer");
        ret = errnoRet.get<uint32_t>();
    }
    if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
    if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(ret);
    if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL;
    if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
    if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
    if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(ret);
    if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
    if (name == "SCMP_ACT_NOTIFY") return SCMP_ACT_NOTIFY;
    return Error::make(path, ": unknown seccomp action \"", name, "\"");
}

Result<scmp_compare> parseOp(const std::string& op, const std::string& path) {
    static const std::map<std::string, scmp_compare> kOps = {
        {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT},
        {"SCMP_CMP_LE", SCMP_CMP_LE}, {"SCMP_CMP_EQ", SCMP_CMP_EQ},
        {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
        {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
    auto it = kOps.find(op);
    if (it == kOps.end()) return Error::make(path, ": unknown seccomp operator \"", op, "\"");
    return it->second;
}

Result<uint32_t> parseArch(const std::string& name, const std::string& path) {
    std::string a = name.rfind("SCMP_ARCH_", 0) == 0 ? name.substr(10) : name;
    std::transform(a.begin(), a.end(), a.begin(), [](unsigned char c) { return std::tolower(c); });
    uint32_t arch = seccomp_arch_resolve_name(a.c_str());
    if (arch == 0) return Error::make(path, ": unknown architecture \"", name, "\"");
    return arch;
}

Result<std::vector<scmp_arg_cmp>> parseArgs(const json& args, const std::string& path) {
    std::vector<scmp_arg_cmp> out;
    if (args.is_null()) return out;
    if (!args.is_array()) return Error::make(path, ": must be an array");
    for (size_t i = 0; i < args.size(); i++) {
        std::string p = strCat(path, "[", i, "]");
        const json& a = args[i];
        if (!a.is_object() || !a.contains("index") || !a["index"].is_number_unsigned() ||
            a["index"].get<unsigned>() > 5)
            return Error::make(p, ".index: must be an integer 0..5");
        if (!a.contains("op") || !a["op"].is_string()) return Error::make(p, ".op: must be a string");
        ASSIGN_OR_RETURN(scmp_compare op, parseOp(a["op"].get<std::string>(), p + ".op"));
        scmp_arg_cmp c{};
        c.arg = a["index"].get<unsigned>();
        c.op = op;
        c.datum_a = a.value("value", uint64_t{0});
        c.datum_b = a.value("valueTwo", uint64_t{0});
        out.push_back(c);
    }
    return out;
}

// runc's rule: conditions on distinct arguments are ANDed in one rule; several conditions on
// the same argument become one rule each (ORed), as libseccomp cannot AND them.
Status addRule(scmp_filter_ctx ctx, uint32_t action, int nr, const std::vector<scmp_arg_cmp>& args,
               const std::string& name) {
    bool sameIndex = false;
    for (size_t i = 0; i < args.size(); i++)
        for (size_t j = i + 1; j < args.size(); j++)
            if (args[i].arg == args[j].arg) sameIndex = true;
    auto add = [&](unsigned n, const scmp_arg_cmp* a) -> Status {
        int rc = seccomp_rule_add_array(ctx, action, nr, n, a);
        if (rc < 0) return Error(-rc, strCat("seccomp: add rule for ", name));
        return {};
    };
    if (!sameIndex) return add(static_cast<unsigned>(args.size()), args.data());
    for (auto& a : args) TRY(add(1, &a));
    return {};
}

// A rule's errnoRet defaults to EPERM, not to defaultErrnoRet (runtime-spec: "If not specified
// then its default value is EPERM"; runc does the same).
constexpr uint32_t kRuleErrno = EPERM;

Status addSyscalls(scmp_filter_ctx ctx, const json& syscalls, uint32_t defAction) {
    if (syscalls.is_null()) return {};
    if (!syscalls.is_array()) return Error::make("linux.seccomp.syscalls: must be an array");
    for (size_t i = 0; i < syscalls.size(); i++) {
        std::string p = strCat("linux.seccomp.syscalls[", i, "]");
        const json& s = syscalls[i];
        if (!s.is_object() || !s.contains("names") || !s["names"].is_array())
            return Error::make(p, ".names: must be an array of strings");
        if (!s.contains("action") || !s["action"].is_string())
            return Error::make(p, ".action: must be a string");
        ASSIGN_OR_RETURN(uint32_t action,
                         parseAction(s["action"].get<std::string>(), s.value("errnoRet", json()),
                                     kRuleErrno, p + ".action"));
        ASSIGN_OR_RETURN(auto args, parseArgs(s.value("args", json()), p + ".args"));
        if (action == defAction) continue;  // libseccomp refuses a rule equal to the default
        for (auto& n : s["names"]) {
            if (!n.is_string()) return Error::make(p, ".names: must be an array of strings");
            std::string name = n.get<std::string>();
            // The filter is loaded before the child hands its listener fd over the sync socket
            // (write, then sendmsg): notifying those calls would wait on an agent that has no fd
            // yet (runc refuses "write" for the same reason; it fetches the fd with pidfd_getfd,
            // so it needs no sendmsg). "close" is allowed, as runc: the child closes nothing
            // until the agent holds the listener, and the agent answers from then on.
            if (action == SCMP_ACT_NOTIFY && (name == "write" || name == "sendmsg"))
                return Error::make(p, ": SCMP_ACT_NOTIFY cannot be used for \"", name,
                                   "\" (the runtime needs it after the filter is loaded)");
            int nr = seccomp_syscall_resolve_name(name.c_str());
            if (nr == __NR_SCMP_ERROR) {
                log::debug("seccomp: skipping unknown syscall ", name);
                continue;  // as runc: profiles list syscalls newer than this kernel/libseccomp
            }
            TRY(addRule(ctx, action, nr, args, name));
        }
    }
    return {};
}

// The filter flags, as libseccomp attributes, except WAIT_KILLABLE_RECV (libseccomp 2.5 has no
// attribute for it): returned true, for load() to pass it to seccomp(2) itself.
Result<bool> setFlags(scmp_filter_ctx ctx, const json& flags) {
    if (flags.is_null()) return false;
    if (!flags.is_array()) return Error::make("linux.seccomp.flags: must be an array");
    bool waitKillable = false;
    for (auto& f : flags) {
        std::string name = f.is_string() ? f.get<std::string>() : "";
        if (name == "SECCOMP_FILTER_FLAG_TSYNC") seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
        else if (name == "SECCOMP_FILTER_FLAG_LOG") seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
        else if (name == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1);
        else if (name == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") waitKillable = true;
        else return Error::make("linux.seccomp.flags: unsupported flag \"", f.dump(), "\"");
    }
    return waitKillable;
}

Result<bool> build(scmp_filter_ctx ctx, const json& s, uint32_t defAction) {
    // NNP is the runtime's decision (process.noNewPrivileges), not libseccomp's.
    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    if (s.contains("architectures") && s["architectures"].is_array()) {
        for (auto& a : s["architectures"]) {
            if (!a.is_string()) return Error::make("linux.seccomp.architectures: must be strings");
            ASSIGN_OR_RETURN(uint32_t arch, parseArch(a.get<std::string>(), "linux.seccomp.architectures"));
            int rc = seccomp_arch_add(ctx, arch);
            if (rc < 0 && rc != -EEXIST) return Error(-rc, "seccomp: add architecture " + a.get<std::string>());
        }
    }
    ASSIGN_OR_RETURN(bool waitKillable, setFlags(ctx, s.value("flags", json())));
    TRY(addSyscalls(ctx, s.value("syscalls", json()), defAction));
    return waitKillable;
}

// The ENOSYS stub. A profile is written against the syscalls its author knew: a newer syscall
// it does not name would get the default action (EPERM, say), and libc, which answers ENOSYS
// with a fallback (clone3 -> clone, faccessat2 -> faccessat, ...), takes EPERM as a real
// refusal and fails. runc 1.1 (libcontainer/seccomp/patchbpf) puts a small cBPF stub in front
// of libseccomp's program: per architecture, a syscall number above the highest one the profile
// names gets ENOSYS. libseccomp 2.5 has no rule for "every number above N" (a rule is one
// syscall; listing every unknown number would also need a syscall table newer than its own),
// so berth does as runc: libseccomp's program is exported, the stub prepended, and the whole
// loaded with seccomp(2) (loadWithFlags). Numbers up to the highest named one, named or not,
// keep the profile's actions.
// As runc: no stub when the default action lets calls through anyway (ALLOW, LOG, TRACE) or
// already is ENOSYS; every name in the profile counts, whatever its action. Unlike runc 1.1,
// which covers only the architectures the profile lists, the native one is always covered
// (libseccomp's filter always includes it). x32 calls (x86_64 numbers with bit 30 set) are
// left to libseccomp's program.
constexpr uint32_t kX32SyscallBit = 0x40000000;

// The highest number any name of the profile has on arch (whatever its action); -1 if none.
int highestNamed(uint32_t arch, const json& syscalls) {
    int highest = -1;
    if (!syscalls.is_array()) return highest;
    for (auto& entry : syscalls) {
        if (!entry.is_object() || !entry.contains("names") || !entry["names"].is_array()) continue;
        for (auto& n : entry["names"]) {
            if (!n.is_string()) continue;
            int nr = seccomp_syscall_resolve_name_arch(arch, n.get<std::string>().c_str());
            highest = std::max(highest, nr);  // names unknown on arch resolve below 0
        }
    }
    return highest;
}

std::vector<std::pair<uint32_t, int>> enosysLimits(const json& s, uint32_t defAction) {
    std::vector<std::pair<uint32_t, int>> out;
    const uint32_t kind = defAction & 0xffff0000U;
    if (defAction == SCMP_ACT_ALLOW || defAction == SCMP_ACT_LOG || kind == SCMP_ACT_TRACE(0) ||
        defAction == SCMP_ACT_ERRNO(ENOSYS))
        return out;
    std::vector<uint32_t> arches{seccomp_arch_native()};
    if (s.contains("architectures") && s["architectures"].is_array()) {
        for (auto& a : s["architectures"]) {
            auto arch = parseArch(a.get<std::string>(), "linux.seccomp.architectures");
            if (arch.ok()) arches.push_back(*arch);
        }
    }
    const json syscalls = s.value("syscalls", json());
    for (uint32_t arch : arches) {
        if (arch == SCMP_ARCH_X32) continue;
        if (std::any_of(out.begin(), out.end(), [&](auto& l) { return l.first == arch; })) continue;
        int highest = highestNamed(arch, syscalls);
        if (highest >= 0) out.emplace_back(arch, highest);  // a profile naming nothing gets no stub
    }
    return out;
}

// Layout: load arch; per limited architecture {if arch != A: next block; load nr; [x86_64: if
// x32 bit: libseccomp]; if nr > max: ENOSYS else libseccomp}; otherwise libseccomp; ret ENOSYS.
std::vector<struct sock_filter> enosysStub(const std::vector<std::pair<uint32_t, int>>& limits) {
    auto blockSize = [](uint32_t arch) -> size_t { return arch == AUDIT_ARCH_X86_64 ? 4 : 3; };
    size_t size = 3;
    for (auto& l : limits) size += blockSize(l.first);
    const size_t retEnosys = size - 1, program = size;  // program: libseccomp's first insn
    auto jumpTo = [](size_t target, size_t from) {
        return static_cast<uint8_t>(target - from - 1);
    };
    std::vector<struct sock_filter> out;
    out.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
    for (auto& [arch, highest] : limits) {
        out.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 0,
                               static_cast<uint8_t>(blockSize(arch) - 1)));
        out.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
        if (arch == AUDIT_ARCH_X86_64)
            out.push_back(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, kX32SyscallBit,
                                   jumpTo(program, out.size()), 0));
        out.push_back(BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, static_cast<uint32_t>(highest),
                               jumpTo(retEnosys, out.size()), jumpTo(program, out.size())));
    }
    out.push_back(BPF_STMT(BPF_JMP | BPF_JA | BPF_K, 1));  // an architecture without a limit
    out.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)));
    return out;
}

uint32_t attr(scmp_filter_ctx ctx, scmp_filter_attr a) {
    uint32_t v = 0;
    return seccomp_attr_get(ctx, a, &v) == 0 ? v : 0;
}

// seccomp_load's work done by hand, for the flags libseccomp cannot pass and the ENOSYS stub:
// the program exported as BPF, the stub put in front, installed with seccomp(2) and the flags
// libseccomp would have set from the context's attributes. Returns the listener fd
// (NEW_LISTENER) or -1.
Result<int> loadWithFlags(scmp_filter_ctx ctx, bool notify, unsigned extraFlags,
                          const std::vector<struct sock_filter>& stub) {
    UniqueFd mem(::memfd_create("berth-seccomp", MFD_CLOEXEC));
    if (!mem) return Error::fromErrno("seccomp: memfd for the BPF program");
    if (int rc = seccomp_export_bpf(ctx, mem.get()); rc < 0) return Error(-rc, "seccomp: export the BPF program");
    off_t size = ::lseek(mem.get(), 0, SEEK_END);
    if (size <= 0 || size % sizeof(struct sock_filter) != 0) return Error::make("seccomp: bad exported program");
    std::vector<struct sock_filter> insns(stub);
    insns.resize(stub.size() + static_cast<size_t>(size) / sizeof(struct sock_filter));
    if (::pread(mem.get(), insns.data() + stub.size(), static_cast<size_t>(size), 0) != size)
        return Error::fromErrno("seccomp: read back the BPF program");
    if (insns.size() > BPF_MAXINSNS)
        return Error::make("seccomp: the filter has ", insns.size(),
                           " instructions, more than the kernel's ", BPF_MAXINSNS);
    struct sock_fprog prog = {static_cast<unsigned short>(insns.size()), insns.data()};
    unsigned flags = extraFlags;
    if (notify) flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    if (attr(ctx, SCMP_FLTATR_CTL_TSYNC)) flags |= SECCOMP_FILTER_FLAG_TSYNC | (notify ? SECCOMP_FILTER_FLAG_TSYNC_ESRCH : 0);
    if (attr(ctx, SCMP_FLTATR_CTL_LOG)) flags |= SECCOMP_FILTER_FLAG_LOG;
    if (attr(ctx, SCMP_FLTATR_CTL_SSB)) flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    if (rc < 0 && errno == EINVAL && (extraFlags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV))
        return Error::make("invalid configuration: seccomp: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV is not supported by this kernel (needs 5.19)");
    if (rc < 0) return Error::fromErrno("seccomp: load filter");
    return notify ? static_cast<int>(rc) : -1;
}

bool usesNotify(const json& syscalls) {
    if (!syscalls.is_array()) return false;
    for (auto& s : syscalls)
        if (s.is_object() && s.value("action", json()) == "SCMP_ACT_NOTIFY") return true;
    return false;
}

}  // namespace

SeccompFilter::~SeccompFilter() {
    if (ctx_) seccomp_release(static_cast<scmp_filter_ctx>(ctx_));
    if (listenerFd_ >= 0) ::close(listenerFd_);
}

Result<SeccompFilter> SeccompFilter::compile(const json& s) {
    SeccompFilter f;
    if (s.is_null()) return f;
    if (!s.is_object()) return Error::make("linux.seccomp: must be an object");
    if (!s.contains("defaultAction") || !s["defaultAction"].is_string())
        return Error::make("linux.seccomp.defaultAction: must be a string");
    ASSIGN_OR_RETURN(uint32_t defAction,
                     parseAction(s["defaultAction"].get<std::string>(), s.value("defaultErrnoRet", json()),
                                 EPERM, "linux.seccomp.defaultAction"));
    scmp_filter_ctx ctx = seccomp_init(defAction);
    if (!ctx) return Error::make("seccomp: cannot initialise a filter");
    f.ctx_ = ctx;
    ASSIGN_OR_RETURN(bool waitKillable, build(ctx, s, defAction));
    f.enosysAbove_ = enosysLimits(s, defAction);
    f.notify_ = defAction == SCMP_ACT_NOTIFY || usesNotify(s.value("syscalls", json()));
    // The kernel takes WAIT_KILLABLE_RECV only with a listener; without one it means nothing.
    f.waitKillableRecv_ = waitKillable && f.notify_;
    if (s.contains("listenerPath") && !s["listenerPath"].is_null()) {
        if (!s["listenerPath"].is_string() || s["listenerPath"].get<std::string>().empty())
            return Error::make("linux.seccomp.listenerPath: must be a non-empty string");
        f.listenerPath_ = s["listenerPath"].get<std::string>();
    }
    if (s.contains("listenerMetadata") && s["listenerMetadata"].is_string())
        f.listenerMetadata_ = s["listenerMetadata"].get<std::string>();
    if (f.notify_ && f.listenerPath_.empty())
        return Error::make("linux.seccomp.listenerPath: required when an action is SCMP_ACT_NOTIFY");
    return f;
}

Result<UniqueFd> SeccompFilter::loadForNotify() {
    TRY(load());
    if (listenerFd_ >= 0) return UniqueFd(std::exchange(listenerFd_, -1));
    int fd = seccomp_notify_fd(static_cast<scmp_filter_ctx>(ctx_));
    if (fd < 0) return Error(-fd, "seccomp: get the notification fd");
    return UniqueFd(fd);
}

Status SeccompFilter::load() {
    if (!ctx_ || loaded_) return {};
    auto ctx = static_cast<scmp_filter_ctx>(ctx_);
    if (waitKillableRecv_ || !enosysAbove_.empty()) {
        unsigned extra = waitKillableRecv_ ? SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV : 0;
        ASSIGN_OR_RETURN(listenerFd_, loadWithFlags(ctx, notify_, extra, enosysStub(enosysAbove_)));
    } else if (int rc = seccomp_load(ctx); rc < 0) {
        return Error(-rc, "seccomp: load filter");
    }
    loaded_ = true;
    return {};
}

}  // namespace berth::runtime::security

namespace berth::runtime::security {

Status sendToSeccompAgent(const SeccompFilter& filter, int listenerFd, pid_t pid, const std::string& stateJson) {
    const std::string& path = filter.listenerPath();
    UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock) return Error::fromErrno("seccomp agent: socket");
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path)
        return Error::make("linux.seccomp.listenerPath: ", path, " is too long for a unix socket");
    std::memcpy(addr.sun_path, path.c_str(), path.size());
    if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
        return Error::fromErrno("failed to connect with seccomp agent at ", path);  // runc's words
    // berth's own state document (hookStateJson): a parse failure only drops it from the message.
    auto state = parseJson(stateJson, "container state");
    json msg = {{"ociVersion", "1.2.0"}, {"fds", {"seccompFd"}}, {"pid", pid},
                {"metadata", filter.listenerMetadata()}, {"state", state ? *state : json::object()}};
    TRY(sendFds(sock.get(), {listenerFd}, msg.dump(), "the seccomp listener to the agent at " + path));
    return {};
}

}  // namespace berth::runtime::security
