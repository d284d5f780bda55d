"""Snapshots of every commit: collect, build, revision views, the cache and its codec."""
