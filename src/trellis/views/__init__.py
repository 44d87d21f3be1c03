"""Layer 6: the read side. Views of jobs and runs that nothing in a run depends on: the
trace (``trace.py``, from stored events; ``trace_render.py`` draws it), the call diagram
(``diagram.py``, ``diagram_svg.py``) and a run's events on the terminal (``console.py``)."""
