"""Weakly supervised temporal action localisation built on graphssl."""
