"""Plotly figure specs as plain deterministic dicts: base, DVC plots, MLOps, monitoring."""
