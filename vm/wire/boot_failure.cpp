#include "vm/wire/boot_failure.hpp"

#include <regex>
#include <vector>

#include "common/fs.hpp"

namespace berth::vm::wire {
namespace {

constexpr size_t kMaxReason = 240;

bool isTraceLine(const std::string& l) {
    // "  ? do_syscall_64+0x5b/0xc0", "RIP: 0010:...", "RAX: ...", "<TASK>", "Code: 48 89 ..."
    static const std::regex frame(
        R"(^\s*(\? )?[A-Za-z0-9_.$]+\+0x[0-9a-f]+/0x[0-9a-f]+( \[[^\]]*\])?\s*$)");
    static const std::regex reg(
        R"(^\s*(RIP|RSP|RAX|RBX|RCX|RDX|RSI|RDI|RBP|R\d+|FS|GS|CS|DS|ES|CR\d|DR\d|Code):)");
    static const std::regex misc(
        R"(^\s*(</?TASK>|</?IRQ>|Call Trace:|Modules linked in|Hardware name:|CPU: \d|Kernel Offset|---\[ end))");
    return std::regex_search(l, frame) || std::regex_search(l, reg) || std::regex_search(l, misc);
}

std::string clip(std::string s) {
    s = fs::trim(s);
    if (s.size() > kMaxReason) s = s.substr(0, kMaxReason) + "...";
    return s;
}

std::string consoleReason(const std::string& console) {
    std::vector<std::string> lines;
    for (auto& l : fs::split(console, '\n')) {
        std::string t = fs::trim(stripTimestamp(l));
        if (!t.empty()) lines.push_back(t);
    }
    // Most telling first; within a kind, the last occurrence (the agent's final word).
    static const std::vector<std::string> kinds = {"berth-agent: ",
                                                   "Kernel panic - not syncing",
                                                   "Out of memory",
                                                   "Initramfs unpacking failed",
                                                   "BUG: ",
                                                   "Oops",
                                                   "general protection fault"};
    for (auto& k : kinds)
        for (auto it = lines.rbegin(); it != lines.rend(); ++it)
            if (it->find(k) != std::string::npos) return clip(*it);
    for (auto it = lines.rbegin(); it != lines.rend(); ++it)
        if (!isTraceLine(*it)) return clip(*it);
    return "";
}

std::string vmmReason(const std::string& vmm) {
    for (auto& l : fs::split(vmm, '\n')) {
        std::string t = fs::trim(l);
        if (!t.empty()) return clip(t);  // QEMU says why first; the rest is an abort's trail
    }
    return "";
}

}  // namespace

std::string stripTimestamp(const std::string& line) {
    if (line.empty() || line[0] != '[') return line;
    auto close = line.find(']');
    if (close == std::string::npos || close > 20) return line;
    return line.substr(close + 1);
}

std::string bootFailureReason(const std::string& console, const std::string& vmm) {
    std::string out;
    if (std::string r = vmmReason(vmm); !r.empty()) out += " [vmm.log: " + r + "]";
    if (std::string r = consoleReason(console); !r.empty()) out += " [console.log: " + r + "]";
    return out;
}

}  // namespace berth::vm::wire
