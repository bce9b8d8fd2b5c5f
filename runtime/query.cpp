// state, list and ps: read-only views of containers.
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "common/command.hpp"
#include "runtime/container.hpp"
#include "runtime/handler.hpp"


namespace berth::runtime {

Result<nlohmann::json> queryState(const GlobalOptions& g, const std::string& id) {
    state::Store store(g.root);
    ASSIGN_OR_RETURN(state::ContainerState st, store.loadSummary(id));
    return state::publicJson(st, store.liveStatus(st));
}

namespace {

// runc's list: the user owning the container's state directory, "#UID" when it has no name.
// names caches the lookups: each reads /etc/passwd (open, read, close) for one list.
std::string ownerOf(const std::string& stateDir, std::map<uid_t, std::string>& names) {
    struct stat sb {};
    if (::stat(stateDir.c_str(), &sb) < 0) return "";
    if (auto it = names.find(sb.st_uid); it != names.end()) return it->second;
    struct passwd pw {}, *found = nullptr;
    char buf[1024];
    std::string name = ::getpwuid_r(sb.st_uid, &pw, buf, sizeof buf, &found) == 0 && found
                           ? std::string(found->pw_name)
                           : strCat("#", sb.st_uid);
    return names[sb.st_uid] = name;
}

}  // namespace

Result<std::vector<ListedContainer>> list(const GlobalOptions& g) {
    state::Store store(g.root);
    ASSIGN_OR_RETURN(auto ids, store.list(false));
    std::vector<ListedContainer> out;
    out.reserve(ids.size());
    std::map<uid_t, std::string> names;
    for (auto& id : ids) {
        auto st = store.loadSummary(id);
        if (!st) continue;  // deleted meanwhile, or half-written: not a container to list
        state::ContainerStatus live = store.liveStatus(*st);
        out.push_back({std::move(*st), live, ownerOf(store.dir(id), names)});
    }
    return out;
}

namespace {

// What ps lists: the handler's own table (a VM's guest processes), or host pids to filter the
// host's ps on. A stopped container has neither.
struct PsSource {
    std::optional<OwnProcessTable> own;
    std::vector<pid_t> hostPids;
};

Result<PsSource> psSource(const GlobalOptions& g, const std::string& id, const std::vector<std::string>& psArgs) {
    state::Store store(g.root);
    ASSIGN_OR_RETURN(state::ContainerState st, store.load(id));
    auto live = store.liveStatus(st);
    if (live == state::ContainerStatus::Stopped) return PsSource{};
    ASSIGN_OR_RETURN(Handler * h, handlerOf(st));
    HandledContainer c{st, store.dir(id), live};
    PsSource src;
    ASSIGN_OR_RETURN(src.own, h->ownProcessTable(c, psArgs));
    if (!src.own) {
        ASSIGN_OR_RETURN(src.hostPids, h->processes(c));
    }
    return src;
}

}  // namespace

Result<std::vector<pid_t>> processes(const GlobalOptions& g, const std::string& id) {
    ASSIGN_OR_RETURN(PsSource src, psSource(g, id, {}));
    return src.own ? src.own->pids : src.hostPids;
}

namespace {

// Run ps with the given arguments (no shell) and return its stdout.
Result<std::string> runPs(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"ps"};
    argv.insert(argv.end(), args.begin(), args.end());
    return runCommand(argv);
}

}  // namespace

Result<std::string> processTable(const GlobalOptions& g, const std::string& id,
                                 const std::vector<std::string>& psArgs) {
    ASSIGN_OR_RETURN(PsSource src, psSource(g, id, psArgs));
    if (src.own) return src.own->table;
    const std::vector<pid_t>& pids = src.hostPids;
    ASSIGN_OR_RETURN(std::string out, runPs(psArgs.empty() ? std::vector<std::string>{"-ef"} : psArgs));
    std::istringstream in(out);
    std::string header;
    std::getline(in, header);
    std::istringstream hs(header);
    std::string col;
    int pidCol = -1;
    for (int i = 0; hs >> col; i++)
        if (col == "PID") pidCol = i;
    if (pidCol < 0) return Error::make("ps output has no PID column (ps arguments must keep it)");
    std::string table = header + "\n", line;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::string field;
        for (int i = 0; i <= pidCol && ls >> field; i++) {}
        pid_t p = static_cast<pid_t>(std::atol(field.c_str()));
        if (std::find(pids.begin(), pids.end(), p) != pids.end()) table += line + "\n";
    }
    return table;
}

}  // namespace berth::runtime
