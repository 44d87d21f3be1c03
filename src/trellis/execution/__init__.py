"""Layer 5: execution. The orchestration loop, the executors, resource lifetimes,
retries, the event stream and results. ``api.py`` holds the entry points."""
