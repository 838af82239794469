"""Benchmarks: ``python -m benchmarks.run`` (``make bench``) runs them all side by side."""
