// The cgroup2 device filter: runc's devicefilter (itself after crun's ebpf.c) — reduce the rules
// as v1 would, then emit one block per exception and a default verdict; raw bpf(2), no libbpf.
#include "cgroups/v2/devices_bpf.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>

#include "common/log.hpp"
#include "common/unique_fd.hpp"

namespace berth::cgroups::v2 {
namespace {

constexpr uint32_t kRwm = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}
bpf_insn ldxW(uint8_t dst, uint8_t src, int16_t off) { return insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0); }
bpf_insn alu32Imm(uint8_t op, uint8_t dst, int32_t imm) { return insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm); }
bpf_insn mov32Reg(uint8_t dst, uint8_t src) { return insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0); }
bpf_insn jneImm(uint8_t dst, int32_t imm) { return insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, 0, imm); }
bpf_insn jneReg(uint8_t dst, uint8_t src) { return insn(BPF_JMP | BPF_JNE | BPF_X, dst, src, 0, 0); }
bpf_insn jeqImm(uint8_t dst, int32_t imm) { return insn(BPF_JMP | BPF_JEQ | BPF_K, dst, 0, 0, imm); }
bpf_insn exitInsn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

std::string describe(char type, int64_t major, int64_t minor, uint32_t bits) {
    auto num = [](int64_t v) { return v < 0 ? std::string("*") : std::to_string(v); };
    std::string acc;
    if (bits & BPF_DEVCG_ACC_READ) acc += 'r';
    if (bits & BPF_DEVCG_ACC_WRITE) acc += 'w';
    if (bits & BPF_DEVCG_ACC_MKNOD) acc += 'm';
    return std::string(1, type) + " " + num(major) + ":" + num(minor) + " " + acc;
}

// One exception: every condition jumps to the next block when it does not hold.
Status appendBlock(std::vector<bpf_insn>& p, char type, int64_t major, int64_t minor, uint32_t bits,
                   bool allow) {
    if (major > INT32_MAX || minor > INT32_MAX)
        return Error::make("device rule ", describe(type, major, minor, bits), ": number out of range");
    size_t start = p.size();
    p.push_back(jneImm(2, type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR));
    if (bits != kRwm) {
        // As v1: an allow exception must grant all the access asked for (one open asks for
        // read and write at once); a deny exception refuses if it covers any of it.
        p.push_back(mov32Reg(1, 3));
        p.push_back(alu32Imm(BPF_AND, 1, int32_t(bits)));
        p.push_back(allow ? jneReg(1, 3) : jeqImm(1, 0));
    }
    if (major >= 0) p.push_back(jneImm(4, int32_t(major)));
    if (minor >= 0) p.push_back(jneImm(5, int32_t(minor)));
    p.push_back(alu32Imm(BPF_MOV, 0, allow ? 1 : 0));
    p.push_back(exitInsn());
    size_t next = p.size();
    for (size_t i = start; i < next; i++)
        if (BPF_CLASS(p[i].code) == BPF_JMP && BPF_OP(p[i].code) != BPF_EXIT)
            p[i].off = int16_t(next - i - 1);
    return {};
}

long bpf(int cmd, bpf_attr& attr) { return ::syscall(SYS_bpf, cmd, &attr, sizeof attr); }
uint64_t ptr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

Result<UniqueFd> loadProgram(const std::vector<bpf_insn>& prog) {
    static const char kLicense[] = "GPL";
    bpf_attr attr{};
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = ptr(prog.data());
    attr.insn_cnt = uint32_t(prog.size());
    attr.license = ptr(kLicense);
    long fd = bpf(BPF_PROG_LOAD, attr);
    if (fd >= 0) return UniqueFd(int(fd));
    Error err = Error::fromErrno("cgroup: load the device filter (BPF_PROG_LOAD)");
    // Ask again with the verifier's log: it says why.
    std::string log(64 * 1024, '\0');
    attr.log_level = 1;
    attr.log_buf = ptr(log.data());
    attr.log_size = uint32_t(log.size());
    fd = bpf(BPF_PROG_LOAD, attr);
    if (fd >= 0) return UniqueFd(int(fd));
    log.resize(log.find('\0'));
    if (!log.empty()) err.context("verifier: ", log);
    return err;
}

// The programs attached to the cgroup itself (not inherited ones), as fds.
Result<std::vector<UniqueFd>> attachedPrograms(int dirFd, const std::string& dir) {
    std::vector<uint32_t> ids(64);
    bpf_attr attr{};
    attr.query.target_fd = uint32_t(dirFd);
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = ptr(ids.data());
    attr.query.prog_cnt = uint32_t(ids.size());
    if (bpf(BPF_PROG_QUERY, attr) < 0) return Error::fromErrno("cgroup: query device filters of ", dir);
    std::vector<UniqueFd> out;
    for (uint32_t i = 0; i < attr.query.prog_cnt && i < ids.size(); i++) {
        bpf_attr get{};
        get.prog_id = ids[i];
        long fd = bpf(BPF_PROG_GET_FD_BY_ID, get);
        if (fd < 0) {
            if (errno == ENOENT) continue;  // detached meanwhile
            return Error::fromErrno("cgroup: get device filter ", ids[i], " of ", dir);
        }
        out.emplace_back(int(fd));
    }
    return out;
}

}  // namespace

