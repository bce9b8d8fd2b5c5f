#include <gtest/gtest.h>
#include <unistd.h>

#include "common/fs.hpp"
#include "runtime/state/state.hpp"

using namespace berth;
using namespace berth::state;

namespace {
struct TempRoot {
    std::string path;
    TempRoot() {
        char tmpl[] = "/tmp/berth-state-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempRoot() { (void)fs::removeAll(path); }
};

ContainerState sample(const std::string& id) {
    ContainerState s;
    s.id = id;
    s.pid = getpid();
    s.pidStartTime = processStartTime(getpid());
    s.bundle = "/b";
    s.rootfs = "/b/rootfs";
    s.created = "2026-01-01T00:00:00Z";
    s.annotations = {{"k", "v"}};
    s.saved = ContainerStatus::Running;
    s.cgroup.paths = {{"/sys/fs/cgroup/memory", "/sys/fs/cgroup/memory/x"}};
    s.cgroup.driver = "systemd";
    s.cgroup.unit = "berth-x.scope";
    s.config = {{"ociVersion", "1.2.0"}};
    return s;
}
}  // namespace

TEST(StateStore, SaveLoadRoundTrip) {
    TempRoot t;
    Store store(t.path + "/root");
    auto lock = store.createAndLock("c1");
    ASSERT_TRUE(lock.ok()) << lock.error().what();
    ContainerState s = sample("c1");
    ASSERT_TRUE(store.save(s).ok());
    auto back = store.load("c1");
    ASSERT_TRUE(back.ok()) << back.error().what();
    EXPECT_EQ(back->pid, s.pid);
    EXPECT_EQ(back->bundle, "/b");
    EXPECT_EQ(back->annotations.at("k"), "v");
    EXPECT_EQ(back->cgroup.paths, s.cgroup.paths);
    EXPECT_EQ(back->cgroup.driver, "systemd");
    EXPECT_EQ(back->cgroup.unit, "berth-x.scope");
    EXPECT_EQ(back->saved, ContainerStatus::Running);
    EXPECT_EQ(back->config["ociVersion"], "1.2.0");
    EXPECT_FALSE(fs::exists(store.dir("c1") + "/state.json.tmp"));
}

TEST(StateStore, DuplicateIdIsRefused) {
    TempRoot t;
    Store store(t.path);
    auto a = store.createAndLock("dup");
    ASSERT_TRUE(a.ok());
    auto b = store.createAndLock("dup");
    ASSERT_FALSE(b.ok());
    EXPECT_NE(b.error().message().find("already exists"), std::string::npos);
}

TEST(StateStore, UnknownIdSaysDoesNotExist) {
    TempRoot t;
    Store store(t.path);
    auto l = store.load("nope");
    ASSERT_FALSE(l.ok());
    EXPECT_NE(l.error().message().find("does not exist"), std::string::npos);
    auto k = store.lock("nope");
    ASSERT_FALSE(k.ok());
    EXPECT_NE(k.error().message().find("does not exist"), std::string::npos);
}

TEST(StateStore, InvalidIdsAreRefused) {
    for (std::string id : std::vector<std::string>{"", ".", "..", "a/b", "a b", "../x", std::string(2000, 'a')})
        EXPECT_FALSE(validateId(id).ok()) << id;
    for (std::string id : {"a", "A-b_c.d+e", "0123456789abcdef"}) EXPECT_TRUE(validateId(id).ok()) << id;
}

TEST(StateStore, CorruptStateIsAnErrorNotACrash) {
    TempRoot t;
    Store store(t.path);
    ASSERT_TRUE(store.createAndLock("bad").ok());
    ASSERT_TRUE(fs::writeFileAtomic(store.dir("bad") + "/state.json", "{not json").ok());
    auto l = store.load("bad");
    ASSERT_FALSE(l.ok());
    EXPECT_NE(l.error().message().find("corrupt"), std::string::npos);
    ASSERT_TRUE(fs::writeFileAtomic(store.dir("bad") + "/state.json", "{\"id\":1}").ok());
    EXPECT_FALSE(store.load("bad").ok());
}

TEST(StateStore, ListSkipsDirectoriesWithoutState) {
    TempRoot t;
    Store store(t.path);
    ASSERT_TRUE(store.createAndLock("b").ok());
    ASSERT_TRUE(store.save(sample("b")).ok());
    ASSERT_TRUE(store.createAndLock("a").ok());
    ASSERT_TRUE(store.save(sample("a")).ok());
    ASSERT_TRUE(store.createAndLock("half").ok());
    auto ids = store.list();
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(*ids, (std::vector<std::string>{"a", "b"}));
}

TEST(StateStore, LiveStatusFollowsTheKernel) {
    TempRoot t;
    Store store(t.path);
    ASSERT_TRUE(store.createAndLock("s").ok());
    ContainerState s = sample("s");
    EXPECT_EQ(store.liveStatus(s), ContainerStatus::Running);
    ASSERT_TRUE(fs::writeFileAtomic(store.fifoPath("s"), "").ok());
    EXPECT_EQ(store.liveStatus(s), ContainerStatus::Created);
    s.pidStartTime += 1;  // same pid, another process: pid reuse
    EXPECT_EQ(store.liveStatus(s), ContainerStatus::Stopped);
    s.saved = ContainerStatus::Creating;
    s.creatorPid = getpid();
    s.creatorStartTime = processStartTime(getpid());
    EXPECT_EQ(store.liveStatus(s), ContainerStatus::Creating);
    s.creatorStartTime += 1;  // the creating runtime is gone
    EXPECT_EQ(store.liveStatus(s), ContainerStatus::Stopped);
}

TEST(StateStore, AnUnknownStartTimeNeverMatchesARecycledPid) {
    EXPECT_FALSE(processAlive(getpid(), 0));
    EXPECT_TRUE(processAlive(getpid(), processStartTime(getpid())));
    bool zombie = true;
    EXPECT_NE(processStartTime(getpid(), &zombie), 0u);
    EXPECT_FALSE(zombie);
}

TEST(StateStore, PublicJsonHasRuncFields) {
    auto j = publicJson(sample("p"), ContainerStatus::Running);
    for (auto k : {"ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner", "annotations"})
        EXPECT_TRUE(j.contains(k)) << k;
    EXPECT_EQ(j["status"], "running");
    EXPECT_EQ(publicJson(sample("p"), ContainerStatus::Stopped)["pid"], 0);
}
