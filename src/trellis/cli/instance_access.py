"""Opening the instance for a command, and finding a run by its id or a unique prefix."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from trellis.cli.errors import CliError

MIN_PREFIX = 4


@contextmanager
def open_instance() -> Iterator[Any]:
    """``Instance.get()`` for the duration of a command (what dynamic partitions
    definitions read their keys from), disposed afterwards. A home or
    database that cannot be used is a ``CliError`` (exit 2) with the instance's message."""
    from trellis.core.errors import TrellisError
    from trellis.instance.instance import Instance

    try:
        instance = Instance.get()
    except TrellisError as exc:
        raise CliError(str(exc)) from exc
    except PermissionError as exc:
        raise CliError(f"Cannot open the Trellis home: {exc}") from exc
    from trellis.defs.dynamic_partitions import using_dynamic_partitions_store

    try:
        with using_dynamic_partitions_store(instance):  # dynamic partitions read it
            yield instance
    finally:
        dispose = getattr(instance, "dispose", None)
        if dispose is not None:
            dispose()


def resolve_run(instance: Any, run_id: str) -> Any:
    """The run whose id is ``run_id`` or starts with it (at least 4 characters, unique)."""
    run = instance.get_run(run_id)
    if run is not None:
        return run
    if len(run_id) < MIN_PREFIX:
        raise CliError(
            f"No run with id '{run_id}'. Give the full id or at least {MIN_PREFIX} characters "
            "of it (see 'trellis run list')."
        )
    matches = [r for r in instance.get_runs() if r.run_id.startswith(run_id)]
    if not matches:
        raise CliError(f"No run with id or id prefix '{run_id}' (see 'trellis run list').")
    if len(matches) > 1:
        shown = ", ".join(r.run_id for r in matches[:5])
        raise CliError(
            f"Run id prefix '{run_id}' matches {len(matches)} runs ({shown}); give more of it."
        )
    return matches[0]
