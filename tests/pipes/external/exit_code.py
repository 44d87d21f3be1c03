"""An external process that never opens Pipes: it writes to stderr and exits with the
code given as its argument."""

import sys

print("loading the configuration", file=sys.stderr)
print("no such table: orders", file=sys.stderr)
sys.exit(int(sys.argv[1]))
