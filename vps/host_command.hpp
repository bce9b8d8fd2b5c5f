// vps/host_command: the host tools the VPS host side runs (nft, mkfs.ext4, resize2fs, e2fsck,
// cp) go through common/command's runCommand.
#pragma once

#include "common/command.hpp"

namespace berth::vps {

inline Result<std::string> runHostCommand(const std::vector<std::string>& args,
                                          const std::string& input = "", int maxOkStatus = 0) {
    return runCommand(args, input, maxOkStatus);
}

}  // namespace berth::vps
