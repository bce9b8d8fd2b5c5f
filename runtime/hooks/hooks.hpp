// runtime/hooks/hooks: running OCI hooks — the state JSON on stdin, the hook's own env and args,
// a timeout after which the hook is killed, and its failure reported with its path.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/spec/spec.hpp"

namespace berth::runtime::hooks {

// Run hooks in order; the first failure stops the list and is returned.
Status run(const std::vector<spec::Hook>& hooks, const std::string& stateJson, const char* phase);
// Run every hook even if some fail (poststop: failures are only logged, per the spec).
void runAllLogging(const std::vector<spec::Hook>& hooks, const std::string& stateJson,
                   const char* phase);

}  // namespace berth::runtime::hooks
