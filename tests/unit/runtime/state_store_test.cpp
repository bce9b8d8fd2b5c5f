#include <gtest/gtest.h>
#include <unistd.h>

#include "common/fs.hpp"
#include "common/json.hpp"
#include "runtime/state/state.hpp"

using namespace berth;
using namespace berth::runtime::state;

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
    s.noNewKeyring = true;
    return s;
}
}  // namespace

TEST(StateStore, SaveLoadRoundTrip) {
    TempRoot t;
    Store store(t.path + "/root");
    auto lock = store.createAndLock("c1");
    ASSERT_TRUE(lock.ok()) << lock.error().what();
    ContainerState s = sample("c1");
    ASSERT_TRUE(store.saveConfig("c1", s.config.dump()).ok());
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
    EXPECT_TRUE(back->noNewKeyring);  // exec must not join a keyring the container never had
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

// Found by tests/fuzz/fuzz_state: "creatorPid": 4E42 reached nlohmann's get<int>(), a float to int
// cast out of range (undefined behaviour); floats and out-of-range integers are now refused.
TEST(StateStore, NumbersMustBeIntegersThatFit) {
    std::string good = toJson(sample("n")).dump();
    ASSERT_TRUE(parseState(good).ok());
    auto with = [&](const std::string& key, const std::string& value) {
        nlohmann::json j = nlohmann::json::parse(good);
        j[key] = nlohmann::json::parse(value);
        return parseState(j.dump());
    };
    for (const char* key : {"pid", "creatorPid", "pidStartTime", "creatorStartTime"}) {
        for (const char* bad : {"4E42", "1.5", "-1e300", "\"1\"", "true", "18446744073709551616"}) {
            auto r = with(key, bad);
            ASSERT_FALSE(r.ok()) << key << "=" << bad;
            EXPECT_NE(r.error().what().find(std::string("corrupt state: ") + key + ": "),
                      std::string::npos) << r.error().what();
        }
    }
    EXPECT_FALSE(with("pid", "2147483648").ok());
    EXPECT_FALSE(with("pidStartTime", "-1").ok());
    auto big = with("pidStartTime", "18446744073709551615");
    ASSERT_TRUE(big.ok());
    EXPECT_EQ(big->pidStartTime, 18446744073709551615ull);
    nlohmann::json old = nlohmann::json::parse(good);
    old.erase("creatorPid");
    old.erase("creatorStartTime");
    auto r = parseState(old.dump());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->creatorPid, 0);
    nlohmann::json noPid = nlohmann::json::parse(good);
    noPid.erase("pid");
    EXPECT_FALSE(parseState(noPid.dump()).ok());
}

// Found by tests/fuzz/fuzz_state: an unknown "saved" status was echoed raw, so a newline in it
// split the error the CLI prints as one line.
TEST(StateStore, AnUnknownStatusIsQuotedOnOneLine) {
    nlohmann::json j = toJson(sample("s"));
    j["saved"] = "running\nnow";
    auto r = parseState(j.dump());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().what(), "unknown status \"running\\nnow\"");
    j["saved"] = std::string(100, 'x');
    r = parseState(j.dump());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().what(), "unknown status \"" + std::string(43, 'x') + "...\"");
}

// A record holds its config one level down: a config at the nesting cap still loads, a state.json
// nested far deeper is one error line, not a stack overflow.
TEST(StateStore, DeepNestingLoadsUpToTheConfigCapAndIsRefusedBeyond) {
    std::string good = toJson(sample("deep")).dump();
    auto withX = [&](size_t depth) {
        return good.substr(0, good.size() - 1) + ",\"config\":{\"x\":" + std::string(depth, '[') +
               std::string(depth, ']') + "}}";
    };
    auto atCap = parseState(withX(kMaxJsonDepth - 1));
    ASSERT_TRUE(atCap.ok()) << atCap.error().what();
    auto deep = parseState(withX(100000));
    ASSERT_FALSE(deep.ok());
    EXPECT_EQ(deep.error().what(), "corrupt state.json: JSON nested deeper than 520 levels");
}

