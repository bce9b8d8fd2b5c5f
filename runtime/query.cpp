// state, list and ps: read-only views of containers.
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "common/unique_fd.hpp"
#include "runtime/container.hpp"
#include "runtime/handler.hpp"

extern char** environ;

namespace berth::runtime {

Result<nlohmann::json> state(const GlobalOptions& g, const std::string& id) {
    state::Store store(g.root);
    ASSIGN_OR_RETURN(state::ContainerState st, store.load(id));
    return state::publicJson(st, store.liveStatus(st));
}

namespace {

// runc's list: the user owning the container's state directory, "#UID" when it has no name.
std::string ownerOf(const std::string& stateDir) {
    struct stat sb {};
    if (::stat(stateDir.c_str(), &sb) < 0) return "";
    struct passwd pw {}, *found = nullptr;
    char buf[1024];
    if (::getpwuid_r(sb.st_uid, &pw, buf, sizeof buf, &found) == 0 && found) return found->pw_name;
    return strCat("#", sb.st_uid);
}

}  // namespace

Result<std::vector<nlohmann::json>> list(const GlobalOptions& g) {
    state::Store store(g.root);
    ASSIGN_OR_RETURN(auto ids, store.list());
    std::vector<nlohmann::json> out;
    for (auto& id : ids) {
        auto st = store.load(id);
        if (!st) continue;  // deleted meanwhile, or half-written: not a container to list
        out.push_back(state::publicJson(*st, store.liveStatus(*st)));
        out.back()["owner"] = ownerOf(store.dir(id));
    }
    return out;
}

Result<std::vector<pid_t>> processes(const GlobalOptions& g, const std::string& id) {
    state::Store store(g.root);
    ASSIGN_OR_RETURN(state::ContainerState st, store.load(id));
    if (store.liveStatus(st) == state::ContainerStatus::Stopped) return std::vector<pid_t>{};
    if (!st.handler.empty()) {
        Handler* h = findHandler(st.handler);
        if (!h) return Error(EINVAL, strCat("container \"", id, "\": handler \"", st.handler, "\" is not available"));
        return h->processes(st, store.dir(id));
    }
    ASSIGN_OR_RETURN(auto cg, cgroups::loadManager(st.cgroup));
    return cg->pids();
}

namespace {

// Run ps with the given arguments (no shell) and return its stdout.
Result<std::string> runPs(const std::vector<std::string>& args) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return Error::fromErrno("pipe");
    UniqueFd rd(p[0]), wr(p[1]);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, wr.get(), STDOUT_FILENO);
    std::vector<std::string> argvS = {"ps"};
    argvS.insert(argvS.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argvS) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid;
    int rc = ::posix_spawnp(&pid, "ps", &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return Error(rc, "run ps");
    wr.reset();
    std::string out;
    char buf[8192];
    ssize_t n;
    while ((n = ::read(rd.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return Error::make("ps failed (arguments: ", args.empty() ? "" : args.front(), " ...)");
    return out;
}

}  // namespace

Result<std::string> processTable(const GlobalOptions& g, const std::string& id,
                                 const std::vector<std::string>& psArgs) {
    ASSIGN_OR_RETURN(auto pids, processes(g, id));
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
