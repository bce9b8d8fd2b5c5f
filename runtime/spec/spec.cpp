// runtime/spec/spec: config.json from text or a bundle to the typed Spec — the top level
// (version, root, mounts, annotations); sections live in process.cpp, linux.cpp, hooks.cpp.
#include "runtime/spec/spec.hpp"

#include <algorithm>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>

#include "common/fs.hpp"
#include "common/json.hpp"
#include "runtime/spec/sections.hpp"

namespace berth::runtime::spec::detail {

namespace {

// SemVer MAJOR.MINOR[.PATCH][-pre][+build]; runc 1.1 itself writes "1.0.2-dev". Minor versions
// only add fields (ignored when unknown), so any 1.x is read; another major is refused.
Status parseVersion(const Ctx& c, const json& j, std::string& out) {
    TRY(requireString(c, j, "ociVersion", "", out));
    size_t dot = out.find('.');
    auto digits = [](const std::string& s) {
        return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
    };
    std::string major = out.substr(0, dot);
    std::string minor = dot == std::string::npos ? "" : out.substr(dot + 1);
    minor = minor.substr(0, minor.find_first_of(".-+"));
    if (!digits(major) || !digits(minor))
        return fail(c, "ociVersion", "invalid version ", describe(out),
                    " (expected MAJOR.MINOR.PATCH)");
    if (major != "1")
        return fail(c, "ociVersion", "unsupported version ", describe(out),
                    " (berth supports 1.0 to 1.2)");
    return {};
}

Status parseRoot(const Ctx& c, const json& j, Root& root) {
    const json* v = find(j, "root");
    if (!v) return fail(c, "root", "is required");
    TRY(expectObject(c, *v, "root"));
    TRY(requireString(c, *v, "path", "root", root.path));
    return readBool(c, *v, "readonly", "root", root.readonly);
}

Status parseMountMappings(const Ctx& c, const json& v, std::string_view key,
                          const std::string& path, std::vector<IdMapping>& out) {
    const json* m = find(v, key);
    if (!m) return {};
    return parseIdMappings(c, *m, at(path, key), out);
}

Status parseMount(const Ctx& c, const json& v, const std::string& path, Mount& m) {
    TRY(expectObject(c, v, path));
    TRY(requireString(c, v, "destination", path, m.destination));
    // runtime-spec 1.1 deprecates but allows relative destinations and runc takes them as
    // relative to "/" with a warning; do the same so the runtime only ever sees absolute ones.
    if (!isAbsolute(m.destination)) {
        warn(c, at(path, "destination"), "relative destination ", describe(m.destination),
             " is deprecated; using it relative to /");
        m.destination = "/" + m.destination;
    }
    TRY(readString(c, v, "type", path, m.type));
    TRY(readString(c, v, "source", path, m.source));
    TRY(readStringArray(c, v, "options", path, m.options));
    TRY(parseMountMappings(c, v, "uidMappings", path, m.uidMappings));
    return parseMountMappings(c, v, "gidMappings", path, m.gidMappings);
}

Status parseMounts(const Ctx& c, const json& j, std::vector<Mount>& out) {
    const json* v = find(j, "mounts");
    if (!v) return {};
    TRY(expectArray(c, *v, "mounts"));
    out.resize(v->size());
    for (size_t i = 0; i < v->size(); ++i) TRY(parseMount(c, (*v)[i], at("mounts", i), out[i]));
    return {};
}

Status parseDocument(const Ctx& c, const json& j, Spec& s) {
    if (!j.is_object()) return fail(c, "", "must be a JSON object, got ", describe(j));
    TRY(parseVersion(c, j, s.ociVersion));
    if (const json* p = find(j, "process")) {
        ASSIGN_OR_RETURN(s.process, parseProcessAt(c, *p, "process"));
        s.warnings.insert(s.warnings.end(), s.process->warnings.begin(), s.process->warnings.end());
    }
    TRY(parseRoot(c, j, s.root));
    TRY(readString(c, j, "hostname", "", s.hostname));
    TRY(readString(c, j, "domainname", "", s.domainname));
    TRY(parseMounts(c, j, s.mounts));
    if (const json* h = find(j, "hooks")) TRY(parseHooksAt(c, *h, "hooks", s.hooks));
    TRY(readStringMap(c, j, "annotations", "", s.annotations));
    if (const json* l = find(j, "linux")) {
        ASSIGN_OR_RETURN(s.linux, parseLinuxAt(c, *l, "linux"));
    }
    return validateSpec(c, s);
}

Result<std::string> absolutePath(const std::string& path) {
    if (isAbsolute(path)) return fs::cleanPath(path);
    char cwd[PATH_MAX];
    if (!::getcwd(cwd, sizeof cwd)) return Error::fromErrno("getcwd");
    return fs::cleanPath(fs::joinPath(cwd, path));
}

// root.path relative to the bundle, then canonical: later mount and pivot_root work on the
// directory itself, not on a symlink that could be swapped underneath.
Result<std::string> resolveRootfs(const std::string& bundle, const std::string& rootPath) {
    std::string path =
        fs::cleanPath(isAbsolute(rootPath) ? rootPath : fs::joinPath(bundle, rootPath));
    struct stat st;
    if (::stat(path.c_str(), &st) < 0) {
        if (errno == ENOENT) return Error::make("rootfs ", path, ": does not exist");
        return Error::fromErrno("rootfs ", path);
    }
    if (!S_ISDIR(st.st_mode)) return Error::make("rootfs ", path, ": is not a directory");
    char real[PATH_MAX];
    if (!::realpath(path.c_str(), real)) return Error::fromErrno("rootfs ", path);
    return std::string(real);
}

}  // namespace

Result<json> parseJsonText(const std::string& text, const std::string& what) { return parseJson(text, what); }

}  // namespace berth::runtime::spec::detail

namespace berth::runtime::spec {

Result<Spec> parse(const std::string& text, const std::string& what) {
    ASSIGN_OR_RETURN(detail::json j, detail::parseJsonText(text, what));
    Spec s;
    TRY(detail::parseDocument(detail::Ctx{what, &s.warnings}, j, s));
    s.document = std::move(j);
    return s;
}

Result<Spec> loadFromBundle(const std::string& bundleDir) {
    ASSIGN_OR_RETURN(std::string bundle, detail::absolutePath(bundleDir));
    std::string file = fs::joinPath(bundle, "config.json");
    auto text = fs::readFile(file);
    if (!text.ok()) return std::move(text.error().context("config.json"));
    ASSIGN_OR_RETURN(Spec s, parse(*text, "config.json"));
    s.sourceText = std::move(*text);
    ASSIGN_OR_RETURN(s.root.path, detail::resolveRootfs(bundle, s.root.path));
    // In a mount namespace of its own, the host's root cannot be pivoted away from (pivot_root
    // says only "Device or resource busy"), and a container on it would be the host. Without
    // one, "/" is the host's tree the container shares by design.
    bool ownMountNs = s.linux && std::any_of(s.linux->namespaces.begin(), s.linux->namespaces.end(),
                                             [](const Namespace& n) { return n.type == "mount" && n.path.empty(); });
    if (s.root.path == "/" && ownMountNs)
        return Error::make("invalid rootfs: ", bundle, "'s root.path resolves to the host's /");
    return s;
}

}  // namespace berth::runtime::spec
