"""Backfills from Python: ``launch_backfill`` (store a backfill of assets over
partitions; the daemon's ``backfill`` loop launches its runs), ``cancel_backfill`` and
``retry_backfill`` (a new backfill of the partitions that did not materialize).

A backfill's plan is made here, when it is launched, and stored with it: the selected
assets are grouped by partitions definition, each group's keys are cut into runs by the
assets' ``BackfillPolicy`` (``single_run()``: one range run; ``multi_run(n)``: ranges of
at most ``n`` consecutive partitions; no policy: a run per partition, as in Dagster),
and each run lists the runs that must succeed before it starts: those that materialize
an upstream partition its partition mappings read (a self-dependent asset therefore
goes oldest first). The daemon follows the stored plan, so a changed definition does
not change a backfill under way.
"""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from trellis.core.asset_key import AssetKey
from trellis.core.errors import InvalidInvocationError, TrellisError
from trellis.defs.partitions import PartitionKeyRange
from trellis.instance.backfills import (
    BACKFILL_TAG,
    BackfillChunk,
    BackfillRecord,
    BackfillStatus,
)

PARENT_BACKFILL_TAG = "dagster/parent_backfill_id"
"""A backfill tag: the backfill a retry backfill re-executes the failed partitions of."""

CLI_OPTION_NAMES = {
    "from": "--from",
    "to": "--to",
    "partition_keys": "--partitions",
    "all_partitions": "--all",
    "selection": "--select",
}
"""How ``trellis asset backfill`` names each part of a backfill request in its errors."""


class BackfillInputError(InvalidInvocationError):
    """A backfill request value that cannot be used; ``field`` says which part of the
    request (``selection``, ``from``, ``to``, ``partition_keys``, ``all_partitions``)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class PartitionsChoice:
    """The partitions a backfill asks for: keys, a range (both ends included) or all."""

    partition_keys: list[str] | None = None
    partition_range: tuple[str, str] | None = None
    all_partitions: bool = False

    def as_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``launch_backfill`` for this choice."""
        return {
            "partition_keys": self.partition_keys,
            "partition_range": self.partition_range,
            "all_partitions": self.all_partitions,
        }


def choose_backfill_partitions(
    start: str | None,
    end: str | None,
    keys: Sequence[str] | None,
    all_partitions: bool,
    names: Mapping[str, str] = CLI_OPTION_NAMES,
) -> PartitionsChoice:
    """Exactly one of a range (``start`` and ``end`` together), ``keys`` (blank ones
    dropped; at least one left) or ``all_partitions``; ``BackfillInputError`` naming the
    request's parts as ``names`` spells them (the command's options, the API's fields)."""
    if (start is None) != (end is None):
        raise BackfillInputError(
            f"{names['from']} and {names['to']} go together (both ends are included).",
            "to" if end is None else "from",
        )
    if sum([start is not None, keys is not None, bool(all_partitions)]) != 1:
        raise BackfillInputError(
            f"Choose the partitions with one of {names['from']}/{names['to']}, "
            f"{names['partition_keys']} or {names['all_partitions']}.",
            "partition_keys",
        )
    if keys is not None:
        cleaned = [k.strip() for k in keys if k.strip()]
        if not cleaned:
            raise BackfillInputError(
                f"{names['partition_keys']}: no partition key given.", "partition_keys"
            )
        return PartitionsChoice(partition_keys=cleaned)
    if start is not None and end is not None:
        return PartitionsChoice(partition_range=(start, end))
    return PartitionsChoice(all_partitions=True)


def new_backfill_id() -> str:
    """A new backfill id: eight lowercase letters, like Dagster's."""
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(8))


def _group_cap(assets_defs: list[Any]) -> int | None:
    """The partitions per run of a group: None (one run) when every asset has
    ``single_run()``, else the smallest ``multi_run`` cap (1 for an asset without a
    policy)."""
    caps = []
    for assets_def in assets_defs:
        policy = assets_def.backfill_policy
        caps.append(1 if policy is None else policy.max_partitions_per_run)
    numbered = [c for c in caps if c is not None]
    return min(numbered) if numbered else None


