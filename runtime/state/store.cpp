#include <dirent.h>
#include <climits>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <optional>
#include <string_view>
#include <utility>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/json.hpp"
#include "runtime/state/state.hpp"
#include "runtime/state/record_scan.hpp"

namespace berth::runtime::state {

const char* statusName(ContainerStatus s) {
    switch (s) {
        case ContainerStatus::Creating: return "creating";
        case ContainerStatus::Created: return "created";
        case ContainerStatus::Running: return "running";
        case ContainerStatus::Paused: return "paused";
        case ContainerStatus::Stopped: return "stopped";
    }
    return "unknown";
}

static Result<ContainerStatus> statusFromName(const std::string& n) {
    for (auto s : {ContainerStatus::Creating, ContainerStatus::Created, ContainerStatus::Running, ContainerStatus::Paused, ContainerStatus::Stopped})
        if (n == statusName(s)) return s;
    // The value comes from the file: quoted as JSON (control characters escaped) and cut short,
    // so the error stays the one line the CLI prints.
    std::string shown = nlohmann::json(n).dump();
    if (shown.size() > 48) shown = shown.substr(0, 44) + "...\"";
    return Error::make("unknown status ", shown);
}

namespace {

// Every field but the config.json copy.
nlohmann::json toJsonWithoutConfig(const ContainerState& s) {
    return {{"id", s.id},
            {"pid", s.pid},
            {"pidStartTime", s.pidStartTime},
            {"creatorPid", s.creatorPid},
            {"creatorStartTime", s.creatorStartTime},
            {"bundle", s.bundle},
            {"rootfs", s.rootfs},
            {"created", s.created},
            {"owner", s.owner},
            {"annotations", s.annotations},
            {"saved", statusName(s.saved)},
            {"cgroupDriver", s.cgroup.driver},
            {"cgroupPaths", s.cgroup.paths},
            {"cgroupUnit", s.cgroup.unit},
            {"cgroupParentsMade", s.cgroup.madeParents},
            {"systemdCgroup", s.systemdCgroup},
            {"noPivot", s.noPivot},
            {"noNewKeyring", s.noNewKeyring},
            {"imageBundle", s.imageBundle},
            {"handler", s.handler}};
}

}  // namespace

nlohmann::json toJson(const ContainerState& s) {
    nlohmann::json j = toJsonWithoutConfig(s);
    j["config"] = s.config;
    return j;
}

namespace {

// state.json's text, written member by member: what toJsonWithoutConfig(s).dump() gives (the
// members in nlohmann's order, its escaping), without a tree of map nodes to build and free
// (~10x fewer instructions; it is written three times per create).
class RecordWriter {
public:
    explicit RecordWriter(size_t hint) { out_.reserve(hint); }

