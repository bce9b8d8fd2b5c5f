// Sanitizer builds (BERTH_SANITIZE): the options each instrumented binary starts with, so that a
// report lands in the build tree's sanitizer-logs/ (one file per process: asan.PID, ubsan.PID),
// never on stderr, even where the environment is not ours: podman and containerd start the
// runtime with environments of their own. ASAN_OPTIONS, UBSAN_OPTIONS, LSAN_OPTIONS override.

#define BERTH_EXPORT extern "C" __attribute__((visibility("default"), used))

BERTH_EXPORT const char* __asan_default_options() {
    return "log_path=" BERTH_SANITIZER_LOG_DIR "/asan:halt_on_error=1:detect_leaks=1";
}

BERTH_EXPORT const char* __ubsan_default_options() {
    return "log_path=" BERTH_SANITIZER_LOG_DIR "/ubsan:halt_on_error=1:print_stacktrace=1";
}

BERTH_EXPORT const char* __lsan_default_options() {
    return "suppressions=" BERTH_LSAN_SUPPRESSIONS;
}
