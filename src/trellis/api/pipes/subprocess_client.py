"""``PipesSubprocessClient``: run a command as a subprocess of the step, in a Pipes session.

    @asset
    def orders(context: AssetExecutionContext, pipes: PipesSubprocessClient):
        return pipes.run(
            command=[sys.executable, "orders.py"], context=context, extras={"day": "monday"}
        ).get_materialize_result()

    defs = Definitions(assets=[orders], resources={"pipes": PipesSubprocessClient()})

The process inherits this process's environment plus the client's and the call's ``env``
and the two Pipes variables. Its stdout and stderr go to this process's (unless
``forward_stdio=False``); the end of its stderr is kept for the error when it fails. Its
messages are handled every 50 ms while it runs. A step that is interrupted (the run is
canceled: ``trellis run cancel``, Ctrl-C, SIGTERM) sends the process SIGINT and waits
``termination_timeout_seconds`` for it to exit before killing it; in pool and Dask workers,
which ignore SIGINT, the process starts with SIGINT's default action so that it can be
interrupted."""

from __future__ import annotations

import codecs
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any, NamedTuple

from trellis.api.pipes.client import PipesClient, PipesClientCompletedInvocation
from trellis.api.pipes.errors import PipesExecutionError
from trellis.api.pipes.readers import (
    PipesContextInjector,
    PipesMessageReader,
    PipesTempFileContextInjector,
    PipesTempFileMessageReader,
)
from trellis.api.pipes.session import PipesSession, open_pipes_session
from trellis.core.errors import InvalidInvocationError

WAIT_SECONDS = 0.05
"""How often messages are handled while the process runs."""

TAIL_LINES = 12
"""How many of the last lines of the process's stderr a failure reports."""

_TAIL_CHARS = 8000


