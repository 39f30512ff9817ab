/*
 * pktsend - send the frames of a capture file on an interface, paced.
 *
 *   pktsend IFACE FILE PPS SECONDS
 *
 * Reads up to 1,000,000 frames (256 MiB) of FILE (classic pcap, Ethernet) into
 * memory, then sends them in a loop on IFACE through an AF_PACKET socket
 * (sendmmsg, 32 frames a call, qdisc bypassed) at PPS frames per second
 * (0: as fast as it can) for SECONDS seconds.  Prints one line on stdout:
 * "sent N frames in S s: R pps, F failed".  Used by tests/bench/run to load
 * pktvisord's live capture across a veth pair between two network
 * namespaces: tcpreplay sends one frame per system call and tops out below
 * what the agent can read.  Never point it at a real network.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAMES 1000000
#define MAX_BYTES  (256u << 20)
#define BATCH      32

static _Noreturn void fail(const char *what)
{
    fprintf(stderr, "pktsend: %s: %s\n", what, strerror(errno));
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct frames {
    unsigned char *data; /* frames end to end */
    size_t *off;
    uint32_t *len;
    size_t n;
};

/* Classic pcap only (either byte order, micro or nanoseconds). */
static void load(const char *path, struct frames *f)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        fail(path);
    uint32_t gh[6];
    if (fread(gh, 4, 6, fp) != 6)
        fail("short pcap header");
    int swap;
    if (gh[0] == 0xa1b2c3d4 || gh[0] == 0xa1b23c4d)
        swap = 0;
    else if (gh[0] == 0xd4c3b2a1 || gh[0] == 0x4d3cb2a1)
        swap = 1;
    else {
        errno = EINVAL;
        fail("not a classic pcap file");
    }
    f->data = malloc(MAX_BYTES);
    f->off = malloc(MAX_FRAMES * sizeof(*f->off));
    f->len = malloc(MAX_FRAMES * sizeof(*f->len));
    if (f->data == NULL || f->off == NULL || f->len == NULL)
        fail("malloc");
    uint32_t rh[4];
    size_t used = 0;
    while (f->n < MAX_FRAMES && fread(rh, 4, 4, fp) == 4) {
        uint32_t cap = swap ? __builtin_bswap32(rh[2]) : rh[2];
        if (cap > 65535) {
            errno = EINVAL;
            fail("corrupt record length");
        }
        if (used + cap > MAX_BYTES || fread(f->data + used, 1, cap, fp) != cap)
            break;
        if (cap >= 14 && cap <= 1514) {
            f->off[f->n] = used;
            f->len[f->n++] = cap;
            used += cap;
        }
    }
    fclose(fp);
    if (f->n == 0) {
        errno = EINVAL;
        fail("no frames");
    }
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: pktsend IFACE FILE PPS SECONDS\n");
        return 2;
    }
    double pps = strtod(argv[3], NULL), secs = strtod(argv[4], NULL);
    if (pps < 0 || secs <= 0) {
        fprintf(stderr, "pktsend: PPS >= 0 and SECONDS > 0\n");
        return 2;
    }
    struct frames f = {0};
    load(argv[2], &f);

    int fd = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: send only */
    if (fd < 0)
        fail("socket(AF_PACKET)");
    int one = 1;
    (void)setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
    struct sockaddr_ll sll = {.sll_family = AF_PACKET,
                              .sll_protocol = htons(ETH_P_ALL),
                              .sll_ifindex = (int)if_nametoindex(argv[1])};
    if (sll.sll_ifindex == 0)
        fail(argv[1]);
    if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) != 0)
        fail("bind");

    struct mmsghdr msg[BATCH];
    struct iovec iov[BATCH];
    uint64_t sent = 0, failed = 0;
    size_t next = 0;
    double t0 = now_s(), end = t0 + secs, t = t0;
    while (t < end) {
        if (pps > 0) {
            double due = t0 + (double)sent / pps;
            if (due > t) {
                if (due - t > 200e-6) {
                    double d = due - t - 100e-6;
                    struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
                    nanosleep(&ts, NULL);
                }
                t = now_s();
                continue;
            }
        }
        for (int i = 0; i < BATCH; i++) {
            iov[i] = (struct iovec){f.data + f.off[next], f.len[next]};
            msg[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
            next = next + 1 == f.n ? 0 : next + 1;
        }
        int r = sendmmsg(fd, msg, BATCH, 0);
        if (r < 0) {
            if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR)
                fail("sendmmsg");
            r = 0;
        }
        sent += (uint64_t)r;
        failed += (uint64_t)(BATCH - r);
        t = now_s();
    }
    double el = now_s() - t0;
    printf("sent %llu frames in %.3f s: %.0f pps, %llu failed\n", (unsigned long long)sent, el,
           (double)sent / el, (unsigned long long)failed);
    close(fd);
    free(f.data);
    free(f.off);
    free(f.len);
    return 0;
}
