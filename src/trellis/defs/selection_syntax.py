"""Selection strings to ``AssetSelection`` objects: the meaning of each part of the
grammar in ``selection_grammar``.

``selection_from_string`` is behind ``AssetSelection.from_string``, every ``selection=``
that takes a string, and the CLI's ``--select``: a string that does not parse is an error
here (definition time); an unknown key or group is one when the selection is resolved.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any, cast

from trellis.core.asset_key import AssetKey
from trellis.defs import selection_filters as filters
from trellis.defs.asset_selection import AssetSelection
from trellis.defs.selection_grammar import SelectionSyntaxError, parse_selection_text

if TYPE_CHECKING:
    from lark import Token, Tree

SUPPORTED_FILTERS = ("key", "tag", "kind", "group", "owner", "code_location", "table_name")

# Dagster filters that need what Trellis does not keep (its UI's instance state, branch
# deployments, column schemas, automation): refused with the reason.
_UNSUPPORTED_FILTERS = {
    "status": "it filters by the latest materialization status, which Dagster evaluates in its UI",
    "changed_in_branch": "it needs a Dagster+ branch deployment",
    "column": "it needs column schemas, which Trellis does not record",
    "column_tag": "it needs column schemas, which Trellis does not record",
    "is": "it filters by asset type in Dagster's UI",
    "partitions": "it filters by partitions in Dagster's UI",
    "automation_type": "Trellis has no declarative automation",
    "sensor": "it filters by the sensors that target an asset, in Dagster's UI",
    "schedule": "it filters by the schedules that target an asset, in Dagster's UI",
    "job": "it filters by the jobs that target an asset, in Dagster's UI",
    "not_materialized_in_hours": "it needs materialization history, which Dagster "
    "evaluates in its UI",
}
_FUNCTIONS = ("roots", "sinks")


def selection_from_string(
    text: str, *, code_locations: Collection[str] | None = None
) -> AssetSelection:
    """The ``AssetSelection`` that ``text`` describes (Dagster's selection syntax or the
    older ``*a+``, ``a,b`` forms). ``code_locations`` are the names of the loaded code
    location, for ``code_location:`` (None where no location was loaded, as in Python)."""
    tree = parse_selection_text(text)
    return _Builder(text, code_locations).build(tree)


class _Builder:
    """Walks a parse tree, building the selection of each node."""

    def __init__(self, text: str, code_locations: Collection[str] | None) -> None:
        self.text = text
        self.code_locations = code_locations

    def fail(self, token: Token, problem: str) -> SelectionSyntaxError:
        column = token.column if isinstance(token.column, int) else 1
        return SelectionSyntaxError(self.text, column, problem)

    def build(self, node: Tree[Any]) -> AssetSelection:
        rule = str(node.data)
        children = node.children
        if rule == "start":
            result = self.build(children[0])
            for child in children[1:]:
                result = result | self.build(child)
            return result
        if rule == "or_":
            return self.build(children[0]) | self.build(children[2])
        if rule == "and_":
            return self.build(children[0]) & self.build(children[2])
        if rule == "not_":
            return AssetSelection.all() - self.build(children[1])
        if rule == "all":
            return AssetSelection.all()
        if rule == "layers":
            return self._layers(children)
        if rule == "filter":
            return self._filter(children)
        if rule == "function":
            name_token = cast("Token", children[0])
            return self._function(name_token, self.build(children[1]))
        if rule == "legacy":
            return self._legacy(children)
        raise AssertionError(f"selection grammar rule without a meaning: {rule}")

    # -- layers ------------------------------------------------------------------------
    def _layers(self, children: list[Any]) -> AssetSelection:
        """``+x``, ``2+x``, ``x+``, ``x+2`` and both sides: a ``+`` alone is every layer."""
        up = down = None
        base: AssetSelection | None = None
        for child in children:
            data = str(getattr(child, "data", ""))
            if data == "up":
                up = child
            elif data == "down":
                down = child
            else:
                base = self.build(child)
        assert base is not None
        result: AssetSelection | None = None
        if up is not None:
            depth_text = str(up.children[0]).rstrip("+ \t")
            result = base.upstream(depth=int(depth_text) if depth_text else None)
        if down is not None:
            depth = int(down.children[1]) if len(down.children) > 1 else None
            below = base.downstream(depth=depth)
            result = below if result is None else result | below
        assert result is not None
        return result

    def _legacy(self, children: list[Any]) -> AssetSelection:
        """A bare key with the older operators: one layer per ``+``, every layer for ``*``."""
        up_depth: int | None = 0
        down_depth: int | None = 0
        key_token = None
        for child in children:
            data = str(getattr(child, "data", ""))
            if data in ("legacy_up", "legacy_down"):
                marks = [str(t) for t in child.children]
                depth = None if marks == ["*"] else len(marks)
                if data == "legacy_up":
                    up_depth = depth
                else:
                    down_depth = depth
            else:
                key_token = child
        base = filters.named_key(AssetKey.from_user_string(str(key_token)))
        result = base
        if up_depth != 0:
            result = result | base.upstream(depth=up_depth)
        if down_depth != 0:
            result = result | base.downstream(depth=down_depth)
        return result

    # -- filters and functions ---------------------------------------------------------
    def _filter(self, children: list[Any]) -> AssetSelection:
        attr: Token = children[0]
        name = str(attr).rstrip(": \t")
        values = [c for c in children[1:] if getattr(c, "data", None) == "value"]
        texts = [self._value(v) for v in values]
        if name in _UNSUPPORTED_FILTERS:
            raise self.fail(
                attr, f"'{name}:' is not supported by Trellis ({_UNSUPPORTED_FILTERS[name]})"
            )
        if name not in SUPPORTED_FILTERS:
            import difflib  # lazily: only errors need it

            close = difflib.get_close_matches(name, SUPPORTED_FILTERS, n=1)
            hint = f"; did you mean '{close[0]}:'?" if close else ""
            supported = ", ".join(f"{f}:" for f in SUPPORTED_FILTERS)
            raise self.fail(attr, f"unknown filter '{name}:'{hint} (filters: {supported})")
        if len(texts) > 1 and name != "tag":
            raise self.fail(attr, f"only tag: takes a '=value' part, not '{name}:'")
        value = texts[0]
        if not value:
            raise self.fail(attr, f"'{name}:' needs a value")
        if name != "key" and any("*" in t for t in texts):
            raise self.fail(attr, f"'*' wildcards work in key: values only, not in '{name}:'")
        if name == "key":
            if "*" in value:
                return filters.key_wildcard(value)
            return filters.named_key(AssetKey.from_user_string(value))
        if name == "tag":
            return filters.tag(value, texts[1] if len(texts) > 1 else "")
        if name == "kind":
            return filters.kind(value)
        if name == "group":
            return filters.named_group(value)
        if name == "owner":
            return filters.owner(value)
        if name == "table_name":
            return filters.table_name(value)
        if self.code_locations is None:
            raise self.fail(
                attr,
                "'code_location:' needs a loaded code location: use it in the trellis "
                "command's --select (in Python, every asset is in the one location)",
            )
        return filters.code_location(value, self.code_locations)

    def _value(self, node: Tree[Any]) -> str:
        token = cast("Token", node.children[0])
        text = str(token)
        if token.type == "QUOTED":
            return text[1:-1]
        return text

    def _function(self, name_token: Token, argument: AssetSelection) -> AssetSelection:
        name = str(name_token).strip()
        if name == "roots":
            return filters.roots(argument)
        if name == "sinks":
            return filters.sinks(argument)
        functions = ", ".join(f"{f}(...)" for f in _FUNCTIONS)
        raise self.fail(name_token, f"unknown function '{name}(...)' (functions: {functions})")
