// common/command: run a host tool (mkfs.ext4, nft, ps, lxcfs helpers...) without a shell — argv
// as given, stdin from a string, stdout returned, stderr kept for the error line.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"

namespace berth {

// Run args (args[0] looked up in PATH) with `input` on its stdin. Returns its stdout. An exit
// status above maxOkStatus (e2fsck: 1 and 2 mean "errors corrected"), or death by a signal, is
// an error "<tool> failed: <last line of its stderr, else of its stdout>".
Result<std::string> runCommand(const std::vector<std::string>& args, const std::string& input = "",
                               int maxOkStatus = 0);

}  // namespace berth
