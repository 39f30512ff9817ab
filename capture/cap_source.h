/*
 * cap_source.h - a capture source: one libpcap handle on a live interface or
 * a capture file, with its BPF filter, its link type and its drop counters.
 *
 * Where it runs.  Opening is the privileged half: the supervisor (as root or
 * with CAP_NET_RAW, plus CAP_NET_ADMIN for promiscuous mode) calls
 * cap_source_open(), which resolves IFACE, creates and activates the pcap
 * handle (the AF_PACKET socket and its mmap'ed TPACKET_V3 ring) and installs
 * the filter.  It then forks the capture process, which drops every
 * privilege and only reads (cap_loop.h): a libpcap handle is an fd plus a
 * shared mapping, and both survive fork(), so reading needs no capability.
 * Keep the two halves apart: nothing in cap_loop.c opens anything.
 *
 * One reader per handle.  libpcap keeps its ring position in the handle's
 * private memory, so after the fork exactly one process may read: the
 * supervisor closes its copy (cap_source_close() there only drops its fd
 * and mapping; the socket lives on in the child) and opens a fresh source
 * to respawn a capture child, rather than handing over a handle whose ring
 * position another process has moved.
 *
 * IFACE (SPEC 1.1).  A string that parses as an IPv4 or IPv6 address names
 * the interface owning that address; anything else is an interface name.
 * Both are looked up in pcap_findalldevs(); failures give pktvisor's
 * messages: "Couldn't find interface by provided IP: X" and
 * "Couldn't find interface by provided name: \"X\". Available interfaces:
 * a,b,c".  The interface's addresses are copied at open time, so
 * cap_source_iface_hosts() answers without privileges or a fresh lookup.
 *
 * Live parameters (SPEC 1.1, but for the snapshot length): snaplen 65535
 * (pktvisor's 1000 bytes cut DNS over TCP: a segment carrying a large
 * response, or several pipelined queries, loses its tail and with it the
 * messages; the ring stores only what arrives), buffer timeout 10 ms,
 * promiscuous, a 32 MiB kernel buffer by default (room for about a quarter
 * of a second at 1 Mpps of small frames, for bursts and for a capture
 * process that is briefly descheduled).  Immediate mode stays off: libpcap
 * on Linux falls back to TPACKET_V2 (one wake-up per packet) in immediate
 * mode, while TPACKET_V3 hands over whole blocks, retired by the kernel when
 * full or after the 10 ms timeout; a summarizing agent wants the batches,
 * not the latency.  Timestamps are asked in nanoseconds where the platform
 * has them.  The handle is put in non-blocking mode, because with
 * TPACKET_V3 libpcap waits in poll() with no timeout and an idle link would
 * never return control to the loop (stop flag, 1 s statistics).
 *
 * Statistics.  cap_source_stats() returns pcap_stats() as deltas since the
 * previous call (the first call: since open).  libpcap's counters are 32-bit
 * and wrap; differences are taken modulo 2^32.  ps_ifdrop comes from
 * /sys/class/net/DEV/statistics: a capture process whose root has no /sys
 * sees it fall to 0, which would read as a wrap of almost 2^32; a delta
 * above 2^31 is therefore treated as a counter reset and reported as 0.
 *
 * Ownership: cap_source_open() returns a heap object owned by the caller;
 * cap_source_close() closes the handle, frees it and NULLs the pointer.
 */
#ifndef PKTVISOR_CAP_SOURCE_H
#define PKTVISOR_CAP_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pcap/pcap.h>

struct hostspec;

#define CAP_SNAPLEN_DEFAULT     65535
#define CAP_TIMEOUT_MS_DEFAULT  10
#define CAP_BUFFER_SIZE_DEFAULT (32 * 1024 * 1024)
/* Addresses kept per interface (an interface with more is rare). */
#define CAP_IFACE_ADDRS_MAX 64

struct cap_source_config {
    const char *iface; /* interface name or IP address: a live source */
    const char *file;  /* capture file (pcap or pcapng): exactly one of the two */
    const char *bpf;   /* NULL or "" for none */
    int snaplen;       /* live only; 0: CAP_SNAPLEN_DEFAULT */
    int timeout_ms;    /* live only; 0: CAP_TIMEOUT_MS_DEFAULT */
    int buffer_size;   /* live only, bytes; 0: CAP_BUFFER_SIZE_DEFAULT */
    bool no_promisc;   /* live only; promiscuous unless set */
    /* live only: join this PACKET_FANOUT group (0: none) spread by the
     * kernel's symmetric flow hash, so a query and its reply reach the same
     * member (no PACKET_FANOUT_FLAG_DEFRAG: the kernel would hand over
     * reassembled datagrams, and packet counts would differ). */
    uint16_t fanout_group;
};

/* Kernel counters, as deltas since the previous cap_source_stats(). */
struct cap_source_stats {
    uint64_t recv;   /* ps_recv */
    uint64_t drop;   /* ps_drop: no room in the kernel buffer */
    uint64_t ifdrop; /* ps_ifdrop: dropped by the interface */
};

struct cap_source;

/* Open a live interface or a file.  NULL with a message in err. */
struct cap_source *cap_source_open(const struct cap_source_config *cfg, char *err, size_t errlen);
void cap_source_close(struct cap_source **src);

/* Install a BPF filter ("" or NULL removes nothing and succeeds).  Error:
 * "invalid BPF filter 'X': <pcap error>". */
int cap_source_set_filter(struct cap_source *src, const char *bpf, char *err, size_t errlen);

/* Append the interface's IPv4 address/netmask-prefix and IPv6
 * address/prefix entries to hs, in the order libpcap lists them (SPEC 1.1:
 * after the -H entries).  A file source appends nothing.  Returns the number
 * appended, or -1 when hs is full. */
int cap_source_iface_hosts(const struct cap_source *src, struct hostspec *hs, char *err,
                           size_t errlen);

/* Deltas of the kernel counters since the last call.  -1 with a message for
 * a file (libpcap keeps no statistics for files) or a failed pcap_stats. */
int cap_source_stats(struct cap_source *src, struct cap_source_stats *out, char *err,
                     size_t errlen);

bool cap_source_is_live(const struct cap_source *src);
/* A file's next records, as pcap_dispatch(): read in place (pcap_mmap.h)
 * when no filter is installed and the file allows, else by libpcap. */
int cap_source_file_dispatch(struct cap_source *src, int cnt, pcap_handler cb, u_char *user);
/* The device name (after IFACE resolution) or the file path. */
const char *cap_source_name(const struct cap_source *src);
int cap_source_linktype(const struct cap_source *src);
/* True when timestamps come in nanoseconds, else microseconds. */
bool cap_source_nsec(const struct cap_source *src);
/* A non-fatal note from pcap_activate (e.g. promiscuous mode unsupported),
 * or "" : the caller logs it. */
const char *cap_source_warning(const struct cap_source *src);
pcap_t *cap_source_pcap(struct cap_source *src);

#endif
