// vps/console_holder: the per-VPS process that holds the master of the VPS's /dev/console pty
// (as conmon and lxc's monitor do): copies its output to a size-capped log, serves one attached
// client over a unix socket, and exits when the VPS's init does. libc only, no allocation —
// it runs once per running VPS, so its memory counts (docs/vps.md, "Console").
#pragma once

#include <cstddef>
#include <cstdint>

namespace berth::vps {

// The holder's name (argv[0], comm, the standalone binary next to berth).
inline constexpr const char kConsoleHolderName[] = "berth-console";
// Files in the VPS's data dir.
inline constexpr const char kConsoleLog[] = "console.log";
inline constexpr const char kConsoleOldLog[] =
    "console.log.1";  // the previous kConsoleLogCap bytes
inline constexpr const char kConsoleSocket[] = "console.sock";
inline constexpr const char kConsolePid[] = "console.pid";
// console.log is rotated to console.log.1 when it reaches this size (so at most 2x on disk).
inline constexpr uint64_t kConsoleLogCap = 128 * 1024;

// The holder's first packet to a client (SOCK_SEQPACKET), with the log fds attached (the
// current log, then the rotated one when there is one): the client replays the old log, then
// the first `logSize` bytes of the current one, then every later packet is live output.
struct ConsoleHello {
    static constexpr uint32_t kMagic = 0x62634f4e;  // "bcON"
    uint32_t magic = kMagic;
    uint32_t busy = 0;  // 1: another client is attached; no fds, the socket is closed
    uint64_t logSize = 0;
    uint64_t oldLogSize = 0;
};
// Client → holder packets: one type byte, then its body.
inline constexpr char kConsoleData = 'd';     // bytes for the console's input
inline constexpr char kConsoleWinsize = 'w';  // a struct winsize
inline constexpr size_t kConsoleMaxPacket = 4096;

// After this flag in the holder's argv: the command it runs once the init has ended, with two
// more arguments: the init's pid and how it ended — "reboot" (a reboot inside: the PID
// namespace's init died of SIGHUP), "poweroff" (SIGINT: power-off or halt inside, or
// `vps stop`), "exit:N" or "signal:N" (a crash, a kill).
inline constexpr const char kConsoleOnExitFlag[] = "--on-exit";
inline constexpr size_t kConsoleMaxOnExitArgs = 48;

// The holder's main: argv = {berth-console, DATADIR[, --on-exit, COMMAND...]}; fd 3 the pty
// master, fd 4 the listening attach socket, fd 5 a pidfd of the VPS's init (the holder's child
// when `vps start` made it the init's subreaper). Returns the exit status.
int consoleHolderMain(int argc, char** argv);

}  // namespace berth::vps
