"""Paths the CLI tests share: the fixture projects and the quickstart example."""

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FLAKY = str(FIXTURES / "flaky_defs.py")
REPO = Path(__file__).resolve().parents[2]
QUICKSTART = str(REPO / "examples" / "quickstart" / "definitions.py")
DYNAMIC = str(FIXTURES / "dynamic_defs.py")
