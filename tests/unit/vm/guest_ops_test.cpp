// The pure parts of ps/update/events for VM containers: the ops frames' payloads, the guest's
// /proc parsing, the `ps -ef` table, the guest's limits and the memory ceiling.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <thread>

#include "cgroups/stats.hpp"
#include "vm/shim.hpp"
#include "vm/wire/boot_config.hpp"
#include "vm/wire/guest_config.hpp"
#include "vm/wire/guest_ops.hpp"

using namespace berth;
using namespace berth::vm;
using nlohmann::json;

TEST(VmGuestOps, RequestAndReplyPayloadsRoundTrip) {
    std::string p = wire::opsPayload(7, json{{"container", "c1"}, {"resources", {{"pids", {{"limit", 10}}}}}});
    wire::proto::Decoder d;
    std::string frame = wire::proto::encode(wire::proto::Type::UpdateRequest, p);
    d.feed(frame.data(), frame.size());
    auto f = d.next();
    ASSERT_TRUE(f.ok() && *f);
    EXPECT_TRUE(wire::proto::isOpsRequest((*f)->type));
    EXPECT_FALSE(wire::proto::isOpsRequest(wire::proto::Type::OpsReply));
    auto req = wire::parseOpsPayload(**f);
    ASSERT_TRUE(req.ok());
    EXPECT_EQ(req->first, 7);
    EXPECT_EQ(req->second["container"], "c1");
    EXPECT_EQ(req->second["resources"]["pids"]["limit"], 10);
    // Not JSON, or not an object: refused, not thrown.
    EXPECT_FALSE(wire::parseOpsPayload({wire::proto::Type::PsRequest, wire::proto::intPayload(1) + "{"}).ok());
    EXPECT_FALSE(wire::parseOpsPayload({wire::proto::Type::PsRequest, wire::proto::intPayload(1) + "[1]"}).ok());
    EXPECT_FALSE(wire::parseOpsPayload({wire::proto::Type::PsRequest, "ab"}).ok());
    auto err = wire::opsReplyBody(json{{"error", "memory limit too big"}});
    ASSERT_FALSE(err.ok());
    EXPECT_EQ(err.error().what(), "memory limit too big");
    EXPECT_TRUE(wire::opsReplyBody(json::object()).ok());
}

TEST(VmGuestOps, ParsesProcStatWithSpacesAndParensInComm) {
    std::string stat = "42 (my (odd) cmd) S 1 42 42 34816 42 4194560 100 0 0 0 7 3 0 0 20 0 1 0 1234 1000 10 "
                       "18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0";
    auto s = wire::parseProcStat(stat);
    ASSERT_TRUE(s.ok()) << s.error().what();
    EXPECT_EQ(s->comm, "my (odd) cmd");
    EXPECT_EQ(s->ppid, 1);
    EXPECT_EQ(s->ttyNr, 34816);
    EXPECT_EQ(s->utime, 7u);
    EXPECT_EQ(s->stime, 3u);
    EXPECT_EQ(s->startTime, 1234u);
    EXPECT_FALSE(wire::parseProcStat("42 (x) S 1").ok());
    EXPECT_FALSE(wire::parseProcStat("garbage").ok());
}

TEST(VmGuestOps, StatusFieldsTtysCommandLinesAndUsers) {
    std::string status = "Name:\tsleep\nUid:\t1000\t1000\t1000\t1000\nNSpid:\t57\t3\n";
    EXPECT_EQ(wire::innermostPid(status), 3);
    EXPECT_EQ(wire::realUid(status), 1000u);
    EXPECT_EQ(wire::innermostPid("Name:\tx\n"), -1);
    EXPECT_EQ(wire::ttyName(0), "?");
    EXPECT_EQ(wire::ttyName(136 << 8 | 2), "pts/2");
    EXPECT_EQ(wire::ttyName(4 << 8 | 1), "tty1");
    EXPECT_EQ(wire::ttyName(4 << 8 | 64), "ttyS0");
    EXPECT_EQ(wire::commandLine(std::string("sleep\0" "100\0", 10), "sleep"), "sleep 100");
    EXPECT_EQ(wire::commandLine("", "kworker"), "[kworker]");
    std::string passwd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n";
    EXPECT_EQ(wire::userFromPasswd(passwd, 65534), "nobody");
    EXPECT_EQ(wire::userFromPasswd(passwd, 0), "root");
    EXPECT_EQ(wire::userFromPasswd(passwd, 5), "");
}

