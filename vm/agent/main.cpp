// berth-agent: /init of the micro-VM. Mounts what PID 1 needs, loads the virtio modules, finds
// the channel and the rootfs, then serves the host: Config → Prepared, Start → the workload's
// output and exit code. Never returns: PID 1 ending would panic the guest; it powers off.
#include <fcntl.h>
#include <sys/reboot.h>
#include <unistd.h>

#include "common/unique_fd.hpp"
#include "vm/agent/agent.hpp"
#include "vm/agent/guest_ops.hpp"
#include "vm/agent/timing.hpp"

namespace berth::vm::agent {

void say(const std::string& msg) {
    std::string line = "berth-agent: " + msg + "\n";
    (void)!::write(STDERR_FILENO, line.data(), line.size());
}

void powerOff() {
    timing::flush();
    ::sync();
    ::reboot(RB_POWER_OFF);
    for (;;) ::pause();
}

namespace {

// The next frame of type `want` or a Signal (the container is killed before it starts); a
// Resize sets the size the terminal starts with (p), anything else meanwhile is ignored.
Result<wire::proto::Frame> expect(int port, wire::proto::Decoder& dec, wire::proto::Type want, wire::GuestProcess* p = nullptr) {
    for (;;) {
        ASSIGN_OR_RETURN(wire::proto::Frame f, wire::proto::readFrame(port, dec));
        if (f.type == want || f.type == wire::proto::Type::Signal) return f;
        if (wire::proto::isOpsRequest(f.type)) answerOps(port, f);
        if (f.type == wire::proto::Type::Resize && p) {
            if (auto size = wire::proto::decodeSize(f)) p->process.consoleSize = runtime::spec::ConsoleSize{size->first, size->second};
        }
    }
}

void finish(int port, wire::proto::Decoder& dec, int code) {
    timing::mark("exit");
    timing::flush();  // before Exit: the host kills the VM once it has the code
    (void)wire::proto::writeFrame(port, wire::proto::Type::Exit, wire::proto::intPayload(code));
    // The host acknowledges with its own Exit frame, so the last output is out of the virtqueue
    // before the machine disappears; a lost host does not keep us up for more than 2 s.
    ::fcntl(port, F_SETFL, O_NONBLOCK);
    for (int i = 0; i < 200; i++) {
        auto f = dec.next();
        if (!f || (*f && (*f)->type == wire::proto::Type::Exit)) break;
        char buf[4096];
        ssize_t n = ::read(port, buf, sizeof buf);
        if (n > 0) dec.feed(buf, static_cast<size_t>(n));
        else ::usleep(10000);
    }
}

Result<int> serve(int port) {
    wire::proto::Decoder dec;
    timing::mark("ready");
    TRY(wire::proto::writeFrame(port, wire::proto::Type::Ready, wire::proto::readyPayload()));
    ASSIGN_OR_RETURN(wire::proto::Frame cfg, expect(port, dec, wire::proto::Type::Config));
    timing::mark("config");
    if (cfg.type == wire::proto::Type::Signal) return Error(ECANCELED, "killed before the config arrived");
    ASSIGN_OR_RETURN(wire::GuestProcess p, wire::guestProcessFromJson(cfg.payload));
    timing::mark("cfg.parsed");
    if (Status st = configureNetwork(p.nics); !st) {
        (void)wire::proto::writeFrame(port, wire::proto::Type::Failed, st.error().what());
        return 127;
    }
    timing::mark("cfg.lo");
    Status prepared = prepareRootfs(p);
    timing::mark("cfg.rootfs");
    if (prepared) prepared = setupGuestCgroup(withGuestDeviceRules(p.resources, p.devices));
    if (Status st = prepared; !st) {
        (void)wire::proto::writeFrame(port, wire::proto::Type::Failed, st.error().what());
        return 127;
    }
    timing::mark("prepared");
    TRY(wire::proto::writeFrame(port, wire::proto::Type::Prepared));
    ASSIGN_OR_RETURN(wire::proto::Frame start, expect(port, dec, wire::proto::Type::Start, &p));
    timing::mark("start");
    if (start.type == wire::proto::Type::Signal) {
        // Killed while created: reported as 128+N, as if the process had been killed.
        ASSIGN_OR_RETURN(int sig, wire::proto::decodeInt(start));
        finish(port, dec, 128 + sig);
        return 128 + sig;
    }
    ASSIGN_OR_RETURN(int code, runWorkload(port, dec, p));
    finish(port, dec, code);
    return code;
}

int main() {
    timing::mark("init");
    if (Status st = mountEarly(); !st) say(st.error().what());
    Status modules = loadModules("/lib/modules/load");
    if (modules) modules = loadOptionalModules();
    if (Status st = modules; !st) {
        say(st.error().what());
        powerOff();
    }
    timing::mark("modules");
    if (kernelParam("berth.probe") == "1") {
        timing::mark("probe");
        say("probe ok");  // the host's KVM probe looks for this line
        powerOff();
    }
    auto portPath = findAgentPort(5000);
    if (!portPath) {
        say(portPath.error().what());
        powerOff();
    }
    timing::mark("port");
    if (Status st = mountRootfs(kernelParam("berth.rootfs")); !st) {
        say(st.error().what());
        powerOff();
    }
    UniqueFd port(::open(portPath->c_str(), O_RDWR | O_CLOEXEC));
    if (!port) {
        say(Error::fromErrno("open ", *portPath).what());
        powerOff();
    }
    auto code = serve(port.get());
    if (!code) say(code.error().what());
    else say(strCat("workload exited with ", *code));
    powerOff();
}

}  // namespace
}  // namespace berth::vm::agent

int main() { berth::vm::agent::main(); }
