"""chatty.py COUNT: prints "line <i>" for i in 0..COUNT-1."""

import sys

write = sys.stdout.write
for i in range(int(sys.argv[1])):
    write(f"line {i}\n")
