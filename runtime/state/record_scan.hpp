// runtime/state/record_scan: a direct reader of the state.json this build writes, for the views
// that read many records (`list` of a thousand containers, `state`). nlohmann's DOM costs ~90k
// instructions per record (a std::map node per member, then the typed copy); this scanner reads
// the members straight into ContainerState.
//
// It is deliberately narrow: anything outside the shape stateText writes — an unknown member, a
// \u escape, a float, a record holding its config (an older build's), a missing member — makes it
// answer nullopt, and the caller parses the text with nlohmann as before, so every odd or
// corrupt record gets exactly the old result and error line.
#pragma once

#include <optional>
#include <string_view>

#include "runtime/state/state.hpp"

namespace berth::runtime::state::detail {

// summary: skip the cgroup paths and the made parents (what parseStateSummary leaves out).
std::optional<ContainerState> scanRecord(std::string_view text, bool summary);

}  // namespace berth::runtime::state::detail
