"""exits_with.py CODE: says so on both streams and exits with CODE."""

import sys

code = int(sys.argv[1])
print(f"exiting with {code}")
print("about to exit", file=sys.stderr)
sys.exit(code)
