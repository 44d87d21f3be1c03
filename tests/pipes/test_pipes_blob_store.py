"""Blob-store message readers, log readers and the composite reader, with real
subprocesses: the scripts in ``external/`` write their messages in numbered chunks to a
directory (``trellis_pipes.PipesDirectoryMessageWriter``) that
``PipesDirectoryMessageReader`` polls, their stdout goes to a file that
``PipesFileLogReader`` forwards, and a ``PipesCompositeMessageReader`` lets processes
writing in different ways report to one session. A reader of a store of the test's own
(``MemoryBucketReader``) shows what the ``PipesBlobStoreMessageReader`` base does with
chunks that are not whole yet and lines that are not messages."""

from __future__ import annotations

import io
import json
import logging
import os
import shlex
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from pipes_helpers import SRC, logs, script

from trellis import (
    AssetExecutionContext,
    AssetOut,
    EventType,
    MaterializeResult,
    PipesBlobStoreMessageReader,
    PipesCompositeMessageReader,
    PipesDirectoryMessageReader,
    PipesFileLogReader,
    PipesFileMessageReader,
    PipesLogReader,
    PipesSubprocessClient,
    PipesTempFileContextInjector,
    PipesTempFileMessageReader,
    asset,
    materialize,
    multi_asset,
    open_pipes_session,
)

ENV = {"PYTHONPATH": str(SRC)}  # this worktree's trellis_pipes, whatever is installed


def engine_messages(result, step_key: str) -> list[tuple[int, str]]:
    return [
        (e.level, e.message)
        for e in result.all_events
        if e.event_type is EventType.ENGINE_EVENT and e.step_key == step_key
    ]


def test_chunks_in_a_directory_and_a_forwarded_log_reach_the_step(tmp_path):
    log_file = tmp_path / "stdout.log"
    forwarded = io.StringIO()
    reader = PipesDirectoryMessageReader(
        interval=0.05,
        log_readers=[PipesFileLogReader(log_file, interval=0.05, target_stream=forwarded)],
    )
    seen_directories: list[str] = []

    @asset
    def orders(context: AssetExecutionContext, pipes: PipesSubprocessClient) -> MaterializeResult:
        command = f"exec {shlex.join(script('chunked.py'))} > {shlex.quote(str(log_file))}"
        invocation = pipes.run(command=["/bin/sh", "-c", command], context=context, env=ENV)
        seen_directories.append(invocation.session.message_reader_params["directory"])
        return invocation.get_materialize_result()

    client = PipesSubprocessClient(message_reader=reader)
    result = materialize([orders], resources={"pipes": client})
    assert result.success
    (mat,) = result.get_asset_materialization_events()
    assert mat.metadata["rows"].value == 7
    assert mat.tags["dagster/data_version"] == "chunked-1"
    assert [m for _, m in logs(result, "orders")] == [
        "[pipes] external process opened its Pipes connection.",
        "first chunk",
        "second chunk",
    ]
    assert reader.counter >= 4  # three chunks or more, read in order
    assert reader.opened_payload == {"extras": {}}
    first = f"stdout: starting {result.run_id}\nstdout: done\n"
    assert forwarded.getvalue() == first
    (directory,) = seen_directories
    assert not os.path.exists(directory)  # the temporary directory is gone

    # Again: the file left by the first run is not forwarded again, the rewritten one is.
    again = materialize([orders], resources={"pipes": client})
    assert forwarded.getvalue() == first + f"stdout: starting {again.run_id}\nstdout: done\n"


def test_a_directory_of_ones_own_is_emptied_and_must_start_empty(tmp_path):
    chunks = tmp_path / "chunks"

    @asset
    def orders(context: AssetExecutionContext, pipes: PipesSubprocessClient) -> MaterializeResult:
        return pipes.run(
            command=script("chunked.py"), context=context, env=ENV
        ).get_materialize_result()

    reader = PipesDirectoryMessageReader(chunks, interval=0.05)
    client = PipesSubprocessClient(message_reader=reader, forward_stdio=False)
    assert materialize([orders], resources={"pipes": client}).success
    assert chunks.is_dir() and os.listdir(chunks) == []  # read, then removed

    (chunks / "1.json").write_text("{}")  # left by another session
    failed = materialize([orders], resources={"pipes": client}, raise_on_error=False)
    assert not failed.success
    (failure,) = failed.get_step_failure_events()
    assert f"{chunks} already holds message chunks (1.json...)" in failure.message
    assert "give each session a directory of its own" in failure.message


