"""Small builders shared by the instance tests."""

from __future__ import annotations

from trellis.core.event_payloads import payload_from_dict
from trellis.core.events import Event, EventType
from trellis.core.run import Run


def make_run(run_id: str, job: str = "job", tags=None, create_time=None, **kwargs) -> Run:
    """A run record, with an optional fixed creation time."""
    run = Run(run_id=run_id, job_name=job, tags=tags, **kwargs)
    if create_time is not None:
        run.create_time = create_time
    return run


def event(run: Run, event_type: EventType, **kwargs) -> Event:
    """An event of ``run`` (``data`` may be given as a dict of the payload's fields)."""
    if isinstance(kwargs.get("data"), dict):
        kwargs["data"] = payload_from_dict(event_type, kwargs["data"])
    return Event(event_type, run.run_id, run.job_name, **kwargs)