// state and list load the record without its config (Store::loadSummary): every other field
// reads the same as a full load. An older build's record holds the config: skipped unparsed.
TEST(StateStore, SummaryIsTheRecordWithoutItsConfig) {
    ContainerState s = sample("sum");
    s.config = nlohmann::json::parse(R"({"ociVersion":"1.2.0","process":{"args":["sh"]},"annotations":{"a":"b"}})");
    std::string text = toJson(s).dump();
    auto full = parseState(text);
    auto sum = parseStateSummary(text);
    ASSERT_TRUE(full.ok());
    ASSERT_TRUE(sum.ok()) << sum.error().what();
    EXPECT_TRUE(sum->config.is_null());
    EXPECT_EQ(full->config, s.config);
    EXPECT_TRUE(full->configInRecord);
    EXPECT_FALSE(sum->configInRecord);
    ContainerState withoutConfig = *full;
    withoutConfig.config = nullptr;
    withoutConfig.cgroup.paths.clear();
    withoutConfig.cgroup.madeParents.clear();
    EXPECT_EQ(toJson(*sum), toJson(withoutConfig));
    EXPECT_FALSE(parseStateSummary(text.substr(0, text.size() / 2)).ok());
}

// Store::save writes the record without its config (stateText); the config is config.json,
// written once by saveConfig, and load joins the two.
TEST(StateStore, RecordIsSmallAndConfigIsItsOwnFile) {
    TempRoot t;
    Store store(t.path);
    ASSERT_TRUE(store.createAndLock("split").ok());
    ContainerState s = sample("split");
    s.config = nlohmann::json::parse(R"({"ociVersion":"1.2.0","process":{"args":["sh","-c","a\"b"]}})");
    ASSERT_TRUE(store.saveConfig("split", s.config.dump()).ok());
    ASSERT_TRUE(store.save(s).ok());
    auto text = fs::readFile(store.dir("split") + "/state.json");
    ASSERT_TRUE(text.ok());
    auto record = nlohmann::json::parse(*text);
    EXPECT_FALSE(record.contains("config"));
    record["config"] = s.config;
    EXPECT_EQ(record, toJson(s));
    EXPECT_EQ(nlohmann::json::parse(*fs::readFile(store.configPath("split"))), s.config);
    auto back = store.load("split");
    ASSERT_TRUE(back.ok()) << back.error().what();
    EXPECT_EQ(toJson(*back), toJson(s));
    EXPECT_FALSE(back->configInRecord);
    auto sum = store.loadSummary("split");
    ASSERT_TRUE(sum.ok());
    EXPECT_TRUE(sum->config.is_null());
    EXPECT_TRUE(sum->cgroup.paths.empty());
    EXPECT_EQ(sum->pid, s.pid);
    EXPECT_EQ(sum->created, s.created);
    // A corrupt config.json is an error of the full load only.
    ASSERT_TRUE(fs::writeFileAtomic(store.configPath("split"), "{").ok());
    auto bad = store.load("split");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message().find("corrupt config.json"), std::string::npos) << bad.error().what();
    EXPECT_TRUE(store.loadSummary("split").ok());
}

