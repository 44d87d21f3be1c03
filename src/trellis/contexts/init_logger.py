"""``InitLoggerContext``: what a logger function receives while it is built."""

from __future__ import annotations

from typing import Any


class InitLoggerContext:
    """Given to a ``@logger`` function while a run builds its logger (once per run, in each
    process that runs the run's steps): the logger's config (``logger_config``, validated
    against its schema), its definition, the job and the run's id. Tests build one with
    ``build_init_logger_context``."""

    __slots__ = ("job_def", "logger_config", "logger_def", "run_id")

    def __init__(
        self,
        logger_config: Any = None,
        logger_def: Any = None,
        job_def: Any = None,
        run_id: str | None = None,
    ) -> None:
        self.logger_config = logger_config
        self.logger_def = logger_def
        self.job_def = job_def
        self.run_id = run_id

    def __repr__(self) -> str:
        name = getattr(self.logger_def, "name", None) or "unbound"
        return f"<InitLoggerContext {name} run {self.run_id}>"
