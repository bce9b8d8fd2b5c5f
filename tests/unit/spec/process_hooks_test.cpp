// parseProcess (exec --process FILE) and the hooks round trip the state store relies on.
#include <gtest/gtest.h>

#include "runtime/spec/spec.hpp"
#include "tests/unit/spec/fixtures.hpp"

using namespace berth;
using nlohmann::json;

namespace {

std::string processError(const std::string& text) {
    auto r = runtime::spec::parseProcess(text);
    return r.ok() ? "<accepted>" : r.error().what();
}

}  // namespace

TEST(SpecProcess, StandaloneProcessParses) {
    auto r = runtime::spec::parseProcess(R"({
        "terminal": true,
        "user": {"uid": 33, "gid": 33, "additionalGids": [4]},
        "args": ["/bin/ps", "aux"],
        "env": ["PATH=/bin"],
        "cwd": "/tmp",
        "capabilities": {"bounding": ["CAP_NET_RAW"], "effective": ["CAP_NET_RAW"]},
        "rlimits": [{"type": "RLIMIT_NPROC", "hard": 100, "soft": 50}],
        "noNewPrivileges": true,
        "apparmorProfile": "p",
        "oomScoreAdj": 100,
        "anythingElse": {"ignored": true}
    })");
    ASSERT_TRUE(r.ok()) << r.error().what();
    EXPECT_TRUE(r->terminal);
    EXPECT_EQ(r->user.uid, 33u);
    EXPECT_EQ(r->user.additionalGids, (std::vector<uint32_t>{4}));
    EXPECT_EQ(r->args, (std::vector<std::string>{"/bin/ps", "aux"}));
    EXPECT_EQ(r->cwd, "/tmp");
    EXPECT_EQ(r->capabilities->bounding, (std::vector<std::string>{"CAP_NET_RAW"}));
    EXPECT_TRUE(r->capabilities->permitted.empty());
    ASSERT_EQ(r->rlimits.size(), 1u);
    EXPECT_EQ(r->rlimits[0].hard, 100u);
    EXPECT_TRUE(r->noNewPrivileges);
    EXPECT_EQ(r->oomScoreAdj, std::optional<int>(100));
    EXPECT_TRUE(r->warnings.empty());
}

TEST(SpecProcess, ProcessSectionOfAConfigParsesStandaloneToo) {
    json full = json::parse(runtime::spec::testing::kFullConfig);
    auto fromConfig = runtime::spec::parse(full.dump());
    auto standalone = runtime::spec::parseProcess(full["process"].dump());
    ASSERT_TRUE(fromConfig.ok());
    ASSERT_TRUE(standalone.ok()) << standalone.error().what();
    EXPECT_EQ(standalone->args, fromConfig->process->args);
    EXPECT_EQ(standalone->env, fromConfig->process->env);
    EXPECT_EQ(standalone->user.umask, fromConfig->process->user.umask);
    EXPECT_EQ(standalone->rlimits[0].hard, fromConfig->process->rlimits[0].hard);
    EXPECT_EQ(standalone->scheduler->flags, fromConfig->process->scheduler->flags);
}

// The VM guest's config carries the process as an object: parsed in place, not dumped and
// parsed again, with the same result and the same error paths as the text form.
TEST(SpecProcess, ParsedValueMatchesTheTextForm) {
    json full = json::parse(runtime::spec::testing::kFullConfig);
    auto fromText = runtime::spec::parseProcess(full["process"].dump());
    auto fromValue = runtime::spec::parseProcessValue(full["process"], "guest config");
    ASSERT_TRUE(fromText.ok());
    ASSERT_TRUE(fromValue.ok()) << fromValue.error().what();
    EXPECT_EQ(fromValue->args, fromText->args);
    EXPECT_EQ(fromValue->env, fromText->env);
    EXPECT_EQ(fromValue->cwd, fromText->cwd);
    EXPECT_EQ(fromValue->rlimits.size(), fromText->rlimits.size());
    auto bad = runtime::spec::parseProcessValue(json::parse(R"({"args": [], "cwd": "/"})"), "guest config");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(std::string(bad.error().what()).find("guest config: args"), std::string::npos) << bad.error().what();
    EXPECT_FALSE(runtime::spec::parseProcessValue(json::array(), "guest config").ok());
}

