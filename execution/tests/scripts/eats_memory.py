"""eats_memory.py MB: allocates MB mebibytes and says so."""

import sys

block = bytearray(int(sys.argv[1]) * 1024 * 1024)
print(f"allocated {len(block)} bytes")
