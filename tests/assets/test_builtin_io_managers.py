"""The IO managers that come with Trellis: ``mem_io_manager`` / ``InMemoryIOManager`` and
``fs_io_manager`` / ``FilesystemIOManager`` (one pickle file per output), where they put
things, and how they fail."""

import pickle

import pytest

from trellis import (
    AssetKey,
    AssetSpec,
    FilesystemIOManager,
    InMemoryIOManager,
    InvariantViolationError,
    MetadataValue,
    Out,
    StaticPartitionsDefinition,
    asset,
    build_input_context,
    build_output_context,
    build_resources,
    fs_io_manager,
    graph,
    job,
    materialize,
    materialize_to_memory,
    mem_io_manager,
    op,
)
from trellis.instance.instance import Instance


def _files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@asset
def numbers():
    return [1, 2, 3]


@asset
def doubled(numbers):
    return [2 * n for n in numbers]


# -- in memory ---------------------------------------------------------------------------


def test_mem_io_manager_passes_values_within_a_run_and_writes_nothing(tmp_path):
    instance = Instance.ephemeral()
    result = materialize(
        [numbers, doubled], resources={"io_manager": mem_io_manager}, instance=instance
    )
    assert result.asset_value("doubled") == [2, 4, 6]
    storage = instance.storage_directory()
    assert not storage.exists() or not any(storage.iterdir())


def test_mem_io_manager_cannot_read_an_earlier_run():
    with pytest.raises(InvariantViolationError) as info:
        materialize_to_memory([AssetSpec("numbers"), doubled])
    message = str(info.value)
    assert "numbers" in message
    assert "fs_io_manager" in message  # says what to use instead


def test_in_memory_io_manager_directly():
    manager = InMemoryIOManager()
    out = build_output_context(asset_key=["a", "b"])
    manager.handle_output(out, {"x": 1})
    assert manager.has_output(out)
    assert manager.load_input(build_input_context(upstream_output=out)) == {"x": 1}
    op_out = build_output_context(step_key="s", name="result", run_id="r1")
    assert not manager.has_output(op_out)
    with pytest.raises(InvariantViolationError, match=r"s\.result"):
        manager.load_input(build_input_context(upstream_output=op_out))
    with pytest.raises(InvariantViolationError, match="no upstream output"):
        manager.load_input(build_input_context(name="lonely"))


def test_mem_io_manager_for_op_jobs():
    @op
    def emit():
        return 5

    @op
    def add_one(x):
        return x + 1

    @job(resource_defs={"io_manager": mem_io_manager})
    def ops_job():
        add_one(emit())

    result = ops_job.execute_in_process()
    assert result.output_for_node("add_one") == 6


# -- on the filesystem: where things go --------------------------------------------------


def test_fs_asset_path_is_base_dir_and_key_parts(tmp_path):
    @asset(key_prefix=["warehouse", "sales"])
    def orders():
        return ["o1", "o2"]

    result = materialize([orders], resources={"io_manager": FilesystemIOManager(base_dir=tmp_path)})
    assert result.success
    path = tmp_path / "warehouse" / "sales" / "orders"
    assert pickle.loads(path.read_bytes()) == ["o1", "o2"]
    assert _files(tmp_path) == ["warehouse/sales/orders"]


def test_fs_path_metadata_lands_on_the_materialization(tmp_path):
    result = materialize(
        [numbers, doubled], resources={"io_manager": FilesystemIOManager(base_dir=tmp_path)}
    )
    by_key = {
        e.asset_key: e.materialization.metadata for e in result.get_asset_materialization_events()
    }
    assert by_key[AssetKey("numbers")]["path"] == MetadataValue.path(tmp_path / "numbers")
    assert by_key[AssetKey("doubled")]["path"].value == str(tmp_path / "doubled")
    handled = [e for e in result.all_events if e.event_type == "HANDLED_OUTPUT"]
    assert handled[0].data.metadata["path"].value == str(tmp_path / "numbers")


def test_fs_op_path_is_run_id_step_key_output(tmp_path):
    @op(out={"left": Out(), "right": Out()})
    def split():
        return "L", "R"

    @op
    def join(left, right):
        return left + right

    @graph
    def inner():
        return join(*split())

    @job(resource_defs={"io_manager": FilesystemIOManager(base_dir=tmp_path)})
    def ops_job():
        inner()

    result = ops_job.execute_in_process()
    assert result.success
    run_id = result.run_id
    assert _files(tmp_path) == sorted(
        [
            f"{run_id}/inner.join/result",
            f"{run_id}/inner.split/left",
            f"{run_id}/inner.split/right",
        ]
    )
    assert pickle.loads((tmp_path / run_id / "inner.join" / "result").read_bytes()) == "LR"
    assert result.output_for_node("inner.join") == "LR"

    second = ops_job.execute_in_process()
    assert (tmp_path / second.run_id / "inner.join" / "result").is_file()
    assert second.run_id != run_id


