"""double_fork.py PIDFILE [--linger SECONDS] [--wait-for FILE]

Forks a child that forks a grandchild and exits at once; the grandchild calls
setsid, waits until it is orphaned, writes its pid and its new parent's pid to
PIDFILE,
sleeps SECONDS (600 by default) and exits. The script reaps its child, waits
for FILE to exist when given, and exits 0.
"""

import argparse
import os
import time

from _helpers import wait_for, write_atomic

parser = argparse.ArgumentParser()
parser.add_argument("pidfile")
parser.add_argument("--linger", type=float, default=600)
parser.add_argument("--wait-for")
args = parser.parse_args()

child = os.fork()
if child == 0:
    parent = os.getpid()
    if os.fork() == 0:
        os.setsid()
        while os.getppid() == parent:
            time.sleep(0.01)
        write_atomic(args.pidfile, f"{os.getpid()} {os.getppid()}")
        time.sleep(args.linger)
    os._exit(0)
os.waitpid(child, 0)
if args.wait_for:
    wait_for(args.wait_for)
