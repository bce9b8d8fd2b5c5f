// sd-bus calls to org.freedesktop.systemd1.Manager. Messages, errors and slots are owned by
// RAII holders; a job is waited for by matching the JobRemoved signal against its object path
// (the match is installed before the call, so a job that finishes at once is not missed).
#include "cgroups/systemd/bus.hpp"

#include "cgroups/systemd/sd_bus_api.hpp"

#include <unistd.h>

#include <cstdlib>
#include <map>

#include "common/log.hpp"

namespace berth::cgroups::systemd {
namespace {

constexpr const char* kDest = "org.freedesktop.systemd1";
constexpr const char* kPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";
constexpr const char* kNoSuchUnit = "org.freedesktop.systemd1.NoSuchUnit";
constexpr const char* kUnitExists = "org.freedesktop.systemd1.UnitExists";

struct MessageUnref {
    void operator()(sd_bus_message* m) const { sd().sd_bus_message_unref(m); }
};
using MessagePtr = std::unique_ptr<sd_bus_message, MessageUnref>;

struct SlotUnref {
    void operator()(sd_bus_slot* s) const { sd().sd_bus_slot_unref(s); }
};
using SlotPtr = std::unique_ptr<sd_bus_slot, SlotUnref>;

// sd_bus_error is a plain struct with heap strings: free them on every path.
struct BusError {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    BusError() = default;
    BusError(const BusError&) = delete;
    BusError& operator=(const BusError&) = delete;
    ~BusError() {
        if (sd().sd_bus_error_free) sd().sd_bus_error_free(&e);
    }
    std::string name() const { return e.name ? e.name : ""; }
};

struct Freed {
    void operator()(char* p) const { std::free(p); }
};

int appendValue(sd_bus_message* m, const PropertyValue& value) {
    return std::visit(
        [m](const auto& v) -> int {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::string>) {
                return sd().sd_bus_message_append(m, "s", v.c_str());
            } else if constexpr (std::is_same_v<T, bool>) {
                return sd().sd_bus_message_append(m, "b", int(v));
            } else if constexpr (std::is_same_v<T, uint64_t>) {
                return sd().sd_bus_message_append(m, "t", v);
            } else if constexpr (std::is_same_v<T, std::vector<uint32_t>>) {
                return sd().sd_bus_message_append_array(m, 'u', v.data(), v.size() * sizeof(uint32_t));
            } else if constexpr (std::is_same_v<T, std::vector<uint8_t>>) {
                return sd().sd_bus_message_append_array(m, 'y', v.data(), v.size());
            } else {
                int r = sd().sd_bus_message_open_container(m, 'a', "(ss)");
                for (size_t i = 0; r >= 0 && i < v.size(); i++)
                    r = sd().sd_bus_message_append(m, "(ss)", v[i].first.c_str(), v[i].second.c_str());
                return r < 0 ? r : sd().sd_bus_message_close_container(m);
            }
        },
        value);
}

// a(sv): what StartTransientUnit and SetUnitProperties take.
int appendProperties(sd_bus_message* m, const std::vector<Property>& props) {
    int r = sd().sd_bus_message_open_container(m, 'a', "(sv)");
    for (size_t i = 0; r >= 0 && i < props.size(); i++) {
        const Property& p = props[i];
        r = sd().sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0) r = sd().sd_bus_message_append(m, "s", p.name.c_str());
        if (r >= 0) r = sd().sd_bus_message_open_container(m, 'v', signatureOf(p.value));
        if (r >= 0) r = appendValue(m, p.value);
        if (r >= 0) r = sd().sd_bus_message_close_container(m);
        if (r >= 0) r = sd().sd_bus_message_close_container(m);
    }
    return r < 0 ? r : sd().sd_bus_message_close_container(m);
}

Error busError(const std::string& method, const std::string& unit, int r, const BusError& err) {
    std::string what = err.e.message ? err.e.message : std::strerror(-r);
    return Error(sd().sd_bus_error_get_errno(&err.e) ? sd().sd_bus_error_get_errno(&err.e) : -r,
                 strCat("systemd: ", method, " ", unit, ": ", what))
        .hideErrno();
}

}  // namespace

struct Bus::Jobs {
    SlotPtr slot;
    std::map<std::string, std::string> finished;  // job object path -> result
};

namespace {
int onJobRemoved(sd_bus_message* m, void* userdata, sd_bus_error*) {
    uint32_t id = 0;
    const char *job = nullptr, *unit = nullptr, *result = nullptr;
    if (sd().sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) < 0) return 0;
    static_cast<Bus::Jobs*>(userdata)->finished[job] = result;
    return 0;
}

