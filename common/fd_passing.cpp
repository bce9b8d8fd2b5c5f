#include "common/fd_passing.hpp"

#include <sys/socket.h>

#include <unistd.h>

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

Result<std::vector<UniqueFd>> recvFds(int sock, void* buf, size_t len, size_t maxFds) {
    std::vector<char> cbuf(CMSG_SPACE(sizeof(int) * maxFds));
    struct iovec iov = {buf, len};
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.data();
    msg.msg_controllen = cbuf.size();
    ssize_t n;
    do n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0) return Error::fromErrno("recvmsg");
    std::vector<UniqueFd> fds;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            fds.emplace_back(fd);
        }
    }
    if (msg.msg_flags & MSG_CTRUNC) return Error::make("recvmsg: more file descriptors than expected");
    auto* p = static_cast<char*>(buf);
    size_t got = n > 0 ? static_cast<size_t>(n) : 0;
    while (n != 0 && got < len) {
        n = ::read(sock, p + got, len - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Error::fromErrno("read");
        got += static_cast<size_t>(n);
    }
    if (got < len) return Error::make("the peer closed the socket");
    return fds;
}

}  // namespace berth