TEST(VmGuestOps, PsTableHasProcpsColumns) {
    std::vector<wire::PsRow> rows = {{1, 0, 0, "root", "?", 30, 0, 0, "sleep 100"},
                                     {5, 1, 1000, "", "pts/0", 90000, 3725, 150, "sh -c yes"},
                                     {6, 1, 2000, "averylongname", "?", 0, 90061, 0, "[x]"}};
    auto j = wire::psRowsToJson(rows);
    auto back = wire::psRowsFromJson(j);
    ASSERT_TRUE(back.ok());
    ASSERT_EQ(back->size(), 3u);
    EXPECT_EQ((*back)[1].cmd, "sh -c yes");
    EXPECT_FALSE(wire::psRowsFromJson(json{{"pid", 1}}).ok());
    EXPECT_FALSE(wire::psRowsFromJson(json::array({json{{"ppid", 1}}})).ok());

    time_t now = 1765000000;  // a fixed instant: STIME depends only on the rows' ages
    std::string t = wire::psTable(*back, now);
    std::vector<std::string> lines;
    for (size_t a = 0, b; (b = t.find('\n', a)) != std::string::npos; a = b + 1) lines.push_back(t.substr(a, b - a));
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(lines[0], "UID        PID  PPID  C STIME TTY          TIME CMD");
    EXPECT_EQ(lines[1].substr(0, 24), "root         1     0  0 ");
    EXPECT_EQ(lines[1].substr(29), " ?        00:00:00 sleep 100");
    // A name that is not in the container's passwd shows as the uid; C is capped at 99;
    // TIME is HH:MM:SS, with days in front past 24 hours.
    EXPECT_EQ(lines[2].substr(0, 24), "1000         5     1 99 ");
    EXPECT_NE(lines[2].find(" pts/0    01:02:05 sh -c yes"), std::string::npos);
    EXPECT_EQ(lines[3].substr(0, 9), "2000     ");
    EXPECT_NE(lines[3].find(" 1-01:01:01 [x]"), std::string::npos);
    // STIME: HH:MM for today, MonDD for a process that started more than a day ago.
    EXPECT_EQ(lines[1].substr(26, 1), ":");
    EXPECT_EQ(lines[2].substr(24, 5).find(':'), std::string::npos) << lines[2];
}

TEST(VmGuestOps, GuestResourcesKeepWhatTheGuestCgroupTakes) {
    json r = {{"memory", {{"limit", 100 << 20}}},
              {"cpu", {{"quota", 50000}, {"period", 100000}, {"cpus", "2-3"}, {"mems", "0"}}},
              {"pids", {{"limit", 64}}},
              {"devices", json::array({{{"allow", false}, {"access", "rwm"}}})},
              {"blockIO", {{"weight", 100}}},
              {"hugepageLimits", json::array()}};
    json atCreate = wire::guestResources(r, true);
    EXPECT_EQ(atCreate["memory"]["limit"], 100 << 20);
    EXPECT_EQ(atCreate["cpu"]["quota"], 50000);
    EXPECT_FALSE(atCreate["cpu"].contains("cpus"));  // the vCPU count stands for them
    // The device rules at create (the guest's eBPF filter), never in an update.
    EXPECT_EQ(atCreate["devices"], r["devices"]);
    EXPECT_FALSE(wire::guestResources(r, false).contains("devices"));
    EXPECT_FALSE(atCreate.contains("blockIO"));
    EXPECT_EQ(atCreate["pids"]["limit"], 64);
    EXPECT_EQ(wire::guestResources(r, false)["cpu"]["cpus"], "2-3");
    EXPECT_EQ(wire::guestResources(nullptr, true), json::object());

    // The guest config carries them to the agent.
    wire::GuestProcess g;
    g.process.args = {"/bin/true"};
    g.process.cwd = "/";
    g.resources = atCreate;
    auto back = wire::guestProcessFromJson(wire::toJson(g));
    ASSERT_TRUE(back.ok()) << back.error().what();
    EXPECT_EQ(back->resources, atCreate);
}

