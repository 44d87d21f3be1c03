"""Layer 8: the entry points user code calls. Running in this process (``execute.py``:
``execute_in_process``, ``materialize``), the result (``result.py``), contexts built for
tests (``testing.py``), direct calls of ops and assets (``invocation.py``), loading a
stored asset value (``asset_value.py``) and re-execution (``reexecution.py``)."""
