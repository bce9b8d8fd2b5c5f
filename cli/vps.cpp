// cli/vps: `berth vps` and its verbs that change what a VPS is — create, set, destroy.
#include "cli/vps.hpp"

#include <cstring>
#include <iostream>
#include <map>

namespace berth::cli {

GroupOptions& groupOptions() {
    static GroupOptions o;
    return o;
}

Result<vps::Context> vpsContext(const Context& ctx) {
    const GroupOptions& o = groupOptions();
    vps::Context v;
    v.global = ctx.global;
    ASSIGN_OR_RETURN(v.paths, vps::resolvePaths(o.configDir, o.dataDir, o.idPool));
    return v;
}

namespace {

// The create/set flags; the library parses their units so a bad value names its flag.
struct SettingsFlags {
    std::string ram, swap, diskspace, diskinodes, cpus, cpulimit, pids, hostname, onboot;
    int cpuunits = 0, ioweight = 0;
    std::vector<std::string> ips, nameservers, searchdomains, userpasswd;
    std::vector<std::string> ipadd, ipdel, gateways;
    std::map<std::string, CLI::Option*> opts;

    void add(CLI::App* sub) {
        opts["ram"] = sub->add_option("--ram", ram, "memory limit: bytes with K/M/G/T, or unlimited");
        opts["swap"] = sub->add_option("--swap", swap, "swap on top of --ram (K/M/G/T)");
        opts["cpus"] = sub->add_option("--cpus", cpus, "number of CPUs the VPS may use (0: all)");
        opts["cpulimit"] = sub->add_option("--cpulimit", cpulimit, "CPU time in % of one CPU (150 = 1.5 CPUs; 0: none)");
        opts["cpuunits"] = sub->add_option("--cpuunits", cpuunits, "CPU weight, 8..500000 (default 1000)");
        opts["pids"] = sub->add_option("--pids", pids, "maximum number of processes (0: unlimited)");
        opts["ioweight"] = sub->add_option("--ioweight", ioweight, "block I/O weight, 10..1000 (needs BFQ)");
        opts["diskspace"] = sub->add_option("--diskspace", diskspace, "disk quota (K/M/G/T)");
        opts["diskinodes"] = sub->add_option("--diskinodes", diskinodes, "inode quota");
        opts["hostname"] = sub->add_option("--hostname", hostname, "host name inside (default: the VPS name)");
        opts["ip"] = sub->add_option("--ip", ips, "address in CIDR form (repeatable)")->allow_extra_args(false);
        opts["gateway"] = sub->add_option("--gateway", gateways, "default gateway, one per family (repeatable; auto: the host's)")->allow_extra_args(false);
        opts["nameserver"] = sub->add_option("--nameserver", nameservers, "DNS server (repeatable)")->allow_extra_args(false);
        opts["searchdomain"] = sub->add_option("--searchdomain", searchdomains, "DNS search domain (repeatable)")->allow_extra_args(false);
        opts["userpasswd"] = sub->add_option("--userpasswd", userpasswd, "USER:PASSWORD (repeatable)")->allow_extra_args(false);
        opts["onboot"] = sub->add_option("--onboot", onboot, "start with `vps start --onboot`")->check(CLI::IsMember({"yes", "no"}));
    }
    // set only: vzctl's address edits.
    void addIpEdits(CLI::App* sub) {
        opts["ipadd"] = sub->add_option("--ipadd", ipadd, "add an address (CIDR; repeatable)")->allow_extra_args(false);
        opts["ipdel"] = sub->add_option("--ipdel", ipdel, "remove an address (or all; repeatable)")->allow_extra_args(false);
    }
    bool given(const char* k) const { auto it = opts.find(k); return it != opts.end() && it->second->count() > 0; }

