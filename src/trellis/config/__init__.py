"""Layer 1: config schemas, their validation, and Pythonic ``Config`` classes.

Modules: ``types`` (schema types and ``Field``), ``printer`` (compact type printer and
example values), ``validate`` (``process_config`` / ``validate_config``), ``env_var``
(``EnvVar``), ``detect`` (cheap ``Config`` checks), ``run_config`` (``RunConfig``) and
``pythonic`` (``Config``; the only module that imports pydantic).
"""
