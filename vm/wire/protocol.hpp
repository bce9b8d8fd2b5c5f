// vm/wire/protocol: the agent channel's wire format, shared by the host shim and the guest agent —
// length-prefixed typed frames over a byte stream (virtio-serial port), and a decoder that
// refuses bad or oversized frames instead of trusting the other side.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace berth::vm::wire::proto {

// Frame: magic 'B' (1 byte), type (1 byte), payload length (4 bytes, little endian), payload.
enum class Type : uint8_t {
    Ready = 1,    // guest → host: booted, rootfs mounted; payload: agent version text
    Config = 2,   // host → guest: the process to run (JSON, see vm/wire/guest_config.hpp)
    Prepared = 3, // guest → host: config applied, waiting for Start
    Start = 4,    // host → guest: exec the workload now
    Stdin = 5,    // host → guest: bytes for the workload's stdin; empty payload = EOF
    Stdout = 6,   // guest → host
    Stderr = 7,   // guest → host
    Signal = 8,   // host → guest: payload 4 bytes LE signal number, for the workload
    Exit = 9,     // guest → host: payload 4 bytes LE exit code (128+N for signal N)
    Failed = 10,  // guest → host: the workload could not be started; payload: error text
    ExecStart = 11,   // host → guest: 4-byte LE exec id + the process (guest config JSON)
    ExecOutput = 12,  // guest → host: 4-byte LE exec id, 1 byte stream (1 stdout, 2 stderr), data
    ExecExit = 13,    // guest → host: 4-byte LE exec id + 4-byte LE exit code
    Resize = 14,      // host → guest: 4-byte LE rows + 4-byte LE columns, for the workload's pty
    ExecStdin = 15,   // host → guest: 4-byte LE exec id + bytes for its stdin; no bytes = EOF
    // Pods (several containers in one VM). Frames 1–15 without an envelope are the VM's own
    // container's (the sandbox's, slot 0); a pod member's frames travel inside Member.
    Member = 16,      // both ways: 4-byte LE member slot (≥ 1) + 1 byte inner type + inner payload
    Drop = 17,        // host → guest, inside Member: the member's host side is gone — kill it, forget it
    // 32–47: a container's processes, limits and usage in the guest (vm/wire/guest_ops.hpp).
    // Requests: 4-byte LE request id + JSON {"container": id, ...}; the answer is one OpsReply.
    PsRequest = 32,      // host → guest: the container's processes
    StatsRequest = 33,   // host → guest: its guest cgroup's usage
    UpdateRequest = 34,  // host → guest: + "resources" (linux.resources) for its guest cgroup
    OpsReply = 35,       // guest → host: 4-byte LE request id + JSON {"error": text} or the answer
    // 64–71: OOM kills in the guest, for the host's OOM watchers (vm/host_oom.hpp).
    Oom = 64,  // guest → host: 4-byte LE count of the container's guest OOM kills not told before;
               // sent when a process of the container has exited, and always before Exit
    // 72–79: an exec's terminal.
    ExecResize = 72,     // host → guest: 4-byte LE exec id + 4-byte LE rows + 4-byte LE columns, for its pty
    ExecSignal = 73,     // host → guest: 4-byte LE exec id + 4-byte LE signal number, for the exec'd process
};
// The frame types of the ops requests (PsRequest .. UpdateRequest).
constexpr bool isOpsRequest(Type t) { return t >= Type::PsRequest && t <= Type::UpdateRequest; }
// What Ready carries; the host refuses any other text (an agent from another build).
constexpr int kProtocolVersion = 3;  // 3: the Oom frame
std::string readyPayload();
// An error naming both versions when `payload` is not readyPayload().
Status checkReady(const std::string& payload);
constexpr uint8_t kMagic = 'B';
constexpr size_t kHeaderSize = 6;
// Bigger frames are refused: both sides chunk their output well below this.
constexpr uint32_t kMaxPayload = 1 << 20;
constexpr size_t kChunk = 32 * 1024;

struct Frame {
    Type type;
    std::string payload;
};

std::string encode(Type type, const std::string& payload = {});
std::string intPayload(int32_t value);  // 4 bytes, little endian
std::string encodeInt(Type type, int32_t value);
Result<int32_t> decodeInt(const Frame& f);
// A Resize frame's payload, and its {rows, columns} (both 1..65535).
std::string sizePayload(uint16_t rows, uint16_t cols);
Result<std::pair<uint16_t, uint16_t>> decodeSize(const Frame& f);
// An ExecResize frame's payload, and its exec id with {rows, columns} (both 1..65535).
std::string execSizePayload(int32_t id, uint16_t rows, uint16_t cols);
Result<std::pair<int32_t, std::pair<uint16_t, uint16_t>>> decodeExecSize(const Frame& f);
// An ExecSignal frame's exec id and signal number (1..64).
Result<std::pair<int32_t, int>> decodeExecSignal(const Frame& f);
// The leading 4-byte id of the Exec* frames, and what follows it.
Result<std::pair<int32_t, std::string>> splitExecId(const Frame& f);
const char* typeName(Type t);

// A pod member's frame inside a Member frame, and back. The slot is the sandbox shim's number
// for the member (1, 2, ...); the inner frame is any frame of the one-container protocol.
std::string memberPayload(int32_t slot, Type inner, const std::string& payload = {});
std::string encodeMember(int32_t slot, Type inner, const std::string& payload = {});
Result<std::pair<int32_t, Frame>> splitMember(const Frame& f);

// Accumulates bytes from the stream and yields whole frames. A bad header poisons the decoder
// (there is no way to resynchronise a length-prefixed stream): every later next() fails too.
class Decoder {
public:
    void feed(const char* data, size_t n) { buf_.append(data, n); }
    // A frame when one is complete, nullopt when more bytes are needed, an Error when the stream
    // is corrupt (bad magic, unknown type, oversized length).
    Result<std::optional<Frame>> next();
    // Bytes received but not yet part of a whole frame (non-zero at EOF = truncated frame).
    size_t pending() const { return buf_.size(); }

private:
    std::string buf_;
    std::optional<Error> broken_;
};

// Blocking helpers for fds: write a whole frame; read until one frame is whole (EOF → error).
Status writeFrame(int fd, Type type, const std::string& payload = {});
Result<Frame> readFrame(int fd, Decoder& dec);

}  // namespace berth::vm::wire::proto
