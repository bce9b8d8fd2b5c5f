#include "cgroups/systemd/sd_bus_api.hpp"

#include <dlfcn.h>

#include <mutex>

namespace berth::cgroups::systemd {

namespace {

SdBusApi gApi;

#define BERTH_SD_BUS_LOAD(name)                                                        \
    gApi.name = reinterpret_cast<decltype(gApi.name)>(::dlsym(h, #name));              \
    if (!gApi.name) return Error::make("systemd: symbol ", #name, " missing from libsystemd.so.0");

Status load() {
    // RTLD_LOCAL: nothing else in berth resolves against it; the handle is kept for the
    // process's life (the bus and its slots hold pointers into the library).
    void* h = ::dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!h) return Error::make("systemd: cannot load libsystemd.so.0 (needed by --systemd-cgroup): ", ::dlerror());
    BERTH_SD_BUS_FUNCS(BERTH_SD_BUS_LOAD)
    return {};
}

}  // namespace

Status loadSdBusApi() {
    static std::once_flag once;
    static Status result;
    std::call_once(once, [] { result = load(); });
    return result;
}

const SdBusApi& sd() { return gApi; }

}  // namespace berth::cgroups::systemd