def _check_env(env: Any, where: str) -> dict[str, str]:
    if env is None:
        return {}
    if not isinstance(env, Mapping):
        raise InvalidInvocationError(f"{where} must be a mapping of names to strings, got {env!r}.")
    for name, value in env.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise InvalidInvocationError(
                f"{where} must map names to strings; {name!r} is {type(value).__name__} "
                f"{value!r:.60}."
            )
    return dict(env)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interruptible_child() -> Callable[[], None] | None:
    """What lets SIGINT reach the child where this process ignores it (pool and Dask
    workers leave Ctrl-C to the orchestrator; an ignored signal stays ignored across
    ``exec``): reset it to its default in the child before ``exec``."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        return _default_sigint
    return None


def _shown(command: Any) -> str:
    if isinstance(command, (str, os.PathLike)):
        return os.fspath(command)
    return shlex.join(os.fspath(part) for part in command)


class _StderrTail:
    """Reads the process's stderr on a thread: forwards it to this process's stderr (when
    asked) and keeps its end for the error message."""

    def __init__(self, pipe: IO[bytes], forward: bool) -> None:
        self._pipe = pipe
        self._forward = forward
        self._text = ""
        self._thread = threading.Thread(target=self._pump, name="trellis-pipes-stderr", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        fd = self._pipe.fileno()
        try:
            while chunk := os.read(fd, 65536):
                text = decoder.decode(chunk)
                self._keep(text)
                if self._forward:
                    sys.stderr.write(text)
                    sys.stderr.flush()
            self._keep(decoder.decode(b"", final=True))
        except (OSError, ValueError):  # the pipe was closed under us
            pass
        finally:
            self._pipe.close()

    def _keep(self, text: str) -> None:
        self._text = (self._text + text)[-_TAIL_CHARS:]

    def join(self, timeout: float) -> None:
        """Wait for the end of the stream (a grandchild may hold it open: not forever)."""
        self._thread.join(timeout)

    def tail(self) -> str:
        """The last ``TAIL_LINES`` lines read."""
        return "\n".join(self._text.rstrip().splitlines()[-TAIL_LINES:])


class PipesSubprocessClient(PipesClient):
    """A resource that runs a command as a subprocess in a Pipes session: the process
    reads its context with ``trellis_pipes`` (or Dagster's ``dagster_pipes``) and reports
    logs and materializations, which become events of the step.

    ``env``: variables added to this process's environment for every run; ``cwd``: the
    directory to run in; ``context_injector`` / ``message_reader``: how the context and
    the messages travel (a temporary file each by default); ``forward_termination``:
    send SIGINT to the process when the step is interrupted; ``forward_stdio``: let its
    stdout and stderr through to this process's; ``termination_timeout_seconds``: how
    long an interrupted process may take to exit before it is killed."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        context_injector: PipesContextInjector | None = None,
        message_reader: PipesMessageReader | None = None,
        forward_termination: bool = True,
        forward_stdio: bool = True,
        termination_timeout_seconds: float = 20,
    ) -> None:
        self.env = _check_env(env, "PipesSubprocessClient(env=...)")
        self.cwd = os.fspath(cwd) if cwd is not None else None
        self.context_injector = context_injector or PipesTempFileContextInjector()
        self.message_reader = message_reader or PipesTempFileMessageReader()
        self.forward_termination = forward_termination
        self.forward_stdio = forward_stdio
        self.termination_timeout_seconds = float(termination_timeout_seconds)

    def run(  # type: ignore[override]  # Dagster's signature: command is keyword-only and required
        self,
        *,
        context: Any,
        extras: Mapping[str, Any] | None = None,
        command: str | Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> PipesClientCompletedInvocation:
        """Run ``command`` (a program, or a list of program and arguments, as
        ``subprocess.Popen`` takes them) for the step ``context`` runs, with ``extras``
        in its context and ``env`` added to its environment, and wait for it. Raises
        ``PipesExecutionError`` when it cannot start or exits with a non-zero code."""
        extra_env = _check_env(env, "run(env=...)")
        ended: _Ended | None = None
        session: PipesSession | None = None
        try:
            with open_pipes_session(
                context=context,
                context_injector=self.context_injector,
                message_reader=self.message_reader,
                extras=extras,
            ) as session:
                ended = self._run_process(context, session, command, extra_env, cwd)
        finally:
            if ended is not None and session is not None:  # after its last messages
                session.message_handler.engine_event(
                    f"[pipes] external process (pid {ended.pid}) exited with code {ended.code} "
                    f"after {ended.seconds:.2f}s"
                )
        assert session is not None and ended is not None
        if ended.code != 0:
            raise _failure(ended, session.message_handler.closed_exception)
        return PipesClientCompletedInvocation(session)

    def _run_process(
        self,
        context: Any,
        session: PipesSession,
        command: str | Sequence[str],
        env: dict[str, str],
        cwd: str | None,
    ) -> _Ended:
        shown = _shown(command)
        full_env = {**os.environ, **self.env, **env, **session.get_bootstrap_env_vars()}
        try:
            process = subprocess.Popen(
                command,
                cwd=cwd or self.cwd,
                env=full_env,
                stdout=None if self.forward_stdio else subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                preexec_fn=_interruptible_child(),
            )
        except OSError as exc:
            raise PipesExecutionError(
                f"Could not start the external process {shown}: {exc}", {"command": shown}
            ) from exc
        assert process.stderr is not None
        stderr = _StderrTail(process.stderr, forward=self.forward_stdio)
        session.message_handler.engine_event(
            f"[pipes] started external process (pid {process.pid}): {shown}"
        )
        started = time.monotonic()
        try:
            while True:
                try:
                    code = process.wait(WAIT_SECONDS)
                    break
                except subprocess.TimeoutExpired:
                    session.process_messages()
        except BaseException:
            self._stop(context, process)
            raise
        seconds = time.monotonic() - started
        stderr.join(timeout=5.0)
        return _Ended(process.pid, code, seconds, shown, stderr.tail())

    def _stop(self, context: Any, process: subprocess.Popen[bytes]) -> None:
        if not self.forward_termination or process.poll() is not None:
            return
        context.log.info(
            f"[pipes] the step was interrupted: sending SIGINT to the external process "
            f"(pid {process.pid})."
        )
        process.send_signal(signal.SIGINT)
        try:
            process.wait(self.termination_timeout_seconds)
        except subprocess.TimeoutExpired:
            context.log.warning(
                f"[pipes] the external process (pid {process.pid}) did not exit within "
                f"{self.termination_timeout_seconds:g}s of SIGINT: killing it."
            )
            process.kill()
            process.wait()

    def __repr__(self) -> str:
        return f"PipesSubprocessClient(cwd={self.cwd!r}, env={sorted(self.env)!r})"


class _Ended(NamedTuple):
    """How the process ended."""

    pid: int
    code: int
    seconds: float
    shown: str
    stderr_tail: str


def _failure(ended: _Ended, reported: Any) -> PipesExecutionError:
    code = ended.code
    if code < 0:
        try:
            how = f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"was killed by signal {-code}"
    else:
        how = f"failed with exit code {code}"
    message = f"External process {how}: {ended.shown}"
    if reported is not None:
        message += f"\nIt closed Pipes with: {reported.message}"
    tail = ended.stderr_tail
    if tail:
        message += "\nLast lines of its stderr:\n" + "\n".join(
            "  " + line for line in tail.splitlines()
        )
    return PipesExecutionError(
        message, {"exit_code": code, "command": ended.shown, "stderr_tail": tail}
    )
