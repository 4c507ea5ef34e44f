"""echoes.py ARGS...: writes its arguments, folder and $SM_RUNNER_TEST to
stdout followed by raw non-UTF-8 bytes without a final newline, and a line to
stderr."""

import os
import sys

out = sys.stdout.buffer
out.write(f"argv={sys.argv[1:]}\n".encode())
out.write(f"cwd={os.getcwd()}\n".encode())
out.write(f"env={os.environ.get('SM_RUNNER_TEST', '<unset>')}\n".encode())
out.write(b"\x00\xff\xfe raw\r\nno newline")
out.flush()
sys.stderr.buffer.write(b"to stderr\n")
