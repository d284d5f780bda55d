"""Reproducible benchmarks and evaluation scripts (not product code)."""
