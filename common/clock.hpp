// common/clock: wall-clock timestamps in the one format berth writes everywhere (RFC 3339,
// UTC, nanoseconds), as runc writes them in state and logs.
#pragma once

#include <string>

namespace berth {

std::string rfc3339Now();

}  // namespace berth
