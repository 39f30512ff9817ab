#define _GNU_SOURCE
#include "proc_msg.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

static const struct {
    uint32_t type;
    size_t min, max; /* payload length range */
    bool fd;
} types[] = {
    {PROC_MSG_READY, sizeof(struct proc_msg_ready), sizeof(struct proc_msg_ready), false},
    {PROC_MSG_INSTANCE, sizeof(struct proc_msg_instance), sizeof(struct proc_msg_instance), true},
    {PROC_MSG_START, sizeof(struct proc_msg_start), sizeof(struct proc_msg_start), false},
    {PROC_MSG_INSTANCE_GONE, sizeof(struct proc_msg_gone), sizeof(struct proc_msg_gone), false},
    {PROC_MSG_POLICY_ADD, sizeof(struct proc_msg_req),
     sizeof(struct proc_msg_req) + PROC_MSG_TEXT_MAX, false},
    {PROC_MSG_POLICY_DEL, sizeof(struct proc_msg_req), sizeof(struct proc_msg_req), false},
    {PROC_MSG_SERVER_STOP, sizeof(struct proc_msg_req), sizeof(struct proc_msg_req), false},
    {PROC_MSG_REPLY, sizeof(struct proc_msg_reply),
     sizeof(struct proc_msg_reply) + PROC_MSG_TEXT_MAX, false},
};

_Static_assert(sizeof(struct proc_msg_req) + PROC_MSG_TEXT_MAX + sizeof(struct proc_msg_hdr) <=
                   PROC_MSG_MAX,
               "messages fit the receive buffer");

int proc_msg_channel(int fds[2])
{
    return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds);
}

int proc_msg_send(int sock, enum proc_msg_type type, const void *payload, size_t len, int fd)
{
    static unsigned char buf[PROC_MSG_MAX]; /* one thread per process */
    struct proc_msg_hdr h = {.type = (uint32_t)type, .len = (uint32_t)len};
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;

    if (len > sizeof(buf) - sizeof(h)) {
        errno = EMSGSIZE;
        return -1;
    }
    memcpy(buf, &h, sizeof(h));
    if (len > 0)
        memcpy(buf + sizeof(h), payload, len);
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof(h) + len};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        memset(&ctl, 0, sizeof(ctl));
        m.msg_control = ctl.buf;
        m.msg_controllen = sizeof(ctl.buf);
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    ssize_t n;
    do
        n = sendmsg(sock, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -1;
    if ((size_t)n != iov.iov_len) {
        errno = EMSGSIZE;
        return -1;
    }
    return 0;
}

int proc_msg_recv(int sock, uint32_t *type, void *payload, size_t *len, int *fd, char *err,
                  size_t errlen)
{
    static unsigned char buf[PROC_MSG_MAX]; /* one thread per process */
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * 4)];
    } ctl;
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
    struct msghdr m = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = ctl.buf,
                       .msg_controllen = sizeof(ctl.buf)};
    ssize_t n;
    int got_fd = -1, extra = 0;

    *fd = -1;
    do
        n = recvmsg(sock, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return -2;
        err_set(err, errlen, "control channel: %s", strerror(errno));
        return -1;
    }
    if (n == 0)
        return 0;
    /* Every fd that arrived is ours to close, whatever else is wrong. */
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < nfd; i++) {
            int f;
            memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (got_fd < 0)
                got_fd = f;
            else {
                close(f);
                extra++;
            }
        }
    }
    struct proc_msg_hdr h;
    const char *why = NULL;
    size_t i = 0;
    if ((m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0)
        why = "truncated message";
    else if ((size_t)n < sizeof(h))
        why = "short header";
    if (why == NULL) {
        memcpy(&h, buf, sizeof(h));
        for (; i < sizeof(types) / sizeof(types[0]); i++)
            if (types[i].type == h.type)
                break;
        if (i == sizeof(types) / sizeof(types[0]))
            why = "unknown message type";
        else if (h.len < types[i].min || h.len > types[i].max || (size_t)n != sizeof(h) + h.len)
            why = "wrong message length";
        else if (types[i].fd != (got_fd >= 0) || extra != 0)
            why = types[i].fd ? "missing file descriptor" : "unexpected file descriptor";
    }
    if (why != NULL) {
        if (got_fd >= 0)
            close(got_fd);
        err_set(err, errlen, "control channel: protocol error: %s (%zd bytes)", why, n);
        errno = EPROTO;
        return -1;
    }
    *type = h.type;
    *len = h.len;
    memcpy(payload, buf + sizeof(h), h.len);
    *fd = got_fd;
    return 1;
}
