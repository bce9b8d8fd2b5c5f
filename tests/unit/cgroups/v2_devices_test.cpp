// The cgroup2 device filter: the generated BPF program, run by a tiny interpreter of the
// instructions it may use, must give the verdicts the rule list means (v1's semantics).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "cgroups/v2/devices_bpf.hpp"

using namespace berth;
using namespace berth::cgroups;
using namespace berth::cgroups::v2;
using nlohmann::json;

namespace {

struct Request {
    char type;  // 'c' or 'b'
    uint32_t major, minor;
    uint32_t access;  // BPF_DEVCG_ACC_* bits
};

// Runs `prog` on a bpf_cgroup_dev_ctx; fails the test on any instruction outside the subset.
int run(const std::vector<bpf_insn>& prog, const Request& r) {
    uint32_t ctx[3] = {uint32_t(r.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR) | (r.access << 16),
                       r.major, r.minor};
    uint64_t reg[11] = {};
    bool r1IsCtx = true;
    for (size_t pc = 0, steps = 0; pc < prog.size() && steps < 100000; pc++, steps++) {
        const bpf_insn& i = prog[pc];
        uint8_t cls = BPF_CLASS(i.code);
        if (i.code == (BPF_LDX | BPF_MEM | BPF_W)) {
            EXPECT_TRUE(i.src_reg == 1 && r1IsCtx) << "load from something other than the context at " << pc;
            EXPECT_TRUE(i.off >= 0 && i.off <= 8 && i.off % 4 == 0) << "bad context offset at " << pc;
            reg[i.dst_reg] = ctx[i.off / 4];
            if (i.dst_reg == 1) r1IsCtx = false;
        } else if (cls == BPF_ALU) {
            uint32_t src = BPF_SRC(i.code) == BPF_X ? uint32_t(reg[i.src_reg]) : uint32_t(i.imm);
            uint32_t dst = uint32_t(reg[i.dst_reg]);
            switch (BPF_OP(i.code)) {
                case BPF_AND: dst &= src; break;
                case BPF_RSH: dst >>= src; break;
                case BPF_MOV: dst = src; break;
                default: ADD_FAILURE() << "ALU op " << int(BPF_OP(i.code)) << " at " << pc; return -1;
            }
            reg[i.dst_reg] = dst;  // ALU32 zero-extends
            if (i.dst_reg == 1) r1IsCtx = false;
        } else if (cls == BPF_JMP && (BPF_OP(i.code) == BPF_JNE || BPF_OP(i.code) == BPF_JEQ)) {
            uint64_t src = BPF_SRC(i.code) == BPF_X ? reg[i.src_reg] : uint64_t(int64_t(i.imm));
            EXPECT_GE(i.off, 0) << "backward jump at " << pc;
            EXPECT_LT(pc + i.off + 1, prog.size()) << "jump out of the program at " << pc;
            bool taken = BPF_OP(i.code) == BPF_JNE ? reg[i.dst_reg] != src : reg[i.dst_reg] == src;
            if (taken) pc += i.off;
        } else if (i.code == (BPF_JMP | BPF_EXIT)) {
            return int(reg[0]);
        } else {
            ADD_FAILURE() << "instruction 0x" << std::hex << int(i.code) << " at " << std::dec << pc;
            return -1;
        }
    }
    ADD_FAILURE() << "the program ran off its end";
    return -1;
}

// The oracle: the v1 devices cgroup as the kernel implements it (security/device_cgroup.c),
// written independently of reduceDeviceRules. 'a' resets the behaviour and drops every
// exception; a rule opposite to the behaviour adds access to the exception with its exact
// (type, major, minor), one agreeing with it takes access away from that exception only. An
// allow-list grants a request if one exception matches the device and covers all the access
// asked for (match_exception); a deny-list refuses it if one matches and covers any of it
// (match_exception_partial).
bool oracle(const std::vector<DeviceRule>& rules, const Request& r) {
    struct Ex {
        char type;
        int64_t major, minor;
        uint32_t access;
    };
    bool defaultAllow = false;
    std::vector<Ex> ex;
    for (auto& rule : rules) {
        if (rule.type == 'a') {
            defaultAllow = rule.allow;
            ex.clear();
            continue;
        }
        uint32_t acc = accessBits(rule.access);
        auto it = std::find_if(ex.begin(), ex.end(), [&](const Ex& e) {
            return e.type == rule.type && e.major == rule.major && e.minor == rule.minor;
        });
        if (rule.allow != defaultAllow) {
            if (it == ex.end()) ex.push_back({rule.type, rule.major, rule.minor, acc});
            else it->access |= acc;
        } else if (it != ex.end()) {
            it->access &= ~acc;
            if (!it->access) ex.erase(it);
        }
    }
    for (auto& e : ex) {
        bool dev = e.type == r.type && (e.major < 0 || e.major == r.major) && (e.minor < 0 || e.minor == r.minor);
        if (!dev) continue;
        if (!defaultAllow && (r.access & ~e.access) == 0) return true;
        if (defaultAllow && (r.access & e.access) != 0) return false;
    }
    return defaultAllow;
}

std::vector<DeviceRule> rulesOf(const json& devices) {
    auto r = parseDeviceRules(devices);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().what());
    return r.ok() ? *r : std::vector<DeviceRule>{};
}

