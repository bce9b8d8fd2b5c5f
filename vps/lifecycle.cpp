// vps/lifecycle: create, set and destroy — the verbs that change what a VPS is.
#include <unistd.h>

#include <algorithm>

#include "common/fs.hpp"
#include "images/images.hpp"
#include "images/snapshot.hpp"
#include "vps/host_setup.hpp"
#include "vps/internal.hpp"
#include "vps/limits.hpp"
#include "vps/net_setup.hpp"
#include "vps/quota.hpp"
#include "vps/spec.hpp"

namespace berth::vps {

Result<Template> resolveTemplate(const Context& ctx, const std::string& word, const std::string& pinFor) {
    images::Store store(images::storeRoot(ctx.global.store));
    UniqueFd gc;
    if (!pinFor.empty()) {
        TRY(store.init());
        ASSIGN_OR_RETURN(gc, store.gcLock(false));
    }
    auto img = images::resolveImage(store, word);
    if (!img) return Error::make("template \"", word, "\": ", img.error().what());
    if (!pinFor.empty()) TRY_CTX(store.pin(containerId(pinFor), img->record.digest), "template");
    Template t{img->record.name, img->record.digest, images::lowerDirs(store, img->manifest)};
    return t;
}

Status unpinTemplate(const Context& ctx, const std::string& name) {
    images::Store store(images::storeRoot(ctx.global.store));
    return store.unpin(containerId(name));
}

std::string containerState(const Context& ctx, const std::string& name, pid_t* pid) {
    auto st = runtime::queryState(ctx.global, containerId(name));
    if (!st) return "";
    if (pid) *pid = st->value("pid", 0);
    return st->value("status", "");
}

Status cleanupStopped(const Context& ctx, const ConfigStore& store, const Config& c) {
    std::string id = containerId(c.name);
    if (!containerState(ctx, c.name).empty()) TRY(runtime::remove(ctx.global, runtime::DeleteOptions{id, true}));
    StepContext sc{c, layoutOf(store, c.name), {}};
    auto steps = hostSteps(c);
    Status first;
    for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
        Status st = (*it)->stopped(sc);
        if (!st && first) first = std::move(st).error().context((*it)->name());
    }
    return first;
}

namespace {

// Sizes and counts as the flags give them: "0" and "unlimited" unset a count.
Result<std::optional<int64_t>> parseCount(const char* flag, const std::string& s) {
    if (s == "unlimited" || s == "0") return std::optional<int64_t>{};
    try {
        size_t used = 0;
        long long v = std::stoll(s, &used);
        if (used == s.size() && v > 0) return std::optional<int64_t>{v};
    } catch (...) {
    }
    return Error::make(flag, " \"", s, "\": expected a positive number, 0 or \"unlimited\"");
}

Result<std::optional<int64_t>> sizeFlag(const char* flag, const std::string& s) {
    auto r = parseSize(s);
    if (!r) return Error::make(flag, ": ", r.error().message());
    return r;
}

template <typename T>
void change(std::vector<std::string>& changed, const char* what, T& field, const T& v) {
    if (field != v) {
        field = v;
        changed.push_back(what);
    }
}

std::optional<int> narrow(const std::optional<int64_t>& v) {
    return v ? std::optional<int>(static_cast<int>(*v)) : std::nullopt;
}

}  // namespace

