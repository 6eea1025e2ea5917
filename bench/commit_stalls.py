#!/usr/bin/env python3
"""Where the audit group commit waits: samples one thread's state and system call.

    bench/commit_stalls.py PID [SECONDS] [THREAD_NAME]

Every ~2 ms, reads /proc/PID/task/TID/stat (state: R running or runnable, S sleeping, D
waiting on the disk) and .../syscall (number and first argument, a file descriptor for I/O)
of the first thread named THREAD_NAME (default: the audit sink's, `commit-AuditWri`), and
prints the most common (state, syscall, argument) triples and the longest unbroken stretches
of one triple. Run it beside a load (wrk); a long stretch of ('D', '75', fd) is one
fdatasync of that descriptor (ls -l /proc/PID/fd tells which file).
"""
import collections
import os
import sys
import time


def thread_of(pid, name):
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            if f.read().strip() == name:
                return tid
    sys.exit(f"no thread named {name} in process {pid}")


def main():
    pid = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 30
    tid = thread_of(pid, sys.argv[3] if len(sys.argv) > 3 else "commit-AuditWri")
    base = f"/proc/{pid}/task/{tid}"
    counts = collections.Counter()
    stretches = []
    current, length = None, 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with open(f"{base}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            with open(f"{base}/syscall") as f:
                call = f.read().split()
            key = (state, call[0], call[1] if len(call) > 1 else "")
        except OSError:
            break
        counts[key] += 1
        if key == current:
            length += 1
        else:
            if current is not None:
                stretches.append((length, current))
            current, length = key, 1
        time.sleep(0.002)
    if current is not None:
        stretches.append((length, current))
    print("most common (state, syscall, arg) over", sum(counts.values()), "samples:")
    for key, n in counts.most_common(8):
        print(f"  {n:6}  {key}")
    print("longest stretches, in samples of about 2 ms:")
    for n, key in sorted(stretches, key=lambda s: -s[0])[:10]:
        print(f"  {n:6}  {key}")


if __name__ == "__main__":
    main()
