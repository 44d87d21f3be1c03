"""The IO managers that come with Trellis: in memory, and one pickle file per output."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

from trellis.core.errors import InvariantViolationError
from trellis.core.metadata import MetadataValue
from trellis.defs.io_manager import IOManager, IOManagerDefinition, io_manager
from trellis.defs.output_files import OutputFileWriter


def partition_of(context: Any) -> str | None:
    """The partition an IO context's value is stored under: the asset's single
    partition (an op output: the run's), or None for an unpartitioned asset, which is
    stored whole, and for several partitions at once (see ``asset_partition_keys_of``)."""
    if context.asset_key is not None:
        keys = asset_partition_keys_of(context)
        return keys[0] if keys is not None and len(keys) == 1 else None
    if not context.has_partition_key:
        return None
    partition_key: str | None = context.partition_key
    return partition_key


def asset_partition_keys_of(context: Any) -> list[str] | None:
    """The asset partitions an IO context is about (several for a range run or a
    partition mapping, possibly none), or None when the asset is not partitioned."""
    if context.asset_key is None or not context.has_asset_partitions:
        return None
    keys: list[str] = context.asset_partition_keys
    return keys


_SAFE_IN_NAMES = " !#$&'()+,-.:;=@[]^_`{}~|"


def partition_file_name(partition_key: str) -> str:
    """A file name for ``partition_key`` that stays one name in one directory whatever the
    key holds: characters that are not safe in a file name are percent-encoded (and so is
    ``%``, so that two keys never share a name); a very long key is shortened with a
    digest."""
    from urllib.parse import quote  # lazily: only partitioned outputs need it

    name = quote(partition_key, safe=_SAFE_IN_NAMES)
    if name in ("", ".", ".."):
        name = "%" + name.replace(".", "2E") if name else "%00empty"
    if len(name.encode()) > 200:
        import hashlib

        name = name[:100] + "-" + hashlib.sha256(partition_key.encode()).hexdigest()[:32]
    return name


def output_identifier(context: Any) -> tuple[Any, ...]:
    """The key an output is kept under in memory: asset path (and partition), or run,
    step and output name."""
    key = context.asset_key
    partition = partition_of(context)
    if key is not None:
        return ("asset", key.parts, partition)
    return ("op", context.run_id, context.step_key, context.name, context.mapping_key, partition)


class InMemoryIOManager(IOManager):
    """Keeps every output in a dict for the length of the run; nothing touches disk.

    Only steps in the same process can read what it stores.
    """

    def __init__(self) -> None:
        self.values: dict[tuple[Any, ...], Any] = {}

    def handle_output(self, context: Any, obj: Any) -> None:
        """Keep ``obj`` under the output's identifier."""
        self.values[output_identifier(context)] = obj

    def load_input(self, context: Any) -> Any:
        """Return the upstream output kept earlier in this run."""
        upstream = context.upstream_output
        if upstream is None:
            raise InvariantViolationError(
                f"InMemoryIOManager cannot load input '{context.name}': it has no upstream output."
            )
        try:
            return self.values[output_identifier(upstream)]
        except KeyError:
            what = upstream.asset_key or f"{upstream.step_key}.{upstream.name}"
            raise InvariantViolationError(
                f"InMemoryIOManager has no value for {what}: in-memory outputs live only for "
                "the run that produced them. Use a persistent IO manager (fs_io_manager) to "
                "read assets materialized by an earlier run."
            ) from None

    def has_output(self, context: Any) -> bool:
        """Whether a value is kept for the output ``context`` describes."""
        return output_identifier(context) in self.values


@io_manager
def mem_io_manager(_init_context: Any) -> InMemoryIOManager:
    """An ``InMemoryIOManager`` per run."""
    return InMemoryIOManager()


class PickledObjectFilesystemIOManager(IOManager):
    """Pickles each output to a file under ``base_dir``.

    Assets go to ``base_dir/<asset key parts>[/<partition>]``; op outputs to
    ``base_dir/<run_id>/<step_key>/<output_name>``. A path can never leave ``base_dir``.
    Directories it creates are 0700 and files 0600 unless ``private=False`` (the
    instance's ``permissions: umask``).
    """

    def __init__(
        self, base_dir: str | os.PathLike[str] | None = None, private: bool = True
    ) -> None:
        if not base_dir:
            # Imported only here: tempfile pulls in shutil, bz2 and lzma, 4.6 ms of a run
            # process's start (python -X importtime) that a run with a base_dir never needs.
            import tempfile

            base_dir = tempfile.mkdtemp(prefix="trellis-storage-")
        self.base_dir = Path(base_dir).resolve()
        self._base = str(self.base_dir)
        self._writer = OutputFileWriter(self._base, private)

    def _safe_join(self, parts: list[str], what: str) -> str:
        for part in parts:
            if part in ("", ".", "..") or "/" in part or "\\" in part or "\0" in part:
                raise InvariantViolationError(
                    f"Cannot store {what}: path part {part!r} would leave the storage "
                    f"directory {self.base_dir}."
                )
        # Every part is a plain name (checked above), so the joined path stays under
        # base_dir; no filesystem round trip (resolve) is needed per output.
        return os.path.join(self._base, *parts)

    def _base_parts(self, context: Any) -> tuple[list[str], str]:
        if context.asset_key is not None:
            return list(context.asset_key.parts), f"asset {context.asset_key.to_user_string()}"
        parts = [context.run_id, context.step_key, context.name]
        if context.mapping_key:
            parts.append(context.mapping_key)
        return parts, f"output {context.step_key}.{context.name}"

    def _file_for(self, context: Any, partition: str | None = None) -> str:
        parts, what = self._base_parts(context)
        base = self._safe_join(parts, what)
        partition = partition if partition is not None else partition_of(context)
        if partition is None:
            return base
        return os.path.join(base, partition_file_name(partition))

    def path_for(self, context: Any) -> Path:
        """Where the output that ``context`` describes lives (one partition's file)."""
        return Path(self._file_for(context))

    def handle_output(self, context: Any, obj: Any) -> None:
        """Pickle ``obj`` to its path: written whole to a temporary file, then renamed
        (a failed write leaves nothing behind; see ``output_files``). An asset output
        covering several partitions (a range run) must be a dict of partition key ->
        value: one file per partition."""
        keys = asset_partition_keys_of(context)
        if keys is not None and len(keys) != 1:
            self._handle_partitions(context, keys, obj)
            return
        path = self._file_for(context)
        self._write(path, obj)
        context.add_output_metadata({"path": MetadataValue.path(path)})

    def _write(self, path: str, obj: Any) -> None:
        self._writer.write(path, lambda f: pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL))

    def _handle_partitions(self, context: Any, keys: list[str], obj: Any) -> None:
        name = context.asset_key.to_user_string()
        if not isinstance(obj, dict) or set(obj) != set(keys):
            got = sorted(obj)[:5] if isinstance(obj, dict) else type(obj).__name__
            raise InvariantViolationError(
                f"Asset '{name}' covers {len(keys)} partitions in this run "
                f"({keys[0] if keys else ''}...{keys[-1] if keys else ''}), so the filesystem IO "
                "manager stores one file per partition: return a dict of partition key -> "
                f"value with exactly those keys (got {got})."
            )
        for key in keys:
            self._write(self._file_for(context, key), obj[key])
        context.add_output_metadata(
            {"path": MetadataValue.path(os.path.dirname(self._file_for(context, keys[0])))}
        )

    def load_input(self, context: Any) -> Any:
        """Unpickle the upstream output. An upstream asset read through several
        partitions gives a dict of partition key -> value; through none (the first
        partition of a self-dependent asset), None."""
        upstream = context.upstream_output
        if upstream is None:
            raise InvariantViolationError(
                f"Cannot load input '{context.name}': it has no upstream output."
            )
        keys = asset_partition_keys_of(upstream)
        if keys is not None and len(keys) != 1:
            if not keys:
                return None
            return {key: self._read(upstream, self._file_for(upstream, key)) for key in keys}
        return self._read(upstream, self._file_for(upstream))

    def _read(self, upstream: Any, path: str) -> Any:
        try:
            with open(path, "rb") as f:
                return pickle.load(f)
        except FileNotFoundError:
            what = (
                f"asset {upstream.asset_key.to_user_string()}"
                if upstream.asset_key is not None
                else f"output {upstream.step_key}.{upstream.name}"
            )
            raise InvariantViolationError(
                f"No stored value for {what} at {path}: has it been materialized?"
            ) from None


