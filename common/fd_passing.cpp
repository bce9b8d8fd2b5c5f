#include "common/fd_passing.hpp"

#include <sys/socket.h>

#include <cstring>

namespace berth {

Status sendFds(int sock, const std::vector<int>& fds, const std::string& payload, const std::string& what) {
    std::string data = payload.empty() ? std::string("x") : payload;
    std::vector<char> ctrl(CMSG_SPACE(sizeof(int) * fds.size()), 0);
    struct iovec iov = {data.data(), data.size()};
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (!fds.empty()) {
        msg.msg_control = ctrl.data();
        msg.msg_controllen = ctrl.size();
        struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    if (::sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) return Error::fromErrno("send ", what);
    return {};
}

Result<UniqueFd> recvFd(int sock) {
    struct msghdr msg {};
    alignas(struct cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
    char data[4096];
    struct iovec iov = {data, sizeof data};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf;
    msg.msg_controllen = sizeof cbuf;
    if (::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) < 0) return Error::fromErrno("recvmsg");
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_type != SCM_RIGHTS) return Error::make("no file descriptor received");
    int fd;
    std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return UniqueFd(fd);
}

}  // namespace berth
