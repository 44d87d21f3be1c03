"""The web UI of ``trellis dev``: a Starlette application over the loaded definitions and
the instance (a JSON API under ``/api``, server-sent events, and the pages, which are
static files rendered in the browser from the API). Imported only by ``trellis dev``
and the tests, never by ``import trellis``."""
