// cli/help: berth's --help in runc's (urfave/cli's) shape — NAME:, USAGE:, COMMANDS:, OPTIONS:
// (GLOBAL OPTIONS: at the top) sections, one entry a line — stable text man pages are made from.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

namespace berth::cli {

std::shared_ptr<CLI::FormatterBase> helpFormatter();

}  // namespace berth::cli
