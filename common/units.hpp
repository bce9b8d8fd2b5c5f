// common/units: the human units runc's flags accept — byte sizes ("64m", "1.5g", docker's
// RAMInBytes: binary multiples) and Go durations ("5s", "250ms", "1m30s").
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/error.hpp"

namespace berth::units {

// "1024", "64k", "64m", "1g", "1.5GiB", "-1" (unlimited passes through). Case-insensitive.
Result<int64_t> parseBytes(const std::string& s);
// Go's time.ParseDuration subset: a sequence of <number><unit>, unit one of ns us ms s m h.
Result<std::chrono::nanoseconds> parseDuration(const std::string& s);

}  // namespace berth::units
