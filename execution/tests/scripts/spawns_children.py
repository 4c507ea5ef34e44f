"""spawns_children.py COUNT PIDFILE [--wait-for FILE]: starts COUNT sleeping
children in its own process group, writes their pids to PIDFILE, waits for
FILE when given, and exits without waiting for them."""

import argparse
import subprocess
import sys

from _helpers import wait_for, write_atomic

parser = argparse.ArgumentParser()
parser.add_argument("count", type=int)
parser.add_argument("pidfile")
parser.add_argument("--wait-for")
args = parser.parse_args()

children = [
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    for _ in range(args.count)
]
write_atomic(args.pidfile, " ".join(str(child.pid) for child in children))
if args.wait_for:
    wait_for(args.wait_for)