TEST(VmGuestOps, MemoryCeilingIsWhatTheRamWasSizedFor) {
    json boot = {{"memory", {{"limit", 100ll << 20}}}};
    uint64_t ceiling = wire::guestMemoryCeiling(boot);
    EXPECT_EQ(ceiling, 100ull << 20);
    EXPECT_EQ(wire::guestMemoryCeiling(nullptr), (wire::kDefaultGuestMiB - wire::kGuestOverheadMiB) << 20);
    // A small limit gets the RAM floor: the ceiling is above the limit then.
    EXPECT_EQ(wire::guestMemoryCeiling(json{{"memory", {{"limit", 16ll << 20}}}}),
              (wire::kMinGuestMiB - wire::kGuestOverheadMiB) << 20);
    EXPECT_TRUE(wire::checkMemoryLimit(json{{"memory", {{"limit", 50ll << 20}}}}, ceiling).ok());
    EXPECT_TRUE(wire::checkMemoryLimit(json{{"memory", {{"limit", 100ll << 20}}}}, ceiling).ok());
    EXPECT_TRUE(wire::checkMemoryLimit(json{{"memory", {{"limit", -1}}}}, ceiling).ok());
    EXPECT_TRUE(wire::checkMemoryLimit(json{{"pids", {{"limit", 5}}}}, ceiling).ok());
    auto e = wire::checkMemoryLimit(json{{"memory", {{"limit", 200ll << 20}}}}, ceiling);
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.error().what().find("above the 100 MiB"), std::string::npos) << e.error().what();
}

TEST(CgroupStatsJson, RoundTripsWhatToJsonWrites) {
    cgroups::Stats s;
    s.cpu.usage = {123456789, 1000, 2000, {1, 2}, {}, {}};
    s.cpu.throttling = {10, 2, 3000};
    s.cpuset.present = true;
    s.cpuset.cpus = {0, 1};
    s.cpuset.mems = {0};
    s.memory.cache = 4096;
    s.memory.usage = {100 << 20, 5 << 20, 6 << 20, 0};
    s.memory.swap = {UINT64_MAX, 5 << 20, 0, 0};
    s.memory.raw = {{"anon", 1024}, {"file", 4096}};
    s.pids = {3, 64};
    auto back = cgroups::statsFromJson(cgroups::toJson(s));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->cpu.usage.total, 123456789u);
    EXPECT_EQ(back->cpu.usage.percpu, (std::vector<uint64_t>{1, 2}));
    EXPECT_EQ(back->cpu.throttling.throttledTime, 3000u);
    EXPECT_TRUE(back->cpuset.present);
    EXPECT_EQ(back->cpuset.cpus, (std::vector<uint16_t>{0, 1}));
    EXPECT_EQ(back->memory.usage.limit, 100u << 20);
    EXPECT_EQ(back->memory.usage.usage, 5u << 20);
    EXPECT_EQ(back->memory.usage.max, 6u << 20);
    EXPECT_EQ(back->memory.swap.limit, UINT64_MAX);
    EXPECT_EQ(back->memory.raw["anon"], 1024u);
    EXPECT_EQ(back->memory.cache, 4096u);
    EXPECT_EQ(back->pids.current, 3u);
    EXPECT_EQ(back->pids.limit, 64u);
    EXPECT_EQ(cgroups::toJson(*back), cgroups::toJson(s));
    EXPECT_FALSE(cgroups::statsFromJson(json::array()).ok());
    auto empty = cgroups::statsFromJson(json::object());
    ASSERT_TRUE(empty.ok());
    EXPECT_EQ(empty->memory.usage.usage, 0u);
}