// Every (type, major, minor, access) over numbers the rules mention and some they do not.
void checkAll(const std::vector<DeviceRule>& rules, const std::string& what) {
    auto prog = deviceFilterProgram(rules);
    ASSERT_TRUE(prog.ok()) << what << ": " << prog.error().what();
    int n = 0;
    for (char type : {'c', 'b'})
        for (uint32_t major : {0u, 1u, 4u, 5u, 10u, 42u, 136u, 254u, 4095u})
            for (uint32_t minor : {0u, 1u, 3u, 5u, 7u, 9u, 200u, 229u, 1048575u})
                for (uint32_t access = 1; access <= 7; access++) {
                    Request r{type, major, minor, access};
                    int got = run(*prog, r);
                    ASSERT_EQ(got, oracle(rules, r) ? 1 : 0)
                        << what << ": " << type << " " << major << ":" << minor << " access " << access;
                    n++;
                }
    EXPECT_EQ(n, 2 * 9 * 9 * 7);
}

json rule(bool allow, const char* type, int major, int minor, const char* access) {
    json j{{"allow", allow}, {"access", access}};
    if (type) j["type"] = type;
    if (major >= 0) j["major"] = major;
    if (minor >= 0) j["minor"] = minor;
    return j;
}

}  // namespace

TEST(CgroupV2Devices, DefaultRulesOfEveryContainer) {
    // deny-all, then runc 1.1's default allow-list (mknod of any, null, zero, full, tty, random,
    // urandom, ptmx, pts/*, tun). linux.devices entries get no rule of their own.
    auto r = withDefaultDeviceRules(json::object(), {"/dev/fuse", "/dev/loop0"});
    checkAll(rulesOf(r["devices"]), "defaults");
    auto prog = deviceFilterProgram(rulesOf(r["devices"]));
    ASSERT_TRUE(prog.ok());
    EXPECT_EQ(run(*prog, {'c', 1, 3, BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE}), 1) << "/dev/null";
    EXPECT_EQ(run(*prog, {'c', 136, 5, BPF_DEVCG_ACC_WRITE}), 1) << "/dev/pts/5";
    EXPECT_EQ(run(*prog, {'c', 1, 1, BPF_DEVCG_ACC_READ}), 0) << "/dev/mem";
    EXPECT_EQ(run(*prog, {'b', 8, 0, BPF_DEVCG_ACC_MKNOD}), 1) << "mknod of anything";
    EXPECT_EQ(run(*prog, {'b', 8, 0, BPF_DEVCG_ACC_READ}), 0) << "/dev/sda";
    EXPECT_EQ(run(*prog, {'b', 7, 0, BPF_DEVCG_ACC_READ}), 0)
        << "the linux.devices loop0 (no rule for it)";
    EXPECT_EQ(run(*prog, {'c', 5, 1, BPF_DEVCG_ACC_WRITE}), 0)
        << "/dev/console is not in runc's list";
}

TEST(CgroupV2Devices, LinuxDevicesDoNotPunchHolesInADeny) {
    // A spec that denies everything and lists /dev/kmsg: the node is made, access stays denied.
    auto r = withDefaultDeviceRules(json::parse(R"({"devices":[{"allow":false,"access":"rwm"}]})"),
                                    {"/dev/kmsg"});
    auto prog = deviceFilterProgram(rulesOf(r["devices"]));
    ASSERT_TRUE(prog.ok());
    EXPECT_EQ(run(*prog, {'c', 1, 11, BPF_DEVCG_ACC_WRITE}), 0) << "/dev/kmsg write";
    EXPECT_EQ(run(*prog, {'c', 1, 11, BPF_DEVCG_ACC_READ}), 0) << "/dev/kmsg read";
    // A default node the spec lists itself loses its default rule (runc's specconv dedup).
    auto own = withDefaultDeviceRules(json::object(), {"/dev/null"});
    auto ownProg = deviceFilterProgram(rulesOf(own["devices"]));
    ASSERT_TRUE(ownProg.ok());
    EXPECT_EQ(run(*ownProg, {'c', 1, 3, BPF_DEVCG_ACC_WRITE}), 0) << "/dev/null from linux.devices";
    EXPECT_EQ(run(*ownProg, {'c', 1, 5, BPF_DEVCG_ACC_WRITE}), 1) << "/dev/zero (still a default)";
}

