#include <gtest/gtest.h>

#include "runtime/handler.hpp"

using namespace berth;
using namespace berth::runtime;

namespace {

class FakeHandler : public Handler {
public:
    const char* name() const override { return "fake-test"; }
    Result<HandlerLaunched> launch(const HandlerRequest&) override { return HandlerLaunched{1}; }
    Status kill(const HandledContainer&, int, bool) override { return {}; }
    Status destroy(const HandledContainer&) override { return {}; }
    Result<std::vector<pid_t>> processes(const HandledContainer&) override { return std::vector<pid_t>{}; }
};

}  // namespace

TEST(RuntimeHandler, AnnotationWinsOverTheDefaultAndUnknownNamesAreRefused) {
    registerHandler(std::make_shared<FakeHandler>());
    ASSERT_NE(findHandler("fake-test"), nullptr);
    EXPECT_EQ(findHandler("nosuch"), nullptr);

    GlobalOptions g;
    runtime::spec::Spec s;
    EXPECT_EQ(*handlerFor(g, s), "");  // the built-in namespaces path
    g.handler = "fake-test";            // e.g. set from argv[0]
    EXPECT_EQ(*handlerFor(g, s), "fake-test");
    s.annotations[kHandlerAnnotation] = "linux";  // the annotation can ask for the native path
    EXPECT_EQ(*handlerFor(g, s), "");
    s.annotations[kHandlerAnnotation] = "nosuch";
    auto r = handlerFor(g, s);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("no such handler"), std::string::npos);
}

TEST(RuntimeHandler, StateRecordKeepsTheHandler) {
    runtime::state::ContainerState st;
    st.id = "c1";
    st.bundle = "/b";
    st.rootfs = "rootfs";
    st.created = "2026-01-01T00:00:00Z";
    st.handler = "vm";
    auto back = runtime::state::fromJson(runtime::state::toJson(st));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->handler, "vm");
    auto j = runtime::state::toJson(st);
    j.erase("handler");  // records written before handlers existed
    EXPECT_EQ(runtime::state::fromJson(j)->handler, "");
}

TEST(RuntimeHandler, TheNamespacesPathIsAHandlerAndOneLookupNamesAMissingOne) {
    Handler* native = findHandler("");
    ASSERT_NE(native, nullptr);
    EXPECT_EQ(native, &namespacesHandler());
    EXPECT_EQ(findHandler("linux"), native);
    EXPECT_STREQ(native->name(), "");

    runtime::state::ContainerState st;
    st.id = "c1";
    EXPECT_EQ(*handlerOf(st), native);  // records written before handlers existed
    st.handler = "gone";
    auto h = handlerOf(st);
    ASSERT_FALSE(h.ok());
    EXPECT_EQ(h.error().err(), EINVAL);
    EXPECT_EQ(h.error().message(), "container \"c1\": handler \"gone\" is not available");
}

TEST(RuntimeHandler, WhatAHandlerLacksIsRefusedInOnePlace) {
    FakeHandler fake;
    runtime::state::ContainerState st;
    st.id = "c1";
    HandledContainer c{st, "/nonexistent", runtime::state::ContainerStatus::Running};
    auto paused = fake.freeze(c, true);
    ASSERT_FALSE(paused.ok());
    EXPECT_EQ(paused.error().err(), ENOTSUP);
    EXPECT_EQ(paused.error().message(), "cannot pause container \"c1\": not supported by the \"fake-test\" handler");
    EXPECT_EQ(fake.update(c, nlohmann::json::object()).error().message(),
              "cannot update container \"c1\": not supported by the \"fake-test\" handler");
    EXPECT_EQ(fake.monitor(c).error().message(),
              "cannot watch events of container \"c1\": not supported by the \"fake-test\" handler");
    ExecRequest r;
    EXPECT_EQ(fake.exec(c, r).error().message(),
              "cannot exec in container \"c1\": not supported by the \"fake-test\" handler");
}