    void text(std::string_view name, std::string_view v) {
        key(name);
        string(name, v);
    }
    void integer(std::string_view name, int64_t v) {
        key(name);
        appendNumber(v);
    }
    void integer(std::string_view name, uint64_t v) {
        key(name);
        appendNumber(v);
    }
    void flag(std::string_view name, bool v) {
        key(name);
        out_ += v ? "true" : "false";
    }
    void map(std::string_view name, const std::map<std::string, std::string>& m) {
        key(name);
        char open = '{';
        for (auto& [k, v] : m) {
            out_ += open;
            open = ',';
            string(name, k);
            out_ += ':';
            string(name, v);
        }
        out_ += open == '{' ? "{}" : "}";
    }
    void array(std::string_view name, const std::vector<std::string>& a) {
        key(name);
        char open = '[';
        for (auto& v : a) {
            out_ += open;
            open = ',';
            string(name, v);
        }
        out_ += open == '[' ? "[]" : "]";
    }
    Result<std::string> finish() {
        if (error_) return std::move(*error_);
        out_ += '}';
        return std::move(out_);
    }

private:
    void key(std::string_view name) {
        out_ += out_.empty() ? '{' : ',';
        out_ += '"';
        out_ += name;  // the record's own member names: plain ASCII
        out_ += "\":";
    }
    void string(std::string_view name, std::string_view v) {
        if (auto bad = appendJsonString(out_, v); bad && !error_)
            error_ = Error::make("state record: ", name, " is not valid UTF-8 (byte ",
                                 static_cast<int>(static_cast<unsigned char>(v[*bad])), " at offset ", *bad, ")");
    }
    template <typename T>
    void appendNumber(T v) {
        char buf[24];
        auto r = std::to_chars(buf, buf + sizeof buf, v);
        out_.append(buf, r.ptr);
    }
    std::string out_;
    std::optional<Error> error_;
};

size_t textSize(const std::map<std::string, std::string>& m) {
    size_t n = 0;
    for (auto& [k, v] : m) n += k.size() + v.size() + 6;
    return n;
}

}  // namespace

Result<std::string> stateText(const ContainerState& s) {
    size_t hint = 400 + s.id.size() + s.bundle.size() + s.rootfs.size() + s.owner.size() + s.imageBundle.size() +
                  textSize(s.annotations) + textSize(s.cgroup.paths);
    for (auto& p : s.cgroup.madeParents) hint += p.size() + 3;
    // nlohmann's objects are std::maps: the members in byte order of their names (the unit
    // test compares the text with toJsonWithoutConfig(s).dump()).
    RecordWriter w(hint);
    w.map("annotations", s.annotations);
    w.text("bundle", s.bundle);
    w.text("cgroupDriver", s.cgroup.driver);
    w.array("cgroupParentsMade", s.cgroup.madeParents);
    w.map("cgroupPaths", s.cgroup.paths);
    w.text("cgroupUnit", s.cgroup.unit);
    w.text("created", s.created);
    w.integer("creatorPid", int64_t{s.creatorPid});
    w.integer("creatorStartTime", s.creatorStartTime);
    w.text("handler", s.handler);
    w.text("id", s.id);
    w.text("imageBundle", s.imageBundle);
    w.flag("noNewKeyring", s.noNewKeyring);
    w.flag("noPivot", s.noPivot);
    w.text("owner", s.owner);
    w.integer("pid", int64_t{s.pid});
    w.integer("pidStartTime", s.pidStartTime);
    w.text("rootfs", s.rootfs);
    w.text("saved", statusName(s.saved));
    w.flag("systemdCgroup", s.systemdCgroup);
    return w.finish();
}

// A number of the record: a JSON integer that fits T. nlohmann's get<int>() would cast a float
// (undefined behaviour when out of range: 4e42) and wrap a too-large integer into another pid.
template <typename T>
static Status readInteger(const nlohmann::json& j, const char* key, bool required, T& out) {
    auto it = j.find(key);
    if (it == j.end()) {
        if (required) return Error::make("corrupt state: ", key, ": is required");
        return {};
    }
    bool fits = false;
    if (it->is_number_unsigned()) {
        auto u = it->template get<uint64_t>();
        fits = std::in_range<T>(u);
        if (fits) out = static_cast<T>(u);
    } else if (it->is_number_integer()) {
        auto v = it->template get<int64_t>();
        fits = std::in_range<T>(v);
        if (fits) out = static_cast<T>(v);
    }
    if (!fits) {
        std::string got = it->is_number() ? it->dump() : it->type_name();
        return Error::make("corrupt state: ", key, ": must be an integer that fits ",
                           sizeof(T) * 8, " bits, got ", got);
    }
    return {};
}

Result<ContainerState> fromJson(const nlohmann::json& j) {
    try {
        ContainerState s;
        s.id = j.at("id").get<std::string>();
        TRY(readInteger(j, "pid", true, s.pid));
        TRY(readInteger(j, "pidStartTime", true, s.pidStartTime));
        TRY(readInteger(j, "creatorPid", false, s.creatorPid));
        TRY(readInteger(j, "creatorStartTime", false, s.creatorStartTime));
        s.bundle = j.at("bundle").get<std::string>();
        s.rootfs = j.at("rootfs").get<std::string>();
        s.created = j.at("created").get<std::string>();
        s.owner = j.value("owner", "");
        s.annotations = j.value("annotations", std::map<std::string, std::string>{});
        ASSIGN_OR_RETURN(s.saved, statusFromName(j.at("saved").get<std::string>()));
        s.cgroup.driver = j.value("cgroupDriver", "cgroupfs");
        s.cgroup.paths = j.value("cgroupPaths", std::map<std::string, std::string>{});
        s.cgroup.unit = j.value("cgroupUnit", "");
        s.cgroup.madeParents = j.value("cgroupParentsMade", std::vector<std::string>{});
        s.systemdCgroup = j.value("systemdCgroup", false);
        s.noPivot = j.value("noPivot", false);
        s.noNewKeyring = j.value("noNewKeyring", false);
        s.imageBundle = j.value("imageBundle", "");
        s.handler = j.value("handler", "");
        if (auto c = j.find("config"); c != j.end() && !c->is_null()) {
            s.config = *c;
            s.configInRecord = true;
        }
        return s;
    } catch (const nlohmann::json::exception& e) {
        return Error::make("corrupt state: ", e.what());
    }
}

Result<ContainerState> parseState(const std::string& text) {
    if (auto fast = detail::scanRecord(text, false)) return std::move(*fast);
    // An older build's record holds the config.json it was made from one level down.
    auto j = parseJson(text, "corrupt state.json", kMaxJsonDepth + kJsonWrapperDepth);
    if (!j) return std::move(j).error();
    return fromJson(*j);
}

Result<ContainerState> parseStateSummary(const std::string& text) {
    if (auto fast = detail::scanRecord(text, true)) return std::move(*fast);
    // What state and list show needs neither the cgroup paths (most of today's record) nor an
    // older record's config (most of that one): their values are cut out unparsed.
    auto j = parseJsonEmptying(text, "corrupt state.json", {"config", "cgroupPaths", "cgroupParentsMade"},
                               kMaxJsonDepth + kJsonWrapperDepth);
    if (!j) return std::move(j).error();
    auto s = fromJson(*j);
    if (s) {
        s->config = nullptr;
        s->configInRecord = false;
    }
    return s;
}

nlohmann::json publicJson(const ContainerState& s, ContainerStatus live) {
    nlohmann::json j = {{"ociVersion", "1.2.0"},
                        {"id", s.id},
                        {"pid", live == ContainerStatus::Stopped ? 0 : s.pid},
                        {"status", statusName(live)},
                        {"bundle", s.bundle},
                        {"rootfs", s.rootfs},
                        {"created", s.created},
                        {"owner", s.owner}};
    if (!s.annotations.empty()) j["annotations"] = s.annotations;
    return j;
}

uint64_t processStartTime(pid_t pid, bool* zombie) {
    if (pid <= 0) return 0;
    char path[32];
    std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
    UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
    if (!fd) return 0;
    // One read: procfs makes the whole line at once (~300 bytes; comm is at most 64).
    char buf[1024];
    ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
    if (n <= 0) return 0;
    std::string_view text(buf, static_cast<size_t>(n));
    // comm may hold spaces and parens: fields resume after the last ')'.
    auto rp = text.rfind(')');
    if (rp == std::string_view::npos || rp + 2 >= text.size()) return 0;
    text.remove_prefix(rp + 2);
    // text starts at field 3 (state); starttime is field 22, 19 spaces further.
    if (zombie) *zombie = text[0] == 'Z' || text[0] == 'X';
    for (int field = 3; field < 22; field++) {
        auto sp = text.find(' ');
        if (sp == std::string_view::npos) return 0;
        text.remove_prefix(sp + 1);
    }
    uint64_t start = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), start);
    if (ec != std::errc() || (end != text.data() + text.size() && *end != ' ' && *end != '\n')) return 0;
    return start;
}

