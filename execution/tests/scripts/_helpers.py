"""Shared by the test scripts (they run with this folder as sys.path[0])."""

import os
import time


def write_atomic(path: str, text: str) -> None:
    """Write `text` so that a reader polling for `path` never sees half of it."""
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


def wait_for(path: str) -> None:
    while not os.path.exists(path):
        time.sleep(0.02)
