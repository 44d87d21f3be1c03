"""Helpers of the daemon tests: a daemon over ``daemon_defs.py`` with a clock the test
moves and a launcher that only records what it was asked to launch (the runs stay
STARTING); the path of the definitions file."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trellis.daemon.clock import ManualClock
from trellis.daemon.code_location import CodeLocation
from trellis.daemon.daemon import TrellisDaemon
from trellis.daemon.launcher import RunLauncher
from trellis.execution.remote.code_pointer import CodePointer
from trellis.instance.daemon_config import DaemonSettings
from trellis.instance.instance import Instance

HERE = Path(__file__).resolve().parent
DEFS_FILE = str(HERE / "daemon_defs.py")
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

T0 = datetime(2024, 3, 1, 0, 0, tzinfo=UTC).timestamp()


class RecordingLauncher(RunLauncher):
    """Records the runs it is asked to launch and starts nothing."""

    def __init__(self) -> None:
        self.launched: list[str] = []

    def launch_run(self, run, instance) -> None:
        self.launched.append(run.run_id)


class Harness:
    """An instance, the test definitions (``defs_file``), a manual clock and a daemon
    over them (without its run-monitoring loop unless ``monitoring``: it would fail the
    runs the recording launcher leaves STARTING once the clock passes the start
    timeout). ``launcher``: another launcher than the recording one."""

    def __init__(
        self,
        instance: Instance,
        settings: DaemonSettings | None = None,
        monitoring: bool = False,
        defs_file: str = DEFS_FILE,
        launcher: RunLauncher | None = None,
    ) -> None:
        self.instance = instance
        self.location = CodeLocation.load(CodePointer(file=defs_file, attribute="defs"))
        self.clock = ManualClock(T0)
        self.launcher = launcher or RecordingLauncher()
        self.daemon = TrellisDaemon(
            instance,
            self.location,
            clock=self.clock,
            launcher=self.launcher,
            settings=settings or DaemonSettings(max_concurrent_runs=-1),
        )
        if not monitoring:  # the recording launcher never starts a run: they stay STARTING
            self.daemon.loops = [x for x in self.daemon.loops if x.name != "run_monitoring"]

    def at(self, seconds: float) -> None:
        """Move the clock to ``T0 + seconds`` and run what is due."""
        self.clock.set(T0 + seconds)
        self.daemon.step()

    def runs_of(self, tag: str, value: str):
        return self.instance.get_runs(tags={tag: value})


def wait_until(predicate: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Poll ``predicate`` until it returns something true (returned), or fail saying
    ``what`` was awaited (for tests with real processes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def home_with_user_module(tmp_path: Path, monkeypatch: Any, module: str, source: str) -> Path:
    """A ``TRELLIS_HOME`` under ``tmp_path`` and the user's module ``module`` (Python
    ``source``, dedented) importable here and in subprocesses; ``$DAEMON_TEST_OUT`` is
    ``tmp_path/out``."""
    import textwrap

    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("TRELLIS_HOME", str(path))
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    monkeypatch.setenv("DAEMON_TEST_OUT", str(out))
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    return path


def cli_output(*args: str, code: int = 0) -> str:
    """Run ``trellis ARGS`` in process; its output (the exit code must be ``code``)."""
    from click.testing import CliRunner

    from trellis.cli.main import cli

    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output
