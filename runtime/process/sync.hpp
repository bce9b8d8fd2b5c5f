// runtime/process/sync: the parent/child protocol over a socketpair during create and exec —
// typed messages, with a serialized Error (errno + message) so nothing throws across clone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace berth::runtime::process {

enum class Msg : uint32_t {
    Go = 1,           // parent → child: id maps written, cgroup joined; carry on
    Error,            // child → parent: set-up failed (errno + message); the child then exits
    RunHooks,         // child → parent: rootfs mounted; run prestart/createRuntime hooks
    HooksDone,        // parent → child: hooks ran; text carries the state JSON for in-container hooks
    Ready,            // child → parent: the container is built; the process's own attributes
                      // (caps, user, seccomp...) follow, and its set-up is over when the
                      // child closes the socket (EOF) — before the exec fifo, or at execve
    CgroupJoined,     // parent → child: the child is in its cgroups (sent after Go, so the
                      // slow v1 attach overlaps the child's rootfs set-up)
    SeccompFd,        // child → parent: a seccomp listener fd follows (SCM_RIGHTS) for the agent
    SeccompDone,      // parent → child: the agent has the fd; carry on
    MountFds,         // parent → child, before Go: detached mounts (SCM_RIGHTS) for the bind
                      // mounts of the mount plan's DetachedSource list, in its order
    Forked,           // child → parent: it forked the real init into namespaces it made after
                      // joining a user namespace (text: the init's pid); it then exits, and the
                      // init waits for Go before carrying on
    SetUpDone,        // child → parent: its own set-up (finalizeProcess) is over. Best effort:
                      // a seccomp profile may deny the write; an EOF without it from a process
                      // killed by a signal means the set-up killed it (the filter, mostly)
};

struct Message {
    Msg type = Msg::Error;
    int err = 0;
    std::string text;
};

Status sendMsg(int fd, Msg type, int err = 0, const std::string& text = "");
Status sendError(int fd, const Error& e);
// EOF before a whole message is an error with errno 0: the peer died.
Result<Message> recvMsg(int fd);
// The same, but a clean EOF (the peer closed the socket between messages) is no message.
Result<std::optional<Message>> recvMsgOrEof(int fd);
// Receive, and turn an Error message into an Error; anything but `want` is a protocol error.
Result<Message> expectMsg(int fd, Msg want);

// `fds` as messages of type `type` (as many as SCM_RIGHTS needs), and their receipt: exactly
// `count` fds, in order.
Status sendFdsMsg(int sock, Msg type, const std::vector<int>& fds);
Result<std::vector<UniqueFd>> recvFdsMsg(int sock, Msg type, size_t count);

}  // namespace berth::runtime::process
