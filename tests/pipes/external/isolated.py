"""Run with ``python -I -S`` and only a copy of ``trellis_pipes`` on ``sys.path``: proves
that nothing of Trellis (nor any installed package) is needed, then reports as usual."""

import importlib.util
import sys

from trellis_pipes import open_dagster_pipes

with open_dagster_pipes() as pipes:
    trellis_found = importlib.util.find_spec("trellis") is not None
    site_loaded = "site" in sys.modules
    pipes.report_asset_materialization(
        metadata={
            "trellis_importable": trellis_found,
            "site_loaded": site_loaded,
            "isolated": bool(sys.flags.isolated),
            "pipes_module": sys.modules["trellis_pipes"].__file__,
        }
    )
