/* berth-pause: the pod sandbox's process, as Kubernetes' pause (build/pause/linux/pause.c) is.
 * It holds the pod's namespaces open: sleeps until SIGINT or SIGTERM (then exits 0), and reaps
 * any child that is re-parented to it (it is PID 1 when the pod shares a PID namespace).
 * Static, so the pause image is this one file (tests/tools/cri/make-images.sh). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void onStop(int sig) {
    (void)sig;
    _exit(0);
}

static void onChild(int sig) {
    (void)sig;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    errno = saved;
}

int main(int argc, char** argv) {
    if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
        puts("berth-pause 1.0");
        return 0;
    }
    if (getpid() != 1)
        fprintf(stderr, "berth-pause: warning: not PID 1, children of other processes are not reaped\n");
    struct sigaction stop = {.sa_handler = onStop};
    struct sigaction child = {.sa_handler = onChild, .sa_flags = SA_NOCLDSTOP | SA_RESTART};
    sigemptyset(&stop.sa_mask);
    sigemptyset(&child.sa_mask);
    if (sigaction(SIGINT, &stop, NULL) < 0 || sigaction(SIGTERM, &stop, NULL) < 0 ||
        sigaction(SIGCHLD, &child, NULL) < 0) {
        perror("berth-pause: sigaction");
        return 1;
    }
    for (;;)
        pause();
    fprintf(stderr, "berth-pause: error: infinite loop terminated\n");
    return 42;
}
