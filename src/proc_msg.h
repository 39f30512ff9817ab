/*
 * proc_msg.h - typed messages between the supervisor and its children.
 *
 * Each child has one socketpair with the supervisor (SOCK_SEQPACKET, so the
 * kernel keeps message boundaries).  A message is a struct proc_msg_hdr
 * {type, length} followed by exactly `length` bytes of payload, and may
 * carry one file descriptor (SCM_RIGHTS), like OpenBSD's imsg.  Every type
 * has a payload size range (one fixed size for most; a fixed head and a
 * bounded text for the variable ones) and says whether it carries an fd; a
 * message whose type is unknown, whose size is outside its type's range,
 * that was truncated, or whose fd is missing or unexpected is a protocol
 * error: the receiver closes the channel (the supervisor then treats the
 * child as crashed).
 *
 * Messages (who sends them):
 *   PROC_MSG_READY     child -> supervisor: privileges dropped, running
 *   PROC_MSG_INSTANCE  supervisor -> httpd: a handler instance and its
 *                      metric segment (fd)
 *   PROC_MSG_START     supervisor -> httpd: the list is complete; agent start
 *                      time
 *   PROC_MSG_INSTANCE_GONE supervisor -> httpd: an instance's policy was
 *                      deleted: stop showing it
 *   PROC_MSG_POLICY_ADD    httpd -> supervisor: admin API, a YAML document
 *                      of policies (request id + text)
 *   PROC_MSG_POLICY_DEL    httpd -> supervisor: admin API, delete a policy
 *   PROC_MSG_SERVER_STOP   httpd -> supervisor: admin API, stop the agent
 *   PROC_MSG_REPLY     supervisor -> httpd: the answer to request id: an
 *                      HTTP status and a text (error message, or the names
 *                      of the policies created, one per line)
 *
 * Ownership: the caller owns both sockets; a received fd becomes the
 * caller's.  Sending never blocks forever (MSG_DONTWAIT: messages are small
 * and rare, a full socket buffer is an error).
 */
#ifndef PKTVISOR_PROC_MSG_H
#define PKTVISOR_PROC_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum proc_msg_type {
    PROC_MSG_READY = 1,
    PROC_MSG_INSTANCE = 2,
    PROC_MSG_START = 3,
    PROC_MSG_INSTANCE_GONE = 4,
    PROC_MSG_POLICY_ADD = 5,
    PROC_MSG_POLICY_DEL = 6,
    PROC_MSG_SERVER_STOP = 7,
    PROC_MSG_REPLY = 8,
};

struct proc_msg_hdr {
    uint32_t type;
    uint32_t len; /* payload bytes after this header */
};

struct proc_msg_ready {
    int32_t pid;
    uint32_t reserved;
};

struct proc_msg_instance {
    char policy[64];
    char name[128];
    char type[16];
    char tap[64];
    uint32_t num_periods;
    uint32_t live;     /* the tap captures live: rates show "live" */
    uint32_t worker;   /* of its tap's workers; the HTTP worker merges them */
    uint32_t nworkers; /* 1: a tap without workers */
};

struct proc_msg_start {
    int64_t start_ns; /* CLOCK_REALTIME of the agent's start */
};

struct proc_msg_gone {
    char name[128];
};

/* Head of the admin requests; POLICY_ADD's text follows it. */
struct proc_msg_req {
    uint32_t id;
    uint32_t reserved;
    char name[64]; /* POLICY_DEL: the policy */
};

/* Head of a reply; its text follows. */
struct proc_msg_reply {
    uint32_t id;
    uint32_t status; /* HTTP status */
};

#define PROC_MSG_TEXT_MAX 65536 /* a posted document (the HTTP body limit) */
#define PROC_MSG_MAX      (PROC_MSG_TEXT_MAX + 512)

/* Both ends of a new channel (SOCK_SEQPACKET, close-on-exec).  -1 on error. */
int proc_msg_channel(int fds[2]);

/* Send one message (fd < 0: none).  0, or -1 with errno. */
int proc_msg_send(int sock, enum proc_msg_type type, const void *payload, size_t len, int fd);

/* Receive one message into payload (at least PROC_MSG_MAX bytes).  Returns
 * 1 with *type, *len and *fd (-1 when none) set; 0 when the peer closed;
 * -1 on a protocol error (message in err) or a socket error; -2 when
 * nothing is waiting (the socket is non-blocking). */
int proc_msg_recv(int sock, uint32_t *type, void *payload, size_t *len, int *fd, char *err,
                  size_t errlen);

#endif
