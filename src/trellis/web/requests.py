"""Checking request values: every query parameter, path part and body field the API
reads goes through one of these, and a bad one is a 400 (or 404) with a message naming
the parameter. Nothing from a request reaches the filesystem."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-\[\]?]{0,255}$")
MAX_BODY = 1_000_000


def bad_request(message: str, status: int = 400) -> HTTPException:
    """An HTTP error whose JSON body carries ``message``."""
    return HTTPException(status, message)


def run_id_param(request: Request) -> str:
    """The ``run_id`` path part, checked."""
    run_id = request.path_params["run_id"]
    if not RUN_ID.match(run_id):
        raise bad_request(f"'{run_id[:80]}' is not a run id.")
    return str(run_id)


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within ``[low, high]``."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(
            f"Query parameter '{name}' must be an integer, not '{raw[:40]}'."
        ) from None
    if not low <= value <= high:
        raise bad_request(f"Query parameter '{name}' must be between {low} and {high}.")
    return value


def choice_params(request: Request, name: str, choices: Any) -> list[str]:
    """A repeatable query parameter whose values must be among ``choices``."""
    values = request.query_params.getlist(name)
    allowed = {str(c) for c in choices}
    for value in values:
        if value not in allowed:
            raise bad_request(
                f"Query parameter '{name}' must be one of {', '.join(sorted(allowed))}; "
                f"got '{value[:40]}'."
            )
    return values


def text_param(request: Request, name: str, max_length: int = 1000) -> str | None:
    """A free-text query parameter, length-limited."""
    value = request.query_params.get(name)
    if value is not None and len(value) > max_length:
        raise bad_request(f"Query parameter '{name}' is longer than {max_length} characters.")
    return value


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object body (``application/json``, at most 1 MB)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type != "application/json":
        raise bad_request("The request body must be JSON (Content-Type: application/json).", 415)
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise bad_request("The request body is too large.", 413)
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise bad_request(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    return body