    vps::Changes changes() const {
        vps::Changes c;
        auto str = [&](const char* k, const std::string& v, std::optional<std::string>& out) {
            if (given(k)) out = v;
        };
        auto list = [&](const char* k, const std::vector<std::string>& v, std::optional<std::vector<std::string>>& out) {
            if (given(k)) out = v;
        };
        str("ram", ram, c.ram);
        str("swap", swap, c.swap);
        str("diskspace", diskspace, c.diskspace);
        str("diskinodes", diskinodes, c.diskinodes);
        str("cpus", cpus, c.cpus);
        str("cpulimit", cpulimit, c.cpulimit);
        str("pids", pids, c.pids);
        str("hostname", hostname, c.hostname);
        if (given("cpuunits")) c.cpuunits = cpuunits;
        if (given("ioweight")) c.ioweight = ioweight;
        if (given("onboot")) c.onboot = onboot == "yes";
        list("ip", ips, c.ips);
        list("nameserver", nameservers, c.nameservers);
        list("searchdomain", searchdomains, c.searchdomains);
        list("userpasswd", userpasswd, c.userpasswd);
        list("ipadd", ipadd, c.ipadd);
        list("ipdel", ipdel, c.ipdel);
        list("gateway", gateways, c.gateways);
        return c;
    }
};

std::string joined(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
    return out;
}

void addVpsCreate(CLI::App& group, Context& ctx) {
    static vps::CreateRequest r;
    static SettingsFlags flags;
    auto* sub = group.add_subcommand("create", "create a VPS from a template image");
    sub->add_option("name", r.name, "VPS name")->required();
    sub->add_option("--template", r.templateImage, "template: an image in berth's store")->required();
    flags.add(sub);
    sub->callback([&ctx] {
        ctx.action = [&ctx]() -> Result<int> {
            ASSIGN_OR_RETURN(vps::Context v, vpsContext(ctx));
            r.settings = flags.changes();
            TRY(vps::create(v, r));
            return 0;
        };
    });
}

void addVpsSet(CLI::App& group, Context& ctx) {
    static std::string name;
    static SettingsFlags flags;
    auto* sub = group.add_subcommand("set", "change a VPS's settings (live where the kernel allows)");
    sub->add_option("name", name, "VPS name")->required();
    flags.add(sub);
    flags.addIpEdits(sub);
    sub->callback([&ctx] {
        ctx.action = [&ctx]() -> Result<int> {
            ASSIGN_OR_RETURN(vps::Context v, vpsContext(ctx));
            ASSIGN_OR_RETURN(vps::SetReport rep, vps::set(v, name, flags.changes()));
            if (!rep.live.empty()) std::cout << "applied now: " << joined(rep.live) << "\n";
            if (!rep.nextStart.empty()) std::cout << "applied at the next start: " << joined(rep.nextStart) << "\n";
            if (!rep.pending.empty())  // none today; kept for settings that land later
                std::cout << "stored; not applied yet (guest set-up is not in this berth): "
                          << joined(rep.pending) << "\n";
            return 0;
        };
    });
}

void addVpsDestroy(CLI::App& group, Context& ctx) {
    static std::string name;
    static bool force = false;
    auto* sub = group.add_subcommand("destroy", "remove a VPS and everything it owned");
    sub->add_option("name", name, "VPS name")->required();
    sub->add_flag("-f,--force", force, "stop it first if it runs");
    sub->callback([&ctx] {
        ctx.action = [&ctx]() -> Result<int> {
            ASSIGN_OR_RETURN(vps::Context v, vpsContext(ctx));
            TRY(vps::destroy(v, name, force));
            return 0;
        };
    });
}

}  // namespace

void addVpsLifecycle(CLI::App& group, Context& ctx) {
    addVpsCreate(group, ctx);
    addVpsSet(group, ctx);
    addVpsDestroy(group, ctx);
}


void hideSecretArgs(int argc, char** argv) {
    auto hide = [](char* userpasswd) {
        char* colon = std::strchr(userpasswd, ':');
        if (colon)
            for (char* p = colon + 1; *p; p++) *p = '*';
    };
    static const char kFlag[] = "--userpasswd";
    for (int i = 1; i < argc; i++) {
        if (std::strcmp(argv[i], kFlag) == 0 && i + 1 < argc) hide(argv[i + 1]);
        else if (std::strncmp(argv[i], kFlag, sizeof kFlag - 1) == 0 && argv[i][sizeof kFlag - 1] == '=')
            hide(argv[i] + sizeof kFlag);
    }
}

void addVps(CLI::App& app, Context& ctx) {
    auto* group = app.add_subcommand("vps", "persistent system containers (VPSes), vzctl-style");
    group->require_subcommand(1);
    auto& o = groupOptions();
    group->add_option("--config-dir", o.configDir, "VPS configs (default $BERTH_VPS_CONFIG or /etc/berth/vps)");
    group->add_option("--data-dir", o.dataDir, "VPS data (default $BERTH_VPS_DATA or /var/lib/berth/vps)");
    group->add_option("--id-pool", o.idPool,
                      "START:COUNT ranges of 65536 ids (default $BERTH_VPS_IDPOOL or 1000000:1000)");
    addVpsLifecycle(*group, ctx);
    addVpsRun(*group, ctx);
    addVpsQuery(*group, ctx);
    addVpsConsole(*group, ctx);
}

}  // namespace berth::cli