def _contiguous(keys: list[str], order: dict[str, int]) -> list[list[str]]:
    """``keys`` (sorted by ``order``) cut where a key does not follow its predecessor."""
    runs: list[list[str]] = []
    for key in keys:
        if runs and order[key] == order[runs[-1][-1]] + 1:
            runs[-1].append(key)
        else:
            runs.append([key])
    return runs


def plan_backfill(
    graph: Any, targets: Mapping[AssetKey, Sequence[str]]
) -> tuple[list[BackfillChunk], int | None]:
    """The runs that materialize ``targets`` (asset -> partition keys), in dependency
    order, and the partitions per run of the plan (None: single runs); see the module
    docstring."""
    from trellis.defs.partition_deps import upstream_keys_for

    # Assets join a group of the same partitions definition and keys, in topological
    # order, unless they read an asset of a group made after it (its runs would wait
    # for that group, which waits for this one).
    groups: dict[int, tuple[Any, list[str], list[AssetKey]]] = {}
    group_of: dict[AssetKey, int] = {}
    ordered = [k for k in graph.toposorted_keys if k in targets]
    for key in ordered:
        pdef = graph.producer[key].partitions_def
        keys = list(targets[key])
        read = [group_of[u] for u in graph.upstream.get(key, ()) if u in group_of]
        latest = max(read, default=-1)
        joined = next(
            (
                gid
                for gid in range(len(groups) - 1, latest - 1, -1)
                if gid >= 0 and groups[gid][0] == pdef and groups[gid][1] == keys
            ),
            None,
        )
        if joined is None:
            joined = len(groups)
            groups[joined] = (pdef, keys, [])
        groups[joined][2].append(key)
        group_of[key] = joined
    chunks: list[BackfillChunk] = []
    caps: list[int | None] = []
    for pdef, keys, asset_keys in groups.values():
        order = {k: i for i, k in enumerate(pdef.get_partition_keys())}
        cap = _group_cap([graph.producer[k] for k in asset_keys])
        caps.append(cap)
        ranged = not hasattr(pdef, "partition_dimension_names")
        names = [k.to_user_string() for k in asset_keys]
        for run in _contiguous(sorted(set(keys), key=order.__getitem__), order):
            size = (cap or len(run)) if ranged else 1  # multi-dimensional: key by key
            for i in range(0, len(run), size):
                part = run[i : i + size]
                chunks.append(BackfillChunk(names, part, [], len(part) > 1))
    where: dict[tuple[str, str], int] = {}
    for index, chunk in enumerate(chunks):
        for name in chunk.asset_keys:
            for part_key in chunk.partition_keys:
                where[(name, part_key)] = index
    for index, chunk in enumerate(chunks):
        after: set[int] = set()
        for name in chunk.asset_keys:
            asset_key = AssetKey.from_user_string(name)
            assets_def = graph.producer[asset_key]
            ups = set(graph.upstream.get(asset_key, ()))
            ups |= {k for k in assets_def.keys_by_input_name.values() if k == asset_key}
            for up in sorted(ups):  # a self-dependent asset reads itself
                if up not in targets:
                    continue
                up_def = graph.producer[up].partitions_def
                up_name = up.to_user_string()
                for up_key in upstream_keys_for(assets_def, up, up_def, chunk.partition_keys):
                    found = where.get((up_name, up_key))
                    if found is not None and found != index:
                        after.add(found)
        chunk.after = sorted(after)
    numbered = [c for c in caps if c is not None]
    return _in_dependency_order(chunks), (min(numbered) if numbered else None)