Result<std::vector<std::string>> applyChanges(Config& c, const Changes& ch) {
    std::vector<std::string> changed;
    Limits& l = c.limits;
    if (ch.ram) { ASSIGN_OR_RETURN(auto v, sizeFlag("--ram", *ch.ram)); change(changed, "ram", l.ram, v); }
    if (ch.swap) { ASSIGN_OR_RETURN(auto v, sizeFlag("--swap", *ch.swap)); change(changed, "swap", l.swap, v); }
    if (ch.diskspace) { ASSIGN_OR_RETURN(auto v, sizeFlag("--diskspace", *ch.diskspace)); change(changed, "diskspace", l.diskspace, v); }
    if (ch.diskinodes) { ASSIGN_OR_RETURN(auto v, parseCount("--diskinodes", *ch.diskinodes)); change(changed, "diskinodes", l.diskinodes, v); }
    if (ch.cpus) { ASSIGN_OR_RETURN(auto v, parseCount("--cpus", *ch.cpus)); if (v && *v > 4096) return Error::make("--cpus ", *v, ": must be 1..4096"); change(changed, "cpus", l.cpus, narrow(v)); }
    if (ch.cpulimit) { ASSIGN_OR_RETURN(auto v, parseCount("--cpulimit", *ch.cpulimit)); if (v && *v > 409600) return Error::make("--cpulimit ", *v, ": must be 1..409600"); change(changed, "cpulimit", l.cpulimit, narrow(v)); }
    if (ch.pids) { ASSIGN_OR_RETURN(auto v, parseCount("--pids", *ch.pids)); change(changed, "pids", l.pids, v); }
    if (ch.cpuunits) change(changed, "cpuunits", l.cpuunits, std::optional<int>(*ch.cpuunits));
    if (ch.ioweight) change(changed, "ioweight", l.ioweight, std::optional<int>(*ch.ioweight));
    if (ch.hostname) change(changed, "hostname", c.hostname, *ch.hostname);
    if (ch.onboot) change(changed, "onboot", c.onboot, *ch.onboot);
    if (ch.ips || ch.ipadd || ch.ipdel) { ASSIGN_OR_RETURN(auto v, editIpList(c.network.ips, ch.ips, ch.ipdel, ch.ipadd)); change(changed, "ip", c.network.ips, v); }
    if (ch.gateways) change(changed, "gateway", c.network.gateways, *ch.gateways == std::vector<std::string>{"auto"} ? std::vector<std::string>{} : *ch.gateways);
    if (ch.nameservers) change(changed, "nameserver", c.network.nameservers, *ch.nameservers);
    if (ch.searchdomains) change(changed, "searchdomain", c.network.searchdomains, *ch.searchdomains);
    if (ch.userpasswd) {  // applied by create/set, never stored
        for (const auto& up : *ch.userpasswd) TRY(validateUserPasswd(up));
        if (!ch.userpasswd->empty()) changed.push_back("userpasswd");
    }
    TRY(validateHostnameOption(c.hostname));
    TRY(validateLimits(c.limits));
    TRY(validateNetwork(c.network));
    return changed;
}

Status create(const Context& ctx, const CreateRequest& r) {
    TRY(validateName(r.name));
    ConfigStore store(ctx.paths);
    ASSIGN_OR_RETURN(UniqueFd lock, store.lock());
    if (store.exists(r.name)) return Error(EEXIST, strCat("VPS \"", r.name, "\" already exists")).hideErrno();
    Config c;
    c.name = r.name;
    TRY(applyChanges(c, r.settings));
    TRY(checkAddressesFree(store, c, {}));
    TRY(checkHostSupports(c.limits, detectHostCaps(ctx.cgroupRoot)));
    ASSIGN_OR_RETURN(Template t, resolveTemplate(ctx, r.templateImage, r.name));
    ScopeGuard unpin([&] { (void)unpinTemplate(ctx, r.name); });
    ASSIGN_OR_RETURN(c.init, detectInit(t.lowers));
    c.templateName = t.name;
    c.templateDigest = t.digest;
    // A data dir without a config is what a create or destroy that died left: ours to replace.
    DataLayout d = layoutOf(store, r.name);
    if (fs::exists(d.dir)) {
        TRY(unmountRootfs(d));
        TRY(fs::removeAll(d.dir));
    }
    TRY(ensureReachable(ctx.paths.dataDir, images::storeRoot(ctx.global.store)));
    ASSIGN_OR_RETURN(c.ids.base, store.allocateRange(r.name));
    c.ids.size = kRangeSize;
    ScopeGuard freeIds([&] { (void)store.freeRange(r.name); });
    TRY(fs::mkdirAll(ctx.paths.dataDir, 0711));
    ScopeGuard removeData([&] { (void)fs::removeAll(d.dir); });
    TRY(prepareDataDir(d, c.ids));
    TRY_CTX(ensureQuotaImage(c, d), "--diskspace");
    if (r.settings.userpasswd) TRY(applyUserPasswords(c, d, t.lowers, *r.settings.userpasswd, false));
    TRY(store.save(c));
    removeData.dismiss();
    freeIds.dismiss();
    unpin.dismiss();
    return {};
}

namespace {

// Memory in use now (memory.usage_in_bytes), from the runtime's stats.
std::optional<int64_t> memoryUsed(const Context& ctx, const std::string& name) {
    std::optional<int64_t> used;
    runtime::EventsOptions eo{containerId(name), true};
    auto st = runtime::events(ctx.global, eo, [&](const nlohmann::json& ev) {
        const auto* u = ev.contains("data") ? &ev["data"] : nullptr;
        if (u && u->contains("memory") && (*u)["memory"].contains("usage"))
            used = (*u)["memory"]["usage"].value("usage", int64_t{0});
    });
    (void)st;
    return used;
}

bool isLive(const std::string& field) {
    for (const char* f : {"ram", "swap", "cpus", "cpulimit", "cpuunits", "pids", "ioweight"})
        if (field == f) return true;
    return false;
}

// Applied now whether the VPS runs or not.
bool isImmediate(const std::string& field) { return field == "userpasswd"; }

// --diskspace / --diskinodes on a VPS: the image grows (or, stopped, shrinks) now; a grow the
// kernel cannot do live (no CAP_SYS_RESOURCE) is done at the next start. Which one is returned.
Result<std::optional<bool>> applyDisk(const Config& before, const Config& c, const DataLayout& d) {
    const auto& was = before.limits;
    const auto& now = c.limits;
    if (was.diskspace && !now.diskspace)
        return Error::make("--diskspace: a VPS's disk quota can be grown or shrunk, not removed");
    bool haveImage = fs::exists(d.diskImage());
    if (haveImage && now.diskinodes != was.diskinodes)
        return Error::make("--diskinodes: fixed when the VPS's disk was made (ext4 grows its inodes with its size)");
    if (!haveImage || now.diskspace == was.diskspace) return std::optional<bool>{};
    auto mode = resizeQuota(d.diskImage(), d.diskMount(), static_cast<uint64_t>(*now.diskspace));
    if (!mode) return Error::make("--diskspace: ", mode.error().message());
    return std::optional<bool>(*mode == ResizeMode::Live);
}

}  // namespace

