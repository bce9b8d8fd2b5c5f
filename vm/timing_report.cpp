// berth-vm-timing FILE...: the start-time breakdown of VM runs (bench/vm.sh --breakdown) — each
// FILE is one run's marks ($BERTH_VM_TIMING); prints per phase the median, min and max in ms.
#include <cstdio>

#include "common/fs.hpp"
#include "vm/wire/timing.hpp"

int main(int argc, char** argv) {
    namespace timing = berth::vm::wire::timing;
    if (argc < 2) {
        std::fprintf(stderr, "usage: berth-vm-timing FILE...\n");
        return 2;
    }
    double ticksPerUs = timing::measureTicksPerUs();  // for runs without TSC-stamped host marks (QEMU run directly)
    std::vector<std::vector<timing::Phase>> runs;
    for (int i = 1; i < argc; i++) {
        auto text = berth::fs::readFile(argv[i]);
        if (!text) {
            std::fprintf(stderr, "berth-vm-timing: %s\n", text.error().what().c_str());
            return 1;
        }
        runs.push_back(timing::breakdown(timing::parse(*text), ticksPerUs));
    }
    std::fputs(timing::table(runs).c_str(), stdout);
    return 0;
}
