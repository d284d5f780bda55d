"""Continuous-training guards: data validation (schema + drift), the model gate, monitoring.

Library API (pure functions at the core, file I/O in the ``run_*`` helpers); every module reads
its ``params.yaml`` section through :mod:`mlpages.settings`:

* :mod:`mlpages.ct.batches`       find the batches of a folder, read a CSV batch
* :mod:`mlpages.ct.schema`        infer / load / save ``schema.yaml``
* :mod:`mlpages.ct.validate`      check batches against a schema, pick the batch and its reference
* :mod:`mlpages.ct.drift`         per-feature drift statistics and the dataset-level rule
* :mod:`mlpages.ct.gate_rules`    the gate's settings, scores and verdict (pure)
* :mod:`mlpages.ct.champion`      the production model, from the registry and the DVC cache
* :mod:`mlpages.ct.gate`          candidate vs. champion model validation (the I/O edge)
* :mod:`mlpages.ct.monitor_stats` statistics of one monitored batch (histogram, PSI, metrics)
* :mod:`mlpages.ct.monitor`       one batch's monitoring entry and alerts; the cumulative record
* :mod:`mlpages.ct.trigger`       the retraining decision from the monitoring record
* :mod:`mlpages.ct.monitor_run`   the monitor from files (``mlpages monitor``)
"""
