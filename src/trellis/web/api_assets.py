"""``/api/workspace``, ``/api/assets``, ``/api/jobs``: what the loaded definitions hold,
with the status the instance records."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from trellis.web.asset_graph import COLLAPSE_AT, collapsed_graph
from trellis.web.assets import asset_detail_json, assets_json, find_key
from trellis.web.requests import bad_request, int_param, text_param


def ui_state(request: Request) -> Any:
    """The ``UiState`` of the application serving ``request``."""
    return request.app.state.trellis


def definitions(request: Request) -> Any:
    """The loaded definitions; 503 when none could be loaded yet."""
    state = ui_state(request)
    defs = state.workspace.definitions
    if defs is None:
        raise bad_request(
            f"The definitions could not be loaded: {state.workspace.state.error}", 503
        )
    return defs


def _jobs(defs: Any) -> list[dict[str, Any]]:
    from trellis.cli.job_commands import user_jobs

    out = []
    for name, job in sorted(user_jobs(defs).items()):
        description = (job.description or "").strip()
        out.append(
            {
                "name": name,
                "kind": "assets" if job.asset_graph is not None else "ops",
                "steps": len(job.flat_nodes),
                "partitioned": job.partitions_def is not None,
                "description": description,
            }
        )
    return out


def workspace(request: Request) -> Response:
    """The code target, the load's generation and error, the jobs."""
    state = ui_state(request)
    load = state.workspace.state
    defs = load.definitions
    return JSONResponse(
        {
            "target": state.workspace.target.description,
            "generation": load.generation,
            "loaded_at": load.loaded_at,
            "error": load.error,
            "jobs": _jobs(defs) if defs is not None else [],
            "asset_count": len(defs.asset_graph.all_keys) if defs is not None else 0,
        }
    )


def location_name(request: Request) -> str:
    """The name of the one code location ``trellis dev`` serves (the file's stem or the
    module), as ``code_location:`` selections name it."""
    from trellis.cli.selection import code_location_names

    names = code_location_names(ui_state(request).workspace.target)
    return names[-1] if names else "definitions"


def list_assets(request: Request) -> Response:
    """Every asset with its definition, layout and status; the groups, the code
    location, and past how many assets the graph collapses by group."""
    defs = definitions(request)
    assets = assets_json(defs, ui_state(request).instance)
    groups = sorted({a["group"] for a in assets})
    return JSONResponse(
        {
            "assets": assets,
            "groups": groups,
            "location": location_name(request),
            "collapse_at": COLLAPSE_AT,
        }
    )


def _selected_keys(request: Request, defs: Any, text: str) -> set[Any]:
    """The keys the selection ``text`` selects, or a 400 saying why it is invalid."""
    from trellis.cli.errors import CliError
    from trellis.cli.selection import code_location_names, parse_selection

    target = ui_state(request).workspace.target
    try:
        selection = parse_selection(text, defs.asset_graph, code_location_names(target))
    except CliError as exc:
        raise bad_request(str(exc.message).replace("--select", "selection")) from None
    return set(selection.resolve(defs.asset_graph))


def select_assets(request: Request) -> Response:
    """The keys a selection string selects (``q``), or a 400 saying why it is invalid."""
    defs = definitions(request)
    text = text_param(request, "q") or ""
    if not text.strip():
        raise bad_request("Query parameter 'q' (a selection) is required.")
    keys = _selected_keys(request, defs, text)
    return JSONResponse({"keys": sorted(k.to_user_string() for k in keys)})


def asset_graph(request: Request) -> Response:
    """The graph collapsed by group (``web/asset_graph.py``): the groups named by
    ``expand`` (repeatable) and the selection ``select`` (when small enough) drawn asset
    by asset."""
    from trellis.cli.suggest import unknown_name_message

    defs = definitions(request)
    graph = defs.asset_graph
    known = {graph.group_of(key) for key in graph.all_keys}
    expand = request.query_params.getlist("expand")
    for name in expand:
        if name not in known:
            raise bad_request("expand: " + unknown_name_message("group", name[:200], known))
    text = (text_param(request, "select") or "").strip()
    selected = _selected_keys(request, defs, text) if text else None
    body = collapsed_graph(graph, expand, selected)
    body["location"] = location_name(request)
    return JSONResponse(body)


def path_asset_key(request: Request, defs: Any) -> Any:
    """The asset key the path's ``{key}`` names (``a/b``), or a 404."""
    text = request.path_params["key"]
    key = find_key(defs.asset_graph, text)
    if key is None:
        raise bad_request(f"No asset '{text[:200]}' in the loaded definitions.", 404)
    return key


def asset_detail(request: Request) -> Response:
    """One asset: definition, materializations with metadata, checks' history."""
    defs = definitions(request)
    key = path_asset_key(request, defs)
    limit = int_param(request, "limit", 50, 1, 1000)
    return JSONResponse(asset_detail_json(defs, ui_state(request).instance, key, limit))


def _job(request: Request) -> Any:
    from trellis.cli.job_commands import user_jobs
    from trellis.cli.suggest import unknown_name_message

    defs = definitions(request)
    name = request.path_params["name"]
    jobs = user_jobs(defs)
    if name not in jobs:
        raise bad_request(unknown_name_message("job", name[:200], jobs), 404)
    return jobs[name]


def scaffold(request: Request) -> Response:
    """The launchpad's config scaffold of a job (``job``) or an asset selection
    (``selection``)."""
    from trellis.cli.errors import CliError
    from trellis.cli.job_commands import user_jobs
    from trellis.cli.selection import selected_asset_job
    from trellis.web.scaffold import scaffold_yaml

    defs = definitions(request)
    name, selection = text_param(request, "job"), text_param(request, "selection")
    if (name is None) == (selection is None):
        raise bad_request("Give one of the query parameters 'job' and 'selection'.")
    if name is not None:
        jobs = user_jobs(defs)
        if name not in jobs:
            raise bad_request(f"No job '{name[:200]}'.", 404)
        job = jobs[name]
    else:
        assert selection is not None
        try:
            job, _keys = selected_asset_job(defs, selection, ui_state(request).workspace.target)
        except CliError as exc:
            raise bad_request(str(exc.message).replace("--select", "selection")) from None
    return JSONResponse({"yaml": scaffold_yaml(job), "partitioned": job.partitions_def is not None})


def diagram_json(request: Request) -> Response:
    """The job's call diagram (``views/diagram.py``) as JSON."""
    from dataclasses import asdict

    from trellis.views.diagram import build_diagram

    diagram = build_diagram(_job(request))
    return JSONResponse(asdict(diagram))


def diagram_svg(request: Request) -> Response:
    """The job's call diagram as an SVG image (every text escaped by the renderer; shown
    in an ``<img>``, where no script runs)."""
    from trellis.views.diagram import build_diagram, render_diagram

    svg = render_diagram(build_diagram(_job(request)), "svg")
    return Response(svg, media_type="image/svg+xml")


ROUTES = [
    Route("/api/workspace", workspace),
    Route("/api/assets", list_assets),
    Route("/api/assets/select", select_assets),
    Route("/api/asset-graph", asset_graph),
    Route("/api/assets/{key:path}", asset_detail),
    Route("/api/scaffold", scaffold),
    Route("/api/jobs/{name}/diagram", diagram_json),
    Route("/api/jobs/{name}/diagram.svg", diagram_svg),
]