uint32_t accessBits(const std::string& access) {
    uint32_t bits = 0;
    for (char c : access) {
        if (c == 'r') bits |= BPF_DEVCG_ACC_READ;
        if (c == 'w') bits |= BPF_DEVCG_ACC_WRITE;
        if (c == 'm') bits |= BPF_DEVCG_ACC_MKNOD;
    }
    return bits;
}

Result<DeviceRuleSet> reduceDeviceRules(const std::vector<DeviceRule>& rules) {
    DeviceRuleSet s;
    for (const auto& r : rules) {
        if (r.type == 'a') {  // whatever the access letters, as the v1 kernel
            s = DeviceRuleSet{r.allow, {}};
            continue;
        }
        auto key = std::make_tuple(r.type, r.major, r.minor);
        uint32_t bits = accessBits(r.access);
        if (r.allow != s.defaultAllow) {
            s.exceptions[key] |= bits;
            continue;
        }
        for (auto wide : {std::make_tuple(r.type, int64_t(-1), r.minor), std::make_tuple(r.type, r.major, int64_t(-1)),
                          std::make_tuple(r.type, int64_t(-1), int64_t(-1))}) {
            if (wide == key) continue;
            auto it = s.exceptions.find(wide);
            if (it == s.exceptions.end() || !(it->second & bits)) continue;
            auto [t, ma, mi] = wide;
            return Error::make("linux.resources.devices: the rule ", r.allow ? "allowing " : "denying ",
                               describe(r.type, r.major, r.minor, bits), " cannot take access away from the "
                               "earlier wildcard rule ", r.allow ? "denying " : "allowing ",
                               describe(t, ma, mi, it->second), " (cgroup v1 would ignore it; as runc)");
        }
        auto it = s.exceptions.find(key);
        if (it != s.exceptions.end() && !(it->second &= ~bits)) s.exceptions.erase(it);
    }
    return s;
}

Result<std::vector<bpf_insn>> deviceFilterProgram(const std::vector<DeviceRule>& rules) {
    ASSIGN_OR_RETURN(DeviceRuleSet set, reduceDeviceRules(rules));
    // struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }:
    // R2 = device type (low 16 bits), R3 = access (high 16 bits), R4 = major, R5 = minor.
    std::vector<bpf_insn> p = {
        ldxW(2, 1, 0), alu32Imm(BPF_AND, 2, 0xffff), ldxW(3, 1, 0),
        alu32Imm(BPF_RSH, 3, 16), ldxW(4, 1, 4), ldxW(5, 1, 8),
    };
    // Every exception carries the opposite of the default verdict, so their order is free;
    // the map's order keeps the program the same for the same rules.
    for (auto& [key, bits] : set.exceptions) {
        auto [type, major, minor] = key;
        TRY(appendBlock(p, type, major, minor, bits, !set.defaultAllow));
    }
    p.push_back(alu32Imm(BPF_MOV, 0, set.defaultAllow ? 1 : 0));
    p.push_back(exitInsn());
    return p;
}

Status attachDeviceFilter(const std::string& dir, const std::vector<bpf_insn>& prog) {
    UniqueFd dirFd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dirFd) return Error::fromErrno("cgroup: open ", dir);
    ASSIGN_OR_RETURN(std::vector<UniqueFd> old, attachedPrograms(dirFd.get(), dir));
    ASSIGN_OR_RETURN(UniqueFd progFd, loadProgram(prog));
    bpf_attr attr{};
    attr.target_fd = uint32_t(dirFd.get());
    attr.attach_bpf_fd = uint32_t(progFd.get());
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    if (bpf(BPF_PROG_ATTACH, attr) < 0) return Error::fromErrno("cgroup: attach the device filter to ", dir);
    // Attach first, detach after: the cgroup is never without a filter in between.
    for (auto& fd : old) {
        bpf_attr det{};
        det.target_fd = uint32_t(dirFd.get());
        det.attach_bpf_fd = uint32_t(fd.get());
        det.attach_type = BPF_CGROUP_DEVICE;
        if (bpf(BPF_PROG_DETACH, det) < 0 && errno != ENOENT)
            return Error::fromErrno("cgroup: detach the previous device filter from ", dir);
    }
    log::debug("cgroup: device filter of ", prog.size(), " instructions attached to ", dir,
               old.empty() ? "" : " (replacing the previous one)");
    return {};
}

}  // namespace berth::cgroups::v2
