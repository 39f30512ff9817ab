/*
 * fuzz_proc_msg.c - libFuzzer target for the control-message reader: the
 * supervisor parses what its children send, and a compromised child is
 * untrusted.  The input is one datagram put on a SOCK_SEQPACKET pair as is;
 * proc_msg_recv() must either accept it with a payload of exactly its
 * type's length or refuse it, never read or write out of bounds.
 *
 *   make fuzz && tests/fuzz/fuzz_proc_msg -max_total_time=60
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proc_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int pair[2] = {-1, -1};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char buf[PROC_MSG_MAX];
    char err[256];
    uint32_t type;
    size_t len;
    int fd;

    if (pair[0] < 0 && proc_msg_channel(pair) != 0)
        abort();
    if (size == 0 || size > 4096 || send(pair[0], data, size, 0) != (ssize_t)size)
        return 0;
    int rc = proc_msg_recv(pair[1], &type, buf, &len, &fd, err, sizeof(err));
    if (rc == 1) {
        if (len > PROC_MSG_MAX || size != len + sizeof(struct proc_msg_hdr))
            __builtin_trap();
        if (fd >= 0)
            __builtin_trap(); /* nothing passed an fd */
    } else if (rc != -1) {
        __builtin_trap(); /* a datagram was waiting: neither "closed" nor "empty" */
    }
    return 0;
}
