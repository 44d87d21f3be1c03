"""Options shared by several commands, and the parsers behind them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

import click

from trellis.cli.loader import CodeTarget, load_definitions, resolve_target

F = TypeVar("F", bound=Callable[..., Any])

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def code_options(fn: F) -> F:
    """``-f FILE``, ``-m MODULE`` and ``-a ATTR``: where the definitions are."""
    fn = click.option(
        "-a",
        "--attribute",
        help="The Definitions attribute (default: 'defs', or the only Definitions).",
    )(fn)
    fn = click.option("-m", "--module", "module_name", help="Import definitions from a module.")(fn)
    fn = click.option(
        "-f",
        "--file",
        "python_file",
        type=click.Path(dir_okay=False),
        help="Load definitions from a Python file.",
    )(fn)
    return fn


def target_from(
    python_file: str | None, module_name: str | None, attribute: str | None
) -> CodeTarget:
    """The code target of the ``code_options`` values."""
    return resolve_target(python_file, module_name, attribute)


def definitions_from(
    python_file: str | None, module_name: str | None, attribute: str | None
) -> Any:
    """Load the ``Definitions`` named by the ``code_options`` values."""
    return load_definitions(target_from(python_file, module_name, attribute))


def config_option(fn: F) -> F:
    """``-c/--config FILE``, repeatable: YAML run config, merged in order; and
    ``--config-json TEXT``, run config as JSON, merged over the files."""
    fn = click.option(
        "--config-json",
        "config_json",
        help="Run config as a JSON string, merged over the -c files: '{\"ops\": {...}}'.",
    )(fn)
    return click.option(
        "-c",
        "--config",
        "config_files",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False),
        help="A YAML run config file; repeat to merge several (later ones win).",
    )(fn)


_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def run_id_option(fn: F, dest: str = "run_id") -> F:
    """``--run-id ID`` (hidden): the id the new run gets, chosen by the caller; the web
    UI launches runs in a subprocess and knows their id before they start."""
    return click.option(
        "--run-id", dest, hidden=True, callback=_check_run_id, help="The new run's id."
    )(fn)


def new_run_id_option(fn: F) -> F:
    """``--run-id`` for a command whose ``run_id`` argument names another run."""
    return run_id_option(fn, "new_run_id")


def _check_run_id(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not _RUN_ID.match(value):
        raise click.BadParameter(f"'{value}' is not a valid run id (letters, digits, _ . -).")
    return value


def tags_option(fn: F) -> F:
    """``--tags JSON``: run tags as a JSON object."""
    return click.option(
        "--tags", "tags_json", callback=_parse_tags, help='Run tags as JSON: \'{"team": "x"}\'.'
    )(fn)


def partition_option(fn: F) -> F:
    """``--partition KEY`` and ``--partition-range START...END``."""
    fn = click.option(
        "--partition-range",
        "partition_range",
        help="A range of partitions run as one run: START...END (both included).",
    )(fn)
    return click.option("--partition", "partition_key", help="The partition to run.")(fn)


def _parse_tags(ctx: click.Context, param: click.Parameter, value: str | None) -> dict[str, str]:
    return parse_tags(value)


def parse_tags(value: str | None) -> dict[str, str]:
    """Tags from a JSON object; values that are not strings are kept as JSON text."""
    if not value:
        return {}
    try:
        data = json.loads(value)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise click.BadParameter('must be a JSON object, like {"team": "data"}')
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}


def parse_age(value: str) -> float:
    """Seconds in ``30d``, ``12h``, ``90m``, ``45s``, ``2w`` (a bare number is seconds)."""
    match = _DURATION.match(value)
    if match is None:
        raise click.BadParameter(f"'{value}' is not an age; use forms like 30d, 12h, 90m, 2w")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
