"""An external process that fails: it logs, writes to stderr, then raises inside its
Pipes block (so it closes Pipes with the exception and exits with code 1)."""

import sys

from trellis_pipes import open_dagster_pipes

with open_dagster_pipes() as pipes:
    pipes.log.info("about to read the orders")
    for number in range(30):
        print(f"noise line {number}", file=sys.stderr)
    raise ValueError("bad row 17: amount is not a number")
