"""Reading YAML config files (``-c`` run config, ``trellis.yaml``) within bounds.

YAML aliases let a few hundred bytes stand for gigabytes (each alias repeats what its
anchor holds, and anchors can hold aliases), a self-referencing alias never ends, and deep
nesting exhausts Python's recursion. ``load_yaml`` checks a document before building it:
at most ``MAX_DEPTH`` levels of nesting (counted on the parser's event stream, which does
not recurse), no alias inside what it refers to, and at most ``MAX_NODES`` values once
every alias is expanded (counted on the composed node graph, where an alias is a shared
node, so the count is cheap even when the expansion would not be). Only then is the
document built, with PyYAML's safe loader.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 100
MAX_NODES = 1_000_000


class YamlLimitError(yaml.YAMLError):
    """A YAML document that is well formed but would expand beyond what a config file may
    hold (``problem`` says which limit, ``problem_mark`` where, when known)."""

    def __init__(self, problem: str, mark: Any = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark
        self.context = None


def load_yaml(text: str) -> Any:
    """The value of the YAML document ``text`` (``safe_load``), after checking its size,
    depth and alias expansion; raises ``yaml.YAMLError`` (``YamlLimitError`` for a limit)."""
    if len(text) > MAX_BYTES:
        raise YamlLimitError(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    _check_depth(text)
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if node is None:
        return None
    _check_expansion(node)
    return yaml.safe_load(text)


def _check_depth(text: str) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise YamlLimitError(
                    f"values are nested more than {MAX_DEPTH} levels deep", event.start_mark
                )
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def _check_expansion(root: yaml.Node) -> None:
    """Count the values of the document with every alias expanded (memoised per shared
    node), refusing an alias that refers to a node containing it."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        known = sizes.get(key)
        if known is not None:
            return known
        if key in in_progress:
            raise YamlLimitError("an alias refers to a value that contains it", node.start_mark)
        in_progress.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for child in node.value:
                total += size(child)
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += size(k) + size(v)
        if total > MAX_NODES:
            raise YamlLimitError(
                f"its aliases expand to more than {MAX_NODES:,} values", node.start_mark
            )
        in_progress.discard(key)
        sizes[key] = total
        return total

    try:
        size(root)
    except RecursionError:
        raise YamlLimitError("its aliases nest values too deeply") from None
