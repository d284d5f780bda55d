"""Builders of DVC repositories shaped unlike ours (used by tests/test_foreign_repos.py).

Each builder writes a real git repository with plain file writes and ``git``; only
``get_started.build_get_started`` runs the real ``dvc repro`` (its lock file and DVC cache are
DVC's own). ``legacy``: DVC 1.x → 2 → 3 lock files; ``hostile``: broken files, odd messages and
refs, CI checkouts; ``shapes``: DVC's naming corners and a monorepo; ``files``: shared bytes.
"""
