// cgroups/systemd/sd_bus_api: libsystemd's sd-bus, loaded with dlopen when the systemd driver
// first connects. Linked normally, libsystemd and what it needs (libgcrypt, libgpg-error, liblzma,
// libzstd, liblz4) were loaded and relocated by every berth start, --systemd-cgroup or not.
#pragma once

#include <systemd/sd-bus.h>

#include "common/error.hpp"

namespace berth::cgroups::systemd {

#define BERTH_SD_BUS_FUNCS(X)                                                                      \
    X(sd_bus_call) X(sd_bus_call_method) X(sd_bus_error_free) X(sd_bus_error_get_errno)            \
    X(sd_bus_flush_close_unref) X(sd_bus_get_property_string) X(sd_bus_match_signal)               \
    X(sd_bus_message_append) X(sd_bus_message_append_array) X(sd_bus_message_close_container)      \
    X(sd_bus_message_new_method_call) X(sd_bus_message_open_container) X(sd_bus_message_read)      \
    X(sd_bus_message_unref) X(sd_bus_new) X(sd_bus_open_system) X(sd_bus_process)                  \
    X(sd_bus_set_address) X(sd_bus_slot_unref) X(sd_bus_start) X(sd_bus_unref) X(sd_bus_wait)

#define BERTH_SD_BUS_MEMBER(name) decltype(&::name) name = nullptr;

struct SdBusApi {
    BERTH_SD_BUS_FUNCS(BERTH_SD_BUS_MEMBER)
};

// Loads libsystemd.so.0 once (thread-safe); the error names the library or the symbol missing.
Status loadSdBusApi();
// Valid after a successful load.
const SdBusApi& sd();

}  // namespace berth::cgroups::systemd
