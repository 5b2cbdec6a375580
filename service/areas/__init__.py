"""Boundaries, generations, the assignment query and lookup."""
