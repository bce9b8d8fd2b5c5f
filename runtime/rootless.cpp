// rootless: deciding rootless mode and the state root the way runc does (its main.go and
// rootless_linux.go: rootless when not root, or root only inside a user namespace).
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "common/fs.hpp"
#include "runtime/runtime.hpp"

namespace berth::runtime {
namespace {

// The host's user namespace maps every id: "0 0 4294967295".
bool inUserNamespace() {
    auto map = fs::readFile("/proc/self/uid_map");
    if (!map) return false;
    std::istringstream in(*map);
    unsigned long inside = 0, outside = 0, count = 0;
    in >> inside >> outside >> count;
    return !(inside == 0 && outside == 0 && count == 4294967295UL);
}

}  // namespace

Result<bool> resolveRootless(const std::string& value) {
    if (value == "true") return true;
    if (value == "false") return false;
    if (value != "auto" && !value.empty())
        return Error::make("--rootless: invalid value \"", value, "\" (want true, false or auto)");
    return ::geteuid() != 0 || inUserNamespace();
}

// runc's shouldHonorXDGRuntimeDir: not root, or root of a user namespace (rootless podman runs
// the runtime so) unless $USER is root; the host's root keeps /run/berth.
std::string defaultStateRoot() {
    const char* xdg = std::getenv("XDG_RUNTIME_DIR");
    if (!xdg || !*xdg) return "/run/berth";
    const char* user = std::getenv("USER");
    bool honour = ::geteuid() != 0 || (inUserNamespace() && !(user && std::string(user) == "root"));
    return honour ? std::string(xdg) + "/berth" : "/run/berth";
}

}  // namespace berth::runtime