def test_a_composite_reader_hears_processes_writing_in_different_ways():
    directory_reader = PipesDirectoryMessageReader(interval=0.05)
    composite = PipesCompositeMessageReader([PipesTempFileMessageReader(), directory_reader])

    @multi_asset(outs={"from_file": AssetOut(), "from_chunks": AssetOut()})
    def pair(context: AssetExecutionContext):
        with open_pipes_session(
            context=context,
            context_injector=PipesTempFileContextInjector(),
            message_reader=composite,
        ) as session:
            assert set(session.message_reader_params) >= {"path", "directory"}
            env = {**os.environ, **ENV, **session.get_bootstrap_env_vars()}
            for key, writer in (("from_file", "default"), ("from_chunks", "directory")):
                subprocess.run(script("report_one.py", key, writer), env=env, check=True)
        yield from session.get_results()

    result = materialize([pair])
    assert result.success
    by_key = {e.asset_key.to_user_string(): e for e in result.get_asset_materialization_events()}
    assert by_key["from_file"].metadata["writer"].value == "default"
    assert by_key["from_chunks"].metadata["writer"].value == "directory"
    messages = [m for _, m in logs(result, "pair")]
    assert "from_file through the default writer" in messages
    assert "from_chunks through the directory writer" in messages
    assert directory_reader.opened_payload == {"extras": {}}  # opened reached every reader
    assert [p.keys() for p in composite.params_by_reader] == [
        {"path", "include_stdio_in_messages"},
        {"directory"},
    ]


