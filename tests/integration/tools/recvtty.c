/*
 * recvtty: the receiving end of a runtime's --console-socket, for the integration tests.
 *
 *   recvtty [-i INPUT] [-t SECONDS] [-w TEXT -s ROWS,COLS] SOCKET
 *
 * Listens on the unix socket SOCKET, accepts ONE connection, receives the pty master sent with
 * SCM_RIGHTS, writes INPUT (if given) to the master, then copies everything the master yields to
 * stdout until the slave side is closed by every process (read gives EIO or 0). With -w and -s,
 * once the output so far holds TEXT, the master is resized to ROWS x COLS (TIOCSWINSZ, as
 * containerd's shim and conmon resize it), once. Exits 0 then;
 * exits 2 on a usage or socket error, 3 when no fd arrives, 4 on the time limit (default 30 s).
 * Build: cc -O2 -o recvtty recvtty.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "recvtty: time limit reached\n";
    ssize_t r = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)r;
    _exit(4);
}

static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *input = NULL, *trigger = NULL;
    int limit = 30, opt;
    unsigned rows = 0, cols = 0;
    while ((opt = getopt(argc, argv, "i:t:w:s:")) != -1) {
        switch (opt) {
        case 'i': input = optarg; break;
        case 't': limit = atoi(optarg); break;
        case 'w': trigger = optarg; break;
        case 's': if (sscanf(optarg, "%u,%u", &rows, &cols) == 2) break; /* fall through */
        default: fprintf(stderr, "usage: recvtty [-i INPUT] [-t SECONDS] [-w TEXT -s ROWS,COLS] SOCKET\n"); return 2;
        }
    }
    if (optind + 1 != argc || !trigger != !rows) {
        fprintf(stderr, "usage: recvtty [-i INPUT] [-t SECONDS] [-w TEXT -s ROWS,COLS] SOCKET\n");
        return 2;
    }
    const char *path = argv[optind];
    signal(SIGALRM, on_alarm);
    alarm((unsigned)limit);

    int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ls < 0) { perror("recvtty: socket"); return 2; }
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof addr.sun_path) { fprintf(stderr, "recvtty: path too long\n"); return 2; }
    strcpy(addr.sun_path, path);
    unlink(path);
    /* Bind under a temporary name and rename, so the socket appears only once it listens. */
    char tmp[sizeof addr.sun_path + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (strlen(tmp) >= sizeof addr.sun_path) { fprintf(stderr, "recvtty: path too long\n"); return 2; }
    strcpy(addr.sun_path, tmp);
    unlink(tmp);
    if (bind(ls, (struct sockaddr *)&addr, sizeof addr) < 0) { perror("recvtty: bind"); return 2; }
    if (listen(ls, 1) < 0) { perror("recvtty: listen"); return 2; }
    if (rename(tmp, path) < 0) { perror("recvtty: rename"); return 2; }

    int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) { perror("recvtty: accept"); return 2; }
    char data[4096];
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {data, sizeof data};
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf;
    msg.msg_controllen = sizeof cbuf;
    ssize_t n;
    do n = recvmsg(c, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0) { perror("recvtty: recvmsg"); return 3; }
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
        fprintf(stderr, "recvtty: no file descriptor received\n");
        return 3;
    }
    int master;
    memcpy(&master, CMSG_DATA(cm), sizeof master);
    close(c);
    close(ls);
    unlink(path);

    if (input && write_all(master, input, strlen(input)) < 0) { perror("recvtty: write"); return 2; }
    char buf[4096];
    /* The output so far, kept until the trigger shows up (NULs included: memmem, not strstr). */
    static char seen[1 << 16];
    size_t nseen = 0;
    for (;;) {
        ssize_t r = read(master, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break; /* EIO: every slave fd is closed */
        if (write_all(STDOUT_FILENO, buf, (size_t)r) < 0) return 2;
        if (!trigger) continue;
        size_t take = (size_t)r < sizeof seen - nseen ? (size_t)r : sizeof seen - nseen;
        memcpy(seen + nseen, buf, take);
        nseen += take;
        if (!memmem(seen, nseen, trigger, strlen(trigger))) continue;
        struct winsize ws = {(unsigned short)rows, (unsigned short)cols, 0, 0};
        if (ioctl(master, TIOCSWINSZ, &ws) < 0) { perror("recvtty: TIOCSWINSZ"); return 2; }
        trigger = NULL;
    }
    return 0;
}