TEST(CgroupV2Devices, VerdictsMatchTheRuleList) {
    std::vector<std::pair<std::string, json>> cases = {
        {"empty list: default deny", json::array()},
        {"allow all", json::array({rule(true, nullptr, -1, -1, "rwm")})},
        {"allow all, then deny one device's write",
         json::array({rule(true, "a", -1, -1, "rwm"), rule(false, "c", 1, 3, "w"), rule(false, "b", 8, -1, "rwm")})},
        {"deny-list with a wildcard and a partial-access exception",
         json::array({rule(true, "a", -1, -1, "rwm"), rule(false, "c", 5, -1, "rw"), rule(false, "b", -1, 0, "m"),
                      rule(true, "c", 5, -1, "r")})},
        {"deny-after-allow of the same device",
         json::array({rule(false, "a", -1, -1, "rwm"), rule(true, "c", 1, 3, "rw"), rule(false, "c", 1, 3, "w"),
                      rule(true, "c", 5, -1, "r"), rule(false, "c", 5, -1, "r")})},
        {"wildcards", json::array({rule(true, "c", -1, 3, "r"), rule(true, "c", 1, -1, "m"), rule(true, "b", -1, -1, "w"),
                                   rule(true, "c", 136, -1, "rwm")})},
        {"'a' resets whatever came before",
         json::array({rule(true, "c", 1, 3, "rwm"), rule(true, "a", -1, -1, "r"), rule(false, "a", -1, -1, "m"),
                      rule(true, "c", 42, 0, "rw")})},
        {"allow-list grows per access",
         json::array({rule(true, "c", 42, 0, "r"), rule(true, "c", 42, 0, "w"), rule(true, "b", 42, 0, "m")})},
        {"user rules, then the defaults",
         withDefaultDeviceRules(json::parse(R"({"devices":[{"allow":true,"type":"c","major":42,"minor":0,"access":"rw"},
                                                            {"allow":false,"type":"c","major":42,"minor":0,"access":"w"}]})"),
                                {})["devices"]},
    };
    for (auto& [what, devices] : cases) checkAll(rulesOf(devices), what);
}

TEST(CgroupV2Devices, ReadWriteOpenNeedsBoth) {
    // One open(O_RDWR) asks for rw at once: a deny of w alone must refuse it, on a deny-list too.
    auto deny = deviceFilterProgram(rulesOf(json::array({rule(true, "a", -1, -1, "rwm"), rule(false, "c", 1, 3, "w")})));
    ASSERT_TRUE(deny.ok());
    EXPECT_EQ(run(*deny, {'c', 1, 3, BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE}), 0);
    EXPECT_EQ(run(*deny, {'c', 1, 3, BPF_DEVCG_ACC_READ}), 1);
    // On an allow-list, access granted by two different rules does not add up (as v1).
    auto split = deviceFilterProgram(rulesOf(json::array({rule(true, "c", 1, 3, "r"), rule(true, "c", 1, -1, "w")})));
    ASSERT_TRUE(split.ok());
    EXPECT_EQ(run(*split, {'c', 1, 3, BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE}), 0);
    EXPECT_EQ(run(*split, {'c', 1, 3, BPF_DEVCG_ACC_WRITE}), 1);
}

TEST(CgroupV2Devices, V1SemanticsWhereNaiveLastMatchDiffers) {
    // v1 (and runc's emulator) only removes the exact exception: denying c 1:* leaves c 1:3.
    auto rules = rulesOf(json::array({rule(true, "c", 1, 3, "rwm"), rule(false, "c", 1, -1, "rwm")}));
    auto prog = deviceFilterProgram(rules);
    ASSERT_TRUE(prog.ok());
    EXPECT_EQ(run(*prog, {'c', 1, 3, BPF_DEVCG_ACC_READ}), 1);
    EXPECT_EQ(run(*prog, {'c', 1, 5, BPF_DEVCG_ACC_READ}), 0);
}

TEST(CgroupV2Devices, PunchingAHoleInAWildcardIsRefused) {
    auto rules = rulesOf(json::array({rule(true, "c", 1, -1, "rw"), rule(false, "c", 1, 3, "w")}));
    auto prog = deviceFilterProgram(rules);
    ASSERT_FALSE(prog.ok());
    EXPECT_NE(prog.error().message().find("denying c 1:3 w cannot take access away from the earlier wildcard rule "
                                          "allowing c 1:* rw"),
              std::string::npos)
        << prog.error().what();
    // No overlap in access: fine.
    EXPECT_TRUE(deviceFilterProgram(rulesOf(json::array({rule(true, "c", 1, -1, "r"), rule(false, "c", 1, 3, "w")}))).ok());
}

TEST(CgroupV2Devices, ProgramShape) {
    auto prog = deviceFilterProgram(rulesOf(json::array({rule(true, "c", 1, 3, "rwm")})));
    ASSERT_TRUE(prog.ok());
    // 6 loads of the context, one block (type, major, minor, verdict, exit), the default.
    EXPECT_EQ(prog->size(), 6u + 5u + 2u);
    EXPECT_EQ(prog->back().code, BPF_JMP | BPF_EXIT);
    auto same = deviceFilterProgram(rulesOf(json::array({rule(true, "c", 1, 3, "rwm")})));
    EXPECT_EQ(0, memcmp(prog->data(), same->data(), prog->size() * sizeof(bpf_insn))) << "deterministic";
}
