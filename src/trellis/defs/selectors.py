"""Selectors of jobs by where their code lives: ``JobSelector``, ``RepositorySelector`` and
``CodeLocationSelector``, Dagster's values for a run status sensor's ``monitored_jobs``
(``@run_failure_sensor(monitored_jobs=[JobSelector(location_name="etl",
job_name="nightly")])``) and for ``RunRequest``-free references to a job elsewhere.

A run records where its code was loaded from (the ``trellis/code_location`` tag the CLI,
the daemon and ``trellis dev`` set); its *location names* are those ``--select
code_location:`` accepts: a file's name with and without its extension (``defs.py``,
``defs``), or a module's dotted name. A Trellis code location holds one repository (the
``Definitions``), Dagster's ``__repository__``: a ``repository_name`` is kept for
display and not compared. A run executed in a Python process without a code location
(``execute_in_process``) has no location to compare: a selector with a ``location_name``
does not match it, a ``JobSelector`` without one matches it by job name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from trellis.core.errors import InvalidDefinitionError
from trellis.core.run import CODE_LOCATION_TAG

SINGLETON_REPOSITORY_NAME = "__repository__"
"""The name of the one repository of a code location (Dagster's, for ``Definitions``)."""


def run_location_names(run: Any) -> tuple[str, ...]:
    """The names of the code location ``run`` was loaded from (see the module
    docstring); empty when it records none."""
    text = (getattr(run, "tags", None) or {}).get(CODE_LOCATION_TAG)
    if not text:
        return ()
    try:
        data = json.loads(text)
    except ValueError:
        return ()
    if not isinstance(data, dict):
        return ()
    if data.get("file"):
        file = str(data["file"]).replace("\\", "/").rsplit("/", 1)[-1]
        stem = file[: -len(".py")] if file.endswith(".py") else file
        return (file, stem)
    if data.get("module"):
        return (str(data["module"]),)
    return ()


def _name(owner: str, field: str, value: Any, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidDefinitionError(f"{owner}: {field} must be a non-empty string, got {value!r}.")
    return value


@dataclass(frozen=True)
class CodeLocationSelector:
    """Every job of the code location ``location_name``."""

    location_name: str

    def __post_init__(self) -> None:
        _name("CodeLocationSelector", "location_name", self.location_name, True)

    def matches(self, run: Any) -> bool:
        """Whether ``run`` was loaded from this code location."""
        return self.location_name in run_location_names(run)

    def to_repository_selector(self) -> RepositorySelector:
        """The selector of the location's one repository."""
        return RepositorySelector(self.location_name, SINGLETON_REPOSITORY_NAME)


@dataclass(frozen=True)
class RepositorySelector:
    """Every job of the repository ``repository_name`` in the code location
    ``location_name`` (a Trellis code location has one: see the module docstring)."""

    location_name: str
    repository_name: str = SINGLETON_REPOSITORY_NAME

    def __post_init__(self) -> None:
        _name("RepositorySelector", "location_name", self.location_name, True)
        _name("RepositorySelector", "repository_name", self.repository_name, True)

    def matches(self, run: Any) -> bool:
        """Whether ``run`` was loaded from this repository's code location."""
        return self.location_name in run_location_names(run)


@dataclass(frozen=True, init=False)
class JobSelector:
    """The job ``job_name``, in the code location ``location_name`` when given (else in
    any); ``repository_name`` as in ``RepositorySelector``."""

    job_name: str
    location_name: str | None = None
    repository_name: str | None = None

    def __init__(
        self,
        location_name: str | None = None,
        repository_name: str | None = None,
        job_name: str | None = None,
    ) -> None:
        # Dagster's argument order (location, repository, job), all by keyword in practice.
        checked = _name("JobSelector", "job_name", job_name, True)
        assert checked is not None
        object.__setattr__(self, "job_name", checked)
        object.__setattr__(
            self, "location_name", _name("JobSelector", "location_name", location_name, False)
        )
        object.__setattr__(
            self,
            "repository_name",
            _name("JobSelector", "repository_name", repository_name, False),
        )

    def matches(self, run: Any) -> bool:
        """Whether ``run`` is a run of this job (in this code location, when named)."""
        if getattr(run, "job_name", None) != self.job_name:
            return False
        return self.location_name is None or self.location_name in run_location_names(run)


SELECTORS = (CodeLocationSelector, RepositorySelector, JobSelector)
"""The selector types ``monitored_jobs`` accepts beside jobs and job names."""
