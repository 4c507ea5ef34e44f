"""kills_itself.py: prints "bye", then SIGKILLs itself."""

import os
import signal

print("bye", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
