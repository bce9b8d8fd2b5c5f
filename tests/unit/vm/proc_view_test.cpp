// The container's /proc for `podman top` (vm/proc_view.hpp): the FUSE protocol part, the mounts
// the shim's namespace drops, and the snapshot the agent sends (vm/wire/guest_ops.hpp).
#include "vm/proc_view.hpp"

#include <fcntl.h>
#include <linux/fuse.h>

#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "vm/wire/guest_ops.hpp"

using namespace berth;
using namespace berth::vm;

namespace proc_view_test {

// A request as the kernel writes it: the header, then `arg`.
std::string request(uint32_t opcode, uint64_t node, const std::string& arg = "", uint64_t unique = 42) {
    struct fuse_in_header h = {};
    h.len = static_cast<uint32_t>(sizeof h + arg.size());
    h.opcode = opcode;
    h.unique = unique;
    h.nodeid = node;
    return std::string(reinterpret_cast<const char*>(&h), sizeof h) + arg;
}

template <typename T>
std::string bytes(const T& v) {
    return std::string(reinterpret_cast<const char*>(&v), sizeof v);
}

struct Reply {
    int error = 0;
    uint64_t unique = 0;
    std::string payload;
};

Reply parse(const std::string& out) {
    Reply r;
    struct fuse_out_header h;
    EXPECT_GE(out.size(), sizeof h);
    if (out.size() < sizeof h) return r;
    std::memcpy(&h, out.data(), sizeof h);
    EXPECT_EQ(h.len, out.size());
    r.error = -h.error;
    r.unique = h.unique;
    r.payload = out.substr(sizeof h);
    return r;
}

std::string readIn(uint64_t offset, uint32_t size) {
    struct fuse_read_in in = {};
    in.offset = offset;
    in.size = size;
    return bytes(in);
}

wire::ProcSnapshot snapshot() {
    wire::ProcSnapshot s;
    s.btime = 1796600000;
    s.pidNs = "pid:[4026532020]";
    s.procs.push_back({1, "1 (sh) S 0 1 1 0 -1 0 0 0 0 0 3 1 0 0 20 0 1 0 143 0 1", "Name:\tsh\nPid:\t1\n", std::string("sh\0-c\0x\0", 9)});
    s.procs.push_back({7, "7 (sleep) S 1 1 1 0 -1 0", "Name:\tsleep\n", std::string("sleep\0" "9\0", 8)});
    return s;
}

uint64_t lookup(const ProcFs& fs, const wire::ProcSnapshot& s, uint64_t parent, const std::string& name, int* err = nullptr) {
    Reply r = parse(fs.answer(request(FUSE_LOOKUP, parent, name + std::string(1, '\0')), s));
    if (err) *err = r.error;
    if (r.error) return 0;
    struct fuse_entry_out e;
    EXPECT_EQ(r.payload.size(), sizeof e);
    std::memcpy(&e, r.payload.data(), sizeof e);
    EXPECT_EQ(e.entry_valid, 0u);  // no caching: every lookup asks
    EXPECT_EQ(e.attr.ino, e.nodeid);
    return e.nodeid;
}

std::string readAll(const ProcFs& fs, const wire::ProcSnapshot& s, uint64_t node) {
    Reply r = parse(fs.answer(request(FUSE_READ, node, readIn(0, 65536)), s));
    EXPECT_EQ(r.error, 0);
    return r.payload;
}

std::vector<std::string> names(const std::string& dirents) {
    std::vector<std::string> out;
    for (size_t at = 0; at + FUSE_NAME_OFFSET <= dirents.size();) {
        struct fuse_dirent d;
        std::memcpy(&d, dirents.data() + at, FUSE_NAME_OFFSET);
        out.push_back(dirents.substr(at + FUSE_NAME_OFFSET, d.namelen));
        at += FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + d.namelen);
    }
    return out;
}

}  // namespace proc_view_test

using namespace proc_view_test;

