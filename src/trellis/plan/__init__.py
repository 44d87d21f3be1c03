"""Layer 3: the plan. Turns a job (or asset selection) plus a validated run config into
an ``ExecutionPlan`` of ``ExecutionStep``s, built once per run."""
