"""Layer 4: the context family handed to user code, and the system contexts under it.

A context is a view over the state of the run and the step; it owns no execution logic.
Where each one is created:

- ``PlanOrchestrationContext``: ``trellis.execution.run`` (one per run)
- ``StepExecutionContext``: ``PlanOrchestrationContext.for_step`` (one per step)
- ``OpExecutionContext`` / ``AssetExecutionContext``: ``trellis.execution.step`` (per step)
- ``InputContext`` / ``OutputContext``: ``StepExecutionContext.for_input`` / ``for_output``
- ``InitResourceContext``: ``trellis.execution.resources`` (per resource)
- ``HookContext``: ``trellis.execution.hooks`` (per hook per step attempt)
- ``InitLoggerContext``: ``trellis.execution.run_loggers`` (per logger per run and process)
- ``SensorEvaluationContext`` / ``ScheduleEvaluationContext``: built for each evaluation
- testing: ``trellis.api.testing`` (the ``build_*`` helpers)
"""
