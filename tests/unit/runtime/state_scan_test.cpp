// The direct state.json reader (runtime/state/record_scan) against nlohmann's: the same record
// for what this build writes, and nullopt (the nlohmann path) for everything else.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/state/record_scan.hpp"
#include "runtime/state/state.hpp"

using namespace berth::runtime::state;
using berth::runtime::state::detail::scanRecord;

namespace {

ContainerState tricky() {
    ContainerState s;
    s.id = "c-1.x+y_z";
    s.pid = 2147483647;
    s.pidStartTime = 18446744073709551615ULL;
    s.creatorPid = 17;
    s.creatorStartTime = 0;
    s.bundle = "/b/with \"quotes\" and \\back\\slashes/and/slashes";
    s.rootfs = "rootfs\twith\ttabs\nand newlines\r\b\f";
    s.created = "2026-12-06T18:00:00.123456789Z";
    s.owner = "";
    s.annotations = {{"k", "v"}, {"empty", ""}, {std::string(300, 'a'), std::string(5000, 'b')}};
    s.saved = ContainerStatus::Paused;
    s.cgroup.driver = "systemd";
    s.cgroup.paths = {{"memory", "/sys/fs/cgroup/memory/x"}, {"", "/sys/fs/cgroup/unified/x"}};
    s.cgroup.unit = "berth-x.scope";
    s.cgroup.madeParents = {"/a", "/a/b"};
    s.systemdCgroup = true;
    s.noPivot = true;
    s.noNewKeyring = false;
    s.imageBundle = "/var/lib/berth/bundles/x";
    s.handler = "vm";
    return s;
}

void expectSame(const ContainerState& a, const ContainerState& b) {
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.pid, b.pid);
    EXPECT_EQ(a.pidStartTime, b.pidStartTime);
    EXPECT_EQ(a.creatorPid, b.creatorPid);
    EXPECT_EQ(a.creatorStartTime, b.creatorStartTime);
    EXPECT_EQ(a.bundle, b.bundle);
    EXPECT_EQ(a.rootfs, b.rootfs);
    EXPECT_EQ(a.created, b.created);
    EXPECT_EQ(a.owner, b.owner);
    EXPECT_EQ(a.annotations, b.annotations);
    EXPECT_EQ(a.saved, b.saved);
    EXPECT_EQ(a.cgroup.driver, b.cgroup.driver);
    EXPECT_EQ(a.cgroup.paths, b.cgroup.paths);
    EXPECT_EQ(a.cgroup.unit, b.cgroup.unit);
    EXPECT_EQ(a.cgroup.madeParents, b.cgroup.madeParents);
    EXPECT_EQ(a.systemdCgroup, b.systemdCgroup);
    EXPECT_EQ(a.noPivot, b.noPivot);
    EXPECT_EQ(a.noNewKeyring, b.noNewKeyring);
    EXPECT_EQ(a.imageBundle, b.imageBundle);
    EXPECT_EQ(a.handler, b.handler);
    EXPECT_EQ(a.configInRecord, b.configInRecord);
}

}  // namespace

TEST(StateScan, ReadsWhatThisBuildWritesAsNlohmannDoes) {
    for (const ContainerState& s : {tricky(), ContainerState{}}) {
        ContainerState in = s;
        if (in.id.empty()) in.id = "minimal";
        std::string text = stateText(in).value();
        auto fast = scanRecord(text, false);
        ASSERT_TRUE(fast.has_value()) << text.substr(0, 200);
        auto slow = fromJson(nlohmann::json::parse(text));
        ASSERT_TRUE(slow.ok());
        expectSame(*fast, *slow);
        expectSame(*fast, in);
        // The summary leaves the cgroup paths and made parents empty, as parseStateSummary did.
        auto summary = scanRecord(text, true);
        ASSERT_TRUE(summary.has_value());
        EXPECT_TRUE(summary->cgroup.paths.empty());
        EXPECT_TRUE(summary->cgroup.madeParents.empty());
        EXPECT_EQ(summary->annotations, in.annotations);
        // The public entry points give the same answer.
        auto parsed = parseState(text);
        ASSERT_TRUE(parsed.ok());
        expectSame(*parsed, in);
    }
}

TEST(StateScan, WhitespaceAndMemberOrderAndRepeatsAsNlohmann) {
    std::string text = R"( { "saved" : "created", "id":"a", "pid":-1, "pidStartTime":0, "bundle":"b",
        "rootfs":"r", "created":"c", "id":"b", "config":null, "annotations":{"x":"1","x":"2"} } )";
    auto fast = scanRecord(text, false);
    ASSERT_TRUE(fast.has_value());
    auto slow = fromJson(nlohmann::json::parse(text));
    ASSERT_TRUE(slow.ok());
    expectSame(*fast, *slow);
    EXPECT_EQ(fast->id, "b");
    EXPECT_EQ(fast->cgroup.driver, "cgroupfs");
}

TEST(StateScan, LeavesEverythingElseToNlohmann) {
    const std::string base = R"("id":"a","pid":1,"pidStartTime":2,"bundle":"b","rootfs":"r","created":"c","saved":"running")";
    for (const std::string& text : std::vector<std::string>{
             "{" + base + ",\"owner\":\"\\u00e9\"}",            // a \u escape
             "{" + base + ",\"owner\":\"\xc3\xa9\"}",            // UTF-8 (nlohmann checks it)
             "{" + base + ",\"owner\":\"\xff\"}",                // not UTF-8
             "{" + base + ",\"creatorPid\":1.5}",                 // a float
             "{" + base + ",\"creatorPid\":1e3}",                 // an exponent
             "{" + base + ",\"creatorPid\":01}",                  // a leading zero
             "{" + base + ",\"creatorPid\":99999999999}",         // past 32 bits
             "{" + base + ",\"pidStartTime\":-2}",                // negative unsigned
             "{" + base + ",\"config\":{\"ociVersion\":\"1\"}}",  // an older record
             "{" + base + ",\"unknown\":1}",                      // a member of another build
             "{" + base + ",\"noPivot\":\"yes\"}",                // a wrong type
             "{" + base + ",\"annotations\":{\"k\":1}}",
             "{" + base + ",\"saved\":\"sleeping\"}",             // an unknown status
             "{" + base + "} trailing",
             "{" + base + ",}",
             "{" + base,
             std::string(R"({"id":"a","pid":1})"),                              // required members missing
             std::string("[]"),
             std::string(),
             "{" + base + ",\"owner\":\"raw\ncontrol\"}",
         })
        EXPECT_FALSE(scanRecord(text, false).has_value()) << text;
    // Control characters other than \b\f\n\r\t are written as \u00XX: nlohmann reads those.
    ContainerState ctl = tricky();
    ctl.annotations["ctl"] = std::string("\x01\x1f", 2);
    EXPECT_FALSE(scanRecord(stateText(ctl).value(), false).has_value());
    auto back = parseState(stateText(ctl).value());
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->annotations, ctl.annotations);
    // Each still gets nlohmann's answer: a record, or its one error line.
    EXPECT_TRUE(parseState("{" + base + ",\"owner\":\"\\u00e9\"}").ok());
    auto bad = parseState("{" + base + ",\"saved\":\"sleeping\"}");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message().find("unknown status"), std::string::npos);
    auto big = parseState("{" + base + ",\"creatorPid\":99999999999}");
    ASSERT_FALSE(big.ok());
    EXPECT_NE(big.error().message().find("must be an integer that fits 32 bits"), std::string::npos);
}
