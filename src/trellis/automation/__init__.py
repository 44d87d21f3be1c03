"""Declarative automation: ``AutomationCondition`` trees evaluated per asset (and per
partition), incrementally, against the instance's asset state.

The layer reads the instance (``state.py``: latest materializations, runs in progress and
failed) and the definitions; it never runs anything. An evaluation (``evaluator.py``)
turns the conditions, a state view and the previous cursor into the requested asset
partitions, one result tree per asset and the next cursor; ``run_requests.py`` groups the
requests into runs; ``loop.py`` is what the daemon calls once per tick; ``testing.py`` is
``evaluate_automation_conditions`` for users' tests.
"""
