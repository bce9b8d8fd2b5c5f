#include "cli/json_order.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace berth::cli {
namespace {

using Order = std::vector<std::string>;

// Key order per object path ("" is the top object; array elements share their array's path;
// "*" stands for any one key, e.g. a hugetlb page size). From runc 1.1's utils_linux.go
// containerState and types/events.go.
const std::map<std::string, Order>& orders(JsonShape shape) {
    static const std::map<std::string, Order> state = {
        {"", {"ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "annotations", "owner"}},
    };
    static const std::map<std::string, Order> event = {
        {"", {"type", "id", "data"}},
        {"data", {"cpu", "cpuset", "memory", "pids", "blkio", "hugetlb", "intel_rdt", "network_interfaces"}},
        {"data.cpu", {"usage", "throttling"}},
        {"data.cpu.usage", {"total", "percpu", "percpu_kernel", "percpu_user", "kernel", "user"}},
        {"data.cpu.throttling", {"periods", "throttled_periods", "throttled_time"}},
        {"data.cpuset",
         {"cpus", "cpu_exclusive", "mems", "mem_hardwall", "mem_exclusive", "memory_migrate", "memory_spread_page",
          "memory_spread_slab", "memory_pressure", "sched_load_balance", "sched_relax_domain_level"}},
        {"data.memory", {"cache", "usage", "swap", "kernel", "kernelTCP", "raw"}},
        {"data.memory.*", {"limit", "usage", "max", "failcnt"}},
        {"data.pids", {"current", "limit"}},
        {"data.blkio",
         {"ioServiceBytesRecursive", "ioServicedRecursive", "ioQueueRecursive", "ioServiceTimeRecursive",
          "ioWaitTimeRecursive", "ioMergedRecursive", "ioTimeRecursive", "sectorsRecursive"}},
        {"data.blkio.*", {"major", "minor", "op", "value"}},
        {"data.hugetlb.*", {"usage", "max", "failcnt"}},
        {"data.network_interfaces",
         {"name", "rx_bytes", "rx_packets", "rx_errors", "rx_dropped", "tx_bytes", "tx_packets", "tx_errors",
          "tx_dropped"}},
    };
    return shape == JsonShape::State ? state : event;
}

const Order* orderFor(const std::map<std::string, Order>& table, const std::string& path) {
    if (auto it = table.find(path); it != table.end()) return &it->second;
    auto dot = path.rfind('.');
    if (dot == std::string::npos) return nullptr;
    auto it = table.find(path.substr(0, dot) + ".*");
    return it != table.end() ? &it->second : nullptr;
}

nlohmann::ordered_json scalar(const nlohmann::json& j) {
    switch (j.type()) {
        case nlohmann::json::value_t::string: return j.get<std::string>();
        case nlohmann::json::value_t::boolean: return j.get<bool>();
        case nlohmann::json::value_t::number_integer: return j.get<int64_t>();
        case nlohmann::json::value_t::number_unsigned: return j.get<uint64_t>();
        case nlohmann::json::value_t::number_float: return j.get<double>();
        default: return nullptr;
    }
}

nlohmann::ordered_json convert(const nlohmann::json& j, const std::map<std::string, Order>& table,
                               const std::string& path) {
    if (j.is_array()) {
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        for (auto& e : j) out.push_back(convert(e, table, path));
        return out;
    }
    if (!j.is_object()) return scalar(j);
    auto child = [&](const std::string& k) { return path.empty() ? k : path + "." + k; };
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    if (const Order* order = orderFor(table, path))
        for (auto& k : *order)
            if (j.contains(k)) out[k] = convert(j[k], table, child(k));
    for (auto& [k, v] : j.items())  // sorted: what runc's order does not name, and map keys
        if (!out.contains(k)) out[k] = convert(v, table, child(k));
    return out;
}

}  // namespace

nlohmann::ordered_json inRuncOrder(const nlohmann::json& j, JsonShape shape) {
    return convert(j, orders(shape), "");
}

}  // namespace berth::cli
