"""Layer 6: the instance, one object over run storage and event-log storage.

Storage is a seam: small interfaces (``RunStorage``, ``EventLogStorage``) with
in-memory implementations used by ephemeral instances and unit tests.
"""
