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
    """The partition an IO context's value is stored under: the run's single partition,
    except for an unpartitioned asset, which is stored whole (None)."""
    if not context.has_partition_key:
        return None
    if context.asset_key is not None and not context.has_asset_partitions:
        return None
    partition_key: str | None = context.partition_key
    return partition_key


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
        import tempfile  # lazily: only this path needs it

        self.base_dir = Path(base_dir or tempfile.mkdtemp(prefix="trellis-storage-")).resolve()
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

    def _file_for(self, context: Any) -> str:
        if context.asset_key is not None:
            parts = list(context.asset_key.parts)
            what = f"asset {context.asset_key.to_user_string()}"
        else:
            parts = [context.run_id, context.step_key, context.name]
            if context.mapping_key:
                parts.append(context.mapping_key)
            what = f"output {context.step_key}.{context.name}"
        partition = partition_of(context)
        if partition is not None:
            parts.append(partition)
        return self._safe_join(parts, what)

    def path_for(self, context: Any) -> Path:
        """Where the output that ``context`` describes lives."""
        return Path(self._file_for(context))

    def handle_output(self, context: Any, obj: Any) -> None:
        """Pickle ``obj`` to its path: written whole to a temporary file, then renamed
        (a failed write leaves nothing behind; see ``output_files``)."""
        path = self._file_for(context)
        self._writer.write(path, lambda f: pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL))
        context.add_output_metadata({"path": MetadataValue.path(path)})

    def load_input(self, context: Any) -> Any:
        """Unpickle the upstream output."""
        upstream = context.upstream_output
        if upstream is None:
            raise InvariantViolationError(
                f"Cannot load input '{context.name}': it has no upstream output."
            )
        path = self._file_for(upstream)
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
