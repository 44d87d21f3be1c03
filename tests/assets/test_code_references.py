"""Code references, as Dagster's docs use them: ``with_source_code_references`` records
where each asset's function is, ``link_code_references_to_git`` turns that into a link
into the repository, the metadata survives storage, and ``MetadataValue.python_artifact``
points at a Python object."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

from trellis import (
    AnchorBasedFilePathMapping,
    AssetKey,
    AssetSpec,
    CodeReferencesMetadataValue,
    Definitions,
    Instance,
    InvalidDefinitionError,
    LocalFileCodeReference,
    MetadataValue,
    PythonArtifactMetadataValue,
    UrlCodeReference,
    asset,
    link_code_references_to_git,
    materialize,
    with_source_code_references,
)
from trellis.core.serialization import from_jsonable, to_jsonable

HERE = Path(__file__).resolve()


@asset
def orders() -> int:
    return 1


LINE = inspect.getsourcelines(orders.node_def.compute_fn)[1]


def test_source_references_point_at_the_function_and_link_to_git():
    external = AssetSpec("raw")
    referenced = with_source_code_references([orders, external])
    spec = referenced[0].get_asset_spec(AssetKey("orders"))
    value = spec.metadata["dagster/code_references"]
    assert isinstance(value, CodeReferencesMetadataValue)
    (local,) = value.code_references
    assert local == LocalFileCodeReference(str(HERE), LINE)
    assert referenced[1] is external  # no function: unchanged

    linked = link_code_references_to_git(
        referenced,
        git_url="https://github.com/acme/pipelines/",
        git_branch="main",
        file_path_mapping=AnchorBasedFilePathMapping(
            local_file_anchor=HERE.parents[1], file_anchor_path_in_repository="tests"
        ),
    )
    (url,) = (
        linked[0]
        .get_asset_spec(AssetKey("orders"))
        .metadata["dagster/code_references"]
        .code_references
    )
    assert url == UrlCodeReference(
        f"https://github.com/acme/pipelines/blob/main/tests/assets/{HERE.name}#L{LINE}"
    )
    with pytest.raises(InvalidDefinitionError, match="not under the anchor"):
        link_code_references_to_git(
            referenced,
            git_url="https://x",
            git_branch="main",
            file_path_mapping=AnchorBasedFilePathMapping("/nowhere/file.py", "file.py"),
        )


def test_the_references_are_stored_and_read_back(tmp_path):
    defs = Definitions(assets=with_source_code_references([orders]))
    instance = Instance.from_config(tmp_path / "home", {})
    result = materialize(defs.assets, instance=instance)
    assert result.success
    metadata = {
        "refs": CodeReferencesMetadataValue(
            [LocalFileCodeReference("a.py", 3, "here"), UrlCodeReference("https://x", "there")]
        ),
        "fn": MetadataValue.python_artifact(test_the_references_are_stored_and_read_back),
    }
    back = from_jsonable(json.loads(json.dumps(to_jsonable(metadata))))
    assert back == metadata
    artifact = back["fn"]
    assert isinstance(artifact, PythonArtifactMetadataValue)
    assert artifact.module == __name__ and artifact.name.startswith("test_the_references")