def test_a_composite_reader_refuses_readers_that_set_the_same_parameter(tmp_path):
    composite = PipesCompositeMessageReader(
        [
            PipesFileMessageReader(str(tmp_path / "a.jsonl")),
            PipesFileMessageReader(str(tmp_path / "b.jsonl")),
        ]
    )
    client = PipesSubprocessClient(message_reader=composite)

    @asset
    def orders(context: AssetExecutionContext, pipes: PipesSubprocessClient):
        return pipes.run(command=script("chunked.py"), context=context).get_materialize_result()

    result = materialize([orders], resources={"pipes": client}, raise_on_error=False)
    (failure,) = result.get_step_failure_events()
    assert (
        "PipesFileMessageReader and PipesFileMessageReader both set the message parameter 'path'"
    ) in failure.message
    with pytest.raises(TypeError, match="needs a list of message readers"):
        PipesCompositeMessageReader(PipesTempFileMessageReader())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'x' is not a PipesMessageReader"):
        PipesCompositeMessageReader(["x"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="at least one message reader"):
        PipesCompositeMessageReader([])


def test_a_process_with_the_wrong_writer_fails_saying_which_to_use():
    @asset
    def orders(context: AssetExecutionContext, pipes: PipesSubprocessClient):
        return pipes.run(
            command=script("materialize.py"), context=context, env=ENV
        ).get_materialize_result()

    reader = PipesDirectoryMessageReader(interval=0.05)
    client = PipesSubprocessClient(message_reader=reader, forward_stdio=False)
    result = materialize([orders], resources={"pipes": client}, raise_on_error=False)
    (failure,) = result.get_step_failure_events()
    assert "open_dagster_pipes(message_writer=PipesDirectoryMessageWriter())" in failure.message

    @asset
    def chunked(context: AssetExecutionContext, pipes: PipesSubprocessClient):
        return pipes.run(
            command=script("chunked.py"), context=context, env=ENV
        ).get_materialize_result()

    default = PipesSubprocessClient(forward_stdio=False)
    result = materialize([chunked], resources={"pipes": default}, raise_on_error=False)
    (failure,) = result.get_step_failure_events()
    assert "PipesDirectoryMessageWriter needs the messages parameters of a " in failure.message


class MemoryBucketReader(PipesBlobStoreMessageReader):
    """A blob store of the test's own: a dict of chunks the test fills by hand."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.bucket: dict[int, str] = {}
        self.readable = threading.Event()

    @contextmanager
    def get_params(self) -> Iterator[dict]:
        yield {"bucket": "memory"}

    def messages_are_readable(self, params) -> bool:
        return self.readable.is_set()

    def download_messages_chunk(self, index: int, params) -> str | None:
        return self.bucket.get(index)


def _message(method: str, **params) -> str:
    return json.dumps({"__dagster_pipes_version": "0.1", "method": method, "params": params})


def _wait_for(predicate, what: str) -> None:
    deadline = time.monotonic() + 10
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _in_a_session(reader: MemoryBucketReader, body) -> object:
    """An asset that opens a session with ``reader`` and runs ``body(session)`` in it."""

    @asset
    def orders(context: AssetExecutionContext):
        with open_pipes_session(
            context=context,
            context_injector=PipesTempFileContextInjector(),
            message_reader=reader,
        ) as session:
            body(session)
        return session.get_results()[0]

    return orders


def test_the_base_reads_chunks_in_order_and_retries_one_that_is_not_whole():
    reader = MemoryBucketReader(interval=0.02)

    def write_chunks(session) -> None:
        assert session.message_reader_params == {"bucket": "memory"}
        reader.bucket[1] = _message("opened", extras={}) + "\n" + _message("log", message="a")
        time.sleep(0.1)
        assert reader.counter == 1  # not readable yet: nothing downloaded
        reader.readable.set()
        _wait_for(lambda: reader.counter == 2, "chunk 1")
        reader.bucket[2] = _message("log", message="b") + "\n" + '{"method": "lo'  # half
        time.sleep(0.1)
        assert reader.counter == 2  # fetched again until whole
        reader.bucket[2] = _message("log", message="b") + "\n" + _message("log", message="c")
        _wait_for(lambda: reader.counter == 3, "chunk 2")
        reader.bucket[3] = "not a message\n" + _message("closed")

    orders = _in_a_session(reader, write_chunks)
    result = materialize([orders])
    assert result.success
    assert [m for _, m in logs(result, "orders")][1:] == ["a", "b", "c"]
    (warning,) = [m for level, m in engine_messages(result, "orders") if level == logging.WARNING]
    assert warning.startswith("[pipes] a line from the external process is not a message")
    assert warning.endswith("not a message")


class NeverThere(PipesLogReader):
    """A log reader whose log never appears."""

    def start(self, params, is_session_closed) -> None:
        raise AssertionError("never started")

    def stop(self) -> None:
        pass

    def is_running(self) -> bool:
        return False

    def target_is_readable(self, params) -> bool:
        return False

    def debug_info(self) -> str:
        return "nowhere"


def test_a_log_that_never_appears_is_a_warning_after_the_wait():
    reader = MemoryBucketReader(interval=0.02, log_readers=[NeverThere()])
    reader.wait_for_logs_seconds = 0.1
    reader.readable.set()
    reader.bucket[1] = _message("opened", extras={}) + "\n" + _message("closed")

    orders = _in_a_session(reader, lambda session: None)
    started = time.monotonic()
    result = materialize([orders])
    assert result.success and time.monotonic() - started < 5
    warnings = [m for level, m in engine_messages(result, "orders") if level == logging.WARNING]
    assert warnings == [
        "[pipes] NeverThere never found its log (nowhere) within 0.1s of the session's end: "
        "nothing forwarded."
    ]


def test_readers_refuse_bad_arguments_by_name():
    with pytest.raises(TypeError, match="interval must be a positive number of seconds, got 0"):
        MemoryBucketReader(interval=0)
    with pytest.raises(TypeError, match="log_readers holds 'stdout', not a PipesLogReader"):
        MemoryBucketReader(log_readers=["stdout"])
    with pytest.raises(TypeError, match="PipesFileLogReader needs a file path, got None"):
        PipesFileLogReader(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="PipesFileLogReader: interval must be a positive"):
        PipesFileLogReader("x.log", interval=-1)
    with pytest.raises(TypeError, match="PipesDirectoryMessageReader needs a directory path"):
        PipesDirectoryMessageReader(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="abstract"):
        PipesLogReader()  # type: ignore[abstract]


def test_a_failing_process_still_has_its_chunks_read():
    @asset
    def orders(context: AssetExecutionContext, pipes: PipesSubprocessClient):
        return pipes.run(
            command=["/bin/sh", "-c", f"{shlex.join(script('chunked.py'))} && exit 3"],
            context=context,
            env=ENV,
        ).get_materialize_result()

    client = PipesSubprocessClient(message_reader=PipesDirectoryMessageReader(interval=0.05))
    result = materialize([orders], resources={"pipes": client}, raise_on_error=False)
    (failure,) = result.get_step_failure_events()
    assert "failed: External process failed with exit code 3: /bin/sh" in failure.message
    assert "second chunk" in [m for _, m in logs(result, "orders")]  # read all the same
    assert not result.get_asset_materialization_events()


def test_one_reader_serves_steps_that_run_at_the_same_time():
    client = PipesSubprocessClient(
        message_reader=PipesDirectoryMessageReader(interval=0.05), forward_stdio=False
    )

    def make(name: str):
        @asset(name=name)
        def chunked(context: AssetExecutionContext, pipes: PipesSubprocessClient):
            return pipes.run(
                command=script("chunked.py"), context=context, env=ENV
            ).get_materialize_result()

        return chunked

    result = materialize(
        [make("left"), make("right")],
        resources={"pipes": client},
        run_config={"execution": {"config": {"multithread": {"max_concurrent": 2}}}},
    )
    assert result.success
    starts = [e.timestamp for e in result.all_events if e.event_type is EventType.STEP_START]
    ends = [e.timestamp for e in result.all_events if e.event_type is EventType.STEP_SUCCESS]
    assert max(starts) < min(ends)  # the two sessions overlapped
    for key in ("left", "right"):
        assert [m for _, m in logs(result, key)][1:] == ["first chunk", "second chunk"]
    rows = {
        e.asset_key.to_user_string(): e.metadata["rows"].value
        for e in result.get_asset_materialization_events()
    }
    assert rows == {"left": 7, "right": 7}
