"""Run the quickstart example end to end (filled in as the core lands)."""

import trellis

print(f"trellis {trellis.__version__}: the quickstart example arrives with the core.")
