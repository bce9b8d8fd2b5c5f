// syscall_errno N...: makes syscall N (no arguments) for each N and prints "N:ok" or "N:ERRNAME"
// (ENOSYS, EPERM, ...), one line each. Built static by the seccomp tests to run as a container's
// process: it shows what a seccomp filter answers for a syscall number libc may not know.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char* errName(int e) {
    switch (e) {
        case ENOSYS: return "ENOSYS";
        case EPERM: return "EPERM";
        case EACCES: return "EACCES";
        case EINVAL: return "EINVAL";
        case EFAULT: return "EFAULT";
        case EBADF: return "EBADF";
        default: return strerror(e);
    }
}

int main(int argc, char** argv) {
    for (int i = 1; i < argc; i++) {
        long nr = strtol(argv[i], NULL, 10);
        errno = 0;
        long rc = syscall(nr, 0, 0, 0, 0, 0, 0);
        if (rc < 0) printf("%ld:%s\n", nr, errName(errno));
        else printf("%ld:ok\n", nr);
    }
    return 0;
}
