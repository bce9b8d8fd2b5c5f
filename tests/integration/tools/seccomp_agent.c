/* A minimal seccomp agent for the tests: listens on a unix socket, receives runtime-spec's
 * ContainerProcessState JSON with a seccomp listener fd (SCM_RIGHTS), appends the JSON as one
 * line to OUT, and answers every notification with -ERRNO (so the container sees the call fail
 * with that errno, proof the agent handled it).
 *
 *   seccomp_agent SOCKET OUT ERRNO */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_FDS 32

static int recvState(int conn, const char* out) {
    char buf[65536];
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {buf, sizeof buf - 1};
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf;
    mh.msg_controllen = sizeof cbuf;
    ssize_t n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
    if (n <= 0) return -1;
    buf[n] = 0;
    struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
    if (!c || c->cmsg_type != SCM_RIGHTS) return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    FILE* f = fopen(out, "a");
    if (f) {
        fprintf(f, "%s\n", buf);
        fclose(f);
    }
    return fd;
}

int main(int argc, char** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: seccomp_agent SOCKET OUT ERRNO\n");
        return 2;
    }
    int err = atoi(argv[3]);
    int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    strncpy(addr.sun_path, argv[1], sizeof addr.sun_path - 1);
    unlink(argv[1]);
    if (bind(ls, (struct sockaddr*)&addr, sizeof addr) < 0 || listen(ls, 8) < 0) {
        perror("seccomp_agent: bind/listen");
        return 1;
    }
    struct seccomp_notif_sizes sizes;
    if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0) {
        perror("seccomp_agent: SECCOMP_GET_NOTIF_SIZES");
        return 1;
    }
    struct seccomp_notif* req = calloc(1, sizes.seccomp_notif);
    struct seccomp_notif_resp* resp = calloc(1, sizes.seccomp_notif_resp);
    struct pollfd pfd[MAX_FDS + 1];
    int nfds = 0;
    pfd[0] = (struct pollfd){ls, POLLIN, 0};
    for (;;) {
        if (poll(pfd, nfds + 1, -1) < 0) {
            if (errno == EINTR) continue;
            return 1;
        }
        if (pfd[0].revents & POLLIN) {
            int conn = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
            int fd = conn >= 0 ? recvState(conn, argv[2]) : -1;
            if (conn >= 0) close(conn);
            if (fd >= 0 && nfds < MAX_FDS) pfd[++nfds] = (struct pollfd){fd, POLLIN, 0};
        }
        for (int i = 1; i <= nfds; i++) {
            if (pfd[i].revents & (POLLHUP | POLLERR)) {
                close(pfd[i].fd);
                pfd[i] = pfd[nfds--];
                i--;
                continue;
            }
            if (!(pfd[i].revents & POLLIN)) continue;
            memset(req, 0, sizes.seccomp_notif);
            if (ioctl(pfd[i].fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) continue;
            memset(resp, 0, sizes.seccomp_notif_resp);
            resp->id = req->id;
            resp->error = -err;
            ioctl(pfd[i].fd, SECCOMP_IOCTL_NOTIF_SEND, resp);
        }
    }
}
