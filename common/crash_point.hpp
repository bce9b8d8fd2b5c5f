// common/crash_point: named places where a test build of the runtime kills itself with SIGKILL
// when BERTH_CRASH_AT names them — to prove that a runtime killed at any step leaves nothing
// `delete --force` cannot clean. Compiled out unless -DBERTH_CRASH_POINTS=ON.
#pragma once

namespace berth {

#ifdef BERTH_CRASH_POINTS
void crashPoint(const char* name);
#else
inline void crashPoint(const char*) {}
#endif

}  // namespace berth
