"""floods.py MEBIBYTES [--ignore-sigterm]: writes MEBIBYTES MiB to stdout as
fast as it can (a line of "x" per 64 KiB), then "finished" to stderr. With
--ignore-sigterm it ignores SIGTERM and goes on writing after it."""

import signal
import sys

if "--ignore-sigterm" in sys.argv:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
block = b"x" * 65535 + b"\n"
out = sys.stdout.buffer
for _ in range(int(sys.argv[1]) * 16):
    out.write(block)
out.flush()
sys.stderr.write("finished\n")
