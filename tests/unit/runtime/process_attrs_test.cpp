#include <gtest/gtest.h>

#include <sys/personality.h>

#include "common/fs.hpp"
#include "runtime/process/exec_process.hpp"
#include "runtime/security/security.hpp"
#include "runtime/spec/spec.hpp"

using namespace berth;

TEST(ProcessAttrs, PersonalityDomains) {
    EXPECT_FALSE(runtime::security::personalityFor(nlohmann::json())->has_value());
    EXPECT_EQ(**runtime::security::personalityFor({{"domain", "LINUX"}}), static_cast<unsigned long>(PER_LINUX));
    EXPECT_EQ(**runtime::security::personalityFor({{"domain", "LINUX32"}, {"flags", nlohmann::json::array()}}),
              static_cast<unsigned long>(PER_LINUX32));
    auto bad = runtime::security::personalityFor({{"domain", "BSD"}});
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().what(), "linux.personality.domain: must be LINUX or LINUX32, got \"BSD\"");
    EXPECT_FALSE(runtime::security::personalityFor({{"domain", "LINUX"}, {"flags", {"ADDR_NO_RANDOMIZE"}}}).ok());
    EXPECT_FALSE(runtime::security::personalityFor(nlohmann::json::array()).ok());
}

TEST(ProcessAttrs, ExecCpuAffinityIsParsedAndChecked) {
    auto p = runtime::spec::parseProcess(R"({"args":["sh"],"cwd":"/","execCPUAffinity":{"initial":"0-3,7","final":"1"}})", "p.json");
    ASSERT_TRUE(p.ok()) << p.error().what();
    ASSERT_TRUE(p->execCPUAffinity.has_value());
    EXPECT_EQ(p->execCPUAffinity->initial, "0-3,7");
    EXPECT_EQ(p->execCPUAffinity->final, "1");
    for (const char* bad : {"\"3-1\"", "\"1,\"", "\"a\"", "\"1--2\"", "\"99999\"", "5"}) {
        auto q = runtime::spec::parseProcess(std::string(R"({"args":["sh"],"cwd":"/","execCPUAffinity":{"final":)") + bad + "}}",
                                    "p.json");
        EXPECT_FALSE(q.ok()) << bad;
    }
}

// HOME from /etc/passwd when the spec's env has none (runc's rule); read without iostreams.
TEST(ProcessAttrs, HomeComesFromPasswdUnlessSet) {
    auto passwd = fs::readFile("/etc/passwd");
    if (!passwd || (passwd->find("\nroot:") == std::string::npos && passwd->rfind("root:", 0) != 0))
        GTEST_SKIP() << "no root entry in /etc/passwd";
    runtime::spec::Process p;
    p.env = {"PATH=/bin"};
    auto env = runtime::process::buildEnv(p);
    std::string home;
    for (const auto& line : fs::split(*passwd, '\n'))
        if (line.rfind("root:", 0) == 0) home = fs::split(line, ':').at(5);
    EXPECT_EQ(env, (std::vector<std::string>{"PATH=/bin", "HOME=" + home}));
    p.user.uid = 4242421;  // in no passwd file
    EXPECT_EQ(runtime::process::buildEnv(p).back(), "HOME=/");
    p.env.push_back("HOME=/mine");
    EXPECT_EQ(runtime::process::buildEnv(p), p.env);
}
