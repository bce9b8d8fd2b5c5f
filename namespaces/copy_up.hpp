// namespaces/copy_up: "tmpcopyup" — copying what a tmpfs covers into it (files, directories,
// symlinks, device nodes, fifos, with modes, owners and times), all through directory fds.
#pragma once

#include <string>

#include "common/error.hpp"

namespace berth::namespaces {

// Copy the contents of directory `srcDir` into the (empty) directory `dstDir`, recursively,
// never following symlinks; `shown` names the directory in errors. Hard links are copied as
// separate files.
Status copyDirectoryContents(int srcDir, int dstDir, const std::string& shown);

}  // namespace berth::namespaces
