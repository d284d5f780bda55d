"""Test helpers (on pytest's pythonpath): real repositories, servers and command runners.

``git`` (identity, tool environment, RepoBuilder), ``dvc`` and ``cli`` (the real tools),
``snapshots`` (hand-built domain objects), ``site_repo`` (a DVC history written by hand),
``foreign`` (repositories shaped unlike ours), ``s3server`` and ``git_http_server`` (real servers
on 127.0.0.1), ``hostile`` (child processes under time and memory limits), ``browser``
(Chromium's page watcher). Fixtures live in ``tests/conftest.py``.
"""
