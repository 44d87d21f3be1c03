"""Code references on assets: where each asset's code lives, as
``dagster/code_references`` metadata (a ``CodeReferencesMetadataValue``), so that the UI
and other tools can link to it.

``with_source_code_references(assets)`` adds the file and line of each asset's function
(a ``LocalFileCodeReference``); ``link_code_references_to_git(assets, git_url=...,
git_branch=..., file_path_mapping=AnchorBasedFilePathMapping(...))`` turns those into
links into the repository (``UrlCodeReference``: ``<git_url>/blob/<branch>/<path>#L<n>``).
Specs and definitions without a function pass through unchanged.
"""

from __future__ import annotations

import functools
import inspect
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from trellis.core.errors import InvalidDefinitionError
from trellis.core.metadata_kinds import (
    CodeReferencesMetadataValue,
    LocalFileCodeReference,
    UrlCodeReference,
)
from trellis.defs.asset import AssetsDefinition
from trellis.defs.asset_decorators import map_asset_specs
from trellis.defs.asset_spec import AssetSpec

CODE_REFERENCES_KEY = "dagster/code_references"


class FilePathMapping(ABC):
    """Maps a local file to its path in the repository."""

    @abstractmethod
    def convert_to_source_control_path(self, local_path: Path) -> str:
        """The repository path of ``local_path``."""


class AnchorBasedFilePathMapping(FilePathMapping):
    """A local file (``local_file_anchor``) known to be at ``file_anchor_path_in_repository``
    anchors the mapping: other files map by their path relative to it."""

    def __init__(self, local_file_anchor: Path | str, file_anchor_path_in_repository: str) -> None:
        self.local_file_anchor = Path(local_file_anchor)
        self.file_anchor_path_in_repository = file_anchor_path_in_repository

    def convert_to_source_control_path(self, local_path: Path) -> str:
        """The repository path of ``local_path``, relative to the anchor."""
        anchor = self.local_file_anchor.resolve()
        anchor_dir = anchor if anchor.is_dir() else anchor.parent
        repo_anchor = Path(self.file_anchor_path_in_repository)
        repo_dir = repo_anchor if anchor.is_dir() else repo_anchor.parent
        try:
            relative = Path(local_path).resolve().relative_to(anchor_dir)
        except ValueError:
            raise InvalidDefinitionError(
                f"{local_path} is not under the anchor directory {anchor_dir} of the file "
                "path mapping."
            ) from None
        return (repo_dir / relative).as_posix()


def _source_of(assets_def: AssetsDefinition) -> LocalFileCodeReference | None:
    node = assets_def.node_def
    fn = getattr(node, "compute_fn", None)
    target = inspect.unwrap(fn) if fn is not None else None
    try:
        file = inspect.getsourcefile(target) if target is not None else None
        line = inspect.getsourcelines(target)[1] if target is not None else None
    except (OSError, TypeError):
        return None
    return LocalFileCodeReference(file, line) if file else None


def _with_reference(spec: AssetSpec, reference: Any) -> AssetSpec:
    existing = spec.metadata.get(CODE_REFERENCES_KEY)
    references = list(getattr(existing, "code_references", None) or [])
    if reference not in references:
        references.append(reference)
    metadata = {**spec.metadata, CODE_REFERENCES_KEY: CodeReferencesMetadataValue(references)}
    return spec.replace_attributes(metadata=metadata)


def with_source_code_references(assets_defs: Sequence[Any]) -> Sequence[Any]:
    """The definitions with the file and line of each asset's function added to its
    ``dagster/code_references`` metadata."""
    out: list[Any] = []
    for item in assets_defs:
        reference = _source_of(item) if isinstance(item, AssetsDefinition) else None
        if reference is None:
            out.append(item)
            continue
        out += map_asset_specs(functools.partial(_with_reference, reference=reference), [item])
    return out


def link_code_references_to_git(
    assets_defs: Sequence[Any],
    git_url: str,
    git_branch: str,
    file_path_mapping: FilePathMapping,
) -> Sequence[Any]:
    """The definitions with each ``LocalFileCodeReference`` replaced by a link into the
    repository at ``git_url`` on ``git_branch``."""
    base = git_url.rstrip("/")

    def to_url(reference: Any) -> Any:
        if not isinstance(reference, LocalFileCodeReference):
            return reference
        path = file_path_mapping.convert_to_source_control_path(Path(reference.file_path))
        line = f"#L{reference.line_number}" if reference.line_number else ""
        return UrlCodeReference(f"{base}/blob/{git_branch}/{path}{line}", reference.label)

    def relink(spec: AssetSpec) -> AssetSpec:
        existing = spec.metadata.get(CODE_REFERENCES_KEY)
        if existing is None:
            return spec
        references = [to_url(r) for r in existing.code_references]
        metadata = {**spec.metadata, CODE_REFERENCES_KEY: CodeReferencesMetadataValue(references)}
        return spec.replace_attributes(metadata=metadata)

    return _map(relink, assets_defs)


def _map(func: Any, items: Iterable[Any]) -> list[Any]:
    return [
        map_asset_specs(func, [i])[0] if isinstance(i, (AssetsDefinition, AssetSpec)) else i
        for i in items
    ]
