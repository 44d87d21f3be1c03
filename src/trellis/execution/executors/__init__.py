"""Executors: where ready steps run. ``base.py`` holds the ``Executor`` interface and the
in-process executor; ``threads.py``, ``processes.py`` and ``dask.py`` the parallel ones;
``registry.py`` builds the one a job's ``ExecutorDefinition`` names."""
