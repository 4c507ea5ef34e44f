"""ignores_sigterm.py READY_FILE: ignores SIGTERM, writes its pid to READY_FILE
once it does, then sleeps for ever."""

import os
import signal
import sys
import time

from _helpers import write_atomic

signal.signal(signal.SIGTERM, signal.SIG_IGN)
write_atomic(sys.argv[1], str(os.getpid()))
while True:
    time.sleep(1)
