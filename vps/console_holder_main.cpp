// berth-console: the console holder's own binary (vps/console_holder.hpp).
#include "vps/console_holder.hpp"

int main(int argc, char** argv) {
    return berth::vps::consoleHolderMain(argc, argv);
}