Result<SetReport> set(const Context& ctx, const std::string& name, const Changes& ch) {
    ConfigStore store(ctx.paths);
    ASSIGN_OR_RETURN(UniqueFd lock, store.lock());
    ASSIGN_OR_RETURN(Config c, store.load(name));
    Config before = c;
    ASSIGN_OR_RETURN(auto changed, applyChanges(c, ch));
    TRY(checkAddressesFree(store, c, before.network.ips));
    HostCaps caps = detectHostCaps(ctx.cgroupRoot);
    TRY(checkHostSupports(c.limits, caps));
    SetReport rep;
    pid_t pid = 0;
    bool running = isUp(containerState(ctx, name, &pid));
    if (running && c.limits.ram && c.limits.ram != before.limits.ram) {
        auto used = memoryUsed(ctx, name);
        if (used && *c.limits.ram < *used)
            return Error::make("--ram ", *c.limits.ram, ": below what VPS \"", name, "\" uses now (", *used,
                               " bytes)");
    }
    ASSIGN_OR_RETURN(std::optional<bool> diskLive, applyDisk(before, c, layoutOf(store, name)));
    std::vector<std::string> netLive;
    if (running) {
        ASSIGN_OR_RETURN(netLive, applyNetworkLive(before, c, layoutOf(store, name), ctx.paths.configDir, pid));
        ScopeGuard undoNet([&] { (void)applyNetworkLive(c, before, layoutOf(store, name), ctx.paths.configDir, pid); });
        ASSIGN_OR_RETURN(runtime::UpdateOptions u, updateFor(containerId(name), before.limits, c.limits, caps));
        TRY_CTX(runtime::update(ctx.global, u), "set ", name);
        undoNet.dismiss();
    }
    for (const auto& f : changed) {
        bool net = std::find(netLive.begin(), netLive.end(), f) != netLive.end();
        if (isImmediate(f)) rep.live.push_back(f);
        else if (f == "diskspace" && diskLive) (*diskLive ? rep.live : rep.nextStart).push_back(f);
        else if (running && (isLive(f) || net)) rep.live.push_back(f);
        else if (f != "onboot") rep.nextStart.push_back(f);
    }
    if (ch.userpasswd && !ch.userpasswd->empty()) {
        std::vector<std::string> lowers;
        if (!running) {
            ASSIGN_OR_RETURN(Template t, resolveTemplate(ctx, c.templateDigest));
            lowers = t.lowers;
        }
        TRY(applyUserPasswords(c, layoutOf(store, name), lowers, *ch.userpasswd, running));
    }
    TRY(store.save(c));
    return rep;
}

Status destroy(const Context& ctx, const std::string& name, bool force) {
    TRY(validateName(name));
    ConfigStore store(ctx.paths);
    ASSIGN_OR_RETURN(UniqueFd lock, store.lock());
    if (!store.exists(name)) return Error(ENOENT, strCat("VPS \"", name, "\" does not exist")).hideErrno();
    std::string st = containerState(ctx, name);
    if (isUp(st) && !force)
        return Error::make("VPS \"", name, "\" is ", st, ": stop it first, or destroy --force");
    // A config corrupted by hand still names what to remove; the steps get the name only.
    Config c;
    if (auto loaded = store.load(name)) c = *loaded;
    else c.name = name;
    if (st == "paused") (void)runtime::resume(ctx.global, containerId(name));
    TRY(cleanupStopped(ctx, store, c));
    StepContext sc{c, layoutOf(store, name), {}};
    auto steps = hostSteps(c);
    for (auto it = steps.rbegin(); it != steps.rend(); ++it) TRY_CTX((*it)->destroyed(sc), (*it)->name());
    TRY(fs::removeAll(store.dataPath(name)));
    TRY(store.remove(name));
    TRY(store.freeRange(name));
    return unpinTemplate(ctx, name);
}

}  // namespace berth::vps
