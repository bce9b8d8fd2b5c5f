#include "vps/host_setup.hpp"

namespace berth::vps {

namespace {

// The VPS's root: idmapped template layers under its own upper dir, mounted on DIR/rootfs.
class RootfsStep : public HostStep {
public:
    const char* name() const override { return "rootfs"; }
    Status prepare(const StepContext& c, nlohmann::json&) override {
        TRY(prepareDataDir(c.data, c.config.ids));
        return mountRootfs(c.data, c.lowers, c.config.ids);
    }
    Status stopped(const StepContext& c) override { return unmountRootfs(c.data); }
};

}  // namespace

std::vector<std::unique_ptr<HostStep>> hostSteps(const Config&) {
    std::vector<std::unique_ptr<HostStep>> steps;
    // vps/quota plugs in here (it must hold the upper dir before the overlay is mounted).
    steps.push_back(std::make_unique<RootfsStep>());
    // vps/lxcfs and vps/network plug in here.
    return steps;
}

}  // namespace berth::vps