TEST(VmProcView, InitAnswersTheKernelsVersion) {
    ProcFs fs;
    struct fuse_init_in in = {};
    in.major = FUSE_KERNEL_VERSION;
    in.minor = 45;  // a newer kernel than our header: we answer ours
    in.max_readahead = 65536;
    Reply r = parse(fs.answer(request(FUSE_INIT, 0, bytes(in)), {}));
    ASSERT_EQ(r.error, 0);
    EXPECT_EQ(r.unique, 42u);
    struct fuse_init_out out;
    ASSERT_EQ(r.payload.size(), sizeof out);
    std::memcpy(&out, r.payload.data(), sizeof out);
    EXPECT_EQ(out.major, static_cast<uint32_t>(FUSE_KERNEL_VERSION));
    EXPECT_EQ(out.minor, static_cast<uint32_t>(FUSE_KERNEL_MINOR_VERSION));
    EXPECT_GE(out.max_write, 4096u);
    // A kernel before 7.36 sends 16 bytes; before 7.23 it takes a 24-byte answer.
    in.minor = 22;
    r = parse(fs.answer(request(FUSE_INIT, 0, bytes(in).substr(0, 16)), {}));
    ASSERT_EQ(r.error, 0);
    EXPECT_EQ(r.payload.size(), static_cast<size_t>(FUSE_COMPAT_22_INIT_OUT_SIZE));
    in.minor = 34;
    r = parse(fs.answer(request(FUSE_INIT, 0, bytes(in).substr(0, 16)), {}));
    EXPECT_EQ(r.payload.size(), sizeof out);
    std::memcpy(&out, r.payload.data(), sizeof out);
    EXPECT_EQ(out.minor, 34u);
    EXPECT_EQ(parse(fs.answer(request(FUSE_INIT, 0, bytes(in).substr(0, 12)), {})).error, EINVAL);
    in.major = 6;  // another protocol
    EXPECT_EQ(parse(fs.answer(request(FUSE_INIT, 0, bytes(in)), {})).error, EPROTO);
    EXPECT_FALSE(ProcFs::needsSnapshot(request(FUSE_INIT, 0, bytes(in))));
}

TEST(VmProcView, ServesTheContainersPidsAndTheirFiles) {
    ProcFs fs;
    auto s = snapshot();
    EXPECT_TRUE(ProcFs::needsSnapshot(request(FUSE_LOOKUP, FUSE_ROOT_ID, "1")));
    uint64_t one = lookup(fs, s, FUSE_ROOT_ID, "1");
    ASSERT_NE(one, 0u);
    uint64_t stat = lookup(fs, s, one, "stat");
    EXPECT_EQ(readAll(fs, s, stat), s.procs[0].stat);
    EXPECT_EQ(readAll(fs, s, lookup(fs, s, one, "status")), s.procs[0].status);
    EXPECT_EQ(readAll(fs, s, lookup(fs, s, one, "cmdline")), s.procs[0].cmdline);  // NULs kept
    EXPECT_EQ(readAll(fs, s, lookup(fs, s, FUSE_ROOT_ID, "stat")), "btime 1796600000\n");
    // Reads at an offset, and past the end.
    Reply part = parse(fs.answer(request(FUSE_READ, stat, readIn(2, 4)), s));
    EXPECT_EQ(part.payload, "(sh)");
    EXPECT_EQ(parse(fs.answer(request(FUSE_READ, stat, readIn(1000, 4)), s)).payload, "");
    // ns/pid is a link with the namespace's name (psgo reads it for every process).
    uint64_t ns = lookup(fs, s, one, "ns");
    uint64_t link = lookup(fs, s, ns, "pid");
    Reply l = parse(fs.answer(request(FUSE_READLINK, link), s));
    EXPECT_EQ(l.error, 0);
    EXPECT_EQ(l.payload, "pid:[4026532020]");
    EXPECT_EQ(parse(fs.answer(request(FUSE_READLINK, stat), s)).error, EINVAL);  // not a link
    // Attributes: directories, read-only files, a link.
    struct fuse_attr_out a;
    Reply ga = parse(fs.answer(request(FUSE_GETATTR, one, std::string(sizeof(struct fuse_getattr_in), '\0')), s));
    ASSERT_EQ(ga.payload.size(), sizeof a);
    std::memcpy(&a, ga.payload.data(), sizeof a);
    EXPECT_TRUE(S_ISDIR(a.attr.mode));
    ga = parse(fs.answer(request(FUSE_GETATTR, link), s));
    std::memcpy(&a, ga.payload.data(), sizeof a);
    EXPECT_TRUE(S_ISLNK(a.attr.mode));
    ga = parse(fs.answer(request(FUSE_GETATTR, stat), s));
    std::memcpy(&a, ga.payload.data(), sizeof a);
    EXPECT_EQ(a.attr.mode, static_cast<uint32_t>(S_IFREG | 0444));
}