TEST(SpecProcess, ErrorsNamePathsWithinTheProcessFile) {
    EXPECT_EQ(processError(R"({"cwd": "/"})"),
              "process.json: args: must be a non-empty array of strings");
    EXPECT_EQ(processError(R"({"args": ["sh"], "cwd": "tmp"})"),
              "process.json: cwd: must be an absolute path, got \"tmp\"");
    EXPECT_EQ(processError(R"({"args": ["sh"]})"), "process.json: cwd: is required");
    EXPECT_EQ(processError(R"({"args": ["sh"], "cwd": "/", "user": {"uid": -1}})"),
              "process.json: user.uid: must be an unsigned 32-bit integer, got -1");
    EXPECT_EQ(processError(R"({"args": ["sh"], "cwd": "/",
                               "rlimits": [{"type": "RLIMIT_BOGUS", "hard": 1, "soft": 1}]})"),
              "process.json: rlimits[0].type: unknown rlimit type \"RLIMIT_BOGUS\"");
    EXPECT_EQ(processError("[]"), "process.json: must be a JSON object, got an array");
    std::string bad = processError("{\"args\": [");
    EXPECT_EQ(bad.rfind("process.json: invalid JSON: ", 0), 0u) << bad;
}

TEST(SpecProcess, WhatNamesTheFile) {
    auto r = runtime::spec::parseProcess(R"({"args": []})", "/tmp/p.json");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().what(), "/tmp/p.json: args: must be a non-empty array of strings");
}

TEST(SpecProcess, UnknownCapabilitiesWarnWithTheFileName) {
    auto r = runtime::spec::parseProcess(
        R"({"args": ["sh"], "cwd": "/", "capabilities": {"ambient": ["CAP_NOPE", "CAP_BPF"]}})");
    ASSERT_TRUE(r.ok()) << r.error().what();
    EXPECT_EQ(r->capabilities->ambient, (std::vector<std::string>{"CAP_BPF"}));
    ASSERT_EQ(r->warnings.size(), 1u);
    EXPECT_EQ(r->warnings[0],
              "process.json: capabilities.ambient[0]: ignoring unknown capability \"CAP_NOPE\"");
}

TEST(SpecHooks, RoundTripThroughJson) {
    auto s = runtime::spec::parse(runtime::spec::testing::kFullConfig);
    ASSERT_TRUE(s.ok()) << s.error().what();
    json saved = runtime::spec::hooksToJson(s->hooks);
    // The serialised form is the spec's own hooks object, so it can be read by anyone.
    EXPECT_EQ(saved, json::parse(runtime::spec::testing::kFullConfig)["hooks"]);
    auto back = runtime::spec::parseHooks(json::parse(saved.dump()), "state.json");
    ASSERT_TRUE(back.ok()) << back.error().what();
    EXPECT_EQ(runtime::spec::hooksToJson(*back), saved);
    ASSERT_EQ(back->prestart.size(), 1u);
    EXPECT_EQ(back->prestart[0].path, "/usr/bin/hook");
    EXPECT_EQ(back->prestart[0].args, s->hooks.prestart[0].args);
    EXPECT_EQ(back->prestart[0].env, s->hooks.prestart[0].env);
    EXPECT_EQ(back->prestart[0].timeout, std::optional<int>(5));
    EXPECT_EQ(back->createRuntime.size(), 2u);
    ASSERT_EQ(back->poststop.size(), 1u);
    EXPECT_EQ(back->poststop[0].args, (std::vector<std::string>{"cleanup", "--all"}));
}

TEST(SpecHooks, EveryEventKindSurvivesTheRoundTrip) {
    runtime::spec::Hooks h;
    h.prestart.push_back({"/a", {}, {}, std::nullopt});
    h.createRuntime.push_back({"/b", {"b"}, {}, 1});
    h.createContainer.push_back({"/c", {}, {"X=1"}, std::nullopt});
    h.startContainer.push_back({"/d", {}, {}, 2});
    h.poststart.push_back({"/e", {"e", "1"}, {}, std::nullopt});
    h.poststop.push_back({"/f", {}, {}, 3});
    json j = runtime::spec::hooksToJson(h);
    EXPECT_EQ(j.size(), 6u);
    auto back = runtime::spec::parseHooks(j, "state.json");
    ASSERT_TRUE(back.ok()) << back.error().what();
    EXPECT_EQ(back->createContainer[0].env, (std::vector<std::string>{"X=1"}));
    EXPECT_EQ(back->startContainer[0].timeout, std::optional<int>(2));
    EXPECT_EQ(back->poststart[0].args, (std::vector<std::string>{"e", "1"}));
    EXPECT_EQ(runtime::spec::hooksToJson(*back), j);
}

