#include "namespaces/userns_fd.hpp"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

namespace berth::namespaces {
namespace {

struct Range {
    uint64_t first, last;  // inclusive
};

// Two ranges of the same column overlapping, as "containerID 0-99 and 50-149".
Status checkOverlap(std::vector<Range> ranges, std::string_view what, const char* column) {
    std::sort(ranges.begin(), ranges.end(),
              [](const Range& a, const Range& b) { return a.first < b.first; });
    for (size_t i = 1; i < ranges.size(); ++i)
        if (ranges[i].first <= ranges[i - 1].last)
            return Error(EINVAL, strCat(what, ": ", column, " ranges ", ranges[i - 1].first, "-",
                                        ranges[i - 1].last, " and ", ranges[i].first, "-",
                                        ranges[i].last, " overlap"));
    return {};
}

}  // namespace

Status validateIdMaps(const std::vector<IdMap>& maps, std::string_view what) {
    if (maps.empty()) return Error(EINVAL, strCat(what, ": no id ranges"));
    if (maps.size() > kMaxIdMapLines)
        return Error(EINVAL, strCat(what, ": ", maps.size(), " ranges (the kernel takes at most ",
                                    kMaxIdMapLines, ")"));
    std::vector<Range> inside, outside;
    for (size_t i = 0; i < maps.size(); ++i) {
        const IdMap& m = maps[i];
        if (m.size == 0) return Error(EINVAL, strCat(what, "[", i, "]: size is 0"));
        uint64_t end = uint64_t{m.size} - 1;
        if (m.containerID + end > UINT32_MAX || m.hostID + end > UINT32_MAX)
            return Error(EINVAL, strCat(what, "[", i, "]: range ", m.containerID, "+", m.size,
                                        " or ", m.hostID, "+", m.size, " passes 2^32"));
        inside.push_back({m.containerID, m.containerID + end});
        outside.push_back({m.hostID, m.hostID + end});
    }
    TRY(checkOverlap(std::move(inside), what, "containerID"));
    return checkOverlap(std::move(outside), what, "hostID");
}

Result<UniqueFd> makeUserNamespaceFd(const std::vector<IdMap>& uids,
                                     const std::vector<IdMap>& gids) {
    TRY(validateIdMaps(uids, "uid map"));
    TRY(validateIdMaps(gids, "gid map"));
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return Error::fromErrno("pipe");
    UniqueFd rd(p[0]), wr(p[1]);
    // CLONE_FILES: the child shares our fd table, so it holds no extra references to our fds
    // and sees EOF on the pipe as soon as we close its write end.
    struct clone_args args {};
    args.flags = CLONE_NEWUSER | CLONE_FILES;
    args.exit_signal = SIGCHLD;
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0) return Error::fromErrno("clone3 a user namespace for an id mapping");
    if (pid == 0) {
        char c;
        while (::read(p[0], &c, 1) < 0 && errno == EINTR) {
        }
        ::_exit(0);
    }
    ScopeGuard reap([&] {
        wr.reset();
        while (::waitpid(static_cast<pid_t>(pid), nullptr, 0) < 0 && errno == EINTR) {
        }
    });
    TRY(writeIdMapsFromParent(static_cast<pid_t>(pid), uids, gids));
    UniqueFd ns(::open(strCat("/proc/", pid, "/ns/user").c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns) return Error::fromErrno("open the user namespace of the id-mapping helper");
    return ns;
}

}  // namespace berth::namespaces