// A container created by a build before the split (the config inside state.json, no
// config.json) still loads with its config; the next save moves the config to config.json
// before the record drops it; a later config.json (update) wins over the record's copy.
TEST(StateStore, OlderRecordWithTheConfigInsideStillLoadsAndMigrates) {
    TempRoot t;
    Store store(t.path);
    ASSERT_TRUE(store.createAndLock("old").ok());
    ContainerState s = sample("old");
    s.config = nlohmann::json::parse(R"({"ociVersion":"1.0.2","hooks":{"poststop":[{"path":"/bin/true"}]}})");
    ASSERT_TRUE(fs::writeFileAtomic(store.dir("old") + "/state.json", toJson(s).dump(), 0600).ok());
    auto back = store.load("old");
    ASSERT_TRUE(back.ok()) << back.error().what();
    EXPECT_EQ(back->config, s.config);
    EXPECT_TRUE(back->configInRecord);
    back->saved = ContainerStatus::Stopped;
    ASSERT_TRUE(store.save(*back).ok());
    EXPECT_FALSE(nlohmann::json::parse(*fs::readFile(store.dir("old") + "/state.json")).contains("config"));
    auto again = store.load("old");
    ASSERT_TRUE(again.ok()) << again.error().what();
    EXPECT_EQ(again->config, s.config);
    EXPECT_EQ(again->saved, ContainerStatus::Stopped);
    EXPECT_FALSE(again->configInRecord);

    ASSERT_TRUE(store.createAndLock("upd").ok());
    ContainerState u = sample("upd");
    ASSERT_TRUE(fs::writeFileAtomic(store.dir("upd") + "/state.json", toJson(u).dump(), 0600).ok());
    ASSERT_TRUE(store.saveConfig("upd", R"({"ociVersion":"9"})").ok());
    auto updated = store.load("upd");
    ASSERT_TRUE(updated.ok());
    EXPECT_EQ(updated->config["ociVersion"], "9");
}

// start and delete load only the config's hooks; an older record's config comes whole, so the
// save that moves it to config.json keeps all of it.
TEST(StateStore, HooksOnlyLoadKeepsTheHooksAndAnOlderRecordWhole) {
    TempRoot t;
    Store store(t.path);
    ASSERT_TRUE(store.createAndLock("h").ok());
    ContainerState s = sample("h");
    s.config = nlohmann::json::parse(
        R"({"ociVersion":"1.2.0","process":{"args":["sh"]},"linux":{"seccomp":{}},"hooks":{"poststop":[{"path":"/bin/true"}]}})");
    ASSERT_TRUE(store.saveConfig("h", s.config.dump()).ok());
    ASSERT_TRUE(store.save(s).ok());
    auto h = store.loadWithHooksOnly("h");
    ASSERT_TRUE(h.ok()) << h.error().what();
    EXPECT_EQ(h->config["hooks"], s.config["hooks"]);
    EXPECT_EQ(h->config["ociVersion"], "1.2.0");
    EXPECT_EQ(h->config["process"], nlohmann::json::object());
    EXPECT_EQ(h->cgroup.paths, s.cgroup.paths);

    ASSERT_TRUE(store.createAndLock("o").ok());
    ContainerState o = sample("o");
    o.config = s.config;
    ASSERT_TRUE(fs::writeFileAtomic(store.dir("o") + "/state.json", toJson(o).dump(), 0600).ok());
    auto old = store.loadWithHooksOnly("o");
    ASSERT_TRUE(old.ok());
    EXPECT_TRUE(old->configInRecord);
    ASSERT_TRUE(store.save(*old).ok());
    EXPECT_EQ(store.load("o")->config, s.config);
}

// kill loads the record without config.json (loadRecord): the cgroup paths and the handler are
// there, the config is not read at all (a corrupt one does not matter to it).
TEST(StateStore, LoadRecordSkipsTheConfig) {
    TempRoot t;
    Store store(t.path);
    ASSERT_TRUE(store.createAndLock("rec").ok());
    ContainerState s = sample("rec");
    s.handler = "vm";
    ASSERT_TRUE(store.save(s).ok());
    ASSERT_TRUE(fs::writeFileAtomic(store.configPath("rec"), "{").ok());
    EXPECT_FALSE(store.load("rec").ok());
    auto r = store.loadRecord("rec");
    ASSERT_TRUE(r.ok()) << r.error().what();
    EXPECT_TRUE(r->config.is_null());
    EXPECT_EQ(r->cgroup.paths, s.cgroup.paths);
    EXPECT_EQ(r->handler, "vm");
    EXPECT_EQ(r->pid, s.pid);
    EXPECT_FALSE(store.loadRecord("missing").ok());
}