TEST(VmProcView, ListsThePidsAndFindsNothingElse) {
    ProcFs fs;
    auto s = snapshot();
    Reply d = parse(fs.answer(request(FUSE_READDIR, FUSE_ROOT_ID, readIn(0, 4096)), s));
    ASSERT_EQ(d.error, 0);
    EXPECT_EQ(names(d.payload), (std::vector<std::string>{".", "..", "stat", "1", "7"}));
    // From an offset (the next entry's), and into a small buffer: whole entries only.
    EXPECT_EQ(names(parse(fs.answer(request(FUSE_READDIR, FUSE_ROOT_ID, readIn(3, 4096)), s)).payload),
              (std::vector<std::string>{"1", "7"}));
    EXPECT_EQ(names(parse(fs.answer(request(FUSE_READDIR, FUSE_ROOT_ID, readIn(0, 40)), s)).payload).size(), 1u);
    uint64_t seven = lookup(fs, s, FUSE_ROOT_ID, "7");
    EXPECT_EQ(names(parse(fs.answer(request(FUSE_READDIR, seven, readIn(0, 4096)), s)).payload),
              (std::vector<std::string>{".", "..", "cmdline", "ns", "stat", "status"}));
    int err = 0;
    for (const char* name : {"2", "07", "self", "-1", "99999999999", "", "1/stat"}) {
        EXPECT_EQ(lookup(fs, s, FUSE_ROOT_ID, name, &err), 0u) << name;
        EXPECT_EQ(err, ENOENT) << name;
    }
    EXPECT_EQ(lookup(fs, s, seven, "environ", &err), 0u);
    // A process gone from a newer snapshot: its nodes are gone too.
    wire::ProcSnapshot later = s;
    later.procs.pop_back();
    EXPECT_EQ(parse(fs.answer(request(FUSE_GETATTR, seven), later)).error, ENOENT);
    EXPECT_EQ(parse(fs.answer(request(FUSE_READ, seven + 1, readIn(0, 10)), later)).error, ENOENT);
    // No writes, no unknown operations, and nothing at all for a torn request.
    struct fuse_open_in o = {};
    o.flags = O_RDWR;
    EXPECT_EQ(parse(fs.answer(request(FUSE_OPEN, seven + 1, bytes(o)), s)).error, EROFS);
    o.flags = O_RDONLY;
    EXPECT_EQ(parse(fs.answer(request(FUSE_OPEN, seven, bytes(o)), s)).error, EISDIR);
    EXPECT_EQ(parse(fs.answer(request(FUSE_OPENDIR, seven + 1, bytes(o)), s)).error, ENOTDIR);
    EXPECT_EQ(parse(fs.answer(request(FUSE_MKDIR, FUSE_ROOT_ID, "x"), s)).error, ENOSYS);
    EXPECT_EQ(parse(fs.answer(request(FUSE_READ, seven + 1), s)).error, EINVAL);  // no read_in
    EXPECT_EQ(fs.answer(request(FUSE_FORGET, seven), s), "");
    EXPECT_EQ(fs.answer("short", s), "");
}

