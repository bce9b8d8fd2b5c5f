// runtime/spec/sections: the per-section parsers behind spec::parse, split by file (process.cpp,
// linux.cpp, spec.cpp) and the cross-field checks (validate.cpp). Internal to runtime/spec.
#pragma once

#include <string>

#include "runtime/spec/reader.hpp"
#include "runtime/spec/spec.hpp"

namespace berth::runtime::spec::detail {

// Text to JSON; a syntax error becomes "<what>: invalid JSON: <reason> at line L, column C".
Result<json> parseJsonText(const std::string& text, const std::string& what);

// `path` is where the section sits in its document ("process" in config.json, "" standalone).
Result<Process> parseProcessAt(const Ctx& c, const json& v, const std::string& path);
Result<Linux> parseLinuxAt(const Ctx& c, const json& v, const std::string& path);
// An array of {containerID, hostID, size} (linux.uidMappings, and mounts[].uidMappings).
Status parseIdMappings(const Ctx& c, const json& v, const std::string& path,
                       std::vector<IdMapping>& out);
Status parseHooksAt(const Ctx& c, const json& v, const std::string& path, Hooks& out);

// Checks that span sections, mirroring runc's libcontainer/configs/validate: settings that need
// a namespace the config does not ask for, and sysctls that would leak into the host.
Status validateSpec(const Ctx& c, const Spec& s);

}  // namespace berth::runtime::spec::detail
