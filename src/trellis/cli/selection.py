"""``--select`` strings: ``*``, asset keys (``a/b``), comma-separated lists, ``group:NAME``,
and graph operators: ``+key`` (one level upstream per ``+``), ``*key`` (all upstream),
``key+`` and ``key*`` (downstream)."""

from __future__ import annotations

from typing import Any

from trellis.cli.errors import CliError
from trellis.cli.suggest import did_you_mean


def _split_operators(token: str) -> tuple[int | None, str, int | None]:
    """``(upstream depth, key, downstream depth)``: 0 for none, None for unlimited."""
    up: int | None = 0
    down: int | None = 0
    if token.startswith("*"):
        up, token = None, token[1:]
    else:
        stripped = token.lstrip("+")
        up, token = len(token) - len(stripped), stripped
    if token.endswith("*"):
        down, token = None, token[:-1]
    else:
        stripped = token.rstrip("+")
        down, token = len(token) - len(stripped), stripped
    return up, token, down


def parse_selection(text: str, asset_graph: Any) -> Any:
    """An ``AssetSelection`` for ``text``, checked against ``asset_graph``: unknown keys and
    groups raise ``CliError`` with a did-you-mean hint."""
    from trellis.defs.asset_selection import AssetSelection

    tokens = [t.strip() for t in text.split(",") if t.strip()]
    if not tokens:
        raise CliError("--select is empty; pass '*' or asset keys such as 'a,b/c'.")
    result: Any = None
    for token in tokens:
        part = _parse_token(token, asset_graph, AssetSelection)
        result = part if result is None else result | part
    return result


def _parse_token(token: str, asset_graph: Any, selection_cls: Any) -> Any:
    if token == "*":
        return selection_cls.all()
    if token.startswith("group:"):
        group = token[len("group:") :]
        groups = {asset_graph.group_of(k) for k in asset_graph.all_keys}
        if group not in groups:
            raise CliError(
                f"No asset group named '{group}'.{did_you_mean(group, groups)} "
                f"Groups: {', '.join(sorted(groups))}."
            )
        return selection_cls.groups(group)
    up, key_text, down = _split_operators(token)
    known = {k.to_user_string(): k for k in asset_graph.all_keys}
    if key_text not in known:
        raise CliError(
            f"No asset with key '{key_text}' (in --select '{token}')."
            f"{did_you_mean(key_text, known)}"
        )
    base = selection_cls.keys(known[key_text])
    selection = base
    if up != 0:
        selection = selection | base.upstream(depth=up)
    if down != 0:
        selection = selection | base.downstream(depth=down)
    return selection