class FilesystemIOManager:
    """The filesystem pickle IO manager, configured with ``base_dir``:
    ``FilesystemIOManager(base_dir="data")``."""

    def __init__(self, base_dir: str | os.PathLike[str] | None = None) -> None:
        self.base_dir = base_dir

    def get_resource_definition(self) -> IOManagerDefinition:
        """The resource definition the engine initialises."""
        base_dir = self.base_dir
        definition = IOManagerDefinition(
            lambda ctx: PickledObjectFilesystemIOManager(
                (ctx.resource_config or {}).get("base_dir") or base_dir or _instance_dir(ctx),
                _private(ctx),
            ),
            config_schema={"base_dir": _optional_str_field()},
            description="Pickles each output to a file under base_dir.",
        )
        definition.source = self
        return definition


def _optional_str_field() -> Any:
    from trellis.config.types import Field, Noneable, String

    return Field(Noneable(String), default_value=None)


def _required_str_field() -> Any:
    from trellis.config.types import Field, StringSource

    return Field(StringSource, description="The directory the pickles are written under.")


def _instance_dir(ctx: Any) -> str | None:
    instance = getattr(ctx, "instance", None)
    return str(instance.storage_directory()) if instance is not None else None


def _private(ctx: Any) -> bool:
    """Whether the instance wants its files private (the default without one)."""
    return bool(getattr(getattr(ctx, "instance", None), "private_files", True))


@io_manager(config_schema={"base_dir": _optional_str_field()})
def fs_io_manager(init_context: Any) -> PickledObjectFilesystemIOManager:
    """The filesystem pickle IO manager (``base_dir`` from config, else the instance's
    storage directory)."""
    base_dir = (init_context.resource_config or {}).get("base_dir")
    return PickledObjectFilesystemIOManager(
        base_dir or _instance_dir(init_context), _private(init_context)
    )


@io_manager(config_schema={"base_dir": _required_str_field()})
def custom_path_fs_io_manager(init_context: Any) -> PickledObjectFilesystemIOManager:
    """The filesystem pickle IO manager with a ``base_dir`` that must be configured."""
    return PickledObjectFilesystemIOManager(
        init_context.resource_config["base_dir"], _private(init_context)
    )
