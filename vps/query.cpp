// vps/query: status, list (vzlist's columns), exec and enter.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <sstream>

#include "common/fs.hpp"
#include "vps/internal.hpp"
#include "vps/spec.hpp"

namespace berth::vps {

using json = nlohmann::json;

namespace {

std::optional<int64_t> memoryUsage(const Context& ctx, const std::string& name) {
    std::optional<int64_t> used;
    runtime::EventsOptions eo{containerId(name), true};
    (void)runtime::events(ctx.global, eo, [&](const json& ev) {
        if (ev.contains("data") && ev["data"].contains("memory") && ev["data"]["memory"].contains("usage"))
            used = ev["data"]["memory"]["usage"].value("usage", int64_t{0});
    });
    return used;
}

VpsStatus statusOf(const Context& ctx, const ConfigStore& store, const Config& c) {
    VpsStatus s;
    s.mounted = isMountPoint(layoutOf(store, c.name).rootfs());
    s.name = c.name;
    s.hostname = c.hostname.empty() ? c.name : c.hostname;
    s.templateName = c.templateName;
    s.ips = c.network.ips;
    s.onboot = c.onboot;
    s.ramLimit = c.limits.ram;
    std::string st = containerState(ctx, c.name, &s.pid);
    s.state = st == "running" || st == "paused" ? st : "stopped";
    if (s.state != "stopped") {
        if (auto procs = runtime::processes(ctx.global, containerId(c.name))) s.nproc = static_cast<int>(procs->size());
        s.ramUsed = memoryUsage(ctx, c.name);
    } else {
        s.pid = 0;
    }
    return s;
}

std::string human(const std::optional<int64_t>& v) {
    if (!v) return "-";
    const char* units[] = {"B", "K", "M", "G", "T"};
    double x = static_cast<double>(*v);
    int u = 0;
    while (x >= 1024 && u < 4) x /= 1024, u++;
    std::ostringstream o;
    o.precision(x < 10 && u > 0 ? 2 : 0);
    o << std::fixed << x << units[u];
    return o.str();
}

std::string cell(const VpsStatus& s, const std::string& col) {
    if (col == "name") return s.name;
    if (col == "state") return s.state;
    if (col == "nproc") return s.state == "stopped" ? "-" : std::to_string(s.nproc);
    if (col == "ip") {
        std::string out;
        for (const auto& ip : s.ips) out += (out.empty() ? "" : " ") + ip.substr(0, ip.find('/'));
        return out.empty() ? "-" : out;
    }
    if (col == "hostname") return s.hostname.empty() ? "-" : s.hostname;
    if (col == "ramused") return human(s.ramUsed);
    if (col == "ramlimit") return s.ramLimit ? human(s.ramLimit) : "unlimited";
    if (col == "pid") return s.pid ? std::to_string(s.pid) : "-";
    if (col == "template") return s.templateName;
    if (col == "onboot") return s.onboot ? "yes" : "no";
    return "";
}

const char* const kColumns[] = {"name", "state", "nproc", "ip", "hostname", "ramused", "ramlimit", "pid", "template", "onboot"};

}  // namespace

json toJson(const VpsStatus& s) {
    json j = {{"name", s.name},         {"state", s.state}, {"nproc", s.nproc},       {"ips", s.ips},
              {"hostname", s.hostname}, {"pid", s.pid},     {"template", s.templateName}, {"onboot", s.onboot},
              {"mounted", s.mounted}};
    j["ramused"] = s.ramUsed ? json(*s.ramUsed) : json(nullptr);
    j["ramlimit"] = s.ramLimit ? json(*s.ramLimit) : json(nullptr);
    return j;
}

Result<std::string> formatTable(const std::vector<VpsStatus>& rows, const std::string& columns) {
    std::vector<std::string> cols = fs::split(columns, ',');
    for (const auto& c : cols)
        if (std::find(std::begin(kColumns), std::end(kColumns), c) == std::end(kColumns)) {
            std::string known;
            for (const char* k : kColumns) known += (known.empty() ? "" : ", ") + std::string(k);
            return Error::make("-o: unknown column \"", c, "\" (known: ", known, ")");
        }
    std::vector<std::vector<std::string>> table;
    std::vector<std::string> header;
    for (const auto& c : cols) {
        std::string h = c;
        std::transform(h.begin(), h.end(), h.begin(), ::toupper);
        header.push_back(h);
    }
    table.push_back(header);
    for (const auto& r : rows) {
        std::vector<std::string> line;
        for (const auto& c : cols) line.push_back(cell(r, c));
        table.push_back(line);
    }
    std::vector<size_t> width(cols.size(), 0);
    for (const auto& l : table)
        for (size_t i = 0; i < l.size(); i++) width[i] = std::max(width[i], l[i].size());
    std::string out;
    for (const auto& l : table) {
        std::string line;
        for (size_t i = 0; i < l.size(); i++) {
            line += l[i];
            if (i + 1 < l.size()) line += std::string(width[i] - l[i].size() + 2, ' ');
        }
        out += line + "\n";
    }
    return out;
}

Result<VpsStatus> status(const Context& ctx, const std::string& name) {
    ConfigStore store(ctx.paths);
    ASSIGN_OR_RETURN(Config c, store.load(name));
    return statusOf(ctx, store, c);
}

Result<std::vector<VpsStatus>> list(const Context& ctx, bool all) {
    ConfigStore store(ctx.paths);
    ASSIGN_OR_RETURN(auto names, store.names());
    std::vector<VpsStatus> out;
    for (const auto& n : names) {
        ASSIGN_OR_RETURN(Config c, store.load(n));
        VpsStatus s = statusOf(ctx, store, c);
        if (all || s.state != "stopped") out.push_back(std::move(s));
    }
    return out;
}

namespace {

Result<runtime::ExecOptions> execOptions(const Context& ctx, const std::string& name) {
    ConfigStore store(ctx.paths);
    ASSIGN_OR_RETURN(Config c, store.load(name));
    std::string st = containerState(ctx, name);
    if (st != "running") return Error::make("VPS \"", name, "\" is ", st.empty() ? "stopped" : st);
    runtime::ExecOptions o;
    o.id = containerId(name);
    o.cwd = "/";
    o.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "USER=root",
             "LOGNAME=root"};
    return o;
}

}  // namespace

Result<int> exec(const Context& ctx, const std::string& name, const std::vector<std::string>& args, bool tty) {
    if (args.empty()) return Error::make("exec: no command given");
    ASSIGN_OR_RETURN(runtime::ExecOptions o, execOptions(ctx, name));
    o.args = args;
    o.tty = tty;
    if (tty) {
        const char* term = std::getenv("TERM");
        o.env.push_back(strCat("TERM=", term && *term ? term : "xterm"));
    }
    return runtime::exec(ctx.global, o);
}

Result<int> enter(const Context& ctx, const std::string& name) {
    ASSIGN_OR_RETURN(runtime::ExecOptions o, execOptions(ctx, name));
    o.tty = ::isatty(STDIN_FILENO) == 1;
    const char* term = std::getenv("TERM");
    o.env.push_back(strCat("TERM=", term && *term ? term : "xterm"));
    o.env.push_back("SHELL=/bin/sh");
    o.cwd = "/";
    // A login shell: it reads /etc/profile, as vzctl enter's does.
    o.args = {"/bin/sh", "-l"};
    return runtime::exec(ctx.global, o);
}

}  // namespace berth::vps