// A method call on the manager object: fill appends the arguments. errName gets the D-Bus
// error name on failure so callers can tell "no such unit" from real failures.
struct Call {
    sd_bus* bus;
    const char* method;
    const std::string& unit;
    std::string errName;

    template <typename F>
    Result<MessagePtr> run(F&& fill) {
        sd_bus_message* raw = nullptr;
        int r = sd().sd_bus_message_new_method_call(bus, &raw, kDest, kPath, kManager, method);
        MessagePtr msg(raw);
        if (r >= 0) r = fill(msg.get());
        BusError err;
        if (r < 0) return busError(method, unit, r, err);
        sd_bus_message* reply = nullptr;
        r = sd().sd_bus_call(bus, msg.get(), std::chrono::microseconds(Bus::kJobTimeout).count(), &err.e, &reply);
        MessagePtr owned(reply);
        if (r < 0) {
            errName = err.name();
            return busError(method, unit, r, err);
        }
        return owned;
    }
};

// The object path a method returned (a job for Start/StopUnit, a unit for GetUnit).
Result<std::string> readPath(const char* method, const std::string& unit, sd_bus_message* reply) {
    const char* job = nullptr;
    int r = sd().sd_bus_message_read(reply, "o", &job);
    if (r < 0) return busError(method, unit, r, BusError());
    return std::string(job);
}

}  // namespace

Result<Bus> Bus::connect() {
    TRY(loadSdBusApi());
    sd_bus* raw = nullptr;
    int r = sd().sd_bus_open_system(&raw);
    if (r < 0 && ::geteuid() == 0) {
        // No dbus-daemon: systemd's own socket speaks the same protocol to root (systemctl).
        log::debug("systemd: no system bus (", std::strerror(-r), "); trying /run/systemd/private");
        int r2 = sd().sd_bus_new(&raw);
        if (r2 >= 0) r2 = sd().sd_bus_set_address(raw, "unix:path=/run/systemd/private");
        if (r2 >= 0) r2 = sd().sd_bus_start(raw);
        if (r2 < 0) {
            sd().sd_bus_unref(raw);
            raw = nullptr;
        } else {
            r = r2;
        }
    }
    if (r < 0) return Error(-r, "systemd: connect to the system bus");
    Bus bus(raw);
    bus.jobs_ = std::make_unique<Jobs>();
    sd_bus_slot* slot = nullptr;
    r = sd().sd_bus_match_signal(raw, &slot, kDest, kPath, kManager, "JobRemoved", onJobRemoved, bus.jobs_.get());
    if (r < 0) return Error(-r, "systemd: subscribe to JobRemoved");
    bus.jobs_->slot.reset(slot);
    // Without a subscription systemd still tells the job's creator; Subscribe makes it certain.
    BusError err;
    sd_bus_message* reply = nullptr;
    if (sd().sd_bus_call_method(raw, kDest, kPath, kManager, "Subscribe", &err.e, &reply, "") >= 0)
        sd().sd_bus_message_unref(reply);
    return bus;
}

Bus::Bus(sd_bus* bus) : bus_(bus) {}

Bus::Bus(Bus&& o) noexcept : bus_(std::exchange(o.bus_, nullptr)), jobs_(std::move(o.jobs_)) {}

Bus& Bus::operator=(Bus&& o) noexcept {
    if (this != &o) {
        jobs_.reset();
        if (bus_) sd().sd_bus_flush_close_unref(bus_);
        bus_ = std::exchange(o.bus_, nullptr);
        jobs_ = std::move(o.jobs_);
    }
    return *this;
}

Bus::~Bus() {
    jobs_.reset();  // the match slot before the bus it belongs to
    if (bus_) sd().sd_bus_flush_close_unref(bus_);
}

Status Bus::waitForJob(const std::string& method, const std::string& unit, const std::string& job) {
    auto deadline = std::chrono::steady_clock::now() + kJobTimeout;
    for (;;) {
        auto it = jobs_->finished.find(job);
        if (it != jobs_->finished.end()) {
            std::string result = it->second;
            jobs_->finished.erase(it);
            if (result == "done") return {};
            return Error::make("systemd: ", method, " ", unit, ": the job finished as \"", result, "\"");
        }
        int r = sd().sd_bus_process(bus_, nullptr);
        if (r < 0) return Error(-r, strCat("systemd: ", method, " ", unit, ": waiting for job ", job));
        if (r > 0) continue;
        auto left = deadline - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero())
            return Error(ETIMEDOUT, strCat("systemd: ", method, " ", unit, ": no JobRemoved for ", job,
                                           " within ", kJobTimeout.count(), " s"))
                .hideErrno();
        r = sd().sd_bus_wait(bus_, std::chrono::duration_cast<std::chrono::microseconds>(left).count());
        if (r < 0) return Error(-r, strCat("systemd: ", method, " ", unit, ": waiting for job ", job));
    }
}

