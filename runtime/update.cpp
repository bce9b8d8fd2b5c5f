// update: change a live container's limits — runc's flags or a linux.resources document — through
// its handler (its cgroup), then record them in the container's saved config so later reads agree.
#include <unistd.h>

#include <iostream>
#include <iterator>

#include "cgroups/resources.hpp"
#include "common/fs.hpp"
#include "common/json.hpp"
#include "runtime/container.hpp"
#include "runtime/handler.hpp"

namespace berth::runtime {
namespace {
using nlohmann::json;

Result<json> readResources(const std::string& file) {
    std::string text;
    if (file == "-") {
        text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
        ASSIGN_OR_RETURN(text, fs::readFile(file));
    }
    std::string what = strCat("update: --resources ", file == "-" ? "(stdin)" : file);
    ASSIGN_OR_RETURN(json r, parseJson(text, what));
    if (!r.is_object()) return Error::make(what, ": not a JSON object (expected linux.resources)");
    return r;
}

// runc's flags as a linux.resources object; zero means "unchanged" as with runc.
json resourcesFromFlags(const UpdateOptions& o) {
    json r = json::object();
    auto set = [&](const char* obj, const char* key, const std::optional<int64_t>& v) {
        if (v && *v != 0) r[obj][key] = *v;
    };
    set("blockIO", "weight", o.blkioWeight);
    set("cpu", "period", o.cpuPeriod);
    set("cpu", "quota", o.cpuQuota);
    set("cpu", "shares", o.cpuShares);
    set("cpu", "realtimePeriod", o.cpuRtPeriod);
    set("cpu", "realtimeRuntime", o.cpuRtRuntime);
    if (o.cpuIdle) r["cpu"]["idle"] = *o.cpuIdle;
    if (o.cpusetCpus) r["cpu"]["cpus"] = *o.cpusetCpus;
    if (o.cpusetMems) r["cpu"]["mems"] = *o.cpusetMems;
    set("memory", "limit", o.memory);
    set("memory", "reservation", o.memoryReservation);
    set("memory", "swap", o.memorySwap);
    set("memory", "kernel", o.kernelMemory);
    set("memory", "kernelTCP", o.kernelMemoryTcp);
    set("pids", "limit", o.pidsLimit);
    return r;
}

// Overlay the update on the recorded resources: objects merge member by member, and zero
// values (runc's "unset") do not overwrite.
void mergeInto(json& into, const json& patch) {
    for (auto& [key, value] : patch.items()) {
        if (value.is_object() && into.contains(key) && into[key].is_object()) {
            mergeInto(into[key], value);
        } else if (!(value.is_number() && value == 0) && !value.is_null()) {
            into[key] = value;
        }
    }
}

}  // namespace

Status update(const GlobalOptions& g, const UpdateOptions& o) {
    if (o.l3CacheSchema || o.memBwSchema)
        return Error::make("update: Intel RDT (--l3-cache-schema, --mem-bw-schema) is not supported by berth");
    json r;
    if (!o.resourcesFile.empty()) {
        ASSIGN_OR_RETURN(r, readResources(o.resourcesFile));
    } else {
        r = resourcesFromFlags(o);
    }
    // Device rules are set once at create (runc's update ignores them too): re-applying them
    // would briefly deny every device to the running container.
    r.erase("devices");
    state::Store store(g.root);
    ASSIGN_OR_RETURN(state::Lock lock, store.lock(o.id));
    ASSIGN_OR_RETURN(state::ContainerState st, store.load(o.id));
    auto live = store.liveStatus(st);
    if (live == state::ContainerStatus::Stopped || live == state::ContainerStatus::Creating)
        return Error::make("cannot update container \"", o.id, "\": it is ", state::statusName(live));
    ASSIGN_OR_RETURN(Handler * h, handlerOf(st));
    TRY(h->update({st, store.dir(o.id), live}, r));
    if (st.config.is_object()) {
        json& lr = st.config["linux"]["resources"];
        if (!lr.is_object()) lr = json::object();
        mergeInto(lr, r);
        TRY_CTX(store.saveConfig(o.id, st.config.dump()), "update: the limits are applied but not recorded");
    }
    return {};
}

}  // namespace berth::runtime
