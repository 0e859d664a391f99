"""Benchmarks of claude-wrapper against the fake upstream (``make bench``)."""
