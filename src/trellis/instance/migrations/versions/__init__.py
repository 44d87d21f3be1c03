"""Revisions of the instance database schema."""
