// cli/json_order: berth's JSON output in runc's field order. nlohmann::json keeps keys sorted;
// runc prints Go struct fields in declaration order, and scripts grep that order.
#pragma once

#include <nlohmann/json.hpp>

namespace berth::cli {

enum class JsonShape {
    State,  // state and each object of list -f json (runc's containerState)
    Event,  // events: {"type","id","data"} with data in runc's types.Stats order
};

// The same value with object keys in runc's order; keys runc does not know follow, sorted.
nlohmann::ordered_json inRuncOrder(const nlohmann::json& j, JsonShape shape);

}  // namespace berth::cli
