#include "runtime/process/sync.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "common/fd_passing.hpp"

namespace berth::runtime::process {
namespace {
struct Header {
    uint32_t type;
    int32_t err;
    uint32_t len;
};

Status writeAll(int fd, const void* data, size_t n) {
    auto p = static_cast<const char*>(data);
    while (n > 0) {
        ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            // The peer is gone (and with it whatever it would have said).
            if (errno == EPIPE || errno == ECONNRESET) return Error(errno, "the container process exited during set-up");
            return Error::fromErrno("sync: send");
        }
        p += w;
        n -= static_cast<size_t>(w);
    }
    return {};
}

Result<bool> readAll(int fd, void* data, size_t n) {
    auto p = static_cast<char*>(data);
    size_t got = 0;
    while (got < n) {
        ssize_t r = ::read(fd, p + got, n - got);
        if (r < 0) {
            if (errno == EINTR) continue;
            // The peer hung up with our last message unread: a hang-up like any other.
            if (errno == ECONNRESET) return false;
            return Error::fromErrno("sync: read");
        }
        if (r == 0) return false;
        got += static_cast<size_t>(r);
    }
    return true;
}
}  // namespace

Status sendMsg(int fd, Msg type, int err, const std::string& text) {
    Header h{static_cast<uint32_t>(type), err, static_cast<uint32_t>(text.size())};
    std::string buf(reinterpret_cast<const char*>(&h), sizeof h);
    buf += text;  // one send: the child may _exit right after
    return writeAll(fd, buf.data(), buf.size());
}

Status sendError(int fd, const Error& e) { return sendMsg(fd, Msg::Error, e.err(), e.message()); }

Result<Message> recvMsg(int fd) {
    ASSIGN_OR_RETURN(std::optional<Message> m, recvMsgOrEof(fd));
    if (!m) return Error::make("the container process exited during set-up");
    return std::move(*m);
}

Result<std::optional<Message>> recvMsgOrEof(int fd) {
    Header h{};
    ASSIGN_OR_RETURN(bool ok, readAll(fd, &h, sizeof h));
    if (!ok) return std::optional<Message>{};
    if (h.len > (1u << 24)) return Error::make("sync: message too large");
    Message m;
    m.type = static_cast<Msg>(h.type);
    m.err = h.err;
    m.text.resize(h.len);
    if (h.len) {
        ASSIGN_OR_RETURN(bool ok2, readAll(fd, m.text.data(), h.len));
        if (!ok2) return Error::make("sync: truncated message");
    }
    return std::optional<Message>(std::move(m));
}

Result<Message> expectMsg(int fd, Msg want) {
    ASSIGN_OR_RETURN(Message m, recvMsg(fd));
    if (m.type == Msg::Error) return Error(m.err, m.text);
    if (m.type != want)
        return Error::make("sync: unexpected message ", static_cast<uint32_t>(m.type), " (wanted ",
                           static_cast<uint32_t>(want), ")");
    return m;
}

// SCM_RIGHTS carries at most 253 fds per message (SCM_MAX_FD).
constexpr size_t kFdsPerMessage = 200;

Status sendFdsMsg(int sock, Msg type, const std::vector<int>& fds) {
    for (size_t i = 0; i < fds.size(); i += kFdsPerMessage) {
        std::vector<int> chunk(fds.begin() + static_cast<long>(i),
                               fds.begin() + static_cast<long>(std::min(fds.size(), i + kFdsPerMessage)));
        Header h{static_cast<uint32_t>(type), 0, static_cast<uint32_t>(chunk.size())};
        TRY(sendFds(sock, chunk, std::string(reinterpret_cast<const char*>(&h), sizeof h),
                    "sync: file descriptors"));
    }
    return {};
}

Result<std::vector<UniqueFd>> recvFdsMsg(int sock, Msg type, size_t count) {
    std::vector<UniqueFd> out;
    while (out.size() < count) {
        Header h{};
        ASSIGN_OR_RETURN(auto fds, recvFds(sock, &h, sizeof h, kFdsPerMessage));
        if (h.type != static_cast<uint32_t>(type) || h.len != fds.size() || fds.empty())
            return Error::make("sync: unexpected message ", h.type, " (wanted ",
                               static_cast<uint32_t>(type), " with file descriptors)");
        for (auto& fd : fds) out.push_back(std::move(fd));
    }
    if (out.size() != count)
        return Error::make("sync: ", out.size(), " file descriptors received, ", count, " expected");
    return out;
}

}  // namespace berth::runtime::process