def test_fs_io_manager_base_dir_from_run_config(tmp_path):
    result = materialize(
        [numbers],
        resources={"io_manager": fs_io_manager},
        run_config={"resources": {"io_manager": {"config": {"base_dir": str(tmp_path)}}}},
    )
    assert result.success
    assert pickle.loads((tmp_path / "numbers").read_bytes()) == [1, 2, 3]


def test_fs_io_manager_without_base_dir_uses_the_instance_storage():
    for manager in (fs_io_manager, FilesystemIOManager()):
        instance = Instance.ephemeral()
        assert materialize([numbers], resources={"io_manager": manager}, instance=instance).success
        assert (instance.storage_directory() / "numbers").is_file()


def test_fs_overwrites_on_rematerialization_and_leaves_no_temp_files(tmp_path):
    counter = iter(range(10))

    @asset
    def ticking():
        return next(counter)

    storage = {"io_manager": FilesystemIOManager(base_dir=tmp_path)}
    materialize([ticking], resources=storage)
    materialize([ticking], resources=storage)
    assert pickle.loads((tmp_path / "ticking").read_bytes()) == 1
    assert _files(tmp_path) == ["ticking"]


def test_fs_reads_upstream_written_by_an_earlier_run(tmp_path):
    storage = {"io_manager": FilesystemIOManager(base_dir=tmp_path)}
    materialize([numbers], resources=storage)
    result = materialize([AssetSpec("numbers"), doubled], resources=storage)
    assert result.asset_value("doubled") == [2, 4, 6]


# -- on the filesystem: failures ---------------------------------------------------------


def test_fs_loading_something_never_materialized_names_the_asset(tmp_path):
    storage = {"io_manager": FilesystemIOManager(base_dir=tmp_path)}
    with pytest.raises(InvariantViolationError) as info:
        materialize([AssetSpec(["raw", "numbers"]), _reads_raw_numbers()], resources=storage)
    message = str(info.value)
    assert "raw/numbers" in message
    assert "materialized" in message
    result = materialize(
        [AssetSpec(["raw", "numbers"]), _reads_raw_numbers()],
        resources=storage,
        raise_on_error=False,
    )
    [failure] = result.get_step_failure_events()
    assert "raw/numbers" in failure.message and "reader" in failure.message


def _reads_raw_numbers():
    from trellis import AssetIn

    @asset(ins={"n": AssetIn(key=["raw", "numbers"])})
    def reader(n):
        return n

    return reader


@pytest.mark.parametrize(
    "key",
    [
        ["..", "escaped"],
        ["ok", "..", "..", "escaped"],
        ["../escaped"],
        ["a/../../escaped"],
        ["."],
        ["x\\..\\escaped"],
    ],
)
def test_fs_asset_key_parts_never_escape_the_base_dir(tmp_path, key):
    base = tmp_path / "base"
    base.mkdir()

    @asset(key=key)
    def sneaky():
        return "payload"

    with pytest.raises(InvariantViolationError) as info:
        materialize([sneaky], resources={"io_manager": FilesystemIOManager(base_dir=base)})
    assert "storage directory" in str(info.value)
    assert [p.name for p in tmp_path.iterdir()] == ["base"]
    assert _files(tmp_path) == []


def test_fs_partition_keys_never_escape_the_base_dir(tmp_path):
    base = tmp_path / "base"
    keys = ["..", ".", "a/b", "..\\x", "50%", "fine", "x" * 300]
    parts = StaticPartitionsDefinition(keys)

    @asset(partitions_def=parts)
    def by_part(context):
        return context.partition_key

    @asset(partitions_def=parts)
    def reader(context, by_part):
        return by_part

    storage = {"io_manager": FilesystemIOManager(base_dir=base)}
    for key in keys:
        assert materialize([by_part], partition_key=key, resources=storage).success
    files = _files(tmp_path)
    assert len(files) == len(keys)  # one file each: no two keys share a name
    assert all(f.startswith("base/by_part/") and f.count("/") == 2 for f in files)
    assert "base/by_part/fine" in files
    for key in keys:  # each reads back its own value
        result = materialize([by_part, reader], partition_key=key, resources=storage)
        assert result.output_for_node("reader") == key


def test_fs_run_id_never_escapes_the_base_dir(tmp_path):
    base = tmp_path / "base"

    @op
    def emit():
        return 1

    @job(resource_defs={"io_manager": FilesystemIOManager(base_dir=base)})
    def ops_job():
        emit()

    with pytest.raises(InvariantViolationError, match="storage directory"):
        ops_job.execute_in_process(run_id="../outside")
    assert not (tmp_path / "outside").exists()
    assert _files(tmp_path) == []


def test_fs_io_manager_directly_through_build_resources(tmp_path):
    with build_resources({"io": FilesystemIOManager(base_dir=tmp_path)}) as resources:
        manager = resources.io
        out = build_output_context(asset_key=["t", "u"], partition_key="p1")
        manager.handle_output(out, 42)
        assert pickle.loads((tmp_path / "t" / "u" / "p1").read_bytes()) == 42
        assert manager.load_input(build_input_context(upstream_output=out)) == 42
        missing = build_output_context(asset_key="never")
        with pytest.raises(InvariantViolationError, match="never"):
            manager.load_input(build_input_context(upstream_output=missing))
