"""``trellis.components``: the part of Dagster's ``dagster.components`` that plain Python
projects use (``import dagster as dg; dg.components.load_defs(...)``): loading a
project's ``defs/`` folder and the ``@definitions`` decorator. YAML components are not
supported (``trellis.defs.defs_folder`` refuses them with an error naming the file)."""

from trellis.defs.defs_folder import load_defs, load_from_defs_folder
from trellis.defs.lazy_definitions import definitions

__all__ = ["definitions", "load_defs", "load_from_defs_folder"]