bool processAlive(pid_t pid, uint64_t startTime) {
    if (pid <= 0 || startTime == 0) return false;
    bool zombie = false;
    uint64_t now = processStartTime(pid, &zombie);
    return now == startTime && !zombie;  // a zombie runs nothing: the container has stopped
}

static constexpr size_t kMaxIdLength = NAME_MAX;

Status validateId(const std::string& id) {
    if (id.empty()) return Error::make("container id must not be empty");
    // The id names the state directory and the cgroup directories: past NAME_MAX their mkdir
    // would fail late with a long path; say so up front.
    if (id.size() > kMaxIdLength)
        return Error::make("container id \"", id.substr(0, 32), "...\" is too long (", id.size(),
                           " characters, at most ", kMaxIdLength, ")");
    if (id == "." || id == "..") return Error::make("invalid container id \"", id, "\"");
    for (char c : id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.' || c == '+';
        if (!ok) return Error::make("invalid container id \"", id, "\": use [a-zA-Z0-9_+.-]");
    }
    return {};
}

static Result<Lock> lockDir(const std::string& path, const std::string& id) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return Error(ENOENT, strCat("container \"", id, "\" does not exist")).hideErrno();
        return Error::fromErrno("open state dir ", path);
    }
    if (::flock(fd.get(), LOCK_EX) < 0) return Error::fromErrno("lock ", path);
    // The holder before us may have deleted the container.
    struct stat st;
    if (::fstat(fd.get(), &st) < 0 || st.st_nlink == 0)
        return Error(ENOENT, strCat("container \"", id, "\" does not exist")).hideErrno();
    return Lock(std::move(fd));
}

Result<Lock> Store::createAndLock(const std::string& id) {
    TRY(validateId(id));
    if (::mkdir(root_.c_str(), 0711) < 0 && errno != EEXIST) {
        if (errno == ENOENT) TRY_CTX(fs::mkdirAll(root_, 0711), "state root");
        else return Error::fromErrno("create state root ", root_);
    }
    std::string d = dir(id);
    if (::mkdir(d.c_str(), 0711) < 0) {
        if (errno == EEXIST) return Error(EEXIST, strCat("container \"", id, "\" already exists")).hideErrno();
        return Error::fromErrno("create state dir ", d);
    }
    auto l = lockDir(d, id);
    if (!l) ::rmdir(d.c_str());
    return l;
}

Result<Lock> Store::lock(const std::string& id) {
    TRY(validateId(id));
    return lockDir(dir(id), id);
}