Status Bus::startTransientUnit(const std::string& unit, const std::vector<Property>& props) {
    for (int attempt = 0;; attempt++) {
        Call call{bus_, "StartTransientUnit", unit, ""};
        auto reply = call.run([&](sd_bus_message* m) {
            int r = sd().sd_bus_message_append(m, "ss", unit.c_str(), "replace");
            if (r >= 0) r = appendProperties(m, props);
            return r < 0 ? r : sd().sd_bus_message_append(m, "a(sa(sv))", 0);
        });
        if (!reply) {
            // A failed unit of that name lingers until reset: reset it and retry once (runc).
            if (call.errName == kUnitExists && attempt == 0) {
                (void)resetFailedUnit(unit);
                continue;
            }
            return std::move(reply).error();
        }
        ASSIGN_OR_RETURN(std::string job, readPath("StartTransientUnit", unit, reply->get()));
        Status st = waitForJob("StartTransientUnit", unit, job);
        if (!st) (void)resetFailedUnit(unit);
        return st;
    }
}

Status Bus::stopUnit(const std::string& unit) {
    Call call{bus_, "StopUnit", unit, ""};
    auto reply = call.run([&](sd_bus_message* m) {
        return sd().sd_bus_message_append(m, "ss", unit.c_str(), "replace");
    });
    if (!reply) {
        if (call.errName == kNoSuchUnit) return {};
        return std::move(reply).error();
    }
    ASSIGN_OR_RETURN(std::string job, readPath("StopUnit", unit, reply->get()));
    Status st = waitForJob("StopUnit", unit, job);
    // A failed stop leaves a failed unit behind: let systemd forget it either way (runc).
    (void)resetFailedUnit(unit);
    // A job that ended other than "done" (e.g. "canceled"): runc warns and goes on to cgroupfs.
    if (!st && st.error().err() != ETIMEDOUT) {
        log::debug(st.error().what(), "; continuing");
        return {};
    }
    return st;
}

Status Bus::resetFailedUnit(const std::string& unit) {
    Call call{bus_, "ResetFailedUnit", unit, ""};
    auto reply = call.run([&](sd_bus_message* m) { return sd().sd_bus_message_append(m, "s", unit.c_str()); });
    if (!reply && call.errName != kNoSuchUnit) return std::move(reply).error();
    return {};
}

Status Bus::setUnitProperties(const std::string& unit, const std::vector<Property>& props) {
    Call call{bus_, "SetUnitProperties", unit, ""};
    auto reply = call.run([&](sd_bus_message* m) {
        int r = sd().sd_bus_message_append(m, "sb", unit.c_str(), 1);
        return r < 0 ? r : appendProperties(m, props);
    });
    if (!reply) return std::move(reply).error();
    return {};
}

Result<std::string> Bus::controlGroup(const std::string& unit) {
    Call call{bus_, "GetUnit", unit, ""};
    auto reply = call.run([&](sd_bus_message* m) { return sd().sd_bus_message_append(m, "s", unit.c_str()); });
    if (!reply) return std::move(reply).error();
    ASSIGN_OR_RETURN(std::string path, readPath("GetUnit", unit, reply->get()));
    BusError err;
    char* raw = nullptr;
    int r = sd().sd_bus_get_property_string(bus_, kDest, path.c_str(), "org.freedesktop.systemd1.Scope",
                                       "ControlGroup", &err.e, &raw);
    std::unique_ptr<char, Freed> value(raw);
    if (r < 0) return busError("Get ControlGroup", unit, r, err);
    return std::string(value ? value.get() : "");
}

int Bus::version() {
    BusError err;
    char* raw = nullptr;
    int r = sd().sd_bus_get_property_string(bus_, kDest, kPath, kManager, "Version", &err.e, &raw);
    std::unique_ptr<char, Freed> value(raw);
    if (r < 0 || !value) return 0;
    const char* p = value.get();
    while (*p == 'v' || *p == '"') p++;
    return std::atoi(p);
}

}  // namespace berth::cgroups::systemd
