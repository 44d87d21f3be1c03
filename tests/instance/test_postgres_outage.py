"""A PostgreSQL outage in the middle of a run, against the real server: the shared server
cannot be stopped (other tests use it), so the run reaches it through a TCP proxy the
test cuts (every connection reset, new ones refused) and restores.

A short outage (3 s, under the retry bound) costs the run nothing: it succeeds with every
event stored once, in order. An outage past the bound ends the run cleanly: exit 1 with
the reason, and the run is marked failed once the server is back.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from instance_helpers import event, make_run
from tcp_proxy import TcpProxy

from trellis.core.events import EventType
from trellis.core.run import RunStatus
from trellis.instance.instance import Instance

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

DEFS = str(Path(__file__).with_name("outage_defs.py"))
_DURATION = re.compile(r"\d+(\.\d+)?(ms|s)\b")


@pytest.fixture
def proxy(pg_url):
    url = sa.make_url(pg_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    yield proxy
    proxy.close()


def _through(pg_url: str, proxy: TcpProxy) -> str:
    url = sa.make_url(pg_url).set(host=proxy.address[0], port=proxy.address[1])
    return url.render_as_string(hide_password=False)


def _home(tmp_path: Path, url: str, **postgres: object) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    config = {"storage": {"postgres": {"url": url, **postgres}}}
    (home / "trellis.yaml").write_text(yaml.safe_dump(config))
    return home


def _execute(home: Path, step_seconds: float) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "TRELLIS_HOME": str(home),
        "TRELLIS_TEST_STEP_SECONDS": str(step_seconds),
        "COLUMNS": "200",
    }
    command = [sys.executable, "-m", "trellis", "job", "execute", "-f", DEFS, "-j", "chain"]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_for_events(instance: Instance, count: int, proc: subprocess.Popen[str]) -> str:
    """The id of the run once it has ``count`` events stored."""
    deadline = time.monotonic() + 60
    while True:
        runs = instance.get_runs()
        if runs and len(instance.get_records(runs[0].run_id)) >= count:
            return runs[0].run_id
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run never got going"
        time.sleep(0.05)


def _signature(events) -> list[tuple[str, str | None, str]]:
    """What a run's events are, without times and ids (the same for every run of it)."""
    return [
        (e.event_type.value, e.step_key, _DURATION.sub("<t>", e.message.replace(e.run_id, "<id>")))
        for e in events
    ]


def _reference_run() -> list[tuple[str, str | None, str]]:
    """The events of the same job run without any outage."""
    sys.path.insert(0, str(Path(DEFS).parent))
    try:
        from outage_defs import chain
    finally:
        sys.path.pop(0)
    instance = Instance.ephemeral()
    result = chain.execute_in_process(instance=instance)
    assert result.success
    return _signature(instance.all_logs(result.run_id))


def test_a_short_outage_mid_run_loses_and_duplicates_nothing(pg_url, proxy, tmp_path):
    home = _home(tmp_path, _through(pg_url, proxy))
    direct = Instance.from_config(tmp_path / "observer", {"storage": {"postgres": {"url": pg_url}}})
    proc = _execute(home, step_seconds=0.1)
    try:
        run_id = _wait_for_events(direct, 60, proc)
        proxy.cut()
        time.sleep(3)
        proxy.restore()
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out + err
    assert "Lost the connection" in err
    outage = re.search(r"reachable again after (\d+\.\d) s", err)
    assert outage is not None and float(outage.group(1)) >= 2.5  # the run saw the 3 s cut
    records = direct.get_records(run_id)
    ids = [r.storage_id for r in records]
    assert ids == sorted(ids)
    assert _signature([r.event for r in records]) == _reference_run()
    assert direct.get_run(run_id).status is RunStatus.SUCCESS
    direct.dispose()


def test_an_outage_past_the_retry_bound_fails_the_run_cleanly(pg_url, proxy, tmp_path):
    home = _home(tmp_path, _through(pg_url, proxy), retry_timeout=2)
    direct = Instance.from_config(tmp_path / "observer", {"storage": {"postgres": {"url": pg_url}}})
    proc = _execute(home, step_seconds=0.1)
    try:
        run_id = _wait_for_events(direct, 60, proc)
        stored_before = len(direct.get_records(run_id))
        proxy.cut()
        cut_at = time.monotonic()
        out, err = proc.communicate(timeout=120)
        gave_up_after = time.monotonic() - cut_at
    finally:
        if proc.poll() is None:
            proc.kill()
        proxy.restore()
    assert proc.returncode == 1, out + err
    said = " ".join(out.split())  # as one line, however the terminal wrapped it
    assert "the run could not be recorded" in said
    assert "past the retry bound (2 s" in said
    assert gave_up_after < 30  # about the 2 s bound, plus the steps that were running
    # The server is back: the next look finds the run's process gone and ends the run.
    run = direct.get_run(run_id)
    assert run.status is RunStatus.FAILURE
    events = [r.event for r in direct.get_records(run_id)]
    assert len(events) > stored_before
    assert events[-1].event_type is EventType.RUN_FAILURE
    assert events[-1].data.reason == "process died"
    reference = _reference_run()
    stored = _signature(events[:-1])
    assert stored == reference[: len(stored)]  # what was stored is in order, none twice
    direct.dispose()


def test_a_batch_whose_commit_reply_was_lost_is_not_stored_twice(pg_url, proxy, tmp_path):
    """The server committed the batch, then the connection broke before the client heard
    it: the retry finds the batch stored and does not insert it again."""
    config = {"storage": {"postgres": {"url": _through(pg_url, proxy)}}}
    with Instance.from_config(tmp_path / "home", config) as instance:
        run = instance.add_run(make_run("acked"))
        batch = [event(run, EventType.LOG_MESSAGE, message=str(n)) for n in range(5)]
        proxy.lose_reply_to(b"COMMIT")
        instance.storage.store_events(batch)
        assert proxy.replies_lost == 1
        stored = [r.event.message for r in instance.get_records("acked")]
        assert stored == [str(n) for n in range(5)]