TEST(VmProcView, DropsTheHostsMountsItDoesNotUse) {
    std::vector<std::string> points = {"/",
                                       "/proc",
                                       "/sys",
                                       "/sys/fs/cgroup/memory",
                                       "/dev",
                                       "/dev/pts",
                                       "/run",
                                       "/run/netns/cni-1",
                                       "/var/lib/containers/storage/overlay",
                                       "/var/lib/containers/storage/overlay/abc/merged",
                                       "/run/berth/ctr/pod/m1/rootfs",
                                       "/tmp",
                                       "/procx",
                                       "/device"};
    auto out = mountsToDetach(points, {"/run/berth/ctr"});
    EXPECT_EQ(out, (std::vector<std::string>{"/var/lib/containers/storage/overlay/abc/merged",
                                             "/run/berth/ctr/pod/m1/rootfs", "/var/lib/containers/storage/overlay",
                                             "/run/netns/cni-1", "/device", "/procx", "/tmp"}));
    // Stacked mounts: the point is detached as many times as it is listed.
    EXPECT_EQ(mountsToDetach({"/", "/mnt", "/mnt"}, {}), (std::vector<std::string>{"/mnt", "/mnt"}));
    // A state dir under /tmp keeps /tmp.
    out = mountsToDetach({"/", "/tmp", "/tmp/other"}, {"/tmp/t.1/root/c"});
    EXPECT_EQ(out, (std::vector<std::string>{"/tmp/other"}));
}

TEST(VmProcView, SnapshotRoundTripsAndRefusesWhatIsNotAPid) {
    auto s = snapshot();
    auto back = wire::procSnapshotFromJson(wire::procSnapshotToJson(s));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->btime, s.btime);
    EXPECT_EQ(back->pidNs, s.pidNs);
    ASSERT_EQ(back->procs.size(), 2u);
    EXPECT_EQ(back->procs[0].cmdline, s.procs[0].cmdline);
    auto j = nlohmann::json::parse(R"({"btime": 5, "processes": [{"pid": 0}, {"pid": -3}, {"pid": 99999999},
        {"pid": "1"}, 7, {"pid": 12, "stat": 4}]})");
    back = wire::procSnapshotFromJson(j);
    ASSERT_TRUE(back.ok());
    ASSERT_EQ(back->procs.size(), 1u);
    EXPECT_EQ(back->procs[0].pid, 12);
    EXPECT_EQ(back->procs[0].stat, "");
    EXPECT_FALSE(wire::procSnapshotFromJson(nlohmann::json::array()).ok());
    // Sorted, each pid once (the first), at most 4096, a pid past int32 not wrapped into one.
    j = nlohmann::json::parse(R"({"processes": [{"pid": 9, "stat": "a"}, {"pid": 3}, {"pid": 9, "stat": "b"},
        {"pid": 4294967299}]})");
    back = wire::procSnapshotFromJson(j);
    ASSERT_TRUE(back.ok());
    ASSERT_EQ(back->procs.size(), 2u);
    EXPECT_EQ(back->procs[0].pid, 3);
    EXPECT_EQ(back->procs[1].pid, 9);
    EXPECT_EQ(back->procs[1].stat, "a");
    nlohmann::json many = nlohmann::json::array();
    for (int i = 1; i <= 5000; i++) many.push_back({{"pid", i}});
    back = wire::procSnapshotFromJson({{"processes", many}});
    EXPECT_EQ(back->procs.size(), 4096u);
    EXPECT_EQ(wire::btimeOf("cpu  1 2 3\nbtime 1796600000\nprocesses 9\n"), 1796600000u);
    EXPECT_EQ(wire::btimeOf("cpu 1\n"), 0u);
}

// A process's name and arguments are the tenant's bytes: not UTF-8, they still make a reply (the
// agent is PID 1: a throw there would be a guest panic).
TEST(VmProcView, RepliesCarryBytesThatAreNotUtf8) {
    wire::ProcSnapshot s;
    s.procs.push_back({1, "1 (\xff\xfe) S", "Name:\t\xff\n", std::string("\xc3\x28\0", 3)});
    std::string p;
    ASSERT_NO_THROW(p = wire::opsPayload(3, {{"proc", wire::procSnapshotToJson(s)}}));
    auto back = nlohmann::json::parse(p.substr(4));
    EXPECT_EQ(back["proc"]["processes"][0]["stat"], "1 (\xef\xbf\xbd\xef\xbf\xbd) S");
}
