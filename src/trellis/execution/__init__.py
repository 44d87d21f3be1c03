"""Layer 7: the run engine. A run's lifecycle (``run.py``), the orchestration loop
(``engine.py``), one step attempt (``step.py``, ``step_io.py``, ``compute.py``), resource
lifetimes (``resources.py``), where events go (``event_stream.py``), where steps run
(``executors/``) and what crosses into other processes (``remote/``)."""
