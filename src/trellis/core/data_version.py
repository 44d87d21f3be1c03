"""Data versions and data provenance: what identifies the data an asset event recorded.

Every materialization carries, as tags under Dagster's names (so ported code and tools
read them):

- ``dagster/code_version``: the asset's ``code_version``, or the run id when it has none
  (so each run counts as new code);
- ``dagster/data_version``: the version the asset returned (``Output(data_version=...)``,
  ``MaterializeResult(data_version=...)``, then also
  ``dagster/data_version_is_user_provided: "true"``), else one derived from the code
  version and the input data versions (``compute_logical_data_version``);
- ``dagster/input_data_version/<key>`` and ``dagster/input_event_pointer/<key>``, for
  each upstream asset: the data version it had and the storage id of the event that
  recorded it (``NULL`` when it had none), its *data provenance*.

An observation of an external asset carries ``dagster/data_version`` (the version its
observe function reported). ``DataProvenance.from_tags`` reads the provenance back.
"""

from __future__ import annotations

from collections.abc import Mapping
from hashlib import sha256
from typing import TYPE_CHECKING, Any, NamedTuple

from trellis.core.asset_key import AssetKey

if TYPE_CHECKING:
    from trellis.core.events import Event

DATA_VERSION_TAG = "dagster/data_version"
CODE_VERSION_TAG = "dagster/code_version"
INPUT_DATA_VERSION_TAG_PREFIX = "dagster/input_data_version"
INPUT_EVENT_POINTER_TAG_PREFIX = "dagster/input_event_pointer"
DATA_VERSION_IS_USER_PROVIDED_TAG = "dagster/data_version_is_user_provided"
# Older names of the tags (Dagster called data versions "logical versions").
_OLD_DATA_VERSION_TAG = "dagster/logical_version"
_OLD_INPUT_DATA_VERSION_TAG_PREFIX = "dagster/input_logical_version"
NULL_EVENT_POINTER = "NULL"


class _DataVersionFields(NamedTuple):
    value: str


class DataVersion(_DataVersionFields):
    """The version of an asset's data: any string that changes when the data does
    (a hash of its content, a modification time, a row count...). Return it from an
    observe function, or give it with ``Output(data_version=...)`` or
    ``MaterializeResult(data_version=...)``."""

    __slots__ = ()

    def __new__(cls, value: str) -> DataVersion:
        if not isinstance(value, str):
            raise TypeError(f"DataVersion value must be a string, got {value!r}")
        return super().__new__(cls, value)


# An external asset with no recorded version is assumed to exist in its first version;
# an asset that was never materialized has no data at all.
DEFAULT_DATA_VERSION = DataVersion("INITIAL")
NULL_DATA_VERSION = DataVersion("NULL")
UNKNOWN_DATA_VERSION = DataVersion("UNKNOWN")


class _DataVersionsByPartitionFields(NamedTuple):
    data_versions_by_partition: Mapping[str, DataVersion]


class DataVersionsByPartition(_DataVersionsByPartitionFields):
    """The data versions of several partitions of an asset, returned by the observe
    function of a partitioned observable source asset: partition key -> version."""

    __slots__ = ()

    def __new__(
        cls, data_versions_by_partition: Mapping[str, str | DataVersion]
    ) -> DataVersionsByPartition:
        if not isinstance(data_versions_by_partition, Mapping):
            raise TypeError(
                "DataVersionsByPartition needs a mapping of partition key to version, got "
                f"{data_versions_by_partition!r}"
            )
        versions: dict[str, DataVersion] = {}
        for partition, version in data_versions_by_partition.items():
            if not isinstance(partition, str):
                raise TypeError(
                    f"DataVersionsByPartition: partition key {partition!r} is not a str"
                )
            versions[partition] = coerce_data_version(version, f"partition '{partition}'")
        return super().__new__(cls, versions)


def coerce_data_version(value: Any, where: str) -> DataVersion:
    """``value`` as a ``DataVersion`` (a string is wrapped); a clear error naming
    ``where`` for anything else."""
    if isinstance(value, DataVersion):
        return value
    if isinstance(value, str):
        return DataVersion(value)
    raise TypeError(f"{where}: a data version must be a DataVersion or a str, got {value!r}")


def _key_of_tag(tag: str) -> AssetKey:
    # Everything after the second slash is the asset key.
    return AssetKey.from_user_string(tag.split("/", 2)[-1])


class DataProvenance(NamedTuple):
    """Where a materialization's data came from: the ``code_version`` that computed it,
    the data version of each upstream asset it used (``input_data_versions``) and the
    storage id of the event that recorded that version (``input_storage_ids``), and
    whether its own data version was given by the user (``is_user_provided``)."""

    code_version: str
    input_data_versions: Mapping[AssetKey, DataVersion]
    input_storage_ids: Mapping[AssetKey, int | None]
    is_user_provided: bool

    @staticmethod
    def from_tags(tags: Mapping[str, str]) -> DataProvenance | None:
        """The provenance recorded in an event's tags (None when it has none)."""
        code_version = tags.get(CODE_VERSION_TAG)
        if code_version is None:
            return None
        versions = {
            _key_of_tag(k): DataVersion(v)
            for k, v in tags.items()
            if k.startswith(INPUT_DATA_VERSION_TAG_PREFIX + "/")
            or k.startswith(_OLD_INPUT_DATA_VERSION_TAG_PREFIX + "/")
        }
        pointers = {
            _key_of_tag(k): None if v == NULL_EVENT_POINTER else int(v)
            for k, v in tags.items()
            if k.startswith(INPUT_EVENT_POINTER_TAG_PREFIX + "/")
        }
        user_provided = tags.get(DATA_VERSION_IS_USER_PROVIDED_TAG) == "true"
        return DataProvenance(code_version, versions, pointers, user_provided)

    def has_input_asset(self, key: AssetKey) -> bool:
        """Whether the provenance records upstream ``key``."""
        return key in self.input_data_versions and key in self.input_storage_ids


def compute_logical_data_version(
    code_version: str, input_data_versions: Mapping[AssetKey, DataVersion]
) -> DataVersion:
    """The data version Trellis derives for a materialization that gave none: the SHA-256
    of the code version followed by the input data versions in the order of their keys'
    ``repr`` (``AssetKey(['a', 'b'])``, Dagster's ``str`` of a key: both derive the same
    version from the same inputs). ``UNKNOWN`` if an input's version is unknown. The
    engine computes the same on strings (``trellis.execution.data_versions``)."""
    if UNKNOWN_DATA_VERSION in input_data_versions.values():
        return UNKNOWN_DATA_VERSION
    ordered = [input_data_versions[k].value for k in sorted(input_data_versions, key=repr)]
    digest = sha256("".join((code_version, *ordered)).encode("utf8"))
    return DataVersion(digest.hexdigest())


def observation_tags(data_version: DataVersion) -> dict[str, str]:
    """The tags of an observation that reports ``data_version``."""
    return {DATA_VERSION_TAG: data_version.value, DATA_VERSION_IS_USER_PROVIDED_TAG: "true"}


def data_version_of_tags(tags: Mapping[str, str] | None) -> DataVersion | None:
    """The data version recorded in an event's tags, if any."""
    if not tags:
        return None
    value = tags.get(DATA_VERSION_TAG) or tags.get(_OLD_DATA_VERSION_TAG)
    return DataVersion(value) if value is not None else None


def event_tags(event: Event) -> Mapping[str, str]:
    """The tags of an asset materialization or observation event ({} for other events)."""
    data = event.data
    recorded = getattr(data, "materialization", None) or getattr(data, "observation", None)
    return getattr(recorded, "tags", None) or {}
