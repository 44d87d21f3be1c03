"""The filesystem IO manager under what production does to it: a write that fails leaves
no partial file, temporary files of killed writers are cleaned up, a long asset key part
whose final file name fits is stored."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
import uuid

import pytest

from trellis import AssetKey, FilesystemIOManager, asset, materialize
from trellis.defs.output_files import NAME_MAX, STALE_TEMP_SECONDS, temp_name


@asset
def numbers() -> list[int]:
    return [1, 2, 3]


def _files(root):
    return sorted(p.name for p in root.iterdir() if p.is_file())


def test_a_failed_write_leaves_no_partial_file(tmp_path):
    @asset
    def unpicklable():
        return lambda: None  # pickling fails after the file was opened

    result = materialize(
        [unpicklable],
        resources={"io_manager": FilesystemIOManager(base_dir=tmp_path)},
        raise_on_error=False,
    )
    assert not result.success
    assert _files(tmp_path) == []


_KILLED_WRITER = """
import sys, time
from trellis import FilesystemIOManager, asset, materialize

class Slow:
    def __reduce__(self):
        time.sleep(0.01)
        return (bytes, (b"x" * 100_000,))

@asset
def huge():
    return [Slow() for _ in range(5000)]

materialize([huge], resources={"io_manager": FilesystemIOManager(base_dir=sys.argv[1])})
"""


def _killed_writer_leaves_a_temp_file(base):
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(base)])
    deadline = time.monotonic() + 60
    while True:
        left = [p for p in base.glob(".huge.*.tmp") if p.stat().st_size > 1_000_000]
        if left:
            break
        assert proc.poll() is None and time.monotonic() < deadline, "the writer never wrote"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert left[0].exists()  # what a killed writer leaves
    return left[0]


def test_temp_files_of_killed_writers_are_removed_by_the_next_write(tmp_path):
    stale = _killed_writer_leaves_a_temp_file(tmp_path)
    older = stale.with_name(".old_style.4242.tmp")  # the name older versions used
    older.write_bytes(b"partial")
    # Time passes (the kill was long ago): no writer has touched these for a while.
    long_ago = time.time() - STALE_TEMP_SECONDS - 60
    for path in (stale, older):
        os.utime(path, (long_ago, long_ago))
    live = tmp_path / temp_name("other", 99999, 0)  # another writer, writing now
    live.write_bytes(b"in progress")
    ours = tmp_path / ".notes.tmp"  # not a name the IO manager writes
    ours.write_bytes(b"keep")
    os.utime(ours, (long_ago, long_ago))

    storage = {"io_manager": FilesystemIOManager(base_dir=tmp_path)}
    assert materialize([numbers], resources=storage).success
    assert not stale.exists() and not older.exists()
    assert live.exists() and ours.exists()
    assert pickle.loads((tmp_path / "numbers").read_bytes()) == [1, 2, 3]


@pytest.mark.parametrize("length", [245, 250, 255])
def test_an_asset_key_part_whose_file_name_fits_is_stored(tmp_path, length):
    part = "k" * (length - 8) + uuid.uuid4().hex[:8]

    @asset(key=AssetKey(["prefix", part]))
    def long_named() -> int:
        return length

    storage = {"io_manager": FilesystemIOManager(base_dir=tmp_path)}
    assert materialize([long_named], resources=storage).success
    stored = tmp_path / "prefix" / part
    assert pickle.loads(stored.read_bytes()) == length
    assert _files(tmp_path / "prefix") == [part]


def test_temp_names_fit_and_stay_distinct():
    for name in ("short", "é" * 127, "x" * 255):
        tmp = temp_name(name, 4194304, 123456789)
        assert len(os.fsencode(tmp)) <= NAME_MAX and tmp.startswith(".")
    one = temp_name("y" * 250 + "a", 1, 0)
    other = temp_name("y" * 250 + "b", 1, 0)
    assert one != other  # cut to the same head, told apart by a digest of the whole name
