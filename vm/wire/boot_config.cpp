#include "vm/wire/boot_config.hpp"

#include <algorithm>

#include "common/fs.hpp"

namespace berth::vm::wire {

Result<unsigned> countCpus(const std::string& list) {
    unsigned n = 0;
    for (auto& part : fs::split(list, ',')) {
        std::string p = fs::trim(part);
        if (p.empty()) continue;
        auto dash = p.find('-');
        try {
            size_t used = 0;
            unsigned lo = static_cast<unsigned>(std::stoul(p.substr(0, dash), &used));
            if (used != (dash == std::string::npos ? p.size() : dash)) throw std::invalid_argument(p);
            unsigned hi = lo;
            if (dash != std::string::npos) {
                std::string rest = p.substr(dash + 1);
                hi = static_cast<unsigned>(std::stoul(rest, &used));
                if (used != rest.size()) throw std::invalid_argument(p);
            }
            if (hi < lo) return Error(EINVAL, strCat("cpu list \"", list, "\": range ", p, " is reversed"));
            n += hi - lo + 1;
        } catch (const std::exception&) {
            return Error(EINVAL, strCat("cpu list \"", list, "\": bad element \"", p, "\""));
        }
    }
    return n;
}

Result<VmResources> resourcesFor(const nlohmann::json& r, unsigned hostCpus) {
    VmResources out;
    hostCpus = std::max(1u, hostCpus);
    if (!r.is_object()) return out;
    auto mem = r.value("memory", nlohmann::json::object());
    if (mem.is_object() && mem.contains("limit") && mem["limit"].is_number_integer()) {
        int64_t limit = mem["limit"].get<int64_t>();
        if (limit > 0) {
            uint64_t mib = (static_cast<uint64_t>(limit) + (1 << 20) - 1) >> 20;
            out.memMiB = std::max(kMinGuestMiB, mib + kGuestOverheadMiB);
        }
    }
    auto cpu = r.value("cpu", nlohmann::json::object());
    if (!cpu.is_object()) return out;
    int64_t quota = cpu.value("quota", int64_t{0});
    uint64_t period = cpu.value("period", uint64_t{100000});
    if (quota > 0 && period > 0) {
        out.vcpus = static_cast<unsigned>((static_cast<uint64_t>(quota) + period - 1) / period);
    } else if (cpu.contains("cpus") && cpu["cpus"].is_string() && !cpu["cpus"].get<std::string>().empty()) {
        ASSIGN_OR_RETURN(unsigned n, countCpus(cpu["cpus"].get<std::string>()));
        out.vcpus = std::max(1u, n);
    }
    out.vcpus = std::min(std::max(1u, out.vcpus), hostCpus);
    return out;
}

const char* rootfsModeName(RootfsMode m) { return m == RootfsMode::Block ? "block" : "initramfs"; }
const char* accelName(Accel a) { return a == Accel::Kvm ? "kvm" : "tcg"; }

std::string kernelCmdline(const CmdlineOptions& o) {
    // panic=-1 with QEMU's -no-reboot turns a guest panic into a VMM exit instead of a hang;
    // i8042/no-PS/2 probing and the serial console's speed are the slow parts of an early boot.
    std::string c = "console=ttyS0 reboot=t panic=-1 i8042.noaux i8042.nomux i8042.nopnp";
    // microvm has no HPET or ACPI PM timer and, under TCG on a loaded host, PIT calibration
    // fails and the boot stalls with "Marking TSC unstable": give the kernel the TSC rate and a
    // loops-per-jiffy value instead of letting it measure them. The rate is the host's: the
    // guest's TSC under TCG (and KVM) ticks at it, and the guest's clocks are the TSC scaled by
    // this number (a made-up 2 GHz on a 2.6 GHz host ran the guest's clock 1.3x fast).
    c += strCat(" tsc_early_khz=", o.tscKhz ? o.tscKhz : kTscKhzFallback, " tsc=reliable clocksource=tsc lpj=1000000");
    // The crypto manager's self-tests of every algorithm as it registers (this kernel builds them
    // in) were a quarter of a TCG boot to /init (bench/README.md); the algorithms work without
    // them, and fips=1 would still force them. Kata's guests boot with it too.
    c += " cryptomgr.notests";
    c += o.debug ? " loglevel=7" : " quiet loglevel=1";
    c += strCat(" berth.rootfs=", rootfsModeName(o.rootfs));
    if (o.shares) c += " berth.shares=1";
    if (o.probe) c += " berth.probe=1";
    if (o.net) c += " berth.net=1";
    if (o.timing) c += " berth.timing=1";
    if (o.balloon) c += " berth.balloon=1";
    return c;
}

namespace {
// QEMU's option syntax splits on commas; a literal comma in a path is written twice.
std::string optEscape(const std::string& s) {
    std::string out;
    for (char ch : s) {
        out.push_back(ch);
        if (ch == ',') out.push_back(',');
    }
    return out;
}
// One virtio-net-device (virtio-mmio) per tap fd, with the MAC the guest must answer ARP with.
void appendNicArgs(std::vector<std::string>& a, const QemuConfig& c) {
    for (size_t i = 0; i < c.nics.size(); i++) {
        a.insert(a.end(), {"-netdev", strCat("tap,id=net", i, ",fd=", c.nics[i].tapFd, ",vhost=off"), "-device",
                           strCat("virtio-net-device,netdev=net", i, ",mac=", c.nics[i].mac)});
    }
}

// The balloon on virtio-mmio (virtio-mem is PCI-only in QEMU 7.2: docs/vm.md) and the QMP
// monitor that moves it. free-page-reporting: the guest hands free 2 MiB blocks back on its own.
void appendBalloonArgs(std::vector<std::string>& a, const QemuConfig& c) {
    if (!c.res.maxMemMiB) return;
    a.insert(a.end(), {"-device", "virtio-balloon-device,free-page-reporting=on"});
    if (c.qmpFd >= 0) a.insert(a.end(), {"-chardev", strCat("socket,id=qmp,fd=", c.qmpFd), "-mon", "chardev=qmp,mode=control"});
}

}  // namespace

std::vector<std::string> qemuArgv(const QemuConfig& c) {
    std::vector<std::string> a = {c.binary,
                                  "-M", "microvm",  // ACPI on: virtio-mmio devices are enumerated
                                  "-accel", accelName(c.accel),
                                  "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
                                  "-m", strCat(c.res.maxMemMiB ? c.res.maxMemMiB : c.res.memMiB, "M"),
                                  "-smp", std::to_string(c.res.vcpus),
                                  "-kernel", c.kernel,
                                  "-initrd", c.initrd,
                                  "-append", c.cmdline};
    if (c.accel == Accel::Kvm) a.insert(a.end(), {"-cpu", "host"});
    a.insert(a.end(), {"-serial", c.consoleLog.empty() ? "null" : "file:" + optEscape(c.consoleLog)});
    if (c.agentFd >= 0) {
        // max_ports=2 (port 0 is the console's, 1 ours): the guest's virtio_console makes two
        // virtqueues per possible port at probe — 64 for QEMU's default of 31 — which was
        // ~55 ms of a TCG boot (bench/README.md).
        a.insert(a.end(), {"-chardev", strCat("socket,id=agent,fd=", c.agentFd), "-device",
                           "virtio-serial-device,max_ports=2", "-device", "virtserialport,chardev=agent,name=berth.agent"});
    }
    if (!c.rootfsImage.empty()) {
        std::string drive = "id=rootfs,if=none,format=raw,file=" + optEscape(c.rootfsImage);
        if (c.rootfsReadonly) drive += ",readonly=on";
        a.insert(a.end(), {"-drive", drive, "-device", "virtio-blk-device,drive=rootfs"});
    }
    appendNicArgs(a, c);
    appendBalloonArgs(a, c);
    auto shares = shareArgs(c.shares);
    a.insert(a.end(), shares.begin(), shares.end());
    return a;
}

std::vector<std::string> shareArgs(const std::vector<Share>& shares) {
    std::vector<std::string> a;
    for (const auto& s : shares) {
        std::string fsdev = strCat("local,id=fs", s.tag, ",path=", optEscape(s.hostDir), ",security_model=passthrough");
        if (s.readonly) fsdev += ",readonly=on";
        a.insert(a.end(), {"-fsdev", fsdev, "-device", strCat("virtio-9p-device,fsdev=fs", s.tag, ",mount_tag=", s.tag)});
    }
    return a;
}

bool initrdFits(uint64_t bytes, uint64_t memMiB) {
    uint64_t below = std::min<uint64_t>(memMiB, 2048) << 20;
    return bytes + (1 << 20) < below;
}

}  // namespace berth::vm::wire
