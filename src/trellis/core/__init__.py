"""Layer 1: core types shared by every other layer (keys, metadata, events, errors).

Nothing here knows about definitions or execution.
"""
