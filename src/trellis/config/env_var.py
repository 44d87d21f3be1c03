"""``EnvVar``: a config value that is read from an environment variable at run time.

``MyConfig(password=EnvVar("DB_PASSWORD"))`` keeps the variable's *name*, never its value;
turned into a config dict it becomes ``{"env": "DB_PASSWORD"}``, which ``StringSource``
resolves when the run's config is processed.
"""

from __future__ import annotations

import os
from typing import Any


class EnvVar(str):
    """The name of an environment variable whose value a config field takes at run time.

    It is a ``str`` (the variable's name) so it fits ``str`` fields of a ``Config`` class;
    use ``EnvVar.int("NAME")`` for ``int`` fields.
    """

    __slots__ = ()

    @property
    def env_var_name(self) -> str:
        """The name of the environment variable."""
        return str.__str__(self)

    def get_value(self, default: str | None = None) -> str | None:
        """Read the variable now; ``default`` when it is not set."""
        return os.environ.get(self.env_var_name, default)

    def to_config_value(self) -> dict[str, str]:
        """The run-config form, ``{"env": NAME}``."""
        return {"env": self.env_var_name}

    def __repr__(self) -> str:
        return f"EnvVar({self.env_var_name!r})"

    @classmethod
    def int(cls, name: str) -> IntEnvVar:
        """An environment variable for an ``int`` field, e.g. ``EnvVar.int("PORT")``."""
        return IntEnvVar.create(name)


class IntEnvVar(int):
    """An environment variable for an ``int`` config field (built by ``EnvVar.int``).

    As an ``int`` it is a placeholder 0; ``get_value()`` reads and parses the variable.
    """

    env_var_name: str

    @classmethod
    def create(cls, name: str) -> IntEnvVar:
        """Make the marker for the variable ``name``."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"An environment variable name must be a non-empty string: {name!r}")
        var = cls(0)
        var.env_var_name = name
        return var

    def get_value(self, default: int | None = None) -> int | None:
        """Read the variable now and parse it as an int; ``default`` when it is not set."""
        raw = os.environ.get(self.env_var_name)
        return default if raw is None else int(raw.strip())

    def to_config_value(self) -> dict[str, str]:
        """The run-config form, ``{"env": NAME}``."""
        return {"env": self.env_var_name}

    def __repr__(self) -> str:
        return f"EnvVar.int({self.env_var_name!r})"


def env_var_config_value(value: Any) -> dict[str, str] | None:
    """``{"env": NAME}`` when ``value`` is an ``EnvVar`` or ``IntEnvVar``, else None."""
    if isinstance(value, (EnvVar, IntEnvVar)):
        return value.to_config_value()
    return None
