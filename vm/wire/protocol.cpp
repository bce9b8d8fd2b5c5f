#include "vm/wire/protocol.hpp"

#include <poll.h>
#include <unistd.h>

namespace berth::vm::wire::proto {
namespace {

bool knownType(uint8_t t) {
    if (t == static_cast<uint8_t>(Type::ExecResize) || t == static_cast<uint8_t>(Type::ExecSignal)) return true;  // 72–79: exec
    return (t >= 1 && t <= 17) || (t >= 32 && t <= 35) || t == static_cast<uint8_t>(Type::Oom);
}

void putLe32(std::string& out, uint32_t v) {
    for (int i = 0; i < 4; i++) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t getLe32(const char* p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
    return v;
}

}  // namespace

const char* typeName(Type t) {
    switch (t) {
        case Type::Ready: return "ready";
        case Type::Config: return "config";
        case Type::Prepared: return "prepared";
        case Type::Start: return "start";
        case Type::Stdin: return "stdin";
        case Type::Stdout: return "stdout";
        case Type::Stderr: return "stderr";
        case Type::Signal: return "signal";
        case Type::Exit: return "exit";
        case Type::Failed: return "failed";
        case Type::ExecStart: return "exec-start";
        case Type::ExecOutput: return "exec-output";
        case Type::ExecExit: return "exec-exit";
        case Type::Resize: return "resize";
        case Type::ExecStdin: return "exec-stdin";
        case Type::PsRequest: return "ps-request";
        case Type::StatsRequest: return "stats-request";
        case Type::UpdateRequest: return "update-request";
        case Type::OpsReply: return "ops-reply";
        case Type::Member: return "member";
        case Type::Drop: return "drop";
        case Type::Oom: return "oom";
        case Type::ExecResize: return "exec-resize";
        case Type::ExecSignal: return "exec-signal";
    }
    return "unknown";
}

std::string encode(Type type, const std::string& payload) {
    std::string out;
    out.reserve(kHeaderSize + payload.size());
    out.push_back(static_cast<char>(kMagic));
    out.push_back(static_cast<char>(type));
    putLe32(out, static_cast<uint32_t>(payload.size()));
    out += payload;
    return out;
}

std::string intPayload(int32_t value) {
    std::string p;
    putLe32(p, static_cast<uint32_t>(value));
    return p;
}

std::string encodeInt(Type type, int32_t value) { return encode(type, intPayload(value)); }

std::string sizePayload(uint16_t rows, uint16_t cols) { return intPayload(rows) + intPayload(cols); }

Result<std::pair<uint16_t, uint16_t>> decodeSize(const Frame& f) {
    if (f.payload.size() != 8)
        return Error(EINVAL, strCat("a ", typeName(f.type), " frame of ", f.payload.size(), " bytes (want 8)"));
    uint32_t rows = getLe32(f.payload.data()), cols = getLe32(f.payload.data() + 4);
    if (rows == 0 || cols == 0 || rows > 0xffff || cols > 0xffff)
        return Error(EINVAL, strCat("window size ", rows, "x", cols, " is out of range"));
    return std::pair{static_cast<uint16_t>(rows), static_cast<uint16_t>(cols)};
}

std::string execSizePayload(int32_t id, uint16_t rows, uint16_t cols) { return intPayload(id) + sizePayload(rows, cols); }

Result<std::pair<int32_t, std::pair<uint16_t, uint16_t>>> decodeExecSize(const Frame& f) {
    ASSIGN_OR_RETURN(auto idp, splitExecId(f));
    ASSIGN_OR_RETURN(auto size, decodeSize(Frame{f.type, idp.second}));
    return std::make_pair(idp.first, size);
}

Result<std::pair<int32_t, int>> decodeExecSignal(const Frame& f) {
    ASSIGN_OR_RETURN(auto idp, splitExecId(f));
    ASSIGN_OR_RETURN(int32_t sig, decodeInt(Frame{f.type, idp.second}));
    if (sig < 1 || sig > 64) return Error(EINVAL, strCat("signal ", sig, " is out of range"));
    return std::make_pair(idp.first, static_cast<int>(sig));
}

Result<int32_t> decodeInt(const Frame& f) {
    if (f.payload.size() != 4)
        return Error(EPROTO, strCat("agent channel: ", typeName(f.type), " frame: expected 4 bytes, got ",
                                    f.payload.size()));
    return static_cast<int32_t>(getLe32(f.payload.data()));
}

Result<std::pair<int32_t, std::string>> splitExecId(const Frame& f) {
    if (f.payload.size() < 4)
        return Error(EPROTO, strCat("agent channel: ", typeName(f.type), " frame without an exec id"));
    return std::make_pair(static_cast<int32_t>(getLe32(f.payload.data())), f.payload.substr(4));
}

std::string readyPayload() { return strCat("berth-agent ", kProtocolVersion); }

Status checkReady(const std::string& payload) {
    if (payload == readyPayload()) return {};
    std::string theirs = payload.substr(0, 64);
    for (char& c : theirs)
        if (c < 0x20 || c > 0x7e) c = '?';
    return Error(EPROTO, strCat("the guest agent speaks protocol \"", theirs, "\", this berth speaks \"", readyPayload(),
                                "\" (an agent from another build)")).hideErrno();
}

std::string memberPayload(int32_t slot, Type inner, const std::string& payload) {
    std::string p = intPayload(slot);
    p.push_back(static_cast<char>(inner));
    return p + payload;
}

std::string encodeMember(int32_t slot, Type inner, const std::string& payload) {
    return encode(Type::Member, memberPayload(slot, inner, payload));
}

Result<std::pair<int32_t, Frame>> splitMember(const Frame& f) {
    if (f.type != Type::Member || f.payload.size() < 5)
        return Error(EPROTO, strCat("agent channel: a ", typeName(f.type), " frame of ", f.payload.size(),
                                    " bytes is not a member frame"));
    auto slot = static_cast<int32_t>(getLe32(f.payload.data()));
    auto inner = static_cast<uint8_t>(f.payload[4]);
    if (slot < 1) return Error(EPROTO, strCat("agent channel: member slot ", slot, " (want 1 or more)"));
    if (!knownType(inner) || inner == static_cast<uint8_t>(Type::Member))
        return Error(EPROTO, strCat("agent channel: member frame of inner type ", int(inner)));
    return std::make_pair(slot, Frame{static_cast<Type>(inner), f.payload.substr(5)});
}

Result<std::optional<Frame>> Decoder::next() {
    if (broken_) return *broken_;
    if (buf_.size() < kHeaderSize) return std::optional<Frame>{};
    auto magic = static_cast<uint8_t>(buf_[0]);
    auto type = static_cast<uint8_t>(buf_[1]);
    uint32_t len = getLe32(buf_.data() + 2);
    if (magic != kMagic)
        broken_ = Error(EPROTO, strCat("agent channel: bad frame magic 0x", std::hex, int(magic)));
    else if (!knownType(type))
        broken_ = Error(EPROTO, strCat("agent channel: unknown frame type ", int(type)));
    else if (len > kMaxPayload)
        broken_ = Error(EPROTO, strCat("agent channel: frame of ", len, " bytes exceeds the limit of ",
                                       kMaxPayload));
    if (broken_) return *broken_;
    if (buf_.size() < kHeaderSize + len) return std::optional<Frame>{};
    Frame f{static_cast<Type>(type), buf_.substr(kHeaderSize, len)};
    buf_.erase(0, kHeaderSize + len);
    return std::optional<Frame>{std::move(f)};
}

Status writeFrame(int fd, Type type, const std::string& payload) {
    std::string data = encode(type, payload);
    size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) {
            struct pollfd p = {fd, POLLOUT, 0};
            ::poll(&p, 1, 100);
            continue;
        }
        if (n <= 0) return Error::fromErrno("agent channel: write ", typeName(type), " frame");
        off += static_cast<size_t>(n);
    }
    return {};
}

Result<Frame> readFrame(int fd, Decoder& dec) {
    for (;;) {
        ASSIGN_OR_RETURN(auto f, dec.next());
        if (f) return std::move(*f);
        char buf[16384];
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) {
            struct pollfd p = {fd, POLLIN, 0};
            ::poll(&p, 1, 100);
            continue;
        }
        if (n < 0) return Error::fromErrno("agent channel: read");
        if (n == 0)
            return Error(EPIPE, dec.pending() ? "agent channel: closed in the middle of a frame"
                                              : "agent channel: closed");
        dec.feed(buf, static_cast<size_t>(n));
    }
}

}  // namespace berth::vm::wire::proto
