// vps/host_command: runs the host tools the VPS host side needs (nft, mkfs.ext4, resize2fs,
// e2fsck, lxcfs) without a shell: argv as given, optional stdin text, stderr kept for the error.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"

namespace berth::vps {

// Run args (args[0] looked up in PATH); stdin gets `input`. Returns stdout. An exit status above
// maxOkStatus (e2fsck: 1 and 2 mean "errors corrected") is an error whose message is
// "<tool> failed: <last stderr line>".
Result<std::string> runHostCommand(const std::vector<std::string>& args,
                                   const std::string& input = "", int maxOkStatus = 0);

}  // namespace berth::vps
