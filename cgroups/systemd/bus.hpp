// cgroups/systemd/bus: the sd-bus connection to systemd's manager (org.freedesktop.systemd1) —
// transient units started and stopped with their jobs waited for, unit properties set and read.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cgroups/systemd/properties.hpp"
#include "common/error.hpp"

struct sd_bus;

namespace berth::cgroups::systemd {

// Every failure reads "systemd: <Method> <unit>: <what systemd said>".
class Bus {
public:
    // The system bus (dbus-daemon); as root without one, systemd's private socket, as systemctl.
    static Result<Bus> connect();
    Bus(Bus&&) noexcept;
    Bus& operator=(Bus&&) noexcept;
    ~Bus();

    // StartTransientUnit(unit, "replace", props, []) and wait for its job: "done" or an error
    // naming the job's result. A leftover failed unit of that name is reset and retried once.
    Status startTransientUnit(const std::string& unit, const std::vector<Property>& props);
    // StopUnit(unit, "replace") and wait; a unit that no longer exists is already stopped.
    Status stopUnit(const std::string& unit);
    Status resetFailedUnit(const std::string& unit);
    // SetUnitProperties(unit, runtime=true, props): `update` on a running container.
    Status setUnitProperties(const std::string& unit, const std::vector<Property>& props);
    // The unit's ControlGroup ("/system.slice/x.scope"); "" if systemd reports none.
    Result<std::string> controlGroup(const std::string& unit);
    // The manager's Version as a number (252 for "252.38-1~deb12u1"); 0 if unreadable.
    int version();

    static constexpr std::chrono::seconds kJobTimeout{30};
    struct Jobs;  // JobRemoved results seen so far (the signal callback fills it)

private:
    explicit Bus(sd_bus* bus);
    Status waitForJob(const std::string& method, const std::string& unit, const std::string& job);
    sd_bus* bus_ = nullptr;
    std::unique_ptr<Jobs> jobs_;
};

}  // namespace berth::cgroups::systemd
