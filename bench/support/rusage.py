#!/usr/bin/env python3
"""Runs one command and prints {"code", "wallMs", "userMs", "sysMs"} as JSON on stdout.

Wall time is fork to reaped exit; CPU is the child's own rusage (wait4), microsecond precision,
this script's start-up excluded from both. The child's stdout goes to argv[1] and its stderr to
argv[1] + '.err' ('-' discards both).
Usage: rusage.py OUT_FILE CMD [ARGS...]
"""
import json
import os
import sys
import time

out = sys.argv[1]
argv = sys.argv[2:]
fd = os.open(os.devnull if out == "-" else out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
err = os.open(os.devnull if out == "-" else out + ".err", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.dup2(fd, 1)
    os.dup2(err, 2)
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - t0
print(json.dumps({
    "code": os.waitstatus_to_exitcode(status),
    "wallMs": wall * 1000,
    "userMs": usage.ru_utime * 1000,
    "sysMs": usage.ru_stime * 1000,
}))