TEST(SpecHooks, EmptyHooksAndNull) {
    EXPECT_EQ(runtime::spec::hooksToJson(runtime::spec::Hooks{}), json::object());
    auto fromNull = runtime::spec::parseHooks(json(nullptr), "state.json");
    ASSERT_TRUE(fromNull.ok());
    EXPECT_TRUE(fromNull->empty());
    auto fromEmpty = runtime::spec::parseHooks(json::object(), "state.json");
    ASSERT_TRUE(fromEmpty.ok());
    EXPECT_TRUE(fromEmpty->empty());
}

TEST(SpecHooks, ErrorsUseTheGivenName) {
    auto r = runtime::spec::parseHooks(json::parse(R"({"poststop": [{"path": "rel"}]})"), "state.json");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().what(),
              "state.json: poststop[0].path: must be an absolute path, got \"rel\"");
    auto notObject = runtime::spec::parseHooks(json::array(), "state.json");
    ASSERT_FALSE(notObject.ok());
    EXPECT_EQ(notObject.error().what(), "state.json: must be an object, got an array");
}

TEST(SpecProcess, ProcessToJsonReadsBackAsTheSameProcess) {
    json full = json::parse(runtime::spec::testing::kFullConfig);
    auto first = runtime::spec::parseProcess(full["process"].dump());
    ASSERT_TRUE(first.ok()) << first.error().what();
    first->consoleSize = runtime::spec::ConsoleSize{33, 111};
    first->execCPUAffinity = runtime::spec::CpuAffinity{"0", "0-1"};
    first->ioPriority = runtime::spec::IoPriority{"IOPRIO_CLASS_BE", 3};
    json once = runtime::spec::processToJson(*first);
    auto second = runtime::spec::parseProcess(once.dump());
    ASSERT_TRUE(second.ok()) << second.error().what() << "\n" << once.dump(2);
    EXPECT_EQ(runtime::spec::processToJson(*second), once);
    EXPECT_EQ(second->args, first->args);
    EXPECT_EQ(second->user.umask, first->user.umask);
    EXPECT_EQ(second->capabilities->ambient, first->capabilities->ambient);
    EXPECT_EQ(second->scheduler->policy, first->scheduler->policy);
    EXPECT_EQ(second->consoleSize->width, 111u);
    EXPECT_EQ(second->execCPUAffinity->final, "0-1");
    EXPECT_EQ(second->ioPriority->priority, 3);
    EXPECT_TRUE(second->warnings.empty());
}

// Found by tests/fuzz/fuzz_state: a state.json without "config" (or with a non-object one) made
// start and delete throw out of json::value() instead of reading no hooks or refusing.
TEST(SpecHooks, HooksOfASavedConfigNeverThrow) {
    auto none = runtime::spec::hooksOfConfig(json(nullptr), "state");
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());
    auto noHooks = runtime::spec::hooksOfConfig(json::parse(R"({"ociVersion": "1.0.0", "hooks": null})"), "state");
    ASSERT_TRUE(noHooks.ok());
    EXPECT_TRUE(noHooks->empty());
    for (const json& bad : {json(1), json("x"), json::array(), json(true)}) {
        auto r = runtime::spec::hooksOfConfig(bad, "state");
        ASSERT_FALSE(r.ok()) << bad.dump();
        EXPECT_EQ(r.error().what().rfind("state: config: must be an object, got ", 0), 0u)
            << r.error().what();
    }
    auto some = runtime::spec::hooksOfConfig(
        json::parse(R"({"hooks": {"poststop": [{"path": "/bin/true", "timeout": 2}]}})"), "state");
    ASSERT_TRUE(some.ok());
    ASSERT_EQ(some->poststop.size(), 1u);
    EXPECT_EQ(some->poststop[0].path, "/bin/true");
}
