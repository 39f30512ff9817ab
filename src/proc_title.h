/*
 * proc_title.h - the process title `ps` shows ("pktvisord: aggregator
 * default-dns"), as setproctitle(3) does on the BSDs.
 *
 * Linux has no call for it: ps reads /proc/PID/cmdline, which is the memory
 * holding argv and, right after it, environ.  proc_title_init() (from main,
 * before anything reads argv or the environment through other pointers)
 * moves environ to the heap and remembers that contiguous area;
 * proc_title_set() writes the title there and clears the rest.  It also
 * sets the thread name (prctl PR_SET_NAME, 15 bytes: top, and ps -o comm).
 * The argv strings are gone after proc_title_set(): copy what you need first.
 */
#ifndef PKTVISOR_PROC_TITLE_H
#define PKTVISOR_PROC_TITLE_H

void proc_title_init(int argc, char **argv);
void proc_title_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