namespace {

Result<ContainerState> loadFrom(const Store& store, const std::string& id,
                                Result<ContainerState> (*parse)(const std::string&)) {
    TRY(validateId(id));
    auto text = fs::readFile(store.dir(id) + "/state.json");
    if (!text) {
        if (text.error().err() == ENOENT)
            return Error(ENOENT, strCat("container \"", id, "\" does not exist")).hideErrno();
        return std::move(text).error();
    }
    auto s = parse(*text);
    if (!s) s.error().context("container \"", id, "\"");
    else log::debug("state: loaded container ", id, " (saved as ", statusName(s->saved), ", pid ", s->pid, ")");
    return s;
}

// The config.json beside the record; an older build's record without one keeps the copy it
// held (configInRecord). config.json wins when both exist: update may have rewritten it.
Status loadConfig(const Store& store, ContainerState& s, bool hooksOnly) {
    auto text = fs::readFile(store.configPath(s.id));
    if (!text) {
        if (text.error().err() == ENOENT) return {};
        return std::move(text).error();
    }
    if (hooksOnly) {
        // Every top-level member of the runtime-spec but hooks and the scalars.
        ASSIGN_OR_RETURN(s.config, parseJsonEmptying(*text, "corrupt config.json",
                                                     {"process", "root", "mounts", "linux", "annotations",
                                                      "solaris", "windows", "vm", "zos"}));
    } else {
        ASSIGN_OR_RETURN(s.config, parseJson(*text, "corrupt config.json"));
    }
    s.configInRecord = false;
    return {};
}

}  // namespace

Result<ContainerState> Store::load(const std::string& id) const {
    ASSIGN_OR_RETURN(ContainerState s, loadFrom(*this, id, parseState));
    TRY_CTX(loadConfig(*this, s, false), "container \"", id, "\"");
    return s;
}

Result<ContainerState> Store::loadWithHooksOnly(const std::string& id) const {
    ASSIGN_OR_RETURN(ContainerState s, loadFrom(*this, id, parseState));
    TRY_CTX(loadConfig(*this, s, true), "container \"", id, "\"");
    return s;
}

Result<ContainerState> Store::loadRecord(const std::string& id) const {
    return loadFrom(*this, id, parseState);
}

Result<ContainerState> Store::loadSummary(const std::string& id) const {
    return loadFrom(*this, id, parseStateSummary);
}

Status Store::save(const ContainerState& s) const {
    log::debug("state: saving container ", s.id, " as ", statusName(s.saved));
    if (s.configInRecord) TRY(saveConfig(s.id, s.config.dump()));
    ASSIGN_OR_RETURN(std::string text, stateText(s));
    return fs::writeFileAtomic(dir(s.id) + "/state.json", text, 0600);
}

Status Store::saveConfig(const std::string& id, const std::string& configText) const {
    return fs::writeFileAtomic(configPath(id), configText, 0600);
}

Status Store::remove(const std::string& id) const {
    log::debug("state: removing ", dir(id));
    // The files this store writes go by name, then the directory; only a directory holding
    // more (a socket, a hook's file, a half-written .tmp) takes the general walk.
    std::string d = dir(id);
    UniqueFd dfd(::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (dfd) {
        for (const char* name : {"state.json", "config.json", "exec.fifo"})
            (void)::unlinkat(dfd.get(), name, 0);
        dfd.reset();
        if (::rmdir(d.c_str()) == 0 || errno == ENOENT) return {};
    }
    return fs::removeAll(d);
}

Result<std::vector<std::string>> Store::list(bool withRecord) const {
    std::vector<std::string> out;
    DIR* d = ::opendir(root_.c_str());
    if (!d) {
        if (errno == ENOENT) return out;
        return Error::fromErrno("open state root ", root_);
    }
    while (auto* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n == "." || n == "..") continue;
        if (withRecord ? fs::exists(root_ + "/" + n + "/state.json") : e->d_type == DT_DIR || e->d_type == DT_UNKNOWN)
            out.push_back(n);
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

ContainerStatus Store::liveStatus(const ContainerState& s) const {
    if (s.saved == ContainerStatus::Creating) {
        // Still being created by a live runtime, or left half-made by a dead one.
        return processAlive(s.creatorPid, s.creatorStartTime) ? ContainerStatus::Creating : ContainerStatus::Stopped;
    }
    if (!processAlive(s.pid, s.pidStartTime)) return ContainerStatus::Stopped;
    // Paused first, as runc: a created container can be paused too, and is then "paused" until
    // resumed (then "created" again while its init still waits on the exec fifo).
    if (s.saved == ContainerStatus::Paused) return ContainerStatus::Paused;
    if (fs::exists(fifoPath(s.id))) return ContainerStatus::Created;
    return ContainerStatus::Running;
}

}  // namespace berth::runtime::state
