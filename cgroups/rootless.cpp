#include "cgroups/rootless.hpp"

#include <unistd.h>

#include "common/fs.hpp"

namespace berth::cgroups {
namespace {

Error noCgroup(const char* what) {
    return Error::make("cannot ", what, ": the container has no cgroup (rootless, and the user may not "
                       "create one here)");
}

class NoCgroup final : public Manager {
public:
    explicit NoCgroup(HostLayout layout) : layout_(std::move(layout)) {}
    Status create() override { return {}; }
    Status apply(const nlohmann::json&) override { return {}; }
    Status addProcess(pid_t) override { return {}; }
    Status refuseFrozen() const override { return {}; }
    Result<std::vector<pid_t>> pids() const override { return noCgroup("list the container's processes"); }
    Status freeze(bool frozen) override { return noCgroup(frozen ? "freeze" : "thaw"); }
    Result<Stats> stats() const override { return noCgroup("read cgroup stats"); }
    Result<std::unique_ptr<OomNotifier>> oomNotifier() const override { return noCgroup("watch for OOM kills"); }
    Status destroy() override { return {}; }
    std::map<std::string, std::string> paths() const override { return {}; }
    Saved saved() const override { return Saved{kNoCgroupDriver, {}, ""}; }
    const HostLayout& layout() const override { return layout_; }

private:
    HostLayout layout_;
};

}  // namespace

bool mayUseCgroupDirs(const std::map<std::string, std::string>& paths) {
    for (const auto& [mount, dir] : paths) {
        std::string d = dir;
        while (!fs::exists(d) && d.size() > mount.size()) d = d.substr(0, d.rfind('/'));
        bool exists = d == dir;
        if (::access(d.c_str(), W_OK | X_OK) < 0) return false;
        if (exists && ::access((d + "/cgroup.procs").c_str(), W_OK) < 0) return false;
    }
    return true;
}

std::vector<std::string> limitsSet(const nlohmann::json& resources) {
    std::vector<std::string> out;
    if (!resources.is_object()) return out;
    for (const auto& [key, value] : resources.items()) {
        if (key == "devices" || value.is_null()) continue;
        if ((value.is_object() || value.is_array()) && value.empty()) continue;
        out.push_back(key);
    }
    return out;
}

std::unique_ptr<Manager> noCgroupManager(HostLayout layout) {
    return std::make_unique<NoCgroup>(std::move(layout));
}

}  // namespace berth::cgroups
