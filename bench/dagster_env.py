"""The Dagster virtualenv the comparison runs in: ``bench/.venv-dagster``, created on
first use with ``pip install dagster==DAGSTER_VERSION`` (never a dependency of Trellis).
dagster-dask is added only if the release matching that Dagster installs cleanly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DAGSTER_VERSION = "1.13.28"
# Dagster's libraries are versioned 0.(minor + 16).patch alongside dagster 1.minor.patch.
DAGSTER_DASK_VERSION = "0.29.28"

VENV = Path(__file__).resolve().parent / ".venv-dagster"
STAMP = VENV / ".installed"
DASK_NOTE = VENV / "dask-note.txt"
LOG = VENV / "install.log"


def dagster_python() -> Path:
    """The venv's interpreter."""
    return VENV / "bin" / "python"


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    command = [str(dagster_python()), "-m", "pip", "install", "-q", *args]
    done = subprocess.run(command, capture_output=True, text=True)
    with LOG.open("a") as log:
        log.write(f"$ {' '.join(command)}\n{done.stdout}{done.stderr}\n")
    return done


def ensure_dagster_venv() -> list[str]:
    """Create the venv unless it holds DAGSTER_VERSION already; notes for the report."""
    if not (STAMP.is_file() and STAMP.read_text().strip() == DAGSTER_VERSION):
        print(f"creating {VENV} with dagster=={DAGSTER_VERSION} ...", file=sys.stderr)
        if not dagster_python().exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        done = _pip(f"dagster=={DAGSTER_VERSION}")
        if done.returncode != 0:
            raise SystemExit(f"pip install dagster=={DAGSTER_VERSION} failed; see {LOG}")
        pinned = (f"dagster=={DAGSTER_VERSION}", f"dagster-dask=={DAGSTER_DASK_VERSION}")
        done = _pip(*pinned)
        if done.returncode == 0:
            DASK_NOTE.write_text("")
        else:
            errors = [ln for ln in done.stderr.splitlines() if ln.startswith("ERROR")]
            reason = errors[-1] if errors else f"pip exit {done.returncode}"
            DASK_NOTE.write_text(
                f"dagster-dask=={DAGSTER_DASK_VERSION} (the release matching dagster "
                f"{DAGSTER_VERSION}) did not install ({reason[:160]}); Dagster's Dask case "
                "is skipped.\n"
            )
        STAMP.write_text(DAGSTER_VERSION + "\n")
    note = DASK_NOTE.read_text().strip() if DASK_NOTE.is_file() else ""
    return [note] if note else []
