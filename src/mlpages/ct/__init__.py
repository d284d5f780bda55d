"""Continuous-training guards: data validation (schema + drift) and the model gate.

Library API (pure functions at the core, file I/O in the ``run_*`` helpers):

* :mod:`mlpages.ct.schema`   infer / load / save ``schema.yaml``
* :mod:`mlpages.ct.validate` check batches against a schema, pick the batch and its reference
* :mod:`mlpages.ct.drift`    per-feature drift statistics and the dataset-level rule
* :mod:`mlpages.ct.gate`     candidate vs. champion model validation
"""
