"""The ``trellis dev`` application: the API routes, the event stream, the static files
of the pages, the security checks every request passes, and the state they share
(``UiState``: the workspace, the instance, the launcher, the hub).

Security: state-changing requests (anything but GET/HEAD/OPTIONS) from a browser must
come from this server's own origin (the ``Origin`` header, else ``Sec-Fetch-Site``);
every response forbids inline scripts and outside resources (``Content-Security-Policy``),
so a name, metadata value or log line that holds markup can never run, even if a page
forgot to escape it. The pages render every user value as text."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from trellis.web import api_assets, api_automation, api_backfills, api_overview, api_runs
from trellis.web.hub import Hub
from trellis.web.launcher import Launcher
from trellis.web.openapi import openapi_document
from trellis.web.workspace import Workspace

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
KEEPALIVE_SECONDS = 15.0
PAGES = (
    "/",
    "/overview",
    "/assets",
    "/assets/{rest:path}",
    "/runs",
    "/runs/{rest:path}",
    "/launchpad",
    "/automation",
    "/backfills",
    "/backfills/{rest:path}",
)


def static_dir() -> Path:
    """The folder of the pages' files, shipped in the package."""
    return Path(str(resources.files("trellis.web") / "static"))


@dataclass
class UiState:
    """What every request of the application shares."""

    workspace: Workspace
    instance: Any
    launcher: Launcher
    hub: Hub
    daemon: Any = None  # a ``DevDaemon`` under ``trellis dev``; None in tests


class OriginCheck:
    """Refuse cross-site state-changing requests (403), and add the security headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["method"] not in SAFE_METHODS and not same_origin(headers, scope):
            response = JSONResponse(
                {"error": "Cross-site request refused: the Origin is not this server."},
                status_code=403,
            )
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                extra = [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                ]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


def same_origin(headers: dict[str, str], scope: Scope) -> bool:
    """Whether a request comes from this server's own pages: its ``Origin`` names the
    host it was sent to; without ``Origin``, ``Sec-Fetch-Site`` is not ``cross-site``;
    with neither (a command-line client, not a browser) it is let through."""
    host = headers.get("host", "")
    origin = headers.get("origin")
    if origin is not None:
        scheme = scope.get("scheme", "http")
        return origin in (f"{scheme}://{host}",)
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    return True


async def stream(request: Request) -> Response:
    """Server-sent events: runs appearing and changing, new events of live runs (only
    those of ``run_id`` when given), failed launches, reloads, backfills changing."""
    from trellis.web.requests import RUN_ID, bad_request

    run_id = request.query_params.get("run_id")
    if run_id is not None and not RUN_ID.match(run_id):
        raise bad_request("Query parameter 'run_id' is not a run id.")
    hub: Hub = request.app.state.trellis.hub
    subscriber = hub.subscribe(run_id)

    async def messages() -> AsyncIterator[str]:
        try:
            yield "retry: 1000\n: connected\n\n"
            while True:
                try:
                    message = await asyncio.wait_for(subscriber.queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                yield f"event: {message['type']}\ndata: {json.dumps(message)}\n\n"
        finally:
            hub.unsubscribe(subscriber)

    return StreamingResponse(
        messages(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def openapi(request: Request) -> Response:
    """The API's OpenAPI description."""
    return JSONResponse(openapi_document())


def page(request: Request) -> Response:
    """Every page is the same document; the script renders the path."""
    return FileResponse(static_dir() / "index.html", headers={"Cache-Control": "no-cache"})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code)


async def _not_found(request: Request, exc: Exception) -> Response:
    detail = getattr(exc, "detail", None)
    if detail and detail != "Not Found":  # raised by an endpoint: its own message
        return JSONResponse({"error": detail}, 404)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": f"No API route {request.url.path[:200]}."}, 404)
    return JSONResponse({"error": "Not found."}, 404)


def create_app(state: UiState, *, watch: bool = True) -> Starlette:
    """The application over ``state``; the hub (and, with ``watch``, the reloading of
    the definitions) runs while the application does."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.hub.start()
        if state.daemon is not None:
            state.daemon.start()
        if watch:
            state.workspace.start_watching()
        try:
            yield
        finally:
            state.hub.stop()
            state.workspace.stop()
            if state.daemon is not None:
                state.daemon.stop()

    routes = [
        *api_assets.ROUTES,
        *api_runs.ROUTES,
        *api_automation.ROUTES,
        *api_overview.ROUTES,
        *api_backfills.ROUTES,
        Route("/api/stream", stream),
        Route("/api/openapi.json", openapi),
        Mount("/static", app=StaticFiles(directory=static_dir()), name="static"),
        *(Route(path, page) for path in PAGES),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, 404: _not_found},
    )
    app.state.trellis = state
    state.workspace.on_reload(
        lambda load: state.hub.publish(
            {"type": "workspace", "generation": load.generation, "error": load.error}
        )
    )
    app.add_middleware(OriginCheck)
    return app


def build_state(workspace: Workspace, instance: Any, hub_interval: float = 0.05) -> UiState:
    """The shared state for a loaded workspace and an open instance."""
    log_dir = Path(instance.root_directory) / "ui_launches"
    launcher = Launcher(workspace.target, log_dir)
    return UiState(workspace, instance, launcher, Hub(instance, launcher, hub_interval))