def _in_dependency_order(chunks: list[BackfillChunk]) -> list[BackfillChunk]:
    """``chunks`` renumbered so that every run comes after the runs it waits for, else in
    their order (the daemon launches in index order: a self-dependent asset's oldest
    partitions first); runs that wait for each other in a circle are refused."""
    import heapq

    waiting = [len(set(c.after)) for c in chunks]
    unblocks: dict[int, list[int]] = {}
    for index, chunk in enumerate(chunks):
        for before in set(chunk.after):
            unblocks.setdefault(before, []).append(index)
    ready = [i for i, n in enumerate(waiting) if n == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        index = heapq.heappop(ready)
        order.append(index)
        for after in unblocks.get(index, ()):
            waiting[after] -= 1
            if waiting[after] == 0:
                heapq.heappush(ready, after)
    if len(order) < len(chunks):
        placed = set(order)
        names = sorted({n for i, c in enumerate(chunks) if i not in placed for n in c.asset_keys})
        raise InvalidInvocationError(
            f"The backfill's runs of {', '.join(names)} would wait for each other (their "
            "partition mappings read partitions in both directions); backfill them apart."
        )
    new_index = {old: new for new, old in enumerate(order)}
    result = []
    for old in order:
        chunk = chunks[old]
        chunk.after = sorted(new_index[i] for i in chunk.after)
        result.append(chunk)
    return result


def _selected_keys(graph: Any, selection: Any) -> list[AssetKey]:
    from trellis.defs.asset_selection import coerce_selection

    keys = coerce_selection(selection).resolve(graph) & graph.materializable_keys
    if not keys:
        raise BackfillInputError(
            f"The backfill selection {selection!r} selects no asset that can be materialized.",
            "selection",
        )
    unpartitioned = sorted(k.to_user_string() for k in keys if not graph.producer[k].partitions_def)
    if unpartitioned:
        raise BackfillInputError(
            f"A backfill materializes partitions, and {', '.join(unpartitioned)} "
            f"{'has' if len(unpartitioned) == 1 else 'have'} no partitions_def: select "
            "partitioned assets only (materialize the others with `trellis asset materialize`).",
            "selection",
        )
    return sorted(keys)


@contextmanager
def _about(field: str) -> Iterator[None]:
    """Mark an error raised inside with the part of the request it is about (its
    ``field`` attribute), keeping its type and message."""
    try:
        yield
    except TrellisError as exc:
        exc.field = field  # type: ignore[attr-defined]
        raise


def _keys_of(
    pdef: Any,
    partition_keys: Sequence[str] | None,
    partition_range: PartitionKeyRange | tuple[str, str] | None,
    all_partitions: bool,
) -> list[str]:
    if partition_keys is not None:
        with _about("partition_keys"):
            for key in partition_keys:
                pdef.validate_partition_key(key)  # unknown: names it, with the closest key
        return list(dict.fromkeys(partition_keys))
    if partition_range is not None:
        start, end = partition_range
        with _about("from"):
            pdef.validate_partition_key(start)
        with _about("to"):
            pdef.validate_partition_key(end)
            return list(pdef.get_partition_keys_in_range(PartitionKeyRange(start, end)))
    assert all_partitions
    return list(pdef.get_partition_keys())


def _within(pdef: Any, root_def: Any, root_keys: list[str], name: str) -> list[str]:
    """The keys of ``pdef`` (another time-window definition than the root's) whose
    windows lie inside the span of ``root_keys``' windows; non-time definitions take
    the root's keys, which must exist in them."""
    if not (hasattr(pdef, "time_window_for_partition_key") and hasattr(root_def, "fmt")):
        for key in root_keys:
            pdef.validate_partition_key(key)
        return root_keys
    windows = [root_def.time_window_for_partition_key(k) for k in root_keys]
    lo, hi = min(w.start for w in windows), max(w.end for w in windows)
    keys = []
    for key in pdef.get_partition_keys():
        window = pdef.time_window_for_partition_key(key)
        if lo <= window.start and window.end <= hi:
            keys.append(key)
    if not keys:
        raise InvalidInvocationError(
            f"No partition of asset '{name}' ({pdef!r}) lies within {root_keys[0]}..."
            f"{root_keys[-1]}, the partitions asked of the most upstream selected assets: "
            "widen the range, or backfill it on its own."
        )
    return keys


def backfill_targets(
    definitions: Any,
    selection: Any,
    *,
    partition_keys: Sequence[str] | None = None,
    partition_range: PartitionKeyRange | tuple[str, str] | None = None,
    all_partitions: bool = False,
) -> dict[AssetKey, list[str]]:
    """The partition keys of each asset a backfill of ``selection`` materializes (see
    ``launch_backfill`` for the arguments and the errors), without storing anything."""
    given = [partition_keys is not None, partition_range is not None, all_partitions]
    if sum(given) != 1:
        raise InvalidInvocationError(
            "launch_backfill needs exactly one of partition_keys=, partition_range= or "
            f"all_partitions=True; got {sum(given)}."
        )
    if partition_keys is not None and (isinstance(partition_keys, str) or not partition_keys):
        raise BackfillInputError(
            f"partition_keys must be a non-empty list of keys, got {partition_keys!r}.",
            "partition_keys",
        )
    graph = definitions.asset_graph
    asset_keys = _selected_keys(graph, selection)
    # The keys (or range) are those of the most upstream selected asset's partitions;
    # assets with another time-window definition take the partitions inside that span.
    order = {key: i for i, key in enumerate(graph.toposorted_keys)}
    root_def = graph.producer[min(asset_keys, key=order.__getitem__)].partitions_def
    root_keys = _keys_of(root_def, partition_keys, partition_range, all_partitions)
    targets: dict[AssetKey, list[str]] = {}
    for key in asset_keys:
        pdef = graph.producer[key].partitions_def
        if pdef == root_def:
            targets[key] = root_keys
        elif all_partitions:
            targets[key] = list(pdef.get_partition_keys())
        else:
            with _about("to" if partition_range is not None else "partition_keys"):
                targets[key] = _within(pdef, root_def, root_keys, key.to_user_string())
    return targets


def launch_backfill(
    instance: Any,
    definitions: Any,
    selection: Any,
    *,
    partition_keys: Sequence[str] | None = None,
    partition_range: PartitionKeyRange | tuple[str, str] | None = None,
    all_partitions: bool = False,
    tags: Mapping[str, str] | None = None,
) -> BackfillRecord:
    """Store a backfill of the assets ``selection`` picks out of ``definitions`` over
    ``partition_keys``, the range ``partition_range`` (both ends included) or every
    partition (``all_partitions``): exactly one of the three. The daemon's ``backfill``
    loop launches its runs through the run queue; the stored record (status
    REQUESTED) is returned. Unknown keys, a range whose start comes after its end and a
    selection without partitions raise before anything is stored (``BackfillInputError``
    naming the part of the request at fault)."""
    targets = backfill_targets(
        definitions,
        selection,
        partition_keys=partition_keys,
        partition_range=partition_range,
        all_partitions=all_partitions,
    )
    return _store(instance, definitions.asset_graph, targets, dict(tags or {}), None)


def preview_backfill(definitions: Any, selection: Any, **choice: Any) -> BackfillRecord:
    """The record ``launch_backfill`` would store for the same arguments (its plan, its
    partitions), not stored: what a page shows before the user launches."""
    targets = backfill_targets(definitions, selection, **choice)
    return _record(definitions.asset_graph, targets, {}, None)


def _record(
    graph: Any,
    targets: Mapping[AssetKey, Sequence[str]],
    tags: dict[str, str],
    parent: str | None,
) -> BackfillRecord:
    chunks, cap = plan_backfill(graph, targets)
    keys = list(dict.fromkeys(k for ks in targets.values() for k in ks))
    now = time.time()
    record = BackfillRecord(
        new_backfill_id(),
        BackfillStatus.REQUESTED,
        sorted(k.to_user_string() for k in targets),
        keys,
        chunks,
        cap,
        tags=tags,
        parent_backfill_id=parent,
        create_timestamp=now,
        update_timestamp=now,
    )
    record.counts = {"pending": sum(len(c.partition_keys) * len(c.asset_keys) for c in chunks)}
    return record


def _store(
    instance: Any,
    graph: Any,
    targets: Mapping[AssetKey, Sequence[str]],
    tags: dict[str, str],
    parent: str | None,
) -> BackfillRecord:
    record = _record(graph, targets, tags, parent)
    instance.add_backfill(record)
    return record


def get_backfill_or_raise(instance: Any, backfill_id: str) -> BackfillRecord:
    """The stored backfill ``backfill_id``; ``InvalidInvocationError`` naming the
    closest ids when there is none."""
    record = instance.get_backfill(backfill_id)
    if record is not None:
        return record  # type: ignore[no-any-return]
    import difflib

    known = [r.backfill_id for r in instance.get_backfills(limit=200)]
    close = difflib.get_close_matches(backfill_id, known, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise InvalidInvocationError(f"There is no backfill '{backfill_id}'.{hint}")


def cancel_backfill(instance: Any, backfill_id: str) -> BackfillRecord:
    """Ask the backfill to stop: status CANCELING; the daemon launches none of its runs
    any more, cancels its queued and running ones, then marks it CANCELED. A finished
    backfill raises ``InvalidInvocationError``."""
    record = get_backfill_or_raise(instance, backfill_id)
    if record.status is BackfillStatus.CANCELING:
        return record
    if record.status.is_finished:
        raise InvalidInvocationError(
            f"Backfill {backfill_id} is {record.status.value}; only a backfill in progress "
            "can be canceled."
        )
    record.status = BackfillStatus.CANCELING
    record.update_timestamp = time.time()
    instance.update_backfill(record)
    return record


def unmaterialized_targets(record: BackfillRecord, instance: Any) -> dict[AssetKey, list[str]]:
    """The asset partitions of a backfill whose run did not succeed (failed, canceled,
    or never launched), by asset."""
    from trellis.core.run import RunStatus

    runs = {r.run_id: r for r in instance.get_runs(tags={BACKFILL_TAG: record.backfill_id})}
    targets: dict[AssetKey, list[str]] = {}
    for index, chunk in enumerate(record.chunks):
        run = runs.get(record.launched.get(index, ""))
        if run is not None and run.status is RunStatus.SUCCESS:
            continue
        for name in chunk.asset_keys:
            targets.setdefault(AssetKey.from_user_string(name), []).extend(chunk.partition_keys)
    return targets


def retry_backfill(
    instance: Any, definitions: Any, backfill_id: str, tags: Mapping[str, str] | None = None
) -> BackfillRecord:
    """A new backfill of the partitions of ``backfill_id`` that did not materialize,
    tagged with its parent's id (and its tags, updated by ``tags``). The parent must
    have finished (COMPLETED, FAILED or CANCELED) with something left to do."""
    record = get_backfill_or_raise(instance, backfill_id)
    if not record.status.is_finished:
        raise InvalidInvocationError(
            f"Backfill {backfill_id} is {record.status.value}; retry it once it has finished "
            "(or cancel it first)."
        )
    targets = unmaterialized_targets(record, instance)
    if not targets:
        raise InvalidInvocationError(
            f"Backfill {backfill_id} materialized every partition; there is nothing to retry."
        )
    graph = definitions.asset_graph
    missing = sorted(k.to_user_string() for k in targets if k not in graph.producer)
    if missing:
        raise InvalidInvocationError(
            f"Backfill {backfill_id} materialized {', '.join(missing)}, which the definitions "
            "no longer have."
        )
    merged = {**record.tags, **(tags or {}), PARENT_BACKFILL_TAG: backfill_id}
    return _store(instance, graph, targets, merged, backfill_id)