// askAgent's side of the control socket, against a stand-in for the shim: the request's shape,
// a reply, an error reply, and a shim that closes without answering (the container stopped).
TEST(VmGuestOps, AskAgentOverTheControlSocket) {
    char tmpl[] = "/tmp/berth-askagent-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    std::string dir = tmpl, path = dir + "/" + vm::kControlSocketName;
    int l = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    ASSERT_GE(l, 0);
    struct sockaddr_un a = {};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    ASSERT_EQ(::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(l, 4), 0);
    std::vector<std::string> replies = {R"({"processes":[]})", R"({"error":"memory limit too big"})", ""};
    std::vector<std::string> got;
    std::thread shim([&] {
        for (auto& r : replies) {
            int c = ::accept(l, nullptr, nullptr);
            if (c < 0) return;
            char buf[4096];
            ssize_t n = ::recv(c, buf, sizeof buf, 0);
            got.emplace_back(buf, n > 0 ? static_cast<size_t>(n) : 0);
            if (!r.empty()) (void)::send(c, r.data(), r.size(), MSG_NOSIGNAL);
            ::close(c);
        }
    });
    auto ok = vm::askAgent(dir, wire::proto::Type::PsRequest, json{{"container", "c1"}});
    auto refused = vm::askAgent(dir, wire::proto::Type::UpdateRequest, json{{"container", "c1"}});
    auto gone = vm::askAgent(dir, wire::proto::Type::StatsRequest, json{{"container", "c1"}});
    shim.join();
    ::close(l);
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0], std::string("Q") + char(32) + R"({"container":"c1"})");
    EXPECT_EQ(got[1][1], char(34));
    ASSERT_TRUE(ok.ok()) << ok.error().what();
    EXPECT_TRUE((*ok)["processes"].is_array());
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().what(), "memory limit too big");
    ASSERT_FALSE(gone.ok());
    EXPECT_NE(gone.error().what().find("stopped"), std::string::npos) << gone.error().what();
}

// A pod VM's one vCPU and node 0 honour a container pinned to CPU 0 and node 0 (the kubelet's
// cpuset); CPUs or nodes the guest lacks are left to the VM's vCPU count.
TEST(GuestCpuset, KeptWhereTheGuestHasThem) {
    json r = {{"cpu", {{"cpus", "0"}, {"mems", "0"}, {"shares", 256}}}};
    EXPECT_EQ(wire::guestCpusetThatFits(r, "0", "0"), (json{{"cpu", {{"cpus", "0"}, {"mems", "0"}}}}));
    EXPECT_EQ(wire::guestCpusetThatFits(r, "0-1", "0"), (json{{"cpu", {{"cpus", "0"}, {"mems", "0"}}}}));
    json wide = {{"cpu", {{"cpus", "2-3,5"}, {"mems", "1"}}}};
    EXPECT_EQ(wire::guestCpusetThatFits(wide, "0-1", "0"), json::object());
    EXPECT_EQ(wire::guestCpusetThatFits(wide, "0-5", "0"), (json{{"cpu", {{"cpus", "2-3,5"}}}}));
    EXPECT_EQ(wire::guestCpusetThatFits(json{{"cpu", {{"cpus", "x"}}}}, "0-5", "0"), json::object());
    EXPECT_EQ(wire::guestCpusetThatFits(json{{"memory", {{"limit", 1}}}}, "0", "0"), json::object());
}

// The session keyring the guest process joins: the container id, or none (--no-new-keyring).
TEST(GuestKeyring, TheKeyringNameRoundTrips) {
    wire::GuestProcess p;
    p.process.args = {"sh"};
    p.process.cwd = "/";
    p.keyring = "web-1";
    auto back = wire::guestProcessFromJson(wire::toJson(p));
    ASSERT_TRUE(back.ok()) << back.error().what();
    EXPECT_EQ(back->keyring, "web-1");
    p.keyring.clear();
    back = wire::guestProcessFromJson(wire::toJson(p));
    ASSERT_TRUE(back.ok());
    EXPECT_TRUE(back->keyring.empty());
}
