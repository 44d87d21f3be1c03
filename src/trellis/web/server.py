"""Serving the application: load the definitions, open the instance, start uvicorn."""

from __future__ import annotations

import sys
from typing import Any

from trellis.cli.code_target import CodeTarget
from trellis.web.app import build_state, create_app
from trellis.web.workspace import Workspace


def serve(
    target: CodeTarget,
    instance: Any,
    host: str,
    port: int,
    echo: Any = print,
    *,
    daemon: bool = True,
) -> None:
    """Load ``target``, then serve the UI on ``host:port`` until interrupted, with the
    daemon's loops on a thread (``dev_daemon.py``) unless ``daemon`` is False. A load
    that fails still serves (the pages show the error, and a fixed file reloads)."""
    import uvicorn

    workspace = Workspace(target)
    state = workspace.load()
    if state.error is not None:
        echo(f"Could not load the definitions (the UI shows why):\n{state.error}", file=sys.stderr)
    ui_state = build_state(workspace, instance)
    if daemon:
        from trellis.web.dev_daemon import DevDaemon

        ui_state.daemon = DevDaemon(instance, workspace, ui_state.launcher)
    app = create_app(ui_state)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    shown = f"[{host}]" if ":" in host else host
    echo(f"Trellis UI: http://{shown}:{port}/  (Ctrl-C to stop)")
    server.run()
